/* MySQL / MariaDB change stream: the binary log, read as a replica would, from a GTID position.
 *
 * Session: a connection announces its checksum support (@master_binlog_checksum), a heartbeat
 * period, and where to start: MariaDB takes the GTID position in @slave_connect_state and a
 * COM_BINLOG_DUMP; MySQL takes the GTID set in COM_BINLOG_DUMP_GTID. Packets are read with
 * libmariadb's mariadb_rpl_fetch (framing only); every event is decoded by formats/binlog.c.
 * Before starting, the position is compared with what the server still has (MariaDB: the GTID
 * state at the start of its oldest binlog; MySQL: gtid_purged), so a purged position is refused
 * instead of silently skipping changes.
 *
 * Transactions: a GTID event opens one; XID (or a COMMIT query) closes it; a DDL statement is a
 * transaction of its own. TABLE_MAP events give each table's columns (names, types, signedness,
 * ENUM/SET values: binlog_row_metadata=FULL), so schema changes are seen without parsing DDL:
 * when a table's columns differ from the shape last sent, a SCHEMA message goes first. Row
 * events become UPSERT (insert, update), DELETE, and DELETE + UPSERT when a key changes;
 * keyless tables get INSERT and whole-row DELETE. TRUNCATE TABLE statements become TRUNCATE.
 * The position after each transaction is the executed GTID set; its version is
 * sl_my_version of that set (a count of the transactions it holds, see there), which BEGIN
 * already carries: it grows in commit order across failovers, RESET MASTER and binlog files of
 * any size, and the same transaction read again gets the same version.
 *
 * Threads: the stream runs on the CDC reader thread; stream_ack may come from any thread. */
#include <ctype.h>
#include <inttypes.h>
#include <stddef.h>
#include <mysql.h>
#include <mariadb_rpl.h>
#include <mysqld_error.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/txbuild.h"
#include "core/mem.h"
#include "sources/mysql/my_source_int.h"

#define MS_ROWS_BYTES (8u << 20)
#define MS_MAX_RELS 4096
/* the server sends a heartbeat every 250 ms when idle (a backfill watermark waits for one when
 * nothing is written): 30 s of silence is a dead link */
#define MS_READ_TIMEOUT 30

struct ms_rel {
	uint64_t table_id;
	int table; /* catalog index, -1 = not replicated */
	sl_binlog_table tm;
	sl_my_coltype *types; /* per binlog column */
	int *map;             /* binlog column -> shape field, -1 = skipped */
	int *keycols;         /* binlog columns of the key, in key order */
	int nkey;
	int *refcols; /* binlog columns a foreign key with an ON UPDATE action references */
	int nref;
	sl_shape *shape;
};

struct my_stream {
	my_source *src;
	const sl_catalog *cat;
	MYSQL *conn;
	MARIADB_RPL *rpl;
	MARIADB_RPL_EVENT *ev;
	sl_binlog_format fmt;
	sl_gtid_set *gtid; /* executed: the position */
	uint64_t file_no;  /* the binlog file being read (its number), from ROTATE events */
	bool once;
	bool copies; /* the core copies tables again while streaming (MariaDB, not --once) */
	/* the transaction being read */
	bool in_txn, skip;
	bool saw_begin; /* inside BEGIN … COMMIT/XID (not a standalone statement) */
	uint32_t cur_domain, cur_server;
	uint64_t cur_seq;
	uint8_t cur_uuid[16];
	int64_t cur_gno;
	uint64_t txn_version; /* its version (sl_my_version with its GTID) */
	/* tables */
	struct ms_rel *rels;
	int nrels;
	sl_shape **sent; /* per catalog table: the shape last sent (SCHEMA) */
	bool *warned;
	sl_txb txb; /* the changes of the transaction being read, per table */
	/* decoding */
	sl_my_value *vals, *vals2;
	int nvals;
	uint8_t *ubits;
	sl_buf scratch;
	bool warned_zero;
	MYSQL *backfill; /* reads a table whose columns were added */
	MYSQL *fkconn;   /* reads the foreign keys after a statement that may change them */
	/* columns an ALTER TABLE renamed (RENAME COLUMN, CHANGE), for the table's next shape:
	 * its field under the new name gets renamed_from */
	struct ms_rename {
		int table;
		char *from, *to;
	} * renames;
	int nrenames;
	/* tables of the catalog the statement being read renamed (SL_MSG_RENAME after its
	 * commit); `ended`: sent, the stream stops there for a new discovery */
	sl_rename *tables_renamed;
	int ntables_renamed;
	bool ended;
	char **noted; /* tables outside the catalog already warned about */
	int nnoted;
	/* positions */
	_Atomic uint64_t acked;
	sl_emit_fn emit;
	void *ctx;
	volatile int *stop;
};

/* ---------------------------------------------------------------- helpers ---- */

static int ms_emit_cb(void *ctx, sl_msg *m, sl_error *err);

static uint32_t ms_pseudo_server_id(const char *name)
{
	/* a replica id of our own, stable per pipeline, unlikely to clash with real servers */
	uint32_t h = 2166136261u;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return 0x50000000u | (h & 0x0FFFFFFFu);
}

static void ms_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void ms_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void ms_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int sl_my_version(const sl_gtid_set *executed, const sl_gtid_set *plus, uint64_t *out,
                  sl_error *err)
{
	uint64_t n = sl_gtid_set_count(executed, plus);
	if (n > SL_MY_VERSION_MAX - SL_MY_VERSION_BASE) {
		*out = 0;
		return sl_error_set(err, SL_ERR_STATE,
		                    "source: the GTID position counts %" PRIu64
		                    " transactions, more than a change version can hold (2^62); "
		                    "run 'sluice reset' and start over",
		                    n);
	}
	*out = SL_MY_VERSION_BASE + n;
	return 0;
}

/* A GTID position cut for a message (one line keeps its fix): its first domains, then how
 * much was left out. */
static const char *ms_abbrev(const char *pos, char *buf, size_t n)
{
	size_t len = strlen(pos);
	if (len < n && len <= 120)
		return pos;
	size_t keep = 100;
	while (keep > 0 && pos[keep] != ',')
		keep--;
	snprintf(buf, n, "%.*s,... (%zu more characters)", (int)keep, pos, len - keep);
	return buf;
}

int sl_my_check_purged(my_source *s, MYSQL *c, const char *from, sl_error *err)
{
	sl_gtid_set *have = sl_gtid_set_parse(s->flavor, from, err);
	if (have == NULL)
		return sl_error_wrap(err, "source: the saved position '%s' is not a GTID position",
		                     from);
	char *oldest = NULL;
	int rc = 0;
	if (s->mariadb) {
		char *first = NULL;
		if (mysql_query(c, "SHOW BINARY LOGS") != 0) {
			rc = sl_my_server_error(c, "SHOW BINARY LOGS", err);
		} else {
			MYSQL_RES *res = mysql_store_result(c);
			MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
			if (row && row[0])
				first = sl_strdup(row[0]);
			if (res)
				mysql_free_result(res);
		}
		if (rc == 0 && first) {
			sl_buf q = {0};
			sl_buf_puts(&q, "SELECT BINLOG_GTID_POS('");
			for (const char *p = first; *p; p++) {
				if (*p == '\'' || *p == '\\')
					sl_buf_putc(&q, '\\');
				sl_buf_putc(&q, *p);
			}
			sl_buf_puts(&q, "', 4)");
			rc = sl_my_scalar(c, sl_buf_cstr(&q), &oldest, err);
			sl_buf_free(&q);
		}
		free(first);
	} else {
		rc = sl_my_scalar(c, "SELECT @@GLOBAL.gtid_purged", &oldest, err);
	}
	if (rc == 0 && oldest) {
		char a[160], b[160];
		sl_gtid_set *gone = sl_gtid_set_parse(s->flavor, oldest, err);
		if (gone == NULL)
			rc = sl_error_wrap(err, "source: cannot read the server's purged position");
		else if (!sl_gtid_set_contains(have, gone))
			rc = sl_error_set(
			        err, SL_ERR_STATE,
			        "source: the binary logs no longer hold position '%s': the "
			        "server purged them up to '%s', so changes in between are "
			        "lost (run 'sluice reset' and start over; keep binary logs "
			        "longer with binlog_expire_logs_seconds)",
			        ms_abbrev(from, a, sizeof a), ms_abbrev(oldest, b, sizeof b));
		sl_gtid_set_free(gone);
	}
	free(oldest);
	sl_gtid_set_free(have);
	return rc;
}

/* ---------------------------------------------------------------- open ---- */

