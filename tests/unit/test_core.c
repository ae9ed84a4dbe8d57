/* Core: Arrow-layout batches and their C Data Interface export, schema export, the bounded
 * queue's backpressure, order-independent digests, the SQLite state store. */
#define _GNU_SOURCE /* pthread_timedjoin_np */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>
#if defined(__SANITIZE_ADDRESS__)
size_t __sanitizer_get_current_allocated_bytes(void); /* ASan runtime */
#else
#include <malloc.h>
#endif

#include "core/batch.h"
#include "core/config.h"
#include "core/change.h"
#include "core/digest.h"
#include "core/fkeys.h"
#include "core/follow.h"
#include "core/hist.h"
#include "core/queue.h"
#include "core/state.h"
#include "core/types.h"
#include "core/url.h"

static void test_batch_export(void **state)
{
	(void)state;
	sl_field f[3];
	sl_field_init(&f[0], "id", SL_TYPE_INT32);
	sl_field_init(&f[1], "name", SL_TYPE_UTF8);
	sl_field_init(&f[2], "tags", SL_TYPE_LIST);
	sl_field *e = malloc(sizeof *e);
	sl_field_init(e, "item", SL_TYPE_INT64);
	sl_field_set_child(&f[2], e);
	sl_batch *b = sl_batch_create(f, 3);
	for (int r = 0; r < 10; r++) {
		if (r == 3)
			sl_col_append_null(&b->cols[0]);
		else
			sl_col_append_i32(&b->cols[0], r * 10);
		if (r % 2)
			sl_col_append_null(&b->cols[1]);
		else
			sl_col_append_bytes(&b->cols[1], "ab", (size_t)(r % 3));
		for (int k = 0; k < r % 3; k++)
			sl_col_append_i64(b->cols[2].child, r * 100 + k);
		sl_col_end_list(&b->cols[2]);
		sl_batch_end_row(b);
	}
	assert_true(sl_batch_is_consistent(b));

	struct ArrowArray a;
	sl_batch_export(b, &a);
	assert_int_equal(a.length, 10);
	assert_int_equal(a.n_children, 3);
	const struct ArrowArray *id = a.children[0], *name = a.children[1], *tags = a.children[2];
	assert_int_equal(id->null_count, 1);
	assert_int_equal(id->n_buffers, 2);
	const uint8_t *valid = id->buffers[0];
	assert_int_equal(valid[0] & (1 << 3), 0);
	assert_int_equal(((const int32_t *)id->buffers[1])[9], 90);
	assert_int_equal(name->n_buffers, 3);
	assert_int_equal(name->null_count, 5);
	const int32_t *off = name->buffers[1];
	assert_int_equal(off[0], 0);
	assert_int_equal(off[10], off[9] + 0); /* row 9 is null */
	assert_int_equal(off[5] - off[4], 1);  /* row 4: 4 % 3 = 1 byte */
	assert_int_equal(tags->n_children, 1);
	assert_null(tags->buffers[0]); /* no nulls: validity may be omitted */
	const int32_t *toff = tags->buffers[1];
	assert_int_equal(toff[10], tags->children[0]->length);
	assert_int_equal(((const int64_t *)tags->children[0]->buffers[1])[0], 100);
	/* the batch is reusable after export */
	assert_int_equal(b->length, 0);
	sl_col_append_i32(&b->cols[0], 7);
	sl_col_append_bytes(&b->cols[1], "x", 1);
	sl_col_end_list(&b->cols[2]);
	sl_batch_end_row(b);
	assert_true(sl_batch_is_consistent(b));
	a.release(&a);
	assert_null(a.release);
	sl_batch_destroy(b);
	for (int i = 0; i < 3; i++)
		sl_field_reset(&f[i]);
}

