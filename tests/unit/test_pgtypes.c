/* The spec's PostgreSQL source type table, one row per type: catalog facts -> Arrow type and how
 * the column is read; and the target side: which Arrow values load in binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/pgtypes.h"

#define TM(p, s) ((int32_t)((((p) << 16) | ((s)&0x7ff)) + 4))

static const struct row {
	const char *pg;
	sl_pg_typeinfo ti;
	const char *arrow;
	sl_pg_select how;
} rows[] = {
        {"bool", {16, -1, 'b', 'B', 0, 0, 0}, "Boolean", SL_PG_SELECT_PLAIN},
        {"int2", {21, -1, 'b', 'N', 0, 0, 0}, "Int16", SL_PG_SELECT_PLAIN},
        {"int4", {23, -1, 'b', 'N', 0, 0, 0}, "Int32", SL_PG_SELECT_PLAIN},
        {"int8", {20, -1, 'b', 'N', 0, 0, 0}, "Int64", SL_PG_SELECT_PLAIN},
        {"money", {790, -1, 'b', 'N', 0, 0, 0}, "Int64", SL_PG_SELECT_PLAIN},
        {"float4", {700, -1, 'b', 'N', 0, 0, 0}, "Float32", SL_PG_SELECT_PLAIN},
        {"float8", {701, -1, 'b', 'N', 0, 0, 0}, "Float64", SL_PG_SELECT_PLAIN},
        {"numeric(12,2)",
         {1700, TM(12, 2), 'b', 'N', 0, 0, 0},
         "Decimal128(12, 2)",
         SL_PG_SELECT_PLAIN},
        {"numeric(38,10)",
         {1700, TM(38, 10), 'b', 'N', 0, 0, 0},
         "Decimal128(38, 10)",
         SL_PG_SELECT_PLAIN},
        {"numeric(39,0)",
         {1700, TM(39, 0), 'b', 'N', 0, 0, 0},
         "Decimal256(39, 0)",
         SL_PG_SELECT_PLAIN},
        {"numeric(76,20)",
         {1700, TM(76, 20), 'b', 'N', 0, 0, 0},
         "Decimal256(76, 20)",
         SL_PG_SELECT_PLAIN},
        {"numeric(77,0)", {1700, TM(77, 0), 'b', 'N', 0, 0, 0}, "Utf8", SL_PG_SELECT_PLAIN},
        {"numeric(5,-2)", {1700, TM(5, -2), 'b', 'N', 0, 0, 0}, "Utf8", SL_PG_SELECT_PLAIN},
        {"numeric", {1700, -1, 'b', 'N', 0, 0, 0}, "Utf8", SL_PG_SELECT_PLAIN},
        {"oid", {26, -1, 'b', 'N', 0, 0, 0}, "UInt32", SL_PG_SELECT_PLAIN},
        {"pg_lsn", {3220, -1, 'b', 'U', 0, 0, 0}, "UInt64", SL_PG_SELECT_PLAIN},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "Date32", SL_PG_SELECT_PLAIN},
        {"time", {1083, -1, 'b', 'D', 0, 0, 0}, "Time64(us)", SL_PG_SELECT_PLAIN},
        {"timestamp", {1114, -1, 'b', 'D', 0, 0, 0}, "Timestamp(us)", SL_PG_SELECT_PLAIN},
        {"timestamptz",
         {1184, -1, 'b', 'D', 0, 0, 0},
         "Timestamp(us, \"UTC\")",
         SL_PG_SELECT_PLAIN},
        {"timetz", {1266, -1, 'b', 'D', 0, 0, 0}, "Utf8", SL_PG_SELECT_TEXT},
        {"interval", {1186, -1, 'b', 'T', 0, 0, 0}, "Utf8", SL_PG_SELECT_TEXT},
        {"char(n)", {1042, 14, 'b', 'S', 0, 0, 0}, "Utf8", SL_PG_SELECT_PLAIN},
        {"varchar", {1043, -1, 'b', 'S', 0, 0, 0}, "Utf8", SL_PG_SELECT_PLAIN},
        {"text", {25, -1, 'b', 'S', 0, 0, 0}, "Utf8", SL_PG_SELECT_PLAIN},
        {"name", {19, -1, 'b', 'S', 0, 0, 0}, "Utf8", SL_PG_SELECT_PLAIN},
        {"\"char\"", {18, -1, 'b', 'Z', 0, 0, 0}, "Utf8", SL_PG_SELECT_TEXT},
        {"citext (extension)", {90001, -1, 'b', 'S', 0, 0, 0}, "Utf8", SL_PG_SELECT_TEXT},
        {"bit(3)", {1560, 3, 'b', 'V', 0, 0, 0}, "Utf8", SL_PG_SELECT_TEXT},
        {"varbit", {1562, -1, 'b', 'V', 0, 0, 0}, "Utf8", SL_PG_SELECT_TEXT},
        {"uuid", {2950, -1, 'b', 'U', 0, 0, 0}, "Utf8", SL_PG_SELECT_PLAIN},
        {"enum", {90002, -1, 'e', 'E', 0, 0, 0}, "Utf8", SL_PG_SELECT_PLAIN},
        {"inet", {869, -1, 'b', 'I', 0, 0, 0}, "Utf8", SL_PG_SELECT_TEXT},
        {"cidr", {650, -1, 'b', 'I', 0, 0, 0}, "Utf8", SL_PG_SELECT_TEXT},
        {"macaddr", {829, -1, 'b', 'U', 0, 0, 0}, "Utf8", SL_PG_SELECT_TEXT},
        {"macaddr8", {774, -1, 'b', 'U', 0, 0, 0}, "Utf8", SL_PG_SELECT_TEXT},
        {"tsvector", {3614, -1, 'b', 'U', 0, 0, 0}, "Utf8", SL_PG_SELECT_TEXT},
        {"bytea", {17, -1, 'b', 'U', 0, 0, 0}, "Binary", SL_PG_SELECT_PLAIN},
        {"json", {114, -1, 'b', 'U', 0, 0, 0}, "Utf8 [arrow.json]", SL_PG_SELECT_PLAIN},
        {"jsonb", {3802, -1, 'b', 'U', 0, 0, 0}, "Utf8 [arrow.json]", SL_PG_SELECT_PLAIN},
        {"xml", {142, -1, 'b', 'U', 0, 0, 0}, "Utf8", SL_PG_SELECT_PLAIN},
        {"int4range", {3904, -1, 'r', 'R', 0, 0, 0}, "Utf8 [arrow.json]", SL_PG_SELECT_RANGE_JSON},
        {"tstzrange", {3910, -1, 'r', 'R', 0, 0, 0}, "Utf8 [arrow.json]", SL_PG_SELECT_RANGE_JSON},
        {"composite", {90003, -1, 'c', 'C', 0, 0, 0}, "Utf8", SL_PG_SELECT_TEXT},
        {"bool[]", {1000, -1, 'b', 'A', 16, 'b', 'B'}, "List<Boolean>", SL_PG_SELECT_PLAIN},
        {"int4[]", {1007, -1, 'b', 'A', 23, 'b', 'N'}, "List<Int32>", SL_PG_SELECT_PLAIN},
        {"numeric(10,2)[]",
         {1231, TM(10, 2), 'b', 'A', 1700, 'b', 'N'},
         "List<Decimal128(10, 2)>",
         SL_PG_SELECT_PLAIN},
        {"timestamptz[]",
         {1185, -1, 'b', 'A', 1184, 'b', 'D'},
         "List<Timestamp(us, \"UTC\")>",
         SL_PG_SELECT_PLAIN},
        {"text[]", {1009, -1, 'b', 'A', 25, 'b', 'S'}, "List<Utf8>", SL_PG_SELECT_PLAIN},
        {"uuid[]", {2951, -1, 'b', 'A', 2950, 'b', 'U'}, "List<Utf8>", SL_PG_SELECT_PLAIN},
        {"inet[]", {1041, -1, 'b', 'A', 869, 'b', 'I'}, "List<Utf8>", SL_PG_SELECT_TEXT_ARRAY},
        {"interval[]", {1187, -1, 'b', 'A', 1186, 'b', 'T'}, "List<Utf8>", SL_PG_SELECT_TEXT_ARRAY},
        {"point", {600, -1, 'b', 'G', 0, 0, 0}, NULL, SL_PG_SELECT_UNSUPPORTED},
        {"polygon", {604, -1, 'b', 'G', 0, 0, 0}, NULL, SL_PG_SELECT_UNSUPPORTED},
        {"int4multirange", {4451, -1, 'm', 'R', 0, 0, 0}, NULL, SL_PG_SELECT_UNSUPPORTED},
        {"point[]", {1017, -1, 'b', 'A', 600, 'b', 'G'}, NULL, SL_PG_SELECT_UNSUPPORTED},
};

static void test_source_mapping(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		sl_field f;
		sl_field_init(&f, "c", SL_TYPE_NA);
		sl_pg_codec codec;
		const char *reason = NULL;
		sl_pg_select how = sl_pg_map_column(&rows[i].ti, &f, &codec, &reason);
		if (how != rows[i].how)
			fail_msg("%s: select mode %d, expected %d", rows[i].pg, how, rows[i].how);
		if (how == SL_PG_SELECT_UNSUPPORTED) {
			assert_non_null(reason);
		} else {
			char d[128];
			if (strcmp(sl_field_describe(&f, d, sizeof d), rows[i].arrow) != 0)
				fail_msg("%s: mapped to %s, expected %s", rows[i].pg, d,
				         rows[i].arrow);
		}
		sl_field_reset(&f);
	}
}

/* Every mapping above, read back into a PostgreSQL column of the same type, either loads in
 * binary or (for the text-only types) is marked for staging. */
