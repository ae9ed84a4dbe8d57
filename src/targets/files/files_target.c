/* The files target: Parquet files in a directory or a bucket (docs/FILES.md).
 *
 * Layout under target.url (any store, core/store.h):
 *   <schema>/<table>/snapshot/part-<id>.parquet   the snapshot, one file per chunk
 *   <schema>/<table>/changes/<V>-<n>.parquet       changes of one group, V = the source version
 *                                                  of the group's first change to the table
 *   _sluice/<pipeline>/commits/<C>.json            a committed group, C = its last commit's
 *                                                  version: written after the group's files
 * Every row carries _sluice_version (its source transaction's version; 0 in the snapshot),
 * _sluice_seq (its order within that transaction) and _sluice_deleted. The current state of a
 * table is, per key, the row with the greatest (_sluice_version, _sluice_seq) that is not deleted.
 *
 * Exactly once: a change file whose V is above the last commit file's C belongs to a group that
 * did not commit; opening the applier deletes those before anything else, so a group replayed
 * after a crash is written once. A file is visible only when complete (the store's promise). */
#include "targets/files/files_target.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/digest.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/store.h"
#include "formats/parquet.h"

#define FT_META 3 /* _sluice_version, _sluice_seq, _sluice_deleted */

SL_HANDLE(files_target, sl_target)
SL_HANDLE(files_writer, sl_writer)
SL_HANDLE(files_applier, sl_applier)

struct files_target {
	const sl_config *cfg;
	const sl_store_ops *so;
	sl_store *store;
	sl_pq_options pq;
	unsigned parts; /* snapshot files named so far */
};

/* Rows on their way into one Parquet file of the store. */
struct ft_file {
	sl_field *fields; /* the table's then the meta fields */
	int nfields;
	sl_store_writer *sw;
	sl_pq_writer *pw;
	char *key;
	sl_batch *meta;
	sl_column *view; /* the columns of one written batch: the table's, then meta */
	const files_target *t;
};

struct files_writer {
	files_target *t;
	struct ft_file f;
	bool open;
	const sl_catalog *cat;
	int table;
};

struct fa_table {
	sl_shape *shape;
	struct ft_file f;
	bool open;
	int parts;      /* files of this group */
	bool truncated; /* in this group, at truncate_version */
	uint64_t truncate_version;
};

struct files_applier {
	files_target *t;
	const sl_catalog *cat;
	char *epoch;
	struct fa_table *tables;
	sl_durable durable;
	char **written; /* keys committed mid-group (a new shape closed a file) */
	int nwritten;
	sl_buf scratch;
};

static const char *const ft_options[] = {"format", "compression", SL_STORE_SETTING_KEYS, NULL};
static const char *const ft_formats[] = {"parquet", NULL};
static const char *const ft_codecs[] = {"zstd", "snappy", "none", NULL};

/* ---------------------------------------------------------------- names ---- */

/* A schema or table name as one path component: letters, digits, '_', '-' and '.' stay (not
 * a leading '.'); anything else is %XX. */
static void ft_component(sl_buf *b, const char *s)
{
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		            (c >= '0' && c <= '9') || c == '_' || c == '-' || (c == '.' && p != s);
		if (keep)
			sl_buf_putc(b, (char)c);
		else
			sl_buf_printf(b, "%%%02X", c);
	}
}

/* "<schema>/<table>/" of catalog table t into b (reset first). */
static const char *ft_prefix(sl_buf *b, const sl_table_def *td)
{
	sl_buf_reset(b);
	ft_component(b, td->schema);
	sl_buf_putc(b, '/');
	ft_component(b, td->name);
	sl_buf_putc(b, '/');
	return sl_buf_cstr(b);
}

static void ft_commit_prefix(const files_target *t, sl_buf *b)
{
	sl_buf_reset(b);
	sl_buf_puts(b, "_sluice/");
	ft_component(b, t->cfg->name);
	sl_buf_puts(b, "/commits/");
}

/* ---------------------------------------------------------------- files ---- */

static void ft_meta_fields(sl_field *f)
{
	sl_field_init(&f[0], "_sluice_version", SL_TYPE_UINT64);
	sl_field_init(&f[1], "_sluice_seq", SL_TYPE_UINT64);
	sl_field_init(&f[2], "_sluice_deleted", SL_TYPE_BOOL);
}

static int ft_sink(void *ctx, const void *p, size_t n, sl_error *err)
{
	struct ft_file *f = ctx;
	return f->t->so->write(f->sw, p, n, err);
}

static void ft_file_free(struct ft_file *f)
{
	if (f->pw)
		sl_pq_writer_free(f->pw);
	if (f->sw)
		f->t->so->abort(f->sw);
	if (f->meta)
		sl_batch_destroy(f->meta);
	for (int i = 0; i < f->nfields; i++)
		sl_field_reset(&f->fields[i]);
	free(f->fields);
	free(f->view);
	free(f->key);
	memset(f, 0, sizeof *f);
}

/* Start file `key` for rows of fields[0..n); `changes`: every column nullable (a delete's row
 * holds its key alone). */
static int ft_file_open(const files_target *t, struct ft_file *f, const char *key,
                        const sl_field *fields, int n, bool changes, sl_error *err)
{
	memset(f, 0, sizeof *f);
	f->t = t;
	f->nfields = n + FT_META;
	f->fields = sl_calloc((size_t)f->nfields, sizeof *f->fields);
	for (int i = 0; i < n; i++) {
		sl_field_copy(&f->fields[i], &fields[i]);
		f->fields[i].nullable |= changes;
	}
	ft_meta_fields(&f->fields[n]);
	f->meta = sl_batch_create(&f->fields[n], FT_META);
	f->view = sl_calloc((size_t)f->nfields, sizeof *f->view);
	f->key = sl_strdup(key);
	int rc = t->so->writer_open(t->store, key, &f->sw, err);
	if (rc == 0)
		rc = sl_pq_writer_new(f->fields, f->nfields, &t->pq, ft_sink, f, &f->pw, err);
	if (rc < 0)
		ft_file_free(f);
	return rc;
}

