/* core/metrics: the registry, updates from several threads, and the Prometheus text form. */
#define _GNU_SOURCE /* memmem */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/metrics.h"

/* The names OpenTelemetry's Prometheus rules give, labels, HELP/TYPE once per name, the
 * histogram's cumulative buckets. */
static void test_prometheus_text(void **state)
{
	(void)state;
	sl_metrics *m = sl_metrics_create();
	sl_metrics_label(m, "pipeline", "shop \"eu\"");
	sl_metric *rows = sl_metrics_series(m, SL_METRIC_COUNTER, "rows.in", "1", "Rows read",
	                                    "table", "public.orders");
	sl_metric *rows2 = sl_metrics_series(m, SL_METRIC_COUNTER, "rows.in", "1", "Rows read",
	                                     "table", "public.lines");
	assert_ptr_equal(rows, sl_metrics_series(m, SL_METRIC_COUNTER, "rows.in", "1", "Rows read",
	                                         "table", "public.orders"));
	sl_metric *bytes = sl_metrics_series(m, SL_METRIC_COUNTER, "bytes.out", "By",
	                                     "Bytes written", NULL, NULL);
	sl_metric *lat = sl_metrics_series(m, SL_METRIC_HISTOGRAM, "latency.total", "s",
	                                   "End to end", NULL, NULL);
	sl_metric *prog = sl_metrics_series(m, SL_METRIC_GAUGE, "progress.snapshot", "%",
	                                    "Snapshot done", NULL, NULL);
	sl_metric *util = sl_metrics_series(m, SL_METRIC_GAUGE, "process.cpu.utilization", "1",
	                                    "CPU", NULL, NULL);
	sl_metric *mem = sl_metrics_series(m, SL_METRIC_UPDOWN, "process.memory.usage", "By", "RSS",
	                                   NULL, NULL);
	sl_metric_add(rows, 5);
	sl_metric_add(rows, 2);
	sl_metric_add(rows2, 1);
	assert_true(sl_metrics_total(m, "rows.in") == 8.0); /* 7 + 1, over both tables */
	assert_true(sl_metrics_total(m, "rows.out") == 0.0);
	sl_metric_add(bytes, 1000);
	sl_metric_record(lat, 500000);           /* 0.5 ms: the first bucket */
	sl_metric_record(lat, 2000000000);       /* 2 s */
	sl_metric_record(lat, 9000000000000ULL); /* past the last bound: +Inf only */
	sl_metric_set(prog, 42.5);
	sl_metric_set(util, 0.25);
	sl_metric_add_i64(mem, 4096);
	sl_metric_add_i64(mem, -96);
	sl_buf out = {0};
	sl_metrics_prometheus(m, &out);
	const char *t = sl_buf_cstr(&out);
	const char *want[] = {
	        "# HELP rows_in_total Rows read\n# TYPE rows_in_total counter\n"
	        "rows_in_total{pipeline=\"shop \\\"eu\\\"\",table=\"public.orders\"} 7\n"
	        "rows_in_total{pipeline=\"shop \\\"eu\\\"\",table=\"public.lines\"} 1\n",
	        "# TYPE bytes_out_bytes_total counter\nbytes_out_bytes_total{pipeline=\"shop "
	        "\\\"eu\\\"\"} 1000\n",
	        "# TYPE latency_total_seconds histogram\n",
	        "latency_total_seconds_bucket{pipeline=\"shop \\\"eu\\\"\",le=\"0.001\"} 1\n",
	        "latency_total_seconds_bucket{pipeline=\"shop \\\"eu\\\"\",le=\"1\"} 1\n",
	        "latency_total_seconds_bucket{pipeline=\"shop \\\"eu\\\"\",le=\"2.5\"} 2\n",
	        "latency_total_seconds_bucket{pipeline=\"shop \\\"eu\\\"\",le=\"600\"} 2\n",
	        "latency_total_seconds_bucket{pipeline=\"shop \\\"eu\\\"\",le=\"+Inf\"} 3\n",
	        "latency_total_seconds_sum{pipeline=\"shop \\\"eu\\\"\"} 9002.0005\n",
	        "latency_total_seconds_count{pipeline=\"shop \\\"eu\\\"\"} 3\n",
	        "# TYPE progress_snapshot_percent gauge\nprogress_snapshot_percent{pipeline=\"shop "
	        "\\\"eu\\\"\"} 42.5\n",
	        "process_cpu_utilization_ratio{pipeline=\"shop \\\"eu\\\"\"} 0.25\n",
	        "# TYPE process_memory_usage_bytes "
	        "gauge\nprocess_memory_usage_bytes{pipeline=\"shop "
	        "\\\"eu\\\"\"} 4000\n",
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++)
		if (!strstr(t, want[i]))
			fail_msg("missing:\n%s\nin:\n%s", want[i], t);
	/* HELP and TYPE once per name */
	const char *first = strstr(t, "# TYPE rows_in_total");
	assert_non_null(first);
	assert_null(strstr(first + 1, "# TYPE rows_in_total"));
	sl_buf_free(&out);
	sl_metrics_destroy(m);
}

