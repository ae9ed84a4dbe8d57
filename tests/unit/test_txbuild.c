/* The transaction builder every source's decoder fills (core/txbuild.h): batches per table in
 * the order first touched, handed on at the byte limit only where the decoder allows it (a key
 * change's DELETE and new row stay together), a shape change hands the old shape's rows on
 * first, a truncate or a skipped transaction forgets rows, and the shape check notices each
 * column property. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/txbuild.h"

struct sink {
	sl_msg *got[32];
	int n;
	int fail_at; /* emit fails on this message (1-based), 0: never */
};

static int sink_emit(void *ctx, sl_msg *m, sl_error *err)
{
	struct sink *k = ctx;
	if (k->fail_at && k->n + 1 == k->fail_at) {
		sl_msg_free(m);
		return sl_error_set(err, SL_ERR_CANCELLED, "stopped");
	}
	assert_true(k->n < 32);
	k->got[k->n++] = m;
	return 0;
}

static void sink_free(struct sink *k)
{
	for (int i = 0; i < k->n; i++)
		sl_msg_free(k->got[i]);
	k->n = 0;
}

static sl_shape *shape_of(const char *col)
{
	sl_field f;
	sl_field_init(&f, col, SL_TYPE_INT64);
	f.key_pos = 1;
	sl_shape *s = sl_shape_new(&f, 1);
	sl_field_reset(&f);
	return s;
}

/* Append one row with value v to table t's batch. */
static int row(sl_txb *b, int t, sl_shape *shape, int64_t v, enum sl_op op, bool may_flush)
{
	sl_error err = {0};
	sl_changes *c;
	assert_int_equal(sl_txb_batch(b, t, shape, &c, &err), 0);
	size_t before = sl_changes_bytes(c);
	sl_col_append_i64(&c->rows->cols[0], v);
	sl_changes_end_row(c, op, NULL);
	return sl_txb_added(b, c, before, may_flush, &err);
}

static int64_t rows_of(const sl_msg *m)
{
	assert_int_equal(m->kind, SL_MSG_ROWS);
	return m->changes->rows->length;
}

static void test_order_and_flush(void **state)
{
	(void)state;
	struct sink k = {0};
	sl_txb b;
	sl_txb_init(&b, 3, 1 << 20, sink_emit, &k);
	sl_shape *s0 = shape_of("a"), *s2 = shape_of("b");
	assert_int_equal(row(&b, 2, s2, 1, SL_OP_UPSERT, true), 0);
	assert_int_equal(row(&b, 0, s0, 2, SL_OP_UPSERT, true), 0);
	assert_int_equal(row(&b, 2, s2, 3, SL_OP_DELETE, true), 0);
	assert_int_equal(k.n, 0); /* under the limit: nothing handed on yet */
	assert_true(b.bytes > 0);
	sl_error err = {0};
	assert_int_equal(sl_txb_flush(&b, &err), 0);
	assert_int_equal(k.n, 2); /* table 2 first: touched first */
	assert_int_equal(k.got[0]->table, 2);
	assert_int_equal(rows_of(k.got[0]), 2);
	assert_int_equal(k.got[1]->table, 0);
	assert_int_equal(rows_of(k.got[1]), 1);
	assert_int_equal(b.bytes, 0);
	assert_int_equal(b.ntouched, 0);
	assert_int_equal(sl_txb_flush(&b, &err), 0); /* nothing more */
	assert_int_equal(k.n, 2);
	sink_free(&k);
	sl_txb_free(&b);
	sl_shape_unref(s0);
	sl_shape_unref(s2);
}

