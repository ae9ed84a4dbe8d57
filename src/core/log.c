/* Logging to stderr with secret redaction. */
#include "core/log.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "core/buf.h"
#include "formats/json.h"

/* Secrets at least this long are replaced wherever they occur; see sl_redact_into. */
#define SL_SECRET_ANYWHERE 3

/* Registered secrets, longest first (so a secret containing another is replaced whole),
 * as many as are registered; guarded by sl_log_mu and kept for the life of the process. */
static pthread_mutex_t sl_log_mu = PTHREAD_MUTEX_INITIALIZER;
static sl_log_level sl_log_level_now = SL_LOG_INFO;
static char **sl_secrets;
static size_t sl_nsecrets, sl_secrets_cap;
static bool sl_log_json;
static sl_log_entry sl_log_ring[SL_LOG_RECENT]; /* warnings and errors, under sl_log_mu */
static int sl_log_ring_next, sl_log_ring_n;
static uint64_t sl_log_nwarn, sl_log_nerror; /* under sl_log_mu */
static char sl_log_pipeline[128];

void sl_log_set_json(const char *pipeline)
{
	pthread_mutex_lock(&sl_log_mu);
	sl_log_json = true;
	snprintf(sl_log_pipeline, sizeof sl_log_pipeline, "%s", pipeline ? pipeline : "");
	pthread_mutex_unlock(&sl_log_mu);
}

/* One line to stderr: text or JSON, under the log's lock. msg is redacted already. */
static void sl_log_write(const char *level, const char *msg, bool final)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char ts[32];
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&sl_log_mu);
	if (strcmp(level, "warn") == 0 || strcmp(level, "error") == 0) {
		if (level[0] == 'w')
			sl_log_nwarn++;
		else
			sl_log_nerror++;
		sl_log_entry *e = &sl_log_ring[sl_log_ring_next];
		snprintf(e->time, sizeof e->time, "%s.%03dZ", ts, (int)(tv.tv_usec / 1000));
		snprintf(e->level, sizeof e->level, "%s", level);
		snprintf(e->msg, sizeof e->msg, "%s", msg);
		sl_log_ring_next = (sl_log_ring_next + 1) % SL_LOG_RECENT;
		if (sl_log_ring_n < SL_LOG_RECENT)
			sl_log_ring_n++;
	}
	if (sl_log_json) {
		sl_buf b = {0};
		sl_buf_printf(&b, "{\"time\":\"%s.%03dZ\",\"level\":\"%s\"", ts,
		              (int)(tv.tv_usec / 1000), level);
		if (sl_log_pipeline[0]) {
			sl_buf_puts(&b, ",\"pipeline\":");
			sl_json_put_text(&b, sl_log_pipeline);
		}
		sl_buf_puts(&b, ",\"message\":");
		sl_json_put_text(&b, msg);
		if (final)
			sl_buf_puts(&b, ",\"exit\":true");
		sl_buf_puts(&b, "}\n");
		fwrite(b.data, 1, b.len, stderr);
		sl_buf_free(&b);
	} else if (final) {
		fprintf(stderr, "sluice: error: %s\n", msg);
	} else {
		fprintf(stderr, "%s.%03dZ %-5s %s\n", ts, (int)(tv.tv_usec / 1000), level, msg);
	}
	pthread_mutex_unlock(&sl_log_mu);
}

void sl_log_counts(uint64_t *warnings, uint64_t *errors)
{
	pthread_mutex_lock(&sl_log_mu);
	*warnings = sl_log_nwarn;
	*errors = sl_log_nerror;
	pthread_mutex_unlock(&sl_log_mu);
}

int sl_log_recent(sl_log_entry *out, int max)
{
	pthread_mutex_lock(&sl_log_mu);
	int n = sl_log_ring_n < max ? sl_log_ring_n : max;
	/* the newest n, oldest first */
	for (int i = 0; i < n; i++)
		out[i] = sl_log_ring[(sl_log_ring_next - n + i + SL_LOG_RECENT) % SL_LOG_RECENT];
	pthread_mutex_unlock(&sl_log_mu);
	return n;
}

void sl_log_final(const char *msg)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", msg);
	sl_redact_secrets(buf, sizeof buf);
	sl_log_write("error", buf, true);
}

void sl_log_set_level(sl_log_level level)
{
	sl_log_level_now = level;
}
sl_log_level sl_log_get_level(void)
{
	return sl_log_level_now;
}

int sl_log_parse_level(const char *s)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

void sl_log_add_secret(const char *secret)
{
	if (secret == NULL || secret[0] == '\0')
		return;
	size_t len = strlen(secret);
	pthread_mutex_lock(&sl_log_mu);
	size_t at = sl_nsecrets;
	for (size_t i = 0; i < sl_nsecrets; i++) {
		if (strcmp(sl_secrets[i], secret) == 0) {
			pthread_mutex_unlock(&sl_log_mu);
			return;
		}
		if (at == sl_nsecrets && strlen(sl_secrets[i]) < len)
			at = i;
	}
	if (sl_nsecrets == sl_secrets_cap) {
		sl_secrets_cap = sl_secrets_cap ? 2 * sl_secrets_cap : 16;
		sl_secrets = sl_realloc(sl_secrets, sl_secrets_cap * sizeof *sl_secrets);
	}
	memmove(sl_secrets + at + 1, sl_secrets + at, (sl_nsecrets - at) * sizeof *sl_secrets);
	sl_secrets[at] = sl_strdup(secret);
	sl_nsecrets++;
	pthread_mutex_unlock(&sl_log_mu);
}

