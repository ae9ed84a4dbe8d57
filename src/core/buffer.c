/* The buffer: see buffer.h. */
#include "core/buffer.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/columns.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/queue.h"
#include "core/segment.h"
#include "core/store.h"
#include "core/thread.h"

extern volatile sig_atomic_t sl_stop_requested;

#define BUF_WINDOW (8u << 20) /* bytes of a segment written or read at a time */

typedef struct buf_seg {
	uint64_t seq;
	int64_t first_us;
	int64_t size;
	uint64_t last_version; /* its last transaction's, once known (0: not yet) */
	bool known;
	char *last_position; /* once known */
} buf_seg;

struct sl_buffer {
	const sl_config *cfg;
	const sl_store_ops *ops;
	sl_store *rstore, *wstore; /* the target side's and the source side's */
	char prefix[16];           /* buf_prefix */
	char headkey[32];
	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_mutex_t ackmu; /* one sl_buffer_ack at a time */
	buf_seg *segs;         /* in sequence order */
	int nsegs, cap;
	int64_t bytes;
	uint64_t next_seq;
	uint64_t reading;    /* 1 + the sequence of the segment the target side reads, or 0 */
	uint64_t acked;      /* the highest version sl_buffer_ack was given */
	char *head_position; /* where the source resumes (NULL: never held anything) */
	uint64_t head_version;
	/* source side */
	const sl_source_ops *sops;
	sl_source *src;
	const sl_catalog *cat;
	bool once;
	pthread_t writer;
	bool writer_started;
	volatile int wstop;
	bool ended; /* the source side ended (see src_rc) */
	int src_rc;
	sl_error src_err;
	/* sl_buffer_observe: all NULL without metrics */
	struct {
		sl_metric *rows_out, *bytes_out, *rows_in, *bytes_in;
		sl_metric *create, *del, *get, *abort, *force, *size, *segments;
	} m;
	sl_latency lat; /* the source side's, up to the put */
};

static void buf_count(sl_metric *s, uint64_t v)
{
	if (s)
		sl_metric_add(s, v);
}

/* The depth gauges (the caller holds mu) */
static void buf_depth(sl_buffer *b)
{
	if (b->m.size) {
		sl_metric_set(b->m.size, (double)b->bytes);
		sl_metric_set(b->m.segments, b->nsegs);
	}
}

void sl_buffer_observe(sl_buffer *b, sl_metrics *m)
{
	if (!m)
		return;
	sl_latency_init(&b->lat, m, "buffer.", "the buffer");
#define BUF_C(f, name, unit, help)                                                                 \
	b->m.f = sl_metrics_series(m, SL_METRIC_COUNTER, name, unit, help, NULL, NULL)
	BUF_C(rows_out, "buffer.rows.out", "1", "Rows written into the buffer's segments");
	BUF_C(bytes_out, "buffer.bytes.out", "By",
	      "Bytes written into the buffer (as Arrow columns)");
	BUF_C(rows_in, "buffer.rows.in", "1", "Rows read from the buffer's segments");
	BUF_C(bytes_in, "buffer.bytes.in", "By", "Bytes read from the buffer (as Arrow columns)");
	BUF_C(create, "buffer.object_store.files.create", "1", "Segments put in the object store");
	BUF_C(del, "buffer.object_store.files.delete", "1", "Segments deleted once applied");
	BUF_C(get, "buffer.object_store.files.get", "1", "Segments read from the object store");
	BUF_C(abort, "buffer.object_store.files.abort", "1",
	      "Segment writes that failed or were abandoned");
	BUF_C(force, "buffer.object_store.files.force-flush", "1",
	      "Segments put because apply.max_delay passed with no more changes");
#undef BUF_C
	b->m.size = sl_metrics_series(m, SL_METRIC_UPDOWN, "buffer.object_store.size", "By",
	                              "Bytes the buffer's segments hold", NULL, NULL);
	b->m.segments = sl_metrics_series(m, SL_METRIC_UPDOWN, "buffer.object_store.segments", "1",
	                                  "Segments the buffer holds", NULL, NULL);
	pthread_mutex_lock(&b->mu);
	buf_depth(b);
	pthread_mutex_unlock(&b->mu);
}

static double buf_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Objects live under a prefix naming the snapshot generation (its consistent point): after a
 * new snapshot, an older generation's segments are never applied. */
static void buf_prefix(char *out, size_t n, const char *epoch)
{
	snprintf(out, n, "e%08lx/",
	         (unsigned long)crc32(0, (const Bytef *)epoch, (uInt)strlen(epoch)));
}

