/* ClickHouse HTTP interface client (see ch_http.h). */
#define _GNU_SOURCE
#include "targets/clickhouse/ch_http.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <zlib.h>

#include "core/config.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/thread.h"
#include "core/url.h"

#define CH_SLOTS 4
#define CH_SLOT_BYTES (1u << 20)

struct ch_stream {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sl_buf q[CH_SLOTS]; /* filled buffers, a ring from head */
	int head, count;
	size_t off; /* bytes of q[head] already handed to curl */
	bool eof, abandon, done;
	CURLcode cr;
	struct curl_slist *headers;
	bool gz;
	z_stream z;
	sl_buf fill; /* the buffer being filled */
};

struct sl_ch_http {
	CURL *curl;
	char base[400]; /* scheme://host:port/ */
	char what[32];
	char where[300]; /* host:port, for messages */
	bool gzip;
	bool tls;             /* https */
	bool client_cert;     /* a client certificate is offered */
	char tls_version[16]; /* of the connection, once a transfer saw it ("TLSv1.3") */
	atomic_int cancelled;
	sl_buf url, body, resp;
	char curl_err[CURL_ERROR_SIZE];
	struct ch_stream *stream; /* streaming INSERT state, made on first use */
	bool stream_failed;       /* the running INSERT already ended in an error */
};

int sl_ch_url_parse(const char *url, const char *password, sl_ch_url *out, sl_error *err)
{
	memset(out, 0, sizeof *out);
	const char *p;
	if (url && strncmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else if (url && strncmp(url, "https://", 8) == 0) {
		p = url + 8;
		out->tls = true;
	} else {
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "target.url is not a ClickHouse HTTP URL: expected "
		                    "http://user@host:8123 (or https://)");
	}
	const char *end = p + strcspn(p, "/?#");
	if (*end == '?' || *end == '#' || (*end == '/' && end[1] != '\0'))
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "target.url: a path or parameters after the host are not "
		                    "supported; name the database in target.database");
	out->port = out->tls ? 8443 : 8123;
	if (!sl_url_authority(p, end, out->user, sizeof out->user, out->password,
	                      sizeof out->password, out->host, sizeof out->host, &out->port))
		goto bad;
	if (out->host[0] == '\0')
		goto bad;
	if (out->user[0] == '\0')
		snprintf(out->user, sizeof out->user, "default");
	if (password)
		snprintf(out->password, sizeof out->password, "%s", password);
	if (out->password[0])
		sl_log_add_secret(out->password);
	return 0;
bad:
	return sl_error_set(err, SL_ERR_CONFIG,
	                    "target.url is not a ClickHouse HTTP URL: expected "
	                    "http://user@host:8123 (or https://)");
}

static int ch_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	sl_ch_http *h = ctx;
	/* the TLS session is curl's to see only while a transfer runs */
	const struct curl_tlssessioninfo *info = NULL;
	if (h->tls && h->tls_version[0] == '\0' &&
	    curl_easy_getinfo(h->curl, CURLINFO_TLS_SSL_PTR, &info) == CURLE_OK && info &&
	    info->backend == CURLSSLBACKEND_OPENSSL && info->internals)
		snprintf(h->tls_version, sizeof h->tls_version, "%s",
		         SSL_get_version(info->internals));
	return atomic_load(&h->cancelled) ? 1 : 0;
}

static size_t ch_write(char *p, size_t size, size_t n, void *ctx)
{
	sl_buf_append(ctx, p, size * n);
	return size * n;
}

static void ch_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