int sl_my_stream_open(sl_source *handle, const sl_catalog *cat, const char *from, bool once,
                      sl_stream **out, sl_error *err)
{
	my_source *src = my_source_of(handle);
	*out = NULL;
	my_stream *s = sl_calloc(1, sizeof *s);
	s->src = src;
	s->cat = cat;
	s->once = once;
	s->copies = src->mariadb && !once;
	/* marks of an earlier session: their slices are read again (sl_backfill_session_end) */
	pthread_mutex_lock(&src->marks_mu);
	for (int i = 0; i < src->nmarks; i++)
		free(src->marks[i].mark);
	src->nmarks = 0;
	src->passed_file = src->passed_pos = 0;
	pthread_mutex_unlock(&src->marks_mu);
	sl_binlog_format_default(&s->fmt);
	int n = cat->ntables ? cat->ntables : 1;
	s->sent = sl_calloc((size_t)n, sizeof *s->sent);
	s->warned = sl_calloc((size_t)n, sizeof *s->warned);
	sl_txb_init(&s->txb, cat->ntables, MS_ROWS_BYTES, ms_emit_cb, s);
	int rc = 0;
	s->gtid = sl_gtid_set_parse(src->flavor, from, err);
	if (s->gtid == NULL) {
		rc = sl_error_wrap(err, "source: the start position '%s' is not a GTID position",
		                   from);
		goto fail;
	}
	if ((rc = sl_my_connect_timeout(src, "source binlog", MS_READ_TIMEOUT, &s->conn, err)) < 0)
		goto fail;
	if ((rc = sl_my_check_purged(src, s->conn, from, err)) < 0)
		goto fail;
	char *checksum = NULL;
	if ((rc = sl_my_scalar(s->conn, "SELECT @@GLOBAL.binlog_checksum", &checksum, err)) < 0)
		goto fail;
	sl_buf q = {0};
	/* the artificial ROTATE that opens the stream comes before the FORMAT_DESCRIPTION event
	 * and already carries the negotiated checksum */
	s->fmt.checksum = strcasecmp(checksum, "CRC32") == 0;
	sl_buf_printf(&q, "SET @master_binlog_checksum = '%s', @master_heartbeat_period = %s",
	              s->fmt.checksum ? "CRC32" : "NONE", "250000000");
	free(checksum);
	rc = sl_my_exec(s->conn, sl_buf_cstr(&q), err);
	sl_buf_free(&q);
	if (rc < 0)
		goto fail;
	uint32_t sid = src->replica_id ? src->replica_id : ms_pseudo_server_id(src->cfg->name);
	if (sid == src->server_id) {
		rc = sl_error_set(
		        err, SL_ERR_CONFIG,
		        "source.server_id %u is the source server's own server_id; choose "
		        "another",
		        sid);
		goto fail;
	}
	enum enum_server_command cmd;
	uint8_t *pkt = NULL;
	size_t plen = 0;
	if (src->mariadb) {
		sl_buf v = {0};
		sl_buf_puts(&v, "SET @mariadb_slave_capability = 4, @slave_connect_state = '");
		sl_buf_puts(&v, from); /* digits, '-' and ',' only: parsed above */
		sl_buf_puts(&v,
		            "', @slave_gtid_strict_mode = 1, @slave_gtid_ignore_duplicates = 0");
		rc = sl_my_exec(s->conn, sl_buf_cstr(&v), err);
		sl_buf_free(&v);
		if (rc < 0)
			goto fail;
		cmd = COM_BINLOG_DUMP;
		plen = 10;
		pkt = sl_calloc(1, plen);
		ms_put32(pkt, 4);
		ms_put16(pkt + 4, once ? 1 : 0); /* BINLOG_DUMP_NON_BLOCK: EOF at the end */
		ms_put32(pkt + 6, sid);
	} else {
		sl_buf set = {0};
		sl_gtid_set_encode_mysql(s->gtid, &set);
		cmd = (enum enum_server_command)0x1e; /* COM_BINLOG_DUMP_GTID */
		plen = 2 + 4 + 4 + 8 + 4 + set.len;
		pkt = sl_calloc(1, plen);
		ms_put16(pkt, (uint16_t)(0x04 | (once ? 1 : 0))); /* THROUGH_GTID | NON_BLOCK */
		ms_put32(pkt + 2, sid);
		ms_put32(pkt + 6, 0); /* no file name */
		ms_put64(pkt + 10, 4);
		ms_put32(pkt + 18, (uint32_t)set.len);
		memcpy(pkt + 22, set.data, set.len);
		sl_buf_free(&set);
	}
	s->rpl = mariadb_rpl_init(s->conn);
	if (s->rpl == NULL) {
		free(pkt);
		rc = sl_error_set(err, SL_ERR_INTERNAL, "source: mariadb_rpl_init failed");
		goto fail;
	}
	if (s->conn->methods->db_command(s->conn, cmd, (const char *)pkt, plen, 1, NULL) != 0) {
		free(pkt);
		rc = sl_my_server_error(s->conn, "starting the binlog dump", err);
		goto fail;
	}
	free(pkt);
	char pos[SL_POSITION_MAX];
	sl_gtid_set_format(s->gtid, pos, sizeof pos);
	sl_info("cdc: reading the binlog of %s:%u from GTID position '%s'%s", src->url.host,
	        src->url.port, pos[0] ? pos : "(start)", once ? " until caught up" : "");
	*out = my_stream_handle(s);
	return 0;
fail:
	sl_my_stream_close(my_stream_handle(s));
	return rc;
}

/* ---------------------------------------------------------------- emitting ---- */

static int ms_emit(my_stream *s, sl_msg *m, sl_error *err)
{
	return sl_emit_wait(s->emit, s->ctx, m, s->stop, NULL, NULL, err);
}

/* the transaction builder's way out */
static int ms_emit_cb(void *ctx, sl_msg *m, sl_error *err)
{
	return ms_emit(ctx, m, err);
}

/* The binlog has reached position `pos` of file number `file`, between transactions: hand on
 * the backfill watermarks placed at or before it (my_place_mark), each with the position
 * reached so far, and record how far the stream has gone (`entering`: into the transaction
 * that starts there). The marks are taken under the lock and emitted after it (emitting may
 * wait for the applier, which may be placing a mark). The lock is taken for every
 * transaction: a mark placed at a position the stream has passed must be seen to be. */
static int ms_marks(my_stream *s, uint64_t file, uint64_t pos, bool entering, sl_error *err)
{
	my_source *src = s->src;
	if (s->in_txn)
		return 0;
	char **due = NULL;
	int ndue = 0;
	pthread_mutex_lock(&src->marks_mu);
	if (file > src->passed_file || (file == src->passed_file && pos >= src->passed_pos)) {
		src->passed_file = file;
		src->passed_pos = entering ? pos + 1 : pos;
	}
	for (int i = 0; i < src->nmarks;) {
		const sl_my_mark *mk = &src->marks[i];
		if (file < mk->file || (file == mk->file && pos < mk->pos)) {
			i++;
			continue;
		}
		due = sl_realloc(due, (size_t)(ndue + 1) * sizeof *due);
		due[ndue++] = mk->mark;
		src->marks[i] = src->marks[--src->nmarks];
	}
	pthread_mutex_unlock(&src->marks_mu);
	int rc = 0;
	uint64_t version = 0;
	char *position = NULL;
	if (ndue) {
		rc = sl_my_version(s->gtid, NULL, &version, err);
		size_t need = sl_gtid_set_format(s->gtid, NULL, 0) + 1;
		position = sl_malloc(need);
		sl_gtid_set_format(s->gtid, position, need);
	}
	for (int i = 0; i < ndue; i++) {
		if (rc < 0) {
			free(due[i]);
			continue;
		}
		sl_msg *wm = sl_msg_new(SL_MSG_WATERMARK);
		wm->mark = due[i];
		sl_msg_set_position(wm, position);
		wm->version = version;
		rc = ms_emit(s, wm, err);
	}
	free(position);
	free(due);
	return rc;
}

/* ---------------------------------------------------------------- tables ---- */

static void ms_rel_clear(struct ms_rel *r)
{
	for (int i = 0; r->types && i < r->tm.ncols; i++)
		sl_my_coltype_reset(&r->types[i]);
	free(r->types);
	free(r->map);
	free(r->keycols);
	free(r->refcols);
	sl_shape_unref(r->shape);
	sl_binlog_table_reset(&r->tm);
	memset(r, 0, sizeof *r);
}

static struct ms_rel *ms_rel_find(my_stream *s, uint64_t id)
{
	for (int i = s->nrels - 1; i >= 0; i--)
		if (s->rels[i].table_id == id)
			return &s->rels[i];
	return NULL;
}

static int ms_catalog_index(const my_stream *s, const char *db, const char *table)
{
	for (int i = 0; i < s->cat->ntables; i++)
		if (strcmp(s->cat->tables[i].schema, db) == 0 &&
		    strcmp(s->cat->tables[i].name, table) == 0)
			return i;
	return -1;
}

