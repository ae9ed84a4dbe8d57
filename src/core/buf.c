/* sl_buf growth. */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void sl_buf_grow(sl_buf *b, size_t extra)
{
	size_t need = b->len + extra;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = sl_realloc(b->data, cap);
	b->cap = cap;
}

void sl_buf_free(sl_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void sl_buf_put_quoted(sl_buf *b, const char *s, char q)
{
	sl_buf_putc(b, q);
	for (const char *p = s; *p; p++) {
		if (*p == q)
			sl_buf_putc(b, q);
		sl_buf_putc(b, *p);
	}
	sl_buf_putc(b, q);
}

void sl_buf_printf(sl_buf *b, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sl_buf_reserve(b, (size_t)n + 1);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	b->len += (size_t)n;
}
