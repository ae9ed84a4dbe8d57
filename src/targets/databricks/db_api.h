/* A client of the Databricks workspace APIs sluice uses (docs.databricks.com/api): the SQL
 * Statement Execution API 2.0 (POST /api/2.0/sql/statements on a SQL warehouse, polled at
 * /api/2.0/sql/statements/{id}, results as JSON arrays in chunks, cancel), the Files API on
 * Unity Catalog volumes (/api/2.0/fs/files, /api/2.0/fs/directories) and the warehouse's state
 * (/api/2.0/sql/warehouses/{id}).
 *
 * Authentication: a personal access token, or a service principal's OAuth machine-to-machine
 * token (POST /oidc/v1/token, grant_type=client_credentials, scope=all-apis, the client id and
 * secret in HTTP Basic), kept until five minutes before it expires and then fetched anew. Either
 * is sent as "Authorization: Bearer"; neither is ever logged.
 *
 * Retries: a network error, 429, 502, 503 or 504 is sent again after a backoff (Retry-After
 * when the server names one) for up to DB_API_PATIENCE_S. A statement has no request id here, so
 * a POST that reached Databricks and lost its answer runs twice: every statement sluice sends is
 * written to be harmless the second time (IF NOT EXISTS, COPY INTO's load history, version
 * guards in MERGE and UPDATE). A statement that fails answers 200 with state FAILED: its
 * message and SQLSTATE become the error.
 *
 * One db_api serves every thread (the token cache has a lock; curl handles come from a pool). */
#ifndef SL_DB_API_H
#define SL_DB_API_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "formats/json.h"

#define DB_API_PATIENCE_S 600

typedef struct db_api db_api;

typedef struct db_api_config {
	const char *url;                       /* https://<workspace> (no trailing slash) */
	const char *token;                     /* a personal access token, or NULL */
	const char *client_id, *client_secret; /* a service principal (OAuth M2M), or NULL */
	const char *warehouse_id;
	const char *catalog; /* the statements' default catalog, or NULL */
} db_api_config;

int db_api_open(const db_api_config *c, db_api **out, sl_error *err);
void db_api_close(db_api *a);
/* Stop waiting (any thread): running statements are cancelled, calls end SL_ERR_CANCELLED. */
void db_api_cancel(db_api *a);

/* A named parameter (:name) of a statement: its value (NULL: SQL NULL) and SQL type (NULL:
 * STRING). */
typedef struct db_param {
	const char *name, *value, *type;
} db_param;

/* One chunk of a result: rows of cells, each a JSON string or null. */
typedef struct db_result {
	sl_buf body;
	int64_t nrows, row_offset;
	int ncols;
	sl_json_span *cells; /* nrows * ncols */
	size_t cap;
	sl_buf cell;
	int chunks;  /* of the whole result */
	char id[80]; /* the statement's */
} db_result;
/* The text of cell (row, col) (valid until the next call), NULL for SQL NULL. */
const char *db_result_text(db_result *r, int64_t row, int col);
void db_result_free(db_result *r);

/* Run one statement and wait for it; `res` (may be NULL) gets the first chunk of its result. */
int db_sql(db_api *a, const char *sql, const db_param *params, int nparams, db_result *res,
           sl_error *err);
/* Run a query and hand each chunk of its result to fn in order (non-zero stops and is
 * returned). */
typedef int (*db_chunk_fn)(void *ctx, db_result *chunk, sl_error *err);
int db_query(db_api *a, const char *sql, const db_param *params, int nparams, db_chunk_fn fn,
             void *ctx, sl_error *err);

/* The Files API on a volume path (/Volumes/<catalog>/<schema>/<volume>/...). */
int db_file_put(db_api *a, const char *path, const void *p, size_t n, sl_error *err);
/* 0, or 1 when there was no such file. */
int db_file_delete(db_api *a, const char *path, sl_error *err);
typedef int (*db_entry_fn)(void *ctx, const char *path, bool dir, int64_t size, sl_error *err);
/* Each entry of a directory (1 when it does not exist). */
int db_dir_list(db_api *a, const char *path, db_entry_fn fn, void *ctx, sl_error *err);

/* The warehouse's state (RUNNING, STOPPED, STARTING, ...) into out. */
int db_warehouse_state(db_api *a, char *out, size_t n, sl_error *err);

#endif
