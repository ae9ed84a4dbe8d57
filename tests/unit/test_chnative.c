/* ClickHouse Native encoder: type mapping per server version, and exact block bytes; decoder:
 * round trips per kind on old (18.16, text fallbacks) and new servers, and malformed input. */
#include <float.h>
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
#include "core/digest.h"
#include "formats/chnative.h"
#include "formats/decimal.h"

static void test_caps(void **state)
{
	(void)state;
	sl_ch_caps c;
	sl_ch_caps_for_version("18.16.1", &c);
	assert_false(c.datetime64 || c.date32 || c.boolean || c.decimal256);
	sl_ch_caps_for_version("21.9.2.17", &c);
	assert_true(c.datetime64 && c.date32 && c.decimal256);
	assert_false(c.boolean);
	sl_ch_caps_for_version("24.3", &c);
	assert_true(c.datetime64 && c.date32 && c.boolean && c.decimal256);
	sl_ch_caps_for_version("garbage", &c);
	assert_false(c.datetime64);
}

static const char *type_of(const sl_field *f, const sl_ch_caps *caps, char *buf, size_t n)
{
	sl_ch_codec codec;
	if (!sl_ch_type_for_field(f, caps, buf, n, &codec))
		return NULL;
	sl_ch_codec_reset(&codec);
	return buf;
}

static void test_types(void **state)
{
	(void)state;
	sl_ch_caps old, new;
	sl_ch_caps_for_version("18.16.1", &old);
	sl_ch_caps_for_version("24.3", &new);
	char b[160];
	sl_field f;
	sl_field_init(&f, "x", SL_TYPE_INT32);
	f.nullable = false;
	assert_string_equal(type_of(&f, &new, b, sizeof b), "Int32");
	f.nullable = true;
	assert_string_equal(type_of(&f, &new, b, sizeof b), "Nullable(Int32)");
	sl_field_reset(&f);
	sl_field_init(&f, "t", SL_TYPE_TIMESTAMP);
	f.nullable = false;
	f.unit = SL_UNIT_US;
	assert_string_equal(type_of(&f, &new, b, sizeof b), "DateTime64(6)");
	assert_string_equal(type_of(&f, &old, b, sizeof b), "String");
	sl_field_reset(&f);
	sl_field_init(&f, "d", SL_TYPE_DECIMAL128);
	f.nullable = false;
	f.precision = 12;
	f.scale = 2;
	assert_string_equal(type_of(&f, &old, b, sizeof b), "Decimal(12, 2)");
	sl_field_reset(&f);
	sl_field_init(&f, "d", SL_TYPE_DECIMAL256);
	f.nullable = false;
	f.precision = 65;
	f.scale = 30;
	assert_string_equal(type_of(&f, &old, b, sizeof b), "String");
	assert_string_equal(type_of(&f, &new, b, sizeof b), "Decimal(65, 30)");
	sl_field_reset(&f);
	sl_field_init(&f, "b", SL_TYPE_BOOL);
	f.nullable = false;
	assert_string_equal(type_of(&f, &old, b, sizeof b), "UInt8");
	assert_string_equal(type_of(&f, &new, b, sizeof b), "Bool");
	sl_field_reset(&f);
	sl_field_init(&f, "l", SL_TYPE_LIST);
	f.nullable = false;
	sl_field *child = calloc(1, sizeof *child);
	sl_field_init(child, "item", SL_TYPE_UTF8);
	child->nullable = true;
	sl_field_set_child(&f, child);
	f.nullable = true;
	assert_string_equal(type_of(&f, &new, b, sizeof b), "Array(Nullable(String))");
	sl_field_reset(&f);
}

/* One block: Int32 id, Nullable(String) s, Array(Int64) a, Decimal(10, 2) d, a String date on
 * an old server. Bytes built by hand from the format description. */
static void test_block_bytes(void **state)
{
	(void)state;
	sl_ch_caps old;
	sl_ch_caps_for_version("18.16.1", &old);
	sl_field fs[5];
	sl_field_init(&fs[0], "id", SL_TYPE_INT32);
	sl_field_init(&fs[1], "s", SL_TYPE_UTF8);
	fs[1].nullable = true;
	sl_field_init(&fs[2], "a", SL_TYPE_LIST);
	sl_field *child = calloc(1, sizeof *child);
	sl_field_init(child, "item", SL_TYPE_INT64);
	sl_field_set_child(&fs[2], child);
	sl_field_init(&fs[3], "d", SL_TYPE_DECIMAL128);
	fs[3].precision = 10;
	fs[3].scale = 2;
	sl_field_init(&fs[4], "day", SL_TYPE_DATE32);
	fs[0].nullable = fs[2].nullable = fs[3].nullable = fs[4].nullable = false;
	child->nullable = false;
	sl_batch *bt = sl_batch_create(fs, 5);
	/* row 0: 1, "ab", [7, 8], 1.50, 1970-01-02 */
	sl_col_append_i32(&bt->cols[0], 1);
	sl_col_append_bytes(&bt->cols[1], "ab", 2);
	sl_col_append_i64(bt->cols[2].child, 7);
	sl_col_append_i64(bt->cols[2].child, 8);
	sl_col_end_list(&bt->cols[2]);
	uint8_t dec[16];
	assert_int_equal(sl_decimal_from_text("1.50", 4, 16, 2, dec), 0);
	sl_col_append_fixed(&bt->cols[3], dec, 16);
	sl_col_append_i32(&bt->cols[4], 1);
	sl_batch_end_row(bt);
	/* row 1: -2, NULL, [], -0.01, 1969-12-31 */
	sl_col_append_i32(&bt->cols[0], -2);
	sl_col_append_null(&bt->cols[1]);
	sl_col_end_list(&bt->cols[2]);
	assert_int_equal(sl_decimal_from_text("-0.01", 5, 16, 2, dec), 0);
	sl_col_append_fixed(&bt->cols[3], dec, 16);
	sl_col_append_i32(&bt->cols[4], -1);
	sl_batch_end_row(bt);

	sl_buf out = {0};
	sl_ch_block_begin(&out, 5, 2);
	for (int i = 0; i < 5; i++) {
		char type[160];
		sl_ch_codec codec;
		assert_true(sl_ch_type_for_field(&fs[i], &old, type, sizeof type, &codec));
		sl_error err;
		assert_int_equal(sl_ch_encode_column(&codec, fs[i].name, type, &bt->cols[i], 0, 2,
		                                     &out, &err),
		                 0);
		sl_ch_codec_reset(&codec);
	}
	static const uint8_t want[] = {
	        5,   2,                                           /* cols, rows */
	        2,   'i', 'd', 5,    'I',  'n',  't',  '3',  '2', /* id Int32 */
	        1,   0,   0,   0,    0xFE, 0xFF, 0xFF, 0xFF,      /* 1, -2 */
	        1,   's', 16,  'N',  'u',  'l',  'l',  'a',  'b',  'l',  'e',
	        '(', 'S', 't', 'r',  'i',  'n',  'g',  ')',  0,    1, /* null map */
	        2,   'a', 'b', 0,                                     /* "ab", "" */
	        1,   'a', 12,  'A',  'r',  'r',  'a',  'y',  '(',  'I',  'n',
	        't', '6', '4', ')',  2,    0,    0,    0,    0,    0,    0,
	        0,   2,   0,   0,    0,    0,    0,    0,    0, /* offsets 2, 2 */
	        7,   0,   0,   0,    0,    0,    0,    0,    8,    0,    0,
	        0,   0,   0,   0,    0, /* 7, 8 */
	        1,   'd', 14,  'D',  'e',  'c',  'i',  'm',  'a',  'l',  '(',
	        '1', '0', ',', ' ',  '2',  ')',  150,  0,    0,    0,    0,
	        0,   0,   0,   0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, /* 150, -1 */
	        3,   'd', 'a', 'y',  6,    'S',  't',  'r',  'i',  'n',  'g',
	        10,  '1', '9', '7',  '0',  '-',  '0',  '1',  '-',  '0',  '2',
	        10,  '1', '9', '6',  '9',  '-',  '1',  '2',  '-',  '3',  '1'};
	assert_int_equal(out.len, sizeof want);
	assert_memory_equal(out.data, want, sizeof want);
	sl_buf_free(&out);
	sl_batch_destroy(bt);
	for (int i = 0; i < 5; i++)
		sl_field_reset(&fs[i]);
}

