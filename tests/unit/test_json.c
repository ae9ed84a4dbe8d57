/* JSON canonical form (formats/json.h): spellings PostgreSQL jsonb treats as one value agree,
 * different values differ, invalid text is refused; and the digest hashes arrow.json values by
 * that form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/batch.h"
#include "core/digest.h"
#include "formats/json.h"

static sl_buf out, scratch;

/* The canonical form of s as a NUL-terminated string, or NULL when s is refused. */
static const char *canon_n(const char *s, size_t n)
{
	sl_buf_reset(&out);
	sl_buf_puts(&out, "prefix:"); /* the function appends; a refusal leaves out as it was */
	if (sl_json_canonical((const uint8_t *)s, n, &out, &scratch) < 0) {
		assert_int_equal(out.len, 7);
		return NULL;
	}
	return sl_buf_cstr(&out) + 7;
}

static const char *canon(const char *s)
{
	return canon_n(s, strlen(s));
}

static void assert_canon(const char *in, const char *expect)
{
	const char *got = canon(in);
	if (got == NULL)
		fail_msg("refused: %s", in);
	if (strcmp(got, expect) != 0)
		fail_msg("%s -> %s, expected %s", in, got, expect);
}

static void test_canonical_forms(void **state)
{
	(void)state;
	assert_canon(" {\"b\" : 1 , \"a\":[true,false,null]}\n",
	             "{\"a\":[true,false,null],\"b\":1}");
	assert_canon("\"\\u00e9\\n\\/\\\"\"", "\"\xc3\xa9\\u000a/\\\"\"");
	assert_canon("1.50", "15e-1");
	assert_canon("100", "1e2");
	assert_canon("-0.0e5", "0");
	assert_canon("0.001", "1e-3");
	assert_canon("-12.340E+2", "-1234");
	assert_canon("{\"a\":1,\"a\":2}", "{\"a\":2}");
	assert_canon("{}", "{}");
	assert_canon("[ ]", "[]");
	assert_canon("\"\"", "\"\"");
	assert_canon("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");
	assert_canon("18446744073709551616123456789", "18446744073709551616123456789");
}

/* Pairs that must agree: what jsonb does to a value must not change its form. */
static void test_equal_pairs(void **state)
{
	(void)state;
	static const char *pairs[][2] = {
	        /* key order, whitespace (jsonb reorders and respaces) */
	        {"{\"a\":1,\"b\":2}", "{\"b\": 2, \"a\": 1}"},
	        {"{\"a\":{\"y\":1,\"x\":[1,{\"q\":0,\"p\":1}]},\"b\":null}",
	         " { \"b\" : null ,\n\t\"a\" : { \"x\" : [ 1 , { \"p\" : 1 , \"q\" : 0 } ] , "
	         "\"y\" : 1 } } "},
	        /* duplicate keys: the last wins, wherever it stands after sorting */
	        {"{\"a\":1,\"b\":0,\"a\":2}", "{\"a\":2,\"b\":0}"},
	        {"{\"a\":{\"x\":1},\"a\":{\"x\":2,\"x\":3}}", "{\"a\":{\"x\":3}}"},
	        {"{\"k\":1,\"k\":2,\"k\":3,\"j\":0}", "{\"j\":0,\"k\":3}"},
	        /* escapes */
	        {"\"\\u00e9\"", "\"\xc3\xa9\""},
	        {"\"\\u00E9\"", "\"\xc3\xa9\""},
	        {"\"\\/\"", "\"/\""},
	        {"\"\\u0041\\t\"", "\"A\\t\""},
	        {"\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\""},
	        {"{\"\\u0061\":1}", "{\"a\":1}"},
	        {"{\"\\u0061\":1,\"a\":2}", "{\"a\":2}"},
	        /* numbers by value */
	        {"1", "1.0"},
	        {"1", "1.00"},
	        {"1", "10E-1"},
	        {"1", "1e0"},
	        {"1", "0.1e1"},
	        {"100", "1E+2"},
	        {"0", "-0"},
	        {"0", "0.000e-7"},
	        {"-1.5", "-15e-1"},
	        {"123456789012345678901234567890", "1.23456789012345678901234567890e29"},
	        {"18446744073709551615", "18446744073709551615.000"},
	        {"0.1", "100e-3"},
	        {"[1.0,2.50]", "[1, 2.5]"},
	};
	for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
		const char *a = canon(pairs[i][0]);
		if (a == NULL)
			fail_msg("refused: %s", pairs[i][0]);
		char *sa = strdup(a);
		const char *b = canon(pairs[i][1]);
		if (b == NULL)
			fail_msg("refused: %s", pairs[i][1]);
		if (strcmp(sa, b) != 0)
			fail_msg("%s -> %s but %s -> %s", pairs[i][0], sa, pairs[i][1], b);
		free(sa);
	}
}

