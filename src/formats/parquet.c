/* Parquet writer (see parquet.h). Section names in comments are those of parquet-format. */
#include "formats/parquet.h"

#include <math.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "core/mem.h"
#include "formats/decimal.h"
#include "formats/thrift.h"

/* parquet.thrift enums */
enum {
	PT_BOOLEAN = 0,
	PT_INT32 = 1,
	PT_INT64 = 2,
	PT_FLOAT = 4,
	PT_DOUBLE = 5,
	PT_BYTE_ARRAY = 6,
	PT_FLBA = 7
};
enum { REP_REQUIRED = 0, REP_OPTIONAL = 1, REP_REPEATED = 2 };
enum { ENC_PLAIN = 0, ENC_RLE = 3, ENC_RLE_DICTIONARY = 8 };
enum { PAGE_DATA = 0, PAGE_DICTIONARY = 2, PAGE_DATA_V2 = 3 };
enum {
	CT_UTF8 = 0,
	CT_LIST = 3,
	CT_DECIMAL = 5,
	CT_DATE = 6,
	CT_TIME_MILLIS = 7,
	CT_TIME_MICROS = 8,
	CT_TIMESTAMP_MILLIS = 9,
	CT_TIMESTAMP_MICROS = 10,
	CT_UINT_8 = 11,
	CT_INT_8 = 15,
	CT_JSON = 19
};
/* LogicalType union members */
enum {
	LT_STRING = 1,
	LT_LIST = 3,
	LT_DECIMAL = 5,
	LT_DATE = 6,
	LT_TIME = 7,
	LT_TIMESTAMP = 8,
	LT_INTEGER = 10,
	LT_JSON = 12
};

/* How a value travels from its Arrow column into its Parquet column. */
typedef enum pq_kind {
	PK_BOOL,
	PK_I8,
	PK_I16,
	PK_U8,
	PK_U16,
	PK_4, /* 4 bytes as they are: int32, uint32, float32, date32, time32(ms) */
	PK_8, /* 8 bytes as they are: int64, uint64, float64, time64, timestamp(ms/us/ns), date64 */
	PK_F16,  /* → float */
	PK_S_MS, /* time32(s) → int32 ms */
	PK_TS_S, /* timestamp(s) → int64 ms */
	PK_DEC4, /* decimal p ≤ 9: the low 4 bytes */
	PK_DEC8, /* p ≤ 18: the low 8 */
	PK_DECN, /* p ≤ 38: the low type_length bytes, big-endian */
	PK_DECTEXT,
	PK_INTERVAL,
	PK_BYTES,
	PK_FIXED,
} pq_kind;

/* The order statistics follow (parquet.thrift, ColumnOrder: TypeDefinedOrder). */
typedef enum pq_order {
	PO_NONE, /* no min/max (a decimal's text) */
	PO_BOOL,
	PO_I32,
	PO_U32,
	PO_I64,
	PO_U64,
	PO_FLOAT,
	PO_DOUBLE,
	PO_BYTES,  /* unsigned lexicographic */
	PO_DEC_BE, /* signed big-endian two's complement */
} pq_order;

#define PQ_STAT_MAX 64 /* byte-array min/max beyond this are truncated (marked inexact) */

/* What the footer needs of one written column chunk. */
typedef struct pq_chunk_meta {
	int64_t num_values, unc, comp, data_off, dict_off; /* dict_off -1: none */
	bool enc_plain, enc_dict;
	int64_t nulls;
	bool has_minmax, min_exact, max_exact;
	uint8_t *min, *max;
	size_t nmin, nmax;
} pq_chunk_meta;

typedef struct pq_col {
	const sl_field *field; /* the top-level field */
	const sl_field *leaf;  /* the value's field (a list's element) */
	bool list;
	pq_kind kind;
	pq_order order;
	int ptype, type_length, width; /* width: bytes per Arrow value of fixed kinds */
	int max_def, max_rep;

	/* the open page */
	uint32_t *def, *rep;
	size_t nlevels, cap_levels;
	sl_buf values; /* PLAIN values (booleans: one byte each until the page is written) */
	uint32_t *idx; /* dictionary indexes */
	size_t nidx, cap_idx;
	int64_t page_rows, page_nulls;

	/* the chunk's dictionary */
	bool dict_on, dict_used;
	sl_buf dict;        /* PLAIN-encoded entries */
	uint32_t *dent_off; /* entry i's value bytes: dict.data + dent_off[i], dent_len[i] long */
	uint32_t *dent_len;
	uint32_t ndict, cap_dict;
	uint32_t *slots; /* open addressing: entry + 1, 0 empty */
	uint32_t nslots;

	/* the chunk's data pages and what the footer will say of them */
	sl_buf chunk;
	int64_t chunk_values, chunk_unc;
	bool enc_plain, enc_dict;
	int64_t nulls;
	bool has_minmax;
	sl_buf smin, smax;
} pq_col;

struct sl_pq_writer {
	const sl_field *fields;
	int nfields;
	pq_col *cols;
	sl_pq_options o;
	sl_pq_sink sink;
	void *ctx;
	int64_t offset; /* bytes handed to the sink */
	int64_t rows, rg_rows;
	sl_buf page, comp, hdr; /* scratch */
	ZSTD_CCtx *zstd;
	/* row groups written: rg_meta[g * nfields + c] */
	pq_chunk_meta *rg_meta;
	int64_t *rg_rows_of, *rg_offset;
	int nrg, cap_rg;
	bool failed, finished;
};

static const uint8_t pq_magic[4] = {'P', 'A', 'R', '1'};

/* ---- RLE / bit-packed hybrid (Encodings.md) ---- */

int sl_pq_bit_width(uint32_t max)
{
	int bw = 0;
	while (max) {
		bw++;
		max >>= 1;
	}
	return bw;
}

static void pq_varint(sl_buf *out, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		sl_buf_putc(out, (char)(b | (v ? 0x80 : 0)));
	} while (v);
}

static void pq_bitpack(sl_buf *out, const uint32_t *v, size_t n, size_t groups, int bw)
{
	size_t nbytes = groups * (size_t)bw; /* 8 values of bw bits: bw bytes */
	uint8_t *p = sl_buf_reserve(out, nbytes);
	memset(p, 0, nbytes);
	uint64_t bit = 0;
	for (size_t i = 0; i < n; i++, bit += (uint64_t)bw)
		for (int b = 0; b < bw; b++)
			if ((v[i] >> b) & 1)
				p[(bit + (uint64_t)b) >> 3] |=
				        (uint8_t)(1u << ((bit + (uint64_t)b) & 7));
	out->len += nbytes;
}

void sl_pq_rle_encode(sl_buf *out, const uint32_t *v, size_t n, int bw)
{
	size_t i = 0, vbytes = (size_t)(bw + 7) / 8;
	while (i < n) {
		size_t run = 1;
		while (i + run < n && v[i + run] == v[i])
			run++;
		if (run >= 8) {
			pq_varint(out, (uint64_t)run << 1);
			uint32_t x = v[i];
			for (size_t b = 0; b < vbytes; b++)
				sl_buf_putc(out, (char)((x >> (8 * b)) & 0xff));
			i += run;
			continue;
		}
		/* bit-pack groups of 8 until a run of 8 starts at a group's boundary; only the last
		 * group may be short (the reader knows the count) */
		size_t start = i, groups = 0;
		do {
			i = i + 8 < n ? i + 8 : n;
			groups++;
			run = 1;
			while (i < n && i + run < n && v[i + run] == v[i] && run < 8)
				run++;
		} while (i < n && run < 8);
		pq_varint(out, ((uint64_t)groups << 1) | 1);
		pq_bitpack(out, v + start, i - start, groups, bw);
	}
}