/* Write the rows of b (the file's fields without the meta ones) whose meta columns are in
 * f->meta. */
static int ft_file_write(struct ft_file *f, const sl_batch *b, sl_error *err)
{
	int n = f->nfields - FT_META;
	for (int i = 0; i < n; i++)
		f->view[i] = b->cols[i];
	for (int i = 0; i < FT_META; i++)
		f->view[n + i] = f->meta->cols[i];
	sl_batch view = {
	        .fields = f->fields, .ncols = f->nfields, .cols = f->view, .length = b->length};
	int rc = sl_pq_write(f->pw, &view, err);
	sl_batch_reset(f->meta);
	return rc;
}

/* Finish the file and make it visible. */
static int ft_file_commit(struct ft_file *f, sl_error *err)
{
	int rc = sl_pq_finish(f->pw, err);
	if (rc == 0) {
		rc = f->t->so->commit(f->sw, err);
		f->sw = NULL; /* commit frees it, whatever it returns */
	}
	if (rc < 0)
		sl_error_wrap(err, "target: writing %s", f->key);
	return rc;
}

static void ft_meta_row(sl_batch *m, uint64_t version, uint64_t seq, bool deleted)
{
	sl_col_append_fixed(&m->cols[0], &version, 8);
	sl_col_append_fixed(&m->cols[1], &seq, 8);
	sl_col_append_bool(&m->cols[2], deleted);
	sl_batch_end_row(m);
}

/* ---------------------------------------------------------------- lifecycle ---- */

static int ft_open(const sl_config *cfg, sl_target **out, sl_error *err)
{
	if (cfg->target.aws_iam || cfg->target.password || cfg->target.password_file)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "the files target takes no password or auth: the store's "
		                    "credentials come from its own settings (docs/FILES.md)");
	char *format = NULL, *codec = NULL;
	SL_TRY(sl_config_opt_choice(cfg, "target", "format", ft_formats, &format, err));
	int rc = sl_config_opt_choice(cfg, "target", "compression", ft_codecs, &codec, err);
	if (rc < 0) {
		free(format);
		return rc;
	}
	files_target *t = sl_calloc(1, sizeof *t);
	t->cfg = cfg;
	t->pq.codec = !codec || strcmp(codec, "zstd") == 0 ? SL_PQ_ZSTD
	              : strcmp(codec, "snappy") == 0       ? SL_PQ_SNAPPY
	                                                   : SL_PQ_UNCOMPRESSED;
	/* two lanes each holding a row group stay well inside the memory the snapshot allows */
	t->pq.row_group_bytes = (size_t)64 << 20;
	t->pq.created_by = "sluice version " SLUICE_VERSION;
	free(format);
	free(codec);
	sl_store_settings set;
	rc = sl_store_settings_read(cfg, "target", &set, err);
	if (rc == 0)
		rc = sl_store_open(cfg->target.url, "target", &set, &t->so, &t->store, err);
	sl_store_settings_free(&set);
	if (rc < 0) {
		free(t);
		return rc;
	}
	*out = files_target_handle(t);
	return 0;
}

static void ft_close(sl_target *handle)
{
	files_target *t = files_target_of(handle);
	if (!t)
		return;
	t->so->close(t->store);
	free(t);
}

static int ft_check(sl_target *handle, sl_check_fn report, void *ctx)
{
	files_target *t = files_target_of(handle);
	sl_error err = {0};
	if (t->so->check(t->store, &err) < 0) {
		report(ctx, false, "target store", err.msg);
		return 1;
	}
	char msg[512];
	snprintf(msg, sizeof msg, "%s can be written, read and deleted in", t->cfg->target.url);
	report(ctx, true, "target store", msg);
	return 0;
}

static const char *ft_table_name(sl_target *handle, const sl_catalog *cat, int ti, char *buf,
                                 size_t n)
{
	(void)handle;
	sl_buf b = {0};
	snprintf(buf, n, "%s", ft_prefix(&b, &cat->tables[ti]));
	sl_buf_free(&b);
	return buf;
}

struct ft_keys {
	char **keys;
	int n, cap;
	const char *must; /* only keys containing this, or NULL */
};

static int ft_collect(void *ctx, const sl_store_object *o, sl_error *err)
{
	(void)err;
	struct ft_keys *k = ctx;
	if (k->must && !strstr(o->key, k->must))
		return 0;
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 16;
		k->keys = sl_realloc(k->keys, (size_t)k->cap * sizeof *k->keys);
	}
	k->keys[k->n++] = sl_strdup(o->key);
	return 0;
}

static void ft_keys_free(struct ft_keys *k)
{
	for (int i = 0; i < k->n; i++)
		free(k->keys[i]);
	free(k->keys);
	memset(k, 0, sizeof *k);
}

static int ft_list(files_target *t, const char *prefix, const char *must, struct ft_keys *k,
                   sl_error *err)
{
	memset(k, 0, sizeof *k);
	k->must = must;
	int rc = t->so->list(t->store, prefix, ft_collect, k, err);
	if (rc < 0)
		ft_keys_free(k);
	return rc;
}

