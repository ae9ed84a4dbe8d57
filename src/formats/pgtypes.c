/* PostgreSQL <-> Arrow type mapping, and values' text forms into Arrow values (see pgtypes.h).
 * OIDs are PostgreSQL's fixed built-in type OIDs. */
#include "formats/pgtypes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "formats/pgsql.h"

enum {
	OID_BOOL = 16,
	OID_BYTEA = 17,
	OID_CHAR = 18,
	OID_NAME = 19,
	OID_INT8 = 20,
	OID_INT2 = 21,
	OID_INT4 = 23,
	OID_TEXT = 25,
	OID_OID = 26,
	OID_JSON = 114,
	OID_XML = 142,
	OID_POINT = 600,
	OID_LSEG = 601,
	OID_PATH = 602,
	OID_BOX = 603,
	OID_POLYGON = 604,
	OID_LINE = 628,
	OID_FLOAT4 = 700,
	OID_FLOAT8 = 701,
	OID_CIRCLE = 718,
	OID_MONEY = 790,
	OID_INET = 869,
	OID_BPCHAR = 1042,
	OID_VARCHAR = 1043,
	OID_DATE = 1082,
	OID_TIME = 1083,
	OID_TIMESTAMP = 1114,
	OID_TIMESTAMPTZ = 1184,
	OID_INTERVAL = 1186,
	OID_NUMERIC = 1700,
	OID_UUID = 2950,
	OID_LSN = 3220,
	OID_JSONB = 3802
};

static void sl_set_ext(sl_field *f, const char *ext)
{
	f->ext_name = sl_strdup(ext);
}

/* Map a scalar (non-array) type; returns PLAIN when a binary codec exists, TEXT when the value
 * must travel as its text form, RANGE_JSON, or UNSUPPORTED. */
static sl_pg_select sl_map_scalar(uint32_t oid, int32_t typmod, char typtype, sl_field *f,
                                  sl_pg_kind *kind, const char **reason)
{
	switch (oid) {
	case OID_BOOL:
		f->type = SL_TYPE_BOOL;
		*kind = SL_PG_BOOL;
		return SL_PG_SELECT_PLAIN;
	case OID_BYTEA:
		f->type = SL_TYPE_BINARY;
		*kind = SL_PG_BYTEA;
		return SL_PG_SELECT_PLAIN;
	case OID_INT2:
		f->type = SL_TYPE_INT16;
		*kind = SL_PG_INT2;
		return SL_PG_SELECT_PLAIN;
	case OID_INT4:
		f->type = SL_TYPE_INT32;
		*kind = SL_PG_INT4;
		return SL_PG_SELECT_PLAIN;
	case OID_INT8:
	case OID_MONEY:
		f->type = SL_TYPE_INT64;
		*kind = SL_PG_INT8;
		return SL_PG_SELECT_PLAIN;
	case OID_OID:
		f->type = SL_TYPE_UINT32;
		*kind = SL_PG_OID;
		return SL_PG_SELECT_PLAIN;
	case OID_LSN:
		f->type = SL_TYPE_UINT64;
		*kind = SL_PG_LSN;
		return SL_PG_SELECT_PLAIN;
	case OID_FLOAT4:
		f->type = SL_TYPE_FLOAT32;
		*kind = SL_PG_FLOAT4;
		return SL_PG_SELECT_PLAIN;
	case OID_FLOAT8:
		f->type = SL_TYPE_FLOAT64;
		*kind = SL_PG_FLOAT8;
		return SL_PG_SELECT_PLAIN;
	case OID_DATE:
		f->type = SL_TYPE_DATE32;
		*kind = SL_PG_DATE;
		return SL_PG_SELECT_PLAIN;
	case OID_TIME:
		f->type = SL_TYPE_TIME64;
		f->unit = SL_UNIT_US;
		*kind = SL_PG_TIME;
		return SL_PG_SELECT_PLAIN;
	case OID_TIMESTAMP:
	case OID_TIMESTAMPTZ:
		f->type = SL_TYPE_TIMESTAMP;
		f->unit = SL_UNIT_US;
		if (oid == OID_TIMESTAMPTZ)
			f->tz = sl_strdup("UTC");
		*kind = SL_PG_TIMESTAMP;
		return SL_PG_SELECT_PLAIN;
	case OID_NUMERIC: {
		*kind = SL_PG_NUMERIC;
		f->type = SL_TYPE_UTF8; /* unconstrained: text */
		if (typmod >= 4) {
			int p = ((typmod - 4) >> 16) & 0xffff;
			int s = (typmod - 4) & 0x7ff;
			if (s & 0x400)
				s -= 0x800; /* PostgreSQL 15 allows negative scales */
			if (s >= 0 && s <= p && p <= 76) {
				f->type = p <= 38 ? SL_TYPE_DECIMAL128 : SL_TYPE_DECIMAL256;
				f->precision = p;
				f->scale = s;
				f->specials = true; /* NaN, Infinity, -Infinity */
			}
		}
		return SL_PG_SELECT_PLAIN;
	}
	case OID_UUID:
		f->type = SL_TYPE_UTF8;
		*kind = SL_PG_UUID;
		return SL_PG_SELECT_PLAIN;
	case OID_JSON:
		f->type = SL_TYPE_UTF8;
		sl_set_ext(f, "arrow.json");
		*kind = SL_PG_TEXT;
		return SL_PG_SELECT_PLAIN;
	case OID_JSONB:
		f->type = SL_TYPE_UTF8;
		sl_set_ext(f, "arrow.json");
		*kind = SL_PG_JSONB;
		return SL_PG_SELECT_PLAIN;
	case OID_TEXT:
	case OID_VARCHAR:
	case OID_BPCHAR:
	case OID_NAME:
	case OID_XML:
		f->type = SL_TYPE_UTF8;
		*kind = SL_PG_TEXT;
		return SL_PG_SELECT_PLAIN;
	case OID_POINT:
	case OID_LSEG:
	case OID_PATH:
	case OID_BOX:
	case OID_POLYGON:
	case OID_LINE:
	case OID_CIRCLE:
		*reason = "geometric types are not supported";
		return SL_PG_SELECT_UNSUPPORTED;
	default:
		break;
	}
	f->type = SL_TYPE_UTF8;
	*kind = SL_PG_TEXT;
	switch (typtype) {
	case 'e':
		return SL_PG_SELECT_PLAIN; /* enum: the binary form is the label */
	case 'r':
		sl_set_ext(f, "arrow.json");
		return SL_PG_SELECT_RANGE_JSON;
	case 'm':
		*reason = "multirange types are not supported";
		return SL_PG_SELECT_UNSUPPORTED;
	case 'p':
		*reason = "pseudo-types cannot be replicated";
		return SL_PG_SELECT_UNSUPPORTED;
	default:
		return SL_PG_SELECT_TEXT; /* interval, timetz, bit, inet, tsvector, composite,
		                             extension types */
	}
}

