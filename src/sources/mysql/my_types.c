/* MySQL / MariaDB column types -> Arrow fields and values (see my_types.h). */
#include "sources/mysql/my_types.h"

#include <inttypes.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "formats/decimal.h"

void sl_my_coltype_reset(sl_my_coltype *ct)
{
	for (int i = 0; i < ct->nelems; i++)
		free(ct->elems[i]);
	free(ct->elems);
	memset(ct, 0, sizeof *ct);
}

static sl_my_charset my_charset_by_name(const char *cs)
{
	if (cs == NULL || cs[0] == '\0')
		return SL_MY_CS_BINARY;
	if (strncmp(cs, "utf8", 4) == 0 || strcmp(cs, "ascii") == 0)
		return SL_MY_CS_UTF8;
	if (strcmp(cs, "binary") == 0)
		return SL_MY_CS_BINARY;
	if (strcmp(cs, "latin1") == 0)
		return SL_MY_CS_LATIN1;
	return SL_MY_CS_OTHER;
}

/* Collation ids (SHOW COLLATION) of the character sets sluice reads from the binlog. */
static sl_my_charset my_charset_by_id(int id)
{
	if (id < 0)
		return SL_MY_CS_UTF8; /* no metadata: assume the common case */
	if (id == 63)
		return SL_MY_CS_BINARY;
	/* MariaDB's _nopad_ collations are 1024 + the id of their base collation */
	if (id == 5 || id == 8 || id == 15 || id == 31 || id == 47 || id == 48 || id == 49 ||
	    id == 94 || id == 1032 || id == 1071)
		return SL_MY_CS_LATIN1;
	if (id == 11 || id == 65 || id == 1035 || id == 1089) /* ascii */
		return SL_MY_CS_UTF8;
	/* utf8mb3: 33, 76, 83, 192..223, 576..578; utf8mb4: 45, 46, 224..247, 608..610, 255..323
	 * (MySQL 8); MariaDB's _nopad_ ones (1057, 1069, 1070, 1107, 1216..1279) and its uca1400
	 * ones (utf8mb3 2048..2303, utf8mb4 2304..2559; ucs2, utf16 and utf32 follow from 2560) */
	if (id == 33 || id == 45 || id == 46 || id == 76 || id == 83 || (id >= 192 && id <= 247) ||
	    (id >= 255 && id <= 323) || (id >= 576 && id <= 578) || (id >= 608 && id <= 610) ||
	    id == 1057 || id == 1069 || id == 1070 || id == 1107 || (id >= 1216 && id <= 1279) ||
	    (id >= 2048 && id <= 2559))
		return SL_MY_CS_UTF8;
	return SL_MY_CS_OTHER;
}

/* MySQL's latin1 (cp1252: 0x80..0x9F carry typographic characters) as UTF-8 into o (room for
 * 3 * n bytes); returns the length written. */
static size_t my_cp1252_to_utf8(const uint8_t *p, size_t n, uint8_t *o)
{
	static const uint16_t cp1252[32] = {0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020,
	                                    0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D,
	                                    0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D,
	                                    0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
	                                    0x0153, 0x009D, 0x017E, 0x0178};
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t cp = p[i];
		if (cp >= 0x80 && cp < 0xA0)
			cp = cp1252[cp - 0x80];
		if (cp < 0x80) {
			o[k++] = (uint8_t)cp;
		} else if (cp < 0x800) {
			o[k++] = (uint8_t)(0xC0 | cp >> 6);
			o[k++] = (uint8_t)(0x80 | (cp & 0x3F));
		} else {
			o[k++] = (uint8_t)(0xE0 | cp >> 12);
			o[k++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
			o[k++] = (uint8_t)(0x80 | (cp & 0x3F));
		}
	}
	return k;
}

