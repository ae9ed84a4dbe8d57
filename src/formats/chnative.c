/* ClickHouse Native format encoder and decoder (see chnative.h). */
#include "formats/chnative.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "formats/decimal.h"

void sl_ch_caps_for_version(const char *version, sl_ch_caps *caps)
{
	memset(caps, 0, sizeof *caps);
	int major = 0, minor = 0;
	if (version == NULL || sscanf(version, "%d.%d", &major, &minor) < 1)
		return;
	int v = major * 100 + minor;
	caps->datetime64 = v >= 2001;
	caps->decimal256 = v >= 2008;
	caps->rename_column = v >= 2004;
	caps->date32 = v >= 2109;
	caps->boolean = v >= 2112;
}

void sl_ch_codec_reset(sl_ch_codec *c)
{
	if (c->elem) {
		sl_ch_codec_reset(c->elem);
		free(c->elem);
	}
	memset(c, 0, sizeof *c);
}

static const char *ch_base_type(const sl_field *f, const sl_ch_caps *caps, char *buf, size_t n,
                                sl_ch_codec *codec)
{
	switch (f->type) {
	case SL_TYPE_BOOL:
		codec->kind = SL_CH_BOOL_U8;
		return caps->boolean ? "Bool" : "UInt8";
	case SL_TYPE_INT8:
		codec->kind = SL_CH_FIXED;
		return "Int8";
	case SL_TYPE_INT16:
		codec->kind = SL_CH_FIXED;
		return "Int16";
	case SL_TYPE_INT32:
		codec->kind = SL_CH_FIXED;
		return "Int32";
	case SL_TYPE_INT64:
		codec->kind = SL_CH_FIXED;
		return "Int64";
	case SL_TYPE_UINT8:
		codec->kind = SL_CH_FIXED;
		return "UInt8";
	case SL_TYPE_UINT16:
		codec->kind = SL_CH_FIXED;
		return "UInt16";
	case SL_TYPE_UINT32:
		codec->kind = SL_CH_FIXED;
		return "UInt32";
	case SL_TYPE_UINT64:
		codec->kind = SL_CH_FIXED;
		return "UInt64";
	case SL_TYPE_FLOAT16:
		codec->kind = SL_CH_FLOAT16_F32;
		return "Float32";
	case SL_TYPE_FLOAT32:
		codec->kind = SL_CH_FIXED;
		return "Float32";
	case SL_TYPE_FLOAT64:
		codec->kind = SL_CH_FIXED;
		return "Float64";
	case SL_TYPE_DECIMAL128:
	case SL_TYPE_DECIMAL256:
		if (f->precision > 38 && !caps->decimal256) {
			codec->kind = SL_CH_STRING; /* the decimal's text: no wider Decimal there */
			return "String";
		}
		codec->kind = SL_CH_DECIMAL;
		codec->width = f->precision <= 9    ? 4
		               : f->precision <= 18 ? 8
		               : f->precision <= 38 ? 16
		                                    : 32;
		snprintf(buf, n, "Decimal(%d, %d)", f->precision, f->scale);
		return buf;
	case SL_TYPE_DATE32:
		if (caps->date32) {
			codec->kind = SL_CH_DATE32;
			return "Date32";
		}
		codec->kind = SL_CH_DATE_TEXT;
		return "String";
	case SL_TYPE_TIMESTAMP:
	case SL_TYPE_TIME64:
	case SL_TYPE_TIME32: {
		int digits = f->unit == SL_UNIT_S    ? 0
		             : f->unit == SL_UNIT_MS ? 3
		             : f->unit == SL_UNIT_US ? 6
		                                     : 9;
		codec->scale_digits = digits;
		if (!caps->datetime64) {
			codec->kind = SL_CH_DT_TEXT;
			return "String";
		}
		codec->kind = SL_CH_DT64;
		if (f->type == SL_TYPE_TIMESTAMP && f->tz)
			snprintf(buf, n, "DateTime64(%d, '%s')", digits, f->tz);
		else
			snprintf(buf, n, "DateTime64(%d)", digits);
		return buf;
	}
	case SL_TYPE_INTERVAL_DT:
		codec->kind = SL_CH_INTERVAL_TEXT;
		return "String";
	case SL_TYPE_UTF8:
	case SL_TYPE_BINARY:
	case SL_TYPE_FIXED_BINARY:
		codec->kind = SL_CH_STRING;
		return "String";
	default:
		return NULL;
	}
}

bool sl_ch_type_for_field(const sl_field *f, const sl_ch_caps *caps, char *buf, size_t n,
                          sl_ch_codec *codec)
{
	memset(codec, 0, sizeof *codec);
	char inner[160];
	if (f->type == SL_TYPE_LIST) {
		if (f->child == NULL || f->child->type == SL_TYPE_LIST)
			return false;
		sl_ch_codec *e = sl_calloc(1, sizeof *e);
		if (!sl_ch_type_for_field(f->child, caps, inner, sizeof inner, e)) {
			free(e);
			return false;
		}
		codec->kind = SL_CH_ARRAY;
		codec->elem = e;
		snprintf(buf, n, "Array(%s)", inner); /* arrays cannot be Nullable in ClickHouse */
		return true;
	}
	const char *t = ch_base_type(f, caps, inner, sizeof inner, codec);
	if (t == NULL)
		return false;
	codec->nullable = f->nullable || f->specials; /* NaN/Infinity land as NULL */
	if (codec->nullable)
		snprintf(buf, n, "Nullable(%s)", t);
	else
		snprintf(buf, n, "%s", t);
	return true;
}

void sl_ch_put_varuint(sl_buf *out, uint64_t v)
{
	do {
		uint8_t b = v & 0x7F;
		v >>= 7;
		if (v)
			b |= 0x80;
		sl_buf_putc(out, (char)b);
	} while (v);
}

