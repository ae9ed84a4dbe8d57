/* Snowflake names, types, staged values and statement text (see sf_sql.h). */
#include "targets/snowflake/sf_sql.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "formats/decimal.h"
#include "formats/json.h"

/* ---------------------------------------------------------------- names ---- */

static bool sf_plain(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '$'))
			return false;
	return true;
}

void sf_fold(sl_buf *b, const char *name)
{
	bool up = sf_plain(name);
	for (const char *p = name; *p; p++)
		sl_buf_putc(b, up && *p >= 'a' && *p <= 'z' ? (char)(*p - 32) : *p);
}

void sf_quote(sl_buf *b, const char *folded)
{
	sl_buf_putc(b, '"');
	for (const char *p = folded; *p; p++) {
		if (*p == '"')
			sl_buf_putc(b, '"');
		sl_buf_putc(b, *p);
	}
	sl_buf_putc(b, '"');
}

void sf_ident(sl_buf *b, const char *name)
{
	sl_buf f = {0};
	sf_fold(&f, name);
	sf_quote(b, sl_buf_cstr(&f));
	sl_buf_free(&f);
}

void sf_lit(sl_buf *b, const char *s)
{
	sl_buf_putc(b, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			sl_buf_putc(b, '\'');
		if (*p == '\\')
			sl_buf_putc(b,
			            '\\'); /* Snowflake's string literals take backslash escapes */
		sl_buf_putc(b, *p);
	}
	sl_buf_putc(b, '\'');
}

void sf_table(sl_buf *b, const char *db, const char *schema, const char *table)
{
	sf_quote(b, db);
	sl_buf_putc(b, '.');
	sf_ident(b, schema);
	sl_buf_putc(b, '.');
	sf_ident(b, table);
}

/* ---------------------------------------------------------------- types ---- */

static int sf_digits(sl_time_unit u)
{
	return u == SL_UNIT_S ? 0 : u == SL_UNIT_MS ? 3 : u == SL_UNIT_US ? 6 : 9;
}

sf_kind sf_map(const sl_field *f, char *type, size_t n)
{
	if (f->ext_name && strcmp(f->ext_name, "arrow.json") == 0 &&
	    (f->type == SL_TYPE_UTF8 || f->type == SL_TYPE_LARGE_UTF8)) {
		snprintf(type, n, "VARIANT");
		return SF_JSON;
	}
	switch (f->type) {
	case SL_TYPE_BOOL:
		snprintf(type, n, "BOOLEAN");
		return SF_SAME;
	case SL_TYPE_INT8:
	case SL_TYPE_INT16:
	case SL_TYPE_INT32:
	case SL_TYPE_INT64:
	case SL_TYPE_UINT8:
	case SL_TYPE_UINT16:
	case SL_TYPE_UINT32:
	case SL_TYPE_UINT64:
		snprintf(type, n, "NUMBER(38,0)");
		return SF_SAME;
	case SL_TYPE_FLOAT16:
	case SL_TYPE_FLOAT32:
	case SL_TYPE_FLOAT64:
		snprintf(type, n, "FLOAT");
		return SF_SAME;
	case SL_TYPE_DECIMAL128:
	case SL_TYPE_DECIMAL256:
		/* NUMBER holds 38 digits; the Parquet writer stages wider decimals as their text */
		if (f->precision >= 1 && f->precision <= 38 && f->scale >= 0 && f->scale <= 37 &&
		    f->scale <= f->precision)
			snprintf(type, n, "NUMBER(%d,%d)", f->precision, f->scale);
		else
			snprintf(type, n, "VARCHAR");
		return SF_SAME;
	case SL_TYPE_DATE32:
		snprintf(type, n, "DATE");
		return SF_SAME;
	case SL_TYPE_DATE64:
		snprintf(type, n, "TIMESTAMP_NTZ(3)");
		return SF_SAME;
	case SL_TYPE_TIME32:
	case SL_TYPE_TIME64:
		snprintf(type, n, "TIME(%d)", sf_digits(f->unit));
		return SF_SAME;
	case SL_TYPE_TIMESTAMP:
		snprintf(type, n, "%s(%d)", f->tz ? "TIMESTAMP_TZ" : "TIMESTAMP_NTZ",
		         sf_digits(f->unit));
		return SF_SAME;
	case SL_TYPE_INTERVAL_DT:
		snprintf(type, n, "VARCHAR");
		return SF_TEXT;
	case SL_TYPE_UTF8:
	case SL_TYPE_LARGE_UTF8:
		snprintf(type, n, "VARCHAR");
		return SF_SAME;
	case SL_TYPE_BINARY:
	case SL_TYPE_LARGE_BINARY:
	case SL_TYPE_FIXED_BINARY:
		snprintf(type, n, "BINARY");
		return SF_SAME;
	case SL_TYPE_LIST:
		if (!f->child || f->child->type == SL_TYPE_LIST)
			break;
		snprintf(type, n, "VARIANT");
		return SF_JSON;
	default:
		break;
	}
	type[0] = 0;
	return SF_SKIP;
}