static void buf_key(char *key, size_t n, const char *prefix, uint64_t seq, int64_t first_us)
{
	snprintf(key, n, "%ssegments/%020" PRIu64 "-%" PRId64 ".seg", prefix, seq, first_us);
}

/* The buffer's store, with the buffer section's settings (endpoint, region, path_style). */
static int buf_store_open(const sl_config *cfg, const sl_store_ops **ops, sl_store **out,
                          sl_error *err)
{
	sl_store_settings set;
	SL_TRY(sl_store_settings_read(cfg, "buffer", &set, err));
	int rc = sl_store_open(cfg->buffer_url, "buffer", &set, ops, out, err);
	sl_store_settings_free(&set);
	return rc;
}

/* ---------------------------------------------------------------- listing ---- */

struct buf_list {
	const char *prefix;
	buf_seg *segs;
	int n, cap;
	bool head;
};

static int buf_list_one(void *ctx, const sl_store_object *o, sl_error *err)
{
	(void)err;
	struct buf_list *l = ctx;
	uint64_t seq;
	int64_t first;
	int end = 0;
	size_t pl = strlen(l->prefix);
	if (strncmp(o->key, l->prefix, pl) != 0 ||
	    sscanf(o->key + pl, "segments/%20" SCNu64 "-%" SCNd64 ".seg%n", &seq, &first, &end) !=
	            2 ||
	    o->key[pl + (size_t)end] != 0 || end == 0)
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->segs = sl_realloc(l->segs, (size_t)l->cap * sizeof *l->segs);
	}
	buf_seg *s = &l->segs[l->n++];
	memset(s, 0, sizeof *s);
	s->seq = seq;
	s->first_us = first;
	s->size = o->size;
	return 0;
}

