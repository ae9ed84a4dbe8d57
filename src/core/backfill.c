/* Backfill: copy a table again while its changes stream (see backfill.h). */
#include "core/backfill.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/columns.h"
#include "core/log.h"
#include "core/mem.h"

/* transactions remembered for the race check (backfill.h): the one to catch committed as the
 * watermark was written, usually a few transactions before it; but a commit waiting for a
 * synchronous standby stays invisible to snapshots for as long as the standby takes, while the
 * stream goes on, so keep many (512 KiB) */
#define BF_RING 65536
/* rows handed on per batch while a slice is read */
#define BF_BATCH_BYTES (4u << 20)

struct sl_backfill {
	const sl_config *cfg;
	const sl_source_ops *sops;
	sl_source *src;
	const sl_catalog *cat;
	sl_state *st;
	double last_poll;
	bool *copying; /* per table: a backfill is requested or under way */
	/* the table being copied (cur.name NULL: none) */
	sl_backfill_row cur;
	int table;
	double started;
	char nonce[64]; /* this run's watermarks: "<pid>.<start time>" */
	uint64_t seq;
	/* the slice read, waiting for its watermark */
	bool waiting;
	char mark[96];
	sl_backfill_slice slice;
	char *next; /* the key ending it (NULL: the table's end) */
	sl_unseen unseen;
	double read_secs; /* how long reading the slice held the apply loop up */
	/* the slice handed to the applier, not yet committed */
	bool handed;
	int64_t retries;
	double longest; /* the longest a slice's read held up the apply loop, seconds */
	size_t slice_bytes;
	double not_before; /* a table that could not be locked: try again from then */
	uint64_t *ring;    /* BF_RING ids, the last applied */
	int ring_n, ring_pos;
};

static double bf_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

sl_backfill *sl_backfill_create(const sl_config *cfg, const sl_source_ops *sops, sl_source *src,
                                const sl_catalog *cat, sl_state *st)
{
	if (!sl_source_can_backfill(sops, src) || st == NULL)
		return NULL;
	sl_backfill *b = sl_calloc(1, sizeof *b);
	b->ring = sl_calloc(BF_RING, sizeof *b->ring);
	b->cfg = cfg;
	b->sops = sops;
	b->src = src;
	b->cat = cat;
	b->st = st;
	b->table = -1;
	b->copying = sl_calloc((size_t)(cat->ntables ? cat->ntables : 1), sizeof *b->copying);
	b->last_poll = bf_now() - 10.0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(b->nonce, sizeof b->nonce, "%ld.%lld.%09ld", (long)getpid(), (long long)ts.tv_sec,
	         ts.tv_nsec);
	return b;
}

static void bf_slice_free(sl_backfill *b)
{
	for (int i = 0; i < b->slice.nbatches; i++)
		sl_batch_destroy(b->slice.batches[i]);
	free(b->slice.batches);
	memset(&b->slice, 0, sizeof b->slice);
	free(b->next);
	b->next = NULL;
	sl_unseen_free(&b->unseen);
	b->waiting = b->handed = false;
}

static void bf_forget_current(sl_backfill *b)
{
	bf_slice_free(b);
	free(b->cur.name);
	free(b->cur.after);
	memset(&b->cur, 0, sizeof b->cur);
	b->table = -1;
}

void sl_backfill_destroy(sl_backfill *b)
{
	if (b == NULL)
		return;
	bf_forget_current(b);
	free(b->copying);
	free(b->ring);
	free(b);
}

int sl_backfill_current(const sl_backfill *b)
{
	return b && b->cur.name ? b->table : -1;
}

bool sl_backfill_copying(const sl_backfill *b, int t)
{
	return b && t >= 0 && t < b->cat->ntables && b->copying[t];
}

static int bf_table_index(const sl_backfill *b, const char *name)
{
	for (int i = 0; i < b->cat->ntables; i++)
		if (strcmp(b->cat->tables[i].qualified, name) == 0)
			return i;
	return -1;
}