static int32_t rd_i32(const char *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void test_schema_export(void **state)
{
	(void)state;
	sl_field f[4];
	sl_field_init(&f[0], "amount", SL_TYPE_DECIMAL128);
	f[0].precision = 12;
	f[0].scale = 2;
	f[0].source_type = strdup("numeric(12,2)");
	f[0].nullable = false;
	sl_field_init(&f[1], "at", SL_TYPE_TIMESTAMP);
	f[1].unit = SL_UNIT_US;
	f[1].tz = strdup("UTC");
	sl_field_init(&f[2], "doc", SL_TYPE_UTF8);
	f[2].ext_name = strdup("arrow.json");
	sl_field_init(&f[3], "big", SL_TYPE_DECIMAL256);
	f[3].precision = 76;
	f[3].scale = 20;
	struct ArrowSchema s;
	sl_fields_export_schema("t", f, 4, &s);
	assert_string_equal(s.format, "+s");
	assert_int_equal(s.n_children, 4);
	assert_string_equal(s.children[0]->format, "d:12,2");
	assert_string_equal(s.children[0]->name, "amount");
	assert_int_equal(s.children[0]->flags & ARROW_FLAG_NULLABLE, 0);
	assert_string_equal(s.children[1]->format, "tsu:UTC");
	assert_string_equal(s.children[3]->format, "d:76,20,256");
	/* metadata: int32 count, then (int32 len, bytes) pairs */
	const char *m = s.children[0]->metadata;
	assert_int_equal(rd_i32(m), 1);
	assert_int_equal(rd_i32(m + 4), (int32_t)strlen("sluice.source_type"));
	assert_memory_equal(m + 8, "sluice.source_type", 18);
	assert_int_equal(rd_i32(m + 26), 13);
	assert_memory_equal(m + 30, "numeric(12,2)", 13);
	m = s.children[2]->metadata;
	assert_int_equal(rd_i32(m), 1);
	assert_memory_equal(m + 8, "ARROW:extension:name", 20);
	char d[64];
	assert_string_equal(sl_field_describe(&f[1], d, sizeof d), "Timestamp(us, \"UTC\")");
	assert_string_equal(sl_field_describe(&f[0], d, sizeof d), "Decimal128(12, 2)");
	sl_field iv;
	sl_field_init(&iv, "d", SL_TYPE_INTERVAL_DT);
	assert_string_equal(sl_field_format(&iv, d, sizeof d), "tiD");
	assert_string_equal(sl_field_describe(&iv, d, sizeof d), "Interval(DayTime)");
	assert_int_equal(sl_type_value_width(&iv), 8);
	sl_field_reset(&iv);
	/* canonical Interval(DayTime): days and ms share the sign, |ms| < one day */
	sl_interval_dt v;
	assert_true(sl_interval_dt_from_ms(-INT64_C(86400001), &v));
	assert_int_equal(v.days, -1);
	assert_int_equal(v.ms, -1);
	assert_true(sl_interval_dt_from_ms(INT64_C(3020399999), &v));
	assert_int_equal(v.days, 34);
	assert_int_equal(v.ms, INT64_C(3020399999) - 34 * INT64_C(86400000));
	assert_int_equal(sl_interval_dt_to_ms((sl_interval_dt){1, -1000}), 86399000);
	assert_false(sl_interval_dt_from_ms(INT64_MAX, &v));
	s.release(&s);
	assert_null(s.release);
	for (int i = 0; i < 4; i++)
		sl_field_reset(&f[i]);
}

/* The producer announces each push before making it (attempting) and records it once it
 * returned (pushed); the consumer announces each pop before making it (popping). The queue
 * bounds the producer iff, whenever a push returns, at most two items are in the queue:
 * pushed - popping <= 2 (popping counts a pop about to happen, so this can only under-report). */
struct producer {
	sl_queue *q;
	int attempting, pushed, popping, overrun, last_rc;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	for (int i = 0; i < 10; i++) {
		int *v = malloc(sizeof *v);
		*v = i;
		__atomic_store_n(&p->attempting, i + 1, __ATOMIC_SEQ_CST);
		int rc = sl_queue_push(p->q, v, 1, 100);
		__atomic_store_n(&p->last_rc, rc, __ATOMIC_SEQ_CST);
		if (rc < 0) {
			free(v);
			break;
		}
		if (i + 1 - __atomic_load_n(&p->popping, __ATOMIC_SEQ_CST) > 2)
			__atomic_store_n(&p->overrun, i + 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&p->pushed, i + 1, __ATOMIC_SEQ_CST);
	}
	sl_queue_close(p->q);
	return NULL;
}

static void free_int(void *item, int kind)
{
	(void)kind;
	free(item);
}

/* Wait (at most 10 s, polling every millisecond) until the producer has made `attempting`
 * push calls of which `pushed` returned and the queue holds `bytes`: a state, not a delay. */
static bool wait_producer(struct producer *p, int attempting, int pushed, size_t bytes)
{
	for (int ms = 0; ms < 10000; ms++) {
		if (__atomic_load_n(&p->attempting, __ATOMIC_SEQ_CST) == attempting &&
		    __atomic_load_n(&p->pushed, __ATOMIC_SEQ_CST) == pushed &&
		    sl_queue_bytes(p->q) == bytes)
			return true;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return false;
}

/* Join within 10 s, or fail (a producer that never wakes up must not hang the suite). */
static void join_within(pthread_t t)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	if (pthread_timedjoin_np(t, NULL, &dl) != 0)
		fail_msg("the producer thread did not finish within 10 s");
}

static void test_queue_backpressure(void **state)
{
	(void)state;
	sl_queue *q = sl_queue_create(250); /* room for two items of 100 bytes */
	struct producer p = {.q = q};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, produce, &p), 0);
	/* the producer ran: two items queued, and it is inside its third push */
	if (!wait_producer(&p, 3, 2, 200))
		fail_msg("producer never reached its third push: attempting %d, pushed %d, %zu "
		         "bytes",
		         p.attempting, p.pushed, sl_queue_bytes(q));
	/* a third push that returned before any pop would show here (or as overrun below) */
	assert_int_equal(__atomic_load_n(&p.pushed, __ATOMIC_SEQ_CST), 2);
	assert_int_equal(sl_queue_bytes(q), 200);
	int expect = 0;
	void *item;
	int kind;
	size_t bytes;
	for (;;) {
		__atomic_add_fetch(&p.popping, 1, __ATOMIC_SEQ_CST);
		if (sl_queue_pop(q, &item, &kind, &bytes) != 1)
			break;
		assert_int_equal(*(int *)item, expect++); /* FIFO */
		assert_int_equal(bytes, 100);
		free(item);
	}
	assert_int_equal(expect, 10);
	join_within(t);
	assert_int_equal(p.pushed, 10);
	assert_int_equal(p.overrun, 0); /* no push returned with more than two items queued */
	sl_queue_destroy(q, NULL);

	/* abort wakes a producer blocked in its second push, which fails; later calls fail too */
	q = sl_queue_create(100);
	p = (struct producer){.q = q};
	assert_int_equal(pthread_create(&t, NULL, produce, &p), 0);
	if (!wait_producer(&p, 2, 1, 100))
		fail_msg("producer never reached its second push: attempting %d, pushed %d",
		         p.attempting, p.pushed);
	sl_queue_abort(q);
	join_within(t);
	assert_int_equal(p.pushed, 1);
	assert_int_equal(p.last_rc, -1); /* the blocked push returned the abort */
	assert_int_equal(sl_queue_pop(q, &item, &kind, &bytes), -1);
	int *v = malloc(sizeof *v);
	assert_int_equal(sl_queue_push(q, v, 1, 1), -1);
	free(v);
	sl_queue_destroy(q, free_int); /* frees what the aborted queue still holds */
}

static void test_queue_oversized_item(void **state)
{
	(void)state;
	sl_queue *q = sl_queue_create(10);
	int *v = malloc(sizeof *v);
	assert_int_equal(sl_queue_push(q, v, 1, 1000),
	                 0); /* bigger than the budget, queue empty: accepted */
	sl_queue_destroy(q, free_int);
}

/* Rows copied within one batch (what the CDC applier does when an update takes unchanged
 * values from the row it replaces): values survive buffer growth; hashes and equality see
 * values, nulls and list contents. */
