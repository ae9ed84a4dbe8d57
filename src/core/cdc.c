/* CDC: stream changes from the source into the target, exactly once (DESIGN.md §4).
 *
 * A session: the target reports its durable position (or the snapshot's consistent point is
 * used); the source opens its change stream strictly after it; a reader thread runs the stream
 * and pushes messages into a queue bounded in bytes; this thread applies them.
 *
 * Group commit: whole source transactions are applied as one target transaction. A group is
 * committed when it holds apply.max_group_bytes, when it is apply.max_delay old, or when the
 * queue is empty after a COMMIT (nothing more is waiting, so waiting would only add latency).
 * Within a group, changes to one key collapse to the last (a hash of the key columns points at
 * the live row; an update that left TOASTed columns unchanged takes their values from the row it
 * replaces when that row is in the group). Keyless tables keep every change, in order. When the
 * pending changes exceed apply.max_group_bytes inside one large source transaction (or the
 * buffers of every table's pending changes twice that), they are written into the open target
 * transaction and memory is reused: peak memory stays bounded and nothing is visible before
 * the source's COMMIT. After a flush a table keeps its buffers for its next changes only while
 * all tables' together stay within apply.max_group_bytes: memory follows the budget, not the
 * number of tables.
 *
 * After the target commits, the position is acknowledged to the source. A failure rolls the
 * open target transaction back, and a retryable one (a lost connection, a restarted server)
 * starts a new session from the durable position after a backoff (1 s doubling to 30 s). */
#include "core/cdc.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/backfill.h"
#include "core/buffer.h"
#include "core/columns.h"
#include "core/fkeys.h"
#include "core/follow.h"
#include "core/hist.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/mem.h"
#include "core/queue.h"
#include "core/thread.h"

extern volatile sig_atomic_t sl_stop_requested;

struct pend {
	sl_changes *ch; /* rows collected for this table in the current group */
	sl_buf dead;    /* bitmap over ch rows: replaced by a later change */
	int64_t *slots; /* open addressing: row index + 1, 0 = empty */
	size_t cap, used;
	int *keycols; /* shape field indexes of the key */
	int nkey;
	sl_buf refd;             /* bitmap: DELETE rows a MOVE reads its old key from */
	int64_t last_del;        /* the last DELETE row appended */
	int64_t last_killed;     /* the live row that DELETE replaced, or -1 */
	uint64_t seq_txn;        /* the transaction seq counts in */
	uint64_t seq;            /* changes to this table in that transaction so far */
	size_t held;             /* pend_capacity when last counted into cdc.held */
	sl_metric *m[SL_NFLOWS]; /* the table's rows/bytes in/out counters, looked up once */
};

struct cdc {
	const sl_cdc_params *p;
	sl_applier *ap;
	sl_stream *stream;
	uint64_t applied; /* with a buffer: the version the target held when the session began */
	sl_queue *q;
	pthread_t reader;
	volatile int stop;
	int reader_rc;
	sl_error reader_err;
	struct pend *pend;
	sl_shape **shapes; /* per table: the shape in force */
	char **cols;       /* per table: its columns as the target has them, by source id
	                      (sl_follow_columns), loaded from the state on first use */
	bool *cols_loaded;
	char **cols_next;  /* per table: its columns once the open group commits, or NULL */
	int64_t col_limit; /* SL_COL_MAX_BYTES (see sl_cdc_params) */
	sl_colview *view;  /* source.tables.columns: what leaves the agent, masked */
	sl_backfill *bf;   /* tables copied again while streaming, or NULL */
	/* foreign-key actions the source does not log (core/fkeys.h) */
	sl_fk_plan **plans; /* per table: what its rows' deletes and updates do, or NULL */
	sl_changes **acts;  /* per table: its rows whose actions are not done yet, or NULL */
	int *acts_order;    /* tables with actions pending, in the order of their first */
	int nacts;
	bool *acts_reads; /* per table: a pending action reads or changes its rows */
	/* foreign keys whose actions no plan does (their problem was warned): per key, the
	 * catalog indexes of its parent and child (-1: not selected) */
	int *unplanned_parent, *unplanned_child;
	bool *resynced; /* per table: copied again for such a key's actions this session */
	/* hashes of the referenced values the pending actions' rows had and took (the plan's
	 * update columns): a row meeting one of them waits for those to be done (open
	 * addressing, 0 = empty) */
	uint64_t *acts_keys;
	size_t keys_cap, keys_used;
	/* the field indexes of a plan's update columns in a shape, resolved once per shape */
	const sl_fk_plan *pcols_plan;
	sl_shape *pcols_shape; /* one reference held */
	int *pcols;
	int64_t moves_missed; /* key changes to the table being copied the target skipped */
	double slice_t0;      /* when the backfill slice in the open group began to be applied */
	size_t pending_bytes;
	/* Capacity of every table's pending buffers, in use or kept for reuse after a flush.
	 * Kept capacity is given back once the total passes apply.max_group_bytes, so memory
	 * follows the budget, not the number of tables touched. */
	size_t held, held_peak;
	/* group */
	bool in_src_txn;
	uint64_t txn_version; /* the open source transaction's BEGIN version */
	bool group_open;      /* some transaction applied to the target since the last commit */
	bool target_dirty;    /* something written into the open target transaction */
	double group_started;
	size_t group_bytes;
	int64_t group_txns;
	sl_msg *last_commit; /* of the group */
	sl_latency lat;      /* latency.* */
	int64_t begun_us;    /* when the open transaction's BEGIN was received */
	/* runtime.*: the queue's depth, the threads, groups and transactions (NULL: none) */
	sl_metric *rt_queue, *rt_workers, *rt_groups, *rt_txns;
	double rt_last;
	/* statistics */
	int64_t txns, rows, groups;
	sl_hist lag; /* per group: source commit -> target commit, seconds */
};

static double cdc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t cdc_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Writes to the progress others read (sl_cdc_progress.mu) */
static void progress_lock(const sl_cdc_params *p)
{
	if (p->progress->mu)
		pthread_mutex_lock(p->progress->mu);
}

static void progress_unlock(const sl_cdc_params *p)
{
	if (p->progress->mu)
		pthread_mutex_unlock(p->progress->mu);
}

/* Caught up (nothing received for 100 ms, everything committed) or not */
static void progress_caught_up(const sl_cdc_params *p, bool yes)
{
	if (p->progress->caught_up == yes && !p->progress->down)
		return;
	progress_lock(p);
	p->progress->caught_up = yes;
	p->progress->down = false;
	progress_unlock(p);
}

/* ---------------------------------------------------------------- reader ---- */

/* The reader's thread: each message as the source (or the buffer) hands it over */
static int cdc_emit(void *ctx, sl_msg *m)
{
	struct cdc *c = ctx;
	if (c->lat.total && (m->kind == SL_MSG_BEGIN || m->kind == SL_MSG_COMMIT))
		m->received_us = sl_latency_now_us(); /* latency.in, latency.in.process */
	int rc = sl_queue_push_timed(c->q, m, m->kind, sl_msg_bytes(m), 200);
	if (rc == 2)
		return 1;
	return rc;
}

static void *cdc_reader_main(void *arg)
{
	struct cdc *c = arg;
	const sl_cdc_params *p = c->p;
	if (p->buffer)
		c->reader_rc = sl_buffer_run(p->buffer, p->cat, c->applied, cdc_emit, c, &c->stop,
		                             &c->reader_err);
	else
		c->reader_rc =
		        p->sops->stream_run(c->stream, cdc_emit, c, &c->stop, &c->reader_err);
	sl_queue_close(c->q);
	return NULL;
}

static void cdc_free_item(void *item, int kind)
{
	(void)kind;
	sl_msg_free(item);
}

/* ---------------------------------------------------------------- pending ---- */

static void pend_reset(struct pend *pd)
{
	if (pd->ch)
		sl_changes_reset(pd->ch);
	sl_buf_reset(&pd->dead);
	sl_buf_reset(&pd->refd);
	pd->last_del = pd->last_killed = -1;
	if (pd->slots)
		memset(pd->slots, 0, pd->cap * sizeof *pd->slots);
	pd->used = 0;
}

