/* The CDC apply loop (core/cdc.c) between a scripted source and a recording target: no
 * servers. The source emits a fixed list of messages and ends (`once`); the target checks and
 * records every batch it is handed. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/cdc.h"
#include "core/change.h"

/* ---------------------------------------------------------------- fakes ---- */

struct fake {
	sl_msg *script[64];
	int nscript;
	/* what the target saw */
	int nbatches;
	int64_t rows[64];         /* rows per apply_changes */
	int64_t max_values;       /* largest values buffer of any column handed over */
	int64_t max_child_values; /* same for list children */
	int moves_split;          /* MOVE rows whose DELETE was not in the same batch */
	int commits;
};

static struct fake F;

static int fake_stream_open(sl_source *src, const sl_catalog *cat, const char *from, bool once,
                            sl_stream **out, sl_error *err)
{
	(void)src, (void)cat, (void)from, (void)once, (void)err;
	*out = (sl_stream *)&F;
	return 0;
}

static int fake_stream_run(sl_stream *s, sl_emit_fn emit, void *ctx, volatile int *stop,
                           sl_error *err)
{
	(void)s, (void)err;
	for (int i = 0; i < F.nscript; i++) {
		int rc;
		while ((rc = emit(ctx, F.script[i])) == 1 && !*stop)
			;
		if (rc < 0) {
			sl_msg_free(F.script[i]);
			F.script[i] = NULL;
			return SL_ERR_CANCELLED;
		}
		F.script[i] = NULL; /* taken */
	}
	return 0;
}

static void fake_stream_ack(sl_stream *s, uint64_t version)
{
	(void)s, (void)version;
}

static void fake_stream_close(sl_stream *s)
{
	(void)s;
	for (int i = 0; i < F.nscript; i++)
		sl_msg_free(F.script[i]);
	F.nscript = 0;
}

static int fake_apply_open(sl_target *tgt, const sl_catalog *cat, const char *epoch,
                           uint64_t converge_until, sl_applier **out, sl_durable *d, sl_error *err)
{
	(void)tgt, (void)cat, (void)epoch, (void)converge_until, (void)err;
	memset(d, 0, sizeof *d);
	*out = (sl_applier *)&F;
	return 0;
}

static int fake_apply_shape(sl_applier *a, int t, sl_shape *shape, bool *stale, sl_error *err)
{
	(void)a, (void)t, (void)shape, (void)err;
	*stale = false;
	return 0;
}

static int fake_apply_changes(sl_applier *a, const sl_changes *c, const uint8_t *dead,
                              sl_error *err)
{
	(void)a, (void)dead, (void)err;
	assert_true(sl_batch_is_consistent(c->rows));
	F.rows[F.nbatches++] = c->rows->length;
	for (int i = 0; i < c->rows->ncols; i++) {
		const sl_column *col = &c->rows->cols[i];
		int64_t v = (int64_t)col->values.len;
		if (v > F.max_values)
			F.max_values = v;
		if (col->child && (int64_t)col->child->values.len > F.max_child_values)
			F.max_child_values = (int64_t)col->child->values.len;
	}
	for (int64_t r = 0; r < c->rows->length; r++) {
		if (sl_changes_op(c, r) != SL_OP_MOVE)
			continue;
		int64_t p = sl_changes_pair(c, r);
		if (p < 0 || p >= r ||
		    (sl_changes_op(c, p) != SL_OP_DELETE && sl_changes_op(c, p) != SL_OP_KEYREF))
			F.moves_split++;
	}
	return 0;
}

static int fake_apply_truncate(sl_applier *a, int t, uint64_t version, sl_error *err)
{
	(void)a, (void)t, (void)version, (void)err;
	return 0;
}

static int fake_apply_commit(sl_applier *a, const sl_msg *commit, sl_error *err)
{
	(void)a, (void)commit, (void)err;
	F.commits++;
	return 0;
}

static void fake_apply_void(sl_applier *a)
{
	(void)a;
}

static const sl_source_ops fake_sops = {
        .type = "fake",
        .stream_open = fake_stream_open,
        .stream_run = fake_stream_run,
        .stream_ack = fake_stream_ack,
        .stream_close = fake_stream_close,
};

static const sl_target_ops fake_tops = {
        .type = "fake",
        .apply_open = fake_apply_open,
        .apply_shape = fake_apply_shape,
        .apply_changes = fake_apply_changes,
        .apply_truncate = fake_apply_truncate,
        .apply_commit = fake_apply_commit,
        .apply_rollback = fake_apply_void,
        .apply_cancel = fake_apply_void,
        .apply_close = fake_apply_void,
};

/* ---------------------------------------------------------------- script ---- */

/* One table "s.t": id int64 (key), v utf8, tags list<utf8> (without tags: table_init_flat). */
struct table {
	sl_field fields[3];
	int nfields;
	int key[1];
	sl_table_def def;
	sl_catalog cat;
	sl_shape *shape;
};

