/* Pipeline runs: the parallel snapshot, verify, check, discover, status.
 *
 * Snapshot threads: N lanes (snapshot.parallelism, capped by the number of chunks). Each lane
 * is a reader thread (one source connection inside the consistent snapshot) and a writer thread
 * (one target connection) joined by a queue bounded in bytes, so a slow target slows its reader
 * and memory stays bounded (about snapshot.queue_size in all, plus one batch per thread). Lanes
 * take chunks from a shared list, biggest tables first. A chunk travels as BEGIN, its batches,
 * END; the writer loads it in one COPY and commits. The writer that finishes a table's last
 * chunk adds its primary key and marks it done in the state store.
 *
 * The main thread draws progress and waits. On the first error, or on SIGINT/SIGTERM, every
 * queue is aborted and every loop stops at its next check; tables not done are reloaded by the
 * next run. Lock order: pipeline mutex, then state store mutex (never the reverse). */
#include "core/pipeline.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/catalog.h"
#include "core/backfill.h"
#include "core/buffer.h"
#include "core/cdc.h"
#include "core/columns.h"
#include "core/digest.h"
#include "core/fkeys.h"
#include "core/follow.h"
#include "core/log.h"
#include "core/metrics.h"
#include "observe/listener.h"
#include "observe/otlp.h"
#include "core/mem.h"
#include "core/queue.h"
#include "core/state.h"
#include "core/thread.h"
#include "core/source.h"
#include "core/target.h"
#include "formats/json.h"

volatile sig_atomic_t sl_stop_requested;

#define SL_BATCH_BYTES (4u << 20)

enum { ITEM_BEGIN = 1, ITEM_BATCH = 2, ITEM_END = 3 };

struct table_progress {
	sl_metric *_Atomic flow[SL_NFLOWS]; /* its rows/bytes counters, looked up once */
	atomic_int_fast64_t rows;
	atomic_int chunks_left;
	atomic_int state; /* 0 waiting, 1 loading, 2 done */
	double started, finished;
};

enum { RUN_STARTING, RUN_SNAPSHOT, RUN_CHANGES };
enum { RUN_HIST = 180, RUN_HIST_EVERY = 5 }; /* 15 min */

struct run {
	const sl_config *cfg;
	const sl_source_ops *sops;
	const sl_target_ops *tops;
	sl_source *src;
	sl_target *tgt;
	sl_state *state;
	sl_catalog cat;
	sl_chunk *chunks;
	int nchunks;
	atomic_int next_chunk;
	struct table_progress *prog;
	pthread_mutex_t mu;
	pthread_cond_t settled; /* (mu) the last table done, or the run failed */
	atomic_int failed;
	atomic_int tables_left; /* tables of this run not done yet (key added, state written) */
	sl_error first_err;
	volatile int cancel; /* seen by the readers' COPY loops */
	struct lane *lanes;
	int nlanes;
	/* CDC: every table discovered at its start (added or not), and whether change capture
	 * must start again with a new discovery (a table appeared; a table's rows must be copied
	 * with columns the run did not know) */
	char **known;
	int nknown;
	volatile int restart;
	bool once; /* run --once: no backfills */
	/* identities of the tables the pipeline loaded (the catalog's follow list) */
	char **follow;
	int nfollow;
	int waiting;    /* verify: tables not loaded yet */
	bool verifying; /* verify: no table on the source is not an error of itself */
	/* observability: the run's metrics (always), the listener (observability.listen) */
	sl_metrics *metrics;
	sl_listener *listener;
	sl_otlp *otlp;                        /* OTEL_EXPORTER_OTLP_*: metrics pushed */
	atomic_int phase;                     /* RUN_STARTING, RUN_SNAPSHOT, RUN_CHANGES */
	atomic_int chunks_done, chunks_total; /* for /readyz (nchunks is the snapshot's) */
	/* /api/v1/status: status_mu guards the phase's changes to RUN_SNAPSHOT and away from it
	 * (the catalog and prog are read then), and `progress`: the apply loop's, which it writes
	 * under status_mu (sl_cdc_progress.mu), or NULL when change capture is not running */
	pthread_mutex_t status_mu;
	const sl_cdc_progress *progress;
	/* the console's charts: a sample every RUN_HIST_EVERY s for 15 min, oldest at hist_at
	 * once full (status_mu) */
	struct run_sample {
		int64_t unix_ms;
		double rows_out, lag; /* < 0: unknown */
	} hist[RUN_HIST];
	int hist_n, hist_at;
	double hist_last;
};

/* Seconds the target is behind the source (the caller holds status_mu): none when caught up;
 * else since the source committed the oldest transaction received and not yet applied; while
 * reconnecting, since the last applied commit; < 0 when not streaming or unknown. */
static double run_lag(const struct run *r)
{
	const sl_cdc_progress *p = r->progress;
	if (atomic_load(&r->phase) != RUN_CHANGES || p == NULL)
		return -1;
	int64_t from = p->caught_up        ? 0
	               : p->pending_us > 0 ? p->pending_us
	               : p->down           ? p->commit_us
	                                   : 0;
	if (p->down && from <= 0)
		return -1; /* nothing applied yet, and nothing known */
	if (from <= 0)
		return 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	double lag = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - (double)from / 1e6;
	return lag > 0 ? lag : 0;
}

/* Every RUN_HIST_EVERY s (from the main thread's loops; now: their monotonic clock, s): rows
 * written and the lag, for the console's charts */
static void run_sample(struct run *r, double now)
{
	if (!r->metrics) /* the history is for the listener's status API, which needs them */
		return;
	if (r->hist_last > 0 && now - r->hist_last < RUN_HIST_EVERY)
		return;
	r->hist_last = now;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct run_sample s = {
	        .unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
	        .rows_out = r->metrics ? sl_metrics_total(r->metrics, "rows.out") : -1,
	};
	pthread_mutex_lock(&r->status_mu);
	s.lag = run_lag(r);
	if (r->hist_n < RUN_HIST) {
		r->hist[r->hist_n++] = s;
	} else {
		r->hist[r->hist_at] = s;
		r->hist_at = (r->hist_at + 1) % RUN_HIST;
	}
	pthread_mutex_unlock(&r->status_mu);
}

/* A collector: the lag gauge, at each export */
static void run_collect(void *ctx, sl_metrics *m)
{
	struct run *r = ctx;
	pthread_mutex_lock(&r->status_mu);
	double lag = run_lag(r);
	pthread_mutex_unlock(&r->status_mu);
	uint64_t nwarn, nerror;
	sl_log_counts(&nwarn, &nerror);
	static const char help[] = "Warnings and errors logged (the last ones: /api/v1/status)";
	sl_metric_set(
	        sl_metrics_series(m, SL_METRIC_COUNTER, "log.messages", "1", help, "level", "warn"),
	        (double)nwarn);
	sl_metric_set(sl_metrics_series(m, SL_METRIC_COUNTER, "log.messages", "1", help, "level",
	                                "error"),
	              (double)nerror);
	if (lag >= 0)
		sl_metric_set(sl_metrics_series(m, SL_METRIC_GAUGE, "lag", "s",
		                                "Seconds the target is behind the source: 0 when "
		                                "caught up, else since the last applied commit",
		                                NULL, NULL),
		              lag);
}

/* Add v to table t's counter (looked up under the registry's lock once; lanes race to
 * store the same pointer) */
static void run_count(struct run *r, sl_flow which, int t, uint64_t v)
{
	if (!r->metrics)
		return;
	sl_metric *s = atomic_load_explicit(&r->prog[t].flow[which], memory_order_acquire);
	if (!s) {
		s = sl_metrics_flow(r->metrics, which, r->cat.tables[t].qualified);
		atomic_store_explicit(&r->prog[t].flow[which], s, memory_order_release);
	}
	sl_metric_add(s, v);
}

static void run_progress(struct run *r, double percent)
{
	if (r->metrics)
		sl_metric_set(sl_metrics_series(r->metrics, SL_METRIC_GAUGE, "progress.snapshot",
		                                "%", "Progress of the snapshot, 0 to 100", NULL,
		                                NULL),
		              percent);
}

struct lane {
	struct run *run;
	int id;
	sl_reader *reader;
	sl_writer *writer;
	sl_queue *q;
	pthread_t rt, wt;
	bool rt_started, wt_started; /* only a started thread is joined */
	int table;                   /* chunk being read: for the sink */
	/* tables this lane's writer finished whose load may not be durable yet (writer_defer):
	 * recorded as done after the next writer_sync (lane_settle) */
	int *unsynced;
	int nunsynced;
	double unsynced_since;
};

/* runtime.*: what waits in the snapshot's queues, and its threads (a reader and a writer per
 * lane; 0 once done) */
static void run_lanes_depth(struct run *r, int nlanes)
{
	if (!r->metrics)
		return;
	size_t bytes = 0;
	for (int i = 0; i < nlanes; i++)
		bytes += r->lanes[i].q ? sl_queue_bytes(r->lanes[i].q) : 0;
	sl_metric_set(sl_metrics_series(r->metrics, SL_METRIC_GAUGE, "runtime.queue_depth", "By",
	                                "Bytes waiting in a queue between two threads", "queue",
	                                "snapshot"),
	              (double)bytes);
	sl_metric_set(sl_metrics_series(r->metrics, SL_METRIC_GAUGE, "runtime.num_workers", "1",
	                                "Threads moving data", NULL, NULL),
	              2.0 * nlanes);
}

static double sl_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_fail(struct run *r, const sl_error *err)
{
	pthread_mutex_lock(&r->mu);
	if (!atomic_load(&r->failed)) {
		r->first_err = *err;
		atomic_store(&r->failed, 1);
	}
	pthread_cond_broadcast(&r->settled);
	pthread_mutex_unlock(&r->mu);
	r->cancel = 1;
	/* wake every lane: queues first, then statements that may be waiting on a server (a
	 * COPY, a primary key build behind a lock) */
	for (int i = 0; i < r->nlanes; i++) {
		struct lane *l = &r->lanes[i];
		if (l->q)
			sl_queue_abort(l->q);
		if (l->reader)
			r->sops->reader_cancel(l->reader);
		if (l->writer)
			r->tops->writer_cancel(l->writer);
	}
}

struct chunk_marker {
	int chunk;
	int64_t rows;
};

