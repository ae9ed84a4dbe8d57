/* ClickHouse Native encoder: type mapping per server version, and exact block bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/batch.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_caps),
	        cmocka_unit_test(test_types),
	        cmocka_unit_test(test_block_bytes),
	        cmocka_unit_test(test_varuint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