sl_pg_select sl_pg_map_column(const sl_pg_typeinfo *ti, sl_field *field, sl_pg_codec *codec,
                              const char **reason)
{
	memset(codec, 0, sizeof *codec);
	*reason = NULL;
	if (ti->typcategory == 'A' && ti->elem_oid != 0) {
		sl_field *child = sl_malloc(sizeof *child);
		sl_field_init(child, "item", SL_TYPE_NA);
		sl_pg_kind ek;
		sl_pg_select how = sl_map_scalar(ti->elem_oid, ti->typmod, ti->elem_typtype, child,
		                                 &ek, reason);
		if (how == SL_PG_SELECT_UNSUPPORTED || ti->elem_typcategory == 'A') {
			if (*reason == NULL)
				*reason = "nested arrays are not supported";
			sl_field_reset(child);
			free(child);
			return SL_PG_SELECT_UNSUPPORTED;
		}
		field->type = SL_TYPE_LIST;
		codec->kind = SL_PG_ARRAY;
		if (how == SL_PG_SELECT_PLAIN) {
			codec->elem_kind = ek;
			codec->elem_oid = ti->elem_oid;
			sl_field_set_child(field, child);
			return SL_PG_SELECT_PLAIN;
		}
		/* element travels as text: the whole array is selected as text[] */
		sl_field_reset(child);
		sl_field_init(child, "item", SL_TYPE_UTF8);
		sl_field_set_child(field, child);
		codec->elem_kind = SL_PG_TEXT;
		codec->elem_oid = OID_TEXT;
		return SL_PG_SELECT_TEXT_ARRAY;
	}
	sl_pg_kind kind;
	sl_pg_select how = sl_map_scalar(ti->oid, ti->typmod, ti->typtype, field, &kind, reason);
	codec->kind = kind;
	return how;
}

void sl_pg_select_expr(sl_buf *b, const char *name, sl_pg_select how)
{
	switch (how) {
	case SL_PG_SELECT_TEXT:
		sl_pg_quote_ident(b, name);
		sl_buf_puts(b, "::text");
		break;
	case SL_PG_SELECT_TEXT_ARRAY:
		sl_pg_quote_ident(b, name);
		sl_buf_puts(b, "::text[]");
		break;
	case SL_PG_SELECT_RANGE_JSON:
		/* {"empty":true} or
		 * {"lower":..,"upper":..,"lower_inclusive":..,"upper_inclusive":..}; an infinite
		 * bound is null */
		sl_buf_puts(b, "CASE WHEN ");
		sl_pg_quote_ident(b, name);
		sl_buf_puts(b, " IS NULL THEN NULL WHEN isempty(");
		sl_pg_quote_ident(b, name);
		sl_buf_puts(b, ") THEN '{\"empty\":true}' ELSE json_build_object('lower', lower(");
		sl_pg_quote_ident(b, name);
		sl_buf_puts(b, "), 'upper', upper(");
		sl_pg_quote_ident(b, name);
		sl_buf_puts(b, "), 'lower_inclusive', lower_inc(");
		sl_pg_quote_ident(b, name);
		sl_buf_puts(b, "), 'upper_inclusive', upper_inc(");
		sl_pg_quote_ident(b, name);
		sl_buf_puts(b, "))::text END");
		break;
	default:
		sl_pg_quote_ident(b, name);
		break;
	}
}

static bool sl_is_int(sl_type_id t)
{
	return t >= SL_TYPE_INT8 && t <= SL_TYPE_UINT64;
}

static bool sl_target_scalar(const sl_field *f, uint32_t oid, char typtype, sl_pg_kind *kind)
{
	sl_type_id t = f->type;
	switch (oid) {
	case OID_BOOL:
		*kind = SL_PG_BOOL;
		return t == SL_TYPE_BOOL;
	case OID_INT2:
		*kind = SL_PG_INT2;
		return t == SL_TYPE_INT8 || t == SL_TYPE_INT16 || t == SL_TYPE_UINT8;
	case OID_INT4:
		*kind = SL_PG_INT4;
		return t == SL_TYPE_INT8 || t == SL_TYPE_INT16 || t == SL_TYPE_INT32 ||
		       t == SL_TYPE_UINT8 || t == SL_TYPE_UINT16;
	case OID_INT8:
	case OID_MONEY:
		*kind = SL_PG_INT8;
		return (sl_is_int(t) && t != SL_TYPE_UINT64) ||
		       ((t == SL_TYPE_TIMESTAMP || t == SL_TYPE_TIME64) && f->unit == SL_UNIT_NS);
	case OID_OID:
		*kind = SL_PG_OID;
		return t == SL_TYPE_UINT32;
	case OID_LSN:
		*kind = SL_PG_LSN;
		return t == SL_TYPE_UINT64;
	case OID_NUMERIC:
		*kind = SL_PG_NUMERIC;
		return t == SL_TYPE_DECIMAL128 || t == SL_TYPE_DECIMAL256 || t == SL_TYPE_UTF8 ||
		       sl_is_int(t);
	case OID_FLOAT4:
		*kind = SL_PG_FLOAT4;
		return t == SL_TYPE_FLOAT32 || t == SL_TYPE_FLOAT16;
	case OID_FLOAT8:
		*kind = SL_PG_FLOAT8;
		return t == SL_TYPE_FLOAT64 || t == SL_TYPE_FLOAT32;
	case OID_DATE:
		*kind = SL_PG_DATE;
		return t == SL_TYPE_DATE32 || t == SL_TYPE_DATE64;
	case OID_TIME:
		*kind = SL_PG_TIME;
		return t == SL_TYPE_TIME32 || (t == SL_TYPE_TIME64 && f->unit == SL_UNIT_US);
	case OID_TIMESTAMP:
	case OID_TIMESTAMPTZ:
		*kind = SL_PG_TIMESTAMP;
		return t == SL_TYPE_TIMESTAMP && f->unit != SL_UNIT_NS;
	case OID_INTERVAL:
		*kind = SL_PG_INTERVAL;
		return t == SL_TYPE_INTERVAL_DT;
	case OID_BYTEA:
		*kind = SL_PG_BYTEA;
		return t == SL_TYPE_BINARY || t == SL_TYPE_FIXED_BINARY;
	case OID_JSONB:
		*kind = SL_PG_JSONB;
		return t == SL_TYPE_UTF8;
	case OID_UUID:
		*kind = SL_PG_UUID;
		return t == SL_TYPE_UTF8;
	case OID_TEXT:
	case OID_VARCHAR:
	case OID_BPCHAR:
	case OID_NAME:
	case OID_JSON:
	case OID_XML:
		*kind = SL_PG_TEXT;
		return t == SL_TYPE_UTF8;
	default:
		break;
	}
	*kind = SL_PG_TEXT;
	return typtype == 'e' && t == SL_TYPE_UTF8 && f->ext_name == NULL;
}