/* Parse "('a','b''c')" (the list in COLUMN_TYPE of an ENUM or SET). */
static void my_parse_elems(const char *s, sl_my_coltype *ct)
{
	const char *p = strchr(s, '(');
	if (p == NULL)
		return;
	p++;
	sl_buf cur = {0};
	while (*p == '\'') {
		p++;
		sl_buf_reset(&cur);
		while (*p) {
			if (*p == '\'' && p[1] == '\'') {
				sl_buf_putc(&cur, '\'');
				p += 2;
			} else if (*p == '\\' && p[1]) {
				sl_buf_putc(&cur, p[1]);
				p += 2;
			} else if (*p == '\'') {
				p++;
				break;
			} else {
				sl_buf_putc(&cur, *p++);
			}
		}
		ct->elems = sl_realloc(ct->elems, (size_t)(ct->nelems + 1) * sizeof *ct->elems);
		ct->elems[ct->nelems++] = sl_strdup(sl_buf_cstr(&cur));
		if (*p == ',')
			p++;
	}
	sl_buf_free(&cur);
}

bool sl_my_coltype_from_schema(const char *dt, const char *coltype, const char *charset,
                               long long octet_length, int datetime_prec, int num_prec,
                               int num_scale, bool json, sl_my_coltype *ct, const char **reason)
{
	memset(ct, 0, sizeof *ct);
	ct->is_unsigned = strstr(coltype, "unsigned") != NULL;
	ct->fsp = datetime_prec > 0 ? datetime_prec : 0;
	ct->charset = SL_MY_CS_BINARY;
	if (strcmp(dt, "tinyint") == 0)
		ct->type = SL_MY_TINY;
	else if (strcmp(dt, "smallint") == 0)
		ct->type = SL_MY_SHORT;
	else if (strcmp(dt, "mediumint") == 0)
		ct->type = SL_MY_INT24;
	else if (strcmp(dt, "int") == 0)
		ct->type = SL_MY_LONG;
	else if (strcmp(dt, "bigint") == 0)
		ct->type = SL_MY_LONGLONG;
	else if (strcmp(dt, "float") == 0)
		ct->type = SL_MY_FLOAT;
	else if (strcmp(dt, "double") == 0)
		ct->type = SL_MY_DOUBLE;
	else if (strcmp(dt, "decimal") == 0) {
		ct->type = SL_MY_NEWDECIMAL;
		ct->precision = num_prec;
		ct->scale = num_scale;
	} else if (strcmp(dt, "date") == 0)
		ct->type = SL_MY_DATE;
	else if (strcmp(dt, "time") == 0)
		ct->type = SL_MY_TIME2;
	else if (strcmp(dt, "datetime") == 0)
		ct->type = SL_MY_DATETIME2;
	else if (strcmp(dt, "timestamp") == 0)
		ct->type = SL_MY_TIMESTAMP2;
	else if (strcmp(dt, "year") == 0)
		ct->type = SL_MY_YEAR;
	else if (strcmp(dt, "bit") == 0) {
		ct->type = SL_MY_BIT;
		ct->bits = num_prec > 0 ? num_prec : atoi(coltype + 4);
	} else if (strcmp(dt, "char") == 0 || strcmp(dt, "binary") == 0) {
		ct->type = SL_MY_STRING;
		ct->length = (int)octet_length;
		ct->charset = my_charset_by_name(charset);
	} else if (strcmp(dt, "varchar") == 0 || strcmp(dt, "varbinary") == 0) {
		ct->type = SL_MY_VARCHAR;
		ct->charset = my_charset_by_name(charset);
	} else if (strstr(dt, "text") || strstr(dt, "blob")) {
		ct->type = SL_MY_BLOB;
		ct->charset = my_charset_by_name(charset);
	} else if (strcmp(dt, "json") == 0) {
		ct->type = SL_MY_JSON;
		ct->charset = SL_MY_CS_UTF8;
		json = true;
	} else if (strcmp(dt, "enum") == 0 || strcmp(dt, "set") == 0) {
		ct->type = dt[0] == 'e' ? SL_MY_ENUM : SL_MY_SET;
		ct->charset = my_charset_by_name(charset);
		my_parse_elems(coltype, ct);
	} else {
		*reason = strstr("geometry point linestring polygon multipoint multilinestring "
		                 "multipolygon geometrycollection geomcollection",
		                 dt)
		                  ? "spatial types are not supported"
		                  : "this type is not supported";
		return false;
	}
	if (json)
		ct->json = true;
	if (ct->charset == SL_MY_CS_OTHER) {
		*reason = "only the utf8mb4, utf8mb3, ascii, latin1 and binary character sets are "
		          "supported";
		return false;
	}
	return true;
}

