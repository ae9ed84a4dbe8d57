/* Change batches, shapes and CDC messages. */
#include "core/change.h"

#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "core/mem.h"

sl_shape *sl_shape_new(const sl_field *fields, int n)
{
	sl_shape *s = sl_calloc(1, sizeof *s);
	atomic_init(&s->refs, 1);
	s->nfields = n;
	s->fields = sl_calloc((size_t)(n ? n : 1), sizeof *s->fields);
	for (int i = 0; i < n; i++)
		sl_field_copy(&s->fields[i], &fields[i]);
	return s;
}

int sl_shape_key(const sl_shape *s, const struct sl_table_def *td, int *out, const char **missing)
{
	int n = 0;
	if (s->key_known) {
		for (int pos = 1;; pos++) {
			int found = -1;
			for (int i = 0; i < s->nfields && found < 0; i++)
				if (s->fields[i].key_pos == pos)
					found = i;
			if (found < 0)
				return n;
			out[n++] = found;
		}
	}
	for (int k = 0; k < td->nkey; k++) {
		int fi = sl_shape_find(s, td->fields[td->key[k]].name);
		if (fi < 0) {
			*missing = td->fields[td->key[k]].name;
			return -1;
		}
		out[n++] = fi;
	}
	return n;
}

sl_shape *sl_shape_ref(sl_shape *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void sl_shape_unref(sl_shape *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	for (int i = 0; i < s->nfields; i++)
		sl_field_reset(&s->fields[i]);
	free(s->fields);
	free(s);
}

int sl_shape_find(const sl_shape *s, const char *name)
{
	for (int i = 0; i < s->nfields; i++)
		if (strcmp(s->fields[i].name, name) == 0)
			return i;
	return -1;
}

sl_changes *sl_changes_new(int table, sl_shape *shape)
{
	sl_changes *c = sl_calloc(1, sizeof *c);
	c->table = table;
	c->shape = sl_shape_ref(shape);
	c->rows = sl_batch_create(shape->fields, shape->nfields);
	c->ubytes = (shape->nfields + 7) / 8;
	return c;
}

void sl_changes_free(sl_changes *c)
{
	if (c == NULL)
		return;
	sl_batch_destroy(c->rows);
	sl_buf_free(&c->ops);
	sl_buf_free(&c->unchanged);
	sl_buf_free(&c->pairs);
	sl_buf_free(&c->origins);
	sl_shape_unref(c->shape);
	free(c);
}

void sl_changes_reset(sl_changes *c)
{
	sl_batch_reset(c->rows);
	sl_buf_reset(&c->ops);
	sl_buf_reset(&c->unchanged);
	sl_buf_reset(&c->pairs);
	sl_buf_reset(&c->origins);
	c->any_unchanged = false;
}

void sl_changes_set_pair(sl_changes *c, int64_t row, int64_t from)
{
	while (c->pairs.len < (size_t)(row + 1) * 8) {
		int64_t none = -1;
		sl_buf_append(&c->pairs, &none, 8);
	}
	((int64_t *)c->pairs.data)[row] = from;
}

size_t sl_changes_bytes(const sl_changes *c)
{
	return sl_batch_bytes(c->rows) + c->ops.len + c->unchanged.len + c->pairs.len +
	       c->origins.len;
}

size_t sl_changes_capacity(const sl_changes *c)
{
	return sl_batch_capacity(c->rows) + c->ops.cap + c->unchanged.cap + c->pairs.cap +
	       c->origins.cap;
}

void sl_changes_end_row(sl_changes *c, enum sl_op op, const uint8_t *unchanged)
{
	int64_t row = c->rows->length;
	sl_batch_end_row(c->rows);
	sl_buf_putc(&c->ops, (char)op);
	bool any = false;
	for (int k = 0; unchanged && k < c->ubytes; k++)
		any |= unchanged[k] != 0;
	if (any && !c->any_unchanged) {
		/* first row with unchanged columns: earlier rows had none */
		if (row > 0) {
			size_t n = (size_t)(row * c->ubytes);
			memset(sl_buf_reserve(&c->unchanged, n), 0, n);
			c->unchanged.len += n;
		}
		c->any_unchanged = true;
	}
	if (c->any_unchanged) {
		uint8_t *dst = sl_buf_reserve(&c->unchanged, (size_t)c->ubytes);
		if (any)
			memcpy(dst, unchanged, (size_t)c->ubytes);
		else
			memset(dst, 0, (size_t)c->ubytes);
		c->unchanged.len += (size_t)c->ubytes;
	}
}

int sl_emit_wait(sl_emit_fn emit, void *ctx, sl_msg *m, volatile int *stop,
                 int (*busy)(void *bctx, sl_error *err), void *bctx, sl_error *err)
{
	for (;;) {
		if (*stop) {
			sl_msg_free(m);
			return sl_error_set(err, SL_ERR_CANCELLED, "stopping");
		}
		int rc = emit(ctx, m);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			sl_msg_free(m);
			return sl_error_set(err, SL_ERR_CANCELLED, "pipeline stopping");
		}
		if (busy && (rc = busy(bctx, err)) < 0) {
			sl_msg_free(m);
			return rc;
		}
	}
}

sl_msg *sl_msg_new(enum sl_msg_kind kind)
{
	sl_msg *m = sl_calloc(1, sizeof *m);
	m->kind = kind;
	m->table = -1;
	return m;
}

void sl_msg_free(sl_msg *m)
{
	if (m == NULL)
		return;
	sl_shape_unref(m->shape);
	sl_changes_free(m->changes);
	free(m->position);
	free(m->mark);
	for (int i = 0; i < m->nrenames; i++) {
		free(m->renames[i].to);
		free(m->renames[i].identity);
	}
	free(m->renames);
	free(m);
}

void sl_msg_set_position(sl_msg *m, const char *position)
{
	free(m->position);
	m->position = sl_strdup(position);
}

void sl_msg_set_mark(sl_msg *m, const char *mark)
{
	free(m->mark);
	m->mark = sl_strdup(mark);
}

size_t sl_msg_bytes(const sl_msg *m)
{
	return sizeof *m + (m->changes ? sl_changes_bytes(m->changes) : 0) +
	       (m->position ? strlen(m->position) + 1 : 0) + (m->mark ? strlen(m->mark) + 1 : 0);
}