int sl_pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *v, size_t n)
{
	const uint8_t *end = p + len;
	size_t vbytes = (size_t)(bw + 7) / 8, got = 0;
	if (bw < 0 || bw > 32)
		return -1;
	while (got < n) {
		uint64_t h = 0;
		for (int shift = 0;; shift += 7) {
			if (p >= end || shift > 63)
				return -1;
			uint8_t b = *p++;
			h |= (uint64_t)(b & 0x7f) << shift;
			if (!(b & 0x80))
				break;
		}
		if (h & 1) {
			uint64_t groups = h >> 1, avail = (uint64_t)(end - p);
			if (bw > 0 && groups > avail / (uint64_t)bw)
				return -1;
			/* values past n are the last group's padding */
			uint64_t count = groups >= (n - got + 7) / 8 ? n - got : groups * 8;
			for (uint64_t k = 0; k < count; k++) {
				uint32_t x = 0;
				for (int b = 0; b < bw; b++) {
					uint64_t bit = k * (uint64_t)bw + (uint64_t)b;
					x |= (uint32_t)((p[bit >> 3] >> (bit & 7)) & 1) << b;
				}
				v[got++] = x;
			}
			p += groups * (uint64_t)bw;
		} else {
			uint64_t count = h >> 1;
			if ((size_t)(end - p) < vbytes)
				return -1;
			uint32_t x = 0;
			for (size_t b = 0; b < vbytes; b++)
				x |= (uint32_t)p[b] << (8 * b);
			p += vbytes;
			if (count == 0 || count > n - got)
				return -1;
			for (uint64_t k = 0; k < count; k++)
				v[got++] = x;
		}
	}
	return 0;
}

/* ---- schema ---- */

/* Bytes of a FIXED_LEN_BYTE_ARRAY decimal of precision p: the fewest n with
 * floor(log10(2^(8n-1) - 1)) ≥ p (LogicalTypes.md, DECIMAL). */
static int pq_decimal_bytes(int p)
{
	static const int digits[] = {0, 2, 4, 6, 9, 11, 14, 16, 18, 21, 23, 26, 28, 31, 33, 35, 38};
	for (int n = 1; n <= 16; n++)
		if (digits[n] >= p)
			return n;
	return 0;
}

static int pq_col_plan(pq_col *c, const sl_field *top, sl_error *err)
{
	const sl_field *f = top;
	c->field = top;
	c->max_def = top->nullable ? 1 : 0;
	if (top->type == SL_TYPE_LIST) {
		f = top->child;
		if (f == NULL || f->type == SL_TYPE_LIST)
			return sl_error_set(
			        err, SL_ERR_DATA,
			        "column \"%s\": a list of lists has no Parquet form here",
			        top->name);
		c->list = true;
		c->max_rep = 1;
		c->max_def += 1 + (f->nullable ? 1 : 0);
	}
	c->leaf = f;
	switch (f->type) {
	case SL_TYPE_NA: /* no values: an INT32 column of nulls */
	case SL_TYPE_INT32:
	case SL_TYPE_DATE32:
		c->kind = PK_4, c->ptype = PT_INT32, c->order = PO_I32, c->width = 4;
		break;
	case SL_TYPE_BOOL:
		c->kind = PK_BOOL, c->ptype = PT_BOOLEAN, c->order = PO_BOOL;
		break;
	case SL_TYPE_INT8:
		c->kind = PK_I8, c->ptype = PT_INT32, c->order = PO_I32, c->width = 1;
		break;
	case SL_TYPE_INT16:
		c->kind = PK_I16, c->ptype = PT_INT32, c->order = PO_I32, c->width = 2;
		break;
	case SL_TYPE_UINT8:
		c->kind = PK_U8, c->ptype = PT_INT32, c->order = PO_I32, c->width = 1;
		break;
	case SL_TYPE_UINT16:
		c->kind = PK_U16, c->ptype = PT_INT32, c->order = PO_I32, c->width = 2;
		break;
	case SL_TYPE_UINT32:
		c->kind = PK_4, c->ptype = PT_INT32, c->order = PO_U32, c->width = 4;
		break;
	case SL_TYPE_INT64:
	case SL_TYPE_DATE64:
		c->kind = PK_8, c->ptype = PT_INT64, c->order = PO_I64, c->width = 8;
		break;
	case SL_TYPE_UINT64:
		c->kind = PK_8, c->ptype = PT_INT64, c->order = PO_U64, c->width = 8;
		break;
	case SL_TYPE_FLOAT16:
		c->kind = PK_F16, c->ptype = PT_FLOAT, c->order = PO_FLOAT, c->width = 2;
		break;
	case SL_TYPE_FLOAT32:
		c->kind = PK_4, c->ptype = PT_FLOAT, c->order = PO_FLOAT, c->width = 4;
		break;
	case SL_TYPE_FLOAT64:
		c->kind = PK_8, c->ptype = PT_DOUBLE, c->order = PO_DOUBLE, c->width = 8;
		break;
	case SL_TYPE_TIME32:
		c->kind = f->unit == SL_UNIT_S ? PK_S_MS : PK_4;
		c->ptype = PT_INT32, c->order = PO_I32, c->width = 4;
		break;
	case SL_TYPE_TIME64:
		c->kind = PK_8, c->ptype = PT_INT64, c->order = PO_I64, c->width = 8;
		break;
	case SL_TYPE_TIMESTAMP:
		c->kind = f->unit == SL_UNIT_S ? PK_TS_S : PK_8;
		c->ptype = PT_INT64, c->order = PO_I64, c->width = 8;
		break;
	case SL_TYPE_DECIMAL128:
	case SL_TYPE_DECIMAL256:
		c->width = f->type == SL_TYPE_DECIMAL128 ? 16 : 32;
		if (f->precision <= 9) {
			c->kind = PK_DEC4, c->ptype = PT_INT32, c->order = PO_I32;
		} else if (f->precision <= 18) {
			c->kind = PK_DEC8, c->ptype = PT_INT64, c->order = PO_I64;
		} else if (f->precision <= 38) {
			c->kind = PK_DECN, c->ptype = PT_FLBA, c->order = PO_DEC_BE;
			c->type_length = pq_decimal_bytes(f->precision);
		} else {
			c->kind = PK_DECTEXT, c->ptype = PT_BYTE_ARRAY, c->order = PO_NONE;
		}
		break;
	case SL_TYPE_INTERVAL_DT:
		/* Parquet's INTERVAL holds three unsigned numbers: no negative interval fits
		 * (DuckDB refuses to write one), so the exact total milliseconds go as INT64 */
		c->kind = PK_INTERVAL, c->ptype = PT_INT64, c->order = PO_I64, c->width = 8;
		break;
	case SL_TYPE_UTF8:
	case SL_TYPE_LARGE_UTF8:
	case SL_TYPE_BINARY:
	case SL_TYPE_LARGE_BINARY:
		c->kind = PK_BYTES, c->ptype = PT_BYTE_ARRAY, c->order = PO_BYTES;
		break;
	case SL_TYPE_FIXED_BINARY:
		c->kind = PK_FIXED, c->ptype = PT_FLBA, c->order = PO_BYTES;
		c->width = c->type_length = f->byte_width;
		break;
	default:
		return sl_error_set(err, SL_ERR_DATA, "column \"%s\": type %d has no Parquet form",
		                    top->name, (int)f->type);
	}
	/* a dictionary of booleans saves nothing */
	c->dict_on = c->ptype != PT_BOOLEAN;
	return 0;
}

