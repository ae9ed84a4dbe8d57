/* The buffer (core/buffer.c, core/segment.c) between a scripted source and a transactional fake
 * target, through a file:// store in a temporary directory: no servers.
 *
 * The source plays a fixed history of transactions (inserts, updates, deletes, an unchanged
 * TOAST column, a list column, a shape change) and resumes strictly after the position it is
 * opened from, as a real one does. The target applies a group's changes to its rows only at
 * commit, keeps its durable version, fails on request, and counts an INSERT of a key it holds
 * as a duplicate. The expected rows come from the history itself. */
#include <dirent.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buffer.h"
#include "core/cdc.h"
#include "core/change.h"
#include "core/segment.h"

#define NTXN 40
#define MAXID 1000

/* ---------------------------------------------------------------- table ---- */

/* "s.t": id int64 (key), v utf8, tags list<utf8>; a later shape adds n int32. */
static sl_field fields[4];
static int key[1] = {0};
static sl_table_def def;
static sl_catalog cat;
static sl_shape *shape1, *shape2;

static void table_init(void)
{
	memset(fields, 0, sizeof fields);
	sl_field_init(&fields[0], "id", SL_TYPE_INT64);
	sl_field_init(&fields[1], "v", SL_TYPE_UTF8);
	sl_field_init(&fields[2], "tags", SL_TYPE_LIST);
	sl_field *e = malloc(sizeof *e);
	sl_field_init(e, "item", SL_TYPE_UTF8);
	sl_field_set_child(&fields[2], e);
	sl_field_init(&fields[3], "n", SL_TYPE_INT32);
	fields[3].source_type = strdup("integer");
	memset(&def, 0, sizeof def);
	def.schema = "s";
	def.name = "t";
	def.qualified = "s.t";
	def.fields = fields;
	def.nfields = 4;
	def.key = key;
	def.nkey = 1;
	memset(&cat, 0, sizeof cat);
	cat.tables = &def;
	cat.ntables = 1;
	shape1 = sl_shape_new(fields, 3);
	shape2 = sl_shape_new(fields, 4);
}

static void table_free(void)
{
	sl_shape_unref(shape1);
	sl_shape_unref(shape2);
	for (int i = 0; i < 4; i++)
		sl_field_reset(&fields[i]);
}

/* ---------------------------------------------------------------- source ---- */

/* The history: transaction k (1..NTXN) has version 10 * k and inserts ids 3k, 3k+1, 3k+2 with
 * v of k bytes; updates id 3(k-1) (v of 100 + k bytes, or unchanged every fifth); deletes id
 * 3(k-2)+1. From transaction 20 on, rows have the shape with n. */
struct src {
	uint64_t from; /* version the last stream_open resumes after */
	int opens;
	uint64_t acked; /* the highest version acknowledged */
	char from_text[64];
};
static struct src S;

static sl_shape *shape_of(int k)
{
	return k >= 20 ? shape2 : shape1;
}

static void add_row(sl_changes *c, enum sl_op op, int64_t id, int vlen, int k)
{
	static char x[512];
	memset(x, 'a' + (int)(id % 26), sizeof x);
	uint8_t u = 0;
	sl_col_append_i64(&c->rows->cols[0], id);
	if (vlen < 0) {
		sl_col_append_null(&c->rows->cols[1]);
		u |= 2;
	} else {
		sl_col_append_bytes(&c->rows->cols[1], x, (size_t)vlen);
	}
	for (int i = 0; i < (int)(id % 3); i++)
		sl_col_append_bytes(c->rows->cols[2].child, x, 2);
	sl_col_end_list(&c->rows->cols[2]);
	if (c->rows->ncols > 3)
		sl_col_append_i32(&c->rows->cols[3], k);
	sl_changes_end_row(c, op, u ? &u : NULL);
}

static int emit_one(sl_emit_fn emit, void *ctx, sl_msg *m, volatile int *stop)
{
	int rc;
	while ((rc = emit(ctx, m)) == 1 && !*stop)
		;
	if (rc != 0) {
		sl_msg_free(m);
		return SL_ERR_CANCELLED;
	}
	return 0;
}

static int src_open(sl_source *src, const sl_catalog *c, const char *from, bool once,
                    sl_stream **out, sl_error *err)
{
	(void)src, (void)c, (void)once, (void)err;
	S.from = strtoull(from, NULL, 10);
	snprintf(S.from_text, sizeof S.from_text, "%s", from);
	S.opens++;
	*out = (sl_stream *)&S;
	return 0;
}

