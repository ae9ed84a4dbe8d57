/* Buffer segments: see segment.h for the layout. */
#include "core/segment.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/log.h"
#include "core/mem.h"

/* ---------------------------------------------------------------- encoding ---- */

static void put_u8(sl_buf *b, uint8_t v)
{
	sl_buf_putc(b, (char)v);
}

static void put_u32(sl_buf *b, uint32_t v)
{
	uint8_t p[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	sl_buf_append(b, p, 4);
}

static void put_u64(sl_buf *b, uint64_t v)
{
	put_u32(b, (uint32_t)v);
	put_u32(b, (uint32_t)(v >> 32));
}

static void put_bytes(sl_buf *b, const void *p, size_t n, bool null)
{
	if (null) {
		put_u32(b, UINT32_MAX);
		return;
	}
	put_u32(b, (uint32_t)n);
	sl_buf_append(b, p, n);
}

static void put_str(sl_buf *b, const char *s)
{
	put_bytes(b, s, s ? strlen(s) : 0, s == NULL);
}

static void put_field(sl_buf *b, const sl_field *f)
{
	put_str(b, f->name);
	put_u8(b, (uint8_t)f->type);
	put_u8(b, f->nullable);
	put_u32(b, (uint32_t)f->precision);
	put_u32(b, (uint32_t)f->scale);
	put_u8(b, f->specials);
	put_u8(b, (uint8_t)f->unit);
	put_str(b, f->tz);
	put_u32(b, (uint32_t)f->byte_width);
	put_str(b, f->ext_name);
	put_str(b, f->source_type);
	put_bytes(b, f->fill, f->fill_len, f->fill == NULL);
	put_str(b, f->fill_text);
	put_u8(b, f->fill_missing);
	put_u32(b, (uint32_t)f->source_id);
	put_str(b, f->renamed_from);
	put_u32(b, (uint32_t)f->key_pos);
	put_u8(b, f->child != NULL);
	if (f->child)
		put_field(b, f->child);
}

static void put_column(sl_buf *b, const sl_column *c)
{
	put_u64(b, (uint64_t)c->length);
	put_u64(b, (uint64_t)c->null_count);
	put_bytes(b, c->validity.data, c->validity.len, false);
	put_bytes(b, c->values.data, c->values.len, false);
	put_bytes(b, c->offsets.data, c->offsets.len, false);
	put_u8(b, c->child != NULL);
	if (c->child)
		put_column(b, c->child);
	put_bytes(b, c->shapes ? c->shapes->data : NULL, c->shapes ? c->shapes->len : 0,
	          c->shapes == NULL);
}

struct sl_seg_writer {
	const sl_catalog *cat;
	sl_buf *out;
	uint64_t drained; /* bytes the caller took out of *out */
	sl_buf body;
	bool *table_out;   /* per catalog table: its 'T' record is in this segment */
	sl_shape **shapes; /* ids: shapes with a 'H' record in this segment (one reference each) */
	int nshapes, shapes_cap;
	sl_buf versions; /* u64 per complete transaction */
	char *last_position;
	uint64_t last_version;
	int64_t first_commit_us, last_commit_us;
};

sl_seg_writer *sl_seg_writer_new(const sl_catalog *cat)
{
	sl_seg_writer *w = sl_calloc(1, sizeof *w);
	w->cat = cat;
	w->table_out = sl_calloc((size_t)(cat->ntables ? cat->ntables : 1), 1);
	return w;
}

static void seg_writer_clear(sl_seg_writer *w)
{
	for (int i = 0; i < w->nshapes; i++)
		sl_shape_unref(w->shapes[i]);
	w->nshapes = 0;
	memset(w->table_out, 0, (size_t)(w->cat->ntables ? w->cat->ntables : 1));
	sl_buf_reset(&w->versions);
	free(w->last_position);
	w->last_position = NULL;
	w->last_version = 0;
	w->first_commit_us = w->last_commit_us = 0;
	w->drained = 0;
}

void sl_seg_writer_free(sl_seg_writer *w)
{
	if (w == NULL)
		return;
	seg_writer_clear(w);
	free(w->shapes);
	free(w->table_out);
	sl_buf_free(&w->body);
	sl_buf_free(&w->versions);
	free(w);
}

/* The record in w->body goes out. */
static void seg_record(sl_seg_writer *w, char kind)
{
	if (w->body.len >= SL_SEG_RECORD_MAX) {
		/* a source cuts its batches far below this (source batch sizes, 32-bit offsets) */
		fprintf(stderr, "sluice: internal error: a buffer record of %zu bytes\n",
		        w->body.len);
		abort();
	}
	put_u8(w->out, (uint8_t)kind);
	put_u32(w->out, (uint32_t)w->body.len);
	put_u32(w->out, (uint32_t)crc32(0, w->body.data, (uInt)w->body.len));
	sl_buf_append(w->out, w->body.data, w->body.len);
	sl_buf_reset(&w->body);
}

void sl_seg_begin(sl_seg_writer *w, sl_buf *out, uint64_t base_version, const char *base_position)
{
	seg_writer_clear(w);
	w->out = out;
	w->last_version = base_version;
	w->last_position = sl_strdup(base_position ? base_position : "");
	sl_buf_append(out, SL_SEG_MAGIC, 8);
}

static int32_t seg_table(sl_seg_writer *w, int t)
{
	if (t < 0 || t >= w->cat->ntables)
		return -1;
	if (!w->table_out[t]) {
		const sl_table_def *td = &w->cat->tables[t];
		put_u32(&w->body, (uint32_t)t);
		put_str(&w->body, td->qualified);
		put_str(&w->body, td->identity);
		seg_record(w, 'T');
		w->table_out[t] = true;
	}
	return t;
}

static int32_t seg_shape(sl_seg_writer *w, int t, sl_shape *s)
{
	if (s == NULL)
		return -1;
	for (int i = 0; i < w->nshapes; i++)
		if (w->shapes[i] == s)
			return i;
	if (w->nshapes == w->shapes_cap) {
		w->shapes_cap = w->shapes_cap ? 2 * w->shapes_cap : 8;
		w->shapes = sl_realloc(w->shapes, (size_t)w->shapes_cap * sizeof *w->shapes);
	}
	int id = w->nshapes++;
	w->shapes[id] = sl_shape_ref(s);
	put_u32(&w->body, (uint32_t)id);
	put_u32(&w->body, (uint32_t)t);
	put_u8(&w->body, s->key_known);
	put_u32(&w->body, (uint32_t)s->nfields);
	for (int i = 0; i < s->nfields; i++)
		put_field(&w->body, &s->fields[i]);
	seg_record(w, 'H');
	return id;
}

void sl_seg_add(sl_seg_writer *w, const sl_msg *m)
{
	int32_t table = -1, shape = -1;
	if (m->kind == SL_MSG_SCHEMA || m->kind == SL_MSG_ROWS || m->kind == SL_MSG_TRUNCATE)
		table = seg_table(w, m->table);
	for (int i = 0; i < m->nrenames; i++)
		seg_table(w, m->renames[i].table);
	if (m->kind == SL_MSG_SCHEMA)
		shape = seg_shape(w, m->table, m->shape);
	else if (m->kind == SL_MSG_ROWS)
		shape = seg_shape(w, m->table, m->changes->shape);
	sl_buf *b = &w->body;
	put_u8(b, (uint8_t)m->kind);
	put_u32(b, (uint32_t)table);
	put_u32(b, (uint32_t)shape);
	put_u64(b, m->txid);
	put_u64(b, m->version);
	put_u64(b, (uint64_t)m->commit_us);
	put_str(b, m->position);
	put_str(b, m->mark);
	put_u32(b, (uint32_t)m->nrenames);
	for (int i = 0; i < m->nrenames; i++) {
		put_u32(b, (uint32_t)m->renames[i].table);
		put_str(b, m->renames[i].to);
		put_str(b, m->renames[i].identity);
	}
	if (m->kind == SL_MSG_ROWS) {
		const sl_changes *c = m->changes;
		put_u8(b, c->any_unchanged);
		put_u32(b, (uint32_t)c->ubytes);
		put_bytes(b, c->ops.data, c->ops.len, false);
		put_bytes(b, c->unchanged.data, c->unchanged.len, false);
		put_u64(b, (uint64_t)c->rows->length);
		put_u32(b, (uint32_t)c->rows->ncols);
		for (int i = 0; i < c->rows->ncols; i++)
			put_column(b, &c->rows->cols[i]);
	}
	seg_record(w, 'M');
	if (m->kind == SL_MSG_BEGIN && w->first_commit_us == 0)
		w->first_commit_us = m->commit_us;
	if (m->kind == SL_MSG_COMMIT) {
		sl_buf_append(&w->versions, &m->version, 8);
		free(w->last_position);
		w->last_position = sl_strdup(m->position ? m->position : "");
		w->last_version = m->version;
		w->last_commit_us = m->commit_us;
		if (w->first_commit_us == 0)
			w->first_commit_us = m->commit_us;
	}
}

int64_t sl_seg_txns(const sl_seg_writer *w)
{
	return (int64_t)(w->versions.len / 8);
}

uint64_t sl_seg_last_version(const sl_seg_writer *w)
{
	return w->last_version;
}

const char *sl_seg_last_position(const sl_seg_writer *w)
{
	return w->last_position;
}

int64_t sl_seg_first_commit_us(const sl_seg_writer *w)
{
	return w->first_commit_us;
}

uint64_t sl_seg_bytes(const sl_seg_writer *w)
{
	return w->drained + w->out->len;
}

void sl_seg_end(sl_seg_writer *w)
{
	uint64_t at = sl_seg_bytes(w);
	uint32_t n = (uint32_t)(w->versions.len / 8);
	put_u32(&w->body, n);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t v;
		memcpy(&v, w->versions.data + 8 * i, 8);
		put_u64(&w->body, v);
	}
	put_str(&w->body, w->last_position ? w->last_position : "");
	put_u64(&w->body, w->last_version);
	put_u64(&w->body, (uint64_t)w->first_commit_us);
	put_u64(&w->body, (uint64_t)w->last_commit_us);
	seg_record(w, 'F');
	put_u64(w->out, at);
	sl_buf_append(w->out, SL_SEG_END, 8);
}