static int buf_seg_cmp(const void *a, const void *b)
{
	const buf_seg *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int buf_list(const sl_store_ops *ops, sl_store *st, const char *prefix, struct buf_list *l,
                    sl_error *err)
{
	memset(l, 0, sizeof *l);
	l->prefix = prefix;
	char where[64];
	snprintf(where, sizeof where, "%ssegments/", prefix);
	SL_TRY(ops->list(st, where, buf_list_one, l, err));
	if (l->n > 1)
		qsort(l->segs, (size_t)l->n, sizeof *l->segs, buf_seg_cmp);
	return 0;
}

/* The footer of segment s (its size known). */
static int buf_footer(sl_buffer *b, sl_store *st, const buf_seg *s, sl_seg_footer *f, sl_error *err)
{
	char key[96];
	buf_key(key, sizeof key, b->prefix, s->seq, s->first_us);
	size_t n = s->size < 65536 ? (size_t)s->size : 65536;
	uint8_t *tail = sl_malloc(n ? n : 1);
	int rc = b->ops->get_range(st, key, s->size - (int64_t)n, tail, n, err);
	uint64_t need = 0;
	if (rc == 0)
		rc = sl_seg_footer_read(tail, n, (uint64_t)s->size, key, f, &need, err);
	if (rc == 1 && need <= (uint64_t)s->size) {
		free(tail);
		n = (size_t)need;
		tail = sl_malloc(n);
		rc = b->ops->get_range(st, key, s->size - (int64_t)n, tail, n, err);
		if (rc == 0)
			rc = sl_seg_footer_read(tail, n, (uint64_t)s->size, key, f, &need, err);
	}
	free(tail);
	if (rc == SL_STORE_MISSING)
		return sl_error_set(
		        err, SL_ERR_STATE,
		        "buffer segment %s disappeared while sluice read it: is another "
		        "agent running this pipeline?",
		        key);
	if (rc == 1)
		return sl_error_set(err, SL_ERR_DATA, "buffer segment %s: footer too large", key);
	return rc;
}

/* head: "sluice-buffer-head 1\n<version>\n<position>\n" */
static int buf_read_head(sl_buffer *b, sl_error *err)
{
	sl_buf h = {0};
	int rc = b->ops->get(b->rstore, b->headkey, &h, err);
	if (rc == SL_STORE_MISSING) {
		sl_buf_free(&h);
		return 0;
	}
	if (rc < 0) {
		sl_buf_free(&h);
		return rc;
	}
	const char *s = sl_buf_cstr(&h);
	const char *magic = "sluice-buffer-head 1\n";
	size_t ml = strlen(magic);
	char *end = NULL;
	uint64_t version = 0;
	if (h.len > ml && strncmp(s, magic, ml) == 0)
		version = strtoull(s + ml, &end, 10);
	if (end == NULL || *end != '\n' || s[h.len - 1] != '\n') {
		sl_buf_free(&h);
		return sl_error_set(
		        err, SL_ERR_DATA,
		        "buffer object 'head' is not one sluice wrote: point buffer.url "
		        "at a place of its own");
	}
	b->head_version = version;
	b->head_position = sl_strndup(end + 1, h.len - (size_t)(end + 1 - s) - 1);
	sl_buf_free(&h);
	return 0;
}

static int buf_write_head(sl_buffer *b, sl_store *st, uint64_t version, const char *position,
                          sl_error *err)
{
	sl_buf h = {0};
	sl_buf_printf(&h, "sluice-buffer-head 1\n%" PRIu64 "\n%s\n", version, position);
	int rc = b->ops->put(st, b->headkey, h.data, h.len, err);
	sl_buf_free(&h);
	return rc;
}

int sl_buffer_open(const sl_config *cfg, const char *epoch, sl_buffer **out, sl_error *err)
{
	*out = NULL;
	sl_buffer *b = sl_calloc(1, sizeof *b);
	b->cfg = cfg;
	buf_prefix(b->prefix, sizeof b->prefix, epoch);
	snprintf(b->headkey, sizeof b->headkey, "%shead", b->prefix);
	pthread_mutex_init(&b->mu, NULL);
	pthread_mutex_init(&b->ackmu, NULL);
	pthread_cond_init(&b->cond, NULL);
	int rc = buf_store_open(cfg, &b->ops, &b->rstore, err);
	if (rc == 0)
		rc = buf_store_open(cfg, &b->ops, &b->wstore, err);
	struct buf_list l = {0};
	if (rc == 0)
		rc = buf_list(b->ops, b->rstore, b->prefix, &l, err);
	if (rc == 0)
		rc = buf_read_head(b, err);
	b->segs = l.segs;
	b->nsegs = l.n;
	b->cap = l.cap;
	for (int i = 0; i < b->nsegs; i++)
		b->bytes += b->segs[i].size;
	if (rc == 0 && b->nsegs > 0) {
		/* the source resumes after the newest segment */
		buf_seg *s = &b->segs[b->nsegs - 1];
		sl_seg_footer f;
		rc = buf_footer(b, b->rstore, s, &f, err);
		if (rc == 0) {
			s->known = true;
			s->last_version = f.last_version;
			s->last_position = sl_strdup(f.last_position);
			if (f.ntxn > 0 || b->head_position == NULL) {
				free(b->head_position);
				b->head_position = sl_strdup(f.last_position);
				b->head_version = f.last_version;
			}
			sl_seg_footer_free(&f);
		}
		b->next_seq = s->seq + 1;
	}
	if (rc < 0) {
		sl_buffer_close(b);
		return rc;
	}
	if (b->nsegs > 0)
		sl_info("buffer: %d segments (%" PRId64 " bytes) not yet applied", b->nsegs,
		        b->bytes);
	*out = b;
	return 0;
}

void sl_buffer_close(sl_buffer *b)
{
	if (b == NULL)
		return;
	sl_buffer_source_stop(b);
	if (b->rstore)
		b->ops->close(b->rstore);
	if (b->wstore)
		b->ops->close(b->wstore);
	for (int i = 0; i < b->nsegs; i++)
		free(b->segs[i].last_position);
	free(b->segs);
	free(b->head_position);
	sl_latency_free(&b->lat);
	pthread_mutex_destroy(&b->mu);
	pthread_mutex_destroy(&b->ackmu);
	pthread_cond_destroy(&b->cond);
	free(b);
}

bool sl_buffer_resume(const sl_buffer *b, char *position, size_t n)
{
	if (b->head_position == NULL)
		return false;
	snprintf(position, n, "%s", b->head_position);
	return true;
}

/* ---------------------------------------------------------------- source side ---- */

struct buf_src {
	sl_buffer *b;
	sl_stream *stream;
	sl_queue *q;
	pthread_t reader;
	int reader_rc;
	sl_error reader_err;
	volatile int stop;
	sl_colview *view;
	/* the open segment */
	sl_seg_writer *sw;
	sl_buf out;
	sl_store_writer *upload; /* once the segment passed BUF_WINDOW */
	bool open, in_txn;
	int64_t begun_us; /* when the open transaction's BEGIN was received */
	double opened;
	bool full_warned;
};

static int buf_emit(void *ctx, sl_msg *m)
{
	struct buf_src *s = ctx;
	if (s->b->lat.total && (m->kind == SL_MSG_BEGIN || m->kind == SL_MSG_COMMIT))
		m->received_us = sl_latency_now_us(); /* buffer.latency.in, .in.process */
	int rc = sl_queue_push_timed(s->q, m, m->kind, sl_msg_bytes(m), 200);
	return rc == 2 ? 1 : rc;
}

static void *buf_reader_main(void *arg)
{
	struct buf_src *s = arg;
	s->reader_rc = s->b->sops->stream_run(s->stream, buf_emit, s, &s->stop, &s->reader_err);
	sl_queue_close(s->q);
	return NULL;
}

static void buf_free_item(void *item, int kind)
{
	(void)kind;
	sl_msg_free(item);
}

static void buf_seg_abandon(struct buf_src *s)
{
	sl_latency_drop(&s->b->lat); /* read again */
	s->begun_us = 0;
	if (s->upload) {
		s->b->ops->abort(s->upload);
		buf_count(s->b->m.abort, 1);
	}
	s->upload = NULL;
	sl_buf_reset(&s->out);
	s->open = s->in_txn = false;
}

/* Move what the open segment holds to its upload. */
static int buf_seg_drain(struct buf_src *s, sl_error *err)
{
	sl_buffer *b = s->b;
	if (s->upload == NULL) {
		char key[96];
		/* the key needs the first commit time, known by now (a transaction is open) */
		buf_key(key, sizeof key, b->prefix, b->next_seq, sl_seg_first_commit_us(s->sw));
		SL_TRY(b->ops->writer_open(b->wstore, key, &s->upload, err));
	}
	SL_TRY(b->ops->write(s->upload, s->out.data, s->out.len, err));
	sl_seg_drained(s->sw, s->out.len);
	sl_buf_reset(&s->out);
	return 0;
}

/* Put the open segment (whole transactions only) and tell the source it is durable. forced:
 * because apply.max_delay passed with no more changes (counted as a force-flush). */
static int buf_seg_flush(struct buf_src *s, bool forced, sl_error *err)
{
	sl_buffer *b = s->b;
	if (!s->open || s->in_txn)
		return 0;
	if (sl_seg_txns(s->sw) == 0 && s->upload == NULL && s->out.len <= 8) {
		buf_seg_abandon(s);
		return 0;
	}
	/* backpressure: the buffer is full until the target side deletes segments */
	pthread_mutex_lock(&b->mu);
	while (b->bytes >= b->cfg->buffer_max_size && !s->stop && !b->wstop) {
		if (!s->full_warned)
			sl_warn("buffer: full (%" PRId64 " bytes, buffer.max_size %" PRId64
			        "): the source waits until the target applies what it holds",
			        b->bytes, b->cfg->buffer_max_size);
		s->full_warned = true;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&b->cond, &b->mu, &ts);
	}
	bool stopping = b->bytes >= b->cfg->buffer_max_size;
	pthread_mutex_unlock(&b->mu);
	if (stopping) {
		buf_seg_abandon(s); /* read again by the next run */
		return 0;
	}
	if (s->full_warned)
		sl_info("buffer: room again; the source goes on");
	s->full_warned = false;
	int64_t write_us = sl_latency_now_us();
	sl_seg_end(s->sw);
	uint64_t size = sl_seg_bytes(s->sw);
	int64_t first = sl_seg_first_commit_us(s->sw);
	int rc;
	if (s->upload) {
		rc = buf_seg_drain(s, err);
		if (rc == 0)
			rc = b->ops->commit(s->upload, err);
		else
			b->ops->abort(s->upload);
		s->upload = NULL;
	} else {
		char key[96];
		buf_key(key, sizeof key, b->prefix, b->next_seq, first);
		rc = b->ops->put(b->wstore, key, s->out.data, s->out.len, err);
	}
	buf_count(rc == 0 ? b->m.create : b->m.abort, 1);
	if (rc == 0 && forced)
		buf_count(b->m.force, 1);
	SL_TRY(rc);
	sl_latency_written(&b->lat, write_us, sl_latency_now_us());
	sl_buf_reset(&s->out);
	s->open = false;
	uint64_t version = sl_seg_last_version(s->sw);
	pthread_mutex_lock(&b->mu);
	if (b->nsegs == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 16;
		b->segs = sl_realloc(b->segs, (size_t)b->cap * sizeof *b->segs);
	}
	buf_seg *g = &b->segs[b->nsegs++];
	memset(g, 0, sizeof *g);
	g->seq = b->next_seq++;
	g->first_us = first;
	g->size = (int64_t)size;
	g->known = true;
	g->last_version = version;
	g->last_position = sl_strdup(sl_seg_last_position(s->sw));
	b->bytes += (int64_t)size;
	buf_depth(b);
	if (sl_seg_txns(s->sw) > 0) {
		free(b->head_position);
		b->head_position = sl_strdup(sl_seg_last_position(s->sw));
		b->head_version = version;
	}
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->mu);
	if (sl_seg_txns(s->sw) > 0)
		b->sops->stream_ack(s->stream, version);
	return 0;
}