static size_t pend_capacity(const struct pend *pd)
{
	return (pd->ch ? sl_changes_capacity(pd->ch) : 0) + pd->dead.cap + pd->refd.cap +
	       pd->cap * sizeof *pd->slots;
}

/* Give back the table's buffers (it has no pending rows); its key columns stay. */
static void pend_release(struct pend *pd)
{
	sl_changes_free(pd->ch);
	pd->ch = NULL;
	sl_buf_free(&pd->dead);
	sl_buf_free(&pd->refd);
	free(pd->slots);
	pd->slots = NULL;
	pd->cap = pd->used = 0;
}

static void pend_free(struct pend *pd)
{
	sl_changes_free(pd->ch);
	sl_buf_free(&pd->dead);
	sl_buf_free(&pd->refd);
	free(pd->slots);
	free(pd->keycols);
	memset(pd, 0, sizeof *pd);
}

static uint64_t pend_hash(const struct pend *pd, const sl_batch *b, int64_t row)
{
	uint64_t h = UINT64_C(1469598103934665603);
	for (int k = 0; k < pd->nkey; k++)
		h = sl_col_hash(&b->cols[pd->keycols[k]], row, h);
	return h;
}

static bool pend_key_equal(const struct pend *pd, const sl_batch *a, int64_t i, const sl_batch *b,
                           int64_t j)
{
	for (int k = 0; k < pd->nkey; k++)
		if (!sl_col_equal(&a->cols[pd->keycols[k]], i, &b->cols[pd->keycols[k]], j))
			return false;
	return true;
}

static void pend_grow(struct pend *pd)
{
	size_t ncap = pd->cap ? pd->cap * 2 : 16; /* grows with the rows, not per table */
	int64_t *old = pd->slots;
	size_t ocap = pd->cap;
	pd->slots = sl_calloc(ncap, sizeof *pd->slots);
	pd->cap = ncap;
	pd->used = 0;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i] == 0)
			continue;
		int64_t row = old[i] - 1;
		size_t s = pend_hash(pd, pd->ch->rows, row) & (ncap - 1);
		while (pd->slots[s])
			s = (s + 1) & (ncap - 1);
		pd->slots[s] = row + 1;
		pd->used++;
	}
	free(old);
}

static inline bool pend_bit(const sl_buf *b, int64_t r)
{
	return b->len > (size_t)(r >> 3) && ((b->data[r >> 3] >> (r & 7)) & 1);
}

static void pend_set_bit(sl_buf *b, int64_t r)
{
	while (b->len <= (size_t)(r >> 3))
		sl_buf_putc(b, 0);
	b->data[r >> 3] |= (uint8_t)(1u << (r & 7));
}

/* The row of the group `in` row r's key last had, or -1; *slot is where that key is (or goes)
 * in the hash. */
static int64_t pend_find(struct pend *pd, const sl_changes *in, int64_t r, size_t *slot)
{
	if (pd->nkey == 0)
		return -1;
	if (pd->used * 2 >= pd->cap)
		pend_grow(pd);
	size_t s = pend_hash(pd, in->rows, r) & (pd->cap - 1);
	while (pd->slots[s]) {
		int64_t cand = pd->slots[s] - 1;
		if (pend_key_equal(pd, pd->ch->rows, cand, in->rows, r))
			break;
		s = (s + 1) & (pd->cap - 1);
	}
	*slot = s;
	return pd->slots[s] - 1;
}

/* Whether row `prev` of the group is a live image (unchanged columns can be taken from it). */
static bool pend_live(const struct pend *pd, int64_t prev)
{
	return prev >= 0 && sl_changes_op(pd->ch, prev) != SL_OP_DELETE &&
	       sl_changes_op(pd->ch, prev) != SL_OP_KEYREF;
}

/* The first column of the table's pending batch that rows [r0, r1) of `in` would take past
 * `limit` once appended by pend_add (an unchanged value copied from the row it replaces counts
 * at that row's size), or -1; *need is what that column would take. */
static int pend_overflow(struct pend *pd, const sl_changes *in, int64_t r0, int64_t r1,
                         int64_t limit, int64_t *need)
{
	const sl_changes *ch = pd->ch;
	int64_t from[2] = {-1, -1}, killed = -1;
	for (int64_t r = r0; r < r1 && r - r0 < 2; r++) {
		size_t slot;
		char op = sl_changes_op(in, r);
		int64_t f = op == SL_OP_MOVE ? killed : pend_find(pd, in, r, &slot);
		if (op != SL_OP_MOVE && !pend_live(pd, f))
			f = -1;
		if (op == SL_OP_DELETE)
			killed = f;
		from[r - r0] = f;
	}
	for (int i = 0; i < ch->rows->ncols; i++) {
		int64_t n[2] = {0, 0};
		for (int64_t r = r0; r < r1 && r - r0 < 2; r++) {
			int64_t f = from[r - r0];
			if (f >= 0 && sl_changes_is_unchanged(in, r, i) &&
			    !sl_changes_is_unchanged(ch, f, i))
				sl_col_range_size(&ch->rows->cols[i], f, f + 1, n);
			else
				sl_col_range_size(&in->rows->cols[i], r, r + 1, n);
		}
		if (!sl_col_fits(&ch->rows->cols[i], n, limit)) {
			*need = n[0] > n[1] ? n[0] : n[1];
			return i;
		}
	}
	return -1;
}

/* Append row r of `in` to the pending changes of its table, collapsing by key.
 *
 * Unchanged (TOAST) columns take their value from the row this change replaces: the same key's
 * live row in the group, or for a MOVE the row its old key had (the one the DELETE just before
 * it replaced). When that row does not have the value either, the target supplies it: under the
 * same key (UPSERT with the column marked unchanged), or under an old key (MOVE, with `pair`
 * naming the DELETE row that carries the old key; a later change of that key turns the DELETE
 * into a KEYREF instead of discarding it). */
static void pend_add(struct pend *pd, const sl_changes *in, int64_t r)
{
	sl_changes *ch = pd->ch;
	size_t slot = 0;
	int64_t prev = pend_find(pd, in, r, &slot);
	char op = sl_changes_op(in, r);
	int64_t from = -1, pair = -1;
	if (op == SL_OP_MOVE)
		from = pd->last_killed;
	else if (pend_live(pd, prev))
		from = prev;
	uint8_t ubits[64];
	uint8_t *u = ch->ubytes <= (int)sizeof ubits ? ubits : sl_malloc((size_t)ch->ubytes);
	memset(u, 0, (size_t)ch->ubytes);
	bool any_u = false;
	for (int i = 0; i < ch->rows->ncols; i++) {
		sl_column *dst = &ch->rows->cols[i];
		if (sl_changes_is_unchanged(in, r, i)) {
			if (from >= 0 && !sl_changes_is_unchanged(ch, from, i)) {
				sl_col_append_from(dst, dst, from);
				continue;
			}
			if (from >= 0 && sl_changes_op(ch, from) == SL_OP_MOVE)
				pair = sl_changes_pair(ch, from);
			else if (op == SL_OP_MOVE)
				pair = pd->last_del;
			u[i >> 3] |= (uint8_t)(1u << (i & 7));
			any_u = true;
		}
		sl_col_append_from(dst, &in->rows->cols[i], r);
	}
	if (op == SL_OP_MOVE || (any_u && pair >= 0))
		op = any_u ? SL_OP_MOVE : SL_OP_UPSERT;
	sl_changes_end_row(ch, (enum sl_op)op, u);
	if (u != ubits)
		free(u);
	int64_t row = ch->rows->length - 1;
	if ((row & 7) == 0)
		sl_buf_putc(&pd->dead, 0);
	if (op == SL_OP_MOVE) {
		sl_changes_set_pair(ch, row, pair);
		pend_set_bit(&pd->refd, pair);
	}
	if (prev >= 0) {
		if (sl_changes_op(ch, prev) == SL_OP_DELETE && pend_bit(&pd->refd, prev))
			ch->ops.data[prev] = SL_OP_KEYREF; /* still read by a MOVE */
		else
			pd->dead.data[prev >> 3] |= (uint8_t)(1u << (prev & 7));
	}
	if (op == SL_OP_DELETE) {
		pd->last_del = row;
		pd->last_killed = from;
	}
	if (pd->nkey > 0) {
		if (prev < 0)
			pd->used++;
		pd->slots[slot] = row + 1;
	}
}