static void pq_unit(sl_tc_writer *t, sl_time_unit u)
{
	sl_tc_field(t, 2, SL_TC_STRUCT); /* unit: TimeUnit */
	sl_tc_begin(t);
	sl_tc_empty(t, u == SL_UNIT_NS ? 3 : u == SL_UNIT_US ? 2 : 1);
	sl_tc_end(t);
}

/* The SchemaElement of a leaf (parquet.thrift SchemaElement; LogicalTypes.md). */
static void pq_leaf_element(sl_tc_writer *t, const pq_col *c, const char *name, int repetition)
{
	const sl_field *f = c->leaf;
	int converted = -1, lt = 0;
	sl_tc_begin(t);
	sl_tc_i32(t, 1, c->ptype);
	if (c->ptype == PT_FLBA)
		sl_tc_i32(t, 2, c->type_length);
	sl_tc_i32(t, 3, repetition);
	sl_tc_string(t, 4, name);
	bool json = f->ext_name && strcmp(f->ext_name, "arrow.json") == 0;
	bool text =
	        f->type == SL_TYPE_UTF8 || f->type == SL_TYPE_LARGE_UTF8 || c->kind == PK_DECTEXT;
	bool dec = (f->type == SL_TYPE_DECIMAL128 || f->type == SL_TYPE_DECIMAL256) &&
	           c->kind != PK_DECTEXT;
	switch (f->type) {
	case SL_TYPE_INT8:
	case SL_TYPE_INT16:
	case SL_TYPE_UINT8:
	case SL_TYPE_UINT16:
	case SL_TYPE_UINT32:
	case SL_TYPE_UINT64: {
		bool sgn = f->type == SL_TYPE_INT8 || f->type == SL_TYPE_INT16;
		int bits = f->type == SL_TYPE_INT8 || f->type == SL_TYPE_UINT8     ? 8
		           : f->type == SL_TYPE_INT16 || f->type == SL_TYPE_UINT16 ? 16
		           : f->type == SL_TYPE_UINT32                             ? 32
		                                                                   : 64;
		/* INT_8.. = 15.., UINT_8.. = 11.. in steps of one per width */
		int step = bits == 8 ? 0 : bits == 16 ? 1 : bits == 32 ? 2 : 3;
		converted = (sgn ? CT_INT_8 : CT_UINT_8) + step;
		lt = LT_INTEGER;
		break;
	}
	case SL_TYPE_DATE32:
		converted = CT_DATE, lt = LT_DATE;
		break;
	case SL_TYPE_TIME32:
		converted = CT_TIME_MILLIS, lt = LT_TIME;
		break;
	case SL_TYPE_TIME64:
		converted = f->unit == SL_UNIT_US ? CT_TIME_MICROS : -1, lt = LT_TIME;
		break;
	case SL_TYPE_TIMESTAMP:
	case SL_TYPE_DATE64:
		/* the converted types mean instants (UTC-adjusted): only those get one */
		if (f->type == SL_TYPE_TIMESTAMP && f->tz && f->unit != SL_UNIT_NS)
			converted =
			        f->unit == SL_UNIT_US ? CT_TIMESTAMP_MICROS : CT_TIMESTAMP_MILLIS;
		lt = LT_TIMESTAMP;
		break;
	default:
		break;
	}
	if (text)
		converted = json ? CT_JSON : CT_UTF8, lt = json ? LT_JSON : LT_STRING;
	if (dec)
		converted = CT_DECIMAL, lt = LT_DECIMAL;
	if (converted >= 0)
		sl_tc_i32(t, 6, converted);
	if (dec) {
		sl_tc_i32(t, 7, f->scale);
		sl_tc_i32(t, 8, f->precision);
	}
	if (lt) {
		sl_tc_field(t, 10, SL_TC_STRUCT);
		sl_tc_begin(t);
		switch (lt) {
		case LT_DECIMAL:
			sl_tc_field(t, LT_DECIMAL, SL_TC_STRUCT);
			sl_tc_begin(t);
			sl_tc_i32(t, 1, f->scale);
			sl_tc_i32(t, 2, f->precision);
			sl_tc_end(t);
			break;
		case LT_TIME:
		case LT_TIMESTAMP:
			sl_tc_field(t, (int16_t)lt, SL_TC_STRUCT);
			sl_tc_begin(t);
			sl_tc_bool(t, 1, f->type == SL_TYPE_TIMESTAMP && f->tz != NULL);
			pq_unit(t, f->type == SL_TYPE_DATE64 || f->unit == SL_UNIT_S ? SL_UNIT_MS
			                                                             : f->unit);
			sl_tc_end(t);
			break;
		case LT_INTEGER: {
			bool sgn = f->type == SL_TYPE_INT8 || f->type == SL_TYPE_INT16;
			int bits = f->type == SL_TYPE_INT8 || f->type == SL_TYPE_UINT8     ? 8
			           : f->type == SL_TYPE_INT16 || f->type == SL_TYPE_UINT16 ? 16
			           : f->type == SL_TYPE_UINT32                             ? 32
			                                                                   : 64;
			sl_tc_field(t, LT_INTEGER, SL_TC_STRUCT);
			sl_tc_begin(t);
			sl_tc_byte(t, 1, (int8_t)bits);
			sl_tc_bool(t, 2, sgn);
			sl_tc_end(t);
			break;
		}
		default:
			sl_tc_empty(t, (int16_t)lt);
		}
		sl_tc_end(t);
	}
	sl_tc_end(t);
}

/* ---- values ---- */

static float pq_half_to_float(uint16_t h)
{
	int e = (h >> 10) & 0x1f, m = h & 0x3ff;
	float v;
	if (e == 0)
		v = ldexpf((float)m, -24);
	else if (e == 31)
		v = m ? NAN : INFINITY;
	else
		v = ldexpf((float)(m | 0x400), e - 25);
	return (h & 0x8000) ? -v : v;
}

/* Value i of column `col` as its PLAIN bytes (byte arrays without their length). Returns false
 * for a value that lands as NULL (a decimal's NaN/Infinity). */