static int ft_prepare(sl_target *handle, const sl_catalog *cat, int ti, bool reload, sl_error *err)
{
	files_target *t = files_target_of(handle);
	sl_buf p = {0};
	struct ft_keys k;
	int rc = ft_list(t, ft_prefix(&p, &cat->tables[ti]), NULL, &k, err);
	if (rc == 0 && k.n > 0 && !reload)
		rc = sl_error_set(
		        err, SL_ERR_STATE,
		        "target: %s already holds %d file(s) this pipeline did not write; "
		        "sluice never overwrites them (move them away, or point target.url "
		        "at an empty place)",
		        sl_buf_cstr(&p), k.n);
	for (int i = 0; rc == 0 && reload && i < k.n; i++)
		rc = t->so->del(t->store, k.keys[i], err);
	if (rc == 0 && reload && k.n)
		sl_info("target: %s emptied (%d file(s) of an unfinished load)", sl_buf_cstr(&p),
		        k.n);
	ft_keys_free(&k);
	sl_buf_free(&p);
	return rc;
}

/* ---------------------------------------------------------------- snapshot ---- */

static int ft_writer_open(sl_target *handle, sl_writer **out, sl_error *err)
{
	(void)err;
	files_writer *w = sl_calloc(1, sizeof *w);
	w->t = files_target_of(handle);
	*out = files_writer_handle(w);
	return 0;
}

static int ft_load_begin(sl_writer *handle, const sl_catalog *cat, int ti, sl_error *err)
{
	files_writer *w = files_writer_of(handle);
	files_target *t = w->t;
	const sl_table_def *td = &cat->tables[ti];
	struct timeval tv;
	gettimeofday(&tv, NULL);
	sl_buf key = {0};
	ft_prefix(&key, td);
	/* unique among this pipeline's writers: a reload empties the table first */
	sl_buf_printf(&key, "snapshot/part-%lld%06ld-%ld-%u.parquet", (long long)tv.tv_sec,
	              (long)tv.tv_usec, (long)getpid(),
	              __atomic_fetch_add(&t->parts, 1, __ATOMIC_RELAXED));
	int rc = ft_file_open(t, &w->f, sl_buf_cstr(&key), td->fields, td->nfields, false, err);
	sl_buf_free(&key);
	w->open = rc == 0;
	w->cat = cat;
	w->table = ti;
	return rc;
}

static int ft_load_batch(sl_writer *handle, const sl_batch *b, sl_error *err)
{
	files_writer *w = files_writer_of(handle);
	for (int64_t i = 0; i < b->length; i++)
		ft_meta_row(w->f.meta, 0, 0, false);
	return ft_file_write(&w->f, b, err);
}

static int ft_load_end(sl_writer *handle, sl_error *err)
{
	files_writer *w = files_writer_of(handle);
	int rc = ft_file_commit(&w->f, err);
	ft_file_free(&w->f);
	w->open = false;
	return rc;
}

static void ft_load_abort(sl_writer *handle)
{
	files_writer *w = files_writer_of(handle);
	if (w->open)
		ft_file_free(&w->f);
	w->open = false;
}

static int ft_finish_table(sl_writer *handle, const sl_catalog *cat, int ti, sl_error *err)
{
	(void)handle, (void)cat, (void)ti, (void)err;
	return 0; /* files have no keys or indexes to add */
}

static void ft_writer_cancel(sl_writer *handle)
{
	(void)handle; /* store writes are short: the lane stops after the current one */
}

static void ft_writer_close(sl_writer *handle)
{
	files_writer *w = files_writer_of(handle);
	if (!w)
		return;
	ft_load_abort(handle);
	free(w);
}

/* ---------------------------------------------------------------- reading back ---- */

struct ft_reader_ctx {
	files_target *t;
	const char *key;
};

static int ft_read_at(void *ctx, int64_t off, void *dst, size_t n, sl_error *err)
{
	struct ft_reader_ctx *r = ctx;
	int rc = r->t->so->get_range(r->t->store, r->key, off, dst, n, err);
	if (rc == SL_STORE_MISSING)
		return sl_error_set(err, SL_ERR_IO, "target: %s disappeared while read", r->key);
	return rc;
}

/* Append every row of file `key` to all (the table's fields then the meta ones), matching
 * columns by name: a column the file lacks (added later) is NULL. */
static int ft_read_file(files_target *t, const char *key, sl_batch *all, sl_error *err)
{
	int64_t size = 0;
	int rc = t->so->size(t->store, key, &size, err);
	if (rc != 0)
		return rc == SL_STORE_MISSING ? 0 : rc;
	struct ft_reader_ctx ctx = {t, key};
	sl_pq_reader *r;
	rc = sl_pq_reader_open(ft_read_at, &ctx, size, &r, err);
	if (rc < 0)
		return sl_error_wrap(err, "target: reading %s", key);
	int n;
	const sl_field *ff = sl_pq_reader_fields(r, &n);
	int *map = sl_malloc((size_t)all->ncols * sizeof *map);
	for (int i = 0; i < all->ncols; i++) {
		map[i] = -1;
		for (int k = 0; k < n; k++)
			if (strcmp(ff[k].name, all->fields[i].name) == 0)
				map[i] = k;
	}
	sl_batch *b = sl_batch_create(ff, n);
	for (int g = 0; rc == 0 && g < sl_pq_reader_row_groups(r); g++) {
		sl_batch_reset(b);
		rc = sl_pq_read_row_group(r, g, b, err);
		for (int64_t row = 0; rc == 0 && row < b->length; row++) {
			for (int i = 0; i < all->ncols; i++) {
				if (map[i] < 0 || ff[map[i]].type != all->fields[i].type)
					sl_col_append_null(&all->cols[i]);
				else
					sl_col_append_from(&all->cols[i], &b->cols[map[i]], row);
			}
			sl_batch_end_row(all);
		}
	}
	if (rc < 0)
		sl_error_wrap(err, "target: reading %s", key);
	sl_batch_destroy(b);
	free(map);
	sl_pq_reader_free(r);
	return rc;
}