sl_ch_http *sl_ch_http_new(const sl_ch_url *u, const char *what, bool gzip)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, ch_global_init);
	sl_ch_http *h = sl_calloc(1, sizeof *h);
	h->curl = curl_easy_init();
	if (h->curl == NULL)
		abort(); /* out of memory: as sl_calloc does */
	bool v6 = strchr(u->host, ':') != NULL && u->host[0] != '[';
	snprintf(h->base, sizeof h->base, "%s://%s%s%s:%u/", u->tls ? "https" : "http",
	         v6 ? "[" : "", u->host, v6 ? "]" : "", u->port);
	snprintf(h->where, sizeof h->where, "%s:%u", u->host, u->port);
	snprintf(h->what, sizeof h->what, "%s", what);
	h->gzip = gzip;
	h->tls = u->tls;
	h->client_cert = u->cert_file != NULL;
	CURL *c = h->curl;
	curl_easy_setopt(c, CURLOPT_USERNAME, u->user);
	/* a rotated target.password_file is used from the next connection on */
	char *pw = NULL;
	sl_error e = {0};
	if (u->password_file &&
	    sl_secret_read(u->password_file, "target.password_file", &pw, &e) < 0)
		sl_warn("%s: %s (the password read before is used)", what, e.msg);
	curl_easy_setopt(c, CURLOPT_PASSWORD, pw ? pw : u->password); /* curl keeps a copy */
	sl_free_secret(pw);
	curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	/* a statement may run long without sending a byte (a large INSERT ... SELECT); a server
	 * that says nothing for 10 minutes is gone */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 600L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, ch_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &h->resp);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_err);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	if (u->tls) {
		/* verify-full: chain and host name (curl's default); verify-ca: the chain; require
		 * and prefer: encrypted, unchecked */
		const char *m = u->mode ? u->mode : "verify-full";
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER,
		                 strncmp(m, "verify-", 7) == 0 ? 1L : 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST,
		                 strcmp(m, "verify-full") == 0 ? 2L : 0L);
	}
	if (u->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, u->ca_file);
	if (u->cert_file) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, u->cert_file);
		curl_easy_setopt(c, CURLOPT_SSLKEY, u->key_file);
	}
	return h;
}

const char *sl_ch_http_tls_version(sl_ch_http *h)
{
	return h->tls_version[0] ? h->tls_version : NULL;
}

void sl_ch_http_free(sl_ch_http *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	if (h->stream) {
		for (int i = 0; i < CH_SLOTS; i++)
			sl_buf_free(&h->stream->q[i]);
		sl_buf_free(&h->stream->fill);
		pthread_mutex_destroy(&h->stream->mu);
		pthread_cond_destroy(&h->stream->cv);
		free(h->stream);
	}
	sl_buf_free(&h->url);
	sl_buf_free(&h->body);
	sl_buf_free(&h->resp);
	free(h);
}

void sl_ch_http_cancel(sl_ch_http *h)
{
	if (h == NULL)
		return;
	atomic_store(&h->cancelled, 1);
	struct ch_stream *st = h->stream;
	if (st) { /* wake a sender waiting for data */
		pthread_mutex_lock(&st->mu);
		pthread_cond_broadcast(&st->cv);
		pthread_mutex_unlock(&st->mu);
	}
}

static void ch_url_encode(sl_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			sl_buf_putc(b, (char)c);
		} else {
			sl_buf_putc(b, '%');
			sl_buf_putc(b, hex[c >> 4]);
			sl_buf_putc(b, hex[c & 15]);
		}
	}
}

/* The first line of a ClickHouse error body, without the "e.displayText() = " and "e.what()"
 * decorations of older servers. */
static void ch_error_text(const sl_buf *resp, char *out, size_t n)
{
	size_t len = resp->len < n - 1 ? resp->len : n - 1;
	memcpy(out, resp->data, len);
	out[len] = '\0';
	char *cut = strchr(out, '\n');
	if (cut)
		*cut = '\0';
	if ((cut = strstr(out, ", e.what() = ")) != NULL)
		*cut = '\0';
	if ((cut = strstr(out, "e.displayText() = ")) != NULL)
		memmove(cut, cut + 18, strlen(cut + 18) + 1);
	len = strlen(out);
	while (len > 0 && (out[len - 1] == ' ' || out[len - 1] == '\r'))
		out[--len] = '\0';
}