static bool pq_value(const pq_col *c, const sl_column *col, int64_t i, uint8_t *tmp,
                     const uint8_t **p, size_t *n)
{
	const uint8_t *v = col->values.data + (c->width ? i * c->width : 0);
	switch (c->kind) {
	case PK_BOOL:
		tmp[0] = (col->values.data[i >> 3] >> (i & 7)) & 1;
		*p = tmp, *n = 1;
		return true;
	case PK_I8: {
		int32_t x = (int8_t)v[0];
		memcpy(tmp, &x, 4);
		break;
	}
	case PK_I16: {
		int16_t s;
		memcpy(&s, v, 2);
		int32_t x = s;
		memcpy(tmp, &x, 4);
		break;
	}
	case PK_U8: {
		int32_t x = v[0];
		memcpy(tmp, &x, 4);
		break;
	}
	case PK_U16: {
		uint16_t s;
		memcpy(&s, v, 2);
		int32_t x = s;
		memcpy(tmp, &x, 4);
		break;
	}
	case PK_4:
	case PK_8:
		*p = v, *n = (size_t)c->width;
		return true;
	case PK_F16: {
		uint16_t h;
		memcpy(&h, v, 2);
		float x = pq_half_to_float(h);
		memcpy(tmp, &x, 4);
		break;
	}
	case PK_S_MS: {
		int32_t x;
		memcpy(&x, v, 4);
		x *= 1000; /* seconds in a day: fits */
		memcpy(tmp, &x, 4);
		break;
	}
	case PK_TS_S: {
		int64_t x;
		memcpy(&x, v, 8);
		if (x != INT64_MAX && x != INT64_MIN) /* the infinity sentinels stay */
			x = x > INT64_MAX / 1000   ? INT64_MAX
			    : x < INT64_MIN / 1000 ? INT64_MIN
			                           : x * 1000;
		memcpy(tmp, &x, 8);
		*p = tmp, *n = 8;
		return true;
	}
	case PK_DEC4:
	case PK_DEC8:
	case PK_DECN:
	case PK_DECTEXT:
		if (c->leaf->specials && sl_decimal_special_of(v, c->width) != SL_DECIMAL_FINITE)
			return false;
		if (c->kind == PK_DEC4) {
			memcpy(tmp, v, 4);
			break;
		}
		if (c->kind == PK_DEC8) {
			memcpy(tmp, v, 8);
			*p = tmp, *n = 8;
			return true;
		}
		if (c->kind == PK_DECN) {
			for (int k = 0; k < c->type_length; k++)
				tmp[k] = v[c->type_length - 1 - k];
			*p = tmp, *n = (size_t)c->type_length;
			return true;
		}
		*n = (size_t)sl_decimal_to_text(v, c->width, c->leaf->scale, (char *)tmp);
		*p = tmp;
		return true;
	case PK_INTERVAL: {
		sl_interval_dt iv;
		memcpy(&iv, v, 8);
		int64_t ms = sl_interval_dt_to_ms(iv);
		memcpy(tmp, &ms, 8);
		*p = tmp, *n = 8;
		return true;
	}
	case PK_BYTES: {
		int32_t len;
		*p = sl_col_bytes(col, i, &len);
		*n = (size_t)len;
		return true;
	}
	case PK_FIXED:
		*p = v, *n = (size_t)c->width;
		return true;
	}
	*p = tmp, *n = 4;
	return true;
}

/* ---- statistics ---- */

static int pq_cmp(pq_order o, const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	switch (o) {
	case PO_BOOL:
		return (int)a[0] - (int)b[0];
	case PO_I32: {
		int32_t x, y;
		memcpy(&x, a, 4), memcpy(&y, b, 4);
		return (x > y) - (x < y);
	}
	case PO_U32: {
		uint32_t x, y;
		memcpy(&x, a, 4), memcpy(&y, b, 4);
		return (x > y) - (x < y);
	}
	case PO_I64: {
		int64_t x, y;
		memcpy(&x, a, 8), memcpy(&y, b, 8);
		return (x > y) - (x < y);
	}
	case PO_U64: {
		uint64_t x, y;
		memcpy(&x, a, 8), memcpy(&y, b, 8);
		return (x > y) - (x < y);
	}
	case PO_FLOAT: {
		float x, y;
		memcpy(&x, a, 4), memcpy(&y, b, 4);
		return (x > y) - (x < y);
	}
	case PO_DOUBLE: {
		double x, y;
		memcpy(&x, a, 8), memcpy(&y, b, 8);
		return (x > y) - (x < y);
	}
	case PO_DEC_BE:
		if ((a[0] ^ b[0]) & 0x80) /* signs differ */
			return (a[0] & 0x80) ? -1 : 1;
		return memcmp(a, b, na); /* same width */
	case PO_BYTES: {
		size_t m = na < nb ? na : nb; /* an empty minimum may have no buffer at all */
		int r = m ? memcmp(a, b, m) : 0;
		return r ? r : (na > nb) - (na < nb);
	}
	case PO_NONE:
		break;
	}
	return 0;
}

static void pq_stat(pq_col *c, const uint8_t *p, size_t n)
{
	if (c->order == PO_NONE)
		return;
	if (c->order == PO_FLOAT || c->order == PO_DOUBLE) {
		double d;
		if (c->order == PO_FLOAT) {
			float x;
			memcpy(&x, p, 4);
			d = x;
		} else {
			memcpy(&d, p, 8);
		}
		if (isnan(d)) /* NaN stays out of min/max (parquet.thrift, ColumnOrder) */
			return;
	}
	if (!c->has_minmax) {
		sl_buf_reset(&c->smin), sl_buf_reset(&c->smax);
		/* never NULL, even for an empty first value (memcpy and memcmp read them) */
		sl_buf_reserve(&c->smin, 1), sl_buf_reserve(&c->smax, 1);
		sl_buf_append(&c->smin, p, n), sl_buf_append(&c->smax, p, n);
		c->has_minmax = true;
		return;
	}
	if (pq_cmp(c->order, p, n, c->smin.data, c->smin.len) < 0) {
		sl_buf_reset(&c->smin);
		sl_buf_append(&c->smin, p, n);
	}
	if (pq_cmp(c->order, p, n, c->smax.data, c->smax.len) > 0) {
		sl_buf_reset(&c->smax);
		sl_buf_append(&c->smax, p, n);
	}
}

/* ---- pages ---- */

static void pq_level(pq_col *c, uint32_t def, uint32_t rep)
{
	if (c->nlevels == c->cap_levels) {
		c->cap_levels = c->cap_levels ? c->cap_levels * 2 : 1024;
		c->def = sl_realloc(c->def, c->cap_levels * sizeof *c->def);
		c->rep = sl_realloc(c->rep, c->cap_levels * sizeof *c->rep);
	}
	c->def[c->nlevels] = def;
	c->rep[c->nlevels] = rep;
	c->nlevels++;
	if (def < (uint32_t)c->max_def)
		c->page_nulls++;
}

static uint64_t pq_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static void pq_dict_rehash(pq_col *c)
{
	free(c->slots);
	c->nslots = c->nslots ? c->nslots * 2 : 1024;
	c->slots = sl_calloc(c->nslots, sizeof *c->slots);
	for (uint32_t e = 0; e < c->ndict; e++) {
		uint64_t h = pq_hash(c->dict.data + c->dent_off[e], c->dent_len[e]);
		uint32_t s = (uint32_t)h & (c->nslots - 1);
		while (c->slots[s])
			s = (s + 1) & (c->nslots - 1);
		c->slots[s] = e + 1;
	}
}

