/* s3:// stores: Amazon S3 and S3-compatible stores (MinIO, Ceph, R2, GCS's XML interoperability
 * API), over the REST API (docs.aws.amazon.com/AmazonS3/latest/API/) with requests signed by
 * AWS Signature Version 4 in the Authorization header (formats/sigv4.h).
 *
 * Where: s3://BUCKET/PREFIX. The endpoint is AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL when set
 * (then buckets are addressed in the path, as S3-compatible stores want), else
 * https://BUCKET.s3.REGION.amazonaws.com. The region is AWS_REGION or AWS_DEFAULT_REGION, else
 * us-east-1. Credentials are found as clients/aws.h says (the AWS_* variables, or a profile of
 * the shared credentials file), again for every request, so rotated keys are used.
 *
 * Every body is signed with its SHA-256 (x-amz-content-sha256), so the store refuses a body
 * changed on the way, and carries Content-MD5. Objects over one part (8 MiB) go as multipart
 * uploads, visible only when completed. Requests that fail with 5xx, 429 or a network error
 * are tried again, 5 times in all, waiting 0.2, 0.4, 0.8, 1.6 s. Conditional create is
 * If-None-Match: * (S3 has it since 2024; a store without it overwrites). */
#include "stores/s3.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clients/aws.h"
#include "core/log.h"
#include "core/mem.h"
#include "formats/sigv4.h"

#define S3_PART ((size_t)8 << 20)
#define S3_TRIES 5
#define S3_POOL 8

struct sl_store {
	char *bucket, *prefix; /* prefix: "" or "dir/sub" without slashes at its ends */
	char *endpoint;        /* scheme://host[:port] */
	char *host;            /* the Host header */
	bool path_style;
	char region[64];
	char *what, *url;
	pthread_mutex_t mu;
	CURL *pool[S3_POOL];
	int npool;
};

struct sl_store_writer {
	sl_store *s;
	char *key;
	sl_buf part;
	char *upload_id;
	sl_buf etags; /* "<Part><PartNumber>n</PartNumber><ETag>e</ETag></Part>" each */
	int parts;
};

typedef struct s3_req {
	const char *method;
	const char *key; /* NULL: the bucket */
	const sl_sigv4_param *query;
	int nquery;
	const char *extra_header; /* one more header line, or NULL */
	const void *body;
	size_t nbody;
	/* out */
	long status;
	sl_buf *resp;
	char etag[128];
	int64_t length;
} s3_req;

/* ---------------------------------------------------------------- open ---- */

static void s3_free(sl_store *s)
{
	for (int i = 0; i < s->npool; i++)
		curl_easy_cleanup(s->pool[i]);
	pthread_mutex_destroy(&s->mu);
	free(s->bucket), free(s->prefix), free(s->endpoint), free(s->host);
	free(s->what), free(s->url);
	free(s);
}

static void s3_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int s3_open(const char *url, const char *what, sl_store **out, sl_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, s3_global_init);
	const char *b = url + strlen("s3://");
	size_t bl = strcspn(b, "/?#");
	if (strncmp(url, "s3://", 5) != 0 || bl == 0 || b[bl] == '?' || b[bl] == '#')
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "%s url '%s' is not s3://BUCKET or s3://BUCKET/PREFIX", what,
		                    url);
	sl_store *s = sl_calloc(1, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	s->what = sl_strdup(what);
	s->url = sl_strdup(url);
	s->bucket = sl_strndup(b, bl);
	const char *p = b + bl;
	while (*p == '/')
		p++;
	s->prefix = sl_strdup(p);
	size_t n = strlen(s->prefix);
	while (n > 0 && s->prefix[n - 1] == '/')
		s->prefix[--n] = 0;
	const char *region = getenv("AWS_REGION");
	if (!region || !*region)
		region = getenv("AWS_DEFAULT_REGION");
	snprintf(s->region, sizeof s->region, "%s", region && *region ? region : "us-east-1");
	const char *ep = getenv("AWS_ENDPOINT_URL_S3");
	if (!ep || !*ep)
		ep = getenv("AWS_ENDPOINT_URL");
	if (ep && *ep) {
		if (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0) {
			s3_free(s);
			return sl_error_set(
			        err, SL_ERR_CONFIG,
			        "AWS_ENDPOINT_URL '%s' is not an http:// or https:// URL", ep);
		}
		s->endpoint = sl_strdup(ep);
		n = strlen(s->endpoint);
		while (n > 0 && s->endpoint[n - 1] == '/')
			s->endpoint[--n] = 0;
		s->path_style = true;
		const char *h = strstr(s->endpoint, "://") + 3;
		s->host = sl_strndup(h, strcspn(h, "/"));
	} else {
		sl_buf e = {0};
		sl_buf_printf(&e, "%s.s3.%s.amazonaws.com", s->bucket, s->region);
		s->host = sl_strdup(sl_buf_cstr(&e));
		sl_buf_reset(&e);
		sl_buf_printf(&e, "https://%s", s->host);
		s->endpoint = sl_strdup(sl_buf_cstr(&e));
		sl_buf_free(&e);
	}
	*out = s;
	return 0;
}

