/* PostgreSQL client helpers shared by the PostgreSQL source, target and verify: connecting with
 * errors a user can act on, running statements, streaming binary COPY in and out, quoting.
 * Every message is passed through secret redaction; passwords never reach an error. */
#ifndef SL_PGCLIENT_H
#define SL_PGCLIENT_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "core/change.h"
#include "core/config.h"
#include "core/batch.h"
#include "core/buf.h"
#include "core/error.h"
#include "formats/pgbinary.h"
#include "formats/pgsql.h"

/* Connect to ep->url (postgres:// or postgresql://) with ep->password and ep->tls (mode onto
 * sslmode, ca_file onto sslrootcert, or the system's CAs for a verify mode without one,
 * cert_file/key_file onto sslcert/sslkey; a tls: block overrides the URL's ssl parameters,
 * which apply when it is absent). `label` ("source"/"target") names the side in messages, in
 * the settings they name, and in the application_name. With `replication`, opens a logical
 * replication connection (replication=database). The session gets DateStyle ISO, IntervalStyle
 * iso_8601, extra_float_digits 3, TimeZone UTC and search_path pg_catalog, so text forms are stable
 * and every non-catalog name comes back schema-qualified, and standard_conforming_strings on
 * whatever the server, database or role says, so a backslash in a literal sluice writes
 * (sl_pg_quote_literal doubles quotes only) is an ordinary character, never an escape. */
int sl_pg_connect(const sl_endpoint_config *ep, const char *label, bool replication, PGconn **out,
                  sl_error *err);

/* How a connection is protected, for `sluice check`: "TLSv1.3, certificate and host name
 * verified", "TLSv1.3, certificate not verified (...)", "no TLS (to this machine)", or a
 * warning naming LABEL.tls.mode when it is unencrypted and goes over the network. */
void sl_pg_tls_describe(PGconn *conn, const char *label, char *buf, size_t n);

/* Ask the server to cancel what `cancel` (from PQgetCancel) is running; thread-safe, ignores
 * failures (the statement may have ended already). NULL is a no-op. */
void sl_pg_cancel(PGcancel *cancel);

/* host:port/dbname of a connection, for messages (no user, no password). */
const char *sl_pg_where(PGconn *conn, char *buf, size_t n);

/* Run a statement that returns no rows. */
int sl_pg_exec(PGconn *conn, const char *sql, sl_error *err);
/* Run a query with text parameters; on success *res is the result (caller PQclear()s it). */
int sl_pg_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
                PGresult **res, sl_error *err);
/* The same through the statement `name` prepared on conn, the first time (*prepared false).
 * PostgreSQL plans it generically after a few runs when that costs no more, which saves the
 * planning of a catalog query run once per table. */
int sl_pg_query_prepared(PGconn *conn, const char *name, bool *prepared, const char *sql,
                         int nparams, const char *const *params, PGresult **res, sl_error *err);
/* Fill err from a failed result (SQLSTATE, privilege errors, retryable connection loss). */
int sl_pg_result_error(PGconn *conn, const PGresult *res, const char *what, sl_error *err);

/* Stream `copy_sql` (a COPY ... TO STDOUT (FORMAT binary)) into batches. Rows go into *batch;
 * when it holds at least `batch_bytes`, flush(ctx, batch) is called and must return the batch
 * to fill next (NULL = stop with the error it set). The last partial batch is flushed too
 * (unless empty). *rows gets the number of rows read. */
typedef sl_batch *(*sl_pg_flush_fn)(void *ctx, sl_batch *full, sl_error *err);
int sl_pg_copy_out(PGconn *conn, const char *copy_sql, const sl_pg_codec *codecs, sl_batch **batch,
                   size_t batch_bytes, sl_pg_flush_fn flush, void *ctx, int64_t *rows,
                   volatile int *cancel, sl_error *err);

/* COPY FROM STDIN: begin with the statement, put buffers, end (checks the result). */
int sl_pg_copy_in_begin(PGconn *conn, const char *copy_sql, sl_error *err);
int sl_pg_copy_in_put(PGconn *conn, const sl_buf *data, sl_error *err);
int sl_pg_copy_in_end(PGconn *conn, sl_error *err);

#endif
