/* Arrow logical types and their export as `struct ArrowSchema`. */
#include "core/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"

void sl_field_init(sl_field *f, const char *name, sl_type_id type)
{
	memset(f, 0, sizeof *f);
	f->name = sl_strdup(name ? name : "");
	f->type = type;
	f->nullable = true;
}

void sl_field_copy(sl_field *dst, const sl_field *src)
{
	*dst = *src;
	dst->name = sl_strdup(src->name);
	dst->tz = src->tz ? sl_strdup(src->tz) : NULL;
	dst->ext_name = src->ext_name ? sl_strdup(src->ext_name) : NULL;
	dst->source_type = src->source_type ? sl_strdup(src->source_type) : NULL;
	dst->fill_text = src->fill_text ? sl_strdup(src->fill_text) : NULL;
	dst->renamed_from = src->renamed_from ? sl_strdup(src->renamed_from) : NULL;
	dst->fill = NULL;
	if (src->fill) {
		dst->fill = sl_malloc(src->fill_len ? src->fill_len : 1);
		memcpy(dst->fill, src->fill, src->fill_len);
	}
	if (src->child) {
		dst->child = sl_malloc(sizeof *dst->child);
		sl_field_copy(dst->child, src->child);
	}
}

void sl_field_reset(sl_field *f)
{
	free(f->name);
	free(f->tz);
	free(f->ext_name);
	free(f->source_type);
	free(f->fill);
	free(f->fill_text);
	free(f->renamed_from);
	if (f->child) {
		sl_field_reset(f->child);
		free(f->child);
	}
	memset(f, 0, sizeof *f);
}

void sl_field_set_child(sl_field *f, sl_field *child)
{
	if (f->child) {
		sl_field_reset(f->child);
		free(f->child);
	}
	f->child = child;
}

static const char sl_unit_char[] = {'s', 'm', 'u', 'n'};
static const char *sl_unit_name[] = {"s", "ms", "us", "ns"};

const char *sl_field_format(const sl_field *f, char *buf, int n)
{
	switch (f->type) {
	case SL_TYPE_NA:
		return "n";
	case SL_TYPE_BOOL:
		return "b";
	case SL_TYPE_INT8:
		return "c";
	case SL_TYPE_INT16:
		return "s";
	case SL_TYPE_INT32:
		return "i";
	case SL_TYPE_INT64:
		return "l";
	case SL_TYPE_UINT8:
		return "C";
	case SL_TYPE_UINT16:
		return "S";
	case SL_TYPE_UINT32:
		return "I";
	case SL_TYPE_UINT64:
		return "L";
	case SL_TYPE_FLOAT16:
		return "e";
	case SL_TYPE_FLOAT32:
		return "f";
	case SL_TYPE_FLOAT64:
		return "g";
	case SL_TYPE_DECIMAL128:
		snprintf(buf, (size_t)n, "d:%d,%d", f->precision, f->scale);
		return buf;
	case SL_TYPE_DECIMAL256:
		snprintf(buf, (size_t)n, "d:%d,%d,256", f->precision, f->scale);
		return buf;
	case SL_TYPE_DATE32:
		return "tdD";
	case SL_TYPE_DATE64:
		return "tdm";
	case SL_TYPE_TIME32:
		snprintf(buf, (size_t)n, "tt%c", sl_unit_char[f->unit]);
		return buf;
	case SL_TYPE_TIME64:
		snprintf(buf, (size_t)n, "tt%c", sl_unit_char[f->unit]);
		return buf;
	case SL_TYPE_TIMESTAMP:
		snprintf(buf, (size_t)n, "ts%c:%s", sl_unit_char[f->unit], f->tz ? f->tz : "");
		return buf;
	case SL_TYPE_INTERVAL_DT:
		return "tiD";
	case SL_TYPE_UTF8:
		return "u";
	case SL_TYPE_LARGE_UTF8:
		return "U";
	case SL_TYPE_BINARY:
		return "z";
	case SL_TYPE_LARGE_BINARY:
		return "Z";
	case SL_TYPE_FIXED_BINARY:
		snprintf(buf, (size_t)n, "w:%d", f->byte_width);
		return buf;
	case SL_TYPE_LIST:
		return "+l";
	case SL_TYPE_COUNT_:
		break;
	}
	return "n";
}

const char *sl_field_describe(const sl_field *f, char *buf, int n)
{
	static const char *names[SL_TYPE_COUNT_] = {
	        "Null",        "Boolean",         "Int8",       "Int16",  "Int32",     "Int64",
	        "UInt8",       "UInt16",          "UInt32",     "UInt64", "Float16",   "Float32",
	        "Float64",     "Decimal128",      "Decimal256", "Date32", "Date64",    "Time32",
	        "Time64",      "Timestamp",       "Interval",   "Utf8",   "LargeUtf8", "Binary",
	        "LargeBinary", "FixedSizeBinary", "List"};
	char inner[128];
	switch (f->type) {
	case SL_TYPE_DECIMAL128:
	case SL_TYPE_DECIMAL256:
		snprintf(buf, (size_t)n, "%s(%d, %d)", names[f->type], f->precision, f->scale);
		break;
	case SL_TYPE_TIME32:
	case SL_TYPE_TIME64:
		snprintf(buf, (size_t)n, "%s(%s)", names[f->type], sl_unit_name[f->unit]);
		break;
	case SL_TYPE_TIMESTAMP:
		if (f->tz)
			snprintf(buf, (size_t)n, "Timestamp(%s, \"%s\")", sl_unit_name[f->unit],
			         f->tz);
		else
			snprintf(buf, (size_t)n, "Timestamp(%s)", sl_unit_name[f->unit]);
		break;
	case SL_TYPE_FIXED_BINARY:
		snprintf(buf, (size_t)n, "FixedSizeBinary(%d)", f->byte_width);
		break;
	case SL_TYPE_INTERVAL_DT:
		snprintf(buf, (size_t)n, "Interval(DayTime)");
		break;
	case SL_TYPE_LIST:
		snprintf(buf, (size_t)n, "List<%s>",
		         f->child ? sl_field_describe(f->child, inner, sizeof inner) : "?");
		break;
	default:
		snprintf(buf, (size_t)n, "%s", f->type < SL_TYPE_COUNT_ ? names[f->type] : "?");
		break;
	}
	if (f->ext_name) {
		size_t len = strlen(buf);
		snprintf(buf + len, (size_t)n - len, " [%s]", f->ext_name);
	}
	return buf;
}