/* The binlog does not say which values rows held before a column was added (the default, or
 * what a rewrite left): where the source can backfill, every column of a shape sent says so
 * (fill_missing), so that a target adding one asks for the table to be copied again. */
static void ms_values_unknown(const my_stream *s, sl_shape *shape)
{
	if (!s->copies)
		return;
	for (int i = 0; i < shape->nfields; i++)
		shape->fields[i].fill_missing = true;
}

/* Send table t's new shape: the rows built with the previous one go first. */
static int ms_send_shape(my_stream *s, int t, sl_shape *shape, sl_error *err)
{
	SL_TRY(sl_txb_flush_table(&s->txb, t, err));
	sl_shape_unref(s->sent[t]);
	s->sent[t] = sl_shape_ref(shape);
	sl_msg *sm = sl_msg_new(SL_MSG_SCHEMA);
	sm->table = t;
	sm->shape = sl_shape_ref(shape);
	return ms_emit(s, sm, err);
}

/* Has a warning about this table been given? (Records it.) */
static bool ms_noted(my_stream *s, const char *qualified)
{
	for (int i = 0; i < s->nnoted; i++)
		if (strcmp(s->noted[i], qualified) == 0)
			return true;
	s->noted = sl_realloc(s->noted, (size_t)(s->nnoted + 1) * sizeof *s->noted);
	s->noted[s->nnoted++] = sl_strdup(qualified);
	return false;
}

static int ms_named_table(my_stream *s, const sl_binlog_query *q, const char *p, const char *end);

/* The next token of a statement: an identifier (bare or `quoted`, unescaped into tok) or a
 * keyword (kind 'w'), a string ('s'), or one other character ('p'); 0 at the end. */
static char ms_token(const char **p, const char *end, char *tok, size_t n)
{
	const char *s = *p;
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++;
	size_t k = 0;
	char kind = 0;
	if (s >= end) {
		kind = 0;
	} else if (*s == '`') {
		kind = 'q';
		for (s++; s < end; s++) {
			if (*s == '`' && s + 1 < end && s[1] == '`')
				s++;
			else if (*s == '`') {
				s++;
				break;
			}
			if (k + 1 < n)
				tok[k++] = *s;
		}
	} else if (*s == '\'' || *s == '"') {
		char quote = *s;
		kind = 's';
		for (s++; s < end && *s != quote; s++)
			if (*s == '\\' && s + 1 < end)
				s++;
		s += s < end;
	} else if (isalnum((unsigned char)*s) || *s == '_' || *s == '$') {
		kind = 'w';
		while (s < end && (isalnum((unsigned char)*s) || *s == '_' || *s == '$')) {
			if (k + 1 < n)
				tok[k++] = *s;
			s++;
		}
	} else {
		kind = 'p';
		tok[k++] = *s++;
	}
	tok[k] = '\0';
	*p = s;
	return kind;
}

/* "[db.]name" at token *i (db defaults to the statement's): its qualified name (caller
 * frees), *i past it; NULL when no name is there. */
static char *ms_token_table(char (*tok)[256], const char *kind, int n, int *i,
                            const sl_binlog_query *q)
{
	int k = *i;
	if (k >= n || (kind[k] != 'w' && kind[k] != 'q'))
		return NULL;
	if (k + 2 < n && kind[k + 1] == 'p' && tok[k + 1][0] == '.' &&
	    (kind[k + 2] == 'w' || kind[k + 2] == 'q')) {
		*i = k + 3;
		return sl_qualify(tok[k], tok[k + 2]);
	}
	char db[256];
	snprintf(db, sizeof db, "%.*s", (int)q->db_len, q->db);
	*i = k + 1;
	return sl_qualify(db, tok[k]);
}

/* One step of a statement's table renames: the table now called `from` is called `to`. A
 * step that moves a table of the catalog (or one an earlier step moved) is kept for
 * SL_MSG_RENAME; `to` is taken over. */
static void ms_table_renamed(my_stream *s, const char *from, char *to)
{
	int t = -1;
	for (int k = s->ntables_renamed - 1; k >= 0 && t < 0; k--)
		if (strcmp(s->tables_renamed[k].to, from) == 0)
			t = s->tables_renamed[k].table;
	for (int k = 0; k < s->cat->ntables && t < 0; k++) {
		bool moved = false;
		for (int j = 0; j < s->ntables_renamed; j++)
			moved |= s->tables_renamed[j].table == k;
		if (!moved && strcmp(s->cat->tables[k].qualified, from) == 0)
			t = k;
	}
	if (t < 0 || strcmp(from, to) == 0) {
		free(to);
		return;
	}
	s->tables_renamed = sl_realloc(s->tables_renamed, sizeof *s->tables_renamed *
	                                                          (size_t)(s->ntables_renamed + 1));
	s->tables_renamed[s->ntables_renamed++] =
	        (sl_rename){.table = t, .to = to, .identity = sl_strdup(to)};
}

/* "RENAME TABLE[S] [IF EXISTS] a [WAIT n | NOWAIT] TO b [, c TO d ...]": its steps. */
static void ms_note_rename_table(my_stream *s, const sl_binlog_query *q, char (*tok)[256],
                                 const char *kind, int n)
{
	if (n < 4 || kind[0] != 'w' || strcasecmp(tok[0], "RENAME") != 0 || kind[1] != 'w' ||
	    (strcasecmp(tok[1], "TABLE") != 0 && strcasecmp(tok[1], "TABLES") != 0))
		return;
	int i = 2;
	if (i + 1 < n && strcasecmp(tok[i], "IF") == 0 && strcasecmp(tok[i + 1], "EXISTS") == 0)
		i += 2;
	while (i < n) {
		char *from = ms_token_table(tok, kind, n, &i, q);
		if (from == NULL)
			return;
		if (i < n && kind[i] == 'w' && strcasecmp(tok[i], "NOWAIT") == 0)
			i++;
		else if (i + 1 < n && kind[i] == 'w' && strcasecmp(tok[i], "WAIT") == 0)
			i += 2;
		char *to = NULL;
		if (i < n && kind[i] == 'w' && strcasecmp(tok[i], "TO") == 0) {
			i++;
			to = ms_token_table(tok, kind, n, &i, q);
		}
		if (to == NULL) {
			free(from);
			return;
		}
		ms_table_renamed(s, from, to);
		free(from);
		if (i < n && kind[i] == 'p' && tok[i][0] == ',')
			i++;
		else
			return;
	}
}

/* Renames: "ALTER TABLE t ... RENAME COLUMN a TO b, CHANGE [COLUMN] [IF EXISTS] c d type ...",
 * for table t's next shape (a rename of a rename keeps the first name); "ALTER TABLE t ...
 * RENAME [TO | AS] u" and "RENAME TABLE ...", for SL_MSG_RENAME after the statement. */
