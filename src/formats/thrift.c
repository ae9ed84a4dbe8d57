/* Thrift compact protocol (see thrift.h). */
#include "formats/thrift.h"

#include <stdlib.h>
#include <string.h>

static uint64_t tc_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

void sl_tc_writer_init(sl_tc_writer *w, sl_buf *out)
{
	memset(w, 0, sizeof *w);
	w->out = out;
}

void sl_tc_varint(sl_tc_writer *w, uint64_t v)
{
	uint8_t tmp[10];
	int n = 0;
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		tmp[n++] = (uint8_t)(b | (v ? 0x80 : 0));
	} while (v);
	sl_buf_append(w->out, tmp, (size_t)n);
}

void sl_tc_begin(sl_tc_writer *w)
{
	/* deeper than any Parquet structure: a programming error, not input */
	if (w->depth + 1 >= SL_TC_DEPTH)
		abort();
	w->last[++w->depth] = 0;
}

void sl_tc_end(sl_tc_writer *w)
{
	sl_buf_putc(w->out, SL_TC_STOP);
	w->depth--;
}

void sl_tc_field(sl_tc_writer *w, int16_t id, int type)
{
	int delta = id - w->last[w->depth];
	if (delta > 0 && delta <= 15) {
		sl_buf_putc(w->out, (char)((delta << 4) | type));
	} else {
		sl_buf_putc(w->out, (char)type);
		sl_tc_varint(w, tc_zigzag(id));
	}
	w->last[w->depth] = id;
}

void sl_tc_i32(sl_tc_writer *w, int16_t id, int32_t v)
{
	sl_tc_field(w, id, SL_TC_I32);
	sl_tc_varint(w, tc_zigzag(v));
}

void sl_tc_i64(sl_tc_writer *w, int16_t id, int64_t v)
{
	sl_tc_field(w, id, SL_TC_I64);
	sl_tc_varint(w, tc_zigzag(v));
}

void sl_tc_byte(sl_tc_writer *w, int16_t id, int8_t v)
{
	sl_tc_field(w, id, SL_TC_BYTE);
	sl_buf_putc(w->out, (char)v);
}

void sl_tc_bool(sl_tc_writer *w, int16_t id, bool v)
{
	sl_tc_field(w, id, v ? SL_TC_TRUE : SL_TC_FALSE);
}

void sl_tc_elem_binary(sl_tc_writer *w, const void *p, size_t n)
{
	sl_tc_varint(w, n);
	sl_buf_append(w->out, p, n);
}

void sl_tc_binary(sl_tc_writer *w, int16_t id, const void *p, size_t n)
{
	sl_tc_field(w, id, SL_TC_BINARY);
	sl_tc_elem_binary(w, p, n);
}

void sl_tc_string(sl_tc_writer *w, int16_t id, const char *s)
{
	sl_tc_binary(w, id, s, strlen(s));
}

void sl_tc_empty(sl_tc_writer *w, int16_t id)
{
	sl_tc_field(w, id, SL_TC_STRUCT);
	sl_tc_begin(w);
	sl_tc_end(w);
}

void sl_tc_list(sl_tc_writer *w, int16_t id, int type, uint32_t n)
{
	sl_tc_field(w, id, SL_TC_LIST);
	if (n < 15) {
		sl_buf_putc(w->out, (char)((n << 4) | (unsigned)type));
	} else {
		sl_buf_putc(w->out, (char)(0xf0 | type));
		sl_tc_varint(w, n);
	}
}

void sl_tc_elem_i32(sl_tc_writer *w, int32_t v)
{
	sl_tc_varint(w, tc_zigzag(v));
}

void sl_tc_elem_i64(sl_tc_writer *w, int64_t v)
{
	sl_tc_varint(w, tc_zigzag(v));
}

/* ---- reader ---- */

void sl_tc_reader_init(sl_tc_reader *r, const void *p, size_t n)
{
	memset(r, 0, sizeof *r);
	r->p = p;
	r->end = r->p + n;
}

uint64_t sl_tc_read_varint(sl_tc_reader *r)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end) {
			r->bad = true;
			return 0;
		}
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = true; /* more than 10 bytes */
	return 0;
}

