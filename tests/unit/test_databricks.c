/* The Databricks target's pure parts: names (objects lower case, backticks), the spec's type
 * table, the staged form of the values that need converting (unsigned integers one size up,
 * UInt64 as DECIMAL(20,0), half floats, Date64, nanosecond timestamps, times and intervals as
 * text, lists element by element), and statement text. The emulator
 * (tests/emulators/databricks) runs the same statements in the integration tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "targets/databricks/db_sql.h"

static void test_names(void **state)
{
	(void)state;
	sl_buf b = {0};
	db_table(&b, "Main", "Public", "Order`Lines");
	assert_string_equal(sl_buf_cstr(&b), "`main`.`public`.`order``lines`");
	sl_buf_reset(&b);
	db_quote(&b, "MixedCase", false);
	assert_string_equal(sl_buf_cstr(&b), "`MixedCase`");
	sl_buf_reset(&b);
	db_lit(&b, "/Volumes/c/s/v/it's\\x/");
	assert_string_equal(sl_buf_cstr(&b), "'/Volumes/c/s/v/it''s\\\\x/'");
	sl_buf_free(&b);
}

static void test_types(void **state)
{
	(void)state;
	static const struct {
		sl_type_id t;
		int p, s;
		sl_time_unit u;
		const char *tz, *ext, *want;
		db_kind kind;
		sl_type_id staged;
	} rows[] = {
	        {SL_TYPE_INT8, 0, 0, 0, NULL, NULL, "TINYINT", DB_SAME, SL_TYPE_INT8},
	        {SL_TYPE_INT16, 0, 0, 0, NULL, NULL, "SMALLINT", DB_SAME, SL_TYPE_INT16},
	        {SL_TYPE_INT32, 0, 0, 0, NULL, NULL, "INT", DB_SAME, SL_TYPE_INT32},
	        {SL_TYPE_INT64, 0, 0, 0, NULL, NULL, "BIGINT", DB_SAME, SL_TYPE_INT64},
	        {SL_TYPE_UINT8, 0, 0, 0, NULL, NULL, "SMALLINT", DB_CONVERT, SL_TYPE_INT16},
	        {SL_TYPE_UINT16, 0, 0, 0, NULL, NULL, "INT", DB_CONVERT, SL_TYPE_INT32},
	        {SL_TYPE_UINT32, 0, 0, 0, NULL, NULL, "BIGINT", DB_CONVERT, SL_TYPE_INT64},
	        {SL_TYPE_UINT64, 0, 0, 0, NULL, NULL, "DECIMAL(20,0)", DB_CONVERT,
	         SL_TYPE_DECIMAL128},
	        {SL_TYPE_FLOAT16, 0, 0, 0, NULL, NULL, "FLOAT", DB_CONVERT, SL_TYPE_FLOAT32},
	        {SL_TYPE_FLOAT32, 0, 0, 0, NULL, NULL, "FLOAT", DB_SAME, SL_TYPE_FLOAT32},
	        {SL_TYPE_FLOAT64, 0, 0, 0, NULL, NULL, "DOUBLE", DB_SAME, SL_TYPE_FLOAT64},
	        {SL_TYPE_DECIMAL128, 12, 2, 0, NULL, NULL, "DECIMAL(12,2)", DB_SAME,
	         SL_TYPE_DECIMAL128},
	        {SL_TYPE_DECIMAL256, 38, 0, 0, NULL, NULL, "DECIMAL(38,0)", DB_SAME,
	         SL_TYPE_DECIMAL256},
	        {SL_TYPE_DECIMAL256, 60, 10, 0, NULL, NULL, "STRING", DB_SAME, SL_TYPE_DECIMAL256},
	        {SL_TYPE_BOOL, 0, 0, 0, NULL, NULL, "BOOLEAN", DB_SAME, SL_TYPE_BOOL},
	        {SL_TYPE_DATE32, 0, 0, 0, NULL, NULL, "DATE", DB_SAME, SL_TYPE_DATE32},
	        {SL_TYPE_DATE64, 0, 0, 0, NULL, NULL, "DATE", DB_CONVERT, SL_TYPE_DATE32},
	        {SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_S, "UTC", NULL, "TIMESTAMP_NTZ", DB_SAME,
	         SL_TYPE_TIMESTAMP},
	        {SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_US, NULL, NULL, "TIMESTAMP_NTZ", DB_SAME,
	         SL_TYPE_TIMESTAMP},
	        {SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_NS, "UTC", NULL, "TIMESTAMP_NTZ", DB_CONVERT,
	         SL_TYPE_TIMESTAMP},
	        {SL_TYPE_TIME64, 0, 0, SL_UNIT_US, NULL, NULL, "STRING", DB_CONVERT, SL_TYPE_UTF8},
	        {SL_TYPE_INTERVAL_DT, 0, 0, 0, NULL, NULL, "STRING", DB_CONVERT, SL_TYPE_UTF8},
	        {SL_TYPE_UTF8, 0, 0, 0, NULL, "arrow.json", "STRING", DB_SAME, SL_TYPE_UTF8},
	        {SL_TYPE_BINARY, 0, 0, 0, NULL, NULL, "BINARY", DB_SAME, SL_TYPE_BINARY},
	        {SL_TYPE_FIXED_BINARY, 0, 0, 0, NULL, NULL, "BINARY", DB_SAME,
	         SL_TYPE_FIXED_BINARY},
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		sl_field f;
		sl_field_init(&f, "c", rows[i].t);
		f.precision = rows[i].p, f.scale = rows[i].s, f.unit = rows[i].u;
		f.tz = rows[i].tz ? strdup(rows[i].tz) : NULL;
		f.ext_name = rows[i].ext ? strdup(rows[i].ext) : NULL;
		f.byte_width = 16;
		db_col c;
		assert_int_equal(db_col_init(&c, &f, 0), rows[i].kind);
		assert_string_equal(c.type, rows[i].want);
		assert_int_equal(c.file.type, rows[i].staged);
		assert_null(c.file.tz);       /* TIMESTAMP_NTZ: no zone in the file */
		assert_null(c.file.ext_name); /* JSON as plain text */
		if (rows[i].t == SL_TYPE_TIMESTAMP && rows[i].u == SL_UNIT_NS)
			assert_int_equal(c.file.unit, SL_UNIT_US);
		db_col_reset(&c);
		sl_field_reset(&f);
	}
	/* lists: ARRAY of the element's type; a list of lists has no form yet */
	sl_field l, *e = calloc(1, sizeof *e);
	sl_field_init(&l, "l", SL_TYPE_LIST);
	sl_field_init(e, "item", SL_TYPE_UINT8);
	sl_field_set_child(&l, e);
	db_col c;
	assert_int_equal(db_col_init(&c, &l, 0), DB_CONVERT);
	assert_string_equal(c.type, "ARRAY<SMALLINT>");
	assert_int_equal(c.file.child->type, SL_TYPE_INT16);
	db_col_reset(&c);
	sl_field ll, *le = calloc(1, sizeof *le), *lee = calloc(1, sizeof *lee);
	sl_field_init(&ll, "ll", SL_TYPE_LIST);
	sl_field_init(le, "item", SL_TYPE_LIST);
	sl_field_init(lee, "item", SL_TYPE_INT32);
	sl_field_set_child(le, lee);
	sl_field_set_child(&ll, le);
	assert_int_equal(db_col_init(&c, &ll, 0), DB_SKIP);
	db_col_reset(&c);
	sl_field_reset(&l), sl_field_reset(&ll);
}