void sl_ch_put_string(sl_buf *out, const void *p, size_t n)
{
	sl_ch_put_varuint(out, n);
	if (n)
		sl_buf_append(out, p, n);
}

void sl_ch_block_begin(sl_buf *out, int ncols, int64_t nrows)
{
	sl_ch_put_varuint(out, (uint64_t)ncols);
	sl_ch_put_varuint(out, (uint64_t)nrows);
}

/* Days since 1970-01-01 -> y, m, d (proleptic Gregorian); the year is 64-bit, as second
 * timestamps reach years beyond int. */
static int64_t ch_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* a - floor(a / b) * b for b > 0, without the product (which overflows near INT64_MIN). */
static int64_t ch_floor_mod(int64_t a, int64_t b)
{
	int64_t m = a % b;
	return m < 0 ? m + b : m;
}

static const int64_t ch_pow10[10] = {1,      10,      100,      1000,      10000,
                                     100000, 1000000, 10000000, 100000000, 1000000000};

/* v (>= 0, < 10^width) as exactly `width` digits. */
static void ch_put_digits(char *p, int64_t v, int width)
{
	for (int k = width - 1; k >= 0; k--) {
		p[k] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* ISO 8601 date: years 1 BC = 0000, 2 BC = -0001, at least four digits after the sign. Returns
 * the length written (NUL-terminated). */
static size_t ch_put_date(char *t, size_t n, int64_t y, int mo, int d)
{
	if (y >= 0 && y <= 9999 && n > 10) {
		ch_put_digits(t, y, 4);
		t[4] = '-';
		ch_put_digits(t + 5, mo, 2);
		t[7] = '-';
		ch_put_digits(t + 8, d, 2);
		t[10] = '\0';
		return 10;
	}
	int k = snprintf(t, n, "%s%04lld-%02d-%02d", y < 0 ? "-" : "", (long long)(y < 0 ? -y : y),
	                 mo, d);
	return k > 0 && (size_t)k < n ? (size_t)k : 0;
}

/* Which NaN/Infinity sentinel decimal row i holds, if any (fields with `specials` only). */
static sl_decimal_special ch_special(const sl_column *c, int64_t i)
{
	int w = c->field->type == SL_TYPE_DECIMAL128 ? 16 : 32;
	return sl_decimal_special_of(c->values.data + i * w, w);
}

static bool ch_is_special(const sl_column *c, int64_t i)
{
	return ch_special(c, i) != SL_DECIMAL_FINITE;
}

/* The value of row i as text for the *_TEXT kinds. */
static void ch_value_text(const sl_ch_codec *codec, const sl_column *c, int64_t i, char *t,
                          size_t n)
{
	const sl_field *f = c->field;
	int64_t y;
	int mo, d;
	if (codec->kind == SL_CH_DATE_TEXT) {
		int32_t days = ((const int32_t *)c->values.data)[i];
		if (days == SL_DATE32_POS_INF || days == SL_DATE32_NEG_INF) {
			snprintf(t, n, "%s", days > 0 ? "infinity" : "-infinity");
			return;
		}
		sl_civil_from_days(days, &y, &mo, &d);
		ch_put_date(t, n, y, mo, d);
		return;
	}
	if (codec->kind == SL_CH_INTERVAL_TEXT) {
		const int32_t *iv = (const int32_t *)(c->values.data + i * 8);
		int64_t ms = (int64_t)iv[0] * 86400000 + iv[1];
		int64_t a = ms < 0 ? -ms : ms;
		snprintf(t, n, "%s%02lld:%02lld:%02lld.%03lld", ms < 0 ? "-" : "",
		         (long long)(a / 3600000), (long long)(a / 60000 % 60),
		         (long long)(a / 1000 % 60), (long long)(a % 1000));
		return;
	}
	/* SL_CH_DT_TEXT */
	int64_t v = f->type == SL_TYPE_TIME32 ? ((const int32_t *)c->values.data)[i]
	                                      : ((const int64_t *)c->values.data)[i];
	if (f->type == SL_TYPE_TIMESTAMP &&
	    (v == SL_TIMESTAMP_POS_INF || v == SL_TIMESTAMP_NEG_INF)) {
		snprintf(t, n, "%s", v > 0 ? "infinity" : "-infinity");
		return;
	}
	int64_t per = ch_pow10[codec->scale_digits];
	int64_t secs = ch_floor_div(v, per), frac = ch_floor_mod(v, per);
	int64_t days = ch_floor_div(secs, 86400), sod = ch_floor_mod(secs, 86400);
	sl_civil_from_days(days, &y, &mo, &d);
	size_t k = ch_put_date(t, n, y, mo, d);
	if (k + 10 + (size_t)codec->scale_digits >= n)
		return; /* cannot happen with the caller's 64 bytes */
	t[k] = ' ';
	ch_put_digits(t + k + 1, sod / 3600, 2);
	t[k + 3] = ':';
	ch_put_digits(t + k + 4, sod / 60 % 60, 2);
	t[k + 6] = ':';
	ch_put_digits(t + k + 7, sod % 60, 2);
	k += 9;
	if (codec->scale_digits > 0) {
		t[k++] = '.';
		ch_put_digits(t + k, frac, codec->scale_digits);
		k += (size_t)codec->scale_digits;
	}
	t[k] = '\0';
}

static int ch_column(const sl_ch_codec *codec, const sl_column *c, int64_t from, int64_t to,
                     sl_buf *out, sl_error *err);

/* s[0..n) as a ClickHouse string literal: quote and backslash escaped, other bytes outside
 * printable ASCII as \xHH (so binary values and NULs survive). */
static void ch_quote_bytes(sl_buf *out, const uint8_t *s, size_t n)
{
	sl_buf_putc(out, '\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'' || s[i] == '\\') {
			sl_buf_putc(out, '\\');
			sl_buf_putc(out, (char)s[i]);
		} else if (s[i] < 0x20 || s[i] == 0x7F) {
			sl_buf_printf(out, "\\x%02X", s[i]);
		} else {
			sl_buf_putc(out, (char)s[i]);
		}
	}
	sl_buf_putc(out, '\'');
}

bool sl_ch_fill_literal(const sl_ch_codec *codec, const sl_field *f, sl_buf *out)
{
	if (f->fill == NULL)
		return false;
	sl_batch *b = sl_batch_create(f, 1);
	sl_column *c = &b->cols[0];
	if (f->type == SL_TYPE_BOOL)
		sl_col_append_bool(c, f->fill[0] != 0);
	else if (sl_type_is_var_width(f->type))
		sl_col_append_bytes(c, f->fill, f->fill_len);
	else if (f->type != SL_TYPE_LIST && (int)f->fill_len == sl_type_value_width(f))
		sl_col_append_fixed(c, f->fill, f->fill_len);
	else
		c = NULL;
	char t[128];
	bool ok = c != NULL;
	switch (ok ? codec->kind : 0) {
	case SL_CH_BOOL_U8:
		ch_quote_bytes(out, (const uint8_t *)(f->fill[0] ? "1" : "0"), 1);
		break;
	case SL_CH_FIXED: {
		const uint8_t *v = c->values.data;
		int64_t iv = 0;
		uint64_t uv = 0;
		double dv = 0;
		switch (f->type) {
		case SL_TYPE_INT8:
			iv = *(const int8_t *)v;
			break;
		case SL_TYPE_INT16:
			iv = *(const int16_t *)v;
			break;
		case SL_TYPE_INT32:
			iv = *(const int32_t *)v;
			break;
		case SL_TYPE_INT64:
			iv = *(const int64_t *)v;
			break;
		case SL_TYPE_UINT8:
			uv = *v;
			break;
		case SL_TYPE_UINT16:
			uv = *(const uint16_t *)v;
			break;
		case SL_TYPE_UINT32:
			uv = *(const uint32_t *)v;
			break;
		case SL_TYPE_UINT64:
			uv = *(const uint64_t *)v;
			break;
		case SL_TYPE_FLOAT32:
			dv = *(const float *)v;
			break;
		case SL_TYPE_FLOAT64:
			dv = *(const double *)v;
			break;
		default:
			ok = false;
		}
		if (f->type == SL_TYPE_FLOAT32 || f->type == SL_TYPE_FLOAT64)
			snprintf(t, sizeof t, "%s",
			         isnan(dv)   ? "nan"
			         : isinf(dv) ? (dv > 0 ? "inf" : "-inf")
			                     : "");
		else
			t[0] = '\0';
		if (t[0] == '\0') {
			if (f->type == SL_TYPE_FLOAT32 || f->type == SL_TYPE_FLOAT64)
				snprintf(t, sizeof t, "%.17g", dv);
			else if (f->type >= SL_TYPE_UINT8 && f->type <= SL_TYPE_UINT64)
				snprintf(t, sizeof t, "%llu", (unsigned long long)uv);
			else
				snprintf(t, sizeof t, "%lld", (long long)iv);
		}
		ch_quote_bytes(out, (const uint8_t *)t, strlen(t));
		break;
	}
	case SL_CH_DECIMAL: {
		int w = f->type == SL_TYPE_DECIMAL128 ? 16 : 32;
		if (sl_decimal_special_of(c->values.data, w) != SL_DECIMAL_FINITE) {
			ok = false; /* NaN: NULL there, which a default need not say */
			break;
		}
		char d[96];
		int k = sl_decimal_to_text(c->values.data, w, f->scale, d);
		ch_quote_bytes(out, (const uint8_t *)d, (size_t)k);
		break;
	}
	case SL_CH_STRING:
		if (f->type == SL_TYPE_DECIMAL128 || f->type == SL_TYPE_DECIMAL256) {
			int w = f->type == SL_TYPE_DECIMAL128 ? 16 : 32;
			char d[96];
			int k = sl_decimal_to_text(c->values.data, w, f->scale, d);
			ch_quote_bytes(out, (const uint8_t *)d, (size_t)k);
		} else if (f->type == SL_TYPE_FIXED_BINARY) {
			ch_quote_bytes(out, c->values.data, (size_t)f->byte_width);
		} else {
			ch_quote_bytes(out, f->fill, f->fill_len);
		}
		break;
	case SL_CH_DATE_TEXT:
	case SL_CH_DT_TEXT:
	case SL_CH_INTERVAL_TEXT:
		ch_value_text(codec, c, 0, t, sizeof t);
		ch_quote_bytes(out, (const uint8_t *)t, strlen(t));
		break;
	case SL_CH_DATE32:
	case SL_CH_DT64: {
		sl_ch_codec as_text = *codec;
		as_text.kind = codec->kind == SL_CH_DATE32 ? SL_CH_DATE_TEXT : SL_CH_DT_TEXT;
		ch_value_text(&as_text, c, 0, t, sizeof t);
		ok = strstr(t, "infinity") == NULL; /* no such value in the native types */
		if (ok)
			ch_quote_bytes(out, (const uint8_t *)t, strlen(t));
		break;
	}
	default:
		ok = false;
	}
	sl_batch_destroy(b);
	return ok;
}

static int ch_values(const sl_ch_codec *codec, const sl_column *c, int64_t from, int64_t to,
                     sl_buf *out, sl_error *err)
{
	const sl_field *f = c->field;
	switch (codec->kind) {
	case SL_CH_FIXED:
	case SL_CH_DATE32: {
		int w = sl_type_value_width(f);
		sl_buf_append(out, c->values.data + from * w, (size_t)((to - from) * w));
		return 0;
	}
	case SL_CH_BOOL_U8:
		for (int64_t i = from; i < to; i++)
			sl_buf_putc(out, sl_col_bool(c, i) ? 1 : 0);
		return 0;
	case SL_CH_FLOAT16_F32:
		for (int64_t i = from; i < to; i++) {
			uint16_t h = ((const uint16_t *)c->values.data)[i];
			uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1F,
			         m = h & 0x3FF;
			float x;
			if (e == 0)
				x = (float)m / 16777216.0f; /* subnormal: m * 2^-24 */
			else if (e == 31)
				x = m ? __builtin_nanf("") : __builtin_inff();
			else {
				uint32_t bits = ((e + 112) << 23) | (m << 13);
				memcpy(&x, &bits, 4);
			}
			uint32_t b;
			memcpy(&b, &x, 4);
			b |= sign;
			sl_buf_append(out, &b, 4);
		}
		return 0;
	case SL_CH_DT64:
		for (int64_t i = from; i < to; i++) {
			int64_t v = f->type == SL_TYPE_TIME32
			                    ? ((const int32_t *)c->values.data)[i]
			                    : ((const int64_t *)c->values.data)[i];
			sl_buf_append(out, &v, 8);
		}
		return 0;
	case SL_CH_DECIMAL: {
		int w = f->type == SL_TYPE_DECIMAL128 ? 16 : 32;
		static const uint8_t zero[32];
		for (int64_t i = from; i < to; i++) {
			if (f->specials && ch_is_special(c, i)) {
				sl_buf_append(out, zero, (size_t)codec->width); /* NULL there */
				continue;
			}
			/* little-endian two's complement: the low bytes are the narrower value */
			sl_buf_append(out, c->values.data + i * w, (size_t)codec->width);
			if (codec->width > w) {
				uint8_t ext = (c->values.data[i * w + w - 1] & 0x80) ? 0xFF : 0;
				for (int k = w; k < codec->width; k++)
					sl_buf_putc(out, (char)ext);
			}
		}
		return 0;
	}
	case SL_CH_STRING:
		for (int64_t i = from; i < to; i++) {
			if (!sl_col_is_valid(c, i) || (f->specials && ch_is_special(c, i))) {
				sl_ch_put_varuint(out, 0); /* NULL there */
				continue;
			}
			if (f->type == SL_TYPE_FIXED_BINARY) {
				sl_ch_put_string(out, c->values.data + i * f->byte_width,
				                 (size_t)f->byte_width);
			} else if (f->type == SL_TYPE_DECIMAL128 || f->type == SL_TYPE_DECIMAL256) {
				/* a decimal too wide for the server's Decimal: its exact text */
				int w = f->type == SL_TYPE_DECIMAL128 ? 16 : 32;
				char t[96];
				int k = sl_decimal_to_text(c->values.data + i * w, w, f->scale, t);
				sl_ch_put_string(out, t, (size_t)k);
			} else {
				int32_t n;
				const uint8_t *p = sl_col_bytes(c, i, &n);
				sl_ch_put_string(out, p, (size_t)n);
			}
		}
		return 0;
	case SL_CH_DATE_TEXT:
	case SL_CH_DT_TEXT:
	case SL_CH_INTERVAL_TEXT:
		for (int64_t i = from; i < to; i++) {
			char t[64] = "";
			if (sl_col_is_valid(c, i))
				ch_value_text(codec, c, i, t, sizeof t);
			sl_ch_put_string(out, t, strlen(t));
		}
		return 0;
	case SL_CH_ARRAY: {
		const int32_t *off = (const int32_t *)c->offsets.data;
		for (int64_t i = from; i < to; i++) {
			uint64_t end = (uint64_t)(off[i + 1] - off[from]);
			sl_buf_append(out, &end, 8);
		}
		/* Array(Nullable(T)): the elements' null map, then their values */
		return ch_column(codec->elem, c->child, off[from], off[to], out, err);
	}
	}
	return sl_error_set(err, SL_ERR_INTERNAL, "column %s: no Native encoder for kind %d",
	                    f->name, codec->kind);
}

/* Rows [from, to) of c: Nullable's null map when the codec says so, then the values. A
 * decimal's NaN/Infinity (ClickHouse's Decimal has none) is written as NULL; a column that
 * cannot be NULL (a sorting key, or a column created without Nullable) refuses it. */
static int ch_column(const sl_ch_codec *codec, const sl_column *c, int64_t from, int64_t to,
                     sl_buf *out, sl_error *err)
{
	bool specials = c->field->specials;
	if (codec->nullable) {
		for (int64_t i = from; i < to; i++)
			sl_buf_putc(out, sl_col_is_valid(c, i) && !(specials && ch_is_special(c, i))
			                         ? 0
			                         : 1);
	} else if (specials) {
		for (int64_t i = from; i < to; i++)
			if (sl_col_is_valid(c, i) && ch_is_special(c, i))
				return sl_error_set(err, SL_ERR_DATA,
				                    "column %s holds numeric %s, which "
				                    "ClickHouse's Decimal cannot "
				                    "store, and its ClickHouse column is not "
				                    "Nullable (a sorting key "
				                    "column cannot be)",
				                    c->field->name,
				                    sl_decimal_special_name(ch_special(c, i)));
	}
	return ch_values(codec, c, from, to, out, err);
}

int64_t sl_ch_count_specials(const sl_column *c, int64_t from, int64_t to)
{
	if (c->field->type == SL_TYPE_LIST) {
		const int32_t *off = (const int32_t *)c->offsets.data;
		return c->child ? sl_ch_count_specials(c->child, off[from], off[to]) : 0;
	}
	if (!c->field->specials)
		return 0;
	int64_t n = 0;
	for (int64_t i = from; i < to; i++)
		n += sl_col_is_valid(c, i) && ch_is_special(c, i);
	return n;
}

int sl_ch_encode_column(const sl_ch_codec *codec, const char *name, const char *type,
                        const sl_column *c, int64_t from, int64_t to, sl_buf *out, sl_error *err)
{
	sl_ch_put_string(out, name, strlen(name));
	sl_ch_put_string(out, type, strlen(type));
	return ch_column(codec, c, from, to, out, err);
}

void sl_ch_encode_const_u64(const char *name, uint64_t v, int64_t nrows, sl_buf *out)
{
	sl_ch_put_string(out, name, strlen(name));
	sl_ch_put_string(out, "UInt64", 6);
	for (int64_t i = 0; i < nrows; i++)
		sl_buf_append(out, &v, 8);
}

void sl_ch_encode_const_u8(const char *name, uint8_t v, int64_t nrows, sl_buf *out)
{
	sl_ch_put_string(out, name, strlen(name));
	sl_ch_put_string(out, "UInt8", 5);
	for (int64_t i = 0; i < nrows; i++)
		sl_buf_putc(out, (char)v);
}

/* ---- decoding ---- */

static int ch_truncated(sl_error *err, const char *name)
{
	return sl_error_set(err, SL_ERR_DATA,
	                    "column %s: Native data truncated (the server's answer ended early)",
	                    name);
}

/* LEB128, at most 64 bits. */
static int ch_get_varuint(sl_ch_reader *r, uint64_t *v)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return -1;
		uint8_t b = *r->p++;
		if (shift == 63 && b > 1)
			return -1;
		x |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

static int ch_get_string(sl_ch_reader *r, const uint8_t **s, size_t *n)
{
	uint64_t len;
	if (ch_get_varuint(r, &len) < 0 || len > (uint64_t)(r->end - r->p))
		return -1;
	*s = r->p;
	*n = (size_t)len;
	r->p += len;
	return 0;
}

/* n values of w bytes each, or NULL when the input is shorter. */
static const uint8_t *ch_take(sl_ch_reader *r, int64_t n, size_t w)
{
	if (n < 0 || (uint64_t)n > (size_t)(r->end - r->p) / w)
		return NULL;
	const uint8_t *p = r->p;
	r->p += (size_t)n * w;
	return p;
}

int sl_ch_block_next(sl_ch_reader *r, int *ncols, int64_t *nrows, sl_error *err)
{
	if (r->p >= r->end)
		return 0;
	uint64_t nc, nr;
	if (ch_get_varuint(r, &nc) < 0 || ch_get_varuint(r, &nr) < 0)
		return sl_error_set(err, SL_ERR_DATA, "Native block header truncated or malformed");
	if (nc > INT_MAX || nr > INT64_MAX)
		return sl_error_set(err, SL_ERR_DATA,
		                    "Native block header malformed: %llu columns, %llu rows",
		                    (unsigned long long)nc, (unsigned long long)nr);
	*ncols = (int)nc;
	*nrows = (int64_t)nr;
	return 1;
}

/* Column name and type text; 0, or <0 with err when truncated. */
static int ch_column_header(sl_ch_reader *r, const uint8_t **nm, size_t *nn, const uint8_t **ty,
                            size_t *tn, const char *want, sl_error *err)
{
	if (ch_get_string(r, nm, nn) < 0 || ch_get_string(r, ty, tn) < 0)
		return ch_truncated(err, want);
	return 0;
}

int sl_ch_skip_column(sl_ch_reader *r, int64_t nrows, sl_error *err)
{
	const uint8_t *nm = NULL, *ty = NULL;
	size_t nn = 0, tn = 0;
	SL_TRY(ch_column_header(r, &nm, &nn, &ty, &tn, "(metadata)", err));
	static const struct {
		const char *type;
		size_t width;
	} meta[] = {{"UInt8", 1}, {"UInt32", 4}, {"UInt64", 8}, {"Int64", 8}};
	for (size_t k = 0; k < sizeof meta / sizeof meta[0]; k++) {
		if (tn != strlen(meta[k].type) || memcmp(ty, meta[k].type, tn) != 0)
			continue;
		if (ch_take(r, nrows, meta[k].width) == NULL)
			return sl_error_set(err, SL_ERR_DATA, "column %.*s: Native data truncated",
			                    (int)nn, (const char *)nm);
		return 0;
	}
	return sl_error_set(err, SL_ERR_DATA,
	                    "column %.*s: cannot skip a column of type %.*s (only UInt8, UInt32, "
	                    "UInt64 and Int64 metadata columns)",
	                    (int)nn, (const char *)nm, (int)tn, (const char *)ty);
}

/* Half-precision bits of a float, rounded to nearest even (exact for a widened half). */
static uint16_t ch_f32_to_f16(uint32_t b)
{
	uint32_t sign = (b >> 16) & 0x8000, m = b & 0x7FFFFF;
	int32_t e = (int32_t)((b >> 23) & 0xFF);
	if (e == 0xFF)
		return (uint16_t)(sign | 0x7C00 | (m ? 0x200 : 0)); /* inf, NaN (quiet) */
	int32_t he = e - 127 + 15;
	if (he >= 31)
		return (uint16_t)(sign | 0x7C00); /* too large: inf */
	if (he <= 0) {                            /* a half subnormal, or zero */
		if (he < -10)
			return (uint16_t)sign;
		m |= 0x800000;
		int shift = 14 - he; /* 14..24 */
		uint32_t hm = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
		if (rem > half || (rem == half && (hm & 1)))
			hm++; /* may carry into the smallest normal, which is right */
		return (uint16_t)(sign | hm);
	}
	uint32_t hm = m >> 13, rem = m & 0x1FFF;
	uint32_t h = sign | ((uint32_t)he << 10) | hm;
	if (rem > 0x1000 || (rem == 0x1000 && (hm & 1)))
		h++; /* may carry into the exponent, up to inf */
	return (uint16_t)h;
}

/* Digits s[*i..]: at least min, at most max of them. */
static bool ch_digits(const uint8_t *s, size_t n, size_t *i, int min, int max, int64_t *v)
{
	int k = 0;
	int64_t x = 0;
	while (*i < n && s[*i] >= '0' && s[*i] <= '9' && k < max) {
		x = x * 10 + (s[*i] - '0');
		(*i)++;
		k++;
	}
	if (k < min || (*i < n && s[*i] >= '0' && s[*i] <= '9'))
		return false;
	*v = x;
	return true;
}

static bool ch_expect(const uint8_t *s, size_t n, size_t *i, char c)
{
	if (*i >= n || s[*i] != c)
		return false;
	(*i)++;
	return true;
}

/* '[-]Y...Y-MM-DD' (proleptic Gregorian, any number of year digits up to 12) at s[*i..] ->
 * days since 1970-01-01. */
static bool ch_parse_date(const uint8_t *s, size_t n, size_t *i, int64_t *days)
{
	bool neg = ch_expect(s, n, i, '-');
	int64_t y, m, d;
	if (!ch_digits(s, n, i, 1, 12, &y) || !ch_expect(s, n, i, '-') ||
	    !ch_digits(s, n, i, 2, 2, &m) || !ch_expect(s, n, i, '-') ||
	    !ch_digits(s, n, i, 2, 2, &d))
		return false;
	if (neg)
		y = -y;
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
		return false;
	*days = sl_days_from_civil(y, m, d);
	return true;
}

/* *out = a * m + b for 0 <= b < m, false on overflow; fine down to INT64_MIN (the encoder's
 * floor division makes a * m alone overflow there). */
static bool ch_mul_add(int64_t a, int64_t m, int64_t b, int64_t *out)
{
	int64_t t;
	if (a < 0 && b > 0)
		return !__builtin_mul_overflow(a + 1, m, &t) &&
		       !__builtin_add_overflow(t, b - m, out);
	return !__builtin_mul_overflow(a, m, &t) && !__builtin_add_overflow(t, b, out);
}

/* 'DATE HH:MM:SS[.f...]' (at most `digits` fraction digits) -> ticks of 10^-digits s. */
static bool ch_parse_datetime(const uint8_t *s, size_t n, int digits, int64_t *ticks)
{
	size_t i = 0;
	int64_t days, hh, mi, ss, frac = 0;
	if (!ch_parse_date(s, n, &i, &days) || !ch_expect(s, n, &i, ' ') ||
	    !ch_digits(s, n, &i, 2, 2, &hh) || !ch_expect(s, n, &i, ':') ||
	    !ch_digits(s, n, &i, 2, 2, &mi) || !ch_expect(s, n, &i, ':') ||
	    !ch_digits(s, n, &i, 2, 2, &ss) || hh > 23 || mi > 59 || ss > 59)
		return false;
	if (i < n && digits > 0) {
		size_t at;
		if (!ch_expect(s, n, &i, '.'))
			return false;
		at = i;
		if (!ch_digits(s, n, &i, 1, digits, &frac))
			return false;
		for (size_t k = i - at; k < (size_t)digits; k++)
			frac *= 10;
	}
	if (i != n)
		return false;
	int64_t secs;
	return ch_mul_add(days, 86400, hh * 3600 + mi * 60 + ss, &secs) &&
	       ch_mul_add(secs, ch_pow10[digits], frac, ticks);
}

/* '[-]H...H:MM:SS.mmm' -> total milliseconds. */
static bool ch_parse_interval(const uint8_t *s, size_t n, int64_t *total)
{
	size_t i = 0;
	bool neg = ch_expect(s, n, &i, '-');
	int64_t hh, mi, ss, ms;
	if (!ch_digits(s, n, &i, 1, 12, &hh) || !ch_expect(s, n, &i, ':') ||
	    !ch_digits(s, n, &i, 2, 2, &mi) || !ch_expect(s, n, &i, ':') ||
	    !ch_digits(s, n, &i, 2, 2, &ss) || !ch_expect(s, n, &i, '.') ||
	    !ch_digits(s, n, &i, 3, 3, &ms) || i != n || mi > 59 || ss > 59)
		return false;
	int64_t t = hh * 3600000 + mi * 60000 + ss * 1000 + ms; /* < 10^12 hours: no overflow */
	*total = neg ? -t : t;
	return true;
}

/* 'infinity' -> 1, '-infinity' -> -1 (the sentinels' text), else 0. */
static int ch_is_infinity(const uint8_t *s, size_t n)
{
	if (n == 8 && memcmp(s, "infinity", 8) == 0)
		return 1;
	if (n == 9 && memcmp(s, "-infinity", 9) == 0)
		return -1;
	return 0;
}

static int ch_bad_value(sl_error *err, const char *name, const char *what, const uint8_t *s,
                        size_t n)
{
	return sl_error_set(err, SL_ERR_DATA, "column %s: %s '%.*s'", name, what,
	                    (int)(n > 80 ? 80 : n), (const char *)s);
}

/* One String value of an SL_CH_STRING / *_TEXT column, not NULL, appended to c. */
static int ch_text_value(const sl_ch_codec *codec, sl_column *c, const uint8_t *s, size_t n,
                         const char *name, sl_error *err)
{
	const sl_field *f = c->field;
	switch (codec->kind) {
	case SL_CH_STRING:
		if (f->type == SL_TYPE_FIXED_BINARY) {
			if (n != (size_t)f->byte_width)
				return sl_error_set(err, SL_ERR_DATA,
				                    "column %s: a value of %zu bytes for "
				                    "FixedSizeBinary(%d)",
				                    name, n, f->byte_width);
			sl_col_append_fixed(c, s, n);
		} else if (f->type == SL_TYPE_DECIMAL128 || f->type == SL_TYPE_DECIMAL256) {
			uint8_t v[32];
			int w = f->type == SL_TYPE_DECIMAL128 ? 16 : 32;
			if (sl_decimal_from_text((const char *)s, n, w, f->scale, v) < 0)
				return ch_bad_value(err, name, "not a decimal of its scale:", s, n);
			sl_col_append_fixed(c, v, (size_t)w);
		} else if (sl_type_is_var_width(f->type)) {
			if (n > (size_t)INT32_MAX - c->values.len)
				return sl_error_set(
				        err, SL_ERR_DATA,
				        "column %s: more than 2 GiB of values in one batch "
				        "(use smaller batches)",
				        name);
			sl_col_append_bytes(c, s, n);
		} else {
			return sl_error_set(err, SL_ERR_INTERNAL,
			                    "column %s: no Native String decoder for type %d", name,
			                    f->type);
		}
		return 0;
	case SL_CH_DATE_TEXT: {
		size_t i = 0;
		int64_t days;
		if (ch_is_infinity(s, n) != 0) {
			sl_col_append_i32(c, ch_is_infinity(s, n) > 0 ? SL_DATE32_POS_INF
			                                              : SL_DATE32_NEG_INF);
			return 0;
		}
		if (!ch_parse_date(s, n, &i, &days) || i != n || days < INT32_MIN ||
		    days > INT32_MAX)
			return ch_bad_value(err, name, "not a date (YYYY-MM-DD):", s, n);
		sl_col_append_i32(c, (int32_t)days);
		return 0;
	}
	case SL_CH_DT_TEXT: {
		int64_t t;
		if (f->type == SL_TYPE_TIMESTAMP && ch_is_infinity(s, n) != 0) {
			sl_col_append_i64(c, ch_is_infinity(s, n) > 0 ? SL_TIMESTAMP_POS_INF
			                                              : SL_TIMESTAMP_NEG_INF);
			return 0;
		}
		if (!ch_parse_datetime(s, n, codec->scale_digits, &t) ||
		    (f->type == SL_TYPE_TIME32 && (t < INT32_MIN || t > INT32_MAX)))
			return ch_bad_value(err, name,
			                    "not a date and time (YYYY-MM-DD HH:MM:SS[.f]) of the "
			                    "field's range:",
			                    s, n);
		if (f->type == SL_TYPE_TIME32)
			sl_col_append_i32(c, (int32_t)t);
		else
			sl_col_append_i64(c, t);
		return 0;
	}
	case SL_CH_INTERVAL_TEXT: {
		int64_t total;
		sl_interval_dt v;
		if (!ch_parse_interval(s, n, &total) || !sl_interval_dt_from_ms(total, &v))
			return ch_bad_value(err, name, "not an interval ([-]HH:MM:SS.mmm):", s, n);
		sl_col_append_fixed(c, &v, sizeof v);
		return 0;
	}
	default:
		return sl_error_set(err, SL_ERR_INTERNAL, "column %s: kind %d is not text", name,
		                    codec->kind);
	}
}

/* Nullable's null map of n rows: *nulls points at it. */
static int ch_null_map(sl_ch_reader *r, int64_t n, const uint8_t **nulls, const char *name,
                       sl_error *err)
{
	if ((*nulls = ch_take(r, n, 1)) == NULL)
		return ch_truncated(err, name);
	for (int64_t i = 0; i < n; i++)
		if ((*nulls)[i] > 1)
			return sl_error_set(err, SL_ERR_DATA,
			                    "column %s: null map byte %u (want 0 or 1)", name,
			                    (*nulls)[i]);
	return 0;
}

/* n values of the codec's kind appended to c; nulls[i] != 0 (when nulls is not NULL) makes
 * value i a NULL, its bytes skipped. */
static int ch_read_values(sl_ch_reader *r, const sl_ch_codec *codec, int64_t n,
                          const uint8_t *nulls, sl_column *c, const char *name, sl_error *err)
{
	const sl_field *f = c->field;
	const uint8_t *p;
	switch (codec->kind) {
	case SL_CH_FIXED:
	case SL_CH_DATE32: {
		size_t w = (size_t)sl_type_value_width(f);
		if (w == 0 || (p = ch_take(r, n, w)) == NULL)
			return w ? ch_truncated(err, name)
			         : sl_error_set(err, SL_ERR_INTERNAL, "column %s: no value width",
			                        name);
		for (int64_t i = 0; i < n; i++) {
			if (nulls && nulls[i])
				sl_col_append_null(c);
			else
				sl_col_append_fixed(c, p + (size_t)i * w, w);
		}
		return 0;
	}
	case SL_CH_BOOL_U8:
		if ((p = ch_take(r, n, 1)) == NULL)
			return ch_truncated(err, name);
		for (int64_t i = 0; i < n; i++) {
			if (nulls && nulls[i])
				sl_col_append_null(c);
			else
				sl_col_append_bool(c, p[i] != 0);
		}
		return 0;
	case SL_CH_FLOAT16_F32:
		if ((p = ch_take(r, n, 4)) == NULL)
			return ch_truncated(err, name);
		for (int64_t i = 0; i < n; i++) {
			uint32_t b;
			memcpy(&b, p + i * 4, 4);
			if (nulls && nulls[i])
				sl_col_append_null(c);
			else
				sl_col_append_i16(c, (int16_t)ch_f32_to_f16(b));
		}
		return 0;
	case SL_CH_DT64:
		if ((p = ch_take(r, n, 8)) == NULL)
			return ch_truncated(err, name);
		for (int64_t i = 0; i < n; i++) {
			int64_t v;
			memcpy(&v, p + i * 8, 8);
			if (nulls && nulls[i])
				sl_col_append_null(c);
			else if (f->type != SL_TYPE_TIME32)
				sl_col_append_i64(c, v);
			else if (v >= INT32_MIN && v <= INT32_MAX)
				sl_col_append_i32(c, (int32_t)v);
			else
				return sl_error_set(err, SL_ERR_DATA,
				                    "column %s: %lld ticks do not fit Time32", name,
				                    (long long)v);
		}
		return 0;
	case SL_CH_DECIMAL: {
		size_t cw = (size_t)codec->width, w = f->type == SL_TYPE_DECIMAL128 ? 16 : 32;
		if ((cw != 4 && cw != 8 && cw != 16 && cw != 32) ||
		    (f->type != SL_TYPE_DECIMAL128 && f->type != SL_TYPE_DECIMAL256))
			return sl_error_set(err, SL_ERR_INTERNAL,
			                    "column %s: Decimal of %zu bytes into type %d", name,
			                    cw, f->type);
		if ((p = ch_take(r, n, cw)) == NULL)
			return ch_truncated(err, name);
		for (int64_t i = 0; i < n; i++) {
			const uint8_t *v = p + (size_t)i * cw;
			if (nulls && nulls[i]) {
				sl_col_append_null(c);
				continue;
			}
			/* little-endian two's complement: sign-extend, or check the dropped bytes
			 * are the sign */
			uint8_t d[32], ext = (v[cw - 1] & 0x80) ? 0xFF : 0;
			memcpy(d, v, cw < w ? cw : w);
			for (size_t k = cw; k < w; k++)
				d[k] = ext;
			for (size_t k = w; k < cw; k++)
				if (v[k] != ext || (d[w - 1] & 0x80) != (ext & 0x80))
					return sl_error_set(err, SL_ERR_DATA,
					                    "column %s: a Decimal too wide for "
					                    "Decimal128",
					                    name);
			sl_col_append_fixed(c, d, w);
		}
		return 0;
	}
	case SL_CH_STRING:
	case SL_CH_DATE_TEXT:
	case SL_CH_DT_TEXT:
	case SL_CH_INTERVAL_TEXT:
		for (int64_t i = 0; i < n; i++) {
			const uint8_t *s;
			size_t len;
			if (ch_get_string(r, &s, &len) < 0)
				return ch_truncated(err, name);
			if (nulls && nulls[i])
				sl_col_append_null(c);
			else
				SL_TRY(ch_text_value(codec, c, s, len, name, err));
		}
		return 0;
	case SL_CH_ARRAY: {
		/* end offsets for every row, then all the elements (their null map, values) */
		if (c->child == NULL || codec->elem == NULL)
			return sl_error_set(err, SL_ERR_INTERNAL,
			                    "column %s: Array into a non-list", name);
		if ((p = ch_take(r, n, 8)) == NULL)
			return ch_truncated(err, name);
		uint64_t prev = 0;
		for (int64_t i = 0; i < n; i++) {
			uint64_t end;
			memcpy(&end, p + i * 8, 8);
			if (end < prev || end > (uint64_t)(INT32_MAX - c->child->length))
				return sl_error_set(
				        err, SL_ERR_DATA,
				        "column %s: Array offsets malformed (%llu after "
				        "%llu, or more than 2^31 elements in a batch)",
				        name, (unsigned long long)end, (unsigned long long)prev);
			prev = end;
		}
		const uint8_t *enulls = NULL;
		if (codec->elem->nullable)
			SL_TRY(ch_null_map(r, (int64_t)prev, &enulls, name, err));
		prev = 0;
		for (int64_t i = 0; i < n; i++) {
			uint64_t end;
			memcpy(&end, p + i * 8, 8);
			SL_TRY(ch_read_values(r, codec->elem, (int64_t)(end - prev),
			                      enulls ? enulls + prev : NULL, c->child, name, err));
			sl_col_end_list(c);
			prev = end;
		}
		return 0;
	}
	}
	return sl_error_set(err, SL_ERR_INTERNAL, "column %s: no Native decoder for kind %d", name,
	                    codec->kind);
}

/* Nullable's null map when the codec says so, then n values. */
static int ch_read_column(sl_ch_reader *r, const sl_ch_codec *codec, int64_t n, sl_column *c,
                          const char *name, sl_error *err)
{
	const uint8_t *nulls = NULL;
	if (codec->nullable)
		SL_TRY(ch_null_map(r, n, &nulls, name, err));
	return ch_read_values(r, codec, n, nulls, c, name, err);
}

int sl_ch_decode_column(sl_ch_reader *r, const sl_ch_codec *codec, const char *name,
                        const char *type, int64_t nrows, sl_column *dst, sl_error *err)
{
	const uint8_t *nm = NULL, *ty = NULL;
	size_t nn = 0, tn = 0;
	SL_TRY(ch_column_header(r, &nm, &nn, &ty, &tn, name, err));
	if (nn != strlen(name) || memcmp(nm, name, nn) != 0 || tn != strlen(type) ||
	    memcmp(ty, type, tn) != 0)
		return sl_error_set(
		        err, SL_ERR_DATA,
		        "column %s: the server sent column %.*s of type %.*s where %s of "
		        "type %s was expected (was the table changed outside sluice?)",
		        name, (int)nn, (const char *)nm, (int)tn, (const char *)ty, name, type);
	if (nrows < 0)
		return sl_error_set(err, SL_ERR_INTERNAL, "column %s: %lld rows", name,
		                    (long long)nrows);
	return ch_read_column(r, codec, nrows, dst, name, err);
}