static void test_varuint(void **state)
{
	(void)state;
	sl_buf b = {0};
	sl_ch_put_varuint(&b, 0);
	sl_ch_put_varuint(&b, 127);
	sl_ch_put_varuint(&b, 128);
	sl_ch_put_varuint(&b, 300);
	static const uint8_t want[] = {0, 0x7F, 0x80, 0x01, 0xAC, 0x02};
	assert_int_equal(b.len, sizeof want);
	assert_memory_equal(b.data, want, sizeof want);
	sl_buf_free(&b);
}

/* ---- decoder ---- */

/* A column of the round-trip tables; lists name their element's spec. */
typedef struct rt_spec {
	const char *name;
	sl_type_id type;
	int precision, scale;
	sl_time_unit unit;
	const char *tz;
	int byte_width;
	const struct rt_spec *child;
} rt_spec;

#define RT_ROWS 8

static const rt_spec rt_i32 = {"item", SL_TYPE_INT32};
static const rt_spec rt_utf8 = {"item", SL_TYPE_UTF8};
static const rt_spec rt_date = {"item", SL_TYPE_DATE32};
static const rt_spec rt_d50 = {"item", SL_TYPE_DECIMAL256, 50, 20};
static const rt_spec rt_ts_us = {"item", SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_US};
static const rt_spec rt_bool = {"item", SL_TYPE_BOOL};
static const rt_spec rt_f16 = {"item", SL_TYPE_FLOAT16};
static const rt_spec rt_iv = {"item", SL_TYPE_INTERVAL_DT};
static const rt_spec rt_fb = {"item", SL_TYPE_FIXED_BINARY, 0, 0, 0, NULL, 3};

static const rt_spec rt_specs[] = {
        {"b", SL_TYPE_BOOL},
        {"i8", SL_TYPE_INT8},
        {"i16", SL_TYPE_INT16},
        {"i32", SL_TYPE_INT32},
        {"i64", SL_TYPE_INT64},
        {"u8", SL_TYPE_UINT8},
        {"u16", SL_TYPE_UINT16},
        {"u32", SL_TYPE_UINT32},
        {"u64", SL_TYPE_UINT64},
        {"f16", SL_TYPE_FLOAT16},
        {"f32", SL_TYPE_FLOAT32},
        {"f64", SL_TYPE_FLOAT64},
        {"d9", SL_TYPE_DECIMAL128, 9, 2},    /* Decimal32 */
        {"d18", SL_TYPE_DECIMAL128, 18, 4},  /* Decimal64 */
        {"d38", SL_TYPE_DECIMAL128, 38, 10}, /* Decimal128 */
        {"w10", SL_TYPE_DECIMAL256, 10, 2},  /* Decimal64 into 32 bytes */
        {"w30", SL_TYPE_DECIMAL256, 30, 5},  /* Decimal128 into 32 bytes */
        {"d50", SL_TYPE_DECIMAL256, 50, 20}, /* Decimal256, text on 18.16 */
        {"d76", SL_TYPE_DECIMAL256, 76, 0},
        {"day", SL_TYPE_DATE32},
        {"ts_s", SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_S},
        {"ts_ms", SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_MS, "UTC"},
        {"ts_us", SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_US},
        {"ts_ns", SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_NS, "Europe/Paris"},
        {"t32s", SL_TYPE_TIME32, 0, 0, SL_UNIT_S},
        {"t32ms", SL_TYPE_TIME32, 0, 0, SL_UNIT_MS},
        {"t64us", SL_TYPE_TIME64, 0, 0, SL_UNIT_US},
        {"t64ns", SL_TYPE_TIME64, 0, 0, SL_UNIT_NS},
        {"iv", SL_TYPE_INTERVAL_DT},
        {"s", SL_TYPE_UTF8},
        {"bin", SL_TYPE_BINARY},
        {"fb", SL_TYPE_FIXED_BINARY, 0, 0, 0, NULL, 3},
        {"l_i32", SL_TYPE_LIST, .child = &rt_i32},
        {"l_s", SL_TYPE_LIST, .child = &rt_utf8},
        {"l_day", SL_TYPE_LIST, .child = &rt_date},
        {"l_d50", SL_TYPE_LIST, .child = &rt_d50},
        {"l_ts", SL_TYPE_LIST, .child = &rt_ts_us},
        {"l_b", SL_TYPE_LIST, .child = &rt_bool},
        {"l_f16", SL_TYPE_LIST, .child = &rt_f16},
        {"l_iv", SL_TYPE_LIST, .child = &rt_iv},
        {"l_fb", SL_TYPE_LIST, .child = &rt_fb},
};
#define RT_NSPECS ((int)(sizeof rt_specs / sizeof rt_specs[0]))

/* Lists: the list itself is never NULL (Array cannot be Nullable); `nullable` applies to the
 * elements. */
static void rt_field_init(sl_field *f, const rt_spec *s, bool nullable)
{
	sl_field_init(f, s->name, s->type);
	f->nullable = nullable && s->type != SL_TYPE_LIST;
	f->precision = s->precision;
	f->scale = s->scale;
	f->unit = s->unit;
	f->tz = s->tz ? strdup(s->tz) : NULL;
	f->byte_width = s->byte_width;
	if (s->child) {
		sl_field *c = calloc(1, sizeof *c);
		rt_field_init(c, s->child, nullable);
		sl_field_set_child(f, c);
	}
}

/* Edge values, row by row. */
static const int64_t rt_signed[RT_ROWS][4] = {
        {0, 0, 0, 0},
        {-1, -1, -1, -1},
        {1, 1, 1, 1},
        {INT8_MIN, INT16_MIN, INT32_MIN, INT64_MIN},
        {INT8_MAX, INT16_MAX, INT32_MAX, INT64_MAX},
        {42, 4242, 424242, 4242424242424242},
        {-100, -30000, -2000000000, -9000000000000000000},
        {7, 7, 7, 7},
};
static const uint64_t rt_unsigned[RT_ROWS][4] = {
        {0, 0, 0, 0},
        {1, 1, 1, 1},
        {UINT8_MAX, UINT16_MAX, UINT32_MAX, UINT64_MAX},
        {UINT8_MAX - 1, UINT16_MAX - 1, UINT32_MAX - 1, UINT64_MAX - 1},
        {128, 32768, 2147483648u, 9223372036854775808u},
        {42, 4242, 424242, 4242424242424242},
        {100, 30000, 3000000000u, 18000000000000000000u},
        {7, 7, 7, 7},
};
static const uint16_t rt_halves[RT_ROWS] = {0x0000, 0x8000, 0x3C00, 0x0001,
                                            0x7BFF, 0xFC00, 0x7E00, 0x83FF};
static const int32_t rt_dates[RT_ROWS] = {0,
                                          -1,
                                          INT32_MIN,
                                          19000,
                                          -719528 /* 0000-01-01 */,
                                          -719893 /* -0001-01-01 */,
                                          2932896 /* 10000-01-01 */,
                                          INT32_MAX};
static const int64_t rt_stamps[RT_ROWS] = {0,
                                           -1,
                                           INT64_MIN,
                                           INT64_MAX,
                                           1700000000123456789,
                                           -2208988800123456 /* before 1900 */,
                                           -62167219200 /* 0000-01-01 in s */,
                                           253402300799999};