bool sl_my_coltype_from_binlog(const sl_binlog_column *bc, sl_my_coltype *ct, const char **reason)
{
	memset(ct, 0, sizeof *ct);
	ct->type = bc->type;
	ct->is_unsigned = bc->is_unsigned;
	ct->charset = my_charset_by_id(bc->charset);
	switch (bc->type) {
	case SL_MY_TINY:
	case SL_MY_SHORT:
	case SL_MY_INT24:
	case SL_MY_LONG:
	case SL_MY_LONGLONG:
	case SL_MY_FLOAT:
	case SL_MY_DOUBLE:
	case SL_MY_YEAR:
	case SL_MY_DATE:
	case SL_MY_NEWDATE:
		ct->charset = SL_MY_CS_BINARY;
		if (bc->type == SL_MY_NEWDATE)
			ct->type = SL_MY_DATE;
		break;
	case SL_MY_NEWDECIMAL:
		ct->precision = bc->meta >> 8;
		ct->scale = bc->meta & 0xFF;
		ct->charset = SL_MY_CS_BINARY;
		break;
	case SL_MY_TIME:
	case SL_MY_TIME2:
		ct->type = SL_MY_TIME2;
		ct->fsp = bc->type == SL_MY_TIME2 ? bc->meta : 0;
		ct->charset = SL_MY_CS_BINARY;
		break;
	case SL_MY_DATETIME:
	case SL_MY_DATETIME2:
		ct->type = SL_MY_DATETIME2;
		ct->fsp = bc->type == SL_MY_DATETIME2 ? bc->meta : 0;
		ct->charset = SL_MY_CS_BINARY;
		break;
	case SL_MY_TIMESTAMP:
	case SL_MY_TIMESTAMP2:
		ct->type = SL_MY_TIMESTAMP2;
		ct->fsp = bc->type == SL_MY_TIMESTAMP2 ? bc->meta : 0;
		ct->charset = SL_MY_CS_BINARY;
		break;
	case SL_MY_BIT:
		ct->bits = bc->meta;
		ct->charset = SL_MY_CS_BINARY;
		break;
	case SL_MY_STRING:
		ct->length = bc->meta;
		break;
	case SL_MY_VARCHAR:
	case SL_MY_VAR_STRING:
		ct->type = SL_MY_VARCHAR;
		break;
	case SL_MY_TINY_BLOB:
	case SL_MY_MEDIUM_BLOB:
	case SL_MY_LONG_BLOB:
	case SL_MY_BLOB:
		ct->type = SL_MY_BLOB;
		break;
	case SL_MY_JSON:
		ct->json = true;
		ct->charset = SL_MY_CS_UTF8;
		break;
	case SL_MY_ENUM:
	case SL_MY_SET:
		if (bc->elems == NULL) {
			*reason = "the binlog does not carry its values (set "
			          "binlog_row_metadata=FULL)";
			return false;
		}
		if (ct->charset == SL_MY_CS_OTHER)
			break; /* refused below, like a text column in that character set */
		ct->nelems = bc->nelems;
		ct->elems = sl_calloc((size_t)(bc->nelems ? bc->nelems : 1), sizeof *ct->elems);
		for (int i = 0; i < bc->nelems; i++) {
			/* the binlog writes the values in the column's character set */
			if (ct->charset == SL_MY_CS_LATIN1) {
				size_t n = strlen(bc->elems[i]);
				char *u = sl_malloc(n * 3 + 1);
				u[my_cp1252_to_utf8((const uint8_t *)bc->elems[i], n,
				                    (uint8_t *)u)] = '\0';
				ct->elems[i] = u;
			} else {
				ct->elems[i] = sl_strdup(bc->elems[i]);
			}
		}
		ct->charset = SL_MY_CS_UTF8;
		break;
	case SL_MY_GEOMETRY:
		*reason = "spatial types are not supported";
		return false;
	default:
		*reason = "this type is not supported";
		return false;
	}
	if (ct->charset == SL_MY_CS_OTHER) {
		*reason = "only the utf8mb4, utf8mb3, ascii, latin1 and binary character sets are "
		          "supported";
		sl_my_coltype_reset(ct);
		return false;
	}
	return true;
}

