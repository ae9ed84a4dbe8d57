/* The Parquet writer's pieces (formats/parquet.h, formats/thrift.h): Thrift compact protocol
 * round trips and the specification's own bytes, the RLE / bit-packed hybrid against the example
 * in Encodings.md and random round trips, and a written file's frame and footer read back with
 * the Thrift reader. Whole files are read by independent readers in
 * tests/integration/test_parquet_oracles.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/batch.h"
#include "formats/parquet.h"
#include "formats/thrift.h"

static void test_thrift_round_trip(void **state)
{
	(void)state;
	sl_buf b = {0};
	sl_tc_writer w;
	sl_tc_writer_init(&w, &b);
	sl_tc_begin(&w);
	sl_tc_i32(&w, 1, -5);
	sl_tc_i64(&w, 3, INT64_MIN);
	sl_tc_string(&w, 20, "abc"); /* a jump over 15: the long field header */
	sl_tc_bool(&w, 21, true);
	sl_tc_list(&w, 22, SL_TC_I32, 20); /* 15 or more: the long list header */
	for (int i = 0; i < 20; i++)
		sl_tc_elem_i32(&w, i - 10);
	sl_tc_field(&w, 23, SL_TC_STRUCT);
	sl_tc_begin(&w);
	sl_tc_i32(&w, 1, 7);
	sl_tc_end(&w);
	sl_tc_i32(&w, 24, 99);
	sl_tc_end(&w);

	sl_tc_reader r;
	sl_tc_reader_init(&r, b.data, b.len);
	sl_tc_enter(&r);
	int16_t id;
	int type, seen = 0;
	while (sl_tc_next(&r, &id, &type)) {
		seen++;
		switch (id) {
		case 1:
			assert_int_equal(type, SL_TC_I32);
			assert_int_equal(sl_tc_read_int(&r), -5);
			break;
		case 3:
			assert_true(sl_tc_read_int(&r) == INT64_MIN);
			break;
		case 20: {
			size_t n;
			const uint8_t *p = sl_tc_read_binary(&r, &n);
			assert_int_equal(n, 3);
			assert_memory_equal(p, "abc", 3);
			break;
		}
		case 21:
			assert_int_equal(type, SL_TC_TRUE);
			break;
		case 22: {
			int et;
			uint32_t n = sl_tc_read_list(&r, &et);
			assert_int_equal(n, 20);
			assert_int_equal(et, SL_TC_I32);
			for (int i = 0; i < 20; i++)
				assert_int_equal(sl_tc_read_int(&r), i - 10);
			break;
		}
		case 23:
			sl_tc_skip(&r, type); /* a whole struct skipped */
			break;
		case 24:
			assert_int_equal(sl_tc_read_int(&r), 99);
			break;
		default:
			fail_msg("unexpected field %d", id);
		}
	}
	assert_false(r.bad);
	assert_int_equal(seen, 7);
	r.depth--;
	assert_true(r.p == r.end);

	/* the specification's bytes: field 1 i32 -5 is 0x15 (delta 1, type 5), zigzag 9 */
	assert_int_equal(b.data[0], 0x15);
	assert_int_equal(b.data[1], 9);

	/* truncated input is reported, never read past */
	for (size_t cut = 0; cut < b.len; cut++) {
		sl_tc_reader_init(&r, b.data, cut);
		sl_tc_skip(&r, SL_TC_STRUCT);
		assert_true(r.bad);
	}
	sl_buf_free(&b);
}