/* ---------------------------------------------------------------- applying ---- */

/* Count table pd's current capacity into c->held. */
static void cdc_count_held(struct cdc *c, struct pend *pd)
{
	size_t now = pend_capacity(pd);
	c->held = c->held - pd->held + now;
	pd->held = now;
	if (c->held > c->held_peak)
		c->held_peak = c->held;
}

static void cdc_count(struct cdc *c, sl_flow which, int t, uint64_t v);

static int cdc_flush_table(struct cdc *c, int t, sl_error *err)
{
	struct pend *pd = &c->pend[t];
	if (pd->ch == NULL || pd->ch->rows->length == 0)
		return 0;
	cdc_count_held(c, pd);
	size_t bytes = sl_changes_bytes(pd->ch);
	pd->ch->may_miss = sl_backfill_copying(c->bf, t);
	pd->ch->moves_missed =
	        pd->ch->may_miss && t == sl_backfill_current(c->bf) ? &c->moves_missed : NULL;
	int rc = c->p->tops->apply_changes(c->ap, pd->ch, (const uint8_t *)pd->dead.data, err);
	c->target_dirty = true;
	if (rc == 0 && c->p->metrics) {
		uint64_t live = 0;
		for (int64_t r = 0; r < pd->ch->rows->length; r++)
			live += !pend_bit(&pd->dead, r);
		cdc_count(c, SL_ROWS_OUT, t, live);
		cdc_count(c, SL_BYTES_OUT, t, bytes);
	}
	c->pending_bytes -= bytes < c->pending_bytes ? bytes : c->pending_bytes;
	pend_reset(pd);
	/* keep the buffers for the table's next changes only while every table's together stay
	 * within the budget: 2,000 tables touched once must not keep 2,000 batches */
	if (c->held > (size_t)c->p->cfg->apply_max_group_bytes)
		pend_release(pd);
	cdc_count_held(c, pd);
	return rc;
}

/* Table t has a pending batch again after cdc_flush_table gave its buffers back. */
static void cdc_pend_ensure(struct cdc *c, int t)
{
	if (c->pend[t].ch == NULL)
		c->pend[t].ch = sl_changes_new(t, c->shapes[t]);
}

/* Do the foreign-key actions pending: the changes collected before them to the tables they
 * read or change go first. */
static int cdc_acts_run(struct cdc *c, sl_error *err)
{
	if (c->nacts == 0)
		return 0;
	for (int t = 0; t < c->p->cat->ntables; t++) {
		if (!c->acts_reads[t])
			continue;
		SL_TRY(cdc_flush_table(c, t, err));
		/* a slice read before the action may hold rows it deletes or changes */
		if (t == sl_backfill_current(c->bf))
			SL_TRY(sl_backfill_again(c->bf, t,
			                         "a foreign-key action changed rows the copy may "
			                         "have read already",
			                         err));
	}
	for (int i = 0; i < c->nacts; i++) {
		int t = c->acts_order[i];
		SL_TRY(c->p->tops->apply_actions(c->ap, c->acts[t], c->plans[t], err));
		sl_changes_reset(c->acts[t]);
	}
	c->nacts = 0;
	memset(c->acts_reads, 0, sizeof *c->acts_reads * (size_t)c->p->cat->ntables);
	if (c->keys_used)
		memset(c->acts_keys, 0, sizeof *c->acts_keys * c->keys_cap);
	c->keys_used = 0;
	c->target_dirty = true;
	return 0;
}

/* The field indexes of plan p's update columns in shape s (-1: not in it). */
static const int *cdc_plan_cols(struct cdc *c, const sl_fk_plan *p, sl_shape *s)
{
	if (c->pcols_plan != p || c->pcols_shape != s) {
		c->pcols = sl_realloc(c->pcols, sizeof *c->pcols * (size_t)(p->ncols + 1));
		for (int i = 0; i < p->ncols; i++)
			c->pcols[i] = sl_shape_find(s, p->cols[i]);
		sl_shape_unref(c->pcols_shape);
		c->pcols_shape = sl_shape_ref(s);
		c->pcols_plan = p;
	}
	return c->pcols;
}

/* The hash of row r's values in the plan's update columns (never 0). */
static uint64_t cdc_acts_hash(struct cdc *c, const sl_fk_plan *p, const sl_changes *in, int64_t r)
{
	const int *f = cdc_plan_cols(c, p, in->shape);
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < p->ncols; i++)
		if (f[i] >= 0)
			h = sl_col_hash(&in->rows->cols[f[i]], r, h);
	return h ? h : 1;
}

static bool cdc_acts_seen(const struct cdc *c, uint64_t h)
{
	for (size_t s = h & (c->keys_cap - 1); c->keys_cap && c->acts_keys[s];
	     s = (s + 1) & (c->keys_cap - 1))
		if (c->acts_keys[s] == h)
			return true;
	return false;
}

static void cdc_acts_remember(struct cdc *c, uint64_t h)
{
	if (cdc_acts_seen(c, h))
		return;
	if ((c->keys_used + 1) * 2 > c->keys_cap) {
		size_t cap = c->keys_cap ? c->keys_cap * 2 : 1024;
		uint64_t *old = c->acts_keys;
		size_t ocap = c->keys_cap;
		c->acts_keys = sl_calloc(cap, sizeof *c->acts_keys);
		c->keys_cap = cap;
		c->keys_used = 0;
		for (size_t i = 0; i < ocap; i++)
			if (old[i])
				cdc_acts_remember(c, old[i]);
		free(old);
	}
	size_t s = h & (c->keys_cap - 1);
	while (c->acts_keys[s])
		s = (s + 1) & (c->keys_cap - 1);
	c->acts_keys[s] = h;
	c->keys_used++;
}

/* Whether row r of `in` (table t; with r + 1 for an update) must wait for the actions pending:
 * they belong to another table, or a value it had or takes is one they had or took (a chain
 * of updates, an update of a key deleted, a key deleted after it was updated: one statement
 * per step would see the values before all of them). */
static bool cdc_acts_conflict(struct cdc *c, int t, const sl_changes *in, int64_t r, bool update)
{
	if (c->nacts == 0)
		return false;
	if (c->acts_order[c->nacts - 1] != t)
		return true;
	const sl_fk_plan *p = c->plans[t];
	if (p->ncols == 0)
		return false;
	return cdc_acts_seen(c, cdc_acts_hash(c, p, in, r)) ||
	       (update && cdc_acts_seen(c, cdc_acts_hash(c, p, in, r + 1)));
}

static void cdc_acts_drop(struct cdc *c)
{
	for (int t = 0; c->acts && t < c->p->cat->ntables; t++) {
		sl_changes_free(c->acts[t]);
		c->acts[t] = NULL;
	}
	c->nacts = 0;
	if (c->acts_reads)
		memset(c->acts_reads, 0, sizeof *c->acts_reads * (size_t)c->p->cat->ntables);
	if (c->keys_used)
		memset(c->acts_keys, 0, sizeof *c->acts_keys * c->keys_cap);
	c->keys_used = 0;
}

/* Row r of `in` (table t) is one whose deletion or update the source followed with foreign-key
 * actions: keep it (and for an update the new image after it) for cdc_acts_run. */
static void cdc_acts_add(struct cdc *c, int t, const sl_changes *in, int64_t r, bool update)
{
	sl_changes *a = c->acts[t];
	if (a && a->shape != in->shape) { /* run before a new shape: never mixed */
		sl_changes_free(a);
		a = NULL;
	}
	if (a == NULL)
		a = c->acts[t] = sl_changes_new(t, in->shape);
	if (a->rows->length == 0)
		c->acts_order[c->nacts++] = t;
	for (int64_t i = r; i <= r + update; i++) {
		for (int k = 0; k < a->rows->ncols; k++)
			sl_col_append_from(&a->rows->cols[k], &in->rows->cols[k], i);
		enum sl_op op = i > r ? SL_OP_UPSERT : update ? SL_OP_KEYREF : SL_OP_DELETE;
		sl_changes_end_row(a, op, NULL);
		sl_row_origin o = {c->txn_version, 0};
		sl_buf_append(&a->origins, &o, sizeof o);
	}
	if (update)
		sl_changes_set_pair(a, a->rows->length - 1, a->rows->length - 2);
	const sl_fk_plan *p = c->plans[t];
	if (p->ncols > 0) {
		cdc_acts_remember(c, cdc_acts_hash(c, p, in, r));
		if (update)
			cdc_acts_remember(c, cdc_acts_hash(c, p, in, r + 1));
	}
	for (int i = 0; i < c->p->cat->ntables; i++)
		c->acts_reads[i] |= p->reads[i];
}