/* The bytes identifying row i by columns cols[0..n) (a NULL marked apart from any value). */
static void ft_row_bytes(const sl_batch *b, int64_t i, const int *cols, int n, sl_buf *out)
{
	sl_buf_reset(out);
	for (int k = 0; k < n; k++) {
		const sl_column *c = &b->cols[cols[k]];
		if (!sl_col_is_valid(c, i)) {
			sl_buf_putc(out, 0);
			continue;
		}
		sl_buf_putc(out, 1);
		int w = sl_type_value_width(c->field);
		if (c->field->type == SL_TYPE_BOOL) {
			sl_buf_putc(out, (char)((c->values.data[i >> 3] >> (i & 7)) & 1));
		} else if (w > 0) {
			sl_buf_append(out, c->values.data + i * w, (size_t)w);
		} else if (c->field->type == SL_TYPE_LIST) {
			const int32_t *off = (const int32_t *)c->offsets.data;
			int32_t len = off[i + 1] - off[i];
			sl_buf_append(out, &len, 4);
			int child = 0;
			sl_batch one = {.fields = c->child->field,
			                .ncols = 1,
			                .cols = (sl_column *)c->child,
			                .length = c->child->length};
			sl_buf sub = {0};
			for (int32_t e = off[i]; e < off[i + 1]; e++) {
				ft_row_bytes(&one, e, &child, 1, &sub);
				sl_buf_append(out, sub.data, sub.len);
			}
			sl_buf_free(&sub);
		} else {
			int32_t len;
			const uint8_t *p = sl_col_bytes(c, i, &len);
			sl_buf_append(out, &len, 4);
			sl_buf_append(out, p, (size_t)len);
		}
	}
}

static uint64_t ft_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h ^ (h >> 31);
}

/* The rows of `all` that make the table's current state: per key the greatest (version, seq)
 * not deleted; without a key, the rows written minus the rows deleted (by their values). */
static void ft_current(const sl_batch *all, const sl_table_def *td, bool *keep)
{
	int n = all->ncols - FT_META;
	const sl_column *ver = &all->cols[n], *seq = &all->cols[n + 1], *del = &all->cols[n + 2];
	size_t slots = 16;
	while (slots < (size_t)all->length * 2)
		slots *= 2;
	int64_t *tab = sl_malloc(slots * sizeof *tab); /* row + 1, 0 empty */
	memset(tab, 0, slots * sizeof *tab);
	uint64_t *hashes = sl_malloc((size_t)(all->length ? all->length : 1) * sizeof *hashes);
	int *cols = sl_malloc((size_t)(n ? n : 1) * sizeof *cols);
	int ncols = td->nkey;
	if (ncols > 0)
		for (int k = 0; k < td->nkey; k++)
			cols[k] = td->key[k];
	else
		for (ncols = 0; ncols < n; ncols++)
			cols[ncols] = ncols;
	sl_buf a = {0}, b = {0};
#define FT_U64(c, i) (((const uint64_t *)(c)->values.data)[i])
#define FT_DEL(i) (((del->values.data[(i) >> 3] >> ((i)&7)) & 1) != 0)
	for (int64_t i = 0; i < all->length; i++) {
		ft_row_bytes(all, i, cols, ncols, &a);
		hashes[i] = ft_hash(a.data, a.len);
		keep[i] = false;
		if (td->nkey == 0) {
			/* keyless: a deletion cancels one earlier row of the same values */
			if (!FT_DEL(i)) {
				keep[i] = true;
				continue;
			}
			for (int64_t j = 0; j < i; j++)
				if (keep[j] && hashes[j] == hashes[i]) {
					ft_row_bytes(all, j, cols, ncols, &b);
					if (b.len == a.len && memcmp(a.data, b.data, a.len) == 0) {
						keep[j] = false;
						break;
					}
				}
			continue;
		}
		size_t s = hashes[i] & (slots - 1);
		for (;; s = (s + 1) & (slots - 1)) {
			if (tab[s] == 0) {
				tab[s] = i + 1;
				break;
			}
			int64_t j = tab[s] - 1;
			if (hashes[j] != hashes[i])
				continue;
			ft_row_bytes(all, j, cols, ncols, &b);
			if (b.len != a.len || memcmp(a.data, b.data, a.len) != 0)
				continue;
			if (FT_U64(ver, i) > FT_U64(ver, j) ||
			    (FT_U64(ver, i) == FT_U64(ver, j) && FT_U64(seq, i) >= FT_U64(seq, j)))
				tab[s] = i + 1;
			break;
		}
	}
	if (td->nkey > 0)
		for (size_t s = 0; s < slots; s++)
			if (tab[s] && !FT_DEL(tab[s] - 1))
				keep[tab[s] - 1] = true;
#undef FT_U64
#undef FT_DEL
	sl_buf_free(&a), sl_buf_free(&b);
	free(tab), free(hashes), free(cols);
}

static int ft_digest(sl_target *handle, const sl_catalog *cat, int ti, sl_digest *d, sl_error *err)
{
	files_target *t = files_target_of(handle);
	const sl_table_def *td = &cat->tables[ti];
	sl_buf p = {0};
	struct ft_keys k;
	SL_TRY(ft_list(t, ft_prefix(&p, td), ".parquet", &k, err));
	if (k.n == 0) {
		int rc = sl_error_set(err, SL_ERR_MISMATCH, "target: no files under %s",
		                      sl_buf_cstr(&p));
		sl_buf_free(&p);
		ft_keys_free(&k);
		return rc;
	}
	sl_field *fields = sl_calloc((size_t)td->nfields + FT_META, sizeof *fields);
	for (int i = 0; i < td->nfields; i++)
		sl_field_copy(&fields[i], &td->fields[i]);
	ft_meta_fields(&fields[td->nfields]);
	sl_batch *all = sl_batch_create(fields, td->nfields + FT_META);
	int rc = 0;
	for (int i = 0; rc == 0 && i < k.n; i++)
		rc = ft_read_file(t, k.keys[i], all, err);
	if (rc == 0) {
		bool *keep = sl_malloc((size_t)(all->length ? all->length : 1));
		ft_current(all, td, keep);
		sl_batch *out = sl_batch_create(td->fields, td->nfields);
		for (int64_t i = 0; i < all->length; i++) {
			if (!keep[i])
				continue;
			for (int c = 0; c < td->nfields; c++)
				sl_col_append_from(&out->cols[c], &all->cols[c], i);
			sl_batch_end_row(out);
			if (out->length == 65536) {
				sl_digest_add_batch(d, out);
				sl_batch_reset(out);
			}
		}
		sl_digest_add_batch(d, out);
		sl_batch_destroy(out);
		free(keep);
	}
	sl_batch_destroy(all);
	for (int i = 0; i < td->nfields + FT_META; i++)
		sl_field_reset(&fields[i]);
	free(fields);
	ft_keys_free(&k);
	sl_buf_free(&p);
	return rc;
}