/* One message of the source into the open segment. */
static int buf_seg_add(struct buf_src *s, sl_msg *m, sl_error *err)
{
	if (m->kind == SL_MSG_PROGRESS) {
		/* the source moved on without a transaction of ours: once nothing of ours is
		 * waiting to be put, it may discard its log up to there */
		if (!s->open)
			s->b->sops->stream_ack(s->stream, m->version);
		return 0;
	}
	SL_TRY(sl_colview_apply(s->view, m, err)); /* masked before it leaves the agent */
	if (!s->open) {
		pthread_mutex_lock(&s->b->mu);
		sl_seg_begin(s->sw, &s->out, s->b->head_version, s->b->head_position);
		pthread_mutex_unlock(&s->b->mu);
		s->open = true;
		s->opened = buf_now();
	}
	if (m->kind == SL_MSG_BEGIN) {
		s->in_txn = true;
		s->begun_us = m->received_us;
	}
	sl_seg_add(s->sw, m);
	if (m->kind == SL_MSG_ROWS) {
		buf_count(s->b->m.rows_out, (uint64_t)m->changes->rows->length);
		buf_count(s->b->m.bytes_out, sl_changes_bytes(m->changes));
	} else if (m->kind == SL_MSG_COMMIT) {
		s->in_txn = false;
		sl_latency_txn(&s->b->lat, m->commit_us, s->begun_us, m->received_us);
		s->begun_us = 0;
	}
	if (s->out.len >= BUF_WINDOW && sl_seg_first_commit_us(s->sw) != 0)
		SL_TRY(buf_seg_drain(s, err));
	return 0;
}

