/* azure:// stores: Azure Blob Storage over its REST API (learn.microsoft.com/rest/api/
 * storageservices/blob-service-rest-api), authorised with Shared Key ("Authorize with Shared
 * Key": the string to sign of version 2015-02-21 and later, HMAC-SHA256 with the account key)
 * or a SAS token.
 *
 * Where: azure://ACCOUNT/CONTAINER/PREFIX. Credentials: AZURE_STORAGE_KEY (the account key),
 * or AZURE_STORAGE_SAS_TOKEN, or AZURE_STORAGE_CONNECTION_STRING (AccountName, AccountKey,
 * SharedAccessSignature, BlobEndpoint). The endpoint is the connection string's BlobEndpoint
 * (an emulator such as Azurite: http://127.0.0.1:10000/devstoreaccount1), else
 * https://ACCOUNT.blob.core.windows.net. Read again for every request.
 *
 * Bodies carry Content-MD5, which Azure checks. Objects over one block (8 MiB) go as blocks
 * and a block list: visible only once the list is committed. Conditional create is
 * If-None-Match: *. */
#include "stores/azure.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "formats/sigv4.h"
#include "stores/http.h"

#define AZ_BLOCK ((size_t)8 << 20)
#define AZ_VERSION "2020-10-02"

struct sl_store {
	char *account, *container, *prefix;
	char *what, *url;
	char *endpoint; /* the pipeline file's, or NULL */
	sl_http_pool pool;
};

struct sl_store_writer {
	sl_store *s;
	char *key;
	sl_buf block;
	sl_buf list; /* <Latest>id</Latest> each */
	int blocks;
};

/* What a request needs to know of the account, read from the environment. */
typedef struct az_cred {
	char endpoint[512]; /* scheme://host[:port][/path] without a trailing slash */
	char key[256];      /* base64 account key, or empty */
	char sas[4096];     /* SAS query (without '?'), or empty */
} az_cred;

typedef struct az_req {
	const char *method;
	const char *key;   /* NULL: the container */
	const char *query; /* "restype=container&comp=list&..." already encoded, or NULL */
	const char *extra; /* one more x-ms-* or If-None-Match header line, or NULL */
	const void *body;
	size_t nbody;
	/* out */
	long status;
	sl_buf *resp;
	int64_t length;
} az_req;

/* ---------------------------------------------------------------- settings ---- */

/* The value of NAME= in a connection string ("A=x;B=y"). */
static bool az_conn_field(const char *cs, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	for (const char *p = cs; p && *p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL) {
		while (*p == ' ')
			p++;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == '=') {
			size_t vl = strcspn(p + nl + 1, ";");
			if (vl >= n)
				return false;
			memcpy(out, p + nl + 1, vl);
			out[vl] = 0;
			return true;
		}
	}
	return false;
}

static int az_cred_load(const sl_store *s, az_cred *c, sl_error *err)
{
	memset(c, 0, sizeof *c);
	const char *cs = getenv("AZURE_STORAGE_CONNECTION_STRING");
	char acct[128] = "";
	if (cs && *cs) {
		az_conn_field(cs, "AccountName", acct, sizeof acct);
		az_conn_field(cs, "AccountKey", c->key, sizeof c->key);
		az_conn_field(cs, "BlobEndpoint", c->endpoint, sizeof c->endpoint);
		if (*acct && strcmp(acct, s->account) != 0)
			return sl_error_set(
			        err, SL_ERR_CONFIG,
			        "%s store %s: AZURE_STORAGE_CONNECTION_STRING is for account "
			        "'%s', the url names '%s'",
			        s->what, s->url, acct, s->account);
	}
	const char *k = getenv("AZURE_STORAGE_KEY");
	if (k && *k)
		snprintf(c->key, sizeof c->key, "%s", k);
	sl_azure_sas(c->sas, sizeof c->sas); /* the variable's, else the connection string's */
	if (s->endpoint)                     /* the pipeline file's endpoint wins */
		snprintf(c->endpoint, sizeof c->endpoint, "%s", s->endpoint);
	if (!c->endpoint[0])
		snprintf(c->endpoint, sizeof c->endpoint, "https://%s.blob.core.windows.net",
		         s->account);
	size_t n = strlen(c->endpoint);
	while (n > 0 && c->endpoint[n - 1] == '/')
		c->endpoint[--n] = 0;
	if (!c->key[0] && !c->sas[0])
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "%s store %s: no Azure credentials: set AZURE_STORAGE_KEY (the "
		                    "account key), AZURE_STORAGE_SAS_TOKEN, or "
		                    "AZURE_STORAGE_CONNECTION_STRING",
		                    s->what, s->url);
	if (c->key[0])
		sl_log_add_secret(c->key); /* the SAS is registered by sl_azure_sas */
	return 0;
}

