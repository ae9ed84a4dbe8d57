/* PostgreSQL change stream: logical replication with pgoutput.
 *
 * One replication connection runs START_REPLICATION on the pipeline's slot from the durable
 * position. Protocol version 2 with binary values on PostgreSQL 14+ when every replicated column
 * has a binary decoder here; text values otherwise (version 1 before 14). Text values are parsed
 * into the same Arrow types as binary ones (formats/pgtypes.h, "Text forms"), in the forms the
 * session fixes before it starts (st_session_sql), so a table's shape does not depend on the
 * mode; only the columns the snapshot reads as text travel as text. Each XLogData payload
 * is decoded by the pure pgoutput decoder and translated into stream messages: SCHEMA for every
 * Relation message (the target diffs it against what it has), BEGIN, ROWS per table (a batch is
 * handed on at 4 MiB or at commit), TRUNCATE, COMMIT with the transaction's end LSN as position
 * and version. Transactions that end at or before the start position are skipped, so a restart
 * resumes strictly after what the target committed.
 *
 * Acknowledgement: standby status updates report as flushed only what stream_ack said is
 * durable on the target. When every transaction received is durable and none is open, the
 * server's own position from its last keepalive is reported instead, so a slot whose tables are
 * idle still advances. Status goes out every second when it changed and every 10 s regardless,
 * and at once when the server asks. While the pipeline is busy (the queue is full), the loop keeps
 * answering the server so it does not time the connection out.
 *
 * Threads: the stream runs on the reader thread; stream_ack is called from the applier. */
#include <ctype.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "core/log.h"
#include "core/txbuild.h"
#include "core/mem.h"
#include "clients/pgcatalog.h"
#include "clients/pgclient.h"
#include "formats/pgoutput.h"
#include "sources/postgres/pg_source_int.h"

#define ST_ROWS_BYTES (4u << 20)

struct st_type {
	uint32_t oid;
	int32_t typmod;
	sl_pg_column info; /* format_type and domain-resolved facts (name unused) */
};

struct st_rel {
	uint32_t relid;
	int table;    /* catalog index, -1 = not replicated */
	int ncols;    /* columns in the Relation message */
	int *map;     /* message column -> shape field, -1 = skipped */
	int *keycols; /* message columns of the catalog key */
	int nkey;
	sl_pg_codec *codecs; /* per shape field */
	unsigned *tflags;    /* per shape field: sl_pg_text_flags */
	sl_shape *shape;
	bool warned;
};

struct pg_stream {
	pg_source *src;
	const sl_catalog *cat;
	PGconn *conn;
	PGconn *meta; /* catalog lookups for Relation messages */
	bool binary;
	int proto;
	uint64_t start; /* skip transactions whose commit starts before this */
	uint64_t until; /* once: stop when caught up to this; 0 = run until stopped */
	atomic_uint_fast64_t acked;
	uint64_t reported;        /* flush position last sent */
	uint64_t received;        /* highest position seen (data or keepalive) */
	uint64_t keepalive_lsn;   /* server position of the last keepalive outside a transaction */
	uint64_t last_commit_end; /* end of the last transaction handed on */
	bool in_txn, skip_txn;
	/* The current transaction's BEGIN, held back until it touches a pipeline table: one
	 * that touches none (another table published FOR ALL TABLES, sluice's own positions
	 * when source and target are one database) is not handed on, so it cannot make the
	 * target write a position that would come back as another such transaction. */
	bool begun;
	int64_t begin_us;
	uint64_t begin_version;
	uint32_t begin_xid;
	double last_status, last_data, last_reply_request;
	bool chunked; /* st_wait: the socket's low-water mark is above one byte */

	sl_pgo_msg m;
	struct st_rel *rels;
	int nrels;
	struct st_type *types;
	int ntypes;
	sl_txb txb; /* the changes of the transaction being read, per table */
	uint8_t *ubits;
	int ubits_cap;
	sl_pg_text_buf tbuf;

	sl_emit_fn emit;
	void *ctx;
	volatile int *stop;
};

static double st_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One side of an LSN: 1 to 8 hexadecimal digits; the position after them, or NULL. */
static const char *st_lsn_half(const char *p, uint32_t *out)
{
	uint32_t v = 0;
	int n = 0;
	for (; isxdigit((unsigned char)*p); p++, n++) {
		if (n == 8)
			return NULL;
		int d = isdigit((unsigned char)*p) ? *p - '0'
		                                   : tolower((unsigned char)*p) - 'a' + 10;
		v = v << 4 | (uint32_t)d;
	}
	if (n == 0)
		return NULL;
	*out = v;
	return p;
}

int sl_pg_parse_lsn(const char *s, uint64_t *out)
{
	uint32_t hi, lo;
	if (s == NULL || (s = st_lsn_half(s, &hi)) == NULL || *s++ != '/' ||
	    (s = st_lsn_half(s, &lo)) == NULL || *s != '\0')
		return -1;
	*out = (uint64_t)hi << 32 | lo;
	return 0;
}

static void st_format_lsn(uint64_t lsn, char *buf, size_t n)
{
	snprintf(buf, n, "%X/%X", (unsigned int)(lsn >> 32), (unsigned int)lsn);
}

static inline uint64_t st_rd64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static inline void st_wr64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* ---------------------------------------------------------------- status ---- */

static int st_send_status(pg_stream *s, bool reply, sl_error *err)
{
	uint64_t acked = atomic_load(&s->acked);
	uint64_t flush = acked;
	if (!s->in_txn && acked >= s->last_commit_end && s->keepalive_lsn > flush)
		flush = s->keepalive_lsn;
	uint8_t msg[34];
	msg[0] = 'r';
	st_wr64(msg + 1, s->received > flush ? s->received : flush); /* written */
	st_wr64(msg + 9, flush);                                     /* flushed */
	st_wr64(msg + 17, flush);                                    /* applied */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - SL_PG_EPOCH_US;
	st_wr64(msg + 25, (uint64_t)now_us);
	msg[33] = reply ? 1 : 0;
	if (PQputCopyData(s->conn, (const char *)msg, sizeof msg) != 1 || PQflush(s->conn) != 0) {
		sl_error_set(err, SL_ERR_CONNECT, "source: replication connection lost: %s",
		             PQerrorMessage(s->conn));
		err->retryable = true;
		return SL_ERR_CONNECT;
	}
	s->reported = flush;
	s->last_status = st_now();
	if (reply)
		s->last_reply_request = s->last_status;
	return 0;
}

