/* Text forms of PostgreSQL values (pgoutput's text mode) into Arrow values.
 *
 * Golden pairs captured from PostgreSQL 15.18 in a session with the settings the replication
 * session fixes (DateStyle ISO, TimeZone UTC, extra_float_digits 3, bytea_output hex,
 * lc_monetary C, IntervalStyle iso_8601): the text is format('%s', v) (the output function, as
 * pgoutput sends it), the binary is the type's send function (what the snapshot's binary COPY
 * reads), or textsend(v::text) / array_send(v::text[]) for the types the snapshot reads as text.
 * Each row's column is mapped by sl_pg_map_column as the stream maps it; the text path and the
 * binary path must give identical Arrow bytes. Then spot values, forms other servers or settings
 * print, intervals in both styles, malformed text (SL_ERR_DATA naming column and value, nothing
 * appended) and values that parse but do not fit their Arrow type. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/batch.h"
#include "formats/decimal.h"
#include "formats/pgbinary.h"
#include "formats/pgtypes.h"

static uint8_t *unhex(const char *hex, size_t *n)
{
	*n = strlen(hex) / 2;
	uint8_t *out = malloc(*n ? *n : 1);
	for (size_t i = 0; i < *n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return out;
}

static void assert_buf_same(const sl_buf *a, const sl_buf *b, const char *what, const char *which)
{
	if (a->len != b->len || (a->len && memcmp(a->data, b->data, a->len) != 0))
		fail_msg("%s: %s buffers differ (%zu vs %zu bytes)", what, which, a->len, b->len);
}

/* identical Arrow buffers, children included */
static void assert_col_same(const sl_column *a, const sl_column *b, const char *what)
{
	if (a->length != b->length || a->null_count != b->null_count)
		fail_msg("%s: length/nulls %lld/%lld vs %lld/%lld", what, (long long)a->length,
		         (long long)a->null_count, (long long)b->length, (long long)b->null_count);
	assert_buf_same(&a->values, &b->values, what, "values");
	assert_buf_same(&a->offsets, &b->offsets, what, "offsets");
	assert_buf_same(&a->validity, &b->validity, what, "validity");
	assert_true((a->child == NULL) == (b->child == NULL));
	if (a->child)
		assert_col_same(a->child, b->child, what);
	for (int64_t i = 0; a->child && i < a->length; i++) {
		sl_list_shape sa, sb;
		bool ha = sl_col_list_shape(a, i, &sa), hb = sl_col_list_shape(b, i, &sb);
		if (ha != hb || memcmp(&sa, &sb, sizeof sa) != 0)
			fail_msg("%s: row %lld: list shapes differ", what, (long long)i);
	}
}

