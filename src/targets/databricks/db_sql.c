/* Databricks names, types, staged values and statement text (see db_sql.h). */
#include "targets/databricks/db_sql.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/mem.h"
#include "formats/decimal.h"
#include "formats/json.h"

/* ---------------------------------------------------------------- names ---- */

void db_quote(sl_buf *b, const char *name, bool lower)
{
	sl_buf_putc(b, '`');
	for (const char *p = name; *p; p++) {
		if (*p == '`')
			sl_buf_putc(b, '`');
		sl_buf_putc(b, lower && *p >= 'A' && *p <= 'Z' ? (char)(*p + 32) : *p);
	}
	sl_buf_putc(b, '`');
}

void db_table(sl_buf *b, const char *catalog, const char *schema, const char *table)
{
	db_quote(b, catalog, true);
	sl_buf_putc(b, '.');
	db_quote(b, schema, true);
	sl_buf_putc(b, '.');
	db_quote(b, table, true);
}

void db_lit(sl_buf *b, const char *s)
{
	sl_buf_putc(b, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'' || *p == '\\')
			sl_buf_putc(b, *p == '\'' ? '\'' : '\\');
		sl_buf_putc(b, *p);
	}
	sl_buf_putc(b, '\'');
}

/* ---------------------------------------------------------------- types ---- */

db_kind db_map(const sl_field *f, char *type, size_t n)
{
	if (f->ext_name && strcmp(f->ext_name, "arrow.json") == 0 &&
	    (f->type == SL_TYPE_UTF8 || f->type == SL_TYPE_LARGE_UTF8)) {
		snprintf(type, n, "STRING"); /* VARIANT later, as the spec says */
		return DB_SAME;
	}
	switch (f->type) {
	case SL_TYPE_BOOL:
		snprintf(type, n, "BOOLEAN");
		return DB_SAME;
	case SL_TYPE_INT8:
		snprintf(type, n, "TINYINT");
		return DB_SAME;
	case SL_TYPE_INT16:
		snprintf(type, n, "SMALLINT");
		return DB_SAME;
	case SL_TYPE_INT32:
		snprintf(type, n, "INT");
		return DB_SAME;
	case SL_TYPE_INT64:
		snprintf(type, n, "BIGINT");
		return DB_SAME;
	case SL_TYPE_UINT8: /* one size up: Databricks has no unsigned integers */
		snprintf(type, n, "SMALLINT");
		return DB_CONVERT;
	case SL_TYPE_UINT16:
		snprintf(type, n, "INT");
		return DB_CONVERT;
	case SL_TYPE_UINT32:
		snprintf(type, n, "BIGINT");
		return DB_CONVERT;
	case SL_TYPE_UINT64:
		snprintf(type, n, "DECIMAL(20,0)");
		return DB_CONVERT;
	case SL_TYPE_FLOAT16:
		snprintf(type, n, "FLOAT");
		return DB_CONVERT;
	case SL_TYPE_FLOAT32:
		snprintf(type, n, "FLOAT");
		return DB_SAME;
	case SL_TYPE_FLOAT64:
		snprintf(type, n, "DOUBLE");
		return DB_SAME;
	case SL_TYPE_DECIMAL128:
	case SL_TYPE_DECIMAL256:
		/* DECIMAL holds 38 digits; the Parquet writer stages wider ones as their text */
		if (f->precision >= 1 && f->precision <= 38 && f->scale >= 0 &&
		    f->scale <= f->precision)
			snprintf(type, n, "DECIMAL(%d,%d)", f->precision, f->scale);
		else
			snprintf(type, n, "STRING");
		return DB_SAME;
	case SL_TYPE_DATE32:
		snprintf(type, n, "DATE");
		return DB_SAME;
	case SL_TYPE_DATE64:
		snprintf(type, n, "DATE");
		return DB_CONVERT;
	case SL_TYPE_TIMESTAMP:
		snprintf(type, n, "TIMESTAMP_NTZ");
		return f->unit == SL_UNIT_NS ? DB_CONVERT : DB_SAME;
	case SL_TYPE_TIME32:
	case SL_TYPE_TIME64:
	case SL_TYPE_INTERVAL_DT:
		snprintf(type, n, "STRING");
		return DB_CONVERT;
	case SL_TYPE_UTF8:
	case SL_TYPE_LARGE_UTF8:
		snprintf(type, n, "STRING");
		return DB_SAME;
	case SL_TYPE_BINARY:
	case SL_TYPE_LARGE_BINARY:
	case SL_TYPE_FIXED_BINARY:
		snprintf(type, n, "BINARY");
		return DB_SAME;
	case SL_TYPE_LIST: {
		/* the staged Parquet LIST has one level: a list of lists has no form yet */
		if (!f->child || f->child->type == SL_TYPE_LIST)
			break;
		char elem[80];
		db_kind k = db_map(f->child, elem, sizeof elem);
		if (k == DB_SKIP)
			break;
		snprintf(type, n, "ARRAY<%s>", elem);
		return k;
	}
	default:
		break;
	}
	snprintf(type, n, "?");
	return DB_SKIP;
}

