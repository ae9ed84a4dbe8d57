/* PostgreSQL binary COPY decoding into batches and encoding from batches (see pgbinary.h). */
#include "formats/pgbinary.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "formats/decimal.h"

#define NUMERIC_POS 0x0000
#define NUMERIC_NEG 0x4000
#define NUMERIC_NAN 0xC000
#define NUMERIC_PINF 0xD000
#define NUMERIC_NINF 0xF000

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

static inline void wr16(sl_buf *b, uint16_t v)
{
	uint8_t *p = sl_buf_reserve(b, 2);
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	b->len += 2;
}
static inline void wr32(sl_buf *b, uint32_t v)
{
	uint8_t *p = sl_buf_reserve(b, 4);
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	b->len += 4;
}
static inline void wr64(sl_buf *b, uint64_t v)
{
	wr32(b, (uint32_t)(v >> 32));
	wr32(b, (uint32_t)v);
}

/* ---------------------------------------------------------------- numeric ---- */

int sl_pg_numeric_to_text(const uint8_t *p, size_t len, sl_buf *out, sl_error *err)
{
	if (len < 8)
		return sl_error_set(err, SL_ERR_DATA, "numeric value is truncated (%zu bytes)",
		                    len);
	int ndigits = (int16_t)rd16(p), weight = (int16_t)rd16(p + 2),
	    dscale = (int16_t)rd16(p + 6);
	uint16_t sign = rd16(p + 4);
	if (ndigits < 0 || dscale < 0 || len != 8 + 2 * (size_t)ndigits)
		return sl_error_set(err, SL_ERR_DATA, "numeric value has a bad header");
	if (sign == NUMERIC_NAN) {
		sl_buf_puts(out, "NaN");
		return 0;
	}
	if (sign == NUMERIC_PINF || sign == NUMERIC_NINF) {
		sl_buf_puts(out, sign == NUMERIC_PINF ? "Infinity" : "-Infinity");
		return 0;
	}
	const uint8_t *d = p + 8;
	for (int i = 0; i < ndigits; i++)
		if (rd16(d + 2 * i) > 9999)
			return sl_error_set(err, SL_ERR_DATA, "numeric digit out of range");
	if (sign == NUMERIC_NEG && ndigits > 0)
		sl_buf_putc(out, '-');
	if (weight < 0) {
		sl_buf_putc(out, '0');
	} else {
		for (int i = 0; i <= weight; i++) {
			unsigned dig = i < ndigits ? rd16(d + 2 * i) : 0;
			char tmp[8];
			snprintf(tmp, sizeof tmp, i == 0 ? "%u" : "%04u", dig);
			sl_buf_puts(out, tmp);
		}
	}
	if (dscale > 0) {
		sl_buf_putc(out, '.');
		int written = 0;
		for (int i = weight + 1; written < dscale; i++) {
			unsigned dig = (i >= 0 && i < ndigits) ? rd16(d + 2 * i) : 0;
			char tmp[8];
			snprintf(tmp, sizeof tmp, "%04u", dig);
			for (int k = 0; k < 4 && written < dscale; k++, written++)
				sl_buf_putc(out, tmp[k]);
		}
	}
	return 0;
}

/* Write the numeric header + digits (ms first) into out, as a complete value without length. */
static void sl_pg_numeric_put(sl_buf *out, const uint16_t *digits, int n, int weight, bool neg,
                              int dscale)
{
	while (n > 0 && digits[0] == 0) { /* leading zero groups */
		digits++;
		n--;
		weight--;
	}
	while (n > 0 && digits[n - 1] == 0) /* trailing zero groups */
		n--;
	if (n == 0) {
		weight = 0;
		neg = false;
	}
	wr16(out, (uint16_t)n);
	wr16(out, (uint16_t)(int16_t)weight);
	wr16(out, neg ? NUMERIC_NEG : NUMERIC_POS);
	wr16(out, (uint16_t)dscale);
	for (int i = 0; i < n; i++)
		wr16(out, digits[i]);
}

int sl_pg_numeric_from_text(const char *s, size_t len, sl_buf *out, sl_error *err)
{
	if ((len == 3 && strncmp(s, "NaN", 3) == 0) ||
	    (len == 8 && strncmp(s, "Infinity", 8) == 0) ||
	    (len == 9 && strncmp(s, "-Infinity", 9) == 0) ||
	    (len == 9 && strncmp(s, "+Infinity", 9) == 0)) {
		wr16(out, 0);
		wr16(out, 0);
		wr16(out, s[0] == 'N' ? NUMERIC_NAN : s[0] == '-' ? NUMERIC_NINF : NUMERIC_PINF);
		wr16(out, 0);
		return 0;
	}
	size_t i = 0;
	bool neg = false;
	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	size_t int_start = i;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	size_t int_len = i - int_start, frac_start = i, frac_len = 0;
	if (i < len && s[i] == '.') {
		frac_start = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		frac_len = i - frac_start;
	}
	if (i != len || int_len + frac_len == 0 || frac_len > 16383)
		return sl_error_set(err, SL_ERR_DATA, "'%.*s' is not a numeric value",
		                    (int)(len > 60 ? 60 : len), s);
	/* group the integer digits from the right and the fraction from the left, by 4 */
	int int_groups = (int)((int_len + 3) / 4), frac_groups = (int)((frac_len + 3) / 4);
	uint16_t stackbuf[256];
	uint16_t *digits =
	        (int_groups + frac_groups) <= 256
	                ? stackbuf
	                : sl_malloc(sizeof(uint16_t) * (size_t)(int_groups + frac_groups));
	int pad = int_groups * 4 - (int)int_len;
	for (int g = 0; g < int_groups; g++) {
		unsigned v = 0;
		for (int k = 0; k < 4; k++) {
			int pos = g * 4 + k - pad;
			v = v * 10 + (pos >= 0 ? (unsigned)(s[int_start + (size_t)pos] - '0') : 0);
		}
		digits[g] = (uint16_t)v;
	}
	for (int g = 0; g < frac_groups; g++) {
		unsigned v = 0;
		for (int k = 0; k < 4; k++) {
			size_t pos = (size_t)(g * 4 + k);
			v = v * 10 + (pos < frac_len ? (unsigned)(s[frac_start + pos] - '0') : 0);
		}
		digits[int_groups + g] = (uint16_t)v;
	}
	sl_pg_numeric_put(out, digits, int_groups + frac_groups, int_groups - 1, neg,
	                  (int)frac_len);
	if (digits != stackbuf)
		free(digits);
	return 0;
}