static int src_run(sl_stream *s, sl_emit_fn emit, void *ctx, volatile int *stop, sl_error *err)
{
	(void)s, (void)err;
	sl_shape *last = NULL;
	for (int k = 1; k <= NTXN; k++) {
		uint64_t v = 10 * (uint64_t)k;
		if (v <= S.from)
			continue;
		if (shape_of(k) != last) {
			last = shape_of(k);
			sl_msg *m = sl_msg_new(SL_MSG_SCHEMA);
			m->table = 0;
			m->shape = sl_shape_ref(last);
			SL_TRY(emit_one(emit, ctx, m, stop));
		}
		sl_msg *b = sl_msg_new(SL_MSG_BEGIN);
		b->version = v;
		b->txid = (uint64_t)k;
		int64_t when = 1700000000000000LL + k;
		b->commit_us = when;
		SL_TRY(emit_one(emit, ctx, b, stop));
		sl_msg *m = sl_msg_new(SL_MSG_ROWS);
		m->table = 0;
		m->changes = sl_changes_new(0, last);
		for (int i = 0; i < 3; i++)
			add_row(m->changes, SL_OP_INSERT, 3 * k + i, k, k);
		if (k > 1)
			add_row(m->changes, SL_OP_UPSERT, 3 * (k - 1), k % 5 == 0 ? -1 : 100 + k,
			        k);
		if (k > 2)
			add_row(m->changes, SL_OP_DELETE, 3 * (k - 2) + 1, 0, k);
		SL_TRY(emit_one(emit, ctx, m, stop));
		sl_msg *c = sl_msg_new(SL_MSG_COMMIT);
		c->version = v;
		c->commit_us = when;
		char pos[32];
		snprintf(pos, sizeof pos, "%" PRIu64, v);
		sl_msg_set_position(c, pos);
		SL_TRY(emit_one(emit, ctx, c, stop));
	}
	return 0;
}

static void src_ack(sl_stream *s, uint64_t version)
{
	(void)s;
	if (version > S.acked)
		S.acked = version;
}

static void src_close(sl_stream *s)
{
	(void)s;
}

/* ---------------------------------------------------------------- target ---- */

struct row {
	bool live;
	int vlen; /* -1: never set */
	int ntags;
	int n;
};

struct tgt {
	struct row rows[MAXID];    /* committed */
	struct row pending[MAXID]; /* the open group */
	bool dirty[MAXID];
	uint64_t durable;
	int commits, fail_at; /* fail the fail_at-th commit (0: never) */
	int duplicates;
};
static struct tgt T;

static int tgt_open(sl_target *tgt, const sl_catalog *c, const char *epoch, uint64_t cu,
                    sl_applier **out, sl_durable *d, sl_error *err)
{
	(void)tgt, (void)c, (void)epoch, (void)cu, (void)err;
	memset(d, 0, sizeof *d);
	d->found = T.durable > 0;
	d->version = T.durable;
	snprintf(d->position, sizeof d->position, "%" PRIu64, T.durable);
	memcpy(T.pending, T.rows, sizeof T.rows);
	memset(T.dirty, 0, sizeof T.dirty);
	*out = (sl_applier *)&T;
	return 0;
}

static int tgt_durable(sl_target *tgt, const char *epoch, sl_durable *d, sl_error *err)
{
	sl_applier *a;
	return tgt_open(tgt, NULL, epoch, 0, &a, d, err);
}

static int tgt_shape(sl_applier *a, int t, sl_shape *shape, bool *stale, sl_error *err)
{
	(void)a, (void)t, (void)shape, (void)err;
	*stale = false;
	return 0;
}

static int tgt_changes(sl_applier *a, const sl_changes *c, const uint8_t *dead, sl_error *err)
{
	(void)a, (void)err;
	assert_true(sl_batch_is_consistent(c->rows));
	for (int64_t r = 0; r < c->rows->length; r++) {
		if (dead && (dead[r >> 3] >> (r & 7)) & 1)
			continue;
		int64_t id = *(const int64_t *)sl_col_value_ptr(&c->rows->cols[0], r, 8);
		assert_true(id >= 0 && id < MAXID);
		struct row *w = &T.pending[id];
		char op = sl_changes_op(c, r);
		if (op == SL_OP_DELETE) {
			w->live = false;
			continue;
		}
		if (op == SL_OP_INSERT && w->live)
			T.duplicates++;
		w->live = true;
		if (!sl_changes_is_unchanged(c, r, 1)) {
			int32_t len;
			sl_col_bytes(&c->rows->cols[1], r, &len);
			w->vlen = len;
		}
		const int32_t *off = (const int32_t *)c->rows->cols[2].offsets.data;
		w->ntags = off[r + 1] - off[r];
		w->n = c->rows->ncols > 3
		               ? *(const int32_t *)sl_col_value_ptr(&c->rows->cols[3], r, 4)
		               : 0;
	}
	return 0;
}