/* The dictionary index of value p[0..n), added when new. */
static uint32_t pq_dict_index(pq_col *c, const uint8_t *p, size_t n)
{
	if ((c->ndict + 1) * 2 > c->nslots)
		pq_dict_rehash(c);
	uint32_t s = (uint32_t)pq_hash(p, n) & (c->nslots - 1);
	for (; c->slots[s]; s = (s + 1) & (c->nslots - 1)) {
		uint32_t e = c->slots[s] - 1;
		if (c->dent_len[e] == n && memcmp(c->dict.data + c->dent_off[e], p, n) == 0)
			return e;
	}
	if (c->ndict == c->cap_dict) {
		c->cap_dict = c->cap_dict ? c->cap_dict * 2 : 1024;
		c->dent_off = sl_realloc(c->dent_off, c->cap_dict * sizeof *c->dent_off);
		c->dent_len = sl_realloc(c->dent_len, c->cap_dict * sizeof *c->dent_len);
	}
	if (c->ptype == PT_BYTE_ARRAY) {
		uint32_t len = (uint32_t)n;
		sl_buf_append(&c->dict, &len, 4);
	}
	c->dent_off[c->ndict] = (uint32_t)c->dict.len;
	c->dent_len[c->ndict] = (uint32_t)n;
	sl_buf_append(&c->dict, p, n);
	c->slots[s] = c->ndict + 1;
	return c->ndict++;
}

static void pq_put(pq_col *c, const uint8_t *p, size_t n)
{
	pq_stat(c, p, n);
	if (c->dict_on) {
		if (c->nidx == c->cap_idx) {
			c->cap_idx = c->cap_idx ? c->cap_idx * 2 : 1024;
			c->idx = sl_realloc(c->idx, c->cap_idx * sizeof *c->idx);
		}
		c->idx[c->nidx++] = pq_dict_index(c, p, n);
		return;
	}
	if (c->ptype == PT_BYTE_ARRAY) {
		uint32_t len = (uint32_t)n;
		sl_buf_append(&c->values, &len, 4);
	}
	sl_buf_append(&c->values, p, n);
}

/* Compress src[0..n) with the writer's codec into w->comp (reset first). */
static int pq_compress(sl_pq_writer *w, const uint8_t *src, size_t n, sl_error *err)
{
	sl_buf_reset(&w->comp);
	switch (w->o.codec) {
	case SL_PQ_UNCOMPRESSED:
		sl_buf_append(&w->comp, src, n);
		return 0;
	case SL_PQ_SNAPPY: {
		size_t cap = snappy_max_compressed_length(n);
		char *dst = (char *)sl_buf_reserve(&w->comp, cap);
		if (snappy_compress((const char *)src, n, dst, &cap) != SNAPPY_OK)
			return sl_error_set(err, SL_ERR_INTERNAL,
			                    "snappy could not compress a page");
		w->comp.len = cap;
		return 0;
	}
	case SL_PQ_ZSTD: {
		size_t cap = ZSTD_compressBound(n);
		void *dst = sl_buf_reserve(&w->comp, cap);
		size_t r = ZSTD_compressCCtx(w->zstd, dst, cap, src, n,
		                             w->o.zstd_level ? w->o.zstd_level : 3);
		if (ZSTD_isError(r))
			return sl_error_set(err, SL_ERR_INTERNAL,
			                    "zstd could not compress a page: %s",
			                    ZSTD_getErrorName(r));
		w->comp.len = r;
		return 0;
	}
	}
	return sl_error_set(err, SL_ERR_INTERNAL, "unknown Parquet codec %d", (int)w->o.codec);
}

static void pq_levels(sl_buf *out, const uint32_t *v, size_t n, int max, bool prefix)
{
	size_t at = out->len;
	if (prefix)
		sl_buf_append(out, "\0\0\0\0", 4);
	sl_pq_rle_encode(out, v, n, sl_pq_bit_width((uint32_t)max));
	if (prefix) {
		uint32_t len = (uint32_t)(out->len - at - 4);
		memcpy(out->data + at, &len, 4);
	}
}

/* The values section of the open page into out. */
static void pq_page_values(const pq_col *c, sl_buf *out)
{
	if (c->dict_on) {
		int bw = sl_pq_bit_width(c->ndict ? c->ndict - 1 : 0);
		sl_buf_putc(out, (char)bw);
		sl_pq_rle_encode(out, c->idx, c->nidx, bw);
	} else if (c->ptype == PT_BOOLEAN) {
		size_t nb = (c->values.len + 7) / 8;
		uint8_t *p = sl_buf_reserve(out, nb);
		memset(p, 0, nb);
		for (size_t i = 0; i < c->values.len; i++)
			p[i >> 3] |= (uint8_t)(c->values.data[i] << (i & 7));
		out->len += nb;
	} else {
		sl_buf_append(out, c->values.data, c->values.len);
	}
}

/* The chunk's first page is written: a dictionary holding more than half of its values (a key,
 * a timestamp) costs more than it saves, so the page goes PLAIN and so does the rest of the
 * chunk. */
static void pq_dict_give_up(pq_col *c)
{
	for (size_t i = 0; i < c->nidx; i++) {
		uint32_t e = c->idx[i];
		if (c->ptype == PT_BYTE_ARRAY)
			sl_buf_append(&c->values, &c->dent_len[e], 4);
		sl_buf_append(&c->values, c->dict.data + c->dent_off[e], c->dent_len[e]);
	}
	c->nidx = 0;
	sl_buf_reset(&c->dict);
	c->ndict = 0;
	if (c->slots)
		memset(c->slots, 0, c->nslots * sizeof *c->slots);
	c->dict_on = false;
}

static int pq_flush_page(sl_pq_writer *w, pq_col *c, sl_error *err)
{
	if (c->nlevels == 0)
		return 0;
	if (c->dict_on && !c->dict_used && (uint64_t)c->ndict * 2 > c->nidx)
		pq_dict_give_up(c);
	sl_buf *body = &w->page;
	sl_buf_reset(body);
	bool v2 = w->o.page_version == 2;
	size_t rep_len = 0, def_len = 0;
	if (c->max_rep) {
		pq_levels(body, c->rep, c->nlevels, c->max_rep, !v2);
		rep_len = body->len;
	}
	if (c->max_def) {
		pq_levels(body, c->def, c->nlevels, c->max_def, !v2);
		def_len = body->len - rep_len;
	}
	size_t levels = body->len;
	pq_page_values(c, body);
	size_t unc = body->len;
	/* v1: the whole body is compressed; v2: only the values */
	size_t from = v2 ? levels : 0;
	SL_TRY(pq_compress(w, body->data + from, body->len - from, err));
	if (v2) {
		body->len = levels;
		sl_buf_append(body, w->comp.data, w->comp.len);
	} else {
		sl_buf_reset(body);
		sl_buf_append(body, w->comp.data, w->comp.len);
	}
	int encoding = c->dict_on ? ENC_RLE_DICTIONARY : ENC_PLAIN;

	sl_tc_writer t;
	sl_buf_reset(&w->hdr);
	sl_tc_writer_init(&t, &w->hdr);
	sl_tc_begin(&t);
	sl_tc_i32(&t, 1, v2 ? PAGE_DATA_V2 : PAGE_DATA);
	sl_tc_i32(&t, 2, (int32_t)unc);
	sl_tc_i32(&t, 3, (int32_t)body->len);
	sl_tc_i32(&t, 4, (int32_t)crc32(0, body->data, (uInt)body->len));
	if (!v2) {
		sl_tc_field(&t, 5, SL_TC_STRUCT);
		sl_tc_begin(&t);
		sl_tc_i32(&t, 1, (int32_t)c->nlevels);
		sl_tc_i32(&t, 2, encoding);
		sl_tc_i32(&t, 3, ENC_RLE);
		sl_tc_i32(&t, 4, ENC_RLE);
		sl_tc_end(&t);
	} else {
		sl_tc_field(&t, 8, SL_TC_STRUCT);
		sl_tc_begin(&t);
		sl_tc_i32(&t, 1, (int32_t)c->nlevels);
		sl_tc_i32(&t, 2, (int32_t)c->page_nulls);
		sl_tc_i32(&t, 3, (int32_t)c->page_rows);
		sl_tc_i32(&t, 4, encoding);
		sl_tc_i32(&t, 5, (int32_t)def_len);
		sl_tc_i32(&t, 6, (int32_t)rep_len);
		sl_tc_bool(&t, 7, w->o.codec != SL_PQ_UNCOMPRESSED);
		sl_tc_end(&t);
	}
	sl_tc_end(&t);

	sl_buf_append(&c->chunk, w->hdr.data, w->hdr.len);
	sl_buf_append(&c->chunk, body->data, body->len);
	c->chunk_unc += (int64_t)(w->hdr.len + unc);
	c->chunk_values += (int64_t)c->nlevels;
	c->nulls += c->page_nulls;
	if (c->dict_on)
		c->enc_dict = c->dict_used = true;
	else
		c->enc_plain = true;
	c->nlevels = c->nidx = 0;
	c->page_rows = c->page_nulls = 0;
	sl_buf_reset(&c->values);
	return 0;
}