static void test_target_binary_or_staged(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		if (rows[i].how == SL_PG_SELECT_UNSUPPORTED)
			continue;
		sl_field f;
		sl_field_init(&f, "c", SL_TYPE_NA);
		sl_pg_codec codec, tcodec;
		const char *reason;
		sl_pg_select how = sl_pg_map_column(&rows[i].ti, &f, &codec, &reason);
		bool binary = sl_pg_target_codec(&f, &rows[i].ti, &tcodec);
		if (how == SL_PG_SELECT_PLAIN && rows[i].ti.typtype != 'b' &&
		    rows[i].ti.typtype != 'e')
			fail_msg("%s: unexpected plain mapping", rows[i].pg);
		bool expect_binary = how == SL_PG_SELECT_PLAIN;
		if (binary != expect_binary)
			fail_msg("%s: binary load %d, expected %d", rows[i].pg, binary,
			         expect_binary);
		if (binary) {
			assert_int_equal(tcodec.kind, codec.kind);
			assert_int_equal(tcodec.elem_kind, codec.elem_kind);
		}
		sl_field_reset(&f);
	}
}

/* Arrow types from other engines -> the spec's PostgreSQL target table. */
static void test_target_types_for_arrow(void **state)
{
	(void)state;
	static const struct {
		sl_type_id t;
		sl_time_unit unit;
		const char *tz, *ext, *pg;
	} m[] = {
	        {SL_TYPE_INT8, 0, NULL, NULL, "smallint"},
	        {SL_TYPE_UINT16, 0, NULL, NULL, "integer"},
	        {SL_TYPE_UINT32, 0, NULL, NULL, "bigint"},
	        {SL_TYPE_UINT64, 0, NULL, NULL, "numeric"},
	        {SL_TYPE_FLOAT16, 0, NULL, NULL, "real"},
	        {SL_TYPE_DATE64, 0, NULL, NULL, "date"},
	        {SL_TYPE_TIME64, SL_UNIT_NS, NULL, NULL, "bigint"},
	        {SL_TYPE_TIMESTAMP, SL_UNIT_MS, "UTC", NULL, "timestamp with time zone"},
	        {SL_TYPE_TIMESTAMP, SL_UNIT_NS, NULL, NULL, "bigint"},
	        {SL_TYPE_UTF8, 0, NULL, "arrow.json", "jsonb"},
	        {SL_TYPE_LARGE_UTF8, 0, NULL, NULL, "text"},
	        {SL_TYPE_FIXED_BINARY, 0, NULL, NULL, "bytea"},
	        {SL_TYPE_INTERVAL_DT, 0, NULL, NULL, "interval"},
	};
	for (size_t i = 0; i < sizeof m / sizeof *m; i++) {
		sl_field f;
		sl_field_init(&f, "c", m[i].t);
		f.unit = m[i].unit;
		f.tz = m[i].tz ? strdup(m[i].tz) : NULL;
		f.ext_name = m[i].ext ? strdup(m[i].ext) : NULL;
		char buf[64];
		const char *pg = sl_pg_type_for_field(&f, buf, sizeof buf);
		assert_non_null(pg);
		assert_string_equal(pg, m[i].pg);
		sl_field_reset(&f);
	}
}

