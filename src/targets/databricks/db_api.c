/* The Databricks workspace client (see db_api.h). */
#include "targets/databricks/db_api.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/config.h"
#include "core/log.h"
#include "core/mem.h"
#include "stores/http.h"

#define DB_TOKEN_MARGIN_S 300 /* an OAuth token is fetched anew this long before it expires */
#define DB_WAIT "10s"         /* how long a POST waits for its statement before it is polled */

struct db_api {
	char *url, *token, *client_id, *client_secret, *warehouse, *catalog;
	sl_http_pool pool;
	pthread_mutex_t mu;
	char bearer[4096];     /* the OAuth token (a secret) */
	int64_t bearer_expiry; /* seconds since the epoch */
	volatile int cancel;
};

int db_api_open(const db_api_config *c, db_api **out, sl_error *err)
{
	if (!c->token && !(c->client_id && c->client_secret))
		return sl_error_set(
		        err, SL_ERR_CONFIG,
		        "target: Databricks needs target.token (a personal access "
		        "token) or target.client_id and target.client_secret (a service "
		        "principal's OAuth secret)");
	db_api *a = sl_calloc(1, sizeof *a);
	a->url = sl_strdup(c->url);
	a->token = c->token ? sl_strdup(c->token) : NULL;
	a->client_id = c->client_id ? sl_strdup(c->client_id) : NULL;
	a->client_secret = c->client_secret ? sl_strdup(c->client_secret) : NULL;
	a->warehouse = sl_strdup(c->warehouse_id);
	a->catalog = c->catalog ? sl_strdup(c->catalog) : NULL;
	if (a->token)
		sl_log_add_secret(a->token);
	if (a->client_secret)
		sl_log_add_secret(a->client_secret);
	sl_http_pool_init(&a->pool);
	pthread_mutex_init(&a->mu, NULL);
	*out = a;
	return 0;
}

void db_api_close(db_api *a)
{
	if (!a)
		return;
	sl_http_pool_free(&a->pool);
	pthread_mutex_destroy(&a->mu);
	free(a->url), free(a->token), free(a->client_id), free(a->client_secret);
	free(a->warehouse), free(a->catalog);
	free(a);
}

void db_api_cancel(db_api *a)
{
	a->cancel = 1;
}

/* ---------------------------------------------------------------- HTTP ---- */

/* One request's headers, built for each attempt. */
struct db_hdr {
	db_api *a;
	const char *content_type;  /* NULL: none */
	const char *authorization; /* NULL: Bearer */
	sl_error *err;
};

static int db_bearer(db_api *a, sl_buf *out, sl_error *err);

static struct curl_slist *db_headers(void *ctx, sl_error *err)
{
	struct db_hdr *h = ctx;
	sl_buf line = {0};
	if (h->authorization) {
		sl_buf_puts(&line, h->authorization);
	} else if (db_bearer(h->a, &line, err) < 0) {
		sl_buf_free(&line);
		return NULL;
	}
	struct curl_slist *hl = curl_slist_append(NULL, sl_buf_cstr(&line));
	sl_buf_free(&line);
	hl = curl_slist_append(hl, "User-Agent: sluice/" SLUICE_VERSION);
	hl = curl_slist_append(hl, "Expect:");
	if (h->content_type) {
		char ct[128];
		snprintf(ct, sizeof ct, "Content-Type: %s", h->content_type);
		hl = curl_slist_append(hl, ct);
	}
	return hl;
}

static bool db_transient(long status)
{
	return status == 0 || status == 429 || status == 502 || status == 503 || status == 504;
}

/* Sleep the backoff of attempt k (Retry-After when longer), unless cancelled. */
static int db_backoff(db_api *a, int k, int retry_after, sl_error *err)
{
	int64_t ms = (int64_t)250 << (k < 6 ? k : 6);
	if (retry_after > 0 && (int64_t)retry_after * 1000 > ms)
		ms = (int64_t)retry_after * 1000;
	if (ms > 16000)
		ms = 16000;
	for (int64_t t = 0; t < ms; t += 50) {
		if (a->cancel)
			return sl_error_set(err, SL_ERR_CANCELLED,
			                    "target: Databricks request cancelled");
		usleep(50000);
	}
	return 0;
}