/* Encoded bytes of the open page, roughly (what page_bytes counts). */
static size_t pq_page_size(const pq_col *c)
{
	if (c->dict_on)
		return c->nidx * (size_t)sl_pq_bit_width(c->ndict) / 8 + c->nlevels / 4;
	return c->values.len + c->nlevels / 4;
}

/* At a row's end: cut the page when full; fall back to PLAIN when the dictionary is too big. */
static int pq_row_end(sl_pq_writer *w, pq_col *c, sl_error *err)
{
	c->page_rows++;
	if (c->dict_on && c->dict.len > w->o.dictionary_bytes) {
		SL_TRY(pq_flush_page(w, c, err));
		c->dict_on = false;
		return 0;
	}
	if (pq_page_size(c) >= w->o.page_bytes)
		return pq_flush_page(w, c, err);
	return 0;
}

/* ---- row groups and the footer ---- */

static int pq_emit(sl_pq_writer *w, const void *p, size_t n, sl_error *err)
{
	if (n == 0)
		return 0;
	int rc = w->sink(w->ctx, p, n, err);
	if (rc < 0)
		return rc;
	w->offset += (int64_t)n;
	return 0;
}

static void pq_chunk_stats(pq_col *c, pq_chunk_meta *m)
{
	m->nulls = c->nulls;
	m->has_minmax = c->has_minmax;
	if (!c->has_minmax)
		return;
	m->min_exact = m->max_exact = true;
	m->nmin = c->smin.len;
	m->nmax = c->smax.len;
	if (c->order == PO_BYTES && m->nmin > PQ_STAT_MAX) {
		m->nmin = PQ_STAT_MAX; /* a prefix is still a lower bound */
		m->min_exact = false;
	}
	m->min = sl_malloc(m->nmin ? m->nmin : 1);
	memcpy(m->min, c->smin.data, m->nmin);
	if (c->order == PO_BYTES && m->nmax > PQ_STAT_MAX) {
		/* an upper bound: the prefix with its last byte below 0xff raised by one */
		size_t k = PQ_STAT_MAX;
		while (k > 0 && c->smax.data[k - 1] == 0xff)
			k--;
		if (k == 0) {
			m->has_minmax = false; /* no short upper bound exists */
			free(m->min);
			m->min = NULL;
			return;
		}
		m->max = sl_malloc(k);
		memcpy(m->max, c->smax.data, k);
		m->max[k - 1]++;
		m->nmax = k;
		m->max_exact = false;
		return;
	}
	m->max = sl_malloc(m->nmax ? m->nmax : 1);
	memcpy(m->max, c->smax.data, m->nmax);
	/* -0.0 and +0.0: min is written as -0, max as +0 (parquet.thrift, ColumnOrder) */
	if (c->order == PO_FLOAT || c->order == PO_DOUBLE) {
		double lo, hi;
		if (c->order == PO_FLOAT) {
			float a, b;
			memcpy(&a, m->min, 4), memcpy(&b, m->max, 4);
			lo = a, hi = b;
			if (lo == 0) {
				a = -0.0f;
				memcpy(m->min, &a, 4);
			}
			if (hi == 0) {
				b = 0.0f;
				memcpy(m->max, &b, 4);
			}
		} else {
			memcpy(&lo, m->min, 8), memcpy(&hi, m->max, 8);
			if (lo == 0) {
				lo = -0.0;
				memcpy(m->min, &lo, 8);
			}
			if (hi == 0) {
				hi = 0.0;
				memcpy(m->max, &hi, 8);
			}
		}
	}
}

static int pq_flush_row_group(sl_pq_writer *w, sl_error *err)
{
	if (w->rg_rows == 0)
		return 0;
	if (w->nrg == w->cap_rg) {
		w->cap_rg = w->cap_rg ? w->cap_rg * 2 : 8;
		w->rg_meta = sl_realloc(w->rg_meta, (size_t)w->cap_rg * (size_t)w->nfields *
		                                            sizeof *w->rg_meta);
		w->rg_rows_of =
		        sl_realloc(w->rg_rows_of, (size_t)w->cap_rg * sizeof *w->rg_rows_of);
		w->rg_offset = sl_realloc(w->rg_offset, (size_t)w->cap_rg * sizeof *w->rg_offset);
	}
	pq_chunk_meta *metas = &w->rg_meta[(size_t)w->nrg * (size_t)w->nfields];
	memset(metas, 0, (size_t)w->nfields * sizeof *metas);
	w->rg_rows_of[w->nrg] = w->rg_rows;
	w->rg_offset[w->nrg] = w->offset;
	w->nrg++;
	for (int i = 0; i < w->nfields; i++) {
		pq_col *c = &w->cols[i];
		pq_chunk_meta *m = &metas[i];
		SL_TRY(pq_flush_page(w, c, err));
		m->dict_off = -1;
		int64_t start = w->offset, unc = c->chunk_unc;
		if (c->dict_used) {
			SL_TRY(pq_compress(w, c->dict.data, c->dict.len, err));
			sl_tc_writer t;
			sl_buf_reset(&w->hdr);
			sl_tc_writer_init(&t, &w->hdr);
			sl_tc_begin(&t);
			sl_tc_i32(&t, 1, PAGE_DICTIONARY);
			sl_tc_i32(&t, 2, (int32_t)c->dict.len);
			sl_tc_i32(&t, 3, (int32_t)w->comp.len);
			sl_tc_i32(&t, 4, (int32_t)crc32(0, w->comp.data, (uInt)w->comp.len));
			sl_tc_field(&t, 7, SL_TC_STRUCT);
			sl_tc_begin(&t);
			sl_tc_i32(&t, 1, (int32_t)c->ndict);
			sl_tc_i32(&t, 2, ENC_PLAIN);
			sl_tc_end(&t);
			sl_tc_end(&t);
			m->dict_off = w->offset;
			SL_TRY(pq_emit(w, w->hdr.data, w->hdr.len, err));
			SL_TRY(pq_emit(w, w->comp.data, w->comp.len, err));
			unc += (int64_t)(w->hdr.len + c->dict.len);
		}
		m->data_off = w->offset;
		SL_TRY(pq_emit(w, c->chunk.data, c->chunk.len, err));
		m->num_values = c->chunk_values;
		m->unc = unc;
		m->comp = w->offset - start;
		m->enc_plain = c->enc_plain;
		m->enc_dict = c->enc_dict;
		pq_chunk_stats(c, m);
		/* the next chunk starts afresh: its own dictionary and statistics */
		sl_buf_reset(&c->chunk);
		sl_buf_reset(&c->dict);
		c->ndict = 0;
		if (c->slots)
			memset(c->slots, 0, c->nslots * sizeof *c->slots);
		c->dict_on = c->ptype != PT_BOOLEAN && !w->o.no_dictionary;
		c->dict_used = c->enc_plain = c->enc_dict = c->has_minmax = false;
		c->chunk_values = c->chunk_unc = c->nulls = 0;
	}
	w->rg_rows = 0;
	return 0;
}

