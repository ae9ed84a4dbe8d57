/* Column selection and masking: rules checked against the discovered catalog, then applied to
 * snapshot batches and change messages (see columns.h). The mask key is never put into a
 * message. */
#include "core/columns.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "formats/decimal.h"

/* ---------------------------------------------------------------- hashing ---- */

void sl_mask_hmac_hex(const char *key, const void *data, size_t n, char out[SL_MASK_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	static const unsigned char empty = 0;
	/* XXX: the one-shot HMAC() looks the digest up on every call; a per-thread context
	 * would be faster for wide masked tables */
	HMAC(EVP_sha256(), key, (int)strlen(key), n ? data : &empty, n, md, &len);
	for (unsigned int i = 0; i < len && i < SL_MASK_HEX_LEN / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[SL_MASK_HEX_LEN] = '\0';
}

static int sl_mask_int_text(const sl_column *c, int64_t i, char *buf, size_t n)
{
	const uint8_t *p = c->values.data;
	switch (c->field->type) {
	case SL_TYPE_INT8:
		return snprintf(buf, n, "%d", (int)((const int8_t *)p)[i]);
	case SL_TYPE_INT16:
		return snprintf(buf, n, "%d", (int)((const int16_t *)p)[i]);
	case SL_TYPE_INT32:
		return snprintf(buf, n, "%" PRId32, ((const int32_t *)p)[i]);
	case SL_TYPE_INT64:
		return snprintf(buf, n, "%" PRId64, ((const int64_t *)p)[i]);
	case SL_TYPE_UINT8:
		return snprintf(buf, n, "%u", (unsigned)((const uint8_t *)p)[i]);
	case SL_TYPE_UINT16:
		return snprintf(buf, n, "%u", (unsigned)((const uint16_t *)p)[i]);
	case SL_TYPE_UINT32:
		return snprintf(buf, n, "%" PRIu32, ((const uint32_t *)p)[i]);
	case SL_TYPE_UINT64:
		return snprintf(buf, n, "%" PRIu64, ((const uint64_t *)p)[i]);
	default:
		return -1;
	}
}

void sl_mask_value_hex(const sl_column *c, int64_t i, const char *key,
                       char out[SL_MASK_HEX_LEN + 1])
{
	const sl_field *f = c->field;
	char text[96];
	int n;
	if (sl_type_is_var_width(f->type)) {
		int32_t len;
		const uint8_t *p = sl_col_bytes(c, i, &len);
		sl_mask_hmac_hex(key, p, (size_t)len, out);
		return;
	}
	if (f->type == SL_TYPE_BOOL) {
		const char *s = sl_col_bool(c, i) ? "true" : "false";
		sl_mask_hmac_hex(key, s, strlen(s), out);
		return;
	}
	if ((n = sl_mask_int_text(c, i, text, sizeof text)) >= 0) {
		sl_mask_hmac_hex(key, text, (size_t)n, out);
		return;
	}
	int w = sl_type_value_width(f);
	const uint8_t *v = c->values.data + i * w;
	if ((f->type == SL_TYPE_DECIMAL128 || f->type == SL_TYPE_DECIMAL256) &&
	    sl_decimal_special_of(v, w) == SL_DECIMAL_FINITE) {
		n = sl_decimal_to_text(v, w, f->scale, text);
		sl_mask_hmac_hex(key, text, (size_t)n, out);
		return;
	}
	if (f->type == SL_TYPE_DECIMAL128 || f->type == SL_TYPE_DECIMAL256) {
		const char *s = sl_decimal_special_name(sl_decimal_special_of(v, w));
		sl_mask_hmac_hex(key, s, strlen(s), out);
		return;
	}
	sl_mask_hmac_hex(key, v, (size_t)(w > 0 ? w : 0), out);
}

void sl_mask_append(sl_column *out, const sl_column *in, int64_t i, sl_mask mask, const char *key)
{
	if (mask == SL_MASK_NONE) {
		sl_col_append_from(out, in, i);
		return;
	}
	if (mask == SL_MASK_NULL || !sl_col_is_valid(in, i)) {
		sl_col_append_null(out);
		return;
	}
	char hex[SL_MASK_HEX_LEN + 1];
	sl_mask_value_hex(in, i, key, hex);
	sl_col_append_bytes(out, hex, SL_MASK_HEX_LEN);
}

void sl_columns_mask_batch(const sl_table_def *t, const char *key, sl_batch *in, sl_batch *out)
{
	for (int i = 0; i < in->ncols && i < out->ncols; i++) {
		sl_column *a = &in->cols[i], *b = &out->cols[i];
		sl_mask m = t->masks ? t->masks[i] : SL_MASK_NONE;
		if (m != SL_MASK_NONE) {
			for (int64_t r = 0; r < in->length; r++)
				sl_mask_append(b, a, r, m, key);
			continue;
		}
		/* same type on both sides: swap the buffers, keep each side's field */
		const sl_field *in_field = a->field, *out_field = b->field;
		sl_column tmp = *a;
		*a = *b;
		*b = tmp;
		a->field = in_field;
		b->field = out_field;
	}
	out->length = in->length;
	sl_batch_reset(in);
}

/* ---------------------------------------------------------------- rules ---- */

static bool sl_names_has(char **names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

bool sl_columns_keeps(const sl_column_rule *rule, const char *name)
{
	if (rule == NULL)
		return true;
	if (rule->ninclude > 0)
		return sl_names_has(rule->include, rule->ninclude, name);
	return !sl_names_has(rule->exclude, rule->nexclude, name);
}

static sl_mask sl_rule_mask(const sl_column_rule *rule, const char *name)
{
	for (int i = 0; rule != NULL && i < rule->nmasks; i++)
		if (strcmp(rule->masks[i].column, name) == 0)
			return rule->masks[i].mask;
	return SL_MASK_NONE;
}

static bool sl_table_has_column(const sl_table_def *t, const char *name)
{
	for (int i = 0; i < t->nfields; i++)
		if (strcmp(t->fields[i].name, name) == 0)
			return true;
	for (int i = 0; i < t->nskipped; i++)
		if (strcmp(t->skipped[i].name, name) == 0)
			return true;
	return false;
}

static int sl_unknown_column(const sl_config *cfg, const sl_column_rule *rule,
                             const sl_table_def *t, const char *what, const char *name,
                             sl_error *err)
{
	sl_buf cols = {0};
	for (int i = 0; i < t->nfields; i++)
		sl_buf_printf(&cols, "%s%s", i ? ", " : "", t->fields[i].name);
	int rc = sl_error_set(err, SL_ERR_CONFIG,
	                      "%s:%d: source.tables.columns.%s %s column '%s', which table %s "
	                      "does not have (its columns: %s; names are case-sensitive)",
	                      cfg->path ? cfg->path : "pipeline", rule->line, rule->table, what,
	                      name, t->qualified, sl_buf_cstr(&cols));
	sl_buf_free(&cols);
	return rc;
}

/* Every name the rule gives exists, and keys stay and are not nulled. */
static int sl_rule_check(const sl_config *cfg, const sl_column_rule *rule, const sl_table_def *t,
                         sl_error *err)
{
	const char *file = cfg->path ? cfg->path : "pipeline";
	for (int i = 0; i < rule->ninclude; i++)
		if (!sl_table_has_column(t, rule->include[i]))
			return sl_unknown_column(cfg, rule, t, "includes", rule->include[i], err);
	for (int i = 0; i < rule->nexclude; i++)
		if (!sl_table_has_column(t, rule->exclude[i]))
			return sl_unknown_column(cfg, rule, t, "excludes", rule->exclude[i], err);
	for (int i = 0; i < rule->nmasks; i++)
		if (!sl_table_has_column(t, rule->masks[i].column))
			return sl_unknown_column(cfg, rule, t, "masks", rule->masks[i].column, err);
	for (int k = 0; k < t->nkey; k++) {
		const char *kn = t->fields[t->key[k]].name;
		if (!sl_columns_keeps(rule, kn))
			return sl_error_set(err, SL_ERR_CONFIG,
			                    "%s:%d: source.tables.columns.%s leaves out column %s, "
			                    "which is part "
			                    "of the primary key of %s (keys identify rows on the "
			                    "target: %s; to "
			                    "hide its values, mask it with hash instead)",
			                    file, rule->line, rule->table, kn, t->qualified,
			                    rule->ninclude > 0 ? "add it to include"
			                                       : "remove it from exclude");
		if (sl_rule_mask(rule, kn) == SL_MASK_NULL)
			return sl_error_set(err, SL_ERR_CONFIG,
			                    "%s:%d: source.tables.columns.%s masks key column %s "
			                    "of %s with null, "
			                    "which would make every row's key NULL (mask it with "
			                    "hash, which keeps "
			                    "keys distinct, or leave it unmasked)",
			                    file, rule->line, rule->table, kn, t->qualified);
	}
	bool any = false;
	for (int i = 0; i < t->nfields; i++) {
		const sl_field *f = &t->fields[i];
		if (!sl_columns_keeps(rule, f->name))
			continue;
		any = true;
		if (f->type == SL_TYPE_LIST && sl_rule_mask(rule, f->name) == SL_MASK_HASH)
			return sl_error_set(err, SL_ERR_CONFIG,
			                    "%s:%d: source.tables.columns.%s masks column %s with "
			                    "hash, but it holds arrays (%s); hash masks single "
			                    "values (mask it with null, or exclude it)",
			                    file, rule->line, rule->table, f->name,
			                    f->source_type ? f->source_type : "a list");
	}
	if (!any)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "%s:%d: source.tables.columns.%s leaves no column of %s to "
		                    "replicate (include at least one, or exclude the table in "
		                    "source.tables.exclude)",
		                    file, rule->line, rule->table, t->qualified);
	return 0;
}

/* Drop the fields the rule leaves out (the source already stopped reading them). */
static void sl_table_project(sl_table_def *t, const int *keep, int nkeep)
{
	int *newpos = sl_calloc((size_t)(t->nfields ? t->nfields : 1), sizeof *newpos);
	for (int i = 0; i < t->nfields; i++)
		newpos[i] = -1;
	for (int k = 0; k < nkeep; k++)
		newpos[keep[k]] = k;
	sl_field *fields = sl_calloc((size_t)(nkeep ? nkeep : 1), sizeof *fields);
	for (int i = 0; i < t->nfields; i++) {
		if (newpos[i] >= 0) {
			fields[newpos[i]] = t->fields[i];
			continue;
		}
		t->excluded =
		        sl_realloc(t->excluded, (size_t)(t->nexcluded + 1) * sizeof *t->excluded);
		t->excluded[t->nexcluded++] = sl_strdup(t->fields[i].name);
		sl_field_reset(&t->fields[i]);
	}
	for (int k = 0; k < t->nkey; k++)
		t->key[k] = newpos[t->key[k]]; /* keys are kept (checked) */
	free(t->fields);
	t->fields = fields;
	t->nfields = nkeep;
	free(newpos);
}

/* Give masked fields their target shape; keep the source's in read_fields when a type
 * changes. */
static void sl_table_mask(sl_table_def *t, const sl_column_rule *rule)
{
	bool any = false, hash = false;
	for (int i = 0; i < t->nfields; i++) {
		sl_mask m = sl_rule_mask(rule, t->fields[i].name);
		any |= m != SL_MASK_NONE;
		hash |= m == SL_MASK_HASH;
	}
	if (!any)
		return;
	t->masks = sl_calloc((size_t)t->nfields, sizeof *t->masks);
	if (hash) {
		t->read_fields = sl_calloc((size_t)t->nfields, sizeof *t->read_fields);
		for (int i = 0; i < t->nfields; i++)
			sl_field_copy(&t->read_fields[i], &t->fields[i]);
	}
	for (int i = 0; i < t->nfields; i++) {
		sl_field *f = &t->fields[i];
		t->masks[i] = sl_rule_mask(rule, f->name);
		if (t->masks[i] == SL_MASK_NULL) {
			f->nullable = true;
		} else if (t->masks[i] == SL_MASK_HASH) {
			bool nullable = f->nullable;
			char *name = sl_strdup(f->name);
			sl_field_reset(f);
			sl_field_init(f, name, SL_TYPE_UTF8);
			free(name);
			f->nullable = nullable;
			f->source_type = sl_strdup("text");
		}
	}
}

int sl_columns_apply(const sl_config *cfg, sl_catalog *cat, sl_columns_project_fn project,
                     void *ctx, sl_error *err)
{
	for (int r = 0; r < cfg->source.ncolumns; r++) {
		const sl_column_rule *rule = &cfg->source.columns[r];
		int ti = 0;
		while (ti < cat->ntables && strcmp(cat->tables[ti].qualified, rule->table) != 0)
			ti++;
		if (ti == cat->ntables)
			return sl_error_set(err, SL_ERR_CONFIG,
			                    "%s:%d: source.tables.columns names table %s, which is "
			                    "not replicated (write the table as sluice discover "
			                    "lists it, schema.table, and check "
			                    "source.tables.include/exclude)",
			                    cfg->path ? cfg->path : "pipeline", rule->line,
			                    rule->table);
		sl_table_def *t = &cat->tables[ti];
		SL_TRY(sl_rule_check(cfg, rule, t, err));
		t->rule = rule;
		int *keep = sl_calloc((size_t)(t->nfields ? t->nfields : 1), sizeof *keep);
		int nkeep = 0;
		for (int i = 0; i < t->nfields; i++)
			if (sl_columns_keeps(rule, t->fields[i].name))
				keep[nkeep++] = i;
		int rc = 0;
		if (nkeep < t->nfields) {
			rc = project ? project(ctx, cat, ti, keep, nkeep, err) : 0;
			if (rc == 0)
				sl_table_project(t, keep, nkeep);
		}
		free(keep);
		SL_TRY(rc);
		sl_table_mask(t, rule);
	}
	return 0;
}

/* ---------------------------------------------------------------- change stream ---- */

struct sl_colview_table {
	sl_shape *in, *out; /* one reference each */
	int *map;           /* out field -> in field */
	sl_mask *masks;     /* per out field */
};

struct sl_colview {
	const sl_catalog *cat;
	const char *key;
	struct sl_colview_table *tables;
	uint8_t *ubits;
	int ubits_cap;
};

sl_colview *sl_colview_create(const sl_catalog *cat, const char *key)
{
	bool any = false;
	for (int i = 0; i < cat->ntables; i++)
		any |= cat->tables[i].rule != NULL;
	if (!any)
		return NULL;
	sl_colview *v = sl_calloc(1, sizeof *v);
	v->cat = cat;
	v->key = key;
	v->tables = sl_calloc((size_t)cat->ntables, sizeof *v->tables);
	return v;
}

static void sl_colview_table_reset(struct sl_colview_table *vt)
{
	sl_shape_unref(vt->in);
	sl_shape_unref(vt->out);
	free(vt->map);
	free(vt->masks);
	memset(vt, 0, sizeof *vt);
}

void sl_colview_destroy(sl_colview *v)
{
	if (v == NULL)
		return;
	for (int i = 0; i < v->cat->ntables; i++)
		sl_colview_table_reset(&v->tables[i]);
	free(v->tables);
	free(v->ubits);
	free(v);
}

/* The view of a source shape: replicated columns only, masked ones in their target type. */
static void sl_colview_build(struct sl_colview_table *vt, const sl_table_def *t, sl_shape *in)
{
	sl_colview_table_reset(vt);
	int n = in->nfields;
	sl_field *fields = sl_calloc((size_t)(n ? n : 1), sizeof *fields);
	vt->map = sl_calloc((size_t)(n ? n : 1), sizeof *vt->map);
	vt->masks = sl_calloc((size_t)(n ? n : 1), sizeof *vt->masks);
	int nf = 0;
	for (int i = 0; i < n; i++) {
		const sl_field *src = &in->fields[i];
		if (!sl_columns_keeps(t->rule, src->name))
			continue;
		sl_mask m = sl_rule_mask(t->rule, src->name);
		sl_field *f = &fields[nf];
		if (m == SL_MASK_HASH) {
			sl_field_init(f, src->name, SL_TYPE_UTF8);
			f->nullable = src->nullable;
			f->source_type = sl_strdup("text");
			f->key_pos = src->key_pos;
		} else {
			sl_field_copy(f, src);
			if (m == SL_MASK_NULL)
				f->nullable = true;
		}
		vt->map[nf] = i;
		vt->masks[nf] = m;
		nf++;
	}
	vt->in = sl_shape_ref(in);
	vt->out = sl_shape_new(fields, nf);
	vt->out->key_known = in->key_known;
	for (int i = 0; i < nf; i++)
		sl_field_reset(&fields[i]);
	free(fields);
}

static sl_changes *sl_colview_rows(sl_colview *v, struct sl_colview_table *vt, const sl_changes *in)
{
	sl_changes *out = sl_changes_new(in->table, vt->out);
	int nf = vt->out->nfields;
	if (out->ubytes > v->ubits_cap) {
		v->ubits_cap = out->ubytes;
		v->ubits = sl_realloc(v->ubits, (size_t)v->ubits_cap);
	}
	for (int64_t r = 0; r < in->rows->length; r++) {
		bool any_u = false;
		memset(v->ubits, 0, (size_t)out->ubytes);
		for (int j = 0; j < nf; j++) {
			int i = vt->map[j];
			sl_column *dst = &out->rows->cols[j];
			if (sl_changes_is_unchanged(in, r, i)) {
				sl_col_append_null(dst);
				v->ubits[j >> 3] |= (uint8_t)(1u << (j & 7));
				any_u = true;
				continue;
			}
			sl_mask_append(dst, &in->rows->cols[i], r, vt->masks[j], v->key);
		}
		sl_changes_end_row(out, (enum sl_op)sl_changes_op(in, r), any_u ? v->ubits : NULL);
	}
	return out;
}

int sl_colview_apply(sl_colview *v, sl_msg *m, sl_error *err)
{
	if (v == NULL || (m->kind != SL_MSG_SCHEMA && m->kind != SL_MSG_ROWS))
		return 0;
	if (m->table < 0 || m->table >= v->cat->ntables)
		return 0;
	const sl_table_def *t = &v->cat->tables[m->table];
	if (t->rule == NULL)
		return 0;
	struct sl_colview_table *vt = &v->tables[m->table];
	if (m->kind == SL_MSG_SCHEMA) {
		if (vt->in != m->shape)
			sl_colview_build(vt, t, m->shape);
		sl_shape_unref(m->shape);
		m->shape = sl_shape_ref(vt->out);
		return 0;
	}
	if (vt->in == NULL || m->changes->shape != vt->in)
		return sl_error_set(err, SL_ERR_INTERNAL, "changes to %s arrived before its shape",
		                    t->qualified);
	sl_changes *out = sl_colview_rows(v, vt, m->changes);
	sl_changes_free(m->changes);
	m->changes = out;
	return 0;
}

static int cols_name_order(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "label=a,b" with the names sorted */
static void cols_list(sl_buf *b, const char *label, char **names, int n)
{
	char **sorted = sl_calloc((size_t)(n ? n : 1), sizeof *sorted);
	if (n > 0)
		memcpy(sorted, names, sizeof *sorted * (size_t)n);
	qsort(sorted, (size_t)n, sizeof *sorted, cols_name_order);
	sl_buf_printf(b, "%s%s=", b->len ? ";" : "", label);
	for (int i = 0; i < n; i++)
		sl_buf_printf(b, "%s%s", i ? "," : "", sorted[i]);
	free(sorted);
}

char *sl_columns_fingerprint(const sl_table_def *t, const char *mask_key)
{
	const sl_column_rule *r = t->rule;
	sl_buf b = {0};
	if (r == NULL)
		return sl_strdup("");
	cols_list(&b, "include", r->include, r->ninclude);
	cols_list(&b, "exclude", r->exclude, r->nexclude);
	char **masks = sl_calloc((size_t)(r->nmasks ? r->nmasks : 1), sizeof *masks);
	bool hashes = false;
	for (int i = 0; i < r->nmasks; i++) {
		masks[i] = sl_asprintf("%s:%s", r->masks[i].column,
		                       r->masks[i].mask == SL_MASK_HASH ? "hash" : "null");
		hashes |= r->masks[i].mask == SL_MASK_HASH;
	}
	cols_list(&b, "mask", masks, r->nmasks);
	for (int i = 0; i < r->nmasks; i++)
		free(masks[i]);
	free(masks);
	if (hashes && mask_key) {
		static const char probe[] = "sluice mask_key fingerprint";
		char hex[SL_MASK_HEX_LEN + 1];
		sl_mask_hmac_hex(mask_key, probe, sizeof probe - 1, hex);
		hex[16] = '\0';
		sl_buf_printf(&b, ";key=%s", hex);
	}
	char *out = sl_strdup(sl_buf_cstr(&b));
	sl_buf_free(&b);
	return out;
}
