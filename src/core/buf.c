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

size_t sl_utf8_seq(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	uint8_t lo = 0x80, hi = 0xbf; /* the second byte's range (RFC 3629, section 4) */
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

bool sl_utf8_valid(const void *p, size_t n)
{
	const uint8_t *s = p;
	for (size_t i = 0, k; i < n; i += k)
		if ((k = sl_utf8_seq(s + i, n - i)) == 0)
			return false;
	return true;
}

const char *sl_utf8_text(const char *s, sl_buf *scratch)
{
	size_t n = strlen(s);
	if (sl_utf8_valid(s, n))
		return s;
	sl_buf_reset(scratch);
	sl_buf_put_utf8(scratch, s, n);
	return sl_buf_cstr(scratch);
}

void sl_buf_put_utf8(sl_buf *b, const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t i = 0, from = 0;
	while (i < n) {
		size_t k = sl_utf8_seq(s + i, n - i);
		if (k) {
			i += k;
			continue;
		}
		sl_buf_append(b, s + from, i - from);
		sl_buf_append(b, "\xef\xbf\xbd", 3);
		from = ++i;
	}
	sl_buf_append(b, s + from, n - from);
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
