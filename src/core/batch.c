/* Column builders and Arrow C Data Interface export. */
#include "core/batch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* One entry of a list column's shape table (sl_column.shapes), in row order. */
struct sl_shape_entry {
	int64_t row;
	sl_list_shape shape;
};

static void sl_column_init(sl_column *c, const sl_field *f)
{
	memset(c, 0, sizeof *c);
	c->field = f;
	if (sl_type_is_var_width(f->type) || f->type == SL_TYPE_LIST) {
		int32_t zero = 0;
		sl_buf_append(&c->offsets, &zero, 4);
	}
	if (f->type == SL_TYPE_LIST) {
		c->child = sl_malloc(sizeof *c->child);
		sl_column_init(c->child, f->child);
	}
}

static void sl_column_free(sl_column *c)
{
	sl_buf_free(&c->validity);
	sl_buf_free(&c->values);
	sl_buf_free(&c->offsets);
	if (c->child) {
		sl_column_free(c->child);
		free(c->child);
	}
	if (c->shapes) {
		sl_buf_free(c->shapes);
		free(c->shapes);
	}
}

static void sl_column_reset(sl_column *c)
{
	sl_buf_reset(&c->validity);
	sl_buf_reset(&c->values);
	sl_buf_reset(&c->offsets);
	c->length = c->null_count = 0;
	if (sl_type_is_var_width(c->field->type) || c->field->type == SL_TYPE_LIST) {
		int32_t zero = 0;
		sl_buf_append(&c->offsets, &zero, 4);
	}
	if (c->child)
		sl_column_reset(c->child);
	if (c->shapes)
		sl_buf_reset(c->shapes);
}

static size_t sl_column_bytes(const sl_column *c)
{
	return c->validity.len + c->values.len + c->offsets.len +
	       (c->child ? sl_column_bytes(c->child) : 0) + (c->shapes ? c->shapes->len : 0);
}

static size_t sl_column_capacity(const sl_column *c)
{
	return c->validity.cap + c->values.cap + c->offsets.cap +
	       (c->child ? sl_column_capacity(c->child) : 0) + (c->shapes ? c->shapes->cap : 0);
}

size_t sl_batch_capacity(const sl_batch *b)
{
	size_t n = 0;
	for (int i = 0; i < b->ncols; i++)
		n += sl_column_capacity(&b->cols[i]);
	return n;
}

sl_batch *sl_batch_create(const sl_field *fields, int n)
{
	sl_batch *b = sl_calloc(1, sizeof *b);
	b->fields = fields;
	b->ncols = n;
	b->cols = sl_calloc((size_t)(n ? n : 1), sizeof *b->cols);
	for (int i = 0; i < n; i++)
		sl_column_init(&b->cols[i], &fields[i]);
	return b;
}

void sl_batch_destroy(sl_batch *b)
{
	if (b == NULL)
		return;
	for (int i = 0; i < b->ncols; i++)
		sl_column_free(&b->cols[i]);
	free(b->cols);
	free(b);
}

void sl_batch_reset(sl_batch *b)
{
	for (int i = 0; i < b->ncols; i++)
		sl_column_reset(&b->cols[i]);
	b->length = 0;
}

size_t sl_batch_bytes(const sl_batch *b)
{
	size_t n = 0;
	for (int i = 0; i < b->ncols; i++)
		n += sl_column_bytes(&b->cols[i]);
	return n;
}

void sl_col_append_null(sl_column *c)
{
	const sl_field *f = c->field;
	int64_t i = c->length;
	sl_col_validity_(c, false);
	if (f->type == SL_TYPE_BOOL) {
		if ((i & 7) == 0)
			sl_buf_putc(&c->values, 0);
	} else if (sl_type_is_var_width(f->type)) {
		int32_t end = (int32_t)c->values.len;
		sl_buf_append(&c->offsets, &end, 4);
	} else if (f->type == SL_TYPE_LIST) {
		int32_t end = (int32_t)c->child->length;
		sl_buf_append(&c->offsets, &end, 4);
	} else {
		size_t w = (size_t)sl_type_value_width(f);
		memset(sl_buf_reserve(&c->values, w), 0, w);
		c->values.len += w;
	}
	c->length++;
}