void sl_my_field(const sl_my_coltype *ct, const char *name, sl_field *f)
{
	sl_type_id t = SL_TYPE_UTF8;
	bool u = ct->is_unsigned;
	switch (ct->type) {
	case SL_MY_TINY:
		t = u ? SL_TYPE_UINT8 : SL_TYPE_INT8;
		break;
	case SL_MY_SHORT:
		t = u ? SL_TYPE_UINT16 : SL_TYPE_INT16;
		break;
	case SL_MY_INT24:
	case SL_MY_LONG:
		t = u ? SL_TYPE_UINT32 : SL_TYPE_INT32;
		break;
	case SL_MY_LONGLONG:
		t = u ? SL_TYPE_UINT64 : SL_TYPE_INT64;
		break;
	case SL_MY_FLOAT:
		t = SL_TYPE_FLOAT32;
		break;
	case SL_MY_DOUBLE:
		t = SL_TYPE_FLOAT64;
		break;
	case SL_MY_NEWDECIMAL:
		t = ct->precision <= 38 ? SL_TYPE_DECIMAL128 : SL_TYPE_DECIMAL256;
		break;
	case SL_MY_DATE:
		t = SL_TYPE_DATE32;
		break;
	case SL_MY_TIME2:
		t = ct->fsp <= 3 ? SL_TYPE_INTERVAL_DT : SL_TYPE_UTF8;
		break;
	case SL_MY_DATETIME2:
	case SL_MY_TIMESTAMP2:
		t = SL_TYPE_TIMESTAMP;
		break;
	case SL_MY_YEAR:
		t = SL_TYPE_UINT16;
		break;
	case SL_MY_STRING:
	case SL_MY_VARCHAR:
	case SL_MY_BLOB:
		t = ct->charset == SL_MY_CS_BINARY && !ct->json ? SL_TYPE_BINARY : SL_TYPE_UTF8;
		break;
	case SL_MY_SET:
		t = SL_TYPE_LIST;
		break;
	default: /* ENUM, BIT, JSON */
		t = SL_TYPE_UTF8;
		break;
	}
	sl_field_init(f, name, t);
	if (t == SL_TYPE_DECIMAL128 || t == SL_TYPE_DECIMAL256) {
		f->precision = ct->precision;
		f->scale = ct->scale;
	}
	if (t == SL_TYPE_TIMESTAMP) {
		f->unit = SL_UNIT_US;
		if (ct->type == SL_MY_TIMESTAMP2)
			f->tz = sl_strdup("UTC");
	}
	if (ct->json)
		f->ext_name = sl_strdup("arrow.json");
	if (t == SL_TYPE_LIST) {
		sl_field *child = sl_calloc(1, sizeof *child);
		sl_field_init(child, "item", SL_TYPE_UTF8);
		child->nullable = true;
		sl_field_set_child(f, child);
	}
}

/* ---------------------------------------------------------------- text protocol ---- */

static int my_num(const char **p, const char *end, int maxdigits)
{
	int v = 0, n = 0;
	while (*p < end && n < maxdigits && isdigit((unsigned char)**p)) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	return n ? v : -1;
}

static int my_frac(const char **p, const char *end)
{
	if (*p >= end || **p != '.')
		return 0;
	(*p)++;
	int us = 0, n = 0;
	while (*p < end && isdigit((unsigned char)**p)) {
		if (n < 6)
			us = us * 10 + (**p - '0');
		n++;
		(*p)++;
	}
	for (; n < 6; n++)
		us *= 10;
	return us;
}

