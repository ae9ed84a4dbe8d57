/* sl_buf: a growable byte buffer, the unit of reuse for encoders and column builders.
 * Reset keeps the capacity so one buffer serves a whole batch, chunk or group. */
#ifndef SL_BUF_H
#define SL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/mem.h"

typedef struct sl_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
} sl_buf;

void sl_buf_grow(sl_buf *b, size_t extra);
void sl_buf_free(sl_buf *b);
/* Append s between two `q` characters, doubling any `q` inside (SQL identifier/literal style). */
void sl_buf_put_quoted(sl_buf *b, const char *s, char q);
void sl_buf_printf(sl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The length of the well-formed UTF-8 sequence (RFC 3629: no overlongs, surrogates or code
 * points past U+10FFFF) that starts s[0..n), or 0 if none does (n > 0). */
size_t sl_utf8_seq(const uint8_t *s, size_t n);
bool sl_utf8_valid(const void *s, size_t n);
/* Append s[0..n) with each byte that starts no well-formed sequence replaced by U+FFFD: text
 * for readers that require UTF-8 (JSON, Prometheus labels, protobuf strings). */
void sl_buf_put_utf8(sl_buf *b, const void *s, size_t n);
/* s itself when it is UTF-8, else its sl_buf_put_utf8 form in scratch (which the caller frees) */
const char *sl_utf8_text(const char *s, sl_buf *scratch);

static inline void sl_buf_reset(sl_buf *b)
{
	b->len = 0;
}

static inline uint8_t *sl_buf_reserve(sl_buf *b, size_t n)
{
	if (b->cap - b->len < n || b->data == NULL) /* NULL + 0 is undefined behaviour too */
		sl_buf_grow(b, n);
	return b->data + b->len;
}

static inline void sl_buf_append(sl_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(sl_buf_reserve(b, n), p, n);
	b->len += n;
}

static inline void sl_buf_putc(sl_buf *b, char c)
{
	*sl_buf_reserve(b, 1) = (uint8_t)c;
	b->len++;
}

static inline void sl_buf_puts(sl_buf *b, const char *s)
{
	sl_buf_append(b, s, strlen(s));
}

/* NUL-terminated view of the contents (the NUL is not counted in len). */
static inline const char *sl_buf_cstr(sl_buf *b)
{
	*sl_buf_reserve(b, 1) = 0;
	return (const char *)b->data;
}

#endif
