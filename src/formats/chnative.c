/* ClickHouse Native format encoder (see chnative.h). */
#include "formats/chnative.h"

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
	codec->nullable = f->nullable;
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

/* Days since 1970-01-01 -> y, m, d (proleptic Gregorian). */
static void ch_civil(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int64_t ch_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static const int64_t ch_pow10[10] = {1,      10,      100,      1000,      10000,
                                     100000, 1000000, 10000000, 100000000, 1000000000};

/* The value of row i as text for the *_TEXT kinds. */
static void ch_value_text(const sl_ch_codec *codec, const sl_column *c, int64_t i, char *t,
                          size_t n)
{
	const sl_field *f = c->field;
	int y, mo, d;
	if (codec->kind == SL_CH_DATE_TEXT) {
		int32_t days = ((const int32_t *)c->values.data)[i];
		ch_civil(days, &y, &mo, &d);
		snprintf(t, n, "%04d-%02d-%02d", y, mo, d);
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
	int64_t per = ch_pow10[codec->scale_digits];
	int64_t secs = ch_floor_div(v, per), frac = v - secs * per;
	int64_t days = ch_floor_div(secs, 86400), sod = secs - days * 86400;
	ch_civil(days, &y, &mo, &d);
	int k = snprintf(t, n, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, (int)(sod / 3600),
	                 (int)(sod / 60 % 60), (int)(sod % 60));
	if (codec->scale_digits > 0 && k > 0 && (size_t)k < n)
		snprintf(t + k, n - (size_t)k, ".%0*lld", codec->scale_digits, (long long)frac);
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
		for (int64_t i = from; i < to; i++) {
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
			if (!sl_col_is_valid(c, i)) {
				sl_ch_put_varuint(out, 0);
				continue;
			}
			if (f->type == SL_TYPE_FIXED_BINARY) {
				sl_ch_put_string(out, c->values.data + i * f->byte_width,
				                 (size_t)f->byte_width);
			} else if (f->type == SL_TYPE_DECIMAL128 || f->type == SL_TYPE_DECIMAL256) {
				/* handled by the caller's text path */
				return sl_error_set(err, SL_ERR_INTERNAL,
				                    "column %s: decimal as text", f->name);
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
		return ch_values(codec->elem, c->child, off[from], off[to], out, err);
	}
	}
	return sl_error_set(err, SL_ERR_INTERNAL, "column %s: no Native encoder for kind %d",
	                    f->name, codec->kind);
}

int sl_ch_encode_column(const sl_ch_codec *codec, const char *name, const char *type,
                        const sl_column *c, int64_t from, int64_t to, sl_buf *out, sl_error *err)
{
	sl_ch_put_string(out, name, strlen(name));
	sl_ch_put_string(out, type, strlen(type));
	if (codec->kind == SL_CH_STRING &&
	    (c->field->type == SL_TYPE_DECIMAL128 || c->field->type == SL_TYPE_DECIMAL256)) {
		/* a decimal too wide for the server's Decimal: its exact text */
		if (codec->nullable)
			for (int64_t i = from; i < to; i++)
				sl_buf_putc(out, sl_col_is_valid(c, i) ? 0 : 1);
		int w = c->field->type == SL_TYPE_DECIMAL128 ? 16 : 32;
		for (int64_t i = from; i < to; i++) {
			char t[96] = "";
			if (sl_col_is_valid(c, i))
				sl_decimal_to_text(c->values.data + i * w, w, c->field->scale, t);
			sl_ch_put_string(out, t, strlen(t));
		}
		return 0;
	}
	if (codec->nullable)
		for (int64_t i = from; i < to; i++)
			sl_buf_putc(out, sl_col_is_valid(c, i) ? 0 : 1);
	return ch_values(codec, c, from, to, out, err);
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