/* Row r of table t was deleted (or, update, its key or referenced columns changed) on the
 * source, whose foreign-key actions on a child no plan does: the child is copied again while
 * changes stream, where the source can; else the run says what repairs it, once. */
static int cdc_acts_unplanned(struct cdc *c, int t, bool update, sl_error *err)
{
	for (int k = 0; c->unplanned_parent && k < c->p->cat->nfks; k++) {
		const sl_foreign_key *fk = &c->p->cat->fks[k];
		int child = c->unplanned_child[k];
		if (c->unplanned_parent[k] != t || child < 0 || c->resynced[child] ||
		    (update ? fk->on_update : fk->on_delete) == SL_FK_NO_ACTION)
			continue;
		c->resynced[child] = true;
		const char *name = c->p->cat->tables[child].qualified;
		if (c->bf && c->p->restart) {
			sl_info("table %s: foreign key %s changed its rows on the source in ways "
			        "the "
			        "target cannot follow: its rows are copied again while changes "
			        "stream",
			        name, fk->name);
			SL_TRY(sl_state_backfill_request(c->p->state, name, err));
			*c->p->restart = 1;
		} else {
			sl_warn("table %s: foreign key %s changed its rows on the source in ways "
			        "the "
			        "target cannot follow: it may differ from the source until it is "
			        "copied "
			        "again ('sluice resync %s', or a streaming run)",
			        name, fk->name, name);
		}
	}
	return 0;
}

/* Whether the update at rows r (old image) and r + 1 (new) of `in` changed a column plan's
 * update steps read. */
static bool cdc_acts_changed(struct cdc *c, const sl_fk_plan *p, const sl_changes *in, int64_t r)
{
	const int *f = cdc_plan_cols(c, p, in->shape);
	for (int i = 0; i < p->ncols; i++)
		if (f[i] >= 0 &&
		    !sl_col_equal(&in->rows->cols[f[i]], r, &in->rows->cols[f[i]], r + 1))
			return true;
	return false;
}

static int cdc_flush_all(struct cdc *c, sl_error *err)
{
	for (int t = 0; t < c->p->cat->ntables; t++)
		SL_TRY(cdc_flush_table(c, t, err));
	c->pending_bytes = 0;
	return cdc_acts_run(c, err);
}

/* Whether the new shape says the source rewrote rows without logging them: a column whose
 * type changed (ALTER TYPE rewrites every row, and USING may change the values). A column
 * added with values the rows hold but the log never carried is what the target reports
 * (apply_shape's stale). */
static const char *cdc_rows_retyped(const sl_shape *old, const sl_shape *now, const char **col)
{
	for (int i = 0; i < now->nfields; i++) {
		const sl_field *f = &now->fields[i];
		int j = sl_shape_find(old, f->name);
		char a[64], b[64];
		if (j >= 0 && strcmp(sl_field_format(&old->fields[j], a, sizeof a),
		                     sl_field_format(f, b, sizeof b)) != 0) {
			*col = f->name;
			return "changed type (the rows were rewritten without logging their "
			       "values)";
		}
	}
	return NULL;
}

/* Whether source.tables.columns names column `name` of the table. */
static bool cdc_rule_names(const sl_column_rule *rule, const char *name)
{
	for (int i = 0; rule && i < rule->ninclude; i++)
		if (strcmp(rule->include[i], name) == 0)
			return true;
	for (int i = 0; rule && i < rule->nexclude; i++)
		if (strcmp(rule->exclude[i], name) == 0)
			return true;
	for (int i = 0; rule && i < rule->nmasks; i++)
		if (strcmp(rule->masks[i].column, name) == 0)
			return true;
	return false;
}

/* Columns the source renamed: a column of the new shape whose source id had another name in
 * the shape before it (or, first thing in a session, in the columns the target has) while
 * that name is no longer in the shape get renamed_from, for apply_shape only (the changes
 * the target gets next use this shape: cdc_renames_clear takes the names back after it;
 * the stream's thread never reads them). */
static void cdc_renames_clear(sl_shape *shape)
{
	for (int i = 0; i < shape->nfields; i++) {
		free(shape->fields[i].renamed_from);
		shape->fields[i].renamed_from = NULL;
	}
}

static int cdc_renames(struct cdc *c, int t, sl_shape *shape, sl_error *err)
{
	const sl_table_def *td = &c->p->cat->tables[t];
	if (!c->cols_loaded[t] && c->p->state) {
		SL_TRY(sl_state_columns_get(c->p->state, td->qualified, &c->cols[t], err));
		c->cols_loaded[t] = true;
	}
	const sl_shape *prev = c->shapes[t];
	int rc = 0;
	for (int i = 0; i < shape->nfields && rc == 0; i++) {
		const sl_field *f = &shape->fields[i];
		if (f->source_id == 0)
			continue;
		char *old = NULL;
		for (int k = 0; prev && k < prev->nfields && old == NULL; k++)
			if (prev->fields[k].source_id == f->source_id)
				old = sl_strdup(prev->fields[k].name);
		if (old == NULL)
			old = sl_follow_column_name(c->cols[t], f->source_id);
		if (old && strcmp(old, f->name) != 0 && sl_shape_find(shape, old) < 0) {
			if (cdc_rule_names(td->rule, old))
				rc = sl_error_set(
				        err, SL_ERR_CONFIG,
				        "column %s of %s was renamed to %s on the source, and "
				        "source.tables.columns names %s: name the column %s "
				        "there, then run again",
				        old, td->qualified, f->name, old, f->name);
			if (rc == 0) {
				sl_info("table %s: column %s was renamed to %s on the source; its "
				        "target column follows",
				        td->qualified, old, f->name);
				shape->fields[i].renamed_from = old;
				old = NULL;
			}
		}
		free(old);
	}
	/* renames the source itself says (MySQL: from the ALTER TABLE in the binlog) */
	for (int i = 0; i < shape->nfields && rc == 0; i++) {
		const sl_field *f = &shape->fields[i];
		if (f->source_id != 0 || f->renamed_from == NULL)
			continue;
		if (cdc_rule_names(td->rule, f->renamed_from))
			rc = sl_error_set(err, SL_ERR_CONFIG,
			                  "column %s of %s was renamed to %s on the source, and "
			                  "source.tables.columns names %s: name the column %s "
			                  "there, then run again",
			                  f->renamed_from, td->qualified, f->name, f->renamed_from,
			                  f->name);
		else
			sl_info("table %s: column %s was renamed to %s on the source; its target "
			        "column follows",
			        td->qualified, f->renamed_from, f->name);
	}
	if (rc < 0)
		cdc_renames_clear(shape);
	return rc;
}

/* Once the group the target applied shapes in is committed: the columns target tables have
 * now, kept in the state (a crash before this renames again, which finds it done). */
static int cdc_columns_committed(struct cdc *c, sl_error *err)
{
	for (int t = 0; t < c->p->cat->ntables; t++) {
		char *now = c->cols_next[t];
		if (now == NULL)
			continue;
		c->cols_next[t] = NULL;
		if (c->p->state == NULL || (c->cols[t] && strcmp(now, c->cols[t]) == 0)) {
			free(now);
			continue;
		}
		int rc =
		        sl_state_columns_set(c->p->state, c->p->cat->tables[t].qualified, now, err);
		free(c->cols[t]);
		c->cols[t] = now;
		SL_TRY(rc);
	}
	return 0;
}