static void ms_note_renames(my_stream *s, const sl_binlog_query *q)
{
	enum { MAXTOK = 4096 };
	const char *p = q->sql, *end = q->sql + q->sql_len;
	char(*tok)[256] = sl_malloc(sizeof *tok * MAXTOK);
	char *kind = sl_malloc(MAXTOK);
	int n = 0;
	while (n < MAXTOK && (kind[n] = ms_token(&p, end, tok[n], sizeof tok[n])) != 0)
		n++;
	ms_note_rename_table(s, q, tok, kind, n);
	int t = -1, i = 0;
	if (n > 3 && kind[0] == 'w' && strcasecmp(tok[0], "ALTER") == 0) {
		while (i < n && !(kind[i] == 'w' && strcasecmp(tok[i], "TABLE") == 0))
			i++;
		i++;
		if (i + 1 < n && strcasecmp(tok[i], "IF") == 0 &&
		    strcasecmp(tok[i + 1], "EXISTS") == 0)
			i += 2;
		/* [db.]name, as ms_named_table reads it */
		sl_buf name = {0};
		for (; i < n && (kind[i] == 'w' || kind[i] == 'q'); i++) {
			sl_buf_putc(&name, '`');
			for (const char *c = tok[i]; *c; c++) {
				if (*c == '`')
					sl_buf_putc(&name, '`');
				sl_buf_putc(&name, *c);
			}
			sl_buf_putc(&name, '`');
			if (i + 1 < n && kind[i + 1] == 'p' && tok[i + 1][0] == '.') {
				sl_buf_putc(&name, '.');
				i++;
			} else {
				i++;
				break;
			}
		}
		sl_binlog_query nq = *q;
		t = ms_named_table(s, &nq, sl_buf_cstr(&name), sl_buf_cstr(&name) + name.len);
		sl_buf_free(&name);
	}
	int depth = 0;
	for (int c = i; t >= 0 && c < n; c++) {
		bool start = c == i || (kind[c - 1] == 'p' && tok[c - 1][0] == ',' && depth == 0);
		if (kind[c] == 'p' && tok[c][0] == '(')
			depth++;
		else if (kind[c] == 'p' && tok[c][0] == ')' && depth > 0)
			depth--;
		if (!start || kind[c] != 'w')
			continue;
		int from = -1, to = -1;
		if (strcasecmp(tok[c], "RENAME") == 0 && c + 4 < n &&
		    strcasecmp(tok[c + 1], "COLUMN") == 0 && strcasecmp(tok[c + 3], "TO") == 0) {
			from = c + 2;
			to = c + 4;
		} else if (strcasecmp(tok[c], "RENAME") == 0 && c + 1 < n &&
		           !(kind[c + 1] == 'w' && (strcasecmp(tok[c + 1], "COLUMN") == 0 ||
		                                    strcasecmp(tok[c + 1], "INDEX") == 0 ||
		                                    strcasecmp(tok[c + 1], "KEY") == 0))) {
			int j = c + 1;
			if (kind[j] == 'w' &&
			    (strcasecmp(tok[j], "TO") == 0 || strcasecmp(tok[j], "AS") == 0))
				j++;
			char *nt = ms_token_table(tok, kind, n, &j, q);
			if (nt)
				ms_table_renamed(s, s->cat->tables[t].qualified, nt);
			continue;
		} else if (strcasecmp(tok[c], "CHANGE") == 0) {
			int j = c + 1;
			if (j < n && kind[j] == 'w' && strcasecmp(tok[j], "COLUMN") == 0)
				j++;
			if (j + 1 < n && kind[j] == 'w' && strcasecmp(tok[j], "IF") == 0 &&
			    strcasecmp(tok[j + 1], "EXISTS") == 0)
				j += 2;
			if (j + 1 < n) {
				from = j;
				to = j + 1;
			}
		}
		if (from < 0 || (kind[from] != 'w' && kind[from] != 'q') ||
		    (kind[to] != 'w' && kind[to] != 'q') || strcmp(tok[from], tok[to]) == 0)
			continue;
		bool chained = false;
		for (int k = 0; k < s->nrenames; k++)
			if (s->renames[k].table == t && strcmp(s->renames[k].to, tok[from]) == 0) {
				free(s->renames[k].to);
				s->renames[k].to = sl_strdup(tok[to]);
				chained = true;
			}
		if (chained)
			continue;
		s->renames = sl_realloc(s->renames, sizeof *s->renames * (size_t)(s->nrenames + 1));
		s->renames[s->nrenames].table = t;
		s->renames[s->nrenames].from = sl_strdup(tok[from]);
		s->renames[s->nrenames++].to = sl_strdup(tok[to]);
	}
	free(tok);
	free(kind);
}

/* A new shape of table t: its fields an ALTER TABLE renamed say their old name; the renames
 * are used. */
static void ms_mark_renames(my_stream *s, int t, sl_shape *shape)
{
	int kept = 0;
	for (int k = 0; k < s->nrenames; k++) {
		struct ms_rename *r = &s->renames[k];
		if (r->table != t) {
			s->renames[kept++] = *r;
			continue;
		}
		int f = sl_shape_find(shape, r->to);
		if (f >= 0 && sl_shape_find(shape, r->from) < 0 &&
		    shape->fields[f].renamed_from == NULL)
			shape->fields[f].renamed_from = sl_strdup(r->from);
		free(r->from);
		free(r->to);
	}
	s->nrenames = kept;
}

static int ms_table_map(my_stream *s, const uint8_t *body, size_t len, sl_error *err)
{
	sl_binlog_table tm;
	SL_TRY(sl_binlog_parse_table_map(&s->fmt, body, len, &tm, err));
	struct ms_rel *r = ms_rel_find(s, tm.table_id);
	if (r && r->tm.ncols == tm.ncols && strcmp(r->tm.db, tm.db) == 0 &&
	    strcmp(r->tm.table, tm.table) == 0) {
		/* the same table id maps the same columns until a DDL, which changes the id;
		 * compare anyway (cheap) to stay correct when a server reuses ids */
		bool same = true;
		for (int i = 0; i < tm.ncols && same; i++) {
			const sl_binlog_column *a = &r->tm.cols[i], *b = &tm.cols[i];
			same = a->type == b->type && a->meta == b->meta &&
			       a->nullable == b->nullable && a->is_unsigned == b->is_unsigned &&
			       a->charset == b->charset && a->nelems == b->nelems &&
			       a->pk_pos == b->pk_pos &&
			       strcmp(a->name ? a->name : "", b->name ? b->name : "") == 0;
		}
		if (same) {
			sl_binlog_table_reset(&tm);
			return 0;
		}
	}
	if (r == NULL) {
		if (s->nrels >= MS_MAX_RELS) {
			for (int i = 0; i < s->nrels; i++)
				ms_rel_clear(&s->rels[i]);
			s->nrels = 0;
		}
		s->rels = sl_realloc(s->rels, (size_t)(s->nrels + 1) * sizeof *s->rels);
		r = &s->rels[s->nrels++];
		memset(r, 0, sizeof *r);
	} else {
		ms_rel_clear(r);
	}
	r->table_id = tm.table_id;
	r->tm = tm;
	r->table = ms_catalog_index(s, tm.db, tm.table);
	if (r->table < 0) {
		/* a table this pipeline would select, but not in its catalog: created (or renamed)
		 * after the snapshot */
		const sl_config *cfg = s->src->cfg;
		char *q = sl_qualify(tm.db, tm.table);
		bool wanted = sl_globs_select(&cfg->source.include, &cfg->source.exclude, q) &&
		              (cfg->source.include.count > 0 || s->src->url.database[0] == '\0' ||
		               strcmp(s->src->url.database, tm.db) == 0);
		bool first = wanted && !ms_noted(s, q);
		if (first && s->copies)
			sl_info("source: table %s has changes in the binlog but is not among the "
			        "pipeline's tables (created or renamed since the last discovery); "
			        "the run discovers again within a minute and copies a table it "
			        "finds",
			        q);
		else if (first)
			sl_warn("source: table %s has changes in the binlog but was not in the "
			        "snapshot "
			        "(created or renamed since); its changes are not replicated (run "
			        "'sluice reset' and start over to include it)",
			        q);
		free(q);
		return 0;
	}
	const sl_table_def *td = &s->cat->tables[r->table];
	int n = tm.ncols;
	if (!tm.has_names)
		return sl_error_set(err, SL_ERR_SETTING,
		                    "source: the binlog carries no column names for %s (set "
		                    "binlog_row_metadata = FULL on the server)",
		                    td->qualified);
	r->types = sl_calloc((size_t)(n ? n : 1), sizeof *r->types);
	r->map = sl_calloc((size_t)(n ? n : 1), sizeof *r->map);
	sl_field *fields = sl_calloc((size_t)(n ? n : 1), sizeof *fields);
	int nf = 0, rc = 0;
	bool warned = s->warned[r->table];
	for (int i = 0; i < n; i++) {
		const sl_binlog_column *bc = &tm.cols[i];
		r->map[i] = -1;
		const char *reason = NULL;
		/* a column discovery left out stays out: the binlog may show a type it refused as a
		 * plain one (MariaDB's UUID/INET4/INET6 are fixed-size strings in the row image) */
		bool was_skipped = false;
		for (int k = 0; k < td->nskipped && !was_skipped; k++)
			if (strcmp(td->skipped[k].name, bc->name) == 0) {
				was_skipped = true;
				reason = td->skipped[k].reason;
			}
		if (was_skipped || !sl_my_coltype_from_binlog(bc, &r->types[i], &reason)) {
			if (!warned)
				sl_warn("source: column %s.%s is skipped: %s", td->qualified,
				        bc->name, reason ? reason : "unsupported");
			continue;
		}
		/* what discovery knew about the column: JSON-ness (MariaDB's JSON is LONGTEXT),
		 * and the type text when nothing changed */
		const sl_field *known = NULL;
		const struct my_table *mt = td->priv;
		for (int k = 0; k < td->nfields; k++)
			if (strcmp(td->fields[k].name, bc->name) == 0) {
				known = &td->fields[k];
				if (mt && k < mt->ntypes && mt->types[k].json)
					r->types[i].json = true;
				if (mt && k < mt->ntypes && r->types[i].type == SL_MY_STRING &&
				    mt->types[k].type == SL_MY_STRING)
					r->types[i].length = mt->types[k].length;
			}
		sl_field *f = &fields[nf];
		sl_my_field(&r->types[i], bc->name, f);
		f->nullable = bc->nullable;
		if (known && sl_field_same(known, f))
			f->source_type = known->source_type ? sl_strdup(known->source_type) : NULL;
		r->map[i] = nf++;
	}
	s->warned[r->table] = true;
	/* the key (sl_shape.key_known): the primary key the binlog says the table had when these
	 * changes were made, which may not be the one discovered (changed since, or a column of
	 * it renamed); none for a table discovered without one, which the binlog may still say
	 * has one: it calls the first UNIQUE NOT NULL index of a table without a primary key its
	 * primary key (a table that gained a real one applies without until discovered again) */
	bool key_known = true;
	r->keycols = sl_calloc((size_t)n + 1, sizeof *r->keycols);
	for (int pos = 1; td->nkey > 0 && rc == 0; pos++) {
		int found = -1;
		for (int i = 0; i < n && found < 0; i++)
			if (tm.cols[i].pk_pos == pos)
				found = i;
		if (found < 0)
			break;
		if (r->map[found] < 0)
			rc = sl_error_set(
			        err, SL_ERR_DATA,
			        "source: primary key column %s.%s has a type sluice does not "
			        "replicate",
			        td->qualified, tm.cols[found].name);
		else
			fields[r->map[found]].key_pos = pos;
		r->keycols[r->nkey++] = found;
	}
	/* columns whose change the applier passes on to the rows referencing them */
	r->refcols = sl_calloc((size_t)(n ? n : 1), sizeof *r->refcols);
	for (int i = 0; i < n; i++) {
		bool ref = false;
		for (int k = 0; k < s->cat->nfks && r->map[i] >= 0; k++) {
			const sl_foreign_key *fk = &s->cat->fks[k];
			if (fk->on_update == SL_FK_NO_ACTION ||
			    strcmp(fk->parent, td->qualified) != 0)
				continue;
			for (int c = 0; c < fk->ncols; c++)
				ref |= strcmp(fk->parent_cols[c], tm.cols[i].name) == 0;
		}
		if (ref)
			r->refcols[r->nref++] = i;
	}
	if (rc == 0) {
		if (sl_shape_same(s->sent[r->table], fields, nf, key_known)) {
			r->shape = sl_shape_ref(s->sent[r->table]);
		} else {
			r->shape = sl_shape_new(fields, nf);
			r->shape->key_known = key_known;
			ms_values_unknown(s, r->shape);
			ms_mark_renames(s, r->table, r->shape);
			rc = ms_send_shape(s, r->table, r->shape, err);
		}
	}
	for (int i = 0; i < nf; i++)
		sl_field_reset(&fields[i]);
	free(fields);
	return rc;
}

