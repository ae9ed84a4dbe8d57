/* Logging to stderr with secret redaction. */
#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define SL_MAX_SECRETS 16

static pthread_mutex_t sl_log_mu = PTHREAD_MUTEX_INITIALIZER;
static sl_log_level sl_log_level_now = SL_LOG_INFO;
static char sl_secrets[SL_MAX_SECRETS][256];
static int sl_nsecrets;

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
	if (secret == NULL || strlen(secret) < 3 || strlen(secret) >= sizeof sl_secrets[0])
		return;
	pthread_mutex_lock(&sl_log_mu);
	int known = 0;
	for (int i = 0; i < sl_nsecrets; i++)
		if (strcmp(sl_secrets[i], secret) == 0)
			known = 1;
	if (!known && sl_nsecrets < SL_MAX_SECRETS)
		strcpy(sl_secrets[sl_nsecrets++], secret);
	pthread_mutex_unlock(&sl_log_mu);
}

static void replace_all(char *buf, size_t n, const char *needle)
{
	size_t nl = strlen(needle);
	char *p = buf;
	while ((p = strstr(p, needle)) != NULL) {
		size_t tail = strlen(p + nl);
		if ((size_t)(p - buf) + 3 + tail + 1 > n)
			break;
		memmove(p + 3, p + nl, tail + 1);
		memcpy(p, "***", 3);
		p += 3;
	}
}

void sl_redact_secrets(char *buf, size_t n)
{
	pthread_mutex_lock(&sl_log_mu);
	for (int i = 0; i < sl_nsecrets; i++)
		replace_all(buf, n, sl_secrets[i]);
	pthread_mutex_unlock(&sl_log_mu);
}

char *sl_redact_url(const char *in, char *out, size_t n)
{
	snprintf(out, n, "%s", in);
	char *scheme = strstr(out, "://");
	if (scheme) {
		char *auth = scheme + 3;
		char *at = strchr(auth, '@');
		char *slash = strchr(auth, '/');
		char *colon = strchr(auth, ':');
		if (at && (!slash || at < slash) && colon && colon < at) {
			memmove(colon + 4, at, strlen(at) + 1);
			memcpy(colon, ":***", 4);
		}
	}
	char *pw = strstr(out, "password=");
	while (pw) {
		char *v = pw + 9;
		char *end = v + strcspn(v, " &");
		if (end - v != 3 || strncmp(v, "***", 3) != 0) {
			memmove(v + 3, end, strlen(end) + 1);
			memcpy(v, "***", 3);
		}
		pw = strstr(v + 3, "password=");
	}
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
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char ts[32];
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&sl_log_mu);
	fprintf(stderr, "%s.%03dZ %-5s %s\n", ts, (int)(tv.tv_usec / 1000), names[level], msg);
	pthread_mutex_unlock(&sl_log_mu);
}