static int cdc_on_schema(struct cdc *c, sl_msg *m, sl_error *err)
{
	int t = m->table;
	struct pend *pd = &c->pend[t];
	if (c->shapes[t] == m->shape)
		return 0;
	SL_TRY(cdc_acts_run(c, err)); /* with the shapes they were collected under */
	const char *col = NULL, *why = NULL;
	if (c->shapes[t])
		why = cdc_rows_retyped(c->shapes[t], m->shape, &col);
	SL_TRY(cdc_flush_table(c, t, err));
	bool stale = false;
	SL_TRY(cdc_renames(c, t, m->shape, err));
	int arc = c->p->tops->apply_shape(c->ap, t, m->shape, &stale, err);
	cdc_renames_clear(m->shape);
	SL_TRY(arc);
	free(c->cols_next[t]);
	c->cols_next[t] = sl_follow_columns(m->shape->fields, m->shape->nfields);
	if (stale && why == NULL)
		why = "the rows the target holds may lack values the source's rows have (a column "
		      "added or retyped without its values in the change log)";
	if (why && c->bf && c->p->restart) {
		/* copy the table again, with the columns as they are now (a new discovery) */
		const char *name = c->p->cat->tables[t].qualified;
		if (col)
			sl_info("table %s: column %s %s: its rows are copied again while changes "
			        "stream",
			        name, col, why);
		else
			sl_info("table %s: %s: its rows are copied again while changes stream",
			        name, why);
		SL_TRY(sl_state_backfill_request(c->p->state, name, err));
		*c->p->restart = 1;
	}
	c->target_dirty = true;
	sl_shape_unref(c->shapes[t]);
	c->shapes[t] = sl_shape_ref(m->shape);
	uint64_t seq_txn = pd->seq_txn, seq = pd->seq; /* a shape can change mid-transaction */
	c->held -= pd->held;
	pend_free(pd);
	pd->seq_txn = seq_txn;
	pd->seq = seq;
	const sl_table_def *td = &c->p->cat->tables[t];
	pd->keycols = sl_calloc((size_t)m->shape->nfields + 1, sizeof *pd->keycols);
	const char *missing = NULL;
	pd->nkey = sl_shape_key(m->shape, td, pd->keycols, &missing);
	if (pd->nkey < 0) {
		pd->nkey = 0;
		return sl_error_set(err, SL_ERR_DATA, "source table %s lost key column %s",
		                    td->qualified, missing);
	}
	pd->ch = sl_changes_new(t, m->shape);
	pd->last_del = pd->last_killed = -1;
	cdc_count_held(c, pd);
	return 0;
}

/* Inside cdc_on_rows for table t (whose pending batch had *before bytes when it last counted
 * them): write its pending changes into the target (acts: the foreign-key actions pending and
 * the changes before them; else table t's changes), then go on collecting. */
static int cdc_midway(struct cdc *c, int t, bool acts, size_t *before, sl_error *err)
{
	struct pend *pd = &c->pend[t];
	c->pending_bytes += sl_changes_bytes(pd->ch) - *before;
	SL_TRY(acts ? cdc_acts_run(c, err) : cdc_flush_table(c, t, err));
	cdc_pend_ensure(c, t);
	*before = sl_changes_bytes(pd->ch);
	return 0;
}

static bool cdc_has_list(const sl_shape *s)
{
	for (int i = 0; i < s->nfields; i++)
		if (s->fields[i].type == SL_TYPE_LIST)
			return true;
	return false;
}

static int cdc_on_rows(struct cdc *c, sl_msg *m, sl_error *err)
{
	int t = m->table;
	struct pend *pd = &c->pend[t];
	sl_changes *in = m->changes;
	if (c->shapes[t] == NULL || c->shapes[t] != in->shape)
		return sl_error_set(err, SL_ERR_INTERNAL, "changes to %s arrived before its shape",
		                    c->p->cat->tables[t].qualified);
	cdc_pend_ensure(c, t);
	size_t before = sl_changes_bytes(pd->ch);
	const sl_fk_plan *plan = c->plans ? c->plans[t] : NULL;
	/* Without unchanged values every value appended comes from `in`, so no column can grow
	 * past what the pending batch and `in` hold together: when that is within the limit, no
	 * row needs the exact check (a list's limit counts elements, not bytes: always checked) */
	bool roomy = !in->any_unchanged && before + sl_changes_bytes(in) <= (size_t)c->col_limit &&
	             !cdc_has_list(in->shape);
	for (int64_t r = 0; r < in->rows->length; r++) {
		char op = sl_changes_op(in, r);
		if (c->nacts > 0 && c->acts_reads[t]) {
			/* foreign-key actions pending change this table's rows: first */
			SL_TRY(cdc_midway(c, t, true, &before, err));
		}
		if (op == SL_OP_REKEY) {
			if (r + 1 >= in->rows->length || sl_changes_op(in, r + 1) != SL_OP_UPSERT)
				return sl_error_set(
				        err, SL_ERR_INTERNAL,
				        "an update's old image of %s without its new one",
				        c->p->cat->tables[t].qualified);
			bool act = plan && plan->nsteps > plan->ndelete &&
			           cdc_acts_changed(c, plan, in, r);
			if (act && cdc_acts_conflict(c, t, in, r, true))
				SL_TRY(cdc_midway(c, t, true, &before, err));
			if (act)
				cdc_acts_add(c, t, in, r, true);
			SL_TRY(cdc_acts_unplanned(c, t, true, err));
			in->ops.data[r] = SL_OP_DELETE;
		} else if (op == SL_OP_DELETE && plan && plan->ndelete > 0) {
			if (cdc_acts_conflict(c, t, in, r, false))
				SL_TRY(cdc_midway(c, t, true, &before, err));
			cdc_acts_add(c, t, in, r, false);
		}
		if (op == SL_OP_DELETE && c->unplanned_parent)
			SL_TRY(cdc_acts_unplanned(c, t, false, err));
		/* a keyless table applies inserts and deletes in order: never mix them in one
		 * statement set */
		if (pd->nkey == 0 && pd->ch->rows->length > 0 &&
		    (sl_changes_op(pd->ch, pd->ch->rows->length - 1) == SL_OP_DELETE) !=
		            (sl_changes_op(in, r) == SL_OP_DELETE))
			SL_TRY(cdc_midway(c, t, false, &before, err));
		/* cut before a column passes its 32-bit offsets; a key change's DELETE and MOVE
		 * stay together (the MOVE reads the row the DELETE replaced) */
		if (!roomy && sl_changes_op(in, r) != SL_OP_MOVE) {
			int64_t end =
			        r + 1 < in->rows->length && sl_changes_op(in, r + 1) == SL_OP_MOVE
			                ? r + 2
			                : r + 1;
			int64_t need = 0;
			int col = pend_overflow(pd, in, r, end, c->col_limit, &need);
			if (col >= 0 && pd->ch->rows->length > 0) {
				SL_TRY(cdc_midway(c, t, false, &before, err));
				col = pend_overflow(pd, in, r, end, c->col_limit, &need);
			}
			if (col >= 0)
				return sl_error_set(err, SL_ERR_DATA,
				                    "a change to %s has %" PRId64
				                    " bytes in column %s; a batch "
				                    "column holds at most %" PRId64
				                    " (2 GiB - 1: Arrow's 32-bit "
				                    "offsets): leave the column out of the "
				                    "publication or make the "
				                    "value smaller",
				                    c->p->cat->tables[t].qualified, need,
				                    in->shape->fields[col].name, c->col_limit);
		}
		pend_add(pd, in, r);
		if (pd->seq_txn != c->txn_version) {
			pd->seq_txn = c->txn_version;
			pd->seq = 0;
		}
		sl_row_origin o = {c->txn_version, pd->seq++};
		sl_buf_append(&pd->ch->origins, &o, sizeof o);
	}
	size_t after = sl_changes_bytes(pd->ch);
	cdc_count(c, SL_ROWS_IN, t, (uint64_t)in->rows->length);
	cdc_count(c, SL_BYTES_IN, t, sl_changes_bytes(in));
	c->pending_bytes += after - before;
	cdc_count_held(c, pd);
	c->group_bytes += sl_changes_bytes(in);
	c->rows += in->rows->length;
	/* a large transaction, or many tables' buffers: spill into the target (the buffers of
	 * many tables with small changes can hold more than the changes themselves) */
	size_t budget = (size_t)c->p->cfg->apply_max_group_bytes;
	if (c->pending_bytes >= budget || c->held >= 2 * budget)
		return cdc_flush_all(c, err);
	return 0;
}