/* Timers: status every second when the acknowledged position moved, every 10 s regardless
 * (asking for a reply, so an idle slot learns the server's position). */
static int st_service(pg_stream *s, sl_error *err)
{
	double now = st_now();
	uint64_t acked = atomic_load(&s->acked);
	bool moved = acked > s->reported;
	if (now - s->last_status >= 10.0)
		return st_send_status(s, true, err);
	if (moved && now - s->last_status >= 1.0)
		return st_send_status(s, false, err);
	return 0;
}

/* ---------------------------------------------------------------- waiting ---- */

#define ST_CHUNK (64 * 1024)
#define ST_CHUNK_WAIT_MS 2
#define ST_READ_NOW (16 * 1024) /* about what one PQconsumeInput takes in */

/* Set the socket's low-water mark; false when it could not be set. `chunked` follows the mark
 * the socket has: one that cannot be put back keeps the waits short (and st_wait tries again). */
static bool st_lowat(pg_stream *s, int bytes)
{
	if (setsockopt(PQsocket(s->conn), SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes) != 0)
		return false;
	s->chunked = bytes > 1;
	return true;
}

/* Wait for the server. The walsender writes every message as it decodes it; waking for each
 * costs the reader and the walsender a context switch per row, which on a busy stream was most
 * of the reader's CPU. So once data comes back within a millisecond of waiting, the socket
 * wakes the reader only when ST_CHUNK bytes are there (SO_RCVLOWAT) or after ST_CHUNK_WAIT_MS,
 * whichever comes first. libpq takes in about ST_READ_NOW bytes per read, so while that much is
 * waiting in the socket the reader does not sleep at all: a message waits at most
 * ST_CHUNK_WAIT_MS. A wait that finds nothing ends chunked mode. */
static void st_wait(pg_stream *s, int timeout_ms)
{
	int fd = PQsocket(s->conn);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	if (s->chunked) {
		int avail = 0;
		if (ioctl(fd, FIONREAD, &avail) == 0 && avail >= ST_READ_NOW)
			return;
		if (poll(&pfd, 1, ST_CHUNK_WAIT_MS) == 0 && ioctl(fd, FIONREAD, &avail) == 0 &&
		    avail == 0)
			st_lowat(s, 1);
		return;
	}
	double t0 = st_now();
	if (poll(&pfd, 1, timeout_ms) > 0 && st_now() - t0 < 0.001)
		st_lowat(s, ST_CHUNK);
}

/* ---------------------------------------------------------------- emitting ---- */

/* While the pipeline is busy: the status messages the server waits for. */
static int st_busy(void *s, sl_error *err)
{
	return st_service(s, err);
}

static int st_emit_now(pg_stream *s, sl_msg *m, sl_error *err)
{
	return sl_emit_wait(s->emit, s->ctx, m, s->stop, st_busy, s, err);
}

/* Hand m on; the held-back BEGIN goes first when m is the transaction's first content. */
static int st_emit(pg_stream *s, sl_msg *m, sl_error *err)
{
	if (s->in_txn && !s->skip_txn && !s->begun && m->kind != SL_MSG_BEGIN &&
	    m->kind != SL_MSG_COMMIT) {
		sl_msg *bm = sl_msg_new(SL_MSG_BEGIN);
		bm->commit_us = s->begin_us;
		bm->version = s->begin_version;
		bm->txid = s->begin_xid;
		s->begun = true;
		int rc = st_emit_now(s, bm, err);
		if (rc < 0) {
			sl_msg_free(m);
			return rc;
		}
	}
	return st_emit_now(s, m, err);
}

/* the transaction builder's way out: through st_emit, which hands the held-back BEGIN on */
static int st_emit_cb(void *ctx, sl_msg *m, sl_error *err)
{
	return st_emit(ctx, m, err);
}

/* ---------------------------------------------------------------- relations ---- */

static const char st_type_sql[] =
        "SELECT format_type(t.oid, $2::int),"
        "       rt.oid, CASE WHEN rt.typcategory = 'A' AND b.typmod = -1 THEN eb.typmod ELSE "
        "b.typmod END,"
        "       rt.typtype, rt.typcategory, CASE WHEN rt.typcategory = 'A' THEN eb.oid ELSE 0 "
        "END,"
        "       coalesce(et.typtype, ''), coalesce(et.typcategory, ''),"
        "       coalesce((SELECT rngsubtype FROM pg_range WHERE rngtypid = rt.oid), 0)"
        "  FROM pg_type t"
        "  CROSS JOIN LATERAL " SL_PG_BASE_TYPE_SQL(
                "t.oid", "$2::int", "b") "  JOIN pg_type rt ON rt.oid = b.oid"
                                         "  CROSS JOIN LATERAL " SL_PG_BASE_TYPE_SQL(
                                                 "rt.typelem", "-1",
                                                 "eb") "  LEFT JOIN pg_type et ON et.oid = eb.oid "
                                                       "AND rt.typcategory = 'A'"
                                                       " WHERE t.oid = $1::oid";

static int st_type(pg_stream *s, uint32_t oid, int32_t typmod, const sl_pg_column **out,
                   sl_error *err)
{
	for (int i = 0; i < s->ntypes; i++)
		if (s->types[i].oid == oid && s->types[i].typmod == typmod) {
			*out = &s->types[i].info;
			return 0;
		}
	char a[16], b[16];
	snprintf(a, sizeof a, "%u", oid);
	snprintf(b, sizeof b, "%d", typmod);
	const char *params[2] = {a, b};
	PGresult *res;
	SL_TRY(sl_pg_query(s->meta, st_type_sql, 2, params, &res, err));
	if (PQntuples(res) != 1) {
		PQclear(res);
		return sl_error_set(err, SL_ERR_STATE,
		                    "source: type %u of a replicated column is gone", oid);
	}
	s->types = sl_realloc(s->types, (size_t)(s->ntypes + 1) * sizeof *s->types);
	struct st_type *t = &s->types[s->ntypes++];
	memset(t, 0, sizeof *t);
	t->oid = oid;
	t->typmod = typmod;
	t->info.format_type = sl_strdup(PQgetvalue(res, 0, 0));
	t->info.type_oid = oid;
	t->info.ti.oid = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	t->info.ti.typmod = (int32_t)strtol(PQgetvalue(res, 0, 2), NULL, 10);
	t->info.ti.typtype = PQgetvalue(res, 0, 3)[0];
	t->info.ti.typcategory = PQgetvalue(res, 0, 4)[0];
	t->info.ti.elem_oid = (uint32_t)strtoul(PQgetvalue(res, 0, 5), NULL, 10);
	t->info.ti.elem_typtype = PQgetvalue(res, 0, 6)[0];
	t->info.ti.elem_typcategory = PQgetvalue(res, 0, 7)[0];
	t->info.ti.range_subtype = (uint32_t)strtoul(PQgetvalue(res, 0, 8), NULL, 10);
	PQclear(res);
	*out = &t->info;
	return 0;
}