static void free_item(void *item, int kind)
{
	if (kind == ITEM_BATCH)
		sl_batch_destroy(item);
	else
		free(item);
}

static sl_batch *lane_sink(void *ctx, sl_batch *full, sl_error *err)
{
	struct lane *l = ctx;
	const sl_table_def *t = &l->run->cat.tables[l->table];
	if (sl_stop_requested) {
		/* the sink owns `full` (as when the queue refuses it below) */
		sl_batch_destroy(full);
		sl_error_set(err, SL_ERR_CANCELLED, "stopped by signal");
		return NULL;
	}
	run_count(l->run, SL_ROWS_IN, l->table, (uint64_t)full->length);
	run_count(l->run, SL_BYTES_IN, l->table, sl_batch_bytes(full));
	sl_batch *out = full;
	if (t->masks) {
		/* masked here, before the values go anywhere; `full` is reused */
		out = sl_batch_create(t->fields, t->nfields);
		sl_columns_mask_batch(t, l->run->cfg->mask_key, full, out);
	}
	if (sl_queue_push(l->q, out, ITEM_BATCH, sl_batch_bytes(out)) < 0) {
		sl_batch_destroy(out);
		if (out != full)
			sl_batch_destroy(full);
		sl_error_set(err, SL_ERR_CANCELLED, "pipeline stopping");
		return NULL;
	}
	if (out != full)
		return full;
	return sl_batch_create(sl_table_read_fields(t), t->nfields);
}

static void *reader_main(void *arg)
{
	struct lane *l = arg;
	struct run *r = l->run;
	sl_error err = {0};
	for (;;) {
		if (atomic_load(&r->failed) || sl_stop_requested)
			break;
		int idx = atomic_fetch_add(&r->next_chunk, 1);
		if (idx >= r->nchunks)
			break;
		const sl_chunk *c = &r->chunks[idx];
		const sl_table_def *t = &r->cat.tables[c->table];
		l->table = c->table;
		struct chunk_marker *m = sl_calloc(1, sizeof *m);
		m->chunk = idx;
		if (sl_queue_push(l->q, m, ITEM_BEGIN, 0) < 0) {
			free(m);
			break;
		}
		sl_batch *b = sl_batch_create(sl_table_read_fields(t), t->nfields);
		int64_t rows = 0;
		int rc = r->sops->read_chunk(l->reader, &r->cat, c, &b, SL_BATCH_BYTES, lane_sink,
		                             l, &rows, &r->cancel, &err);
		sl_batch_destroy(b);
		if (rc < 0) {
			if (rc != SL_ERR_CANCELLED)
				run_fail(r, &err);
			break;
		}
		m = sl_calloc(1, sizeof *m);
		m->chunk = idx;
		m->rows = rows;
		if (sl_queue_push(l->q, m, ITEM_END, 0) < 0) {
			free(m);
			break;
		}
	}
	sl_queue_close(l->q);
	return NULL;
}

/* Record table t as loaded (its load durable on the target). */
static int table_done(struct run *r, int t, sl_error *err)
{
	struct table_progress *tp = &r->prog[t];
	SL_TRY(sl_state_table_set(r->state, r->cat.tables[t].qualified, SL_TABLE_DONE,
	                          atomic_load(&tp->rows), err));
	tp->finished = sl_now();
	atomic_store(&tp->state, 2);
	if (atomic_fetch_sub(&r->tables_left, 1) == 1) {
		pthread_mutex_lock(&r->mu);
		pthread_cond_broadcast(&r->settled);
		pthread_mutex_unlock(&r->mu);
	}
	return 0;
}

enum { LANE_UNSYNCED_MAX = 64 };
#define LANE_UNSYNCED_SECONDS 0.2

/* Make the lane's finished tables durable and record them as loaded: always when `now`, else
 * once LANE_UNSYNCED_MAX wait or the oldest has waited LANE_UNSYNCED_SECONDS (checked as tables
 * finish and as chunks begin). */
static int lane_settle(struct lane *l, bool now, sl_error *err)
{
	struct run *r = l->run;
	if (l->nunsynced == 0)
		return 0;
	if (!now && l->nunsynced < LANE_UNSYNCED_MAX &&
	    sl_now() - l->unsynced_since < LANE_UNSYNCED_SECONDS)
		return 0;
	SL_TRY(r->tops->writer_sync(l->writer, err));
	SL_TRY(sl_state_batch_begin(r->state, err));
	int rc = 0;
	for (int i = 0; i < l->nunsynced && rc == 0; i++)
		rc = table_done(r, l->unsynced[i], err);
	l->nunsynced = 0;
	return sl_state_batch_end(r->state, rc, err);
}

static int writer_finish_chunk(struct lane *l, const sl_chunk *c, sl_error *err)
{
	struct run *r = l->run;
	struct table_progress *tp = &r->prog[c->table];
	run_progress(r, 100.0 * (atomic_fetch_add(&r->chunks_done, 1) + 1) /
	                        (r->nchunks ? r->nchunks : 1));
	if (atomic_fetch_sub(&tp->chunks_left, 1) != 1)
		return 0;
	SL_TRY(r->tops->finish_table(l->writer, &r->cat, c->table, err));
	if (r->tops->writer_defer == NULL)
		return table_done(r, c->table, err);
	double now = sl_now();
	if (l->nunsynced == 0)
		l->unsynced_since = now;
	l->unsynced = sl_realloc(l->unsynced, sizeof *l->unsynced * (size_t)(l->nunsynced + 1));
	l->unsynced[l->nunsynced++] = c->table;
	/* a table that took a while is recorded at once (a sync costs it nothing, and a crash
	 * must not reload it); small ones wait for company */
	return lane_settle(l, now - tp->started >= LANE_UNSYNCED_SECONDS, err);
}

static void *writer_main(void *arg)
{
	struct lane *l = arg;
	struct run *r = l->run;
	sl_error err = {0};
	int rc = 0;
	bool loading = false;
	const sl_chunk *cur = NULL;
	for (;;) {
		void *item;
		int kind;
		int got = sl_queue_pop(l->q, &item, &kind, NULL);
		if (got <= 0)
			break;
		if (kind == ITEM_BEGIN) {
			struct chunk_marker *m = item;
			cur = &r->chunks[m->chunk];
			free(m);
			/* tables finished a while ago are not kept waiting behind this one */
			if ((rc = lane_settle(l, false, &err)) < 0) {
				run_fail(r, &err);
				break;
			}
			struct table_progress *tp = &r->prog[cur->table];
			int expected = 0;
			if (atomic_compare_exchange_strong(&tp->state, &expected, 1))
				tp->started = sl_now();
			rc = r->tops->load_begin(l->writer, &r->cat, cur->table, &err);
			loading = rc == 0;
		} else if (kind == ITEM_BATCH) {
			sl_batch *b = item;
			rc = r->tops->load_batch(l->writer, b, &err);
			if (rc == 0) {
				atomic_fetch_add(&r->prog[cur->table].rows, b->length);
				run_count(r, SL_ROWS_OUT, cur->table, (uint64_t)b->length);
				run_count(r, SL_BYTES_OUT, cur->table, sl_batch_bytes(b));
			}
			sl_batch_destroy(b);
		} else {
			free(item);
			rc = r->tops->load_end(l->writer, &err);
			loading = false;
			if (rc == 0)
				rc = writer_finish_chunk(l, cur, &err);
		}
		if (rc < 0) {
			run_fail(r, &err);
			break;
		}
	}
	if (loading)
		r->tops->load_abort(l->writer);
	/* the lane's last tables: durable, then recorded (not after a failure: they are
	 * loaded again by the next run) */
	if (rc == 0 && !atomic_load(&r->failed) && lane_settle(l, true, &err) < 0)
		run_fail(r, &err);
	return NULL;
}

/* ---------------------------------------------------------------- progress ---- */

static void fmt_count(char *buf, size_t n, double v)
{
	if (v >= 1e9)
		snprintf(buf, n, "%.2fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, n, "%.2fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, n, "%.1fk", v / 1e3);
	else
		snprintf(buf, n, "%.0f", v);
}

static void fmt_eta(char *buf, size_t n, double secs)
{
	if (secs < 0 || secs > 1e7)
		snprintf(buf, n, "--");
	else if (secs >= 3600)
		snprintf(buf, n, "%dh%02dm", (int)secs / 3600, (int)secs % 3600 / 60);
	else
		snprintf(buf, n, "%dm%02ds", (int)secs / 60, (int)secs % 60);
}

struct progress {
	bool tty;
	int lines; /* lines drawn last time (tty) */
	double started, last_log;
};

static void progress_draw(struct run *r, struct progress *pg, bool final)
{
	double now = sl_now(), elapsed = now - pg->started;
	int done = 0, total = 0;
	int64_t rows = 0, est_total = 0;
	for (int i = 0; i < r->cat.ntables; i++) {
		if (r->prog[i].chunks_left == 0 && atomic_load(&r->prog[i].state) == 0)
			continue; /* not part of this run */
		total++;
		done += atomic_load(&r->prog[i].state) == 2;
		rows += atomic_load(&r->prog[i].rows);
		est_total += r->cat.tables[i].est_rows > 0 ? r->cat.tables[i].est_rows : 0;
	}
	char c1[32], c2[32], c3[32];
	fmt_count(c1, sizeof c1, (double)rows);
	fmt_count(c2, sizeof c2, elapsed > 0 ? (double)rows / elapsed : 0);
	if (!pg->tty) {
		if (!final && now - pg->last_log < 10)
			return;
		pg->last_log = now;
		sl_info("snapshot: %d/%d tables done, %s rows, %s rows/s", done, total, c1, c2);
		return;
	}
	sl_buf out = {0};
	for (int i = 0; i < pg->lines; i++)
		sl_buf_puts(&out, "\033[1A\033[2K");
	int lines = 0;
	for (int i = 0; i < r->cat.ntables && lines < 12; i++) {
		struct table_progress *tp = &r->prog[i];
		if (atomic_load(&tp->state) != 1)
			continue;
		const sl_table_def *t = &r->cat.tables[i];
		double trows = (double)atomic_load(&tp->rows), te = now - tp->started;
		double rate = te > 0 ? trows / te : 0;
		fmt_count(c1, sizeof c1, trows);
		fmt_count(c2, sizeof c2, rate);
		char pct[16] = "";
		if (t->est_rows > 0) {
			double p = 100.0 * trows / (double)t->est_rows;
			snprintf(pct, sizeof pct, "%3.0f%%", p > 99 ? 99 : p);
			fmt_eta(c3, sizeof c3,
			        rate > 0 ? ((double)t->est_rows - trows) / rate : -1);
		} else {
			snprintf(c3, sizeof c3, "--");
		}
		sl_buf_printf(&out, "  %-40.40s %4s %10s rows %10s rows/s  ETA %s\n", t->qualified,
		              pct, c1, c2, c3);
		lines++;
	}
	fmt_count(c1, sizeof c1, (double)rows);
	fmt_count(c2, sizeof c2, elapsed > 0 ? (double)rows / elapsed : 0);
	double rate = elapsed > 0 ? (double)rows / elapsed : 0;
	fmt_eta(c3, sizeof c3,
	        est_total > rows && rate > 0 ? (double)(est_total - rows) / rate
	        : final                      ? 0
	                                     : -1);
	sl_buf_printf(&out,
	              "snapshot: %d/%d tables done  %s rows  %s rows/s  elapsed %.0fs  ETA %s\n",
	              done, total, c1, c2, elapsed, c3);
	lines++;
	fwrite(out.data, 1, out.len, stderr);
	fflush(stderr);
	sl_buf_free(&out);
	pg->lines = lines;
}