/* One request to path (under the workspace URL), sent again while Databricks is unavailable.
 * Returns 0 with *status (any final answer: the caller judges) and the body in resp. */
static int db_do(db_api *a, const char *method, const char *path, const char *ctype,
                 const char *authz, const void *body, size_t nbody, sl_buf *resp, long *status,
                 sl_error *err)
{
	sl_buf url = {0};
	sl_buf_printf(&url, "%s%s", a->url, path);
	struct db_hdr h = {a, ctype, authz, err};
	time_t start = time(NULL);
	int rc = 0;
	for (int k = 0;; k++) {
		if (a->cancel) {
			rc = sl_error_set(err, SL_ERR_CANCELLED,
			                  "target: Databricks request cancelled");
			break;
		}
		sl_http_req r = {.method = method,
		                 .url = sl_buf_cstr(&url),
		                 .body = body,
		                 .nbody = nbody,
		                 .headers = db_headers,
		                 .ctx = &h,
		                 .resp = resp,
		                 .tries = 1};
		int hr = sl_http_do(&a->pool, &r, err);
		if (hr < 0 && err->code) {
			rc = err->code; /* the headers (the token) failed */
			break;
		}
		*status = hr < 0 ? 0 : r.status;
		if (!db_transient(*status))
			break;
		if (time(NULL) - start > DB_API_PATIENCE_S) {
			rc = *status == 0
			             ? sl_error_set(err, SL_ERR_CONNECT,
			                            "target: cannot reach Databricks at %s (%s): "
			                            "is target.url right, and the network open?",
			                            a->url, r.msg)
			             : sl_error_set(err, SL_ERR_SERVER,
			                            "target: Databricks kept answering HTTP %ld "
			                            "for %d s; try again later",
			                            *status, DB_API_PATIENCE_S);
			break;
		}
		if (*status == 0 && k >= 2 && strstr(r.msg, "onnect") && time(NULL) - start > 30) {
			rc = sl_error_set(
			        err, SL_ERR_CONNECT,
			        "target: cannot reach Databricks at %s (%s): is target.url "
			        "right, and the network open?",
			        a->url, r.msg);
			break;
		}
		sl_debug("target: Databricks answered %ld at %s; sending again", *status, path);
		if ((rc = db_backoff(a, k, r.retry_after, err)) < 0)
			break;
	}
	sl_buf_free(&url);
	return rc;
}

static const char *db_member_text(sl_json_span doc, const char *key, sl_buf *out)
{
	sl_json_span v;
	if (sl_json_member(doc, key, &v) != 0 || sl_json_string(v, out) != 0)
		return NULL;
	return sl_buf_cstr(out);
}

/* The error a REST answer other than 2xx is ({"error_code", "message"}). */
static int db_judge(db_api *a, long status, const sl_buf *resp, const char *what, sl_error *err)
{
	if (status >= 200 && status < 300)
		return 0;
	sl_json_span doc = {(const char *)resp->data, resp->len};
	sl_buf mb = {0}, cb = {0};
	const char *message = db_member_text(doc, "message", &mb);
	const char *code = db_member_text(doc, "error_code", &cb);
	char snippet[160];
	if (!message) {
		size_t k = resp->len < sizeof snippet - 1 ? resp->len : sizeof snippet - 1;
		memcpy(snippet, resp->data ? (const char *)resp->data : "", k);
		snippet[k] = 0;
		for (size_t i = 0; i < k; i++)
			if (snippet[i] == '\n' || snippet[i] == '\r')
				snippet[i] = ' ';
		message = snippet;
	}
	int rc;
	if (status == 401)
		rc = sl_error_set(
		        err, SL_ERR_CONNECT, "target: Databricks refused the %s (%s): check %s",
		        a->token ? "personal access token" : "service principal's token", message,
		        a->token ? "target.token (expired, or of another workspace?)"
		                 : "target.client_id and target.client_secret");
	else if (status == 403)
		rc = sl_error_set(err, SL_ERR_PRIVILEGE, "target: Databricks: %s: %s (grant it)",
		                  what, message);
	else if (status == 404 && code && strcmp(code, "RESOURCE_DOES_NOT_EXIST") == 0)
		rc = sl_error_set(err, SL_ERR_CONFIG,
		                  "target: Databricks: %s (check target.warehouse_id)", message);
	else if (status == 404 && !code)
		rc = sl_error_set(err, SL_ERR_CONNECT,
		                  "target: Databricks answered 404 at %s%s: is target.url the "
		                  "workspace's URL?",
		                  a->url, what);
	else
		rc = sl_error_set(err, status == 404 ? SL_ERR_CONFIG : SL_ERR_SERVER,
		                  "target: Databricks: %s: HTTP %ld %s%s%s", what, status,
		                  code ? code : "", code ? ": " : "", message);
	sl_buf_free(&mb), sl_buf_free(&cb);
	return rc;
}

