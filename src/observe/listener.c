/* The observability listener: see listener.h. Threads: libmicrohttpd's one internal polling
 * thread answers every request (MHD_USE_INTERNAL_POLLING_THREAD); the handlers read the metrics
 * registry (its lock) and call the ready callback; nothing else is shared. Stopping joins it. */
#include "observe/listener.h"

#include <netdb.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "core/log.h"
#include "core/mem.h"

/* the console page (console.html, built in by CMakeLists.txt) */
extern const unsigned char sl_console_html[];
extern const size_t sl_console_html_len;

struct sl_listener {
	struct MHD_Daemon *d;
	char *token;
	sl_metrics *metrics;
	sl_listener_hooks hooks;
	int port;
};

static enum MHD_Result sl_ls_send(struct MHD_Connection *conn, unsigned status, const char *ctype,
                                  const char *body, size_t n)
{
	struct MHD_Response *r =
	        MHD_create_response_from_buffer(n, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (status == 401)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
	enum MHD_Result rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* "Bearer <token>", compared without an early exit */
static bool sl_ls_authorized(const sl_listener *l, struct MHD_Connection *conn)
{
	if (!l->token)
		return true;
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (!h || strncmp(h, "Bearer ", 7) != 0)
		return false;
	const char *got = h + 7;
	size_t n = strlen(l->token), m = strlen(got);
	unsigned char diff = n != m;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(l->token[i] ^ (i < m ? got[i] : 0));
	return diff == 0;
}

static enum MHD_Result sl_ls_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version, const char *upload,
                                    size_t *upload_size, void **state)
{
	(void)version, (void)upload, (void)upload_size, (void)state;
	sl_listener *l = cls;
	static const char text[] = "text/plain; charset=utf-8";
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return sl_ls_send(conn, 405, text, "only GET\n", 9);
	if (strcmp(url, "/") == 0) {
		/* the console: one page, its script asking /api/v1/status and /metrics (with the
		 * token, which it asks for when they answer 401) */
		struct MHD_Response *r = MHD_create_response_from_buffer(
		        sl_console_html_len, (void *)sl_console_html, MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
		MHD_add_response_header(r, "Cache-Control", "no-store");
		MHD_add_response_header(r, "Content-Security-Policy",
		                        "default-src 'self'; script-src 'unsafe-inline'; style-src "
		                        "'unsafe-inline'; img-src 'self' data:");
		enum MHD_Result rc = MHD_queue_response(conn, 200, r);
		MHD_destroy_response(r);
		return rc;
	}
	if (strcmp(url, "/healthz") == 0)
		return sl_ls_send(conn, 200, text, "ok\n", 3);
	if (strcmp(url, "/readyz") == 0) {
		sl_buf why = {0};
		int ready = l->hooks.ready ? l->hooks.ready(l->hooks.ctx, &why) : 1;
		if (ready)
			sl_buf_reset(&why), sl_buf_puts(&why, "ready");
		sl_buf_putc(&why, '\n');
		enum MHD_Result rc =
		        sl_ls_send(conn, ready ? 200 : 503, text, (char *)why.data, why.len);
		sl_buf_free(&why);
		return rc;
	}
	if (strcmp(url, "/metrics") == 0) {
		if (!sl_ls_authorized(l, conn))
			return sl_ls_send(conn, 401, text, "a bearer token is required\n", 27);
		sl_buf out = {0};
		sl_metrics_prometheus(l->metrics, &out);
		enum MHD_Result rc =
		        sl_ls_send(conn, 200, "text/plain; version=0.0.4; charset=utf-8",
		                   out.len ? (char *)out.data : "", out.len);
		sl_buf_free(&out);
		return rc;
	}
	if (strcmp(url, "/api/v1/status") == 0 && l->hooks.status) {
		if (!sl_ls_authorized(l, conn))
			return sl_ls_send(conn, 401, text, "a bearer token is required\n", 27);
		sl_buf out = {0};
		l->hooks.status(l->hooks.ctx, &out);
		enum MHD_Result rc = sl_ls_send(conn, 200, "application/json",
		                                out.len ? (char *)out.data : "", out.len);
		sl_buf_free(&out);
		return rc;
	}
	static const char nf[] = "not found (try /metrics, /healthz, /readyz, /api/v1/status)\n";
	return sl_ls_send(conn, 404, text, nf, sizeof nf - 1);
}

/* libmicrohttpd's own messages, through the log (JSON lines stay JSON) */
static void sl_ls_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = 0;
	sl_warn("observability: %s", msg);
}

int sl_listener_start(const char *listen, const char *token, sl_metrics *metrics,
                      const sl_listener_hooks *hooks, sl_listener **out, sl_error *err)
{
	/* HOST:PORT or [IPV6]:PORT */
	char host[256], port[16];
	const char *colon = listen[0] == '[' ? strstr(listen, "]:") : strrchr(listen, ':');
	if (!colon)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "observability.listen: '%s' is not HOST:PORT", listen);
	size_t hl = (size_t)(colon - listen) - (listen[0] == '[');
	snprintf(host, sizeof host, "%.*s", (int)hl, listen + (listen[0] == '['));
	snprintf(port, sizeof port, "%s", colon + (listen[0] == '[' ? 2 : 1));
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV},
	                *ai = NULL;
	int gai = getaddrinfo(host, port, &hints, &ai);
	if (gai != 0)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "observability.listen: cannot resolve %s: %s", host,
		                    gai_strerror(gai));
	sl_listener *l = sl_calloc(1, sizeof *l);
	l->token = token ? sl_strdup(token) : NULL;
	l->metrics = metrics;
	if (hooks)
		l->hooks = *hooks;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	l->d = MHD_start_daemon(flags, 0, NULL, NULL, sl_ls_handle, l, MHD_OPTION_EXTERNAL_LOGGER,
	                        sl_ls_log, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!l->d) {
		free(l->token), free(l);
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "observability.listen: cannot listen on %s (in use, or not an "
		                    "address of this machine): pick another address or port",
		                    listen);
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_BIND_PORT);
	l->port = info ? (int)info->port : atoi(port);
	*out = l;
	return 0;
}

int sl_listener_port(const sl_listener *l)
{
	return l->port;
}

void sl_listener_stop(sl_listener *l)
{
	if (!l)
		return;
	MHD_stop_daemon(l->d);
	free(l->token);
	free(l);
}