static struct st_rel *st_rel_find(pg_stream *s, uint32_t relid)
{
	for (int i = 0; i < s->nrels; i++)
		if (s->rels[i].relid == relid)
			return &s->rels[i];
	return NULL;
}

static int st_catalog_index(pg_stream *s, uint32_t relid)
{
	for (int i = 0; i < s->cat->ntables; i++) {
		const struct pg_table *pt = s->cat->tables[i].priv;
		if (pt && pt->oid == relid)
			return i;
	}
	return -1;
}

/* Columns added while the table had rows: ADD COLUMN ... DEFAULT with a constant stores the
 * value those rows read as the column's missing value (pg_attribute.attmissingval), and logical
 * replication carries no row for them. Each such field gets the value (fill, fill_text), which
 * a target adding the column gives to the rows it holds. A column with a default but no missing
 * value (fill_missing) may have been added with a volatile default, or the table rewritten
 * since: rows that existed then have values the change log never carried, which a target
 * adding the column says (they need the table reloaded). Each field also gets its attnum
 * (source_id, which a target follows a column rename by) as the catalog has it now: a name
 * the catalog no longer has (renamed again since) gets none. */
/* A catalog query on the stream's catalog connection whose one parameter is relation relid. */
static int st_query_rel(pg_stream *s, const char *sql, uint32_t relid, PGresult **res,
                        sl_error *err)
{
	char oid[16];
	snprintf(oid, sizeof oid, "%u", relid);
	const char *params[1] = {oid};
	return sl_pg_query(s->meta, sql, 1, params, res, err);
}

/* The transaction being decoded (its BEGIN's xid) has its commit record in the WAL, but its
 * backend may not have ended it yet (it leaves the process array a moment after the record is
 * flushed, and the walsender may send it before then): until it has, a catalog query on
 * s->meta does not see what it changed (a primary key, a column's default). It has ended once
 * its transaction lock is gone (released after the process array is left). Waits at most 10 s. */