/* "Authorization: Bearer <token>" into out: the personal access token, or the OAuth token,
 * fetched when there is none or it expires within DB_TOKEN_MARGIN_S. */
static int db_bearer(db_api *a, sl_buf *out, sl_error *err)
{
	if (a->token) {
		sl_buf_printf(out, "Authorization: Bearer %s", a->token);
		return 0;
	}
	int rc = 0;
	pthread_mutex_lock(&a->mu);
	int64_t now = (int64_t)time(NULL);
	if (!a->bearer[0] || now > a->bearer_expiry - DB_TOKEN_MARGIN_S) {
		sl_buf basic = {0}, cred = {0}, resp = {0}, tok = {0};
		sl_buf_printf(&cred, "%s:%s", a->client_id, a->client_secret);
		char *b64 = sl_malloc(4 * ((cred.len + 2) / 3) + 1);
		EVP_EncodeBlock((unsigned char *)b64, cred.data, (int)cred.len);
		sl_buf_printf(&basic, "Authorization: Basic %s", b64);
		sl_log_add_secret(b64);
		static const char form[] = "grant_type=client_credentials&scope=all-apis";
		long status = 0;
		rc = db_do(a, "POST", "/oidc/v1/token", "application/x-www-form-urlencoded",
		           sl_buf_cstr(&basic), form, sizeof form - 1, &resp, &status, err);
		sl_json_span doc = {(const char *)resp.data, resp.len}, v;
		if (rc == 0 && status != 200) {
			sl_buf d = {0};
			const char *why = db_member_text(doc, "error_description", &d);
			rc = sl_error_set(
			        err, SL_ERR_CONNECT,
			        "target: Databricks refused the service principal %s (HTTP "
			        "%ld%s%s): check target.client_id and target.client_secret (an "
			        "OAuth secret of the principal, in this workspace)",
			        a->client_id, status, why ? ": " : "", why ? why : "");
			sl_buf_free(&d);
		} else if (rc == 0 && !db_member_text(doc, "access_token", &tok)) {
			rc = sl_error_set(err, SL_ERR_SERVER,
			                  "target: Databricks' token answer has no access_token");
		} else if (rc == 0) {
			int64_t life = 3600;
			if (sl_json_member(doc, "expires_in", &v) == 0 && v.n < 20) {
				char n[24];
				memcpy(n, v.p, v.n);
				n[v.n] = 0;
				life = strtoll(n, NULL, 10);
			}
			snprintf(a->bearer, sizeof a->bearer, "%s", sl_buf_cstr(&tok));
			sl_log_add_secret(a->bearer);
			a->bearer_expiry = now + life;
		}
		sl_free_secret(b64);
		sl_buf_free(&basic), sl_buf_free(&cred), sl_buf_free(&resp), sl_buf_free(&tok);
	}
	if (rc == 0)
		sl_buf_printf(out, "Authorization: Bearer %s", a->bearer);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

/* ---------------------------------------------------------------- statements ---- */

const char *db_result_text(db_result *r, int64_t row, int col)
{
	sl_json_span v = r->cells[(size_t)row * (size_t)r->ncols + (size_t)col];
	if (sl_json_string(v, &r->cell) != 0)
		return NULL;
	return sl_buf_cstr(&r->cell);
}

void db_result_free(db_result *r)
{
	sl_buf_free(&r->body), sl_buf_free(&r->cell);
	free(r->cells);
	memset(r, 0, sizeof *r);
}

/* The rows of a ResultData object (res->body holds the document it is in). */
static int db_rows(db_result *res, sl_json_span data, sl_error *err)
{
	res->nrows = 0;
	res->ncols = 0;
	sl_json_span rows;
	int rc = sl_json_member(data, "data_array", &rows);
	if (rc == 1 || (rc == 0 && sl_json_is_null(rows)))
		return 0;
	if (rc < 0)
		return sl_error_set(err, SL_ERR_SERVER, "target: Databricks' result is not JSON");
	if (sl_json_grid(rows, &res->cells, &res->cap, &res->nrows, &res->ncols) < 0)
		return sl_error_set(err, SL_ERR_SERVER, "target: Databricks' rows are malformed");
	return 0;
}

static void db_body(db_api *a, const char *sql, const db_param *p, int np, sl_buf *b)
{
	sl_buf_reset(b);
	sl_buf_puts(b, "{\"statement\":");
	sl_json_put_string(b, sql, strlen(sql));
	sl_buf_puts(b, ",\"warehouse_id\":");
	sl_json_put_string(b, a->warehouse, strlen(a->warehouse));
	if (a->catalog) {
		sl_buf_puts(b, ",\"catalog\":");
		sl_json_put_string(b, a->catalog, strlen(a->catalog));
	}
	sl_buf_puts(b, ",\"wait_timeout\":\"" DB_WAIT "\",\"on_wait_timeout\":\"CONTINUE\","
	               "\"disposition\":\"INLINE\",\"format\":\"JSON_ARRAY\"");
	if (np > 0) {
		sl_buf_puts(b, ",\"parameters\":[");
		for (int i = 0; i < np; i++) {
			sl_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
			sl_json_put_string(b, p[i].name, strlen(p[i].name));
			if (p[i].value) {
				sl_buf_puts(b, ",\"value\":");
				sl_json_put_string(b, p[i].value, strlen(p[i].value));
			}
			if (p[i].type) {
				sl_buf_puts(b, ",\"type\":");
				sl_json_put_string(b, p[i].type, strlen(p[i].type));
			}
			sl_buf_putc(b, '}');
		}
		sl_buf_putc(b, ']');
	}
	sl_buf_putc(b, '}');
}

/* A statement's state from its StatementResponse; FAILED and CANCELED become the error. */
static int db_state(db_api *a, sl_json_span doc, char *state, size_t n, sl_error *err)
{
	sl_json_span st;
	sl_buf sb = {0}, mb = {0}, qb = {0};
	state[0] = 0;
	if (sl_json_member(doc, "status", &st) == 0 && db_member_text(st, "state", &sb))
		snprintf(state, n, "%s", sl_buf_cstr(&sb));
	int rc = 0;
	if (!state[0]) {
		rc = sl_error_set(err, SL_ERR_SERVER, "target: Databricks' answer has no status");
	} else if (strcmp(state, "FAILED") == 0) {
		sl_json_span e;
		const char *msg = sl_json_member(st, "error", &e) == 0
		                          ? db_member_text(e, "message", &mb)
		                          : NULL;
		const char *sqlstate = db_member_text(st, "sql_state", &qb);
		rc = sl_error_set(err,
		                  sqlstate && strcmp(sqlstate, "42501") == 0 ? SL_ERR_PRIVILEGE
		                                                             : SL_ERR_SERVER,
		                  "target: Databricks: %s", msg ? msg : "the statement failed");
		if (sqlstate)
			snprintf(err->sqlstate, sizeof err->sqlstate, "%s", sqlstate);
	} else if (strcmp(state, "CANCELED") == 0 || strcmp(state, "CLOSED") == 0) {
		rc = sl_error_set(err, a->cancel ? SL_ERR_CANCELLED : SL_ERR_SERVER,
		                  "target: Databricks %s the statement",
		                  state[1] == 'A' ? "cancelled" : "closed");
	}
	sl_buf_free(&sb), sl_buf_free(&mb), sl_buf_free(&qb);
	return rc;
}

static int db_run(db_api *a, const char *sql, const db_param *p, int np, db_result *res,
                  sl_error *err)
{
	sl_buf body = {0};
	db_body(a, sql, p, np, &body);
	sl_buf_reset(&res->body);
	long status = 0;
	int rc = db_do(a, "POST", "/api/2.0/sql/statements", "application/json", NULL, body.data,
	               body.len, &res->body, &status, err);
	sl_buf_free(&body);
	if (rc == 0)
		rc = db_judge(a, status, &res->body, "running a statement", err);
	char state[32] = "", path[160];
	for (int k = 0; rc == 0; k++) {
		sl_json_span doc = {(const char *)res->body.data, res->body.len};
		if (k == 0) {
			sl_buf ib = {0};
			const char *id = db_member_text(doc, "statement_id", &ib);
			snprintf(res->id, sizeof res->id, "%s", id ? id : "");
			sl_buf_free(&ib);
		}
		if ((rc = db_state(a, doc, state, sizeof state, err)) < 0)
			break;
		if (strcmp(state, "SUCCEEDED") == 0)
			break;
		/* PENDING or RUNNING: poll */
		if (a->cancel) {
			sl_buf cb = {0};
			snprintf(path, sizeof path, "/api/2.0/sql/statements/%s/cancel", res->id);
			a->cancel = 0; /* let the cancel through */
			sl_error e = {0};
			db_do(a, "POST", path, "application/json", NULL, "{}", 2, &cb, &status, &e);
			a->cancel = 1;
			sl_buf_free(&cb);
			rc = sl_error_set(err, SL_ERR_CANCELLED,
			                  "target: Databricks statement cancelled");
			break;
		}
		if ((rc = db_backoff(a, k < 4 ? k : 4, -1, err)) < 0)
			break;
		snprintf(path, sizeof path, "/api/2.0/sql/statements/%s", res->id);
		sl_buf_reset(&res->body);
		rc = db_do(a, "GET", path, NULL, NULL, NULL, 0, &res->body, &status, err);
		if (rc == 0)
			rc = db_judge(a, status, &res->body, "waiting for a statement", err);
	}
	if (rc < 0)
		return rc;
	sl_json_span doc = {(const char *)res->body.data, res->body.len}, man, v, data;
	res->chunks = 1;
	if (sl_json_member(doc, "manifest", &man) == 0 &&
	    sl_json_member(man, "total_chunk_count", &v) == 0 && v.n < 12) {
		char n[16];
		memcpy(n, v.p, v.n);
		n[v.n] = 0;
		res->chunks = atoi(n) > 0 ? atoi(n) : 1;
	}
	res->row_offset = 0;
	if (sl_json_member(doc, "result", &data) != 0) {
		res->nrows = 0;
		return 0;
	}
	return db_rows(res, data, err);
}

int db_sql(db_api *a, const char *sql, const db_param *params, int nparams, db_result *res,
           sl_error *err)
{
	db_result own = {0};
	int rc = db_run(a, sql, params, nparams, res ? res : &own, err);
	db_result_free(&own);
	return rc;
}

int db_query(db_api *a, const char *sql, const db_param *params, int nparams, db_chunk_fn fn,
             void *ctx, sl_error *err)
{
	db_result r = {0};
	int rc = db_run(a, sql, params, nparams, &r, err);
	if (rc == 0)
		rc = fn(ctx, &r, err);
	char path[200];
	for (int i = 1; rc == 0 && i < r.chunks; i++) {
		long status = 0;
		snprintf(path, sizeof path, "/api/2.0/sql/statements/%s/result/chunks/%d", r.id, i);
		sl_buf_reset(&r.body);
		rc = db_do(a, "GET", path, NULL, NULL, NULL, 0, &r.body, &status, err);
		if (rc == 0)
			rc = db_judge(a, status, &r.body, "reading a result", err);
		if (rc == 0)
			rc = db_rows(&r, (sl_json_span){(const char *)r.body.data, r.body.len},
			             err);
		if (rc == 0)
			rc = fn(ctx, &r, err);
	}
	db_result_free(&r);
	return rc;
}

/* ---------------------------------------------------------------- files ---- */

/* The API path of a volume path: each component percent-encoded. */
static void db_fs_path(sl_buf *b, const char *api, const char *path)
{
	sl_buf_puts(b, api);
	for (const char *p = path; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("/-_.~", c))
			sl_buf_putc(b, (char)c);
		else
			sl_buf_printf(b, "%%%02X", c);
	}
}