static void s3_close(sl_store *s)
{
	if (s)
		s3_free(s);
}

/* ---------------------------------------------------------------- requests ---- */

static CURL *s3_handle(sl_store *s)
{
	pthread_mutex_lock(&s->mu);
	CURL *c = s->npool ? s->pool[--s->npool] : NULL;
	pthread_mutex_unlock(&s->mu);
	return c ? c : curl_easy_init();
}

static void s3_release(sl_store *s, CURL *c)
{
	pthread_mutex_lock(&s->mu);
	if (s->npool < S3_POOL) {
		s->pool[s->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	if (c)
		curl_easy_cleanup(c);
}

/* The object's path in the request: /KEY (virtual host) or /BUCKET/KEY (path style), the
 * prefix before the key, URI-encoded. */
static void s3_path(const sl_store *s, const char *key, sl_buf *out)
{
	sl_buf raw = {0};
	if (s->path_style)
		sl_buf_printf(&raw, "/%s", s->bucket);
	if (key) {
		sl_buf_putc(&raw, '/');
		if (*s->prefix)
			sl_buf_printf(&raw, "%s/", s->prefix);
		sl_buf_puts(&raw, key);
	} else if (!s->path_style) {
		sl_buf_putc(&raw, '/');
	}
	sl_buf_reset(out);
	sl_sigv4_uri_encode(out, sl_buf_cstr(&raw), true);
	sl_buf_free(&raw);
}

static size_t s3_body(char *p, size_t size, size_t n, void *ctx)
{
	sl_buf_append(ctx, p, size * n);
	return size * n;
}

static size_t s3_header(char *p, size_t size, size_t n, void *ctx)
{
	s3_req *r = ctx;
	size_t len = size * n;
	if (len > 5 && strncasecmp(p, "etag:", 5) == 0) {
		const char *v = p + 5;
		while (*v == ' ')
			v++;
		size_t vl = strcspn(v, "\r\n");
		snprintf(r->etag, sizeof r->etag, "%.*s", (int)vl, v);
	} else if (len > 15 && strncasecmp(p, "content-length:", 15) == 0) {
		r->length = strtoll(p + 15, NULL, 10);
	}
	return len;
}

static void s3_hex(const unsigned char *h, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

/* The text of <tag>...</tag> in xml after `from`, entities decoded, into out; NULL when absent,
 * else where the element ends. */
static const char *s3_xml(const char *from, const char *tag, char *out, size_t n)
{
	char open[64], close[64];
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	const char *a = strstr(from, open);
	if (!a)
		return NULL;
	a += strlen(open);
	const char *z = strstr(a, close);
	if (!z)
		return NULL;
	size_t o = 0;
	static const struct {
		const char *ent, c;
	} ents[] = {
	        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
	for (const char *p = a; p < z && o + 1 < n; p++) {
		char c = *p;
		for (size_t e = 0; c == '&' && e < sizeof ents / sizeof *ents; e++)
			if (strncmp(p, ents[e].ent, strlen(ents[e].ent)) == 0) {
				c = ents[e].c;
				p += strlen(ents[e].ent) - 1;
				break;
			}
		out[o++] = c;
	}
	out[o] = 0;
	return z + strlen(close);
}

/* One line naming what went wrong and the fix, from the status and S3's error document. */
static int s3_fail(sl_store *s, const s3_req *r, const char *resp, sl_error *err)
{
	char code[128] = "", msg[512] = "";
	if (resp) {
		s3_xml(resp, "Code", code, sizeof code);
		s3_xml(resp, "Message", msg, sizeof msg);
	}
	const char *what = r->key ? r->key : "(the bucket)";
	if (strcmp(code, "InvalidAccessKeyId") == 0 || strcmp(code, "SignatureDoesNotMatch") == 0 ||
	    strcmp(code, "ExpiredToken") == 0 || strcmp(code, "InvalidToken") == 0)
		return sl_error_set(
		        err, SL_ERR_CONNECT,
		        "%s store %s: the credentials were refused (%s): set "
		        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for "
		        "temporary ones), or AWS_PROFILE, to keys of this store",
		        s->what, s->url, code);
	if (strcmp(code, "NoSuchBucket") == 0)
		return sl_error_set(
		        err, SL_ERR_CONFIG,
		        "%s store %s: bucket '%s' does not exist (create it, or fix the url)",
		        s->what, s->url, s->bucket);
	if (strcmp(code, "AccessDenied") == 0 || (r->status == 403 && !*code))
		return sl_error_set(
		        err, SL_ERR_PRIVILEGE,
		        "%s store %s: access denied to %s %s (grant these credentials "
		        "s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on it)",
		        s->what, s->url, r->method, what);
	return sl_error_set(err, SL_ERR_IO, "%s store %s: %s %s: HTTP %ld%s%s%s%s", s->what, s->url,
	                    r->method, what, r->status, *code ? " " : "", code, *msg ? ": " : "",
	                    msg);
}

/* Send the request, signed, trying again on 5xx, 429 and network errors. r->status is the
 * final status; the caller decides what a 404 means. */
static int s3_do(sl_store *s, s3_req *r, sl_error *err)
{
	sl_aws_credentials cred;
	SL_TRY(sl_aws_credentials_load(&cred, err));
	sl_buf path = {0}, url = {0}, auth = {0}, q = {0};
	s3_path(s, r->key, &path);
	for (int i = 0; i < r->nquery; i++) {
		sl_buf_putc(&q, i ? '&' : '?');
		sl_sigv4_uri_encode(&q, r->query[i].name, false);
		if (*r->query[i].value || strcmp(r->query[i].name, "uploads") != 0) {
			sl_buf_putc(&q, '=');
			sl_sigv4_uri_encode(&q, r->query[i].value, false);
		}
	}
	sl_buf_printf(&url, "%s%s%s", s->endpoint, sl_buf_cstr(&path),
	              q.len ? sl_buf_cstr(&q) : "");
	unsigned char h[32], md5[16];
	char hash[65];
	EVP_Digest(r->body ? r->body : "", r->nbody, h, NULL, EVP_sha256(), NULL);
	s3_hex(h, 32, hash);
	char md5b64[32] = "";
	if (r->body) {
		EVP_Digest(r->body, r->nbody, md5, NULL, EVP_md5(), NULL);
		EVP_EncodeBlock((unsigned char *)md5b64, md5, 16);
	}
	int rc = 0;
	sl_buf *resp = r->resp;
	sl_buf own = {0};
	if (!resp)
		resp = &own;
	for (int attempt = 0; attempt < S3_TRIES; attempt++) {
		if (attempt)
			usleep((useconds_t)(200000u << (attempt - 1)));
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		char amz[32];
		strftime(amz, sizeof amz, "%Y%m%dT%H%M%SZ", &tm);
		sl_sigv4_param hs[6];
		int nh = 0;
		hs[nh++] = (sl_sigv4_param){"host", s->host};
		hs[nh++] = (sl_sigv4_param){"x-amz-content-sha256", hash};
		hs[nh++] = (sl_sigv4_param){"x-amz-date", amz};
		if (cred.session_token[0])
			hs[nh++] = (sl_sigv4_param){"x-amz-security-token", cred.session_token};
		if (md5b64[0])
			hs[nh++] = (sl_sigv4_param){"content-md5", md5b64};
		sl_buf_reset(&auth);
		sl_sigv4_authorization(&auth, &cred, s->region, "s3", r->method, sl_buf_cstr(&path),
		                       r->query, r->nquery, hs, nh, hash, amz);
		struct curl_slist *hl = NULL;
		char line[4200];
		for (int i = 1; i < nh; i++) { /* host: curl sends it */
			snprintf(line, sizeof line, "%s: %s", hs[i].name, hs[i].value);
			hl = curl_slist_append(hl, line);
		}
		snprintf(line, sizeof line, "Authorization: %s", sl_buf_cstr(&auth));
		hl = curl_slist_append(hl, line);
		hl = curl_slist_append(hl, "Expect:");
		if (r->extra_header)
			hl = curl_slist_append(hl, r->extra_header);
		if (!r->body)
			hl = curl_slist_append(hl, "Content-Type:");
		CURL *c = s3_handle(s);
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, sl_buf_cstr(&url));
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s3_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s3_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
		if (strcmp(r->method, "HEAD") == 0)
			curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		else if (strcmp(r->method, "GET") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
		if (r->body || strcmp(r->method, "PUT") == 0 || strcmp(r->method, "POST") == 0) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->nbody);
		}
		sl_buf_reset(resp);
		r->etag[0] = 0;
		r->length = -1;
		CURLcode cc = curl_easy_perform(c);
		r->status = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		curl_slist_free_all(hl);
		s3_release(s, c);
		if (cc != CURLE_OK) {
			rc = sl_error_set(err, SL_ERR_CONNECT,
			                  "%s store %s: %s %s: %s (is %s reachable?)", s->what,
			                  s->url, r->method, r->key ? r->key : "(the bucket)",
			                  curl_easy_strerror(cc), s->endpoint);
			err->retryable = true;
			continue;
		}
		if (r->status >= 500 || r->status == 429) {
			rc = s3_fail(s, r, sl_buf_cstr(resp), err);
			err->retryable = true;
			continue;
		}
		rc = 0;
		break;
	}
	explicit_bzero(&cred, sizeof cred);
	sl_buf_free(&path), sl_buf_free(&url), sl_buf_free(&auth), sl_buf_free(&q);
	sl_buf_free(&own);
	return rc;
}

/* ---------------------------------------------------------------- operations ---- */

static int s3_put_(sl_store *s, const char *key, const void *p, size_t n, bool exclusive,
                   sl_error *err)
{
	s3_req r = {.method = "PUT",
	            .key = key,
	            .body = p ? p : "",
	            .nbody = n,
	            .extra_header = exclusive ? "If-None-Match: *" : NULL};
	sl_buf resp = {0};
	r.resp = &resp;
	int rc = s3_do(s, &r, err);
	if (rc == 0 && exclusive && r.status == 412)
		rc = SL_STORE_EXISTS;
	else if (rc == 0 && r.status != 200)
		rc = s3_fail(s, &r, sl_buf_cstr(&resp), err);
	sl_buf_free(&resp);
	return rc;
}

static int s3_put(sl_store *s, const char *key, const void *p, size_t n, sl_error *err)
{
	return s3_put_(s, key, p, n, false, err);
}

static int s3_create_new(sl_store *s, const char *key, const void *p, size_t n, sl_error *err)
{
	return s3_put_(s, key, p, n, true, err);
}

static int s3_get_(sl_store *s, const char *key, const char *range, sl_buf *out, sl_error *err)
{
	s3_req r = {.method = "GET", .key = key, .resp = out, .extra_header = range};
	SL_TRY(s3_do(s, &r, err));
	if (r.status == 404)
		return SL_STORE_MISSING;
	if (r.status != 200 && r.status != 206)
		return s3_fail(s, &r, sl_buf_cstr(out), err);
	return 0;
}

static int s3_get(sl_store *s, const char *key, sl_buf *out, sl_error *err)
{
	return s3_get_(s, key, NULL, out, err);
}

static int s3_get_range(sl_store *s, const char *key, int64_t off, void *dst, size_t n,
                        sl_error *err)
{
	if (n == 0)
		return 0;
	char range[96];
	snprintf(range, sizeof range, "Range: bytes=%lld-%lld", (long long)off,
	         (long long)(off + (int64_t)n - 1));
	sl_buf b = {0};
	int rc = s3_get_(s, key, range, &b, err);
	if (rc == 0 && b.len != n)
		rc = sl_error_set(err, SL_ERR_IO, "%s store %s: %s is shorter than expected",
		                  s->what, s->url, key);
	if (rc == 0)
		memcpy(dst, b.data, n);
	sl_buf_free(&b);
	return rc;
}

static int s3_size(sl_store *s, const char *key, int64_t *out, sl_error *err)
{
	s3_req r = {.method = "HEAD", .key = key};
	SL_TRY(s3_do(s, &r, err));
	if (r.status == 404)
		return SL_STORE_MISSING;
	if (r.status != 200)
		return s3_fail(s, &r, NULL, err);
	*out = r.length;
	return 0;
}

static int s3_del(sl_store *s, const char *key, sl_error *err)
{
	s3_req r = {.method = "DELETE", .key = key};
	SL_TRY(s3_do(s, &r, err));
	if (r.status != 204 && r.status != 200 && r.status != 404)
		return s3_fail(s, &r, NULL, err);
	return 0;
}

static int s3_list(sl_store *s, const char *prefix, sl_store_list_fn fn, void *ctx, sl_error *err)
{
	sl_buf full = {0}, resp = {0};
	if (*s->prefix)
		sl_buf_printf(&full, "%s/", s->prefix);
	sl_buf_puts(&full, prefix);
	size_t strip = *s->prefix ? strlen(s->prefix) + 1 : 0;
	char token[1024] = "", key[2048], size[32];
	int rc = 0;
	for (;;) {
		sl_sigv4_param q[3] = {{"list-type", "2"},
		                       {"prefix", sl_buf_cstr(&full)},
		                       {"continuation-token", token}};
		s3_req r = {.method = "GET", .query = q, .nquery = token[0] ? 3 : 2, .resp = &resp};
		if ((rc = s3_do(s, &r, err)) < 0)
			break;
		if (r.status != 200) {
			rc = s3_fail(s, &r, sl_buf_cstr(&resp), err);
			break;
		}
		const char *p = sl_buf_cstr(&resp), *c;
		while (rc == 0 && (c = strstr(p, "<Contents>")) != NULL) {
			const char *end = strstr(c, "</Contents>");
			if (!end)
				break;
			if (!s3_xml(c, "Key", key, sizeof key) ||
			    !s3_xml(c, "Size", size, sizeof size)) {
				rc = sl_error_set(err, SL_ERR_IO,
				                  "%s store %s: a listing without keys", s->what,
				                  s->url);
				break;
			}
			if (strlen(key) >= strip)
				rc = fn(ctx,
				        &(sl_store_object){.key = key + strip,
				                           .size = strtoll(size, NULL, 10)},
				        err);
			p = end;
		}
		char trunc[16] = "";
		s3_xml(sl_buf_cstr(&resp), "IsTruncated", trunc, sizeof trunc);
		if (rc != 0 || strcmp(trunc, "true") != 0 ||
		    !s3_xml(sl_buf_cstr(&resp), "NextContinuationToken", token, sizeof token))
			break;
	}
	sl_buf_free(&full), sl_buf_free(&resp);
	return rc;
}

static int s3_check(sl_store *s, sl_error *err)
{
	char key[64];
	snprintf(key, sizeof key, "_sluice/check-%ld", (long)getpid());
	SL_TRY(s3_put(s, key, "ok", 2, err));
	sl_buf b = {0};
	int rc = s3_get(s, key, &b, err);
	if (rc == SL_STORE_MISSING || (rc == 0 && (b.len != 2 || memcmp(b.data, "ok", 2) != 0)))
		rc = sl_error_set(err, SL_ERR_IO, "%s store %s does not read back what was written",
		                  s->what, s->url);
	sl_buf_free(&b);
	if (rc == 0)
		rc = s3_del(s, key, err);
	return rc;
}

/* ---------------------------------------------------------------- streamed writes ---- */

static int s3_writer_open(sl_store *s, const char *key, sl_store_writer **out, sl_error *err)
{
	(void)err;
	sl_store_writer *w = sl_calloc(1, sizeof *w);
	w->s = s;
	w->key = sl_strdup(key);
	*out = w;
	return 0;
}

static int s3_part(sl_store_writer *w, sl_error *err)
{
	sl_store *s = w->s;
	sl_buf resp = {0};
	int rc = 0;
	if (!w->upload_id) {
		sl_sigv4_param q[] = {{"uploads", ""}};
		s3_req r = {
		        .method = "POST", .key = w->key, .query = q, .nquery = 1, .resp = &resp};
		rc = s3_do(s, &r, err);
		char id[1024];
		if (rc == 0 && r.status != 200)
			rc = s3_fail(s, &r, sl_buf_cstr(&resp), err);
		else if (rc == 0 && !s3_xml(sl_buf_cstr(&resp), "UploadId", id, sizeof id))
			rc = sl_error_set(err, SL_ERR_IO, "%s store %s: no UploadId for %s",
			                  s->what, s->url, w->key);
		else if (rc == 0)
			w->upload_id = sl_strdup(id);
	}
	if (rc == 0) {
		char num[16];
		snprintf(num, sizeof num, "%d", w->parts + 1);
		sl_sigv4_param q[] = {{"partNumber", num}, {"uploadId", w->upload_id}};
		s3_req r = {.method = "PUT",
		            .key = w->key,
		            .query = q,
		            .nquery = 2,
		            .body = w->part.data ? (const void *)w->part.data : "",
		            .nbody = w->part.len,
		            .resp = &resp};
		rc = s3_do(s, &r, err);
		if (rc == 0 && (r.status != 200 || !r.etag[0]))
			rc = s3_fail(s, &r, sl_buf_cstr(&resp), err);
		if (rc == 0) {
			w->parts++;
			sl_buf_printf(&w->etags,
			              "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
			              w->parts, r.etag);
		}
	}
	sl_buf_reset(&w->part);
	sl_buf_free(&resp);
	return rc;
}

static int s3_write(sl_store_writer *w, const void *p, size_t n, sl_error *err)
{
	sl_buf_append(&w->part, p, n);
	if (w->part.len >= S3_PART)
		return s3_part(w, err);
	return 0;
}

static void s3_abort(sl_store_writer *w)
{
	if (!w)
		return;
	if (w->upload_id) {
		sl_error e = {0};
		sl_sigv4_param q[] = {{"uploadId", w->upload_id}};
		s3_req r = {.method = "DELETE", .key = w->key, .query = q, .nquery = 1};
		s3_do(w->s, &r, &e); /* else the bucket's lifecycle rule for incomplete uploads */
	}
	free(w->key), free(w->upload_id);
	sl_buf_free(&w->part), sl_buf_free(&w->etags);
	free(w);
}

static int s3_commit(sl_store_writer *w, sl_error *err)
{
	int rc;
	if (!w->upload_id) {
		rc = s3_put(w->s, w->key, w->part.data, w->part.len, err);
	} else {
		rc = w->part.len ? s3_part(w, err) : 0;
		if (rc == 0) {
			sl_buf body = {0}, resp = {0};
			sl_buf_printf(&body,
			              "<CompleteMultipartUpload>%s</CompleteMultipartUpload>",
			              sl_buf_cstr(&w->etags));
			sl_sigv4_param q[] = {{"uploadId", w->upload_id}};
			s3_req r = {.method = "POST",
			            .key = w->key,
			            .query = q,
			            .nquery = 1,
			            .body = body.data,
			            .nbody = body.len,
			            .resp = &resp};
			rc = s3_do(w->s, &r, err);
			/* S3 may answer 200 with an error document */
			if (rc == 0 && (r.status != 200 || strstr(sl_buf_cstr(&resp), "<Error>")))
				rc = s3_fail(w->s, &r, sl_buf_cstr(&resp), err);
			sl_buf_free(&body), sl_buf_free(&resp);
		}
		if (rc == 0) {
			free(w->upload_id);
			w->upload_id = NULL;
		}
	}
	s3_abort(w);
	return rc;
}

const sl_store_ops sl_s3_store_ops = {
        .scheme = "s3",
        .open = s3_open,
        .close = s3_close,
        .check = s3_check,
        .put = s3_put,
        .create_new = s3_create_new,
        .get = s3_get,
        .get_range = s3_get_range,
        .size = s3_size,
        .list = s3_list,
        .del = s3_del,
        .writer_open = s3_writer_open,
        .write = s3_write,
        .commit = s3_commit,
        .abort = s3_abort,
};