static int st_wait_xact(pg_stream *s, sl_error *err)
{
	if (!s->in_txn || s->begin_xid == 0)
		return 0;
	char xid[16];
	snprintf(xid, sizeof xid, "%u", s->begin_xid);
	const char *params[1] = {xid};
	for (int waited_ms = 0;; waited_ms += 20) {
		PGresult *res;
		SL_TRY(sl_pg_query(s->meta,
		                   "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' "
		                   "AND transactionid = $1::xid",
		                   1, params, &res, err));
		bool running = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
		PQclear(res);
		if (!running || waited_ms >= 10000)
			return 0;
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static int st_fills(pg_stream *s, uint32_t relid, const sl_table_def *td, sl_field *fields,
                    const sl_pg_codec *codecs, const unsigned *tflags, int nf, sl_error *err)
{
	PGresult *res;
	SL_TRY(st_query_rel(s,
	                    "SELECT a.attname, a.atthasmissing, (a.attmissingval::text::text[])[1],"
	                    "       d.adbin IS NOT NULL, a.attnum"
	                    "  FROM pg_attribute a LEFT JOIN pg_attrdef d"
	                    "    ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
	                    " WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped",
	                    relid, &res, err));
	int rc = 0;
	for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
		const char *name = PQgetvalue(res, r, 0);
		int i = 0;
		while (i < nf && strcmp(fields[i].name, name) != 0)
			i++;
		if (i == nf)
			continue;
		sl_field *f = &fields[i];
		f->source_id = (int32_t)strtol(PQgetvalue(res, r, 4), NULL, 10);
		bool missing = PQgetvalue(res, r, 1)[0] == 't',
		     dflt = PQgetvalue(res, r, 3)[0] == 't';
		if (!missing && !dflt)
			continue;
		if (!missing || PQgetisnull(res, r, 2)) {
			f->fill_missing = true;
			continue;
		}
		const char *text = PQgetvalue(res, r, 2);
		f->fill_text = sl_strdup(text);
		if (f->type == SL_TYPE_LIST)
			continue; /* the text serves a PostgreSQL target; others leave such rows */
		sl_batch *b = sl_batch_create(f, 1);
		sl_pg_text_buf tb = {0};
		sl_error e = {0};
		if (sl_pg_decode_text(&codecs[i], &b->cols[0], text, strlen(text), tflags[i], &tb,
		                      &e) == 0 &&
		    sl_col_is_valid(&b->cols[0], 0)) {
			const sl_column *c = &b->cols[0];
			size_t n = (size_t)sl_type_value_width(f);
			const uint8_t *p = c->values.data;
			if (sl_type_is_var_width(f->type)) {
				int32_t len;
				p = sl_col_bytes(c, 0, &len);
				n = (size_t)len;
			}
			uint8_t one = f->type == SL_TYPE_BOOL && sl_col_bool(c, 0);
			if (f->type == SL_TYPE_BOOL) {
				p = &one;
				n = 1;
			}
			f->fill = sl_malloc(n ? n : 1);
			memcpy(f->fill, p, n);
			f->fill_len = n;
		} else {
			sl_warn("source: column %s.%s: its stored default '%s' could not be read "
			        "(%s)",
			        td->qualified, name, text, e.msg);
		}
		sl_pg_text_buf_free(&tb);
		sl_batch_destroy(b);
	}
	PQclear(res);
	return rc;
}

/* With another REPLICA IDENTITY (FULL, USING INDEX, NOTHING) the Relation message flags
 * other columns than the primary key: the key is the one the table has now, read from the
 * catalog (a Relation message comes before a table's first change of a session and after
 * each change to its columns or key, so while streaming that is the key the changes were made
 * under; changes read long after a key change are applied by the newer one). The message's
 * columns of that key, in key order, into keycols; *known false when one of them is not in
 * the message or not replicated. */
static int st_key_now(pg_stream *s, const sl_pgo_msg *m, const int *map, int *keycols, int *nkey,
                      bool *known, sl_error *err)
{
	PGresult *res;
	SL_TRY(st_query_rel(s,
	                    "SELECT a.attname FROM pg_index i CROSS JOIN LATERAL "
	                    "unnest(i.indkey) WITH ORDINALITY k(attnum, ord) JOIN pg_attribute a "
	                    "ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE i.indrelid = "
	                    "$1::oid AND i.indisprimary ORDER BY k.ord",
	                    m->relid, &res, err));
	*known = true;
	*nkey = 0;
	for (int r = 0; r < PQntuples(res) && *known; r++) {
		const char *name = PQgetvalue(res, r, 0);
		int found = -1;
		for (int i = 0; i < m->ncolumns && found < 0; i++)
			if (strcmp(m->columns[i].name, name) == 0 && map[i] >= 0)
				found = i;
		*known = found >= 0;
		keycols[(*nkey)++] = found;
	}
	PQclear(res);
	if (!*known)
		*nkey = 0;
	return 0;
}

static int st_relation(pg_stream *s, sl_error *err)
{
	const sl_pgo_msg *m = &s->m;
	struct st_rel *r = st_rel_find(s, m->relid);
	if (r == NULL) {
		s->rels = sl_realloc(s->rels, (size_t)(s->nrels + 1) * sizeof *s->rels);
		r = &s->rels[s->nrels++];
		memset(r, 0, sizeof *r);
		r->relid = m->relid;
		r->table = st_catalog_index(s, m->relid);
	}
	if (r->table < 0) {
		if (!r->warned)
			sl_warn("source: changes to %s.%s are published but the table is not in "
			        "this "
			        "pipeline; they are ignored",
			        m->nspname[0] ? m->nspname : "pg_catalog", m->relname);
		r->warned = true;
		return 0;
	}
	const sl_table_def *td = &s->cat->tables[r->table];
	SL_TRY(st_wait_xact(s, err)); /* the catalog as this transaction left it */
	int n = m->ncolumns;
	sl_field *fields = sl_calloc((size_t)(n ? n : 1), sizeof *fields);
	sl_pg_codec *codecs = sl_calloc((size_t)(n ? n : 1), sizeof *codecs);
	unsigned *tflags = sl_calloc((size_t)(n ? n : 1), sizeof *tflags);
	int *map = sl_calloc((size_t)(n ? n : 1), sizeof *map);
	int nf = 0, rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		const sl_pgo_column *c = &m->columns[i];
		const sl_pg_column *col = NULL;
		map[i] = -1;
		if ((rc = st_type(s, c->type_oid, c->typmod, &col, err)) < 0)
			break;
		sl_field *f = &fields[nf];
		sl_field_init(f, c->name, SL_TYPE_NA);
		f->nullable = true;
		for (int k = 0; k < td->nfields; k++)
			if (strcmp(td->fields[k].name, c->name) == 0)
				f->nullable = td->fields[k].nullable;
		f->source_type = sl_strdup(col->format_type);
		const char *reason = NULL;
		sl_pg_select how = sl_pg_map_column(&col->ti, f, &codecs[nf], &reason);
		if (how == SL_PG_SELECT_UNSUPPORTED) {
			if (!r->warned)
				sl_warn("source: column %s.%s (%s) is skipped: %s", td->qualified,
				        c->name, col->format_type, reason ? reason : "unsupported");
			sl_field_reset(f);
			continue;
		}
		if (how != SL_PG_SELECT_PLAIN && s->binary) {
			sl_field_reset(f);
			rc = sl_error_set(err, SL_ERR_CONNECT,
			                  "source: column %s.%s (%s) needs the text protocol; "
			                  "restarting the stream in text mode",
			                  td->qualified, c->name, col->format_type);
			err->retryable = true;
			s->src->stream_text = true;
			break;
		}
		if (how == SL_PG_SELECT_TEXT || how == SL_PG_SELECT_TEXT_ARRAY ||
		    how == SL_PG_SELECT_RANGE_JSON)
			tflags[nf] = sl_pg_text_flags(&col->ti);
		map[i] = nf++;
	}
	if (rc == 0)
		rc = st_fills(s, m->relid, td, fields, codecs, tflags, nf, err);
	/* With REPLICA IDENTITY DEFAULT the message flags the primary key as it was when the
	 * changes were made (the table may have another one by now, or none) */
	int *keycols = sl_calloc((size_t)n + 1, sizeof *keycols), nkey = 0;
	bool key_known = m->replident == 'd';
	if (rc == 0 && !key_known)
		rc = st_key_now(s, m, map, keycols, &nkey, &key_known, err);
	for (int i = 0; i < n && rc == 0 && key_known && m->replident == 'd'; i++) {
		if (!(m->columns[i].flags & 1))
			continue;
		if (map[i] < 0)
			rc = sl_error_set(
			        err, SL_ERR_DATA,
			        "source: primary key column %s.%s has a type sluice does not "
			        "replicate",
			        td->qualified, m->columns[i].name);
		keycols[nkey++] = i;
	}
	if (rc == 0 && key_known && nkey == td->nkey) {
		/* the discovered key's order, when it is the same key */
		int *ordered = sl_calloc((size_t)n + 1, sizeof *ordered), found = 0;
		for (int k = 0; k < td->nkey; k++)
			for (int j = 0; j < nkey; j++)
				if (strcmp(m->columns[keycols[j]].name,
				           td->fields[td->key[k]].name) == 0)
					ordered[found++] = keycols[j];
		if (found == nkey)
			memcpy(keycols, ordered, sizeof *keycols * (size_t)nkey);
		free(ordered);
	}
	for (int k = 0; k < nkey && rc == 0; k++)
		fields[map[keycols[k]]].key_pos = k + 1;
	if (rc == 0) {
		r->warned = true;
		/* pending rows were built with the previous shape: hand them on first */
		if (!sl_shape_same(r->shape, fields, nf, key_known))
			rc = sl_txb_flush_table(&s->txb, r->table, err);
	}
	if (rc == 0) {
		bool same = sl_shape_same(r->shape, fields, nf, key_known);
		if (!same) {
			sl_shape_unref(r->shape);
			r->shape = sl_shape_new(fields, nf);
			r->shape->key_known = key_known;
		}
		free(r->map);
		free(r->codecs);
		free(r->tflags);
		r->map = map;
		r->codecs = codecs;
		r->tflags = tflags;
		map = NULL;
		codecs = NULL;
		tflags = NULL;
		r->ncols = n;
		free(r->keycols);
		r->keycols = keycols;
		r->nkey = nkey;
		keycols = NULL;
		const char *renamed = NULL;
		for (int k = 0; k < td->nkey && !key_known; k++) {
			const sl_field *kf = &td->fields[td->key[k]];
			for (int i = 0; i < n; i++) {
				if (r->map[i] < 0)
					continue;
				if (strcmp(m->columns[i].name, kf->name) == 0)
					r->keycols[r->nkey++] = i;
				else if (kf->source_id &&
				         fields[r->map[i]].source_id == kf->source_id)
					renamed = kf->name;
			}
		}
		if (key_known)
			;
		else if (r->nkey != td->nkey && renamed) {
			/* the key is named as discovered everywhere: discover again */
			rc = sl_error_set(err, SL_ERR_DATA,
			                  "source: primary key column %s of %s was renamed",
			                  renamed, td->qualified);
			err->rediscover = true;
		} else if (r->nkey != td->nkey)
			rc = sl_error_set(
			        err, SL_ERR_DATA,
			        "source: a primary key column of %s is no longer replicated "
			        "(was it dropped?); sluice cannot apply changes to it by key",
			        td->qualified);
		if (rc == 0) {
			/* every Relation message: the target compares it with what it has */
			sl_msg *sm = sl_msg_new(SL_MSG_SCHEMA);
			sm->table = r->table;
			sm->shape = sl_shape_ref(r->shape);
			rc = st_emit(s, sm, err);
		}
	}
	for (int i = 0; i < nf; i++)
		sl_field_reset(&fields[i]);
	free(fields);
	free(codecs);
	free(tflags);
	free(map);
	free(keycols);
	return rc;
}