/* Arrow types of other engines into the PostgreSQL columns sl_pg_type_for_field creates. */
static void test_target_cross_engine_codecs(void **state)
{
	(void)state;
	static const struct {
		sl_type_id t;
		sl_pg_typeinfo ti;
		bool binary;
		sl_pg_kind kind;
	} m[] = {
	        {SL_TYPE_UINT8, {21, -1, 'b', 'N', 0, 0, 0}, true, SL_PG_INT2},
	        {SL_TYPE_UINT16, {23, -1, 'b', 'N', 0, 0, 0}, true, SL_PG_INT4},
	        {SL_TYPE_UINT32, {20, -1, 'b', 'N', 0, 0, 0}, true, SL_PG_INT8},
	        {SL_TYPE_UINT64, {1700, -1, 'b', 'N', 0, 0, 0}, true, SL_PG_NUMERIC},
	        {SL_TYPE_UINT64, {20, -1, 'b', 'N', 0, 0, 0}, false, 0},
	        {SL_TYPE_INTERVAL_DT, {1186, -1, 'b', 'T', 0, 0, 0}, true, SL_PG_INTERVAL},
	        {SL_TYPE_INTERVAL_DT, {25, -1, 'b', 'S', 0, 0, 0}, false, 0},
	        {SL_TYPE_UTF8, {1186, -1, 'b', 'T', 0, 0, 0}, false, 0},
	};
	for (size_t i = 0; i < sizeof m / sizeof *m; i++) {
		sl_field f;
		sl_field_init(&f, "c", m[i].t);
		sl_pg_codec codec;
		bool binary = sl_pg_target_codec(&f, &m[i].ti, &codec);
		if (binary != m[i].binary)
			fail_msg("row %zu: binary %d, expected %d", i, binary, m[i].binary);
		if (binary)
			assert_int_equal(codec.kind, m[i].kind);
		sl_field_reset(&f);
	}
	sl_field l;
	sl_field_init(&l, "c", SL_TYPE_LIST);
	sl_field *e = malloc(sizeof *e);
	sl_field_init(e, "item", SL_TYPE_INTERVAL_DT);
	sl_field_set_child(&l, e);
	sl_pg_typeinfo arr = {1187, -1, 'b', 'A', 1186, 'b', 'T'};
	sl_pg_codec codec;
	assert_true(sl_pg_target_codec(&l, &arr, &codec));
	assert_int_equal(codec.kind, SL_PG_ARRAY);
	assert_int_equal(codec.elem_kind, SL_PG_INTERVAL);
	assert_int_equal(codec.elem_oid, 1186);
	char buf[64];
	assert_string_equal(sl_pg_type_for_field(&l, buf, sizeof buf), "interval[]");
	e = malloc(sizeof *e);
	sl_field_init(e, "item", SL_TYPE_UTF8);
	sl_field_set_child(&l, e);
	assert_string_equal(sl_pg_type_for_field(&l, buf, sizeof buf), "text[]");
	sl_field_reset(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_source_mapping),
	        cmocka_unit_test(test_target_binary_or_staged),
	        cmocka_unit_test(test_target_types_for_arrow),
	        cmocka_unit_test(test_target_cross_engine_codecs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
