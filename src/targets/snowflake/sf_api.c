/* Snowflake SQL API v2 client (see sf_api.h). */
#include "targets/snowflake/sf_api.h"

#include <ctype.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"

#define SF_JWT_LIFE_S 3540  /* 59 minutes: Snowflake takes at most one hour */
#define SF_JWT_RENEW_S 3000 /* made anew after 50 */
#define SF_SKEW_S 60        /* a server clock further off than this is named in errors */

struct sf_auth {
	char *url, *account, *user, *database, *schema, *warehouse, *role;
	char issuer[512], subject[300], fingerprint[64];
	EVP_PKEY *key;
	pthread_mutex_t mu;
	sl_buf token; /* the current JWT */
	int64_t token_iat;
};

struct sf_conn {
	sf_auth *auth;
	CURL *h;
	sl_buf resp, body, url;
	char handle[128];    /* the statement being waited for */
	int64_t server_date; /* the last response's Date header (0: none) */
	int retry_after;     /* its Retry-After (seconds; -1: none) */
	volatile int cancel;
	char cerr[CURL_ERROR_SIZE]; /* curl's error text (CURLOPT_ERRORBUFFER) */
};

/* ---------------------------------------------------------------- JWT ---- */

static void sf_b64url(sl_buf *out, const void *p, size_t n)
{
	char *tmp = sl_malloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock((unsigned char *)tmp, p, (int)n);
	for (int i = 0; i < len; i++) {
		if (tmp[i] == '=')
			break;
		sl_buf_putc(out, tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : tmp[i]);
	}
	free(tmp);
}

void sf_jwt_account(const char *account, char *out, size_t n)
{
	size_t i = 0;
	for (; account[i] && account[i] != '.' && i + 1 < n; i++)
		out[i] = (char)toupper((unsigned char)account[i]);
	out[i] = 0;
}

static int sf_ossl_error(sl_error *err, int code, const char *what)
{
	char detail[256] = "";
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, detail, sizeof detail);
	ERR_clear_error();
	return sl_error_set(err, code, "%s%s%s", what, detail[0] ? ": " : "", detail);
}

static int sf_pass_cb(char *buf, int size, int rwflag, void *u)
{
	(void)rwflag;
	const char *pass = u;
	if (!pass)
		return -1; /* encrypted, and no passphrase given */
	int n = (int)strlen(pass);
	if (n > size)
		n = size;
	memcpy(buf, pass, (size_t)n);
	return n;
}

static int sf_key_load(sf_auth *a, const char *path, const char *pass, sl_error *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "target.private_key_file: cannot open %s: %m (the PKCS#8 PEM "
		                    "private key of the key pair registered for the user)",
		                    path);
	char head[64] = "";
	bool encrypted = false;
	while (fgets(head, sizeof head, f))
		if (strstr(head, "-----BEGIN") && strstr(head, "PRIVATE KEY")) {
			/* PKCS#8: BEGIN ENCRYPTED PRIVATE KEY; the legacy form (BEGIN RSA PRIVATE
			 * KEY) says so in a Proc-Type: 4,ENCRYPTED header on the next line */
			encrypted = strstr(head, "ENCRYPTED") != NULL ||
			            (fgets(head, sizeof head, f) && strstr(head, "ENCRYPTED"));
			break;
		}
	rewind(f);
	a->key = PEM_read_PrivateKey(f, NULL, sf_pass_cb, (void *)pass);
	fclose(f);
	if (!a->key) {
		ERR_clear_error();
		if (encrypted && !pass)
			return sl_error_set(err, SL_ERR_CONFIG,
			                    "target.private_key_file: %s is encrypted: set "
			                    "target.private_key_passphrase",
			                    path);
		if (encrypted)
			return sl_error_set(err, SL_ERR_CONFIG,
			                    "target.private_key_passphrase does not decrypt %s: "
			                    "check the passphrase",
			                    path);
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "target.private_key_file: %s holds no PEM private key (make "
		                    "one with: openssl genrsa 2048 | openssl pkcs8 -topk8 -nocrypt "
		                    "-out rsa_key.p8)",
		                    path);
	}
	if (EVP_PKEY_get_base_id(a->key) != EVP_PKEY_RSA)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "target.private_key_file: %s is not an RSA key (Snowflake's "
		                    "key-pair authentication takes RSA keys of 2048 bits or more)",
		                    path);
	/* the fingerprint Snowflake shows as RSA_PUBLIC_KEY_FP: SHA-256 of the SubjectPublicKeyInfo
	 */
	unsigned char *der = NULL;
	int nder = i2d_PUBKEY(a->key, &der);
	if (nder <= 0)
		return sf_ossl_error(err, SL_ERR_CONFIG, "target.private_key_file: public key");
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_Digest(der, (size_t)nder, md, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	char b64[64];
	EVP_EncodeBlock((unsigned char *)b64, md, 32);
	snprintf(a->fingerprint, sizeof a->fingerprint, "SHA256:%s", b64);
	return 0;
}

