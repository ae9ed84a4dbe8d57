/* observe/listener on a loopback port of its own choosing: the probes, the bearer token on
 * /metrics, 404 and 405; asked over HTTP with libcurl. */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "observe/listener.h"

static int ready_now;

static int ready_fn(void *ctx, sl_buf *why)
{
	(void)ctx;
	if (!ready_now)
		sl_buf_puts(why, "snapshot in progress: 1 of 2 chunks loaded");
	return ready_now;
}

static void status_fn(void *ctx, sl_buf *json)
{
	(void)ctx;
	sl_buf_puts(json, "{\"phase\":\"changes\"}");
}

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
	sl_buf_append(ctx, p, size * n);
	return size * n;
}

/* GET (or method) path with an optional Authorization header: the status, the body in out */
static long get(int port, const char *method, const char *path, const char *auth, sl_buf *out)
{
	CURL *c = curl_easy_init();
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
	struct curl_slist *h = auth ? curl_slist_append(NULL, auth) : NULL;
	sl_buf_reset(out);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	long status = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

static void test_routes(void **state)
{
	(void)state;
	sl_metrics *m = sl_metrics_create();
	sl_metric_add(sl_metrics_series(m, SL_METRIC_COUNTER, "rows.out", "1", "Rows", NULL, NULL),
	              3);
	sl_listener *l = NULL;
	sl_error err = {0};
	sl_listener_hooks hooks = {.ready = ready_fn, .status = status_fn};
	if (sl_listener_start("127.0.0.1:0", "t0k3n", m, &hooks, &l, &err) < 0)
		fail_msg("%s", err.msg);
	int port = sl_listener_port(l);
	assert_true(port > 0);
	sl_buf b = {0};
	assert_int_equal(get(port, "GET", "/healthz", NULL, &b), 200);
	assert_string_equal(sl_buf_cstr(&b), "ok\n");
	ready_now = 0;
	assert_int_equal(get(port, "GET", "/readyz", NULL, &b), 503);
	assert_string_equal(sl_buf_cstr(&b), "snapshot in progress: 1 of 2 chunks loaded\n");
	ready_now = 1;
	assert_int_equal(get(port, "GET", "/readyz", NULL, &b), 200);
	assert_string_equal(sl_buf_cstr(&b), "ready\n");
	assert_int_equal(get(port, "GET", "/metrics", NULL, &b), 401);
	assert_int_equal(get(port, "GET", "/metrics", "Authorization: Bearer t0k3", &b), 401);
	assert_int_equal(get(port, "GET", "/metrics", "Authorization: Bearer t0k3nn", &b), 401);
	assert_int_equal(get(port, "GET", "/metrics", "Authorization: Bearer t0k3n", &b), 200);
	assert_non_null(strstr(sl_buf_cstr(&b), "\nrows_out_total 3\n"));
	assert_int_equal(get(port, "GET", "/api/v1/status", NULL, &b), 401);
	assert_int_equal(get(port, "GET", "/api/v1/status", "Authorization: Bearer t0k3n", &b),
	                 200);
	assert_string_equal(sl_buf_cstr(&b), "{\"phase\":\"changes\"}");
	assert_int_equal(get(port, "GET", "/nope", NULL, &b), 404);
	assert_int_equal(get(port, "POST", "/metrics", NULL, &b), 405);
	sl_buf_free(&b);
	sl_listener_stop(l);
	sl_metrics_destroy(m);
}

/* A port taken: one line saying so. */
static void test_port_in_use(void **state)
{
	(void)state;
	sl_metrics *m = sl_metrics_create();
	sl_listener *a = NULL, *b = NULL;
	sl_error err = {0};
	assert_int_equal(sl_listener_start("127.0.0.1:0", NULL, m, NULL, &a, &err), 0);
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", sl_listener_port(a));
	assert_true(sl_listener_start(addr, NULL, m, NULL, &b, &err) < 0);
	assert_non_null(strstr(err.msg, "cannot listen on"));
	sl_listener_stop(a);
	sl_metrics_destroy(m);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_routes),
	        cmocka_unit_test(test_port_in_use),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