int sl_my_parse_text(const sl_my_coltype *ct, const char *s, size_t len, sl_my_value *v,
                     sl_error *err)
{
	v->kind = SL_MYV_NULL;
	if (s == NULL)
		return 0;
	const char *p = s, *end = s + len;
	char tmp[96];
	switch (ct->type) {
	case SL_MY_TINY:
	case SL_MY_SHORT:
	case SL_MY_INT24:
	case SL_MY_LONG:
	case SL_MY_LONGLONG:
	case SL_MY_FLOAT:
	case SL_MY_DOUBLE:
	case SL_MY_YEAR: {
		if (len >= sizeof tmp)
			goto bad;
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		char *e;
		errno = 0;
		if (ct->type == SL_MY_FLOAT) {
			v->kind = SL_MYV_FLOAT;
			v->f = strtof(tmp, &e);
		} else if (ct->type == SL_MY_DOUBLE) {
			v->kind = SL_MYV_DOUBLE;
			v->d = strtod(tmp, &e);
		} else if (ct->type == SL_MY_YEAR) {
			v->kind = SL_MYV_YEAR;
			v->u = strtoull(tmp, &e, 10);
		} else if (ct->is_unsigned) {
			v->kind = SL_MYV_UINT;
			v->u = strtoull(tmp, &e, 10);
		} else {
			v->kind = SL_MYV_INT;
			v->i = strtoll(tmp, &e, 10);
		}
		if (e == tmp || *e != '\0' ||
		    (errno == ERANGE && ct->type != SL_MY_FLOAT && ct->type != SL_MY_DOUBLE))
			goto bad;
		return 0;
	}
	case SL_MY_NEWDECIMAL:
		if (len >= sizeof v->text)
			goto bad;
		v->kind = SL_MYV_DECIMAL;
		memcpy(v->text, s, len);
		v->text[len] = '\0';
		return 0;
	case SL_MY_DATE:
		v->kind = SL_MYV_DATE;
		v->year = my_num(&p, end, 4);
		if (v->year < 0 || p >= end || *p++ != '-')
			goto bad;
		v->month = my_num(&p, end, 2);
		if (v->month < 0 || p >= end || *p++ != '-')
			goto bad;
		v->day = my_num(&p, end, 2);
		if (v->day < 0 || p != end)
			goto bad;
		return 0;
	case SL_MY_DATETIME2:
	case SL_MY_TIMESTAMP2:
		v->kind = SL_MYV_DATETIME;
		v->year = my_num(&p, end, 4);
		if (v->year < 0 || p >= end || *p++ != '-')
			goto bad;
		v->month = my_num(&p, end, 2);
		if (v->month < 0 || p >= end || *p++ != '-')
			goto bad;
		v->day = my_num(&p, end, 2);
		if (v->day < 0 || p >= end || *p++ != ' ')
			goto bad;
		v->hour = my_num(&p, end, 2);
		if (v->hour < 0 || p >= end || *p++ != ':')
			goto bad;
		v->minute = my_num(&p, end, 2);
		if (v->minute < 0 || p >= end || *p++ != ':')
			goto bad;
		v->second = my_num(&p, end, 2);
		if (v->second < 0)
			goto bad;
		v->usec = my_frac(&p, end);
		if (p != end)
			goto bad;
		return 0;
	case SL_MY_TIME2:
		v->kind = SL_MYV_TIME;
		v->neg = p < end && *p == '-';
		if (v->neg)
			p++;
		v->hour = my_num(&p, end, 4);
		if (v->hour < 0 || p >= end || *p++ != ':')
			goto bad;
		v->minute = my_num(&p, end, 2);
		if (v->minute < 0 || p >= end || *p++ != ':')
			goto bad;
		v->second = my_num(&p, end, 2);
		if (v->second < 0)
			goto bad;
		v->usec = my_frac(&p, end);
		if (p != end)
			goto bad;
		return 0;
	case SL_MY_BIT: {
		/* the text protocol sends BIT values as big-endian bytes */
		if (len > 8)
			goto bad;
		uint64_t u = 0;
		for (size_t i = 0; i < len; i++)
			u = u << 8 | (uint8_t)s[i];
		v->kind = SL_MYV_BIT;
		v->u = u;
		v->nbits = ct->bits;
		return 0;
	}
	default:
		v->kind = SL_MYV_BYTES;
		v->bytes = (const uint8_t *)s;
		v->len = len;
		return 0;
	}
bad:
	return sl_error_set(err, SL_ERR_DATA, "cannot read the value '%.*s' as %s",
	                    (int)(len > 40 ? 40 : len), s, "its column type");
}

/* ---------------------------------------------------------------- append ---- */

static void my_latin1_to_utf8(const uint8_t *p, size_t n, sl_column *c)
{
	uint8_t *o = sl_col_append_bytes_start(c, n * 3);
	size_t k = my_cp1252_to_utf8(p, n, o);
	/* give back what was reserved and not used */
	c->values.len -= n * 3 - k;
	((int32_t *)c->offsets.data)[c->length] = (int32_t)c->values.len;
}

static void my_append_text(sl_column *c, const sl_my_coltype *ct, const uint8_t *p, size_t n)
{
	if (ct->charset == SL_MY_CS_LATIN1)
		my_latin1_to_utf8(p, n, c);
	else
		sl_col_append_bytes(c, p, n);
}