static int ch_code_of(const sl_buf *resp)
{
	const uint8_t *p = memmem(resp->data, resp->len, "Code: ", 6);
	if (p == NULL)
		return 0;
	const uint8_t *end = resp->data + resp->len;
	int code = 0;
	for (p += 6; p < end && *p >= '0' && *p <= '9' && code < 100000; p++)
		code = code * 10 + (*p - '0'); /* the body is not NUL-terminated */
	return code;
}

/* The URL and headers of a request; *headers to free with curl_slist_free_all. */
static void ch_prepare(sl_ch_http *h, const char *query_param, const char *settings,
                       struct curl_slist **headers)
{
	sl_buf_reset(&h->url);
	sl_buf_puts(&h->url, h->base);
	sl_buf_puts(&h->url, "?");
	if (query_param) {
		sl_buf_puts(&h->url, "query=");
		ch_url_encode(&h->url, query_param);
	}
	if (settings)
		sl_buf_puts(&h->url, settings);
	curl_easy_setopt(h->curl, CURLOPT_URL, sl_buf_cstr(&h->url));
	*headers = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	*headers = curl_slist_append(*headers, "Expect:");
	sl_buf_reset(&h->resp);
	h->curl_err[0] = '\0';
}

/* A failed request's TLS trouble as the setting to change; NULL when it is not TLS. */
static const char *ch_tls_fix(const sl_ch_http *h, CURLcode cr)
{
	const char *m = h->curl_err;
	if (cr == CURLE_PEER_FAILED_VERIFICATION &&
	    (strstr(m, "host name") || strstr(m, "subject name") || strstr(m, "hostname")))
		return "the server's certificate is not for the host in target.url: connect by a "
		       "name the certificate holds, or use target.tls.mode verify-ca";
	if (cr == CURLE_PEER_FAILED_VERIFICATION && strstr(m, "expired"))
		return "the server's certificate has expired: renew it on the server";
	if (cr == CURLE_PEER_FAILED_VERIFICATION || cr == CURLE_SSL_CACERT_BADFILE)
		return "the server's certificate is not signed by a CA in target.tls.ca_file (or, "
		       "without it, one this system trusts): name its CA in target.tls.ca_file";
	if (cr == CURLE_SSL_CERTPROBLEM)
		return "the client certificate or key cannot be used: check target.tls.cert_file "
		       "and target.tls.key_file (PEM, the key unencrypted)";
	if (cr == CURLE_SSL_CONNECT_ERROR && strstr(m, "wrong version number"))
		return "the port in target.url does not speak TLS: use ClickHouse's https_port, or "
		       "http://";
	if (cr == CURLE_SSL_CONNECT_ERROR || (cr == CURLE_RECV_ERROR && strstr(m, "alert")))
		return "the server refused the TLS handshake: if it wants a client certificate, "
		       "set "
		       "target.tls.cert_file and target.tls.key_file (signed by a CA it trusts)";
	/* TLS 1.3 asks for the client certificate after the handshake: a server that wants one
	 * and gets none just closes the connection */
	if (h->tls && !h->client_cert &&
	    (cr == CURLE_SEND_ERROR || cr == CURLE_RECV_ERROR || cr == CURLE_GOT_NOTHING))
		return "the server closed the connection after the handshake: if it wants a client "
		       "certificate, set target.tls.cert_file and target.tls.key_file";
	return NULL;
}