static void test_row_copy_hash_equal(void **state)
{
	(void)state;
	sl_field f[3];
	sl_field_init(&f[0], "id", SL_TYPE_INT64);
	sl_field_init(&f[1], "doc", SL_TYPE_UTF8);
	sl_field_init(&f[2], "tags", SL_TYPE_LIST);
	sl_field *e = malloc(sizeof *e);
	sl_field_init(e, "item", SL_TYPE_UTF8);
	sl_field_set_child(&f[2], e);
	sl_batch *b = sl_batch_create(f, 3);
	char big[3000];
	memset(big, 'x', sizeof big);
	sl_col_append_i64(&b->cols[0], 7);
	sl_col_append_bytes(&b->cols[1], big, sizeof big);
	sl_col_append_bytes(&b->cols[2].child[0], "a", 1);
	sl_col_append_bytes(&b->cols[2].child[0], "bc", 2);
	sl_col_end_list(&b->cols[2]);
	sl_batch_end_row(b);
	/* 200 copies of row 0 into the same batch force reallocations mid-copy */
	for (int r = 0; r < 200; r++) {
		for (int c = 0; c < 3; c++)
			sl_col_append_from(&b->cols[c], &b->cols[c], r);
		sl_batch_end_row(b);
	}
	assert_true(sl_batch_is_consistent(b));
	int32_t n;
	const uint8_t *p = sl_col_bytes(&b->cols[1], 200, &n);
	assert_int_equal(n, sizeof big);
	assert_memory_equal(p, big, sizeof big);
	for (int c = 0; c < 3; c++) {
		assert_true(sl_col_equal(&b->cols[c], 0, &b->cols[c], 200));
		assert_true(sl_col_hash(&b->cols[c], 0, 1) == sl_col_hash(&b->cols[c], 200, 1));
	}
	sl_col_append_i64(&b->cols[0], 8);
	sl_col_append_null(&b->cols[1]);
	sl_col_append_bytes(&b->cols[2].child[0], "abc", 3);
	sl_col_end_list(&b->cols[2]);
	sl_batch_end_row(b);
	for (int c = 0; c < 3; c++) {
		assert_false(sl_col_equal(&b->cols[c], 0, &b->cols[c], 201));
		assert_true(sl_col_hash(&b->cols[c], 0, 1) != sl_col_hash(&b->cols[c], 201, 1));
	}
	sl_batch_destroy(b);
	for (int c = 0; c < 3; c++)
		sl_field_reset(&f[c]);
}

/* The row index: the latest row put per key (two key columns), found from another batch too,
 * through growth; nothing after a clear. */
static void test_row_index(void **state)
{
	(void)state;
	sl_field f[3];
	sl_field_init(&f[0], "v", SL_TYPE_INT64);
	sl_field_init(&f[1], "k1", SL_TYPE_INT64);
	sl_field_init(&f[2], "k2", SL_TYPE_UTF8);
	sl_batch *b = sl_batch_create(f, 3), *probe = sl_batch_create(f, 3);
	const int key[] = {1, 2};
	sl_row_index x = {0};
	char s[16];
	for (int i = 0; i < 2000; i++) {
		sl_col_append_i64(&b->cols[0], i);
		sl_col_append_i64(&b->cols[1], i % 300);
		int n = snprintf(s, sizeof s, "k%d", i % 7);
		if (i % 300 == 5)
			sl_col_append_null(&b->cols[2]); /* a null key part is a value of its own */
		else
			sl_col_append_bytes(&b->cols[2], s, (size_t)n);
		sl_batch_end_row(b);
		sl_row_index_put(&x, b, key, 2, i);
	}
	/* key (i % 300, i % 7) repeats every 2100 rows: each of the 2000 rows is its own key but
	 * for the null ones, which share (5, null) */
	for (int i = 0; i < 2000; i++) {
		int64_t want = i % 300 == 5 ? 1805 : i;
		assert_int_equal(sl_row_index_find(&x, b, key, 2, b, i), want);
	}
	sl_col_append_i64(&probe->cols[0], 0);
	sl_col_append_i64(&probe->cols[1], 17);
	sl_col_append_bytes(&probe->cols[2], "k3", 2); /* row 17: 17 % 300 = 17, 17 % 7 = 3 */
	sl_batch_end_row(probe);
	assert_int_equal(sl_row_index_find(&x, b, key, 2, probe, 0), 17);
	sl_col_append_i64(&probe->cols[0], 0);
	sl_col_append_i64(&probe->cols[1], 17);
	sl_col_append_bytes(&probe->cols[2], "k33", 3);
	sl_batch_end_row(probe);
	assert_int_equal(sl_row_index_find(&x, b, key, 2, probe, 1), -1);
	/* a later row of a key replaces the earlier one */
	sl_col_append_i64(&b->cols[0], 2000);
	sl_col_append_i64(&b->cols[1], 17);
	sl_col_append_bytes(&b->cols[2], "k3", 2);
	sl_batch_end_row(b);
	sl_row_index_put(&x, b, key, 2, 2000);
	assert_int_equal(sl_row_index_find(&x, b, key, 2, probe, 0), 2000);
	sl_row_index_clear(&x);
	assert_int_equal(sl_row_index_find(&x, b, key, 2, probe, 0), -1);
	sl_row_index_free(&x);
	assert_int_equal(sl_row_index_find(&x, b, key, 2, probe, 0), -1);
	sl_batch_destroy(b), sl_batch_destroy(probe);
	for (int c = 0; c < 3; c++)
		sl_field_reset(&f[c]);
}

/* Change batches: the unchanged mask appears with the first row that has one, earlier rows read
 * as all changed. */
static void test_changes_unchanged_mask(void **state)
{
	(void)state;
	sl_field f[2];
	sl_field_init(&f[0], "id", SL_TYPE_INT32);
	sl_field_init(&f[1], "doc", SL_TYPE_UTF8);
	sl_shape *shape = sl_shape_new(f, 2);
	sl_changes *c = sl_changes_new(0, shape);
	sl_col_append_i32(&c->rows->cols[0], 1);
	sl_col_append_bytes(&c->rows->cols[1], "v", 1);
	sl_changes_end_row(c, SL_OP_UPSERT, NULL);
	uint8_t u = 2; /* column 1 unchanged */
	sl_col_append_i32(&c->rows->cols[0], 1);
	sl_col_append_null(&c->rows->cols[1]);
	sl_changes_end_row(c, SL_OP_UPSERT, &u);
	sl_col_append_i32(&c->rows->cols[0], 2);
	sl_col_append_null(&c->rows->cols[1]);
	sl_changes_end_row(c, SL_OP_DELETE, NULL);
	assert_false(sl_changes_is_unchanged(c, 0, 1));
	assert_true(sl_changes_is_unchanged(c, 1, 1));
	assert_false(sl_changes_is_unchanged(c, 1, 0));
	assert_false(sl_changes_is_unchanged(c, 2, 1));
	assert_int_equal(sl_changes_op(c, 2), SL_OP_DELETE);
	sl_changes_free(c);
	sl_shape_unref(shape);
	sl_field_reset(&f[0]);
	sl_field_reset(&f[1]);
}