/* docs.databricks.com/aws/en/tables/features/type-widening: the integer ranks, 1..4, or 0 */
static int db_int_rank(const char *t)
{
	static const char *const ints[] = {"TINYINT", "SMALLINT", "INT", "BIGINT"};
	for (int i = 0; i < 4; i++)
		if (strcasecmp(t, ints[i]) == 0)
			return i + 1;
	return 0;
}

/* "DECIMAL(p,s)" (any case) → p, s */
static bool db_decimal(const char *t, int *p, int *s)
{
	return strncasecmp(t, "DECIMAL(", 8) == 0 && sscanf(t + 8, "%d,%d", p, s) == 2;
}

bool db_widens(const char *from, const char *to)
{
	size_t nf = strlen(from), nt = strlen(to);
	if (nf > 7 && nt > 7 && strncasecmp(from, "ARRAY<", 6) == 0 &&
	    strncasecmp(to, "ARRAY<", 6) == 0 && from[nf - 1] == '>' && to[nt - 1] == '>') {
		char ef[80], et[80];
		snprintf(ef, sizeof ef, "%.*s", (int)(nf - 7), from + 6);
		snprintf(et, sizeof et, "%.*s", (int)(nt - 7), to + 6);
		return strcasecmp(ef, et) == 0 || db_widens(ef, et);
	}
	int rf = db_int_rank(from), rt = db_int_rank(to), pf, sf, pt, st;
	bool df = db_decimal(from, &pf, &sf), dt = db_decimal(to, &pt, &st);
	if (rf && rt)
		return rt > rf;
	if (rf && strcasecmp(to, "DOUBLE") == 0)
		return rf < 4;
	if (rf && dt)
		return pt - st >= (rf < 4 ? 10 : 20);
	if (df && dt)
		return st >= sf && pt - pf >= st - sf;
	if (strcasecmp(from, "FLOAT") == 0)
		return strcasecmp(to, "DOUBLE") == 0;
	return strcasecmp(from, "DATE") == 0 && strcasecmp(to, "TIMESTAMP_NTZ") == 0;
}

/* The staged form of field f, in place (f a copy): the type Parquet carries for the column's
 * Databricks type. */
static void db_file_field(sl_field *f)
{
	switch (f->type) {
	case SL_TYPE_UINT8:
		f->type = SL_TYPE_INT16;
		break;
	case SL_TYPE_UINT16:
		f->type = SL_TYPE_INT32;
		break;
	case SL_TYPE_UINT32:
		f->type = SL_TYPE_INT64;
		break;
	case SL_TYPE_UINT64:
		f->type = SL_TYPE_DECIMAL128;
		f->precision = 20, f->scale = 0;
		break;
	case SL_TYPE_FLOAT16:
		f->type = SL_TYPE_FLOAT32;
		break;
	case SL_TYPE_DATE64:
		f->type = SL_TYPE_DATE32;
		break;
	case SL_TYPE_TIMESTAMP:
		/* TIMESTAMP_NTZ: Parquet's isAdjustedToUTC = false; at most microseconds */
		free(f->tz);
		f->tz = NULL;
		if (f->unit == SL_UNIT_NS)
			f->unit = SL_UNIT_US;
		break;
	case SL_TYPE_TIME32:
	case SL_TYPE_TIME64:
	case SL_TYPE_INTERVAL_DT:
		f->type = SL_TYPE_UTF8;
		break;
	case SL_TYPE_LIST:
		if (f->child)
			db_file_field(f->child);
		break;
	default:
		break;
	}
	/* JSON travels as plain text into a STRING column */
	free(f->ext_name);
	f->ext_name = NULL;
}