int sf_auth_open(const sf_api_config *c, sf_auth **out, sl_error *err)
{
	sf_auth *a = sl_calloc(1, sizeof *a);
	pthread_mutex_init(&a->mu, NULL);
	a->url = sl_strdup(c->url);
	a->account = sl_strdup(c->account);
	a->user = sl_strdup(c->user);
	a->database = c->database ? sl_strdup(c->database) : NULL;
	a->schema = c->schema ? sl_strdup(c->schema) : NULL;
	a->warehouse = c->warehouse ? sl_strdup(c->warehouse) : NULL;
	a->role = c->role ? sl_strdup(c->role) : NULL;
	int rc = sf_key_load(a, c->key_file, c->passphrase, err);
	if (rc < 0) {
		sf_auth_close(a);
		return rc;
	}
	char acct[256], user[256];
	sf_jwt_account(c->account, acct, sizeof acct);
	size_t i = 0;
	for (; c->user[i] && i + 1 < sizeof user; i++)
		user[i] = (char)toupper((unsigned char)c->user[i]);
	user[i] = 0;
	snprintf(a->subject, sizeof a->subject, "%s.%s", acct, user);
	snprintf(a->issuer, sizeof a->issuer, "%s.%s", a->subject, a->fingerprint);
	*out = a;
	return 0;
}

void sf_auth_close(sf_auth *a)
{
	if (!a)
		return;
	EVP_PKEY_free(a->key);
	sl_buf_free(&a->token);
	pthread_mutex_destroy(&a->mu);
	free(a->url), free(a->account), free(a->user), free(a->database), free(a->schema);
	free(a->warehouse), free(a->role);
	free(a);
}

const char *sf_auth_fingerprint(const sf_auth *a)
{
	return a->fingerprint;
}

int sf_jwt_make(sf_auth *a, int64_t now, sl_buf *out, sl_error *err)
{
	sl_buf_reset(out);
	sl_buf claims = {0};
	sl_buf_puts(&claims, "{\"iss\":");
	sl_json_put_string(&claims, a->issuer, strlen(a->issuer));
	sl_buf_puts(&claims, ",\"sub\":");
	sl_json_put_string(&claims, a->subject, strlen(a->subject));
	sl_buf_printf(&claims, ",\"iat\":%" PRId64 ",\"exp\":%" PRId64 "}", now,
	              now + SF_JWT_LIFE_S);
	static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	sf_b64url(out, header, sizeof header - 1);
	sl_buf_putc(out, '.');
	sf_b64url(out, claims.data, claims.len);
	sl_buf_free(&claims);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t siglen = 0;
	unsigned char *sig = NULL;
	int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, a->key) == 1 &&
	         EVP_DigestSign(md, NULL, &siglen, out->data, out->len) == 1;
	if (ok) {
		sig = sl_malloc(siglen);
		ok = EVP_DigestSign(md, sig, &siglen, out->data, out->len) == 1;
	}
	EVP_MD_CTX_free(md);
	if (!ok) {
		free(sig);
		return sf_ossl_error(err, SL_ERR_INTERNAL, "target: signing the Snowflake JWT");
	}
	sl_buf_putc(out, '.');
	sf_b64url(out, sig, siglen);
	free(sig);
	sl_buf_cstr(out);
	return 0;
}