static int my_bad(const sl_column *c, const char *what, sl_error *err)
{
	return sl_error_set(err, SL_ERR_DATA, "column %s: %s", c->field->name, what);
}

/* A value of up to n bytes fits the column (var-width, or a list's elements). */
static int my_room(const sl_column *c, size_t n, sl_error *err)
{
	const sl_column *vc = c->field->type == SL_TYPE_LIST ? c->child : c;
	if (sl_col_room(vc, n))
		return 0;
	return sl_error_set(
	        err, SL_ERR_DATA,
	        "column %s: a value of %zu bytes does not fit one batch column (at most "
	        "%" PRId64 " bytes: Arrow's 32-bit offsets)",
	        c->field->name, n, SL_COL_MAX_BYTES);
}

static int my_append_int(sl_column *c, const sl_my_value *v, sl_error *err)
{
	sl_type_id t = c->field->type;
	if (t < SL_TYPE_INT8 || t > SL_TYPE_UINT64)
		return my_bad(c, "integer value for a non-integer column", err);
	if (t == SL_TYPE_UINT64 && v->kind == SL_MYV_INT && v->i < 0)
		return my_bad(c, "negative value in an unsigned column", err);
	/* two's complement, little-endian: the low bytes of the 64-bit value are the value at
	 * every narrower width (the column's type bounds it) */
	uint64_t x = v->kind == SL_MYV_INT ? (uint64_t)v->i : v->u;
	sl_col_append_fixed(c, &x, (size_t)sl_type_value_width(c->field));
	return 0;
}

static void my_format_time(const sl_my_value *v, int fsp, sl_buf *out)
{
	sl_buf_printf(out, "%s%02d:%02d:%02d", v->neg ? "-" : "", v->hour, v->minute, v->second);
	if (fsp > 0) {
		char frac[8];
		snprintf(frac, sizeof frac, "%06d", v->usec);
		sl_buf_printf(out, ".%.*s", fsp, frac);
	}
}