/* What a finished request means: 0, or the error in one line. */
static int ch_finish(sl_ch_http *h, CURLcode cr, sl_buf *out, sl_error *err)
{
	if (cr == CURLE_ABORTED_BY_CALLBACK)
		return sl_error_set(err, SL_ERR_CANCELLED, "%s: cancelled", h->what);
	const char *fix = ch_tls_fix(h, cr);
	if (fix) {
		int rc = sl_error_set(err, SL_ERR_CONNECT,
		                      "%s: TLS with ClickHouse at %s failed: %s (%s)", h->what,
		                      h->where,
		                      h->curl_err[0] ? h->curl_err : curl_easy_strerror(cr), fix);
		/* a dropped connection may also be the network's doing */
		err->retryable =
		        cr == CURLE_SEND_ERROR || cr == CURLE_RECV_ERROR || cr == CURLE_GOT_NOTHING;
		return rc;
	}
	long status = 0;
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	if (cr != CURLE_OK && (status == 0 || status == 200)) {
		int rc = sl_error_set(
		        err, SL_ERR_CONNECT,
		        "%s: cannot reach ClickHouse at %s: %s (is the server running "
		        "and target.url right?)",
		        h->what, h->where, h->curl_err[0] ? h->curl_err : curl_easy_strerror(cr));
		err->retryable = true;
		return rc;
	}
	if (status == 200) {
		if (out)
			sl_buf_append(out, h->resp.data, h->resp.len);
		return 0;
	}
	char text[700];
	ch_error_text(&h->resp, text, sizeof text);
	int code = ch_code_of(&h->resp);
	/* 192 unknown user, 193 wrong password, 516 authentication failed (newer servers) */
	if (status == 401 || status == 403 || code == 192 || code == 193 || code == 516)
		return sl_error_set(
		        err, SL_ERR_CONNECT,
		        "%s: ClickHouse at %s refused the login (wrong user or password; "
		        "set target.password or the user in target.url): %s",
		        h->what, h->where, text);
	/* 164 readonly, 497 access denied */
	if (code == 164 || code == 497)
		return sl_error_set(err, SL_ERR_PRIVILEGE,
		                    "%s: the ClickHouse user lacks a privilege (grant it CREATE, "
		                    "ALTER, INSERT and SELECT on target.database, readonly=0): %s",
		                    h->what, text);
	int rc = sl_error_set(err, SL_ERR_SERVER, "%s: ClickHouse: %s", h->what,
	                      text[0] ? text : "(no message)");
	/* 252 too many parts, 202 too many simultaneous queries, 209/210 network */
	err->retryable = status == 503 || code == 252 || code == 202 || code == 209 || code == 210;
	return rc;
}

static int ch_request(sl_ch_http *h, const char *query_param, const char *settings,
                      const void *data, size_t n, bool may_gzip, sl_buf *out, sl_error *err)
{
	if (atomic_load(&h->cancelled))
		return sl_error_set(err, SL_ERR_CANCELLED, "%s: cancelled", h->what);
	CURL *c = h->curl;
	struct curl_slist *headers;
	ch_prepare(h, query_param, settings, &headers);
	if (may_gzip && h->gzip && n > 4096 && n <= UINT32_MAX) {
		z_stream z;
		memset(&z, 0, sizeof z);
		/* windowBits 15 + 16: a gzip wrapper, which the server's Content-Encoding: gzip
		 * expects */
		deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
		size_t bound = deflateBound(&z, n);
		sl_buf_reset(&h->body);
		z.next_in = (Bytef *)data;
		z.avail_in = (uInt)n;
		z.next_out = sl_buf_reserve(&h->body, bound);
		z.avail_out = (uInt)bound;
		int zr = deflate(&z, Z_FINISH);
		h->body.len = bound - z.avail_out;
		deflateEnd(&z);
		if (zr == Z_STREAM_END) {
			data = h->body.data;
			n = h->body.len;
			headers = curl_slist_append(headers, "Content-Encoding: gzip");
		}
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, data ? data : "");
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
	CURLcode cr = curl_easy_perform(c);
	curl_slist_free_all(headers);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	return ch_finish(h, cr, out, err);
}

/* ---------------------------------------------------------------- streaming inserts ---- */

