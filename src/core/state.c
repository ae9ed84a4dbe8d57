/* SQLite-backed state store. */
#include "core/state.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"

struct sl_state {
	sqlite3 *db;
	char *name;
	char *path;
	int lock_fd; /* the run lock (sl_state_lock), or -1 */
	pthread_mutex_t mu;
	pthread_mutex_t batch_mu; /* held from sl_state_batch_begin to _end: one batch at once */
};

static const char sl_state_schema[] =
        "CREATE TABLE IF NOT EXISTS sluice_pipeline ("
        "  name TEXT PRIMARY KEY, identity TEXT NOT NULL, position TEXT NOT NULL,"
        "  snapshot_done INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS sluice_table ("
        "  pipeline TEXT NOT NULL, name TEXT NOT NULL, status INTEGER NOT NULL,"
        "  rows INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL,"
        "  PRIMARY KEY (pipeline, name));"
        "CREATE TABLE IF NOT EXISTS sluice_position ("
        "  pipeline TEXT PRIMARY KEY, epoch TEXT NOT NULL, position TEXT NOT NULL,"
        "  version INTEGER NOT NULL, commit_us INTEGER NOT NULL, applied_us INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS sluice_converge ("
        "  pipeline TEXT PRIMARY KEY, version INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS sluice_target_name ("
        "  pipeline TEXT NOT NULL, source_table TEXT NOT NULL, name TEXT NOT NULL,"
        "  PRIMARY KEY (pipeline, source_table));"
        "CREATE TABLE IF NOT EXISTS sluice_rules ("
        "  pipeline TEXT NOT NULL, name TEXT NOT NULL, fingerprint TEXT NOT NULL,"
        "  PRIMARY KEY (pipeline, name));"
        "CREATE TABLE IF NOT EXISTS sluice_backfill ("
        "  pipeline TEXT NOT NULL, name TEXT NOT NULL, gen INTEGER NOT NULL,"
        "  after TEXT, rows INTEGER NOT NULL DEFAULT 0, status INTEGER NOT NULL,"
        "  reason TEXT, requested_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
        "  PRIMARY KEY (pipeline, name));"
        "CREATE TABLE IF NOT EXISTS sluice_source_table ("
        "  pipeline TEXT NOT NULL, name TEXT NOT NULL, identity TEXT,"
        "  gone_at INTEGER NOT NULL DEFAULT 0, gone TEXT, columns TEXT,"
        "  PRIMARY KEY (pipeline, name));";

/* The tables whose rows are named after a source table, renamed with it (sl_state_rename). */
static const char *const sl_state_per_table[][2] = {
        {"sluice_table", "name"},
        {"sluice_source_table", "name"},
        {"sluice_target_name", "source_table"},
        {"sluice_rules", "name"},
        {"sluice_backfill", "name"},
};

static int sl_state_fail(sl_state *st, sl_error *err, const char *what)
{
	return sl_error_set(err, SL_ERR_IO, "state store %s: %s failed: %s", st->path, what,
	                    sqlite3_errmsg(st->db));
}

/* A stored position into a fixed buffer: whole, or an error (a cut one would mean another). */
static int sl_state_copy_position(sl_state *st, char *dst, size_t n, const char *v, sl_error *err)
{
	size_t len = strlen(v);
	if (len >= n)
		return sl_error_set(
		        err, SL_ERR_STATE,
		        "state store %s: the stored position of pipeline %s is %zu bytes, "
		        "longer than sluice reads (%zu)",
		        st->path, st->name, len, n - 1);
	memcpy(dst, v, len + 1);
	return 0;
}

