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
 * are tried again (stores/http.c). Conditional create is
 * If-None-Match: * (S3 has it since 2024; a store without it overwrites). */
#include "stores/s3.h"

#include <openssl/evp.h>
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
#include "stores/http.h"

#define S3_PART ((size_t)8 << 20)

struct sl_store {
	char *bucket, *prefix; /* prefix: "" or "dir/sub" without slashes at its ends */
	char *endpoint;        /* scheme://host[:port] */
	char *host;            /* the Host header */
	bool path_style;
	char region[64];
	char *what, *url;
	sl_http_pool pool;
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
	sl_http_pool_free(&s->pool);
	free(s->bucket), free(s->prefix), free(s->endpoint), free(s->host);
	free(s->what), free(s->url);
	free(s);
}

static int s3_open(const char *url, const char *what, const sl_store_settings *set, sl_store **out,
                   sl_error *err)
{
	const char *b = url + strlen("s3://");
	size_t bl = strcspn(b, "/?#");
	if (strncmp(url, "s3://", 5) != 0 || bl == 0 || b[bl] == '?' || b[bl] == '#')
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "%s url '%s' is not s3://BUCKET or s3://BUCKET/PREFIX", what,
		                    url);
	sl_store *s = sl_calloc(1, sizeof *s);
	sl_http_pool_init(&s->pool);
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
	const char *region = set->region;
	if (!region || !*region)
		region = getenv("AWS_REGION");
	if (!region || !*region)
		region = getenv("AWS_DEFAULT_REGION");
	snprintf(s->region, sizeof s->region, "%s", region && *region ? region : "us-east-1");
	const char *ep = set->endpoint;
	if (!ep || !*ep)
		ep = getenv("AWS_ENDPOINT_URL_S3");
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
		/* an S3-compatible store: buckets in the path unless told otherwise */
		s->path_style = set->path_style != 0;
		const char *h = strstr(s->endpoint, "://") + 3;
		if (s->path_style) {
			s->host = sl_strndup(h, strcspn(h, "/"));
		} else {
			sl_buf e = {0};
			sl_buf_printf(&e, "%s.%.*s", s->bucket, (int)strcspn(h, "/"), h);
			s->host = sl_strdup(sl_buf_cstr(&e));
			sl_buf_reset(&e);
			sl_buf_printf(&e, "%.*s%s", (int)(h - s->endpoint), s->endpoint, s->host);
			free(s->endpoint);
			s->endpoint = sl_strdup(sl_buf_cstr(&e));
			sl_buf_free(&e);
		}
	} else if (set->path_style == 1) {
		sl_buf e = {0};
		sl_buf_printf(&e, "s3.%s.amazonaws.com", s->region);
		s->host = sl_strdup(sl_buf_cstr(&e));
		sl_buf_reset(&e);
		sl_buf_printf(&e, "https://%s", s->host);
		s->endpoint = sl_strdup(sl_buf_cstr(&e));
		sl_buf_free(&e);
		s->path_style = true;
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

static void s3_hex(const unsigned char *h, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

/* One line naming what went wrong and the fix, from the status and S3's error document. */
static int s3_fail(sl_store *s, const s3_req *r, const char *resp, sl_error *err)
{
	char code[128] = "", msg[512] = "";
	if (resp) {
		sl_http_xml(resp, "Code", code, sizeof code);
		sl_http_xml(resp, "Message", msg, sizeof msg);
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

struct s3_sign {
	sl_store *s;
	const s3_req *r;
	const char *path, *hash, *md5b64;
	sl_aws_credentials cred;
};

/* The request's headers, signed now (called for every attempt). */
static struct curl_slist *s3_headers(void *ctx, sl_error *err)
{
	(void)err;
	struct s3_sign *g = ctx;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char amz[32];
	strftime(amz, sizeof amz, "%Y%m%dT%H%M%SZ", &tm);
	sl_sigv4_param hs[6];
	int nh = 0;
	hs[nh++] = (sl_sigv4_param){"host", g->s->host};
	hs[nh++] = (sl_sigv4_param){"x-amz-content-sha256", g->hash};
	hs[nh++] = (sl_sigv4_param){"x-amz-date", amz};
	if (g->cred.session_token[0])
		hs[nh++] = (sl_sigv4_param){"x-amz-security-token", g->cred.session_token};
	if (g->md5b64[0])
		hs[nh++] = (sl_sigv4_param){"content-md5", g->md5b64};
	sl_buf auth = {0};
	sl_sigv4_authorization(&auth, &g->cred, g->s->region, "s3", g->r->method, g->path,
	                       g->r->query, g->r->nquery, hs, nh, g->hash, amz);
	struct curl_slist *hl = NULL;
	char line[4200];
	for (int i = 1; i < nh; i++) { /* host: curl sends it */
		snprintf(line, sizeof line, "%s: %s", hs[i].name, hs[i].value);
		hl = curl_slist_append(hl, line);
	}
	snprintf(line, sizeof line, "Authorization: %s", sl_buf_cstr(&auth));
	hl = curl_slist_append(hl, line);
	hl = curl_slist_append(hl, "Expect:");
	if (g->r->extra_header)
		hl = curl_slist_append(hl, g->r->extra_header);
	if (!g->r->body)
		hl = curl_slist_append(hl, "Content-Type:");
	sl_buf_free(&auth);
	return hl;
}

/* Send the request, signed, trying again on 5xx, 429 and network errors. r->status is the
 * final status; the caller decides what a 404 means. */
static int s3_do(sl_store *s, s3_req *r, sl_error *err)
{
	struct s3_sign g = {.s = s, .r = r};
	SL_TRY(sl_aws_credentials_load(&g.cred, err));
	sl_buf path = {0}, url = {0}, q = {0};
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
	char hash[65], md5b64[32] = "";
	EVP_Digest(r->body ? r->body : "", r->nbody, h, NULL, EVP_sha256(), NULL);
	s3_hex(h, 32, hash);
	if (r->body) {
		EVP_Digest(r->body, r->nbody, md5, NULL, EVP_md5(), NULL);
		EVP_EncodeBlock((unsigned char *)md5b64, md5, 16);
	}
	g.path = sl_buf_cstr(&path);
	g.hash = hash;
	g.md5b64 = md5b64;
	sl_buf own = {0};
	sl_http_req hr = {.method = r->method,
	                  .url = sl_buf_cstr(&url),
	                  .body = r->body,
	                  .nbody = r->nbody,
	                  .headers = s3_headers,
	                  .ctx = &g,
	                  .resp = r->resp ? r->resp : &own};
	int rc = sl_http_do(&s->pool, &hr, err);
	r->status = hr.status;
	r->length = hr.length;
	memcpy(r->etag, hr.etag, sizeof r->etag);
	if (rc == -1) {
		rc = sl_error_set(err, SL_ERR_CONNECT, "%s store %s: %s %s: %s (is %s reachable?)",
		                  s->what, s->url, r->method, r->key ? r->key : "(the bucket)",
		                  hr.msg, s->endpoint);
		err->retryable = true;
	} else if (rc == 0 && (r->status >= 500 || r->status == 429)) {
		rc = s3_fail(s, r, sl_buf_cstr(hr.resp), err);
		err->retryable = true;
	}
	explicit_bzero(&g.cred, sizeof g.cred);
	sl_buf_free(&path), sl_buf_free(&url), sl_buf_free(&q), sl_buf_free(&own);
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
			if (!sl_http_xml(c, "Key", key, sizeof key) ||
			    !sl_http_xml(c, "Size", size, sizeof size)) {
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
		sl_http_xml(sl_buf_cstr(&resp), "IsTruncated", trunc, sizeof trunc);
		if (rc != 0 || strcmp(trunc, "true") != 0 ||
		    !sl_http_xml(sl_buf_cstr(&resp), "NextContinuationToken", token, sizeof token))
			break;
	}
	sl_buf_free(&full), sl_buf_free(&resp);
	return rc;
}

static int s3_check(sl_store *s, sl_error *err)
{
	char where[600];
	snprintf(where, sizeof where, "%s store %s", s->what, s->url);
	return sl_store_probe(&sl_s3_store_ops, s, where, err);
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
		else if (rc == 0 && !sl_http_xml(sl_buf_cstr(&resp), "UploadId", id, sizeof id))
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