static size_t ch_read(char *p, size_t size, size_t n, void *ctx)
{
	sl_ch_http *h = ctx;
	struct ch_stream *st = h->stream;
	pthread_mutex_lock(&st->mu);
	while (st->count == 0 && !st->eof && !st->abandon && !atomic_load(&h->cancelled))
		pthread_cond_wait(&st->cv, &st->mu);
	size_t k = 0;
	if (st->abandon || atomic_load(&h->cancelled)) {
		k = CURL_READFUNC_ABORT;
	} else if (st->count > 0) {
		sl_buf *b = &st->q[st->head];
		k = b->len - st->off < size * n ? b->len - st->off : size * n;
		memcpy(p, b->data + st->off, k);
		st->off += k;
		if (st->off == b->len) {
			sl_buf_reset(b);
			st->off = 0;
			st->head = (st->head + 1) % CH_SLOTS;
			st->count--;
			pthread_cond_broadcast(&st->cv);
		}
	}
	pthread_mutex_unlock(&st->mu);
	return k;
}

static void *ch_stream_main(void *arg)
{
	sl_ch_http *h = arg;
	struct ch_stream *st = h->stream;
	CURLcode cr = curl_easy_perform(h->curl);
	pthread_mutex_lock(&st->mu);
	st->cr = cr;
	st->done = true;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

/* Undo what sl_ch_insert_begin set up on the handle: headers, compressor, read callback. */
static void ch_stream_release(sl_ch_http *h)
{
	struct ch_stream *st = h->stream;
	curl_slist_free_all(st->headers);
	st->headers = NULL;
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h->curl, CURLOPT_READFUNCTION, NULL);
	if (st->gz)
		deflateEnd(&st->z);
	for (int i = 0; i < CH_SLOTS; i++)
		sl_buf_reset(&st->q[i]);
}

int sl_ch_insert_begin(sl_ch_http *h, const char *insert, const char *settings, sl_error *err)
{
	if (atomic_load(&h->cancelled))
		return sl_error_set(err, SL_ERR_CANCELLED, "%s: cancelled", h->what);
	if (h->stream == NULL) {
		h->stream = sl_calloc(1, sizeof *h->stream);
		pthread_mutex_init(&h->stream->mu, NULL);
		pthread_cond_init(&h->stream->cv, NULL);
	}
	struct ch_stream *st = h->stream;
	st->head = st->count = 0;
	st->off = 0;
	st->eof = st->abandon = st->done = false;
	sl_buf_reset(&st->fill);
	ch_prepare(h, insert, settings, &st->headers);
	st->headers = curl_slist_append(st->headers, "Transfer-Encoding: chunked");
	st->gz = h->gzip;
	if (st->gz) {
		memset(&st->z, 0, sizeof st->z);
		deflateInit2(&st->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
		st->headers = curl_slist_append(st->headers, "Content-Encoding: gzip");
	}
	CURL *c = h->curl;
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, st->headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, ch_read);
	curl_easy_setopt(c, CURLOPT_READDATA, h);
	if (sl_thread_start(&st->thread, ch_stream_main, h, "ClickHouse INSERT sender", err) < 0) {
		/* no request runs: nothing to join, and the caller does not end this insert */
		ch_stream_release(h);
		return SL_ERR_INTERNAL;
	}
	return 0;
}

/* Hand st->fill to the sender; false when the request already ended. */
static bool ch_enqueue(struct ch_stream *st)
{
	pthread_mutex_lock(&st->mu);
	while (st->count == CH_SLOTS && !st->done)
		pthread_cond_wait(&st->cv, &st->mu);
	bool ok = !st->done;
	if (ok) {
		sl_buf *slot = &st->q[(st->head + st->count) % CH_SLOTS];
		sl_buf tmp = *slot;
		*slot = st->fill;
		st->fill = tmp;
		sl_buf_reset(&st->fill);
		st->count++;
		pthread_cond_broadcast(&st->cv);
	}
	pthread_mutex_unlock(&st->mu);
	return ok;
}

static void ch_deflate(struct ch_stream *st, const void *data, size_t n, int flush)
{
	st->z.next_in = (Bytef *)data;
	st->z.avail_in = (uInt)n;
	do {
		size_t room = n / 2 + 65536;
		st->z.next_out = sl_buf_reserve(&st->fill, room);
		st->z.avail_out = (uInt)room;
		deflate(&st->z, flush);
		st->fill.len += room - st->z.avail_out;
	} while (st->z.avail_out == 0 || (flush == Z_FINISH && st->z.avail_in > 0));
}