/* One session of the source's change stream into segments: 0 when it ended (caught up, a
 * rename, or stopped), or an error. */
static int buf_session(struct buf_src *s, const char *from, bool *progressed, sl_error *err)
{
	sl_buffer *b = s->b;
	SL_TRY(b->sops->stream_open(b->src, b->cat, from, b->once, &s->stream, err));
	s->q = sl_queue_create((size_t)b->cfg->queue_bytes);
	s->stop = 0;
	s->reader_rc = 0;
	memset(&s->reader_err, 0, sizeof s->reader_err);
	int rc = sl_thread_start(&s->reader, buf_reader_main, s, "change stream reader", err);
	if (rc < 0) {
		sl_queue_destroy(s->q, buf_free_item);
		b->sops->stream_close(s->stream);
		return rc;
	}
	int64_t delay_ms = b->cfg->apply_max_delay_ms;
	for (;;) {
		if ((b->wstop || sl_stop_requested) && !s->in_txn) {
			rc = buf_seg_flush(s, false, err);
			break;
		}
		void *item;
		int kind;
		int prc = sl_queue_pop_timed(s->q, &item, &kind, NULL, 100);
		if (prc == 1) {
			sl_msg *m = item;
			rc = buf_seg_add(s, m, err);
			bool rename = m->kind == SL_MSG_RENAME, commit = m->kind == SL_MSG_COMMIT;
			sl_msg_free(m);
			if (rc < 0)
				break;
			if (commit)
				*progressed = true;
			bool full = sl_seg_bytes(s->sw) >= (uint64_t)b->cfg->buffer_segment_size;
			bool old = (buf_now() - s->opened) * 1000.0 >= (double)delay_ms;
			if ((rename || (commit && (full || old))) &&
			    (rc = buf_seg_flush(s, false, err)) < 0)
				break;
		} else if (prc == 0) {
			rc = 0;
			if (s->reader_rc == 0 && !s->in_txn)
				rc = buf_seg_flush(s, false, err);
			break;
		} else if (prc < 0) {
			break;
		} else if (s->open && !s->in_txn &&
		           (buf_now() - s->opened) * 1000.0 >= (double)delay_ms) {
			if ((rc = buf_seg_flush(s, true, err)) < 0)
				break;
		}
	}
	s->stop = 1;
	sl_queue_abort(s->q);
	pthread_join(s->reader, NULL);
	sl_queue_destroy(s->q, buf_free_item);
	s->q = NULL;
	buf_seg_abandon(s); /* an open transaction is read again */
	b->sops->stream_close(s->stream);
	s->stream = NULL;
	if (rc == 0 && s->reader_rc < 0 && s->reader_rc != SL_ERR_CANCELLED) {
		*err = s->reader_err;
		rc = s->reader_rc;
	}
	return rc;
}