static const sl_interval_dt rt_intervals[RT_ROWS] = {{0, 0},
                                                     {1, 3600000},
                                                     {-1, -5},
                                                     {0, -1},
                                                     {30, 86399999},
                                                     {INT32_MAX, SL_MS_PER_DAY - 1},
                                                     {INT32_MIN, -(SL_MS_PER_DAY - 1)},
                                                     {0, 1}};

static int rt_width_index(sl_type_id t)
{
	switch (t) {
	case SL_TYPE_INT8:
	case SL_TYPE_UINT8:
		return 0;
	case SL_TYPE_INT16:
	case SL_TYPE_UINT16:
		return 1;
	case SL_TYPE_INT32:
	case SL_TYPE_UINT32:
		return 2;
	default:
		return 3;
	}
}

/* Decimal text for row r of a Decimal(p, s). */
static void rt_decimal_text(int p, int s, int r, char *t)
{
	char max[100];
	int k = 0;
	for (int i = 0; i < p; i++) {
		if (i == p - s)
			max[k++] = '.';
		max[k++] = '9';
	}
	max[k] = 0;
	switch (r) {
	case 0:
		strcpy(t, "0");
		break;
	case 1:
		strcpy(t, max);
		break;
	case 2:
		snprintf(t, 100, "-%s", max);
		break;
	case 3:
		strcpy(t, "1");
		break;
	case 4:
		strcpy(t, "-1");
		break;
	case 5: /* the smallest positive value */
		if (s == 0) {
			strcpy(t, "1");
		} else {
			strcpy(t, "0.");
			for (int i = 1; i < s; i++)
				strcat(t, "0");
			strcat(t, "1");
		}
		break;
	case 6:
		strcpy(t, s >= 2 && p - s >= 2 ? "-12.34" : "-12");
		break;
	default:
		strcpy(t, "5");
	}
}

/* Append the row-r value of c's type (never NULL; list elements NULL when nullable and odd). */
static void rt_put(sl_column *c, int r)
{
	const sl_field *f = c->field;
	int wi = rt_width_index(f->type);
	switch (f->type) {
	case SL_TYPE_BOOL:
		sl_col_append_bool(c, r % 3 != 1);
		return;
	case SL_TYPE_INT8:
	case SL_TYPE_INT16:
	case SL_TYPE_INT32:
	case SL_TYPE_INT64: {
		int64_t v = rt_signed[r][wi];
		sl_col_append_fixed(c, &v, (size_t)sl_type_value_width(f)); /* little-endian */
		return;
	}
	case SL_TYPE_UINT8:
	case SL_TYPE_UINT16:
	case SL_TYPE_UINT32:
	case SL_TYPE_UINT64: {
		uint64_t v = rt_unsigned[r][wi];
		sl_col_append_fixed(c, &v, (size_t)sl_type_value_width(f));
		return;
	}
	case SL_TYPE_FLOAT16:
		sl_col_append_i16(c, (int16_t)rt_halves[r]);
		return;
	case SL_TYPE_FLOAT32: {
		static const float v[RT_ROWS] = {0.0f,    -0.0f,     1.5f, -3.25e-38f,
		                                 FLT_MAX, -INFINITY, NAN,  1e-45f};
		sl_col_append_f32(c, v[r]);
		return;
	}
	case SL_TYPE_FLOAT64: {
		static const double v[RT_ROWS] = {0.0,     -0.0,     0.1,  -1e-300,
		                                  DBL_MAX, INFINITY, -NAN, 5e-324};
		sl_col_append_f64(c, v[r]);
		return;
	}
	case SL_TYPE_DECIMAL128:
	case SL_TYPE_DECIMAL256: {
		char t[100];
		uint8_t v[32];
		int w = f->type == SL_TYPE_DECIMAL128 ? 16 : 32;
		rt_decimal_text(f->precision, f->scale, r, t);
		assert_int_equal(sl_decimal_from_text(t, strlen(t), w, f->scale, v), 0);
		sl_col_append_fixed(c, v, (size_t)w);
		return;
	}
	case SL_TYPE_DATE32:
		sl_col_append_i32(c, rt_dates[r]);
		return;
	case SL_TYPE_TIMESTAMP:
		sl_col_append_i64(c, rt_stamps[r]);
		return;
	case SL_TYPE_TIME32:
	case SL_TYPE_TIME64: {
		int64_t per = f->unit == SL_UNIT_S    ? 1
		              : f->unit == SL_UNIT_MS ? 1000
		              : f->unit == SL_UNIT_US ? 1000000
		                                      : 1000000000;
		int64_t v[RT_ROWS] = {0,  1,        per * 86400 - 1, per * 3600, per * 43200 + 1,
		                      59, per * 60, per * 86400 - 2};
		if (f->type == SL_TYPE_TIME32)
			sl_col_append_i32(c, (int32_t)v[r]);
		else
			sl_col_append_i64(c, v[r]);
		return;
	}
	case SL_TYPE_INTERVAL_DT:
		sl_col_append_fixed(c, &rt_intervals[r], 8);
		return;
	case SL_TYPE_UTF8: {
		static const char *v[RT_ROWS] = {"",      "h\xc3\xa9llo", NULL, "a", "\xe2\x82\xac",
		                                 "tab\t", "quote'\"",     "z"};
		if (v[r] == NULL) {
			char big[300];
			memset(big, 'x', sizeof big); /* a two-byte VarUInt length */
			sl_col_append_bytes(c, big, sizeof big);
		} else {
			sl_col_append_bytes(c, v[r], strlen(v[r]));
		}
		return;
	}
	case SL_TYPE_BINARY: {
		uint8_t v[200];
		for (int i = 0; i < 200; i++)
			v[i] = (uint8_t)(i * 37 + r);
		sl_col_append_bytes(c, v, (size_t)(r * 25));
		return;
	}
	case SL_TYPE_FIXED_BINARY: {
		uint8_t v[3] = {(uint8_t)r, (uint8_t)(r * 7), (uint8_t)(0xFF - r)};
		sl_col_append_fixed(c, v, 3);
		return;
	}
	case SL_TYPE_LIST:
		/* 0, 1, 2, 3, 0, ... elements: empty arrays, and NULLs inside when nullable */
		for (int k = 0; k < r % 4; k++) {
			int e = (r + k) % RT_ROWS;
			if (c->child->field->nullable && e % 2 == 1)
				sl_col_append_null(c->child);
			else
				rt_put(c->child, e);
		}
		sl_col_end_list(c);
		return;
	default:
		fail_msg("no test values for type %d", f->type);
	}
}

/* A batch over fs[0..n) with RT_ROWS rows; nullable columns are NULL in rows 1, 4, 7. */
static sl_batch *rt_batch(const sl_field *fs, int n)
{
	sl_batch *b = sl_batch_create(fs, n);
	for (int r = 0; r < RT_ROWS; r++) {
		for (int i = 0; i < n; i++) {
			if (fs[i].nullable && r % 3 == 1)
				sl_col_append_null(&b->cols[i]);
			else
				rt_put(&b->cols[i], r);
		}
		sl_batch_end_row(b);
	}
	assert_true(sl_batch_is_consistent(b));
	return b;
}

/* Rows [from, to) of b as one Native block, with metadata columns around the data, the way
 * the ClickHouse target lays out its tables. */
static void rt_encode_block(const sl_batch *b, const sl_ch_codec *codecs, char (*types)[160],
                            int64_t from, int64_t to, sl_buf *out)
{
	sl_error err;
	sl_ch_block_begin(out, b->ncols + 2, to - from);
	sl_ch_encode_const_u64("_version", 7, to - from, out);
	for (int i = 0; i < b->ncols; i++)
		if (sl_ch_encode_column(&codecs[i], b->fields[i].name, types[i], &b->cols[i], from,
		                        to, out, &err) < 0)
			fail_msg("encode %s: %s", b->fields[i].name, err.msg);
	sl_ch_encode_const_u8("_deleted", 0, to - from, out);
}

