/* ClickHouse HTTP interface client (libcurl).
 *
 * One client is one keep-alive connection, used by one thread. Statements travel in the request
 * body (POST); an INSERT's statement travels in the `query` URL parameter and its data (Native
 * blocks) in the body, gzip-compressed when the client was opened with compression on. The user
 * and password go in the Authorization header, never in a URL or a message. A ClickHouse
 * error ("Code: 60, e.displayText() = DB::Exception: ...") becomes one line in sl_error;
 * unreachable servers are retryable SL_ERR_CONNECT, bad credentials non-retryable. */
#ifndef SL_CH_HTTP_H
#define SL_CH_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"

typedef struct sl_ch_url {
	bool tls;            /* https:// */
	const char *ca_file; /* PEM bundle to verify the server with; NULL: the system's */
	const char *cert_file, *key_file; /* PEM client certificate and its key, or NULL */
	const char *mode; /* target.tls.mode in effect (https: verify-full unless set) */
	char host[256];
	unsigned port;
	char user[128];
	char password[256];
	const char *password_file; /* target.password_file: read again for each connection */
} sl_ch_url;

/* Parse http[s]://user[:password]@host[:port][/]; `password` (when not NULL) wins over the URL's.
 * The default port is 8123 (http) or 8443 (https); the default user is "default". */
int sl_ch_url_parse(const char *url, const char *password, sl_ch_url *out, sl_error *err);

typedef struct sl_ch_http sl_ch_http;

/* `what` names the connection in messages ("target"). No request is sent yet. */
sl_ch_http *sl_ch_http_new(const sl_ch_url *u, const char *what, bool gzip);
void sl_ch_http_free(sl_ch_http *h);

/* The TLS protocol of the client's last connection ("TLSv1.3"), or NULL without TLS. */
const char *sl_ch_http_tls_version(sl_ch_http *h);

/* Run one statement; the response body (when out is not NULL) is appended to out. */
int sl_ch_exec(sl_ch_http *h, const char *sql, sl_buf *out, sl_error *err);
/* printf-style statement, no response wanted. */
int sl_ch_execf(sl_ch_http *h, sl_error *err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* INSERT: `insert` is the statement up to and including "FORMAT Native", `settings` extra URL
 * parameters ("" or "&async_insert=1..."), data the body. */
int sl_ch_insert(sl_ch_http *h, const char *insert, const char *settings, const void *data,
                 size_t n, sl_error *err);
/* A streaming INSERT: the request runs in a thread of its own while the caller writes the body
 * (Native blocks) in pieces, sent with chunked transfer encoding (gzip-compressed as a whole
 * when the client compresses); at most a few MiB wait in memory. _end sends the rest and returns
 * the server's verdict; _abandon aborts the request (what the server has already stored stays).
 * After a _write error the request is over (_end then only reports that, _abandon does
 * nothing). */
int sl_ch_insert_begin(sl_ch_http *h, const char *insert, const char *settings, sl_error *err);
int sl_ch_insert_write(sl_ch_http *h, const void *data, size_t n, sl_error *err);
int sl_ch_insert_end(sl_ch_http *h, sl_error *err);
void sl_ch_insert_abandon(sl_ch_http *h);

/* Make the running (or next) request fail with SL_ERR_CANCELLED; any thread. */
void sl_ch_http_cancel(sl_ch_http *h);

/* Append a quoted identifier (`name`) / string literal ('text') to b. */
void sl_ch_quote_ident(sl_buf *b, const char *name);
void sl_ch_quote_string(sl_buf *b, const char *s);

#endif
