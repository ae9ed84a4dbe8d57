/* JSON canonical form (see json.h): a recursive-descent parser that writes the canonical text
 * as it goes. An object's members are written in source order, their offsets kept in the
 * scratch buffer (a stack shared by the nested objects); when the object closes, the members
 * are sorted by key, duplicates dropped, and the object rewritten in place. */
#include "formats/json.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct sl_json_ctx {
	const uint8_t *p, *end;
	sl_buf *out, *scratch;
	bool raw; /* strings: their decoded bytes, without quotes or escapes (sl_json_string) */
} sl_json_ctx;

/* One member of an object being parsed, as offsets into out. */
typedef struct sl_json_pending {
	const uint8_t *key; /* set once the object is complete and out no longer moves */
	size_t off;         /* start of the member in out: its canonical key string */
	size_t key_len;
	size_t len; /* key, ':' and value; 0 once dropped as a duplicate */
	size_t idx; /* position in the object: of duplicate keys the last wins */
} sl_json_pending;

static int sl_json_value(sl_json_ctx *c, int depth);

static void sl_json_ws(sl_json_ctx *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int sl_json_literal(sl_json_ctx *c, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return -1;
	c->p += n;
	sl_buf_append(c->out, word, n);
	return 0;
}

/* Length (1-4) of the well-formed UTF-8 sequence at p (no overlongs, no surrogates, at most
 * U+10FFFF), or 0. */
static int sl_utf8_len(const uint8_t *p, const uint8_t *end)
{
	size_t avail = (size_t)(end - p);
	uint8_t b = p[0], lo = 0x80, hi = 0xBF;
	int n;
	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF)
		n = 2;
	else if (b >= 0xE0 && b <= 0xEF)
		n = 3;
	else if (b >= 0xF0 && b <= 0xF4)
		n = 4;
	else
		return 0;
	if (avail < (size_t)n)
		return 0;
	if (b == 0xE0)
		lo = 0xA0;
	else if (b == 0xED)
		hi = 0x9F; /* U+D800..U+DFFF are not characters */
	else if (b == 0xF0)
		lo = 0x90;
	else if (b == 0xF4)
		hi = 0x8F;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (int k = 2; k < n; k++)
		if (p[k] < 0x80 || p[k] > 0xBF)
			return 0;
	return n;
}

static int sl_json_hex4(const uint8_t *p, const uint8_t *end, uint32_t *v)
{
	if (end - p < 4)
		return -1;
	uint32_t r = 0;
	for (int k = 0; k < 4; k++) {
		uint8_t h = p[k];
		int d = h >= '0' && h <= '9'   ? h - '0'
		        : h >= 'a' && h <= 'f' ? h - 'a' + 10
		        : h >= 'A' && h <= 'F' ? h - 'A' + 10
		                               : -1;
		if (d < 0)
			return -1;
		r = r << 4 | (uint32_t)d;
	}
	*v = r;
	return 0;
}

/* Write code point cp (a character, not a surrogate) in the canonical string form. */
static void sl_json_put_cp(sl_buf *out, uint32_t cp, bool raw)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t *o;
	if (raw && cp < 0x80) {
		sl_buf_putc(out, (char)cp);
	} else if (cp == '"' || cp == '\\') {
		o = sl_buf_reserve(out, 2);
		o[0] = '\\';
		o[1] = (uint8_t)cp;
		out->len += 2;
	} else if (cp < 0x20) {
		o = sl_buf_reserve(out, 6);
		memcpy(o, "\\u00", 4);
		o[4] = (uint8_t)hex[cp >> 4];
		o[5] = (uint8_t)hex[cp & 15];
		out->len += 6;
	} else if (cp < 0x80) {
		sl_buf_putc(out, (char)cp);
	} else if (cp < 0x800) {
		o = sl_buf_reserve(out, 2);
		o[0] = (uint8_t)(0xC0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3F));
		out->len += 2;
	} else if (cp < 0x10000) {
		o = sl_buf_reserve(out, 3);
		o[0] = (uint8_t)(0xE0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (uint8_t)(0x80 | (cp & 0x3F));
		out->len += 3;
	} else {
		o = sl_buf_reserve(out, 4);
		o[0] = (uint8_t)(0xF0 | cp >> 18);
		o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
		o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		o[3] = (uint8_t)(0x80 | (cp & 0x3F));
		out->len += 4;
	}
}