/* Decode every block of [p, p + len) into b; returns <0 with err on the first failure. */
static int rt_decode(const uint8_t *p, size_t len, const sl_ch_codec *codecs, char (*types)[160],
                     sl_batch *b, int *nblocks, sl_error *err)
{
	sl_ch_reader r = {p, p + len};
	int ncols, rc;
	int64_t nrows;
	*nblocks = 0;
	while ((rc = sl_ch_block_next(&r, &ncols, &nrows, err)) == 1) {
		if (ncols != b->ncols + 2)
			return sl_error_set(err, SL_ERR_DATA, "%d columns", ncols);
		SL_TRY(sl_ch_skip_column(&r, nrows, err));
		for (int i = 0; i < b->ncols; i++)
			SL_TRY(sl_ch_decode_column(&r, &codecs[i], b->fields[i].name, types[i],
			                           nrows, &b->cols[i], err));
		SL_TRY(sl_ch_skip_column(&r, nrows, err));
		b->length += nrows;
		(*nblocks)++;
	}
	return rc;
}

/* Encode all the specs (nullable or not) for a server version in two blocks, decode, and
 * compare value by value and byte by byte (the decoded batch encodes to the same bytes). */
static void rt_check(const char *version, bool nullable)
{
	sl_ch_caps caps;
	sl_ch_caps_for_version(version, &caps);
	sl_field fs[RT_NSPECS];
	sl_ch_codec codecs[RT_NSPECS];
	char types[RT_NSPECS][160];
	for (int i = 0; i < RT_NSPECS; i++) {
		rt_field_init(&fs[i], &rt_specs[i], nullable);
		assert_true(
		        sl_ch_type_for_field(&fs[i], &caps, types[i], sizeof types[i], &codecs[i]));
	}
	sl_batch *in = rt_batch(fs, RT_NSPECS);
	sl_buf out = {0};
	rt_encode_block(in, codecs, types, 0, 3, &out);
	rt_encode_block(in, codecs, types, 3, RT_ROWS, &out);

	/* an exact-size copy, so the sanitizer sees any read past the end */
	uint8_t *copy = malloc(out.len);
	memcpy(copy, out.data, out.len);
	sl_batch *got = sl_batch_create(fs, RT_NSPECS);
	sl_error err;
	int nblocks;
	if (rt_decode(copy, out.len, codecs, types, got, &nblocks, &err) < 0)
		fail_msg("%s, nullable %d: %s", version, nullable, err.msg);
	assert_int_equal(nblocks, 2);
	assert_int_equal(got->length, RT_ROWS);
	assert_true(sl_batch_is_consistent(got));
	for (int i = 0; i < RT_NSPECS; i++) {
		assert_int_equal(got->cols[i].null_count, in->cols[i].null_count);
		for (int r = 0; r < RT_ROWS; r++)
			if (!sl_col_equal(&in->cols[i], r, &got->cols[i], r))
				fail_msg("%s as %s on %s (nullable %d): row %d differs", fs[i].name,
				         types[i], version, nullable, r);
	}
	sl_buf again = {0};
	rt_encode_block(got, codecs, types, 0, 3, &again);
	rt_encode_block(got, codecs, types, 3, RT_ROWS, &again);
	assert_int_equal(again.len, out.len);
	assert_memory_equal(again.data, out.data, out.len);

	sl_buf_free(&again);
	free(copy);
	sl_buf_free(&out);
	sl_batch_destroy(got);
	sl_batch_destroy(in);
	for (int i = 0; i < RT_NSPECS; i++) {
		sl_ch_codec_reset(&codecs[i]);
		sl_field_reset(&fs[i]);
	}
}

static void test_decode_roundtrip_old(void **state)
{
	(void)state;
	rt_check("18.16.1", false);
	rt_check("18.16.1", true);
}

static void test_decode_roundtrip_new(void **state)
{
	(void)state;
	rt_check("24.3", false);
	rt_check("24.3", true);
	rt_check("21.9", true); /* DateTime64 and Date32, Bool still UInt8 */
}

/* The text fallbacks spell what the tables above hold: spot checks of the wire text. */
static void test_decode_text_spelling(void **state)
{
	(void)state;
	sl_ch_caps old;
	sl_ch_caps_for_version("18.16.1", &old);
	sl_field f;
	rt_field_init(&f, &(rt_spec){"t", SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_NS}, false);
	sl_batch *b = sl_batch_create(&f, 1);
	const int64_t vals[] = {-1, INT64_MIN + 1, SL_TIMESTAMP_NEG_INF, SL_TIMESTAMP_POS_INF};
	const char *want[] = {"1969-12-31 23:59:59.999999999", "1677-09-21 00:12:43.145224193",
	                      "-infinity", "infinity"};
	for (int i = 0; i < 4; i++) {
		sl_col_append_i64(&b->cols[0], vals[i]);
		sl_batch_end_row(b);
	}
	char type[160];
	sl_ch_codec codec;
	sl_error err;
	assert_true(sl_ch_type_for_field(&f, &old, type, sizeof type, &codec));
	sl_buf out = {0};
	assert_int_equal(sl_ch_encode_column(&codec, "t", type, &b->cols[0], 0, 4, &out, &err), 0);
	/* name (2 bytes), type (7), then a length byte before each value */
	size_t at = 9;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(out.data[at], strlen(want[i]));
		assert_memory_equal(out.data + at + 1, want[i], strlen(want[i]));
		at += 1 + strlen(want[i]);
	}
	assert_int_equal(out.len, at);
	sl_buf_free(&out);
	sl_batch_destroy(b);
	sl_ch_codec_reset(&codec);
	sl_field_reset(&f);

	/* dates: ISO years (1 BC = 0000, 10 BC = -0009), the sentinels as infinity */
	rt_field_init(&f, &(rt_spec){"d", SL_TYPE_DATE32, 0, 0, 0}, false);
	b = sl_batch_create(&f, 1);
	const int32_t days[] = {-722815, -719893, SL_DATE32_POS_INF, SL_DATE32_NEG_INF};
	const char *dwant[] = {"-0009-01-01", "-0001-01-01", "infinity", "-infinity"};
	for (int i = 0; i < 4; i++) {
		sl_col_append_i32(&b->cols[0], days[i]);
		sl_batch_end_row(b);
	}
	assert_true(sl_ch_type_for_field(&f, &old, type, sizeof type, &codec));
	assert_int_equal(sl_ch_encode_column(&codec, "d", type, &b->cols[0], 0, 4, &out, &err), 0);
	at = 9;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(out.data[at], strlen(dwant[i]));
		assert_memory_equal(out.data + at + 1, dwant[i], strlen(dwant[i]));
		at += 1 + strlen(dwant[i]);
	}
	/* and back */
	sl_batch *back = sl_batch_create(&f, 1);
	sl_ch_reader rd = {out.data, out.data + out.len};
	assert_int_equal(sl_ch_decode_column(&rd, &codec, "d", type, 4, &back->cols[0], &err), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(((const int32_t *)back->cols[0].values.data)[i], days[i]);
	sl_batch_destroy(back);
	sl_buf_free(&out);
	sl_batch_destroy(b);
	sl_ch_codec_reset(&codec);
	sl_field_reset(&f);
}

/* A decimal that may hold NaN/Infinity (field->specials) is Nullable and writes them as NULL,
 * decimals too wide for the server included; a column that cannot be NULL refuses them; the
 * values are counted; the digest hashes them as NULL only under its specials_are_null rule. */