int sl_my_append(sl_column *c, const sl_my_coltype *ct, const sl_my_value *v, sl_buf *scratch,
                 bool *zero_date, sl_error *err)
{
	const sl_field *f = c->field;
	if (v->kind == SL_MYV_NULL || v->kind == SL_MYV_ABSENT) {
		sl_col_append_null(c);
		return 0;
	}
	switch (v->kind) {
	case SL_MYV_INT:
	case SL_MYV_UINT:
		return my_append_int(c, v, err);
	case SL_MYV_YEAR: {
		uint16_t y = (uint16_t)v->u;
		sl_col_append_fixed(c, &y, 2);
		return 0;
	}
	case SL_MYV_FLOAT:
		if (f->type == SL_TYPE_FLOAT64)
			sl_col_append_f64(c, v->f);
		else
			sl_col_append_f32(c, v->f);
		return 0;
	case SL_MYV_DOUBLE:
		if (f->type == SL_TYPE_FLOAT32)
			sl_col_append_f32(c, (float)v->d);
		else
			sl_col_append_f64(c, v->d);
		return 0;
	case SL_MYV_DECIMAL: {
		if (f->type != SL_TYPE_DECIMAL128 && f->type != SL_TYPE_DECIMAL256)
			return my_bad(c, "decimal value for a non-decimal column", err);
		int w = f->type == SL_TYPE_DECIMAL128 ? 16 : 32;
		uint8_t tmp[32];
		if (sl_decimal_from_text(v->text, strlen(v->text), w, f->scale, tmp) < 0)
			return sl_error_set(err, SL_ERR_DATA, "column %s: cannot read decimal %s",
			                    f->name, v->text);
		sl_col_append_fixed(c, tmp, (size_t)w);
		return 0;
	}
	case SL_MYV_DATE:
		if (v->month == 0 || v->day == 0) {
			*zero_date = true;
			sl_col_append_null(c);
			return 0;
		}
		sl_col_append_i32(c, (int32_t)sl_days_from_civil(v->year, v->month, v->day));
		return 0;
	case SL_MYV_DATETIME:
		if (v->month == 0 || v->day == 0) {
			*zero_date = true;
			sl_col_append_null(c);
			return 0;
		}
		sl_col_append_i64(c, ((sl_days_from_civil(v->year, v->month, v->day) * 86400 +
		                       v->hour * 3600 + v->minute * 60 + v->second) *
		                      1000000) +
		                             v->usec);
		return 0;
	case SL_MYV_TIMESTAMP:
		if (v->sec == 0 && v->usec == 0) {
			*zero_date = true;
			sl_col_append_null(c);
			return 0;
		}
		sl_col_append_i64(c, v->sec * 1000000 + v->usec);
		return 0;
	case SL_MYV_TIME: {
		if (f->type == SL_TYPE_INTERVAL_DT) {
			int64_t ms = ((int64_t)v->hour * 3600 + v->minute * 60 + v->second) * 1000 +
			             v->usec / 1000;
			sl_interval_dt iv;
			sl_interval_dt_from_ms(v->neg ? -ms : ms, &iv);
			sl_col_append_fixed(c, &iv, 8);
			return 0;
		}
		sl_buf_reset(scratch);
		/* a negative zero ("-00:00:00.000001" rounds never; "-00:00:00" does not exist) */
		my_format_time(v, ct->fsp, scratch);
		sl_col_append_bytes(c, scratch->data, scratch->len);
		return 0;
	}
	case SL_MYV_BIT: {
		int n = ct->bits > 0 ? ct->bits : v->nbits;
		if (n > 64)
			n = 64;
		uint8_t *o = sl_col_append_bytes_start(c, (size_t)n);
		for (int i = 0; i < n; i++)
			o[i] = (uint8_t)(((v->u >> (n - 1 - i)) & 1) ? '1' : '0');
		return 0;
	}
	case SL_MYV_ENUM: {
		if (v->u == 0) {
			sl_col_append_bytes(c, "", 0);
			return 0;
		}
		if (v->u > (uint64_t)ct->nelems)
			return my_bad(c, "ENUM index beyond the column's values", err);
		const char *e = ct->elems[v->u - 1];
		sl_col_append_bytes(c, e, strlen(e));
		return 0;
	}
	case SL_MYV_SET: {
		sl_column *ch = c->child;
		for (int i = 0; i < ct->nelems && i < 64; i++)
			if ((v->u >> i) & 1)
				sl_col_append_bytes(ch, ct->elems[i], strlen(ct->elems[i]));
		sl_col_end_list(c);
		return 0;
	}
	case SL_MYV_JSON_BIN:
		sl_buf_reset(scratch);
		if (v->len == 0)
			sl_buf_puts(scratch, "null");
		else
			SL_TRY(sl_my_json_to_text(v->bytes, v->len, scratch, err));
		SL_TRY(my_room(c, scratch->len, err));
		sl_col_append_bytes(c, scratch->data, scratch->len);
		return 0;
	case SL_MYV_BYTES:
		/* latin1 text becomes up to 3 bytes of UTF-8 per byte */
		SL_TRY(my_room(c, v->len * (ct->charset == SL_MY_CS_LATIN1 ? 3 : 1), err));
		if (f->type == SL_TYPE_LIST) {
			/* SET as text: "a,b" (values never contain commas) */
			sl_column *ch = c->child;
			size_t i = 0;
			while (i < v->len) {
				size_t j = i;
				while (j < v->len && v->bytes[j] != ',')
					j++;
				my_append_text(ch, ct, v->bytes + i, j - i);
				i = j + 1;
			}
			sl_col_end_list(c);
			return 0;
		}
		if (f->type == SL_TYPE_BINARY && ct->type == SL_MY_STRING && ct->length > 0 &&
		    v->len < (size_t)ct->length) {
			/* BINARY(n) pads with zero bytes, which the binlog leaves out */
			SL_TRY(my_room(c, (size_t)ct->length, err));
			uint8_t *o = sl_col_append_bytes_start(c, (size_t)ct->length);
			memcpy(o, v->bytes, v->len);
			memset(o + v->len, 0, (size_t)ct->length - v->len);
			return 0;
		}
		if (f->type == SL_TYPE_UTF8)
			my_append_text(c, ct, v->bytes, v->len);
		else
			sl_col_append_bytes(c, v->bytes, v->len);
		return 0;
	default:
		return my_bad(c, "value of an unexpected kind", err);
	}
}