int sl_state_open(const char *url, const char *name, sl_state **out, sl_error *err)
{
	const char *path = url;
	if (strncmp(url, "sqlite://", 9) == 0)
		path = url + 9;
	else if (strstr(url, "://") != NULL)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "state.url '%s' is not supported (use sqlite://PATH)", url);
	if (*path == '\0')
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "state.url has no path (use sqlite://PATH)");
	sl_state *st = sl_calloc(1, sizeof *st);
	st->name = sl_strdup(name);
	st->path = sl_strdup(path);
	st->lock_fd = -1;
	pthread_mutex_init(&st->mu, NULL);
	pthread_mutex_init(&st->batch_mu, NULL);
	if (sqlite3_open_v2(path, &st->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	                    NULL) != SQLITE_OK) {
		sl_error_set(err, SL_ERR_IO,
		             "cannot open state store %s: %s (check state.url and permissions)",
		             path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
		sl_state_close(st);
		return SL_ERR_IO;
	}
	sqlite3_busy_timeout(st->db, 10000);
	char *emsg = NULL;
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
	                 &emsg) != SQLITE_OK ||
	    sqlite3_exec(st->db, sl_state_schema, NULL, NULL, &emsg) != SQLITE_OK) {
		sl_error_set(err, SL_ERR_IO, "cannot initialise state store %s: %s", path,
		             emsg ? emsg : "?");
		sqlite3_free(emsg);
		sl_state_close(st);
		return SL_ERR_IO;
	}
	*out = st;
	return 0;
}

void sl_state_close(sl_state *st)
{
	if (st == NULL)
		return;
	sqlite3_close(st->db);
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* releases the lock */
	pthread_mutex_destroy(&st->mu);
	pthread_mutex_destroy(&st->batch_mu);
	free(st->name);
	free(st->path);
	free(st);
}

int sl_state_lock(sl_state *st, sl_error *err)
{
	if (st->lock_fd >= 0)
		return 0;
	char path[4200];
	snprintf(path, sizeof path, "%s.%s.lock", st->path, st->name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return sl_error_set(err, SL_ERR_IO,
		                    "cannot open the run lock %s: %s (it lives next to the state "
		                    "store; check state.url and permissions)",
		                    path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		char holder[256] = "";
		ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
		holder[n > 0 ? n : 0] = '\0';
		holder[strcspn(holder, "\n")] = '\0';
		close(fd);
		if (e == EWOULDBLOCK)
			return sl_error_set(
			        err, SL_ERR_STATE,
			        "pipeline %s is already running (%s; lock %s): one "
			        "pipeline, one agent; stop the other one first (SIGTERM "
			        "lets it finish cleanly)",
			        st->name, holder[0] ? holder : "holder unknown", path);
		return sl_error_set(err, SL_ERR_IO, "cannot take the run lock %s: %s", path,
		                    strerror(e));
	}
	/* who holds it, for the message a second agent prints */
	char host[128] = "?", line[400];
	gethostname(host, sizeof host - 1);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	int n = snprintf(line, sizeof line, "pid %ld on %s, since %04d-%02d-%02dT%02d:%02d:%02dZ\n",
	                 (long)getpid(), host, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	                 tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n)
		sl_warn("state: could not note this process in the run lock %s: %s", path,
		        strerror(errno));
	st->lock_fd = fd;
	return 0;
}

/* Run one statement with text/int parameters given as a format: 't' text, 'i' int64. */
static int sl_state_exec(sl_state *st, const char *sql, const char *types, const void **args,
                         sl_error *err)
{
	sqlite3_stmt *stmt = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return sl_state_fail(st, err, "prepare");
	for (int i = 0; types[i]; i++) {
		if (types[i] == 't')
			sqlite3_bind_text(stmt, i + 1, (const char *)args[i], -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(stmt, i + 1, *(const int64_t *)args[i]);
	}
	int s = sqlite3_step(stmt);
	if (s != SQLITE_DONE && s != SQLITE_ROW)
		rc = sl_state_fail(st, err, "write");
	sqlite3_finalize(stmt);
	return rc;
}

/* End a transaction begun with BEGIN IMMEDIATE: COMMIT when rc is 0, else ROLLBACK. */
static int sl_state_txn_end(sl_state *st, int rc, sl_error *err)
{
	if (rc == 0)
		rc = sl_state_exec(st, "COMMIT", "", NULL, err);
	if (rc < 0 && !sqlite3_get_autocommit(st->db))
		sl_state_exec(st, "ROLLBACK", "", NULL, NULL);
	return rc;
}

/* sl_state_exec under the store's mutex: one write on its own. */
static int sl_state_write(sl_state *st, const char *sql, const char *types, const void **args,
                          sl_error *err)
{
	pthread_mutex_lock(&st->mu);
	int rc = sl_state_exec(st, sql, types, args, err);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int sl_state_batch_begin(sl_state *st, sl_error *err)
{
	pthread_mutex_lock(&st->batch_mu);
	int rc = sl_state_write(st, "BEGIN IMMEDIATE", "", NULL, err);
	if (rc < 0)
		pthread_mutex_unlock(&st->batch_mu);
	return rc;
}

int sl_state_batch_end(sl_state *st, int rc, sl_error *err)
{
	sl_error e = {0};
	int crc = rc == 0 ? sl_state_write(st, "COMMIT", "", NULL, &e) : -1;
	if (crc < 0) {
		pthread_mutex_lock(&st->mu);
		if (!sqlite3_get_autocommit(st->db))
			sl_state_exec(st, "ROLLBACK", "", NULL, NULL);
		pthread_mutex_unlock(&st->mu);
		if (rc == 0) {
			*err = e;
			rc = crc;
		}
	}
	pthread_mutex_unlock(&st->batch_mu);
	return rc;
}

/* Run a one-row query whose parameters are the pipeline name and, when `key` is not NULL, key.
 * Returns 1 with *stmt on the row (the caller reads it, then finalizes), 0 when there is none,
 * or < 0. The caller holds st->mu. */
static int sl_state_row(sl_state *st, const char *sql, const char *key, sqlite3_stmt **stmt,
                        sl_error *err)
{
	*stmt = NULL;
	if (sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL) != SQLITE_OK)
		return sl_state_fail(st, err, "read");
	sqlite3_bind_text(*stmt, 1, st->name, -1, SQLITE_TRANSIENT);
	if (key)
		sqlite3_bind_text(*stmt, 2, key, -1, SQLITE_TRANSIENT);
	int s = sqlite3_step(*stmt);
	if (s == SQLITE_ROW)
		return 1;
	if (s == SQLITE_DONE)
		return 0;
	return sl_state_fail(st, err, "read");
}

int sl_state_load(sl_state *st, sl_pipeline_state *out, sl_error *err)
{
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&st->mu);
	sqlite3_stmt *stmt;
	int rc = sl_state_row(st,
	                      "SELECT identity, position, snapshot_done, created_at FROM "
	                      "sluice_pipeline WHERE name = ?",
	                      NULL, &stmt, err);
	if (rc == 1) {
		out->found = true;
		snprintf(out->identity, sizeof out->identity, "%s",
		         (const char *)sqlite3_column_text(stmt, 0));
		rc = sl_state_copy_position(st, out->position, sizeof out->position,
		                            (const char *)sqlite3_column_text(stmt, 1), err);
		out->snapshot_done = sqlite3_column_int(stmt, 2) != 0;
		out->created_at = sqlite3_column_int64(stmt, 3);
	}
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&st->mu);
	return rc < 0 ? rc : 0;
}

