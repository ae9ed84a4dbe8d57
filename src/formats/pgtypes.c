/* PostgreSQL <-> Arrow type mapping. OIDs are PostgreSQL's fixed built-in type OIDs. */
#include "formats/pgtypes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "formats/pgclient.h"

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