static void *buf_writer_main(void *arg)
{
	struct buf_src *s = arg;
	sl_buffer *b = s->b;
	sl_error err = {0};
	int rc = 0, backoff = 1;
	for (;;) {
		char from[SL_POSITION_MAX];
		pthread_mutex_lock(&b->mu);
		snprintf(from, sizeof from, "%s", b->head_position ? b->head_position : "");
		pthread_mutex_unlock(&b->mu);
		bool progressed = false;
		sl_error_clear(&err);
		rc = buf_session(s, from, &progressed, &err);
		if (rc == 0 || !err.retryable || b->wstop || sl_stop_requested)
			break;
		if (progressed)
			backoff = 1;
		sl_warn("buffer: %s; the source side reconnects in %ds", err.msg, backoff);
		for (int i = 0; i < backoff * 10 && !b->wstop && !sl_stop_requested; i++)
			usleep(100000);
		backoff = backoff * 2 > 30 ? 30 : backoff * 2;
	}
	pthread_mutex_lock(&b->mu);
	b->ended = true;
	b->src_rc = rc == SL_ERR_CANCELLED ? 0 : rc;
	if (rc < 0 && rc != SL_ERR_CANCELLED)
		b->src_err = err;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->mu);
	sl_colview_destroy(s->view);
	sl_seg_writer_free(s->sw);
	sl_buf_free(&s->out);
	free(s);
	return NULL;
}

int sl_buffer_source_start(sl_buffer *b, const sl_source_ops *sops, sl_source *src,
                           const sl_catalog *cat, const char *from, bool once, sl_error *err)
{
	b->sops = sops;
	b->src = src;
	b->cat = cat;
	b->once = once;
	b->wstop = 0;
	b->ended = false;
	b->src_rc = 0;
	if (b->head_position == NULL)
		b->head_position = sl_strdup(from);
	struct buf_src *s = sl_calloc(1, sizeof *s);
	s->b = b;
	s->view = sl_colview_create(cat, b->cfg->mask_key);
	s->sw = sl_seg_writer_new(cat);
	int rc = sl_thread_start(&b->writer, buf_writer_main, s, "buffer writer", err);
	if (rc < 0) {
		sl_colview_destroy(s->view);
		sl_seg_writer_free(s->sw);
		free(s);
		return rc;
	}
	b->writer_started = true;
	char shown[512];
	sl_redact_url(b->cfg->buffer_url, shown, sizeof shown);
	sl_info("buffer: the source side reads changes after %s into %s", b->head_position, shown);
	return 0;
}

void sl_buffer_source_stop(sl_buffer *b)
{
	if (!b->writer_started)
		return;
	b->wstop = 1;
	pthread_mutex_lock(&b->mu);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->writer, NULL);
	b->writer_started = false;
}

/* ---------------------------------------------------------------- target side ---- */

/* The records of one segment, BUF_WINDOW bytes at a time. */
struct buf_window {
	sl_buffer *b;
	const char *key;
	uint64_t end; /* where the records end (the footer) */
	uint64_t at;  /* offset of win.data[0] */
	size_t pos;   /* next record in win */
	sl_buf win;
};

/* Make win hold n bytes from pos. */
static int buf_window_need(struct buf_window *w, size_t n, sl_error *err)
{
	if (w->win.len - w->pos >= n)
		return 0;
	if (w->at + w->pos + n > w->end)
		return sl_error_set(err, SL_ERR_DATA,
		                    "buffer segment %s is damaged (a record runs past its end)",
		                    w->key);
	/* keep what is unread, read the rest of the window */
	size_t keep = w->win.len - w->pos;
	if (keep)
		memmove(w->win.data, w->win.data + w->pos, keep);
	w->at += w->pos;
	w->pos = 0;
	w->win.len = keep;
	uint64_t want = n > BUF_WINDOW ? n : BUF_WINDOW;
	if (w->at + want > w->end)
		want = w->end - w->at;
	size_t more = (size_t)want - keep;
	uint8_t *dst = sl_buf_reserve(&w->win, more);
	int rc =
	        w->b->ops->get_range(w->b->rstore, w->key, (int64_t)(w->at + keep), dst, more, err);
	if (rc == SL_STORE_MISSING)
		return sl_error_set(
		        err, SL_ERR_STATE,
		        "buffer segment %s disappeared while sluice read it: is another "
		        "agent running this pipeline?",
		        w->key);
	SL_TRY(rc);
	w->win.len += more;
	return 0;
}