/* The source renamed table t: its files move to the new name (copied, then the old deleted:
 * object stores have no rename). Done already (nothing under the old name) is success. */
static int ft_rename(sl_target *handle, const sl_catalog *old_cat, const sl_catalog *cat, int ti,
                     sl_error *err)
{
	files_target *t = files_target_of(handle);
	sl_buf from = {0}, to = {0}, key = {0}, data = {0};
	ft_prefix(&from, &old_cat->tables[ti]);
	ft_prefix(&to, &cat->tables[ti]);
	struct ft_keys k;
	int rc = ft_list(t, sl_buf_cstr(&from), NULL, &k, err);
	for (int i = 0; rc == 0 && i < k.n; i++) {
		sl_buf_reset(&key);
		sl_buf_puts(&key, sl_buf_cstr(&to));
		sl_buf_puts(&key, k.keys[i] + from.len);
		rc = t->so->get(t->store, k.keys[i], &data, err);
		if (rc == 0)
			rc = t->so->put(t->store, sl_buf_cstr(&key), data.data, data.len, err);
		if (rc == 0)
			rc = t->so->del(t->store, k.keys[i], err);
		rc = rc == SL_STORE_MISSING ? 0 : rc;
	}
	if (rc == 0 && k.n)
		sl_info("target: %s moved to %s (%d file(s))", sl_buf_cstr(&from), sl_buf_cstr(&to),
		        k.n);
	ft_keys_free(&k);
	sl_buf_free(&from), sl_buf_free(&to), sl_buf_free(&key), sl_buf_free(&data);
	return rc;
}

/* ---------------------------------------------------------------- commits ---- */

/* The value of "key": in a commit file we wrote (strings without quotes or escapes inside). */
static bool ft_json_field(const char *json, const char *key, char *out, size_t n)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\": ", key);
	const char *p = strstr(json, pat);
	if (!p)
		return false;
	p += strlen(pat);
	bool quoted = *p == '"';
	p += quoted;
	size_t len = strcspn(p, quoted ? "\"" : ",}\n");
	if (len >= n)
		return false;
	memcpy(out, p, len);
	out[len] = 0;
	return true;
}

struct ft_commit_scan {
	uint64_t best, prev; /* the greatest commit version, and the one below it */
	int n;
};

static int ft_commit_seen(void *ctx, const sl_store_object *o, sl_error *err)
{
	(void)err;
	struct ft_commit_scan *s = ctx;
	const char *base = strrchr(o->key, '/');
	base = base ? base + 1 : o->key;
	char *end;
	uint64_t v = strtoull(base, &end, 10);
	if (end == base || strcmp(end, ".json") != 0)
		return 0;
	s->n++;
	if (v > s->best) {
		s->prev = s->best;
		s->best = v;
	} else if (v > s->prev) {
		s->prev = v;
	}
	return 0;
}

/* The last committed group (its commit file), for `epoch`. */
static int ft_durable_read(files_target *t, const char *epoch, sl_durable *out,
                           struct ft_commit_scan *scan, sl_error *err)
{
	memset(out, 0, sizeof *out);
	memset(scan, 0, sizeof *scan);
	sl_buf p = {0}, body = {0};
	ft_commit_prefix(t, &p);
	int rc = t->so->list(t->store, sl_buf_cstr(&p), ft_commit_seen, scan, err);
	if (rc == 0 && scan->n > 0) {
		sl_buf_printf(&p, "%020" PRIu64 ".json", scan->best);
		rc = t->so->get(t->store, sl_buf_cstr(&p), &body, err);
		if (rc == SL_STORE_MISSING)
			rc = sl_error_set(err, SL_ERR_STATE, "target: %s vanished while read",
			                  sl_buf_cstr(&p));
	}
	if (rc == 0 && scan->n > 0) {
		const char *json = sl_buf_cstr(&body);
		char e[128], v[32], cu[32], au[32];
		if (!ft_json_field(json, "epoch", e, sizeof e) ||
		    !ft_json_field(json, "position", out->position, sizeof out->position) ||
		    !ft_json_field(json, "version", v, sizeof v) ||
		    !ft_json_field(json, "commit_us", cu, sizeof cu) ||
		    !ft_json_field(json, "applied_us", au, sizeof au)) {
			rc = sl_error_set(
			        err, SL_ERR_STATE,
			        "target: %s is not a commit file sluice wrote (remove it if "
			        "another tool put it there)",
			        sl_buf_cstr(&p));
		} else if (strcmp(e, epoch) == 0) {
			out->found = true;
			out->version = strtoull(v, NULL, 10);
			out->commit_us = strtoll(cu, NULL, 10);
			out->applied_us = strtoll(au, NULL, 10);
		}
	}
	sl_buf_free(&p), sl_buf_free(&body);
	return rc;
}

static int ft_durable(sl_target *handle, const char *epoch, sl_durable *out, sl_error *err)
{
	struct ft_commit_scan scan;
	return ft_durable_read(files_target_of(handle), epoch, out, &scan, err);
}