static bool sl_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

/* Append `in` (len bytes) to out with the registered secrets replaced by "***"; caller holds
 * sl_log_mu. A secret of SL_SECRET_ANYWHERE or more characters is replaced wherever it occurs.
 * A shorter one (a 1- or 2-character password) would wreck every message if replaced inside
 * words, so it is replaced where it stands alone: not preceded or followed by a letter, digit,
 * '_' or a UTF-8 byte. That covers a URL password (":q@"), a key=value value ("password=q ")
 * and a whole token ("'q'", " q "); the URL and "password=" forms are also redacted by
 * sl_redact_url whatever the value. When `cut` (the text was truncated to fit its buffer), a
 * tail that begins a registered secret of SL_SECRET_ANYWHERE or more characters is a secret
 * cut short and is replaced too. */
static void sl_redact_into(sl_buf *out, const char *in, size_t len, bool cut)
{
	size_t i = 0;
	while (i < len) {
		size_t hit = 0;
		for (size_t k = 0; k < sl_nsecrets && hit == 0; k++) {
			const char *s = sl_secrets[k];
			size_t sl = strlen(s);
			if (s[0] != in[i])
				continue;
			if (sl > len - i) {
				if (cut && sl >= SL_SECRET_ANYWHERE &&
				    memcmp(in + i, s, len - i) == 0)
					hit = len - i;
				continue;
			}
			if (memcmp(in + i, s, sl) != 0)
				continue;
			if (sl < SL_SECRET_ANYWHERE && ((i > 0 && sl_word_char(in[i - 1])) ||
			                                (i + sl < len && sl_word_char(in[i + sl]))))
				continue;
			hit = sl;
		}
		if (hit) {
			sl_buf_puts(out, "***");
			i += hit;
		} else {
			sl_buf_putc(out, in[i++]);
		}
	}
}

/* Copy `text` into buf (capacity n >= 1), cut to fit. */
static void sl_copy_cut(char *buf, size_t n, const char *text, size_t len)
{
	if (len > n - 1)
		len = n - 1;
	memcpy(buf, text, len);
	buf[len] = '\0';
}

void sl_redact_secrets(char *buf, size_t n)
{
	if (buf == NULL || n == 0)
		return;
	size_t len = strnlen(buf, n);
	if (len == n) /* not terminated: treat as cut at n - 1 */
		len = n - 1;
	sl_buf out = {0};
	pthread_mutex_lock(&sl_log_mu);
	if (sl_nsecrets > 0)
		sl_redact_into(&out, buf, len, len == n - 1);
	pthread_mutex_unlock(&sl_log_mu);
	if (out.data != NULL)
		sl_copy_cut(buf, n, (const char *)out.data, out.len);
	else
		buf[len] = '\0';
	sl_buf_free(&out);
}

char *sl_redact_url(const char *in, char *out, size_t n)
{
	if (n == 0)
		return out;
	sl_buf b = {0};
	const char *p = in;
	const char *scheme = strstr(in, "://");
	if (scheme != NULL) {
		/* the authority ends at the path, query or fragment; its password runs from the
		 * first ':' to the last '@' (an unencoded '@' may be part of the password) */
		const char *auth = scheme + 3;
		const char *end = auth + strcspn(auth, "/?#");
		const char *at = NULL;
		for (const char *q = auth; q < end; q++)
			if (*q == '@')
				at = q;
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon != NULL) {
			sl_buf_append(&b, in, (size_t)(colon + 1 - in));
			sl_buf_puts(&b, "***");
			p = at;
		}
	}
	for (const char *pw; (pw = strstr(p, "password=")) != NULL;) {
		const char *v = pw + 9;
		sl_buf_append(&b, p, (size_t)(v - p));
		sl_buf_puts(&b, "***");
		p = v + strcspn(v, " &");
	}
	sl_buf_puts(&b, p);
	/* registered secrets too, before the cut (which could otherwise split one) */
	sl_buf red = {0};
	pthread_mutex_lock(&sl_log_mu);
	sl_redact_into(&red, (const char *)b.data, b.len, false);
	pthread_mutex_unlock(&sl_log_mu);
	sl_copy_cut(out, n, red.data ? (const char *)red.data : "", red.len);
	sl_buf_free(&red);
	sl_buf_free(&b);
	return out;
}

void sl_log(sl_log_level level, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	if (level < sl_log_level_now)
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sl_redact_secrets(msg, sizeof msg);
	sl_log_write(names[level], msg, false);
}