/* ---------------------------------------------------------------- rows ---- */

static int ms_append(my_stream *s, struct ms_rel *r, const sl_my_value *vals, enum sl_op op,
                     sl_error *err)
{
	int t = r->table;
	sl_changes *c;
	SL_TRY(sl_txb_batch(&s->txb, t, r->shape, &c, err));
	size_t before = sl_changes_bytes(c);
	int nf = r->shape->nfields;
	int ubytes = (nf + 7) / 8;
	s->ubits = sl_realloc(s->ubits, (size_t)ubytes);
	memset(s->ubits, 0, (size_t)ubytes);
	bool any_u = false;
	for (int i = 0; i < r->tm.ncols; i++) {
		int j = r->map[i];
		if (j < 0)
			continue;
		const sl_my_value *v = &vals[i];
		if (v->kind == SL_MYV_ABSENT && op != SL_OP_DELETE && op != SL_OP_REKEY) {
			s->ubits[j >> 3] |= (uint8_t)(1 << (j & 7));
			any_u = true;
		}
		bool zero = false;
		int rc = sl_my_append(&c->rows->cols[j], &r->types[i], v, &s->scratch, &zero, err);
		if (rc < 0)
			return sl_error_wrap(err, "source: %s", s->cat->tables[t].qualified);
		if (zero && !s->warned_zero) {
			s->warned_zero = true;
			sl_warn("source: %s.%s holds zero dates ('0000-00-00'); they have no value "
			        "in "
			        "Arrow or PostgreSQL and are written as NULL",
			        s->cat->tables[t].qualified, c->shape->fields[j].name);
		}
	}
	sl_changes_end_row(c, op, any_u ? s->ubits : NULL);
	/* never flushed here: an event's rows (an update's before and after image) stay together;
	 * ms_rows hands them on after the event */
	return sl_txb_added(&s->txb, c, before, false, err);
}

/* Whether an update changed a value in columns cols[0..n). */
static bool ms_changed(const int *cols, int n, const sl_my_value *a, const sl_my_value *b)
{
	for (int k = 0; k < n; k++) {
		const sl_my_value *x = &a[cols[k]], *y = &b[cols[k]];
		if (x->kind != y->kind)
			return true;
		switch (x->kind) {
		case SL_MYV_INT:
			if (x->i != y->i)
				return true;
			break;
		case SL_MYV_UINT:
		case SL_MYV_YEAR:
		case SL_MYV_BIT:
		case SL_MYV_ENUM:
		case SL_MYV_SET:
			if (x->u != y->u)
				return true;
			break;
		case SL_MYV_BYTES:
			if (x->len != y->len || (x->len && memcmp(x->bytes, y->bytes, x->len) != 0))
				return true;
			break;
		default:
			/* compare every decoded part; a false "changed" is harmless (delete +
			 * upsert) */
			if (memcmp(x, y, sizeof *x) != 0)
				return true;
		}
	}
	return false;
}

static int ms_rows(my_stream *s, uint8_t type, const uint8_t *body, size_t len, sl_error *err)
{
	sl_binlog_rows rows;
	SL_TRY(sl_binlog_parse_rows(&s->fmt, type, body, len, &rows, err));
	struct ms_rel *r = ms_rel_find(s, rows.table_id);
	if (r == NULL)
		return sl_error_set(err, SL_ERR_DATA,
		                    "source: rows event for table id %" PRIu64
		                    " before its TABLE_MAP",
		                    rows.table_id);
	if (r->table < 0 || s->skip)
		return 0;
	const sl_table_def *td = &s->cat->tables[r->table];
	if (!s->in_txn)
		return sl_error_set(err, SL_ERR_DATA,
		                    "source: a rows event for %s outside a transaction (no GTID "
		                    "event before it)",
		                    td->qualified);
	if (rows.ncols != r->tm.ncols)
		return sl_error_set(err, SL_ERR_DATA,
		                    "source: a rows event for %s has %d columns, its TABLE_MAP %d",
		                    td->qualified, rows.ncols, r->tm.ncols);
	bool keyed = r->nkey > 0;
	if (s->nvals < r->tm.ncols) {
		s->nvals = r->tm.ncols;
		s->vals = sl_realloc(s->vals, (size_t)s->nvals * sizeof *s->vals);
		s->vals2 = sl_realloc(s->vals2, (size_t)s->nvals * sizeof *s->vals2);
	}
	const uint8_t *p = rows.rows, *end = rows.rows + rows.rows_len;
	while (p < end) {
		int n = sl_binlog_decode_row(&r->tm, rows.present, p, (size_t)(end - p), s->vals,
		                             err);
		if (n < 0)
			return n;
		p += n;
		if (rows.kind == 'U') {
			int n2 = sl_binlog_decode_row(&r->tm, rows.present_after, p,
			                              (size_t)(end - p), s->vals2, err);
			if (n2 < 0)
				return n2;
			p += n2;
			if (!keyed) {
				SL_TRY(ms_append(s, r, s->vals, SL_OP_DELETE, err));
				SL_TRY(ms_append(s, r, s->vals2, SL_OP_INSERT, err));
			} else if (ms_changed(r->keycols, r->nkey, s->vals, s->vals2) ||
			           ms_changed(r->refcols, r->nref, s->vals, s->vals2)) {
				/* the old image, for the foreign-key actions (core/fkeys.h) */
				SL_TRY(ms_append(s, r, s->vals, SL_OP_REKEY, err));
				SL_TRY(ms_append(s, r, s->vals2, SL_OP_UPSERT, err));
			} else {
				SL_TRY(ms_append(s, r, s->vals2, SL_OP_UPSERT, err));
			}
		} else if (rows.kind == 'I') {
			SL_TRY(ms_append(s, r, s->vals, keyed ? SL_OP_UPSERT : SL_OP_INSERT, err));
		} else {
			SL_TRY(ms_append(s, r, s->vals, SL_OP_DELETE, err));
		}
		if (sl_txb_full(&s->txb))
			SL_TRY(sl_txb_flush(&s->txb, err));
	}
	return 0;
}

/* ALTER TABLE ... ADD gave a table new columns, whose values in existing rows (the defaults)
 * the binlog never carries. Read the table's columns from the catalog and send the shape.
 * Where the source can backfill (MariaDB, a streaming run), the new columns go with
 * fill_missing: the target says its rows lack their values and the core copies the table
 * again (core/backfill.h). Otherwise read its rows now (its own consistent snapshot, at or
 * after this point of the binlog) and upsert every row inside the DDL's transaction; the
 * binlog events that follow replay over it and converge, as in the lock-free snapshot.
 * Keyless tables cannot be upserted that way: their old rows keep NULL (warned). */