static int bf_fail(sl_backfill *b, sl_backfill_row *row, const char *reason, sl_error *err)
{
	sl_warn("backfill of %s failed: %s", row->name, reason);
	row->status = SL_BACKFILL_FAILED;
	snprintf(row->reason, sizeof row->reason, "%s", reason);
	return sl_state_backfill_progress(b->st, row, err);
}

/* Read the requests: the oldest one copying becomes the current table. */
static int bf_poll(sl_backfill *b, sl_error *err)
{
	sl_backfill_row *rows;
	int n;
	SL_TRY(sl_state_backfill_list(b->st, &rows, &n, err));
	memset(b->copying, 0, sizeof *b->copying * (size_t)(b->cat->ntables ? b->cat->ntables : 1));
	int rc = 0, pick = -1;
	bool cur_live = false;
	for (int i = 0; i < n && rc == 0; i++) {
		sl_backfill_row *row = &rows[i];
		if (row->status != SL_BACKFILL_COPYING)
			continue;
		int t = bf_table_index(b, row->name);
		if (t < 0) {
			rc = bf_fail(b, row,
			             "the table is not in this pipeline (as the run discovered it)",
			             err);
			continue;
		}
		b->copying[t] = true;
		if (b->cur.name && strcmp(b->cur.name, row->name) == 0 && b->cur.gen == row->gen)
			cur_live = true;
		if (pick < 0)
			pick = i;
	}
	if (rc == 0 && b->cur.name && !cur_live && !b->handed) {
		/* requested again (a new generation), or gone: start from what the store says */
		sl_info("backfill of %s: requested again; starting over", b->cur.name);
		bf_forget_current(b);
	}
	if (rc == 0 && b->cur.name == NULL && pick >= 0) {
		sl_backfill_row *row = &rows[pick];
		b->cur = *row;
		row->name = row->after = NULL; /* moved */
		b->table = bf_table_index(b, b->cur.name);
		b->started = bf_now();
		if (b->cur.after)
			sl_info("backfill of %s: going on after key %s (%" PRId64 " rows copied)",
			        b->cur.name, b->cur.after, b->cur.rows);
		else if (b->cat->tables[b->table].nkey == 0)
			sl_info("backfill of %s: copying it whole while changes stream (it has no "
			        "key: one read, applied as a truncate and its rows)",
			        b->cur.name);
		else
			sl_info("backfill of %s: copying it in slices of %" PRId64
			        " rows while changes stream",
			        b->cur.name, b->cfg->backfill_rows);
	}
	sl_backfill_rows_free(rows, n);
	return rc;
}

static sl_batch *bf_sink(void *ctx, sl_batch *full, sl_error *err)
{
	sl_backfill *b = ctx;
	const sl_table_def *t = &b->cat->tables[b->table];
	/* a table without a key is one slice, held whole until its watermark comes through */
	b->slice_bytes += sl_batch_bytes(full);
	if (b->slice_bytes > (size_t)b->cfg->queue_bytes) {
		if (t->nkey == 0)
			sl_error_set(err, SL_ERR_CONFIG,
			             "the table has no key, so it is copied in one piece held in "
			             "memory, and it is larger than snapshot.queue_size (%" PRId64
			             " bytes): give it a primary key, or raise snapshot.queue_size",
			             b->cfg->queue_bytes);
		else
			sl_error_set(err, SL_ERR_CONFIG,
			             "a slice of %" PRId64
			             " rows is larger than snapshot.queue_size "
			             "(%" PRId64 " bytes): lower snapshot.backfill_rows, or raise "
			             "snapshot.queue_size",
			             b->cfg->backfill_rows, b->cfg->queue_bytes);
		sl_batch_destroy(full);
		return NULL;
	}
	sl_batch *keep = full;
	if (t->masks) {
		keep = sl_batch_create(t->fields, t->nfields);
		sl_columns_mask_batch(t, b->cfg->mask_key, full, keep);
		sl_batch_reset(full);
	}
	b->slice.batches = sl_realloc(b->slice.batches,
	                              sizeof *b->slice.batches * (size_t)(b->slice.nbatches + 1));
	b->slice.batches[b->slice.nbatches++] = keep;
	if (keep != full)
		return full;
	return sl_batch_create(sl_table_read_fields(t), t->nfields);
}