db_kind db_col_init(db_col *c, const sl_field *f, int src)
{
	memset(c, 0, sizeof *c);
	c->src = src;
	c->kind = db_map(f, c->type, sizeof c->type);
	sl_field_copy(&c->file, f);
	if (c->kind != DB_SKIP)
		db_file_field(&c->file);
	return c->kind;
}

void db_col_reset(db_col *c)
{
	sl_field_reset(&c->file);
}

/* IEEE 754 half to single */
static float db_half(uint16_t h)
{
	int e = (h >> 10) & 0x1F, m = h & 0x3FF;
	float v = e == 0    ? ldexpf((float)m, -24)
	          : e == 31 ? (m ? NAN : INFINITY)
	                    : ldexpf((float)(m | 0x400), e - 25);
	return (h & 0x8000) ? -v : v;
}

static int64_t db_floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* "HH:MM:SS[.fraction]" of a time of day in unit u */
static void db_time_text(sl_buf *b, int64_t v, sl_time_unit u)
{
	int64_t per = u == SL_UNIT_S    ? 1
	              : u == SL_UNIT_MS ? 1000
	              : u == SL_UNIT_US ? 1000000
	                                : 1000000000;
	int digits = u == SL_UNIT_S ? 0 : u == SL_UNIT_MS ? 3 : u == SL_UNIT_US ? 6 : 9;
	int64_t secs = v / per, frac = v % per;
	sl_buf_printf(b, "%02d:%02d:%02d", (int)(secs / 3600), (int)(secs / 60 % 60),
	              (int)(secs % 60));
	if (digits)
		sl_buf_printf(b, ".%0*" PRId64, digits, frac);
}

/* One value (row i of src) converted into dst. */
static void db_value(const sl_field *f, sl_column *dst, const sl_column *src, int64_t i,
                     sl_buf *tmp)
{
	if (!sl_col_is_valid(src, i)) {
		sl_col_append_null(dst);
		return;
	}
	switch (f->type) {
	case SL_TYPE_UINT8:
		sl_col_append_i16(dst, (int16_t) * (const uint8_t *)sl_col_value_ptr(src, i, 1));
		return;
	case SL_TYPE_UINT16: {
		uint16_t v;
		memcpy(&v, sl_col_value_ptr(src, i, 2), 2);
		sl_col_append_i32(dst, (int32_t)v);
		return;
	}
	case SL_TYPE_UINT32: {
		uint32_t v;
		memcpy(&v, sl_col_value_ptr(src, i, 4), 4);
		sl_col_append_i64(dst, (int64_t)v);
		return;
	}
	case SL_TYPE_UINT64: {
		/* a 16-byte little-endian two's complement decimal(20,0) */
		uint8_t d[16] = {0};
		memcpy(d, sl_col_value_ptr(src, i, 8), 8);
		sl_col_append_fixed(dst, d, 16);
		return;
	}
	case SL_TYPE_FLOAT16: {
		uint16_t h;
		memcpy(&h, sl_col_value_ptr(src, i, 2), 2);
		sl_col_append_f32(dst, db_half(h));
		return;
	}
	case SL_TYPE_DATE64: {
		int64_t ms;
		memcpy(&ms, sl_col_value_ptr(src, i, 8), 8);
		sl_col_append_i32(dst, (int32_t)db_floor_div(ms, 86400000));
		return;
	}
	case SL_TYPE_TIMESTAMP: {
		int64_t v;
		memcpy(&v, sl_col_value_ptr(src, i, 8), 8);
		sl_col_append_i64(dst, f->unit == SL_UNIT_NS ? db_floor_div(v, 1000) : v);
		return;
	}
	case SL_TYPE_TIME32:
	case SL_TYPE_TIME64: {
		int64_t v = 0;
		if (f->type == SL_TYPE_TIME32) {
			int32_t x;
			memcpy(&x, sl_col_value_ptr(src, i, 4), 4);
			v = x;
		} else {
			memcpy(&v, sl_col_value_ptr(src, i, 8), 8);
		}
		sl_buf_reset(tmp);
		db_time_text(tmp, v, f->unit);
		sl_col_append_bytes(dst, tmp->data, tmp->len);
		return;
	}
	case SL_TYPE_INTERVAL_DT: {
		/* ISO 8601 seconds: PT90123.500S */
		sl_interval_dt x;
		memcpy(&x, sl_col_value_ptr(src, i, 8), 8);
		int64_t ms = sl_interval_dt_to_ms(x), a = ms < 0 ? -ms : ms;
		sl_buf_reset(tmp);
		sl_buf_printf(tmp, "%sPT%" PRId64 ".%03" PRId64 "S", ms < 0 ? "-" : "", a / 1000,
		              a % 1000);
		sl_col_append_bytes(dst, tmp->data, tmp->len);
		return;
	}
	case SL_TYPE_LIST: {
		const int32_t *off = (const int32_t *)src->offsets.data;
		for (int32_t k = off[i]; k < off[i + 1]; k++)
			db_value(f->child, dst->child, src->child, k, tmp);
		sl_col_end_list(dst);
		return;
	}
	default:
		sl_col_append_from(dst, src, i);
		return;
	}
}