/* Wait for the request's end; its result. */
static int ch_stream_join(sl_ch_http *h, sl_error *err)
{
	pthread_join(h->stream->thread, NULL);
	ch_stream_release(h);
	return ch_finish(h, h->stream->cr, NULL, err);
}

int sl_ch_insert_write(sl_ch_http *h, const void *data, size_t n, sl_error *err)
{
	struct ch_stream *st = h->stream;
	while (n > 0) {
		size_t k = n > UINT32_MAX / 2 ? UINT32_MAX / 2 : n;
		if (st->gz)
			ch_deflate(st, data, k, Z_NO_FLUSH);
		else
			sl_buf_append(&st->fill, data, k);
		data = (const uint8_t *)data + k;
		n -= k;
		if (st->fill.len >= CH_SLOT_BYTES && !ch_enqueue(st)) {
			/* the server answered before the end: an error */
			int rc = ch_stream_join(h, err);
			h->stream_failed = true;
			return rc < 0 ? rc
			              : sl_error_set(err, SL_ERR_SERVER,
			                             "%s: ClickHouse ended the INSERT early",
			                             h->what);
		}
	}
	return 0;
}

int sl_ch_insert_end(sl_ch_http *h, sl_error *err)
{
	struct ch_stream *st = h->stream;
	if (h->stream_failed) {
		h->stream_failed = false;
		return sl_error_set(err, SL_ERR_INTERNAL, "%s: INSERT already failed", h->what);
	}
	if (st->gz)
		ch_deflate(st, "", 0, Z_FINISH);
	if (st->fill.len > 0)
		ch_enqueue(st);
	pthread_mutex_lock(&st->mu);
	st->eof = true;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	return ch_stream_join(h, err);
}

void sl_ch_insert_abandon(sl_ch_http *h)
{
	struct ch_stream *st = h->stream;
	if (h->stream_failed) {
		h->stream_failed = false;
		return;
	}
	pthread_mutex_lock(&st->mu);
	st->abandon = true;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	sl_error e = {0};
	ch_stream_join(h, &e);
}

int sl_ch_exec(sl_ch_http *h, const char *sql, sl_buf *out, sl_error *err)
{
	return ch_request(h, NULL, NULL, sql, strlen(sql), false, out, err);
}

int sl_ch_execf(sl_ch_http *h, sl_error *err, const char *fmt, ...)
{
	sl_buf b = {0};
	va_list ap;
	va_start(ap, fmt);
	char tmp[4096];
	int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (k >= (int)sizeof tmp) {
		va_start(ap, fmt);
		char *big = sl_malloc((size_t)k + 1);
		vsnprintf(big, (size_t)k + 1, fmt, ap);
		va_end(ap);
		sl_buf_puts(&b, big);
		free(big);
	} else {
		sl_buf_puts(&b, tmp);
	}
	int rc = sl_ch_exec(h, sl_buf_cstr(&b), NULL, err);
	sl_buf_free(&b);
	return rc;
}

int sl_ch_insert(sl_ch_http *h, const char *insert, const char *settings, const void *data,
                 size_t n, sl_error *err)
{
	return ch_request(h, insert, settings, data, n, true, NULL, err);
}

void sl_ch_quote_ident(sl_buf *b, const char *name)
{
	sl_buf_putc(b, '`');
	for (const char *p = name; *p; p++) {
		if (*p == '`' || *p == '\\')
			sl_buf_putc(b, '\\');
		sl_buf_putc(b, *p);
	}
	sl_buf_putc(b, '`');
}

void sl_ch_quote_string(sl_buf *b, const char *s)
{
	sl_buf_putc(b, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'' || *p == '\\')
			sl_buf_putc(b, '\\');
		sl_buf_putc(b, *p);
	}
	sl_buf_putc(b, '\'');
}