/* ---------------------------------------------------------------- setup ---- */

int sl_pipeline_connectors(const sl_config *cfg, const sl_source_ops **sops,
                           const sl_target_ops **tops, sl_error *err)
{
	*sops = sl_source_lookup(cfg->source.type);
	if (*sops == NULL)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "source.type '%s' is not supported (supported: %s)",
		                    cfg->source.type, sl_source_types());
	*tops = sl_target_lookup(cfg->target.type);
	if (*tops == NULL)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "target.type '%s' is not supported (supported: %s)",
		                    cfg->target.type, sl_target_types());
	if (cfg->target.url == NULL && !(*tops)->url_optional)
		return sl_error_set(err, SL_ERR_CONFIG, "missing required key 'target.url'");
	SL_TRY(sl_config_check_section(cfg, "source", (*sops)->type, (*sops)->options, err));
	return sl_config_check_section(cfg, "target", (*tops)->type, (*tops)->options, err);
}

static int run_open(struct run *r, const sl_config *cfg, bool with_target, bool with_state,
                    sl_error *err)
{
	memset(r, 0, sizeof *r);
	r->cfg = cfg;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->settled, NULL);
	pthread_mutex_init(&r->status_mu, NULL);
	SL_TRY(sl_pipeline_connectors(cfg, &r->sops, &r->tops, err));
	SL_TRY(r->sops->open(cfg, &r->src, err));
	if (with_target)
		SL_TRY(r->tops->open(cfg, &r->tgt, err));
	if (with_state)
		SL_TRY(sl_state_open(cfg->state_url, cfg->name, &r->state, err));
	return 0;
}

static void run_forget_known(struct run *r)
{
	for (int i = 0; i < r->nknown; i++)
		free(r->known[i]);
	free(r->known);
	r->known = NULL;
	r->nknown = 0;
}

static void run_forget_follow(struct run *r)
{
	for (int i = 0; i < r->nfollow; i++)
		free(r->follow[i]);
	free(r->follow);
	r->follow = NULL;
	r->nfollow = 0;
	r->cat.follow = NULL;
	r->cat.nfollow = 0;
}

static void run_close(struct run *r)
{
	sl_listener_stop(r->listener); /* first: it reads the run */
	r->listener = NULL;
	sl_otlp_stop(r->otlp); /* a last export, with the final counts */
	r->otlp = NULL;
	sl_metrics_destroy(r->metrics);
	r->metrics = NULL;
	run_forget_follow(r);
	run_forget_known(r);
	sl_catalog_free(&r->cat);
	sl_chunks_free(r->chunks, r->nchunks);
	free(r->prog);
	free(r->lanes);
	if (r->tgt)
		r->tops->close(r->tgt);
	if (r->src)
		r->sops->close(r->src);
	sl_state_close(r->state);
	pthread_cond_destroy(&r->settled);
	pthread_mutex_destroy(&r->mu);
	pthread_mutex_destroy(&r->status_mu);
}

static int run_project(void *ctx, sl_catalog *cat, int t, const int *keep, int nkeep, sl_error *err)
{
	struct run *r = ctx;
	if (r->sops->project == NULL)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "source.tables.columns: a %s source cannot leave columns out "
		                    "(remove include/exclude for %s)",
		                    r->sops->type, cat->tables[t].qualified);
	return r->sops->project(r->src, cat, t, keep, nkeep, err);
}

/* The catalog's follow list: the identities of the tables the pipeline loaded and still has. */
static int run_load_follow(struct run *r, sl_error *err)
{
	run_forget_follow(r);
	if (r->state == NULL)
		return 0;
	sl_state_table *rows;
	int n;
	SL_TRY(sl_state_tables(r->state, &rows, &n, err));
	r->follow = sl_calloc((size_t)(n ? n : 1), sizeof *r->follow);
	for (int i = 0; i < n; i++)
		if (rows[i].identity && rows[i].gone_at == 0)
			r->follow[r->nfollow++] = sl_strdup(rows[i].identity);
	sl_state_tables_free(rows, n);
	r->cat.follow = r->follow;
	r->cat.nfollow = r->nfollow;
	return 0;
}

static int run_discover(struct run *r, sl_error *err)
{
	SL_TRY(run_load_follow(r, err));
	SL_TRY(r->sops->discover(r->src, &r->cat, err));
	SL_TRY(sl_columns_apply(r->cfg, &r->cat, run_project, r, err));
	if (r->cat.ntables == 0 && !r->verifying)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "no table selected on the source (check "
		                    "source.tables.include/exclude and that the user "
		                    "can see the tables)");
	for (int i = 0; i < r->cat.ntables; i++) {
		const sl_table_def *t = &r->cat.tables[i];
		for (int k = 0; k < t->nskipped; k++)
			sl_warn("column %s.%s of type %s is skipped: %s", t->qualified,
			        t->skipped[k].name, t->skipped[k].source_type,
			        t->skipped[k].reason);
	}
	return 0;
}

/* Tables the pipeline loaded, followed by their identity (core/follow.h); not when the state
 * store holds another source's pipeline (snapshot_begin refuses it, naming both). */
static int run_follow(struct run *r, sl_error *err)
{
	sl_pipeline_state ps;
	SL_TRY(sl_state_load(r->state, &ps, err));
	char identity[512];
	r->sops->identity(r->src, identity, sizeof identity);
	if (ps.found && strcmp(ps.identity, identity) != 0)
		return 0;
	return sl_follow_apply(r->cfg, r->tops, r->tgt, r->state, &r->cat, err);
}

static int chunk_order(const void *a, const void *b, void *ctx)
{
	const sl_chunk *x = a, *y = b;
	const sl_catalog *cat = ctx;
	int64_t bx = cat->tables[x->table].est_bytes, by = cat->tables[y->table].est_bytes;
	if (bx != by)
		return bx > by ? -1 : 1;
	return x->table - y->table;
}

static void sort_chunks(sl_chunk *c, int n, const sl_catalog *cat)
{
	/* insertion sort keeps each table's chunks in block order; n is small */
	for (int i = 1; i < n; i++) {
		sl_chunk tmp = c[i];
		int j = i - 1;
		while (j >= 0 && chunk_order(&c[j], &tmp, (void *)cat) > 0) {
			c[j + 1] = c[j];
			j--;
		}
		c[j + 1] = tmp;
	}
}

/* Two source tables must not land in one target table (e.g. public.items and sales.items
 * when target.schema puts every table in one schema). */