void db_col_append(const db_col *c, sl_column *dst, const sl_column *src, int64_t i, sl_buf *tmp)
{
	if (c->kind == DB_SAME)
		sl_col_append_from(dst, src, i);
	else
		db_value(src->field, dst, src, i, tmp);
}

/* ---------------------------------------------------------------- statements ---- */

void db_sql_create(sl_buf *b, const char *qt, const db_col *cols, int n, const int *key, int nkey)
{
	sl_buf_printf(b, "CREATE TABLE IF NOT EXISTS %s (", qt);
	for (int i = 0; i < n; i++) {
		bool is_key = false;
		for (int k = 0; k < nkey; k++)
			is_key |= key[k] == i;
		db_quote(b, cols[i].file.name, false);
		sl_buf_printf(b, " %s%s, ", cols[i].type, is_key ? " NOT NULL" : "");
	}
	/* column mapping by name: a column renamed on the source is renamed here (RENAME COLUMN);
	 * type widening: one widened there is widened here (ALTER COLUMN ... TYPE) */
	sl_buf_puts(b, "`" DB_VERSION "` DECIMAL(20,0), `" DB_SEQ "` BIGINT, `" DB_DELETED
	               "` BOOLEAN) TBLPROPERTIES ('delta.columnMapping.mode' = 'name', "
	               "'delta.enableTypeWidening' = 'true')");
}

void db_sql_copy(sl_buf *b, const char *qt, const char *dir, const char *const *files, int nfiles)
{
	sl_buf_printf(b, "COPY INTO %s FROM ", qt);
	db_lit(b, dir);
	sl_buf_puts(b, " FILEFORMAT = PARQUET FILES = (");
	for (int i = 0; i < nfiles; i++) {
		if (i)
			sl_buf_puts(b, ", ");
		db_lit(b, files[i]);
	}
	sl_buf_putc(b, ')');
}

static void db_col_ref(sl_buf *b, const char *alias, const char *name)
{
	sl_buf_printf(b, "%s.", alias);
	db_quote(b, name, false);
}