static int cdc_on_truncate(struct cdc *c, sl_msg *m, sl_error *err)
{
	struct pend *pd = &c->pend[m->table];
	if (c->nacts > 0 && c->acts_reads[m->table])
		SL_TRY(cdc_acts_run(c, err));
	if (pd->ch) {
		size_t bytes = sl_changes_bytes(pd->ch);
		c->pending_bytes -= bytes < c->pending_bytes ? bytes : c->pending_bytes;
		pend_reset(pd);
	}
	c->target_dirty = true;
	return c->p->tops->apply_truncate(c->ap, m->table, c->txn_version, err);
}

/* The group's transactions committed on the target at done_us; its writing began at
 * write_us */
static void cdc_record_lag(struct cdc *c, int64_t write_us, int64_t done_us)
{
	sl_hist_add(&c->lag, (double)(done_us - c->last_commit->commit_us) / 1e6);
	sl_latency_written(&c->lat, write_us, done_us);
}

/* Add v to table t's counter (looked up under the registry's lock once per session) */
static void cdc_count(struct cdc *c, sl_flow which, int t, uint64_t v)
{
	if (!c->p->metrics || !v)
		return;
	struct pend *pd = &c->pend[t];
	if (!pd->m[which])
		pd->m[which] =
		        sl_metrics_flow(c->p->metrics, which, c->p->cat->tables[t].qualified);
	sl_metric_add(pd->m[which], v);
}

static int cdc_commit_group(struct cdc *c, sl_error *err)
{
	if (!c->group_open)
		return 0;
	int64_t write_us = sl_latency_now_us();
	SL_TRY(cdc_flush_all(c, err));
	if (c->moves_missed > 0) {
		/* recorded before the target commits what it skipped */
		SL_TRY(sl_backfill_moved(c->bf, sl_backfill_current(c->bf), c->moves_missed, err));
		c->moves_missed = 0;
	}
	SL_TRY(c->p->tops->apply_commit(c->ap, c->last_commit, err));
	SL_TRY(cdc_columns_committed(c, err));
	if (c->p->buffer)
		sl_buffer_ack(c->p->buffer, c->last_commit->version);
	else
		c->p->sops->stream_ack(c->stream, c->last_commit->version);
	if (c->slice_t0 > 0)
		sl_backfill_applied(c->bf, cdc_now() - c->slice_t0);
	c->slice_t0 = 0;
	SL_TRY(sl_backfill_committed(c->bf, err));
	cdc_record_lag(c, write_us, sl_latency_now_us());
	progress_lock(c->p);
	snprintf(c->p->progress->position, sizeof c->p->progress->position, "%s",
	         c->last_commit->position);
	c->p->progress->commit_us = c->last_commit->commit_us;
	c->p->progress->pending_us = 0;
	progress_unlock(c->p);
	c->groups++;
	if (c->rt_groups) {
		sl_metric_add(c->rt_groups, 1);
		sl_metric_add(c->rt_txns, (uint64_t)c->group_txns);
	}
	c->group_open = false;
	c->target_dirty = false;
	c->group_bytes = 0;
	c->group_txns = 0;
	return 0;
}

/* The catalog is not what the source has now: end the session once its group is committed
 * (nothing after it is applied), discover again and go on; a slice not committed is read
 * again. */
static void cdc_discover_again(struct cdc *c)
{
	sl_backfill_session_end(c->bf);
	*c->p->restart = 1;
}

/* The field of the table as discovered named `name`, or -1. */
static int cdc_catalog_field(const sl_table_def *td, const char *name)
{
	for (int j = 0; j < td->nfields; j++)
		if (strcmp(td->fields[j].name, name) == 0)
			return j;
	return -1;
}

/* A backfill slice's rows, over the table's fields as discovered, as changes (`op`) over the
 * shape in force. cdc_on_mark has made sure the shape has no column the catalog lacks. */
static int cdc_slice_rows(struct cdc *c, int t, const sl_batch *b, enum sl_op op, sl_error *err)
{
	const sl_table_def *td = &c->p->cat->tables[t];
	sl_shape *shape = c->shapes[t];
	int *from = sl_calloc((size_t)(shape->nfields ? shape->nfields : 1), sizeof *from);
	int rc = 0;
	for (int i = 0; i < shape->nfields && rc == 0; i++) {
		from[i] = cdc_catalog_field(td, shape->fields[i].name);
		char fa[64], fb[64];
		if (from[i] < 0) {
			rc = sl_error_set(err, SL_ERR_INTERNAL,
			                  "backfill of %s: column %s is not in the slice",
			                  td->qualified, shape->fields[i].name);
		} else if (strcmp(sl_field_format(&td->fields[from[i]], fa, sizeof fa),
		                  sl_field_format(&shape->fields[i], fb, sizeof fb)) != 0) {
			rc = sl_error_set(
			        err, SL_ERR_STATE,
			        "backfill of %s: column %s changed type since the run started; "
			        "restart sluice to copy it with the new type",
			        td->qualified, shape->fields[i].name);
		}
	}
	sl_changes *ch = sl_changes_new(t, shape);
	for (int64_t r = 0; r < b->length && rc == 0; r++) {
		for (int i = 0; i < shape->nfields; i++)
			sl_col_append_from(&ch->rows->cols[i], &b->cols[from[i]], r);
		sl_changes_end_row(ch, op, NULL);
	}
	free(from);
	sl_msg *m = sl_msg_new(SL_MSG_ROWS);
	m->table = t;
	m->changes = ch;
	if (rc == 0)
		rc = cdc_on_rows(c, m, err);
	sl_msg_free(m);
	return rc;
}

/* A watermark: where a backfill slice read for it is applied (core/backfill.h), as a
 * transaction of its own at the watermark's position, committed at once. */
static int cdc_on_mark(struct cdc *c, sl_msg *m, sl_error *err)
{
	sl_backfill_slice *slice;
	SL_TRY(sl_backfill_on_mark(c->bf, m, &slice, err));
	if (slice == NULL)
		return 0;
	int t = slice->table;
	const sl_table_def *td = &c->p->cat->tables[t];
	for (int i = 0; c->shapes[t] && i < c->shapes[t]->nfields; i++) {
		if (cdc_catalog_field(td, c->shapes[t]->fields[i].name) < 0 && c->p->restart) {
			/* a column added since the run started: the slice lacks its values, and
			 * rows not on the target yet would get none. Discover again; the copy goes
			 * on from the last committed slice (this one is read again). */
			sl_info("backfill of %s: column %s was added since the run started; change "
			        "capture starts again to copy it",
			        td->qualified, c->shapes[t]->fields[i].name);
			cdc_discover_again(c);
			return 0;
		}
	}
	if (c->shapes[t] == NULL) {
		/* no change to the table yet in this session: its columns as discovered */
		sl_msg *sm = sl_msg_new(SL_MSG_SCHEMA);
		sm->table = t;
		sm->shape = sl_shape_new(td->fields, td->nfields);
		int rc = cdc_on_schema(c, sm, err);
		sl_msg_free(sm);
		SL_TRY(rc);
	}
	double t0 = cdc_now();
	if (!c->group_open) {
		c->group_open = true;
		c->group_started = t0;
	}
	c->txn_version = m->version;
	if (td->nkey == 0) {
		/* the whole table as it was at the watermark: what the target holds goes */
		sl_msg tm = {.kind = SL_MSG_TRUNCATE, .table = t};
		SL_TRY(cdc_on_truncate(c, &tm, err));
	}
	for (int i = 0; i < slice->nbatches; i++)
		SL_TRY(cdc_slice_rows(c, t, slice->batches[i],
		                      td->nkey ? SL_OP_UPSERT : SL_OP_INSERT, err));
	sl_msg *cm = sl_msg_new(SL_MSG_COMMIT);
	sl_msg_set_position(cm, m->position);
	cm->version = m->version;
	cm->commit_us = cdc_wall_us();
	sl_msg_free(c->last_commit);
	c->last_commit = cm;
	c->slice_t0 = t0;
	return cdc_commit_group(c, err);
}

/* Tables the source renamed, after the transaction that did (SL_MSG_RENAME): everything
 * before is committed, the target tables and the state follow step by step, and the session
 * ends for a new discovery, under which the tables go on by their new names. */