static void test_digest_order_independent(void **state)
{
	(void)state;
	sl_field f[2];
	sl_field_init(&f[0], "a", SL_TYPE_INT64);
	sl_field_init(&f[1], "b", SL_TYPE_UTF8);
	sl_batch *x = sl_batch_create(f, 2), *y = sl_batch_create(f, 2), *z = sl_batch_create(f, 2);
	for (int r = 0; r < 100; r++) {
		sl_col_append_i64(&x->cols[0], r);
		sl_col_append_bytes(&x->cols[1], "v", 1);
		sl_batch_end_row(x);
		sl_col_append_i64(&y->cols[0], 99 - r);
		sl_col_append_bytes(&y->cols[1], "v", 1);
		sl_batch_end_row(y);
		sl_col_append_i64(&z->cols[0], r);
		if (r == 50)
			sl_col_append_null(&z->cols[1]);
		else
			sl_col_append_bytes(&z->cols[1], "v", 1);
		sl_batch_end_row(z);
	}
	sl_digest dx = {0}, dy = {0}, dz = {0};
	sl_digest_add_batch(&dx, x);
	sl_digest_add_batch(&dy, y);
	sl_digest_add_batch(&dz, z);
	assert_int_equal(dx.rows, 100);
	assert_true(dx.sum == dy.sum);
	assert_true(dx.sum != dz.sum); /* one NULL differs */
	sl_batch_destroy(x);
	sl_batch_destroy(y);
	sl_batch_destroy(z);
	sl_field_reset(&f[0]);
	sl_field_reset(&f[1]);
}