/* At '"': decode the string, write it canonically (quotes included), or raw. */
static int sl_json_str(sl_json_ctx *c)
{
	const uint8_t *p = c->p + 1, *end = c->end;
	if (!c->raw)
		sl_buf_putc(c->out, '"');
	for (;;) {
		const uint8_t *run = p; /* plain printable ASCII is copied as is */
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		sl_buf_append(c->out, run, (size_t)(p - run));
		if (p >= end || *p < 0x20)
			return -1;
		if (*p == '"')
			break;
		if (*p >= 0x80) {
			int n = sl_utf8_len(p, end);
			if (n == 0)
				return -1;
			sl_buf_append(c->out, p, (size_t)n);
			p += n;
			continue;
		}
		/* backslash */
		if (end - p < 2)
			return -1;
		uint8_t e = p[1];
		p += 2;
		uint32_t cp;
		switch (e) {
		case '"':
		case '\\':
		case '/':
			cp = e;
			break;
		case 'b':
			cp = '\b';
			break;
		case 'f':
			cp = '\f';
			break;
		case 'n':
			cp = '\n';
			break;
		case 'r':
			cp = '\r';
			break;
		case 't':
			cp = '\t';
			break;
		case 'u':
			if (sl_json_hex4(p, end, &cp) < 0)
				return -1;
			p += 4;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return -1; /* low surrogate without a high one */
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				uint32_t low;
				if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
				    sl_json_hex4(p + 2, end, &low) < 0 || low < 0xDC00 ||
				    low > 0xDFFF)
					return -1;
				p += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
			}
			break;
		default:
			return -1;
		}
		sl_json_put_cp(c->out, cp, c->raw);
	}
	if (!c->raw)
		sl_buf_putc(c->out, '"');
	c->p = p + 1;
	return 0;
}

static bool sl_is_digit(const uint8_t *p, const uint8_t *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

/* A number, written as its exact value: [-]digits[e<exp>], digits without leading or trailing
 * zeros ("0" for zero). */
static int sl_json_number(sl_json_ctx *c)
{
	const uint8_t *p = c->p, *end = c->end;
	bool neg = false;
	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	const uint8_t *ip = p, *fp = p;
	if (!sl_is_digit(p, end))
		return -1;
	if (*p == '0')
		p++; /* no leading zeros in JSON */
	else
		while (sl_is_digit(p, end))
			p++;
	size_t ilen = (size_t)(p - ip), flen = 0;
	if (p < end && *p == '.') {
		fp = ++p;
		while (sl_is_digit(p, end))
			p++;
		flen = (size_t)(p - fp);
		if (flen == 0)
			return -1;
	}
	int64_t exp = 0;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		bool eneg = false;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		const uint8_t *ep = p;
		while (sl_is_digit(p, end))
			p++;
		if (p == ep)
			return -1;
		while (ep < p && *ep == '0')
			ep++;
		if (p - ep > 15)
			return -1; /* beyond any engine's numbers; keeps the arithmetic exact */
		for (; ep < p; ep++)
			exp = exp * 10 + (*ep - '0');
		if (eneg)
			exp = -exp;
	}
	c->p = p;
	/* the value is D * 10^(exp - flen), D the digits ip[0..ilen) fp[0..flen) */
	size_t total = ilen + flen, first = 0, last = total;
#define SL_DIGIT(k) ((k) < ilen ? ip[k] : fp[(k)-ilen])
	while (first < total && SL_DIGIT(first) == '0')
		first++;
	if (first == total) {
		sl_buf_putc(c->out, '0');
		return 0;
	}
	while (SL_DIGIT(last - 1) == '0')
		last--;
#undef SL_DIGIT
	int64_t e = exp - (int64_t)flen + (int64_t)(total - last);
	if (neg)
		sl_buf_putc(c->out, '-');
	if (first < ilen)
		sl_buf_append(c->out, ip + first, (last < ilen ? last : ilen) - first);
	if (last > ilen) {
		size_t from = first > ilen ? first : ilen;
		sl_buf_append(c->out, fp + (from - ilen), last - from);
	}
	if (e != 0)
		sl_buf_printf(c->out, "e%lld", (long long)e);
	return 0;
}

