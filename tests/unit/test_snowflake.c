/* The Snowflake target's pure parts: names folded the way Snowflake folds identifiers, the
 * type table, the staged form of values, statement text; the key-pair JWT (claims, lifetime,
 * an RS256 signature that verifies with the public key, the fingerprint Snowflake shows) and
 * the errors for a missing, encrypted or foreign key. The emulator (tests/emulators/snowflake)
 * checks the same JWTs with Node's crypto in the integration tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "targets/snowflake/sf_api.h"
#include "targets/snowflake/sf_sql.h"

static const char *folded(const char *name)
{
	static sl_buf b;
	sl_buf_reset(&b);
	sf_ident(&b, name);
	return sl_buf_cstr(&b);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(folded("orders"), "\"ORDERS\"");
	assert_string_equal(folded("order_items2$"), "\"ORDER_ITEMS2$\"");
	assert_string_equal(folded("MixedCase"), "\"MixedCase\"");
	assert_string_equal(folded("ORDERS"), "\"ORDERS\"");
	assert_string_equal(folded("a b"), "\"a b\"");
	assert_string_equal(folded("2fast"), "\"2fast\"");
	assert_string_equal(folded("q\"uote"), "\"q\"\"uote\"");
	assert_string_equal(folded("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
	sl_buf b = {0};
	sf_lit(&b, "it's a \\ test");
	assert_string_equal(sl_buf_cstr(&b), "'it''s a \\\\ test'");
	sl_buf_free(&b);
}

static void test_types(void **state)
{
	(void)state;
	struct {
		sl_type_id t;
		int p, s;
		sl_time_unit u;
		const char *tz, *ext, *want;
		sf_kind kind;
	} rows[] = {
	        {SL_TYPE_BOOL, 0, 0, 0, NULL, NULL, "BOOLEAN", SF_SAME},
	        {SL_TYPE_INT16, 0, 0, 0, NULL, NULL, "NUMBER(38,0)", SF_SAME},
	        {SL_TYPE_UINT64, 0, 0, 0, NULL, NULL, "NUMBER(38,0)", SF_SAME},
	        {SL_TYPE_FLOAT32, 0, 0, 0, NULL, NULL, "FLOAT", SF_SAME},
	        {SL_TYPE_DECIMAL128, 12, 2, 0, NULL, NULL, "NUMBER(12,2)", SF_SAME},
	        {SL_TYPE_DECIMAL128, 38, 37, 0, NULL, NULL, "NUMBER(38,37)", SF_SAME},
	        {SL_TYPE_DECIMAL256, 60, 10, 0, NULL, NULL, "VARCHAR", SF_SAME},
	        {SL_TYPE_DATE32, 0, 0, 0, NULL, NULL, "DATE", SF_SAME},
	        {SL_TYPE_TIME64, 0, 0, SL_UNIT_US, NULL, NULL, "TIME(6)", SF_SAME},
	        {SL_TYPE_TIME32, 0, 0, SL_UNIT_MS, NULL, NULL, "TIME(3)", SF_SAME},
	        {SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_US, NULL, NULL, "TIMESTAMP_NTZ(6)", SF_SAME},
	        {SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_NS, "UTC", NULL, "TIMESTAMP_TZ(9)", SF_SAME},
	        {SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_S, NULL, NULL, "TIMESTAMP_NTZ(0)", SF_SAME},
	        {SL_TYPE_INTERVAL_DT, 0, 0, 0, NULL, NULL, "VARCHAR", SF_TEXT},
	        {SL_TYPE_UTF8, 0, 0, 0, NULL, NULL, "VARCHAR", SF_SAME},
	        {SL_TYPE_UTF8, 0, 0, 0, NULL, "arrow.json", "VARIANT", SF_JSON},
	        {SL_TYPE_BINARY, 0, 0, 0, NULL, NULL, "BINARY", SF_SAME},
	        {SL_TYPE_FIXED_BINARY, 0, 0, 0, NULL, NULL, "BINARY", SF_SAME},
	        {SL_TYPE_NA, 0, 0, 0, NULL, NULL, "", SF_SKIP},
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		sl_field f;
		sl_field_init(&f, "c", rows[i].t);
		f.precision = rows[i].p;
		f.scale = rows[i].s;
		f.unit = rows[i].u;
		f.tz = rows[i].tz ? strdup(rows[i].tz) : NULL;
		f.ext_name = rows[i].ext ? strdup(rows[i].ext) : NULL;
		f.byte_width = 16;
		char type[32];
		assert_int_equal(sf_map(&f, type, sizeof type), rows[i].kind);
		assert_string_equal(type, rows[i].want);
		sl_field_reset(&f);
	}
	/* a list is VARIANT; a list of lists has no form */
	sl_field l, ll, *e = calloc(1, sizeof *e), *le = calloc(1, sizeof *le),
	                *lle = calloc(1, sizeof *lle);
	sl_field_init(&l, "l", SL_TYPE_LIST);
	sl_field_init(e, "item", SL_TYPE_INT32);
	sl_field_set_child(&l, e);
	char type[32];
	assert_int_equal(sf_map(&l, type, sizeof type), SF_JSON);
	assert_string_equal(type, "VARIANT");
	sl_field_init(&ll, "ll", SL_TYPE_LIST);
	sl_field_init(le, "item", SL_TYPE_LIST);
	sl_field_init(lle, "item", SL_TYPE_INT32);
	sl_field_set_child(le, lle);
	sl_field_set_child(&ll, le);
	assert_int_equal(sf_map(&ll, type, sizeof type), SF_SKIP);
	sl_field_reset(&l);
	sl_field_reset(&ll);
}