static void test_rle_spec_example(void **state)
{
	(void)state;
	/* Encodings.md, bit-packed: 0..7 with bit width 3 is 10001000 11000110 11111010 */
	uint32_t v[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	sl_buf b = {0};
	sl_pq_rle_encode(&b, v, 8, 3);
	assert_int_equal(b.len, 4);
	assert_int_equal(b.data[0], 0x03); /* one group of 8, bit-packed */
	assert_int_equal(b.data[1], 0x88);
	assert_int_equal(b.data[2], 0xC6);
	assert_int_equal(b.data[3], 0xFA);
	/* a run: 100 ones at width 1 is header 100 << 1 and one value byte */
	uint32_t ones[100];
	for (int i = 0; i < 100; i++)
		ones[i] = 1;
	sl_buf_reset(&b);
	sl_pq_rle_encode(&b, ones, 100, 1);
	assert_int_equal(b.len, 3);
	assert_int_equal(b.data[0], 0xC8);
	assert_int_equal(b.data[1], 0x01);
	assert_int_equal(b.data[2], 0x01);
	sl_buf_free(&b);
	assert_int_equal(sl_pq_bit_width(0), 0);
	assert_int_equal(sl_pq_bit_width(1), 1);
	assert_int_equal(sl_pq_bit_width(255), 8);
	assert_int_equal(sl_pq_bit_width(256), 9);
}

static void test_rle_round_trip(void **state)
{
	(void)state;
	uint32_t seed = 12345;
	for (int round = 0; round < 400; round++) {
		int bw = round % 21;
		size_t n = 1 + (size_t)(round * 37 % 700);
		uint32_t *v = malloc(n * sizeof *v), *back = malloc(n * sizeof *back);
		uint32_t mask = bw == 32 ? UINT32_MAX : (1u << bw) - 1;
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			/* runs and noise mixed: a value repeats a while, then changes */
			if (i == 0 || (seed >> 16) % 5 == 0)
				v[i] = (seed >> 3) & mask;
			else
				v[i] = v[i - 1];
		}
		sl_buf b = {0};
		sl_pq_rle_encode(&b, v, n, bw);
		assert_int_equal(sl_pq_rle_decode(b.data, b.len, bw, back, n), 0);
		assert_memory_equal(v, back, n * sizeof *v);
		/* a shorter input fails instead of reading on */
		if (b.len > 1)
			assert_int_equal(sl_pq_rle_decode(b.data, b.len - 1, bw, back, n) < 0 ||
			                         memcmp(v, back, n * sizeof *v) != 0,
			                 1);
		sl_buf_free(&b);
		free(v);
		free(back);
	}
}

struct file {
	sl_buf b;
	int fail_after; /* sink calls before it fails, -1 never */
};

static int file_sink(void *ctx, const void *p, size_t n, sl_error *err)
{
	struct file *f = ctx;
	if (f->fail_after == 0)
		return sl_error_set(err, SL_ERR_IO, "disk full");
	if (f->fail_after > 0)
		f->fail_after--;
	sl_buf_append(&f->b, p, n);
	return 0;
}

/* The footer's num_rows, number of row groups and schema element count. */
static void read_footer(const sl_buf *b, int64_t *rows, uint32_t *groups, uint32_t *elems)
{
	assert_true(b->len > 12);
	assert_memory_equal(b->data, "PAR1", 4);
	assert_memory_equal(b->data + b->len - 4, "PAR1", 4);
	uint32_t flen;
	memcpy(&flen, b->data + b->len - 8, 4);
	assert_true(flen < b->len - 12);
	sl_tc_reader r;
	sl_tc_reader_init(&r, b->data + b->len - 8 - flen, flen);
	sl_tc_enter(&r);
	int16_t id;
	int type, et;
	*rows = -1, *groups = 0, *elems = 0;
	while (sl_tc_next(&r, &id, &type)) {
		if (id == 3) {
			*rows = sl_tc_read_int(&r);
		} else if (id == 4 || id == 2) {
			uint32_t n = sl_tc_read_list(&r, &et);
			*(id == 4 ? groups : elems) = n;
			for (uint32_t i = 0; i < n; i++)
				sl_tc_skip(&r, et);
		} else {
			sl_tc_skip(&r, type);
		}
	}
	assert_false(r.bad);
	assert_true(r.p == r.end); /* the footer is exactly its length */
}