/* A table name that is not UTF-8 (a SQL_ASCII database's) is one series, exported as valid
 * UTF-8 in every format */
static void test_label_not_utf8(void **state)
{
	(void)state;
	sl_metrics *m = sl_metrics_create();
	sl_metrics_label(m, "pipeline", "caf\xe9");
	sl_metric *a =
	        sl_metrics_series(m, SL_METRIC_COUNTER, "rows.in", "1", "Rows", "table", "t\xff");
	assert_ptr_equal(a, sl_metrics_series(m, SL_METRIC_COUNTER, "rows.in", "1", "Rows", "table",
	                                      "t\xff"));
	sl_metric_add(a, 3);
	sl_buf out = {0};
	sl_metrics_prometheus(m, &out);
	assert_non_null(strstr(sl_buf_cstr(&out), "rows_in_total{pipeline=\"caf\xef\xbf\xbd\","
	                                          "table=\"t\xef\xbf\xbd\"} 3\n"));
	assert_true(sl_utf8_valid(out.data, out.len));
	sl_buf_reset(&out);
	sl_metrics_otlp(m, NULL, 0, 1, 2, true, &out);
	assert_true(sl_utf8_valid(out.data, out.len));
	assert_non_null(strstr(sl_buf_cstr(&out), "t\xef\xbf\xbd"));
	sl_buf_reset(&out);
	sl_metrics_otlp(m, NULL, 0, 1, 2, false, &out);
	assert_null(memmem(out.data, out.len, "t\xff", 2));
	assert_non_null(memmem(out.data, out.len, "t\xef\xbf\xbd", 4));
	sl_buf_free(&out);
	sl_metrics_destroy(m);
}

/* A name whose unit's word it already ends with is not given it again. */
static void test_prometheus_unit_suffix(void **state)
{
	(void)state;
	sl_metrics *m = sl_metrics_create();
	sl_metric_set(
	        sl_metrics_series(m, SL_METRIC_GAUGE, "queue.depth_bytes", "By", "q", NULL, NULL),
	        3);
	sl_metric_set(
	        sl_metrics_series(m, SL_METRIC_COUNTER, "process.cpu.time", "s", "cpu", NULL, NULL),
	        12);
	sl_buf out = {0};
	sl_metrics_prometheus(m, &out);
	assert_non_null(strstr(sl_buf_cstr(&out), "\nqueue_depth_bytes 3\n"));
	assert_non_null(strstr(sl_buf_cstr(&out), "\nprocess_cpu_time_seconds_total 12\n"));
	sl_buf_free(&out);
	sl_metrics_destroy(m);
}

struct adder {
	sl_metric *c, *h;
};

static void *adder_main(void *arg)
{
	struct adder *a = arg;
	for (int i = 0; i < 100000; i++) {
		sl_metric_add(a->c, 1);
		sl_metric_record(a->h, (uint64_t)i);
	}
	return NULL;
}

/* Four threads add without a lock and lose nothing. */
static void test_concurrent_updates(void **state)
{
	(void)state;
	sl_metrics *m = sl_metrics_create();
	struct adder a = {
	        sl_metrics_series(m, SL_METRIC_COUNTER, "rows.out", "1", "r", NULL, NULL),
	        sl_metrics_series(m, SL_METRIC_HISTOGRAM, "latency.out", "s", "l", NULL, NULL)};
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, adder_main, &a);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	sl_buf out = {0};
	sl_metrics_prometheus(m, &out);
	assert_non_null(strstr(sl_buf_cstr(&out), "rows_out_total 400000\n"));
	assert_non_null(strstr(sl_buf_cstr(&out), "latency_out_seconds_count 400000\n"));
	sl_buf_free(&out);
	sl_metrics_destroy(m);
}