/* The header line "Authorization: Bearer <jwt>" into out: the cached token while fresh. */
static int sf_auth_header(sf_auth *a, sl_buf *out, sl_error *err)
{
	int64_t now = (int64_t)time(NULL);
	int rc = 0;
	pthread_mutex_lock(&a->mu);
	if (a->token.len == 0 || now - a->token_iat > SF_JWT_RENEW_S || now < a->token_iat) {
		rc = sf_jwt_make(a, now, &a->token, err);
		if (rc == 0)
			a->token_iat = now; /* only ever in the Authorization header */
	}
	if (rc == 0) {
		sl_buf_reset(out);
		sl_buf_printf(out, "Authorization: Bearer %s", sl_buf_cstr(&a->token));
	}
	pthread_mutex_unlock(&a->mu);
	return rc;
}

/* ---------------------------------------------------------------- HTTP ---- */

static size_t sf_write(char *p, size_t size, size_t n, void *ctx)
{
	sl_buf_append(ctx, p, size * n);
	return size * n;
}

static size_t sf_header(char *p, size_t size, size_t n, void *ctx)
{
	sf_conn *c = ctx;
	size_t len = size * n;
	char line[256];
	size_t k = len < sizeof line - 1 ? len : sizeof line - 1;
	memcpy(line, p, k);
	line[k] = 0;
	if (strncasecmp(line, "Date:", 5) == 0)
		c->server_date = (int64_t)curl_getdate(line + 5, NULL);
	else if (strncasecmp(line, "Retry-After:", 12) == 0) {
		/* seconds; an HTTP-date, 0 or garbage: the backoff decides */
		int s = atoi(line + 12);
		c->retry_after = s > 0 ? s : -1;
	}
	return len;
}

static int sf_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c2, curl_off_t d)
{
	(void)a, (void)b, (void)c2, (void)d;
	return ((sf_conn *)ctx)->cancel ? 1 : 0;
}

int sf_conn_open(sf_auth *auth, sf_conn **out, sl_error *err)
{
	sf_conn *c = sl_calloc(1, sizeof *c);
	c->auth = auth;
	c->h = curl_easy_init();
	if (!c->h) {
		free(c);
		return sl_error_set(err, SL_ERR_INTERNAL, "target: curl_easy_init failed");
	}
	*out = c;
	return 0;
}

void sf_conn_close(sf_conn *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->h);
	sl_buf_free(&c->resp), sl_buf_free(&c->body), sl_buf_free(&c->url);
	free(c);
}

void sf_conn_cancel(sf_conn *c)
{
	c->cancel = 1;
}

/* One HTTP exchange: method on url (relative to the account URL when it starts with '/'),
 * with the JSON body (NULL: none). *status 0 with msg set on a network error. */
static int sf_http(sf_conn *c, const char *method, const char *path, const sl_buf *body,
                   long *status, char *msg, size_t nmsg, sl_error *err)
{
	sl_buf auth = {0};
	SL_TRY(sf_auth_header(c->auth, &auth, err));
	sl_buf_reset(&c->url);
	sl_buf_printf(&c->url, "%s%s", c->auth->url, path);
	struct curl_slist *hl = NULL;
	hl = curl_slist_append(hl, sl_buf_cstr(&auth));
	hl = curl_slist_append(hl, "X-Snowflake-Authorization-Token-Type: KEYPAIR_JWT");
	hl = curl_slist_append(hl, "Content-Type: application/json");
	hl = curl_slist_append(hl, "Accept: application/json");
	hl = curl_slist_append(hl, "User-Agent: sluice/" SLUICE_VERSION);
	hl = curl_slist_append(hl, "Expect:");
	sl_buf_free(&auth);
	CURL *h = c->h;
	curl_easy_reset(h);
	sl_buf_reset(&c->resp);
	c->server_date = 0;
	c->retry_after = -1;
	char *cerr = c->cerr;
	cerr[0] = 0;
	curl_easy_setopt(h, CURLOPT_URL, sl_buf_cstr(&c->url));
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L); /* long statements answer 202 */
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sf_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->resp);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, sf_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, sf_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data ? (char *)body->data : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	}
	if (strcmp(method, "GET") != 0 && !body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	CURLcode cc = curl_easy_perform(h);
	curl_slist_free_all(hl);
	*status = 0;
	if (cc == CURLE_ABORTED_BY_CALLBACK && c->cancel)
		return sl_error_set(err, SL_ERR_CANCELLED, "target: Snowflake request cancelled");
	if (cc != CURLE_OK) {
		snprintf(msg, nmsg, "%s", cerr[0] ? cerr : curl_easy_strerror(cc));
		return 0;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

/* ---------------------------------------------------------------- requests ---- */

static void sf_uuid(char *out)
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof b) != 1) {
		for (int i = 0; i < 16; i++)
			b[i] = (unsigned char)rand();
	}
	b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
	sprintf(out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
	        b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
	        b[14], b[15]);
}