static const struct golden {
	const char *type;
	sl_pg_typeinfo ti;
	const char *text;
	const char *binary;
} golden[] = {
        {"boolean", {16, -1, 'b', 'B', 0, 0, 0}, "t", "01"},
        {"boolean", {16, -1, 'b', 'B', 0, 0, 0}, "f", "00"},
        {"smallint", {21, -1, 'b', 'N', 0, 0, 0}, "-32768", "8000"},
        {"smallint", {21, -1, 'b', 'N', 0, 0, 0}, "32767", "7fff"},
        {"smallint", {21, -1, 'b', 'N', 0, 0, 0}, "0", "0000"},
        {"integer", {23, -1, 'b', 'N', 0, 0, 0}, "-2147483648", "80000000"},
        {"integer", {23, -1, 'b', 'N', 0, 0, 0}, "2147483647", "7fffffff"},
        {"integer", {23, -1, 'b', 'N', 0, 0, 0}, "-1", "ffffffff"},
        {"bigint", {20, -1, 'b', 'N', 0, 0, 0}, "-9223372036854775808", "8000000000000000"},
        {"bigint", {20, -1, 'b', 'N', 0, 0, 0}, "9223372036854775807", "7fffffffffffffff"},
        {"bigint", {20, -1, 'b', 'N', 0, 0, 0}, "0", "0000000000000000"},
        {"money", {790, -1, 'b', 'N', 0, 0, 0}, "-$92,233,720,368,547,758.08", "8000000000000000"},
        {"money", {790, -1, 'b', 'N', 0, 0, 0}, "$92,233,720,368,547,758.07", "7fffffffffffffff"},
        {"money", {790, -1, 'b', 'N', 0, 0, 0}, "$0.00", "0000000000000000"},
        {"money", {790, -1, 'b', 'N', 0, 0, 0}, "$12.34", "00000000000004d2"},
        {"money", {790, -1, 'b', 'N', 0, 0, 0}, "-$0.01", "ffffffffffffffff"},
        {"money", {790, -1, 'b', 'N', 0, 0, 0}, "$1,000,000.00", "0000000005f5e100"},
        {"money", {790, -1, 'b', 'N', 0, 0, 0}, "-$999.50", "fffffffffffe7992"},
        {"oid", {26, -1, 'b', 'N', 0, 0, 0}, "0", "00000000"},
        {"oid", {26, -1, 'b', 'N', 0, 0, 0}, "4294967295", "ffffffff"},
        {"pg_lsn", {3220, -1, 'b', 'U', 0, 0, 0}, "0/0", "0000000000000000"},
        {"pg_lsn", {3220, -1, 'b', 'U', 0, 0, 0}, "FFFFFFFF/FFFFFFFF", "ffffffffffffffff"},
        {"pg_lsn", {3220, -1, 'b', 'U', 0, 0, 0}, "16/B374D848", "00000016b374d848"},
        {"real", {700, -1, 'b', 'N', 0, 0, 0}, "NaN", "7fc00000"},
        {"real", {700, -1, 'b', 'N', 0, 0, 0}, "Infinity", "7f800000"},
        {"real", {700, -1, 'b', 'N', 0, 0, 0}, "-Infinity", "ff800000"},
        {"real", {700, -1, 'b', 'N', 0, 0, 0}, "-0", "80000000"},
        {"real", {700, -1, 'b', 'N', 0, 0, 0}, "0", "00000000"},
        {"real", {700, -1, 'b', 'N', 0, 0, 0}, "1.5", "3fc00000"},
        {"real", {700, -1, 'b', 'N', 0, 0, 0}, "3.4028235e+38", "7f7fffff"},
        {"real", {700, -1, 'b', 'N', 0, 0, 0}, "1e-45", "00000001"},
        {"real", {700, -1, 'b', 'N', 0, 0, 0}, "1.1754944e-38", "00800000"},
        {"real", {700, -1, 'b', 'N', 0, 0, 0}, "0.1", "3dcccccd"},
        {"real", {700, -1, 'b', 'N', 0, 0, 0}, "1.6777216e+07", "4b800000"},
        {"real", {700, -1, 'b', 'N', 0, 0, 0}, "-3.1415927", "c0490fdb"},
        {"real", {700, -1, 'b', 'N', 0, 0, 0}, "1e+10", "501502f9"},
        {"real", {700, -1, 'b', 'N', 0, 0, 0}, "123456.7", "47f1205a"},
        {"double precision", {701, -1, 'b', 'N', 0, 0, 0}, "NaN", "7ff8000000000000"},
        {"double precision", {701, -1, 'b', 'N', 0, 0, 0}, "Infinity", "7ff0000000000000"},
        {"double precision", {701, -1, 'b', 'N', 0, 0, 0}, "-Infinity", "fff0000000000000"},
        {"double precision", {701, -1, 'b', 'N', 0, 0, 0}, "-0", "8000000000000000"},
        {"double precision", {701, -1, 'b', 'N', 0, 0, 0}, "0.1", "3fb999999999999a"},
        {"double precision",
         {701, -1, 'b', 'N', 0, 0, 0},
         "1.7976931348623157e+308",
         "7fefffffffffffff"},
        {"double precision", {701, -1, 'b', 'N', 0, 0, 0}, "5e-324", "0000000000000001"},
        {"double precision",
         {701, -1, 'b', 'N', 0, 0, 0},
         "2.2250738585072014e-308",
         "0010000000000000"},
        {"double precision", {701, -1, 'b', 'N', 0, 0, 0}, "1e+100", "54b249ad2594c37d"},
        {"double precision",
         {701, -1, 'b', 'N', 0, 0, 0},
         "1.2345678901234568e+20",
         "441ac53a7e04bcda"},
        {"double precision", {701, -1, 'b', 'N', 0, 0, 0}, "-1.5e-10", "bde49da7e361ce4c"},
        {"double precision", {701, -1, 'b', 'N', 0, 0, 0}, "1e+15", "430c6bf526340000"},
        {"double precision", {701, -1, 'b', 'N', 0, 0, 0}, "1e+16", "4341c37937e08000"},
        {"double precision",
         {701, -1, 'b', 'N', 0, 0, 0},
         "0.30000000000000004",
         "3fd3333333333334"},
        {"numeric(10,2)",
         {1700, 655366, 'b', 'N', 0, 0, 0},
         "-99999999.99",
         "0003000140000002270f270f26ac"},
        {"numeric(10,2)", {1700, 655366, 'b', 'N', 0, 0, 0}, "0.50", "0001ffff000000021388"},
        {"numeric(10,2)", {1700, 655366, 'b', 'N', 0, 0, 0}, "0.00", "0000000000000002"},
        {"numeric(10,2)",
         {1700, 655366, 'b', 'N', 0, 0, 0},
         "99999999.99",
         "0003000100000002270f270f26ac"},
        {"numeric(10,2)", {1700, 655366, 'b', 'N', 0, 0, 0}, "-0.01", "0001ffff400000020064"},
        {"numeric(38,10)",
         {1700, 2490382, 'b', 'N', 0, 0, 0},
         "-9999999999999999999999999999.9999999999",
         "000a00064000000a270f270f270f270f270f270f270f270f270f26ac"},
        {"numeric(38,10)",
         {1700, 2490382, 'b', 'N', 0, 0, 0},
         "0.0000000001",
         "0001fffd0000000a0064"},
        {"numeric(38,10)",
         {1700, 2490382, 'b', 'N', 0, 0, 0},
         "1234567890123456789012345678.0123456789",
         "000a00060000000a04d2162e23340d801ed204d2162e007b11d722c4"},
        {"numeric(76,20)",
         {1700, 4980760, 'b', 'N', 0, 0, 0},
         "-99999999999999999999999999999999999999999999999999999999.99999999999999999999",
         "0013000d40000014270f270f270f270f270f270f270f270f270f270f270f270f270f270f270f270f270f270f2"
         "70f"},
        {"numeric(76,20)",
         {1700, 4980760, 'b', 'N', 0, 0, 0},
         "0.00000000000000000001",
         "0001fffb000000140001"},
        {"numeric(5,0)", {1700, 327684, 'b', 'N', 0, 0, 0}, "-99999", "00020001400000000009270f"},
        {"numeric(5,0)", {1700, 327684, 'b', 'N', 0, 0, 0}, "0", "0000000000000000"},
        {"numeric", {1700, -1, 'b', 'N', 0, 0, 0}, "NaN", "00000000c0000000"},
        {"numeric", {1700, -1, 'b', 'N', 0, 0, 0}, "Infinity", "00000000d0000020"},
        {"numeric", {1700, -1, 'b', 'N', 0, 0, 0}, "-Infinity", "00000000f0000020"},
        {"numeric", {1700, -1, 'b', 'N', 0, 0, 0}, "123.4500", "0002000000000004007b1194"},
        {"numeric", {1700, -1, 'b', 'N', 0, 0, 0}, "0.000", "0000000000000003"},
        {"numeric",
         {1700, -1, 'b', 'N', 0, 0, 0},
         "0.0000000000000000000000000000000000000001",
         "0001fff6000000280001"},
        {"numeric",
         {1700, -1, 'b', 'N', 0, 0, 0},
         "90000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000",
         "000101f4000000000009"},
        {"numeric", {1700, -1, 'b', 'N', 0, 0, 0}, "0.00012", "0002ffff00000005000107d0"},
        {"numeric",
         {1700, -1, 'b', 'N', 0, 0, 0},
         "-12345678901234567890.5",
         "000600044000000104d2162e23340d801ed21388"},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "2024-02-29", "00002279"},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "1970-01-01", "ffffd533"},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "2000-01-01", "00000000"},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "1999-12-31", "ffffffff"},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "4713-01-01 BC", "ffda97cd"},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "4714-11-24 BC", "ffda97a7"},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "0001-01-01", "fff4dbf9"},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "0001-12-31 BC", "fff4dbf8"},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "0005-02-29 BC", "fff4d511"},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "0001-02-29 BC", "fff4dac6"},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "5874897-12-31", "7fda970c"},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "infinity", "7fffffff"},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "-infinity", "80000000"},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "1900-02-28", "ffff718e"},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "1600-02-29", "fffdc58a"},
        {"date", {1082, -1, 'b', 'D', 0, 0, 0}, "10000-03-01", "002c9610"},
        {"time", {1083, -1, 'b', 'D', 0, 0, 0}, "00:00:00", "0000000000000000"},
        {"time", {1083, -1, 'b', 'D', 0, 0, 0}, "24:00:00", "000000141dd76000"},
        {"time", {1083, -1, 'b', 'D', 0, 0, 0}, "23:59:59.999999", "000000141dd75fff"},
        {"time", {1083, -1, 'b', 'D', 0, 0, 0}, "12:34:56.789", "0000000a8be62608"},
        {"time", {1083, -1, 'b', 'D', 0, 0, 0}, "00:00:00.000001", "0000000000000001"},
        {"time", {1083, -1, 'b', 'D', 0, 0, 0}, "12:00:00.5", "0000000a0ef35120"},
        {"timestamp", {1114, -1, 'b', 'D', 0, 0, 0}, "infinity", "7fffffffffffffff"},
        {"timestamp", {1114, -1, 'b', 'D', 0, 0, 0}, "-infinity", "8000000000000000"},
        {"timestamp", {1114, -1, 'b', 'D', 0, 0, 0}, "4713-01-01 00:00:00 BC", "fd0f7fbdaf17e000"},
        {"timestamp", {1114, -1, 'b', 'D', 0, 0, 0}, "4714-11-24 00:00:00 BC", "fd0f7cc1411fa000"},
        {"timestamp",
         {1114, -1, 'b', 'D', 0, 0, 0},
         "2024-01-01 12:34:56.123456",
         "0002b0e060c53e40"},
        {"timestamp",
         {1114, -1, 'b', 'D', 0, 0, 0},
         "1969-12-31 23:59:59.999999",
         "fffca2fec4c81fff"},
        {"timestamp", {1114, -1, 'b', 'D', 0, 0, 0}, "0001-01-01 00:00:00", "ff1fe2ffc59c6000"},
        {"timestamp",
         {1114, -1, 'b', 'D', 0, 0, 0},
         "1999-12-31 23:59:59.999999",
         "ffffffffffffffff"},
        {"timestamp",
         {1114, -1, 'b', 'D', 0, 0, 0},
         "200000-12-31 23:59:59.999999",
         "56b67320f46bdfff"},
        {"timestamp", {1114, -1, 'b', 'D', 0, 0, 0}, "2000-01-01 00:00:00", "0000000000000000"},
        {"timestamp", {1114, -1, 'b', 'D', 0, 0, 0}, "1900-03-01 00:00:00.1", "fff4ce915cb026a0"},
        {"timestamptz",
         {1184, -1, 'b', 'D', 0, 0, 0},
         "2024-06-01 10:00:00.000001+00",
         "0002bccfee8ea801"},
        {"timestamptz",
         {1184, -1, 'b', 'D', 0, 0, 0},
         "4713-01-01 00:00:00+00 BC",
         "fd0f7fbdaf17e000"},
        {"timestamptz",
         {1184, -1, 'b', 'D', 0, 0, 0},
         "2000-01-01 11:59:59.999999+00",
         "0000000a0eebafff"},
        {"timestamptz", {1184, -1, 'b', 'D', 0, 0, 0}, "infinity", "7fffffffffffffff"},
        {"timestamptz", {1184, -1, 'b', 'D', 0, 0, 0}, "-infinity", "8000000000000000"},
        {"timestamptz",
         {1184, -1, 'b', 'D', 0, 0, 0},
         "1900-01-01 00:00:00+00",
         "fff4c9ee7c0b8000"},
        {"timestamptz",
         {1184, -1, 'b', 'D', 0, 0, 0},
         "1883-11-18 16:56:02+00",
         "fff2fb4e5409cc80"},
        {"timestamptz",
         {1184, -1, 'b', 'D', 0, 0, 0},
         "2023-12-31 18:30:00+00",
         "0002b0d138bd3a00"},
        {"text", {25, -1, 'b', 'S', 0, 0, 0}, "plain", "706c61696e"},
        {"text", {25, -1, 'b', 'S', 0, 0, 0}, "", ""},
        {"text",
         {25, -1, 'b', 'S', 0, 0, 0},
         "\303\274n\303\257 \360\237\230\200",
         "c3bc6ec3af20f09f9880"},
        {"text",
         {25, -1, 'b', 'S', 0, 0, 0},
         "tab\011nl\012 back\\slash",
         "746162096e6c0a206261636b5c736c617368"},
        {"character(5)", {1042, 9, 'b', 'S', 0, 0, 0}, "ab   ", "6162202020"},
        {"character varying(20)", {1043, 24, 'b', 'S', 0, 0, 0}, "varchar", "76617263686172"},
        {"name", {19, -1, 'b', 'S', 0, 0, 0}, "a_name", "615f6e616d65"},
        {"xml",
         {142, -1, 'b', 'U', 0, 0, 0},
         "<a b=\"1\">text &amp; more</a>",
         "3c6120623d2231223e746578742026616d703b206d6f72653c2f613e"},
        {"bytea", {17, -1, 'b', 'U', 0, 0, 0}, "\\x", ""},
        {"bytea", {17, -1, 'b', 'U', 0, 0, 0}, "\\x000102ff00", "000102ff00"},
        {"bytea", {17, -1, 'b', 'U', 0, 0, 0}, "\\x5c78", "5c78"},
        {"bytea",
         {17, -1, 'b', 'U', 0, 0, 0},
         "\\x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00"
         "ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00f"
         "f00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff"
         "00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff0"
         "0ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff",
         "00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff0"
         "0ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00"
         "ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00f"
         "f00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff"
         "00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff"},
        {"json",
         {114, -1, 'b', 'U', 0, 0, 0},
         "{\"a\": 1,  \"b\": [1,2, {\"c\": null}], \"a\": 2}",
         "7b2261223a20312c20202262223a205b312c322c207b2263223a206e756c6c7d5d2c202261223a20327d"},
        {"json", {114, -1, 'b', 'U', 0, 0, 0}, "\"str\"", "2273747222"},
        {"jsonb",
         {3802, -1, 'b', 'U', 0, 0, 0},
         "{\"a\": 1, \"b\": [1, 2, {\"c\": null}], \"n\": 1.50}",
         "017b2261223a20312c202262223a205b312c20322c207b2263223a206e756c6c7d5d2c20226e223a20312e353"
         "07d"},
        {"jsonb", {3802, -1, 'b', 'U', 0, 0, 0}, "\"str\"", "012273747222"},
        {"jsonb", {3802, -1, 'b', 'U', 0, 0, 0}, "null", "016e756c6c"},
        {"jsonb",
         {3802, -1, 'b', 'U', 0, 0, 0},
         "{\"u\": \"\303\251 \360\237\230\200\", \"esc\": \"a\\\"b\\\\c\\nd\"}",
         "017b2275223a2022c3a920f09f9880222c2022657363223a2022615c22625c5c635c6e64227d"},
        {"uuid",
         {2950, -1, 'b', 'U', 0, 0, 0},
         "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
         "a0eebc999c0b4ef8bb6d6bb9bd380a11"},
        {"uuid",
         {2950, -1, 'b', 'U', 0, 0, 0},
         "00000000-0000-0000-0000-000000000000",
         "00000000000000000000000000000000"},
        {"uuid",
         {2950, -1, 'b', 'U', 0, 0, 0},
         "ffffffff-ffff-ffff-ffff-ffffffffffff",
         "ffffffffffffffffffffffffffffffff"},
        {"integer[]",
         {1007, -1, 'b', 'A', 23, 'b', 'N'},
         "{1,NULL,3}",
         "00000001000000010000001700000003000000010000000400000001ffffffff0000000400000003"},
        {"integer[]", {1007, -1, 'b', 'A', 23, 'b', 'N'}, "{}", "000000000000000000000017"},
        {"integer[]",
         {1007, -1, 'b', 'A', 23, 'b', 'N'},
         "[0:2]={1,2,3}",
         "000000010000000000000017000000030000000000000004000000010000000400000002000000040000000"
         "3"},
        /* more than one dimension, lower bounds other than 1 (captured the same way) */
        {"integer[]",
         {1007, -1, 'b', 'A', 23, 'b', 'N'},
         "{{1,2},{3,4}}",
         "00000002000000000000001700000002000000010000000200000001000000040000000100000004000000"
         "0200000004000000030000000400000004"},
        {"integer[]",
         {1007, -1, 'b', 'A', 23, 'b', 'N'},
         "[2:3][1:2]={{1,2},{3,4}}",
         "00000002000000000000001700000002000000020000000200000001000000040000000100000004000000"
         "0200000004000000030000000400000004"},
        {"integer[]",
         {1007, -1, 'b', 'A', 23, 'b', 'N'},
         "[0:2]={1,NULL,3}",
         "00000001000000010000001700000003000000000000000400000001ffffffff0000000400000003"},
        {"integer[]",
         {1007, -1, 'b', 'A', 23, 'b', 'N'},
         "[-2:-1]={7,8}",
         "00000001000000000000001700000002fffffffe00000004000000070000000400000008"},
        {"integer[]",
         {1007, -1, 'b', 'A', 23, 'b', 'N'},
         "{{{1,2},{3,4}},{{5,6},{NULL,8}}}",
         "00000003000000010000001700000002000000010000000200000001000000020000000100000004000000"
         "0100000004000000020000000400000003000000040000000400000004000000050000000400000006ffff"
         "ffff0000000400000008"},
        {"integer[]",
         {1007, -1, 'b', 'A', 23, 'b', 'N'},
         "[1:1][0:0][5:5]={{{42}}}",
         "00000003000000000000001700000001000000010000000100000000000000010000000500000004000000"
         "2a"},
        {"integer[]",
         {1007, -1, 'b', 'A', 23, 'b', 'N'},
         "{{1},{2},{3}}",
         "00000002000000000000001700000003000000010000000100000001000000040000000100000004000000"
         "020000000400000003"},
        {"text[]",
         {1009, -1, 'b', 'A', 25, 'b', 'S'},
         "{{a,NULL},{\"b c\",\"q\\\"x\"}}",
         "000000020000000100000019000000020000000100000002000000010000000161ffffffff000000036220"
         "6300000003712278"},
        {"text[]",
         {1009, -1, 'b', 'A', 25, 'b', 'S'},
         "[0:1][0:0]={{\"{}\"},{NULL}}",
         "00000002000000010000001900000002000000000000000100000000000000027b7dffffffff"},
        {"interval[]",
         {1187, -1, 'b', 'A', 1186, 'b', 'T'},
         "[0:1][1:2]={{P1D,PT1H},{NULL,P1M}}",
         "00000002000000010000001900000002000000000000000200000001000000035031440000000450543148"
         "ffffffff0000000350314d"},
        {"integer[]",
         {1007, -1, 'b', 'A', 23, 'b', 'N'},
         "{-2147483648,2147483647}",
         "00000001000000000000001700000002000000010000000480000000000000047fffffff"},
        {"integer[]",
         {1007, -1, 'b', 'A', 23, 'b', 'N'},
         "{NULL}",
         "0000000100000001000000170000000100000001ffffffff"},
        {"bigint[]",
         {1016, -1, 'b', 'A', 20, 'b', 'N'},
         "{-9223372036854775808,9223372036854775807}",
         "0000000100000000000000140000000200000001000000088000000000000000000000087ffffffffffffff"
         "f"},
        {"text[]",
         {1009, -1, 'b', 'A', 25, 'b', 'S'},
         "{a,NULL,\"with,comma\",\"quote\\\"s\",\"\",NULL,\"NULL\",\"back\\\\\\\\slash\",\" sp "
         "\",\"{}\"}",
         "0000000100000001000000190000000a000000010000000161ffffffff0000000a776974682c636f6d6d61000"
         "0000771756f7465227300000000ffffffff000000044e554c4c0000000b6261636b5c5c736c61736800000004"
         "20737020000000027b7d"},
        {"text[]", {1009, -1, 'b', 'A', 25, 'b', 'S'}, "{}", "000000000000000000000019"},
        {"text[]",
         {1009, -1, 'b', 'A', 25, 'b', 'S'},
         "{\"line\012break\",\"tab\011here\",\303\274n\303\257}",
         "00000001000000000000001900000003000000010000000a6c696e650a627265616b000000087461620968657"
         "26500000005c3bc6ec3af"},
        {"numeric(10,2)[]",
         {1231, 655366, 'b', 'A', 1700, 'b', 'N'},
         "{1.00,-2.50,NULL}",
         "0000000100000001000006a400000003000000010000000a000100000000000200010000000c0002000040000"
         "00200021388ffffffff"},
        {"numeric(10,2)[]",
         {1231, 655366, 'b', 'A', 1700, 'b', 'N'},
         "{99999999.99,-99999999.99}",
         "0000000100000000000006a400000002000000010000000e0003000100000002270f270f26ac0000000e00030"
         "00140000002270f270f26ac"},
        {"numeric[]",
         {1231, -1, 'b', 'A', 1700, 'b', 'N'},
         "{NaN,1.2300,0,Infinity}",
         "0000000100000000000006a400000004000000010000000800000000c00000000000000c00020000000000040"
         "00108fc0000000800000000000000000000000800000000d0000020"},
        {"timestamptz[]",
         {1185, -1, 'b', 'A', 1184, 'b', 'D'},
         "{\"2024-01-01 00:00:00+00\",infinity,-infinity,\"0001-01-01 00:00:00+00 BC\"}",
         "0000000100000000000004a00000000400000001000000080002b0d5d4e94000000000087fffffffffffffff0"
         "0000008800000000000000000000008ff1fc63d1bb12000"},
        {"timestamp[]",
         {1115, -1, 'b', 'A', 1114, 'b', 'D'},
         "{\"2024-01-01 00:00:00.5\",NULL}",
         "00000001000000010000045a0000000200000001000000080002b0d5d4f0e120ffffffff"},
        {"uuid[]",
         {2951, -1, 'b', 'A', 2950, 'b', 'U'},
         "{00000000-0000-0000-0000-000000000000,NULL}",
         "000000010000000100000b8600000002000000010000001000000000000000000000000000000000fffffff"
         "f"},
        {"boolean[]",
         {1000, -1, 'b', 'A', 16, 'b', 'B'},
         "{t,f,NULL}",
         "000000010000000100000010000000030000000100000001010000000100ffffffff"},
        {"date[]",
         {1182, -1, 'b', 'A', 1082, 'b', 'D'},
         "{2024-01-01,infinity,-infinity,\"4713-01-01 BC\"}",
         "00000001000000000000043a0000000400000001000000040000223e000000047fffffff00000004800000000"
         "0000004ffda97cd"},
        {"time[]",
         {1183, -1, 'b', 'A', 1083, 'b', 'D'},
         "{00:00:00,24:00:00,12:34:56.789}",
         "00000001000000000000043b000000030000000100000008000000000000000000000008000000141dd760000"
         "00000080000000a8be62608"},
        {"bytea[]",
         {1001, -1, 'b', 'A', 17, 'b', 'U'},
         "{\"\\\\x00\",\"\\\\x\",NULL,\"\\\\x5c22\"}",
         "0000000100000001000000110000000400000001000000010000000000ffffffff000000025c22"},
        {"jsonb[]",
         {3807, -1, 'b', 'A', 3802, 'b', 'U'},
         "{\"{\\\"a\\\": 1}\",\"null\",NULL,\"\\\"q\\\\\\\"\\\"\"}",
         "000000010000000100000eda000000040000000100000009017b2261223a20317d00000005016e756c6cfffff"
         "fff000000060122715c2222"},
        {"json[]",
         {199, -1, 'b', 'A', 114, 'b', 'U'},
         "{\"{\\\"a\\\" :1}\",NULL}",
         "0000000100000001000000720000000200000001000000087b226122203a317dffffffff"},
        {"real[]",
         {1021, -1, 'b', 'A', 700, 'b', 'N'},
         "{NaN,-Infinity,-0,1e-45}",
         "0000000100000000000002bc0000000400000001000000047fc0000000000004ff80000000000004800000000"
         "000000400000001"},
        {"double precision[]",
         {1022, -1, 'b', 'A', 701, 'b', 'N'},
         "{NaN,Infinity,-0,1e-320}",
         "0000000100000000000002bd0000000400000001000000087ff8000000000000000000087ff00000000000000"
         "000000880000000000000000000000800000000000007e8"},
        {"money[]",
         {791, -1, 'b', 'A', 790, 'b', 'N'},
         "{\"$1,234.56\",-$1.00,$0.00}",
         "000000010000000000000316000000030000000100000008000000000001e24000000008ffffffffffffff9c0"
         "00000080000000000000000"},
        {"smallint[]",
         {1005, -1, 'b', 'A', 21, 'b', 'N'},
         "{-32768,32767}",
         "0000000100000000000000150000000200000001000000028000000000027fff"},
        {"oid[]",
         {1028, -1, 'b', 'A', 26, 'b', 'N'},
         "{0,4294967295}",
         "00000001000000000000001a0000000200000001000000040000000000000004ffffffff"},
        {"pg_lsn[]",
         {3221, -1, 'b', 'A', 3220, 'b', 'U'},
         "{0/0,FFFFFFFF/FFFFFFFF}",
         "000000010000000000000c94000000020000000100000008000000000000000000000008fffffffffffffff"
         "f"},
        {"character varying(10)[]",
         {1015, 14, 'b', 'A', 1043, 'b', 'S'},
         "{\"a b\",\"\",NULL}",
         "00000001000000010000041300000003000000010000000361206200000000ffffffff"},
        {"name[]",
         {1003, -1, 'b', 'A', 19, 'b', 'S'},
         "{a,\"b c\"}",
         "0000000100000000000000130000000200000001000000016100000003622063"},
        {"xml[]",
         {143, -1, 'b', 'A', 142, 'b', 'U'},
         "{<x/>}",
         "00000001000000000000008e0000000100000001000000043c782f3e"},
        {"interval",
         {1186, -1, 'b', 'T', 0, 0, 0},
         "P1Y2M3DT4H5M6.789S",
         "503159324d3344543448354d362e37383953"},
        {"interval", {1186, -1, 'b', 'T', 0, 0, 0}, "P-178000000Y", "502d31373830303030303059"},
        {"interval",
         {1186, -1, 'b', 'T', 0, 0, 0},
         "P-1Y-2M3DT-4H-5M-6.000001S",
         "502d31592d324d3344542d34482d354d2d362e30303030303153"},
        {"interval", {1186, -1, 'b', 'T', 0, 0, 0}, "PT0S", "50543053"},
        {"inet", {869, -1, 'b', 'I', 0, 0, 0}, "10.0.0.1", "31302e302e302e312f3332"},
        {"inet", {869, -1, 'b', 'I', 0, 0, 0}, "192.168.1.5/24", "3139322e3136382e312e352f3234"},
        {"inet", {869, -1, 'b', 'I', 0, 0, 0}, "::1", "3a3a312f313238"},
        {"inet", {869, -1, 'b', 'I', 0, 0, 0}, "2001:db8::1/64", "323030313a6462383a3a312f3634"},
        {"inet",
         {869, -1, 'b', 'I', 0, 0, 0},
         "::ffff:1.2.3.4",
         "3a3a666666663a312e322e332e342f313238"},
        {"cidr", {650, -1, 'b', 'I', 0, 0, 0}, "10.0.0.0/8", "31302e302e302e302f38"},
        {"cidr", {650, -1, 'b', 'I', 0, 0, 0}, "::/0", "3a3a2f30"},
        {"timetz",
         {1266, -1, 'b', 'D', 0, 0, 0},
         "12:34:56.5+05:30",
         "31323a33343a35362e352b30353a3330"},
        {"bit(8)", {1560, 8, 'b', 'V', 0, 0, 0}, "10101010", "3130313031303130"},
        {"char", {18, -1, 'b', 'Z', 0, 0, 0}, "a", "61"},
        {"char", {18, -1, 'b', 'Z', 0, 0, 0}, "\\200", "5c323030"},
        {"interval[]",
         {1187, -1, 'b', 'A', 1186, 'b', 'T'},
         "{P1D,P-1M2D,NULL}",
         "00000001000000010000001900000003000000010000000350314400000006502d314d3244ffffffff"},
        {"inet[]",
         {1041, -1, 'b', 'A', 869, 'b', 'I'},
         "{10.0.0.1,::1,192.168.0.0/16,NULL}",
         "00000001000000010000001900000004000000010000000b31302e302e302e312f3332000000073a3a312f313"
         "2380000000e3139322e3136382e302e302f3136ffffffff"},
        {"int4range[]",
         {3905, -1, 'b', 'A', 3904, 'r', 'R'},
         "{\"[1,5)\",empty}",
         "0000000100000000000000190000000200000001000000055b312c352900000005656d707479"},
};