static int ms_backfill(my_stream *s, int t, sl_error *err)
{
	const sl_table_def *td = &s->cat->tables[t];
	if (td->nkey == 0 && !s->copies) {
		sl_warn("cdc: columns were added to keyless table %s; its existing rows keep NULL "
		        "in "
		        "them on the target (rows changed from now on carry their values)",
		        td->qualified);
		return 0;
	}
	if (s->backfill == NULL)
		SL_TRY(sl_my_connect(s->src, "source (re-reading a table)", &s->backfill, err));
	MYSQL *c = s->backfill;
	sl_table_def now = {0};
	now.schema = sl_strdup(td->schema);
	now.name = sl_strdup(td->name);
	now.qualified = sl_strdup(td->qualified);
	struct my_table *mt = sl_calloc(1, sizeof *mt);
	mt->int_key = -1;
	now.priv = mt;
	now.priv_free = sl_my_table_free;
	struct ms_rel r = {.table = t};
	sl_buf sql = {0};
	MYSQL_RES *res = NULL;
	int64_t rows = 0;
	int rc = sl_my_exec(c, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", err);
	if (rc == 0)
		rc = sl_my_read_table(s->src, c, &now, err);
	if (rc < 0)
		goto out;
	/* the shape, as discovery sees it now (with copy, the target adds the columns it lacks
	 * and asks for the table to be copied again) */
	bool key_known = true; /* as ms_table_map has it: the key the table has now */
	for (int k = 0; k < now.nkey && td->nkey > 0; k++)
		now.fields[now.key[k]].key_pos = k + 1;
	r.shape = sl_shape_new(now.fields, now.nfields);
	r.shape->key_known = key_known;
	ms_values_unknown(s, r.shape);
	ms_mark_renames(s, t, r.shape);
	if (!sl_shape_same(s->sent[t], now.fields, now.nfields, key_known) &&
	    (rc = ms_send_shape(s, t, r.shape, err)) < 0)
		goto out;
	if (s->copies)
		goto out;
	sl_info("cdc: columns were added to %s; re-reading its rows so existing rows get their "
	        "values",
	        td->qualified);
	r.tm.ncols = now.nfields;
	r.map = sl_calloc((size_t)(now.nfields ? now.nfields : 1), sizeof *r.map);
	r.types = sl_calloc((size_t)(now.nfields ? now.nfields : 1), sizeof *r.types);
	for (int i = 0; i < now.nfields; i++) {
		r.map[i] = i;
		r.types[i] = mt->types[i];
		if (r.types[i].charset == SL_MY_CS_LATIN1) /* the text protocol sends utf8mb4 */
			r.types[i].charset = SL_MY_CS_UTF8;
	}
	if (s->nvals < now.nfields) {
		s->nvals = now.nfields;
		s->vals = sl_realloc(s->vals, (size_t)s->nvals * sizeof *s->vals);
		s->vals2 = sl_realloc(s->vals2, (size_t)s->nvals * sizeof *s->vals2);
	}
	sl_buf_printf(&sql, "SELECT %s FROM %s", mt->select_list, mt->from);
	if (mysql_real_query(c, sl_buf_cstr(&sql), sql.len) != 0 ||
	    (res = mysql_use_result(c)) == NULL) {
		rc = sl_my_server_error(c, td->qualified, err);
		goto out;
	}
	MYSQL_ROW row;
	while (rc == 0 && (row = mysql_fetch_row(res)) != NULL) {
		unsigned long *len = mysql_fetch_lengths(res);
		for (int k = 0; k < now.nfields && rc == 0; k++)
			rc = sl_my_parse_text(&r.types[k], row[k], len[k], &s->vals[k], err);
		if (rc == 0)
			rc = ms_append(s, &r, s->vals, SL_OP_UPSERT, err);
		sl_changes *ch = s->txb.pending[t];
		if (rc == 0 && ch && sl_changes_bytes(ch) >= MS_ROWS_BYTES)
			rc = sl_txb_flush_table(&s->txb, t, err);
		rows++;
	}
	if (rc == 0 && mysql_errno(c) != 0)
		rc = sl_my_server_error(c, td->qualified, err);
	if (rc == 0)
		sl_info("cdc: %s re-read: %" PRId64 " rows", td->qualified, rows);
out:
	if (res)
		mysql_free_result(res);
	sl_error e2;
	sl_my_exec(c, "COMMIT", &e2);
	/* the rows pending for this table were built with r.shape: hand them on before r goes */
	if (rc == 0)
		rc = sl_txb_flush_table(&s->txb, t, err);
	free(r.map);
	free(r.types); /* shallow copies of mt->types */
	sl_shape_unref(r.shape);
	sl_table_def_free(&now);
	sl_buf_free(&sql);
	return rc;
}

/* ---------------------------------------------------------------- transactions ---- */

static int ms_begin(my_stream *s, const sl_binlog_header *h, sl_error *err)
{
	s->in_txn = true;
	s->saw_begin = false;
	sl_txb_drop(&s->txb); /* nothing is pending between transactions */
	if (s->skip)
		return 0;
	sl_msg *bm = sl_msg_new(SL_MSG_BEGIN);
	bm->commit_us = (int64_t)h->timestamp * 1000000;
	bm->version = s->txn_version;
	return ms_emit(s, bm, err);
}

static int ms_commit(my_stream *s, const sl_binlog_header *h, sl_error *err)
{
	if (!s->in_txn)
		return 0;
	s->in_txn = false;
	if (s->skip) {
		/* already in the position; MariaDB would even replace the domain's seq with this
		 * lower or equal one, and positions and versions must never go back */
		sl_txb_drop(&s->txb);
		s->skip = false;
		return 0;
	}
	if (s->src->mariadb)
		sl_gtid_set_add_mariadb(s->gtid, s->cur_domain, s->cur_server, s->cur_seq);
	else
		sl_gtid_set_add_mysql(s->gtid, s->cur_uuid, s->cur_gno);
	SL_TRY(sl_txb_flush(&s->txb, err));
	uint64_t version; /* the BEGIN's: it counted the same union */
	SL_TRY(sl_my_version(s->gtid, NULL, &version, err));
	sl_msg *cm = sl_msg_new(SL_MSG_COMMIT);
	size_t need = sl_gtid_set_format(s->gtid, NULL, 0) + 1;
	cm->position = sl_malloc(need);
	sl_gtid_set_format(s->gtid, cm->position, need);
	cm->version = version;
	cm->commit_us = (int64_t)h->timestamp * 1000000;
	SL_TRY(ms_emit(s, cm, err));
	return h->next_pos ? ms_marks(s, s->file_no, h->next_pos, false, err) : 0;
}

/* The table named at p ("[db.]name", identifiers bare or in backquotes; db defaults to the
 * statement's default database): its catalog index, or -1. */
static int ms_named_table(my_stream *s, const sl_binlog_query *q, const char *p, const char *end)
{
	char part[2][256];
	int nparts = 0;
	while (p < end && nparts < 2) {
		size_t k = 0;
		if (*p == '`') {
			p++;
			while (p < end) {
				if (*p == '`' && p + 1 < end && p[1] == '`') {
					if (k + 1 < sizeof part[0])
						part[nparts][k++] = '`';
					p += 2;
				} else if (*p == '`') {
					p++;
					break;
				} else {
					if (k + 1 < sizeof part[0])
						part[nparts][k++] = *p;
					p++;
				}
			}
		} else {
			while (p < end && *p != '.' && *p != ' ' && *p != ';' && *p != '\n' &&
			       *p != '\t') {
				if (k + 1 < sizeof part[0])
					part[nparts][k++] = *p;
				p++;
			}
		}
		part[nparts++][k] = '\0';
		if (p < end && *p == '.')
			p++;
		else
			break;
	}
	if (nparts == 0)
		return -1;
	char db[256];
	if (nparts == 2)
		snprintf(db, sizeof db, "%s", part[0]);
	else
		snprintf(db, sizeof db, "%.*s", (int)q->db_len, q->db);
	return ms_catalog_index(s, db, part[nparts - 1]);
}

/* "TRUNCATE [TABLE] [db.]name" */
static int ms_truncate_target(my_stream *s, const sl_binlog_query *q)
{
	const char *p = q->sql, *end = q->sql + q->sql_len;
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\t'))
		p++;
	if (end - p < 9 || strncasecmp(p, "TRUNCATE", 8) != 0 || (p[8] != ' ' && p[8] != '\t'))
		return -1;
	p += 8;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (end - p > 6 && strncasecmp(p, "TABLE", 5) == 0 &&
	    (p[5] == ' ' || p[5] == '\t' || p[5] == '`')) {
		p += 5;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
	}
	return ms_named_table(s, q, p, end);
}

/* "ALTER [ONLINE] [IGNORE] TABLE [IF EXISTS] [db.]name ... ADD ...": the table, when it is
 * replicated and the statement adds something. */
static int ms_alter_add_target(my_stream *s, const sl_binlog_query *q)
{
	const char *p = q->sql, *end = q->sql + q->sql_len;
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\t'))
		p++;
	if (end - p < 12 || strncasecmp(p, "ALTER", 5) != 0)
		return -1;
	bool adds = false;
	for (const char *x = p + 5; x + 5 <= end; x++)
		if ((x[-1] == ' ' || x[-1] == ',' || x[-1] == '\n' || x[-1] == '\t') &&
		    strncasecmp(x, "ADD", 3) == 0 &&
		    (x[3] == ' ' || x[3] == '\n' || x[3] == '\t' || x[3] == '(' || x[3] == '`'))
			adds = true;
	if (!adds)
		return -1;
	p += 5;
	static const char *const skip[] = {"ONLINE", "IGNORE", "TABLE", "IF", "EXISTS"};
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\n' || *p == '\t'))
			p++;
		bool skipped = false;
		for (size_t k = 0; k < sizeof skip / sizeof *skip; k++) {
			size_t n = strlen(skip[k]);
			if ((size_t)(end - p) > n && strncasecmp(p, skip[k], n) == 0 &&
			    (p[n] == ' ' || p[n] == '\n' || p[n] == '\t')) {
				p += n;
				skipped = true;
			}
		}
		if (!skipped)
			break;
	}
	return ms_named_table(s, q, p, end);
}