static void test_limit_keeps_pairs(void **state)
{
	(void)state;
	struct sink k = {0};
	sl_txb b;
	sl_txb_init(&b, 1, 1, sink_emit, &k); /* any row reaches the limit */
	sl_shape *s = shape_of("a");
	/* a key change: the DELETE may not flush, its new row may */
	assert_int_equal(row(&b, 0, s, 1, SL_OP_DELETE, false), 0);
	assert_int_equal(k.n, 0);
	assert_true(sl_txb_full(&b));
	assert_int_equal(row(&b, 0, s, 2, SL_OP_UPSERT, true), 0);
	assert_int_equal(k.n, 1);
	assert_int_equal(rows_of(k.got[0]), 2); /* the pair in one batch */
	assert_int_equal(b.bytes, 0);
	/* a failing emit is reported */
	k.fail_at = 2;
	assert_true(row(&b, 0, s, 3, SL_OP_UPSERT, true) < 0);
	sink_free(&k);
	sl_txb_free(&b);
	sl_shape_unref(s);
}

static void test_shape_change_and_forget(void **state)
{
	(void)state;
	struct sink k = {0};
	sl_txb b;
	sl_txb_init(&b, 2, 1 << 20, sink_emit, &k);
	sl_shape *old = shape_of("a"), *new = shape_of("a2");
	assert_int_equal(row(&b, 0, old, 1, SL_OP_UPSERT, true), 0);
	assert_int_equal(row(&b, 0, new, 2, SL_OP_UPSERT, true), 0);
	assert_int_equal(k.n, 1); /* the old shape's row went first */
	assert_ptr_equal(k.got[0]->changes->shape, old);
	assert_int_equal(b.ntouched, 1);
	/* a truncate forgets table 0's rows, its bytes too */
	sl_txb_discard(&b, 0);
	assert_null(b.pending[0]);
	assert_int_equal(b.bytes, 0);
	assert_int_equal(row(&b, 1, old, 3, SL_OP_UPSERT, true), 0);
	sl_txb_drop(&b); /* a skipped transaction */
	assert_null(b.pending[1]);
	assert_int_equal(b.ntouched, 0);
	assert_int_equal(b.bytes, 0);
	sl_error err = {0};
	assert_int_equal(sl_txb_flush(&b, &err), 0);
	assert_int_equal(k.n, 1);
	/* rows left at the end are freed with the builder */
	assert_int_equal(row(&b, 1, new, 4, SL_OP_UPSERT, true), 0);
	sink_free(&k);
	sl_txb_free(&b);
	sl_shape_unref(old);
	sl_shape_unref(new);
}

static void test_shape_same(void **state)
{
	(void)state;
	sl_field f[2];
	sl_field_init(&f[0], "id", SL_TYPE_INT64);
	sl_field_init(&f[1], "d", SL_TYPE_DECIMAL128);
	f[0].key_pos = 1;
	f[1].precision = 10;
	f[1].scale = 2;
	f[1].source_type = strdup("numeric(10,2)");
	sl_shape *s = sl_shape_new(f, 2);
	assert_true(sl_shape_same(s, f, 2, s->key_known));
	assert_false(sl_shape_same(NULL, f, 2, s->key_known));
	assert_false(sl_shape_same(s, f, 1, s->key_known));
	assert_false(sl_shape_same(s, f, 2, !s->key_known));
	sl_field g[2];
	for (int c = 0; c < 7; c++) {
		memcpy(g, f, sizeof g);
		switch (c) {
		case 0:
			g[1].scale = 3;
			break;
		case 1:
			g[1].precision = 12;
			break;
		case 2:
			g[1].nullable = !g[1].nullable;
			break;
		case 3:
			g[1].key_pos = 2;
			break;
		case 4:
			g[1].source_type = "numeric(12,2)";
			break;
		case 5:
			g[1].type = SL_TYPE_UTF8;
			break;
		case 6:
			g[1].name = "e";
			break;
		}
		assert_false(sl_shape_same(s, g, 2, s->key_known));
	}
	assert_true(sl_field_same(&f[0], &s->fields[0]));
	sl_shape_unref(s);
	sl_field_reset(&f[0]);
	sl_field_reset(&f[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_order_and_flush),
	        cmocka_unit_test(test_limit_keeps_pairs),
	        cmocka_unit_test(test_shape_change_and_forget),
	        cmocka_unit_test(test_shape_same),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
