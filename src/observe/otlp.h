/* sl_otlp: metrics pushed to an OpenTelemetry collector over OTLP/HTTP, configured by the
 * standard variables (the OpenTelemetry SDK configuration's):
 *   OTEL_EXPORTER_OTLP_METRICS_ENDPOINT  the URL, as is; else
 *   OTEL_EXPORTER_OTLP_ENDPOINT          + "/v1/metrics"
 *   OTEL_EXPORTER_OTLP_PROTOCOL          http/protobuf (default) or http/json (grpc: refused)
 *   OTEL_EXPORTER_OTLP_HEADERS           k=v,k2=v2 (values percent-decoded; kept secret)
 *   OTEL_METRIC_EXPORT_INTERVAL          milliseconds between exports (default 60000)
 *   OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES   the resource's attributes
 * One thread exports every interval and once more when stopped; a collector that does not
 * answer (or answers an error) costs a warning, not replication: values are cumulative, so
 * the next export carries what the missed one would have. */
#ifndef SL_OTLP_H
#define SL_OTLP_H

#include "core/error.h"
#include "core/metrics.h"

typedef struct sl_otlp sl_otlp;

/* Start exporting m (which must outlive the exporter) when an endpoint is set; *out NULL when
 * none is. A malformed variable: its error. */
int sl_otlp_start(sl_metrics *m, sl_otlp **out, sl_error *err);
/* Export once more and stop (NULL: nothing). */
void sl_otlp_stop(sl_otlp *o);

#endif