static void test_state_store(void **state)
{
	(void)state;
	char dir[] = "/tmp/sluice-state-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char url[128];
	snprintf(url, sizeof url, "sqlite://%s/s.db", dir);
	sl_state *st;
	sl_error err = {0};
	assert_int_equal(sl_state_open(url, "p1", &st, &err), 0);
	sl_pipeline_state ps;
	assert_int_equal(sl_state_load(st, &ps, &err), 0);
	assert_false(ps.found);
	assert_int_equal(sl_state_begin_snapshot(st, "postgres h:1/db slot s", "0/16B3748", &err),
	                 0);
	assert_int_equal(sl_state_table_set(st, "public.a", SL_TABLE_DONE, 42, &err), 0);
	assert_int_equal(sl_state_table_set(st, "public.b", SL_TABLE_PENDING, 0, &err), 0);
	sl_state_close(st);

	/* reopen: survives; another pipeline name sees nothing */
	assert_int_equal(sl_state_open(url, "p1", &st, &err), 0);
	assert_int_equal(sl_state_load(st, &ps, &err), 0);
	assert_true(ps.found);
	assert_string_equal(ps.position, "0/16B3748");
	assert_false(ps.snapshot_done);
	sl_table_status ts;
	int64_t rows;
	assert_int_equal(sl_state_table_get(st, "public.a", &ts, &rows, &err), 0);
	assert_int_equal(ts, SL_TABLE_DONE);
	assert_int_equal(rows, 42);
	/* a new consistent point: loaded tables must be reloaded, untouched ones stay pending */
	assert_int_equal(sl_state_begin_snapshot(st, "postgres h:1/db slot s", "0/2000000", &err),
	                 0);
	assert_int_equal(sl_state_table_get(st, "public.a", &ts, &rows, &err), 0);
	assert_int_equal(ts, SL_TABLE_LOADING);
	assert_int_equal(sl_state_table_get(st, "public.b", &ts, &rows, &err), 0);
	assert_int_equal(ts, SL_TABLE_PENDING);
	assert_int_equal(sl_state_finish_snapshot(st, &err), 0);
	assert_int_equal(sl_state_load(st, &ps, &err), 0);
	assert_true(ps.snapshot_done);
	sl_state_close(st);
	assert_int_equal(sl_state_open(url, "other", &st, &err), 0);
	assert_int_equal(sl_state_load(st, &ps, &err), 0);
	assert_false(ps.found);
	sl_state_close(st);

	/* bad urls */
	assert_true(sl_state_open("postgres://x", "p", &st, &err) < 0);
	assert_non_null(strstr(err.msg, "sqlite://"));
	assert_true(sl_state_open("sqlite:///nonexistent-dir/x/y.db", "p", &st, &err) < 0);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static int64_t state_count(const char *path, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *stmt;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return n;
}

static void state_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Positions far longer than the old 1 kB limit round-trip whole (consistent point and applied
 * position); one longer than sluice reads is an error, never cut. */
static void test_state_long_position(void **state)
{
	(void)state;
	char dir[] = "/tmp/sluice-state-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char url[128], path[128];
	snprintf(path, sizeof path, "%s/s.db", dir);
	snprintf(url, sizeof url, "sqlite://%s", path);
	sl_error err = {0};
	sl_state *st;
	assert_int_equal(sl_state_open(url, "p1", &st, &err), 0);
	size_t n = 20000;
	char *pos = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		pos[i] = (char)('0' + i % 10);
	pos[n] = '\0';
	assert_int_equal(sl_state_begin_snapshot(st, "mysql h:1", pos, &err), 0);
	sl_pipeline_state *ps = malloc(sizeof *ps);
	assert_int_equal(sl_state_load(st, ps, &err), 0);
	assert_string_equal(ps->position, pos);
	sl_state_position *p = calloc(1, sizeof *p);
	p->found = true;
	memcpy(p->position, pos, n + 1);
	assert_int_equal(sl_state_position_set(st, "e", p, &err), 0);
	memset(p, 0, sizeof *p);
	assert_int_equal(sl_state_position_get(st, "e", p, &err), 0);
	assert_true(p->found);
	assert_string_equal(p->position, pos);
	/* too long to read: an error naming the store, not a shorter position */
	state_exec(path, "UPDATE sluice_position SET position = printf('%.*c', 70000, 'x')");
	assert_int_equal(sl_state_position_get(st, "e", p, &err), SL_ERR_STATE);
	assert_non_null(strstr(err.msg, "longer than sluice reads"));
	state_exec(path, "UPDATE sluice_pipeline SET position = printf('%.*c', 70000, 'x')");
	assert_int_equal(sl_state_load(st, ps, &err), SL_ERR_STATE);
	sl_state_close(st);
	free(pos);
	free(ps);
	free(p);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* sl_state_reset is all or nothing: when its last statement fails, the pipeline's table
 * statuses and position are still there; when it succeeds, all of the pipeline's rows are gone
 * and another pipeline's stay. */
static void test_state_reset_atomic(void **state)
{
	(void)state;
	char dir[] = "/tmp/sluice-state-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char url[128], path[128];
	snprintf(path, sizeof path, "%s/s.db", dir);
	snprintf(url, sizeof url, "sqlite://%s", path);
	sl_error err = {0};
	const char *names[] = {"p1", "p2"};
	for (int i = 0; i < 2; i++) {
		sl_state *st;
		assert_int_equal(sl_state_open(url, names[i], &st, &err), 0);
		assert_int_equal(sl_state_begin_snapshot(st, "postgres h:1/db", "0/16B3748", &err),
		                 0);
		assert_int_equal(sl_state_table_set(st, "public.a", SL_TABLE_DONE, 1, &err), 0);
		assert_int_equal(sl_state_table_set(st, "public.b", SL_TABLE_LOADING, 2, &err), 0);
		sl_state_position pos = {.found = true, .version = 7};
		snprintf(pos.position, sizeof pos.position, "0/2000000");
		assert_int_equal(sl_state_position_set(st, "0/16B3748", &pos, &err), 0);
		sl_state_close(st);
	}
	static const char *const counts[] = {
	        "SELECT count(*) FROM sluice_pipeline WHERE name = 'p1'",
	        "SELECT count(*) FROM sluice_table WHERE pipeline = 'p1'",
	        "SELECT count(*) FROM sluice_position WHERE pipeline = 'p1'",
	        "SELECT count(*) FROM sluice_pipeline WHERE name = 'p2'",
	        "SELECT count(*) FROM sluice_table WHERE pipeline = 'p2'",
	        "SELECT count(*) FROM sluice_position WHERE pipeline = 'p2'",
	};
	static const int64_t all[] = {1, 2, 1, 1, 2, 1};
	static const int64_t p1_gone[] = {0, 0, 0, 1, 2, 1};

	/* the last statement (the pipeline row) fails: nothing may be gone */
	state_exec(path, "CREATE TRIGGER keep BEFORE DELETE ON sluice_pipeline "
	                 "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
	sl_state *st;
	assert_int_equal(sl_state_open(url, "p1", &st, &err), 0);
	assert_true(sl_state_reset(st, &err) < 0);
	assert_non_null(strstr(err.msg, "refused by the test"));
	for (int i = 0; i < 6; i++)
		assert_int_equal(state_count(path, counts[i]), all[i]);
	/* the store stays usable: no transaction was left open */
	assert_int_equal(sl_state_table_set(st, "public.c", SL_TABLE_PENDING, 0, &err), 0);
	state_exec(path, "DELETE FROM sluice_table WHERE name = 'public.c'");

	state_exec(path, "DROP TRIGGER keep");
	assert_int_equal(sl_state_reset(st, &err), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(state_count(path, counts[i]), p1_gone[i]);
	sl_state_close(st);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static bool auth(const char *a, char *user, char *pw, char *host, unsigned *port)
{
	user[0] = pw[0] = host[0] = '\0';
	*port = 0;
	return sl_url_authority(a, a + strlen(a), user, 32, pw, 32, host, 32, port);
}

/* Qualified names split back into their parts, quoting included. */
static void test_unqualify(void **state)
{
	(void)state;
	const char *cases[][2] = {{"public", "t"}, {"a.b", "c\"d"}, {"s", "x.y"}, {"", "e"}};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *q = sl_qualify(cases[i][0], cases[i][1]), *s, *n;
		assert_int_equal(sl_unqualify(q, &s, &n), 0);
		assert_string_equal(s, cases[i][0]);
		assert_string_equal(n, cases[i][1]);
		free(q);
		free(s);
		free(n);
	}
	char *s, *n;
	assert_int_equal(sl_unqualify("nodot", &s, &n), -1);
	assert_int_equal(sl_unqualify("a.b.c", &s, &n), -1);
}

/* A table renamed on the source moves everything the state keeps under its name; follow
 * classifies what became of each table by name and identity. */
static void test_state_rename_follow(void **state)
{
	(void)state;
	char dir[] = "/tmp/sluice-state-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char url[128];
	snprintf(url, sizeof url, "sqlite://%s/s.db", dir);
	sl_state *st;
	sl_error err = {0};
	assert_int_equal(sl_state_open(url, "p", &st, &err), 0);
	assert_int_equal(sl_state_table_set(st, "public.a", SL_TABLE_DONE, 7, &err), 0);
	assert_int_equal(sl_state_rules_set(st, "public.a", "rules-a", &err), 0);
	assert_int_equal(sl_state_target_name_set(st, "public.a", "a", &err), 0);
	assert_int_equal(sl_state_table_set(st, "public.b", SL_TABLE_DONE, 3, &err), 0);
	assert_int_equal(sl_state_table_set(st, "public.c", SL_TABLE_DONE, 1, &err), 0);
	const char *kept[] = {"public.a", "public.b", "public.c"}, *ids[] = {"100", "200", "300"},
	           *nocols[] = {NULL, NULL, NULL};
	assert_int_equal(sl_state_remember(st, kept, ids, nocols, 3, &err), 0);

	/* the catalog now: a renamed to a2 (same identity), b as it was, c created again */
	sl_table_def defs[3] = {{0}};
	const char *names[3][2] = {{"public.a2", "100"}, {"public.b", "200"}, {"public.c", "301"}};
	for (int i = 0; i < 3; i++) {
		defs[i].qualified = (char *)names[i][0];
		defs[i].identity = (char *)names[i][1];
	}
	sl_catalog cat = {.tables = defs, .ntables = 3};
	sl_state_table *rows;
	int n, now;
	assert_int_equal(sl_state_tables(st, &rows, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(sl_follow_classify(&cat, &rows[0], &now), SL_FOLLOW_RENAMED);
	assert_int_equal(now, 0);
	assert_int_equal(sl_follow_classify(&cat, &rows[1], &now), SL_FOLLOW_SAME);
	assert_int_equal(now, 1);
	assert_int_equal(sl_follow_classify(&cat, &rows[2], &now), SL_FOLLOW_RECREATED);
	assert_int_equal(now, 2);
	cat.ntables = 2; /* c gone */
	assert_int_equal(sl_follow_classify(&cat, &rows[2], &now), SL_FOLLOW_GONE);
	assert_int_equal(now, -1);
	sl_state_tables_free(rows, n);

	/* the rename moves status, rows, identity, rules and the kept target name */
	assert_int_equal(sl_state_rename(st, "public.a", "public.a2", &err), 0);
	sl_table_status ts;
	int64_t r;
	assert_int_equal(sl_state_table_get(st, "public.a", &ts, &r, &err), 0);
	assert_int_equal(ts, SL_TABLE_PENDING);
	assert_int_equal(sl_state_table_get(st, "public.a2", &ts, &r, &err), 0);
	assert_int_equal(ts, SL_TABLE_DONE);
	assert_int_equal(r, 7);
	char *fp = NULL;
	assert_int_equal(sl_state_rules_get(st, "public.a2", &fp, &err), 0);
	assert_non_null(fp);
	assert_string_equal(fp, "rules-a");
	free(fp);
	char buf[64];
	bool found;
	assert_int_equal(sl_state_target_name_get(st, "public.a2", buf, sizeof buf, &found, &err),
	                 0);
	assert_true(found);
	assert_string_equal(buf, "a");
	/* gone, then back */
	assert_int_equal(sl_state_gone_set(st, "public.c", "dropped on the source", &err), 0);
	assert_int_equal(sl_state_tables(st, &rows, &n, &err), 0);
	assert_string_equal(rows[0].name, "public.a2");
	assert_string_equal(rows[0].identity, "100");
	assert_true(rows[2].gone_at > 0);
	assert_string_equal(rows[2].gone, "dropped on the source");
	sl_state_tables_free(rows, n);
	assert_int_equal(sl_state_gone_set(st, "public.c", NULL, &err), 0);
	assert_int_equal(sl_state_tables(st, &rows, &n, &err), 0);
	assert_int_equal(rows[2].gone_at, 0);
	sl_state_tables_free(rows, n);
	/* reset forgets it all */
	assert_int_equal(sl_state_reset(st, &err), 0);
	assert_int_equal(sl_state_tables(st, &rows, &n, &err), 0);
	assert_int_equal(n, 0);
	sl_state_tables_free(rows, n);
	sl_state_close(st);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Column ids and names as the state keeps them: names with a backslash or a newline come
 * back as they were; fields without a source id are left out. */
static void test_follow_columns(void **state)
{
	(void)state;
	sl_field f[4];
	sl_field_init(&f[0], "id", SL_TYPE_INT32);
	sl_field_init(&f[1], "odd\\name\nline", SL_TYPE_UTF8);
	sl_field_init(&f[2], "no id", SL_TYPE_UTF8);
	sl_field_init(&f[3], "12 x", SL_TYPE_UTF8);
	f[0].source_id = 1;
	f[1].source_id = 3;
	f[3].source_id = 12;
	char *cols = sl_follow_columns(f, 4);
	assert_non_null(cols);
	assert_null(strchr(strchr(cols, '\n') + 1, '\n') == NULL ? NULL : strstr(cols, "no id"));
	char *n = sl_follow_column_name(cols, 3);
	assert_string_equal(n, "odd\\name\nline");
	free(n);
	n = sl_follow_column_name(cols, 12);
	assert_string_equal(n, "12 x");
	free(n);
	assert_null(sl_follow_column_name(cols, 2));
	assert_null(sl_follow_column_name(NULL, 1));
	free(cols);
	assert_null(sl_follow_columns(&f[2], 1));
	for (int i = 0; i < 4; i++)
		sl_field_reset(&f[i]);
}

static void fk_table(sl_catalog *cat, const char *name, int nkey, int n, ...)
{
	va_list ap;
	va_start(ap, n);
	cat->tables = realloc(cat->tables, sizeof *cat->tables * (size_t)(cat->ntables + 1));
	sl_table_def *t = &cat->tables[cat->ntables++];
	memset(t, 0, sizeof *t);
	t->schema = strdup("s");
	t->name = strdup(name);
	t->qualified = sl_qualify("s", name);
	t->fields = calloc((size_t)n, sizeof *t->fields);
	t->nfields = n;
	for (int i = 0; i < n; i++)
		sl_field_init(&t->fields[i], va_arg(ap, const char *), SL_TYPE_INT32);
	t->key = calloc(1, sizeof *t->key);
	t->nkey = nkey; /* the first field */
	va_end(ap);
}

static void fk_add(sl_catalog *cat, const char *name, const char *child, const char *ccol,
                   const char *parent, const char *pcol, sl_fk_action del, sl_fk_action upd)
{
	char *c = sl_qualify("s", child), *p = sl_qualify("s", parent);
	char *cc = (char *)ccol, *pc = (char *)pcol;
	sl_catalog_add_fk(cat, name, c, p, 1, &cc, &pc, del, upd);
	free(c);
	free(p);
}

/* The steps of the foreign-key plans (core/fkeys.h): deepest deletes first, updates passed
 * down through the columns they change, and what cannot be done said per key. */
static void test_fk_plans(void **state)
{
	(void)state;
	sl_catalog cat = {0};
	fk_table(&cat, "a", 1, 1, "id");
	fk_table(&cat, "b", 1, 2, "id", "a_id");
	fk_table(&cat, "c", 0, 2, "id", "b_id"); /* keyless */
	fk_table(&cat, "d", 1, 2, "a_id", "x");
	fk_table(&cat, "e", 1, 2, "id", "parent");
	fk_table(&cat, "f", 1, 2, "id", "g_id");
	fk_add(&cat, "fk_b", "b", "a_id", "a", "id", SL_FK_CASCADE, SL_FK_CASCADE);
	fk_add(&cat, "fk_c", "c", "b_id", "b", "id", SL_FK_SET_NULL, SL_FK_NO_ACTION);
	fk_add(&cat, "fk_d", "d", "a_id", "b", "a_id", SL_FK_NO_ACTION, SL_FK_CASCADE);
	fk_add(&cat, "fk_e", "e", "parent", "e", "id", SL_FK_CASCADE, SL_FK_NO_ACTION);
	fk_add(&cat, "fk_f", "f", "g_id", "g", "id", SL_FK_CASCADE, SL_FK_CASCADE);
	char **problems = NULL;
	sl_fk_plan **plans = sl_fk_plans_build(&cat, false, &problems);
	/* a: c's SET NULL (through b's cascaded delete) before b's delete; then b's update and
	 * d's, which references the column of b that changes with a */
	const sl_fk_plan *p = plans[0];
	assert_non_null(p);
	assert_int_equal(p->ndelete, 2);
	assert_int_equal(p->nsteps, 4);
	assert_int_equal(p->steps[0].kind, SL_FKS_SET_NULL);
	assert_int_equal(p->steps[0].table, 2);
	assert_int_equal(p->steps[0].nchain, 2);
	assert_string_equal(p->steps[0].chain[0]->name, "fk_b");
	assert_int_equal(p->steps[1].kind, SL_FKS_DELETE);
	assert_int_equal(p->steps[1].table, 1);
	assert_int_equal(p->steps[2].kind, SL_FKS_UPDATE);
	assert_int_equal(p->steps[2].table, 1);
	assert_string_equal(p->steps[2].from[0], "id");
	assert_int_equal(p->steps[3].kind, SL_FKS_UPDATE);
	assert_int_equal(p->steps[3].table, 3);
	assert_int_equal(p->steps[3].nchain, 2);
	assert_string_equal(p->steps[3].from[0], "id");
	assert_false(p->steps[3].to_null);
	assert_int_equal(p->ncols, 1);
	assert_true(p->reads[1] && p->reads[2] && p->reads[3]);
	assert_false(p->reads[0] || p->reads[4]);
	/* b: c's SET NULL; d follows b.a_id */
	p = plans[1];
	assert_non_null(p);
	assert_int_equal(p->ndelete, 1);
	assert_int_equal(p->nsteps, 2);
	assert_string_equal(p->cols[0], "a_id");
	assert_null(plans[2]);
	assert_null(plans[3]);
	/* e cascades to itself; f's parent is not selected */
	assert_null(plans[4]);
	assert_non_null(problems[3]);
	assert_non_null(strstr(problems[3], "cycle"));
	assert_non_null(strstr(problems[4], "parent table is not selected"));
	assert_null(problems[0]);
	assert_null(problems[1]);
	for (int k = 0; k < cat.nfks; k++)
		free(problems[k]);
	free(problems);
	sl_fk_plans_free(plans, cat.ntables);
	/* a target that cannot change keyless rows: c's SET NULL is left out and said */
	plans = sl_fk_plans_build(&cat, true, &problems);
	assert_non_null(strstr(problems[1], "without a primary key"));
	assert_int_equal(plans[0]->ndelete, 1);
	assert_int_equal(plans[1]->ndelete, 0);
	for (int k = 0; k < cat.nfks; k++)
		free(problems[k]);
	free(problems);
	sl_fk_plans_free(plans, cat.ntables);
	sl_catalog_free(&cat);
}

/* sl_fd_is_local: a Unix socket pair and TCP to 127.0.0.1 are local; TCP to this machine's
 * own non-loopback address is not (when it has one). */
static int tcp_pair(const struct sockaddr_in *to, int *client, int *server)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = *to;
	a.sin_port = 0;
	socklen_t len = sizeof a;
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) != 0) {
		if (l >= 0)
			close(l);
		return -1;
	}
	*client = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*client, (struct sockaddr *)&a, sizeof a) != 0) {
		close(l);
		close(*client);
		return -1;
	}
	*server = accept(l, NULL, NULL);
	close(l);
	return 0;
}

static void test_fd_is_local(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_true(sl_fd_is_local(sv[0]));
	close(sv[0]);
	close(sv[1]);
	assert_false(sl_fd_is_local(-1));
	int fd = open("/dev/null", O_RDONLY);
	assert_false(sl_fd_is_local(fd)); /* not a socket */
	close(fd);

	struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int c, s;
	assert_int_equal(tcp_pair(&lo, &c, &s), 0);
	assert_true(sl_fd_is_local(c));
	close(c);
	close(s);

	struct ifaddrs *ifs = NULL, *i;
	assert_int_equal(getifaddrs(&ifs), 0);
	for (i = ifs; i; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		const struct sockaddr_in *in = (const struct sockaddr_in *)i->ifa_addr;
		if ((ntohl(in->sin_addr.s_addr) >> 24) == 127)
			continue;
		if (tcp_pair(in, &c, &s) == 0) {
			assert_false(sl_fd_is_local(c));
			close(c);
			close(s);
		}
		break;
	}
	freeifaddrs(ifs);
}

/* An error is one line, whatever a server's text held. */
static void test_error_one_line(void **state)
{
	(void)state;
	sl_error e;
	sl_error_set(&e, SL_ERR_CONNECT, "source: ended: %s; reconnecting",
	             "FATAL:  terminating connection\n");
	assert_string_equal(e.msg, "source: ended: FATAL: terminating connection; reconnecting");
	sl_error_set(&e, SL_ERR_CONNECT, "a\tb\r\nc  d\n");
	assert_string_equal(e.msg, "a b c d");
	sl_error_set(&e, SL_ERR_CONNECT, "kept  as  is");
	assert_string_equal(e.msg, "kept  as  is");
}

/* sl_tls_describe: each mode's words, and the warning only without TLS over the network. */
static void test_tls_describe(void **state)
{
	(void)state;
	char b[256];
	sl_tls_describe(b, sizeof b, "source", "TLSv1.3", "verify-full", false);
	assert_string_equal(b, "TLSv1.3, certificate and host name verified");
	sl_tls_describe(b, sizeof b, "source", "TLSv1.2", "verify-ca", true);
	assert_string_equal(b, "TLSv1.2, certificate verified (not the host name)");
	sl_tls_describe(b, sizeof b, "source", "TLSv1.3", "require", false);
	assert_non_null(strstr(b, "certificate not verified"));
	sl_tls_describe(b, sizeof b, "target", NULL, "prefer", true);
	assert_string_equal(b, "no TLS (the server is on this machine)");
	sl_tls_describe(b, sizeof b, "target", NULL, "prefer", false);
	assert_non_null(strstr(b, "warning: no TLS to a server over the network"));
	assert_non_null(strstr(b, "set target.tls.mode verify-full"));
}

static void test_url_authority(void **state)
{
	(void)state;
	char user[32], pw[32], host[32];
	unsigned port;
	assert_true(auth("u:p%40ss@h.example:8123", user, pw, host, &port));
	assert_string_equal(user, "u");
	assert_string_equal(pw, "p@ss");
	assert_string_equal(host, "h.example");
	assert_int_equal(port, 8123);
	assert_true(auth("a:b@c@host", user, pw, host, &port)); /* the last '@' ends them */
	assert_string_equal(pw, "b@c");
	assert_string_equal(host, "host");
	assert_int_equal(port, 0);
	assert_true(auth("[::1]:9000", user, pw, host, &port));
	assert_string_equal(user, "");
	assert_string_equal(host, "[::1]");
	assert_int_equal(port, 9000);
	assert_false(auth("h:0", user, pw, host, &port));
	assert_false(auth("h:65536", user, pw, host, &port));
	assert_false(auth("h:12x", user, pw, host, &port));
	assert_false(auth("h:", user, pw, host, &port));
	assert_false(auth("[::1", user, pw, host, &port));
	assert_false(auth("a-very-long-host-name-that-does-not-fit", user, pw, host, &port));
}

/* Bytes the process has allocated now (ASan's allocator when it is the one in use). */
static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Percentiles from the histogram agree with the exact sorted samples within 1% (relative;
 * SL_HIST_MIN absolute below it), for several distributions; max and count are exact. */
static void test_hist_percentiles(void **state)
{
	(void)state;
	enum { N = 20000 };
	double *v = malloc(N * sizeof *v);
	for (int dist = 0; dist < 4; dist++) {
		sl_hist h;
		sl_hist_reset(&h);
		uint64_t x = 88172645463325252u;
		for (int i = 0; i < N; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			double u = (double)(x >> 11) / 9007199254740992.0;
			switch (dist) {
			case 0:
				v[i] = 0.001 * (i + 1);
				break; /* 1 ms .. 20 s, uniform */
			case 1:
				v[i] = pow(10, -5 + 8 * u);
				break; /* 10 us .. 1000 s, log-uniform */
			case 2:
				v[i] = i % 100 == 0 ? 30.0 : 0.004;
				break; /* two values */
			default:
				v[i] = -log(1 - u) * 0.05;
				break; /* exponential, mean 50 ms */
			}
			sl_hist_add(&h, v[i]);
		}
		qsort(v, N, sizeof *v, cmp_double);
		assert_int_equal(h.n, N);
		assert_true(h.max == v[N - 1]);
		assert_true(h.min == v[0]);
		const double qs[] = {0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1};
		for (size_t k = 0; k < sizeof qs / sizeof *qs; k++) {
			size_t rank = (size_t)(qs[k] * N);
			double exact = v[rank < N ? rank : N - 1],
			       got = sl_hist_quantile(&h, qs[k]);
			double tol = exact >= SL_HIST_MIN ? exact * 0.01 : SL_HIST_MIN;
			if (fabs(got - exact) > tol)
				fail_msg("distribution %d q %.3f: histogram %.9g, exact %.9g", dist,
				         qs[k], got, exact);
		}
	}
	free(v);
	sl_hist h;
	sl_hist_reset(&h);
	assert_true(sl_hist_quantile(&h, 0.5) == 0);
	sl_hist_add(&h, -1); /* a clock step backwards counts as no lag */
	assert_true(sl_hist_quantile(&h, 0.99) == 0);
}

/* Counting a million samples allocates nothing: memory does not grow with the session. */
static void test_hist_fixed_memory(void **state)
{
	(void)state;
	sl_hist *h = malloc(sizeof *h);
	sl_hist_reset(h);
	size_t before = heap_in_use();
	for (int i = 0; i < 1000000; i++)
		sl_hist_add(h, 0.0001 * (i % 5000));
	size_t after = heap_in_use();
	assert_int_equal(after, before);
	assert_int_equal(h->n, 1000000);
	assert_true(fabs(sl_hist_quantile(h, 0.5) - 0.25) <= 0.25 * 0.01);
	assert_true(sizeof *h < 16 * 1024);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_batch_export),
	        cmocka_unit_test(test_schema_export),
	        cmocka_unit_test(test_queue_backpressure),
	        cmocka_unit_test(test_queue_oversized_item),
	        cmocka_unit_test(test_row_copy_hash_equal),
	        cmocka_unit_test(test_row_index),
	        cmocka_unit_test(test_changes_unchanged_mask),
	        cmocka_unit_test(test_digest_order_independent),
	        cmocka_unit_test(test_unqualify),
	        cmocka_unit_test(test_state_rename_follow),
	        cmocka_unit_test(test_follow_columns),
	        cmocka_unit_test(test_fk_plans),
	        cmocka_unit_test(test_state_store),
	        cmocka_unit_test(test_state_reset_atomic),
	        cmocka_unit_test(test_state_long_position),
	        cmocka_unit_test(test_url_authority),
	        cmocka_unit_test(test_fd_is_local),
	        cmocka_unit_test(test_tls_describe),
	        cmocka_unit_test(test_error_one_line),
	        cmocka_unit_test(test_hist_percentiles),
	        cmocka_unit_test(test_hist_fixed_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
