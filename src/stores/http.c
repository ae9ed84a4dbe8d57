/* Shared HTTP plumbing of the object stores (see http.h). */
#include "stores/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void http_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void sl_http_pool_init(sl_http_pool *p)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, http_global_init);
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
}

void sl_http_pool_free(sl_http_pool *p)
{
	for (int i = 0; i < p->n; i++)
		curl_easy_cleanup(p->h[i]);
	p->n = 0;
	pthread_mutex_destroy(&p->mu);
}

static CURL *http_take(sl_http_pool *p)
{
	pthread_mutex_lock(&p->mu);
	CURL *c = p->n ? p->h[--p->n] : NULL;
	pthread_mutex_unlock(&p->mu);
	return c ? c : curl_easy_init();
}

static void http_give(sl_http_pool *p, CURL *c)
{
	pthread_mutex_lock(&p->mu);
	if (p->n < SL_HTTP_POOL) {
		p->h[p->n++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	if (c)
		curl_easy_cleanup(c);
}

static size_t http_body(char *p, size_t size, size_t n, void *ctx)
{
	sl_buf_append(ctx, p, size * n);
	return size * n;
}

static size_t http_header(char *p, size_t size, size_t n, void *ctx)
{
	sl_http_req *r = ctx;
	size_t len = size * n;
	if (len > 5 && strncasecmp(p, "etag:", 5) == 0) {
		const char *v = p + 5;
		while (*v == ' ')
			v++;
		snprintf(r->etag, sizeof r->etag, "%.*s", (int)strcspn(v, "\r\n"), v);
	} else if (len > 15 && strncasecmp(p, "content-length:", 15) == 0) {
		r->length = strtoll(p + 15, NULL, 10);
	} else if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
		int s = atoi(p + 12);
		r->retry_after = s > 0 ? s : -1;
	}
	return len;
}

int sl_http_do(sl_http_pool *pool, sl_http_req *r, sl_error *err)
{
	sl_buf own = {0};
	sl_buf *resp = r->resp ? r->resp : &own;
	int rc = -1;
	int tries = r->tries > 0 ? r->tries : SL_HTTP_TRIES;
	for (int attempt = 0; attempt < tries; attempt++) {
		if (attempt)
			usleep((useconds_t)(200000u << (attempt - 1)));
		struct curl_slist *hl = r->headers(r->ctx, err);
		if (hl == NULL) {
			rc = err->code ? err->code : SL_ERR_INTERNAL;
			break;
		}
		CURL *c = http_take(pool);
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, r->url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
		if (r->timeout_ms > 0)
			curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_header);
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
		r->retry_after = -1;
		r->status = 0;
		CURLcode cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		curl_slist_free_all(hl);
		http_give(pool, c);
		if (cc != CURLE_OK) {
			snprintf(r->msg, sizeof r->msg, "%s", curl_easy_strerror(cc));
			rc = -1;
			continue;
		}
		rc = 0;
		if (r->status >= 500 || r->status == 429)
			continue; /* the caller reports the last answer if all fail */
		break;
	}
	sl_buf_free(&own);
	return rc;
}

const char *sl_http_xml(const char *from, const char *tag, char *out, size_t n)
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
	static const struct {
		const char *ent;
		char c;
	} ents[] = {
	        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
	size_t o = 0;
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