static void test_decimal_specials(void **state)
{
	(void)state;
	const char *vers[] = {"18.16.1", "23.8.1"};
	for (int v = 0; v < 2; v++) {
		for (int p = 10; p <= 50;
		     p += 40) { /* Decimal(10,2), and (50,2): String on 18.16 */
			sl_ch_caps caps;
			sl_ch_caps_for_version(vers[v], &caps);
			sl_field f;
			sl_field_init(&f, "n", p <= 38 ? SL_TYPE_DECIMAL128 : SL_TYPE_DECIMAL256);
			f.precision = p;
			f.scale = 2;
			f.specials = true;
			int w = p <= 38 ? 16 : 32;
			char type[160];
			sl_ch_codec codec;
			assert_true(sl_ch_type_for_field(&f, &caps, type, sizeof type, &codec));
			assert_true(codec.nullable);
			assert_non_null(strstr(type, "Nullable("));
			sl_batch *b = sl_batch_create(&f, 1);
			uint8_t dec[32];
			const sl_decimal_special sp[] = {SL_DECIMAL_FINITE, SL_DECIMAL_NAN,
			                                 SL_DECIMAL_POS_INF, SL_DECIMAL_NEG_INF};
			for (int i = 0; i < 4; i++) {
				if (sp[i] == SL_DECIMAL_FINITE)
					assert_int_equal(
					        sl_decimal_from_text("-12.50", 6, w, 2, dec), 0);
				else
					sl_decimal_special_store(sp[i], w, dec);
				sl_col_append_fixed(&b->cols[0], dec, (size_t)w);
				sl_batch_end_row(b);
			}
			sl_col_append_null(&b->cols[0]);
			sl_batch_end_row(b);
			assert_int_equal(sl_ch_count_specials(&b->cols[0], 0, 5), 3);
			assert_int_equal(sl_ch_count_specials(&b->cols[0], 2, 4), 2);
			sl_buf out = {0};
			sl_error err = {0};
			assert_int_equal(sl_ch_encode_column(&codec, "n", type, &b->cols[0], 0, 5,
			                                     &out, &err),
			                 0);
			sl_batch *back = sl_batch_create(&f, 1);
			sl_ch_reader rd = {out.data, out.data + out.len};
			assert_int_equal(sl_ch_decode_column(&rd, &codec, "n", type, 5,
			                                     &back->cols[0], &err),
			                 0);
			back->length = 5;
			assert_true(sl_col_is_valid(&back->cols[0], 0));
			char t[96];
			sl_decimal_to_text(back->cols[0].values.data, w, 2, t);
			assert_string_equal(t, "-12.50");
			for (int i = 1; i < 5; i++)
				assert_false(sl_col_is_valid(&back->cols[0], i));
			/* the digest: equal only when the rule says NaN/Infinity are NULL */
			sl_digest a = {0}, c = {0};
			sl_digest_add_batch(&a, b);
			sl_digest_add_batch(&c, back);
			assert_true(a.sum != c.sum);
			assert_int_equal(a.specials, 0);
			sl_digest a2 = {.specials_are_null = true},
			          c2 = {.specials_are_null = true};
			sl_digest_add_batch(&a2, b);
			sl_digest_add_batch(&c2, back);
			assert_true(a2.sum == c2.sum);
			assert_int_equal(a2.specials, 3);
			assert_int_equal(c2.specials, 0);
			/* not Nullable (a sorting key): refused, naming the value */
			codec.nullable = false;
			sl_buf_reset(&out);
			assert_int_equal(sl_ch_encode_column(&codec, "n", type, &b->cols[0], 0, 1,
			                                     &out, &err),
			                 0); /* the finite row alone is fine */
			assert_int_equal(sl_ch_encode_column(&codec, "n", type, &b->cols[0], 0, 4,
			                                     &out, &err),
			                 SL_ERR_DATA);
			assert_non_null(strstr(err.msg, "NaN"));
			assert_non_null(strstr(err.msg, "not Nullable"));
			sl_batch_destroy(back);
			sl_batch_destroy(b);
			sl_buf_free(&out);
			sl_ch_codec_reset(&codec);
			sl_field_reset(&f);
		}
	}
}

/* A one-column, one-block stream holding the given String values, decoded as field f with
 * the codec of the caps. Returns the decoder's result; the values land in *bp. */
static int dec_strings(const sl_field *f, const char *version, const char **vals, int n,
                       sl_batch **bp, sl_error *err)
{
	sl_ch_caps caps;
	sl_ch_caps_for_version(version, &caps);
	char type[160];
	sl_ch_codec codec;
	assert_true(sl_ch_type_for_field(f, &caps, type, sizeof type, &codec));
	sl_buf out = {0};
	sl_ch_block_begin(&out, 1, n);
	sl_ch_put_string(&out, f->name, strlen(f->name));
	sl_ch_put_string(&out, type, strlen(type));
	if (codec.nullable)
		for (int i = 0; i < n; i++)
			sl_buf_putc(&out, 0);
	for (int i = 0; i < n; i++)
		sl_ch_put_string(&out, vals[i], strlen(vals[i]));
	sl_batch *b = sl_batch_create(f, 1);
	sl_ch_reader r = {out.data, out.data + out.len};
	int ncols;
	int64_t nrows;
	assert_int_equal(sl_ch_block_next(&r, &ncols, &nrows, err), 1);
	int rc = sl_ch_decode_column(&r, &codec, f->name, type, nrows, &b->cols[0], err);
	if (rc == 0) {
		b->length = nrows;
		assert_true(r.p == r.end);
		assert_int_equal(sl_ch_block_next(&r, &ncols, &nrows, err), 0);
	}
	sl_buf_free(&out);
	sl_ch_codec_reset(&codec);
	*bp = b;
	return rc;
}

static void test_decode_bad_text(void **state)
{
	(void)state;
	static const struct {
		rt_spec spec;
		const char *text;
	} bad[] = {
	        {{"day", SL_TYPE_DATE32}, ""},
	        {{"day", SL_TYPE_DATE32}, "2021-02-29"},
	        {{"day", SL_TYPE_DATE32}, "2020-13-01"},
	        {{"day", SL_TYPE_DATE32}, "1970-01-00"},
	        {{"day", SL_TYPE_DATE32}, "2020-1-01"},
	        {{"day", SL_TYPE_DATE32}, "20x0-01-01"},
	        {{"day", SL_TYPE_DATE32}, "2020-01-01 "},
	        {{"day", SL_TYPE_DATE32}, "-"},
	        {{"day", SL_TYPE_DATE32}, "9999999-01-01"}, /* beyond int32 days */
	        {{"ts", SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_MS}, ""},
	        {{"ts", SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_MS}, "1970-01-01 00:00:00.1234"},
	        {{"ts", SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_MS}, "1970-01-01 24:00:00"},
	        {{"ts", SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_MS}, "1970-01-01T00:00:00"},
	        {{"ts", SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_MS}, "1970-01-01 00:00"},
	        {{"ts", SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_MS}, "1970-01-01 00:00:00."},
	        {{"ts", SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_S}, "1970-01-01 00:00:00.0"},
	        {{"ts", SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_NS}, "2262-04-12 00:00:00"}, /* > int64 */
	        {{"t", SL_TYPE_TIME32, 0, 0, SL_UNIT_MS}, "1970-02-01 00:00:00.000"}, /* > int32 */
	        {{"iv", SL_TYPE_INTERVAL_DT}, ""},
	        {{"iv", SL_TYPE_INTERVAL_DT}, "01:60:00.000"},
	        {{"iv", SL_TYPE_INTERVAL_DT}, "00:00:00"},
	        {{"iv", SL_TYPE_INTERVAL_DT}, "-:00:00.000"},
	        {{"iv", SL_TYPE_INTERVAL_DT}, "00:00:00.0000"},
	        {{"iv", SL_TYPE_INTERVAL_DT}, "999999999999:00:00.000"}, /* days > int32 */
	        {{"fb", SL_TYPE_FIXED_BINARY, 0, 0, 0, NULL, 3}, "ab"},
	        {{"fb", SL_TYPE_FIXED_BINARY, 0, 0, 0, NULL, 3}, "abcd"},
	        {{"d", SL_TYPE_DECIMAL256, 50, 2}, ""},
	        {{"d", SL_TYPE_DECIMAL256, 50, 2}, "1.2.3"},
	        {{"d", SL_TYPE_DECIMAL256, 50, 2}, "0.001"},
	        {{"d", SL_TYPE_DECIMAL256, 50, 2}, "abc"},
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		for (int nullable = 0; nullable < 2; nullable++) {
			sl_field f;
			rt_field_init(&f, &bad[k].spec, nullable);
			sl_batch *b;
			sl_error err = {0};
			const char *vals[2] = {"", bad[k].text};
			/* a good value first when there is one: the error is on the second */
			int rc;
			if (bad[k].spec.type == SL_TYPE_FIXED_BINARY)
				vals[0] = "xyz";
			else if (bad[k].spec.type == SL_TYPE_DATE32)
				vals[0] = "2000-02-29";
			else if (bad[k].spec.type == SL_TYPE_TIMESTAMP ||
			         bad[k].spec.type == SL_TYPE_TIME32)
				vals[0] = "1970-01-01 00:00:01";
			else if (bad[k].spec.type == SL_TYPE_INTERVAL_DT)
				vals[0] = "-25:00:00.001";
			else
				vals[0] = "-1.5";
			rc = dec_strings(&f, "18.16.1", vals, 2, &b, &err);
			if (rc >= 0)
				fail_msg("'%s' as %s decoded", bad[k].text, bad[k].spec.name);
			assert_int_equal(err.code, SL_ERR_DATA);
			assert_non_null(strstr(err.msg, bad[k].spec.name));
			assert_int_equal(b->cols[0].length, 1);
			sl_batch_destroy(b);
			sl_field_reset(&f);
		}
	}
}