bool sl_pg_target_codec(const sl_field *f, const sl_pg_typeinfo *target, sl_pg_codec *codec)
{
	memset(codec, 0, sizeof *codec);
	if (target->typcategory == 'A' && target->elem_oid != 0) {
		if (f->type != SL_TYPE_LIST || f->child == NULL)
			return false;
		sl_pg_kind ek;
		if (!sl_target_scalar(f->child, target->elem_oid, target->elem_typtype, &ek))
			return false;
		codec->kind = SL_PG_ARRAY;
		codec->elem_kind = ek;
		codec->elem_oid = target->elem_oid;
		return true;
	}
	sl_pg_kind k;
	if (!sl_target_scalar(f, target->oid, target->typtype, &k))
		return false;
	codec->kind = k;
	return true;
}

const char *sl_pg_type_for_field(const sl_field *f, char *buf, size_t n)
{
	char inner[128];
	switch (f->type) {
	case SL_TYPE_BOOL:
		return "boolean";
	case SL_TYPE_INT8:
	case SL_TYPE_INT16:
	case SL_TYPE_UINT8:
		return "smallint";
	case SL_TYPE_INT32:
	case SL_TYPE_UINT16:
		return "integer";
	case SL_TYPE_INT64:
	case SL_TYPE_UINT32:
		return "bigint";
	case SL_TYPE_UINT64:
		return "numeric";
	case SL_TYPE_FLOAT16:
	case SL_TYPE_FLOAT32:
		return "real";
	case SL_TYPE_FLOAT64:
		return "double precision";
	case SL_TYPE_DECIMAL128:
	case SL_TYPE_DECIMAL256:
		snprintf(buf, n, "numeric(%d,%d)", f->precision, f->scale);
		return buf;
	case SL_TYPE_DATE32:
	case SL_TYPE_DATE64:
		return "date";
	case SL_TYPE_TIME32:
		return "time";
	case SL_TYPE_TIME64:
		return f->unit == SL_UNIT_NS ? "bigint" : "time";
	case SL_TYPE_TIMESTAMP:
		if (f->unit == SL_UNIT_NS)
			return "bigint";
		return f->tz ? "timestamp with time zone" : "timestamp without time zone";
	case SL_TYPE_INTERVAL_DT:
		return "interval";
	case SL_TYPE_UTF8:
	case SL_TYPE_LARGE_UTF8:
		return f->ext_name && strcmp(f->ext_name, "arrow.json") == 0 ? "jsonb" : "text";
	case SL_TYPE_BINARY:
	case SL_TYPE_LARGE_BINARY:
	case SL_TYPE_FIXED_BINARY:
		return "bytea";
	case SL_TYPE_LIST: {
		/* the element's name may be a literal or written into inner */
		const char *elem = f->child && f->child->type != SL_TYPE_LIST
		                           ? sl_pg_type_for_field(f->child, inner, sizeof inner)
		                           : NULL;
		if (elem == NULL)
			return NULL;
		snprintf(buf, n, "%s[]", elem);
		return buf;
	}
	default:
		return NULL;
	}
}

/* ---------------------------------------------------------------- text forms ---- */

unsigned sl_pg_text_flags(const sl_pg_typeinfo *ti)
{
	if (ti->typtype == 'r') {
		uint32_t sub = ti->range_subtype;
		switch (ti->oid) { /* the built-in ranges, also when the reader did not ask */
		case 3904:         /* int4range */
			sub = OID_INT4;
			break;
		case 3926: /* int8range */
			sub = OID_INT8;
			break;
		case 3906: /* numrange */
			sub = OID_NUMERIC;
			break;
		case 3908: /* tsrange */
			sub = OID_TIMESTAMP;
			break;
		case 3910: /* tstzrange */
			sub = OID_TIMESTAMPTZ;
			break;
		}
		switch (sub) {
		case OID_INT2:
		case OID_INT4:
		case OID_INT8:
		case OID_NUMERIC:
		case OID_FLOAT4:
		case OID_FLOAT8:
			return SL_PG_TEXT_RANGE | SL_PG_TEXT_RANGE_NUM;
		case OID_TIMESTAMP:
			return SL_PG_TEXT_RANGE | SL_PG_TEXT_RANGE_TS;
		case OID_TIMESTAMPTZ:
			return SL_PG_TEXT_RANGE | SL_PG_TEXT_RANGE_TSTZ;
		default:
			return SL_PG_TEXT_RANGE;
		}
	}
	uint32_t oid = ti->typcategory == 'A' && ti->elem_oid != 0 ? ti->elem_oid : ti->oid;
	/* inet's cast to text always writes the netmask (network_show), its output function
	 * only when it is not the full length: the snapshot reads the cast */
	return oid == OID_INET ? SL_PG_TEXT_INET : 0;
}

void sl_pg_text_buf_free(sl_pg_text_buf *tb)
{
	sl_buf_free(&tb->bin);
	sl_buf_free(&tb->elem);
}

static void tx_put32(sl_buf *b, uint32_t v)
{
	uint8_t *p = sl_buf_reserve(b, 4);
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	b->len += 4;
}

static void tx_put16(sl_buf *b, uint16_t v)
{
	uint8_t *p = sl_buf_reserve(b, 2);
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	b->len += 2;
}

static void tx_put64(sl_buf *b, uint64_t v)
{
	tx_put32(b, (uint32_t)(v >> 32));
	tx_put32(b, (uint32_t)v);
}

static void tx_patch32(sl_buf *b, size_t at, uint32_t v)
{
	b->data[at] = (uint8_t)(v >> 24);
	b->data[at + 1] = (uint8_t)(v >> 16);
	b->data[at + 2] = (uint8_t)(v >> 8);
	b->data[at + 3] = (uint8_t)v;
}

/* A cursor over one value's text. */
typedef struct tx_cur {
	const char *s;
	size_t len, i;
} tx_cur;

static bool tx_end(const tx_cur *t)
{
	return t->i >= t->len;
}

static bool tx_eat(tx_cur *t, char c)
{
	if (t->i < t->len && t->s[t->i] == c) {
		t->i++;
		return true;
	}
	return false;
}

static bool tx_eat_str(tx_cur *t, const char *w)
{
	size_t n = strlen(w);
	if (t->len - t->i >= n && memcmp(t->s + t->i, w, n) == 0) {
		t->i += n;
		return true;
	}
	return false;
}

static bool tx_is_digit(const tx_cur *t)
{
	return t->i < t->len && t->s[t->i] >= '0' && t->s[t->i] <= '9';
}

/* The whole text is exactly w. */
static bool tx_is(const tx_cur *t, const char *w)
{
	return t->len == strlen(w) && memcmp(t->s, w, t->len) == 0;
}

