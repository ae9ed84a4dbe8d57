/* PostgreSQL binary COPY codec: golden bytes captured from PostgreSQL 15, edge-value round trips
 * for every kind in the spec's PostgreSQL type table, and malformed input. */
#include <math.h>
#include <stdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/batch.h"
#include "core/digest.h"
#include "formats/decimal.h"
#include "formats/pgbinary.h"
#include "formats/pgtypes.h"

/* COPY (SELECT 1::int2, -5::int4, 9223372036854775807::int8, 1.5::float4, '-Infinity'::float8,
 *   '12345678.9'::numeric, '-0.05'::numeric(5,2), date '1970-01-01', 'infinity'::date,
 *   time '24:00:00', timestamp '2000-01-01 00:00:00.000001', timestamptz '1999-12-31 23:59:59+00',
 *   'héllo😀'::text, '\x00ff'::bytea, '{"a": 1}'::jsonb, 'a0eebc99-...'::uuid,
 *   ARRAY[1,NULL,3]::int4[], '{}'::text[], true, NULL::int4, 'NaN'::numeric, 4294967295::oid,
 *   '16/B374D848'::pg_lsn, '12.34'::money) TO STDOUT (FORMAT binary), PostgreSQL 15.20 */
static const char golden_hex[] = "5047434f50590aff0d0a000000000000000000001800000002000100000004fff"
                                 "ffffb000000087fffffffffffffff00"
                                 "0000043fc0000000000008fff00000000000000000000e000300010000000104d"
                                 "2162e23280000000a0001ffff400000"
                                 "0201f400000004ffffd533000000047fffffff00000008000000141dd76000000"
                                 "00008000000000000000100000008ff"
                                 "fffffffff0bdc00000000a68c3a96c6c6ff09f98800000000200ff00000009017"
                                 "b2261223a20317d00000010a0eebc99"
                                 "9c0b4ef8bb6d6bb9bd380a1100000028000000010000000100000017000000030"
                                 "00000010000000400000001ffffffff"
                                 "00000004000000030000000c0000000000000000000000190000000101fffffff"
                                 "f0000000800000000c0000000000000"
                                 "04ffffffff0000000800000016b374d8480000000800000000000004d2ffff";

static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

#define NG 24
static sl_field gf[NG];
static sl_pg_codec gc[NG];

static void golden_schema(void)
{
	static const struct {
		sl_type_id t;
		sl_pg_kind k;
	} cols[NG] = {
	        {SL_TYPE_INT16, SL_PG_INT2},          {SL_TYPE_INT32, SL_PG_INT4},
	        {SL_TYPE_INT64, SL_PG_INT8},          {SL_TYPE_FLOAT32, SL_PG_FLOAT4},
	        {SL_TYPE_FLOAT64, SL_PG_FLOAT8},      {SL_TYPE_UTF8, SL_PG_NUMERIC},
	        {SL_TYPE_DECIMAL128, SL_PG_NUMERIC},  {SL_TYPE_DATE32, SL_PG_DATE},
	        {SL_TYPE_DATE32, SL_PG_DATE},         {SL_TYPE_TIME64, SL_PG_TIME},
	        {SL_TYPE_TIMESTAMP, SL_PG_TIMESTAMP}, {SL_TYPE_TIMESTAMP, SL_PG_TIMESTAMP},
	        {SL_TYPE_UTF8, SL_PG_TEXT},           {SL_TYPE_BINARY, SL_PG_BYTEA},
	        {SL_TYPE_UTF8, SL_PG_JSONB},          {SL_TYPE_UTF8, SL_PG_UUID},
	        {SL_TYPE_LIST, SL_PG_ARRAY},          {SL_TYPE_LIST, SL_PG_ARRAY},
	        {SL_TYPE_BOOL, SL_PG_BOOL},           {SL_TYPE_INT32, SL_PG_INT4},
	        {SL_TYPE_UTF8, SL_PG_NUMERIC},        {SL_TYPE_UINT32, SL_PG_OID},
	        {SL_TYPE_UINT64, SL_PG_LSN},          {SL_TYPE_INT64, SL_PG_INT8},
	};
	for (int i = 0; i < NG; i++) {
		char name[8];
		snprintf(name, sizeof name, "c%d", i);
		sl_field_init(&gf[i], name, cols[i].t);
		gc[i].kind = cols[i].k;
	}
	gf[6].precision = 5;
	gf[6].scale = 2;
	gf[9].unit = gf[10].unit = gf[11].unit = SL_UNIT_US;
	sl_field *e16 = malloc(sizeof *e16);
	sl_field_init(e16, "item", SL_TYPE_INT32);
	sl_field_set_child(&gf[16], e16);
	gc[16].elem_kind = SL_PG_INT4;
	gc[16].elem_oid = 23;
	sl_field *e17 = malloc(sizeof *e17);
	sl_field_init(e17, "item", SL_TYPE_UTF8);
	sl_field_set_child(&gf[17], e17);
	gc[17].elem_kind = SL_PG_TEXT;
	gc[17].elem_oid = 25;
}

static void golden_free(void)
{
	for (int i = 0; i < NG; i++)
		sl_field_reset(&gf[i]);
}

static sl_batch *decode_all(const sl_field *f, const sl_pg_codec *c, int n, const uint8_t *buf,
                            size_t len)
{
	sl_error err = {0};
	sl_batch *b = sl_batch_create(f, n);
	int h = sl_pgcopy_parse_header(buf, len, &err);
	assert_int_equal(h, SL_PGCOPY_HEADER_LEN);
	size_t pos = (size_t)h;
	int trailer = 0;
	while (!trailer) {
		int used = sl_pgcopy_decode_tuple(c, buf + pos, len - pos, b, &trailer, &err);
		if (used <= 0)
			fail_msg("decode failed at %zu: %s", pos, err.msg);
		pos += (size_t)used;
	}
	assert_int_equal(pos, len);
	assert_true(sl_batch_is_consistent(b));
	return b;
}

static void assert_str(const sl_column *c, int64_t i, const char *expect)
{
	int32_t n;
	const uint8_t *p = sl_col_bytes(c, i, &n);
	assert_int_equal(n, (int32_t)strlen(expect));
	assert_memory_equal(p, expect, (size_t)n);
}