int sl_pg_numeric_to_decimal(const uint8_t *p, size_t len, int width, int scale, uint8_t *out,
                             sl_error *err)
{
	if (len < 8)
		return sl_error_set(err, SL_ERR_DATA, "numeric value is truncated");
	int ndigits = (int16_t)rd16(p), weight = (int16_t)rd16(p + 2);
	uint16_t sign = rd16(p + 4);
	if (ndigits < 0 || len != 8 + 2 * (size_t)ndigits)
		return sl_error_set(err, SL_ERR_DATA, "numeric value has a bad header");
	if (sign == NUMERIC_NAN || sign == NUMERIC_PINF || sign == NUMERIC_NINF) {
		sl_decimal_special_store(sign == NUMERIC_NAN    ? SL_DECIMAL_NAN
		                         : sign == NUMERIC_PINF ? SL_DECIMAL_POS_INF
		                                                : SL_DECIMAL_NEG_INF,
		                         width, out);
		return 0;
	}
	sl_u256 mag = {{0, 0, 0, 0}};
	for (int i = 0; i < ndigits; i++) {
		uint16_t dig = rd16(p + 8 + 2 * i);
		if (dig > 9999 || sl_u256_mul_add(&mag, 10000, dig) < 0)
			return sl_error_set(err, SL_ERR_DATA,
			                    "numeric value out of range for a decimal");
	}
	int exp10 = 4 * (weight - ndigits + 1) + scale;
	for (; exp10 > 0; exp10--)
		if (sl_u256_mul_add(&mag, 10, 0) < 0)
			return sl_error_set(err, SL_ERR_DATA,
			                    "numeric value out of range for a decimal");
	for (; exp10 < 0; exp10++)
		if (sl_u256_divmod(&mag, 10) != 0)
			return sl_error_set(
			        err, SL_ERR_DATA,
			        "numeric value has more fractional digits than scale %d", scale);
	if (sl_decimal_store(sign == NUMERIC_NEG, &mag, width, out) < 0)
		return sl_error_set(err, SL_ERR_DATA, "numeric value does not fit Decimal%d",
		                    width * 8);
	return 0;
}

void sl_pg_numeric_from_decimal(const uint8_t *dec, int width, int scale, sl_buf *out)
{
	sl_decimal_special sp = sl_decimal_special_of(dec, width);
	if (sp != SL_DECIMAL_FINITE) {
		wr16(out, 0);
		wr16(out, 0);
		wr16(out, sp == SL_DECIMAL_NAN       ? NUMERIC_NAN
		          : sp == SL_DECIMAL_POS_INF ? NUMERIC_PINF
		                                     : NUMERIC_NINF);
		wr16(out, 0);
		return;
	}
	bool neg;
	sl_u256 mag;
	sl_decimal_load(dec, width, &neg, &mag);
	int pad = (4 - scale % 4) % 4;
	for (int i = 0; i < pad; i++)
		sl_u256_mul_add(&mag, 10, 0); /* 76 digits * 10^3 still fits 256 bits */
	uint16_t groups[24];
	int n = 0;
	while (!sl_u256_is_zero(&mag))
		groups[n++] = (uint16_t)sl_u256_divmod(&mag, 10000);
	uint16_t ms[24];
	for (int i = 0; i < n; i++)
		ms[i] = groups[n - 1 - i];
	sl_pg_numeric_put(out, ms, n, n - 1 - (scale + pad) / 4, neg, scale);
}

/* ---------------------------------------------------------------- decode ---- */

int sl_pgcopy_parse_header(const uint8_t *buf, size_t len, sl_error *err)
{
	if (len < SL_PGCOPY_HEADER_LEN)
		return 0;
	if (memcmp(buf, SL_PGCOPY_SIGNATURE, 11) != 0)
		return sl_error_set(err, SL_ERR_DATA,
		                    "COPY stream does not start with the binary signature");
	uint32_t flags = rd32(buf + 11), ext = rd32(buf + 15);
	if (flags & (1u << 16))
		return sl_error_set(err, SL_ERR_DATA,
		                    "COPY stream has OIDs, which sluice does not read");
	if (ext > (1u << 20))
		return sl_error_set(err, SL_ERR_DATA, "COPY header extension is too long");
	if (len < SL_PGCOPY_HEADER_LEN + ext)
		return 0;
	return (int)(SL_PGCOPY_HEADER_LEN + ext);
}

static const char sl_hex[] = "0123456789abcdef";

static int sl_decode_value(sl_pg_kind kind, sl_column *c, const uint8_t *p, int32_t n,
                           sl_error *err);

/* An array: int32 ndim, int32 has-nulls, uint32 element oid, ndim x (int32 size, int32 lower
 * bound), then the elements in row-major order. The elements go into the list, the shape (when
 * not one dimension from 1) into the column's shape table. */