/* Lists and intervals are staged as text: JSON arrays, ISO 8601 durations. */
static void test_staged_values(void **state)
{
	(void)state;
	sl_field src[2], *e = calloc(1, sizeof *e);
	sl_field_init(&src[0], "tags", SL_TYPE_LIST);
	sl_field_init(e, "item", SL_TYPE_UTF8);
	sl_field_set_child(&src[0], e);
	sl_field_init(&src[1], "took", SL_TYPE_INTERVAL_DT);
	sl_batch *b = sl_batch_create(src, 2);
	sl_col_append_bytes(b->cols[0].child, "a\"b", 3);
	sl_col_append_null(b->cols[0].child);
	sl_col_end_list(&b->cols[0]);
	sl_interval_dt iv = {-1, -3723500};
	sl_col_append_fixed(&b->cols[1], &iv, 8);
	sl_batch_end_row(b);
	sf_col c[2];
	assert_int_equal(sf_col_init(&c[0], &src[0], 0), SF_JSON);
	assert_int_equal(sf_col_init(&c[1], &src[1], 1), SF_TEXT);
	assert_string_equal(c[0].file.name, "TAGS");
	assert_string_equal(c[0].file.ext_name, "arrow.json");
	sl_field staged[2] = {c[0].file, c[1].file};
	sl_batch *out = sl_batch_create(staged, 2);
	sl_buf tmp = {0};
	sf_col_append(&c[0], &out->cols[0], &b->cols[0], 0, &tmp);
	sf_col_append(&c[1], &out->cols[1], &b->cols[1], 0, &tmp);
	int32_t len;
	const uint8_t *p = sl_col_bytes(&out->cols[0], 0, &len);
	assert_int_equal(len, (int)strlen("[\"a\\\"b\",null]"));
	assert_memory_equal(p, "[\"a\\\"b\",null]", (size_t)len);
	p = sl_col_bytes(&out->cols[1], 0, &len);
	/* -1 day -01:02:03.500 = -90123.5 s */
	assert_int_equal(len, (int)strlen("-PT90123.500S"));
	assert_memory_equal(p, "-PT90123.500S", (size_t)len);
	sl_buf_free(&tmp);
	sl_batch_destroy(out);
	sl_batch_destroy(b);
	sf_col_reset(&c[0]), sf_col_reset(&c[1]);
	sl_field_reset(&src[0]), sl_field_reset(&src[1]);
}