/* Whether a statement may add, drop or change a foreign key (or drop a table holding one). */
static bool ms_may_change_fks(const sl_binlog_query *q)
{
	static const char *const words[] = {"FOREIGN", "REFERENCES", "DROP TABLE"};
	for (size_t w = 0; w < sizeof words / sizeof *words; w++) {
		size_t n = strlen(words[w]);
		for (size_t i = 0; i + n <= q->sql_len; i++)
			if (strncasecmp(q->sql + i, words[w], n) == 0)
				return true;
	}
	return false;
}

/* After such a statement: the foreign keys with actions the applier does (sl_catalog.fks)
 * must be the server's from here on. When they are not, the stream stops for a new discovery
 * (what was committed stays; the rest is read again with the keys read now, which the
 * statement read again finds equal). */
static int ms_fks_check(my_stream *s, sl_error *err)
{
	if (s->fkconn == NULL)
		SL_TRY(sl_my_connect(s->src, "source (foreign keys)", &s->fkconn, err));
	sl_catalog now = {.tables = s->cat->tables, .ntables = s->cat->ntables};
	int rc = sl_my_read_fks(s->src, s->fkconn, &now, err);
	bool same = rc == 0 && sl_catalog_same_fks(&now, s->cat);
	sl_catalog_free_fks(&now);
	SL_TRY(rc);
	if (same)
		return 0;
	rc = sl_error_set(err, SL_ERR_DATA,
	                  "source: the foreign keys of the selected tables changed on the source");
	err->rediscover = true;
	return rc;
}

/* After the statement that renamed tables of the catalog: SL_MSG_RENAME, and the stream ends
 * there (what follows names the tables by names the catalog does not know). */
static int ms_renamed(my_stream *s, sl_error *err)
{
	if (s->ntables_renamed == 0)
		return 0;
	sl_msg *m = sl_msg_new(SL_MSG_RENAME);
	m->renames = s->tables_renamed;
	m->nrenames = s->ntables_renamed;
	s->tables_renamed = NULL;
	s->ntables_renamed = 0;
	s->ended = true;
	return ms_emit(s, m, err);
}

static int ms_query(my_stream *s, const sl_binlog_header *h, const uint8_t *body, size_t len,
                    sl_error *err)
{
	sl_binlog_query q;
	SL_TRY(sl_binlog_parse_query(&s->fmt, body, len, &q, err));
	if (q.sql_len == 5 && strncasecmp(q.sql, "BEGIN", 5) == 0) {
		if (!s->in_txn) { /* no GTID event before it (should not happen with GTIDs) */
			SL_TRY(sl_my_version(s->gtid, NULL, &s->txn_version, err));
			SL_TRY(ms_begin(s, h, err));
		}
		s->saw_begin = true;
		return 0;
	}
	if (q.sql_len >= 3 && strncasecmp(q.sql, "XA ", 3) == 0 && !s->skip)
		return sl_error_set(
		        err, SL_ERR_DATA,
		        "source: the binlog holds an XA transaction ('%.*s'), which sluice "
		        "does not replicate",
		        (int)(q.sql_len > 40 ? 40 : q.sql_len), q.sql);
	if ((q.sql_len == 6 && strncasecmp(q.sql, "COMMIT", 6) == 0)) {
		return ms_commit(s, h, err);
	}
	if (q.sql_len == 8 && strncasecmp(q.sql, "ROLLBACK", 8) == 0 && s->saw_begin) {
		/* a transaction that touched only non-transactional tables and rolled back */
		sl_txb_drop(&s->txb);
		return ms_commit(s, h, err);
	}
	/* inside BEGIN ... COMMIT (SAVEPOINT, ROLLBACK TO ...): nothing to apply */
	if (s->saw_begin)
		return 0;
	/* a statement (DDL): its own transaction */
	int t = s->in_txn && !s->skip ? ms_truncate_target(s, &q) : -1;
	if (t >= 0 && s->sent[t] == NULL) {
		/* the target learns a table's shape before anything else about it */
		const sl_table_def *td = &s->cat->tables[t];
		s->sent[t] = sl_shape_new(td->fields, td->nfields);
		s->sent[t]->key_known = true; /* as discovered */
		for (int k = 0; k < td->nkey; k++)
			s->sent[t]->fields[td->key[k]].key_pos = k + 1;
		ms_values_unknown(s, s->sent[t]);
		sl_msg *sm = sl_msg_new(SL_MSG_SCHEMA);
		sm->table = t;
		sm->shape = sl_shape_ref(s->sent[t]);
		SL_TRY(ms_emit(s, sm, err));
	}
	if (t >= 0) {
		sl_txb_discard(&s->txb, t);
		sl_msg *tm = sl_msg_new(SL_MSG_TRUNCATE);
		tm->table = t;
		SL_TRY(ms_emit(s, tm, err));
	}
	if (s->in_txn && !s->skip)
		ms_note_renames(s, &q);
	t = s->in_txn && !s->skip ? ms_alter_add_target(s, &q) : -1;
	for (int k = 0; k < s->ntables_renamed && t >= 0; k++)
		if (s->tables_renamed[k].table == t)
			t = -1; /* read under its new name after the new discovery */
	if (t >= 0)
		SL_TRY(ms_backfill(s, t, err));
	if (s->in_txn && !s->skip && ms_may_change_fks(&q))
		SL_TRY(ms_fks_check(s, err));
	if (s->in_txn && !s->saw_begin) {
		SL_TRY(ms_commit(s, h, err));
		return ms_renamed(s, err);
	}
	return 0;
}