/* mind..maxd decimal digits (maxd <= 19) */
static bool tx_uint(tx_cur *t, int mind, int maxd, uint64_t *v)
{
	uint64_t x = 0;
	int n = 0;
	while (tx_is_digit(t)) {
		if (n == maxd)
			return false;
		x = x * 10 + (uint64_t)(t->s[t->i++] - '0');
		n++;
	}
	*v = x;
	return n >= mind;
}

/* one or more decimal digits; false when they overflow 64 bits */
static bool tx_u64(tx_cur *t, uint64_t *v)
{
	uint64_t x = 0;
	size_t start = t->i;
	while (tx_is_digit(t)) {
		if (__builtin_mul_overflow(x, 10, &x) ||
		    __builtin_add_overflow(x, (uint64_t)(t->s[t->i] - '0'), &x))
			return false;
		t->i++;
	}
	*v = x;
	return t->i > start;
}

/* an optional fraction of a second, ".f" with 1 to 6 digits, in microseconds */
static bool tx_frac_us(tx_cur *t, int64_t *us)
{
	*us = 0;
	if (!tx_eat(t, '.'))
		return true;
	int n = 0;
	int64_t x = 0;
	while (tx_is_digit(t)) {
		if (n == 6)
			return false;
		x = x * 10 + (t->s[t->i++] - '0');
		n++;
	}
	for (int k = n; k < 6; k++)
		x *= 10;
	*us = x;
	return n > 0;
}

/* HH:MM:SS[.ffffff] in microseconds; hours have 2 to maxhd digits */
static bool tx_hms(tx_cur *t, int maxhd, int64_t *us)
{
	uint64_t h, m, s;
	int64_t f, hus;
	if (!tx_uint(t, 2, maxhd, &h) || !tx_eat(t, ':') || !tx_uint(t, 2, 2, &m) ||
	    !tx_eat(t, ':') || !tx_uint(t, 2, 2, &s) || !tx_frac_us(t, &f) || m > 59 || s > 59 ||
	    h > INT64_MAX / 3600)
		return false;
	if (__builtin_mul_overflow((int64_t)h * 3600, INT64_C(1000000), &hus) ||
	    __builtin_add_overflow(hus, (int64_t)(m * 60 + s) * 1000000 + f, us))
		return false;
	return true;
}

static bool tx_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Y-MM-DD (the year as written: a " BC" suffix may follow the rest of the value) */
static bool tx_ymd(tx_cur *t, int64_t *y, int *m, int *d)
{
	uint64_t yy, mm, dd;
	if (!tx_uint(t, 1, 7, &yy) || !tx_eat(t, '-') || !tx_uint(t, 2, 2, &mm) ||
	    !tx_eat(t, '-') || !tx_uint(t, 2, 2, &dd) || yy == 0 || mm < 1 || mm > 12 || dd < 1)
		return false;
	*y = (int64_t)yy;
	*m = (int)mm;
	*d = (int)dd;
	return true;
}

/* Days since 2000-01-01 of a date read by tx_ymd, BC or not; false outside PostgreSQL's range
 * (Julian day 0, 4714-11-24 BC, to 5874897-12-31). */
static bool tx_date_days(int64_t y, int m, int d, bool bc, int64_t *days)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (bc)
		y = 1 - y;
	if (d > mdays[m - 1] + (m == 2 && tx_leap(y) ? 1 : 0))
		return false;
	*days = sl_days_from_civil(y, m, d) - SL_PG_EPOCH_DAYS;
	int64_t jd = *days + 2451545; /* Julian day of 2000-01-01 */
	return jd >= 0 && jd < INT64_C(2147483494);
}

static bool tx_date(tx_cur *t, sl_buf *out)
{
	int64_t y, days;
	int m, d;
	if (tx_is(t, "infinity") || tx_is(t, "-infinity")) {
		tx_put32(out, t->s[0] == '-' ? (uint32_t)SL_DATE32_NEG_INF
		                             : (uint32_t)SL_DATE32_POS_INF);
		return true;
	}
	if (!tx_ymd(t, &y, &m, &d))
		return false;
	bool bc = tx_eat_str(t, " BC");
	if (!tx_end(t) || !tx_date_days(y, m, d, bc, &days))
		return false;
	tx_put32(out, (uint32_t)(int32_t)days);
	return true;
}

static bool tx_time(tx_cur *t, sl_buf *out)
{
	int64_t us;
	if (!tx_hms(t, 2, &us) || !tx_end(t) || us > INT64_C(86400000000))
		return false;
	tx_put64(out, (uint64_t)us);
	return true;
}

/* YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]][ BC]: microseconds since 2000-01-01 UTC */
static bool tx_timestamp(tx_cur *t, sl_buf *out)
{
	if (tx_is(t, "infinity") || tx_is(t, "-infinity")) {
		tx_put64(out, t->s[0] == '-' ? (uint64_t)SL_TIMESTAMP_NEG_INF
		                             : (uint64_t)SL_TIMESTAMP_POS_INF);
		return true;
	}
	int64_t y, days, tod, off = 0, us;
	int m, d;
	if (!tx_ymd(t, &y, &m, &d) || !tx_eat(t, ' ') || !tx_hms(t, 2, &tod) ||
	    tod >= INT64_C(86400000000))
		return false;
	if (t->i < t->len && (t->s[t->i] == '+' || t->s[t->i] == '-')) {
		bool neg = t->s[t->i++] == '-';
		uint64_t oh, om = 0, os = 0;
		if (!tx_uint(t, 2, 2, &oh))
			return false;
		if (tx_eat(t, ':') && !tx_uint(t, 2, 2, &om))
			return false;
		if (tx_eat(t, ':') && !tx_uint(t, 2, 2, &os))
			return false;
		if (om > 59 || os > 59)
			return false;
		off = (int64_t)(oh * 3600 + om * 60 + os) * 1000000;
		if (neg)
			off = -off;
	}
	bool bc = tx_eat_str(t, " BC");
	if (!tx_end(t) || !tx_date_days(y, m, d, bc, &days))
		return false;
	/* local time minus its offset east of UTC */
	if (__builtin_mul_overflow(days, INT64_C(86400000000), &us) ||
	    __builtin_add_overflow(us, tod, &us) || __builtin_sub_overflow(us, off, &us) ||
	    us == SL_TIMESTAMP_POS_INF || us == SL_TIMESTAMP_NEG_INF)
		return false;
	tx_put64(out, (uint64_t)us);
	return true;
}

/* [-]digits into sign and magnitude, the whole text */
static bool tx_int(tx_cur *t, bool *neg, uint64_t *mag)
{
	*neg = tx_eat(t, '-');
	return tx_u64(t, mag) && tx_end(t);
}

/* money as lc_monetary C prints it: [-]$1,234,567.89. The amount is every digit (the value in
 * the currency's smallest unit, which is what the binary form holds). */