static int sl_json_member_cmp(const void *a, const void *b)
{
	const sl_json_pending *x = a, *y = b;
	int r = memcmp(x->key, y->key, x->key_len < y->key_len ? x->key_len : y->key_len);
	if (r != 0)
		return r;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* At '{' of an object at nesting level depth. */
static int sl_json_object(sl_json_ctx *c, int depth)
{
	sl_buf *out = c->out, *sc = c->scratch;
	size_t start = out->len, base = sc->len, n = 0;
	c->p++;
	sl_buf_putc(out, '{');
	sl_json_ws(c);
	if (c->p < c->end && *c->p == '}') {
		c->p++;
		sl_buf_putc(out, '}');
		return 0;
	}
	for (;;) {
		sl_json_ws(c);
		if (c->p >= c->end || *c->p != '"')
			return -1;
		sl_json_pending m = {.off = out->len, .idx = n};
		if (sl_json_str(c) < 0)
			return -1;
		m.key_len = out->len - m.off;
		sl_json_ws(c);
		if (c->p >= c->end || *c->p != ':')
			return -1;
		c->p++;
		sl_buf_putc(out, ':');
		sl_json_ws(c);
		if (sl_json_value(c, depth) < 0)
			return -1;
		m.len = out->len - m.off;
		sl_buf_append(sc, &m, sizeof m);
		n++;
		sl_json_ws(c);
		if (c->p >= c->end)
			return -1;
		if (*c->p == '}')
			break;
		if (*c->p != ',')
			return -1;
		c->p++;
	}
	c->p++;
	if (n == 1) {
		sl_buf_putc(out, '}');
		sc->len = base;
		return 0;
	}
	/* sort by key (then position), keep the last of each run of equal keys, rewrite */
	sl_json_pending *ms = (sl_json_pending *)(void *)(sc->data + base);
	for (size_t i = 0; i < n; i++)
		ms[i].key = out->data + ms[i].off;
	qsort(ms, n, sizeof *ms, sl_json_member_cmp);
	size_t need = 2;
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && ms[i].key_len == ms[i + 1].key_len &&
		    memcmp(ms[i].key, ms[i + 1].key, ms[i].key_len) == 0)
			ms[i].len = 0;
		else
			need += ms[i].len + 1;
	}
	uint8_t *dst = sl_buf_reserve(out, need); /* out may move: copy by offsets */
	size_t w = 0;
	dst[w++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (ms[i].len == 0)
			continue;
		if (w > 1)
			dst[w++] = ',';
		memcpy(dst + w, out->data + ms[i].off, ms[i].len);
		w += ms[i].len;
	}
	dst[w++] = '}';
	memmove(out->data + start, dst, w);
	out->len = start + w;
	sc->len = base;
	return 0;
}

/* At '[' of an array at nesting level depth. */
static int sl_json_array(sl_json_ctx *c, int depth)
{
	c->p++;
	sl_buf_putc(c->out, '[');
	sl_json_ws(c);
	if (c->p < c->end && *c->p == ']') {
		c->p++;
		sl_buf_putc(c->out, ']');
		return 0;
	}
	for (;;) {
		sl_json_ws(c);
		if (sl_json_value(c, depth) < 0)
			return -1;
		sl_json_ws(c);
		if (c->p >= c->end)
			return -1;
		if (*c->p == ']')
			break;
		if (*c->p != ',')
			return -1;
		c->p++;
		sl_buf_putc(c->out, ',');
	}
	c->p++;
	sl_buf_putc(c->out, ']');
	return 0;
}

/* A value inside `depth` enclosing arrays/objects. */
static int sl_json_value(sl_json_ctx *c, int depth)
{
	if (c->p >= c->end)
		return -1;
	switch (*c->p) {
	case '{':
		return depth < SL_JSON_MAX_DEPTH ? sl_json_object(c, depth + 1) : -1;
	case '[':
		return depth < SL_JSON_MAX_DEPTH ? sl_json_array(c, depth + 1) : -1;
	case '"':
		return sl_json_str(c);
	case 't':
		return sl_json_literal(c, "true");
	case 'f':
		return sl_json_literal(c, "false");
	case 'n':
		return sl_json_literal(c, "null");
	default:
		return sl_json_number(c);
	}
}

int sl_json_canonical(const uint8_t *buf, size_t len, sl_buf *out, sl_buf *scratch)
{
	if (buf == NULL || len == 0)
		return -1;
	sl_json_ctx c = {buf, buf + len, out, scratch};
	size_t start = out->len;
	sl_buf_reset(scratch);
	sl_json_ws(&c);
	if (sl_json_value(&c, 0) < 0)
		goto fail;
	sl_json_ws(&c);
	if (c.p != c.end)
		goto fail;
	return 0;
fail:
	out->len = start;
	return -1;
}

/* ---------------------------------------------------------------- reading ---- */

static const char *sl_json_skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Past the value at p (which starts at a non-blank), or NULL when it is malformed or nests
 * deeper than SL_JSON_MAX_DEPTH. Strings and scalars are delimited, not validated. */