static int ms_event(my_stream *s, const uint8_t *p, size_t n, sl_error *err)
{
	sl_binlog_header h;
	const uint8_t *body;
	size_t blen;
	if (n > 4 && p[4] == SL_BINLOG_FORMAT_DESCRIPTION)
		return sl_binlog_parse_fde(p, n, &s->fmt, err);
	SL_TRY(sl_binlog_event(&s->fmt, p, n, &h, &body, &blen, err));
	switch (h.type) {
	case SL_BINLOG_ROTATE: {
		sl_binlog_rotate r;
		SL_TRY(sl_binlog_parse_rotate(body, blen, &r, err));
		uint64_t no;
		if (sl_my_binlog_file_no(r.name, r.name_len, &no))
			s->file_no = no;
		return 0;
	}
	case SL_BINLOG_HEARTBEAT: {
		/* idle: the server has sent everything up to (its file, next_pos) */
		uint64_t no;
		while (blen > 0 && body[blen - 1] == '\0')
			blen--;
		if (h.next_pos && sl_my_binlog_file_no((const char *)body, blen, &no))
			return ms_marks(s, no, h.next_pos, false, err);
		return 0;
	}
	case SL_BINLOG_MARIADB_GTID: {
		sl_binlog_mariadb_gtid g;
		SL_TRY(sl_binlog_parse_mariadb_gtid(body, blen, &g, err));
		if (s->in_txn) /* a transaction without its end: should not happen */
			sl_txb_drop(&s->txb);
		/* a transaction starts here: marks at or before its start come first */
		if (h.next_pos >= h.event_len)
			SL_TRY(ms_marks(s, s->file_no, h.next_pos - h.event_len, true, err));
		s->cur_domain = g.domain;
		s->cur_server = h.server_id;
		s->cur_seq = g.seq;
		/* already applied (contained in the start position)? */
		sl_gtid_set *x = sl_gtid_set_parse(SL_GTID_MARIADB, "", err);
		if (x == NULL)
			return err->code;
		sl_gtid_set_add_mariadb(x, g.domain, h.server_id, g.seq);
		s->skip = sl_gtid_set_contains(s->gtid, x);
		int rc = s->skip ? 0 : sl_my_version(s->gtid, x, &s->txn_version, err);
		sl_gtid_set_free(x);
		SL_TRY(rc);
		SL_TRY(ms_begin(s, &h, err));
		/* MariaDB's GTID event is the BEGIN of a transaction (no BEGIN query follows),
		 * unless the group is one standalone statement (DDL) */
		s->saw_begin = !g.standalone;
		return 0;
	}
	case SL_BINLOG_MYSQL_GTID: {
		sl_binlog_mysql_gtid g;
		SL_TRY(sl_binlog_parse_mysql_gtid(body, blen, &g, err));
		if (s->in_txn)
			sl_txb_drop(&s->txb);
		memcpy(s->cur_uuid, g.uuid, 16);
		s->cur_gno = g.gno;
		sl_gtid_set *x = sl_gtid_set_parse(SL_GTID_MYSQL, "", err);
		if (x == NULL)
			return err->code;
		sl_gtid_set_add_mysql(x, g.uuid, g.gno);
		s->skip = sl_gtid_set_contains(s->gtid, x);
		int rc = s->skip ? 0 : sl_my_version(s->gtid, x, &s->txn_version, err);
		sl_gtid_set_free(x);
		SL_TRY(rc);
		return ms_begin(s, &h, err);
	}
	case SL_BINLOG_QUERY:
		return ms_query(s, &h, body, blen, err);
	case SL_BINLOG_XID:
		return ms_commit(s, &h, err);
	case SL_BINLOG_TABLE_MAP:
		return ms_table_map(s, body, blen, err);
	case SL_BINLOG_WRITE_ROWS_V1:
	case SL_BINLOG_UPDATE_ROWS_V1:
	case SL_BINLOG_DELETE_ROWS_V1:
	case SL_BINLOG_WRITE_ROWS:
	case SL_BINLOG_UPDATE_ROWS:
	case SL_BINLOG_DELETE_ROWS:
	case SL_BINLOG_MYSQL_PARTIAL_UPDATE_ROWS:
	case SL_BINLOG_MARIADB_WRITE_ROWS_COMPRESSED:
	case SL_BINLOG_MARIADB_UPDATE_ROWS_COMPRESSED:
	case SL_BINLOG_MARIADB_DELETE_ROWS_COMPRESSED:
	case SL_BINLOG_MARIADB_WRITE_ROWS_COMPRESSED_V1:
	case SL_BINLOG_MARIADB_UPDATE_ROWS_COMPRESSED_V1:
	case SL_BINLOG_MARIADB_DELETE_ROWS_COMPRESSED_V1:
		return ms_rows(s, h.type, body, blen, err);
	case SL_BINLOG_MARIADB_QUERY_COMPRESSED:
		return sl_error_set(
		        err, SL_ERR_SETTING,
		        "source: the binlog is compressed (set log_bin_compress = OFF on "
		        "the server)");
	case SL_BINLOG_MARIADB_START_ENCRYPTION:
		return sl_error_set(err, SL_ERR_SETTING,
		                    "source: the binlog is encrypted, which a binlog reader cannot "
		                    "decode (set encrypt_binlog = OFF on the server)");
	default:
		return 0; /* heartbeats, GTID lists, checkpoints, annotations, ... */
	}
}

int sl_my_stream_run(sl_stream *handle, sl_emit_fn emit, void *ctx, volatile int *stop,
                     sl_error *err)
{
	my_stream *s = my_stream_of(handle);
	s->emit = emit;
	s->ctx = ctx;
	s->stop = stop;
	while (!*stop && !s->ended) {
		s->ev = mariadb_rpl_fetch(s->rpl, s->ev);
		if (s->ev == NULL) {
			unsigned e = mysql_errno(s->conn);
			if (e == 0 && s->once && !s->in_txn)
				return 0;
			if (e == ER_MASTER_FATAL_ERROR_READING_BINLOG) {
				int rc = sl_error_set(
				        err, SL_ERR_STATE,
				        "source: the server cannot send the binlog from our "
				        "position: %s (if binary logs were purged, run "
				        "'sluice reset' and start over)",
				        mysql_error(s->conn));
				return rc;
			}
			int rc = sl_error_set(err, SL_ERR_CONNECT,
			                      "source: binlog connection lost: %s",
			                      e ? mysql_error(s->conn) : "end of stream");
			err->retryable = true;
			return rc;
		}
		size_t off = s->ev->raw_data_ofs;
		if (s->ev->raw_data_size <= off)
			continue;
		int rc = ms_event(s, s->ev->raw_data + off, s->ev->raw_data_size - off, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void sl_my_stream_ack(sl_stream *handle, uint64_t version)
{
	my_stream *s = my_stream_of(handle);
	/* the binlog keeps nothing per reader: the acknowledgement is only recorded */
	uint64_t cur = atomic_load(&s->acked);
	while (version > cur && !atomic_compare_exchange_weak(&s->acked, &cur, version))
		;
}

void sl_my_stream_close(sl_stream *handle)
{
	my_stream *s = my_stream_of(handle);
	if (s == NULL)
		return;
	if (s->ev)
		mariadb_free_rpl_event(s->ev);
	if (s->rpl)
		mariadb_rpl_close(s->rpl); /* frees the handle, not the connection */
	if (s->conn)
		mysql_close(s->conn);
	if (s->backfill)
		mysql_close(s->backfill);
	if (s->fkconn)
		mysql_close(s->fkconn);
	for (int i = 0; i < s->nrenames; i++) {
		free(s->renames[i].from);
		free(s->renames[i].to);
	}
	free(s->renames);
	for (int i = 0; i < s->ntables_renamed; i++) {
		free(s->tables_renamed[i].to);
		free(s->tables_renamed[i].identity);
	}
	free(s->tables_renamed);
	sl_txb_free(&s->txb);
	for (int i = 0; s->sent && i < s->cat->ntables; i++)
		sl_shape_unref(s->sent[i]);
	free(s->sent);
	free(s->warned);
	for (int i = 0; i < s->nrels; i++)
		ms_rel_clear(&s->rels[i]);
	free(s->rels);
	free(s->vals);
	free(s->vals2);
	free(s->ubits);
	sl_buf_free(&s->scratch);
	sl_gtid_set_free(s->gtid);
	for (int i = 0; i < s->nnoted; i++)
		free(s->noted[i]);
	free(s->noted);
	free(s);
}

/* ---------------------------------------------------------------- log info ---- */

int sl_my_log_info(sl_source *handle, sl_log_info *out, sl_error *err)
{
	my_source *src = my_source_of(handle);
	memset(out, 0, sizeof *out);
	out->lag_bytes = -1;
	out->retained_bytes = -1;
	snprintf(out->slot_state, sizeof out->slot_state, "binlog");
	char *pos = NULL;
	SL_TRY(sl_my_current_position(src, src->meta, &pos, err));
	snprintf(out->current, sizeof out->current, "%s", pos);
	/* the version of the last transaction logged, from the whole set (current is cut) */
	sl_error e2;
	sl_gtid_set *now = sl_gtid_set_parse(src->flavor, pos, &e2);
	if (now == NULL || sl_my_version(now, NULL, &out->current_version, &e2) < 0)
		out->current_version = 0;
	sl_gtid_set_free(now);
	free(pos);
	if (mysql_query(src->meta, "SHOW BINARY LOGS") == 0) {
		MYSQL_RES *res = mysql_store_result(src->meta);
		MYSQL_ROW row;
		int64_t total = 0;
		while (res && (row = mysql_fetch_row(res)) != NULL)
			total += row[1] ? strtoll(row[1], NULL, 10) : 0;
		if (res)
			mysql_free_result(res);
		/* the server keeps its binlogs by age, not for us: nothing is "retained" on our
		 * behalf, so report the size only for status */
		out->lag_bytes = -1;
		(void)total;
	}
	return 0;
}

int sl_my_heartbeat(sl_source *handle, sl_error *err)
{
	my_source *src = my_source_of(handle);
	/* the server sends heartbeat events on an idle binlog connection (250 ms), and the binlog
	 * keeps nothing per reader: there is nothing to write */
	(void)src;
	(void)err;
	return 0;
}