/* Accepted spellings beyond the encoder's own: fewer fraction digits. And what good text
 * decodes to. */
static void test_decode_text_values(void **state)
{
	(void)state;
	sl_field f;
	sl_batch *b;
	sl_error err;
	rt_field_init(&f, &(rt_spec){"ts", SL_TYPE_TIMESTAMP, 0, 0, SL_UNIT_US}, false);
	const char *ts[] = {"1970-01-01 00:00:00.5", "1970-01-01 00:00:01",
	                    "1969-12-31 23:59:59.999999", "-001-12-31 00:00:00.000001"};
	assert_int_equal(dec_strings(&f, "18.16.1", ts, 4, &b, &err), 0);
	const int64_t *v = (const int64_t *)b->cols[0].values.data;
	assert_int_equal(v[0], 500000);
	assert_int_equal(v[1], 1000000);
	assert_int_equal(v[2], -1);
	assert_int_equal(v[3], (-719528 - 1) * INT64_C(86400000000) + 1);
	sl_batch_destroy(b);
	sl_field_reset(&f);

	rt_field_init(&f, &(rt_spec){"iv", SL_TYPE_INTERVAL_DT}, false);
	const char *iv[] = {"-25:00:00.001", "48:00:00.000", "00:00:00.000"};
	assert_int_equal(dec_strings(&f, "18.16.1", iv, 3, &b, &err), 0);
	const int32_t *x = (const int32_t *)b->cols[0].values.data;
	assert_int_equal(x[0], -1);
	assert_int_equal(x[1], -3600001);
	assert_int_equal(x[2], 2);
	assert_int_equal(x[3], 0);
	assert_int_equal(x[4], 0);
	assert_int_equal(x[5], 0);
	sl_batch_destroy(b);
	sl_field_reset(&f);
}

/* Float32 values that did not come from a half: rounded to nearest even. */
static void test_decode_float16_rounding(void **state)
{
	(void)state;
	static const struct {
		float in;
		uint16_t want;
	} cases[] = {
	        {65504.0f, 0x7BFF},
	        {65519.0f, 0x7BFF},
	        {65520.0f, 0x7C00},
	        {-1e10f, 0xFC00},
	        {1.00048828125f, 0x3C00}, /* tie: even */
	        {1.00146484375f, 0x3C02}, /* tie: even */
	        {0x1p-25f, 0},            /* tie between 0 and 2^-24: even */
	        {0x1.8p-24f, 0x0002},     /* tie between 1 and 2 * 2^-24: even */
	        {0x1.4p-24f, 0x0001},
	        {0x3FFp-24f, 0x03FF},   /* largest subnormal */
	        {0x1.FFFp-15f, 0x0400}, /* rounds up into the smallest normal */
	        {0x1p-14f, 0x0400},
	        {-1e-10f, 0x8000},
	};
	int n = (int)(sizeof cases / sizeof cases[0]);
	sl_field f;
	rt_field_init(&f, &(rt_spec){"h", SL_TYPE_FLOAT16}, false);
	sl_ch_caps caps;
	sl_ch_caps_for_version("24.3", &caps);
	char type[160];
	sl_ch_codec codec;
	assert_true(sl_ch_type_for_field(&f, &caps, type, sizeof type, &codec));
	assert_string_equal(type, "Float32");
	sl_buf out = {0};
	sl_ch_put_string(&out, "h", 1);
	sl_ch_put_string(&out, type, strlen(type));
	for (int i = 0; i < n; i++)
		sl_buf_append(&out, &cases[i].in, 4);
	sl_batch *b = sl_batch_create(&f, 1);
	sl_ch_reader r = {out.data, out.data + out.len};
	sl_error err;
	assert_int_equal(sl_ch_decode_column(&r, &codec, "h", type, n, &b->cols[0], &err), 0);
	for (int i = 0; i < n; i++) {
		uint16_t h = ((const uint16_t *)b->cols[0].values.data)[i];
		if (h != cases[i].want)
			fail_msg("%a: 0x%04x, want 0x%04x", (double)cases[i].in, h, cases[i].want);
	}
	sl_batch_destroy(b);
	sl_buf_free(&out);
	sl_ch_codec_reset(&codec);
	sl_field_reset(&f);
}

/* A small block over every column shape, cut at every length: each prefix but the empty one
 * fails with SL_ERR_DATA, never reads past its end. */
static void test_decode_truncated(void **state)
{
	(void)state;
	static const rt_spec specs[] = {
	        {"i32", SL_TYPE_INT32},
	        {"s", SL_TYPE_UTF8},
	        {"l_i32", SL_TYPE_LIST, .child = &rt_i32},
	        {"l_d50", SL_TYPE_LIST, .child = &rt_d50},
	        {"day", SL_TYPE_DATE32},
	        {"d50", SL_TYPE_DECIMAL256, 50, 20},
	        {"iv", SL_TYPE_INTERVAL_DT},
	        {"f16", SL_TYPE_FLOAT16},
	};
	enum { N = sizeof specs / sizeof specs[0] };
	static const char *versions[] = {"18.16.1", "24.3"};
	for (int vi = 0; vi < 2; vi++) {
		sl_ch_caps caps;
		sl_ch_caps_for_version(versions[vi], &caps);
		sl_field fs[N];
		sl_ch_codec codecs[N];
		char types[N][160];
		for (int i = 0; i < N; i++) {
			rt_field_init(&fs[i], &specs[i], true);
			assert_true(sl_ch_type_for_field(&fs[i], &caps, types[i], sizeof types[i],
			                                 &codecs[i]));
		}
		sl_batch *in = rt_batch(fs, N);
		sl_buf out = {0};
		rt_encode_block(in, codecs, types, 0, RT_ROWS, &out);
		for (size_t len = 0; len < out.len; len++) {
			uint8_t *copy = malloc(len ? len : 1);
			memcpy(copy, out.data, len);
			sl_batch *got = sl_batch_create(fs, N);
			sl_error err = {0};
			int nblocks;
			int rc = rt_decode(copy, len, codecs, types, got, &nblocks, &err);
			if (len == 0) {
				assert_int_equal(rc, 0);
				assert_int_equal(nblocks, 0);
			} else if (rc >= 0 || err.code != SL_ERR_DATA) {
				fail_msg("%s: %zu of %zu bytes: rc %d, %s", versions[vi], len,
				         out.len, rc, err.msg);
			}
			sl_batch_destroy(got);
			free(copy);
		}
		sl_buf_free(&out);
		sl_batch_destroy(in);
		for (int i = 0; i < N; i++) {
			sl_ch_codec_reset(&codecs[i]);
			sl_field_reset(&fs[i]);
		}
	}
}