static void pq_write_stats(sl_tc_writer *t, const pq_chunk_meta *m)
{
	sl_tc_field(t, 12, SL_TC_STRUCT);
	sl_tc_begin(t);
	sl_tc_i64(t, 3, m->nulls);
	if (m->has_minmax) {
		sl_tc_binary(t, 5, m->max, m->nmax);
		sl_tc_binary(t, 6, m->min, m->nmin);
		sl_tc_bool(t, 7, m->max_exact);
		sl_tc_bool(t, 8, m->min_exact);
	}
	sl_tc_end(t);
}

static void pq_write_chunk(sl_tc_writer *t, const sl_pq_writer *w, const pq_col *c,
                           const pq_chunk_meta *m)
{
	sl_tc_begin(t);
	sl_tc_i64(t, 2, m->dict_off >= 0 ? m->dict_off : m->data_off);
	sl_tc_field(t, 3, SL_TC_STRUCT);
	sl_tc_begin(t);
	sl_tc_i32(t, 1, c->ptype);
	/* RLE for the levels; PLAIN for values or the dictionary page; RLE_DICTIONARY */
	sl_tc_list(t, 2, SL_TC_I32, m->enc_dict ? 3 : 2);
	sl_tc_elem_i32(t, ENC_RLE);
	sl_tc_elem_i32(t, ENC_PLAIN);
	if (m->enc_dict)
		sl_tc_elem_i32(t, ENC_RLE_DICTIONARY);
	sl_tc_list(t, 3, SL_TC_BINARY, c->list ? 3 : 1);
	sl_tc_elem_binary(t, c->field->name, strlen(c->field->name));
	if (c->list) {
		sl_tc_elem_binary(t, "list", 4);
		sl_tc_elem_binary(t, "element", 7);
	}
	sl_tc_i32(t, 4, w->o.codec);
	sl_tc_i64(t, 5, m->num_values);
	sl_tc_i64(t, 6, m->unc);
	sl_tc_i64(t, 7, m->comp);
	sl_tc_i64(t, 9, m->data_off);
	if (m->dict_off >= 0)
		sl_tc_i64(t, 11, m->dict_off);
	pq_write_stats(t, m);
	sl_tc_end(t);
	sl_tc_end(t);
}

static int pq_footer(sl_pq_writer *w, sl_error *err)
{
	sl_buf foot = {0};
	sl_tc_writer t;
	sl_tc_writer_init(&t, &foot);
	sl_tc_begin(&t);
	sl_tc_i32(&t, 1, w->o.page_version == 2 ? 2 : 1);
	int nelem = 1;
	for (int i = 0; i < w->nfields; i++)
		nelem += w->cols[i].list ? 3 : 1;
	sl_tc_list(&t, 2, SL_TC_STRUCT, (uint32_t)nelem);
	sl_tc_begin(&t);
	sl_tc_string(&t, 4, "schema");
	sl_tc_i32(&t, 5, w->nfields);
	sl_tc_end(&t);
	for (int i = 0; i < w->nfields; i++) {
		const pq_col *c = &w->cols[i];
		int rep = c->field->nullable ? REP_OPTIONAL : REP_REQUIRED;
		if (!c->list) {
			pq_leaf_element(&t, c, c->field->name, rep);
			continue;
		}
		/* LogicalTypes.md, Lists: <list-repetition> group <name> (LIST) { repeated group
		 * list { <element-repetition> <element-type> element; } } */
		sl_tc_begin(&t);
		sl_tc_i32(&t, 3, rep);
		sl_tc_string(&t, 4, c->field->name);
		sl_tc_i32(&t, 5, 1);
		sl_tc_i32(&t, 6, CT_LIST);
		sl_tc_field(&t, 10, SL_TC_STRUCT);
		sl_tc_begin(&t);
		sl_tc_empty(&t, LT_LIST);
		sl_tc_end(&t);
		sl_tc_end(&t);
		sl_tc_begin(&t);
		sl_tc_i32(&t, 3, REP_REPEATED);
		sl_tc_string(&t, 4, "list");
		sl_tc_i32(&t, 5, 1);
		sl_tc_end(&t);
		pq_leaf_element(&t, c, "element", c->leaf->nullable ? REP_OPTIONAL : REP_REQUIRED);
	}
	sl_tc_i64(&t, 3, w->rows);
	sl_tc_list(&t, 4, SL_TC_STRUCT, (uint32_t)w->nrg);
	for (int g = 0; g < w->nrg; g++) {
		const pq_chunk_meta *metas = &w->rg_meta[(size_t)g * (size_t)w->nfields];
		int64_t unc = 0, comp = 0;
		for (int i = 0; i < w->nfields; i++)
			unc += metas[i].unc, comp += metas[i].comp;
		sl_tc_begin(&t);
		sl_tc_list(&t, 1, SL_TC_STRUCT, (uint32_t)w->nfields);
		for (int i = 0; i < w->nfields; i++)
			pq_write_chunk(&t, w, &w->cols[i], &metas[i]);
		sl_tc_i64(&t, 2, unc);
		sl_tc_i64(&t, 3, w->rg_rows_of[g]);
		sl_tc_i64(&t, 5, w->rg_offset[g]);
		sl_tc_i64(&t, 6, comp);
		sl_tc_field(&t, 7, SL_TC_I16);
		sl_tc_varint(&t, ((uint64_t)g << 1)); /* ordinal, zigzag of a non-negative i16 */
		sl_tc_end(&t);
	}
	/* the exact Arrow type of each column's values, for readers of sluice's own files (the
	 * Parquet type alone cannot say "decimal(50, 5)" of a text column, or an interval) */
	sl_buf arrow = {0};
	for (int i = 0; i < w->nfields; i++) {
		char fmt[64];
		const sl_field *lf = w->cols[i].leaf;
		sl_buf_printf(&arrow, "%s\t%s\n", sl_field_format(lf, fmt, sizeof fmt),
		              lf->ext_name ? lf->ext_name : "");
	}
	sl_tc_list(&t, 5, SL_TC_STRUCT, 1);
	sl_tc_begin(&t);
	sl_tc_string(&t, 1, SL_PQ_ARROW_KEY);
	sl_tc_binary(&t, 2, arrow.data, arrow.len);
	sl_tc_end(&t);
	sl_buf_free(&arrow);
	sl_tc_string(&t, 6, w->o.created_by ? w->o.created_by : "sluice");
	int nleaves = w->nfields;
	sl_tc_list(&t, 7, SL_TC_STRUCT, (uint32_t)nleaves);
	for (int i = 0; i < nleaves; i++) {
		sl_tc_begin(&t);
		sl_tc_empty(&t, 1); /* TYPE_ORDER */
		sl_tc_end(&t);
	}
	sl_tc_end(&t);
	uint32_t len = (uint32_t)foot.len;
	int rc = pq_emit(w, foot.data, foot.len, err);
	if (rc == 0)
		rc = pq_emit(w, &len, 4, err);
	if (rc == 0)
		rc = pq_emit(w, pq_magic, 4, err);
	sl_buf_free(&foot);
	return rc;
}