static bool sl_column_is_consistent(const sl_column *c, int64_t length)
{
	if (c->length != length)
		return false;
	if ((int64_t)c->validity.len != (length + 7) / 8)
		return false;
	if (c->field->type == SL_TYPE_LIST)
		return (int64_t)c->offsets.len == 4 * (length + 1) &&
		       sl_column_is_consistent(c->child, c->child->length);
	if (sl_type_is_var_width(c->field->type))
		return (int64_t)c->offsets.len == 4 * (length + 1);
	if (c->field->type == SL_TYPE_BOOL)
		return (int64_t)c->values.len == (length + 7) / 8;
	return (int64_t)c->values.len == length * sl_type_value_width(c->field);
}

bool sl_batch_is_consistent(const sl_batch *b)
{
	for (int i = 0; i < b->ncols; i++)
		if (!sl_column_is_consistent(&b->cols[i], b->length))
			return false;
	return true;
}

/* ---- export ---- */

struct sl_array_private {
	void *bufs[3];
	const void *buffer_ptrs[3];
	struct ArrowArray **children;
	int64_t n_children;
};

static void sl_array_release(struct ArrowArray *a)
{
	if (a == NULL || a->release == NULL)
		return;
	struct sl_array_private *p = a->private_data;
	for (int64_t i = 0; i < p->n_children; i++) {
		struct ArrowArray *c = p->children[i];
		if (c->release)
			c->release(c);
		free(c);
	}
	free(p->children);
	for (int i = 0; i < 3; i++)
		free(p->bufs[i]);
	free(p);
	a->release = NULL;
}