static bool tx_money(tx_cur *t, bool *neg, uint64_t *mag)
{
	*neg = tx_eat(t, '-');
	if (!tx_eat(t, '$'))
		return false;
	uint64_t x = 0;
	int group = 0, groups = 0, frac = -1;
	for (; t->i < t->len; t->i++) {
		char c = t->s[t->i];
		if (c >= '0' && c <= '9') {
			if (__builtin_mul_overflow(x, 10, &x) ||
			    __builtin_add_overflow(x, (uint64_t)(c - '0'), &x))
				return false;
			if (frac >= 0)
				frac++;
			else
				group++;
		} else if (c == ',' && frac < 0) {
			if (group == 0 || group > 3 || (groups > 0 && group != 3))
				return false;
			groups++;
			group = 0;
		} else if (c == '.' && frac < 0) {
			frac = 0;
			if (group == 0 || group > 3 || (groups > 0 && group != 3))
				return false;
		} else {
			return false;
		}
	}
	if (frac < 0 && (group == 0 || group > 3 || (groups > 0 && group != 3)))
		return false;
	*mag = x;
	return frac != 0;
}

static bool tx_integer(sl_pg_kind kind, tx_cur *t, sl_buf *out)
{
	bool neg;
	uint64_t mag, max;
	if (kind == SL_PG_INT8 && memchr(t->s, '$', t->len) != NULL) {
		if (!tx_money(t, &neg, &mag))
			return false;
	} else if (!tx_int(t, &neg, &mag)) {
		return false;
	}
	switch (kind) {
	case SL_PG_INT2:
		max = INT16_MAX;
		break;
	case SL_PG_INT4:
		max = INT32_MAX;
		break;
	case SL_PG_OID:
		max = UINT32_MAX;
		break;
	default:
		max = INT64_MAX;
		break;
	}
	if (neg ? (kind == SL_PG_OID && mag != 0) || mag > max + 1 : mag > max)
		return false;
	uint64_t v = neg ? 0 - mag : mag;
	if (kind == SL_PG_INT2)
		tx_put16(out, (uint16_t)v);
	else if (kind == SL_PG_INT8)
		tx_put64(out, v);
	else
		tx_put32(out, (uint32_t)v);
	return true;
}

static int tx_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 1 to 8 hex digits */
static bool tx_hex32(tx_cur *t, uint32_t *v)
{
	uint32_t x = 0;
	int n = 0;
	for (; t->i < t->len && tx_hexval(t->s[t->i]) >= 0; t->i++, n++) {
		if (n == 8)
			return false;
		x = x << 4 | (uint32_t)tx_hexval(t->s[t->i]);
	}
	*v = x;
	return n > 0;
}

static bool tx_lsn(tx_cur *t, sl_buf *out)
{
	uint32_t hi, lo;
	if (!tx_hex32(t, &hi) || !tx_eat(t, '/') || !tx_hex32(t, &lo) || !tx_end(t))
		return false;
	tx_put64(out, (uint64_t)hi << 32 | lo);
	return true;
}

/* NaN, Infinity, -Infinity, or [-]d[.d][e[+-]d] read to the nearest float/double: exact for
 * what PostgreSQL prints (shortest exact, or 9/17 significant digits). */
static bool tx_float(tx_cur *t, bool single, sl_buf *out)
{
	double d = 0;
	float f = 0;
	if (tx_is(t, "NaN")) {
		d = NAN;
		f = NAN;
	} else if (tx_is(t, "Infinity") || tx_is(t, "-Infinity")) {
		d = t->s[0] == '-' ? -INFINITY : INFINITY;
		f = (float)d;
	} else {
		tx_eat(t, '-');
		if (!tx_is_digit(t))
			return false;
		while (tx_is_digit(t))
			t->i++;
		if (tx_eat(t, '.')) {
			if (!tx_is_digit(t))
				return false;
			while (tx_is_digit(t))
				t->i++;
		}
		if (tx_eat(t, 'e')) {
			if (!tx_eat(t, '-'))
				tx_eat(t, '+');
			if (!tx_is_digit(t))
				return false;
			while (tx_is_digit(t))
				t->i++;
		}
		char buf[64], *end;
		if (!tx_end(t) || t->len >= sizeof buf)
			return false;
		memcpy(buf, t->s, t->len);
		buf[t->len] = 0;
		if (single) {
			f = strtof(buf, &end);
			if (isinf(f))
				return false;
		} else {
			d = strtod(buf, &end);
			if (isinf(d))
				return false;
		}
		if (end != buf + t->len)
			return false;
	}
	if (single) {
		uint32_t bits;
		memcpy(&bits, &f, 4);
		tx_put32(out, bits);
	} else {
		uint64_t bits;
		memcpy(&bits, &d, 8);
		tx_put64(out, bits);
	}
	return true;
}

/* bytea_output hex (\x0aff) or escape (printable bytes as is, \\ and \ooo) */
static bool tx_bytea(tx_cur *t, sl_buf *out)
{
	const char *s = t->s;
	size_t n = t->len;
	if (n >= 2 && s[0] == '\\' && s[1] == 'x') {
		if (n % 2 != 0)
			return false;
		uint8_t *p = sl_buf_reserve(out, (n - 2) / 2);
		for (size_t i = 2; i < n; i += 2) {
			int a = tx_hexval(s[i]), b = tx_hexval(s[i + 1]);
			if (a < 0 || b < 0)
				return false;
			*p++ = (uint8_t)(a << 4 | b);
		}
		out->len += (n - 2) / 2;
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			sl_buf_putc(out, s[i]);
		} else if (i + 1 < n && s[i + 1] == '\\') {
			sl_buf_putc(out, '\\');
			i++;
		} else if (i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
		           s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			sl_buf_putc(out, (char)((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 |
			                        (s[i + 3] - '0')));
			i += 3;
		} else {
			return false;
		}
	}
	return true;
}

static bool tx_uuid(tx_cur *t, sl_buf *out)
{
	if (t->len != 36)
		return false;
	uint8_t u[16];
	int k = 0;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (t->s[i] != '-')
				return false;
			continue;
		}
		int h = tx_hexval(t->s[i]);
		if (h < 0)
			return false;
		if (k % 2 == 0)
			u[k / 2] = (uint8_t)(h << 4);
		else
			u[k / 2] |= (uint8_t)h;
		k++;
	}
	sl_buf_append(out, u, 16);
	return true;
}

/* *acc += (neg ? -v : v) * mul + extra, checked */
static bool tx_acc(int64_t *acc, bool neg, uint64_t v, int64_t mul, int64_t extra)
{
	int64_t x;
	if (v > INT64_MAX || __builtin_mul_overflow((int64_t)v, mul, &x) ||
	    __builtin_add_overflow(x, extra, &x))
		return false;
	return !__builtin_add_overflow(*acc, neg ? -x : x, acc);
}