/* ---------------------------------------------------------------- rows ---- */

static int st_append(pg_stream *s, struct st_rel *r, const sl_pgo_tuple *tup, enum sl_op op,
                     bool may_flush, sl_error *err)
{
	const sl_table_def *td = &s->cat->tables[r->table];
	if (tup->ncols != r->ncols)
		return sl_error_set(err, SL_ERR_DATA,
		                    "source: change to %s has %d columns, its Relation message %d",
		                    td->qualified, tup->ncols, r->ncols);
	sl_changes *c;
	SL_TRY(sl_txb_batch(&s->txb, r->table, r->shape, &c, err));
	if (c->ubytes > s->ubits_cap) {
		s->ubits_cap = c->ubytes;
		s->ubits = sl_realloc(s->ubits, (size_t)s->ubits_cap);
	}
	memset(s->ubits, 0, (size_t)c->ubytes);
	size_t before = sl_changes_bytes(c);
	bool any_u = false;
	for (int i = 0; i < tup->ncols; i++) {
		int fi = r->map[i];
		if (fi < 0)
			continue;
		const sl_pgo_value *v = &tup->values[i];
		sl_column *col = &c->rows->cols[fi];
		switch (v->kind) {
		case 'n':
			sl_col_append_null(col);
			break;
		case 'u':
			sl_col_append_null(col);
			s->ubits[fi >> 3] |= (uint8_t)(1u << (fi & 7));
			any_u = true;
			break;
		case 'b':
			SL_TRY(sl_pg_decode_field(&r->codecs[fi], col, v->data, v->len, err));
			break;
		case 't':
			if (sl_pg_decode_text(&r->codecs[fi], col, (const char *)v->data,
			                      (size_t)v->len, r->tflags[fi], &s->tbuf, err) < 0)
				return sl_error_wrap(err, "source: %s", td->qualified);
			break;
		default:
			return sl_error_set(err, SL_ERR_DATA, "source: unknown value kind");
		}
	}
	sl_changes_end_row(c, op, any_u ? s->ubits : NULL);
	return sl_txb_added(&s->txb, c, before, may_flush, err);
}

static bool st_key_changed(const struct st_rel *r, const sl_pgo_tuple *old, const sl_pgo_tuple *new)
{
	for (int k = 0; k < r->nkey; k++) {
		int i = r->keycols[k];
		const sl_pgo_value *a = &old->values[i], *b = &new->values[i];
		if (b->kind == 'u')
			continue;
		if (a->kind != b->kind || a->len != b->len ||
		    (a->len > 0 && memcmp(a->data, b->data, (size_t)a->len) != 0))
			return true;
	}
	return false;
}

static int st_change(pg_stream *s, sl_error *err)
{
	const sl_pgo_msg *m = &s->m;
	if (s->skip_txn)
		return 0;
	struct st_rel *r = st_rel_find(s, m->relid);
	if (r == NULL)
		return sl_error_set(err, SL_ERR_DATA,
		                    "source: change to relation %u before its Relation message",
		                    m->relid);
	if (r->table < 0)
		return 0;
	const sl_table_def *td = &s->cat->tables[r->table];
	bool keyed = r->nkey > 0;
	switch (m->type) {
	case SL_PGO_INSERT:
		return st_append(s, r, &m->new_tuple, keyed ? SL_OP_UPSERT : SL_OP_INSERT, true,
		                 err);
	case SL_PGO_UPDATE: {
		bool unchanged = false;
		for (int i = 0; i < m->new_tuple.ncols; i++) {
			sl_pgo_value *v = &s->m.new_tuple.values[i];
			/* a whole old row (REPLICA IDENTITY FULL) holds the values the update
			 * left unchanged */
			if (v->kind == 'u' && m->old_kind == 'O' && i < m->old_tuple.ncols &&
			    m->old_tuple.values[i].kind != 'u')
				*v = m->old_tuple.values[i];
			unchanged |= v->kind == 'u';
		}
		if (!keyed) {
			if (m->old_kind != 'O')
				goto no_identity;
			SL_TRY(st_append(s, r, &m->old_tuple, SL_OP_DELETE, false, err));
			return st_append(s, r, &m->new_tuple, SL_OP_INSERT, true, err);
		}
		if (m->old_kind && st_key_changed(r, &m->old_tuple, &m->new_tuple)) {
			/* the pair stays in one batch: the applier reads the old key */
			SL_TRY(st_append(s, r, &m->old_tuple, SL_OP_DELETE, false, err));
			return st_append(s, r, &m->new_tuple, unchanged ? SL_OP_MOVE : SL_OP_UPSERT,
			                 true, err);
		}
		return st_append(s, r, &m->new_tuple, SL_OP_UPSERT, true, err);
	}
	case SL_PGO_DELETE:
		if (!keyed && m->old_kind != 'O')
			goto no_identity;
		return st_append(s, r, &m->old_tuple, SL_OP_DELETE, true, err);
	default:
		return 0;
	}
no_identity:
	return sl_error_set(err, SL_ERR_SETTING,
	                    "source: table %s has no primary key and its old rows are not "
	                    "logged, so its updates and deletes cannot be applied (run on the "
	                    "source: ALTER TABLE %s REPLICA IDENTITY FULL; then reset the "
	                    "pipeline)",
	                    td->qualified, td->qualified);
}