static void sf_body(const sf_auth *a, const char *sql, int n, sl_buf *b)
{
	sl_buf_reset(b);
	sl_buf_puts(b, "{\"statement\":");
	sl_json_put_string(b, sql, strlen(sql));
	sl_buf_puts(b, ",\"timeout\":0");
	const char *keys[] = {"database", "schema", "warehouse", "role"};
	const char *vals[] = {a->database, a->schema, a->warehouse, a->role};
	for (int i = 0; i < 4; i++)
		if (vals[i]) {
			sl_buf_printf(b, ",\"%s\":", keys[i]);
			sl_json_put_string(b, vals[i], strlen(vals[i]));
		}
	sl_buf_printf(b,
	              ",\"parameters\":{\"MULTI_STATEMENT_COUNT\":\"%d\",\"TIMEZONE\":\"UTC\","
	              "\"QUERY_TAG\":\"sluice\"}}",
	              n);
}

static const char *sf_member_text(sl_json_span doc, const char *key, sl_buf *out)
{
	sl_json_span v;
	if (sl_json_member(doc, key, &v) != 0 || sl_json_string(v, out) != 0)
		return NULL;
	return sl_buf_cstr(out);
}

/* The error a final response is, or 0 for 200. */
static int sf_judge(sf_conn *c, long status, sl_error *err)
{
	if (status == 200)
		return 0;
	sl_json_span doc = {(const char *)c->resp.data, c->resp.len};
	sl_buf mb = {0}, cb = {0};
	const char *message = sf_member_text(doc, "message", &mb);
	const char *code = sf_member_text(doc, "code", &cb);
	char snippet[200];
	if (!message) {
		size_t k = c->resp.len < sizeof snippet - 1 ? c->resp.len : sizeof snippet - 1;
		memcpy(snippet, c->resp.data ? (const char *)c->resp.data : "", k);
		snippet[k] = 0;
		for (size_t i = 0; i < k; i++)
			if (snippet[i] == '\n' || snippet[i] == '\r')
				snippet[i] = ' ';
		message = snippet;
	}
	int rc;
	if (status == 401 || status == 403) {
		int64_t skew = c->server_date ? c->server_date - (int64_t)time(NULL) : 0;
		if (skew > SF_SKEW_S || skew < -SF_SKEW_S)
			rc = sl_error_set(
			        err, SL_ERR_CONNECT,
			        "target: Snowflake refused the login (%s): this machine's "
			        "clock is %" PRId64 " s %s the server's, so the key-pair "
			        "token looks expired or not yet valid; set the clock right "
			        "(NTP)",
			        message, skew > 0 ? skew : -skew, skew > 0 ? "behind" : "ahead of");
		else
			rc = sl_error_set(
			        err, SL_ERR_CONNECT,
			        "target: Snowflake refused the key-pair login of user %s to "
			        "account "
			        "%s (%s%s%s): check target.account and target.user, and that the "
			        "public key of target.private_key_file is the user's (ALTER USER "
			        "%s "
			        "SET RSA_PUBLIC_KEY = '<its base64>'; its fingerprint is %s)",
			        c->auth->user, c->auth->account, code ? code : "", code ? ": " : "",
			        message, c->auth->user, c->auth->fingerprint);
	} else if (status == 422) {
		rc = sl_error_set(err, SL_ERR_SERVER, "target: Snowflake: %s (code %s)", message,
		                  code ? code : "?");
		if (code)
			snprintf(err->sqlstate, sizeof err->sqlstate, "%s", code);
		if (code && strcmp(code, "000606") == 0)
			rc = sl_error_set(
			        err, SL_ERR_PRIVILEGE,
			        "target: Snowflake: %s: name a warehouse the role can use "
			        "in target.warehouse (GRANT USAGE ON WAREHOUSE <w> TO ROLE "
			        "<role>)",
			        message);
	} else if (status == 404) {
		rc = sl_error_set(err, SL_ERR_CONNECT,
		                  "target: Snowflake answered 404 at %s: is target.url (or "
		                  "target.account) right?",
		                  sl_buf_cstr(&c->url));
	} else {
		rc = sl_error_set(err, SL_ERR_SERVER, "target: Snowflake answered HTTP %ld: %s",
		                  status, message);
	}
	sl_buf_free(&mb), sl_buf_free(&cb);
	return rc;
}