/* Write the low watermark, then read the slice. */
static int bf_read_slice(sl_backfill *b, sl_error *err)
{
	const sl_table_def *t = &b->cat->tables[b->table];
	sl_chunk chunk;
	char *next = NULL;
	SL_TRY(b->sops->backfill_next(b->src, b->cat, b->table, b->cur.after, b->cfg->backfill_rows,
	                              &chunk, &next, err));
	snprintf(b->mark, sizeof b->mark, "%s:%" PRIu64, b->nonce, ++b->seq);
	int64_t rows = 0;
	b->slice.table = b->table;
	b->slice_bytes = 0;
	sl_batch *batch = sl_batch_create(sl_table_read_fields(t), t->nfields);
	int rc = b->sops->backfill_read(b->src, b->cat, &chunk, b->mark, &batch, BF_BATCH_BYTES,
	                                bf_sink, b, &rows, &b->unseen, err);
	if (rc == 0 && batch && batch->length > 0) {
		batch = bf_sink(b, batch, err);
		if (batch == NULL)
			rc = err->code;
	}
	sl_batch_destroy(batch);
	free(chunk.where);
	free(chunk.relation);
	if (rc < 0) {
		free(next);
		bf_slice_free(b);
		return rc;
	}
	b->slice.rows = rows;
	b->next = next;
	b->waiting = true;
	return 0;
}

int sl_backfill_step(sl_backfill *b, sl_error *err)
{
	if (b == NULL || b->waiting || b->handed)
		return 0;
	double now = bf_now();
	if (now - b->last_poll >= 1.0) {
		b->last_poll = now;
		SL_TRY(bf_poll(b, err));
	}
	if (b->cur.name == NULL || now < b->not_before)
		return 0;
	double t0 = bf_now();
	int rc = bf_read_slice(b, err);
	b->read_secs = bf_now() - t0;
	if (rc < 0 && err->rediscover) {
		/* the table's columns changed since discovery: the caller discovers again, and
		 * the copy goes on from its last committed slice */
		bf_slice_free(b);
		return rc;
	}
	if (rc < 0 && err->retryable) {
		/* the copy's own connection failed: the stream goes on, the slice is tried later */
		sl_warn("backfill of %s: %s; trying again in 5 s", b->cur.name, err->msg);
		sl_error_clear(err);
		bf_slice_free(b);
		b->not_before = bf_now() + 5.0;
		return 0;
	}
	if (rc < 0 && strcmp(err->sqlstate, "55P03") == 0) {
		/* a table without a key could not be locked in time: writers hold it */
		sl_info("backfill of %s: %s; trying again in 10 s", b->cur.name, err->msg);
		sl_error_clear(err);
		b->not_before = bf_now() + 10.0;
		return 0;
	}
	if (rc < 0 && !err->retryable && rc != SL_ERR_CANCELLED) {
		/* this table cannot be copied; the stream goes on */
		char reason[sizeof b->cur.reason];
		snprintf(reason, sizeof reason, "%s", err->msg);
		sl_error_clear(err);
		rc = bf_fail(b, &b->cur, reason, err);
		if (rc == 0)
			b->copying[b->table] = false;
		bf_forget_current(b);
	}
	return rc;
}

void sl_backfill_saw_txn(sl_backfill *b, uint64_t txid)
{
	if (b == NULL || txid == 0)
		return;
	b->ring[b->ring_pos] = txid;
	b->ring_pos = (b->ring_pos + 1) % BF_RING;
	if (b->ring_n < BF_RING)
		b->ring_n++;
}

int sl_backfill_on_mark(sl_backfill *b, const sl_msg *m, sl_backfill_slice **out, sl_error *err)
{
	(void)err;
	*out = NULL;
	if (b == NULL || !b->waiting || m->mark == NULL || strcmp(m->mark, b->mark) != 0)
		return 0;
	/* a transaction applied before the watermark that the slice's snapshot did not see (the
	 * listed ids sorted once, then looked up for every remembered one) */
	sl_unseen_sort(&b->unseen);
	for (int k = 0; k < b->ring_n; k++)
		if (sl_unseen_has(&b->unseen, b->ring[k])) {
			sl_debug("backfill of %s: the slice's snapshot missed transaction %" PRIu64
			         " applied before its watermark; reading it again",
			         b->cur.name, b->ring[k]);
			b->retries++;
			bf_slice_free(b);
			return 0;
		}
	b->waiting = false;
	b->handed = true;
	*out = &b->slice;
	return 0;
}

