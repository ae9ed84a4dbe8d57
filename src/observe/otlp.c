/* The OTLP/HTTP metrics exporter: see otlp.h. Threads: one exporter thread, woken by its
 * interval or by sl_otlp_stop (mutex + condition); it reads the registry through its own lock
 * and owns its HTTP handle; nothing else is shared. */
#include "observe/otlp.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/thread.h"
#include "stores/http.h"

struct sl_otlp {
	sl_metrics *m;
	char *url;
	bool json;
	char **res; /* resource attributes: key, value, ... */
	int nres;
	struct curl_slist *headers;
	int64_t interval_ms, timeout_ms;
	uint64_t start_ns;
	sl_http_pool pool;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	bool failing; /* the last export failed (warned once) */
};

static uint64_t sl_otlp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* %XX decoded, in place */
/* A duration variable in milliseconds (at least 100) into *out; unset or empty: *out stays */
static int sl_otlp_ms(const char *var, const char *v, int64_t *out, sl_error *err)
{
	if (v == NULL || *v == '\0')
		return 0;
	char *end;
	long long ms = strtoll(v, &end, 10);
	if (*end || ms < 100)
		return sl_error_set(err, SL_ERR_CONFIG, "%s=%s: milliseconds, at least 100", var,
		                    v);
	*out = ms;
	return 0;
}

static void sl_otlp_unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char hex[3] = {s[1], s[2], 0};
			*o++ = (char)strtol(hex, NULL, 16);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

static char *sl_otlp_trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

/* "k=v,k2=v2": fn(ctx, key, value) for each pair; -1 with err on a pair without '=' */
static int sl_otlp_pairs(const char *var, const char *text,
                         void (*fn)(void *ctx, const char *k, const char *v), void *ctx,
                         sl_error *err)
{
	char *copy = sl_strdup(text), *save = NULL;
	int rc = 0;
	for (char *item = strtok_r(copy, ",", &save); item && rc == 0;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		if (!eq) {
			if (*sl_otlp_trim(item))
				rc = sl_error_set(
				        err, SL_ERR_CONFIG,
				        "%s: an item is not key=value (pairs are separated by "
				        "commas)",
				        var); /* not quoted: a header may hold a secret */
			continue;
		}
		*eq = 0;
		char *k = sl_otlp_trim(item), *v = sl_otlp_trim(eq + 1);
		sl_otlp_unescape(k), sl_otlp_unescape(v);
		fn(ctx, k, v);
	}
	free(copy);
	return rc;
}

static void sl_otlp_add_header(void *ctx, const char *k, const char *v)
{
	sl_otlp *o = ctx;
	sl_log_add_secret(v); /* an API key, often */
	sl_buf h = {0};
	sl_buf_printf(&h, "%s: %s", k, v);
	o->headers = curl_slist_append(o->headers, sl_buf_cstr(&h));
	sl_buf_free(&h);
}

static void sl_otlp_add_attr(void *ctx, const char *k, const char *v)
{
	sl_otlp *o = ctx;
	for (int i = 0; i < o->nres; i++)
		if (strcmp(o->res[2 * i], k) == 0)
			return; /* the first wins: OTEL_SERVICE_NAME is added first */
	o->res = sl_realloc(o->res, (size_t)(o->nres + 1) * 2 * sizeof *o->res);
	o->res[2 * o->nres] = sl_strdup(k);
	o->res[2 * o->nres++ + 1] = sl_strdup(v);
}

static struct curl_slist *sl_otlp_headers(void *ctx, sl_error *err)
{
	(void)err;
	sl_otlp *o = ctx;
	struct curl_slist *h = NULL;
	h = curl_slist_append(h, o->json ? "Content-Type: application/json"
	                                 : "Content-Type: application/x-protobuf");
	for (struct curl_slist *p = o->headers; p; p = p->next)
		h = curl_slist_append(h, p->data);
	return h;
}

static void sl_otlp_export(sl_otlp *o)
{
	sl_buf body = {0}, resp = {0};
	sl_metrics_otlp(o->m, (const char *const *)o->res, o->nres, o->start_ns, sl_otlp_now_ns(),
	                o->json, &body);
	sl_http_req r = {.method = "POST",
	                 .url = o->url,
	                 .body = body.data,
	                 .nbody = body.len,
	                 .headers = sl_otlp_headers,
	                 .ctx = o,
	                 .resp = &resp,
	                 .tries = 1,
	                 .timeout_ms = (long)o->timeout_ms};
	sl_error err = {0};
	int rc = sl_http_do(&o->pool, &r, &err);
	bool ok = rc == 0 && r.status >= 200 && r.status < 300;
	if (!ok && !o->failing) {
		char why[300];
		if (rc < 0)
			snprintf(why, sizeof why, "%s", r.msg[0] ? r.msg : err.msg);
		else
			snprintf(why, sizeof why, "HTTP %ld", r.status);
		char url[512];
		sl_redact_url(o->url, url, sizeof url);
		sl_warn("observability: the OTLP collector at %s does not take metrics (%s): "
		        "replication goes on, and metrics are sent again every %lld ms (values "
		        "are cumulative: nothing is lost)",
		        url, why, (long long)o->interval_ms);
	} else if (ok && o->failing) {
		char url[512];
		sl_redact_url(o->url, url, sizeof url);
		sl_info("observability: the OTLP collector at %s takes metrics again", url);
	}
	o->failing = !ok;
	sl_buf_free(&body), sl_buf_free(&resp);
}