/* One Int32 column "id" of type Int32 with values 1, 2, as a block. */
static void one_int_block(sl_buf *out, const char *name, const char *type)
{
	sl_ch_block_begin(out, 1, 2);
	sl_ch_put_string(out, name, strlen(name));
	sl_ch_put_string(out, type, strlen(type));
	int32_t v[2] = {1, 2};
	sl_buf_append(out, v, sizeof v);
}

static void test_decode_wrong_column(void **state)
{
	(void)state;
	sl_field f;
	rt_field_init(&f, &(rt_spec){"id", SL_TYPE_INT32}, false);
	sl_ch_codec codec = {.kind = SL_CH_FIXED};
	static const struct {
		const char *name, *type;
		bool ok;
	} cases[] = {
	        {"id", "Int32", true},  {"other", "Int32", false},
	        {"i", "Int32", false},  {"idx", "Int32", false},
	        {"id", "Int64", false}, {"id", "Nullable(Int32)", false},
	        {"id", "Int3", false},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		sl_buf out = {0};
		one_int_block(&out, cases[k].name, cases[k].type);
		sl_batch *b = sl_batch_create(&f, 1);
		sl_ch_reader r = {out.data, out.data + out.len};
		int ncols;
		int64_t nrows;
		sl_error err = {0};
		assert_int_equal(sl_ch_block_next(&r, &ncols, &nrows, &err), 1);
		assert_int_equal(ncols, 1);
		assert_int_equal(nrows, 2);
		int rc = sl_ch_decode_column(&r, &codec, "id", "Int32", nrows, &b->cols[0], &err);
		if (cases[k].ok) {
			assert_int_equal(rc, 0);
			assert_int_equal(b->cols[0].length, 2);
		} else {
			assert_int_equal(rc, SL_ERR_DATA);
			assert_int_equal(err.code, SL_ERR_DATA);
			assert_non_null(strstr(err.msg, cases[k].name));
			assert_non_null(strstr(err.msg, cases[k].type));
			assert_non_null(strstr(err.msg, "Int32"));
			assert_int_equal(b->cols[0].length, 0);
		}
		sl_batch_destroy(b);
		sl_buf_free(&out);
	}
	sl_field_reset(&f);
}

static void test_decode_malformed(void **state)
{
	(void)state;
	sl_error err;
	int ncols;
	int64_t nrows;

	/* a VarUInt longer than 64 bits */
	static const uint8_t longvar[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	                                  0xFF, 0xFF, 0xFF, 0x7F, 0x01};
	sl_ch_reader r = {longvar, longvar + sizeof longvar};
	assert_int_equal(sl_ch_block_next(&r, &ncols, &nrows, &err), SL_ERR_DATA);
	/* a header cut after the column count */
	static const uint8_t cut[] = {0x01, 0x80};
	r = (sl_ch_reader){cut, cut + sizeof cut};
	assert_int_equal(sl_ch_block_next(&r, &ncols, &nrows, &err), SL_ERR_DATA);
	/* 0 rows: a header-only block, as newer servers send first */
	sl_buf out = {0};
	sl_field f;
	rt_field_init(&f, &(rt_spec){"id", SL_TYPE_INT32}, true);
	sl_ch_codec codec = {.kind = SL_CH_FIXED, .nullable = true};
	sl_ch_block_begin(&out, 1, 0);
	sl_ch_put_string(&out, "id", 2);
	sl_ch_put_string(&out, "Nullable(Int32)", 15);
	sl_batch *b = sl_batch_create(&f, 1);
	r = (sl_ch_reader){out.data, out.data + out.len};
	assert_int_equal(sl_ch_block_next(&r, &ncols, &nrows, &err), 1);
	assert_int_equal(nrows, 0);
	assert_int_equal(
	        sl_ch_decode_column(&r, &codec, "id", "Nullable(Int32)", 0, &b->cols[0], &err), 0);
	assert_int_equal(sl_ch_block_next(&r, &ncols, &nrows, &err), 0);
	assert_int_equal(b->cols[0].length, 0);

	/* a null map byte other than 0 and 1 */
	sl_buf_reset(&out);
	sl_ch_put_string(&out, "id", 2);
	sl_ch_put_string(&out, "Nullable(Int32)", 15);
	sl_buf_append(&out, "\0\2", 2);
	sl_buf_append(&out, "\0\0\0\0\0\0\0\0", 8);
	r = (sl_ch_reader){out.data, out.data + out.len};
	assert_int_equal(
	        sl_ch_decode_column(&r, &codec, "id", "Nullable(Int32)", 2, &b->cols[0], &err),
	        SL_ERR_DATA);
	assert_non_null(strstr(err.msg, "null map"));
	sl_batch_destroy(b);
	sl_field_reset(&f);

	/* Array offsets going backwards */
	sl_field l;
	rt_field_init(&l, &(rt_spec){"l", SL_TYPE_LIST, .child = &rt_i32}, false);
	sl_ch_caps caps;
	sl_ch_caps_for_version("24.3", &caps);
	char type[160];
	assert_true(sl_ch_type_for_field(&l, &caps, type, sizeof type, &codec));
	sl_buf_reset(&out);
	sl_ch_put_string(&out, "l", 1);
	sl_ch_put_string(&out, type, strlen(type));
	uint64_t offs[2] = {2, 1};
	sl_buf_append(&out, offs, sizeof offs);
	sl_buf_append(&out, "\1\0\0\0\2\0\0\0", 8);
	b = sl_batch_create(&l, 1);
	r = (sl_ch_reader){out.data, out.data + out.len};
	assert_int_equal(sl_ch_decode_column(&r, &codec, "l", type, 2, &b->cols[0], &err),
	                 SL_ERR_DATA);
	assert_non_null(strstr(err.msg, "offsets"));
	/* an offset far beyond the data */
	sl_buf_reset(&out);
	sl_ch_put_string(&out, "l", 1);
	sl_ch_put_string(&out, type, strlen(type));
	offs[0] = 1;
	offs[1] = UINT64_C(1) << 40;
	sl_buf_append(&out, offs, sizeof offs);
	sl_buf_append(&out, "\1\0\0\0", 4);
	sl_batch_reset(b);
	r = (sl_ch_reader){out.data, out.data + out.len};
	assert_int_equal(sl_ch_decode_column(&r, &codec, "l", type, 2, &b->cols[0], &err),
	                 SL_ERR_DATA);
	sl_batch_destroy(b);
	sl_ch_codec_reset(&codec);
	sl_field_reset(&l);

	/* DateTime64 ticks that do not fit a Time32 */
	rt_field_init(&f, &(rt_spec){"t", SL_TYPE_TIME32, 0, 0, SL_UNIT_MS}, false);
	assert_true(sl_ch_type_for_field(&f, &caps, type, sizeof type, &codec));
	assert_string_equal(type, "DateTime64(3)");
	sl_buf_reset(&out);
	sl_ch_put_string(&out, "t", 1);
	sl_ch_put_string(&out, type, strlen(type));
	int64_t big = INT64_C(1) << 31;
	sl_buf_append(&out, &big, 8);
	b = sl_batch_create(&f, 1);
	r = (sl_ch_reader){out.data, out.data + out.len};
	assert_int_equal(sl_ch_decode_column(&r, &codec, "t", type, 1, &b->cols[0], &err),
	                 SL_ERR_DATA);
	sl_batch_destroy(b);
	sl_ch_codec_reset(&codec);
	sl_field_reset(&f);

	/* a 32-byte Decimal into a Decimal128 field: sign-checked truncation */
	rt_field_init(&f, &(rt_spec){"d", SL_TYPE_DECIMAL128, 38, 0}, false);
	codec = (sl_ch_codec){.kind = SL_CH_DECIMAL, .width = 32};
	uint8_t wide[3][32];
	memset(wide[0], 0xFF, 32); /* -1: fits */
	memset(wide[1], 0, 32);
	wide[1][15] = 0x80; /* 2^127: does not fit */
	memset(wide[2], 0, 32);
	wide[2][16] = 1; /* 2^128 */
	for (int k = 0; k < 3; k++) {
		sl_buf_reset(&out);
		sl_ch_put_string(&out, "d", 1);
		sl_ch_put_string(&out, "Decimal(76, 0)", 14);
		sl_buf_append(&out, wide[k], 32);
		b = sl_batch_create(&f, 1);
		r = (sl_ch_reader){out.data, out.data + out.len};
		int rc = sl_ch_decode_column(&r, &codec, "d", "Decimal(76, 0)", 1, &b->cols[0],
		                             &err);
		assert_int_equal(rc, k == 0 ? 0 : SL_ERR_DATA);
		if (k == 0)
			assert_memory_equal(b->cols[0].values.data, wide[0], 16);
		sl_batch_destroy(b);
	}
	sl_field_reset(&f);
	sl_buf_free(&out);
}