void db_sql_merge(sl_buf *b, const char *qt, const char *path, const db_col *cols, int n,
                  const int *key, int nkey, bool unchanged)
{
	/* a change applies over an older one only: (version, seq) orders them */
	static const char guard[] = "(s.`" DB_VERSION "` > t.`" DB_VERSION "` OR (s.`" DB_VERSION
	                            "` = t.`" DB_VERSION "` AND s.`" DB_SEQ "` > t.`" DB_SEQ "`))";
	sl_buf_printf(b, "MERGE INTO %s AS t USING (SELECT * FROM read_files(", qt);
	db_lit(b, path);
	sl_buf_puts(b, ", format => 'parquet') QUALIFY row_number() OVER (PARTITION BY ");
	for (int k = 0; k < nkey; k++) {
		if (k)
			sl_buf_puts(b, ", ");
		db_quote(b, cols[key[k]].file.name, false);
	}
	sl_buf_puts(b, " ORDER BY `" DB_VERSION "` DESC, `" DB_SEQ "` DESC) = 1) AS s ON ");
	for (int k = 0; k < nkey; k++) {
		if (k)
			sl_buf_puts(b, " AND ");
		db_col_ref(b, "t", cols[key[k]].file.name);
		sl_buf_puts(b, " = ");
		db_col_ref(b, "s", cols[key[k]].file.name);
	}
	sl_buf_printf(b,
	              " WHEN MATCHED AND %s AND s.`" DB_DELETED "` THEN UPDATE SET `" DB_DELETED
	              "` = true, `" DB_VERSION "` = s.`" DB_VERSION "`, `" DB_SEQ "` = s.`" DB_SEQ
	              "`",
	              guard);
	if (unchanged) {
		/* a change needing its row that is not there fails, unless it may miss it ('L') */
		sl_buf_printf(b,
		              " WHEN MATCHED AND %s AND t.`" DB_DELETED "` AND s.`" DB_UNCHANGED
		              "` IS NOT NULL AND substr(s.`" DB_UNCHANGED "`, %d, 1) <> 'L' THEN "
		              "UPDATE SET `" DB_VERSION "` = raise_error('" DB_LOST "')"
		              " WHEN NOT MATCHED AND s.`" DB_UNCHANGED
		              "` IS NOT NULL AND substr(s.`" DB_UNCHANGED
		              "`, %d, 1) <> 'L' THEN INSERT (`" DB_VERSION "`) VALUES "
		              "(raise_error('" DB_LOST "'))",
		              guard, n + 1, n + 1);
	}
	sl_buf_printf(b, " WHEN MATCHED AND %s THEN UPDATE SET ", guard);
	for (int i = 0; i < n; i++) {
		db_quote(b, cols[i].file.name, false);
		sl_buf_puts(b, " = ");
		if (unchanged) {
			sl_buf_printf(b,
			              "CASE WHEN substr(s.`" DB_UNCHANGED "`, %d, 1) = '1' THEN ",
			              i + 1);
			db_col_ref(b, "t", cols[i].file.name);
			sl_buf_puts(b, " ELSE ");
			db_col_ref(b, "s", cols[i].file.name);
			sl_buf_puts(b, " END");
		} else {
			db_col_ref(b, "s", cols[i].file.name);
		}
		sl_buf_puts(b, ", ");
	}
	sl_buf_puts(b, "`" DB_VERSION "` = s.`" DB_VERSION "`, `" DB_SEQ "` = s.`" DB_SEQ
	               "`, `" DB_DELETED "` = false WHEN NOT MATCHED AND NOT s.`" DB_DELETED "`");
	if (unchanged)
		sl_buf_puts(b, " AND s.`" DB_UNCHANGED "` IS NULL");
	sl_buf_puts(b, " THEN INSERT (");
	for (int i = 0; i < n; i++) {
		db_quote(b, cols[i].file.name, false);
		sl_buf_puts(b, ", ");
	}
	sl_buf_puts(b, "`" DB_VERSION "`, `" DB_SEQ "`, `" DB_DELETED "`) VALUES (");
	for (int i = 0; i < n; i++) {
		db_col_ref(b, "s", cols[i].file.name);
		sl_buf_puts(b, ", ");
	}
	sl_buf_puts(b, "s.`" DB_VERSION "`, s.`" DB_SEQ "`, false)");
}

void db_sql_insert_new(sl_buf *b, const char *qt, const char *path, const db_col *cols, int n)
{
	sl_buf_printf(b, "MERGE INTO %s AS t USING (SELECT * FROM read_files(", qt);
	db_lit(b, path);
	sl_buf_puts(b, ", format => 'parquet')) AS s ON t.`" DB_VERSION "` = s.`" DB_VERSION
	               "` AND t.`" DB_SEQ "` = s.`" DB_SEQ "` WHEN NOT MATCHED THEN INSERT (");
	for (int i = 0; i < n; i++) {
		db_quote(b, cols[i].file.name, false);
		sl_buf_puts(b, ", ");
	}
	sl_buf_puts(b, "`" DB_VERSION "`, `" DB_SEQ "`, `" DB_DELETED "`) VALUES (");
	for (int i = 0; i < n; i++) {
		db_col_ref(b, "s", cols[i].file.name);
		sl_buf_puts(b, ", ");
	}
	sl_buf_puts(b, "s.`" DB_VERSION "`, s.`" DB_SEQ "`, false)");
}