static int cdc_on_rename(struct cdc *c, const sl_msg *m, sl_error *err)
{
	const sl_cdc_params *p = c->p;
	if (c->in_src_txn)
		return sl_error_set(err, SL_ERR_INTERNAL,
		                    "cdc: a rename inside a source transaction");
	SL_TRY(cdc_commit_group(c, err));
	int n = p->cat->ntables;
	const char **now = sl_calloc((size_t)(n ? n : 1), sizeof *now);
	int rc = 0;
	for (int i = 0; i < m->nrenames && rc == 0; i++) {
		const sl_rename *r = &m->renames[i];
		if (r->table < 0 || r->table >= n)
			continue;
		const char *from =
		        now[r->table] ? now[r->table] : p->cat->tables[r->table].qualified;
		/* first its identity under the new name, kept under the old one: a run killed
		 * before the rename is done finds the table by it at the next discovery and
		 * renames it then (the committed position is past the statement) */
		const char *none = NULL;
		if (r->identity)
			rc = sl_state_remember(p->state, &from, (const char *const *)&r->identity,
			                       &none, 1, err);
		if (rc == 0)
			rc = sl_follow_rename(p->tops, p->tgt, p->state, p->cat, r->table, from,
			                      r->to, err);
		if (rc == 0)
			sl_info("table %s was renamed to %s on the source: its target table "
			        "follows",
			        from, r->to);
		now[r->table] = r->to;
	}
	free(now);
	SL_TRY(rc);
	cdc_discover_again(c);
	return 0;
}

static int cdc_handle(struct cdc *c, sl_msg *m, sl_error *err)
{
	if (c->p->buffer == NULL) /* else the buffer's writer did, before writing it */
		SL_TRY(sl_colview_apply(c->view, m, err));
	switch (m->kind) {
	case SL_MSG_BEGIN:
		c->begun_us = m->received_us;
		if (c->p->progress->pending_us == 0 && m->commit_us > 0) {
			progress_lock(c->p);
			c->p->progress->pending_us = m->commit_us;
			progress_unlock(c->p);
		}
		c->in_src_txn = true;
		c->txn_version = m->version;
		sl_backfill_saw_txn(c->bf, m->txid);
		if (!c->group_open) {
			c->group_open = true;
			c->group_started = cdc_now();
		}
		return 0;
	case SL_MSG_SCHEMA:
		return cdc_on_schema(c, m, err);
	case SL_MSG_ROWS:
		return cdc_on_rows(c, m, err);
	case SL_MSG_TRUNCATE:
		return cdc_on_truncate(c, m, err);
	case SL_MSG_COMMIT:
		sl_latency_txn(&c->lat, m->commit_us, c->begun_us, m->received_us);
		c->begun_us = 0;
		c->in_src_txn = false;
		c->group_open = true;
		c->group_txns++;
		c->txns++;
		sl_msg_free(c->last_commit);
		c->last_commit = m;
		return 1; /* kept */
	case SL_MSG_PROGRESS:
		return 0;
	case SL_MSG_WATERMARK:
		return cdc_on_mark(c, m, err);
	case SL_MSG_RENAME:
		return cdc_on_rename(c, m, err);
	}
	return 0;
}

/* ---------------------------------------------------------------- session ---- */

static void cdc_log_stats(struct cdc *c, double secs)
{
	if (c->lag.n == 0) {
		sl_info("cdc: no transactions applied in %.1fs", secs);
		return;
	}
	sl_info("cdc: %" PRId64 " transactions, %" PRId64
	        " row changes in %.1fs (%.0f rows/s), %" PRId64
	        " target commits; lag per group p50 %.3fs p99 %.3fs max %.3fs",
	        c->txns, c->rows, secs, secs > 0 ? (double)c->rows / secs : 0, c->groups,
	        sl_hist_quantile(&c->lag, 0.5), sl_hist_quantile(&c->lag, 0.99), c->lag.max);
	sl_info("cdc: pending changes held at most %zu bytes of buffers (apply.max_group_bytes "
	        "%" PRId64 ")",
	        c->held_peak, c->p->cfg->apply_max_group_bytes);
}

static int cdc_session(struct cdc *c, bool *progressed, sl_error *err)
{
	const sl_cdc_params *p = c->p;
	sl_durable d;
	SL_TRY(p->tops->apply_open(p->tgt, p->cat, p->epoch, p->converge_until, &c->ap, &d, err));
	const char *from = d.found ? d.position : p->epoch;
	int rc = 0;
	c->applied = d.found ? d.version : 0;
	if (p->buffer == NULL)
		rc = p->sops->stream_open(p->src, p->cat, from, p->once, &c->stream, err);
	if (rc < 0)
		return rc;
	c->q = sl_queue_create((size_t)p->cfg->queue_bytes);
	c->stop = 0;
	c->reader_rc = 0;
	memset(&c->reader_err, 0, sizeof c->reader_err);
	/* nothing is applied yet: a reader that cannot start ends the session (the stream, the
	 * applier and the queue are closed by cdc_session_end) */
	SL_TRY(sl_thread_start(&c->reader, cdc_reader_main, c, "change stream reader", err));
	double started = cdc_now(), last_log = started;
	int64_t rows_at_start = c->rows;
	int64_t max_delay_ms = p->cfg->apply_max_delay_ms;
	for (;;) {
		if (sl_stop_requested && !c->in_src_txn) {
			/* graceful: commit what is complete, at a group boundary */
			rc = cdc_commit_group(c, err);
			break;
		}
		if (p->restart && *p->restart && !c->in_src_txn) {
			/* a new discovery is needed: commit what is complete and return */
			rc = cdc_commit_group(c, err);
			break;
		}
		if (sl_stop_requested && c->in_src_txn) {
			/* inside a source transaction: abandon it (it will be re-read) */
			rc = 0;
			break;
		}
		if (!c->in_src_txn) {
			rc = sl_backfill_step(c->bf, err);
			if (rc < 0 && err->rediscover && p->restart) {
				/* a column dropped or renamed under the copy */
				sl_info("backfill: %s; change capture starts again with a new "
				        "discovery",
				        err->msg);
				sl_error_clear(err);
				cdc_discover_again(c);
				rc = 0;
			}
			if (rc < 0)
				break;
		}
		void *item;
		int kind;
		int prc = sl_queue_pop_timed(c->q, &item, &kind, NULL, 100);
		double now = cdc_now();
		if (prc == 1) {
			progress_caught_up(p, false);
			sl_msg *m = item;
			enum sl_msg_kind mk = m->kind;
			int hrc = cdc_handle(c, m, err);
			if (hrc != 1)
				sl_msg_free(m);
			if (hrc < 0) {
				rc = hrc;
				break;
			}
			if (mk == SL_MSG_COMMIT) {
				bool full = c->group_bytes >= (size_t)p->cfg->apply_max_group_bytes;
				bool old =
				        (now - c->group_started) * 1000.0 >= (double)max_delay_ms;
				bool idle = sl_queue_bytes(c->q) == 0;
				if ((full || old || idle) && (rc = cdc_commit_group(c, err)) < 0)
					break;
				*progressed = true;
			}
		} else if (prc == 0) {
			/* the stream ended (caught up, stopped, or failed) */
			if (c->reader_rc == 0 && !c->in_src_txn)
				rc = cdc_commit_group(c, err);
			break;
		} else if (prc < 0) {
			break;
		} else if (!c->in_src_txn) {
			if (c->group_open && (rc = cdc_commit_group(c, err)) < 0)
				break;
			progress_caught_up(p, true);
		}
		if (c->rt_queue && now - c->rt_last >= 0.5) {
			c->rt_last = now;
			sl_metric_set(c->rt_queue, (double)sl_queue_bytes(c->q));
			/* the stream's reader and the applier; with a buffer, its reader and writer
			 */
			sl_metric_set(c->rt_workers, p->buffer ? 4 : 2);
		}
		if (now - last_log >= 10.0) {
			char bf[320];
			sl_info("cdc: applied up to %s; %" PRId64
			        " row changes in the last %.0fs%s",
			        p->progress->position, c->rows - rows_at_start, now - last_log,
			        sl_backfill_progress(c->bf, bf, sizeof bf));
			rows_at_start = c->rows;
			last_log = now;
		}
		if (p->tick)
			p->tick(p->tick_ctx);
	}
	/* stop the reader and wait for it */
	c->stop = 1;
	sl_queue_abort(c->q);
	pthread_join(c->reader, NULL);
	if (rc < 0 || c->group_open || c->in_src_txn)
		p->tops->apply_rollback(c->ap);
	if (rc == 0 && c->reader_rc < 0 && c->reader_err.rediscover && p->restart) {
		/* the stream met a table not as discovered: what was committed stays, the rest
		 * is read again after a new discovery */
		sl_info("cdc: %s; change capture starts again with a new discovery",
		        c->reader_err.msg);
		cdc_discover_again(c);
	} else if (rc == 0 && c->reader_rc < 0 && c->reader_rc != SL_ERR_CANCELLED) {
		*err = c->reader_err;
		rc = c->reader_rc;
	}
	cdc_log_stats(c, cdc_now() - started);
	return rc;
}