static int buf_apply_segment(sl_buffer *b, sl_seg_reader *rd, buf_seg *g, uint64_t after,
                             sl_emit_fn emit, void *ctx, volatile int *stop, sl_error *err)
{
	char key[96];
	buf_key(key, sizeof key, b->prefix, g->seq, g->first_us);
	sl_seg_footer f;
	SL_TRY(buf_footer(b, b->rstore, g, &f, err));
	pthread_mutex_lock(&b->mu);
	for (int k = 0; k < b->nsegs; k++) {
		buf_seg *e = &b->segs[k];
		if (e->seq == g->seq && !e->known) {
			/* what sl_buffer_ack needs to delete it */
			e->known = true;
			e->last_version = f.last_version;
			e->last_position = sl_strdup(f.last_position);
		}
	}
	pthread_mutex_unlock(&b->mu);
	uint32_t skip = 0; /* transactions the target holds */
	while (skip < f.ntxn && f.versions[skip] <= after)
		skip++;
	bool all = f.ntxn > 0 && skip == f.ntxn;
	uint64_t end = f.offset;
	sl_seg_footer_free(&f);
	if (all) {
		pthread_mutex_lock(&b->mu);
		b->reading = 0;
		pthread_mutex_unlock(&b->mu);
		sl_buffer_ack(b, after); /* applied before a restart: delete it now */
		return 0;
	}
	sl_seg_reader_segment(rd);
	buf_count(b->m.get, 1);
	struct buf_window w = {b, key, end, 0, 0, {0}};
	int rc = buf_window_need(&w, 8, err);
	if (rc == 0 && memcmp(w.win.data, SL_SEG_MAGIC, 8) != 0)
		rc = sl_error_set(err, SL_ERR_DATA,
		                  "buffer object %s is not a sluice segment: point buffer.url at a "
		                  "place of its own",
		                  key);
	w.pos = 8;
	uint32_t commits = 0;
	while (rc == 0 && w.at + w.pos < end) {
		if ((rc = buf_window_need(&w, SL_SEG_RECORD_HEAD, err)) < 0)
			break;
		char kind;
		uint32_t len, crc;
		sl_seg_record_head(w.win.data + w.pos, &kind, &len, &crc);
		if ((rc = buf_window_need(&w, SL_SEG_RECORD_HEAD + (size_t)len, err)) < 0)
			break;
		const uint8_t *body = w.win.data + w.pos + SL_SEG_RECORD_HEAD;
		w.pos += SL_SEG_RECORD_HEAD + (size_t)len;
		if ((uint32_t)crc32(0, body, len) != crc) {
			rc = sl_error_set(
			        err, SL_ERR_DATA,
			        "buffer segment %s is damaged (a checksum does not match): "
			        "restore the object, or drop the buffer and resync the tables",
			        key);
			break;
		}
		if (kind == 'M' && commits < skip) {
			/* held by the target already: only the records defining tables and shapes
			 * matter */
			if (len > 0 && body[0] == SL_MSG_COMMIT)
				commits++;
			continue;
		}
		sl_msg *out[2];
		int n = 0;
		if ((rc = sl_seg_decode(rd, kind, body, len, key, out, &n, err)) < 0)
			break;
		for (int i = 0; i < n; i++) {
			if (rc == 0 && out[i]->kind == SL_MSG_ROWS) {
				buf_count(b->m.rows_in, (uint64_t)out[i]->changes->rows->length);
				buf_count(b->m.bytes_in, sl_changes_bytes(out[i]->changes));
			}
			if (rc == 0)
				rc = sl_emit_wait(emit, ctx, out[i], stop, NULL, NULL, err);
			else
				sl_msg_free(out[i]);
		}
	}
	sl_buf_free(&w.win);
	return rc;
}