static int st_truncate(pg_stream *s, sl_error *err)
{
	if (s->skip_txn)
		return 0;
	for (int i = 0; i < s->m.nrelids; i++) {
		struct st_rel *r = st_rel_find(s, s->m.relids[i]);
		int t = r ? r->table : st_catalog_index(s, s->m.relids[i]);
		if (t < 0)
			continue;
		/* rows before the truncate are gone anyway */
		sl_txb_discard(&s->txb, t);
		sl_msg *tm = sl_msg_new(SL_MSG_TRUNCATE);
		tm->table = t;
		SL_TRY(st_emit(s, tm, err));
	}
	return 0;
}

static int st_commit(pg_stream *s, sl_error *err)
{
	const sl_pgo_msg *m = &s->m;
	if (m->end_lsn > s->received)
		s->received = m->end_lsn;
	if (s->skip_txn) {
		s->in_txn = false;
		sl_txb_drop(&s->txb);
		return 0;
	}
	/* still in the transaction: its first rows may be what hands the BEGIN on */
	int rc = sl_txb_flush(&s->txb, err);
	s->in_txn = false;
	SL_TRY(rc);
	if (!s->begun)
		return 0; /* nothing of the pipeline's: the keepalives move the slot past it */
	sl_msg *cm = sl_msg_new(SL_MSG_COMMIT);
	char lsn[32];
	st_format_lsn(m->end_lsn, lsn, sizeof lsn);
	sl_msg_set_position(cm, lsn);
	cm->version = m->end_lsn;
	cm->commit_us = m->ts + SL_PG_EPOCH_US;
	s->last_commit_end = m->end_lsn;
	return st_emit(s, cm, err);
}

/* A logical decoding message: a backfill's watermark (sl_pg_watermark) is handed on where the
 * log has it; anything else (heartbeats, other tools' messages) is not ours. */
static int st_watermark(pg_stream *s, sl_error *err)
{
	const sl_pgo_msg *m = &s->m;
	if ((m->flags & 1) || s->in_txn || strcmp(m->prefix, ST_WATERMARK_PREFIX) != 0 ||
	    m->lsn < s->start)
		return 0;
	sl_msg *wm = sl_msg_new(SL_MSG_WATERMARK);
	char lsn[32], *mark = sl_malloc(m->content_len + 1);
	memcpy(mark, m->content, m->content_len);
	mark[m->content_len] = '\0';
	wm->mark = mark;
	st_format_lsn(m->lsn, lsn, sizeof lsn);
	sl_msg_set_position(wm, lsn);
	wm->version = m->lsn;
	return st_emit_now(s, wm, err);
}

static int st_message(pg_stream *s, const uint8_t *buf, size_t len, sl_error *err)
{
	SL_TRY(sl_pgo_decode(buf, len, false, &s->m, err));
	const sl_pgo_msg *m = &s->m;
	switch (m->type) {
	case SL_PGO_BEGIN: {
		s->in_txn = true;
		s->skip_txn = m->lsn < s->start;
		sl_txb_drop(&s->txb); /* nothing is pending between transactions */
		s->begun = false;
		s->begin_us = m->ts + SL_PG_EPOCH_US;
		s->begin_version = m->lsn;
		s->begin_xid = m->xid;
		return 0; /* handed on with the transaction's first content (st_emit) */
	}
	case SL_PGO_COMMIT:
		return st_commit(s, err);
	case SL_PGO_RELATION:
		return st_relation(s, err);
	case SL_PGO_INSERT:
	case SL_PGO_UPDATE:
	case SL_PGO_DELETE:
		return st_change(s, err);
	case SL_PGO_TRUNCATE:
		return st_truncate(s, err);
	case SL_PGO_MESSAGE:
		return st_watermark(s, err);
	case SL_PGO_TYPE:
	case SL_PGO_ORIGIN:
		return 0;
	default:
		return sl_error_set(err, SL_ERR_DATA,
		                    "source: unexpected pgoutput message '%c' (streamed "
		                    "transactions were not requested)",
		                    m->type);
	}
}

/* ---------------------------------------------------------------- session ---- */

/* The walsender prints text values with its session's settings: fix every one the text parser
 * depends on (sl_pg_connect already asks for most of them; a role or database setting must not
 * change them). IntervalStyle iso_8601 and the others are those of the snapshot's sessions, so
 * values that stay text (interval, timetz, composites) read the same in both. */
static const char *const st_session_sql[] = {
        "SET DateStyle = ISO",        "SET IntervalStyle = iso_8601", "SET TimeZone = 'UTC'",
        "SET extra_float_digits = 3", "SET bytea_output = hex",       "SET lc_monetary = 'C'"};

static bool st_all_binary(pg_stream *s, sl_error *err)
{
	sl_buf oids = {0};
	sl_buf_putc(&oids, '{');
	for (int i = 0; i < s->cat->ntables; i++) {
		const struct pg_table *pt = s->cat->tables[i].priv;
		sl_buf_printf(&oids, "%s%u", i ? "," : "", pt ? pt->oid : 0);
	}
	sl_buf_putc(&oids, '}');
	sl_pg_column *cols = NULL;
	int n = 0;
	bool all = true;
	if (sl_pg_read_columns(s->meta, sl_buf_cstr(&oids), &cols, &n, err) < 0) {
		sl_buf_free(&oids);
		return false;
	}
	for (int i = 0; i < n && all; i++) {
		sl_field f;
		sl_pg_codec codec;
		const char *reason;
		sl_field_init(&f, cols[i].name, SL_TYPE_NA);
		sl_pg_select how = sl_pg_map_column(&cols[i].ti, &f, &codec, &reason);
		if (how != SL_PG_SELECT_PLAIN && how != SL_PG_SELECT_UNSUPPORTED) {
			sl_info("source: column %s (%s) has no binary decoder here; the change "
			        "stream uses the text protocol",
			        cols[i].name, cols[i].format_type);
			all = false;
		}
		sl_field_reset(&f);
	}
	sl_pg_columns_free(cols, n);
	sl_buf_free(&oids);
	return all;
}