static void cdc_session_end(struct cdc *c)
{
	const sl_cdc_params *p = c->p;
	if (c->stream) /* NULL with a buffer */
		p->sops->stream_close(c->stream);
	c->stream = NULL;
	if (c->ap)
		p->tops->apply_close(c->ap);
	c->ap = NULL;
	if (c->q)
		sl_queue_destroy(c->q, cdc_free_item);
	c->q = NULL;
	for (int t = 0; t < p->cat->ntables; t++) {
		pend_free(&c->pend[t]);
		sl_shape_unref(c->shapes[t]);
		c->shapes[t] = NULL;
		free(c->cols_next[t]); /* not committed */
		c->cols_next[t] = NULL;
	}
	sl_msg_free(c->last_commit);
	c->last_commit = NULL;
	sl_latency_drop(&c->lat); /* read again */
	c->begun_us = 0;
	progress_lock(p);
	p->progress->caught_up = false;
	p->progress->down = true; /* until the next session hears from the stream */
	progress_unlock(p);
	cdc_acts_drop(c); /* not done: the next session reads them again */
	sl_backfill_session_end(c->bf);
	c->slice_t0 = 0;
	c->in_src_txn = c->group_open = c->target_dirty = false;
	c->pending_bytes = c->group_bytes = 0;
	c->held = c->held_peak = 0;
	sl_hist_reset(&c->lag);
}

int sl_cdc_run(const sl_cdc_params *p, sl_error *err)
{
	struct cdc c;
	memset(&c, 0, sizeof c);
	c.p = p;
	c.col_limit = p->col_limit > 0 ? p->col_limit : SL_COL_MAX_BYTES;
	int n = p->cat->ntables ? p->cat->ntables : 1;
	c.pend = sl_calloc((size_t)n, sizeof *c.pend);
	sl_latency_init(&c.lat, p->metrics, "", "the target");
	if (p->metrics) {
		c.rt_queue = sl_metrics_series(p->metrics, SL_METRIC_GAUGE, "runtime.queue_depth",
		                               "By", "Bytes waiting in a queue between two threads",
		                               "queue", "changes");
		c.rt_workers = sl_metrics_series(p->metrics, SL_METRIC_GAUGE, "runtime.num_workers",
		                                 "1", "Threads moving data", NULL, NULL);
		c.rt_groups = sl_metrics_series(
		        p->metrics, SL_METRIC_COUNTER, "runtime.groups", "1",
		        "Groups of transactions committed on the target", NULL, NULL);
		c.rt_txns = sl_metrics_series(p->metrics, SL_METRIC_COUNTER, "runtime.transactions",
		                              "1", "Source transactions committed on the target",
		                              NULL, NULL);
	}
	c.shapes = sl_calloc((size_t)n, sizeof *c.shapes);
	c.cols = sl_calloc((size_t)n, sizeof *c.cols);
	c.cols_loaded = sl_calloc((size_t)n, sizeof *c.cols_loaded);
	c.cols_next = sl_calloc((size_t)n, sizeof *c.cols_next);
	c.view = sl_colview_create(p->cat, p->cfg->mask_key);
	if (p->cat->nfks > 0) {
		char **problems = NULL;
		c.plans = sl_fk_plans_build(p->cat, p->tops->actions_keyed_only, &problems);
		c.unplanned_parent = sl_calloc((size_t)p->cat->nfks, sizeof *c.unplanned_parent);
		c.unplanned_child = sl_calloc((size_t)p->cat->nfks, sizeof *c.unplanned_child);
		for (int i = 0; i < p->cat->nfks; i++) {
			bool unplanned = problems[i] != NULL || p->tops->apply_actions == NULL;
			c.unplanned_parent[i] =
			        unplanned ? sl_catalog_find(p->cat, p->cat->fks[i].parent) : -1;
			c.unplanned_child[i] =
			        unplanned ? sl_catalog_find(p->cat, p->cat->fks[i].child) : -1;
			if (problems[i])
				sl_warn("foreign key %s", problems[i]);
			free(problems[i]);
		}
		free(problems);
		bool any = false;
		for (int t = 0; t < p->cat->ntables; t++)
			any |= c.plans[t] != NULL;
		if (any && p->tops->apply_actions == NULL) {
			sl_warn("target %s cannot do the foreign-key actions the source does not "
			        "log; "
			        "tables they change may differ from the source (compare with "
			        "'sluice "
			        "verify')",
			        p->tops->type);
			any = false;
		}
		if (!any) {
			sl_fk_plans_free(c.plans, p->cat->ntables);
			c.plans = NULL;
		}
	}
	c.acts = sl_calloc((size_t)n, sizeof *c.acts);
	c.acts_order = sl_calloc((size_t)n, sizeof *c.acts_order);
	c.acts_reads = sl_calloc((size_t)n, sizeof *c.acts_reads);
	c.resynced = sl_calloc((size_t)n, sizeof *c.resynced);
	if (!p->once)
		c.bf = sl_backfill_create(p->cfg, p->sops, p->src, p->cat, p->state);
	int backoff = 1, rc = 0;
	if (p->buffer) {
		/* the source side: from where the buffer ends, else where the target is */
		char from[SL_POSITION_MAX];
		if (!sl_buffer_resume(p->buffer, from, sizeof from)) {
			sl_durable d;
			rc = p->tops->durable(p->tgt, p->epoch, &d, err);
			snprintf(from, sizeof from, "%s",
			         rc == 0 && d.found ? d.position : p->epoch);
		}
		if (rc == 0)
			rc = sl_buffer_source_start(p->buffer, p->sops, p->src, p->cat, from,
			                            p->once, err);
	}
	while (rc == 0) {
		bool progressed = false;
		rc = cdc_session(&c, &progressed, err);
		cdc_session_end(&c);
		if (rc == 0 || !err->retryable)
			break; /* a restart pending: the next session commits nothing and returns */
		if (sl_stop_requested) {
			/* a signal while the link is down is a graceful stop like any other: the
			 * target holds the durable position */
			sl_info("%s; not reconnecting (stopping)", err->msg);
			rc = 0;
			sl_error_clear(err);
			break;
		}
		if (progressed)
			backoff = 1;
		sl_warn("%s; reconnecting in %ds", err->msg, backoff);
		for (int i = 0; i < backoff * 10 && !sl_stop_requested; i++)
			usleep(100000);
		if (sl_stop_requested) {
			rc = 0;
			sl_error_clear(err);
			break;
		}
		backoff = backoff * 2 > 30 ? 30 : backoff * 2;
		sl_error_clear(err);
		rc = 0;
	}
	if (p->buffer)
		sl_buffer_source_stop(p->buffer);
	free(c.pend);
	sl_latency_free(&c.lat);
	free(c.shapes);
	for (int t = 0; t < n; t++)
		free(c.cols[t]);
	free(c.cols);
	free(c.cols_loaded);
	free(c.cols_next);
	sl_colview_destroy(c.view);
	sl_backfill_destroy(c.bf);
	cdc_acts_drop(&c);
	free(c.acts);
	free(c.acts_order);
	free(c.acts_reads);
	free(c.acts_keys);
	sl_shape_unref(c.pcols_shape);
	free(c.pcols);
	free(c.unplanned_parent);
	free(c.unplanned_child);
	free(c.resynced);
	sl_fk_plans_free(c.plans, p->cat->ntables);
	if (rc == 0 && sl_stop_requested)
		sl_info("cdc: stopped by signal; durable position %s", p->progress->position);
	return rc;
}