static void test_unequal_pairs(void **state)
{
	(void)state;
	static const char *pairs[][2] = {
	        {"1", "1.1"},
	        {"\"1\"", "1"},
	        {"[1,2]", "[2,1]"},
	        {"{\"a\":[1,2]}", "{\"a\":[2,1]}"},
	        {"{\"a\":{\"b\":1}}", "{\"a\":{\"b\":2}}"},
	        {"{\"a\":1}", "{\"A\":1}"},
	        {"{\"a\":1,\"a\":2}", "{\"a\":1}"},
	        {"{\"a\":1}", "{\"a\":1,\"b\":1}"},
	        {"null", "\"null\""},
	        {"true", "1"},
	        {"[]", "{}"},
	        {"[[]]", "[]"},
	        {"18446744073709551616", "18446744073709551615"},
	        {"1e400", "1e401"},
	        {"-1", "1"},
	        {"0.1", "0.01"},
	        {"10", "1"},
	        {"\"\xc3\xa9\"", "\"e\""},
	        {"\"a\\u0000\"", "\"a\""},
	};
	for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
		const char *a = canon(pairs[i][0]);
		if (a == NULL)
			fail_msg("refused: %s", pairs[i][0]);
		char *sa = strdup(a);
		const char *b = canon(pairs[i][1]);
		if (b == NULL)
			fail_msg("refused: %s", pairs[i][1]);
		if (strcmp(sa, b) == 0)
			fail_msg("%s and %s both -> %s", pairs[i][0], pairs[i][1], b);
		free(sa);
	}
}