int sl_pg_stream_open(sl_source *handle, const sl_catalog *cat, const char *from, bool once,
                      sl_stream **out, sl_error *err)
{
	pg_source *src = pg_source_of(handle);
	pg_stream *s = sl_calloc(1, sizeof *s);
	s->src = src;
	s->cat = cat;
	sl_txb_init(&s->txb, cat->ntables, ST_ROWS_BYTES, st_emit_cb, s);
	atomic_init(&s->acked, 0);
	int rc = 0;
	if (sl_pg_parse_lsn(from, &s->start) < 0) {
		/* shown with control characters masked and cut, so the message stays one line */
		char shown[72];
		size_t k = 0;
		for (const char *p = from ? from : ""; *p && k + 4 < sizeof shown; p++)
			shown[k++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
		snprintf(shown + k, sizeof shown - k, "%s", from && strlen(from) > k ? "..." : "");
		rc = sl_error_set(err, SL_ERR_STATE,
		                  "source: the stored start position '%s' is not a PostgreSQL LSN "
		                  "(like 0/16B3748); it comes from the state store %s (the "
		                  "consistent point) or from the target's applied position "
		                  "(_sluice.positions on a PostgreSQL target), one of which was "
		                  "altered: restore it, or start over with 'sluice reset "
		                  "PIPELINE.yaml', then empty the target tables and run again",
		                  shown, src->cfg->state_url);
		goto fail;
	}
	atomic_store(&s->acked, s->start);
	s->last_commit_end = s->start;
	if ((rc = sl_pg_connect(&src->cfg->source, "source", false, &s->meta, err)) < 0)
		goto fail;
	if (once) {
		PGresult *res;
		if ((rc = sl_pg_query(s->meta, "SELECT pg_current_wal_lsn()::text", 0, NULL, &res,
		                      err)) < 0)
			goto fail;
		sl_pg_parse_lsn(PQgetvalue(res, 0, 0), &s->until);
		PQclear(res);
		if (s->until == 0)
			s->until = 1;
	}
	s->proto = src->server_version >= 140000 ? 2 : 1;
	s->binary = s->proto == 2 && !src->stream_text;
	if (s->binary && !st_all_binary(s, err)) {
		if (err->code)
			goto fail_rc;
		s->binary = false;
	}
	if ((rc = sl_pg_connect(&src->cfg->source, "source", true, &s->conn, err)) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof st_session_sql / sizeof *st_session_sql; i++)
		if ((rc = sl_pg_exec(s->conn, st_session_sql[i], err)) < 0) {
			sl_error_wrap(err, "source: setting up the replication session (%s)",
			              st_session_sql[i]);
			goto fail;
		}
	/* A previous run that was just stopped may still hold the slot for a moment: wait for it
	 * rather than fail on "replication slot is active". */
	bool busy;
	if ((rc = sl_pg_wait_slot_free(s->meta, src->slot, 30, &busy, err)) < 0)
		goto fail;
	if (busy) {
		rc = sl_error_set(err, SL_ERR_STATE,
		                  "source: replication slot \"%s\" is still in use by another "
		                  "session after 30 s; is another sluice (or another consumer) "
		                  "reading it? Stop that one first (see pg_replication_slots."
		                  "active_pid)",
		                  src->slot);
		goto fail;
	}
	sl_buf sql = {0}, pub = {0};
	sl_pg_quote_ident(&pub, src->publication);
	sl_buf_puts(&sql, "START_REPLICATION SLOT ");
	sl_pg_quote_ident(&sql, src->slot);
	char start[32]; /* the parsed value, never the stored text */
	st_format_lsn(s->start, start, sizeof start);
	sl_buf_printf(&sql, " LOGICAL %s (proto_version '%d', publication_names ", start, s->proto);
	sl_pg_quote_literal(&sql, sl_buf_cstr(&pub));
	if (s->proto >= 2)
		sl_buf_printf(&sql, ", binary '%s', messages 'true'", s->binary ? "true" : "false");
	sl_buf_putc(&sql, ')');
	PGresult *res = PQexec(s->conn, sl_buf_cstr(&sql));
	sl_buf_free(&sql);
	sl_buf_free(&pub);
	if (PQresultStatus(res) != PGRES_COPY_BOTH) {
		rc = sl_pg_result_error(s->conn, res, "source: starting replication", err);
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	s->last_status = s->last_data = st_now();
	sl_info("source: streaming changes from slot \"%s\" after %s (pgoutput v%d, %s values%s)",
	        src->slot, from, s->proto, s->binary ? "binary" : "text",
	        once ? ", until caught up" : "");
	*out = pg_stream_handle(s);
	return 0;
fail_rc:
	rc = err->code;
fail:
	sl_pg_stream_close(pg_stream_handle(s));
	return rc;
}

static bool st_caught_up(const pg_stream *s)
{
	return s->until && !s->in_txn &&
	       (s->last_commit_end >= s->until || s->keepalive_lsn >= s->until);
}

int sl_pg_stream_run(sl_stream *handle, sl_emit_fn emit, void *ctx, volatile int *stop,
                     sl_error *err)
{
	pg_stream *s = pg_stream_of(handle);
	s->emit = emit;
	s->ctx = ctx;
	s->stop = stop;
	int rc = 0;
	while (rc == 0) {
		if (*stop)
			return 0;
		if (st_caught_up(s))
			return 0;
		char *buf = NULL;
		int n = PQgetCopyData(s->conn, &buf, 1);
		if (n == 0) {
			/* nothing buffered: answer timers, then wait for the socket */
			if ((rc = st_service(s, err)) < 0)
				break;
			double now = st_now();
			if (s->until && now - s->last_data > 0.1 &&
			    now - s->last_reply_request > 0.2 &&
			    (rc = st_send_status(s, true, err)) < 0)
				break;
			st_wait(s, 100);
			if (PQconsumeInput(s->conn) == 0) {
				rc = sl_error_set(err, SL_ERR_CONNECT,
				                  "source: replication connection lost: %s",
				                  PQerrorMessage(s->conn));
				err->retryable = true;
			}
			continue;
		}
		if (n == -1) {
			PGresult *res = PQgetResult(s->conn);
			rc = sl_error_set(err, SL_ERR_CONNECT,
			                  "source: the server ended replication%s%s",
			                  res && PQresultErrorMessage(res)[0] ? ": " : "",
			                  res ? PQresultErrorMessage(res) : "");
			PQclear(res);
			err->retryable = true;
			break;
		}
		if (n < 0) {
			rc = sl_error_set(err, SL_ERR_CONNECT,
			                  "source: replication connection lost: %s",
			                  PQerrorMessage(s->conn));
			err->retryable = true;
			break;
		}
		const uint8_t *p = (const uint8_t *)buf;
		if (p[0] == 'w' && n >= 25) {
			s->last_data = st_now();
			uint64_t start = st_rd64(p + 1);
			if (start > s->received && !s->in_txn)
				s->received = start;
			rc = st_message(s, p + 25, (size_t)n - 25, err);
		} else if (p[0] == 'k' && n >= 18) {
			uint64_t wal_end = st_rd64(p + 1);
			if (!s->in_txn && wal_end > s->keepalive_lsn)
				s->keepalive_lsn = wal_end;
			if (wal_end > s->received && !s->in_txn)
				s->received = wal_end;
			if (p[17])
				rc = st_send_status(s, false, err);
		} else {
			rc = sl_error_set(err, SL_ERR_DATA,
			                  "source: unexpected replication message '%c' (%d bytes)",
			                  p[0], n);
		}
		PQfreemem(buf);
		if (rc == 0)
			rc = st_service(s, err);
	}
	return rc;
}

void sl_pg_stream_ack(sl_stream *handle, uint64_t version)
{
	pg_stream *s = pg_stream_of(handle);
	uint64_t cur = atomic_load(&s->acked);
	while (version > cur && !atomic_compare_exchange_weak(&s->acked, &cur, version))
		;
}

void sl_pg_stream_close(sl_stream *handle)
{
	pg_stream *s = pg_stream_of(handle);
	if (s == NULL)
		return;
	if (s->conn && PQstatus(s->conn) == CONNECTION_OK) {
		sl_error e = {0};
		/* libpq's own waits expect to wake at the first byte: without that, no waiting */
		bool can_wait = !s->chunked || st_lowat(s, 1);
		/* tell the server what is durable, end the stream, and wait for it to finish so
		 * the acknowledgement is processed before we disconnect */
		if (can_wait && st_send_status(s, false, &e) == 0 &&
		    PQputCopyEnd(s->conn, NULL) == 1) {
			double until = st_now() + 2.0;
			PQflush(s->conn);
			while (st_now() < until) {
				char *buf = NULL;
				int n = PQgetCopyData(s->conn, &buf, 1);
				if (buf)
					PQfreemem(buf);
				if (n == -1 || n == -2)
					break;
				if (n == 0) {
					struct pollfd pfd = {.fd = PQsocket(s->conn),
					                     .events = POLLIN};
					poll(&pfd, 1, 50);
					if (PQconsumeInput(s->conn) == 0)
						break;
				}
			}
			/* still copying (the drain ran out of time): libpq would hand out a COPY
			 * result for ever */
			PGresult *res;
			while ((res = PQgetResult(s->conn)) != NULL) {
				ExecStatusType st = PQresultStatus(res);
				PQclear(res);
				if (PQstatus(s->conn) != CONNECTION_OK || st == PGRES_COPY_OUT ||
				    st == PGRES_COPY_BOTH)
					break;
			}
		}
	}
	if (s->conn)
		PQfinish(s->conn);
	if (s->meta)
		PQfinish(s->meta);
	sl_txb_free(&s->txb);
	for (int i = 0; i < s->nrels; i++) {
		free(s->rels[i].map);
		free(s->rels[i].keycols);
		free(s->rels[i].codecs);
		free(s->rels[i].tflags);
		sl_shape_unref(s->rels[i].shape);
	}
	free(s->rels);
	for (int i = 0; i < s->ntypes; i++)
		free(s->types[i].info.format_type);
	free(s->types);
	free(s->ubits);
	sl_pg_text_buf_free(&s->tbuf);
	sl_pgo_msg_free(&s->m);
	free(s);
}

/* ---------------------------------------------------------------- log info ---- */

/* The main thread's catalog connection outlives source restarts: reconnect it when lost. */
static void st_meta_alive(pg_source *src)
{
	if (PQstatus(src->meta) != CONNECTION_OK)
		PQreset(src->meta);
}

int sl_pg_log_info(sl_source *handle, sl_log_info *out, sl_error *err)
{
	pg_source *src = pg_source_of(handle);
	st_meta_alive(src);
	memset(out, 0, sizeof *out);
	out->lag_bytes = out->retained_bytes = -1;
	const char *params[1] = {src->slot};
	PGresult *res;
	SL_TRY(sl_pg_query(
	        src->meta,
	        "SELECT CASE WHEN active THEN 'active' ELSE 'inactive' END"
	        "       || coalesce(' (' || wal_status || ')', ''),"
	        "       pg_current_wal_lsn()::text, coalesce(confirmed_flush_lsn::text, ''),"
	        "       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), "
	        "confirmed_flush_lsn)::bigint, -1),"
	        "       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), "
	        "restart_lsn)::bigint, -1)"
	        "  FROM pg_replication_slots WHERE slot_name = $1",
	        1, params, &res, err));
	if (PQntuples(res) == 0) {
		PQclear(res);
		snprintf(out->slot_state, sizeof out->slot_state, "missing");
		return 0;
	}
	snprintf(out->slot_state, sizeof out->slot_state, "%s", PQgetvalue(res, 0, 0));
	snprintf(out->current, sizeof out->current, "%s", PQgetvalue(res, 0, 1));
	sl_pg_parse_lsn(out->current, &out->current_version);
	snprintf(out->confirmed, sizeof out->confirmed, "%s", PQgetvalue(res, 0, 2));
	out->lag_bytes = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	out->retained_bytes = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	PQclear(res);
	return 0;
}

int sl_pg_watermark(pg_source *src, const char *mark, sl_error *err)
{
	PGresult *res;
	st_meta_alive(src);
	const char *params[1] = {mark};
	int rc = sl_pg_query(src->meta,
	                     "SELECT pg_logical_emit_message(false, '" ST_WATERMARK_PREFIX "', $1)",
	                     1, params, &res, err);
	if (rc == 0)
		PQclear(res);
	return rc;
}

int sl_pg_heartbeat(sl_source *handle, sl_error *err)
{
	pg_source *src = pg_source_of(handle);
	PGresult *res;
	st_meta_alive(src);
	int rc = sl_pg_query(src->meta,
	                     "SELECT pg_logical_emit_message(false, 'sluice_heartbeat', "
	                     "now()::text)",
	                     0, NULL, &res, err);
	if (rc == 0)
		PQclear(res);
	return rc;
}