static int sl_decode_array(const sl_pg_codec *codec, sl_column *c, const uint8_t *p, int32_t n,
                           sl_error *err)
{
	if (n < 12)
		return sl_error_set(err, SL_ERR_DATA, "column %s: array value is truncated",
		                    c->field->name);
	int32_t ndim = (int32_t)rd32(p);
	if (ndim < 0 || ndim > SL_LIST_MAXDIM)
		return sl_error_set(
		        err, SL_ERR_DATA,
		        "column %s: array has %d dimensions (PostgreSQL allows 0 to %d)",
		        c->field->name, ndim, SL_LIST_MAXDIM);
	if (n < 12 + 8 * ndim)
		return sl_error_set(err, SL_ERR_DATA, "column %s: array value is truncated",
		                    c->field->name);
	sl_list_shape shape;
	memset(&shape, 0, sizeof shape);
	shape.ndim = ndim;
	int64_t count = ndim > 0;
	for (int d = 0; d < ndim; d++) {
		shape.dims[d] = (int32_t)rd32(p + 12 + 8 * d);
		shape.lbounds[d] = (int32_t)rd32(p + 16 + 8 * d);
		if (shape.dims[d] < 0 || (int64_t)shape.lbounds[d] + shape.dims[d] - 1 > INT32_MAX)
			return sl_error_set(err, SL_ERR_DATA,
			                    "column %s: array dimension %d has size %d from %d",
			                    c->field->name, d + 1, shape.dims[d], shape.lbounds[d]);
		count *= shape.dims[d];
		if (count > n / 4) /* each element takes at least its length */
			return sl_error_set(err, SL_ERR_DATA, "column %s: array value is truncated",
			                    c->field->name);
	}
	if (count == 0) { /* PostgreSQL keeps no shape for an array without elements */
		sl_col_end_list(c);
		return 0;
	}
	const uint8_t *q = p + 12 + 8 * ndim, *end = p + n;
	for (int64_t i = 0; i < count; i++) {
		if (end - q < 4)
			return sl_error_set(err, SL_ERR_DATA,
			                    "column %s: array element is truncated",
			                    c->field->name);
		int32_t el = (int32_t)rd32(q);
		q += 4;
		if (el < 0) {
			sl_col_append_null(c->child);
			continue;
		}
		if (end - q < el)
			return sl_error_set(err, SL_ERR_DATA,
			                    "column %s: array element is truncated",
			                    c->field->name);
		SL_TRY(sl_decode_value(codec->elem_kind, c->child, q, el, err));
		q += el;
	}
	sl_col_end_list_shaped(c, &shape);
	return 0;
}

static float sl_half_to_float(uint16_t h)
{
	int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
	float v;
	if (exp == 0)
		v = ldexpf((float)man, -24);
	else if (exp == 31)
		v = man ? NAN : INFINITY;
	else
		v = ldexpf((float)(man + 1024), exp - 25);
	return sign ? -v : v;
}

/* The Float16 holding exactly v; false when none does. */
static bool sl_float_to_half(float v, uint16_t *out)
{
	uint16_t sign = signbit(v) ? 0x8000 : 0;
	float a = fabsf(v);
	if (isnan(v)) {
		*out = sign | 0x7E00;
		return true;
	}
	if (isinf(a) || a == 0) {
		*out = sign | (isinf(a) ? 0x7C00 : 0);
		return true;
	}
	int e;
	frexpf(a, &e); /* a = m * 2^e, 0.5 <= m < 1 */
	float man;
	uint16_t h;
	if (e - 1 >= -14) { /* normal: (1 + man/1024) * 2^(exp-15) */
		if (e - 1 + 15 > 30)
			return false;
		man = (ldexpf(a, -(e - 1)) - 1.0f) * 1024.0f;
		h = (uint16_t)(sign | (e - 1 + 15) << 10 | (int)man);
	} else { /* subnormal: man * 2^-24 */
		man = ldexpf(a, 24);
		h = (uint16_t)(sign | (int)man);
	}
	if (man != floorf(man))
		return false;
	*out = h;
	return sl_half_to_float(h) == v;
}

static const char *sl_pg_kind_name(sl_pg_kind k)
{
	static const char *names[] = {
	        [SL_PG_BOOL] = "bool",         [SL_PG_INT2] = "int2",
	        [SL_PG_INT4] = "int4",         [SL_PG_INT8] = "int8",
	        [SL_PG_OID] = "oid",           [SL_PG_LSN] = "pg_lsn",
	        [SL_PG_FLOAT4] = "float4",     [SL_PG_FLOAT8] = "float8",
	        [SL_PG_NUMERIC] = "numeric",   [SL_PG_DATE] = "date",
	        [SL_PG_TIME] = "time",         [SL_PG_TIMESTAMP] = "timestamp",
	        [SL_PG_TEXT] = "text",         [SL_PG_BYTEA] = "bytea",
	        [SL_PG_JSONB] = "jsonb",       [SL_PG_UUID] = "uuid",
	        [SL_PG_INTERVAL] = "interval", [SL_PG_ARRAY] = "array"};
	return (size_t)k < sizeof names / sizeof *names && names[k] ? names[k] : "?";
}

/* The field type cannot receive this wire kind (a codec/field pairing no mapping produces). */
static int sl_decode_unsupported(sl_pg_kind kind, const sl_field *f, sl_error *err)
{
	char d[128];
	return sl_error_set(err, SL_ERR_INTERNAL,
	                    "column %s: cannot decode a PostgreSQL %s value into Arrow %s", f->name,
	                    sl_pg_kind_name(kind), sl_field_describe(f, d, sizeof d));
}

/* Append the integer (neg ? -mag : mag) to a column of any integer type, or of Timestamp(ns) /
 * Time64(ns), which travel as int8. SL_ERR_DATA when it does not fit the type. */