/* The process collector: this process's threads, memory and descriptors, plausible values. */
static void test_process(void **state)
{
	(void)state;
	sl_metrics *m = sl_metrics_create();
	sl_metrics_collector(m, sl_metrics_process, m);
	sl_buf out = {0};
	sl_metrics_prometheus(m, &out);
	const char *t = sl_buf_cstr(&out);
	long long rss = -1, threads = -1, fds = -1;
	const char *p = strstr(t, "\nprocess_memory_usage_bytes ");
	assert_non_null(p);
	sscanf(p + strlen("\nprocess_memory_usage_bytes "), "%lld", &rss);
	p = strstr(t, "\nprocess_threads ");
	assert_non_null(p);
	sscanf(p + strlen("\nprocess_threads "), "%lld", &threads);
	p = strstr(t, "\nprocess_open_fds ");
	assert_non_null(p);
	sscanf(p + strlen("\nprocess_open_fds "), "%lld", &fds);
	assert_true(rss > 1 << 20);
	assert_true(threads >= 1);
	assert_true(fds >= 3); /* stdin, stdout, stderr */
	assert_non_null(strstr(t, "process_cpu_time_seconds_total "));
	assert_non_null(strstr(t, "process_disk_io_bytes_total{direction=\"write\"} "));
	sl_buf_free(&out);
	sl_metrics_destroy(m);
}

/* OTLP protobuf, decoded by protoc (Debian's protobuf-compiler) with the message definitions of
 * tests/otlp, written from the OTLP specification: names, kinds, units, points, attributes. */
static void test_otlp_protoc(void **state)
{
	(void)state;
	sl_metrics *m = sl_metrics_create();
	sl_metrics_label(m, "pipeline", "shop");
	sl_metric_add(sl_metrics_series(m, SL_METRIC_COUNTER, "rows.in", "1", "Rows read", "table",
	                                "public.t"),
	              -1ULL - 4); /* all 64 bits: sfixed64 as_int shows it as -5 */
	sl_metric_add_i64(sl_metrics_series(m, SL_METRIC_UPDOWN, "process.thread_count", "1",
	                                    "Threads", NULL, NULL),
	                  7);
	sl_metric_set(
	        sl_metrics_series(m, SL_METRIC_GAUGE, "progress.snapshot", "%", "Done", NULL, NULL),
	        12.5);
	sl_metric *h =
	        sl_metrics_series(m, SL_METRIC_HISTOGRAM, "latency.total", "s", "E2E", NULL, NULL);
	sl_metric_record(h, 500000);
	sl_metric_record(h, 2000000000);
	const char *res[] = {"service.name", "sluice-test"};
	sl_buf out = {0};
	sl_metrics_otlp(m, res, 1, 1000, 2000, false, &out);
	char in[] = "/tmp/sluice-otlp-XXXXXX";
	int fd = mkstemp(in);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, out.data, out.len), (ssize_t)out.len);
	close(fd);
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
	         "protoc --decode=sluice_test.otlp.ExportMetricsServiceRequest -I %s/tests/otlp "
	         "%s/tests/otlp/otlp_metrics.proto < %s 2>&1",
	         SLUICE_SOURCE_DIR, SLUICE_SOURCE_DIR, in);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	sl_buf text = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
		sl_buf_append(&text, chunk, n);
	int st = pclose(p);
	unlink(in);
	const char *t = sl_buf_cstr(&text);
	if (st != 0)
		fail_msg("protoc failed: %s", t);
	/* protoc's text format, without spaces and line breaks */
	sl_buf flat = {0};
	for (const char *c = t; *c; c++)
		if (*c != ' ' && *c != '\n')
			sl_buf_putc(&flat, *c);
	const char *f = sl_buf_cstr(&flat);
	/* (protoc prints a message's fields in the order of their numbers) */
	const char *want[] = {
	        "resource{attributes{key:\"service.name\"value{string_value:\"sluice-test\"}}}",
	        "scope{name:\"sluice\"version:",
	        "metrics{name:\"rows.in\"description:\"Rowsread\"unit:\"1\"sum{data_points{start_"
	        "time_unix_nano:1000time_unix_nano:2000as_int:-5attributes{key:\"pipeline\"value{"
	        "string_value:\"shop\"}}attributes{key:\"table\"value{string_value:\"public.t\"}}}"
	        "aggregation_temporality:AGGREGATION_TEMPORALITY_CUMULATIVEis_monotonic:true}}",
	        "metrics{name:\"process.thread_count\"description:\"Threads\"unit:\"1\"sum{data_"
	        "points{start_time_unix_nano:1000time_unix_nano:2000as_int:7attributes{key:"
	        "\"pipeline\"value{string_value:\"shop\"}}}aggregation_temporality:AGGREGATION_"
	        "TEMPORALITY_CUMULATIVE}}",
	        "metrics{name:\"progress.snapshot\"description:\"Done\"unit:\"%\"gauge{data_points{"
	        "start_time_unix_nano:1000time_unix_nano:2000as_double:12.5attributes{key:"
	        "\"pipeline\"value{string_value:\"shop\"}}}}}",
	        "metrics{name:\"latency.total\"description:\"E2E\"unit:\"s\"histogram{data_points{"
	        "start_time_unix_nano:1000time_unix_nano:2000count:2sum:2.0005bucket_counts:1"
	        "bucket_counts:0",
	        "explicit_bounds:0.001explicit_bounds:0.0025",
	        "attributes{key:\"pipeline\"value{string_value:\"shop\"}}}aggregation_temporality:"
	        "AGGREGATION_TEMPORALITY_CUMULATIVE}}",
	};
	int nb = 0, ne = 0;
	for (const char *c = f; (c = strstr(c, "bucket_counts:")); c++)
		nb++;
	for (const char *c = f; (c = strstr(c, "explicit_bounds:")); c++)
		ne++;
	assert_int_equal(nb, SL_METRIC_NBOUNDS + 1); /* one more count than bounds */
	assert_int_equal(ne, SL_METRIC_NBOUNDS);
	for (size_t i = 0; i < sizeof want / sizeof *want; i++)
		if (!strstr(f, want[i]))
			fail_msg("missing %s in %s", want[i], f);
	sl_buf_free(&flat), sl_buf_free(&text), sl_buf_free(&out);
	sl_metrics_destroy(m);
}