/* The version a change file's name starts with; false for other names. */
static bool ft_change_version(const char *key, uint64_t *v)
{
	const char *c = strstr(key, "/changes/");
	if (!c)
		return false;
	char *end;
	*v = strtoull(c + 9, &end, 10);
	return end != c + 9 && *end == '-';
}

/* Delete what a group that did not commit left: change files above the durable version. */
static int ft_sweep_uncommitted(files_target *t, uint64_t durable, sl_error *err)
{
	struct ft_keys k;
	SL_TRY(ft_list(t, "", "/changes/", &k, err));
	int rc = 0, n = 0;
	for (int i = 0; rc == 0 && i < k.n; i++) {
		uint64_t v;
		if (ft_change_version(k.keys[i], &v) && v > durable) {
			rc = t->so->del(t->store, k.keys[i], err);
			n++;
		}
	}
	if (rc == 0 && n)
		sl_info("target: removed %d file(s) of a group that did not commit", n);
	ft_keys_free(&k);
	return rc;
}

/* ---------------------------------------------------------------- apply ---- */

static void fa_close(sl_applier *handle);

static int fa_open(sl_target *handle, const sl_catalog *cat, const char *epoch,
                   uint64_t converge_until, sl_applier **out, sl_durable *durable, sl_error *err)
{
	(void)converge_until; /* rows are never read back: nothing to converge */
	files_target *t = files_target_of(handle);
	struct ft_commit_scan scan;
	SL_TRY(ft_durable_read(t, epoch, durable, &scan, err));
	SL_TRY(ft_sweep_uncommitted(t, durable->found ? durable->version : 0, err));
	files_applier *a = sl_calloc(1, sizeof *a);
	a->t = t;
	a->cat = cat;
	a->epoch = sl_strdup(epoch);
	a->durable = *durable;
	a->tables = sl_calloc((size_t)(cat->ntables ? cat->ntables : 1), sizeof *a->tables);
	*out = files_applier_handle(a);
	return 0;
}

static int fa_shape(sl_applier *handle, int ti, sl_shape *shape, bool *stale, sl_error *err)
{
	files_applier *a = files_applier_of(handle);
	struct fa_table *at = &a->tables[ti];
	/* a column added with a value the rows already written do not have: their files cannot
	 * change, so the table is copied again (core/backfill.h) */
	*stale = false;
	if (at->shape)
		for (int i = 0; i < shape->nfields; i++)
			if ((shape->fields[i].fill || shape->fields[i].fill_missing) &&
			    sl_shape_find(at->shape, shape->fields[i].name) < 0)
				*stale = true;
	if (at->open) {
		/* the rows of the old shape make one file; later rows another, with the new columns
		 */
		SL_TRY(ft_file_commit(&at->f, err));
		a->written = sl_realloc(a->written, (size_t)(a->nwritten + 1) * sizeof *a->written);
		a->written[a->nwritten++] = sl_strdup(at->f.key);
		ft_file_free(&at->f);
		at->open = false;
	}
	if (at->shape)
		sl_shape_unref(at->shape);
	at->shape = sl_shape_ref(shape);
	return 0;
}

/* Rows whose changes left columns unchanged without sending them (PostgreSQL TOAST), and the
 * new image of a row whose key changed (MOVE: its unchanged columns are the old key's): the
 * values come from the table's current state in its files. *out is a copy of c->rows with them
 * filled in. Reads the table's files once per call that needs it. */