static void test_values(void **state)
{
	(void)state;
	sl_field src[7], *e = calloc(1, sizeof *e);
	sl_field_init(&src[0], "u64", SL_TYPE_UINT64);
	sl_field_init(&src[1], "half", SL_TYPE_FLOAT16);
	sl_field_init(&src[2], "d64", SL_TYPE_DATE64);
	sl_field_init(&src[3], "tsn", SL_TYPE_TIMESTAMP);
	src[3].unit = SL_UNIT_NS;
	sl_field_init(&src[4], "t", SL_TYPE_TIME64);
	src[4].unit = SL_UNIT_US;
	sl_field_init(&src[5], "iv", SL_TYPE_INTERVAL_DT);
	sl_field_init(&src[6], "l", SL_TYPE_LIST);
	sl_field_init(e, "item", SL_TYPE_UINT16);
	sl_field_set_child(&src[6], e);
	sl_batch *b = sl_batch_create(src, 7);
	uint64_t big = UINT64_MAX;
	sl_col_append_fixed(&b->cols[0], &big, 8);
	uint16_t h = 0xBE00; /* -1.5 */
	sl_col_append_fixed(&b->cols[1], &h, 2);
	int64_t ms = -1; /* 1969-12-31 23:59:59.999: day -1 */
	sl_col_append_fixed(&b->cols[2], &ms, 8);
	int64_t ns = -1; /* 1 ns before the epoch: -1 us, not 0 */
	sl_col_append_fixed(&b->cols[3], &ns, 8);
	int64_t us = 3723004005; /* 01:02:03.004005 */
	sl_col_append_fixed(&b->cols[4], &us, 8);
	sl_interval_dt iv = {-1, -3723500};
	sl_col_append_fixed(&b->cols[5], &iv, 8);
	uint16_t x = 65535;
	sl_col_append_fixed(b->cols[6].child, &x, 2);
	sl_col_append_null(b->cols[6].child);
	sl_col_end_list(&b->cols[6]);
	sl_batch_end_row(b);
	db_col c[7];
	sl_field staged[7];
	for (int i = 0; i < 7; i++) {
		assert_int_equal(db_col_init(&c[i], &src[i], i), DB_CONVERT);
		staged[i] = c[i].file;
	}
	sl_batch *out = sl_batch_create(staged, 7);
	sl_buf tmp = {0};
	for (int i = 0; i < 7; i++)
		db_col_append(&c[i], &out->cols[i], &b->cols[i], 0, &tmp);
	sl_batch_end_row(out);
	const uint8_t *d = sl_col_value_ptr(&out->cols[0], 0, 16);
	uint64_t lo;
	memcpy(&lo, d, 8);
	assert_true(lo == UINT64_MAX);
	for (int k = 8; k < 16; k++)
		assert_int_equal(d[k], 0); /* positive: 18446744073709551615 as decimal(20,0) */
	float f;
	memcpy(&f, sl_col_value_ptr(&out->cols[1], 0, 4), 4);
	assert_true(f == -1.5f);
	int32_t day;
	memcpy(&day, sl_col_value_ptr(&out->cols[2], 0, 4), 4);
	assert_int_equal(day, -1);
	int64_t t;
	memcpy(&t, sl_col_value_ptr(&out->cols[3], 0, 8), 8);
	assert_int_equal(t, -1);
	int32_t len;
	const uint8_t *p = sl_col_bytes(&out->cols[4], 0, &len);
	assert_int_equal(len, 15);
	assert_memory_equal(p, "01:02:03.004005", 15);
	p = sl_col_bytes(&out->cols[5], 0, &len);
	assert_int_equal(len, 13);
	assert_memory_equal(p, "-PT90123.500S", 13);
	const sl_column *lc = out->cols[6].child;
	assert_int_equal(lc->length, 2);
	int32_t v;
	memcpy(&v, sl_col_value_ptr(lc, 0, 4), 4);
	assert_int_equal(v, 65535);
	assert_false(sl_col_is_valid(lc, 1));
	assert_true(sl_batch_is_consistent(out));
	sl_buf_free(&tmp);
	sl_batch_destroy(out), sl_batch_destroy(b);
	for (int i = 0; i < 7; i++)
		db_col_reset(&c[i]), sl_field_reset(&src[i]);
}