int sl_buffer_run(sl_buffer *b, const sl_catalog *cat, uint64_t after, sl_emit_fn emit, void *ctx,
                  volatile int *stop, sl_error *err)
{
	sl_seg_reader *rd = sl_seg_reader_new(cat);
	uint64_t next = 0; /* the next sequence to hand on */
	int rc = 0;
	for (;;) {
		if (*stop) {
			rc = SL_ERR_CANCELLED;
			break;
		}
		pthread_mutex_lock(&b->mu);
		int i = 0;
		while (i < b->nsegs && b->segs[i].seq < next)
			i++;
		if (i == b->nsegs) {
			if (b->ended) {
				rc = b->src_rc;
				if (rc < 0)
					*err = b->src_err;
				pthread_mutex_unlock(&b->mu);
				break;
			}
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&b->cond, &b->mu, &ts);
			pthread_mutex_unlock(&b->mu);
			continue;
		}
		buf_seg g = b->segs[i]; /* a copy: the array may move */
		g.last_position = NULL;
		b->reading = g.seq + 1; /* not deleted under the reader (its last records) */
		pthread_mutex_unlock(&b->mu);
		rc = buf_apply_segment(b, rd, &g, after, emit, ctx, stop, err);
		pthread_mutex_lock(&b->mu);
		b->reading = 0;
		uint64_t acked = b->acked;
		pthread_mutex_unlock(&b->mu);
		if (rc < 0)
			break;
		sl_buffer_ack(b, acked); /* what an ack left while the segment was read */
		next = g.seq + 1;
	}
	int64_t dropped = sl_seg_reader_dropped(rd);
	if (dropped > 0)
		sl_info("buffer: %" PRId64
		        " changes of tables the pipeline no longer follows dropped",
		        dropped);
	sl_seg_reader_free(rd);
	return rc;
}

void sl_buffer_ack(sl_buffer *b, uint64_t version)
{
	pthread_mutex_lock(&b->ackmu);
	pthread_mutex_lock(&b->mu);
	if (version > b->acked)
		b->acked = version;
	pthread_mutex_unlock(&b->mu);
	for (;;) {
		pthread_mutex_lock(&b->mu);
		if (b->nsegs == 0 || !b->segs[0].known || b->segs[0].last_version > version ||
		    b->segs[0].last_version == 0 || b->segs[0].seq + 1 == b->reading) {
			pthread_mutex_unlock(&b->mu);
			break;
		}
		buf_seg g = b->segs[0];
		bool newest = b->nsegs == 1;
		pthread_mutex_unlock(&b->mu);
		char key[96];
		buf_key(key, sizeof key, b->prefix, g.seq, g.first_us);
		sl_error err = {0};
		/* the newest segment says where the source resumes: head keeps it */
		int rc =
		        newest ? buf_write_head(b, b->rstore, g.last_version, g.last_position, &err)
		               : 0;
		if (rc == 0)
			rc = b->ops->del(b->rstore, key, &err);
		if (rc < 0) {
			sl_warn("buffer: %s (the segment is deleted later)", err.msg);
			break;
		}
		pthread_mutex_lock(&b->mu);
		free(b->segs[0].last_position);
		memmove(b->segs, b->segs + 1, (size_t)(b->nsegs - 1) * sizeof *b->segs);
		b->nsegs--;
		b->bytes -= g.size;
		buf_depth(b);
		buf_count(b->m.del, 1);
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->mu);
	}
	pthread_mutex_unlock(&b->ackmu);
}

/* ---------------------------------------------------------------- status ---- */

int sl_buffer_depth_of(const sl_config *cfg, const char *epoch, sl_buffer_depth *out, sl_error *err)
{
	char prefix[16];
	buf_prefix(prefix, sizeof prefix, epoch);
	memset(out, 0, sizeof *out);
	const sl_store_ops *ops;
	sl_store *st;
	SL_TRY(buf_store_open(cfg, &ops, &st, err));
	struct buf_list l;
	int rc = buf_list(ops, st, prefix, &l, err);
	ops->close(st);
	if (rc < 0)
		return rc;
	out->segments = l.n;
	for (int i = 0; i < l.n; i++)
		out->bytes += l.segs[i].size;
	if (l.n > 0)
		out->oldest_us = l.segs[0].first_us;
	free(l.segs);
	return 0;
}

int sl_buffer_check(const sl_config *cfg, sl_error *err)
{
	const sl_store_ops *ops;
	sl_store *st;
	SL_TRY(buf_store_open(cfg, &ops, &st, err));
	int rc = sl_store_probe(ops, st, "buffer", err);
	ops->close(st);
	return rc;
}