static int tgt_truncate(sl_applier *a, int t, uint64_t version, sl_error *err)
{
	(void)a, (void)t, (void)version, (void)err;
	return 0;
}

static int tgt_commit(sl_applier *a, const sl_msg *commit, sl_error *err)
{
	(void)a;
	if (++T.commits == T.fail_at)
		return sl_error_set(err, SL_ERR_SERVER, "the target failed on purpose");
	assert_true(commit->version > T.durable);
	memcpy(T.rows, T.pending, sizeof T.rows);
	T.durable = commit->version;
	return 0;
}

static void tgt_rollback(sl_applier *a)
{
	(void)a;
	memcpy(T.pending, T.rows, sizeof T.rows);
}

static void tgt_void(sl_applier *a)
{
	(void)a;
}

static const sl_source_ops sops = {
        .type = "fake",
        .stream_open = src_open,
        .stream_run = src_run,
        .stream_ack = src_ack,
        .stream_close = src_close,
};

static const sl_target_ops tops = {
        .type = "fake",
        .apply_open = tgt_open,
        .apply_shape = tgt_shape,
        .apply_changes = tgt_changes,
        .apply_truncate = tgt_truncate,
        .apply_commit = tgt_commit,
        .apply_rollback = tgt_rollback,
        .apply_cancel = tgt_void,
        .apply_close = tgt_void,
        .durable = tgt_durable,
};

/* ---------------------------------------------------------------- helpers ---- */

static char dir[128], url[160];

static void rm_rf(const char *path)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

/* Objects under dir whose name ends in suffix (recursively). */
static int count_files(const char *path, const char *suffix)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char sub[512];
		snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
		struct stat st;
		if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
			n += count_files(sub, suffix);
		} else {
			size_t l = strlen(e->d_name), sl = strlen(suffix);
			n += l >= sl && strcmp(e->d_name + l - sl, suffix) == 0;
		}
	}
	closedir(d);
	return n;
}

static void expected(struct row *want)
{
	memset(want, 0, sizeof(struct row) * MAXID);
	for (int k = 1; k <= NTXN; k++) {
		for (int i = 0; i < 3; i++) {
			int64_t id = 3 * k + i;
			want[id] = (struct row){true, k, (int)(id % 3), k >= 20 ? k : 0};
		}
		if (k > 1) {
			struct row *w = &want[3 * (k - 1)];
			if (k % 5 != 0)
				w->vlen = 100 + k;
			w->ntags = (3 * (k - 1)) % 3;
			w->n = k >= 20 ? k : 0;
		}
		if (k > 2)
			want[3 * (k - 2) + 1].live = false;
	}
}

static void assert_rows(void)
{
	static struct row want[MAXID];
	expected(want);
	for (int id = 0; id < MAXID; id++) {
		if (want[id].live != T.rows[id].live)
			fail_msg("id %d: live %d, expected %d", id, T.rows[id].live, want[id].live);
		if (!want[id].live)
			continue;
		if (want[id].vlen != T.rows[id].vlen || want[id].ntags != T.rows[id].ntags ||
		    want[id].n != T.rows[id].n)
			fail_msg("id %d: v %d tags %d n %d, expected %d %d %d", id, T.rows[id].vlen,
			         T.rows[id].ntags, T.rows[id].n, want[id].vlen, want[id].ntags,
			         want[id].n);
	}
	assert_int_equal(T.duplicates, 0);
}

static int64_t group_bytes = 64 << 20;

static int run(bool buffered, int64_t segment_size, sl_error *err)
{
	sl_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.apply_max_group_bytes = group_bytes;
	cfg.apply_max_delay_ms = 60000;
	cfg.queue_bytes = 1 << 20;
	cfg.buffer_url = buffered ? url : NULL;
	cfg.buffer_max_size = 1LL << 30;
	cfg.buffer_segment_size = segment_size;
	sl_cdc_progress progress;
	memset(&progress, 0, sizeof progress);
	sl_cdc_params p = {.cfg = &cfg,
	                   .sops = &sops,
	                   .tops = &tops,
	                   .cat = &cat,
	                   .epoch = "0",
	                   .once = true,
	                   .progress = &progress};
	memset(err, 0, sizeof *err);
	int rc = 0;
	if (buffered)
		rc = sl_buffer_open(&cfg, "0", &p.buffer, err);
	if (rc == 0)
		rc = sl_cdc_run(&p, err);
	sl_buffer_close(p.buffer);
	return rc;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/sluice-test-buffer-%d", (int)getpid());
	snprintf(url, sizeof url, "file://%s", dir);
	rm_rf(dir);
	mkdir(dir, 0700);
	memset(&S, 0, sizeof S);
	memset(&T, 0, sizeof T);
	table_init();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	table_free();
	rm_rf(dir);
	return 0;
}