static void test_merge_text(void **state)
{
	(void)state;
	sl_field f[3];
	sl_field_init(&f[0], "id", SL_TYPE_INT64);
	sl_field_init(&f[1], "doc", SL_TYPE_UTF8);
	f[1].ext_name = strdup("arrow.json");
	sl_field_init(&f[2], "Name", SL_TYPE_UTF8);
	sf_col c[3];
	for (int i = 0; i < 3; i++)
		sf_col_init(&c[i], &f[i], i);
	int key[] = {0};
	sl_buf b = {0};
	sf_sql_merge(&b, "\"DB\".\"S\".\"T\"", "\"DB\".\"S\".\"_SLUICE_TMP_1\"", c, 3, key, 1,
	             false);
	const char *want =
	        "MERGE INTO \"DB\".\"S\".\"T\" AS t USING (SELECT c.\"ID\", PARSE_JSON(c.\"DOC\") "
	        "AS "
	        "\"DOC\", c.\"Name\", c.\"_SLUICE_VERSION\", c.\"_SLUICE_DELETED\" FROM (SELECT * "
	        "FROM "
	        "\"DB\".\"S\".\"_SLUICE_TMP_1\" QUALIFY ROW_NUMBER() OVER (PARTITION BY \"ID\" "
	        "ORDER "
	        "BY \"_SLUICE_VERSION\" DESC, \"_SLUICE_SEQ\" DESC) = 1) AS c) AS s ON t.\"ID\" = "
	        "s.\"ID\" WHEN MATCHED AND s.\"_SLUICE_DELETED\" THEN UPDATE SET "
	        "\"_SLUICE_DELETED\" = "
	        "TRUE, \"_SLUICE_VERSION\" = s.\"_SLUICE_VERSION\" WHEN MATCHED THEN UPDATE SET "
	        "\"ID\" "
	        "= s.\"ID\", \"DOC\" = s.\"DOC\", \"Name\" = s.\"Name\", \"_SLUICE_VERSION\" = "
	        "s.\"_SLUICE_VERSION\", \"_SLUICE_DELETED\" = FALSE WHEN NOT MATCHED AND NOT "
	        "s.\"_SLUICE_DELETED\" THEN INSERT (\"ID\", \"DOC\", \"Name\", "
	        "\"_SLUICE_VERSION\", "
	        "\"_SLUICE_DELETED\") VALUES (s.\"ID\", s.\"DOC\", s.\"Name\", "
	        "s.\"_SLUICE_VERSION\", "
	        "FALSE)";
	assert_string_equal(sl_buf_cstr(&b), want);
	sl_buf_reset(&b);
	sf_sql_create(&b, "\"DB\".\"S\".\"T\"", c, 3, key, 1);
	assert_string_equal(
	        sl_buf_cstr(&b),
	        "CREATE TABLE IF NOT EXISTS \"DB\".\"S\".\"T\" (\"ID\" NUMBER(38,0) NOT "
	        "NULL, \"DOC\" VARIANT, \"Name\" VARCHAR, \"_SLUICE_VERSION\" "
	        "NUMBER(20,0), \"_SLUICE_DELETED\" BOOLEAN, PRIMARY KEY (\"ID\"))");
	sl_buf_free(&b);
	for (int i = 0; i < 3; i++)
		sf_col_reset(&c[i]), sl_field_reset(&f[i]);
}

/* Snowflake's answers (jsonv2 text) parsed back into the source's types, edges included;
 * malformed or out-of-range text is an error, never a wrapped value. */