static void test_text_equals_binary(void **state)
{
	(void)state;
	sl_pg_text_buf tb = {0};
	int plain = 0, text = 0;
	for (size_t i = 0; i < sizeof golden / sizeof *golden; i++) {
		const struct golden *g = &golden[i];
		char what[160];
		snprintf(what, sizeof what, "row %zu (%s '%.40s')", i, g->type, g->text);
		sl_field f;
		sl_pg_codec codec;
		const char *reason;
		sl_field_init(&f, "c", SL_TYPE_NA);
		sl_pg_select how = sl_pg_map_column(&g->ti, &f, &codec, &reason);
		if (how != SL_PG_SELECT_PLAIN && how != SL_PG_SELECT_TEXT &&
		    how != SL_PG_SELECT_TEXT_ARRAY)
			fail_msg("%s: mapped as %d", what, how);
		plain += how == SL_PG_SELECT_PLAIN;
		text += how != SL_PG_SELECT_PLAIN;
		unsigned flags = how == SL_PG_SELECT_PLAIN ? 0 : sl_pg_text_flags(&g->ti);
		sl_batch *a = sl_batch_create(&f, 1), *b = sl_batch_create(&f, 1);
		sl_error err = {0};
		size_t n;
		uint8_t *bin = unhex(g->binary, &n);
		if (sl_pg_decode_field(&codec, &b->cols[0], bin, (int32_t)n, &err) < 0)
			fail_msg("%s: binary decode: %s", what, err.msg);
		if (sl_pg_decode_text(&codec, &a->cols[0], g->text, strlen(g->text), flags, &tb,
		                      &err) < 0)
			fail_msg("%s: text decode: %s", what, err.msg);
		assert_col_same(&a->cols[0], &b->cols[0], what);
		/* and the text's binary form is the server's, but for numeric's digit groups */
		sl_buf out = {0}, tmp = {0};
		assert_int_equal(sl_pg_text_to_binary(&codec, g->text, strlen(g->text), flags, &out,
		                                      &tmp, &err),
		                 0);
		bool exact = codec.kind != SL_PG_NUMERIC && codec.elem_kind != SL_PG_NUMERIC;
		if (exact && (out.len != n || (n > 0 && memcmp(out.data, bin, n) != 0)))
			fail_msg("%s: binary form differs from the server's", what);
		/* arrays encode back to the server's bytes: dimensions and lower bounds kept */
		if (exact && codec.kind == SL_PG_ARRAY) {
			sl_buf_reset(&out);
			assert_int_equal(sl_pg_encode_field(&codec, &a->cols[0], 0, &out, &err), 0);
			if (out.len != n + 4 || memcmp(out.data + 4, bin, n) != 0)
				fail_msg("%s: encoded array differs from the server's", what);
		}
		sl_buf_free(&out);
		sl_buf_free(&tmp);
		free(bin);
		sl_batch_destroy(a);
		sl_batch_destroy(b);
		sl_field_reset(&f);
	}
	assert_true(plain > 100);
	assert_true(text >= 10);
	sl_pg_text_buf_free(&tb);
}