/* IntervalStyle iso_8601: P[nY][nM][nD][T[nH][nM][n[.f]S]], each part signed (PT0S is zero) */
static bool tx_interval_iso(tx_cur *t, int64_t *months, int64_t *days, int64_t *us)
{
	bool time = false, any = false, any_time = false;
	while (!tx_end(t)) {
		if (!time && tx_eat(t, 'T')) {
			time = true;
			continue;
		}
		bool neg = tx_eat(t, '-');
		uint64_t v;
		int64_t f = 0;
		if (!tx_u64(t, &v))
			return false;
		bool frac = t->i < t->len && t->s[t->i] == '.';
		if ((frac && !tx_frac_us(t, &f)) || tx_end(t))
			return false;
		char u = t->s[t->i++];
		bool ok;
		if (frac && (!time || u != 'S'))
			return false;
		if (!time && u == 'Y')
			ok = tx_acc(months, neg, v, 12, 0);
		else if (!time && u == 'M')
			ok = tx_acc(months, neg, v, 1, 0);
		else if (!time && u == 'D')
			ok = tx_acc(days, neg, v, 1, 0);
		else if (time && u == 'H')
			ok = tx_acc(us, neg, v, INT64_C(3600000000), 0);
		else if (time && u == 'M')
			ok = tx_acc(us, neg, v, 60000000, 0);
		else if (time && u == 'S')
			ok = tx_acc(us, neg, v, 1000000, f);
		else
			ok = false;
		if (!ok)
			return false;
		any = true;
		any_time = time;
	}
	return any && time == any_time;
}

/* IntervalStyle postgres: [+-]N year[s] [+-]N mon[s] [+-]N day[s] [+-]HH:MM:SS[.f] */
static bool tx_interval_pg(tx_cur *t, int64_t *months, int64_t *days, int64_t *us)
{
	bool any = false;
	while (!tx_end(t)) {
		if (any && !tx_eat(t, ' '))
			return false;
		bool neg = tx_eat(t, '-');
		if (!neg)
			tx_eat(t, '+');
		size_t num = t->i;
		uint64_t v;
		if (!tx_u64(t, &v))
			return false;
		if (t->i < t->len && t->s[t->i] == ':') {
			int64_t hms;
			t->i = num;
			if (!tx_hms(t, 19, &hms) || !tx_end(t))
				return false;
			return !__builtin_add_overflow(*us, neg ? -hms : hms, us);
		}
		bool ok;
		if (tx_eat_str(t, " years") || tx_eat_str(t, " year"))
			ok = tx_acc(months, neg, v, 12, 0);
		else if (tx_eat_str(t, " mons") || tx_eat_str(t, " mon"))
			ok = tx_acc(months, neg, v, 1, 0);
		else if (tx_eat_str(t, " days") || tx_eat_str(t, " day"))
			ok = tx_acc(days, neg, v, 1, 0);
		else
			ok = false;
		if (!ok || (t->i < t->len && t->s[t->i] != ' '))
			return false;
		any = true;
	}
	return any;
}

/* int64 us, int32 days, int32 months; PostgreSQL 17's infinite intervals as its sentinels */
static bool tx_interval(tx_cur *t, sl_buf *out)
{
	int64_t months = 0, days = 0, us = 0;
	if (tx_is(t, "infinity") || tx_is(t, "-infinity")) {
		bool neg = t->s[0] == '-';
		us = neg ? INT64_MIN : INT64_MAX;
		days = months = neg ? INT32_MIN : INT32_MAX;
	} else if (tx_eat(t, 'P') ? !tx_interval_iso(t, &months, &days, &us)
	                          : !tx_interval_pg(t, &months, &days, &us)) {
		return false;
	}
	if (months < INT32_MIN || months > INT32_MAX || days < INT32_MIN || days > INT32_MAX)
		return false;
	tx_put64(out, (uint64_t)us);
	tx_put32(out, (uint32_t)(int32_t)days);
	tx_put32(out, (uint32_t)(int32_t)months);
	return true;
}

/* A JSON string of s[0..n) (quotes, backslashes and control characters escaped). */
static void tx_json_string(sl_buf *out, const char *s, size_t n)
{
	sl_buf_putc(out, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			sl_buf_putc(out, '\\');
			sl_buf_putc(out, (char)c);
		} else if (c < 0x20) {
			sl_buf_printf(out, "\\u%04x", c);
		} else {
			sl_buf_putc(out, (char)c);
		}
	}
	sl_buf_putc(out, '"');
}

/* One range bound (unquoted text, not infinite) as json_build_object writes its value. */
static void tx_range_bound(sl_buf *out, const char *s, size_t n, unsigned flags)
{
	if (flags & SL_PG_TEXT_RANGE_NUM) {
		/* to_json writes numbers bare, but NaN and the infinities as strings */
		bool special = (n == 3 && memcmp(s, "NaN", 3) == 0) ||
		               (n == 8 && memcmp(s, "Infinity", 8) == 0) ||
		               (n == 9 && memcmp(s, "-Infinity", 9) == 0);
		if (special)
			tx_json_string(out, s, n);
		else
			sl_buf_append(out, s, n);
		return;
	}
	const char *sp = memchr(s, ' ', n);
	if (!(flags & (SL_PG_TEXT_RANGE_TS | SL_PG_TEXT_RANGE_TSTZ)) || sp == NULL ||
	    (size_t)(sp - s) != 10) {
		tx_json_string(out, s, n); /* dates, infinity, other subtypes: their text */
		return;
	}
	/* "YYYY-MM-DD HH:MM:SS[.f][+HH[:MM]][ BC]" -> "YYYY-MM-DDTHH:MM:SS[.f][+HH:MM][ BC]" */
	char buf[96];
	if (n + 4 > sizeof buf) {
		tx_json_string(out, s, n);
		return;
	}
	size_t k = 0;
	memcpy(buf, s, n);
	buf[10] = 'T';
	k = n;
	if (flags & SL_PG_TEXT_RANGE_TSTZ) {
		size_t z = 19; /* after HH:MM:SS */
		while (z < k && (buf[z] == '.' || (buf[z] >= '0' && buf[z] <= '9')))
			z++;
		if (z + 3 <= k && (buf[z] == '+' || buf[z] == '-') &&
		    (z + 3 == k || buf[z + 3] == ' ')) {
			memmove(buf + z + 6, buf + z + 3, k - (z + 3));
			memcpy(buf + z + 3, ":00", 3);
			k += 3;
		}
	}
	tx_json_string(out, buf, k);
}