static void test_statements(void **state)
{
	(void)state;
	sl_field f[2];
	sl_field_init(&f[0], "id", SL_TYPE_INT32);
	sl_field_init(&f[1], "Name", SL_TYPE_UTF8);
	db_col c[2];
	db_col_init(&c[0], &f[0], 0), db_col_init(&c[1], &f[1], 1);
	int key[] = {0};
	sl_buf b = {0}, qt = {0};
	db_table(&qt, "main", "app", "t");
	db_sql_create(&b, sl_buf_cstr(&qt), c, 2, key, 1);
	assert_string_equal(
	        sl_buf_cstr(&b),
	        "CREATE TABLE IF NOT EXISTS `main`.`app`.`t` (`id` INT NOT NULL, `Name` "
	        "STRING, `_sluice_version` DECIMAL(20,0), `_sluice_seq` BIGINT, "
	        "`_sluice_deleted` BOOLEAN) TBLPROPERTIES ('delta.columnMapping.mode' = "
	        "'name', 'delta.enableTypeWidening' = 'true')");
	sl_buf_reset(&b);
	const char *files[] = {"r-1.parquet", "r-2.parquet"};
	db_sql_copy(&b, sl_buf_cstr(&qt), "/Volumes/main/app/v/p/snapshot/", files, 2);
	assert_string_equal(sl_buf_cstr(&b),
	                    "COPY INTO `main`.`app`.`t` FROM '/Volumes/main/app/v/p/snapshot/' "
	                    "FILEFORMAT = PARQUET FILES = ('r-1.parquet', 'r-2.parquet')");
	sl_buf_reset(&b);
	db_sql_merge(&b, sl_buf_cstr(&qt), "/Volumes/main/app/v/p/changes/c.parquet", c, 2, key, 1,
	             false);
	static const char guard[] = "(s.`_sluice_version` > t.`_sluice_version` OR "
	                            "(s.`_sluice_version` = t.`_sluice_version` AND "
	                            "s.`_sluice_seq` > t.`_sluice_seq`))";
	sl_buf want = {0};
	sl_buf_printf(
	        &want,
	        "MERGE INTO `main`.`app`.`t` AS t USING (SELECT * FROM "
	        "read_files('/Volumes/main/app/v/p/changes/c.parquet', format => 'parquet') "
	        "QUALIFY row_number() OVER (PARTITION BY `id` ORDER BY `_sluice_version` DESC, "
	        "`_sluice_seq` DESC) = 1) AS s ON t.`id` = s.`id` WHEN MATCHED AND %s AND "
	        "s.`_sluice_deleted` THEN UPDATE SET `_sluice_deleted` = true, "
	        "`_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq` WHEN "
	        "MATCHED AND %s THEN UPDATE SET `id` = s.`id`, `Name` = s.`Name`, "
	        "`_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq`, "
	        "`_sluice_deleted` = false WHEN NOT MATCHED AND NOT s.`_sluice_deleted` THEN "
	        "INSERT (`id`, `Name`, `_sluice_version`, `_sluice_seq`, `_sluice_deleted`) "
	        "VALUES (s.`id`, s.`Name`, s.`_sluice_version`, s.`_sluice_seq`, false)",
	        guard, guard);
	assert_string_equal(sl_buf_cstr(&b), sl_buf_cstr(&want));
	sl_buf_free(&want);
	sl_buf_reset(&b);
	db_sql_merge(&b, sl_buf_cstr(&qt), "/Volumes/x/c.parquet", c, 2, key, 1, true);
	assert_non_null(strstr(sl_buf_cstr(&b), "`Name` = CASE WHEN substr(s.`_sluice_unchanged`, "
	                                        "2, 1) = '1' THEN t.`Name` ELSE s.`Name` END"));
	assert_non_null(strstr(sl_buf_cstr(&b), "substr(s.`_sluice_unchanged`, 3, 1) <> 'L'"));
	assert_non_null(strstr(sl_buf_cstr(&b), "AND s.`_sluice_unchanged` IS NULL THEN INSERT"));
	sl_buf_free(&b), sl_buf_free(&qt);
	db_col_reset(&c[0]), db_col_reset(&c[1]);
	sl_field_reset(&f[0]), sl_field_reset(&f[1]);
}

