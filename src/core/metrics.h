/* sl_metrics: a run's metrics, by the reference's names (rows.in, latency.total, process.*) and
 * OpenTelemetry's instrument kinds, encoded here for the exporters (Prometheus text, OTLP protobuf
 * and JSON).
 *
 * A registry holds series: a name, a kind, a unit, a help text, the registry's own labels
 * (pipeline, source, target: set once) and at most one label of the series' own (table,
 * direction). Registering takes a lock and is done once per series; the pointer it returns is
 * updated without one (relaxed atomics): the hot path adds to a counter it looked up before.
 * Collectors (callbacks) set gauges just before each export (process metrics read /proc then).
 * Thread-safe: any thread may update or export; registration and export take the registry's
 * lock. */
#ifndef SL_METRICS_H
#define SL_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

typedef enum sl_metric_kind {
	SL_METRIC_COUNTER,   /* monotonic u64 */
	SL_METRIC_UPDOWN,    /* i64, up and down */
	SL_METRIC_GAUGE,     /* f64, set */
	SL_METRIC_HISTOGRAM, /* durations: recorded in ns in fixed buckets with their sum, exported
	                      * in seconds (the series' unit is "s") */
} sl_metric_kind;

/* The histogram buckets' upper bounds, in ns (1 ms to 10 min). */
#define SL_METRIC_NBOUNDS 16
extern const double sl_metric_bounds[SL_METRIC_NBOUNDS];

typedef struct sl_metrics sl_metrics;
typedef struct sl_metric sl_metric;

/* A registry without series; the caller destroys it. */
sl_metrics *sl_metrics_create(void);
void sl_metrics_destroy(sl_metrics *m);
/* A label every series carries (before the first series is registered); key and value copied. */
void sl_metrics_label(sl_metrics *m, const char *key, const char *value);

/* The series `name` of `kind` with label lkey=lval (both NULL: none), made on first call; the same
 * pointer after (valid until the registry is destroyed). unit: UCUM as OpenTelemetry writes it
 * ("1", "By", "s", "ns", "%"). A name registered again with another kind or unit is a programming
 * error (aborts). */
sl_metric *sl_metrics_series(sl_metrics *m, sl_metric_kind kind, const char *name, const char *unit,
                             const char *help, const char *lkey, const char *lval);

/* The counters of rows and bytes read from the source and written to the target, per table
 * (rows.in, bytes.in, rows.out, bytes.out; bytes as Arrow columns): snapshot and changes count
 * into the same ones. Look them up once per table, not per batch. */
typedef enum sl_flow { SL_ROWS_IN, SL_BYTES_IN, SL_ROWS_OUT, SL_BYTES_OUT, SL_NFLOWS } sl_flow;
sl_metric *sl_metrics_flow(sl_metrics *m, sl_flow which, const char *table);

void sl_metric_add(sl_metric *s, uint64_t v);     /* counter */
void sl_metric_add_i64(sl_metric *s, int64_t v);  /* up-down counter */
void sl_metric_set(sl_metric *s, double v);       /* gauge; up-down counter too (rounded) */
void sl_metric_record(sl_metric *s, uint64_t ns); /* histogram: a duration in ns */

/* The latency histograms of a path from the source to a destination (the target; or the
 * buffer, prefix "buffer."), by the reference's names, for each transaction:
 *   latency.in          source commit -> received (the reader took its commit message)
 *   latency.in.process  received: its first message -> its commit message
 *   latency.out.process received -> the destination's write of its group began (batching)
 *   latency.out         received -> committed at the destination
 *   latency.total       source commit -> committed at the destination
 * The reader thread stamps each BEGIN and COMMIT message with sl_latency_now_us; the writer
 * hands each transaction of its group to sl_latency_txn, and all five are recorded together
 * when the group is written (a group given up, to be read again, is forgotten: sl_latency_drop),
 * so the five histograms always count the same transactions. Wall-clock times, unix us: the
 * source's commit time is one. */
typedef struct sl_latency {
	sl_metric *total, *in, *out, *in_process, *out_process; /* all NULL: no metrics */
	struct sl_latency_txn {
		int64_t commit_us, begun_us, received_us;
	} * txns; /* the group's, not yet written */
	size_t ntxns, cap;
} sl_latency;
void sl_latency_init(sl_latency *l, sl_metrics *m, const char *prefix, const char *where);
void sl_latency_free(sl_latency *l);
int64_t sl_latency_now_us(void);
/* A transaction of the group: committed on the source at commit_us, its first message received
 * at begun_us, its commit message at received_us (0: unknown, not recorded) */
void sl_latency_txn(sl_latency *l, int64_t commit_us, int64_t begun_us, int64_t received_us);
/* The group began to be written at write_us and was committed at done_us */
void sl_latency_written(sl_latency *l, int64_t write_us, int64_t done_us);
void sl_latency_drop(sl_latency *l);

/* The sum of the counters (or up-down counters) named `name` over their labels: 0 if none. */
double sl_metrics_total(sl_metrics *m, const char *name);

/* fn(ctx, m) runs before each export, under no lock of the registry's: it sets gauges. */
void sl_metrics_collector(sl_metrics *m, void (*fn)(void *ctx, sl_metrics *m), void *ctx);

/* Append every series in the Prometheus text exposition format (version 0.0.4): names as
 * OpenTelemetry's Prometheus compatibility rules make them ('.' to '_', the unit's word appended
 * unless the name ends with it, counters "_total"), # HELP and # TYPE once per name, histograms
 * as _bucket{le=...}, _sum, _count. Runs the collectors first. */
void sl_metrics_prometheus(sl_metrics *m, sl_buf *out);

/* Append every series as an OTLP ExportMetricsServiceRequest in protobuf, or (json) in OTLP's
 * JSON form (lowerCamelCase names, 64-bit integers as strings, enums as numbers)
 * (opentelemetry-proto's collector/metrics/v1, metrics/v1): one Resource with the attributes
 * res[0..nres) (key, value pairs: service.name and OTEL_RESOURCE_ATTRIBUTES's), the scope "sluice",
 * a Metric per name: counters as monotonic cumulative Sums of ints, up-down counters as
 * non-monotonic ones, gauges as Gauges of doubles, histograms as cumulative Histograms with the
 * fixed bounds; every data point with the registry's labels and the series' as attributes, start_ns
 * and now_ns as its times. Runs the collectors first. */
void sl_metrics_otlp(sl_metrics *m, const char *const *res, int nres, uint64_t start_ns,
                     uint64_t now_ns, bool json, sl_buf *out);

/* process.* from /proc/self (Linux): CPU time and utilisation, resident and virtual memory, open
 * descriptors, threads, disk I/O by direction. A collector: sl_metrics_collector(m,
 * sl_metrics_process, m) registers and sets them at each export. */
void sl_metrics_process(void *ctx, sl_metrics *m);

#endif