/* A range's output text -> the snapshot's JSON object (see SL_PG_TEXT_RANGE). */
static bool tx_range_json(const char *s, size_t len, unsigned flags, sl_buf *out)
{
	if (len == 5 && memcmp(s, "empty", 5) == 0) {
		sl_buf_puts(out, "{\"empty\":true}");
		return true;
	}
	if (len < 3 || (s[0] != '[' && s[0] != '(') || (s[len - 1] != ']' && s[len - 1] != ')'))
		return false;
	/* the bounds, unquoted, into `out` past its end, then moved into place */
	size_t base = out->len, i = 1, end = len - 1;
	size_t at[2], n[2];
	bool inf[2];
	for (int b = 0; b < 2; b++) {
		at[b] = out->len;
		bool any = false;
		while (i < end && (b == 1 || s[i] != ',')) {
			any = true;
			if (s[i] == '"') {
				i++;
				for (;;) {
					if (i >= end)
						return false;
					if (s[i] == '\\' && i + 1 < end) {
						sl_buf_putc(out, s[i + 1]);
						i += 2;
					} else if (s[i] == '"' && i + 1 < end && s[i + 1] == '"') {
						sl_buf_putc(out, '"');
						i += 2;
					} else if (s[i] == '"') {
						i++;
						break;
					} else {
						sl_buf_putc(out, s[i++]);
					}
				}
			} else if (s[i] == '\\' && i + 1 < end) {
				sl_buf_putc(out, s[i + 1]);
				i += 2;
			} else {
				sl_buf_putc(out, s[i++]);
			}
		}
		n[b] = out->len - at[b];
		inf[b] = !any;
		if (b == 0) {
			if (i >= end || s[i] != ',')
				return false;
			i++;
		}
	}
	size_t blen = out->len - base;
	char small[256]; /* the usual bounds: no allocation per value */
	char *bounds = blen <= sizeof small ? small : sl_malloc(blen);
	if (blen) /* "(,)": nothing, and out may not be allocated yet */
		memcpy(bounds, out->data + base, blen);
	out->len = base;
	sl_buf_puts(out, "{\"lower\" : ");
	if (inf[0])
		sl_buf_puts(out, "null");
	else
		tx_range_bound(out, bounds + (at[0] - base), n[0], flags);
	sl_buf_puts(out, ", \"upper\" : ");
	if (inf[1])
		sl_buf_puts(out, "null");
	else
		tx_range_bound(out, bounds + (at[1] - base), n[1], flags);
	sl_buf_printf(out, ", \"lower_inclusive\" : %s, \"upper_inclusive\" : %s}",
	              s[0] == '[' && !inf[0] ? "true" : "false",
	              s[len - 1] == ']' && !inf[1] ? "true" : "false");
	if (bounds != small)
		free(bounds);
	return true;
}

static bool tx_scalar(sl_pg_kind kind, const char *s, size_t len, unsigned flags, sl_buf *out)
{
	tx_cur t = {s, len, 0};
	switch (kind) {
	case SL_PG_BOOL:
		if (len != 1 || (s[0] != 't' && s[0] != 'f'))
			return false;
		sl_buf_putc(out, s[0] == 't' ? 1 : 0);
		return true;
	case SL_PG_INT2:
	case SL_PG_INT4:
	case SL_PG_INT8:
	case SL_PG_OID:
		return tx_integer(kind, &t, out);
	case SL_PG_LSN:
		return tx_lsn(&t, out);
	case SL_PG_FLOAT4:
	case SL_PG_FLOAT8:
		return tx_float(&t, kind == SL_PG_FLOAT4, out);
	case SL_PG_NUMERIC:
		return len > 0 && sl_pg_numeric_from_text(s, len, out, NULL) == 0;
	case SL_PG_DATE:
		return tx_date(&t, out);
	case SL_PG_TIME:
		return tx_time(&t, out);
	case SL_PG_TIMESTAMP:
		return tx_timestamp(&t, out);
	case SL_PG_TEXT:
		if (flags & SL_PG_TEXT_RANGE)
			return tx_range_json(s, len, flags, out);
		sl_buf_append(out, s, len);
		if ((flags & SL_PG_TEXT_INET) && len > 0 && memchr(s, '/', len) == NULL)
			sl_buf_puts(out, memchr(s, ':', len) ? "/128" : "/32");
		return true;
	case SL_PG_BYTEA:
		return tx_bytea(&t, out);
	case SL_PG_JSONB:
		sl_buf_putc(out, 1);
		sl_buf_append(out, s, len);
		return true;
	case SL_PG_UUID:
		return tx_uuid(&t, out);
	case SL_PG_INTERVAL:
		return tx_interval(&t, out);
	case SL_PG_ARRAY:
		break;
	}
	return false;
}

/* A signed int32 in decimal: an array bound. */
static bool tx_i32(tx_cur *t, int64_t *v)
{
	bool neg = tx_eat(t, '-');
	uint64_t mag;
	if (!tx_u64(t, &mag) || mag > (uint64_t)INT32_MAX + neg)
		return false;
	*v = neg ? -(int64_t)mag : (int64_t)mag;
	return true;
}

/* One element of an array at t (quoted and backslash-escaped, or bare, or NULL) as a
 * length-prefixed binary field; *null says it was NULL. */
static bool tx_array_elem(const sl_pg_codec *codec, tx_cur *t, unsigned flags, sl_buf *out,
                          sl_buf *tmp, bool *null)
{
	const char *s = t->s;
	size_t len = t->len, from, to;
	bool esc = false, quoted = tx_eat(t, '"');
	from = t->i;
	if (quoted) {
		for (; t->i < len && s[t->i] != '"'; t->i++)
			if (s[t->i] == '\\') {
				esc = true;
				t->i++;
			}
		if (t->i >= len)
			return false;
		to = t->i++;
	} else {
		for (; t->i < len && s[t->i] != ',' && s[t->i] != '}'; t->i++) {
			if (s[t->i] == '"' || s[t->i] == '{')
				return false;
			if (s[t->i] == '\\') {
				esc = true;
				t->i++;
			}
		}
		to = t->i;
		if (to == from || to > len)
			return false;
	}
	const char *e = s + from;
	size_t n = to - from;
	*null = !quoted && !esc && n == 4 && strncasecmp(e, "NULL", 4) == 0;
	if (*null) {
		tx_put32(out, 0xFFFFFFFFu);
		return true;
	}
	if (esc) {
		sl_buf_reset(tmp);
		for (size_t k = from; k < to; k++) {
			if (s[k] == '\\')
				k++;
			sl_buf_putc(tmp, s[k]);
		}
		e = (const char *)tmp->data;
		n = tmp->len;
	}
	size_t at = out->len;
	tx_put32(out, 0);
	if (!tx_scalar(codec->elem_kind, n ? e : "", n, flags, out) ||
	    out->len - at - 4 > INT32_MAX)
		return false;
	tx_patch32(out, at, (uint32_t)(out->len - at - 4));
	return true;
}

/* array_out's form of an array: {e,"quoted \" e",NULL}, nested braces for each further
 * dimension ({{1,2},{3,4}}), and when a lower bound is not 1 the bounds of every dimension
 * first ([0:1][2:3]={{1,2},{3,4}}); into the binary form (dimensions, lower bounds, elements in
 * row-major order). */