bool sl_azure_sas(char *out, size_t n)
{
	out[0] = 0;
	const char *sas = getenv("AZURE_STORAGE_SAS_TOKEN");
	const char *cs = getenv("AZURE_STORAGE_CONNECTION_STRING");
	if (sas && *sas)
		snprintf(out, n, "%s", sas[0] == '?' ? sas + 1 : sas);
	else if (cs && *cs && az_conn_field(cs, "SharedAccessSignature", out, n) && out[0] == '?')
		memmove(out, out + 1, strlen(out));
	if (out[0])
		sl_log_add_secret(out);
	return out[0] != 0;
}

static void az_free(sl_store *s)
{
	sl_http_pool_free(&s->pool);
	free(s->account), free(s->container), free(s->prefix), free(s->what), free(s->url);
	free(s->endpoint);
	free(s);
}

static int az_open(const char *url, const char *what, const sl_store_settings *set, sl_store **out,
                   sl_error *err)
{
	const char *a = url + strlen("azure://");
	size_t al = strcspn(a, "/?#");
	size_t cl = a[al] == '/' ? strcspn(a + al + 1, "/?#") : 0;
	if (strncmp(url, "azure://", 8) != 0 || al == 0 || cl == 0)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "%s url '%s' is not azure://ACCOUNT/CONTAINER or "
		                    "azure://ACCOUNT/CONTAINER/PREFIX",
		                    what, url);
	sl_store *s = sl_calloc(1, sizeof *s);
	sl_http_pool_init(&s->pool);
	s->account = sl_strndup(a, al);
	s->container = sl_strndup(a + al + 1, cl);
	const char *p = a + al + 1 + cl;
	while (*p == '/')
		p++;
	s->prefix = sl_strdup(p);
	size_t n = strlen(s->prefix);
	while (n > 0 && s->prefix[n - 1] == '/')
		s->prefix[--n] = 0;
	s->what = sl_strdup(what);
	s->url = sl_strdup(url);
	s->endpoint = set->endpoint ? sl_strdup(set->endpoint) : NULL;
	*out = s;
	return 0;
}

static void az_close(sl_store *s)
{
	if (s)
		az_free(s);
}

/* ---------------------------------------------------------------- requests ---- */

struct az_sign {
	const sl_store *s;
	const az_req *r;
	const az_cred *c;
	const char *path; /* the URL's path, encoded */
	const char *md5b64;
};

static int az_pcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The canonicalized resource: /ACCOUNT + the encoded path, then each query parameter
 * "\nname:value", names lower case and sorted, values decoded. */