/* ---------------------------------------------------------------- reading back ---- */

static int64_t db_per(sl_time_unit u)
{
	return u == SL_UNIT_S ? 1 : u == SL_UNIT_MS ? 1000 : u == SL_UNIT_US ? 1000000 : 1000000000;
}

/* "HH:MM:SS[.fraction]" → units of u; -1 when malformed */
static int db_parse_clock(const char *s, sl_time_unit u, int64_t *out, const char **rest)
{
	int h, m, sec, k = 0;
	if (sscanf(s, "%2d:%2d:%2d%n", &h, &m, &sec, &k) != 3 || k != 8 || m > 59 || sec > 60)
		return -1;
	int64_t per = db_per(u), frac = 0, scale = 1;
	s += 8;
	if (*s == '.') {
		s++;
		int nd = 0;
		for (; *s >= '0' && *s <= '9'; s++, nd++)
			if (nd < 9)
				frac = frac * 10 + (*s - '0'), scale *= 10;
		if (nd == 0)
			return -1;
	}
	*out = ((int64_t)h * 3600 + m * 60 + sec) * per + frac * per / scale;
	*rest = s;
	return 0;
}

/* "YYYY-MM-DD" → days; -1 when malformed */
static int db_parse_date(const char *s, int64_t *days, const char **rest)
{
	/* ISO 8601's expanded years too: a sign, up to the 7 digits of DATE's range */
	bool neg = *s == '-', sign = neg || *s == '+';
	char *end;
	long long y = strtoll(s + sign, &end, 10);
	int m, d, k = 0;
	if (end == s + sign || !isdigit((unsigned char)s[sign]) || end - (s + sign) > 7 ||
	    sscanf(end, "-%2d-%2d%n", &m, &d, &k) != 2 || k != 6 || m < 1 || m > 12 || d < 1 ||
	    d > 31)
		return -1;
	*days = sl_days_from_civil(neg ? -y : y, m, d);
	*rest = end + 6;
	return 0;
}