static void test_invalid(void **state)
{
	(void)state;
	static const char *bad[] = {
	        "",
	        " ",
	        "{",
	        "}",
	        "[1,]",
	        "[,1]",
	        "{\"a\"}",
	        "{\"a\":}",
	        "{a:1}",
	        "{\"a\":1,}",
	        "[1 2]",
	        "01",
	        "1.",
	        ".5",
	        "+1",
	        "1e",
	        "1e+",
	        "-",
	        "tru",
	        "nul",
	        "truex",
	        "\"abc",
	        "\"\\x\"",
	        "\"\\u12\"",
	        "\"\\ud800\"",
	        "\"\\udc00\"",
	        "\"\\ud800\\u0041\"",
	        "\"\t\"",
	        "1 2",
	        "[1]]",
	        "'a'",
	        "NaN",
	        "Infinity",
	        "1e1234567890123456",
	        "\"\xc3\"",
	        "\"\xc0\xaf\"",
	        "\"\xed\xa0\x80\"",
	        "\"\xf4\x90\x80\x80\"",
	        "\"\xff\"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (canon(bad[i]) != NULL)
			fail_msg("accepted: %s", bad[i]);
	/* an exponent of 15 digits is still exact */
	assert_canon("1e999999999999999", "1e999999999999999");
	assert_canon("1e-000000000000000000001", "1e-1");
	/* bytes after the value, including a NUL */
	assert_null(canon_n("1\0", 2));
	assert_null(canon_n(NULL, 0));
}

static void test_depth_limit(void **state)
{
	(void)state;
	size_t d = SL_JSON_MAX_DEPTH;
	char *s = malloc(2 * (d + 1) + 1);
	memset(s, '[', d);
	memset(s + d, ']', d);
	s[2 * d] = 0;
	assert_non_null(canon(s));
	memset(s, '[', d + 1);
	memset(s + d + 1, ']', d + 1);
	s[2 * d + 2] = 0;
	assert_null(canon(s));
	/* objects count too */
	sl_buf o = {0};
	for (size_t i = 0; i <= d; i++)
		sl_buf_puts(&o, "{\"k\":");
	sl_buf_puts(&o, "1");
	for (size_t i = 0; i <= d; i++)
		sl_buf_puts(&o, "}");
	assert_null(canon_n((const char *)o.data, o.len));
	sl_buf_free(&o);
	free(s);
}

/* Large objects are sorted whatever their size; the scratch stack serves nested objects. */
static void test_large_object(void **state)
{
	(void)state;
	sl_buf a = {0}, b = {0};
	sl_buf_puts(&a, "{");
	sl_buf_puts(&b, "{");
	for (int i = 0; i < 500; i++) {
		sl_buf_printf(&a, "%s\"k%d\":{\"z\":%d,\"y\":[%d]}", i ? "," : "", i, i, i);
		sl_buf_printf(&b, "%s\"k%d\" : {\"y\":[%d.0],\"z\":%d}", i ? ", " : "", 499 - i,
		              499 - i, 499 - i);
	}
	sl_buf_puts(&a, "}");
	sl_buf_puts(&b, "}");
	const char *ca = canon_n((const char *)a.data, a.len);
	assert_non_null(ca);
	char *sa = strdup(ca);
	const char *cb = canon_n((const char *)b.data, b.len);
	assert_non_null(cb);
	assert_string_equal(sa, cb);
	free(sa);
	sl_buf_free(&a);
	sl_buf_free(&b);
}

/* The digest hashes arrow.json values canonically, other Utf8 values by their bytes; invalid
 * JSON falls back to its bytes. */
static uint64_t digest_of(const char *ext, const char *const *vals, int n)
{
	sl_field f[1];
	sl_field_init(&f[0], "j", SL_TYPE_UTF8);
	if (ext)
		f[0].ext_name = strdup(ext);
	sl_batch *b = sl_batch_create(f, 1);
	for (int i = 0; i < n; i++) {
		if (vals[i])
			sl_col_append_bytes(&b->cols[0], vals[i], strlen(vals[i]));
		else
			sl_col_append_null(&b->cols[0]);
		sl_batch_end_row(b);
	}
	sl_digest d = {0};
	sl_digest_add_batch(&d, b);
	sl_batch_destroy(b);
	sl_field_reset(&f[0]);
	return d.sum;
}

static void test_digest_json(void **state)
{
	(void)state;
	const char *mysql[] = {"{\"a\":1,\"b\":[1.0,\"\\u00e9\"]}", NULL, "{not json", "[]"};
	const char *pg[] = {"{\"a\": 1, \"b\": [1.0, \"\xc3\xa9\"]}", NULL, "{not json", "[]"};
	const char *other[] = {"{\"a\": 1, \"b\": [1.1, \"\xc3\xa9\"]}", NULL, "{not json", "[]"};
	const char *broken[] = {"{\"a\":1,\"b\":[1.0,\"\\u00e9\"]}", NULL, "{not  json", "[]"};
	assert_int_equal(digest_of("arrow.json", mysql, 4), digest_of("arrow.json", pg, 4));
	assert_int_not_equal(digest_of("arrow.json", mysql, 4), digest_of("arrow.json", other, 4));
	assert_int_not_equal(digest_of("arrow.json", mysql, 4), digest_of("arrow.json", broken, 4));
	/* plain text stays byte-exact */
	assert_int_not_equal(digest_of(NULL, mysql, 4), digest_of(NULL, pg, 4));
}

static sl_json_span span(const char *s)
{
	return (sl_json_span){s, strlen(s)};
}

static void test_reader(void **state)
{
	(void)state;
	const char *doc =
	        " { \"code\" : \"090001\", \"n\": -1.5e3, \"skip\": {\"a\": [1, {\"b\": "
	        "\"]\\\"}\"}]},"
	        "\"data\": [[\"1\", null], [\"caf\\u00e9 \\\"q\\\"\\n\", \"x\"]], \"e\": []} ";
	sl_json_span v, row = {0}, cell = {0};
	sl_buf b = {0};
	assert_int_equal(sl_json_member(span(doc), "code", &v), 0);
	assert_int_equal(sl_json_string(v, &b), 0);
	assert_string_equal(sl_buf_cstr(&b), "090001");
	assert_int_equal(sl_json_member(span(doc), "n", &v), 0);
	assert_int_equal((int)v.n, 6);
	assert_int_equal(sl_json_string(v, &b), -1);             /* a number is not a string */
	assert_int_equal(sl_json_member(span(doc), "a", &v), 1); /* nested keys are not members */
	assert_int_equal(sl_json_member(span(doc), "data", &v), 0);
	assert_int_equal(sl_json_next(v, &row), 0);
	assert_int_equal(sl_json_next(row, &cell), 0);
	assert_int_equal(sl_json_string(cell, &b), 0);
	assert_string_equal(sl_buf_cstr(&b), "1");
	assert_int_equal(sl_json_next(row, &cell), 0);
	assert_true(sl_json_is_null(cell));
	assert_int_equal(sl_json_string(cell, &b), 1);
	assert_int_equal(sl_json_next(row, &cell), 1);
	assert_int_equal(sl_json_next(v, &row), 0);
	cell.p = NULL;
	assert_int_equal(sl_json_next(row, &cell), 0);
	assert_int_equal(sl_json_string(cell, &b), 0);
	assert_string_equal(sl_buf_cstr(&b), "caf\xc3\xa9 \"q\"\n");
	assert_int_equal(sl_json_next(v, &row), 1);
	assert_int_equal(sl_json_member(span(doc), "e", &v), 0);
	row.p = NULL;
	assert_int_equal(sl_json_next(v, &row), 1);
	/* malformed documents are errors, not crashes */
	const char *bad[] = {"",           "[",           "{\"a\"}", "{\"a\":}",
	                     "{\"a\":1,}", "{\"a\":\"x}", "{a:1}",   "[1 2]"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int rc = sl_json_member(span(bad[i]), "zz", &v);
		row.p = NULL;
		int rc2 = sl_json_next(span(bad[i]), &row);
		if (i == 7) {
			assert_int_equal(rc2, 0); /* the first element is fine */
			assert_int_equal(sl_json_next(span(bad[i]), &row), -1);
		} else {
			assert_int_equal(rc, -1);
		}
	}
	assert_int_equal(sl_json_string(span("\"bad \\x\""), &b), -1);
	assert_int_equal(sl_json_string(span("\"\\ud800\""), &b), -1);
	sl_buf_free(&b);
}

static int teardown(void **state)
{
	(void)state;
	sl_buf_free(&out);
	sl_buf_free(&scratch);
	return 0;
}

/* rows of cells, as the SQL APIs answer them */
static void test_grid(void **state)
{
	(void)state;
	sl_json_span *cells = NULL;
	size_t cap = 0;
	int64_t nrows;
	int ncols;
	const char *ok = "[[\"a\",null],[\"b\",\"c\"],[\"d\",\"e\"]]";
	assert_int_equal(sl_json_grid((sl_json_span){ok, strlen(ok)}, &cells, &cap, &nrows, &ncols),
	                 0);
	assert_int_equal(nrows, 3);
	assert_int_equal(ncols, 2);
	assert_true(sl_json_is_null(cells[1]));
	assert_memory_equal(cells[5].p, "\"e\"", 3);
	const char *ragged = "[[\"a\"],[\"b\",\"c\"]]", *empty = "[]", *bad = "[[1,2]";
	assert_int_equal(
	        sl_json_grid((sl_json_span){ragged, strlen(ragged)}, &cells, &cap, &nrows, &ncols),
	        -1);
	assert_int_equal(
	        sl_json_grid((sl_json_span){empty, strlen(empty)}, &cells, &cap, &nrows, &ncols),
	        0);
	assert_int_equal(nrows, 0);
	assert_int_equal(
	        sl_json_grid((sl_json_span){bad, strlen(bad)}, &cells, &cap, &nrows, &ncols), -1);
	free(cells);
}

/* RFC 3629's well-formed sequences, and text that is not UTF-8 made valid with U+FFFD */
static void test_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		size_t n, want;
	} seq[] = {
	        {"a", 1, 1},
	        {"\xc3\xa9", 2, 2},         /* é */
	        {"\xc3", 1, 0},             /* truncated */
	        {"\xc0\xaf", 2, 0},         /* overlong '/' */
	        {"\xc1\xbf", 2, 0},         /* overlong */
	        {"\xe2\x82\xac", 3, 3},     /* € */
	        {"\xe0\x80\xaf", 3, 0},     /* overlong */
	        {"\xe0\xa0\x80", 3, 3},     /* U+0800, the first 3-byte one */
	        {"\xed\x9f\xbf", 3, 3},     /* U+D7FF */
	        {"\xed\xa0\x80", 3, 0},     /* a surrogate */
	        {"\xef\xbf\xbd", 3, 3},     /* U+FFFD */
	        {"\xe2\x82", 2, 0},         /* truncated */
	        {"\xe2\x28\xa1", 3, 0},     /* bad continuation */
	        {"\xf0\x9f\x98\x80", 4, 4}, /* U+1F600 */
	        {"\xf0\x8f\xbf\xbf", 4, 0}, /* overlong */
	        {"\xf4\x8f\xbf\xbf", 4, 4}, /* U+10FFFF */
	        {"\xf4\x90\x80\x80", 4, 0}, /* past U+10FFFF */
	        {"\xf5\x80\x80\x80", 4, 0}, /* no such lead byte */
	        {"\x80", 1, 0},             /* a lone continuation */
	        {"\xf0\x9f\x98\x28", 4, 0}, /* bad last byte */
	};
	for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
		if (sl_utf8_seq((const uint8_t *)seq[i].s, seq[i].n) != seq[i].want)
			fail_msg("sequence %zu: want %zu", i, seq[i].want);
		assert_int_equal(sl_utf8_valid(seq[i].s, seq[i].n), seq[i].want == seq[i].n);
	}
	sl_buf b = {0};
	sl_json_put_text(&b, "caf\xc3\xa9 \"ok\"");
	assert_string_equal(sl_buf_cstr(&b), "\"caf\xc3\xa9 \\\"ok\\\"\"");
	sl_buf_reset(&b);
	/* Latin-1 é, a lone continuation, a truncated sequence at the end */
	sl_json_put_text(&b, "caf\xe9 \x80x\xe2\x82");
	assert_string_equal(sl_buf_cstr(&b),
	                    "\"caf\xef\xbf\xbd \xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbd\"");
	sl_buf_reset(&b);
	sl_json_put_text(&b, "\xed\xa0\x80"); /* a surrogate: each byte replaced */
	assert_string_equal(sl_buf_cstr(&b), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	sl_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_canonical_forms),
	        cmocka_unit_test(test_equal_pairs),
	        cmocka_unit_test(test_unequal_pairs),
	        cmocka_unit_test(test_invalid),
	        cmocka_unit_test(test_depth_limit),
	        cmocka_unit_test(test_large_object),
	        cmocka_unit_test(test_digest_json),
	        cmocka_unit_test(test_reader),
	        cmocka_unit_test(test_grid),
	        cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
