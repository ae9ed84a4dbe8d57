/* sl_error helpers. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* An error is one line: a server's multi-line text (libpq ends its messages in a newline)
 * becomes single spaces, and a space before ';', ',' or ')' or at the end goes. */
static void sl_error_one_line(char *s)
{
	char *w = s;
	for (const char *p = s; *p; p++) {
		char c = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
		if (c == ' ' && (w == s || w[-1] == ' '))
			continue;
		if ((c == ';' || c == ',' || c == ')') && w > s && w[-1] == ' ' &&
		    (*(p - 1) == '\n' || *(p - 1) == '\r' || *(p - 1) == '\t'))
			w--;
		*w++ = c;
	}
	while (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
}

int sl_error_set(sl_error *err, int code, const char *fmt, ...)
{
	if (err == NULL)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	if (strpbrk(err->msg, "\n\r\t"))
		sl_error_one_line(err->msg);
	err->code = code;
	err->retryable = false;
	err->rediscover = false;
	err->sqlstate[0] = '\0';
	return code;
}

int sl_error_wrap(sl_error *err, const char *fmt, ...)
{
	if (err == NULL)
		return SL_ERR_INTERNAL;
	char prefix[512], old[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
	return err->code ? err->code : SL_ERR_INTERNAL;
}

void sl_error_clear(sl_error *err)
{
	if (err == NULL)
		return;
	memset(err, 0, sizeof *err);
}

int sl_error_exit_status(int code)
{
	if (code == SL_OK)
		return 0;
	if (code == SL_ERR_CONFIG)
		return 2;
	if (code == SL_ERR_MISMATCH)
		return 3;
	if (code == SL_ERR_CANCELLED)
		return 130;
	return 1;
}