int db_file_put(db_api *a, const char *path, const void *p, size_t n, sl_error *err)
{
	sl_buf u = {0}, resp = {0};
	db_fs_path(&u, "/api/2.0/fs/files", path);
	sl_buf_puts(&u, "?overwrite=true");
	long status = 0;
	int rc = db_do(a, "PUT", sl_buf_cstr(&u), "application/octet-stream", NULL, p ? p : "", n,
	               &resp, &status, err);
	if (rc == 0)
		rc = db_judge(a, status, &resp, path, err);
	sl_buf_free(&u), sl_buf_free(&resp);
	return rc;
}

int db_file_delete(db_api *a, const char *path, sl_error *err)
{
	sl_buf u = {0}, resp = {0};
	db_fs_path(&u, "/api/2.0/fs/files", path);
	long status = 0;
	int rc = db_do(a, "DELETE", sl_buf_cstr(&u), NULL, NULL, NULL, 0, &resp, &status, err);
	if (rc == 0 && status == 404)
		rc = 1;
	else if (rc == 0)
		rc = db_judge(a, status, &resp, path, err);
	sl_buf_free(&u), sl_buf_free(&resp);
	return rc;
}

int db_dir_list(db_api *a, const char *path, db_entry_fn fn, void *ctx, sl_error *err)
{
	sl_buf u = {0}, resp = {0}, token = {0}, pb = {0};
	int rc = 0;
	for (;;) {
		sl_buf_reset(&u);
		db_fs_path(&u, "/api/2.0/fs/directories", path);
		if (token.len) {
			sl_buf_puts(&u, "?page_token=");
			db_fs_path(&u, "", sl_buf_cstr(&token));
		}
		long status = 0;
		if ((rc = db_do(a, "GET", sl_buf_cstr(&u), NULL, NULL, NULL, 0, &resp, &status,
		                err)) < 0)
			break;
		if (status == 404) {
			rc = 1;
			break;
		}
		if ((rc = db_judge(a, status, &resp, path, err)) < 0)
			break;
		sl_json_span doc = {(const char *)resp.data, resp.len}, list, it = {0}, v;
		if (sl_json_member(doc, "contents", &list) == 0) {
			while (rc == 0 && sl_json_next(list, &it) == 0) {
				bool dir = sl_json_member(it, "is_directory", &v) == 0 &&
				           v.n == 4 && memcmp(v.p, "true", 4) == 0;
				int64_t size = -1;
				if (sl_json_member(it, "file_size", &v) == 0 && v.n < 20) {
					char n[24];
					memcpy(n, v.p, v.n);
					n[v.n] = 0;
					size = strtoll(n, NULL, 10);
				}
				if (db_member_text(it, "path", &pb))
					rc = fn(ctx, sl_buf_cstr(&pb), dir, size, err);
			}
		}
		sl_buf_reset(&token);
		if (rc != 0 || !db_member_text(doc, "next_page_token", &token))
			break;
	}
	sl_buf_free(&u), sl_buf_free(&resp), sl_buf_free(&token), sl_buf_free(&pb);
	return rc;
}

int db_warehouse_state(db_api *a, char *out, size_t n, sl_error *err)
{
	sl_buf u = {0}, resp = {0}, sb = {0};
	sl_buf_printf(&u, "/api/2.0/sql/warehouses/%s", a->warehouse);
	long status = 0;
	int rc = db_do(a, "GET", sl_buf_cstr(&u), NULL, NULL, NULL, 0, &resp, &status, err);
	if (rc == 0)
		rc = db_judge(a, status, &resp, "reading the warehouse", err);
	sl_json_span doc = {(const char *)resp.data, resp.len};
	if (rc == 0 && !db_member_text(doc, "state", &sb))
		rc = sl_error_set(err, SL_ERR_SERVER, "target: Databricks' warehouse has no state");
	if (rc == 0)
		snprintf(out, n, "%s", sl_buf_cstr(&sb));
	sl_buf_free(&u), sl_buf_free(&resp), sl_buf_free(&sb);
	return rc;
}