/* JSON_ARRAY's strings back into the source's values (verify) */
/* Type widening, per docs.databricks.com/aws/en/tables/features/type-widening, both ways. */
static void test_widens(void **state)
{
	(void)state;
	static const char *const yes[][2] = {
	        {"TINYINT", "SMALLINT"},
	        {"tinyint", "BIGINT"},
	        {"int", "BIGINT"},
	        {"SMALLINT", "DOUBLE"},
	        {"INT", "DECIMAL(10,0)"},
	        {"BIGINT", "DECIMAL(20,0)"},
	        {"BIGINT", "DECIMAL(22,2)"},
	        {"FLOAT", "DOUBLE"},
	        {"decimal(12,2)", "DECIMAL(14,2)"},
	        {"DECIMAL(10,1)", "DECIMAL(12,3)"},
	        {"date", "TIMESTAMP_NTZ"},
	        {"array<int>", "ARRAY<BIGINT>"},
	};
	static const char *const no[][2] = {
	        {"BIGINT", "INT"},
	        {"BIGINT", "DOUBLE"},
	        {"INT", "DECIMAL(9,0)"},
	        {"BIGINT", "DECIMAL(20,1)"},
	        {"DOUBLE", "FLOAT"},
	        {"DECIMAL(12,2)", "DECIMAL(13,4)"},
	        {"DECIMAL(12,2)", "DECIMAL(14,1)"},
	        {"INT", "STRING"},
	        {"STRING", "BINARY"},
	        {"TIMESTAMP_NTZ", "DATE"},
	        {"ARRAY<BIGINT>", "ARRAY<INT>"},
	        {"ARRAY<INT>", "BIGINT"},
	};
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
		if (!db_widens(yes[i][0], yes[i][1]))
			fail_msg("%s -> %s should widen", yes[i][0], yes[i][1]);
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		if (db_widens(no[i][0], no[i][1]))
			fail_msg("%s -> %s should not widen", no[i][0], no[i][1]);
}

