/* sl_error helpers. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sl_error_set(sl_error *err, int code, const char *fmt, ...)
{
	if (err == NULL)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
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