int sl_type_value_width(const sl_field *f)
{
	switch (f->type) {
	case SL_TYPE_INT8:
	case SL_TYPE_UINT8:
		return 1;
	case SL_TYPE_INT16:
	case SL_TYPE_UINT16:
	case SL_TYPE_FLOAT16:
		return 2;
	case SL_TYPE_INT32:
	case SL_TYPE_UINT32:
	case SL_TYPE_FLOAT32:
	case SL_TYPE_DATE32:
	case SL_TYPE_TIME32:
		return 4;
	case SL_TYPE_INT64:
	case SL_TYPE_UINT64:
	case SL_TYPE_FLOAT64:
	case SL_TYPE_DATE64:
	case SL_TYPE_TIME64:
	case SL_TYPE_TIMESTAMP:
	case SL_TYPE_INTERVAL_DT:
		return 8;
	case SL_TYPE_DECIMAL128:
		return 16;
	case SL_TYPE_DECIMAL256:
		return 32;
	case SL_TYPE_FIXED_BINARY:
		return f->byte_width;
	default:
		return 0;
	}
}

bool sl_type_is_var_width(sl_type_id t)
{
	return t == SL_TYPE_UTF8 || t == SL_TYPE_BINARY;
}

/* ---- ArrowSchema export ---- */

struct sl_schema_private {
	char *format, *name, *metadata;
	struct ArrowSchema **children;
	int64_t n_children;
};

static void sl_schema_release(struct ArrowSchema *s)
{
	if (s == NULL || s->release == NULL)
		return;
	struct sl_schema_private *p = s->private_data;
	for (int64_t i = 0; i < p->n_children; i++) {
		struct ArrowSchema *c = p->children[i];
		if (c->release)
			c->release(c);
		free(c);
	}
	free(p->children);
	free(p->format);
	free(p->name);
	free(p->metadata);
	free(p);
	s->release = NULL;
}

static void sl_meta_put(sl_buf *m, const char *k, const char *v)
{
	int32_t kl = (int32_t)strlen(k), vl = (int32_t)strlen(v);
	sl_buf_append(m, &kl, 4);
	sl_buf_append(m, k, (size_t)kl);
	sl_buf_append(m, &vl, 4);
	sl_buf_append(m, v, (size_t)vl);
}

static void sl_schema_fill(struct ArrowSchema *s, const char *format, const char *name,
                           const sl_field *f, int64_t n_children)
{
	struct sl_schema_private *p = sl_calloc(1, sizeof *p);
	p->format = sl_strdup(format);
	p->name = sl_strdup(name ? name : "");
	if (f && (f->ext_name || f->source_type)) {
		sl_buf m = {0};
		int32_t count = (f->ext_name ? 1 : 0) + (f->source_type ? 1 : 0);
		sl_buf_append(&m, &count, 4);
		if (f->ext_name)
			sl_meta_put(&m, "ARROW:extension:name", f->ext_name);
		if (f->source_type)
			sl_meta_put(&m, "sluice.source_type", f->source_type);
		p->metadata = (char *)m.data;
	}
	p->n_children = n_children;
	p->children = n_children ? sl_calloc((size_t)n_children, sizeof *p->children) : NULL;
	for (int64_t i = 0; i < n_children; i++)
		p->children[i] = sl_calloc(1, sizeof **p->children);
	memset(s, 0, sizeof *s);
	s->format = p->format;
	s->name = p->name;
	s->metadata = p->metadata;
	s->flags = (f == NULL || f->nullable) ? ARROW_FLAG_NULLABLE : 0;
	s->n_children = n_children;
	s->children = p->children;
	s->release = sl_schema_release;
	s->private_data = p;
}

static void sl_field_export(const sl_field *f, struct ArrowSchema *s)
{
	char fmt[64];
	sl_field_format(f, fmt, sizeof fmt);
	if (f->type == SL_TYPE_LIST) {
		sl_schema_fill(s, fmt, f->name, f, 1);
		sl_field_export(f->child, s->children[0]);
	} else {
		sl_schema_fill(s, fmt, f->name, f, 0);
	}
}

void sl_fields_export_schema(const char *name, const sl_field *fields, int n,
                             struct ArrowSchema *out)
{
	sl_schema_fill(out, "+s", name, NULL, n);
	out->flags = 0;
	for (int i = 0; i < n; i++)
		sl_field_export(&fields[i], out->children[i]);
}

int64_t sl_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void sl_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}