/* interval (IntervalStyle iso_8601, then postgres) into Interval(DayTime), and the server's
 * interval_send bytes */
static const struct {
	const char *iso, *pg, *binary;
} intervals[] = {
        {"P1DT2H3M4.005S", "1 day 02:03:04.005", "00000001b81ef9880000000100000000"},
        {"P-1M2D", "-1 mons +2 days", "000000000000000000000002ffffffff"},
        {"PT0S", "00:00:00", "00000000000000000000000000000000"},
        {"PT838H59M59S", "838:59:59", "000002bf3dcf39c00000000000000000"},
        {"PT-0.001S", "-00:00:00.001", "fffffffffffffc180000000000000000"},
        {"P1Y2M3DT4H5M6.789S", "1 year 2 mons 3 days 04:05:06.789",
         "000000036c97ca88000000030000000e"},
        {"P-1Y-2M3DT-4H-5M-6.001S", "-1 years -2 mons +3 days -04:05:06.001",
         "fffffffc93743b9800000003fffffff2"},
        {"P-178000000Y", "-178000000 years", "00000000000000000000000080af3a00"},
        {"PT2562047788H", "2562047788:00:00", "7ffffffffcbc30000000000000000000"},
        {"PT0.5S", "00:00:00.5", "000000000007a1200000000000000000"},
        {"P-1DT1S", "-1 days +00:00:01", "00000000000f4240ffffffff00000000"},
};