static void test_golden_decode_and_reencode(void **state)
{
	(void)state;
	golden_schema();
	uint8_t buf[512];
	size_t len = unhex(golden_hex, buf);
	sl_batch *b = decode_all(gf, gc, NG, buf, len);
	assert_int_equal(b->length, 1);
	assert_int_equal(((int16_t *)b->cols[0].values.data)[0], 1);
	assert_int_equal(((int32_t *)b->cols[1].values.data)[0], -5);
	assert_true(((int64_t *)b->cols[2].values.data)[0] == INT64_MAX);
	assert_true(((float *)b->cols[3].values.data)[0] == 1.5f);
	assert_true(isinf(((double *)b->cols[4].values.data)[0]) &&
	            ((double *)b->cols[4].values.data)[0] < 0);
	assert_str(&b->cols[5], 0, "12345678.9");
	char dec[100];
	sl_decimal_to_text(b->cols[6].values.data, 16, 2, dec);
	assert_string_equal(dec, "-0.05");
	assert_int_equal(((int32_t *)b->cols[7].values.data)[0], 0);
	assert_int_equal(((int32_t *)b->cols[8].values.data)[0], SL_DATE32_POS_INF);
	assert_true(((int64_t *)b->cols[9].values.data)[0] == INT64_C(86400000000));
	assert_true(((int64_t *)b->cols[10].values.data)[0] == INT64_C(946684800000001));
	assert_true(((int64_t *)b->cols[11].values.data)[0] == INT64_C(946684799000000));
	assert_str(&b->cols[12], 0, "h\xc3\xa9llo\xf0\x9f\x98\x80");
	int32_t n;
	const uint8_t *p = sl_col_bytes(&b->cols[13], 0, &n);
	assert_int_equal(n, 2);
	assert_int_equal(p[0], 0x00);
	assert_int_equal(p[1], 0xff);
	assert_str(&b->cols[14], 0, "{\"a\": 1}");
	assert_str(&b->cols[15], 0, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
	const sl_column *arr = &b->cols[16];
	assert_int_equal(arr->child->length, 3);
	assert_int_equal(arr->child->null_count, 1);
	assert_int_equal(((int32_t *)arr->offsets.data)[0], 0);
	assert_int_equal(((int32_t *)arr->offsets.data)[1], 3);
	assert_true(sl_col_is_valid(arr->child, 0));
	assert_int_equal(((int32_t *)arr->child->values.data)[0], 1);
	assert_false(sl_col_is_valid(arr->child, 1));
	assert_true(sl_col_is_valid(arr->child, 2));
	assert_int_equal(((int32_t *)arr->child->values.data)[2], 3);
	assert_int_equal(b->cols[17].child->length, 0);
	assert_true(sl_col_is_valid(&b->cols[17], 0));
	assert_true(sl_col_bool(&b->cols[18], 0));
	assert_false(sl_col_is_valid(&b->cols[19], 0));
	assert_int_equal(b->cols[19].null_count, 1);
	assert_str(&b->cols[20], 0, "NaN");
	assert_true(((uint32_t *)b->cols[21].values.data)[0] == 4294967295u);
	assert_true(((uint64_t *)b->cols[22].values.data)[0] == UINT64_C(0x16B374D848));
	assert_true(((int64_t *)b->cols[23].values.data)[0] == 1234);

	/* re-encoding gives PostgreSQL's own bytes back */
	sl_buf out = {0};
	sl_error err = {0};
	sl_pgcopy_write_header(&out);
	assert_int_equal(sl_pgcopy_encode_rows(gc, b, 0, b->length, &out, &err), 0);
	sl_pgcopy_write_trailer(&out);
	assert_int_equal(out.len, len);
	assert_memory_equal(out.data, buf, len);
	sl_buf_free(&out);
	sl_batch_destroy(b);
	golden_free();
}

/* numeric text <-> binary against bytes PostgreSQL produces */
static void test_numeric_golden(void **state)
{
	(void)state;
	static const struct {
		const char *text, *hex;
	} cases[] = {
	        {"12345678.9", "0003000100000001"
	                       "04d2162e2328"},
	        {"-0.05", "0001ffff40000002"
	                  "01f4"},
	        {"1.50", "0002000000000002"
	                 "00011388"},
	        {"0", "0000000000000000"},
	        {"0.000", "0000000000000003"},
	        {"NaN", "00000000c0000000"},
	        {"Infinity", "00000000d0000000"},
	        {"-Infinity", "00000000f0000000"},
	        {"100000000", "0001000200000000"
	                      "0001"},
	        {"0.00001", "0001fffe00000005"
	                    "03e8"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		uint8_t expect[64];
		size_t n = unhex(cases[i].hex, expect);
		sl_buf out = {0};
		sl_error err = {0};
		assert_int_equal(
		        sl_pg_numeric_from_text(cases[i].text, strlen(cases[i].text), &out, &err),
		        0);
		assert_int_equal(out.len, n);
		assert_memory_equal(out.data, expect, n);
		sl_buf txt = {0};
		assert_int_equal(sl_pg_numeric_to_text(expect, n, &txt, &err), 0);
		assert_string_equal(sl_buf_cstr(&txt), cases[i].text);
		sl_buf_free(&out);
		sl_buf_free(&txt);
	}
	sl_buf out = {0};
	sl_error err = {0};
	assert_true(sl_pg_numeric_from_text("1.2.3", 5, &out, &err) < 0);
	assert_true(sl_pg_numeric_from_text("", 0, &out, &err) < 0);
	assert_true(sl_pg_numeric_from_text("1e5", 3, &out, &err) < 0);
	sl_buf_free(&out);
}

/* numeric binary <-> Decimal128/256 at the edges of precision */
static void test_numeric_decimal(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int width, scale;
	} cases[] = {
	        {"99999999999999999999999999999999999999", 16, 0},
	        {"-99999999999999999999999999999999999999", 16, 0},
	        {"9999999999999999999999999999.9999999999", 16, 10},
	        {"-0.0000000001", 16, 10},
	        {"0.00", 16, 2},
	        {"123.45", 16, 2},
	        {"9999999999999999999999999999999999999999999999999999999999999999999999999999", 32,
	         0},
	        {"-99999999999999999999999999999999999999999999999999999999.99999999999999999999",
	         32, 20},
	        {"1.0000000000000000000000000000000000000000000000000000000000000000000000000", 32,
	         73},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		sl_buf pg = {0}, back = {0}, txt = {0};
		sl_error err = {0};
		const char *t = cases[i].text;
		assert_int_equal(sl_pg_numeric_from_text(t, strlen(t), &pg, &err), 0);
		uint8_t dec[32];
		if (sl_pg_numeric_to_decimal(pg.data, pg.len, cases[i].width, cases[i].scale, dec,
		                             &err) != 0)
			fail_msg("%s: %s", t, err.msg);
		char s[100];
		sl_decimal_to_text(dec, cases[i].width, cases[i].scale, s);
		assert_string_equal(s, t);
		uint8_t dec2[32];
		assert_int_equal(
		        sl_decimal_from_text(t, strlen(t), cases[i].width, cases[i].scale, dec2),
		        0);
		assert_memory_equal(dec, dec2, (size_t)cases[i].width);
		sl_pg_numeric_from_decimal(dec, cases[i].width, cases[i].scale, &back);
		assert_int_equal(sl_pg_numeric_to_text(back.data, back.len, &txt, &err), 0);
		assert_string_equal(sl_buf_cstr(&txt), t);
		sl_buf_free(&pg);
		sl_buf_free(&back);
		sl_buf_free(&txt);
	}
	/* does not fit */
	sl_buf pg = {0};
	sl_error err = {0};
	uint8_t dec[32];
	sl_pg_numeric_from_text("1"
	                        "00000000000000000000000000000000000000000",
	                        40, &pg, &err);
	assert_true(sl_pg_numeric_to_decimal(pg.data, pg.len, 16, 0, dec, &err) < 0);
	/* NaN and the infinities: the sentinels of both widths, and back to the same numeric */
	const char *specials[] = {"NaN", "Infinity", "-Infinity"};
	const sl_decimal_special want[] = {SL_DECIMAL_NAN, SL_DECIMAL_POS_INF, SL_DECIMAL_NEG_INF};
	for (int i = 0; i < 3; i++) {
		for (int w = 16; w <= 32; w += 16) {
			sl_buf_reset(&pg);
			sl_pg_numeric_from_text(specials[i], strlen(specials[i]), &pg, &err);
			assert_int_equal(sl_pg_numeric_to_decimal(pg.data, pg.len, w, 2, dec, &err),
			                 0);
			assert_int_equal(sl_decimal_special_of(dec, w), want[i]);
			assert_string_equal(sl_decimal_special_name(want[i]), specials[i]);
			sl_buf back = {0}, txt = {0};
			sl_pg_numeric_from_decimal(dec, w, 2, &back);
			assert_int_equal(sl_pg_numeric_to_text(back.data, back.len, &txt, &err), 0);
			assert_string_equal(sl_buf_cstr(&txt), specials[i]);
			sl_buf_free(&back);
			sl_buf_free(&txt);
		}
	}
	/* the largest finite decimals of every precision are not sentinels */
	for (int w = 16; w <= 32; w += 16) {
		const char *nines = "99999999999999999999999999999999999999999999999999999999999999"
		                    "99999999999999";
		size_t n = w == 16 ? 38 : 76;
		for (int neg = 0; neg < 2; neg++) {
			char t[80];
			snprintf(t, sizeof t, "%s%.*s", neg ? "-" : "", (int)n, nines);
			assert_int_equal(sl_decimal_from_text(t, strlen(t), w, 0, dec), 0);
			assert_int_equal(sl_decimal_special_of(dec, w), SL_DECIMAL_FINITE);
		}
	}
	assert_true(sl_decimal_from_text("1.234", 5, 16, 2, dec) < 0); /* more scale than allowed */
	assert_int_equal(sl_decimal_from_text("1.230", 5, 16, 2, dec), 0);
	sl_buf_free(&pg);
}

/* A list column of Utf8 (or Binary) elements against values written independently of the
 * codec: per row, NULL or the elements, each NULL or bytes. Checks the list's validity and
 * offsets, the child's length, validity, offsets and every element's bytes. Returns NULL when
 * they match, or what differs first (in why). */
struct list_row {
	bool null;
	int n;
	const char *e[4]; /* NULL: a null element */
};

static const char *list_mismatch(const sl_column *c, const struct list_row *rows, int nrows,
                                 char *why, size_t cap)
{
	if (c->length != nrows)
		return snprintf(why, cap, "%lld rows, expected %d", (long long)c->length, nrows),
		       why;
	const int32_t *off = (const int32_t *)c->offsets.data;
	const sl_column *ch = c->child;
	const int32_t *coff = (const int32_t *)ch->offsets.data;
	int64_t nulls = 0, elem = 0, elem_nulls = 0;
	if (off[0] != 0)
		return snprintf(why, cap, "list offset 0 is %d", off[0]), why;
	for (int r = 0; r < nrows; r++) {
		if (sl_col_is_valid(c, r) == rows[r].null)
			return snprintf(why, cap, "row %d: list validity", r), why;
		nulls += rows[r].null;
		int n = rows[r].null ? 0 : rows[r].n;
		if (off[r + 1] - off[r] != n)
			return snprintf(why, cap, "row %d: %d elements, expected %d", r,
			                off[r + 1] - off[r], n),
			       why;
		for (int k = 0; k < n; k++, elem++) {
			const char *e = rows[r].e[k];
			if (sl_col_is_valid(ch, elem) != (e != NULL))
				return snprintf(why, cap, "row %d element %d: validity", r, k), why;
			int32_t len = coff[elem + 1] - coff[elem];
			if (e == NULL) {
				elem_nulls++;
				if (len != 0)
					return snprintf(why, cap,
					                "row %d element %d: null with %d bytes", r,
					                k, len),
					       why;
				continue;
			}
			if (len != (int32_t)strlen(e) ||
			    memcmp(ch->values.data + coff[elem], e, (size_t)len) != 0)
				return snprintf(why, cap, "row %d element %d: %d bytes, not \"%s\"",
				                r, k, len, e),
				       why;
		}
	}
	if (c->null_count != nulls)
		return snprintf(why, cap, "list null_count %lld, expected %lld",
		                (long long)c->null_count, (long long)nulls),
		       why;
	if (ch->length != elem || ch->null_count != elem_nulls)
		return snprintf(why, cap, "child: %lld elements (%lld null), expected %lld (%lld)",
		                (long long)ch->length, (long long)ch->null_count, (long long)elem,
		                (long long)elem_nulls),
		       why;
	if ((size_t)coff[elem] != ch->values.len)
		return snprintf(why, cap, "child values hold %zu bytes, offsets end at %d",
		                ch->values.len, coff[elem]),
		       why;
	return NULL;
}

/* Every codec kind: edge values and NULL through encode -> decode, compared value by value. */
static void test_edge_roundtrip(void **state)
{
	(void)state;
	enum { NC = 18 };
	sl_field f[NC];
	sl_pg_codec c[NC];
	memset(c, 0, sizeof c);
	const struct {
		sl_type_id t;
		sl_pg_kind k;
	} def[NC] = {
	        {SL_TYPE_BOOL, SL_PG_BOOL},          {SL_TYPE_INT16, SL_PG_INT2},
	        {SL_TYPE_INT32, SL_PG_INT4},         {SL_TYPE_INT64, SL_PG_INT8},
	        {SL_TYPE_FLOAT32, SL_PG_FLOAT4},     {SL_TYPE_FLOAT64, SL_PG_FLOAT8},
	        {SL_TYPE_DECIMAL128, SL_PG_NUMERIC}, {SL_TYPE_DECIMAL256, SL_PG_NUMERIC},
	        {SL_TYPE_UTF8, SL_PG_NUMERIC},       {SL_TYPE_DATE32, SL_PG_DATE},
	        {SL_TYPE_TIME64, SL_PG_TIME},        {SL_TYPE_TIMESTAMP, SL_PG_TIMESTAMP},
	        {SL_TYPE_UTF8, SL_PG_TEXT},          {SL_TYPE_BINARY, SL_PG_BYTEA},
	        {SL_TYPE_UTF8, SL_PG_JSONB},         {SL_TYPE_UTF8, SL_PG_UUID},
	        {SL_TYPE_UINT32, SL_PG_OID},         {SL_TYPE_LIST, SL_PG_ARRAY},
	};
	for (int i = 0; i < NC; i++) {
		sl_field_init(&f[i], "c", def[i].t);
		c[i].kind = def[i].k;
	}
	f[6].precision = 38;
	f[6].scale = 10;
	f[7].precision = 76;
	f[7].scale = 20;
	f[10].unit = f[11].unit = SL_UNIT_US;
	f[11].tz = strdup("UTC");
	sl_field *e = malloc(sizeof *e);
	sl_field_init(e, "item", SL_TYPE_UTF8);
	sl_field_set_child(&f[17], e);
	c[17].elem_kind = SL_PG_TEXT;
	c[17].elem_oid = 25;

	sl_batch *b = sl_batch_create(f, NC);
	/* row 0: minimums / negatives; row 1: maximums / specials; row 2: NULL everywhere; row 3:
	 * empties */
	const char *d128[] = {"-9999999999999999999999999999.9999999999",
	                      "9999999999999999999999999999.9999999999", NULL, "0.0000000000"};
	const char *d256[] = {
	        "-99999999999999999999999999999999999999999999999999999999.99999999999999999999",
	        "12345678901234567890123456789012345678901234567890123456.12345678901234567890",
	        NULL, "0.00000000000000000000"};
	const char *num[] = {"-1234567890123456789012345678901234567890.000000000000000000001",
	                     "NaN", NULL, "0"};
	const char *txt[] = {"multibyte \xf0\x9f\x98\x80 \xe2\x82\xac 'quote' \\ back\nslash", "x",
	                     NULL, ""};
	const char *json[] = {"{\"k\": [1, 2.5, \"\xc3\xa9\"]}", "null", NULL, "{}"};
	const char *uuid[] = {"00000000-0000-0000-0000-000000000000",
	                      "ffffffff-ffff-ffff-ffff-ffffffffffff", NULL,
	                      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"};
	const int32_t dates[] = {-2451545 + SL_PG_EPOCH_DAYS /* 4713 BC */, SL_DATE32_POS_INF, 0,
	                         SL_DATE32_NEG_INF};
	const int64_t ts[] = {INT64_C(-211813488000000000) + SL_PG_EPOCH_US, SL_TIMESTAMP_POS_INF,
	                      0, SL_TIMESTAMP_NEG_INF};
	const double f64[] = {-0.0, NAN, 0, INFINITY};
	const float f32[] = {-INFINITY, 3.4028235e38f, 0, NAN};
	for (int r = 0; r < 4; r++) {
		if (r == 2) {
			for (int i = 0; i < NC; i++)
				sl_col_append_null(&b->cols[i]);
			sl_batch_end_row(b);
			continue;
		}
		sl_col_append_bool(&b->cols[0], r == 1);
		sl_col_append_i16(&b->cols[1], r == 0 ? INT16_MIN : r == 1 ? INT16_MAX : 0);
		sl_col_append_i32(&b->cols[2], r == 0 ? INT32_MIN : r == 1 ? INT32_MAX : 0);
		sl_col_append_i64(&b->cols[3], r == 0 ? INT64_MIN : r == 1 ? INT64_MAX : 0);
		sl_col_append_f32(&b->cols[4], f32[r]);
		sl_col_append_f64(&b->cols[5], f64[r]);
		uint8_t dec[32];
		assert_int_equal(sl_decimal_from_text(d128[r], strlen(d128[r]), 16, 10, dec), 0);
		sl_col_append_fixed(&b->cols[6], dec, 16);
		assert_int_equal(sl_decimal_from_text(d256[r], strlen(d256[r]), 32, 20, dec), 0);
		sl_col_append_fixed(&b->cols[7], dec, 32);
		sl_col_append_bytes(&b->cols[8], num[r], strlen(num[r]));
		sl_col_append_i32(&b->cols[9], dates[r]);
		sl_col_append_i64(&b->cols[10], r == 1 ? INT64_C(86400000000) : 0);
		sl_col_append_i64(&b->cols[11], ts[r]);
		sl_col_append_bytes(&b->cols[12], txt[r], strlen(txt[r]));
		sl_col_append_bytes(&b->cols[13], r == 3 ? "" : "\x00\x01\xff", r == 3 ? 0 : 3);
		sl_col_append_bytes(&b->cols[14], json[r], strlen(json[r]));
		sl_col_append_bytes(&b->cols[15], uuid[r], strlen(uuid[r]));
		uint32_t oid = r == 1 ? UINT32_MAX : 0;
		sl_col_append_fixed(&b->cols[16], &oid, 4);
		if (r == 0) {
			sl_col_append_bytes(b->cols[17].child, "a", 1);
			sl_col_append_null(b->cols[17].child);
			sl_col_append_bytes(b->cols[17].child, "", 0);
		}
		if (r == 1)
			sl_col_append_bytes(b->cols[17].child, "\xe2\x82\xac", 3);
		sl_col_end_list(&b->cols[17]); /* row 3: empty array */
		sl_batch_end_row(b);
	}
	assert_true(sl_batch_is_consistent(b));

	sl_buf out = {0};
	sl_error err = {0};
	sl_pgcopy_write_header(&out);
	if (sl_pgcopy_encode_rows(c, b, 0, b->length, &out, &err) != 0)
		fail_msg("encode: %s", err.msg);
	sl_pgcopy_write_trailer(&out);
	sl_batch *d = decode_all(f, c, NC, out.data, out.len);
	assert_int_equal(d->length, b->length);
	for (int i = 0; i < NC; i++) {
		const sl_column *x = &b->cols[i], *y = &d->cols[i];
		assert_int_equal(x->null_count, y->null_count);
		assert_int_equal(x->validity.len, y->validity.len);
		assert_memory_equal(x->validity.data, y->validity.data, x->validity.len);
		if (def[i].t == SL_TYPE_LIST) {
			assert_int_equal(x->offsets.len, y->offsets.len);
			assert_memory_equal(x->offsets.data, y->offsets.data, x->offsets.len);
			continue; /* elements: below */
		}
		if (def[i].t == SL_TYPE_UTF8 || def[i].t == SL_TYPE_BINARY) {
			for (int64_t r = 0; r < b->length; r++) {
				int32_t n1, n2;
				const uint8_t *p1 = sl_col_bytes(x, r, &n1),
				              *p2 = sl_col_bytes(y, r, &n2);
				if (def[i].k == SL_PG_UUID && n1 == 0)
					continue;
				assert_int_equal(n1, n2);
				assert_memory_equal(p1, p2, (size_t)n1);
			}
			continue;
		}
		/* fixed width: bitwise equal (NaN and -0 included) */
		assert_int_equal(x->values.len, y->values.len);
		assert_memory_equal(x->values.data, y->values.data, x->values.len);
	}

	/* the text[] column, element by element, against the values appended above: what was
	 * built, and what came back */
	static const struct list_row arr[] = {
	        {false, 3, {"a", NULL, ""}},
	        {false, 1, {"\xe2\x82\xac"}},
	        {true, 0, {NULL}},
	        {false, 0, {NULL}},
	};
	char why[160];
	const char *m;
	if ((m = list_mismatch(&b->cols[17], arr, 4, why, sizeof why)) != NULL)
		fail_msg("text[] as built: %s", m);
	sl_column *dl = &d->cols[17];
	if ((m = list_mismatch(dl, arr, 4, why, sizeof why)) != NULL)
		fail_msg("text[] after the round trip: %s", m);
	/* the comparison sees one changed byte, one changed null, one moved element boundary */
	uint8_t *euro = dl->child->values.data + ((int32_t *)dl->child->offsets.data)[3];
	euro[2] ^= 1;
	assert_non_null(list_mismatch(dl, arr, 4, why, sizeof why));
	euro[2] ^= 1;
	dl->child->validity.data[0] ^= 2; /* element 1 (NULL) now valid */
	assert_non_null(list_mismatch(dl, arr, 4, why, sizeof why));
	dl->child->validity.data[0] ^= 2;
	((int32_t *)dl->child->offsets.data)[1] += 1; /* "a" takes a byte of its neighbour */
	assert_non_null(list_mismatch(dl, arr, 4, why, sizeof why));
	((int32_t *)dl->child->offsets.data)[1] -= 1;
	assert_null(list_mismatch(dl, arr, 4, why, sizeof why));

	sl_batch_destroy(d);
	sl_batch_destroy(b);
	sl_buf_free(&out);
	for (int i = 0; i < NC; i++)
		sl_field_reset(&f[i]);
}

static void test_malformed_input(void **state)
{
	(void)state;
	sl_field f[1];
	sl_pg_codec c[1] = {{.kind = SL_PG_INT4}};
	sl_field_init(&f[0], "x", SL_TYPE_INT32);
	sl_batch *b = sl_batch_create(f, 1);
	sl_error err = {0};
	int tr;
	/* incomplete tuple: nothing consumed, nothing appended */
	const uint8_t part[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00};
	assert_int_equal(sl_pgcopy_decode_tuple(c, part, sizeof part, b, &tr, &err), 0);
	assert_int_equal(b->length, 0);
	/* wrong field count */
	const uint8_t two[] = {0x00, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	assert_true(sl_pgcopy_decode_tuple(c, two, sizeof two, b, &tr, &err) < 0);
	/* wrong value length for int4 */
	const uint8_t badlen[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01};
	assert_true(sl_pgcopy_decode_tuple(c, badlen, sizeof badlen, b, &tr, &err) < 0);
	assert_non_null(strstr(err.msg, "length"));
	/* negative length other than -1 */
	const uint8_t neg[] = {0x00, 0x01, 0xff, 0xff, 0xff, 0xfe};
	assert_true(sl_pgcopy_decode_tuple(c, neg, sizeof neg, b, &tr, &err) < 0);
	/* trailer */
	const uint8_t trailer[] = {0xff, 0xff};
	assert_int_equal(sl_pgcopy_decode_tuple(c, trailer, 2, b, &tr, &err), 2);
	assert_int_equal(tr, 1);
	/* bad signature */
	uint8_t hdr[19] = "PGCOPY\n\376\r\n";
	assert_true(sl_pgcopy_parse_header(hdr, sizeof hdr, &err) < 0);
	assert_int_equal(sl_pgcopy_parse_header(hdr, 5, &err), 0);
	sl_batch_destroy(b);
	sl_field_reset(&f[0]);

	/* malformed array headers are refused with the column's name */
	sl_field af[1];
	sl_field_init(&af[0], "matrix", SL_TYPE_LIST);
	sl_field *e = malloc(sizeof *e);
	sl_field_init(e, "item", SL_TYPE_INT32);
	sl_field_set_child(&af[0], e);
	sl_pg_codec ac[1] = {{.kind = SL_PG_ARRAY, .elem_kind = SL_PG_INT4, .elem_oid = 23}};
	sl_batch *ab = sl_batch_create(af, 1);
	static const struct {
		const char *hex, *msg;
	} badarr[] = {
	        /* a second dimension that is not there */
	        {"000000020000000000000017000000010000000100000001", "truncated"},
	        /* seven dimensions */
	        {"000000070000000000000017", "7 dimensions"},
	        {"ffffffff0000000000000017", "-1 dimensions"},
	        /* a negative size */
	        {"000000010000000000000017fffffffe0000000100000004", "size -2"},
	        /* an upper bound past int32 */
	        {"00000001000000000000001700000002"
	         "7fffffff"
	         "0000000400000001000000040000000"
	         "2",
	         "size 2 from 2147483647"},
	        /* more elements than bytes */
	        {"00000002000000000000001700010000000000010001000000000001", "truncated"},
	        /* 2x2 with three elements */
	        {"000000020000000000000017000000020000000100000002000000010000000400000001000000040"
	         "0"
	         "0000020000000400000003",
	         "element is truncated"},
	};
	for (size_t i = 0; i < sizeof badarr / sizeof *badarr; i++) {
		uint8_t v[128];
		size_t n = unhex(badarr[i].hex, v);
		sl_buf t = {0};
		sl_pgcopy_put_count(&t, 1);
		sl_pgcopy_put_field(&t, v, (int32_t)n);
		err = (sl_error){0};
		if (sl_pgcopy_decode_tuple(ac, t.data, t.len, ab, &tr, &err) >= 0 ||
		    strstr(err.msg, "matrix") == NULL || strstr(err.msg, badarr[i].msg) == NULL)
			fail_msg("bad array %zu: '%s'", i, err.msg);
		sl_batch_reset(ab);
		sl_buf_free(&t);
	}
	sl_batch_destroy(ab);
	sl_field_reset(&af[0]);
}

/* Arrays of any dimensions and lower bounds: decoded into the list (row-major) and its shape,
 * encoded back to the same bytes; the shape follows a value copied between batches, counts in
 * equality, not in the hash, and is dropped by a reset. */
static void test_array_shapes(void **state)
{
	(void)state;
	/* array_send of: [0:1][1:2]={{1,2},{NULL,4}}, {5,6}, {}, NULL, [3:3]={7},
	 * {{{1,2},{3,4}},{{5,6},{NULL,8}}} (captured from PostgreSQL 15) */
	static const char *const vals[] = {
	        "00000002000000010000001700000002000000000000000200000001000000040000000100000004"
	        "00000002ffffffff0000000400000004",
	        "000000010000000000000017000000020000000100000004000000050000000400000006",
	        "000000000000000000000017",
	        NULL,
	        "0000000100000000000000170000000100000003000000040000000"
	        "7",
	        "00000003000000010000001700000002000000010000000200000001000000020000000100000004"
	        "0000000100000004000000020000000400000003000000040000000400000004000000050000000400"
	        "000006ffffffff0000000400000008",
	};
	enum { NV = sizeof vals / sizeof *vals };
	sl_field af[1];
	sl_field_init(&af[0], "m", SL_TYPE_LIST);
	sl_field *e = malloc(sizeof *e);
	sl_field_init(e, "item", SL_TYPE_INT32);
	sl_field_set_child(&af[0], e);
	sl_pg_codec ac[1] = {{.kind = SL_PG_ARRAY, .elem_kind = SL_PG_INT4, .elem_oid = 23}};
	sl_batch *b = sl_batch_create(af, 1);
	sl_buf in = {0};
	sl_pgcopy_write_header(&in);
	for (int i = 0; i < NV; i++) {
		sl_pgcopy_put_count(&in, 1);
		uint8_t v[256];
		size_t n = vals[i] ? unhex(vals[i], v) : 0;
		sl_pgcopy_put_field(&in, v, vals[i] ? (int32_t)n : -1);
	}
	sl_pgcopy_write_trailer(&in);
	sl_error err = {0};
	int tr = 0;
	size_t pos = (size_t)sl_pgcopy_parse_header(in.data, in.len, &err);
	for (int i = 0; i < NV; i++) {
		int rc = sl_pgcopy_decode_tuple(ac, in.data + pos, in.len - pos, b, &tr, &err);
		if (rc <= 0)
			fail_msg("value %d: %s", i, err.msg);
		pos += (size_t)rc;
	}
	assert_true(sl_batch_is_consistent(b));
	const sl_column *c = &b->cols[0];
	assert_int_equal(c->child->length, 4 + 2 + 0 + 0 + 1 + 8);
	assert_int_equal(sl_col_shaped_count(c, 0, NV), 3);
	sl_list_shape sh;
	assert_true(sl_col_list_shape(c, 0, &sh));
	assert_int_equal(sh.ndim, 2);
	assert_int_equal(sh.lbounds[0], 0);
	assert_int_equal(sh.lbounds[1], 1);
	assert_false(sl_col_list_shape(c, 1, &sh));
	assert_false(sl_col_list_shape(c, 2, &sh));
	assert_int_equal(sh.ndim, 0);
	assert_true(sl_col_list_shape(c, 4, &sh));
	assert_int_equal(sh.lbounds[0], 3);
	assert_true(sl_col_list_shape(c, 5, &sh));
	assert_int_equal(sh.ndim, 3);

	/* encoded back: the very bytes */
	sl_buf out = {0};
	sl_pgcopy_write_header(&out);
	assert_int_equal(sl_pgcopy_encode_rows(ac, b, 0, b->length, &out, &err), 0);
	sl_pgcopy_write_trailer(&out);
	assert_int_equal(out.len, in.len);
	assert_memory_equal(out.data, in.data, in.len);

	/* copied row by row (in reverse, and within the batch): shapes follow their values */
	sl_batch *r = sl_batch_create(af, 1);
	for (int i = NV - 1; i >= 0; i--) {
		sl_col_append_from(&r->cols[0], &b->cols[0], i);
		sl_batch_end_row(r);
	}
	for (int i = 0; i < NV; i++) {
		sl_col_append_from(&r->cols[0], &r->cols[0], NV - 1 - i);
		sl_batch_end_row(r);
	}
	for (int i = 0; i < NV; i++) {
		assert_true(sl_col_equal(&r->cols[0], NV - 1 - i, &b->cols[0], i));
		assert_true(sl_col_equal(&r->cols[0], NV + i, &b->cols[0], i));
	}
	assert_int_equal(sl_col_shaped_count(&r->cols[0], 0, 2 * NV), 6);
	/* {5,6} against [0:1]={5,6}: the same elements, not the same array */
	sl_col_append_i32(r->cols[0].child, 5);
	sl_col_append_i32(r->cols[0].child, 6);
	sl_list_shape zero = {.ndim = 1, .dims = {2}, .lbounds = {0}};
	sl_col_end_list_shaped(&r->cols[0], &zero);
	sl_batch_end_row(r);
	assert_false(sl_col_equal(&r->cols[0], 2 * NV, &b->cols[0], 1));
	assert_true(sl_col_equal_elements(&r->cols[0], 2 * NV, &b->cols[0], 1));
	assert_true(sl_col_hash(&r->cols[0], 2 * NV, 1) == sl_col_hash(&b->cols[0], 1, 1));
	/* the digest tells them apart, unless the target flattens arrays (then it counts) */
	sl_digest d1 = {0}, d2 = {0}, f1 = {.arrays_are_flat = true}, f2 = f1;
	sl_batch *one = sl_batch_create(af, 1);
	sl_col_append_from(&one->cols[0], &r->cols[0], 2 * NV);
	sl_batch_end_row(one);
	sl_digest_add_batch(&d1, one);
	sl_digest_add_batch(&f1, one);
	sl_batch_reset(one);
	assert_int_equal(sl_col_shaped_count(&one->cols[0], 0, 1), 0);
	sl_col_append_from(&one->cols[0], &b->cols[0], 1);
	sl_batch_end_row(one);
	sl_digest_add_batch(&d2, one);
	sl_digest_add_batch(&f2, one);
	assert_true(d1.sum != d2.sum);
	assert_true(f1.sum == f2.sum);
	assert_int_equal(f1.flattened, 1);
	assert_int_equal(f2.flattened, 0);
	assert_int_equal(d1.flattened, 0);
	/* the whole batch: PostgreSQL's rules vs flattened */
	sl_digest all = {0}, flat = {.arrays_are_flat = true};
	sl_digest_add_batch(&all, b);
	sl_digest_add_batch(&flat, b);
	assert_int_equal(flat.flattened, 3);
	assert_true(all.sum != flat.sum);

	sl_batch_destroy(one);
	sl_batch_destroy(r);
	sl_buf_free(&in);
	sl_buf_free(&out);
	sl_batch_destroy(b);
	sl_field_reset(&af[0]);
}

/* ---- other engines' Arrow types (the MySQL source) through PostgreSQL columns ---- */

static sl_interval_dt ivl(int32_t days, int32_t ms)
{
	sl_interval_dt v = {days, ms};
	return v;
}

/* Interval(DayTime) -> interval -> Interval(DayTime): microseconds only on the wire, canonical
 * form back. */
static void test_interval_roundtrip(void **state)
{
	(void)state;
	const int64_t t838 = ((int64_t)838 * 3600 + 59 * 60 + 59) * 1000; /* 838:59:59 in ms */
	const struct {
		sl_interval_dt in, out;
	} rows[] = {
	        {ivl(0, 0), ivl(0, 0)},
	        {ivl(34, (int32_t)(t838 + 999 - 34 * INT64_C(86400000))),
	         ivl(34, (int32_t)(t838 + 999 - 34 * INT64_C(86400000)))}, /* 838:59:59.999 */
	        {ivl(-34, -(int32_t)(t838 - 34 * INT64_C(86400000))),
	         ivl(-34, -(int32_t)(t838 - 34 * INT64_C(86400000)))}, /* -838:59:59 */
	        {ivl(-5, -1), ivl(-5, -1)},
	        {ivl(0, -1), ivl(0, -1)},
	        {ivl(1, -1000), ivl(0, 86399000)}, /* not canonical: comes back canonical */
	        {ivl(-1, 86400000), ivl(0, 0)},
	        {ivl(106751, 86399999), ivl(106751, 86399999)},
	};
	enum { NR = sizeof rows / sizeof *rows };
	sl_field f[1];
	sl_field_init(&f[0], "t", SL_TYPE_INTERVAL_DT);
	sl_pg_codec c[1] = {{.kind = SL_PG_INTERVAL}};
	sl_batch *b = sl_batch_create(f, 1);
	for (size_t i = 0; i < NR; i++) {
		sl_col_append_fixed(&b->cols[0], &rows[i].in, 8);
		sl_batch_end_row(b);
	}
	sl_col_append_null(&b->cols[0]);
	sl_batch_end_row(b);
	sl_buf out = {0};
	sl_error err = {0};

	/* 838:59:59 goes out as 3020399000000 us, 0 days, 0 months */
	sl_batch *one = sl_batch_create(f, 1);
	sl_interval_dt v = ivl(34, (int32_t)(t838 - 34 * INT64_C(86400000)));
	sl_col_append_fixed(&one->cols[0], &v, 8);
	sl_batch_end_row(one);
	assert_int_equal(sl_pg_encode_field(&c[0], &one->cols[0], 0, &out, &err), 0);
	uint8_t expect[20];
	assert_int_equal(unhex("00000010000002bf3dcf39c00000000000000000", expect), 20);
	assert_int_equal(out.len, 20);
	assert_memory_equal(out.data, expect, 20);
	sl_batch_destroy(one);

	sl_buf_reset(&out);
	sl_pgcopy_write_header(&out);
	if (sl_pgcopy_encode_rows(c, b, 0, b->length, &out, &err) != 0)
		fail_msg("encode: %s", err.msg);
	sl_pgcopy_write_trailer(&out);
	sl_batch *d = decode_all(f, c, 1, out.data, out.len);
	assert_int_equal(d->length, NR + 1);
	for (size_t i = 0; i < NR; i++) {
		sl_interval_dt got;
		memcpy(&got, d->cols[0].values.data + 8 * i, 8);
		if (got.days != rows[i].out.days || got.ms != rows[i].out.ms)
			fail_msg("row %zu: (%d, %d), expected (%d, %d)", i, got.days, got.ms,
			         rows[i].out.days, rows[i].out.ms);
	}
	assert_false(sl_col_is_valid(&d->cols[0], NR));
	/* the digest counts durations, so a non-canonical source value still matches */
	sl_digest da = {0}, db = {0};
	sl_digest_add_batch(&da, b);
	sl_digest_add_batch(&db, d);
	assert_int_equal(da.sum, db.sum);
	sl_batch_destroy(d);

	/* beyond int64 microseconds: refused */
	sl_batch_reset(b);
	v = ivl(INT32_MAX, 0);
	sl_col_append_fixed(&b->cols[0], &v, 8);
	sl_batch_end_row(b);
	assert_true(sl_pgcopy_encode_rows(c, b, 0, 1, &out, &err) < 0);
	assert_int_equal(err.code, SL_ERR_DATA);
	sl_batch_destroy(b);
	sl_buf_free(&out);
	sl_field_reset(&f[0]);
}

/* What PostgreSQL itself may hold in an interval column: months (30 days), days and
 * microseconds of mixed signs, fractions of a millisecond, out of range. */
static void test_interval_decode_forms(void **state)
{
	(void)state;
	static const struct {
		const char *wire; /* us, days, months */
		int rc;
		int32_t days, ms;
	} rows[] = {
	        /* 1 mon 2 days 03:00:00.5 */
	        {"0000000283c28d20"
	         "00000002"
	         "00000001",
	         0, 32, 10800500},
	        /* 1 day -01:00:00 */
	        {"ffffffff296c5c00"
	         "00000001"
	         "00000000",
	         0, 0, 82800000},
	        /* -1 day -00:00:00.001 */
	        {"fffffffffffffc18"
	         "ffffffff"
	         "00000000",
	         0, -1, -1},
	        /* -1 mon +30 days */
	        {"0000000000000000"
	         "0000001e"
	         "ffffffff",
	         0, 0, 0},
	        /* 00:00:00.000001 */
	        {"0000000000000001"
	         "00000000"
	         "00000000",
	         SL_ERR_DATA, 0, 0},
	        /* 178956970 years: too many days for int32 */
	        {"0000000000000000"
	         "00000000"
	         "7fffffff",
	         SL_ERR_DATA, 0, 0},
	        /* PostgreSQL 17's infinity */
	        {"7fffffffffffffff"
	         "7fffffff"
	         "7fffffff",
	         SL_ERR_DATA, 0, 0},
	};
	sl_field f;
	sl_field_init(&f, "t", SL_TYPE_INTERVAL_DT);
	sl_pg_codec c = {.kind = SL_PG_INTERVAL};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		sl_batch *b = sl_batch_create(&f, 1);
		uint8_t w[16];
		assert_int_equal(unhex(rows[i].wire, w), 16);
		sl_error err = {0};
		int rc = sl_pg_decode_field(&c, &b->cols[0], w, 16, &err);
		if (rc != rows[i].rc)
			fail_msg("row %zu: rc %d (%s), expected %d", i, rc, err.msg, rows[i].rc);
		if (rc == 0) {
			sl_interval_dt got;
			memcpy(&got, b->cols[0].values.data, 8);
			if (got.days != rows[i].days || got.ms != rows[i].ms)
				fail_msg("row %zu: (%d, %d), expected (%d, %d)", i, got.days,
				         got.ms, rows[i].days, rows[i].ms);
		} else {
			assert_non_null(strstr(err.msg, "column t"));
		}
		sl_batch_destroy(b);
	}
	/* wrong length */
	sl_batch *b = sl_batch_create(&f, 1);
	sl_error err = {0};
	const uint8_t twelve[12] = {0};
	assert_int_equal(sl_pg_decode_field(&c, &b->cols[0], twelve, 12, &err), SL_ERR_DATA);
	sl_batch_destroy(b);
	sl_field_reset(&f);
}

/* Each wire kind decodes into every Arrow type the encoder accepts for it, range-checked. */
static void test_decode_into_other_types(void **state)
{
	(void)state;
	static const struct {
		sl_pg_kind kind;
		sl_type_id t;
		sl_time_unit unit;
		int width;        /* FixedSizeBinary */
		const char *wire; /* the field's bytes, hex */
		int rc;
		uint64_t expect; /* the stored value, little-endian, as wide as the type */
	} rows[] = {
	        {SL_PG_INT2, SL_TYPE_UINT8, 0, 0, "00ff", 0, 255},
	        {SL_PG_INT2, SL_TYPE_UINT8, 0, 0, "0100", SL_ERR_DATA, 0},
	        {SL_PG_INT2, SL_TYPE_UINT8, 0, 0, "ffff", SL_ERR_DATA, 0},
	        {SL_PG_INT2, SL_TYPE_INT8, 0, 0, "ff80", 0, 0x80},
	        {SL_PG_INT2, SL_TYPE_INT8, 0, 0, "ff7f", SL_ERR_DATA, 0},
	        {SL_PG_INT2, SL_TYPE_INT64, 0, 0, "8000", 0, (uint64_t)INT64_C(-32768)},
	        {SL_PG_INT4, SL_TYPE_UINT16, 0, 0, "0000ffff", 0, 65535},
	        {SL_PG_INT4, SL_TYPE_UINT16, 0, 0, "00010000", SL_ERR_DATA, 0},
	        {SL_PG_INT4, SL_TYPE_INT16, 0, 0, "ffff8000", 0, 0x8000},
	        {SL_PG_INT4, SL_TYPE_UINT64, 0, 0, "7fffffff", 0, 0x7fffffff},
	        {SL_PG_INT8, SL_TYPE_UINT32, 0, 0, "00000000ffffffff", 0, 0xffffffff},
	        {SL_PG_INT8, SL_TYPE_UINT32, 0, 0, "0000000100000000", SL_ERR_DATA, 0},
	        {SL_PG_INT8, SL_TYPE_UINT64, 0, 0, "7fffffffffffffff", 0, INT64_MAX},
	        {SL_PG_INT8, SL_TYPE_UINT64, 0, 0, "ffffffffffffffff", SL_ERR_DATA, 0},
	        {SL_PG_INT8, SL_TYPE_INT32, 0, 0, "ffffffff80000000", 0, 0x80000000},
	        {SL_PG_INT8, SL_TYPE_INT32, 0, 0, "ffffffff7fffffff", SL_ERR_DATA, 0},
	        {SL_PG_INT8, SL_TYPE_TIMESTAMP, SL_UNIT_NS, 0, "8000000000000000", 0,
	         (uint64_t)INT64_MIN},
	        {SL_PG_INT8, SL_TYPE_TIME64, SL_UNIT_NS, 0, "0000000000000001", 0, 1},
	        {SL_PG_INT8, SL_TYPE_TIMESTAMP, SL_UNIT_US, 0, "0000000000000001", SL_ERR_INTERNAL,
	         0},
	        {SL_PG_INT2, SL_TYPE_UTF8, 0, 0, "0001", SL_ERR_INTERNAL, 0},
	        {SL_PG_OID, SL_TYPE_INT64, 0, 0, "ffffffff", 0, 0xffffffff},
	        {SL_PG_FLOAT4, SL_TYPE_FLOAT64, 0, 0, "3fc00000", 0, 0x3ff8000000000000},
	        {SL_PG_FLOAT4, SL_TYPE_FLOAT16, 0, 0, "3fc00000", 0, 0x3e00},
	        {SL_PG_FLOAT4, SL_TYPE_FLOAT16, 0, 0, "33800000", 0, 0x0001}, /* 2^-24 */
	        {SL_PG_FLOAT4, SL_TYPE_FLOAT16, 0, 0, "c77fe000", 0, 0xfbff}, /* -65504 */
	        {SL_PG_FLOAT4, SL_TYPE_FLOAT16, 0, 0, "7f800000", 0, 0x7c00},
	        {SL_PG_FLOAT4, SL_TYPE_FLOAT16, 0, 0, "3dcccccd", SL_ERR_DATA, 0}, /* 0.1 */
	        {SL_PG_FLOAT4, SL_TYPE_FLOAT16, 0, 0, "47800000", SL_ERR_DATA, 0}, /* 65536 */
	        {SL_PG_FLOAT8, SL_TYPE_FLOAT32, 0, 0, "3fe0000000000000", 0, 0x3f000000},
	        {SL_PG_FLOAT8, SL_TYPE_FLOAT32, 0, 0, "fff0000000000000", 0, 0xff800000},
	        {SL_PG_FLOAT8, SL_TYPE_FLOAT32, 0, 0, "3fb999999999999a", SL_ERR_DATA, 0},
	        {SL_PG_FLOAT8, SL_TYPE_FLOAT16, 0, 0, "3ff8000000000000", 0, 0x3e00},
	        /* 01:02:03 */
	        {SL_PG_TIME, SL_TYPE_TIME32, SL_UNIT_S, 0, "00000000dde878c0", 0, 3723},
	        {SL_PG_TIME, SL_TYPE_TIME32, SL_UNIT_MS, 0, "00000000dde878c0", 0, 3723000},
	        {SL_PG_TIME, SL_TYPE_TIME64, SL_UNIT_NS, 0, "00000000dde878c0", 0, 3723000000000},
	        {SL_PG_TIME, SL_TYPE_TIME32, SL_UNIT_MS, 0, "00000000dde878c1", SL_ERR_DATA, 0},
	        /* 2000-01-01 00:00:00, + 1 us, infinity */
	        {SL_PG_TIMESTAMP, SL_TYPE_TIMESTAMP, SL_UNIT_MS, 0, "0000000000000000", 0,
	         946684800000},
	        {SL_PG_TIMESTAMP, SL_TYPE_TIMESTAMP, SL_UNIT_S, 0, "0000000000000000", 0,
	         946684800},
	        {SL_PG_TIMESTAMP, SL_TYPE_TIMESTAMP, SL_UNIT_MS, 0, "0000000000000001", SL_ERR_DATA,
	         0},
	        {SL_PG_TIMESTAMP, SL_TYPE_TIMESTAMP, SL_UNIT_MS, 0, "7fffffffffffffff", 0,
	         INT64_MAX},
	        {SL_PG_TIMESTAMP, SL_TYPE_UTF8, 0, 0, "0000000000000000", SL_ERR_INTERNAL, 0},
	        {SL_PG_DATE, SL_TYPE_DATE64, 0, 0, "00000001", 0, 946771200000},
	        {SL_PG_DATE, SL_TYPE_DATE64, 0, 0, "80000000", 0, (uint64_t)INT64_MIN},
	        /* the last day below +infinity, and beyond (found by fuzz_pgbinary: overflowed) */
	        {SL_PG_DATE, SL_TYPE_DATE32, 0, 0, "7fffd531", 0, 0x7ffffffe},
	        {SL_PG_DATE, SL_TYPE_DATE32, 0, 0, "7fffd532", SL_ERR_DATA, 0},
	        {SL_PG_DATE, SL_TYPE_DATE64, 0, 0, "7ffffbff", SL_ERR_DATA, 0},
	        {SL_PG_BYTEA, SL_TYPE_FIXED_BINARY, 0, 3, "00ff01", 0, 0x01ff00},
	        {SL_PG_BYTEA, SL_TYPE_FIXED_BINARY, 0, 3, "00ff", SL_ERR_DATA, 0},
	        {SL_PG_BOOL, SL_TYPE_INT8, 0, 0, "01", SL_ERR_INTERNAL, 0},
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		sl_field f;
		sl_field_init(&f, "c", rows[i].t);
		f.unit = rows[i].unit;
		f.byte_width = rows[i].width;
		sl_pg_codec c = {.kind = rows[i].kind};
		sl_batch *b = sl_batch_create(&f, 1);
		uint8_t w[16];
		size_t n = unhex(rows[i].wire, w);
		sl_error err = {0};
		int rc = sl_pg_decode_field(&c, &b->cols[0], w, (int32_t)n, &err);
		if (rc != rows[i].rc)
			fail_msg("row %zu: rc %d (%s), expected %d", i, rc, err.msg, rows[i].rc);
		if (rc == 0) {
			int width = sl_type_value_width(&f);
			assert_int_equal(b->cols[0].values.len, width);
			uint8_t le[8];
			for (int k = 0; k < 8; k++)
				le[k] = (uint8_t)(rows[i].expect >> (8 * k));
			if (memcmp(b->cols[0].values.data, le, (size_t)width) != 0)
				fail_msg("row %zu: wrong value", i);
		} else {
			assert_non_null(strstr(err.msg, "column c"));
		}
		sl_batch_destroy(b);
		sl_field_reset(&f);
	}

	/* numeric into integers: exact, whole, in range */
	static const struct {
		const char *text;
		sl_type_id t;
		int rc;
		uint64_t expect;
	} nums[] = {
	        {"18446744073709551615", SL_TYPE_UINT64, 0, UINT64_MAX},
	        {"18446744073709551616", SL_TYPE_UINT64, SL_ERR_DATA, 0},
	        {"-1", SL_TYPE_UINT64, SL_ERR_DATA, 0},
	        {"-9223372036854775808", SL_TYPE_INT64, 0, (uint64_t)INT64_MIN},
	        {"9223372036854775808", SL_TYPE_INT64, SL_ERR_DATA, 0},
	        {"255.000", SL_TYPE_UINT8, 0, 255},
	        {"1.5", SL_TYPE_INT32, SL_ERR_DATA, 0},
	        {"0", SL_TYPE_UINT32, 0, 0},
	        {"NaN", SL_TYPE_INT32, SL_ERR_DATA, 0},
	        {"100000000000000000000000000000000000000000", SL_TYPE_UINT64, SL_ERR_DATA, 0},
	};
	for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
		sl_field f;
		sl_field_init(&f, "c", nums[i].t);
		sl_pg_codec c = {.kind = SL_PG_NUMERIC};
		sl_batch *b = sl_batch_create(&f, 1);
		sl_buf wire = {0};
		sl_error err = {0};
		assert_int_equal(
		        sl_pg_numeric_from_text(nums[i].text, strlen(nums[i].text), &wire, &err),
		        0);
		int rc = sl_pg_decode_field(&c, &b->cols[0], wire.data, (int32_t)wire.len, &err);
		if (rc != nums[i].rc)
			fail_msg("%s: rc %d (%s), expected %d", nums[i].text, rc, err.msg,
			         nums[i].rc);
		if (rc == 0) {
			uint64_t got = 0;
			memcpy(&got, b->cols[0].values.data, (size_t)sl_type_value_width(&f));
			assert_int_equal(got, nums[i].expect);
		}
		sl_buf_free(&wire);
		sl_batch_destroy(b);
		sl_field_reset(&f);
	}
}

/* A MySQL-like batch written into the PostgreSQL columns sl_pg_type_for_field creates, read
 * back with the same codecs into the same fields (what verify does for another engine's
 * table): the digests agree, also when jsonb has respelled the JSON. */
static void test_cross_engine_digest(void **state)
{
	(void)state;
	enum { NC = 8 };
	const sl_type_id types[NC] = {SL_TYPE_UINT8,  SL_TYPE_UINT16,      SL_TYPE_UINT32,
	                              SL_TYPE_UINT64, SL_TYPE_INTERVAL_DT, SL_TYPE_UTF8,
	                              SL_TYPE_LIST,   SL_TYPE_INT8};
	/* the target columns' catalog facts: smallint, integer, bigint, numeric, interval,
	 * jsonb, text[], smallint */
	const sl_pg_typeinfo ti[NC] = {
	        {21, -1, 'b', 'N', 0, 0, 0},        {23, -1, 'b', 'N', 0, 0, 0},
	        {20, -1, 'b', 'N', 0, 0, 0},        {1700, -1, 'b', 'N', 0, 0, 0},
	        {1186, -1, 'b', 'T', 0, 0, 0},      {3802, -1, 'b', 'U', 0, 0, 0},
	        {1009, -1, 'b', 'A', 25, 'b', 'S'}, {21, -1, 'b', 'N', 0, 0, 0},
	};
	const char *expect_pg[NC] = {"smallint", "integer", "bigint", "numeric",
	                             "interval", "jsonb",   "text[]", "smallint"};
	sl_field f[NC];
	sl_pg_codec c[NC];
	for (int i = 0; i < NC; i++) {
		char name[8], tbuf[64];
		snprintf(name, sizeof name, "c%d", i);
		sl_field_init(&f[i], name, types[i]);
		if (i == 5)
			f[i].ext_name = strdup("arrow.json");
		if (types[i] == SL_TYPE_LIST) {
			sl_field *e = malloc(sizeof *e);
			sl_field_init(e, "item", SL_TYPE_UTF8);
			sl_field_set_child(&f[i], e);
		}
		assert_string_equal(sl_pg_type_for_field(&f[i], tbuf, sizeof tbuf), expect_pg[i]);
		if (!sl_pg_target_codec(&f[i], &ti[i], &c[i]))
			fail_msg("column %d: no binary codec", i);
	}
	const uint8_t u8[] = {0, 255, 7};
	const uint16_t u16[] = {0, 65535, 7};
	const uint32_t u32[] = {0, UINT32_MAX, 7};
	const uint64_t u64[] = {0, UINT64_MAX, UINT64_C(9223372036854775808)};
	const sl_interval_dt iv[] = {ivl(-34, -(int32_t)(3020399000 - 34 * INT64_C(86400000))),
	                             ivl(34, (int32_t)(3020399999 - 34 * INT64_C(86400000))),
	                             ivl(0, 1)};
	/* MySQL's JSON text vs what jsonb gives back for the same values */
	const char *json_my[] = {"{\"b\":[1,2.50],\"a\":\"\\u00e9\",\"a\":null}", "[]",
	                         "{\"k\":{\"y\":1E2,\"x\":true}}"};
	const char *json_pg[] = {"{\"a\": null, \"b\": [1, 2.50]}", "[]",
	                         "{\"k\": {\"x\": true, \"y\": 100}}"};
	const int8_t i8[] = {INT8_MIN, INT8_MAX, 0};
	sl_batch *src = sl_batch_create(f, NC), *pgs = sl_batch_create(f, NC);
	for (int pass = 0; pass < 2; pass++) {
		sl_batch *b = pass ? pgs : src;
		for (int r = 0; r < 4; r++) {
			if (r == 3) {
				for (int i = 0; i < NC; i++)
					sl_col_append_null(&b->cols[i]);
				sl_batch_end_row(b);
				continue;
			}
			sl_col_append_fixed(&b->cols[0], &u8[r], 1);
			sl_col_append_fixed(&b->cols[1], &u16[r], 2);
			sl_col_append_fixed(&b->cols[2], &u32[r], 4);
			sl_col_append_fixed(&b->cols[3], &u64[r], 8);
			sl_col_append_fixed(&b->cols[4], &iv[r], 8);
			const char *j = pass ? json_pg[r] : json_my[r];
			sl_col_append_bytes(&b->cols[5], j, strlen(j));
			if (r == 0) {
				sl_col_append_bytes(b->cols[6].child, "x", 1);
				sl_col_append_null(b->cols[6].child);
			}
			sl_col_end_list(&b->cols[6]);
			sl_col_append_fixed(&b->cols[7], &i8[r], 1);
			sl_batch_end_row(b);
		}
	}
	sl_buf out = {0};
	sl_error err = {0};
	sl_digest ds = {0}, dt = {0}, dp = {0};
	sl_digest_add_batch(&ds, src);
	/* what the writer sends, read back as verify reads it */
	sl_pgcopy_write_header(&out);
	if (sl_pgcopy_encode_rows(c, src, 0, src->length, &out, &err) != 0)
		fail_msg("encode: %s", err.msg);
	sl_pgcopy_write_trailer(&out);
	sl_batch *back = decode_all(f, c, NC, out.data, out.len);
	sl_digest_add_batch(&dt, back);
	assert_int_equal(dt.rows, 4);
	assert_int_equal(ds.rows, dt.rows);
	assert_int_equal(ds.sum, dt.sum);
	/* the same rows after jsonb respelled the JSON */
	sl_digest_add_batch(&dp, pgs);
	assert_int_equal(ds.sum, dp.sum);
	/* and a real difference shows */
	sl_digest dx = {0};
	((uint64_t *)back->cols[3].values.data)[1] -= 1;
	sl_digest_add_batch(&dx, back);
	assert_int_not_equal(ds.sum, dx.sum);

	/* a target value the source type cannot hold is an error, not a wrong value */
	sl_batch *one = sl_batch_create(f, NC);
	sl_buf_reset(&out);
	sl_pgcopy_put_count(&out, NC);
	const uint8_t big[] = {0x01, 0x00}; /* smallint 256 into UInt8 */
	sl_pgcopy_put_field(&out, big, 2);
	for (int i = 1; i < NC; i++)
		sl_pgcopy_put_field(&out, NULL, -1);
	int tr;
	assert_int_equal(sl_pgcopy_decode_tuple(c, out.data, out.len, one, &tr, &err), SL_ERR_DATA);
	assert_non_null(strstr(err.msg, "c0"));

	sl_batch_destroy(one);
	sl_batch_destroy(back);
	sl_batch_destroy(src);
	sl_batch_destroy(pgs);
	sl_buf_free(&out);
	for (int i = 0; i < NC; i++)
		sl_field_reset(&f[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_golden_decode_and_reencode),
	        cmocka_unit_test(test_numeric_golden),
	        cmocka_unit_test(test_numeric_decimal),
	        cmocka_unit_test(test_edge_roundtrip),
	        cmocka_unit_test(test_malformed_input),
	        cmocka_unit_test(test_array_shapes),
	        cmocka_unit_test(test_interval_roundtrip),
	        cmocka_unit_test(test_interval_decode_forms),
	        cmocka_unit_test(test_decode_into_other_types),
	        cmocka_unit_test(test_cross_engine_digest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