/* OTLP/JSON, read by Python's json module: names, kinds, 64-bit values as strings. */
static void test_otlp_json(void **state)
{
	(void)state;
	sl_metrics *m = sl_metrics_create();
	sl_metrics_label(m, "pipeline", "shop \"x\"");
	sl_metric_add(sl_metrics_series(m, SL_METRIC_COUNTER, "rows.out", "1", "Rows", "table",
	                                "public.t"),
	              9007199254740993ULL); /* past a double's integers */
	sl_metric_set(
	        sl_metrics_series(m, SL_METRIC_GAUGE, "progress.snapshot", "%", "Done", NULL, NULL),
	        50);
	sl_metric_record(
	        sl_metrics_series(m, SL_METRIC_HISTOGRAM, "latency.total", "s", "E2E", NULL, NULL),
	        3000000);
	const char *res[] = {"service.name", "svc", "deployment.environment", "test"};
	sl_buf out = {0};
	sl_metrics_otlp(m, res, 2, 5, 6, true, &out);
	char in[] = "/tmp/sluice-otlpjson-XXXXXX";
	int fd = mkstemp(in);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, out.data, out.len), (ssize_t)out.len);
	close(fd);
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
	         "python3 -c 'import json,sys\n"
	         "d=json.load(open(sys.argv[1]))\n"
	         "rm=d[\"resourceMetrics\"][0]\n"
	         "print(\";\".join(a[\"key\"]+\"=\"+a[\"value\"][\"stringValue\"] for a in "
	         "rm[\"resource\"][\"attributes\"]))\n"
	         "for x in rm[\"scopeMetrics\"][0][\"metrics\"]:\n"
	         " k=[k for k in (\"sum\",\"gauge\",\"histogram\") if k in x][0]\n"
	         " p=x[k][\"dataPoints\"][0]\n"
	         " print(x[\"name\"],x[\"unit\"],k,x[k].get(\"aggregationTemporality\"),"
	         "x[k].get(\"isMonotonic\"),p.get(\"asInt\"),p.get(\"asDouble\"),"
	         "p.get(\"count\"),p[\"startTimeUnixNano\"],"
	         "[a[\"value\"][\"stringValue\"] for a in p[\"attributes\"]])' %s 2>&1",
	         in);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char got[2048] = {0};
	size_t n = fread(got, 1, sizeof got - 1, p);
	got[n] = 0;
	int st = pclose(p);
	unlink(in);
	if (st != 0)
		fail_msg("python3 could not read it: %s\n%.*s", got, (int)out.len, out.data);
	assert_string_equal(got, "service.name=svc;deployment.environment=test\n"
	                         "rows.out 1 sum 2 True 9007199254740993 None None 5 ['shop "
	                         "\"x\"', 'public.t']\n"
	                         "progress.snapshot % gauge None None None 50 None 5 ['shop "
	                         "\"x\"']\n"
	                         "latency.total s histogram 2 None None None 1 5 ['shop \"x\"']\n");
	sl_buf_free(&out);
	sl_metrics_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_prometheus_text),
	        cmocka_unit_test(test_prometheus_unit_suffix),
	        cmocka_unit_test(test_label_not_utf8),
	        cmocka_unit_test(test_concurrent_updates),
	        cmocka_unit_test(test_process),
	        cmocka_unit_test(test_otlp_protoc),
	        cmocka_unit_test(test_otlp_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