static void test_intervals(void **state)
{
	(void)state;
	sl_field f;
	sl_field_init(&f, "iv", SL_TYPE_INTERVAL_DT);
	sl_pg_codec codec = {.kind = SL_PG_INTERVAL};
	sl_pg_text_buf tb = {0};
	for (size_t i = 0; i < sizeof intervals / sizeof *intervals; i++) {
		sl_batch *a = sl_batch_create(&f, 1), *b = sl_batch_create(&f, 1),
		         *c = sl_batch_create(&f, 1);
		sl_error err = {0};
		size_t n;
		uint8_t *bin = unhex(intervals[i].binary, &n);
		if (sl_pg_decode_field(&codec, &b->cols[0], bin, (int32_t)n, &err) < 0) {
			/* out of range for Interval(DayTime): the same error from the text */
			char want[1024];
			snprintf(want, sizeof want, "%s (text value '%s')", err.msg,
			         intervals[i].pg);
			assert_int_equal(sl_pg_decode_text(&codec, &a->cols[0], intervals[i].pg,
			                                   strlen(intervals[i].pg), 0, &tb, &err),
			                 SL_ERR_DATA);
			assert_string_equal(err.msg, want);
			free(bin);
			sl_batch_destroy(a);
			sl_batch_destroy(b);
			sl_batch_destroy(c);
			continue;
		}
		if (sl_pg_decode_text(&codec, &a->cols[0], intervals[i].iso,
		                      strlen(intervals[i].iso), 0, &tb, &err) < 0)
			fail_msg("interval '%s': %s", intervals[i].iso, err.msg);
		if (sl_pg_decode_text(&codec, &c->cols[0], intervals[i].pg, strlen(intervals[i].pg),
		                      0, &tb, &err) < 0)
			fail_msg("interval '%s': %s", intervals[i].pg, err.msg);
		assert_col_same(&a->cols[0], &b->cols[0], intervals[i].iso);
		assert_col_same(&c->cols[0], &b->cols[0], intervals[i].pg);
		sl_buf out = {0}, tmp = {0};
		assert_int_equal(sl_pg_text_to_binary(&codec, intervals[i].pg,
		                                      strlen(intervals[i].pg), 0, &out, &tmp, &err),
		                 0);
		assert_int_equal(out.len, n);
		assert_memory_equal(out.data, bin, n);
		sl_buf_free(&out);
		sl_buf_free(&tmp);
		free(bin);
		sl_batch_destroy(a);
		sl_batch_destroy(b);
		sl_batch_destroy(c);
	}
	sl_pg_text_buf_free(&tb);
	sl_field_reset(&f);
}

/* ---- single values ---- */

typedef struct one {
	sl_field f, child;
	sl_pg_codec codec;
	sl_batch *b;
	sl_pg_text_buf tb;
	sl_error err;
} one;

/* a one-column batch of the field sl_pg_map_column gives for ti */
static void one_open(one *o, const sl_pg_typeinfo *ti)
{
	memset(o, 0, sizeof *o);
	const char *reason;
	sl_field_init(&o->f, "c_x", SL_TYPE_NA);
	sl_pg_map_column(ti, &o->f, &o->codec, &reason);
	o->b = sl_batch_create(&o->f, 1);
}

static void one_close(one *o)
{
	sl_batch_destroy(o->b);
	sl_field_reset(&o->f);
	sl_pg_text_buf_free(&o->tb);
}

static int one_text(one *o, const char *s, unsigned flags)
{
	memset(&o->err, 0, sizeof o->err);
	return sl_pg_decode_text(&o->codec, &o->b->cols[0], s, strlen(s), flags, &o->tb, &o->err);
}

static const sl_pg_typeinfo T_BOOL = {16, -1, 'b', 'B', 0, 0, 0},
                            T_INT2 = {21, -1, 'b', 'N', 0, 0, 0},
                            T_INT4 = {23, -1, 'b', 'N', 0, 0, 0},
                            T_INT8 = {20, -1, 'b', 'N', 0, 0, 0},
                            T_MONEY = {790, -1, 'b', 'N', 0, 0, 0},
                            T_OID = {26, -1, 'b', 'N', 0, 0, 0},
                            T_LSN = {3220, -1, 'b', 'U', 0, 0, 0},
                            T_FLOAT4 = {700, -1, 'b', 'N', 0, 0, 0},
                            T_FLOAT8 = {701, -1, 'b', 'N', 0, 0, 0},
                            T_NUM10_2 = {1700, (10 << 16 | 2) + 4, 'b', 'N', 0, 0, 0},
                            T_NUM = {1700, -1, 'b', 'N', 0, 0, 0},
                            T_DATE = {1082, -1, 'b', 'D', 0, 0, 0},
                            T_TIME = {1083, -1, 'b', 'D', 0, 0, 0},
                            T_TS = {1114, -1, 'b', 'D', 0, 0, 0},
                            T_TSTZ = {1184, -1, 'b', 'D', 0, 0, 0},
                            T_TEXT = {25, -1, 'b', 'S', 0, 0, 0},
                            T_BYTEA = {17, -1, 'b', 'U', 0, 0, 0},
                            T_JSONB = {3802, -1, 'b', 'U', 0, 0, 0},
                            T_UUID = {2950, -1, 'b', 'U', 0, 0, 0},
                            T_INET = {869, -1, 'b', 'I', 0, 0, 0},
                            T_INT4_ARR = {1007, -1, 'b', 'A', 23, 'b', 'N'},
                            T_TEXT_ARR = {1009, -1, 'b', 'A', 25, 'b', 'S'},
                            T_INET_ARR = {1041, -1, 'b', 'A', 869, 'b', 'I'};