static int sl_store_int(sl_pg_kind kind, sl_column *c, bool neg, uint64_t mag, sl_error *err)
{
	const sl_field *f = c->field;
	uint64_t max;
	bool is_signed = true;
	int w;
	switch (f->type) {
	case SL_TYPE_INT8:
		max = INT8_MAX, w = 1;
		break;
	case SL_TYPE_INT16:
		max = INT16_MAX, w = 2;
		break;
	case SL_TYPE_INT32:
		max = INT32_MAX, w = 4;
		break;
	case SL_TYPE_TIMESTAMP:
	case SL_TYPE_TIME64:
		if (f->unit != SL_UNIT_NS || kind != SL_PG_INT8)
			return sl_decode_unsupported(kind, f, err);
		/* fall through */
	case SL_TYPE_INT64:
		max = INT64_MAX, w = 8;
		break;
	case SL_TYPE_UINT8:
		max = UINT8_MAX, w = 1, is_signed = false;
		break;
	case SL_TYPE_UINT16:
		max = UINT16_MAX, w = 2, is_signed = false;
		break;
	case SL_TYPE_UINT32:
		max = UINT32_MAX, w = 4, is_signed = false;
		break;
	case SL_TYPE_UINT64:
		max = UINT64_MAX, w = 8, is_signed = false;
		break;
	default:
		return sl_decode_unsupported(kind, f, err);
	}
	bool fits = neg ? mag == 0 || (is_signed && mag <= max + 1) : mag <= max;
	if (!fits) {
		char d[128];
		return sl_error_set(
		        err, SL_ERR_DATA, "column %s: %s%llu is out of range for Arrow %s", f->name,
		        neg ? "-" : "", (unsigned long long)mag, sl_field_describe(f, d, sizeof d));
	}
	uint64_t v = neg ? 0 - mag : mag; /* two's complement */
	uint8_t le[8];
	for (int k = 0; k < w; k++)
		le[k] = (uint8_t)(v >> (8 * k));
	sl_col_append_fixed(c, le, (size_t)w);
	return 0;
}

static int sl_store_i64(sl_pg_kind kind, sl_column *c, int64_t v, sl_error *err)
{
	return sl_store_int(kind, c, v < 0, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, err);
}

/* us as a whole number of unit u; false when it is not one, or overflows. */
static bool sl_us_to_unit(int64_t us, sl_time_unit u, int64_t *out)
{
	switch (u) {
	case SL_UNIT_S:
		*out = us / 1000000;
		return us % 1000000 == 0;
	case SL_UNIT_MS:
		*out = us / 1000;
		return us % 1000 == 0;
	case SL_UNIT_US:
		*out = us;
		return true;
	case SL_UNIT_NS:
		return !__builtin_mul_overflow(us, 1000, out);
	}
	return false;
}

static const char *sl_unit_name(sl_time_unit u)
{
	return u == SL_UNIT_S ? "s" : u == SL_UNIT_MS ? "ms" : u == SL_UNIT_US ? "us" : "ns";
}

/* interval (int64 us, int32 days, int32 months) -> Interval(DayTime), a month as 30 days. */
static int sl_decode_interval(const sl_field *f, const uint8_t *p, sl_interval_dt *out,
                              sl_error *err)
{
	int64_t us = (int64_t)rd64(p), total;
	int32_t days = (int32_t)rd32(p + 8), months = (int32_t)rd32(p + 12);
	if (us % 1000 != 0)
		return sl_error_set(err, SL_ERR_DATA,
		                    "column %s: interval has a fraction of a millisecond, which "
		                    "Interval(DayTime) cannot hold",
		                    f->name);
	/* |months * 30 + days| < 2^37 days, so |total| < 2^63 ms; checked all the same */
	int64_t day_total = (int64_t)months * 30 + days;
	if (__builtin_mul_overflow(day_total, (int64_t)SL_MS_PER_DAY, &total) ||
	    __builtin_add_overflow(total, us / 1000, &total) || !sl_interval_dt_from_ms(total, out))
		return sl_error_set(err, SL_ERR_DATA,
		                    "column %s: interval is out of range for Interval(DayTime)",
		                    f->name);
	return 0;
}