static void table_init_n(struct table *t, int nfields)
{
	memset(t, 0, sizeof *t);
	t->nfields = nfields;
	sl_field_init(&t->fields[0], "id", SL_TYPE_INT64);
	sl_field_init(&t->fields[1], "v", SL_TYPE_UTF8);
	if (nfields == 3) {
		sl_field_init(&t->fields[2], "tags", SL_TYPE_LIST);
		sl_field *e = malloc(sizeof *e);
		sl_field_init(e, "item", SL_TYPE_UTF8);
		sl_field_set_child(&t->fields[2], e);
	}
	t->def.schema = "s";
	t->def.name = "t";
	t->def.qualified = "s.t";
	t->def.fields = t->fields;
	t->def.nfields = nfields;
	t->def.key = t->key;
	t->def.nkey = 1;
	t->cat.tables = &t->def;
	t->cat.ntables = 1;
	t->shape = sl_shape_new(t->fields, nfields);
}

static void table_init(struct table *t)
{
	table_init_n(t, 3);
}

static void table_init_flat(struct table *t)
{
	table_init_n(t, 2);
}

static void table_free(struct table *t)
{
	sl_shape_unref(t->shape);
	for (int i = 0; i < t->nfields; i++)
		sl_field_reset(&t->fields[i]);
}

static void push(sl_msg *m)
{
	assert_true(F.nscript < 64);
	F.script[F.nscript++] = m;
}

static void push_begin(uint64_t version)
{
	sl_msg *m = sl_msg_new(SL_MSG_BEGIN);
	m->version = version;
	push(m);
}

static void push_commit(uint64_t version)
{
	sl_msg *m = sl_msg_new(SL_MSG_COMMIT);
	m->version = version;
	m->commit_us = (int64_t)time(NULL) * 1000000;
	char pos[32];
	snprintf(pos, sizeof pos, "%" PRIu64, version);
	sl_msg_set_position(m, pos);
	push(m);
}

static void push_schema(struct table *t)
{
	sl_msg *m = sl_msg_new(SL_MSG_SCHEMA);
	m->table = 0;
	m->shape = sl_shape_ref(t->shape);
	push(m);
}

/* A row: op, key, `vlen` bytes of v (< 0: unchanged), `ntags` tags of `tlen` bytes. */
static void add_row(sl_changes *c, enum sl_op op, int64_t id, int vlen, int ntags, int tlen)
{
	static char x[4096];
	memset(x, 'x', sizeof x);
	uint8_t u[1] = {0};
	sl_col_append_i64(&c->rows->cols[0], id);
	if (vlen < 0) {
		sl_col_append_null(&c->rows->cols[1]);
		u[0] |= 2;
	} else {
		sl_col_append_bytes(&c->rows->cols[1], x, (size_t)vlen);
	}
	if (c->rows->ncols < 3)
		assert_int_equal(ntags, 0);
	else {
		for (int k = 0; k < ntags; k++)
			sl_col_append_bytes(c->rows->cols[2].child, x, (size_t)tlen);
		sl_col_end_list(&c->rows->cols[2]);
	}
	sl_changes_end_row(c, op, u[0] ? u : NULL);
}

static sl_msg *rows_msg(struct table *t)
{
	sl_msg *m = sl_msg_new(SL_MSG_ROWS);
	m->table = 0;
	m->changes = sl_changes_new(0, t->shape);
	return m;
}

static int run(struct table *t, int64_t col_limit, sl_error *err)
{
	sl_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.apply_max_group_bytes = 64 << 20;
	cfg.apply_max_delay_ms = 60000;
	cfg.queue_bytes = 64 << 20;
	sl_cdc_progress progress;
	memset(&progress, 0, sizeof progress);
	sl_cdc_params p = {.cfg = &cfg,
	                   .sops = &fake_sops,
	                   .tops = &fake_tops,
	                   .cat = &t->cat,
	                   .epoch = "0",
	                   .once = true,
	                   .progress = &progress,
	                   .col_limit = col_limit};
	memset(err, 0, sizeof *err);
	return sl_cdc_run(&p, err);
}

/* ---------------------------------------------------------------- tests ---- */

/* A table's pending batch is cut before a column would pass the limit (SL_COL_MAX_BYTES in
 * the agent, 1000 bytes here): value bytes, list elements' bytes, and a value an unchanged
 * column copies from the row it replaces all count; a key change's DELETE and MOVE are never
 * split. Nothing is lost: every row reaches the target. */