/* ---- the writer ---- */

int sl_pq_writer_new(const sl_field *fields, int n, const sl_pq_options *o, sl_pq_sink sink,
                     void *ctx, sl_pq_writer **out, sl_error *err)
{
	sl_pq_writer *w = sl_calloc(1, sizeof *w);
	w->fields = fields;
	w->nfields = n;
	w->o = o ? *o : (sl_pq_options){0};
	if (w->o.page_bytes == 0)
		w->o.page_bytes = 1 << 20;
	if (w->o.row_group_bytes == 0)
		w->o.row_group_bytes = (size_t)128 << 20;
	if (w->o.dictionary_bytes == 0)
		w->o.dictionary_bytes = 1 << 20;
	if (w->o.page_version != 2)
		w->o.page_version = 1;
	w->sink = sink;
	w->ctx = ctx;
	w->cols = sl_calloc((size_t)(n ? n : 1), sizeof *w->cols);
	for (int i = 0; i < n; i++) {
		if (pq_col_plan(&w->cols[i], &fields[i], err) < 0) {
			sl_pq_writer_free(w);
			return err->code;
		}
		if (w->o.no_dictionary)
			w->cols[i].dict_on = false;
	}
	if (w->o.codec == SL_PQ_ZSTD)
		w->zstd = ZSTD_createCCtx();
	int rc = pq_emit(w, pq_magic, 4, err);
	if (rc < 0) {
		sl_pq_writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

/* Rows [from, to) of column `col` into c. */
static int pq_write_rows(sl_pq_writer *w, pq_col *c, const sl_column *col, int64_t from, int64_t to,
                         sl_error *err)
{
	uint8_t tmp[96]; /* a Decimal256's text needs 82 */
	const uint8_t *p;
	size_t n;
	uint32_t top = (uint32_t)(c->field->nullable ? 1 : 0);
	for (int64_t i = from; i < to; i++) {
		bool valid = col->validity.data == NULL || sl_col_is_valid(col, i);
		if (!c->list) {
			if (valid && pq_value(c, col, i, tmp, &p, &n)) {
				pq_level(c, top, 0);
				pq_put(c, p, n);
			} else {
				pq_level(c, 0, 0);
			}
		} else if (!valid) {
			pq_level(c, 0, 0);
		} else {
			const int32_t *off = (const int32_t *)col->offsets.data;
			const sl_column *ch = col->child;
			if (off[i] == off[i + 1])
				pq_level(c, top, 0); /* an empty list */
			for (int32_t j = off[i]; j < off[i + 1]; j++) {
				uint32_t rep = j == off[i] ? 0 : 1;
				bool ev = ch->validity.data == NULL || sl_col_is_valid(ch, j);
				if (ev && pq_value(c, ch, j, tmp, &p, &n)) {
					pq_level(c, (uint32_t)c->max_def, rep);
					pq_put(c, p, n);
				} else {
					pq_level(c, (uint32_t)c->max_def - 1, rep);
				}
			}
		}
		SL_TRY(pq_row_end(w, c, err));
	}
	return 0;
}

static size_t pq_row_group_size(const sl_pq_writer *w)
{
	size_t s = 0;
	for (int i = 0; i < w->nfields; i++) {
		const pq_col *c = &w->cols[i];
		s += c->chunk.len + c->dict.len + pq_page_size(c);
	}
	return s;
}

#define PQ_SLICE 4096 /* rows between row-group size checks */

int sl_pq_write(sl_pq_writer *w, const sl_batch *b, sl_error *err)
{
	if (w->failed || w->finished)
		return sl_error_set(err, SL_ERR_INTERNAL, "Parquet writer used after %s",
		                    w->failed ? "a failure" : "finish");
	/* a REQUIRED column has no definition levels: a NULL in it would make the file wrong */
	for (int i = 0; i < w->nfields; i++)
		if (!w->fields[i].nullable && b->cols[i].null_count > 0)
			return sl_error_set(err, SL_ERR_INTERNAL,
			                    "Parquet: column %s is NOT NULL but a row holds NULL",
			                    w->fields[i].name);
	for (int64_t from = 0; from < b->length; from += PQ_SLICE) {
		int64_t to = from + PQ_SLICE < b->length ? from + PQ_SLICE : b->length;
		for (int i = 0; i < w->nfields; i++) {
			if (pq_write_rows(w, &w->cols[i], &b->cols[i], from, to, err) < 0) {
				w->failed = true;
				return err->code;
			}
		}
		w->rows += to - from;
		w->rg_rows += to - from;
		if (pq_row_group_size(w) >= w->o.row_group_bytes &&
		    pq_flush_row_group(w, err) < 0) {
			w->failed = true;
			return err->code;
		}
	}
	return 0;
}

int sl_pq_finish(sl_pq_writer *w, sl_error *err)
{
	if (w->failed || w->finished)
		return sl_error_set(err, SL_ERR_INTERNAL,
		                    "Parquet writer finished twice or after a failure");
	int rc = pq_flush_row_group(w, err);
	if (rc == 0)
		rc = pq_footer(w, err);
	if (rc < 0)
		w->failed = true;
	else
		w->finished = true;
	return rc;
}

int64_t sl_pq_rows(const sl_pq_writer *w)
{
	return w->rows;
}

int64_t sl_pq_bytes(const sl_pq_writer *w)
{
	return w->offset;
}

void sl_pq_writer_free(sl_pq_writer *w)
{
	if (w == NULL)
		return;
	for (int i = 0; i < w->nfields; i++) {
		pq_col *c = &w->cols[i];
		free(c->def), free(c->rep), free(c->idx);
		free(c->dent_off), free(c->dent_len), free(c->slots);
		sl_buf_free(&c->values), sl_buf_free(&c->dict), sl_buf_free(&c->chunk);
		sl_buf_free(&c->smin), sl_buf_free(&c->smax);
	}
	for (int64_t k = 0; k < (int64_t)w->nrg * w->nfields; k++)
		free(w->rg_meta[k].min), free(w->rg_meta[k].max);
	free(w->rg_meta), free(w->rg_rows_of), free(w->rg_offset);
	free(w->cols);
	sl_buf_free(&w->page), sl_buf_free(&w->comp), sl_buf_free(&w->hdr);
	ZSTD_freeCCtx(w->zstd);
	free(w);
}