static int fa_fill_unchanged(files_applier *a, const sl_changes *c, const uint8_t *dead,
                             sl_batch **out, sl_error *err)
{
	const sl_table_def *td = &a->cat->tables[c->table];
	const sl_shape *sh = c->shape;
	int *key = sl_malloc((size_t)(sh->nfields ? sh->nfields : 1) * sizeof *key);
	const char *missing = NULL;
	int nkey = sl_shape_key(sh, td, key, &missing);
	int rc = 0;
	sl_batch *all = NULL, *fixed = NULL;
	sl_field *fields = NULL;
	int64_t *found = NULL;
	if (nkey <= 0) {
		rc = sl_error_set(err, SL_ERR_SETTING,
		                  "target: %s: a change left columns unchanged, and without a key "
		                  "their values cannot be found (on the source: ALTER TABLE %s "
		                  "REPLICA IDENTITY FULL)",
		                  td->qualified, td->qualified);
		goto out;
	}
	/* the table's rows as its files hold them (committed groups and the snapshot) */
	fields = sl_calloc((size_t)sh->nfields + FT_META, sizeof *fields);
	for (int i = 0; i < sh->nfields; i++)
		sl_field_copy(&fields[i], &sh->fields[i]);
	ft_meta_fields(&fields[sh->nfields]);
	all = sl_batch_create(fields, sh->nfields + FT_META);
	sl_buf p = {0};
	struct ft_keys k;
	rc = ft_list(a->t, ft_prefix(&p, td), ".parquet", &k, err);
	sl_buf_free(&p);
	/* (a file of this group that a new shape closed is not committed, but is current) */
	for (int i = 0; rc == 0 && i < k.n; i++)
		rc = ft_read_file(a->t, k.keys[i], all, err);
	if (rc == 0)
		ft_keys_free(&k);
	if (rc < 0)
		goto out;
	/* the newest row of each key in the files */
	sl_table_def keyed = *td;
	keyed.key = key;
	keyed.nkey = nkey;
	bool *keep = sl_malloc((size_t)(all->length ? all->length : 1));
	ft_current(all, &keyed, keep);
	/* the current rows by key */
	size_t slots = 16;
	while (slots < (size_t)all->length * 2)
		slots *= 2;
	found = sl_calloc(slots, sizeof *found); /* row + 1, 0 empty */
	sl_buf kb = {0}, rb = {0};
	for (int64_t j = 0; j < all->length; j++) {
		if (!keep[j])
			continue;
		ft_row_bytes(all, j, key, nkey, &rb);
		size_t s = ft_hash(rb.data, rb.len) & (slots - 1);
		while (found[s])
			s = (s + 1) & (slots - 1);
		found[s] = j + 1;
	}
	fixed = sl_batch_create(c->rows->fields, c->rows->ncols);
	for (int64_t i = 0; rc == 0 && i < c->rows->length; i++) {
		bool need =
		        !(dead && (dead[i >> 3] >> (i & 7)) & 1) && c->ops.data[i] == SL_OP_MOVE;
		for (int f = 0; !need && c->any_unchanged && f < sh->nfields; f++)
			need = !(dead && (dead[i >> 3] >> (i & 7)) & 1) &&
			       sl_changes_is_unchanged(c, i, f);
		int64_t src = -1;
		if (need) {
			/* the key the old values are under: a MOVE's is its DELETE's */
			int64_t from = c->ops.data[i] == SL_OP_MOVE ? sl_changes_pair(c, i) : i;
			if (from < 0)
				from = i - 1;
			ft_row_bytes(c->rows, from, key, nkey, &kb);
			for (size_t s = ft_hash(kb.data, kb.len) & (slots - 1); found[s] && src < 0;
			     s = (s + 1) & (slots - 1)) {
				ft_row_bytes(all, found[s] - 1, key, nkey, &rb);
				if (rb.len == kb.len && memcmp(rb.data, kb.data, kb.len) == 0)
					src = found[s] - 1;
			}
			if (src < 0)
				rc = sl_error_set(
				        err, SL_ERR_STATE,
				        "target: %s: a change leaves columns unchanged, but the "
				        "row it changes is not in the target's files (copy the "
				        "table again with 'sluice resync')",
				        td->qualified);
		}
		for (int f = 0; rc == 0 && f < sh->nfields; f++) {
			bool take = src >= 0 && sl_changes_is_unchanged(c, i, f);
			sl_col_append_from(&fixed->cols[f],
			                   take ? &all->cols[f] : &c->rows->cols[f],
			                   take ? src : i);
		}
		sl_batch_end_row(fixed);
	}
	sl_buf_free(&kb), sl_buf_free(&rb);
	free(keep);
out:
	if (rc < 0 && fixed) {
		sl_batch_destroy(fixed);
		fixed = NULL;
	}
	*out = fixed;
	if (all)
		sl_batch_destroy(all);
	for (int i = 0; fields && i < sh->nfields + FT_META; i++)
		sl_field_reset(&fields[i]);
	free(fields);
	free(found);
	free(key);
	return rc;
}

static int fa_changes(sl_applier *handle, const sl_changes *c, const uint8_t *dead, sl_error *err)
{
	files_applier *a = files_applier_of(handle);
	struct fa_table *at = &a->tables[c->table];
	const sl_table_def *td = &a->cat->tables[c->table];
	if (at->shape != c->shape)
		return sl_error_set(err, SL_ERR_INTERNAL, "changes to %s arrived before its shape",
		                    td->qualified);
	const uint8_t *opb = c->ops.data;
	int64_t first = -1;
	bool fill = false;
	for (int64_t i = 0; i < c->rows->length; i++) {
		if (dead && (dead[i >> 3] >> (i & 7)) & 1)
			continue;
		fill |= opb[i] == SL_OP_MOVE;
		for (int k = 0; c->any_unchanged && k < c->shape->nfields && !fill; k++)
			fill = sl_changes_is_unchanged(c, i, k);
		if (first < 0)
			first = i;
	}
	if (first < 0)
		return 0;
	sl_batch *filled = NULL;
	if (fill)
		SL_TRY(fa_fill_unchanged(a, c, dead, &filled, err));
	if (!at->open) {
		sl_buf key = {0};
		ft_prefix(&key, td);
		sl_buf_printf(&key, "changes/%020" PRIu64 "-%d.parquet",
		              sl_changes_origin(c, first).version, at->parts++);
		int rc = ft_file_open(a->t, &at->f, sl_buf_cstr(&key), c->shape->fields,
		                      c->shape->nfields, true, err);
		sl_buf_free(&key);
		SL_TRY(rc);
		at->open = true;
	}
	/* the live rows, with their versions */
	sl_batch *rows = filled ? filled : c->rows;
	bool all_live = true;
	for (int64_t i = 0; i < rows->length && all_live; i++)
		all_live = !(dead && (dead[i >> 3] >> (i & 7)) & 1);
	sl_batch *live = rows;
	if (!all_live) {
		live = sl_batch_create(rows->fields, rows->ncols);
		for (int64_t i = 0; i < rows->length; i++) {
			if (dead && (dead[i >> 3] >> (i & 7)) & 1)
				continue;
			for (int k = 0; k < rows->ncols; k++)
				sl_col_append_from(&live->cols[k], &rows->cols[k], i);
			sl_batch_end_row(live);
		}
	}
	for (int64_t i = 0; i < rows->length; i++) {
		if (dead && (dead[i >> 3] >> (i & 7)) & 1)
			continue;
		sl_row_origin o = sl_changes_origin(c, i);
		bool del =
		        opb[i] == SL_OP_DELETE || opb[i] == SL_OP_REKEY || opb[i] == SL_OP_KEYREF;
		ft_meta_row(at->f.meta, o.version, o.seq, del);
	}
	int rc = ft_file_write(&at->f, live, err);
	if (live != rows)
		sl_batch_destroy(live);
	if (filled)
		sl_batch_destroy(filled);
	return rc;
}