static void *sl_take(sl_buf *b)
{
	void *p = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

static void sl_column_export(sl_column *c, struct ArrowArray *a)
{
	struct sl_array_private *p = sl_calloc(1, sizeof *p);
	memset(a, 0, sizeof *a);
	a->length = c->length;
	a->null_count = c->null_count;
	p->bufs[0] = c->null_count ? sl_take(&c->validity) : NULL;
	if (c->field->type == SL_TYPE_LIST) {
		p->bufs[1] = sl_take(&c->offsets);
		a->n_buffers = 2;
		p->n_children = 1;
		p->children = sl_calloc(1, sizeof *p->children);
		p->children[0] = sl_calloc(1, sizeof **p->children);
		sl_column_export(c->child, p->children[0]);
	} else if (sl_type_is_var_width(c->field->type)) {
		p->bufs[1] = sl_take(&c->offsets);
		p->bufs[2] = sl_take(&c->values);
		a->n_buffers = 3;
	} else {
		p->bufs[1] = sl_take(&c->values);
		a->n_buffers = 2;
	}
	for (int i = 0; i < 3; i++)
		p->buffer_ptrs[i] = p->bufs[i];
	a->buffers = p->buffer_ptrs;
	a->n_children = p->n_children;
	a->children = p->children;
	a->release = sl_array_release;
	a->private_data = p;
	/* the column gives up its buffers; make it a valid empty column again */
	sl_buf_free(&c->validity);
	if (c->shapes)
		sl_buf_reset(c->shapes);
	c->length = c->null_count = 0;
	if (sl_type_is_var_width(c->field->type) || c->field->type == SL_TYPE_LIST) {
		int32_t zero = 0;
		sl_buf_append(&c->offsets, &zero, 4);
	}
}

void sl_batch_export(sl_batch *b, struct ArrowArray *out)
{
	struct sl_array_private *p = sl_calloc(1, sizeof *p);
	memset(out, 0, sizeof *out);
	out->length = b->length;
	out->n_buffers = 1;
	p->buffer_ptrs[0] = NULL;
	out->buffers = p->buffer_ptrs;
	p->n_children = b->ncols;
	p->children = sl_calloc((size_t)(b->ncols ? b->ncols : 1), sizeof *p->children);
	for (int i = 0; i < b->ncols; i++) {
		p->children[i] = sl_calloc(1, sizeof **p->children);
		sl_column_export(&b->cols[i], p->children[i]);
	}
	out->n_children = b->ncols;
	out->children = p->children;
	out->release = sl_array_release;
	out->private_data = p;
	b->length = 0;
}

/* ---- list shapes ---- */

void sl_col_end_list_shaped(sl_column *c, const sl_list_shape *s)
{
	if (!sl_list_shape_is_plain(s)) {
		if (c->shapes == NULL)
			c->shapes = sl_calloc(1, sizeof *c->shapes);
		struct sl_shape_entry e;
		memset(&e, 0, sizeof e);
		e.row = c->length;
		e.shape.ndim = s->ndim; /* unused slots stay zero: shapes compare by memcmp */
		for (int d = 0; d < s->ndim && d < SL_LIST_MAXDIM; d++) {
			e.shape.dims[d] = s->dims[d];
			e.shape.lbounds[d] = s->lbounds[d];
		}
		sl_buf_append(c->shapes, &e, sizeof e);
	}
	sl_col_end_list(c);
}

/* The index of the first entry whose row is >= row. */
static size_t sl_shape_lower(const sl_column *c, int64_t row)
{
	const struct sl_shape_entry *e = (const struct sl_shape_entry *)c->shapes->data;
	size_t lo = 0, hi = c->shapes->len / sizeof *e;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e[mid].row < row)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool sl_col_list_shape(const sl_column *c, int64_t i, sl_list_shape *out)
{
	if (c->shapes && c->shapes->len) {
		const struct sl_shape_entry *e = (const struct sl_shape_entry *)c->shapes->data;
		size_t k = sl_shape_lower(c, i);
		if (k < c->shapes->len / sizeof *e && e[k].row == i) {
			*out = e[k].shape;
			return true;
		}
	}
	const int32_t *off = (const int32_t *)c->offsets.data;
	memset(out, 0, sizeof *out);
	if (off[i + 1] > off[i]) {
		out->ndim = 1;
		out->dims[0] = off[i + 1] - off[i];
		out->lbounds[0] = 1;
	}
	return false;
}

int64_t sl_col_shaped_count(const sl_column *c, int64_t from, int64_t to)
{
	if (c->shapes == NULL || c->shapes->len == 0)
		return 0;
	return (int64_t)(sl_shape_lower(c, to) - sl_shape_lower(c, from));
}

/* ---- row-level helpers used by the change applier ---- */

void sl_col_overflow_(const sl_column *c, int64_t want)
{
	fprintf(stderr,
	        "sluice: internal error: column %s would hold %" PRId64
	        " bytes or elements, past the 32-bit offsets' %" PRId64 "\n",
	        c->field->name ? c->field->name : "?", want, SL_COL_MAX_BYTES);
	abort();
}

void sl_col_range_size(const sl_column *c, int64_t i, int64_t j, int64_t need[2])
{
	bool list = c->field->type == SL_TYPE_LIST;
	if (!list && !sl_type_is_var_width(c->field->type))
		return;
	const int32_t *off = (const int32_t *)c->offsets.data;
	need[0] += (int64_t)off[j] - off[i];
	if (list && sl_type_is_var_width(c->child->field->type)) {
		const int32_t *coff = (const int32_t *)c->child->offsets.data;
		need[1] += (int64_t)coff[off[j]] - coff[off[i]];
	}
}

bool sl_col_fits(const sl_column *c, const int64_t need[2], int64_t limit)
{
	if (c->field->type == SL_TYPE_LIST)
		return need[0] <= limit - c->child->length &&
		       need[1] <= limit - (int64_t)c->child->values.len;
	return need[0] <= limit - (int64_t)c->values.len;
}

int sl_batch_rows_overflow(const sl_batch *dst, const sl_batch *src, int64_t from, int64_t to,
                           int64_t limit)
{
	for (int k = 0; k < src->ncols; k++) {
		int64_t need[2] = {0, 0};
		sl_col_range_size(&src->cols[k], from, to, need);
		if (!sl_col_fits(&dst->cols[k], need, limit))
			return k;
	}
	return -1;
}

void sl_col_append_from(sl_column *dst, const sl_column *src, int64_t i)
{
	/* dst may be src (a row copied within one batch): read values only after reserving */
	if (!sl_col_is_valid(src, i)) {
		sl_col_append_null(dst);
		return;
	}
	const sl_field *f = src->field;
	if (f->type == SL_TYPE_BOOL) {
		sl_col_append_bool(dst, sl_col_bool(src, i));
	} else if (sl_type_is_var_width(f->type)) {
		int32_t n;
		sl_col_bytes(src, i, &n);
		uint8_t *d = sl_col_append_bytes_start(dst, (size_t)n);
		const uint8_t *p = sl_col_bytes(src, i, &n);
		if (n)
			memmove(d, p, (size_t)n);
	} else if (f->type == SL_TYPE_LIST) {
		const int32_t *off = (const int32_t *)src->offsets.data;
		int32_t from = off[i], to = off[i + 1];
		sl_list_shape shape; /* a copy: dst may be src, whose table may move */
		sl_col_list_shape(src, i, &shape);
		for (int32_t k = from; k < to; k++)
			sl_col_append_from(dst->child, src->child, k);
		sl_col_end_list_shaped(dst, &shape);
	} else {
		uint8_t tmp[64];
		int w = sl_type_value_width(f);
		memcpy(tmp, sl_col_value_ptr(src, i, w), (size_t)w);
		sl_col_append_fixed(dst, tmp, (size_t)w);
	}
}

/* FNV-1a over the value's bytes; nulls and values hash differently. */
static uint64_t sl_hash_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *s = p;
	for (size_t k = 0; k < n; k++) {
		h ^= s[k];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

uint64_t sl_col_hash(const sl_column *c, int64_t i, uint64_t h)
{
	if (!sl_col_is_valid(c, i))
		return sl_hash_bytes(h, "\0n", 2);
	const sl_field *f = c->field;
	if (f->type == SL_TYPE_BOOL) {
		uint8_t v = sl_col_bool(c, i) ? 1 : 2;
		return sl_hash_bytes(h, &v, 1);
	}
	if (sl_type_is_var_width(f->type)) {
		int32_t n;
		const uint8_t *p = sl_col_bytes(c, i, &n);
		h = sl_hash_bytes(h, &n, sizeof n);
		return sl_hash_bytes(h, p, (size_t)n);
	}
	if (f->type == SL_TYPE_LIST) {
		const int32_t *off = (const int32_t *)c->offsets.data;
		int32_t n = off[i + 1] - off[i];
		h = sl_hash_bytes(h, &n, sizeof n);
		for (int32_t k = off[i]; k < off[i + 1]; k++)
			h = sl_col_hash(c->child, k, h);
		return h;
	}
	int w = sl_type_value_width(f);
	return sl_hash_bytes(h, sl_col_value_ptr(c, i, w), (size_t)w);
}

static bool sl_col_equal_(const sl_column *a, int64_t i, const sl_column *b, int64_t j, bool shapes)
{
	bool va = sl_col_is_valid(a, i), vb = sl_col_is_valid(b, j);
	if (!va || !vb)
		return va == vb;
	const sl_field *f = a->field;
	if (f->type == SL_TYPE_BOOL)
		return sl_col_bool(a, i) == sl_col_bool(b, j);
	if (sl_type_is_var_width(f->type)) {
		int32_t na, nb;
		const uint8_t *pa = sl_col_bytes(a, i, &na), *pb = sl_col_bytes(b, j, &nb);
		return na == nb && (na == 0 || memcmp(pa, pb, (size_t)na) == 0);
	}
	if (f->type == SL_TYPE_LIST) {
		const int32_t *oa = (const int32_t *)a->offsets.data;
		const int32_t *ob = (const int32_t *)b->offsets.data;
		if (oa[i + 1] - oa[i] != ob[j + 1] - ob[j])
			return false;
		if (shapes) {
			sl_list_shape sa, sb;
			sl_col_list_shape(a, i, &sa);
			sl_col_list_shape(b, j, &sb);
			if (memcmp(&sa, &sb, sizeof sa) != 0)
				return false;
		}
		for (int32_t k = 0; k < oa[i + 1] - oa[i]; k++)
			if (!sl_col_equal_(a->child, oa[i] + k, b->child, ob[j] + k, shapes))
				return false;
		return true;
	}
	int w = sl_type_value_width(f);
	return memcmp(sl_col_value_ptr(a, i, w), sl_col_value_ptr(b, j, w), (size_t)w) == 0;
}

bool sl_col_equal(const sl_column *a, int64_t i, const sl_column *b, int64_t j)
{
	return sl_col_equal_(a, i, b, j, true);
}

bool sl_col_equal_elements(const sl_column *a, int64_t i, const sl_column *b, int64_t j)
{
	return sl_col_equal_(a, i, b, j, false);
}

static uint64_t sl_row_key_hash(const sl_batch *b, const int *key, int nkey, int64_t r)
{
	uint64_t h = UINT64_C(1469598103934665603);
	for (int k = 0; k < nkey; k++)
		h = sl_col_hash(&b->cols[key[k]], r, h);
	return h;
}

/* The slot holding the key of probe's row r, or the empty slot where it would go. */
static size_t sl_row_index_slot(const sl_row_index *x, const sl_batch *in, const int *key, int nkey,
                                const sl_batch *probe, int64_t r)
{
	size_t s = sl_row_key_hash(probe, key, nkey, r) & (x->cap - 1);
	for (; x->slots[s]; s = (s + 1) & (x->cap - 1)) {
		int64_t cand = x->slots[s] - 1;
		bool eq = true;
		for (int k = 0; k < nkey && eq; k++)
			eq = sl_col_equal(&in->cols[key[k]], cand, &probe->cols[key[k]], r);
		if (eq)
			break;
	}
	return s;
}

int64_t sl_row_index_find(const sl_row_index *x, const sl_batch *in, const int *key, int nkey,
                          const sl_batch *probe, int64_t r)
{
	if (x->cap == 0)
		return -1;
	return x->slots[sl_row_index_slot(x, in, key, nkey, probe, r)] - 1;
}

void sl_row_index_put(sl_row_index *x, const sl_batch *in, const int *key, int nkey, int64_t r)
{
	if ((x->used + 1) * 2 > x->cap) {
		sl_row_index old = *x;
		x->cap = old.cap ? old.cap * 2 : 64;
		x->slots = sl_calloc(x->cap, sizeof *x->slots);
		x->used = 0;
		for (size_t s = 0; s < old.cap; s++)
			if (old.slots[s]) {
				x->slots[sl_row_index_slot(x, in, key, nkey, in,
				                           old.slots[s] - 1)] = old.slots[s];
				x->used++;
			}
		free(old.slots);
	}
	size_t s = sl_row_index_slot(x, in, key, nkey, in, r);
	x->used += x->slots[s] == 0;
	x->slots[s] = r + 1;
}

void sl_row_index_clear(sl_row_index *x)
{
	if (x->slots)
		memset(x->slots, 0, x->cap * sizeof *x->slots);
	x->used = 0;
}

void sl_row_index_free(sl_row_index *x)
{
	free(x->slots);
	*x = (sl_row_index){0};
}