static void test_writer_frame(void **state)
{
	(void)state;
	sl_field f[3];
	sl_field_init(&f[0], "id", SL_TYPE_INT64);
	sl_field_init(&f[1], "name", SL_TYPE_UTF8);
	f[1].nullable = true;
	sl_field_init(&f[2], "tags", SL_TYPE_LIST);
	f[2].nullable = true;
	sl_field *el = calloc(1, sizeof *el);
	sl_field_init(el, "element", SL_TYPE_INT32);
	el->nullable = true;
	sl_field_set_child(&f[2], el);
	sl_batch *bt = sl_batch_create(f, 3);
	for (int64_t i = 0; i < 50000; i++) {
		sl_col_append_i64(&bt->cols[0], i);
		if (i % 7 == 0) {
			sl_col_append_null(&bt->cols[1]);
		} else {
			char s[32];
			int n = snprintf(s, sizeof s, "name-%lld", (long long)(i % 1000));
			sl_col_append_bytes(&bt->cols[1], s, (size_t)n);
		}
		for (int k = 0; k < (int)(i % 3); k++)
			sl_col_append_i32(bt->cols[2].child, k);
		sl_col_end_list(&bt->cols[2]);
		sl_batch_end_row(bt);
	}
	int codecs[] = {SL_PQ_UNCOMPRESSED, SL_PQ_SNAPPY, SL_PQ_ZSTD};
	for (int k = 0; k < 6; k++) {
		struct file out = {.fail_after = -1};
		sl_pq_options o = {.codec = codecs[k % 3],
		                   .page_version = k < 3 ? 1 : 2,
		                   .page_bytes = 16384,
		                   .row_group_bytes = 100000};
		sl_pq_writer *w;
		sl_error err = {0};
		assert_int_equal(sl_pq_writer_new(f, 3, &o, file_sink, &out, &w, &err), 0);
		assert_int_equal(sl_pq_write(w, bt, &err), 0);
		assert_int_equal(sl_pq_write(w, bt, &err), 0);
		assert_int_equal(sl_pq_finish(w, &err), 0);
		assert_int_equal(sl_pq_rows(w), 100000);
		assert_int_equal(sl_pq_bytes(w), (int64_t)out.b.len);
		sl_pq_writer_free(w);
		int64_t rows;
		uint32_t groups, elems;
		read_footer(&out.b, &rows, &groups, &elems);
		assert_int_equal(rows, 100000);
		assert_true(groups > 1); /* row_group_bytes cut it */
		assert_int_equal(elems, 1 + 2 + 3);
		sl_buf_free(&out.b);
	}
	/* a sink that fails: the error comes back and the writer refuses to go on */
	struct file out = {.fail_after = 3};
	sl_pq_options o = {.row_group_bytes = 10000};
	sl_pq_writer *w;
	sl_error err = {0};
	assert_int_equal(sl_pq_writer_new(f, 3, &o, file_sink, &out, &w, &err), 0);
	int rc = sl_pq_write(w, bt, &err);
	if (rc == 0)
		rc = sl_pq_finish(w, &err);
	assert_true(rc < 0);
	assert_string_equal(err.msg, "disk full");
	assert_true(sl_pq_write(w, bt, &err) < 0);
	sl_pq_writer_free(w);
	sl_buf_free(&out.b);

	/* a list of lists has no form here: said, with the column's name */
	sl_field ll;
	sl_field_init(&ll, "grid", SL_TYPE_LIST);
	sl_field *inner = calloc(1, sizeof *inner);
	sl_field_init(inner, "element", SL_TYPE_LIST);
	sl_field_set_child(&ll, inner);
	assert_true(sl_pq_writer_new(&ll, 1, NULL, file_sink, &out, &w, &err) < 0);
	assert_non_null(strstr(err.msg, "\"grid\""));
	sl_field_reset(&ll);

	sl_batch_destroy(bt);
	for (int i = 0; i < 3; i++)
		sl_field_reset(&f[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_thrift_round_trip),
	        cmocka_unit_test(test_rle_spec_example),
	        cmocka_unit_test(test_rle_round_trip),
	        cmocka_unit_test(test_writer_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