static int sl_decode_value(sl_pg_kind kind, sl_column *c, const uint8_t *p, int32_t n,
                           sl_error *err)
{
	const sl_field *f = c->field;
	switch (kind) {
	case SL_PG_BOOL:
		if (n != 1)
			goto badlen;
		if (f->type != SL_TYPE_BOOL)
			break;
		sl_col_append_bool(c, p[0] != 0);
		return 0;
	case SL_PG_INT2:
		if (n != 2)
			goto badlen;
		if (f->type != SL_TYPE_INT16)
			return sl_store_i64(kind, c, (int16_t)rd16(p), err);
		sl_col_append_i16(c, (int16_t)rd16(p));
		return 0;
	case SL_PG_INT4:
	case SL_PG_OID: {
		if (n != 4)
			goto badlen;
		uint32_t v = rd32(p);
		if (kind == SL_PG_INT4 && f->type != SL_TYPE_INT32)
			return sl_store_i64(kind, c, (int32_t)v, err);
		if (kind == SL_PG_OID && f->type != SL_TYPE_UINT32)
			return sl_store_int(kind, c, false, v, err);
		sl_col_append_fixed(c, &v, 4);
		return 0;
	}
	case SL_PG_INT8:
	case SL_PG_LSN: {
		if (n != 8)
			goto badlen;
		uint64_t v = rd64(p);
		if (kind == SL_PG_INT8 && f->type != SL_TYPE_INT64)
			return sl_store_i64(kind, c, (int64_t)v, err);
		if (kind == SL_PG_LSN && f->type != SL_TYPE_UINT64)
			return sl_store_int(kind, c, false, v, err);
		sl_col_append_fixed(c, &v, 8);
		return 0;
	}
	case SL_PG_FLOAT4: {
		if (n != 4)
			goto badlen;
		uint32_t v = rd32(p);
		float x;
		memcpy(&x, &v, 4);
		uint16_t h;
		switch (f->type) {
		case SL_TYPE_FLOAT32:
			sl_col_append_fixed(c, &v, 4);
			return 0;
		case SL_TYPE_FLOAT64:
			sl_col_append_f64(c, x);
			return 0;
		case SL_TYPE_FLOAT16:
			if (!sl_float_to_half(x, &h))
				goto inexact;
			sl_col_append_fixed(c, &h, 2);
			return 0;
		default:
			break;
		}
		break;
	}
	case SL_PG_FLOAT8: {
		if (n != 8)
			goto badlen;
		uint64_t v = rd64(p);
		double x;
		memcpy(&x, &v, 8);
		float y = (float)x;
		uint16_t h;
		bool exact = y == x || (isnan(x) && isnan(y));
		switch (f->type) {
		case SL_TYPE_FLOAT64:
			sl_col_append_fixed(c, &v, 8);
			return 0;
		case SL_TYPE_FLOAT32:
			if (!exact)
				goto inexact;
			sl_col_append_f32(c, y);
			return 0;
		case SL_TYPE_FLOAT16:
			if (!exact || !sl_float_to_half(y, &h))
				goto inexact;
			sl_col_append_fixed(c, &h, 2);
			return 0;
		default:
			break;
		}
		break;
	}
	case SL_PG_TIME: {
		if (n != 8)
			goto badlen;
		uint64_t v = rd64(p);
		int64_t t;
		if (f->type == SL_TYPE_TIME64 && f->unit == SL_UNIT_US) {
			sl_col_append_fixed(c, &v, 8);
			return 0;
		}
		if (f->type != SL_TYPE_TIME32 && f->type != SL_TYPE_TIME64)
			break;
		if (!sl_us_to_unit((int64_t)v, f->unit, &t) ||
		    (f->type == SL_TYPE_TIME32 && (t < INT32_MIN || t > INT32_MAX)))
			return sl_error_set(err, SL_ERR_DATA,
			                    "column %s: time %lld us is not a whole number of %s",
			                    f->name, (long long)v, sl_unit_name(f->unit));
		if (f->type == SL_TYPE_TIME32)
			sl_col_append_i32(c, (int32_t)t);
		else
			sl_col_append_i64(c, t);
		return 0;
	}
	case SL_PG_DATE: {
		if (n != 4)
			goto badlen;
		int32_t d = (int32_t)rd32(p);
		bool inf = d == SL_DATE32_POS_INF || d == SL_DATE32_NEG_INF;
		if (!inf && d >= INT32_MAX - SL_PG_EPOCH_DAYS) /* beyond PostgreSQL's dates */
			return sl_error_set(
			        err, SL_ERR_DATA,
			        "column %s: date %d days after 2000-01-01 is out of range", f->name,
			        d);
		if (!inf)
			d += SL_PG_EPOCH_DAYS; /* PostgreSQL's range is far inside int32 */
		if (f->type == SL_TYPE_DATE32) {
			sl_col_append_i32(c, d);
			return 0;
		}
		if (f->type != SL_TYPE_DATE64)
			break;
		sl_col_append_i64(c, inf ? (d > 0 ? SL_TIMESTAMP_POS_INF : SL_TIMESTAMP_NEG_INF)
		                         : (int64_t)d * SL_MS_PER_DAY);
		return 0;
	}
	case SL_PG_TIMESTAMP: {
		if (n != 8)
			goto badlen;
		if (f->type != SL_TYPE_TIMESTAMP)
			break;
		int64_t t = (int64_t)rd64(p);
		if (t == SL_TIMESTAMP_POS_INF || t == SL_TIMESTAMP_NEG_INF) {
			sl_col_append_i64(c, t);
			return 0;
		}
		if (__builtin_add_overflow(t, SL_PG_EPOCH_US, &t))
			return sl_error_set(err, SL_ERR_DATA,
			                    "column %s: timestamp beyond year 294247 cannot be "
			                    "represented in microseconds since 1970",
			                    f->name);
		if (f->unit != SL_UNIT_US && !sl_us_to_unit(t, f->unit, &t))
			return sl_error_set(err, SL_ERR_DATA,
			                    "column %s: timestamp is not a whole number of %s, or "
			                    "out of range in %s",
			                    f->name, sl_unit_name(f->unit), sl_unit_name(f->unit));
		sl_col_append_i64(c, t);
		return 0;
	}
	case SL_PG_NUMERIC:
		if (f->type == SL_TYPE_DECIMAL128 || f->type == SL_TYPE_DECIMAL256) {
			int w = f->type == SL_TYPE_DECIMAL128 ? 16 : 32;
			uint8_t tmp[32];
			if (sl_pg_numeric_to_decimal(p, (size_t)n, w, f->scale, tmp, err) < 0)
				return sl_error_wrap(err, "column %s", f->name);
			sl_col_append_fixed(c, tmp, (size_t)w);
			return 0;
		} else if (f->type == SL_TYPE_UTF8) {
			sl_col_validity_(c, true);
			if (sl_pg_numeric_to_text(p, (size_t)n, &c->values, err) < 0)
				return sl_error_wrap(err, "column %s", f->name);
			int32_t end = (int32_t)c->values.len;
			sl_buf_append(&c->offsets, &end, 4);
			c->length++;
			return 0;
		} else if (f->type >= SL_TYPE_INT8 && f->type <= SL_TYPE_UINT64) {
			uint8_t tmp[16];
			bool neg;
			sl_u256 mag;
			if (sl_pg_numeric_to_decimal(p, (size_t)n, 16, 0, tmp, err) < 0)
				return sl_error_wrap(err, "column %s", f->name);
			sl_decimal_special sp = sl_decimal_special_of(tmp, 16);
			if (sp != SL_DECIMAL_FINITE)
				return sl_error_set(err, SL_ERR_DATA,
				                    "column %s: numeric %s has no integer form",
				                    f->name, sl_decimal_special_name(sp));
			sl_decimal_load(tmp, 16, &neg, &mag);
			if (mag.w[1] | mag.w[2] | mag.w[3]) {
				char d[128];
				return sl_error_set(err, SL_ERR_DATA,
				                    "column %s: numeric value is out of range for "
				                    "Arrow %s",
				                    f->name, sl_field_describe(f, d, sizeof d));
			}
			return sl_store_int(kind, c, neg, mag.w[0], err);
		}
		break;
	case SL_PG_TEXT:
	case SL_PG_BYTEA:
		if (f->type == SL_TYPE_FIXED_BINARY) {
			if (n != f->byte_width)
				return sl_error_set(err, SL_ERR_DATA,
				                    "column %s: value of %d bytes does not fit "
				                    "FixedSizeBinary(%d)",
				                    f->name, n, f->byte_width);
			sl_col_append_fixed(c, p, (size_t)n);
			return 0;
		}
		if (!sl_type_is_var_width(f->type))
			break;
		sl_col_append_bytes(c, p, (size_t)n);
		return 0;
	case SL_PG_JSONB:
		if (!sl_type_is_var_width(f->type))
			break;
		if (n < 1 || p[0] != 1)
			return sl_error_set(err, SL_ERR_DATA,
			                    "column %s: unknown jsonb binary version", f->name);
		sl_col_append_bytes(c, p + 1, (size_t)n - 1);
		return 0;
	case SL_PG_UUID: {
		if (n != 16)
			goto badlen;
		if (!sl_type_is_var_width(f->type))
			break;
		uint8_t *o = sl_col_append_bytes_start(c, 36);
		for (int i = 0, k = 0; i < 16; i++) {
			if (i == 4 || i == 6 || i == 8 || i == 10)
				o[k++] = '-';
			o[k++] = (uint8_t)sl_hex[p[i] >> 4];
			o[k++] = (uint8_t)sl_hex[p[i] & 15];
		}
		return 0;
	}
	case SL_PG_INTERVAL: {
		if (n != 16)
			goto badlen;
		if (f->type != SL_TYPE_INTERVAL_DT)
			break;
		sl_interval_dt v;
		SL_TRY(sl_decode_interval(f, p, &v, err));
		sl_col_append_fixed(c, &v, 8);
		return 0;
	}
	case SL_PG_ARRAY:
		return sl_error_set(err, SL_ERR_INTERNAL, "column %s: no decoder for kind %d",
		                    f->name, kind);
	}
	return sl_decode_unsupported(kind, f, err);
badlen:
	return sl_error_set(err, SL_ERR_DATA, "column %s: value has unexpected length %d", f->name,
	                    n);
inexact:
	return sl_error_set(err, SL_ERR_DATA, "column %s: %s value cannot be held exactly by %s",
	                    f->name, sl_pg_kind_name(kind),
	                    f->type == SL_TYPE_FLOAT16 ? "Float16" : "Float32");
}