static bool sf_transient(long status)
{
	return status == 0 || status == 429 || status == 502 || status == 503 || status == 504;
}

/* Sleep for the backoff of attempt k (Retry-After when given), unless cancelled. */
static int sf_backoff(sf_conn *c, int k, sl_error *err)
{
	int64_t ms = (int64_t)250 << (k < 6 ? k : 6);
	if (c->retry_after > 0 && (int64_t)c->retry_after * 1000 > ms)
		ms = (int64_t)c->retry_after * 1000;
	if (ms > 16000)
		ms = 16000;
	for (int64_t t = 0; t < ms; t += 50) {
		if (c->cancel)
			return sl_error_set(err, SL_ERR_CANCELLED,
			                    "target: Snowflake request cancelled");
		usleep(50000);
	}
	return 0;
}

static int sf_parse(sf_conn *c, sf_result *res, sl_error *err)
{
	if (!res)
		return 0;
	sl_buf tmp = res->body;
	res->body = c->resp;
	c->resp = tmp;
	sl_buf_reset(&c->resp);
	res->nrows = 0;
	res->ncols = 0;
	res->data = (sl_json_span){NULL, 0};
	sl_json_span doc = {(const char *)res->body.data, res->body.len}, rows;
	sl_json_span meta, parts, it = {0};
	sl_buf hb = {0};
	const char *h = sf_member_text(doc, "statementHandle", &hb);
	if (h)
		snprintf(res->handle, sizeof res->handle, "%s", h);
	sl_buf_free(&hb);
	if (sl_json_member(doc, "resultSetMetaData", &meta) == 0 &&
	    sl_json_member(meta, "partitionInfo", &parts) == 0) {
		res->partitions = 0;
		while (sl_json_next(parts, &it) == 0)
			res->partitions++;
	}
	int rc = sl_json_member(doc, "data", &rows);
	if (rc == 1 || (rc == 0 && sl_json_is_null(rows)))
		return 0;
	if (rc < 0)
		return sl_error_set(err, SL_ERR_SERVER, "target: Snowflake's answer is not JSON");
	res->data = rows;
	if (sl_json_grid(rows, &res->cells, &res->cap, &res->nrows, &res->ncols) < 0)
		return sl_error_set(err, SL_ERR_SERVER, "target: Snowflake's rows are malformed");
	return 0;
}

const char *sf_result_text(sf_result *r, int64_t row, int col)
{
	sl_json_span v = r->cells[(size_t)row * (size_t)r->ncols + (size_t)col];
	if (sl_json_string(v, &r->cell) != 0)
		return NULL;
	return sl_buf_cstr(&r->cell);
}

void sf_result_free(sf_result *r)
{
	sl_buf_free(&r->body);
	sl_buf_free(&r->cell);
	free(r->cells);
	memset(r, 0, sizeof *r);
}