static void test_parse(void **state)
{
	(void)state;
	static const struct {
		sl_type_id t;
		sl_time_unit u;
		const char *text;
		int ok;
	} rows[] = {
	        {SL_TYPE_INT32, 0, "-42", 1},
	        {SL_TYPE_INT32, 0, "4x", 0},
	        {SL_TYPE_UINT64, 0, "18446744073709551615", 1},
	        {SL_TYPE_UINT64, 0, "-1", 0},
	        {SL_TYPE_BOOL, 0, "true", 1},
	        {SL_TYPE_BOOL, 0, "yes", 0},
	        {SL_TYPE_DATE32, 0, "1969-12-31", 1},
	        {SL_TYPE_DATE32, 0, "1969-13-01", 0},
	        {SL_TYPE_TIMESTAMP, SL_UNIT_US, "2024-03-01T10:00:00.5", 1},
	        {SL_TYPE_TIMESTAMP, SL_UNIT_US, "2024-03-01 10:00:00", 1},
	        {SL_TYPE_TIMESTAMP, SL_UNIT_US, "2024-03-01", 0},
	        {SL_TYPE_TIME64, SL_UNIT_US, "01:02:03.004005", 1},
	        {SL_TYPE_INTERVAL_DT, 0, "-PT90123.500S", 1},
	        {SL_TYPE_BINARY, 0, "q80=", 1},
	        {SL_TYPE_BINARY, 0, "q80", 0},
	};
	sl_buf tmp = {0};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		sl_field f;
		sl_field_init(&f, "c", rows[i].t);
		f.unit = rows[i].u;
		sl_batch *b = sl_batch_create(&f, 1);
		int rc = db_value_parse(&f, rows[i].text, strlen(rows[i].text), &b->cols[0], &tmp);
		if (rows[i].ok != (rc == 0))
			fail_msg("%s: %s", rows[i].text, rc == 0 ? "taken" : "refused");
		sl_batch_destroy(b);
		sl_field_reset(&f);
	}
	/* values checked */
	sl_field f;
	sl_field_init(&f, "ts", SL_TYPE_TIMESTAMP);
	f.unit = SL_UNIT_NS;
	sl_batch *b = sl_batch_create(&f, 1);
	assert_int_equal(db_value_parse(&f, "1969-12-31T23:59:59.999999", 26, &b->cols[0], &tmp),
	                 0);
	int64_t v;
	memcpy(&v, sl_col_value_ptr(&b->cols[0], 0, 8), 8);
	assert_int_equal(v, -1000); /* one microsecond before the epoch, in nanoseconds */
	sl_batch_destroy(b);
	sl_field_reset(&f);
	sl_field l, *e = calloc(1, sizeof *e);
	sl_field_init(&l, "l", SL_TYPE_LIST);
	sl_field_init(e, "item", SL_TYPE_UTF8);
	sl_field_set_child(&l, e);
	b = sl_batch_create(&l, 1);
	assert_int_equal(db_value_parse(&l, "[\"a\\\"b\",null]", 13, &b->cols[0], &tmp), 0);
	assert_int_equal(b->cols[0].child->length, 2);
	int32_t len;
	const uint8_t *p = sl_col_bytes(b->cols[0].child, 0, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "a\"b", 3);
	assert_false(sl_col_is_valid(b->cols[0].child, 1));
	sl_batch_destroy(b);
	sl_field_reset(&l);
	sl_buf_free(&tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names),  cmocka_unit_test(test_types),
	        cmocka_unit_test(test_values), cmocka_unit_test(test_statements),
	        cmocka_unit_test(test_parse),  cmocka_unit_test(test_widens),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