static void test_value_parse(void **state)
{
	(void)state;
	sl_buf tmp = {0};
	sl_field ts;
	sl_field_init(&ts, "ts", SL_TYPE_TIMESTAMP);
	ts.unit = SL_UNIT_US;
	sl_batch *b = sl_batch_create(&ts, 1);
	struct {
		const char *text;
		int rc;
		int64_t want;
	} rows[] = {
	        {"1704112496.123456000", 0, 1704112496123456},
	        {"-0.500000000", 0, -500000},
	        {"-9223372036854.775808000", 0, INT64_MIN},
	        {"9223372036854.775807000 1440", 0, INT64_MAX},
	        {"-9223372036854.775809000", -1, 0},
	        {"9223372036854.775808000", -1, 0},
	        {"99999999999999999999999", -1, 0},
	        {"12x", -1, 0},
	        {"", -1, 0},
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		int64_t before = b->cols[0].length;
		int rc = sf_value_parse(&ts, rows[i].text, strlen(rows[i].text), false, &b->cols[0],
		                        &tmp);
		assert_int_equal(rc, rows[i].rc);
		if (rc == 0) {
			int64_t v;
			memcpy(&v, sl_col_value_ptr(&b->cols[0], before, 8), 8);
			assert_true(v == rows[i].want);
		}
	}
	/* an interval, a date, hex bytes */
	sl_field iv, d, bin;
	sl_field_init(&iv, "iv", SL_TYPE_INTERVAL_DT);
	sl_field_init(&d, "d", SL_TYPE_DATE32);
	sl_field_init(&bin, "b", SL_TYPE_BINARY);
	sl_field fs[3] = {iv, d, bin};
	sl_batch *c = sl_batch_create(fs, 3);
	assert_int_equal(sf_value_parse(&iv, "-PT90123.500S", 13, false, &c->cols[0], &tmp), 0);
	sl_interval_dt x;
	memcpy(&x, sl_col_value_ptr(&c->cols[0], 0, 8), 8);
	assert_true(sl_interval_dt_to_ms(x) == -90123500);
	assert_int_equal(sf_value_parse(&iv, "PT1", 3, false, &c->cols[0], &tmp), -1);
	assert_int_equal(sf_value_parse(&d, "-2147483648", 11, false, &c->cols[1], &tmp), 0);
	assert_int_equal(sf_value_parse(&bin, "AB0", 3, false, &c->cols[2], &tmp), -1);
	assert_int_equal(sf_value_parse(&bin, "AB01", 4, false, &c->cols[2], &tmp), 0);
	int32_t len;
	const uint8_t *p = sl_col_bytes(&c->cols[2], 0, &len);
	assert_int_equal(len, 2);
	assert_int_equal(p[0], 0xAB);
	sl_batch_destroy(c);
	sl_field_reset(&iv), sl_field_reset(&d), sl_field_reset(&bin);
	sl_batch_destroy(b);
	sl_field_reset(&ts);
	sl_buf_free(&tmp);
}

/* ---- JWT ---- */

static char *b64url_decode(const char *s, size_t n, size_t *outlen)
{
	char *t = calloc(n + 4, 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		t[k++] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (k % 4)
		t[k++] = '=';
	unsigned char *out = calloc(k + 1, 1);
	int len = EVP_DecodeBlock(out, (unsigned char *)t, (int)k);
	free(t);
	*outlen = (size_t)len - (k - n); /* less the padding added */
	return (char *)out;
}

static char keyfile[64], pubfile[64];

static EVP_PKEY *make_key(const char *path, const char *pass)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	FILE *f = fopen(path, "w");
	if (pass)
		PEM_write_PKCS8PrivateKey(f, k, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)pass);
	else
		PEM_write_PKCS8PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	return k;
}