int sl_state_begin_snapshot(sl_state *st, const char *identity, const char *position, sl_error *err)
{
	int64_t now = (int64_t)time(NULL);
	pthread_mutex_lock(&st->mu);
	int rc = sl_state_exec(st, "BEGIN IMMEDIATE", "", NULL, err);
	if (rc == 0) {
		/* a table this pipeline touched before must be reloaded from the new point;
		 * untouched ones stay pending, so sluice still refuses to overwrite a table it
		 * never wrote */
		const void *a1[] = {st->name};
		rc = sl_state_exec(
		        st, "UPDATE sluice_table SET status = 1 WHERE pipeline = ? AND status <> 0",
		        "t", a1, err);
	}
	if (rc == 0) {
		const void *a2[] = {st->name, identity, position, &now};
		rc = sl_state_exec(st,
		                   "INSERT OR REPLACE INTO sluice_pipeline (name, identity, "
		                   "position, snapshot_done, created_at)"
		                   " VALUES (?, ?, ?, 0, ?)",
		                   "ttti", a2, err);
	}
	sl_state_exec(st, rc == 0 ? "COMMIT" : "ROLLBACK", "", NULL, rc == 0 ? err : NULL);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int sl_state_finish_snapshot(sl_state *st, sl_error *err)
{
	pthread_mutex_lock(&st->mu);
	const void *a[] = {st->name};
	int rc = sl_state_exec(st, "UPDATE sluice_pipeline SET snapshot_done = 1 WHERE name = ?",
	                       "t", a, err);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int sl_state_reset(sl_state *st, sl_error *err)
{
	pthread_mutex_lock(&st->mu);
	const void *a[] = {st->name};
	/* one transaction: a failure part way must not leave a pipeline row whose tables are
	 * forgotten (the next run would resume a snapshot it no longer knows) */
	int rc = sl_state_exec(st, "BEGIN IMMEDIATE", "", NULL, err);
	if (rc == 0)
		rc = sl_state_exec(st, "DELETE FROM sluice_table WHERE pipeline = ?", "t", a, err);
	if (rc == 0)
		rc = sl_state_exec(st, "DELETE FROM sluice_position WHERE pipeline = ?", "t", a,
		                   err);
	if (rc == 0)
		rc = sl_state_exec(st, "DELETE FROM sluice_converge WHERE pipeline = ?", "t", a,
		                   err);
	if (rc == 0)
		rc = sl_state_exec(st, "DELETE FROM sluice_target_name WHERE pipeline = ?", "t", a,
		                   err);
	if (rc == 0)
		rc = sl_state_exec(st, "DELETE FROM sluice_backfill WHERE pipeline = ?", "t", a,
		                   err);
	if (rc == 0)
		rc = sl_state_exec(st, "DELETE FROM sluice_rules WHERE pipeline = ?", "t", a, err);
	if (rc == 0)
		rc = sl_state_exec(st, "DELETE FROM sluice_source_table WHERE pipeline = ?", "t", a,
		                   err);
	if (rc == 0)
		rc = sl_state_exec(st, "DELETE FROM sluice_pipeline WHERE name = ?", "t", a, err);
	rc = sl_state_txn_end(st, rc, err);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int sl_state_table_get(sl_state *st, const char *table, sl_table_status *status, int64_t *rows,
                       sl_error *err)
{
	*status = SL_TABLE_PENDING;
	if (rows)
		*rows = 0;
	pthread_mutex_lock(&st->mu);
	sqlite3_stmt *stmt;
	int rc = sl_state_row(
	        st, "SELECT status, rows FROM sluice_table WHERE pipeline = ? AND name = ?", table,
	        &stmt, err);
	if (rc == 1) {
		*status = (sl_table_status)sqlite3_column_int(stmt, 0);
		if (rows)
			*rows = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&st->mu);
	return rc < 0 ? rc : 0;
}

int sl_state_table_set(sl_state *st, const char *table, sl_table_status status, int64_t rows,
                       sl_error *err)
{
	int64_t now = (int64_t)time(NULL), s = status;
	pthread_mutex_lock(&st->mu);
	const void *a[] = {st->name, table, &s, &rows, &now};
	int rc = sl_state_exec(
	        st,
	        "INSERT OR REPLACE INTO sluice_table (pipeline, name, status, rows, updated_at)"
	        " VALUES (?, ?, ?, ?, ?)",
	        "ttiii", a, err);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int sl_state_tables(sl_state *st, sl_state_table **out, int *n, sl_error *err)
{
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&st->mu);
	sqlite3_stmt *stmt;
	int rc = sl_state_row(st,
	                      "SELECT t.name, t.status, t.rows, s.identity, coalesce(s.gone_at, 0),"
	                      "       s.gone"
	                      "  FROM sluice_table t LEFT JOIN sluice_source_table s"
	                      "    ON s.pipeline = t.pipeline AND s.name = t.name"
	                      " WHERE t.pipeline = ? ORDER BY t.name",
	                      NULL, &stmt, err);
	while (rc == 1) {
		*out = sl_realloc(*out, sizeof **out * (size_t)(*n + 1));
		sl_state_table *t = &(*out)[(*n)++];
		memset(t, 0, sizeof *t);
		t->name = sl_strdup((const char *)sqlite3_column_text(stmt, 0));
		t->status = (sl_table_status)sqlite3_column_int(stmt, 1);
		t->rows = sqlite3_column_int64(stmt, 2);
		if (sqlite3_column_type(stmt, 3) != SQLITE_NULL)
			t->identity = sl_strdup((const char *)sqlite3_column_text(stmt, 3));
		t->gone_at = sqlite3_column_int64(stmt, 4);
		if (sqlite3_column_type(stmt, 5) != SQLITE_NULL)
			snprintf(t->gone, sizeof t->gone, "%s",
			         (const char *)sqlite3_column_text(stmt, 5));
		int s = sqlite3_step(stmt);
		rc = s == SQLITE_ROW ? 1 : s == SQLITE_DONE ? 0 : sl_state_fail(st, err, "read");
	}
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&st->mu);
	if (rc < 0) {
		sl_state_tables_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc < 0 ? rc : 0;
}

void sl_state_tables_free(sl_state_table *t, int n)
{
	for (int i = 0; i < n; i++) {
		free(t[i].name);
		free(t[i].identity);
	}
	free(t);
}

int sl_state_remember(sl_state *st, const char *const *names, const char *const *identities,
                      const char *const *columns, int n, sl_error *err)
{
	pthread_mutex_lock(&st->mu);
	int rc = sl_state_exec(st, "BEGIN IMMEDIATE", "", NULL, err);
	for (int i = 0; i < n && rc == 0; i++) {
		const void *a[] = {st->name, names[i], identities[i], columns[i]};
		rc = sl_state_exec(st,
		                   "INSERT INTO sluice_source_table (pipeline, name, identity, "
		                   "columns) VALUES (?, ?, ?, ?) ON CONFLICT (pipeline, name) DO "
		                   "UPDATE SET identity = coalesce(excluded.identity, identity),"
		                   " columns = coalesce(columns, excluded.columns)",
		                   "tttt", a, err);
	}
	rc = sl_state_txn_end(st, rc, err);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int sl_state_columns_set(sl_state *st, const char *table, const char *columns, sl_error *err)
{
	const void *a[] = {st->name, table, columns};
	return sl_state_write(st,
	                      "INSERT INTO sluice_source_table (pipeline, name, columns) "
	                      "VALUES (?, ?, ?) ON CONFLICT (pipeline, name) DO UPDATE "
	                      "SET columns = excluded.columns",
	                      "ttt", a, err);
}

int sl_state_columns_get(sl_state *st, const char *table, char **columns, sl_error *err)
{
	*columns = NULL;
	pthread_mutex_lock(&st->mu);
	sqlite3_stmt *stmt;
	int rc = sl_state_row(st,
	                      "SELECT columns FROM sluice_source_table WHERE pipeline = ? AND "
	                      "name = ?",
	                      table, &stmt, err);
	if (rc == 1 && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
		*columns = sl_strdup((const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&st->mu);
	return rc < 0 ? rc : 0;
}

int sl_state_gone_set(sl_state *st, const char *table, const char *why, sl_error *err)
{
	int64_t now = why ? (int64_t)time(NULL) : 0;
	const void *a[] = {st->name, table, &now, why};
	return sl_state_write(st,
	                      "INSERT INTO sluice_source_table (pipeline, name, gone_at, gone) "
	                      "VALUES (?, ?, ?, ?) ON CONFLICT (pipeline, name) DO UPDATE "
	                      "SET gone_at = excluded.gone_at, gone = excluded.gone",
	                      "ttit", a, err);
}

int sl_state_rename(sl_state *st, const char *from, const char *to, sl_error *err)
{
	pthread_mutex_lock(&st->mu);
	const void *a[] = {to, st->name, from};
	const void *d[] = {st->name, from};
	int rc = sl_state_exec(st, "BEGIN IMMEDIATE", "", NULL, err);
	char sql[256];
	size_t n = sizeof sl_state_per_table / sizeof *sl_state_per_table;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *tab = sl_state_per_table[i][0], *col = sl_state_per_table[i][1];
		/* a row already kept under the new name (written by the target) wins */
		snprintf(sql, sizeof sql,
		         "UPDATE OR IGNORE %s SET %s = ? WHERE pipeline = ? AND %s = ?", tab, col,
		         col);
		rc = sl_state_exec(st, sql, "ttt", a, err);
		if (rc == 0) {
			snprintf(sql, sizeof sql, "DELETE FROM %s WHERE pipeline = ? AND %s = ?",
			         tab, col);
			rc = sl_state_exec(st, sql, "tt", d, err);
		}
	}
	rc = sl_state_txn_end(st, rc, err);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

const char *sl_table_status_name(sl_table_status s)
{
	switch (s) {
	case SL_TABLE_PENDING:
		return "pending";
	case SL_TABLE_LOADING:
		return "loading";
	case SL_TABLE_DONE:
		return "done";
	}
	return "?";
}

int sl_state_target_name_set(sl_state *st, const char *table, const char *name, sl_error *err)
{
	const void *a[] = {st->name, table, name};
	return sl_state_write(st,
	                      "INSERT INTO sluice_target_name (pipeline, source_table, name) "
	                      "VALUES (?, ?, ?) ON CONFLICT (pipeline, source_table) DO UPDATE "
	                      "SET name = excluded.name",
	                      "ttt", a, err);
}

int sl_state_target_name_get(sl_state *st, const char *table, char *buf, size_t n, bool *found,
                             sl_error *err)
{
	pthread_mutex_lock(&st->mu);
	sqlite3_stmt *stmt;
	int rc = sl_state_row(st,
	                      "SELECT name FROM sluice_target_name WHERE pipeline = ? AND "
	                      "source_table = ?",
	                      table, &stmt, err);
	*found = rc == 1;
	if (rc == 1)
		snprintf(buf, n, "%s", (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&st->mu);
	return rc < 0 ? rc : 0;
}

int sl_state_converge_set(sl_state *st, uint64_t version, sl_error *err)
{
	int64_t v = (int64_t)version;
	const void *a[] = {st->name, &v};
	return sl_state_write(st,
	                      "INSERT INTO sluice_converge (pipeline, version) VALUES (?, ?) "
	                      "ON CONFLICT (pipeline) DO UPDATE SET version = excluded.version",
	                      "ti", a, err);
}

int sl_state_converge_get(sl_state *st, uint64_t *version, sl_error *err)
{
	pthread_mutex_lock(&st->mu);
	sqlite3_stmt *stmt;
	int rc = sl_state_row(st, "SELECT version FROM sluice_converge WHERE pipeline = ?", NULL,
	                      &stmt, err);
	*version = rc == 1 ? (uint64_t)sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&st->mu);
	return rc < 0 ? rc : 0;
}

int sl_state_position_get(sl_state *st, const char *epoch, sl_state_position *out, sl_error *err)
{
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&st->mu);
	sqlite3_stmt *stmt;
	int rc = sl_state_row(st,
	                      "SELECT epoch, position, version, commit_us, applied_us FROM "
	                      "sluice_position WHERE pipeline = ?",
	                      NULL, &stmt, err);
	if (rc == 1 && strcmp((const char *)sqlite3_column_text(stmt, 0), epoch) == 0) {
		out->found = true;
		rc = sl_state_copy_position(st, out->position, sizeof out->position,
		                            (const char *)sqlite3_column_text(stmt, 1), err);
		out->version = (uint64_t)sqlite3_column_int64(stmt, 2);
		out->commit_us = sqlite3_column_int64(stmt, 3);
		out->applied_us = sqlite3_column_int64(stmt, 4);
	}
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&st->mu);
	return rc < 0 ? rc : 0;
}

int sl_state_position_set(sl_state *st, const char *epoch, const sl_state_position *p,
                          sl_error *err)
{
	pthread_mutex_lock(&st->mu);
	int64_t version = (int64_t)p->version;
	const void *a[] = {st->name, epoch, p->position, &version, &p->commit_us, &p->applied_us};
	int rc = sl_state_exec(st,
	                       "INSERT INTO sluice_position (pipeline, epoch, position, version,"
	                       " commit_us, applied_us) VALUES (?, ?, ?, ?, ?, ?)"
	                       " ON CONFLICT (pipeline) DO UPDATE SET epoch = excluded.epoch,"
	                       " position = excluded.position, version = excluded.version,"
	                       " commit_us = excluded.commit_us, applied_us = excluded.applied_us",
	                       "tttiii", a, err);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int sl_state_backfill_request(sl_state *st, const char *table, sl_error *err)
{
	int64_t now = (int64_t)time(NULL);
	const void *a[] = {st->name, table, &now, &now};
	pthread_mutex_lock(&st->mu);
	/* a new generation: a backfill of the table under way starts over */
	int rc = sl_state_exec(
	        st,
	        "INSERT INTO sluice_backfill (pipeline, name, gen, after, rows, status, reason,"
	        " requested_at, updated_at) VALUES (?, ?, 1, NULL, 0, 0, NULL, ?, ?)"
	        " ON CONFLICT (pipeline, name) DO UPDATE SET gen = gen + 1, after = NULL,"
	        " rows = 0, status = 0, reason = NULL, requested_at = excluded.requested_at,"
	        " updated_at = excluded.updated_at",
	        "ttii", a, err);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

static void sl_state_backfill_read(sqlite3_stmt *stmt, sl_backfill_row *out)
{
	const char *after = (const char *)sqlite3_column_text(stmt, 2);
	const char *reason = (const char *)sqlite3_column_text(stmt, 5);
	out->name = sl_strdup((const char *)sqlite3_column_text(stmt, 0));
	out->gen = sqlite3_column_int64(stmt, 1);
	out->after = after ? sl_strdup(after) : NULL;
	out->rows = sqlite3_column_int64(stmt, 3);
	out->status = (sl_backfill_status)sqlite3_column_int(stmt, 4);
	snprintf(out->reason, sizeof out->reason, "%s", reason ? reason : "");
	out->requested_at = sqlite3_column_int64(stmt, 6);
	out->updated_at = sqlite3_column_int64(stmt, 7);
}

#define SL_BACKFILL_COLUMNS "name, gen, after, rows, status, reason, requested_at, updated_at"

int sl_state_backfill_list(sl_state *st, sl_backfill_row **out, int *n, sl_error *err)
{
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&st->mu);
	sqlite3_stmt *stmt;
	int rc = sl_state_row(st,
	                      "SELECT " SL_BACKFILL_COLUMNS " FROM sluice_backfill WHERE "
	                      "pipeline = ? ORDER BY status, requested_at, name",
	                      NULL, &stmt, err);
	while (rc == 1) {
		*out = sl_realloc(*out, sizeof **out * (size_t)(*n + 1));
		sl_state_backfill_read(stmt, &(*out)[(*n)++]);
		int s = sqlite3_step(stmt);
		rc = s == SQLITE_ROW ? 1 : s == SQLITE_DONE ? 0 : sl_state_fail(st, err, "read");
	}
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&st->mu);
	if (rc < 0) {
		sl_backfill_rows_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc < 0 ? rc : 0;
}

int sl_state_backfill_progress(sl_state *st, const sl_backfill_row *b, sl_error *err)
{
	int64_t now = (int64_t)time(NULL), status = b->status;
	const void *a[] = {b->after, &b->rows, &status, b->reason[0] ? b->reason : NULL,
	                   &now,     st->name, b->name, &b->gen};
	/* only the generation that was copied: a new request starts over */
	return sl_state_write(st,
	                      "UPDATE sluice_backfill SET after = ?, rows = ?, status = ?, "
	                      "reason = ?, updated_at = ? WHERE pipeline = ? AND name = ? AND "
	                      "gen = ?",
	                      "tiititti", a, err);
}

void sl_backfill_rows_free(sl_backfill_row *rows, int n)
{
	for (int i = 0; i < n; i++) {
		free(rows[i].name);
		free(rows[i].after);
	}
	free(rows);
}

const char *sl_backfill_status_name(sl_backfill_status s)
{
	switch (s) {
	case SL_BACKFILL_COPYING:
		return "copying";
	case SL_BACKFILL_DONE:
		return "done";
	case SL_BACKFILL_FAILED:
		return "failed";
	}
	return "?";
}

int sl_state_rules_set(sl_state *st, const char *table, const char *fingerprint, sl_error *err)
{
	const void *a[] = {st->name, table, fingerprint};
	return sl_state_write(st,
	                      "INSERT INTO sluice_rules (pipeline, name, fingerprint) VALUES "
	                      "(?, ?, ?) ON CONFLICT (pipeline, name) DO UPDATE SET fingerprint = "
	                      "excluded.fingerprint",
	                      "ttt", a, err);
}

int sl_state_rules_get(sl_state *st, const char *table, char **fingerprint, sl_error *err)
{
	*fingerprint = NULL;
	pthread_mutex_lock(&st->mu);
	sqlite3_stmt *stmt;
	int rc = sl_state_row(
	        st, "SELECT fingerprint FROM sluice_rules WHERE pipeline = ? AND name = ?", table,
	        &stmt, err);
	if (rc == 1)
		*fingerprint = sl_strdup((const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&st->mu);
	return rc < 0 ? rc : 0;
}