static void test_skip_column(void **state)
{
	(void)state;
	sl_buf out = {0};
	sl_ch_encode_const_u64("_version", 5, 3, &out);
	sl_ch_encode_const_u8("_deleted", 1, 3, &out);
	sl_ch_put_string(&out, "a", 1);
	sl_ch_put_string(&out, "Int64", 5);
	sl_buf_append(&out, "012345670123456701234567", 24);
	sl_ch_put_string(&out, "b", 1);
	sl_ch_put_string(&out, "UInt32", 6);
	sl_buf_append(&out, "012301230123", 12);
	size_t good = out.len;
	sl_ch_put_string(&out, "s", 1);
	sl_ch_put_string(&out, "String", 6);
	sl_buf_append(&out, "\1a\1b\1c", 6);
	sl_ch_reader r = {out.data, out.data + out.len};
	sl_error err;
	for (int i = 0; i < 4; i++)
		assert_int_equal(sl_ch_skip_column(&r, 3, &err), 0);
	assert_true(r.p == out.data + good);
	assert_int_equal(sl_ch_skip_column(&r, 3, &err), SL_ERR_DATA);
	assert_non_null(strstr(err.msg, "String"));
	/* truncated: 3 rows of UInt64 with 2 present */
	r = (sl_ch_reader){out.data, out.data + 1 + 8 + 1 + 6 + 16};
	assert_int_equal(sl_ch_skip_column(&r, 3, &err), SL_ERR_DATA);
	assert_non_null(strstr(err.msg, "_version"));
	r = (sl_ch_reader){out.data, out.data + 5};
	assert_int_equal(sl_ch_skip_column(&r, 3, &err), SL_ERR_DATA);
	sl_buf_free(&out);
}

/* A NULL list travels as an empty Array and comes back as an empty list. */
static void test_decode_null_list(void **state)
{
	(void)state;
	sl_field f;
	rt_field_init(&f, &(rt_spec){"l", SL_TYPE_LIST, .child = &rt_i32}, false);
	f.nullable = true;
	sl_ch_caps caps;
	sl_ch_caps_for_version("18.16.1", &caps);
	char type[160];
	sl_ch_codec codec;
	assert_true(sl_ch_type_for_field(&f, &caps, type, sizeof type, &codec));
	assert_string_equal(type, "Array(Int32)");
	sl_batch *in = sl_batch_create(&f, 1);
	sl_col_append_i32(in->cols[0].child, 4);
	sl_col_end_list(&in->cols[0]);
	sl_col_append_null(&in->cols[0]);
	sl_col_append_i32(in->cols[0].child, 5);
	sl_col_end_list(&in->cols[0]);
	sl_buf out = {0};
	sl_error err;
	assert_int_equal(sl_ch_encode_column(&codec, "l", type, &in->cols[0], 0, 3, &out, &err), 0);
	sl_batch *got = sl_batch_create(&f, 1);
	sl_ch_reader r = {out.data, out.data + out.len};
	assert_int_equal(sl_ch_decode_column(&r, &codec, "l", type, 3, &got->cols[0], &err), 0);
	assert_true(r.p == r.end);
	assert_int_equal(got->cols[0].null_count, 0);
	const int32_t *off = (const int32_t *)got->cols[0].offsets.data;
	assert_int_equal(off[1], 1);
	assert_int_equal(off[2], 1);
	assert_int_equal(off[3], 2);
	sl_buf_free(&out);
	sl_batch_destroy(got);
	sl_batch_destroy(in);
	sl_ch_codec_reset(&codec);
	sl_field_reset(&f);
}

/* An array with a shape (two dimensions, a lower bound other than 1) travels as its elements
 * in row-major order: it comes back as the flat list, equal in elements only. */
static void test_flattened_array(void **state)
{
	(void)state;
	sl_field f;
	rt_field_init(&f, &(rt_spec){"m", SL_TYPE_LIST, .child = &rt_i32}, false);
	sl_ch_caps caps;
	sl_ch_caps_for_version("23.8.1", &caps);
	char type[160];
	sl_ch_codec codec;
	assert_true(sl_ch_type_for_field(&f, &caps, type, sizeof type, &codec));
	sl_batch *in = sl_batch_create(&f, 1);
	for (int32_t v = 1; v <= 4; v++)
		sl_col_append_i32(in->cols[0].child, v);
	sl_list_shape sq = {.ndim = 2, .dims = {2, 2}, .lbounds = {0, 1}};
	sl_col_end_list_shaped(&in->cols[0], &sq);
	sl_col_append_i32(in->cols[0].child, 9);
	sl_col_end_list(&in->cols[0]);
	assert_int_equal(sl_col_shaped_count(&in->cols[0], 0, 2), 1);
	sl_buf out = {0};
	sl_error err;
	assert_int_equal(sl_ch_encode_column(&codec, "m", type, &in->cols[0], 0, 2, &out, &err), 0);
	sl_batch *got = sl_batch_create(&f, 1);
	sl_ch_reader r = {out.data, out.data + out.len};
	assert_int_equal(sl_ch_decode_column(&r, &codec, "m", type, 2, &got->cols[0], &err), 0);
	assert_true(r.p == r.end);
	const int32_t *off = (const int32_t *)got->cols[0].offsets.data;
	assert_int_equal(off[1], 4);
	assert_int_equal(off[2], 5);
	for (int32_t k = 0; k < 4; k++)
		assert_int_equal(((const int32_t *)got->cols[0].child->values.data)[k], k + 1);
	assert_int_equal(sl_col_shaped_count(&got->cols[0], 0, 2), 0);
	assert_false(sl_col_equal(&in->cols[0], 0, &got->cols[0], 0));
	assert_true(sl_col_equal_elements(&in->cols[0], 0, &got->cols[0], 0));
	assert_true(sl_col_equal(&in->cols[0], 1, &got->cols[0], 1));
	sl_buf_free(&out);
	sl_batch_destroy(got);
	sl_batch_destroy(in);
	sl_ch_codec_reset(&codec);
	sl_field_reset(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_caps),
	        cmocka_unit_test(test_types),
	        cmocka_unit_test(test_block_bytes),
	        cmocka_unit_test(test_varuint),
	        cmocka_unit_test(test_decode_roundtrip_old),
	        cmocka_unit_test(test_decode_roundtrip_new),
	        cmocka_unit_test(test_decode_text_spelling),
	        cmocka_unit_test(test_decode_bad_text),
	        cmocka_unit_test(test_decode_text_values),
	        cmocka_unit_test(test_decode_float16_rounding),
	        cmocka_unit_test(test_decode_truncated),
	        cmocka_unit_test(test_decode_wrong_column),
	        cmocka_unit_test(test_decode_malformed),
	        cmocka_unit_test(test_skip_column),
	        cmocka_unit_test(test_decode_null_list),
	        cmocka_unit_test(test_flattened_array),
	        cmocka_unit_test(test_decimal_specials),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