static bool tx_array(const sl_pg_codec *codec, const char *s, size_t len, unsigned flags,
                     sl_buf *out, sl_buf *tmp)
{
	tx_cur t = {s, len, 0};
	int64_t lbs[SL_LIST_MAXDIM], bdims[SL_LIST_MAXDIM];
	int nb = 0;
	while (tx_eat(&t, '[')) {
		int64_t lo, hi;
		if (nb == SL_LIST_MAXDIM || !tx_i32(&t, &lo) || !tx_eat(&t, ':') ||
		    !tx_i32(&t, &hi) || !tx_eat(&t, ']') || hi < lo)
			return false;
		lbs[nb] = lo;
		bdims[nb++] = hi - lo + 1;
	}
	if (nb > 0 && !tx_eat(&t, '='))
		return false;
	int ndim = 0;
	while (t.i + (size_t)ndim < len && s[t.i + (size_t)ndim] == '{')
		ndim++;
	if (ndim == 0 || ndim > SL_LIST_MAXDIM)
		return false;
	size_t hdr = out->len;
	if (ndim == 1 && t.i + 1 < len && s[t.i + 1] == '}') { /* {} */
		t.i += 2;
		if (nb > 0 || !tx_end(&t))
			return false;
		tx_put32(out, 0);
		tx_put32(out, 0);
		tx_put32(out, codec->elem_oid);
		return true;
	}
	if (nb > 0 && nb != ndim)
		return false;
	tx_put32(out, (uint32_t)ndim);
	tx_put32(out, 0); /* has nulls: patched */
	tx_put32(out, codec->elem_oid);
	for (int d = 0; d < ndim; d++) {
		tx_put32(out, 0); /* size: patched */
		tx_put32(out, (uint32_t)(int32_t)(nb ? lbs[d] : 1));
	}
	int64_t dims[SL_LIST_MAXDIM], cnt[SL_LIST_MAXDIM];
	for (int d = 0; d < ndim; d++)
		dims[d] = -1;
	bool nulls = false;
	int depth = 0;
	for (;;) {
		/* open sub-arrays down to the innermost dimension */
		while (depth < ndim) {
			if (!tx_eat(&t, '{'))
				return false;
			cnt[depth++] = 0;
		}
		for (;;) {
			bool null;
			if (!tx_array_elem(codec, &t, flags, out, tmp, &null))
				return false;
			nulls = nulls || null;
			cnt[depth - 1]++;
			if (tx_eat(&t, ','))
				continue;
			if (tx_eat(&t, '}'))
				break;
			return false;
		}
		/* close: every sub-array of a dimension has the size of the first */
		for (;;) {
			if (dims[depth - 1] < 0)
				dims[depth - 1] = cnt[depth - 1];
			else if (dims[depth - 1] != cnt[depth - 1])
				return false;
			if (--depth == 0)
				break;
			cnt[depth - 1]++;
			if (tx_eat(&t, ','))
				break;
			if (!tx_eat(&t, '}'))
				return false;
		}
		if (depth == 0)
			break;
	}
	if (!tx_end(&t))
		return false;
	for (int d = 0; d < ndim; d++) {
		if ((nb && bdims[d] != dims[d]) || dims[d] > INT32_MAX)
			return false;
		tx_patch32(out, hdr + 12 + 8 * (size_t)d, (uint32_t)dims[d]);
	}
	tx_patch32(out, hdr + 4, nulls ? 1 : 0);
	return true;
}

static const char *tx_kind_name(sl_pg_kind k)
{
	switch (k) {
	case SL_PG_BOOL:
		return "boolean";
	case SL_PG_INT2:
		return "smallint";
	case SL_PG_INT4:
		return "integer";
	case SL_PG_INT8:
		return "bigint or money";
	case SL_PG_OID:
		return "oid";
	case SL_PG_LSN:
		return "pg_lsn";
	case SL_PG_FLOAT4:
		return "real";
	case SL_PG_FLOAT8:
		return "double precision";
	case SL_PG_NUMERIC:
		return "numeric";
	case SL_PG_DATE:
		return "date";
	case SL_PG_TIME:
		return "time";
	case SL_PG_TIMESTAMP:
		return "timestamp";
	case SL_PG_TEXT:
		return "text";
	case SL_PG_BYTEA:
		return "bytea";
	case SL_PG_JSONB:
		return "jsonb";
	case SL_PG_UUID:
		return "uuid";
	case SL_PG_INTERVAL:
		return "interval";
	case SL_PG_ARRAY:
		break;
	}
	return "?";
}

/* 'value' for a message: at most 64 bytes (cut on a UTF-8 boundary), control characters as '?',
 * so the message stays one line. */
static void tx_quote(char *buf, size_t n, const char *s, size_t len)
{
	size_t k = len < 64 ? len : 64, o = 0;
	while (k < len && k > 0 && ((uint8_t)s[k] & 0xC0) == 0x80)
		k--;
	buf[o++] = '\'';
	for (size_t i = 0; i < k && o + 5 < n; i++)
		buf[o++] = (uint8_t)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[o++] = '\'';
	if (k < len && o + 4 < n) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = 0;
}

int sl_pg_text_to_binary(const sl_pg_codec *codec, const char *s, size_t len, unsigned flags,
                         sl_buf *out, sl_buf *tmp, sl_error *err)
{
	bool ok = codec->kind == SL_PG_ARRAY ? tx_array(codec, s, len, flags, out, tmp)
	                                     : tx_scalar(codec->kind, s, len, flags, out);
	if (ok)
		return 0;
	char q[96];
	tx_quote(q, sizeof q, s, len);
	return sl_error_set(
	        err, SL_ERR_DATA, "%s is not the text form of a PostgreSQL %s%s", q,
	        tx_kind_name(codec->kind == SL_PG_ARRAY ? codec->elem_kind : codec->kind),
	        codec->kind == SL_PG_ARRAY ? " array" : "");
}

int sl_pg_decode_text(const sl_pg_codec *codec, sl_column *c, const char *s, size_t len,
                      unsigned flags, sl_pg_text_buf *tb, sl_error *err)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t n = len;
	if (codec->kind != SL_PG_TEXT || flags != 0) { /* plain text is its own binary form */
		sl_buf_reset(&tb->bin);
		if (sl_pg_text_to_binary(codec, s, len, flags, &tb->bin, &tb->elem, err) < 0)
			return sl_error_wrap(err, "column %s", c->field->name);
		p = tb->bin.data;
		n = tb->bin.len;
	}
	if (n > INT32_MAX)
		return sl_error_set(err, SL_ERR_DATA, "column %s: value of %zu bytes is too long",
		                    c->field->name, n);
	if (sl_pg_decode_field(codec, c, p, (int32_t)n, err) < 0) {
		char q[96];
		tx_quote(q, sizeof q, s, len);
		size_t m = strlen(err->msg);
		snprintf(err->msg + m, sizeof err->msg - m, " (text value %s)", q);
		return err->code;
	}
	return 0;
}