static int fa_truncate(sl_applier *handle, int ti, uint64_t version, sl_error *err)
{
	(void)err;
	files_applier *a = files_applier_of(handle);
	struct fa_table *at = &a->tables[ti];
	/* rows of this group before the truncate go with the rest */
	if (at->open) {
		ft_file_free(&at->f);
		at->open = false;
	}
	at->truncated = true;
	at->truncate_version = version;
	return 0;
}

/* Delete every file of table ti written before `version`: the snapshot's, and change files of
 * groups whose first change came before it. */
static int fa_drop_before(files_applier *a, int ti, uint64_t version, sl_error *err)
{
	files_target *t = a->t;
	sl_buf p = {0};
	struct ft_keys k;
	SL_TRY(ft_list(t, ft_prefix(&p, &a->cat->tables[ti]), ".parquet", &k, err));
	int rc = 0, n = 0;
	for (int i = 0; rc == 0 && i < k.n; i++) {
		uint64_t v = 0;
		if (!ft_change_version(k.keys[i], &v) || v < version) {
			rc = t->so->del(t->store, k.keys[i], err);
			n++;
		}
	}
	if (rc == 0)
		sl_info("target: %s truncated on the source: %d file(s) removed", sl_buf_cstr(&p),
		        n);
	ft_keys_free(&k);
	sl_buf_free(&p);
	return rc;
}

static int fa_commit(sl_applier *handle, const sl_msg *commit, sl_error *err)
{
	files_applier *a = files_applier_of(handle);
	files_target *t = a->t;
	for (int i = 0; i < a->cat->ntables; i++) {
		struct fa_table *at = &a->tables[i];
		if (!at->open)
			continue;
		SL_TRY(ft_file_commit(&at->f, err));
		ft_file_free(&at->f);
		at->open = false;
	}
	struct timeval tv;
	gettimeofday(&tv, NULL);
	int64_t now = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	sl_buf key = {0}, body = {0};
	ft_commit_prefix(t, &key);
	size_t plen = key.len;
	sl_buf_printf(&key, "%020" PRIu64 ".json", commit->version);
	sl_buf_printf(&body,
	              "{\"pipeline\": \"%s\", \"epoch\": \"%s\", \"position\": \"%s\", "
	              "\"version\": %" PRIu64 ", \"commit_us\": %" PRId64
	              ", \"applied_us\": %" PRId64 "}\n",
	              t->cfg->name, a->epoch, commit->position, commit->version, commit->commit_us,
	              now);
	int rc = t->so->put(t->store, sl_buf_cstr(&key), body.data, body.len, err);
	/* the group is committed; keep the commit file before this one (a reader may be on it)
	 * and remove older ones */
	if (rc == 0 && a->durable.found) {
		key.len = plen;
		struct ft_keys k;
		rc = ft_list(t, sl_buf_cstr(&key), ".json", &k, err);
		for (int i = 0; rc == 0 && i < k.n; i++) {
			const char *base = strrchr(k.keys[i], '/');
			uint64_t v = strtoull(base ? base + 1 : k.keys[i], NULL, 10);
			if (v < a->durable.version)
				rc = t->so->del(t->store, k.keys[i], err);
		}
		if (rc == 0)
			ft_keys_free(&k);
	}
	for (int i = 0; rc == 0 && i < a->cat->ntables; i++) {
		struct fa_table *at = &a->tables[i];
		if (at->truncated)
			rc = fa_drop_before(a, i, at->truncate_version, err);
		at->truncated = false;
		at->parts = 0;
	}
	if (rc == 0) {
		a->durable.found = true;
		a->durable.version = commit->version;
	}
	for (int i = 0; i < a->nwritten; i++)
		free(a->written[i]);
	a->nwritten = 0;
	sl_buf_free(&key), sl_buf_free(&body);
	return rc;
}

static void fa_rollback(sl_applier *handle)
{
	files_applier *a = files_applier_of(handle);
	for (int i = 0; i < a->cat->ntables; i++) {
		struct fa_table *at = &a->tables[i];
		if (at->open)
			ft_file_free(&at->f);
		at->open = false;
		at->truncated = false;
		at->parts = 0;
	}
	sl_error e = {0};
	for (int i = 0; i < a->nwritten; i++) {
		a->t->so->del(a->t->store, a->written[i], &e); /* else swept at the next open */
		free(a->written[i]);
	}
	a->nwritten = 0;
}

static void fa_cancel(sl_applier *handle)
{
	(void)handle; /* store writes are short */
}

static void fa_close(sl_applier *handle)
{
	files_applier *a = files_applier_of(handle);
	if (!a)
		return;
	fa_rollback(handle);
	for (int i = 0; i < a->cat->ntables; i++)
		if (a->tables[i].shape)
			sl_shape_unref(a->tables[i].shape);
	free(a->tables);
	free(a->written);
	free(a->epoch);
	sl_buf_free(&a->scratch);
	free(a);
}

const sl_target_ops sl_files_target_ops = {
        .type = "files",
        .options = ft_options,
        .lists_never_null = false,
        .specials_null = true,
        .arrays_flat = true,
        .open = ft_open,
        .close = ft_close,
        .check = ft_check,
        .prepare = ft_prepare,
        .table_name = ft_table_name,
        .writer_open = ft_writer_open,
        .load_begin = ft_load_begin,
        .load_batch = ft_load_batch,
        .load_end = ft_load_end,
        .load_abort = ft_load_abort,
        .finish_table = ft_finish_table,
        .writer_cancel = ft_writer_cancel,
        .writer_close = ft_writer_close,
        .digest = ft_digest,
        .rename = ft_rename,
        .apply_open = fa_open,
        .apply_shape = fa_shape,
        .apply_changes = fa_changes,
        .apply_truncate = fa_truncate,
        .apply_actions = NULL,
        .apply_commit = fa_commit,
        .apply_rollback = fa_rollback,
        .apply_cancel = fa_cancel,
        .apply_close = fa_close,
        .durable = ft_durable,
};
