/* The transaction a source's decoder builds (see txbuild.h). */
#include "core/txbuild.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

void sl_txb_init(sl_txb *b, int ntables, size_t limit, sl_txb_emit_fn emit, void *ctx)
{
	*b = (sl_txb){.ntables = ntables, .limit = limit, .emit = emit, .ctx = ctx};
	size_t n = ntables > 0 ? (size_t)ntables : 1;
	b->pending = sl_calloc(n, sizeof *b->pending);
	b->touched = sl_calloc(n, sizeof *b->touched);
}

void sl_txb_free(sl_txb *b)
{
	for (int i = 0; b->pending && i < b->ntables; i++)
		sl_changes_free(b->pending[i]);
	free(b->pending);
	free(b->touched);
	*b = (sl_txb){0};
}

static void txb_forget_bytes(sl_txb *b, const sl_changes *c)
{
	size_t n = sl_changes_bytes(c);
	b->bytes -= n < b->bytes ? n : b->bytes;
}

int sl_txb_flush_table(sl_txb *b, int t, sl_error *err)
{
	sl_changes *c = b->pending[t];
	if (c == NULL || c->rows->length == 0)
		return 0;
	b->pending[t] = NULL;
	txb_forget_bytes(b, c);
	sl_msg *m = sl_msg_new(SL_MSG_ROWS);
	m->table = t;
	m->changes = c;
	return b->emit(b->ctx, m, err);
}

int sl_txb_flush(sl_txb *b, sl_error *err)
{
	for (int i = 0; i < b->ntouched; i++)
		SL_TRY(sl_txb_flush_table(b, b->touched[i], err));
	b->ntouched = 0;
	b->bytes = 0;
	return 0;
}

int sl_txb_batch(sl_txb *b, int t, sl_shape *shape, sl_changes **out, sl_error *err)
{
	sl_changes *c = b->pending[t];
	if (c && c->shape != shape) {
		SL_TRY(sl_txb_flush_table(b, t, err));
		c = NULL;
	}
	if (c == NULL) {
		bool listed = false;
		for (int i = 0; i < b->ntouched && !listed; i++)
			listed = b->touched[i] == t;
		if (!listed)
			b->touched[b->ntouched++] = t;
		c = b->pending[t] = sl_changes_new(t, shape);
	}
	*out = c;
	return 0;
}

int sl_txb_added(sl_txb *b, sl_changes *c, size_t before, bool may_flush, sl_error *err)
{
	b->bytes += sl_changes_bytes(c) - before;
	if (may_flush && sl_txb_full(b))
		return sl_txb_flush(b, err);
	return 0;
}

void sl_txb_discard(sl_txb *b, int t)
{
	if (b->pending[t] == NULL)
		return;
	txb_forget_bytes(b, b->pending[t]);
	sl_changes_free(b->pending[t]);
	b->pending[t] = NULL;
}

void sl_txb_drop(sl_txb *b)
{
	for (int i = 0; i < b->ntouched; i++) {
		sl_changes_free(b->pending[b->touched[i]]);
		b->pending[b->touched[i]] = NULL;
	}
	b->ntouched = 0;
	b->bytes = 0;
}

static bool txb_str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

bool sl_field_same(const sl_field *x, const sl_field *y)
{
	return strcmp(x->name, y->name) == 0 && x->type == y->type &&
	       x->precision == y->precision && x->scale == y->scale && x->unit == y->unit &&
	       x->nullable == y->nullable && txb_str_eq(x->tz, y->tz) &&
	       txb_str_eq(x->ext_name, y->ext_name);
}

bool sl_shape_same(const sl_shape *a, const sl_field *f, int n, bool key_known)
{
	if (a == NULL || a->nfields != n || a->key_known != key_known)
		return false;
	for (int i = 0; i < n; i++) {
		const sl_field *x = &a->fields[i], *y = &f[i];
		if (!sl_field_same(x, y) || x->key_pos != y->key_pos ||
		    !txb_str_eq(x->source_type, y->source_type))
			return false;
	}
	return true;
}