void sl_backfill_applied(sl_backfill *b, double secs)
{
	if (b && b->read_secs + secs > b->longest)
		b->longest = b->read_secs + secs;
}

/* The marker, in a copying backfill's reason, that another pass follows this one. */
#define BF_AGAIN "another pass follows"

int sl_backfill_again(sl_backfill *b, int t, const char *why, sl_error *err)
{
	if (b == NULL || b->cur.name == NULL || b->table != t)
		return 0; /* a table waiting for its copy: the whole of it comes later */
	if (strncmp(b->cur.reason, BF_AGAIN, strlen(BF_AGAIN)) != 0)
		sl_info("backfill of %s: %s; the table is copied once more when this pass ends",
		        b->cur.name, why);
	snprintf(b->cur.reason, sizeof b->cur.reason, "%s: %s", BF_AGAIN, why);
	return sl_state_backfill_progress(b->st, &b->cur, err);
}

int sl_backfill_moved(sl_backfill *b, int t, int64_t n, sl_error *err)
{
	char why[160];
	snprintf(why, sizeof why,
	         "%" PRId64 " key change(s) moved rows the copy had not reached to keys it may "
	         "have passed",
	         n);
	return sl_backfill_again(b, t, why, err);
}

int sl_backfill_committed(sl_backfill *b, sl_error *err)
{
	if (b == NULL || !b->handed)
		return 0;
	bool done = b->next == NULL;
	bool again = done && strncmp(b->cur.reason, BF_AGAIN, strlen(BF_AGAIN)) == 0;
	free(b->cur.after);
	b->cur.after = again ? NULL : b->next;
	if (again)
		free(b->next);
	b->next = NULL;
	b->cur.rows += b->slice.rows;
	b->cur.status = done && !again ? SL_BACKFILL_DONE : SL_BACKFILL_COPYING;
	bf_slice_free(b);
	if (again) {
		sl_info("backfill of %s: pass complete (%" PRId64 " rows); copying it once more "
		        "from its first key (%s)",
		        b->cur.name, b->cur.rows, b->cur.reason);
		b->cur.rows = 0;
		b->cur.reason[0] = '\0';
	}
	SL_TRY(sl_state_backfill_progress(b->st, &b->cur, err));
	if (!done || again)
		return 0;
	/* a table new to the pipeline is loaded now */
	SL_TRY(sl_state_table_set(b->st, b->cur.name, SL_TABLE_DONE, b->cur.rows, err));
	sl_info("backfill of %s: complete, %" PRId64
	        " rows copied in %.1fs; the longest one slice held the stream up: %.0f ms%s",
	        b->cur.name, b->cur.rows, bf_now() - b->started, b->longest * 1000.0,
	        b->retries ? " (some slices read twice)" : "");
	b->longest = 0;
	b->retries = 0;
	b->copying[b->table] = false;
	bf_forget_current(b);
	b->last_poll = bf_now() - 10.0; /* the next request at once */
	return 0;
}

const char *sl_backfill_progress(const sl_backfill *b, char *buf, size_t n)
{
	buf[0] = '\0';
	if (b == NULL || b->cur.name == NULL)
		return buf;
	int waiting = 0;
	for (int t = 0; t < b->cat->ntables; t++)
		waiting += b->copying[t] && t != b->table;
	snprintf(buf, n, "; backfill of %s: %" PRId64 " rows copied in %.0fs", b->cur.name,
	         b->cur.rows, bf_now() - b->started);
	if (waiting) {
		size_t len = strlen(buf);
		snprintf(buf + len, n - len, ", %d more table(s) waiting", waiting);
	}
	return buf;
}

void sl_backfill_session_end(sl_backfill *b)
{
	if (b == NULL)
		return;
	bf_slice_free(b);
	b->ring_n = b->ring_pos = 0;
}