int sl_pgcopy_decode_tuple(const sl_pg_codec *codecs, const uint8_t *buf, size_t len,
                           sl_batch *batch, int *trailer, sl_error *err)
{
	*trailer = 0;
	if (len < 2)
		return 0;
	int16_t nf = (int16_t)rd16(buf);
	if (nf == -1) {
		*trailer = 1;
		return 2;
	}
	if (nf != batch->ncols)
		return sl_error_set(err, SL_ERR_DATA, "COPY tuple has %d fields, expected %d", nf,
		                    batch->ncols);
	/* check completeness first so an incomplete tuple appends nothing */
	size_t pos = 2;
	for (int i = 0; i < nf; i++) {
		if (len - pos < 4)
			return 0;
		int32_t n = (int32_t)rd32(buf + pos);
		pos += 4;
		if (n < -1)
			return sl_error_set(err, SL_ERR_DATA, "COPY field has negative length %d",
			                    n);
		if (n > 0) {
			if (len - pos < (size_t)n)
				return 0;
			pos += (size_t)n;
		}
	}
	pos = 2;
	for (int i = 0; i < nf; i++) {
		int32_t n = (int32_t)rd32(buf + pos);
		pos += 4;
		sl_column *c = &batch->cols[i];
		if (n < 0) {
			sl_col_append_null(c);
			continue;
		}
		int rc = codecs[i].kind == SL_PG_ARRAY
		                 ? sl_decode_array(&codecs[i], c, buf + pos, n, err)
		                 : sl_decode_value(codecs[i].kind, c, buf + pos, n, err);
		if (rc < 0)
			return rc;
		pos += (size_t)n;
	}
	sl_batch_end_row(batch);
	return (int)pos;
}

/* ---------------------------------------------------------------- encode ---- */

void sl_pgcopy_write_header(sl_buf *out)
{
	sl_buf_append(out, SL_PGCOPY_SIGNATURE, 11);
	wr32(out, 0);
	wr32(out, 0);
}

void sl_pgcopy_write_trailer(sl_buf *out)
{
	wr16(out, 0xFFFF);
}