static int check_target_names(struct run *r, sl_error *err)
{
	int n = r->cat.ntables;
	char **names = sl_calloc((size_t)(n ? n : 1), sizeof *names);
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		char buf[300];
		names[i] = sl_strdup(r->tops->table_name(r->tgt, &r->cat, i, buf, sizeof buf));
		for (int k = 0; k < i; k++)
			if (strcmp(names[k], names[i]) == 0)
				rc = sl_error_set(err, SL_ERR_CONFIG,
				                  "source tables %s and %s would both land in "
				                  "target table %s "
				                  "(exclude one in source.tables.exclude, or "
				                  "remove target.schema)",
				                  r->cat.tables[k].qualified,
				                  r->cat.tables[i].qualified, names[i]);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* Whether table i, new to the pipeline, has a backfill under way from an earlier run. */
static int run_backfill_status(struct run *r, const char *table, bool *found,
                               sl_backfill_status *status, sl_error *err)
{
	sl_backfill_row *rows;
	int n;
	*found = false;
	SL_TRY(sl_state_backfill_list(r->state, &rows, &n, err));
	for (int i = 0; i < n; i++)
		if (strcmp(rows[i].name, table) == 0) {
			*found = true;
			*status = rows[i].status;
		}
	sl_backfill_rows_free(rows, n);
	return 0;
}

/* A table new to the pipeline (created on the source after the snapshot, or newly matched by
 * source.tables) is created on the target with its key and copied by a backfill while its
 * changes stream (core/backfill.h). */
static int run_add_table(struct run *r, int i, sl_table_status ts, const char *why, sl_error *err)
{
	const sl_table_def *t = &r->cat.tables[i];
	bool found;
	sl_backfill_status bs = SL_BACKFILL_FAILED;
	SL_TRY(run_backfill_status(r, t->qualified, &found, &bs, err));
	if (found && bs == SL_BACKFILL_COPYING && ts == SL_TABLE_LOADING) {
		sl_info("table %s: its backfill goes on", t->qualified);
		return 0;
	}
	if (found && bs == SL_BACKFILL_DONE && ts == SL_TABLE_LOADING) {
		/* the copy finished; the run stopped before it said the table is loaded */
		return sl_state_table_set(r->state, t->qualified, SL_TABLE_DONE, 0, err);
	}
	SL_TRY(r->tops->prepare(r->tgt, &r->cat, i, ts != SL_TABLE_PENDING, err));
	sl_writer *w;
	SL_TRY(r->tops->writer_open(r->tgt, &w, err));
	int rc = r->tops->finish_table(w, &r->cat, i, err);
	r->tops->writer_close(w);
	SL_TRY(rc);
	SL_TRY(sl_state_table_set(r->state, t->qualified, SL_TABLE_LOADING, 0, err));
	SL_TRY(sl_state_backfill_request(r->state, t->qualified, err));
	sl_info("table %s %s: created on the target; its rows are copied while changes stream",
	        t->qualified, why);
	return 0;
}

/* Prepare each table not loaded yet on the target and plan its chunks; loading[*todo] lists
 * them. `backfill_keyless`: a table without a key is copied by a backfill once changes stream;
 * later[*nlater] lists those (added after the batch: run_add_table records them at once). */
static int run_plan_tables(struct run *r, bool backfill_keyless, int64_t chunk_bytes, int *loading,
                           int *todo, int *later, int *nlater, sl_error *err)
{
	for (int i = 0; i < r->cat.ntables; i++) {
		const sl_table_def *t = &r->cat.tables[i];
		sl_table_status ts;
		SL_TRY(sl_state_table_get(r->state, t->qualified, &ts, NULL, err));
		if (ts == SL_TABLE_DONE)
			continue;
		if (backfill_keyless && t->nkey == 0) {
			/* read from a snapshot of its own, a table without a key would not
			 * converge: it is copied by a backfill once changes stream, at a point of
			 * the stream */
			later[(*nlater)++] = i;
			continue;
		}
		SL_TRY(r->tops->prepare(r->tgt, &r->cat, i, ts != SL_TABLE_PENDING, err));
		int before = r->nchunks;
		SL_TRY(r->sops->plan(r->src, &r->cat, i, chunk_bytes, &r->chunks, &r->nchunks,
		                     err));
		atomic_store(&r->prog[i].chunks_left, r->nchunks - before);
		loading[(*todo)++] = i;
	}
	return 0;
}

static int run_snapshot(struct run *r, sl_error *err)
{
	const sl_config *cfg = r->cfg;
	bool keyless_backfill = !r->once && sl_source_can_backfill(r->sops, r->src);
	sl_snapshot_info info = {.keyless_backfill = keyless_backfill};
	SL_TRY(check_target_names(r, err));
	SL_TRY(r->sops->snapshot_begin(r->src, &r->cat, r->state, &info, err));
	sl_pipeline_state ps;
	SL_TRY(sl_state_load(r->state, &ps, err));
	if (ps.snapshot_done) {
		sl_info("snapshot: already complete (consistent point %s)", ps.position);
		run_progress(r, 100);
		return 0;
	}
	atomic_store(&r->chunks_done, 0);
	atomic_store(&r->chunks_total, 0);
	int64_t chunk_bytes = cfg->snapshot_chunk_bytes;
	int64_t cap = r->tops->max_chunk_bytes;
	if (cap > 0 && chunk_bytes > cap) {
		chunk_bytes = cap;
		sl_info("snapshot: chunks of at most %lld MiB, the target's limit "
		        "(snapshot.chunk_size is %lld MiB)",
		        (long long)(cap >> 20), (long long)(cfg->snapshot_chunk_bytes >> 20));
	}
	if (info.resumed)
		sl_info("snapshot: resuming the snapshot taken at %s; tables not finished are "
		        "reloaded",
		        info.position);
	pthread_mutex_lock(&r->status_mu);
	free(r->prog);
	r->prog = sl_calloc((size_t)r->cat.ntables, sizeof *r->prog);
	atomic_store(&r->phase, RUN_SNAPSHOT);
	pthread_mutex_unlock(&r->status_mu);
	int todo = 0;
	/* the target's DDL made durable once, not once per table; then every prepared table
	 * recorded as loading, in one state transaction, and only if all of it succeeded (a table
	 * recorded as loading is emptied by the next run: it must be one sluice prepared) */
	size_t nt = (size_t)(r->cat.ntables ? r->cat.ntables : 1);
	int *loading = sl_calloc(nt, sizeof *loading), *later = sl_calloc(nt, sizeof *later);
	int nlater = 0;
	int prc = r->tops->prepare_batch ? r->tops->prepare_batch(r->tgt, true, err) : 0;
	if (prc == 0) {
		prc = run_plan_tables(r, info.resumed && keyless_backfill, chunk_bytes, loading,
		                      &todo, later, &nlater, err);
		if (r->tops->prepare_batch) {
			sl_error e = {0};
			int trc = r->tops->prepare_batch(r->tgt, false, &e);
			if (trc < 0 && prc == 0) {
				*err = e;
				prc = trc;
			}
		}
	}
	if (prc == 0 && (prc = sl_state_batch_begin(r->state, err)) == 0) {
		for (int k = 0; k < todo && prc == 0; k++)
			prc = sl_state_table_set(r->state, r->cat.tables[loading[k]].qualified,
			                         SL_TABLE_LOADING, 0, err);
		prc = sl_state_batch_end(r->state, prc, err);
	}
	for (int k = 0; k < nlater && prc == 0; k++) {
		sl_table_status ts;
		const char *q = r->cat.tables[later[k]].qualified;
		if ((prc = sl_state_table_get(r->state, q, &ts, NULL, err)) == 0)
			prc = run_add_table(r, later[k], ts,
			                    "has no key and its snapshot was cut short", err);
	}
	free(loading);
	free(later);
	SL_TRY(prc);
	atomic_store(&r->tables_left, todo);
	sort_chunks(r->chunks, r->nchunks, &r->cat);
	atomic_store(&r->chunks_total, r->nchunks);
	sl_info("snapshot: %d table(s) in %d chunk(s), parallelism %d", todo, r->nchunks,
	        cfg->snapshot_parallelism);

	r->nlanes = cfg->snapshot_parallelism < r->nchunks ? cfg->snapshot_parallelism : r->nchunks;
	r->lanes = sl_calloc((size_t)(r->nlanes ? r->nlanes : 1), sizeof *r->lanes);
	int rc = 0;
	size_t lane_bytes = (size_t)cfg->queue_bytes / (size_t)(r->nlanes ? r->nlanes : 1);
	if (lane_bytes < 2 * SL_BATCH_BYTES)
		lane_bytes = 2 * SL_BATCH_BYTES;
	/* open every connection first: the readers must import the snapshot while it is exported */
	for (int i = 0; i < r->nlanes && rc == 0; i++) {
		struct lane *l = &r->lanes[i];
		l->run = r;
		l->id = i;
		rc = r->sops->reader_open(r->src, &l->reader, err);
		if (rc == 0)
			rc = r->tops->writer_open(r->tgt, &l->writer, err);
		if (rc == 0 && r->tops->writer_defer)
			rc = r->tops->writer_defer(l->writer, err);
		if (rc == 0)
			l->q = sl_queue_create(lane_bytes);
	}
	struct progress pg = {.tty = isatty(STDERR_FILENO) != 0, .started = sl_now()};
	pg.last_log = pg.started;
	if (rc == 0) {
		/* a thread that cannot start fails the run like any lane error: the lanes already
		 * running stop, and only threads that started are joined */
		for (int i = 0; i < r->nlanes && !atomic_load(&r->failed); i++) {
			struct lane *l = &r->lanes[i];
			sl_error e;
			if (sl_thread_start(&l->rt, reader_main, l, "snapshot reader", &e) < 0) {
				run_fail(r, &e);
				break;
			}
			l->rt_started = true;
			if (sl_thread_start(&l->wt, writer_main, l, "snapshot writer", &e) < 0) {
				run_fail(r, &e);
				break;
			}
			l->wt_started = true;
		}
		for (;;) {
			/* done means keys added and state written, not just chunks copied: a
			 * signal during a final key build still stops the run */
			if (atomic_load(&r->tables_left) == 0 || atomic_load(&r->failed))
				break;
			if (sl_stop_requested) {
				sl_error e;
				sl_error_set(&e, SL_ERR_CANCELLED,
				             "snapshot stopped by signal; run again to resume");
				run_fail(r, &e);
				break;
			}
			progress_draw(r, &pg, false);
			run_sample(r, sl_now());
			run_lanes_depth(r, r->nlanes);
			/* woken when the last table is done (or a lane fails), so a snapshot ends
			 * when its work does, not at the next progress tick */
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += pg.tty ? 250000000L : 500000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_mutex_lock(&r->mu);
			if (atomic_load(&r->tables_left) != 0 && !atomic_load(&r->failed))
				pthread_cond_timedwait(&r->settled, &r->mu, &until);
			pthread_mutex_unlock(&r->mu);
		}
		for (int i = 0; i < r->nlanes; i++) {
			if (r->lanes[i].rt_started)
				pthread_join(r->lanes[i].rt, NULL);
			if (r->lanes[i].wt_started)
				pthread_join(r->lanes[i].wt, NULL);
		}
		progress_draw(r, &pg, true);
		run_lanes_depth(r, 0);
	}
	for (int i = 0; i < r->nlanes; i++) {
		struct lane *l = &r->lanes[i];
		if (l->reader)
			r->sops->reader_close(l->reader);
		if (l->writer)
			r->tops->writer_close(l->writer);
		free(l->unsynced);
		if (l->q)
			sl_queue_destroy(l->q, free_item);
	}
	if (rc < 0)
		return rc;
	if (atomic_load(&r->failed)) {
		*err = r->first_err;
		return err->code ? err->code : SL_ERR_INTERNAL;
	}
	SL_TRY(r->sops->snapshot_end(r->src, err));
	if (info.resumed) {
		/* the reloaded tables were read after the consistent point, each chunk from its
		 * own snapshot: every one of them saw the source at or before its current point */
		sl_log_info li;
		SL_TRY(r->sops->log_info(r->src, &li, err));
		SL_TRY(sl_state_converge_set(r->state, li.current_version, err));
	}
	SL_TRY(sl_state_finish_snapshot(r->state, err));
	int64_t rows = 0;
	for (int i = 0; i < r->cat.ntables; i++)
		rows += atomic_load(&r->prog[i].rows);
	double secs = sl_now() - pg.started;
	sl_info("snapshot: complete: %d table(s), %" PRId64
	        " rows in %.1fs (%.0f rows/s); CDC will start at %s",
	        todo, rows, secs, secs > 0 ? (double)rows / secs : 0, info.position);
	return 0;
}

/* ---------------------------------------------------------------- CDC ---- */

struct cdc_tick {
	struct run *r;
	double last_wal_check, last_heartbeat, last_discover;
};

/* Whether the source now has a table (with a key) that change capture did not start with. */
static bool run_new_table_appeared(struct run *r)
{
	sl_catalog now = {.follow = r->follow, .nfollow = r->nfollow};
	sl_error e = {0};
	bool found = false;
	if (r->sops->discover(r->src, &now, &e) < 0) {
		sl_debug("looking for new tables: %s", e.msg);
		return false;
	}
	for (int i = 0; i < now.ntables && !found; i++) {
		bool known = false;
		for (int k = 0; k < r->nknown && !known; k++)
			known = strcmp(r->known[k], now.tables[i].qualified) == 0;
		if (!known) {
			sl_info("table %s appeared on the source: change capture starts again to "
			        "add "
			        "it",
			        now.tables[i].qualified);
			found = true;
		}
	}
	sl_catalog_free(&now);
	return found;
}

static void format_bytes(char *buf, size_t n, int64_t v)
{
	if (v >= (INT64_C(1) << 30))
		snprintf(buf, n, "%.1f GiB", (double)v / (double)(INT64_C(1) << 30));
	else if (v >= (INT64_C(1) << 20))
		snprintf(buf, n, "%.1f MiB", (double)v / (double)(INT64_C(1) << 20));
	else
		snprintf(buf, n, "%" PRId64 " bytes", v);
}

/* Runs on the main thread between applied messages: heartbeat and retained-log warnings. */
static void run_cdc_tick(void *ctx)
{
	struct cdc_tick *t = ctx;
	struct run *r = t->r;
	double now = sl_now();
	run_sample(r, now);
	sl_error e = {0};
	if (r->cfg->source.heartbeat_ms > 0 &&
	    (now - t->last_heartbeat) * 1000.0 >= (double)r->cfg->source.heartbeat_ms) {
		t->last_heartbeat = now;
		if (r->sops->heartbeat(r->src, &e) < 0)
			sl_warn("source: heartbeat failed: %s", e.msg);
	}
	if (sl_source_can_backfill(r->sops, r->src) && !r->restart &&
	    now - t->last_discover >= 60.0) {
		t->last_discover = now;
		if (run_new_table_appeared(r))
			r->restart = 1;
	}
	if (now - t->last_wal_check >= 60.0) {
		t->last_wal_check = now;
		sl_log_info li;
		int lrc = r->sops->log_info(r->src, &li, &e);
		if (lrc == 0 && li.retained_bytes >= 0 && r->metrics)
			sl_metric_set(sl_metrics_series(r->metrics, SL_METRIC_GAUGE,
			                                "source.log.retained", "By",
			                                "Log the source keeps for the pipeline "
			                                "(PostgreSQL: WAL its slot holds back), "
			                                "read every minute",
			                                NULL, NULL),
			              (double)li.retained_bytes);
		if (lrc == 0 && li.retained_bytes > r->cfg->source.max_retained_wal) {
			char a[32], b[32];
			format_bytes(a, sizeof a, li.retained_bytes);
			format_bytes(b, sizeof b, r->cfg->source.max_retained_wal);
			sl_warn("source: the replication slot holds back %s of log (more than "
			        "source.max_retained_wal %s): the target is falling behind or the "
			        "pipeline was stopped for long",
			        a, b);
		}
	}
}

/* Tables discovered now that the snapshot never loaded. With a source that can backfill, a
 * streaming run adds them (run_add_table); otherwise they are left out of change capture,
 * since their rows before now are not on the target. */
static int run_new_tables(struct run *r, bool once, sl_error *err)
{
	sl_catalog *cat = &r->cat;
	run_forget_known(r);
	r->known = sl_calloc((size_t)(cat->ntables ? cat->ntables : 1), sizeof *r->known);
	for (int i = 0; i < cat->ntables; i++)
		r->known[r->nknown++] = sl_strdup(cat->tables[i].qualified);
	for (int i = 0; i < cat->ntables;) {
		sl_table_status ts;
		const sl_table_def *t = &cat->tables[i];
		SL_TRY(sl_state_table_get(r->state, t->qualified, &ts, NULL, err));
		if (ts == SL_TABLE_DONE) {
			i++;
			continue;
		}
		bool can = sl_source_can_backfill(r->sops, r->src) && !t->unstreamed;
		if (can && !once) {
			SL_TRY(run_add_table(r, i, ts, "is new to the pipeline", err));
			i++;
			continue;
		}
		/* left out of this run: a copy under way would miss the changes this run lets go
		 * by, so the next run that adds the table copies it from the start */
		bool found;
		sl_backfill_status bs = SL_BACKFILL_FAILED;
		SL_TRY(run_backfill_status(r, t->qualified, &found, &bs, err));
		if (found && bs == SL_BACKFILL_COPYING)
			SL_TRY(sl_state_backfill_request(r->state, t->qualified, err));
		if (can)
			sl_warn("table %s is new to the pipeline; a streaming run (without --once) "
			        "copies it and replicates its changes; until then they are not",
			        t->qualified);
		else if (!t->unstreamed) /* else the source said why */
			sl_warn("table %s was created on the source after the snapshot; its "
			        "changes are not replicated (this source cannot copy a table while "
			        "streaming; run 'sluice reset' and start over to include it, or "
			        "exclude it in source.tables.exclude)",
			        t->qualified);
		sl_table_def_free(&cat->tables[i]);
		memmove(&cat->tables[i], &cat->tables[i + 1],
		        (size_t)(cat->ntables - i - 1) * sizeof *cat->tables);
		cat->ntables--;
	}
	return 0;
}

static int run_cdc(struct run *r, bool once, sl_error *err)
{
	sl_pipeline_state ps;
	pthread_mutex_lock(&r->status_mu);
	atomic_store(&r->phase, RUN_STARTING); /* the status reads the catalog no more */
	pthread_mutex_unlock(&r->status_mu);
	SL_TRY(sl_state_load(r->state, &ps, err));
	if (!ps.snapshot_done)
		return sl_error_set(err, SL_ERR_STATE,
		                    "snapshot not complete; cannot stream changes");
	SL_TRY(run_new_tables(r, once, err));
	uint64_t converge_until;
	SL_TRY(sl_state_converge_get(r->state, &converge_until, err));
	sl_cdc_progress progress;
	memset(&progress, 0, sizeof progress);
	snprintf(progress.position, sizeof progress.position, "%s", ps.position);
	struct cdc_tick tick = {.r = r,
	                        .last_wal_check = sl_now() - 50.0,
	                        .last_heartbeat = sl_now(),
	                        .last_discover = sl_now()};
	sl_cdc_params p = {
	        .cfg = r->cfg,
	        .sops = r->sops,
	        .tops = r->tops,
	        .src = r->src,
	        .tgt = r->tgt,
	        .cat = &r->cat,
	        .epoch = ps.position,
	        .converge_until = converge_until,
	        .once = once,
	        .progress = &progress,
	        .state = r->state,
	        .restart = &r->restart,
	        .tick = run_cdc_tick,
	        .tick_ctx = &tick,
	};
	r->restart = 0;
	p.metrics = r->metrics;
	run_progress(r, 100);
	progress.mu = &r->status_mu; /* the status API reads it */
	pthread_mutex_lock(&r->status_mu);
	atomic_store(&r->phase, RUN_CHANGES);
	r->progress = &progress;
	pthread_mutex_unlock(&r->status_mu);
	int rc = 0;
	if (r->cfg->buffer_url) {
		rc = sl_buffer_open(r->cfg, ps.position, &p.buffer, err);
		if (rc == 0)
			sl_buffer_observe(p.buffer, r->metrics);
	}
	if (rc == 0)
		rc = sl_cdc_run(&p, err);
	sl_buffer_close(p.buffer);
	pthread_mutex_lock(&r->status_mu);
	r->progress = NULL;
	pthread_mutex_unlock(&r->status_mu);
	if (rc == 0 && once)
		sl_info("cdc: caught up; durable position %s", progress.position);
	return rc;
}

/* A loaded table's source.tables.columns rules must be those its target rows were written
 * under: a change (other columns, other masks, another mask_key) would mix rows of both. Tables
 * not loaded yet take the rules in force. */
static int run_check_rules(struct run *r, sl_error *err)
{
	int rc = 0;
	for (int i = 0; i < r->cat.ntables && rc == 0; i++) {
		const sl_table_def *t = &r->cat.tables[i];
		char *now = sl_columns_fingerprint(t, r->cfg->mask_key), *was = NULL;
		sl_table_status ts;
		rc = sl_state_table_get(r->state, t->qualified, &ts, NULL, err);
		if (rc == 0)
			rc = sl_state_rules_get(r->state, t->qualified, &was, err);
		if (rc == 0 && ts == SL_TABLE_DONE && was && strcmp(was, now) != 0)
			rc = sl_error_set(
			        err, SL_ERR_CONFIG,
			        "source.tables.columns for %s changed since the table was loaded "
			        "(it "
			        "was %s; now %s): the target holds its rows under the old rules "
			        "(and hashes under the old mask_key); put them back, or reload the "
			        "table ('sluice reset', drop the target table, run again)",
			        t->qualified, was[0] ? was : "no rules", now[0] ? now : "no rules");
		else if (rc == 0 && (was == NULL || strcmp(was, now) != 0))
			rc = sl_state_rules_set(r->state, t->qualified, now, err);
		free(now);
		free(was);
	}
	return rc;
}

/* /readyz: the snapshot done and changes applying */
static int run_ready(void *ctx, sl_buf *why)
{
	struct run *r = ctx;
	int phase = atomic_load(&r->phase);
	if (phase == RUN_CHANGES)
		return 1;
	if (phase == RUN_SNAPSHOT)
		sl_buf_printf(why, "snapshot in progress: %d of %d chunks loaded",
		              atomic_load(&r->chunks_done), atomic_load(&r->chunks_total));
	else
		sl_buf_puts(why, "starting: connecting and discovering tables");
	return 0;
}

/* /api/v1/status: what `sluice status` shows, from the running process */
static void run_status(void *ctx, sl_buf *b)
{
	struct run *r = ctx;
	const sl_config *cfg = r->cfg;
	static const char *const phases[] = {"starting", "snapshot", "changes"};
	sl_buf_puts(b, "{\"pipeline\":");
	sl_json_put_text(b, cfg->name);
	sl_buf_puts(b, ",\"source\":");
	sl_json_put_text(b, cfg->source.type);
	sl_buf_puts(b, ",\"target\":");
	sl_json_put_text(b, cfg->target.type);
	pthread_mutex_lock(&r->status_mu);
	int phase = atomic_load(&r->phase);
	sl_buf_printf(b, ",\"phase\":\"%s\"", phases[phase]);
	if (phase == RUN_SNAPSHOT && r->prog) {
		sl_buf_printf(b,
		              ",\"snapshot\":{\"chunks_done\":%d,\"chunks_total\":%d,\"tables\":[",
		              atomic_load(&r->chunks_done), atomic_load(&r->chunks_total));
		static const char *const states[] = {"waiting", "loading", "done"};
		for (int i = 0; i < r->cat.ntables; i++) {
			int st = atomic_load(&r->prog[i].state);
			sl_buf_puts(b, i ? ",{\"table\":" : "{\"table\":");
			sl_json_put_text(b, r->cat.tables[i].qualified);
			sl_buf_printf(b, ",\"state\":\"%s\",\"rows\":%lld",
			              states[st >= 0 && st <= 2 ? st : 0],
			              (long long)atomic_load(&r->prog[i].rows));
			if (r->cat.tables[i].est_rows >= 0) /* the source's estimate */
				sl_buf_printf(b, ",\"est_rows\":%lld",
				              (long long)r->cat.tables[i].est_rows);
			sl_buf_putc(b, '}');
		}
		sl_buf_puts(b, "]}");
	}
	if (phase == RUN_CHANGES) {
		sl_buf_puts(b, ",\"changes\":{\"position\":");
		const sl_cdc_progress *p = r->progress;
		sl_json_put_text(b, p ? p->position : "");
		sl_buf_printf(b, ",\"caught_up\":%s,\"reconnecting\":%s",
		              p && p->caught_up ? "true" : "false",
		              p && p->down ? "true" : "false");
		if (p && p->commit_us > 0)
			sl_buf_printf(b, ",\"last_commit_us\":%lld", (long long)p->commit_us);
		double lag = run_lag(r);
		if (lag >= 0)
			sl_buf_printf(b, ",\"lag_seconds\":%.3f", lag);
		if (cfg->buffer_url && r->metrics) /* its depth, as the buffer's gauges say */
			sl_buf_printf(b, ",\"buffer\":{\"bytes\":%.0f,\"segments\":%.0f}",
			              sl_metrics_total(r->metrics, "buffer.object_store.size"),
			              sl_metrics_total(r->metrics, "buffer.object_store.segments"));
		sl_buf_putc(b, '}');
	}
	/* [unix ms, rows written so far, lag in s or null], oldest first */
	sl_buf_printf(b, ",\"history\":{\"every_seconds\":%d,\"samples\":[", RUN_HIST_EVERY);
	for (int i = 0; i < r->hist_n; i++) {
		const struct run_sample *s = &r->hist[(r->hist_at + i) % RUN_HIST];
		sl_buf_printf(b, "%s[%lld,", i ? "," : "", (long long)s->unix_ms);
		if (s->rows_out >= 0)
			sl_buf_printf(b, "%.0f,", s->rows_out);
		else
			sl_buf_puts(b, "null,");
		if (s->lag >= 0)
			sl_buf_printf(b, "%.3f]", s->lag);
		else
			sl_buf_puts(b, "null]");
	}
	sl_buf_puts(b, "]}");
	pthread_mutex_unlock(&r->status_mu);
	sl_log_entry e[SL_LOG_RECENT];
	int n = sl_log_recent(e, SL_LOG_RECENT);
	sl_buf_puts(b, ",\"recent\":[");
	for (int i = 0; i < n; i++) {
		sl_buf_printf(b, "%s{\"time\":\"%s\",\"level\":\"%s\",\"message\":", i ? "," : "",
		              e[i].time, e[i].level);
		sl_json_put_text(b, e[i].msg);
		sl_buf_putc(b, '}');
	}
	sl_buf_puts(b, "]}");
}

/* The run's metrics, with its labels and the process collector; the listener when asked for. */
static int run_observe(struct run *r, sl_error *err)
{
	const sl_config *cfg = r->cfg;
	if (cfg->observe_no_metrics) {
		if (getenv("OTEL_EXPORTER_OTLP_ENDPOINT") ||
		    getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"))
			sl_warn("observability.metrics is false: OTEL_EXPORTER_OTLP_* is ignored");
		return 0;
	}
	r->metrics = sl_metrics_create();
	sl_metrics_label(r->metrics, "pipeline", cfg->name);
	sl_metrics_label(r->metrics, "source", cfg->source.type);
	sl_metrics_label(r->metrics, "target", cfg->target.type);
	sl_metrics_collector(r->metrics, sl_metrics_process, r->metrics);
	sl_metrics_collector(r->metrics, run_collect, r);
	SL_TRY(sl_otlp_start(r->metrics, &r->otlp, err));
	if (!cfg->observe_listen)
		return 0;
	sl_listener_hooks hooks = {.ready = run_ready, .status = run_status, .ctx = r};
	SL_TRY(sl_listener_start(cfg->observe_listen, cfg->observe_token, r->metrics, &hooks,
	                         &r->listener, err));
	sl_info("observability: listening on %s (port %d): /metrics /healthz /readyz",
	        cfg->observe_listen, sl_listener_port(r->listener));
	return 0;
}

int sl_pipeline_run(const sl_config *cfg, bool once, sl_error *err)
{
	struct run r;
	int rc = run_open(&r, cfg, true, true, err);
	r.once = once;
	if (rc == 0)
		rc = sl_state_lock(r.state, err);
	if (rc == 0)
		rc = run_observe(&r, err); /* after the lock: a second agent of it serves nothing */
	if (rc == 0)
		rc = run_discover(&r, err);
	if (rc == 0)
		rc = run_follow(&r, err);
	if (rc == 0)
		rc = run_check_rules(&r, err);
	if (rc == 0)
		rc = run_snapshot(&r, err);
	if (rc == 0 && !sl_stop_requested)
		rc = run_cdc(&r, once, err);
	while (rc == 0 && r.restart && !sl_stop_requested) {
		/* everything applied is committed: discover again and go on with the new tables
		 * or columns. Source and target are opened again too: what they keep per table is
		 * indexed by the catalog, which changes. */
		pthread_mutex_lock(&r.status_mu);
		atomic_store(&r.phase, RUN_STARTING); /* the status reads the catalog no more */
		pthread_mutex_unlock(&r.status_mu);
		sl_catalog_free(&r.cat);
		r.tops->close(r.tgt);
		r.tgt = NULL;
		r.sops->close(r.src);
		r.src = NULL;
		rc = r.sops->open(cfg, &r.src, err);
		if (rc == 0)
			rc = r.tops->open(cfg, &r.tgt, err);
		if (rc == 0)
			rc = run_discover(&r, err);
		if (rc == 0)
			rc = run_follow(&r, err);
		if (rc == 0)
			rc = run_snapshot(&r, err);
		if (rc == 0)
			rc = run_cdc(&r, once, err);
	}
	run_close(&r);
	return rc;
}

/* ---------------------------------------------------------------- check ---- */

struct check_ctx {
	int failed;
};

static void check_report(void *ctx, bool ok, const char *what, const char *detail)
{
	struct check_ctx *c = ctx;
	char line[1400];
	snprintf(line, sizeof line, "%-4s %s: %s", ok ? "ok" : "FAIL", what, detail);
	sl_redact_secrets(line, sizeof line);
	printf("%s\n", line);
	fflush(stdout);
	c->failed += !ok;
}

static const char *check_fk_action(sl_fk_action a)
{
	return a == SL_FK_CASCADE ? "CASCADE" : a == SL_FK_SET_NULL ? "SET NULL" : "NO ACTION";
}

/* The foreign-key actions the source does not log: one line each, done by sluice on the
 * target or a warning saying why not. */
static void check_fks(struct check_ctx *ctx, const sl_target_ops *tops, const sl_catalog *cat)
{
	const char *what = "foreign-key actions";
	char **problems = NULL;
	sl_fk_plans_free(sl_fk_plans_build(cat, tops->actions_keyed_only, &problems), cat->ntables);
	char line[1400];
	for (int k = 0; k < cat->nfks; k++) {
		const sl_foreign_key *fk = &cat->fks[k];
		if (problems[k])
			snprintf(line, sizeof line, "warning: %s", problems[k]);
		else if (tops->apply_actions == NULL)
			snprintf(line, sizeof line,
			         "warning: %s -> %s (%s): ON DELETE %s, ON UPDATE %s: the source's "
			         "log "
			         "does not show the rows they change and target %s cannot do them, "
			         "so %s may differ from the source there (compare with 'sluice "
			         "verify')",
			         fk->child, fk->parent, fk->name, check_fk_action(fk->on_delete),
			         check_fk_action(fk->on_update), tops->type, fk->child);
		else
			snprintf(line, sizeof line,
			         "%s -> %s (%s): ON DELETE %s, ON UPDATE %s: the source's log does "
			         "not show the rows they change; sluice does them on the target",
			         fk->child, fk->parent, fk->name, check_fk_action(fk->on_delete),
			         check_fk_action(fk->on_update));
		check_report(ctx, true, what, line);
		free(problems[k]);
	}
	free(problems);
}

int sl_pipeline_check(const sl_config *cfg, sl_error *err)
{
	struct check_ctx ctx = {0};
	const sl_source_ops *sops;
	const sl_target_ops *tops;
	SL_TRY(sl_pipeline_connectors(cfg, &sops, &tops, err));
	sl_source *src = NULL;
	sl_target *tgt = NULL;
	sl_error e = {0};
	if (sops->open(cfg, &src, &e) < 0)
		check_report(&ctx, false, "source connection", e.msg);
	else
		sops->check(src, check_report, &ctx);
	if (src != NULL) {
		/* source.tables.columns against the tables as they are now */
		struct run r;
		memset(&r, 0, sizeof r);
		r.cfg = cfg;
		r.sops = sops;
		r.src = src;
		if (sops->discover(src, &r.cat, &e) < 0 ||
		    sl_columns_apply(cfg, &r.cat, run_project, &r, &e) < 0) {
			if (cfg->source.ncolumns > 0)
				check_report(&ctx, false, "source.tables.columns", e.msg);
		} else {
			if (cfg->source.ncolumns > 0)
				check_report(&ctx, true, "source.tables.columns",
				             "every named table and column exists; keys are kept");
			check_fks(&ctx, tops, &r.cat);
		}
		sl_catalog_free(&r.cat);
	}
	if (tops->open(cfg, &tgt, &e) < 0)
		check_report(&ctx, false, "target connection", e.msg);
	else
		tops->check(tgt, check_report, &ctx);
	if (cfg->buffer_url) {
		if (sl_buffer_check(cfg, &e) < 0)
			check_report(&ctx, false, "buffer", e.msg);
		else
			check_report(&ctx, true, "buffer",
			             "writes, reads back and deletes an object");
	}
	sl_state *st = NULL;
	if (sl_state_open(cfg->state_url, cfg->name, &st, &e) < 0)
		check_report(&ctx, false, "state store", e.msg);
	else
		check_report(&ctx, true, "state store", cfg->state_url);
	sl_state_close(st);
	if (src)
		sops->close(src);
	if (tgt)
		tops->close(tgt);
	if (ctx.failed)
		return sl_error_set(err, SL_ERR_SETTING,
		                    "%d check(s) failed; fix them as shown above", ctx.failed);
	printf("all checks passed\n");
	return 0;
}

/* ---------------------------------------------------------------- discover ---- */

int sl_pipeline_discover(const sl_config *cfg, sl_error *err)
{
	struct run r;
	int rc = run_open(&r, cfg, false, false, err);
	if (rc == 0)
		rc = run_discover(&r, err);
	for (int i = 0; rc == 0 && i < r.cat.ntables; i++) {
		const sl_table_def *t = &r.cat.tables[i];
		if (t->est_rows >= 0)
			printf("%s  (~%" PRId64 " rows, %" PRId64 " bytes)\n", t->qualified,
			       t->est_rows, t->est_bytes);
		else
			printf("%s  (rows not estimated yet: never analyzed; %" PRId64 " bytes)\n",
			       t->qualified, t->est_bytes);
		if (t->nkey) {
			printf("  key:");
			for (int k = 0; k < t->nkey; k++)
				printf(" %s", t->fields[t->key[k]].name);
			printf("\n");
		} else {
			printf("  key: (none)\n");
		}
		const sl_field *rf = sl_table_read_fields(t);
		for (int k = 0; k < t->nfields; k++) {
			const sl_field *f = &t->fields[k];
			sl_mask m = t->masks ? t->masks[k] : SL_MASK_NONE;
			char arrow[160];
			printf("  %-32s %-36s -> %s%s%s\n", f->name,
			       rf[k].source_type ? rf[k].source_type : "?",
			       sl_field_describe(f, arrow, sizeof arrow),
			       f->nullable ? "" : " not null",
			       m == SL_MASK_HASH   ? "  masked (hash): HMAC-SHA256 hex text"
			       : m == SL_MASK_NULL ? "  masked (null): every value NULL"
			                           : "");
		}
		for (int k = 0; k < t->nexcluded; k++)
			printf("  %-32s %-36s -> excluded\n", t->excluded[k], "");
		for (int k = 0; k < t->nskipped; k++)
			printf("  %-32s %-36s -> skipped: %s\n", t->skipped[k].name,
			       t->skipped[k].source_type, t->skipped[k].reason);
	}
	run_close(&r);
	return rc;
}

/* ---------------------------------------------------------------- verify ---- */

/* Leave out the tables not loaded whole: new to the pipeline, being copied or not replicated. */
static int run_drop_unloaded(struct run *r, sl_error *err)
{
	sl_catalog *cat = &r->cat;
	for (int i = 0; i < cat->ntables;) {
		sl_table_status ts;
		SL_TRY(sl_state_table_get(r->state, cat->tables[i].qualified, &ts, NULL, err));
		if (ts == SL_TABLE_DONE) {
			i++;
			continue;
		}
		printf("wait %s: not compared: not loaded yet (a run copies tables new to the "
		       "pipeline while streaming)\n",
		       cat->tables[i].qualified);
		r->waiting++;
		sl_table_def_free(&cat->tables[i]);
		memmove(&cat->tables[i], &cat->tables[i + 1],
		        (size_t)(cat->ntables - i - 1) * sizeof *cat->tables);
		cat->ntables--;
	}
	return 0;
}

/* verify: every table the pipeline loaded that is not compared as it stands is reported:
 * gone from the source, renamed there and not followed yet, or created again there. */
static int verify_apart(struct run *r, int *apart, sl_error *err)
{
	sl_state_table *rows;
	int n;
	SL_TRY(sl_state_tables(r->state, &rows, &n, err));
	bool *skip = sl_calloc((size_t)(r->cat.ntables ? r->cat.ntables : 1), sizeof *skip);
	for (int i = 0; i < n; i++) {
		const sl_state_table *s = &rows[i];
		int now;
		sl_follow_kind k = sl_follow_classify(&r->cat, s, &now);
		if (k == SL_FOLLOW_SAME && s->gone_at == 0)
			continue;
		if (now >= 0)
			skip[now] = true;
		(*apart)++;
		if (s->gone_at && k != SL_FOLLOW_SAME)
			printf("GONE %s: not compared: %s; its target table is kept as it was\n",
			       s->name, s->gone);
		else if (k == SL_FOLLOW_SAME)
			printf("BACK %s: not compared: it was gone (%s) and is on the source "
			       "again; "
			       "a run follows it\n",
			       s->name, s->gone);
		else if (k == SL_FOLLOW_RENAMED)
			printf("MOVED %s: not compared: renamed to %s on the source; a run renames "
			       "its target table\n",
			       s->name, r->cat.tables[now].qualified);
		else if (k == SL_FOLLOW_RECREATED)
			printf("GONE %s: not compared: dropped on the source and created again; a "
			       "run "
			       "keeps the target rows under another name and copies the new "
			       "table\n",
			       s->name);
		else
			printf("GONE %s: not compared: no longer on the source (or no longer "
			       "selected); a run records it\n",
			       s->name);
	}
	/* a table that is another one's new name, or that holds a name another table had, is
	 * not compared with what the target holds under its name */
	int kept = 0;
	for (int j = 0; j < r->cat.ntables; j++) {
		if (skip[j])
			sl_table_def_free(&r->cat.tables[j]);
		else
			r->cat.tables[kept++] = r->cat.tables[j];
	}
	r->cat.ntables = kept;
	free(skip);
	sl_state_tables_free(rows, n);
	return 0;
}

int sl_pipeline_verify(const sl_config *cfg, sl_error *err)
{
	struct run r;
	int rc = run_open(&r, cfg, true, true, err);
	r.verifying = true;
	if (rc == 0)
		rc = run_discover(&r, err);
	sl_pipeline_state ps;
	int differ = 0, apart = 0, compared = 0;
	if (rc == 0)
		rc = verify_apart(&r, &apart, err);
	if (rc == 0 && (rc = sl_state_load(r.state, &ps, err)) == 0 && ps.snapshot_done)
		rc = run_drop_unloaded(&r, err); /* tables not (yet) on the target whole */
	for (int i = 0; rc == 0 && i < r.cat.ntables; i++) {
		if (sl_stop_requested) {
			rc = sl_error_set(err, SL_ERR_CANCELLED, "verify stopped by signal");
			break;
		}
		const sl_table_def *t = &r.cat.tables[i];
		/* the same rules on both sides: what the target cannot store, it stores as NULL */
		sl_digest sd = {.null_list_is_empty = r.tops->lists_never_null,
		                .specials_are_null = r.tops->specials_null,
		                .arrays_are_flat = r.tops->arrays_flat};
		sl_digest td = sd;
		/* the source side masks as the pipeline does, so like compares with like */
		sd.masks = t->masks;
		sd.mask_key = cfg->mask_key;
		char tname[300];
		r.tops->table_name(r.tgt, &r.cat, i, tname, sizeof tname);
		sl_error e = {0};
		int src = r.sops->digest(r.src, &r.cat, i, &sd, &e);
		if (src == SL_ERR_CONNECT || src == SL_ERR_CANCELLED) {
			*err = e;
			rc = src;
			break;
		}
		if (src < 0) {
			printf("FAIL %s -> %s: not compared: the source could not be read: %s\n",
			       t->qualified, tname, e.msg);
			apart++;
			continue;
		}
		int trc = r.tops->digest(r.tgt, &r.cat, i, &td, &e);
		if (trc == SL_ERR_MISMATCH) {
			printf("DIFF %s -> %s: %s\n", t->qualified, tname, e.msg);
			differ++;
			continue;
		}
		if (trc == SL_ERR_CONNECT || trc == SL_ERR_CANCELLED) {
			*err = e;
			rc = trc;
			break;
		}
		if (trc < 0) {
			printf("FAIL %s -> %s: not compared: the target table could not be read: "
			       "%s\n",
			       t->qualified, tname, e.msg);
			apart++;
			continue;
		}
		compared++;
		char unrep[320] = "";
		if (sd.specials > 0)
			snprintf(unrep, sizeof unrep,
			         "; not representable: %" PRId64
			         " numeric NaN/Infinity value(s) on the "
			         "source, NULL on the target",
			         sd.specials);
		if (sd.flattened > 0) {
			size_t m = strlen(unrep);
			snprintf(unrep + m, sizeof unrep - m,
			         "; not representable: %" PRId64
			         " array(s) with more than one dimension or a lower bound other "
			         "than 1 on the source, their elements in row-major order on the "
			         "target",
			         sd.flattened);
		}
		if (sd.rows == td.rows && sd.sum == td.sum) {
			printf("ok   %s -> %s: %" PRId64 " rows, digest %016" PRIx64 "%s\n",
			       t->qualified, tname, sd.rows, sd.sum, unrep);
		} else {
			printf("DIFF %s -> %s: source %" PRId64 " rows digest %016" PRIx64
			       ", target %" PRId64 " rows digest %016" PRIx64 "%s\n",
			       t->qualified, tname, sd.rows, sd.sum, td.rows, td.sum, unrep);
			differ++;
		}
		fflush(stdout);
	}
	int waiting = r.waiting;
	run_close(&r);
	if (rc == 0 && (differ || apart))
		rc = sl_error_set(err, SL_ERR_MISMATCH,
		                  "%d table(s) differ between source and target, %d could not be "
		                  "compared (see the lines above)",
		                  differ, apart);
	else if (rc == 0 && compared == 0)
		rc = sl_error_set(err, SL_ERR_MISMATCH, "no table was compared (%d not loaded yet)",
		                  waiting);
	if (rc == 0 && waiting)
		printf("all tables equal (%d compared; %d not loaded yet)\n", compared, waiting);
	else if (rc == 0)
		printf("all tables equal (%d compared)\n", compared);
	return rc;
}

/* ---------------------------------------------------------------- status / reset ---- */

static void status_cdc(struct run *r, const sl_pipeline_state *ps)
{
	sl_error e = {0};
	sl_log_info li;
	int lrc = r->sops->log_info(r->src, &li, &e);
	if (lrc == 0 && li.lag_bytes < 0 && li.retained_bytes < 0) {
		/* a log the source does not keep for us (MySQL's binlog) */
		printf("  %s: source position %s\n", li.slot_state, li.current);
	} else if (lrc == 0) {
		char lag[32], kept[32];
		format_bytes(lag, sizeof lag, li.lag_bytes < 0 ? 0 : li.lag_bytes);
		format_bytes(kept, sizeof kept, li.retained_bytes < 0 ? 0 : li.retained_bytes);
		printf("  slot: %s; source position %s, confirmed %s\n  lag: %s behind the source; "
		       "%s of log retained for the slot%s\n",
		       li.slot_state, li.current, li.confirmed[0] ? li.confirmed : "-", lag, kept,
		       li.retained_bytes > r->cfg->source.max_retained_wal
		               ? " (more than source.max_retained_wal!)"
		               : "");
	} else {
		printf("  slot: unknown (%s)\n", e.msg);
	}
	sl_durable d;
	if (r->tgt == NULL || r->tops->durable(r->tgt, ps->position, &d, &e) < 0) {
		printf("  applied: unknown (%s)\n", r->tgt ? e.msg : "target unreachable");
		return;
	}
	if (!d.found) {
		printf("  applied: no change applied yet (CDC starts at %s)\n", ps->position);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	bool behind_source =
	        lrc == 0 &&
	        (li.lag_bytes > 0 || (li.lag_bytes < 0 && strcmp(li.current, d.position) != 0));
	double behind = behind_source ? now - (double)d.commit_us / 1e6 : 0;
	printf("  applied: up to %s (source commit %.1fs ago, applied %.1fs ago); lag %.1fs\n",
	       d.position, now - (double)d.commit_us / 1e6, now - (double)d.applied_us / 1e6,
	       behind < 0 ? 0 : behind);
}

/* The buffer's depth and the age of what it holds. */
static void status_buffer(const sl_config *cfg, const sl_pipeline_state *ps)
{
	sl_buffer_depth d;
	sl_error e = {0};
	if (sl_buffer_depth_of(cfg, ps->position, &d, &e) < 0) {
		printf("  buffer: unknown (%s)\n", e.msg);
		return;
	}
	char bytes[32], max[32];
	format_bytes(bytes, sizeof bytes, d.bytes);
	format_bytes(max, sizeof max, cfg->buffer_max_size);
	if (d.segments == 0) {
		printf("  buffer: empty (max_size %s)\n", max);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	double age = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - (double)d.oldest_us / 1e6;
	printf("  buffer: %" PRId64 " segments, %s of max_size %s; oldest change held committed "
	       "%.1fs ago\n",
	       d.segments, bytes, max, age < 0 ? 0 : age);
}

/* Tables the pipeline loaded that are not on the source as they were. */
static void status_apart(sl_state *st, const sl_catalog *cat)
{
	sl_state_table *rows;
	int n;
	sl_error e = {0};
	if (sl_state_tables(st, &rows, &n, &e) < 0) {
		printf("  tables: unknown (%s)\n", e.msg);
		return;
	}
	for (int i = 0; i < n; i++) {
		int now;
		sl_follow_kind k = sl_follow_classify(cat, &rows[i], &now);
		if (rows[i].gone_at && k != SL_FOLLOW_SAME) {
			char when[32];
			time_t t = (time_t)rows[i].gone_at;
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(when, sizeof when, "%Y-%m-%d %H:%M:%SZ", &tm);
			printf("  %-40s gone     %s since %s; its target table is kept\n",
			       rows[i].name, rows[i].gone, when);
		} else if (k == SL_FOLLOW_RENAMED) {
			printf("  %-40s renamed  to %s on the source; the next run follows\n",
			       rows[i].name, cat->tables[now].qualified);
		} else if (k == SL_FOLLOW_GONE || k == SL_FOLLOW_RECREATED) {
			printf("  %-40s gone     %s on the source; the next run records it\n",
			       rows[i].name,
			       k == SL_FOLLOW_GONE ? "not found" : "dropped and created again");
		}
	}
	sl_state_tables_free(rows, n);
}

/* Backfills: copying first, then the finished and failed ones. */
static void status_backfills(sl_state *st)
{
	sl_backfill_row *rows;
	int n;
	sl_error e = {0};
	if (sl_state_backfill_list(st, &rows, &n, &e) < 0) {
		printf("  backfills: unknown (%s)\n", e.msg);
		return;
	}
	for (int i = 0; i < n; i++) {
		const sl_backfill_row *b = &rows[i];
		printf("  backfill %-31s %-8s %" PRId64 " rows copied", b->name,
		       sl_backfill_status_name(b->status), b->rows);
		if (b->status == SL_BACKFILL_COPYING)
			printf(b->after ? ", up to key %s" : ", not started", b->after);
		if (b->status == SL_BACKFILL_COPYING && b->reason[0])
			printf(" (%s)", b->reason);
		if (b->status == SL_BACKFILL_FAILED)
			printf(": %s", b->reason);
		printf("\n");
	}
	sl_backfill_rows_free(rows, n);
}

int sl_pipeline_status(const sl_config *cfg, sl_error *err)
{
	sl_state *st;
	SL_TRY(sl_state_open(cfg->state_url, cfg->name, &st, err));
	sl_pipeline_state ps;
	int rc = sl_state_load(st, &ps, err);
	if (rc == 0 && !ps.found) {
		printf("pipeline %s: not started (no state in %s)\n", cfg->name, cfg->state_url);
	} else if (rc == 0) {
		printf("pipeline %s\n  source: %s\n  consistent point: %s\n  snapshot: %s\n",
		       cfg->name, ps.identity, ps.position[0] ? ps.position : "(being created)",
		       ps.snapshot_done ? "complete" : "incomplete");
		struct run r;
		sl_error e = {0};
		int orc = run_open(&r, cfg, false, false, &e);
		r.state = st; /* borrowed: the tables followed by identity are discovered too */
		int drc = orc == 0 ? run_discover(&r, &e) : orc;
		r.state = NULL;
		if (drc == 0) {
			if (r.tops->open(cfg, &r.tgt, &e) < 0)
				r.tgt = NULL;
			if (ps.snapshot_done)
				status_cdc(&r, &ps);
			if (ps.snapshot_done && cfg->buffer_url)
				status_buffer(cfg, &ps);
			for (int i = 0; i < r.cat.ntables; i++) {
				sl_table_status ts;
				int64_t rows;
				if (sl_state_table_get(st, r.cat.tables[i].qualified, &ts, &rows,
				                       &e) == 0)
					printf("  %-40s %-8s %" PRId64 " rows\n",
					       r.cat.tables[i].qualified, sl_table_status_name(ts),
					       rows);
			}
			status_apart(st, &r.cat);
			status_backfills(st);
		} else {
			printf("  (source unreachable: %s)\n", e.msg);
		}
		run_close(&r);
	}
	sl_state_close(st);
	return rc;
}

int sl_pipeline_resync(const sl_config *cfg, char *const *tables, int ntables, sl_error *err)
{
	struct run r;
	int rc = run_open(&r, cfg, false, true, err);
	if (rc == 0)
		rc = run_discover(&r, err);
	sl_pipeline_state ps;
	if (rc == 0)
		rc = sl_state_load(r.state, &ps, err);
	if (rc == 0 && !ps.snapshot_done)
		rc = sl_error_set(
		        err, SL_ERR_STATE,
		        "pipeline %s has not finished its snapshot: 'sluice run' it first "
		        "(the snapshot copies every table)",
		        cfg->name);
	if (rc == 0 && !sl_source_can_backfill(r.sops, r.src))
		rc = sl_error_set(err, SL_ERR_CONFIG,
		                  "this %s source cannot copy a table while streaming (README: "
		                  "Backfill says which can); reload it with 'sluice reset' and a "
		                  "new run",
		                  r.sops->type);
	/* every name first: all requests or none */
	for (int k = 0; k < ntables && rc == 0; k++) {
		int found = -1;
		for (int i = 0; i < r.cat.ntables; i++)
			if (strcmp(r.cat.tables[i].qualified, tables[k]) == 0)
				found = i;
		if (found < 0)
			rc = sl_error_set(
			        err, SL_ERR_CONFIG,
			        "table %s is not in pipeline %s (name it as 'sluice status' "
			        "lists it: schema.table)",
			        tables[k], cfg->name);
	}
	for (int k = 0; k < ntables && rc == 0; k++) {
		rc = sl_state_backfill_request(r.state, tables[k], err);
		if (rc == 0)
			printf("resync of %s requested: a running 'sluice run' copies it within a "
			       "second or so (else the next one does); see 'sluice status'\n",
			       tables[k]);
	}
	run_close(&r);
	return rc;
}

int sl_pipeline_reset(const sl_config *cfg, sl_error *err)
{
	struct run r;
	int rc = run_open(&r, cfg, false, true, err);
	if (rc == 0)
		rc = sl_state_lock(r.state, err);
	if (rc == 0)
		rc = r.sops->reset(r.src, err);
	if (rc == 0)
		rc = sl_state_reset(r.state, err);
	if (rc == 0)
		printf("pipeline %s reset: replication slot dropped and state forgotten; target "
		       "tables were kept (drop them "
		       "before the next run, which refuses to overwrite them)\n",
		       cfg->name);
	run_close(&r);
	return rc;
}
