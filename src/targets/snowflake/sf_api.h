/* A client of the Snowflake SQL API v2 (docs.snowflake.com/en/developer-guide/sql-api):
 * statements POSTed to /api/v2/statements as JSON, authenticated by a key-pair JWT.
 *
 * Authentication (user-guide/key-pair-auth): an RS256 JWT whose issuer is
 * ACCOUNT.USER.SHA256:<base64 SHA-256 of the public key's DER>, subject ACCOUNT.USER (the
 * account upper-case, without a region suffix), valid for 59 minutes and made anew when it
 * is more than 50 minutes old. The private key is a PKCS#8 PEM file, encrypted or not.
 *
 * A request: POST ?requestId=<uuid v4>; 200 is the result; 202 is polled at its
 * statementStatusUrl until done; a network error, 429, 502, 503 or 504 is sent again with the
 * same requestId and retry=true (Snowflake runs a statement once per requestId), after a
 * backoff (Retry-After when the server names one), for up to SF_API_PATIENCE_S; 401 is an
 * authentication error naming the fix (and the clock, when the server's Date header is more
 * than a minute away from ours); 422 is the statement's error with Snowflake's code.
 *
 * One sf_auth is shared by every connection (its token cache has a lock); an sf_conn is one
 * thread's: a curl handle and the result buffer. sf_conn_cancel may be called from another
 * thread. No secret (key, passphrase, token, a statement's credentials) is ever logged. */
#ifndef SL_SF_API_H
#define SL_SF_API_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "formats/json.h"

/* how long a request keeps being sent again while Snowflake is unavailable */
#define SF_API_PATIENCE_S 600

typedef struct sf_auth sf_auth;
typedef struct sf_conn sf_conn;

typedef struct sf_api_config {
	const char *url; /* https://<account>.snowflakecomputing.com (no trailing slash) */
	const char *account, *user;
	const char *key_file, *passphrase; /* passphrase NULL: the key is not encrypted */
	/* the session of every request; NULL: Snowflake's defaults for the user */
	const char *database, *schema, *warehouse, *role;
} sf_api_config;

/* Load the key and prepare the claims. Errors name target.private_key_file or
 * target.private_key_passphrase. */
int sf_auth_open(const sf_api_config *c, sf_auth **out, sl_error *err);
void sf_auth_close(sf_auth *a);

/* A result: the response document and, for a query, its rows. */
typedef struct sf_result {
	sl_buf body;
	sl_json_span data; /* the rows array (n = 0 when none) */
	int64_t nrows;
	int ncols;
	sl_json_span *cells; /* nrows * ncols */
	size_t cap;
	sl_buf cell;      /* sf_result_text's */
	char handle[128]; /* the statement's */
	int partitions;   /* of its result (resultSetMetaData.partitionInfo); this is the first */
} sf_result;

/* The text of cell (row, col) (NUL-terminated, valid until the next call): NULL for SQL NULL. */
const char *sf_result_text(sf_result *r, int64_t row, int col);
void sf_result_free(sf_result *r);

int sf_conn_open(sf_auth *auth, sf_conn **out, sl_error *err);
void sf_conn_close(sf_conn *c);
/* Run `sql`, `n` statements joined by ";\n" (n > 1: a multi-statement request, whose result
 * is Snowflake's summary), and wait for it. `res` may be NULL. Errors: "target: Snowflake ..."
 * with what to fix; SQL errors carry Snowflake's code in err->sqlstate. */
int sf_conn_exec(sf_conn *c, const char *sql, int n, sf_result *res, sl_error *err);
/* Run the query `sql` and hand each partition of its result to fn, in order (a non-zero return
 * stops and is returned). */
typedef int (*sf_part_fn)(void *ctx, sf_result *part, sl_error *err);
int sf_conn_query(sf_conn *c, const char *sql, sf_part_fn fn, void *ctx, sl_error *err);
/* Stop the running request (any thread): it ends with SL_ERR_CANCELLED. */
void sf_conn_cancel(sf_conn *c);

/* ---- pieces, exposed for tests ---- */
/* "ACCOUNT" as the JWT names it: upper case, up to the first '.'. */
void sf_jwt_account(const char *account, char *out, size_t n);
/* The JWT for the key, issued at `now` (seconds since the epoch), into out (reset first). */
int sf_jwt_make(sf_auth *a, int64_t now, sl_buf *out, sl_error *err);
/* "SHA256:<base64>" of the key's public half. */
const char *sf_auth_fingerprint(const sf_auth *a);

#endif