static int sl_hexval(uint8_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Reserve the int32 length slot, return its offset so the caller can patch it. */
static inline size_t sl_len_begin(sl_buf *out)
{
	wr32(out, 0);
	return out->len;
}
static inline void sl_len_end(sl_buf *out, size_t start)
{
	uint32_t n = (uint32_t)(out->len - start);
	uint8_t *p = out->data + start - 4;
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
}

static int64_t sl_fixed_int(const sl_column *c, int64_t i)
{
	const uint8_t *p = c->values.data;
	switch (c->field->type) {
	case SL_TYPE_INT8:
		return ((const int8_t *)p)[i];
	case SL_TYPE_UINT8:
		return ((const uint8_t *)p)[i];
	case SL_TYPE_INT16:
		return ((const int16_t *)p)[i];
	case SL_TYPE_UINT16:
		return ((const uint16_t *)p)[i];
	case SL_TYPE_INT32:
	case SL_TYPE_DATE32:
	case SL_TYPE_TIME32:
		return ((const int32_t *)p)[i];
	case SL_TYPE_UINT32:
		return ((const uint32_t *)p)[i];
	default:
		return ((const int64_t *)p)[i];
	}
}

static int64_t sl_unit_to_us(int64_t v, sl_time_unit u, bool *lossy)
{
	switch (u) {
	case SL_UNIT_S:
		return v * 1000000;
	case SL_UNIT_MS:
		return v * 1000;
	case SL_UNIT_US:
		return v;
	case SL_UNIT_NS:
		*lossy = v % 1000 != 0;
		return v / 1000;
	}
	return v;
}

static int sl_encode_value(sl_pg_kind kind, const sl_column *c, int64_t i, sl_buf *out,
                           sl_error *err);

static int sl_encode_array(const sl_pg_codec *codec, const sl_column *c, int64_t i, sl_buf *out,
                           sl_error *err)
{
	const int32_t *off = (const int32_t *)c->offsets.data;
	int32_t from = off[i], to = off[i + 1];
	sl_list_shape shape;
	bool shaped = sl_col_list_shape(c, i, &shape);
	if (shaped) {
		int64_t count = 1;
		for (int d = 0; d < shape.ndim; d++)
			count *= shape.dims[d];
		if (count != to - from)
			return sl_error_set(
			        err, SL_ERR_INTERNAL,
			        "column %s: array of %d elements has a shape of %" PRId64,
			        c->field->name, to - from, count);
	}
	size_t start = sl_len_begin(out);
	const sl_column *e = c->child;
	bool nulls = false;
	for (int32_t k = from; k < to; k++)
		nulls = nulls || !sl_col_is_valid(e, k);
	wr32(out, (uint32_t)shape.ndim);
	wr32(out, nulls ? 1 : 0);
	wr32(out, codec->elem_oid);
	for (int d = 0; d < shape.ndim; d++) {
		wr32(out, (uint32_t)shape.dims[d]);
		wr32(out, (uint32_t)shape.lbounds[d]);
	}
	for (int32_t k = from; k < to; k++) {
		if (!sl_col_is_valid(e, k)) {
			wr32(out, 0xFFFFFFFFu);
			continue;
		}
		SL_TRY(sl_encode_value(codec->elem_kind, e, k, out, err));
	}
	sl_len_end(out, start);
	return 0;
}

static int sl_encode_value(sl_pg_kind kind, const sl_column *c, int64_t i, sl_buf *out,
                           sl_error *err)
{
	const sl_field *f = c->field;
	switch (kind) {
	case SL_PG_BOOL:
		wr32(out, 1);
		sl_buf_putc(out, sl_col_bool(c, i) ? 1 : 0);
		return 0;
	case SL_PG_INT2: {
		int64_t v = sl_fixed_int(c, i);
		if (v < INT16_MIN || v > INT16_MAX)
			break;
		wr32(out, 2);
		wr16(out, (uint16_t)(int16_t)v);
		return 0;
	}
	case SL_PG_INT4: {
		int64_t v = sl_fixed_int(c, i);
		if (v < INT32_MIN || v > INT32_MAX)
			break;
		wr32(out, 4);
		wr32(out, (uint32_t)(int32_t)v);
		return 0;
	}
	case SL_PG_OID:
		wr32(out, 4);
		wr32(out, ((const uint32_t *)c->values.data)[i]);
		return 0;
	case SL_PG_INT8:
	case SL_PG_LSN:
		wr32(out, 8);
		wr64(out, (uint64_t)sl_fixed_int(c, i));
		return 0;
	case SL_PG_FLOAT4: {
		float v = f->type == SL_TYPE_FLOAT16
		                  ? sl_half_to_float(((const uint16_t *)c->values.data)[i])
		                  : ((const float *)c->values.data)[i];
		uint32_t bits;
		memcpy(&bits, &v, 4);
		wr32(out, 4);
		wr32(out, bits);
		return 0;
	}
	case SL_PG_FLOAT8: {
		double v = f->type == SL_TYPE_FLOAT32 ? ((const float *)c->values.data)[i]
		                                      : ((const double *)c->values.data)[i];
		uint64_t bits;
		memcpy(&bits, &v, 8);
		wr32(out, 8);
		wr64(out, bits);
		return 0;
	}
	case SL_PG_DATE: {
		int64_t d;
		if (f->type == SL_TYPE_DATE64) {
			int64_t ms = ((const int64_t *)c->values.data)[i];
			d = ms / 86400000 - (ms % 86400000 < 0 ? 1 : 0) - SL_PG_EPOCH_DAYS;
		} else {
			d = ((const int32_t *)c->values.data)[i];
			if (d != SL_DATE32_POS_INF && d != SL_DATE32_NEG_INF)
				d -= SL_PG_EPOCH_DAYS;
		}
		wr32(out, 4);
		wr32(out, (uint32_t)(int32_t)d);
		return 0;
	}
	case SL_PG_TIME: {
		bool lossy = false;
		int64_t us = sl_unit_to_us(sl_fixed_int(c, i), f->unit, &lossy);
		wr32(out, 8);
		wr64(out, (uint64_t)us);
		return 0;
	}
	case SL_PG_TIMESTAMP: {
		int64_t t = ((const int64_t *)c->values.data)[i];
		if (t != SL_TIMESTAMP_POS_INF && t != SL_TIMESTAMP_NEG_INF) {
			bool lossy = false;
			t = sl_unit_to_us(t, f->unit, &lossy) - SL_PG_EPOCH_US;
		}
		wr32(out, 8);
		wr64(out, (uint64_t)t);
		return 0;
	}
	case SL_PG_NUMERIC: {
		size_t start = sl_len_begin(out);
		if (f->type == SL_TYPE_DECIMAL128 || f->type == SL_TYPE_DECIMAL256) {
			int w = f->type == SL_TYPE_DECIMAL128 ? 16 : 32;
			sl_pg_numeric_from_decimal(c->values.data + i * w, w, f->scale, out);
		} else if (f->type == SL_TYPE_UTF8) {
			int32_t n;
			const uint8_t *s = sl_col_bytes(c, i, &n);
			if (sl_pg_numeric_from_text((const char *)s, (size_t)n, out, err) < 0)
				return sl_error_wrap(err, "column %s", f->name);
		} else {
			/* integers (UInt64 has no PostgreSQL integer wide enough) */
			uint8_t dec[16] = {0};
			int64_t v = sl_fixed_int(c, i);
			if (f->type == SL_TYPE_UINT64)
				memcpy(dec, &v, 8);
			else {
				memcpy(dec, &v, 8);
				memset(dec + 8, v < 0 ? 0xFF : 0, 8);
			}
			sl_pg_numeric_from_decimal(dec, 16, 0, out);
		}
		sl_len_end(out, start);
		return 0;
	}
	case SL_PG_TEXT:
	case SL_PG_BYTEA: {
		int32_t n;
		const uint8_t *s;
		if (f->type == SL_TYPE_FIXED_BINARY) {
			n = f->byte_width;
			s = c->values.data + i * n;
		} else {
			s = sl_col_bytes(c, i, &n);
		}
		wr32(out, (uint32_t)n);
		sl_buf_append(out, s, (size_t)n);
		return 0;
	}
	case SL_PG_JSONB: {
		int32_t n;
		const uint8_t *s = sl_col_bytes(c, i, &n);
		wr32(out, (uint32_t)n + 1);
		sl_buf_putc(out, 1);
		sl_buf_append(out, s, (size_t)n);
		return 0;
	}
	case SL_PG_UUID: {
		int32_t n;
		const uint8_t *s = sl_col_bytes(c, i, &n);
		uint8_t u[16];
		int k = 0;
		for (int32_t j = 0; j < n && k < 32; j++) {
			if (s[j] == '-' || s[j] == '{' || s[j] == '}')
				continue;
			int h = sl_hexval(s[j]);
			if (h < 0)
				return sl_error_set(err, SL_ERR_DATA,
				                    "column %s: '%.*s' is not a UUID", f->name, n,
				                    s);
			if (k % 2 == 0)
				u[k / 2] = (uint8_t)(h << 4);
			else
				u[k / 2] |= (uint8_t)h;
			k++;
		}
		if (k != 32)
			return sl_error_set(err, SL_ERR_DATA, "column %s: '%.*s' is not a UUID",
			                    f->name, n, s);
		wr32(out, 16);
		sl_buf_append(out, u, 16);
		return 0;
	}
	case SL_PG_INTERVAL: {
		/* all in microseconds (days 0, months 0): TIME '838:59:59' stays 838:59:59 */
		sl_interval_dt v;
		int64_t us;
		memcpy(&v, c->values.data + i * 8, 8);
		if (__builtin_mul_overflow((int64_t)v.days, INT64_C(86400000000), &us) ||
		    __builtin_add_overflow(us, (int64_t)v.ms * 1000, &us))
			break;
		wr32(out, 16);
		wr64(out, (uint64_t)us);
		wr32(out, 0);
		wr32(out, 0);
		return 0;
	}
	case SL_PG_ARRAY:
		break;
	}
	return sl_error_set(err, SL_ERR_DATA,
	                    "column %s: value out of range for its PostgreSQL type", f->name);
}

#define SL_PG_TEXT_SLACK (160u << 10)

int sl_pg_decode_field(const sl_pg_codec *codec, sl_column *c, const uint8_t *p, int32_t n,
                       sl_error *err)
{
	if (n < 0) {
		sl_col_append_null(c);
		return 0;
	}
	/* a decoded value is about its wire size; text forms add at most SL_PG_TEXT_SLACK
	 * (numeric: 131072 digits before the point, 16383 after) */
	const sl_column *vc = c->field->type == SL_TYPE_LIST ? c->child : c;
	if ((sl_type_is_var_width(vc->field->type) &&
	     !sl_col_room(vc, (size_t)n + SL_PG_TEXT_SLACK)) ||
	    (c->field->type == SL_TYPE_LIST && c->child->length > SL_COL_MAX_BYTES - n / 4))
		return sl_error_set(err, SL_ERR_DATA,
		                    "column %s: a value of %d bytes does not fit one batch column "
		                    "(at most %" PRId64 " bytes: Arrow's 32-bit offsets)",
		                    c->field->name, n, SL_COL_MAX_BYTES);
	return codec->kind == SL_PG_ARRAY ? sl_decode_array(codec, c, p, n, err)
	                                  : sl_decode_value(codec->kind, c, p, n, err);
}

int sl_pg_encode_field(const sl_pg_codec *codec, const sl_column *c, int64_t i, sl_buf *out,
                       sl_error *err)
{
	if (!sl_col_is_valid(c, i)) {
		wr32(out, 0xFFFFFFFFu);
		return 0;
	}
	return codec->kind == SL_PG_ARRAY ? sl_encode_array(codec, c, i, out, err)
	                                  : sl_encode_value(codec->kind, c, i, out, err);
}

void sl_pgcopy_put_count(sl_buf *out, int n)
{
	wr16(out, (uint16_t)n);
}

void sl_pgcopy_put_field(sl_buf *out, const void *p, int32_t n)
{
	wr32(out, (uint32_t)n);
	if (n > 0)
		sl_buf_append(out, p, (size_t)n);
}

int sl_pgcopy_encode_rows(const sl_pg_codec *codecs, const sl_batch *batch, int64_t from,
                          int64_t to, sl_buf *out, sl_error *err)
{
	for (int64_t r = from; r < to; r++) {
		wr16(out, (uint16_t)batch->ncols);
		for (int i = 0; i < batch->ncols; i++) {
			const sl_column *c = &batch->cols[i];
			if (!sl_col_is_valid(c, r)) {
				wr32(out, 0xFFFFFFFFu);
				continue;
			}
			int rc = codecs[i].kind == SL_PG_ARRAY
			                 ? sl_encode_array(&codecs[i], c, r, out, err)
			                 : sl_encode_value(codecs[i].kind, c, r, out, err);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}