static void test_cdc_cut_before_offsets_wrap(void **state)
{
	(void)state;
	struct table t;
	table_init(&t);
	memset(&F, 0, sizeof F);
	push_schema(&t);
	push_begin(1);
	sl_msg *m = rows_msg(&t);
	for (int i = 1; i <= 5; i++) /* 5 x 300 bytes of v: cut after 3 */
		add_row(m->changes, SL_OP_UPSERT, i, 300, 0, 0);
	push(m);
	push_commit(1);
	push_begin(2);
	m = rows_msg(&t);
	for (int i = 11; i <= 14; i++) /* 4 x 300 bytes in list elements: cut after 3 */
		add_row(m->changes, SL_OP_UPSERT, i, 0, 3, 100);
	push(m);
	m = rows_msg(&t);
	add_row(m->changes, SL_OP_UPSERT, 21, 300, 0, 0);
	add_row(m->changes, SL_OP_UPSERT, 22, 300, 0, 0);
	add_row(m->changes, SL_OP_UPSERT, 23, 300, 0, 0);
	/* key 21 -> 31 with v unchanged: the MOVE copies 300 bytes from row 21, the DELETE
	 * itself is small; the cut must come before the DELETE */
	add_row(m->changes, SL_OP_DELETE, 21, 0, 0, 0);
	add_row(m->changes, SL_OP_MOVE, 31, -1, 0, 0);
	push(m);
	push_commit(2);
	sl_error err;
	int rc = run(&t, 1000, &err);
	if (rc != 0)
		fail_msg("%s", err.msg);
	assert_true(F.commits >= 1);
	assert_true(F.max_values <= 1000);
	assert_true(F.max_child_values <= 1000);
	assert_int_equal(F.moves_split, 0);
	int64_t total = 0;
	for (int i = 0; i < F.nbatches; i++)
		total += F.rows[i];
	assert_int_equal(total, 5 + 4 + 5);
	assert_true(F.nbatches >= 4); /* three cuts at least */
	table_free(&t);
}

/* A table without lists takes a shortcut: a message whose rows copy no unchanged value skips
 * the per-row check while the pending batch and the message together fit. The cuts must come
 * where they did, also when the pending batch is nearly full and a row copies an unchanged
 * value from it (which the shortcut must not take). */
static void test_cdc_cut_without_lists(void **state)
{
	(void)state;
	struct table t;
	table_init_flat(&t);
	memset(&F, 0, sizeof F);
	push_schema(&t);
	push_begin(1);
	sl_msg *m = rows_msg(&t);
	add_row(m->changes, SL_OP_UPSERT, 1, 600, 0, 0);
	push(m);
	/* 600 pending: key 1 again with v unchanged would copy 600 bytes from row 1 -> 1200, so
	 * the row must go into a new batch although the message itself is tiny */
	m = rows_msg(&t);
	add_row(m->changes, SL_OP_UPSERT, 1, -1, 0, 0);
	push(m);
	/* after the cut key 1's row has nothing to copy from (the target supplies it): 0 bytes;
	 * two rows of 300 in one message: 600 pending... */
	m = rows_msg(&t);
	add_row(m->changes, SL_OP_UPSERT, 4, 300, 0, 0);
	add_row(m->changes, SL_OP_UPSERT, 5, 300, 0, 0);
	push(m);
	/* ...and two of 300 more: 1200 together, so a cut between them */
	m = rows_msg(&t);
	add_row(m->changes, SL_OP_UPSERT, 6, 300, 0, 0);
	add_row(m->changes, SL_OP_UPSERT, 7, 300, 0, 0);
	push(m);
	push_commit(1);
	sl_error err;
	int rc = run(&t, 1000, &err);
	if (rc != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(F.commits, 1);
	assert_true(F.max_values <= 1000);
	assert_int_equal(F.nbatches, 3);
	assert_int_equal(F.rows[0], 1);
	assert_int_equal(F.rows[1], 4); /* 1 (copied), 4, 5, 6 */
	assert_int_equal(F.rows[2], 1);
	table_free(&t);
}

/* One value larger than the limit is an SL_ERR_DATA error naming table and column, before
 * anything is appended. */
static void test_cdc_value_too_large(void **state)
{
	(void)state;
	const int vlen[2] = {1001, 0}, ntags[2] = {0, 11};
	const char *col[2] = {"column v", "column tags"};
	for (int k = 0; k < 2; k++) {
		struct table t;
		table_init(&t);
		memset(&F, 0, sizeof F);
		push_schema(&t);
		push_begin(1);
		sl_msg *m = rows_msg(&t);
		add_row(m->changes, SL_OP_UPSERT, 1, 10, 0, 0);
		add_row(m->changes, SL_OP_UPSERT, 2, vlen[k], ntags[k], 100);
		push(m);
		push_commit(1);
		sl_error err;
		int rc = run(&t, 1000, &err);
		assert_int_equal(rc, SL_ERR_DATA);
		assert_int_equal(err.code, SL_ERR_DATA);
		assert_false(err.retryable);
		if (strstr(err.msg, "s.t") == NULL || strstr(err.msg, col[k]) == NULL ||
		    strstr(err.msg, "at most 1000") == NULL)
			fail_msg("unexpected message: %s", err.msg);
		assert_int_equal(F.commits, 0);
		table_free(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cdc_cut_before_offsets_wrap),
	        cmocka_unit_test(test_cdc_cut_without_lists),
	        cmocka_unit_test(test_cdc_value_too_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