static const char *sl_json_skip(const char *p, const char *end, int depth)
{
	if (p >= end)
		return NULL;
	if (*p == '"') {
		for (p++; p < end; p++) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				return p + 1;
		}
		return NULL;
	}
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		if (depth >= SL_JSON_MAX_DEPTH)
			return NULL;
		p = sl_json_skip_ws(p + 1, end);
		if (p < end && *p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				if (p >= end || *p != '"' || !(p = sl_json_skip(p, end, depth + 1)))
					return NULL;
				p = sl_json_skip_ws(p, end);
				if (p >= end || *p != ':')
					return NULL;
				p = sl_json_skip_ws(p + 1, end);
			}
			if (!(p = sl_json_skip(p, end, depth + 1)))
				return NULL;
			p = sl_json_skip_ws(p, end);
			if (p < end && *p == close)
				return p + 1;
			if (p >= end || *p != ',')
				return NULL;
			p = sl_json_skip_ws(p + 1, end);
		}
	}
	const char *s = p;
	while (p < end &&
	       (strchr("+-.eE", *p) || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')))
		p++;
	return p > s ? p : NULL;
}

int sl_json_member(sl_json_span obj, const char *key, sl_json_span *out)
{
	const char *p = sl_json_skip_ws(obj.p, obj.p + obj.n), *end = obj.p + obj.n;
	size_t klen = strlen(key);
	if (p >= end || *p != '{')
		return -1;
	p = sl_json_skip_ws(p + 1, end);
	if (p < end && *p == '}')
		return 1;
	for (;;) {
		const char *k = p, *v;
		if (p >= end || *p != '"' || !(p = sl_json_skip(p, end, 1)))
			return -1;
		/* keys sluice looks up have no escapes: compare the raw bytes */
		bool match = (size_t)(p - k) == klen + 2 && memcmp(k + 1, key, klen) == 0;
		p = sl_json_skip_ws(p, end);
		if (p >= end || *p != ':')
			return -1;
		v = sl_json_skip_ws(p + 1, end);
		if (!(p = sl_json_skip(v, end, 1)))
			return -1;
		if (match) {
			out->p = v;
			out->n = (size_t)(p - v);
			return 0;
		}
		p = sl_json_skip_ws(p, end);
		if (p < end && *p == '}')
			return 1;
		if (p >= end || *p != ',')
			return -1;
		p = sl_json_skip_ws(p + 1, end);
	}
}

int sl_json_next(sl_json_span arr, sl_json_span *it)
{
	const char *end = arr.p + arr.n, *p;
	if (it->p == NULL) {
		p = sl_json_skip_ws(arr.p, end);
		if (p >= end || *p != '[')
			return -1;
		p = sl_json_skip_ws(p + 1, end);
		if (p < end && *p == ']')
			return 1;
	} else {
		p = sl_json_skip_ws(it->p + it->n, end);
		if (p < end && *p == ']')
			return 1;
		if (p >= end || *p != ',')
			return -1;
		p = sl_json_skip_ws(p + 1, end);
	}
	const char *e = sl_json_skip(p, end, 1);
	if (!e)
		return -1;
	it->p = p;
	it->n = (size_t)(e - p);
	return 0;
}

bool sl_json_is_null(sl_json_span v)
{
	return v.n == 4 && memcmp(v.p, "null", 4) == 0;
}

int sl_json_string(sl_json_span v, sl_buf *out)
{
	sl_buf_reset(out);
	if (sl_json_is_null(v))
		return 1;
	if (v.n < 2 || v.p[0] != '"')
		return -1;
	sl_json_ctx c = {(const uint8_t *)v.p, (const uint8_t *)v.p + v.n, out, NULL, true};
	if (sl_json_str(&c) < 0 || c.p != c.end) {
		sl_buf_reset(out);
		return -1;
	}
	sl_buf_cstr(out);
	return 0;
}

void sl_json_put_string(sl_buf *out, const void *p, size_t n)
{
	const uint8_t *s = p;
	sl_buf_putc(out, '"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			sl_buf_printf(out, "\\%c", s[i]);
		else if (s[i] < 0x20)
			sl_buf_printf(out, "\\u%04x", s[i]);
		else
			sl_buf_putc(out, (char)s[i]);
	}
	sl_buf_putc(out, '"');
}

void sl_json_put_text(sl_buf *out, const char *s)
{
	sl_buf clean = {0};
	const char *t = sl_utf8_text(s, &clean);
	sl_json_put_string(out, t, strlen(t));
	sl_buf_free(&clean);
}

int sl_json_grid(sl_json_span rows, sl_json_span **cells, size_t *cap, int64_t *nrows, int *ncols)
{
	*nrows = 0;
	*ncols = 0;
	sl_json_span row = {0}, cell;
	size_t n = 0;
	int r, q;
	while ((r = sl_json_next(rows, &row)) == 0) {
		int k = 0;
		cell.p = NULL;
		while ((q = sl_json_next(row, &cell)) == 0) {
			if (n == *cap) {
				*cap = *cap ? *cap * 2 : 64;
				*cells = sl_realloc(*cells, *cap * sizeof **cells);
			}
			(*cells)[n++] = cell;
			k++;
		}
		if (q < 0 || (*nrows > 0 && k != *ncols))
			return -1;
		*ncols = k;
		(*nrows)++;
	}
	return r < 0 ? -1 : 0;
}