sf_kind sf_col_init(sf_col *c, const sl_field *f, int src)
{
	memset(c, 0, sizeof *c);
	c->src = src;
	c->kind = sf_map(f, c->type, sizeof c->type);
	sl_buf name = {0};
	sf_fold(&name, f->name);
	if (c->kind == SF_SAME) {
		sl_field_copy(&c->file, f);
		free(c->file.name);
		c->file.name = sl_strdup(sl_buf_cstr(&name));
	} else {
		sl_field_init(&c->file, sl_buf_cstr(&name), SL_TYPE_UTF8);
		c->file.nullable = true;
		if (c->kind == SF_JSON)
			c->file.ext_name = sl_strdup("arrow.json");
	}
	sl_buf_free(&name);
	return c->kind;
}

void sf_col_reset(sf_col *c)
{
	sl_field_reset(&c->file);
}

/* ---------------------------------------------------------------- values ---- */

static int64_t sf_floordiv(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* A timestamp of `v` units since the epoch as ISO 8601 text (UTC with 'Z' when tz). */
static void sf_ts_text(sl_buf *b, int64_t v, sl_time_unit u, bool tz)
{
	int64_t per = u == SL_UNIT_S    ? 1
	              : u == SL_UNIT_MS ? 1000
	              : u == SL_UNIT_US ? 1000000
	                                : 1000000000;
	int64_t frac = v % per;
	if (frac < 0)
		frac += per;
	int64_t secs = sf_floordiv(v, per);
	int64_t days = sf_floordiv(secs, 86400), sod = secs - days * 86400, y;
	int m, d;
	sl_civil_from_days(days, &y, &m, &d);
	sl_buf_printf(b, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d", y, m, d, (int)(sod / 3600),
	              (int)(sod / 60 % 60), (int)(sod % 60));
	if (per > 1)
		sl_buf_printf(b, ".%0*" PRId64, sf_digits(u), frac);
	if (tz)
		sl_buf_putc(b, 'Z');
}

/* Element i of column c (the list's child) as a JSON value. */
static void sf_json_value(sl_buf *b, const sl_column *c, int64_t i)
{
	const sl_field *f = c->field;
	if (!sl_col_is_valid(c, i)) {
		sl_buf_puts(b, "null");
		return;
	}
	int w = sl_type_value_width(f);
	const uint8_t *v = w > 0 ? sl_col_value_ptr(c, i, w) : NULL;
	int32_t len;
	const uint8_t *bytes;
	char tmp[96];
	switch (f->type) {
	case SL_TYPE_BOOL:
		sl_buf_puts(b, sl_col_bool(c, i) ? "true" : "false");
		return;
	case SL_TYPE_INT8:
		sl_buf_printf(b, "%d", *(const int8_t *)v);
		return;
	case SL_TYPE_INT16: {
		int16_t x;
		memcpy(&x, v, 2);
		sl_buf_printf(b, "%d", x);
		return;
	}
	case SL_TYPE_INT32: {
		int32_t x;
		memcpy(&x, v, 4);
		sl_buf_printf(b, "%" PRId32, x);
		return;
	}
	case SL_TYPE_INT64: {
		int64_t x;
		memcpy(&x, v, 8);
		sl_buf_printf(b, "%" PRId64, x);
		return;
	}
	case SL_TYPE_UINT8:
		sl_buf_printf(b, "%u", *v);
		return;
	case SL_TYPE_UINT16: {
		uint16_t x;
		memcpy(&x, v, 2);
		sl_buf_printf(b, "%u", x);
		return;
	}
	case SL_TYPE_UINT32: {
		uint32_t x;
		memcpy(&x, v, 4);
		sl_buf_printf(b, "%" PRIu32, x);
		return;
	}
	case SL_TYPE_UINT64: {
		uint64_t x;
		memcpy(&x, v, 8);
		sl_buf_printf(b, "%" PRIu64, x);
		return;
	}
	case SL_TYPE_FLOAT32:
	case SL_TYPE_FLOAT64: {
		double x;
		if (f->type == SL_TYPE_FLOAT32) {
			float y;
			memcpy(&y, v, 4);
			x = y;
			snprintf(tmp, sizeof tmp, "%.9g", x);
		} else {
			memcpy(&x, v, 8);
			snprintf(tmp, sizeof tmp, "%.17g", x);
		}
		/* JSON has no NaN or infinity: as strings, the way Snowflake spells them */
		if (isnan(x))
			sl_buf_puts(b, "\"NaN\"");
		else if (isinf(x))
			sl_buf_puts(b, x > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		else if (x == 0 && signbit(x))
			sl_buf_puts(b, "-0.0"); /* "-0" would be read as the integer 0 */
		else
			sl_buf_puts(b, tmp);
		return;
	}
	case SL_TYPE_DECIMAL128:
	case SL_TYPE_DECIMAL256: {
		sl_decimal_special s = sl_decimal_special_of(v, w);
		if (f->specials && s != SL_DECIMAL_FINITE) {
			sl_buf_printf(b, "\"%s\"", sl_decimal_special_name(s));
			return;
		}
		sl_decimal_to_text(v, w, f->scale, tmp);
		sl_buf_puts(b, tmp);
		return;
	}
	case SL_TYPE_DATE32: {
		int32_t x;
		memcpy(&x, v, 4);
		if (x == SL_DATE32_POS_INF || x == SL_DATE32_NEG_INF) {
			sl_buf_puts(b, x > 0 ? "\"infinity\"" : "\"-infinity\"");
			return;
		}
		int64_t y;
		int m, d;
		sl_civil_from_days(x, &y, &m, &d);
		sl_buf_printf(b, "\"%04" PRId64 "-%02d-%02d\"", y, m, d);
		return;
	}
	case SL_TYPE_DATE64:
	case SL_TYPE_TIMESTAMP: {
		int64_t x;
		memcpy(&x, v, 8);
		if (f->type == SL_TYPE_TIMESTAMP &&
		    (x == SL_TIMESTAMP_POS_INF || x == SL_TIMESTAMP_NEG_INF)) {
			sl_buf_puts(b, x > 0 ? "\"infinity\"" : "\"-infinity\"");
			return;
		}
		sl_buf_putc(b, '"');
		sf_ts_text(b, x, f->type == SL_TYPE_DATE64 ? SL_UNIT_MS : f->unit,
		           f->type == SL_TYPE_TIMESTAMP && f->tz);
		sl_buf_putc(b, '"');
		return;
	}
	case SL_TYPE_TIME32:
	case SL_TYPE_TIME64: {
		int64_t x = 0;
		if (f->type == SL_TYPE_TIME32) {
			int32_t y;
			memcpy(&y, v, 4);
			x = y;
		} else {
			memcpy(&x, v, 8);
		}
		/* the time of day: the time part of that many units after the epoch */
		sl_buf t = {0};
		sf_ts_text(&t, x, f->unit, false);
		const char *s = strchr(sl_buf_cstr(&t), 'T');
		sl_buf_printf(b, "\"%s\"", s ? s + 1 : "");
		sl_buf_free(&t);
		return;
	}
	case SL_TYPE_UTF8:
	case SL_TYPE_LARGE_UTF8:
		/* a JSON document too goes as its text in a string: inside an array, a JSON null
		 * and a missing (SQL NULL) element would be one and the same */
		bytes = sl_col_bytes(c, i, &len);
		sl_json_put_string(b, bytes, (size_t)len);
		return;
	case SL_TYPE_BINARY:
	case SL_TYPE_LARGE_BINARY:
	case SL_TYPE_FIXED_BINARY:
		if (f->type == SL_TYPE_FIXED_BINARY) {
			len = f->byte_width;
			bytes = sl_col_value_ptr(c, i, f->byte_width);
		} else {
			bytes = sl_col_bytes(c, i, &len);
		}
		sl_buf_putc(b, '"');
		for (int32_t k = 0; k < len; k++)
			sl_buf_printf(b, "%02X", bytes[k]);
		sl_buf_putc(b, '"');
		return;
	case SL_TYPE_INTERVAL_DT: {
		sl_interval_dt x;
		memcpy(&x, v, 8);
		sl_buf_putc(b, '"');
		int64_t ms = sl_interval_dt_to_ms(x);
		sl_buf_printf(b, "%sPT%" PRId64 ".%03" PRId64 "S", ms < 0 ? "-" : "",
		              (ms < 0 ? -ms : ms) / 1000, (ms < 0 ? -ms : ms) % 1000);
		sl_buf_putc(b, '"');
		return;
	}
	default:
		sl_buf_puts(b, "null");
		return;
	}
}

void sf_col_append(const sf_col *c, sl_column *dst, const sl_column *src, int64_t i, sl_buf *tmp)
{
	if (c->kind == SF_SAME || !sl_col_is_valid(src, i)) {
		if (c->kind == SF_SAME)
			sl_col_append_from(dst, src, i);
		else
			sl_col_append_null(dst);
		return;
	}
	sl_buf_reset(tmp);
	if (src->field->type == SL_TYPE_LIST) {
		const int32_t *off = (const int32_t *)src->offsets.data;
		sl_buf_putc(tmp, '[');
		for (int32_t k = off[i]; k < off[i + 1]; k++) {
			if (k > off[i])
				sl_buf_putc(tmp, ',');
			sf_json_value(tmp, src->child, k);
		}
		sl_buf_putc(tmp, ']');
	} else if (src->field->type == SL_TYPE_INTERVAL_DT) {
		sf_json_value(tmp, src, i);
		/* without the JSON quotes */
		memmove(tmp->data, tmp->data + 1, tmp->len - 2);
		tmp->len -= 2;
	} else {
		int32_t len;
		const uint8_t *p = sl_col_bytes(src, i, &len);
		sl_buf_append(tmp, p, (size_t)len);
	}
	sl_col_append_bytes(dst, tmp->data, tmp->len);
}

/* ---------------------------------------------------------------- statements ---- */

static void sf_col_name(sl_buf *b, const char *alias, const sf_col *c)
{
	if (alias)
		sl_buf_printf(b, "%s.", alias);
	sf_quote(b, c->file.name);
}

void sf_sql_create(sl_buf *b, const char *qt, const sf_col *cols, int n, const int *key, int nkey)
{
	sl_buf_printf(b, "CREATE TABLE IF NOT EXISTS %s (", qt);
	for (int i = 0; i < n; i++) {
		bool is_key = false;
		for (int k = 0; k < nkey; k++)
			is_key |= key[k] == i;
		sf_quote(b, cols[i].file.name);
		sl_buf_printf(b, " %s%s, ", cols[i].type, is_key ? " NOT NULL" : "");
	}
	sl_buf_puts(b, "\"" SF_VERSION "\" NUMBER(20,0), \"" SF_DELETED "\" BOOLEAN");
	if (nkey == 0) /* a row's identity: a delete marks one of equal rows by it */
		sl_buf_puts(b, ", \"" SF_ROW "\" NUMBER(38,0) IDENTITY");
	if (nkey > 0) {
		sl_buf_puts(b, ", PRIMARY KEY (");
		for (int k = 0; k < nkey; k++) {
			if (k)
				sl_buf_puts(b, ", ");
			sf_quote(b, cols[key[k]].file.name);
		}
		sl_buf_putc(b, ')');
	}
	sl_buf_putc(b, ')');
}

static const char *sf_staged_type(const sf_col *c)
{
	return c->kind == SF_SAME ? c->type : "VARCHAR";
}

void sf_sql_create_temp(sl_buf *b, const char *qt, const sf_col *cols, int n, const int *key,
                        int nkey)
{
	sl_buf_printf(b, "CREATE TEMPORARY TABLE %s (", qt);
	for (int i = 0; i < n; i++) {
		sf_quote(b, cols[i].file.name);
		sl_buf_printf(b, " %s, ", sf_staged_type(&cols[i]));
	}
	sl_buf_puts(b, "\"" SF_VERSION "\" NUMBER(20,0), \"" SF_SEQ "\" NUMBER(20,0), \"" SF_DELETED
	               "\" BOOLEAN");
	if (nkey > 0) {
		sl_buf_puts(b, ", \"" SF_UNCHANGED "\" VARCHAR");
		for (int k = 0; k < nkey; k++) {
			sl_buf_puts(b, ", \"" SF_FROM);
			for (const char *p = cols[key[k]].file.name; *p; p++) {
				if (*p == '"')
					sl_buf_putc(b, '"');
				sl_buf_putc(b, *p);
			}
			sl_buf_printf(b, "\" %s", sf_staged_type(&cols[key[k]]));
		}
	}
	sl_buf_putc(b, ')');
}

void sf_sql_count_check(sl_buf *b, const char *qt, int64_t n)
{
	sl_buf_printf(b,
	              "SELECT CAST(IFF(COUNT(*) = %" PRId64 ", '0', '" SF_STAGED_MISSING
	              "') AS NUMBER(1,0)) FROM %s",
	              n, qt);
}

void sf_sql_copy(sl_buf *b, const char *qt, const char *location, const char *auth,
                 const char *const *files, int nfiles)
{
	sl_buf_printf(b, "COPY INTO %s FROM ", qt);
	if (location[0] == '@') /* a named stage */
		sl_buf_puts(b, location);
	else
		sf_lit(b, location);
	sl_buf_printf(b, "%s%s FILES = (", *auth ? " " : "", auth);
	for (int i = 0; i < nfiles; i++) {
		if (i)
			sl_buf_puts(b, ", ");
		sf_lit(b, files[i]);
	}
	sl_buf_puts(b, ") FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE) "
	               "MATCH_BY_COLUMN_NAME = CASE_SENSITIVE");
}

/* c."A", or PARSE_JSON(c."A") for a VARIANT column */
static void sf_value(sl_buf *b, const sf_col *c)
{
	if (c->kind == SF_JSON) {
		sl_buf_puts(b, "PARSE_JSON(");
		sf_col_name(b, "c", c);
		sl_buf_putc(b, ')');
	} else {
		sf_col_name(b, "c", c);
	}
}

static void sf_from_name(sl_buf *b, const char *alias, const sf_col *c)
{
	sl_buf_printf(b, "%s.\"" SF_FROM, alias);
	for (const char *p = c->file.name; *p; p++) {
		if (*p == '"')
			sl_buf_putc(b, '"');
		sl_buf_putc(b, *p);
	}
	sl_buf_putc(b, '"');
}

void sf_sql_merge(sl_buf *b, const char *qt, const char *tmp, const sf_col *cols, int n,
                  const int *key, int nkey, bool unchanged)
{
	sl_buf_printf(b, "MERGE INTO %s AS t USING (SELECT ", qt);
	for (int i = 0; i < n; i++) {
		if (unchanged) {
			sl_buf_printf(b, "IFF(SUBSTR(c.\"" SF_UNCHANGED "\", %d, 1) = '1', ",
			              i + 1);
			sf_col_name(b, "o", &cols[i]);
			sl_buf_puts(b, ", ");
			sf_value(b, &cols[i]);
			sl_buf_puts(b, ") AS ");
			sf_quote(b, cols[i].file.name);
		} else if (cols[i].kind == SF_JSON) {
			sf_value(b, &cols[i]);
			sl_buf_puts(b, " AS ");
			sf_quote(b, cols[i].file.name);
		} else {
			sf_col_name(b, "c", &cols[i]);
		}
		sl_buf_puts(b, ", ");
	}
	sl_buf_puts(b, "c.\"" SF_VERSION "\", c.\"" SF_DELETED "\"");
	if (unchanged) {
		sl_buf_puts(b, ", IFF(c.\"" SF_UNCHANGED "\" IS NOT NULL AND ");
		sf_col_name(b, "o", &cols[key[0]]);
		sl_buf_puts(b, " IS NULL, 'sluice: a change on the source left columns unchanged, "
		               "and the row it changed is not in the table', NULL) AS \"" SF_LOST
		               "\"");
	}
	sl_buf_printf(b, " FROM (SELECT * FROM %s QUALIFY ROW_NUMBER() OVER (PARTITION BY ", tmp);
	for (int k = 0; k < nkey; k++) {
		if (k)
			sl_buf_puts(b, ", ");
		sf_quote(b, cols[key[k]].file.name);
	}
	sl_buf_puts(b, " ORDER BY \"" SF_VERSION "\" DESC, \"" SF_SEQ "\" DESC) = 1) AS c");
	if (unchanged) {
		sl_buf_printf(b, " LEFT JOIN %s AS o ON ", qt);
		for (int k = 0; k < nkey; k++) {
			sf_col_name(b, "o", &cols[key[k]]);
			sl_buf_puts(b, " = ");
			sf_from_name(b, "c", &cols[key[k]]);
			sl_buf_puts(b, " AND ");
		}
		sl_buf_puts(b, "NOT o.\"" SF_DELETED "\"");
		/* a change marked lenient ('L' after the bits) that finds no row is skipped */
		sl_buf_puts(b, " WHERE c.\"" SF_UNCHANGED "\" IS NULL OR ");
		sf_col_name(b, "o", &cols[key[0]]);
		sl_buf_printf(b, " IS NOT NULL OR SUBSTR(c.\"" SF_UNCHANGED "\", %d, 1) <> 'L'",
		              n + 1);
	}
	sl_buf_puts(b, ") AS s ON ");
	for (int k = 0; k < nkey; k++) {
		if (k)
			sl_buf_puts(b, " AND ");
		sf_col_name(b, "t", &cols[key[k]]);
		sl_buf_puts(b, " = ");
		sf_col_name(b, "s", &cols[key[k]]);
	}
	if (unchanged)
		sl_buf_puts(b, " WHEN MATCHED AND s.\"" SF_LOST
		               "\" IS NOT NULL THEN UPDATE SET \"" SF_VERSION
		               "\" = CAST(s.\"" SF_LOST "\" AS NUMBER(20,0))");
	sl_buf_puts(b, " WHEN MATCHED AND s.\"" SF_DELETED "\" THEN UPDATE SET \"" SF_DELETED
	               "\" = TRUE, \"" SF_VERSION "\" = s.\"" SF_VERSION "\" WHEN MATCHED THEN "
	               "UPDATE SET ");
	for (int i = 0; i < n; i++) {
		sf_quote(b, cols[i].file.name);
		sl_buf_puts(b, " = ");
		sf_col_name(b, "s", &cols[i]);
		sl_buf_puts(b, ", ");
	}
	sl_buf_puts(b, "\"" SF_VERSION "\" = s.\"" SF_VERSION "\", \"" SF_DELETED "\" = FALSE");
	if (unchanged)
		sl_buf_puts(b, " WHEN NOT MATCHED AND s.\"" SF_LOST
		               "\" IS NOT NULL THEN INSERT (\"" SF_VERSION
		               "\") VALUES (CAST(s.\"" SF_LOST "\" AS NUMBER(20,0)))");
	sl_buf_puts(b, " WHEN NOT MATCHED AND NOT s.\"" SF_DELETED "\" THEN INSERT (");
	for (int i = 0; i < n; i++) {
		sf_quote(b, cols[i].file.name);
		sl_buf_puts(b, ", ");
	}
	sl_buf_puts(b, "\"" SF_VERSION "\", \"" SF_DELETED "\") VALUES (");
	for (int i = 0; i < n; i++) {
		sf_col_name(b, "s", &cols[i]);
		sl_buf_puts(b, ", ");
	}
	sl_buf_puts(b, "s.\"" SF_VERSION "\", FALSE)");
}

void sf_sql_insert(sl_buf *b, const char *qt, const char *tmp, const sf_col *cols, int n,
                   bool changes)
{
	sl_buf_printf(b, "INSERT INTO %s (", qt);
	for (int i = 0; i < n; i++) {
		sf_quote(b, cols[i].file.name);
		sl_buf_puts(b, ", ");
	}
	sl_buf_puts(b, "\"" SF_VERSION "\", \"" SF_DELETED "\") SELECT ");
	for (int i = 0; i < n; i++) {
		sf_value(b, &cols[i]);
		sl_buf_puts(b, ", ");
	}
	sl_buf_printf(b, "c.\"" SF_VERSION "\", %s FROM %s AS c",
	              changes ? "FALSE" : "c.\"" SF_DELETED "\"", tmp);
	if (changes)
		sl_buf_puts(b, " WHERE NOT c.\"" SF_DELETED "\"");
}

/* The live rows of keyless table qt the deletes staged in tmp take (K2, K3): the deletes
 * grouped by their values, each group taking as many live rows equal to it (EQUAL_NULL, the
 * table's own column types) as it has deletes, lowest _SLUICE_ROW first. Columns: "R" (the
 * row's _SLUICE_ROW), "V" (the group's latest delete's version). */
static void sf_keyless_matches(sl_buf *b, const char *qt, const char *tmp, const sf_col *cols,
                               int n)
{
	sl_buf_printf(b,
	              "SELECT r.\"" SF_ROW
	              "\" AS \"_SLUICE_R\", d.\"_SLUICE_V\" FROM %s AS r JOIN (SELECT ",
	              qt);
	for (int i = 0; i < n; i++) {
		sf_col_name(b, "c", &cols[i]);
		sl_buf_puts(b, ", ");
	}
	sl_buf_printf(b,
	              "COUNT(*) AS \"_SLUICE_N\", MAX(c.\"" SF_VERSION
	              "\") AS \"_SLUICE_V\" FROM %s AS c WHERE "
	              "c.\"" SF_DELETED "\" GROUP BY ",
	              tmp);
	for (int i = 0; i < n; i++) {
		if (i)
			sl_buf_puts(b, ", ");
		sf_col_name(b, "c", &cols[i]);
	}
	sl_buf_puts(b, ") AS d ON ");
	for (int i = 0; i < n; i++) {
		if (i)
			sl_buf_puts(b, " AND ");
		sl_buf_puts(b, "EQUAL_NULL(");
		sf_col_name(b, "r", &cols[i]);
		sl_buf_puts(b, ", ");
		if (cols[i].kind == SF_JSON)
			sl_buf_puts(b, "PARSE_JSON(");
		sf_col_name(b, "d", &cols[i]);
		sl_buf_puts(b, cols[i].kind == SF_JSON ? "))" : ")");
	}
	sl_buf_puts(b, " WHERE NOT r.\"" SF_DELETED "\" QUALIFY ROW_NUMBER() OVER (PARTITION BY ");
	for (int i = 0; i < n; i++) {
		if (i)
			sl_buf_puts(b, ", ");
		sf_col_name(b, "d", &cols[i]);
	}
	sl_buf_puts(b, " ORDER BY r.\"" SF_ROW "\") <= d.\"_SLUICE_N\"");
}

void sf_sql_delete_keyless(sl_buf *b, const char *qt, const char *tmp, const sf_col *cols, int n)
{
	sl_buf_printf(b,
	              "UPDATE %s AS t SET \"" SF_DELETED "\" = TRUE, \"" SF_VERSION
	              "\" = z.\"_SLUICE_V\" FROM (",
	              qt);
	sf_keyless_matches(b, qt, tmp, cols, n);
	sl_buf_puts(b, ") AS z WHERE t.\"" SF_ROW "\" = z.\"_SLUICE_R\"");
}

void sf_sql_delete_check(sl_buf *b, const char *qt, const char *tmp, const sf_col *cols, int n,
                         int64_t ndel)
{
	sl_buf_printf(b,
	              "SELECT CAST(IFF(COUNT(DISTINCT \"_SLUICE_R\") = %" PRId64
	              ", '0', '" SF_DELETE_UNMATCHED "') AS NUMBER(1,0)) FROM (",
	              ndel);
	sf_keyless_matches(b, qt, tmp, cols, n);
	sl_buf_putc(b, ')');
}

/* ---------------------------------------------------------------- reading back ---- */

static int64_t sf_per(sl_time_unit u)
{
	return u == SL_UNIT_S ? 1 : u == SL_UNIT_MS ? 1000 : u == SL_UNIT_US ? 1000000 : 1000000000;
}

/* "[-]S[.F]" (seconds and a fraction of up to 9 digits) → units; -1 when malformed. */
static int sf_seconds(const char *s, sl_time_unit u, int64_t *out)
{
	bool neg = *s == '-';
	if (neg || *s == '+')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	int64_t secs = 0, frac = 0;
	int nf = 0;
	while (*s >= '0' && *s <= '9') {
		if (secs > (INT64_MAX - 9) / 10)
			return -1;
		secs = secs * 10 + (*s++ - '0');
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++)
			if (nf < 9)
				frac = frac * 10 + (*s - '0'), nf++;
	}
	while (nf < 9)
		frac *= 10, nf++;
	if (*s && *s != ' ')
		return -1;
	int64_t per = sf_per(u);
	if (secs > INT64_MAX / per)
		return -1;
	int64_t whole = secs * per, part = frac / (1000000000 / per);
	if (whole > INT64_MAX - part) {
		/* only INT64_MIN itself is past INT64_MAX in magnitude */
		if (!neg || whole - 1 > INT64_MAX - part)
			return -1;
		*out = -(whole - 1) - part - 1;
	} else {
		*out = neg ? -(whole + part) : whole + part;
	}
	return 0;
}

/* ISO 8601 "YYYY-MM-DD[THH:MM:SS[.F]][Z]" (what sf_json_value writes) → units; or a date's
 * days when date_only. */
static int sf_iso(const char *s, sl_time_unit u, bool date_only, int64_t *out)
{
	int64_t y;
	int m, d, hh = 0, mm = 0, ss = 0, n = 0;
	if (sscanf(s, "%" SCNd64 "-%d-%d%n", &y, &m, &d, &n) != 3 || y < -100000000 ||
	    y > 100000000 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	int64_t days = sl_days_from_civil(y, m, d);
	if (date_only) {
		*out = days;
		return 0;
	}
	s += n;
	int64_t frac = 0;
	if (*s == 'T') {
		if (sscanf(s + 1, "%d:%d:%d%n", &hh, &mm, &ss, &n) != 3 || hh < 0 || hh > 24 ||
		    mm < 0 || mm > 59 || ss < 0 || ss > 60)
			return -1;
		s += 1 + n;
		if (*s == '.') {
			int nf = 0;
			for (s++; *s >= '0' && *s <= '9'; s++)
				if (nf < 9)
					frac = frac * 10 + (*s - '0'), nf++;
			while (nf < 9)
				frac *= 10, nf++;
		}
	}
	int64_t per = sf_per(u);
	int64_t secs = days * 86400 + hh * 3600 + mm * 60 + ss;
	if (secs > INT64_MAX / per - 1 || secs < INT64_MIN / per + 1)
		return -1;
	*out = secs * per + frac / (1000000000 / per);
	return 0;
}

static int sf_hex(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

int sf_value_parse(const sl_field *f, const char *s, size_t n, bool element, sl_column *dst,
                   sl_buf *tmp)
{
	if (!s) {
		sl_col_append_null(dst);
		return 0;
	}
	char *end = NULL;
	int w = sl_type_value_width(f);
	uint8_t v[32];
	memset(v, 0, sizeof v);
	switch (f->type) {
	case SL_TYPE_BOOL:
		if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcmp(s, "TRUE") == 0)
			sl_col_append_bool(dst, true);
		else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcmp(s, "FALSE") == 0)
			sl_col_append_bool(dst, false);
		else
			return -1;
		return 0;
	case SL_TYPE_INT8:
	case SL_TYPE_INT16:
	case SL_TYPE_INT32:
	case SL_TYPE_INT64: {
		int64_t x = strtoll(s, &end, 10);
		if (end == s || *end)
			return -1;
		memcpy(v, &x, (size_t)w); /* little-endian: the low bytes */
		sl_col_append_fixed(dst, v, (size_t)w);
		return 0;
	}
	case SL_TYPE_UINT8:
	case SL_TYPE_UINT16:
	case SL_TYPE_UINT32:
	case SL_TYPE_UINT64: {
		uint64_t x = strtoull(s, &end, 10);
		if (end == s || *end)
			return -1;
		memcpy(v, &x, (size_t)w);
		sl_col_append_fixed(dst, v, (size_t)w);
		return 0;
	}
	case SL_TYPE_FLOAT16:
	case SL_TYPE_FLOAT32:
	case SL_TYPE_FLOAT64: {
		double x;
		if (strcmp(s, "NaN") == 0 || strcmp(s, "nan") == 0)
			x = NAN;
		else if (strcmp(s, "inf") == 0 || strcmp(s, "Infinity") == 0)
			x = INFINITY;
		else if (strcmp(s, "-inf") == 0 || strcmp(s, "-Infinity") == 0)
			x = -INFINITY;
		else {
			x = strtod(s, &end);
			if (end == s || *end)
				return -1;
		}
		if (f->type == SL_TYPE_FLOAT64) {
			sl_col_append_f64(dst, x);
		} else if (f->type == SL_TYPE_FLOAT32) {
			sl_col_append_f32(dst, (float)x);
		} else {
			return -1; /* no source writes float16 */
		}
		return 0;
	}
	case SL_TYPE_DECIMAL128:
	case SL_TYPE_DECIMAL256:
		if (f->specials && (strcmp(s, "NaN") == 0 || strcmp(s, "Infinity") == 0 ||
		                    strcmp(s, "-Infinity") == 0)) {
			sl_decimal_special_store(strcmp(s, "NaN") == 0        ? SL_DECIMAL_NAN
			                         : strcmp(s, "Infinity") == 0 ? SL_DECIMAL_POS_INF
			                                                      : SL_DECIMAL_NEG_INF,
			                         w, v);
		} else if (sl_decimal_from_text(s, strlen(s), w, f->scale, v) < 0) {
			return -1;
		}
		sl_col_append_fixed(dst, v, (size_t)w);
		return 0;
	case SL_TYPE_DATE32: {
		int64_t d;
		if (element && (strcmp(s, "infinity") == 0 || strcmp(s, "-infinity") == 0)) {
			int32_t x = s[0] == '-' ? SL_DATE32_NEG_INF : SL_DATE32_POS_INF;
			sl_col_append_fixed(dst, &x, 4);
			return 0;
		}
		if (element) {
			if (sf_iso(s, SL_UNIT_S, true, &d) < 0)
				return -1;
		} else {
			d = strtoll(s, &end, 10);
			if (end == s || *end)
				return -1;
		}
		int32_t x = (int32_t)d;
		sl_col_append_fixed(dst, &x, 4);
		return 0;
	}
	case SL_TYPE_DATE64:
	case SL_TYPE_TIMESTAMP:
	case SL_TYPE_TIME32:
	case SL_TYPE_TIME64: {
		sl_time_unit u = f->type == SL_TYPE_DATE64 ? SL_UNIT_MS : f->unit;
		int64_t x;
		if (element && f->type == SL_TYPE_TIMESTAMP &&
		    (strcmp(s, "infinity") == 0 || strcmp(s, "-infinity") == 0)) {
			x = s[0] == '-' ? SL_TIMESTAMP_NEG_INF : SL_TIMESTAMP_POS_INF;
			sl_col_append_fixed(dst, &x, 8);
			return 0;
		}
		if (element && f->type != SL_TYPE_TIME32 && f->type != SL_TYPE_TIME64) {
			if (sf_iso(s, u, false, &x) < 0)
				return -1;
		} else if (element) {
			/* "HH:MM:SS[.F]": a time of day on the epoch's date */
			char day[64];
			snprintf(day, sizeof day, "1970-01-01T%s", s);
			if (sf_iso(day, u, false, &x) < 0)
				return -1;
		} else if (sf_seconds(s, u, &x) < 0) {
			return -1;
		}
		if (w == 4) {
			int32_t y = (int32_t)x;
			sl_col_append_fixed(dst, &y, 4);
		} else {
			sl_col_append_fixed(dst, &x, 8);
		}
		return 0;
	}
	case SL_TYPE_INTERVAL_DT: {
		/* [-]PT<s>.<ms>S */
		bool neg = *s == '-';
		const char *p = s + neg;
		if (strncmp(p, "PT", 2) != 0)
			return -1;
		int64_t ms;
		char num[48];
		size_t k = strlen(p + 2);
		if (k < 2 || k >= sizeof num || p[2 + k - 1] != 'S')
			return -1;
		memcpy(num, p + 2, k - 1);
		num[k - 1] = 0;
		if (sf_seconds(num, SL_UNIT_MS, &ms) < 0 || ms == INT64_MIN)
			return -1;
		sl_interval_dt iv;
		if (!sl_interval_dt_from_ms(neg ? -ms : ms, &iv))
			return -1;
		sl_col_append_fixed(dst, &iv, 8);
		return 0;
	}
	case SL_TYPE_UTF8:
	case SL_TYPE_LARGE_UTF8:
		sl_col_append_bytes(dst, s, n);
		return 0;
	case SL_TYPE_BINARY:
	case SL_TYPE_LARGE_BINARY:
	case SL_TYPE_FIXED_BINARY: {
		if (n % 2)
			return -1;
		sl_buf_reset(tmp);
		for (size_t i = 0; i < n; i += 2) {
			int hi = sf_hex(s[i]), lo = sf_hex(s[i + 1]);
			if (hi < 0 || lo < 0)
				return -1;
			sl_buf_putc(tmp, (char)(hi << 4 | lo));
		}
		if (f->type == SL_TYPE_FIXED_BINARY) {
			if ((int)tmp->len != f->byte_width)
				return -1;
			sl_col_append_fixed(dst, tmp->data, tmp->len);
		} else {
			sl_col_append_bytes(dst, tmp->data, tmp->len);
		}
		return 0;
	}
	case SL_TYPE_LIST: {
		/* a JSON array: each element a JSON value of the child's type */
		sl_json_span arr = {s, n}, it = {0};
		sl_buf text = {0};
		int r, rc = 0;
		while (rc == 0 && (r = sl_json_next(arr, &it)) == 0) {
			const sl_field *cf = f->child;
			if (sl_json_is_null(it)) {
				sl_col_append_null(dst->child);
				continue;
			}
			if (it.p[0] == '"') {
				if (sl_json_string(it, &text) != 0)
					rc = -1;
			} else {
				sl_buf_reset(&text);
				sl_buf_append(&text, it.p, it.n);
				sl_buf_cstr(&text);
			}
			if (rc == 0)
				rc = sf_value_parse(cf, (const char *)text.data, text.len, true,
				                    dst->child, tmp);
		}
		sl_buf_free(&text);
		if (rc < 0 || r < 0)
			return -1;
		sl_col_end_list(dst);
		return 0;
	}
	default:
		return -1;
	}
}