int db_value_parse(const sl_field *f, const char *s, size_t n, sl_column *dst, sl_buf *tmp)
{
	if (!s) {
		sl_col_append_null(dst);
		return 0;
	}
	char *end = NULL;
	int w = sl_type_value_width(f);
	uint8_t v[32] = {0};
	const char *rest;
	switch (f->type) {
	case SL_TYPE_BOOL:
		if (strcmp(s, "true") == 0)
			sl_col_append_bool(dst, true);
		else if (strcmp(s, "false") == 0)
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
		memcpy(v, &x, (size_t)w);
		sl_col_append_fixed(dst, v, (size_t)w);
		return 0;
	}
	case SL_TYPE_UINT8:
	case SL_TYPE_UINT16:
	case SL_TYPE_UINT32:
	case SL_TYPE_UINT64: {
		if (*s == '-')
			return -1;
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
		double x = strtod(s, &end);
		if (end == s || *end)
			return -1;
		if (f->type == SL_TYPE_FLOAT64)
			sl_col_append_f64(dst, x);
		else if (f->type == SL_TYPE_FLOAT32)
			sl_col_append_f32(dst, (float)x);
		else
			return -1; /* verify compares the staged float, not a half */
		return 0;
	}
	case SL_TYPE_DECIMAL128:
	case SL_TYPE_DECIMAL256:
		/* DECIMAL's digits, or the exact text a STRING holds for a wider one */
		if (sl_decimal_from_text(s, n, w, f->scale, v) < 0)
			return -1;
		sl_col_append_fixed(dst, v, (size_t)w);
		return 0;
	case SL_TYPE_DATE32:
	case SL_TYPE_DATE64: {
		int64_t days;
		if (db_parse_date(s, &days, &rest) < 0 || *rest)
			return -1;
		if (f->type == SL_TYPE_DATE32)
			sl_col_append_i32(dst, (int32_t)days);
		else
			sl_col_append_i64(dst, days * 86400000);
		return 0;
	}
	case SL_TYPE_TIMESTAMP: {
		/* "YYYY-MM-DD[T ]HH:MM:SS[.f]" (NTZ: the UTC instant for zoned sources) */
		int64_t days, t;
		if (db_parse_date(s, &days, &rest) < 0 || (*rest != 'T' && *rest != ' '))
			return -1;
		sl_time_unit u = f->unit == SL_UNIT_NS ? SL_UNIT_US : f->unit;
		if (db_parse_clock(rest + 1, u, &t, &rest) < 0 || (*rest && strcmp(rest, "Z") != 0))
			return -1;
		/* the first day of the range starts before INT64_MIN; its instants do not */
		__int128 x = (__int128)days * 86400 * db_per(u) + t;
		if (f->unit == SL_UNIT_NS)
			x *= 1000;
		if (x > INT64_MAX || x < INT64_MIN)
			return -1;
		sl_col_append_i64(dst, (int64_t)x);
		return 0;
	}
	case SL_TYPE_TIME32:
	case SL_TYPE_TIME64: {
		int64_t t;
		if (db_parse_clock(s, f->unit, &t, &rest) < 0 || *rest)
			return -1;
		if (f->type == SL_TYPE_TIME32)
			sl_col_append_i32(dst, (int32_t)t);
		else
			sl_col_append_i64(dst, t);
		return 0;
	}
	case SL_TYPE_INTERVAL_DT: {
		/* [-]PT<seconds>.<ms>S, as staged */
		bool neg = *s == '-';
		const char *p = s + neg;
		long long secs, ms;
		int k = 0;
		if (sscanf(p, "PT%lld.%3lldS%n", &secs, &ms, &k) != 2 || p[k])
			return -1;
		int64_t total = (int64_t)secs * 1000 + ms;
		sl_interval_dt x;
		if (!sl_interval_dt_from_ms(neg ? -total : total, &x))
			return -1;
		sl_col_append_fixed(dst, &x, 8);
		return 0;
	}
	case SL_TYPE_UTF8:
	case SL_TYPE_LARGE_UTF8:
		sl_col_append_bytes(dst, s, n);
		return 0;
	case SL_TYPE_BINARY:
	case SL_TYPE_LARGE_BINARY:
	case SL_TYPE_FIXED_BINARY: {
		/* base64 */
		sl_buf_reset(tmp);
		uint8_t *o = (uint8_t *)sl_buf_reserve(tmp, n / 4 * 3 + 3);
		int len = n ? EVP_DecodeBlock(o, (const unsigned char *)s, (int)n) : 0;
		if (len < 0 || n % 4)
			return -1;
		len -= (n >= 1 && s[n - 1] == '=') + (n >= 2 && s[n - 2] == '=');
		if (f->type == SL_TYPE_FIXED_BINARY) {
			if (len != f->byte_width)
				return -1;
			sl_col_append_fixed(dst, o, (size_t)len);
		} else {
			sl_col_append_bytes(dst, o, (size_t)len);
		}
		return 0;
	}
	case SL_TYPE_LIST: {
		/* a JSON array: elements as JSON numbers, strings, booleans or null */
		sl_json_span arr = {s, n}, it = {0};
		int r;
		sl_buf el = {0};
		int rc = 0;
		while (rc == 0 && (r = sl_json_next(arr, &it)) == 0) {
			if (sl_json_is_null(it)) {
				sl_col_append_null(dst->child);
				continue;
			}
			sl_buf_reset(&el);
			if (it.n && it.p[0] == '"') {
				if (sl_json_string(it, &el) != 0)
					rc = -1;
			} else {
				sl_buf_append(&el, it.p, it.n);
			}
			if (rc == 0)
				rc = db_value_parse(f->child, sl_buf_cstr(&el), el.len, dst->child,
				                    tmp);
		}
		sl_buf_free(&el);
		if (rc < 0 || r < 0)
			return -1;
		sl_col_end_list(dst);
		return 0;
	}
	default:
		return -1;
	}
}
