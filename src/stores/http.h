/* What the HTTP object stores (s3.c, azure.c) share: a pool of libcurl handles, one request
 * tried again on 5xx, 429 and network errors (each attempt signed afresh), and reading the
 * small XML documents those APIs answer with. */
#ifndef SL_STORES_HTTP_H
#define SL_STORES_HTTP_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

#define SL_HTTP_POOL 8
#define SL_HTTP_TRIES 5

typedef struct sl_http_pool {
	pthread_mutex_t mu;
	CURL *h[SL_HTTP_POOL];
	int n;
} sl_http_pool;

void sl_http_pool_init(sl_http_pool *p);
void sl_http_pool_free(sl_http_pool *p);

typedef struct sl_http_req {
	const char *method;
	const char *url;
	const void *body; /* NULL: none */
	size_t nbody;
	/* Called before each attempt: the headers to send (signed now). */
	struct curl_slist *(*headers)(void *ctx, sl_error *err);
	void *ctx;
	/* out */
	long status;
	sl_buf *resp; /* the body (reset per attempt) */
	char etag[128];
	int64_t length;  /* Content-Length, -1 when absent */
	int retry_after; /* Retry-After in seconds, -1 when absent (or an HTTP-date) */
	char msg[256];   /* curl's error on a network failure */
	/* in: attempts (0: SL_HTTP_TRIES); 1 leaves retrying to the caller */
	int tries;
	/* in: the most an attempt may take, in ms (0: no limit but the low-speed one) */
	long timeout_ms;
} sl_http_req;

/* Perform r, again after 0.2, 0.4, 0.8, 1.6 s (r->tries attempts in all) while it fails with
 * a network error, 5xx or 429. Returns 0 with r->status set (any status: the caller judges), or -1
 * after the last network error (r->msg says it; err is not set). Headers that fail to build: that
 * error. */
int sl_http_do(sl_http_pool *pool, sl_http_req *r, sl_error *err);

/* The text of the first <tag>...</tag> after `from`, entities decoded, into out (n bytes);
 * NULL when absent, else where the element ends. */
const char *sl_http_xml(const char *from, const char *tag, char *out, size_t n);

#endif