static void *sl_otlp_main(void *arg)
{
	sl_otlp *o = arg;
	bool after_stop = false; /* the last export began after the stop: it had the final counts */
	pthread_mutex_lock(&o->mu);
	while (!o->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += o->interval_ms / 1000;
		until.tv_nsec += (o->interval_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000)
			until.tv_sec++, until.tv_nsec -= 1000000000;
		while (!o->stop && pthread_cond_timedwait(&o->cv, &o->mu, &until) == 0)
			;
		after_stop = o->stop;
		pthread_mutex_unlock(&o->mu);
		sl_otlp_export(o); /* on the interval, and once more when stopped */
		pthread_mutex_lock(&o->mu);
	}
	pthread_mutex_unlock(&o->mu);
	if (!after_stop)
		sl_otlp_export(o); /* stopped during an export: once more, with the final counts */
	return NULL;
}

static void sl_otlp_free(sl_otlp *o)
{
	for (int i = 0; i < 2 * o->nres; i++)
		free(o->res[i]);
	free(o->res);
	curl_slist_free_all(o->headers);
	free(o->url);
	sl_http_pool_free(&o->pool);
	pthread_mutex_destroy(&o->mu);
	pthread_cond_destroy(&o->cv);
	free(o);
}

int sl_otlp_start(sl_metrics *m, sl_otlp **out, sl_error *err)
{
	*out = NULL;
	const char *metrics_ep = getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
	const char *ep = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	if ((!metrics_ep || !*metrics_ep) && (!ep || !*ep))
		return 0;
	sl_otlp *o = sl_calloc(1, sizeof *o);
	o->m = m;
	sl_http_pool_init(&o->pool);
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cv, NULL);
	sl_buf url = {0};
	if (metrics_ep && *metrics_ep) {
		sl_buf_puts(&url, metrics_ep);
	} else {
		sl_buf_puts(&url, ep);
		while (url.len && url.data[url.len - 1] == '/')
			url.len--;
		sl_buf_puts(&url, "/v1/metrics");
	}
	o->url = sl_strdup(sl_buf_cstr(&url));
	sl_buf_free(&url);
	int rc = 0;
	if (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0)
		rc = sl_error_set(err, SL_ERR_CONFIG,
		                  "OTEL_EXPORTER_OTLP_ENDPOINT: '%s' is not an http:// or https:// "
		                  "URL",
		                  o->url);
	const char *proto = getenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL");
	if (!proto || !*proto)
		proto = getenv("OTEL_EXPORTER_OTLP_PROTOCOL");
	if (rc == 0 && proto && *proto && strcmp(proto, "http/protobuf") != 0) {
		if (strcmp(proto, "http/json") == 0)
			o->json = true;
		else
			rc = sl_error_set(err, SL_ERR_CONFIG,
			                  "OTEL_EXPORTER_OTLP_PROTOCOL=%s: sluice sends OTLP over "
			                  "HTTP, as http/protobuf (the default) or http/json",
			                  proto);
	}
	const char *headers = getenv("OTEL_EXPORTER_OTLP_METRICS_HEADERS");
	if (!headers || !*headers)
		headers = getenv("OTEL_EXPORTER_OTLP_HEADERS");
	if (rc == 0 && headers)
		rc = sl_otlp_pairs("OTEL_EXPORTER_OTLP_HEADERS", headers, sl_otlp_add_header, o,
		                   err);
	const char *service = getenv("OTEL_SERVICE_NAME");
	if (rc == 0 && service && *service)
		sl_otlp_add_attr(o, "service.name", service);
	const char *attrs = getenv("OTEL_RESOURCE_ATTRIBUTES");
	if (rc == 0 && attrs)
		rc = sl_otlp_pairs("OTEL_RESOURCE_ATTRIBUTES", attrs, sl_otlp_add_attr, o, err);
	if (rc == 0)
		sl_otlp_add_attr(o, "service.name", "sluice"); /* when none was given */
	o->interval_ms = 60000;
	if (rc == 0)
		rc = sl_otlp_ms("OTEL_METRIC_EXPORT_INTERVAL",
		                getenv("OTEL_METRIC_EXPORT_INTERVAL"), &o->interval_ms, err);
	o->timeout_ms = 10000;
	const char *to = getenv("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT");
	if (!to || !*to)
		to = getenv("OTEL_EXPORTER_OTLP_TIMEOUT");
	if (rc == 0)
		rc = sl_otlp_ms("OTEL_EXPORTER_OTLP_TIMEOUT", to, &o->timeout_ms, err);
	o->start_ns = 0;
	if (rc == 0) {
		o->start_ns = sl_otlp_now_ns();
		rc = sl_thread_start(&o->th, sl_otlp_main, o, "otlp exporter", err);
	}
	if (rc < 0) {
		sl_otlp_free(o);
		return rc;
	}
	char shown[512];
	sl_redact_url(o->url, shown, sizeof shown);
	sl_info("observability: metrics go to %s every %lld ms (OTLP, %s)", shown,
	        (long long)o->interval_ms, o->json ? "http/json" : "http/protobuf");
	*out = o;
	return 0;
}

void sl_otlp_stop(sl_otlp *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->mu);
	o->stop = true;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
	pthread_join(o->th, NULL);
	sl_otlp_free(o);
}