static void test_jwt(void **state)
{
	(void)state;
	snprintf(keyfile, sizeof keyfile, "/tmp/sl_sf_key_%d.p8", (int)getpid());
	EVP_PKEY *k = make_key(keyfile, NULL);
	sf_api_config c = {.url = "http://x",
	                   .account = "xy12345.us-east-1",
	                   .user = "svc_user",
	                   .key_file = keyfile};
	sf_auth *a = NULL;
	sl_error err = {0};
	assert_int_equal(sf_auth_open(&c, &a, &err), 0);
	/* the fingerprint: SHA-256 of the public key's DER, base64 */
	unsigned char *der = NULL;
	int nder = i2d_PUBKEY(k, &der);
	unsigned char md[32];
	EVP_Digest(der, (size_t)nder, md, NULL, EVP_sha256(), NULL);
	OPENSSL_free(der);
	char b64[64], want[80];
	EVP_EncodeBlock((unsigned char *)b64, md, 32);
	snprintf(want, sizeof want, "SHA256:%s", b64);
	assert_string_equal(sf_auth_fingerprint(a), want);
	sl_buf jwt = {0};
	assert_int_equal(sf_jwt_make(a, 1700000000, &jwt, &err), 0);
	const char *t = sl_buf_cstr(&jwt);
	const char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
	assert_non_null(d1);
	assert_true(d2 > d1);
	size_t n;
	char *hdr = b64url_decode(t, (size_t)(d1 - t), &n);
	assert_non_null(strstr(hdr, "\"alg\":\"RS256\""));
	char *claims = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &n);
	char wantiss[160];
	snprintf(wantiss, sizeof wantiss, "\"iss\":\"XY12345.SVC_USER.%s\"", want);
	assert_non_null(strstr(claims, wantiss));
	assert_non_null(strstr(claims, "\"sub\":\"XY12345.SVC_USER\""));
	assert_non_null(strstr(claims, "\"iat\":1700000000"));
	assert_non_null(strstr(claims, "\"exp\":1700003540")); /* under an hour */
	/* the signature verifies with the public key, over header.claims */
	size_t siglen;
	unsigned char *sig = (unsigned char *)b64url_decode(d2 + 1, strlen(d2 + 1), &siglen);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestVerify(m, sig, 256, (const unsigned char *)t, (size_t)(d2 - t)),
	                 1);
	/* and not over anything else */
	assert_int_equal(EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_not_equal(
	        EVP_DigestVerify(m, sig, 256, (const unsigned char *)t, (size_t)(d2 - t - 1)), 1);
	EVP_MD_CTX_free(m);
	free(hdr), free(claims), free(sig);
	sl_buf_free(&jwt);
	sf_auth_close(a);
	EVP_PKEY_free(k);
	char acct[64];
	sf_jwt_account("myorg-acct1", acct, sizeof acct);
	assert_string_equal(acct, "MYORG-ACCT1");
	unlink(keyfile);
}

static void test_key_errors(void **state)
{
	(void)state;
	snprintf(keyfile, sizeof keyfile, "/tmp/sl_sf_key_%d.p8", (int)getpid());
	snprintf(pubfile, sizeof pubfile, "/tmp/sl_sf_pub_%d.pem", (int)getpid());
	EVP_PKEY *k = make_key(keyfile, "s3cret-pass");
	sf_api_config c = {.url = "http://x", .account = "a", .user = "u", .key_file = keyfile};
	sf_auth *a = NULL;
	sl_error err = {0};
	assert_true(sf_auth_open(&c, &a, &err) < 0);
	assert_non_null(strstr(err.msg, "is encrypted: set target.private_key_passphrase"));
	c.passphrase = "wrong";
	assert_true(sf_auth_open(&c, &a, &err) < 0);
	assert_non_null(strstr(err.msg, "target.private_key_passphrase does not decrypt"));
	c.passphrase = "s3cret-pass";
	assert_int_equal(sf_auth_open(&c, &a, &err), 0);
	sf_auth_close(a);
	/* the legacy encrypted PEM (BEGIN RSA PRIVATE KEY, Proc-Type: 4,ENCRYPTED) alike */
	BIO *lf = BIO_new_file(keyfile, "w");
	PEM_write_bio_PrivateKey_traditional(lf, k, EVP_aes_256_cbc(),
	                                     (unsigned char *)"s3cret-pass", 11, NULL, NULL);
	BIO_free(lf);
	c.passphrase = NULL;
	assert_true(sf_auth_open(&c, &a, &err) < 0);
	assert_non_null(strstr(err.msg, "is encrypted: set target.private_key_passphrase"));
	c.passphrase = "s3cret-pass";
	assert_int_equal(sf_auth_open(&c, &a, &err), 0);
	sf_auth_close(a);
	/* a public key, or no file */
	FILE *f = fopen(pubfile, "w");
	PEM_write_PUBKEY(f, k);
	fclose(f);
	c.key_file = pubfile;
	assert_true(sf_auth_open(&c, &a, &err) < 0);
	assert_non_null(strstr(err.msg, "holds no PEM private key"));
	c.key_file = "/nonexistent/key.p8";
	assert_true(sf_auth_open(&c, &a, &err) < 0);
	assert_non_null(strstr(err.msg, "cannot open /nonexistent/key.p8"));
	unlink(keyfile), unlink(pubfile);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names),         cmocka_unit_test(test_types),
	        cmocka_unit_test(test_staged_values), cmocka_unit_test(test_merge_text),
	        cmocka_unit_test(test_jwt),           cmocka_unit_test(test_key_errors),
	        cmocka_unit_test(test_value_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