void sl_seg_drained(sl_seg_writer *w, size_t n)
{
	w->drained += n;
}

/* ---------------------------------------------------------------- decoding ---- */

typedef struct seg_in {
	const uint8_t *p, *end;
	bool bad;
} seg_in;

static bool get_n(seg_in *in, void *dst, size_t n)
{
	if (in->bad || (size_t)(in->end - in->p) < n) {
		in->bad = true;
		if (n)
			memset(dst, 0, n);
		return false;
	}
	memcpy(dst, in->p, n);
	in->p += n;
	return true;
}

static uint8_t get_u8(seg_in *in)
{
	uint8_t v = 0;
	get_n(in, &v, 1);
	return v;
}

static uint32_t get_u32(seg_in *in)
{
	uint8_t p[4];
	if (!get_n(in, p, 4))
		return 0;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(seg_in *in)
{
	uint64_t lo = get_u32(in);
	return lo | (uint64_t)get_u32(in) << 32;
}

/* A str or bytes value: *null set for NULL; returns a pointer into the input. */
static const uint8_t *get_bytes(seg_in *in, size_t *len, bool *null)
{
	uint32_t n = get_u32(in);
	*null = n == UINT32_MAX;
	*len = 0;
	if (*null || in->bad)
		return NULL;
	if ((size_t)(in->end - in->p) < n) {
		in->bad = true;
		return NULL;
	}
	const uint8_t *p = in->p;
	in->p += n;
	*len = n;
	return p;
}

static char *get_str(seg_in *in)
{
	size_t n;
	bool null;
	const uint8_t *p = get_bytes(in, &n, &null);
	if (null || in->bad)
		return NULL;
	char *s = sl_malloc(n + 1);
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

static void get_buf(seg_in *in, sl_buf *dst)
{
	size_t n;
	bool null;
	const uint8_t *p = get_bytes(in, &n, &null);
	sl_buf_reset(dst);
	sl_buf_reserve(dst, 1); /* never NULL, as a builder's buffers once a value is in */
	sl_buf_append(dst, p, n);
}

static void get_field(seg_in *in, sl_field *f, int depth)
{
	memset(f, 0, sizeof *f);
	f->name = get_str(in);
	f->type = (sl_type_id)get_u8(in);
	f->nullable = get_u8(in) != 0;
	f->precision = (int)get_u32(in);
	f->scale = (int)get_u32(in);
	f->specials = get_u8(in) != 0;
	f->unit = (sl_time_unit)get_u8(in);
	f->tz = get_str(in);
	f->byte_width = (int)get_u32(in);
	f->ext_name = get_str(in);
	f->source_type = get_str(in);
	size_t n;
	bool null;
	const uint8_t *fill = get_bytes(in, &n, &null);
	if (!null && !in->bad) {
		f->fill = sl_malloc(n ? n : 1);
		memcpy(f->fill, fill, n);
		f->fill_len = n;
	}
	f->fill_text = get_str(in);
	f->fill_missing = get_u8(in) != 0;
	f->source_id = (int32_t)get_u32(in);
	f->renamed_from = get_str(in);
	f->key_pos = (int)get_u32(in);
	if (get_u8(in)) {
		if (depth > 16) {
			in->bad = true;
			return;
		}
		sl_field *child = sl_malloc(sizeof *child);
		get_field(in, child, depth + 1);
		sl_field_set_child(f, child);
	}
	if (f->name == NULL)
		in->bad = true;
}

static void get_column(seg_in *in, sl_column *c)
{
	c->length = (int64_t)get_u64(in);
	c->null_count = (int64_t)get_u64(in);
	get_buf(in, &c->validity);
	get_buf(in, &c->values);
	get_buf(in, &c->offsets);
	bool child = get_u8(in) != 0;
	if (child != (c->child != NULL)) {
		in->bad = true;
		return;
	}
	if (child)
		get_column(in, c->child);
	size_t n;
	bool null;
	const uint8_t *p = get_bytes(in, &n, &null);
	if (!null && !in->bad) {
		c->shapes = sl_calloc(1, sizeof *c->shapes);
		sl_buf_append(c->shapes, p, n);
	}
}

/* Each column holds what its length says it holds: a damaged segment must not make a reader
 * read outside a buffer. */
static bool seg_column_ok(const sl_column *c, const sl_field *f)
{
	if (c->length < 0 || c->null_count < 0 || c->null_count > c->length)
		return false;
	uint64_t len = (uint64_t)c->length;
	if (c->validity.len < (len + 7) / 8)
		return false;
	int w = sl_type_value_width(f);
	/* a fixed-width column has no offsets and no child: a reader that finds them would
	 * follow them */
	if ((f->type == SL_TYPE_BOOL || w > 0) && (c->offsets.len != 0 || c->child != NULL))
		return false;
	if (f->type != SL_TYPE_LIST && c->child != NULL)
		return false;
	if (f->type == SL_TYPE_BOOL)
		return c->values.len >= (len + 7) / 8;
	if (w > 0)
		return c->values.len >= len * (uint64_t)w;
	if (c->offsets.len < (len + 1) * 4)
		return false;
	const int32_t *off = (const int32_t *)c->offsets.data;
	for (uint64_t i = 0; i < len; i++)
		if (off[i] < 0 || off[i + 1] < off[i])
			return false;
	if (off[0] != 0)
		return false;
	if (f->type == SL_TYPE_LIST)
		return c->child && off[len] <= c->child->length &&
		       seg_column_ok(c->child, f->child);
	return (uint64_t)off[len] <= c->values.len;
}

struct seg_table_state {
	sl_buf bytes;     /* the encoding of its last shape */
	sl_shape *shape;  /* that shape (one reference) */
	sl_shape *handed; /* the shape last handed on for it (borrowed from .shape or ids) */
};

struct sl_seg_reader {
	const sl_catalog *cat;
	int *tables; /* segment table id -> catalog index, or -1 */
	int ntables_cap;
	sl_shape **shapes; /* segment shape id -> shape (one reference) */
	int *shape_table;
	int nshapes_cap;
	struct seg_table_state *ts; /* per catalog table */
	int64_t dropped;
};

sl_seg_reader *sl_seg_reader_new(const sl_catalog *cat)
{
	sl_seg_reader *r = sl_calloc(1, sizeof *r);
	r->cat = cat;
	size_t n = (size_t)(cat->ntables ? cat->ntables : 1);
	r->ts = sl_calloc(n, sizeof *r->ts);
	return r;
}

void sl_seg_reader_segment(sl_seg_reader *r)
{
	for (int i = 0; i < r->ntables_cap; i++)
		r->tables[i] = -2; /* not named in this segment */
	for (int i = 0; i < r->nshapes_cap; i++) {
		sl_shape_unref(r->shapes[i]);
		r->shapes[i] = NULL;
	}
}

void sl_seg_reader_free(sl_seg_reader *r)
{
	if (r == NULL)
		return;
	sl_seg_reader_segment(r);
	for (int t = 0; t < r->cat->ntables; t++) {
		sl_buf_free(&r->ts[t].bytes);
		sl_shape_unref(r->ts[t].shape);
	}
	free(r->ts);
	free(r->tables);
	free(r->shapes);
	free(r->shape_table);
	free(r);
}

int64_t sl_seg_reader_dropped(const sl_seg_reader *r)
{
	return r->dropped;
}

static int seg_grow(void **arr, int *cap, uint32_t id, size_t size)
{
	if (id > 1000000)
		return -1;
	if ((int)id >= *cap) {
		int n = *cap ? *cap : 8;
		while (n <= (int)id)
			n *= 2;
		*arr = sl_realloc(*arr, (size_t)n * size);
		memset((char *)*arr + (size_t)*cap * size, 0, (size_t)(n - *cap) * size);
		*cap = n;
	}
	return 0;
}

static int seg_find_table(const sl_catalog *cat, const char *qualified, const char *identity)
{
	if (identity) {
		for (int t = 0; t < cat->ntables; t++)
			if (cat->tables[t].identity &&
			    strcmp(cat->tables[t].identity, identity) == 0)
				return t;
		return -1; /* another table under that name is not this one */
	}
	return sl_catalog_find(cat, qualified);
}

static int seg_on_table(sl_seg_reader *r, seg_in *in)
{
	uint32_t id = get_u32(in);
	char *qualified = get_str(in);
	char *identity = get_str(in);
	int rc = 0;
	if (in->bad || qualified == NULL) {
		rc = -1;
	} else {
		int cap = r->ntables_cap;
		rc = seg_grow((void **)&r->tables, &r->ntables_cap, id, sizeof *r->tables);
		for (int i = cap; i < r->ntables_cap; i++)
			r->tables[i] = -2;
		if (rc == 0) {
			int t = seg_find_table(r->cat, qualified, identity);
			r->tables[id] = t;
			if (t < 0)
				sl_warn("buffer: changes to table %s are dropped (the pipeline "
				        "does not "
				        "follow it any more)",
				        qualified);
		}
	}
	free(qualified);
	free(identity);
	return rc;
}

/* The catalog index of a segment's table id: -1 dropped, -2 not named (damaged). */
static int seg_table_of(const sl_seg_reader *r, uint32_t id)
{
	if (id == UINT32_MAX)
		return -1;
	if ((int)id >= r->ntables_cap || (int)id < 0)
		return -2;
	return r->tables[id];
}

static int seg_on_shape(sl_seg_reader *r, seg_in *in)
{
	uint32_t id = get_u32(in);
	uint32_t tid = get_u32(in);
	const uint8_t *def = in->p;
	bool key_known = get_u8(in) != 0;
	uint32_t n = get_u32(in);
	if (in->bad || n > 100000 ||
	    seg_grow((void **)&r->shapes, &r->nshapes_cap, id, sizeof *r->shapes) < 0)
		return -1;
	r->shape_table =
	        sl_realloc(r->shape_table, (size_t)r->nshapes_cap * sizeof *r->shape_table);
	sl_field *fields = sl_calloc(n ? n : 1, sizeof *fields);
	for (uint32_t i = 0; i < n && !in->bad; i++)
		get_field(in, &fields[i], 0);
	int rc = in->bad ? -1 : 0;
	int t = seg_table_of(r, tid);
	if (rc == 0 && t == -2)
		rc = -1;
	if (rc == 0) {
		sl_shape *s = NULL;
		if (t >= 0) {
			struct seg_table_state *ts = &r->ts[t];
			size_t len = (size_t)(in->p - def);
			if (ts->shape && ts->bytes.len == len &&
			    memcmp(ts->bytes.data, def, len) == 0) {
				s = sl_shape_ref(ts->shape);
			} else {
				s = sl_shape_new(fields, (int)n);
				s->key_known = key_known;
				sl_buf_reset(&ts->bytes);
				sl_buf_append(&ts->bytes, def, len);
				sl_shape_unref(ts->shape);
				ts->shape = sl_shape_ref(s);
			}
		}
		sl_shape_unref(r->shapes[id]);
		r->shapes[id] = s;
		r->shape_table[id] = t;
	}
	for (uint32_t i = 0; i < n; i++)
		sl_field_reset(&fields[i]);
	free(fields);
	return rc;
}

static sl_shape *seg_shape_of(const sl_seg_reader *r, uint32_t id)
{
	if ((int)id < 0 || (int)id >= r->nshapes_cap)
		return NULL;
	return r->shapes[id];
}

static int seg_bad(const char *what, const char *detail, sl_error *err)
{
	return sl_error_set(err, SL_ERR_DATA,
	                    "buffer segment %s is damaged (%s): the buffer cannot be applied past "
	                    "it; restore the object or drop the buffer and resync the tables",
	                    what, detail);
}

static int seg_on_message(sl_seg_reader *r, seg_in *in, const char *what, sl_msg *out[2], int *nout,
                          sl_error *err)
{
	uint8_t kind = get_u8(in);
	uint32_t tid = get_u32(in);
	uint32_t sid = get_u32(in);
	if (kind < SL_MSG_BEGIN || kind > SL_MSG_RENAME || kind == SL_MSG_PROGRESS)
		return seg_bad(what, "unknown message", err);
	sl_msg *m = sl_msg_new((enum sl_msg_kind)kind);
	m->txid = get_u64(in);
	m->version = get_u64(in);
	m->commit_us = (int64_t)get_u64(in);
	m->position = get_str(in);
	m->mark = get_str(in);
	uint32_t nr = get_u32(in);
	if (nr > 100000)
		in->bad = true;
	int keep = 0;
	if (!in->bad && nr > 0) {
		m->renames = sl_calloc(nr, sizeof *m->renames);
		for (uint32_t i = 0; i < nr && !in->bad; i++) {
			int t = seg_table_of(r, get_u32(in));
			char *to = get_str(in);
			char *identity = get_str(in);
			if (t == -2 || to == NULL)
				in->bad = true;
			if (t >= 0 && to) {
				sl_rename *rn = &m->renames[keep++];
				rn->table = t;
				rn->to = to;
				rn->identity = identity;
			} else {
				free(to);
				free(identity);
			}
		}
		m->nrenames = keep;
	}
	int t = -1;
	if (kind == SL_MSG_SCHEMA || kind == SL_MSG_ROWS || kind == SL_MSG_TRUNCATE) {
		t = seg_table_of(r, tid);
		if (t == -2)
			in->bad = true;
		m->table = t;
	}
	sl_shape *shape = NULL;
	if ((kind == SL_MSG_SCHEMA || kind == SL_MSG_ROWS) && t >= 0) {
		shape = seg_shape_of(r, sid);
		if (shape == NULL || r->shape_table[sid] != t)
			in->bad = true;
	}
	if (kind == SL_MSG_SCHEMA && shape && !in->bad)
		m->shape = sl_shape_ref(shape);
	if (kind == SL_MSG_ROWS && shape && !in->bad) {
		sl_changes *c = sl_changes_new(t, shape);
		m->changes = c;
		c->any_unchanged = get_u8(in) != 0;
		int ubytes = (int)get_u32(in);
		get_buf(in, &c->ops);
		get_buf(in, &c->unchanged);
		int64_t len = (int64_t)get_u64(in);
		uint32_t ncols = get_u32(in);
		if (ubytes != c->ubytes || ncols != (uint32_t)c->rows->ncols || len < 0 ||
		    c->ops.len != (size_t)len ||
		    (c->any_unchanged && c->unchanged.len != (size_t)len * (size_t)ubytes))
			in->bad = true;
		for (uint32_t i = 0; i < ncols && !in->bad; i++) {
			sl_column *col = &c->rows->cols[i];
			get_column(in, col);
			if (!in->bad && (col->length != len || !seg_column_ok(col, col->field)))
				in->bad = true;
		}
		c->rows->length = len;
	}
	if (in->bad || in->p != in->end) {
		sl_msg_free(m);
		return seg_bad(what, "a message does not decode", err);
	}
	if ((kind == SL_MSG_SCHEMA || kind == SL_MSG_ROWS || kind == SL_MSG_TRUNCATE) && t < 0) {
		r->dropped++;
		sl_msg_free(m);
		return 0;
	}
	if (kind == SL_MSG_RENAME && m->nrenames == 0) {
		sl_msg_free(m);
		return 0;
	}
	if (kind == SL_MSG_SCHEMA)
		r->ts[t].handed = m->shape;
	if (kind == SL_MSG_ROWS && r->ts[t].handed != shape) {
		sl_msg *sm = sl_msg_new(SL_MSG_SCHEMA);
		sm->table = t;
		sm->shape = sl_shape_ref(shape);
		r->ts[t].handed = shape;
		out[(*nout)++] = sm;
	}
	out[(*nout)++] = m;
	return 0;
}

int sl_seg_decode(sl_seg_reader *r, char kind, const uint8_t *body, size_t len, const char *what,
                  sl_msg *out[2], int *n, sl_error *err)
{
	*n = 0;
	seg_in in = {body, body + len, false};
	switch (kind) {
	case 'T':
		if (seg_on_table(r, &in) < 0 || in.p != in.end)
			return seg_bad(what, "a table record does not decode", err);
		return 0;
	case 'H':
		if (seg_on_shape(r, &in) < 0 || in.p != in.end)
			return seg_bad(what, "a shape record does not decode", err);
		return 0;
	case 'M':
		return seg_on_message(r, &in, what, out, n, err);
	case 'F':
		return 0;
	}
	return seg_bad(what, "unknown record", err);
}

/* ---------------------------------------------------------------- footer ---- */

int sl_seg_footer_read(const uint8_t *tail, size_t n, uint64_t size, const char *what,
                       sl_seg_footer *f, uint64_t *need, sl_error *err)
{
	memset(f, 0, sizeof *f);
	if (n < SL_SEG_TRAILER || size < 8 + SL_SEG_TRAILER ||
	    memcmp(tail + n - 8, SL_SEG_END, 8) != 0)
		return seg_bad(what, "no trailer", err);
	uint64_t at = 0;
	for (int i = 7; i >= 0; i--)
		at = at << 8 | tail[n - SL_SEG_TRAILER + (size_t)i];
	if (at < 8 || at + SL_SEG_RECORD_HEAD + SL_SEG_TRAILER > size)
		return seg_bad(what, "footer offset", err);
	uint64_t want = size - at;
	if (want > n) {
		*need = want;
		return 1;
	}
	const uint8_t *p = tail + n - want;
	char kind;
	uint32_t blen, crc;
	sl_seg_record_head(p, &kind, &blen, &crc);
	if (kind != 'F' || (uint64_t)blen + SL_SEG_RECORD_HEAD + SL_SEG_TRAILER != want ||
	    (uint32_t)crc32(0, p + SL_SEG_RECORD_HEAD, blen) != crc)
		return seg_bad(what, "footer", err);
	seg_in in = {p + SL_SEG_RECORD_HEAD, p + SL_SEG_RECORD_HEAD + blen, false};
	f->ntxn = get_u32(&in);
	if ((uint64_t)f->ntxn * 8 > blen)
		return seg_bad(what, "footer", err);
	f->versions = sl_calloc(f->ntxn ? f->ntxn : 1, sizeof *f->versions);
	for (uint32_t i = 0; i < f->ntxn; i++)
		f->versions[i] = get_u64(&in);
	f->last_position = get_str(&in);
	f->last_version = get_u64(&in);
	f->first_commit_us = (int64_t)get_u64(&in);
	f->last_commit_us = (int64_t)get_u64(&in);
	f->offset = at;
	if (in.bad || in.p != in.end || f->last_position == NULL) {
		sl_seg_footer_free(f);
		return seg_bad(what, "footer", err);
	}
	return 0;
}

void sl_seg_footer_free(sl_seg_footer *f)
{
	free(f->versions);
	free(f->last_position);
	memset(f, 0, sizeof *f);
}