static void az_resource(sl_buf *out, const struct az_sign *g)
{
	sl_buf_printf(out, "/%s%s", g->s->account, g->path);
	if (!g->r->query)
		return;
	char *q = sl_strdup(g->r->query);
	char *parts[16];
	int n = 0;
	for (char *save = NULL, *t = strtok_r(q, "&", &save); t && n < 16;
	     t = strtok_r(NULL, "&", &save))
		parts[n++] = t;
	for (int i = 0; i < n; i++)
		for (char *p = parts[i]; *p && *p != '='; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	qsort(parts, (size_t)n, sizeof *parts, az_pcmp);
	for (int i = 0; i < n; i++) {
		char *eq = strchr(parts[i], '=');
		sl_buf_printf(out, "\n%.*s:", (int)(eq ? eq - parts[i] : (long)strlen(parts[i])),
		              parts[i]);
		/* values here are plain or %XX-encoded: decode */
		for (const char *v = eq ? eq + 1 : ""; *v; v++) {
			if (v[0] == '%' && v[1] && v[2]) {
				char hex[3] = {v[1], v[2], 0};
				sl_buf_putc(out, (char)strtol(hex, NULL, 16));
				v += 2;
			} else {
				sl_buf_putc(out, *v);
			}
		}
	}
	free(q);
}

static int az_xcmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static struct curl_slist *az_headers(void *ctx, sl_error *err)
{
	struct az_sign *g = ctx;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char date[64];
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	const az_req *r = g->r;
	bool body = r->body != NULL;
	/* x-ms-* headers, sorted by name: what is sent and signed */
	char xh[4][300];
	int nx = 0;
	bool put_blob = strcmp(r->method, "PUT") == 0 && r->key && !r->query;
	if (put_blob)
		snprintf(xh[nx++], sizeof xh[0], "x-ms-blob-type:BlockBlob");
	snprintf(xh[nx++], sizeof xh[0], "x-ms-date:%s", date);
	if (r->extra && strncmp(r->extra, "x-ms-", 5) == 0) {
		const char *colon = strchr(r->extra, ':');
		const char *v = colon + 1;
		while (*v == ' ')
			v++;
		snprintf(xh[nx++], sizeof xh[0], "%.*s:%s", (int)(colon - r->extra), r->extra, v);
	}
	snprintf(xh[nx++], sizeof xh[0], "x-ms-version:%s", AZ_VERSION);
	qsort(xh, (size_t)nx, sizeof xh[0], az_xcmp);
	const char *if_none =
	        r->extra && strncasecmp(r->extra, "If-None-Match:", 14) == 0 ? r->extra + 15 : "";
	struct curl_slist *hl = NULL;
	char line[600];
	for (int i = 0; i < nx; i++) {
		char *colon = strchr(xh[i], ':');
		snprintf(line, sizeof line, "%.*s: %s", (int)(colon - xh[i]), xh[i], colon + 1);
		hl = curl_slist_append(hl, line);
	}
	if (r->extra && strncmp(r->extra, "x-ms-", 5) != 0)
		hl = curl_slist_append(hl, r->extra);
	hl = curl_slist_append(hl, "Expect:");
	hl = curl_slist_append(hl,
	                       body ? "Content-Type: application/octet-stream" : "Content-Type:");
	if (g->md5b64[0]) {
		snprintf(line, sizeof line, "Content-MD5: %s", g->md5b64);
		hl = curl_slist_append(hl, line);
	}
	if (g->c->key[0] && !g->c->sas[0]) {
		sl_buf sts = {0};
		char len[32] = "";
		if (body && r->nbody > 0)
			snprintf(len, sizeof len, "%zu", r->nbody);
		/* VERB, Content-Encoding, -Language, -Length, -MD5, -Type, Date, If-Modified-Since,
		 * If-Match, If-None-Match, If-Unmodified-Since, Range */
		sl_buf_printf(&sts, "%s\n\n\n%s\n%s\n%s\n\n\n\n%s\n\n\n", r->method, len, g->md5b64,
		              body ? "application/octet-stream" : "", if_none);
		for (int i = 0; i < nx; i++)
			sl_buf_printf(&sts, "%s\n", xh[i]);
		az_resource(&sts, g);
		unsigned char key[128], mac[32];
		int kl = EVP_DecodeBlock(key, (const unsigned char *)g->c->key,
		                         (int)strlen(g->c->key));
		size_t klen = strlen(g->c->key);
		if (kl < 0) {
			curl_slist_free_all(hl);
			sl_buf_free(&sts);
			sl_error_set(err, SL_ERR_CONFIG,
			             "%s store %s: the account key is not base64 (copy it from the "
			             "storage account's Access keys)",
			             g->s->what, g->s->url);
			return NULL;
		}
		/* EVP_DecodeBlock counts the '=' padding as zero bytes */
		while (klen > 0 && g->c->key[klen - 1] == '=') {
			kl--;
			klen--;
		}
		unsigned int ml = 0;
		HMAC(EVP_sha256(), key, kl, sts.data, sts.len, mac, &ml);
		explicit_bzero(key, sizeof key);
		char sig[64];
		EVP_EncodeBlock((unsigned char *)sig, mac, 32);
		snprintf(line, sizeof line, "Authorization: SharedKey %s:%s", g->s->account, sig);
		hl = curl_slist_append(hl, line);
		sl_buf_free(&sts);
	}
	return hl;
}

/* One line naming what went wrong and the fix. */
static int az_fail(const sl_store *s, const az_req *r, const char *resp, sl_error *err)
{
	char code[128] = "", msg[512] = "";
	if (resp) {
		sl_http_xml(resp, "Code", code, sizeof code);
		sl_http_xml(resp, "Message", msg, sizeof msg);
		msg[strcspn(msg, "\r\n")] = 0;
	}
	/* Azure says AuthenticationFailed for a wrong key; AuthorizationFailure for a key or SAS
	 * not allowed here (Azurite: also for a wrong key) */
	if (strcmp(code, "AuthenticationFailed") == 0 ||
	    strcmp(code, "AuthorizationFailure") == 0 || (r->status == 403 && !*code))
		return sl_error_set(
		        err, SL_ERR_CONNECT,
		        "%s store %s: the credentials were refused (%s): set "
		        "AZURE_STORAGE_KEY to the account's key (or AZURE_STORAGE_SAS_TOKEN, "
		        "AZURE_STORAGE_CONNECTION_STRING) with read, write, delete and list "
		        "on the container",
		        s->what, s->url, *code ? code : "HTTP 403");
	if (strcmp(code, "ContainerNotFound") == 0)
		return sl_error_set(
		        err, SL_ERR_CONFIG,
		        "%s store %s: container '%s' does not exist (create it, or fix the "
		        "url)",
		        s->what, s->url, s->container);
	if (strncmp(code, "Authorization", 13) == 0)
		return sl_error_set(
		        err, SL_ERR_PRIVILEGE,
		        "%s store %s: access denied to %s %s (%s: give these credentials "
		        "read, write, delete and list on the container)",
		        s->what, s->url, r->method, r->key ? r->key : "(the container)", code);
	return sl_error_set(err, SL_ERR_IO, "%s store %s: %s %s: HTTP %ld%s%s%s%s", s->what, s->url,
	                    r->method, r->key ? r->key : "(the container)", r->status,
	                    *code ? " " : "", code, *msg ? ": " : "", msg);
}

static int az_do(sl_store *s, az_req *r, sl_error *err)
{
	az_cred c;
	SL_TRY(az_cred_load(s, &c, err));
	sl_buf path = {0}, raw = {0}, url = {0};
	/* the endpoint's own path (an emulator's /ACCOUNT) belongs to the signed path too */
	const char *ep_path = strchr(strstr(c.endpoint, "://") + 3, '/');
	sl_buf_printf(&raw, "%s/%s", ep_path ? ep_path : "", s->container);
	if (r->key) {
		sl_buf_putc(&raw, '/');
		if (*s->prefix)
			sl_buf_printf(&raw, "%s/", s->prefix);
		sl_buf_puts(&raw, r->key);
	}
	sl_sigv4_uri_encode(&path, sl_buf_cstr(&raw), true);
	size_t host_len = ep_path ? (size_t)(ep_path - c.endpoint) : strlen(c.endpoint);
	sl_buf_printf(&url, "%.*s%s", (int)host_len, c.endpoint, sl_buf_cstr(&path));
	if (r->query)
		sl_buf_printf(&url, "?%s", r->query);
	if (c.sas[0])
		sl_buf_printf(&url, "%s%s", r->query ? "&" : "?", c.sas);
	char md5b64[32] = "";
	if (r->body && r->nbody) {
		unsigned char md5[16];
		EVP_Digest(r->body, r->nbody, md5, NULL, EVP_md5(), NULL);
		EVP_EncodeBlock((unsigned char *)md5b64, md5, 16);
	}
	struct az_sign g = {.s = s, .r = r, .c = &c, .path = sl_buf_cstr(&path), .md5b64 = md5b64};
	sl_buf own = {0};
	sl_http_req hr = {.method = r->method,
	                  .url = sl_buf_cstr(&url),
	                  .body = r->body,
	                  .nbody = r->nbody,
	                  .headers = az_headers,
	                  .ctx = &g,
	                  .resp = r->resp ? r->resp : &own};
	int rc = sl_http_do(&s->pool, &hr, err);
	r->status = hr.status;
	r->length = hr.length;
	if (rc == -1) {
		rc = sl_error_set(err, SL_ERR_CONNECT,
		                  "%s store %s: %s %s: %s (is %.*s reachable?)", s->what, s->url,
		                  r->method, r->key ? r->key : "(the container)", hr.msg,
		                  (int)host_len, c.endpoint);
		err->retryable = true;
	} else if (rc == 0 && (r->status >= 500 || r->status == 429)) {
		rc = az_fail(s, r, sl_buf_cstr(hr.resp), err);
		err->retryable = true;
	}
	explicit_bzero(&c, sizeof c);
	sl_buf_free(&path), sl_buf_free(&raw), sl_buf_free(&url), sl_buf_free(&own);
	return rc;
}

/* ---------------------------------------------------------------- operations ---- */

static int az_put_(sl_store *s, const char *key, const void *p, size_t n, bool exclusive,
                   sl_error *err)
{
	sl_buf resp = {0};
	az_req r = {.method = "PUT",
	            .key = key,
	            .body = p ? p : "",
	            .nbody = n,
	            .resp = &resp,
	            .extra = exclusive ? "If-None-Match: *" : NULL};
	int rc = az_do(s, &r, err);
	if (rc == 0 && exclusive && (r.status == 409 || r.status == 412))
		rc = SL_STORE_EXISTS;
	else if (rc == 0 && r.status != 201)
		rc = az_fail(s, &r, sl_buf_cstr(&resp), err);
	sl_buf_free(&resp);
	return rc;
}

static int az_put(sl_store *s, const char *key, const void *p, size_t n, sl_error *err)
{
	return az_put_(s, key, p, n, false, err);
}

static int az_create_new(sl_store *s, const char *key, const void *p, size_t n, sl_error *err)
{
	return az_put_(s, key, p, n, true, err);
}

static int az_get_(sl_store *s, const char *key, const char *range, sl_buf *out, sl_error *err)
{
	az_req r = {.method = "GET", .key = key, .resp = out, .extra = range};
	SL_TRY(az_do(s, &r, err));
	if (r.status == 404 && !strstr(sl_buf_cstr(out), "ContainerNotFound"))
		return SL_STORE_MISSING;
	if (r.status != 200 && r.status != 206)
		return az_fail(s, &r, sl_buf_cstr(out), err);
	return 0;
}

static int az_get(sl_store *s, const char *key, sl_buf *out, sl_error *err)
{
	return az_get_(s, key, NULL, out, err);
}

static int az_get_range(sl_store *s, const char *key, int64_t off, void *dst, size_t n,
                        sl_error *err)
{
	if (n == 0)
		return 0;
	char range[96];
	snprintf(range, sizeof range, "x-ms-range: bytes=%lld-%lld", (long long)off,
	         (long long)(off + (int64_t)n - 1));
	sl_buf b = {0};
	int rc = az_get_(s, key, range, &b, err);
	if (rc == 0 && b.len != n)
		rc = sl_error_set(err, SL_ERR_IO, "%s store %s: %s is shorter than expected",
		                  s->what, s->url, key);
	if (rc == 0)
		memcpy(dst, b.data, n);
	sl_buf_free(&b);
	return rc;
}

static int az_size(sl_store *s, const char *key, int64_t *out, sl_error *err)
{
	az_req r = {.method = "HEAD", .key = key};
	SL_TRY(az_do(s, &r, err));
	if (r.status == 404)
		return SL_STORE_MISSING;
	if (r.status != 200)
		return az_fail(s, &r, NULL, err);
	*out = r.length;
	return 0;
}

static int az_del(sl_store *s, const char *key, sl_error *err)
{
	sl_buf resp = {0};
	az_req r = {.method = "DELETE", .key = key, .resp = &resp};
	int rc = az_do(s, &r, err);
	if (rc == 0 && r.status != 202 && r.status != 200 &&
	    !(r.status == 404 && !strstr(sl_buf_cstr(&resp), "ContainerNotFound")))
		rc = az_fail(s, &r, sl_buf_cstr(&resp), err);
	sl_buf_free(&resp);
	return rc;
}

static int az_list(sl_store *s, const char *prefix, sl_store_list_fn fn, void *ctx, sl_error *err)
{
	sl_buf full = {0}, q = {0}, resp = {0};
	if (*s->prefix)
		sl_buf_printf(&full, "%s/", s->prefix);
	sl_buf_puts(&full, prefix);
	size_t strip = *s->prefix ? strlen(s->prefix) + 1 : 0;
	char marker[1024] = "", name[2048], size[32];
	int rc = 0;
	for (;;) {
		sl_buf_reset(&q);
		sl_buf_puts(&q, "restype=container&comp=list&prefix=");
		sl_sigv4_uri_encode(&q, sl_buf_cstr(&full), false);
		if (marker[0]) {
			sl_buf_puts(&q, "&marker=");
			sl_sigv4_uri_encode(&q, marker, false);
		}
		az_req r = {.method = "GET", .query = sl_buf_cstr(&q), .resp = &resp};
		if ((rc = az_do(s, &r, err)) < 0)
			break;
		if (r.status != 200) {
			rc = az_fail(s, &r, sl_buf_cstr(&resp), err);
			break;
		}
		const char *p = sl_buf_cstr(&resp), *b;
		while (rc == 0 && (b = strstr(p, "<Blob>")) != NULL) {
			const char *end = strstr(b, "</Blob>");
			if (!end || !sl_http_xml(b, "Name", name, sizeof name) ||
			    !sl_http_xml(b, "Content-Length", size, sizeof size)) {
				rc = sl_error_set(err, SL_ERR_IO,
				                  "%s store %s: a listing without names", s->what,
				                  s->url);
				break;
			}
			if (strlen(name) >= strip)
				rc = fn(ctx,
				        &(sl_store_object){.key = name + strip,
				                           .size = strtoll(size, NULL, 10)},
				        err);
			p = end;
		}
		if (rc != 0 ||
		    !sl_http_xml(sl_buf_cstr(&resp), "NextMarker", marker, sizeof marker) ||
		    !marker[0])
			break;
	}
	sl_buf_free(&full), sl_buf_free(&q), sl_buf_free(&resp);
	return rc;
}

static int az_check(sl_store *s, sl_error *err)
{
	char where[600];
	snprintf(where, sizeof where, "%s store %s", s->what, s->url);
	return sl_store_probe(&sl_azure_store_ops, s, where, err);
}

/* ---------------------------------------------------------------- streamed writes ---- */

static int az_writer_open(sl_store *s, const char *key, sl_store_writer **out, sl_error *err)
{
	(void)err;
	sl_store_writer *w = sl_calloc(1, sizeof *w);
	w->s = s;
	w->key = sl_strdup(key);
	*out = w;
	return 0;
}

/* Put the buffered block: ids of one length, base64 of "block-NNNNNN". */
static int az_block(sl_store_writer *w, sl_error *err)
{
	char raw[32], id[64];
	snprintf(raw, sizeof raw, "block-%06d", w->blocks);
	EVP_EncodeBlock((unsigned char *)id, (const unsigned char *)raw, (int)strlen(raw));
	sl_buf q = {0}, resp = {0};
	sl_buf_puts(&q, "comp=block&blockid=");
	sl_sigv4_uri_encode(&q, id, false);
	az_req r = {.method = "PUT",
	            .key = w->key,
	            .query = sl_buf_cstr(&q),
	            .body = w->block.data ? (const void *)w->block.data : "",
	            .nbody = w->block.len,
	            .resp = &resp};
	int rc = az_do(w->s, &r, err);
	if (rc == 0 && r.status != 201)
		rc = az_fail(w->s, &r, sl_buf_cstr(&resp), err);
	if (rc == 0) {
		sl_buf_printf(&w->list, "<Latest>%s</Latest>", id);
		w->blocks++;
	}
	sl_buf_reset(&w->block);
	sl_buf_free(&q), sl_buf_free(&resp);
	return rc;
}

static int az_write(sl_store_writer *w, const void *p, size_t n, sl_error *err)
{
	sl_buf_append(&w->block, p, n);
	if (w->block.len >= AZ_BLOCK)
		return az_block(w, err);
	return 0;
}

static void az_abort(sl_store_writer *w)
{
	if (!w)
		return; /* uncommitted blocks are discarded by the service after a week */
	free(w->key);
	sl_buf_free(&w->block), sl_buf_free(&w->list);
	free(w);
}

static int az_commit(sl_store_writer *w, sl_error *err)
{
	int rc;
	if (w->blocks == 0) {
		rc = az_put(w->s, w->key, w->block.data, w->block.len, err);
	} else {
		rc = w->block.len ? az_block(w, err) : 0;
		if (rc == 0) {
			sl_buf body = {0}, resp = {0};
			sl_buf_printf(&body,
			              "<?xml version=\"1.0\" "
			              "encoding=\"utf-8\"?><BlockList>%s</BlockList>",
			              sl_buf_cstr(&w->list));
			az_req r = {.method = "PUT",
			            .key = w->key,
			            .query = "comp=blocklist",
			            .body = body.data,
			            .nbody = body.len,
			            .resp = &resp};
			rc = az_do(w->s, &r, err);
			if (rc == 0 && r.status != 201)
				rc = az_fail(w->s, &r, sl_buf_cstr(&resp), err);
			sl_buf_free(&body), sl_buf_free(&resp);
		}
	}
	az_abort(w);
	return rc;
}

const sl_store_ops sl_azure_store_ops = {
        .scheme = "azure",
        .open = az_open,
        .close = az_close,
        .check = az_check,
        .put = az_put,
        .create_new = az_create_new,
        .get = az_get,
        .get_range = az_get_range,
        .size = az_size,
        .list = az_list,
        .del = az_del,
        .writer_open = az_writer_open,
        .write = az_write,
        .commit = az_commit,
        .abort = az_abort,
};