static int64_t ts_of(const char *s, const sl_pg_typeinfo *ti)
{
	one o;
	one_open(&o, ti);
	if (one_text(&o, s, 0) < 0)
		fail_msg("'%s': %s", s, o.err.msg);
	int64_t v = ((const int64_t *)o.b->cols[0].values.data)[0];
	one_close(&o);
	return v;
}

static void test_values(void **state)
{
	(void)state;
	/* timestamps as us since 1970 UTC, offsets applied, BC, infinity sentinels */
	assert_int_equal(ts_of("1970-01-01 00:00:00", &T_TS), 0);
	assert_int_equal(ts_of("1970-01-01 00:00:00+00", &T_TSTZ), 0);
	assert_int_equal(ts_of("1970-01-01 02:00:00+02", &T_TSTZ), 0);
	assert_int_equal(ts_of("1969-12-31 19:00:00-05", &T_TSTZ), 0);
	assert_int_equal(ts_of("1970-01-01 05:30:00.000001+05:30", &T_TSTZ), 1);
	assert_int_equal(ts_of("1883-11-18 12:00:00-04:56:02", &T_TSTZ),
	                 ts_of("1883-11-18 16:56:02+00", &T_TSTZ));
	assert_int_equal(ts_of("1969-12-31 23:59:59.999999", &T_TS), -1);
	assert_int_equal(ts_of("0001-01-01 00:00:00 BC", &T_TS), INT64_C(-62167219200000000));
	assert_int_equal(ts_of("infinity", &T_TSTZ), SL_TIMESTAMP_POS_INF);
	assert_int_equal(ts_of("-infinity", &T_TS), SL_TIMESTAMP_NEG_INF);

	one o;
	/* dates as days since 1970, BC (1 BC is year 0, a leap year) */
	one_open(&o, &T_DATE);
	const char *dates[] = {"1970-01-01",    "1969-12-31",    "2000-03-01", "0001-01-01",
	                       "0001-12-31 BC", "0001-02-29 BC", "infinity",   "-infinity"};
	const int32_t days[] = {0, -1, 11017, -719162, -719163, -719469, INT32_MAX, INT32_MIN};
	for (size_t i = 0; i < sizeof dates / sizeof *dates; i++) {
		if (one_text(&o, dates[i], 0) < 0)
			fail_msg("'%s': %s", dates[i], o.err.msg);
		assert_int_equal(((const int32_t *)o.b->cols[0].values.data)[i], days[i]);
	}
	one_close(&o);

	/* money: cents; the C locale's form */
	one_open(&o, &T_MONEY);
	assert_int_equal(o.f.type, SL_TYPE_INT64);
	assert_int_equal(one_text(&o, "-$1,234.56", 0), 0);
	assert_int_equal(one_text(&o, "$0.01", 0), 0);
	assert_int_equal(one_text(&o, "-$92,233,720,368,547,758.08", 0), 0);
	assert_int_equal(((const int64_t *)o.b->cols[0].values.data)[0], -123456);
	assert_int_equal(((const int64_t *)o.b->cols[0].values.data)[1], 1);
	assert_int_equal(((const int64_t *)o.b->cols[0].values.data)[2], INT64_MIN);
	one_close(&o);

	/* floats: the same bits from shortest-exact and from 9 / 17 significant digits */
	one_open(&o, &T_FLOAT4);
	assert_int_equal(one_text(&o, "0.1", 0), 0);
	assert_int_equal(one_text(&o, "0.100000001", 0), 0);
	assert_int_equal(one_text(&o, "1e-45", 0), 0);
	assert_int_equal(one_text(&o, "1.40129846e-45", 0), 0);
	assert_int_equal(one_text(&o, "-0", 0), 0);
	const float *fv = (const float *)o.b->cols[0].values.data;
	assert_memory_equal(&fv[0], &fv[1], 4);
	assert_memory_equal(&fv[2], &fv[3], 4);
	assert_true(fv[0] == 0.1f && signbit(fv[4]) && fv[4] == 0);
	one_close(&o);
	one_open(&o, &T_FLOAT8);
	assert_int_equal(one_text(&o, "0.1", 0), 0);
	assert_int_equal(one_text(&o, "0.10000000000000001", 0), 0);
	assert_int_equal(one_text(&o, "NaN", 0), 0);
	assert_int_equal(one_text(&o, "-Infinity", 0), 0);
	assert_int_equal(one_text(&o, "1.7976931348623157e+308", 0), 0);
	const double *dv = (const double *)o.b->cols[0].values.data;
	assert_true(dv[0] == 0.1 && dv[1] == 0.1 && isnan(dv[2]) && dv[3] == -INFINITY &&
	            dv[4] == 1.7976931348623157e308);
	one_close(&o);

	/* uuid: canonical lower-case text whatever the input's case */
	one_open(&o, &T_UUID);
	assert_int_equal(one_text(&o, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", 0), 0);
	int32_t len;
	const uint8_t *p = sl_col_bytes(&o.b->cols[0], 0, &len);
	assert_int_equal(len, 36);
	assert_memory_equal(p, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", 36);
	one_close(&o);

	/* jsonb: its text, arrow.json */
	one_open(&o, &T_JSONB);
	assert_string_equal(o.f.ext_name, "arrow.json");
	assert_int_equal(one_text(&o, "{\"a\": [1, null]}", 0), 0);
	p = sl_col_bytes(&o.b->cols[0], 0, &len);
	assert_int_equal(len, 16);
	assert_memory_equal(p, "{\"a\": [1, null]}", 16);
	one_close(&o);

	/* bytea: hex and escape output */
	one_open(&o, &T_BYTEA);
	assert_int_equal(one_text(&o, "\\x00ff5C", 0), 0);
	assert_int_equal(one_text(&o, "a\\\\b\\000\\377", 0), 0);
	assert_int_equal(one_text(&o, "", 0), 0);
	p = sl_col_bytes(&o.b->cols[0], 0, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "\x00\xff\x5c", 3);
	p = sl_col_bytes(&o.b->cols[0], 1, &len);
	assert_int_equal(len, 5);
	assert_memory_equal(p, "a\\b\x00\xff", 5);
	sl_col_bytes(&o.b->cols[0], 2, &len);
	assert_int_equal(len, 0);
	one_close(&o);

	/* numeric: Decimal128 of the column's scale; unconstrained: its exact text */
	one_open(&o, &T_NUM10_2);
	assert_int_equal(one_text(&o, "-0.5", 0), 0);
	assert_int_equal(((const int64_t *)o.b->cols[0].values.data)[0], -50);
	assert_int_equal(((const int64_t *)o.b->cols[0].values.data)[1], -1);
	one_close(&o);
	one_open(&o, &T_NUM);
	assert_int_equal(one_text(&o, "123.4500", 0), 0);
	assert_int_equal(one_text(&o, "NaN", 0), 0);
	p = sl_col_bytes(&o.b->cols[0], 0, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(p, "123.4500", 8);
	p = sl_col_bytes(&o.b->cols[0], 1, &len);
	assert_memory_equal(p, "NaN", 3);
	one_close(&o);

	/* integers at their limits */
	one_open(&o, &T_INT8);
	assert_int_equal(one_text(&o, "-9223372036854775808", 0), 0);
	assert_int_equal(one_text(&o, "9223372036854775807", 0), 0);
	assert_int_equal(((const int64_t *)o.b->cols[0].values.data)[0], INT64_MIN);
	assert_int_equal(((const int64_t *)o.b->cols[0].values.data)[1], INT64_MAX);
	one_close(&o);
	one_open(&o, &T_OID);
	assert_int_equal(one_text(&o, "4294967295", 0), 0);
	assert_int_equal(((const uint32_t *)o.b->cols[0].values.data)[0], UINT32_MAX);
	one_close(&o);
	one_open(&o, &T_LSN);
	assert_int_equal(one_text(&o, "16/b374d848", 0), 0);
	assert_int_equal(((const uint64_t *)o.b->cols[0].values.data)[0], 0x16B374D848ull);
	one_close(&o);
	one_open(&o, &T_TIME);
	assert_int_equal(one_text(&o, "24:00:00", 0), 0);
	assert_int_equal(((const int64_t *)o.b->cols[0].values.data)[0], INT64_C(86400000000));
	one_close(&o);

	/* inet as the snapshot's inet::text reads it */
	one_open(&o, &T_INET);
	assert_int_equal(o.f.type, SL_TYPE_UTF8);
	unsigned fl = sl_pg_text_flags(&T_INET);
	assert_int_equal(fl, SL_PG_TEXT_INET);
	assert_int_equal(sl_pg_text_flags(&T_INET_ARR), SL_PG_TEXT_INET);
	assert_int_equal(sl_pg_text_flags(&T_TEXT), 0);
	assert_int_equal(one_text(&o, "10.0.0.1", fl), 0);
	assert_int_equal(one_text(&o, "::1", fl), 0);
	assert_int_equal(one_text(&o, "10.0.0.0/8", fl), 0);
	p = sl_col_bytes(&o.b->cols[0], 0, &len);
	assert_memory_equal(p, "10.0.0.1/32", (size_t)len);
	p = sl_col_bytes(&o.b->cols[0], 1, &len);
	assert_memory_equal(p, "::1/128", (size_t)len);
	p = sl_col_bytes(&o.b->cols[0], 2, &len);
	assert_memory_equal(p, "10.0.0.0/8", (size_t)len);
	one_close(&o);
}

static void test_arrays(void **state)
{
	(void)state;
	one o;
	one_open(&o, &T_TEXT_ARR);
	/* NULL unquoted in any case is a NULL element; quoted, it is the string */
	assert_int_equal(one_text(&o, "{null,NuLl,\"NULL\",\"a\\\\b\\\"c\",x\\,y,\"\"}", 0), 0);
	assert_int_equal(one_text(&o, "{}", 0), 0);
	assert_int_equal(one_text(&o, "[2:3]={\"{}\",\" \"}", 0), 0);
	const sl_column *c = &o.b->cols[0], *e = c->child;
	assert_int_equal(c->length, 3);
	assert_int_equal(e->length, 8);
	assert_false(sl_col_is_valid(e, 0));
	assert_false(sl_col_is_valid(e, 1));
	const char *want[] = {NULL, NULL, "NULL", "a\\b\"c", "x,y", "", "{}", " "};
	for (int i = 2; i < 8; i++) {
		int32_t len;
		const uint8_t *p = sl_col_bytes(e, i, &len);
		assert_int_equal((size_t)len, strlen(want[i]));
		assert_memory_equal(p, want[i], (size_t)len);
	}
	const int32_t *off = (const int32_t *)c->offsets.data;
	assert_int_equal(off[1], 6);
	assert_int_equal(off[2], 6);
	assert_int_equal(off[3], 8);
	one_close(&o);

	one_open(&o, &T_INET_ARR);
	assert_int_equal(o.codec.elem_kind, SL_PG_TEXT);
	assert_int_equal(one_text(&o, "{10.0.0.1,NULL,::1/64}", SL_PG_TEXT_INET), 0);
	int32_t len;
	const uint8_t *p = sl_col_bytes(o.b->cols[0].child, 0, &len);
	assert_memory_equal(p, "10.0.0.1/32", (size_t)len);
	p = sl_col_bytes(o.b->cols[0].child, 2, &len);
	assert_memory_equal(p, "::1/64", (size_t)len);
	one_close(&o);

	/* dimensions and lower bounds: elements row-major in the list, the shape beside it */
	one_open(&o, &T_INT4_ARR);
	assert_int_equal(one_text(&o, "{1,2}", 0), 0);
	assert_int_equal(one_text(&o, "{{1,2},{3,4}}", 0), 0);
	assert_int_equal(one_text(&o, "[2:3][-1:0]={{5,6},{NULL,8}}", 0), 0);
	assert_int_equal(one_text(&o, "[0:0]={9}", 0), 0);
	assert_int_equal(one_text(&o, "{{{1},{2}},{{3},{4}},{{5},{6}}}", 0), 0);
	c = &o.b->cols[0];
	assert_int_equal(c->length, 5);
	assert_int_equal(c->child->length, 2 + 4 + 4 + 1 + 6);
	assert_int_equal(sl_col_shaped_count(c, 0, 5), 4);
	assert_int_equal(sl_col_shaped_count(c, 2, 4), 2);
	sl_list_shape sh;
	assert_false(sl_col_list_shape(c, 0, &sh));
	assert_int_equal(sh.ndim, 1);
	assert_int_equal(sh.dims[0], 2);
	assert_true(sl_col_list_shape(c, 1, &sh));
	assert_int_equal(sh.ndim, 2);
	assert_int_equal(sh.dims[0], 2);
	assert_int_equal(sh.dims[1], 2);
	assert_int_equal(sh.lbounds[0], 1);
	assert_int_equal(sh.lbounds[1], 1);
	assert_true(sl_col_list_shape(c, 2, &sh));
	assert_int_equal(sh.lbounds[0], 2);
	assert_int_equal(sh.lbounds[1], -1);
	assert_false(sl_col_is_valid(c->child, 8)); /* row-major: [3][-1] is the third */
	assert_true(sl_col_list_shape(c, 3, &sh));
	assert_int_equal(sh.ndim, 1);
	assert_int_equal(sh.lbounds[0], 0);
	assert_true(sl_col_list_shape(c, 4, &sh));
	assert_int_equal(sh.ndim, 3);
	assert_int_equal(sh.dims[0], 3);
	assert_int_equal(sh.dims[1], 2);
	assert_int_equal(sh.dims[2], 1);
	assert_int_equal(((const int32_t *)c->child->values.data)[16], 6);
	/* a value with a shape and its flattened form: equal elements, different values */
	assert_true(sl_col_equal_elements(c, 1, c, 1));
	assert_true(sl_col_hash(c, 1, 7) == sl_col_hash(c, 1, 7));
	one_close(&o);

	/* arrays that are not rectangular, or whose bounds do not match, are not arrays */
	static const char *const bad[] = {
	        "{{1,2},{3}}",      "{{1},{2,3}}",
	        "{{1,2},3}",        "{1,{2}}",
	        "{{1,2},{3,4}",     "{{1,2}}}",
	        "[1:3]={1,2}",      "[1:2]={{1,2},{3,4}}",
	        "[1:2][1:1]={1,2}", "[2:1]={}",
	        "[1:0]={}",         "[1:1]={}",
	        "{{{{{{{1}}}}}}}",  "{{}}",
	        "{{},{}}",          "[1:2]{1,2}",
	        "[a:2]={1,2}",      "[2147483647:2147483648]={1,2}",
	        "{{1,2},,{3,4}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		one_open(&o, &T_INT4_ARR);
		if (one_text(&o, bad[i], 0) != SL_ERR_DATA)
			fail_msg("'%s' was read as an array", bad[i]);
		assert_non_null(strstr(o.err.msg, "column c_x"));
		assert_non_null(strstr(o.err.msg, "integer array"));
		assert_int_equal(o.b->cols[0].length, 0);
		one_close(&o);
	}
}

static void test_malformed(void **state)
{
	(void)state;
	static const struct {
		const sl_pg_typeinfo *ti;
		const char *text;
	} bad[] = {
	        {&T_BOOL, "true"},
	        {&T_BOOL, "T"},
	        {&T_BOOL, ""},
	        {&T_INT2, "32768"},
	        {&T_INT2, "-32769"},
	        {&T_INT2, "1.0"},
	        {&T_INT2, " 1"},
	        {&T_INT2, "+1"},
	        {&T_INT2, ""},
	        {&T_INT4, "2147483648"},
	        {&T_INT4, "-2147483649"},
	        {&T_INT4, "12a"},
	        {&T_INT8, "9223372036854775808"},
	        {&T_INT8, "-9223372036854775809"},
	        {&T_INT8, "99999999999999999999999"},
	        {&T_INT8, "1e3"},
	        {&T_INT8, "-"},
	        {&T_OID, "-1"},
	        {&T_OID, "4294967296"},
	        {&T_MONEY, "$1,23.45"},
	        {&T_MONEY, "$1234.56"},
	        {&T_MONEY, "$,123.00"},
	        {&T_MONEY, "1.00$"},
	        {&T_MONEY, "$"},
	        {&T_MONEY, "-$"},
	        {&T_MONEY, "$1."},
	        {&T_MONEY, "$1.0.0"},
	        {&T_MONEY, "$92,233,720,368,547,758.08"},
	        {&T_MONEY, "€1.00"},
	        {&T_LSN, "0/1/2"},
	        {&T_LSN, "G/0"},
	        {&T_LSN, "123456789/0"},
	        {&T_LSN, "/0"},
	        {&T_FLOAT4, "1,5"},
	        {&T_FLOAT4, "inf"},
	        {&T_FLOAT4, "nan"},
	        {&T_FLOAT4, "0x1p3"},
	        {&T_FLOAT4, "1e39"},
	        {&T_FLOAT8, "1e400"},
	        {&T_FLOAT8, ""},
	        {&T_FLOAT8, "--1"},
	        {&T_FLOAT8, "1."},
	        {&T_FLOAT8, ".5"},
	        {&T_FLOAT8, "NaN "},
	        {&T_FLOAT8, "1e"},
	        {&T_NUM, "1e5"},
	        {&T_NUM, "abc"},
	        {&T_NUM, ""},
	        {&T_NUM, "1.2.3"},
	        {&T_DATE, "2024-02-30"},
	        {&T_DATE, "2023-02-29"},
	        {&T_DATE, "0004-02-29 BC"},
	        {&T_DATE, "2024-13-01"},
	        {&T_DATE, "2024-00-01"},
	        {&T_DATE, "2024-1-01"},
	        {&T_DATE, "2024-01-01 AD"},
	        {&T_DATE, "4714-11-23 BC"},
	        {&T_DATE, "5874898-01-01"},
	        {&T_DATE, "0000-01-01"},
	        {&T_DATE, "infinity "},
	        {&T_DATE, "Infinity"},
	        {&T_TIME, "24:00:00.000001"},
	        {&T_TIME, "12:60:00"},
	        {&T_TIME, "12:00:60"},
	        {&T_TIME, "1:00:00"},
	        {&T_TIME, "12:00"},
	        {&T_TIME, "12:00:00.1234567"},
	        {&T_TIME, "12:00:00."},
	        {&T_TIME, "12:00:00+00"},
	        {&T_TS, "2024-01-01T00:00:00"},
	        {&T_TS, "2024-01-01 24:00:00"},
	        {&T_TS, "2024-01-01"},
	        {&T_TS, "2024-01-01 00:00:00 UTC"},
	        {&T_TSTZ, "2024-01-01 00:00:00+1"},
	        {&T_TSTZ, "2024-01-01 00:00:00+01:60"},
	        {&T_TSTZ, "2024-01-01 00:00:00+00 AD"},
	        {&T_TSTZ, "2024-01-01 00:00:00 BC+00"},
	        {&T_BYTEA, "\\x0"},
	        {&T_BYTEA, "\\xzz"},
	        {&T_BYTEA, "\\400"},
	        {&T_BYTEA, "a\\b"},
	        {&T_BYTEA, "\\"},
	        {&T_UUID, "a0eebc999c0b4ef8bb6d6bb9bd380a11"},
	        {&T_UUID, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"},
	        {&T_UUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g"},
	        {&T_UUID, "a0eebc99x9c0b-4ef8-bb6d-6bb9bd380a11"},
	        {&T_INT4_ARR, "{1,2"},
	        {&T_INT4_ARR, "1,2}"},
	        {&T_INT4_ARR, "{1,,2}"},
	        {&T_INT4_ARR, "{1,2}x"},
	        {&T_INT4_ARR, "{\"1\"x}"},
	        {&T_INT4_ARR, "{1, 2}"},
	        {&T_INT4_ARR, "{abc}"},
	        {&T_INT4_ARR, "{,}"},
	        {&T_INT4_ARR, ""},
	        {&T_INT4_ARR, "[1:2]{1,2}"},
	        {&T_INT4_ARR, "[1:]={1}"},
	        {&T_INT4_ARR, "[1:1]={}"},
	        {&T_TEXT_ARR, "{\"a}"},
	        {&T_TEXT_ARR, "{a\"b}"},
	        {&T_TEXT_ARR, "{a\\"},
	        {&T_TEXT_ARR, "{\"a\\\"}"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		one o;
		one_open(&o, bad[i].ti);
		int rc = one_text(&o, bad[i].text, 0);
		if (rc != SL_ERR_DATA)
			fail_msg("'%s' (row %zu): rc %d, expected SL_ERR_DATA", bad[i].text, i, rc);
		if (strstr(o.err.msg, "column c_x") == NULL)
			fail_msg("'%s': the message does not name the column: %s", bad[i].text,
			         o.err.msg);
		char quoted[80];
		snprintf(quoted, sizeof quoted, "'%s'", bad[i].text);
		if (strstr(o.err.msg, quoted) == NULL)
			fail_msg("'%s': the message does not quote the value: %s", bad[i].text,
			         o.err.msg);
		if (o.b->cols[0].length != 0)
			fail_msg("'%s': something was appended", bad[i].text);
		one_close(&o);
	}
	/* intervals */
	static const char *bad_iv[] = {
	        "P1X",   "1 fortnight",           "P",         "PT1.5H",   "",
	        "P1.5Y", "1 day 1 day x",         "1 days  2", "00:00",    "PT",
	        "P1DT",  "1 year 00:00:00 1 day", "- 1 day",   "infinity "};
	sl_field f;
	sl_field_init(&f, "iv", SL_TYPE_INTERVAL_DT);
	sl_pg_codec codec = {.kind = SL_PG_INTERVAL};
	sl_pg_text_buf tb = {0};
	sl_batch *b = sl_batch_create(&f, 1);
	for (size_t i = 0; i < sizeof bad_iv / sizeof *bad_iv; i++) {
		sl_error err = {0};
		int rc = sl_pg_decode_text(&codec, &b->cols[0], bad_iv[i], strlen(bad_iv[i]), 0,
		                           &tb, &err);
		if (rc != SL_ERR_DATA)
			fail_msg("interval '%s': rc %d", bad_iv[i], rc);
	}
	assert_int_equal(b->cols[0].length, 0);
	sl_batch_destroy(b);
	sl_pg_text_buf_free(&tb);
	sl_field_reset(&f);

	/* a long value is cut in the message, which stays one line */
	one o;
	one_open(&o, &T_INT4);
	char longv[300];
	memset(longv, '9', sizeof longv - 1);
	longv[sizeof longv - 1] = 0;
	longv[10] = '\n';
	assert_int_equal(one_text(&o, longv, 0), SL_ERR_DATA);
	assert_null(strchr(o.err.msg, '\n'));
	assert_non_null(strstr(o.err.msg, "'..."));
	one_close(&o);
}

/* Text that parses but whose value the Arrow type cannot hold fails as the binary path does, with
 * the value appended. */
static void test_does_not_fit(void **state)
{
	(void)state;
	one o;
	one_open(&o, &T_NUM10_2);
	assert_int_equal(one_text(&o, "1.234", 0), SL_ERR_DATA);
	assert_non_null(strstr(o.err.msg, "fractional digits"));
	assert_non_null(strstr(o.err.msg, "column c_x"));
	assert_non_null(strstr(o.err.msg, "(text value '1.234')"));
	assert_int_equal(o.b->cols[0].length, 0);
	/* NaN and the infinities fit: they travel as the decimal's sentinels */
	const char *specials[] = {"NaN", "Infinity", "-Infinity"};
	const sl_decimal_special want[] = {SL_DECIMAL_NAN, SL_DECIMAL_POS_INF, SL_DECIMAL_NEG_INF};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(one_text(&o, specials[i], 0), 0);
		assert_int_equal(sl_decimal_special_of(o.b->cols[0].values.data + 16 * i, 16),
		                 want[i]);
	}
	one_close(&o);
	one_open(&o, &T_TS);
	assert_int_equal(one_text(&o, "294276-12-31 23:59:59.999999", 0), SL_ERR_DATA);
	assert_non_null(strstr(o.err.msg, "294247"));
	assert_int_equal(one_text(&o, "294277-01-01 00:00:00", 0), SL_ERR_DATA);
	one_close(&o);
	/* interval with a fraction of a millisecond: Interval(DayTime) cannot hold it */
	sl_field f;
	sl_field_init(&f, "iv", SL_TYPE_INTERVAL_DT);
	sl_pg_codec codec = {.kind = SL_PG_INTERVAL};
	sl_pg_text_buf tb = {0};
	sl_batch *b = sl_batch_create(&f, 1);
	sl_error err = {0};
	assert_int_equal(sl_pg_decode_text(&codec, &b->cols[0], "PT0.0001S", 9, 0, &tb, &err),
	                 SL_ERR_DATA);
	assert_non_null(strstr(err.msg, "millisecond"));
	assert_non_null(strstr(err.msg, "'PT0.0001S'"));
	sl_batch_destroy(b);
	sl_pg_text_buf_free(&tb);
	sl_field_reset(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_text_equals_binary),
	        cmocka_unit_test(test_intervals),
	        cmocka_unit_test(test_values),
	        cmocka_unit_test(test_arrays),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_does_not_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
