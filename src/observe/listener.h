/* sl_listener: observability.listen, an HTTP server (Debian's libmicrohttpd, one internal thread)
 * serving a run's metrics and state:
 *   /metrics  the metrics in Prometheus text (core/metrics.h)
 *   /healthz  200 "ok" while the process runs
 *   /readyz   200 "ready", or 503 with why not (the run's ready callback)
 *   /api/v1/status  the run's state as JSON (the run's status callback)
 * With a token, /metrics and /api/ ask for "Authorization: Bearer <token>" (401 otherwise); the
 * probes answer without one (they say nothing but ready or not). Every request is a GET; anything
 * else is 405, another path 404. */
#ifndef SL_LISTENER_H
#define SL_LISTENER_H

#include "core/buf.h"
#include "core/error.h"
#include "core/metrics.h"

typedef struct sl_listener sl_listener;

/* What the run answers, on the listener's thread: ready: 1 when the run is ready (snapshot
 * done, changes applying), else 0 with why in `why`; status: the state as a JSON object into
 * `json`. Either may be NULL (ready: always; status: 404). */
typedef struct sl_listener_hooks {
	int (*ready)(void *ctx, sl_buf *why);
	void (*status)(void *ctx, sl_buf *json);
	void *ctx;
} sl_listener_hooks;

/* Listen on `listen` (HOST:PORT, [IPV6]:PORT; port 0: any free one) until sl_listener_stop.
 * token: NULL for none. metrics and the hooks' ctx must outlive the listener. */
int sl_listener_start(const char *listen, const char *token, sl_metrics *metrics,
                      const sl_listener_hooks *hooks, sl_listener **out, sl_error *err);
/* The port it listens on. */
int sl_listener_port(const sl_listener *l);
void sl_listener_stop(sl_listener *l);

#endif