int64_t sl_tc_read_int(sl_tc_reader *r)
{
	uint64_t u = sl_tc_read_varint(r);
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

const uint8_t *sl_tc_read_binary(sl_tc_reader *r, size_t *n)
{
	uint64_t len = sl_tc_read_varint(r);
	if (r->bad || len > (uint64_t)(r->end - r->p)) {
		r->bad = true;
		*n = 0;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += len;
	*n = (size_t)len;
	return p;
}

uint32_t sl_tc_read_list(sl_tc_reader *r, int *elem_type)
{
	if (r->p >= r->end) {
		r->bad = true;
		return 0;
	}
	uint8_t h = *r->p++;
	*elem_type = h & 0x0f;
	uint64_t n = h >> 4;
	if (n == 15)
		n = sl_tc_read_varint(r);
	/* every element takes at least one byte: a count beyond the input is malformed */
	if (r->bad || n > (uint64_t)(r->end - r->p)) {
		r->bad = true;
		return 0;
	}
	return (uint32_t)n;
}

void sl_tc_enter(sl_tc_reader *r)
{
	if (r->depth + 1 >= SL_TC_DEPTH) {
		r->bad = true;
		return;
	}
	r->last[++r->depth] = 0;
}

bool sl_tc_next(sl_tc_reader *r, int16_t *id, int *type)
{
	if (r->bad || r->p >= r->end) {
		r->bad = true;
		return false;
	}
	uint8_t h = *r->p++;
	if (h == SL_TC_STOP)
		return false;
	*type = h & 0x0f;
	int delta = h >> 4;
	if (delta)
		*id = (int16_t)(r->last[r->depth] + delta);
	else
		*id = (int16_t)sl_tc_read_int(r);
	r->last[r->depth] = *id;
	return !r->bad;
}

void sl_tc_leave(sl_tc_reader *r)
{
	int16_t id;
	int type;
	while (sl_tc_next(r, &id, &type))
		sl_tc_skip(r, type);
	r->depth--;
}

void sl_tc_skip(sl_tc_reader *r, int type)
{
	switch (type) {
	case SL_TC_TRUE:
	case SL_TC_FALSE:
		return; /* a field's boolean is its type */
	case SL_TC_BYTE:
		if (r->p >= r->end)
			r->bad = true;
		else
			r->p++;
		return;
	case SL_TC_I16:
	case SL_TC_I32:
	case SL_TC_I64:
		(void)sl_tc_read_varint(r);
		return;
	case SL_TC_DOUBLE:
		if (r->end - r->p < 8)
			r->bad = true;
		else
			r->p += 8;
		return;
	case SL_TC_BINARY: {
		size_t n;
		(void)sl_tc_read_binary(r, &n);
		return;
	}
	case SL_TC_LIST:
	case SL_TC_SET: {
		int et;
		uint32_t n = sl_tc_read_list(r, &et);
		/* a boolean element is one byte */
		if (et == SL_TC_TRUE || et == SL_TC_FALSE)
			et = SL_TC_BYTE;
		for (uint32_t i = 0; i < n && !r->bad; i++)
			sl_tc_skip(r, et);
		return;
	}
	case SL_TC_MAP: {
		uint64_t n = sl_tc_read_varint(r);
		if (n == 0 || r->bad)
			return;
		if (r->p >= r->end || n > (uint64_t)(r->end - r->p)) {
			r->bad = true;
			return;
		}
		uint8_t kv = *r->p++;
		int kt = kv >> 4, vt = kv & 0x0f;
		if (kt == SL_TC_TRUE || kt == SL_TC_FALSE)
			kt = SL_TC_BYTE;
		if (vt == SL_TC_TRUE || vt == SL_TC_FALSE)
			vt = SL_TC_BYTE;
		for (uint64_t i = 0; i < n && !r->bad; i++) {
			sl_tc_skip(r, kt);
			sl_tc_skip(r, vt);
		}
		return;
	}
	case SL_TC_STRUCT:
		sl_tc_enter(r);
		if (!r->bad)
			sl_tc_leave(r);
		return;
	default:
		r->bad = true;
	}
}