static int sf_exec(sf_conn *c, const char *sql, int n, sf_result *res, sl_error *err)
{
	char id[40], path[256], msg[256] = "";
	sf_uuid(id);
	sf_body(c->auth, sql, n, &c->body);
	c->handle[0] = 0;
	time_t start = time(NULL);
	long status = 0;
	bool polling = false;
	for (int k = 0;; k++) {
		if (polling)
			SL_TRY(sf_http(c, "GET", path, NULL, &status, msg, sizeof msg, err));
		else {
			snprintf(path, sizeof path, "/api/v2/statements?requestId=%s%s", id,
			         k > 0 ? "&retry=true" : "");
			SL_TRY(sf_http(c, "POST", path, &c->body, &status, msg, sizeof msg, err));
		}
		if (status == 202) {
			/* running: poll its status URL */
			sl_json_span doc = {(const char *)c->resp.data, c->resp.len};
			sl_buf u = {0}, hb = {0};
			const char *url = sf_member_text(doc, "statementStatusUrl", &u);
			const char *h = sf_member_text(doc, "statementHandle", &hb);
			if (h)
				snprintf(c->handle, sizeof c->handle, "%s", h);
			if (url && url[0] == '/')
				snprintf(path, sizeof path, "%s", url);
			sl_buf_free(&u), sl_buf_free(&hb);
			if (!url)
				return sl_error_set(err, SL_ERR_SERVER,
				                    "target: Snowflake answered 202 without a "
				                    "statementStatusUrl");
			polling = true;
			c->retry_after = -1;
			start = time(NULL); /* patience counts from the last real answer */
			SL_TRY(sf_backoff(c, k < 3 ? k : 3, err));
			k = -1; /* polling is not a retry */
			continue;
		}
		if (!sf_transient(status))
			break;
		if (time(NULL) - start > SF_API_PATIENCE_S) {
			if (status == 0)
				return sl_error_set(err, SL_ERR_CONNECT,
				                    "target: cannot reach Snowflake at %s (%s): is "
				                    "target.url (or target.account) right, and the "
				                    "network open?",
				                    c->auth->url, msg);
			return sl_error_set(err, SL_ERR_SERVER,
			                    "target: Snowflake kept answering HTTP %ld for %d s; "
			                    "try again later",
			                    status, SF_API_PATIENCE_S);
		}
		if (status == 0 && k == 0)
			sl_debug("target: Snowflake request failed (%s); sending it again", msg);
		else if (status != 0)
			sl_debug("target: Snowflake answered HTTP %ld; sending again", status);
		SL_TRY(sf_backoff(c, k, err));
		if (status == 0 && k >= 2 && strstr(msg, "onnect") && time(NULL) - start > 30)
			return sl_error_set(
			        err, SL_ERR_CONNECT,
			        "target: cannot reach Snowflake at %s (%s): is target.url "
			        "(or target.account) right, and the network open?",
			        c->auth->url, msg);
	}
	SL_TRY(sf_judge(c, status, err));
	return sf_parse(c, res, err);
}

int sf_conn_query(sf_conn *c, const char *sql, sf_part_fn fn, void *ctx, sl_error *err)
{
	sf_result r = {0};
	int rc = sf_conn_exec(c, sql, 1, &r, err);
	if (rc == 0)
		rc = fn(ctx, &r, err);
	int parts = r.partitions;
	char handle[128];
	snprintf(handle, sizeof handle, "%s", r.handle);
	for (int p = 1; rc == 0 && p < parts; p++) {
		char path[256], msg[256] = "";
		long status = 0;
		snprintf(path, sizeof path, "/api/v2/statements/%s?partition=%d", handle, p);
		for (int k = 0; rc == 0; k++) {
			rc = sf_http(c, "GET", path, NULL, &status, msg, sizeof msg, err);
			if (rc < 0 || !sf_transient(status) || k >= 8)
				break;
			rc = sf_backoff(c, k, err);
		}
		if (rc == 0)
			rc = sf_judge(c, status, err);
		if (rc == 0)
			rc = sf_parse(c, &r, err);
		if (rc == 0)
			rc = fn(ctx, &r, err);
	}
	sf_result_free(&r);
	return rc;
}

int sf_conn_exec(sf_conn *c, const char *sql, int n, sf_result *res, sl_error *err)
{
	int rc = sf_exec(c, sql, n, res, err);
	if (rc == SL_ERR_CANCELLED && c->handle[0]) {
		/* the statement runs on: ask Snowflake to stop it (best effort) */
		char path[200], msg[256];
		long status;
		sl_error e = {0};
		snprintf(path, sizeof path, "/api/v2/statements/%s/cancel", c->handle);
		c->cancel = 0;
		sf_http(c, "POST", path, NULL, &status, msg, sizeof msg, &e);
		c->cancel = 1;
	}
	return rc;
}