/* ---------------------------------------------------------------- tests ---- */

/* Through the buffer the target ends with exactly the rows it gets without one, the source is
 * acknowledged up to the last transaction, and every applied segment is deleted; small
 * segments make many of them. */
static void test_buffer_same_rows(void **state)
{
	(void)state;
	sl_error err;
	if (run(false, 0, &err) != 0)
		fail_msg("%s", err.msg);
	assert_rows();
	memset(&T, 0, sizeof T);
	memset(&S, 0, sizeof S);
	if (run(true, 2000, &err) != 0)
		fail_msg("%s", err.msg);
	assert_rows();
	assert_int_equal(T.durable, 10 * NTXN);
	assert_int_equal(S.acked, 10 * NTXN);
	assert_int_equal(count_files(dir, ".seg"), 0);
	assert_int_equal(count_files(dir, "head"), 1);
}

/* The target fails at its third commit: the source side goes on filling the buffer; the next
 * run opens the source after what the buffer holds (not after what the target holds), and the
 * target gets every transaction once, although the segment it stopped in holds transactions
 * it has. */
static void test_buffer_target_fails(void **state)
{
	(void)state;
	sl_error err;
	T.fail_at = 3;
	group_bytes = 1; /* a target commit per transaction; segments of several */
	int rc = run(true, 3000, &err);
	assert_int_equal(rc, SL_ERR_SERVER);
	uint64_t held = T.durable;
	assert_true(held < 10 * NTXN);
	int segs = count_files(dir, ".seg");
	assert_true(segs > 0);
	/* the source was acknowledged for what the buffer holds, past what the target holds */
	assert_true(S.acked > held);
	uint64_t acked = S.acked;
	/* the segment holding the failed commit's transaction holds the two before it */
	assert_int_equal(held, 20);
	T.fail_at = 0;
	if (run(true, 3000, &err) != 0)
		fail_msg("%s", err.msg);
	group_bytes = 64 << 20;
	assert_int_equal(S.from, acked);
	assert_rows();
	assert_int_equal(T.durable, 10 * NTXN);
	assert_int_equal(count_files(dir, ".seg"), 0);
}

/* A segment read back decodes to what was written; a flipped byte or a cut file is an error
 * that names the segment, never a crash or a silent skip. */
static void test_segment_damaged(void **state)
{
	(void)state;
	sl_error err;
	T.fail_at = 1; /* nothing applied: the segments stay */
	assert_int_equal(run(true, 1 << 20, &err), SL_ERR_SERVER);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "find '%s' -name '*.seg' | head -1", dir);
	FILE *f = popen(cmd, "r");
	char path[256] = "";
	assert_non_null(fgets(path, sizeof path, f));
	pclose(f);
	path[strcspn(path, "\n")] = 0;
	/* flip a byte in the middle of the records */
	FILE *seg = fopen(path, "r+b");
	assert_non_null(seg);
	fseek(seg, 0, SEEK_END);
	long size = ftell(seg);
	fseek(seg, size / 2, SEEK_SET);
	int c = fgetc(seg);
	fseek(seg, size / 2, SEEK_SET);
	fputc(c ^ 0x5a, seg);
	fclose(seg);
	T.fail_at = 0;
	assert_int_equal(run(true, 1 << 20, &err), SL_ERR_DATA);
	assert_non_null(strstr(err.msg, "is damaged"));
	assert_non_null(strstr(err.msg, ".seg"));
	/* cut: no trailer */
	assert_int_equal(truncate(path, size - 3), 0);
	assert_int_equal(run(true, 1 << 20, &err), SL_ERR_DATA);
	assert_non_null(strstr(err.msg, "is damaged"));
	/* the transactions before the damaged record are intact (their records' checksums match)
	 * and may be applied; none after it */
	assert_true(T.durable < 10 * NTXN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_buffer_same_rows, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_buffer_target_fails, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_segment_damaged, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
