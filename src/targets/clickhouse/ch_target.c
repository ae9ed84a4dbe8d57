/* ClickHouse target: tables, the snapshot loader and verify (see ch_target_int.h).
 *
 * Everything travels over the HTTP interface. Rows are written as Native blocks built straight
 * from the batches (formats/chnative.c): each snapshot chunk is one INSERT, streamed while the
 * chunk is read, so the server makes few large parts and memory stays small. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/digest.h"
#include "core/log.h"
#include "core/mem.h"
#include "targets/clickhouse/ch_target.h"
#include "targets/clickhouse/ch_target_int.h"

/* Encoded blocks are handed to the chunk's streaming INSERT in pieces of about this size; a
 * chunk smaller than that goes as one plain request. */
#define CHT_STREAM_BYTES (4u << 20)

struct ch_writer {
	ch_target *t;
	sl_ch_http *h;
	int table;
	bool streaming; /* the chunk's INSERT is running */
	sl_buf block;
	ch_meta meta;
	int64_t rows;
};

/* ---------------------------------------------------------------- helpers ---- */

bool cht_is_keyless(const sl_table_def *td)
{
	return td->nkey == 0;
}

/* The name kept in the state store for catalog table t, if any. */
static bool cht_stored_name(ch_target *tg, const sl_catalog *cat, int t, char *buf, size_t n)
{
	bool found = false;
	sl_error e = {0};
	if (cht_state(tg, &e) < 0 ||
	    sl_state_target_name_get(tg->state, cat->tables[t].qualified, buf, n, &found, &e) < 0)
		return false; /* unreadable: computed again, and the snapshot reports the store */
	return found;
}

const char *cht_name_for(ch_target *tg, const sl_catalog *cat, int t, char *buf, size_t n)
{
	if (cht_stored_name(tg, cat, t, buf, n))
		return buf;
	/* the bare name, unless another selected table has it (a table kept under a name that
	 * another one now computes is reported by the pipeline's name check) */
	const sl_table_def *td = &cat->tables[t];
	for (int k = 0; k < cat->ntables; k++)
		if (k != t && strcmp(cat->tables[k].name, td->name) == 0) {
			snprintf(buf, n, "%s_%s", td->schema, td->name);
			return buf;
		}
	snprintf(buf, n, "%s", td->name);
	return buf;
}

bool cht_col_for(ch_target *t, const sl_field *f, bool key, ch_col *out)
{
	memset(out, 0, sizeof *out);
	if (!sl_ch_type_for_field(f, &t->caps, out->type, sizeof out->type, &out->codec))
		return false;
	out->key = key;
	if (key && out->codec.nullable) {
		/* ClickHouse refuses Nullable sorting-key columns; key values are never NULL */
		out->codec.nullable = false;
		size_t len = strlen(out->type);
		memmove(out->type, out->type + 9, len - 9); /* "Nullable(" ... ")" */
		out->type[len - 10] = '\0';
	}
	return true;
}

char *cht_tsv_field(char **p)
{
	char *s = *p, *w = s, *r = s;
	while (*r && *r != '\t' && *r != '\n') {
		if (*r == '\\' && r[1]) {
			r++;
			*w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r == '0' ? '\0' : *r;
			r++;
		} else {
			*w++ = *r++;
		}
	}
	char end = *r;
	*w = '\0';
	*p = end ? r + 1 : r;
	return s;
}

int cht_columns(ch_target *t, sl_ch_http *h, const char *table, char ***names, char ***types,
                int *n, sl_error *err)
{
	*names = *types = NULL;
	*n = 0;
	sl_buf q = {0}, resp = {0};
	sl_buf_puts(&q, "SELECT name, type FROM system.columns WHERE database = ");
	sl_ch_quote_string(&q, t->db);
	sl_buf_puts(&q, " AND table = ");
	sl_ch_quote_string(&q, table);
	sl_buf_puts(&q, " FORMAT TabSeparated");
	int rc = sl_ch_exec(h, sl_buf_cstr(&q), &resp, err);
	if (rc == 0) {
		char *p = (char *)sl_buf_cstr(&resp);
		int cap = 0;
		while (*p) {
			char *name = cht_tsv_field(&p), *type = cht_tsv_field(&p);
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				*names = sl_realloc(*names, (size_t)cap * sizeof **names);
				*types = sl_realloc(*types, (size_t)cap * sizeof **types);
			}
			(*names)[*n] = sl_strdup(name);
			(*types)[*n] = sl_strdup(type);
			(*n)++;
		}
	}
	sl_buf_free(&q);
	sl_buf_free(&resp);
	return rc;
}

void cht_columns_free(char **names, char **types, int n)
{
	for (int i = 0; i < n; i++) {
		free(names[i]);
		free(types[i]);
	}
	free(names);
	free(types);
}

uint64_t cht_row_hash(const sl_batch *b, int64_t r, const ch_col *cols)
{
	uint64_t h = UINT64_C(1469598103934665603);
	for (int i = 0; i < b->ncols; i++) {
		const sl_column *c = &b->cols[i];
		if (cols[i].codec.kind == 0 || !sl_col_is_valid(c, r))
			continue; /* a NULL (or a column added later) does not change the hash */
		for (const char *p = c->field->name; *p; p++)
			h = (h ^ (uint8_t)*p) * UINT64_C(1099511628211);
		h = sl_col_hash(c, r, h);
	}
	return h;
}

void cht_meta_reset(ch_meta *m)
{
	sl_buf_reset(&m->version);
	sl_buf_reset(&m->deleted);
	sl_buf_reset(&m->origin);
	sl_buf_reset(&m->seq);
	sl_buf_reset(&m->hash);
	sl_buf_reset(&m->del_seq);
}

void cht_meta_free(ch_meta *m)
{
	sl_buf_free(&m->version);
	sl_buf_free(&m->deleted);
	sl_buf_free(&m->origin);
	sl_buf_free(&m->seq);
	sl_buf_free(&m->hash);
	sl_buf_free(&m->del_seq);
}

void cht_meta_add(ch_meta *m, uint64_t version, bool deleted)
{
	sl_buf_append(&m->version, &version, 8);
	sl_buf_putc(&m->deleted, deleted ? 1 : 0);
}

void cht_meta_add_identity(ch_meta *m, uint64_t origin, uint64_t seq, uint64_t hash,
                           uint64_t del_seq)
{
	sl_buf_append(&m->origin, &origin, 8);
	sl_buf_append(&m->seq, &seq, 8);
	sl_buf_append(&m->hash, &hash, 8);
	sl_buf_append(&m->del_seq, &del_seq, 8);
}

static void cht_put_meta(sl_buf *out, const char *name, const char *type, const sl_buf *v)
{
	sl_ch_put_string(out, name, strlen(name));
	sl_ch_put_string(out, type, strlen(type));
	sl_buf_append(out, v->data, v->len);
}

void cht_insert_sql(const char *quoted, const sl_field *fields, const ch_col *cols, int n,
                    bool keyless, sl_buf *out)
{
	sl_buf_reset(out);
	sl_buf_printf(out, "INSERT INTO %s (", quoted);
	for (int i = 0; i < n; i++) {
		if (cols[i].codec.kind == 0)
			continue;
		sl_ch_quote_ident(out, fields[i].name);
		sl_buf_puts(out, ", ");
	}
	sl_buf_puts(out, "_sluice_version, _sluice_deleted");
	if (keyless)
		sl_buf_puts(out, ", _sluice_origin, _sluice_seq, _sluice_hash, _sluice_del_seq");
	sl_buf_puts(out, ") FORMAT Native");
}

int cht_encode(const sl_batch *b, ch_col *cols, bool keyless, const ch_meta *m, const char *display,
               sl_buf *out, sl_error *err)
{
	int n = 2 + (keyless ? 4 : 0);
	for (int i = 0; i < b->ncols; i++)
		n += cols[i].codec.kind != 0;
	sl_ch_block_begin(out, n, b->length);
	for (int i = 0; i < b->ncols; i++) {
		if (cols[i].codec.kind == 0)
			continue;
		const sl_field *f = &b->fields[i];
		if (f->specials || (f->child && f->child->specials)) {
			int64_t k = sl_ch_count_specials(&b->cols[i], 0, b->length);
			const sl_ch_codec *dc =
			        cols[i].codec.elem ? cols[i].codec.elem : &cols[i].codec;
			if (k > 0 && dc->nullable && atomic_fetch_add(&cols[i].nulled, k) == 0)
				sl_warn("target: column %s of %s holds numeric NaN/Infinity "
				        "(%" PRId64
				        " in this batch), which ClickHouse's Decimal cannot store: "
				        "stored as NULL; sluice verify counts them",
				        f->name, display, k);
		}
		if (b->cols[i].shapes) {
			int64_t k = sl_col_shaped_count(&b->cols[i], 0, b->length);
			if (k > 0 && atomic_fetch_add(&cols[i].flattened, k) == 0)
				sl_warn("target: column %s of %s holds arrays with more than one "
				        "dimension or a lower bound other than 1 (%" PRId64
				        " in this batch), which a ClickHouse %s cannot hold: "
				        "stored "
				        "as their elements in row-major order; sluice verify "
				        "counts "
				        "them",
				        f->name, display, k, cols[i].type);
		}
		if (sl_ch_encode_column(&cols[i].codec, f->name, cols[i].type, &b->cols[i], 0,
		                        b->length, out, err) < 0)
			return sl_error_wrap(err, "table %s", display);
	}
	cht_put_meta(out, "_sluice_version", "UInt64", &m->version);
	cht_put_meta(out, "_sluice_deleted", "UInt8", &m->deleted);
	if (keyless) {
		cht_put_meta(out, "_sluice_origin", "UInt64", &m->origin);
		cht_put_meta(out, "_sluice_seq", "UInt64", &m->seq);
		cht_put_meta(out, "_sluice_hash", "UInt64", &m->hash);
		cht_put_meta(out, "_sluice_del_seq", "UInt64", &m->del_seq);
	}
	return 0;
}

int cht_decode_block(sl_ch_reader *rd, const ch_col *cols, const sl_field *fields, int n,
                     int64_t nrows, sl_batch *b, sl_error *err)
{
	for (int i = 0; i < n; i++) {
		if (cols[i].codec.kind == 0) {
			for (int64_t r = 0; r < nrows; r++)
				sl_col_append_null(&b->cols[i]);
			continue;
		}
		SL_TRY(sl_ch_decode_column(rd, &cols[i].codec, fields[i].name, cols[i].type, nrows,
		                           &b->cols[i], err));
	}
	b->length += nrows;
	return 0;
}

/* ---------------------------------------------------------------- open ---- */

static bool cht_is_local(const char *host)
{
	return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
	       strcmp(host, "::1") == 0;
}

/* target.tls against the URL's scheme: TLS is https://, so a mode asking for it needs one, and
 * disable cannot go with one. */
static int cht_tls_config(const sl_ch_url *u, sl_error *err)
{
	const char *mode = u->mode;
	if (u->ca_file && access(u->ca_file, R_OK) != 0)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "target.tls_ca_file %s cannot be read (a PEM file of CA "
		                    "certificates)",
		                    u->ca_file);
	if (u->tls && mode && strcmp(mode, "disable") == 0)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "target.tls.mode is disable but target.url is https://: use "
		                    "http:// and the server's http_port, or drop the mode");
	if (!u->tls &&
	    ((mode && strcmp(mode, "disable") != 0 && strcmp(mode, "prefer") != 0) || u->cert_file))
		return sl_error_set(
		        err, SL_ERR_CONFIG,
		        "target.tls asks for TLS but target.url is http://: use https:// "
		        "and the server's https_port");
	return 0;
}

/* The ClickHouse keys of the target section. */
struct cht_options {
	char *database, *compression, *tls_ca_file, *schema;
	bool async_insert, fsync;
};

static const char *const cht_option_names[] = {
        "database", "compression", "async_insert", "fsync", "tls_ca_file", "schema", NULL};
static const char *const cht_compressions[] = {"auto", "gzip", "none", NULL};

static void cht_options_free(struct cht_options *o)
{
	free(o->database);
	free(o->compression);
	free(o->tls_ca_file);
	free(o->schema);
}

static int cht_options_read(const sl_config *cfg, struct cht_options *o, sl_error *err)
{
	*o = (struct cht_options){.fsync = true};
	SL_TRY(sl_config_opt_string(cfg, "target", "database", &o->database, err));
	SL_TRY(sl_config_opt_choice(cfg, "target", "compression", cht_compressions, &o->compression,
	                            err));
	SL_TRY(sl_config_opt_bool(cfg, "target", "async_insert", &o->async_insert, err));
	SL_TRY(sl_config_opt_bool(cfg, "target", "fsync", &o->fsync, err));
	SL_TRY(sl_config_opt_string(cfg, "target", "tls_ca_file", &o->tls_ca_file, err));
	SL_TRY(sl_config_opt_string(cfg, "target", "schema", &o->schema, err));
	if (o->schema)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "target.schema does not apply to ClickHouse; tables land in "
		                    "target.database");
	/* tls_ca_file: the older name of tls.ca_file */
	const char *ca = cfg->target.tls.ca_file;
	if (ca && o->tls_ca_file && strcmp(ca, o->tls_ca_file) != 0)
		return sl_error_set(
		        err, SL_ERR_CONFIG,
		        "target.tls.ca_file and target.tls_ca_file name different files; "
		        "keep one (tls_ca_file is the older name of tls.ca_file)");
	if (ca && o->tls_ca_file == NULL)
		o->tls_ca_file = sl_strdup(ca);
	return 0;
}

static int cht_open(const sl_config *cfg, sl_target **out, sl_error *err)
{
	if (cfg->target.aws_iam)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "target.auth aws-iam is for PostgreSQL and MySQL on RDS and "
		                    "Aurora; ClickHouse takes target.password");
	struct cht_options o;
	int rc = cht_options_read(cfg, &o, err);
	if (rc < 0) {
		cht_options_free(&o);
		return rc;
	}
	ch_target *t = sl_calloc(1, sizeof *t);
	t->cfg = cfg;
	t->ca_file = o.tls_ca_file;
	o.tls_ca_file = NULL;
	rc = sl_ch_url_parse(cfg->target.url, cfg->target.password, &t->url, err);
	if (rc < 0) {
		cht_options_free(&o);
		free(t->ca_file);
		free(t);
		return rc;
	}
	t->url.ca_file = t->ca_file;
	t->url.cert_file = cfg->target.tls.cert_file;
	t->url.key_file = cfg->target.tls.key_file;
	t->url.mode = cfg->target.tls.mode;
	t->url.password_file = cfg->target.password_file;
	if ((rc = cht_tls_config(&t->url, err)) < 0) {
		cht_options_free(&o);
		free(t->ca_file);
		free(t);
		return rc;
	}
	const char *comp = o.compression ? o.compression : "auto";
	t->gzip = strcmp(comp, "gzip") == 0 ||
	          (strcmp(comp, "auto") == 0 && !cht_is_local(t->url.host));
	t->db = sl_strdup(o.database ? o.database : "default");
	sl_buf q = {0};
	sl_ch_quote_ident(&q, t->db);
	t->qdb = sl_strdup(sl_buf_cstr(&q));
	sl_buf_free(&q);
	t->meta = sl_ch_http_new(&t->url, "target", false);
	sl_buf resp = {0};
	rc = sl_ch_exec(t->meta, "SELECT version()", &resp, err);
	if (rc == 0) {
		snprintf(t->version, sizeof t->version, "%.*s", (int)resp.len, resp.data);
		t->version[strcspn(t->version, "\r\n")] = '\0';
		sl_ch_caps_for_version(t->version, &t->caps);
		int major = atoi(t->version);
		int minor = strchr(t->version, '.') ? atoi(strchr(t->version, '.') + 1) : 0;
		bool async_ok = major * 100 + minor >= 2111;
		if (o.async_insert && async_ok)
			snprintf(t->settings, sizeof t->settings,
			         "&async_insert=1&wait_for_async_insert=1");
		else if (o.async_insert)
			sl_warn("target: ClickHouse %s has no asynchronous inserts (21.11+); "
			        "target.async_insert is ignored",
			        t->version);
		sl_buf_reset(&resp);
		rc = sl_ch_exec(t->meta,
		                "SELECT count() FROM system.merge_tree_settings WHERE name IN "
		                "('fsync_after_insert', 'fsync_part_directory') FORMAT TSV",
		                &resp, err);
		t->can_fsync = rc == 0 && atoi(sl_buf_cstr(&resp)) == 2;
		t->fsync = t->can_fsync && o.fsync;
	}
	sl_buf_free(&resp);
	cht_options_free(&o);
	if (rc < 0) {
		sl_ch_http_free(t->meta);
		free(t->db);
		free(t->qdb);
		free(t->ca_file);
		free(t);
		return rc;
	}
	*out = ch_target_handle(t);
	return 0;
}

static void cht_table_free(struct ch_table *tt)
{
	for (int i = 0; i < tt->ncols; i++)
		sl_ch_codec_reset(&tt->cols[i].codec);
	free(tt->cols);
	free(tt->name);
	free(tt->quoted);
	free(tt->display);
	free(tt->insert_sql);
	memset(tt, 0, sizeof *tt);
}

static void cht_close(sl_target *handle)
{
	ch_target *t = ch_target_of(handle);
	if (t == NULL)
		return;
	for (int i = 0; i < t->ntables; i++)
		cht_table_free(&t->tables[i]);
	free(t->tables);
	sl_ch_http_free(t->meta);
	sl_state_close(t->state);
	free(t->db);
	free(t->qdb);
	free(t->ca_file);
	free(t);
}

int cht_state(ch_target *t, sl_error *err)
{
	if (t->state)
		return 0;
	return sl_state_open(t->cfg->state_url, t->cfg->name, &t->state, err);
}

static const char *cht_table_name(sl_target *handle, const sl_catalog *cat, int ti, char *buf,
                                  size_t n)
{
	ch_target *t = ch_target_of(handle);
	char name[256];
	snprintf(buf, n, "%s.%s", t->db, cht_name_for(t, cat, ti, name, sizeof name));
	return buf;
}

static int cht_check(sl_target *handle, sl_check_fn report, void *ctx)
{
	ch_target *t = ch_target_of(handle);
	char detail[600];
	sl_error err = {0};
	int failed = 0;
	snprintf(detail, sizeof detail, "connected to ClickHouse %s at %s:%u as %s", t->version,
	         t->url.host, t->url.port, t->url.user);
	report(ctx, true, "target connection", detail);
	sl_tls_describe(detail, sizeof detail, "target",
	                t->url.tls ? sl_ch_http_tls_version(t->meta) : NULL,
	                t->url.mode ? t->url.mode : "verify-full", cht_is_local(t->url.host));
	report(ctx, true, "target TLS", detail);
	if (!t->caps.datetime64 || !t->caps.date32 || !t->caps.boolean) {
		snprintf(detail, sizeof detail,
		         "ClickHouse %s lacks%s%s%s; those columns use the documented fallbacks "
		         "(dates and timestamps as text, booleans as UInt8)",
		         t->version, t->caps.datetime64 ? "" : " DateTime64",
		         t->caps.date32 ? "" : " Date32", t->caps.boolean ? "" : " Bool");
		report(ctx, true, "target types", detail);
	}
	/* Durability: sluice saves a position once ClickHouse acknowledged the inserts before it.
	 * Without fsync, an acknowledged part may still be only in the page cache of the
	 * ClickHouse host: a power loss or OS crash there (not a server restart) can lose it. */
	if (t->fsync)
		snprintf(detail, sizeof detail,
		         "tables are created with fsync_after_insert and fsync_part_directory: an "
		         "acknowledged insert is on disk before sluice saves its position");
	else if (t->can_fsync)
		snprintf(detail, sizeof detail,
		         "target.fsync is false: an acknowledged insert may be only in the page "
		         "cache "
		         "of the ClickHouse host, and a power loss there can lose it after sluice "
		         "saved its position (run sluice verify after such a crash)");
	else
		snprintf(detail, sizeof detail,
		         "ClickHouse %s cannot fsync inserted parts (no fsync_after_insert): a "
		         "power "
		         "loss or OS crash of the ClickHouse host can lose inserts it acknowledged "
		         "after sluice saved its position (a server restart cannot); run sluice "
		         "verify after such a crash",
		         t->version);
	report(ctx, true, "target durability", detail);
	int rc = sl_ch_execf(t->meta, &err, "CREATE DATABASE IF NOT EXISTS %s", t->qdb);
	if (rc == 0)
		rc = sl_ch_execf(t->meta, &err,
		                 "CREATE TABLE IF NOT EXISTS %s._sluice_check (x UInt8) ENGINE = "
		                 "Memory",
		                 t->qdb);
	if (rc == 0)
		rc = sl_ch_execf(t->meta, &err, "INSERT INTO %s._sluice_check VALUES (1)", t->qdb);
	if (rc == 0)
		rc = sl_ch_execf(t->meta, &err, "DROP TABLE %s._sluice_check", t->qdb);
	if (rc == 0)
		snprintf(detail, sizeof detail,
		         "user %s may create, fill and drop tables in database %s", t->url.user,
		         t->db);
	else
		snprintf(detail, sizeof detail,
		         "%s (grant the user CREATE, DROP, ALTER, INSERT and SELECT on %s.*)",
		         err.msg, t->db);
	report(ctx, rc == 0, "target privileges", detail);
	failed += rc != 0;
	return failed;
}

/* ---------------------------------------------------------------- rename ---- */

static int cht_rename(sl_target *handle, const sl_catalog *old_cat, const sl_catalog *cat, int ti,
                      sl_error *err)
{
	ch_target *t = ch_target_of(handle);
	char from[256], to[256];
	cht_name_for(t, old_cat, ti, from, sizeof from);
	cht_name_for(t, cat, ti, to, sizeof to);
	const char *oq = old_cat->tables[ti].qualified, *nq = cat->tables[ti].qualified;
	SL_TRY(cht_state(t, err));
	sl_buf q = {0}, resp = {0};
	sl_buf_puts(&q, "SELECT name FROM system.tables WHERE database = ");
	sl_ch_quote_string(&q, t->db);
	sl_buf_puts(&q, " AND name IN (");
	sl_ch_quote_string(&q, from);
	sl_buf_putc(&q, ',');
	sl_ch_quote_string(&q, to);
	sl_buf_puts(&q, ") FORMAT TabSeparated");
	int rc = sl_ch_exec(t->meta, sl_buf_cstr(&q), &resp, err);
	bool had = false, has = false;
	for (char *p = (char *)sl_buf_cstr(&resp); rc == 0 && *p;) {
		char *name = cht_tsv_field(&p);
		had |= strcmp(name, from) == 0;
		has |= strcmp(name, to) == 0;
	}
	if (rc == 0 && strcmp(from, to) == 0)
		; /* the name on the target does not change (a kept name) */
	else if (rc == 0 && had && has)
		rc = sl_error_set(
		        err, SL_ERR_STATE,
		        "target: source table %s was renamed to %s, but target table %s.%s "
		        "exists already; rename or drop it on the target, then run again",
		        oq, nq, t->db, to);
	else if (rc == 0 && !had && !has)
		rc = sl_error_set(
		        err, SL_ERR_STATE,
		        "target: source table %s was renamed to %s, but target table %s.%s "
		        "is missing; create it again with 'sluice resync %s'",
		        oq, nq, t->db, from, nq);
	else if (rc == 0 && had) {
		sl_buf_reset(&q);
		sl_buf_printf(&q, "RENAME TABLE %s.", t->qdb);
		sl_ch_quote_ident(&q, from);
		sl_buf_printf(&q, " TO %s.", t->qdb);
		sl_ch_quote_ident(&q, to);
		rc = sl_ch_exec(t->meta, sl_buf_cstr(&q), NULL, err);
		if (rc < 0)
			sl_error_wrap(err, "target: renaming table %s.%s", t->db, from);
	}
	if (rc == 0)
		rc = sl_state_target_name_set(t->state, nq, to, err);
	sl_buf_free(&q);
	sl_buf_free(&resp);
	return rc;
}

/* ---------------------------------------------------------------- prepare ---- */

static int cht_count(ch_target *t, const char *quoted, int64_t *rows, sl_error *err)
{
	sl_buf q = {0}, resp = {0};
	sl_buf_printf(&q, "SELECT count() FROM %s", quoted);
	int rc = sl_ch_exec(t->meta, sl_buf_cstr(&q), &resp, err);
	*rows = rc == 0 ? strtoll(sl_buf_cstr(&resp), NULL, 10) : 0;
	sl_buf_free(&q);
	sl_buf_free(&resp);
	return rc;
}

/* Columns of table ti: types, codecs, key flags; unsupported columns warned about once. */
int cht_table_setup(ch_target *t, const sl_catalog *cat, int ti, sl_error *err)
{
	if (t->tables == NULL) {
		t->ntables = cat->ntables;
		t->tables = sl_calloc((size_t)(t->ntables ? t->ntables : 1), sizeof *t->tables);
	}
	struct ch_table *tt = &t->tables[ti];
	if (tt->ready)
		return 0;
	const sl_table_def *td = &cat->tables[ti];
	char name[256];
	tt->name = sl_strdup(cht_name_for(t, cat, ti, name, sizeof name));
	/* keep it: the table keeps its name when the other selected tables change */
	SL_TRY(cht_state(t, err));
	SL_TRY(sl_state_target_name_set(t->state, td->qualified, tt->name, err));
	sl_buf q = {0};
	sl_buf_printf(&q, "%s.", t->qdb);
	sl_ch_quote_ident(&q, tt->name);
	tt->quoted = sl_strdup(sl_buf_cstr(&q));
	sl_buf_free(&q);
	size_t dn = strlen(t->db) + strlen(tt->name) + 2;
	tt->display = sl_malloc(dn);
	snprintf(tt->display, dn, "%s.%s", t->db, tt->name);
	tt->keyless = cht_is_keyless(td);
	tt->ncols = td->nfields;
	tt->cols = sl_calloc((size_t)(td->nfields ? td->nfields : 1), sizeof *tt->cols);
	for (int i = 0; i < td->nfields; i++) {
		bool key = false;
		for (int k = 0; k < td->nkey; k++)
			key |= td->key[k] == i;
		if (!cht_col_for(t, &td->fields[i], key, &tt->cols[i])) {
			char d[128];
			if (key)
				return sl_error_set(
				        err, SL_ERR_DATA,
				        "key column %s of %s has type %s, which ClickHouse "
				        "cannot store",
				        td->fields[i].name, td->qualified,
				        sl_field_describe(&td->fields[i], d, sizeof d));
			sl_warn("target: column %s of %s (%s) has no ClickHouse type; it is "
			        "skipped",
			        td->fields[i].name, td->qualified,
			        sl_field_describe(&td->fields[i], d, sizeof d));
		}
	}
	sl_buf sql = {0};
	cht_insert_sql(tt->quoted, td->fields, tt->cols, tt->ncols, tt->keyless, &sql);
	tt->insert_sql = sl_strdup(sl_buf_cstr(&sql));
	sl_buf_free(&sql);
	tt->ready = true;
	return 0;
}

static void cht_create_sql(const ch_target *t, const sl_table_def *td, const struct ch_table *tt,
                           sl_buf *q)
{
	sl_buf_printf(q, "CREATE TABLE %s (", tt->quoted);
	for (int i = 0; i < td->nfields; i++) {
		if (tt->cols[i].codec.kind == 0)
			continue;
		sl_ch_quote_ident(q, td->fields[i].name);
		sl_buf_printf(q, " %s, ", tt->cols[i].type);
	}
	sl_buf_puts(q, "_sluice_version UInt64, _sluice_deleted UInt8");
	if (tt->keyless)
		sl_buf_puts(q, ", _sluice_origin UInt64, _sluice_seq UInt64, _sluice_hash UInt64,"
		               " _sluice_del_seq UInt64");
	sl_buf_puts(q, ") ENGINE = ReplacingMergeTree(_sluice_version) ORDER BY (");
	if (tt->keyless) {
		sl_buf_puts(q, "_sluice_origin, _sluice_seq");
	} else {
		for (int k = 0; k < td->nkey; k++) {
			if (k)
				sl_buf_puts(q, ", ");
			sl_ch_quote_ident(q, td->fields[td->key[k]].name);
		}
	}
	sl_buf_puts(q, ")");
	if (t->fsync) /* an acknowledged insert is on disk (see cht_check) */
		sl_buf_puts(q, " SETTINGS fsync_after_insert = 1, fsync_part_directory = 1");
}

static int cht_prepare(sl_target *handle, const sl_catalog *cat, int ti, bool reload, sl_error *err)
{
	ch_target *t = ch_target_of(handle);
	SL_TRY(cht_table_setup(t, cat, ti, err));
	struct ch_table *tt = &t->tables[ti];
	const sl_table_def *td = &cat->tables[ti];
	SL_TRY(sl_ch_execf(t->meta, err, "CREATE DATABASE IF NOT EXISTS %s", t->qdb));
	char **names, **types;
	int n;
	SL_TRY(cht_columns(t, t->meta, tt->name, &names, &types, &n, err));
	cht_columns_free(names, types, n);
	if (n > 0) {
		int64_t rows = 0;
		SL_TRY(cht_count(t, tt->quoted, &rows, err));
		if (rows > 0 && !reload)
			return sl_error_set(
			        err, SL_ERR_STATE,
			        "target table %s already has %" PRId64
			        " rows that this pipeline did not write (drop it, choose "
			        "another target.database, or run `sluice reset`)",
			        tt->display, rows);
		/* TRUNCATE does not last on older servers (a restart can bring merged parts back):
		 * the table is dropped and made anew */
		SL_TRY(sl_ch_execf(t->meta, err, "DROP TABLE %s", tt->quoted));
	}
	sl_buf q = {0};
	cht_create_sql(t, td, tt, &q);
	int rc = sl_ch_exec(t->meta, sl_buf_cstr(&q), NULL, err);
	sl_buf_free(&q);
	if (rc < 0)
		sl_error_wrap(err, "creating %s", tt->display);
	atomic_store(&tt->next_seq, 0);
	return rc;
}

/* ---------------------------------------------------------------- writers ---- */

static int cht_writer_open(sl_target *handle, sl_writer **out, sl_error *err)
{
	ch_target *t = ch_target_of(handle);
	(void)err;
	ch_writer *w = sl_calloc(1, sizeof *w);
	w->t = t;
	w->h = sl_ch_http_new(&t->url, "target", t->gzip);
	w->table = -1;
	*out = ch_writer_handle(w);
	return 0;
}

static int cht_load_begin(sl_writer *handle, const sl_catalog *cat, int ti, sl_error *err)
{
	ch_writer *w = ch_writer_of(handle);
	SL_TRY(cht_table_setup(w->t, cat, ti, err));
	w->table = ti;
	sl_buf_reset(&w->block);
	w->rows = 0;
	return 0;
}

/* The chunk's INSERT: started with its first blocks, streamed while the chunk is read, so a
 * chunk is one INSERT (one part, or one per million rows) whatever its size. */
static int cht_stream(ch_writer *w, bool last, sl_error *err)
{
	struct ch_table *tt = &w->t->tables[w->table];
	if (!w->streaming && last) {
		/* the whole chunk fits in one body */
		if (w->block.len == 0)
			return 0;
		int rc = sl_ch_insert(w->h, tt->insert_sql, w->t->settings, w->block.data,
		                      w->block.len, err);
		sl_buf_reset(&w->block);
		return rc < 0 ? sl_error_wrap(err, "inserting into %s", tt->display) : 0;
	}
	int rc = 0;
	if (!w->streaming) {
		rc = sl_ch_insert_begin(w->h, tt->insert_sql, w->t->settings, err);
		w->streaming = rc == 0;
	}
	if (rc == 0 && w->block.len > 0)
		rc = sl_ch_insert_write(w->h, w->block.data, w->block.len, err);
	sl_buf_reset(&w->block);
	if (w->streaming && (last || rc < 0)) {
		int erc = sl_ch_insert_end(w->h, rc < 0 ? NULL : err);
		w->streaming = false;
		if (rc == 0)
			rc = erc;
	}
	return rc < 0 ? sl_error_wrap(err, "inserting into %s", tt->display) : 0;
}

static int cht_load_batch(sl_writer *handle, const sl_batch *b, sl_error *err)
{
	ch_writer *w = ch_writer_of(handle);
	struct ch_table *tt = &w->t->tables[w->table];
	if (b->length == 0)
		return 0;
	cht_meta_reset(&w->meta);
	/* keyless rows: identities unique within the load (a table is reloaded whole) */
	int64_t base = tt->keyless ? atomic_fetch_add(&tt->next_seq, b->length) : 0;
	for (int64_t r = 0; r < b->length; r++) {
		cht_meta_add(&w->meta, 0, false);
		if (tt->keyless)
			cht_meta_add_identity(&w->meta, 0, (uint64_t)(base + r),
			                      cht_row_hash(b, r, tt->cols), 0);
	}
	SL_TRY(cht_encode(b, tt->cols, tt->keyless, &w->meta, tt->display, &w->block, err));
	w->rows += b->length;
	if (w->block.len >= CHT_STREAM_BYTES)
		return cht_stream(w, false, err);
	return 0;
}

static int cht_load_end(sl_writer *handle, sl_error *err)
{
	ch_writer *w = ch_writer_of(handle);
	int rc = cht_stream(w, true, err);
	w->table = -1;
	return rc;
}

static void cht_load_abort(sl_writer *handle)
{
	ch_writer *w = ch_writer_of(handle);
	if (w->streaming)
		sl_ch_insert_abandon(w->h);
	w->streaming = false;
	sl_buf_reset(&w->block);
	w->table = -1;
}

static int cht_finish_table(sl_writer *handle, const sl_catalog *cat, int ti, sl_error *err)
{
	ch_writer *w = ch_writer_of(handle);
	(void)w, (void)cat, (void)ti, (void)err;
	return 0; /* the sorting key exists from the start */
}

static void cht_writer_cancel(sl_writer *handle)
{
	ch_writer *w = ch_writer_of(handle);
	sl_ch_http_cancel(w->h);
}

static void cht_writer_close(sl_writer *handle)
{
	ch_writer *w = ch_writer_of(handle);
	if (w == NULL)
		return;
	sl_ch_http_free(w->h);
	sl_buf_free(&w->block);
	cht_meta_free(&w->meta);
	free(w);
}

/* ---------------------------------------------------------------- verify ---- */

/* Does the ClickHouse column type `have` hold what codec `want` writes? Equal, or the Nullable
 * of it (a column that became NOT NULL on the source, or was dropped and kept). */
bool cht_type_holds(const char *have, const char *want, bool *nullable)
{
	*nullable = false;
	if (strcmp(have, want) == 0)
		return true;
	size_t n = strlen(want);
	if (strncmp(have, "Nullable(", 9) == 0 && strlen(have) == n + 10 &&
	    strncmp(have + 9, want, n) == 0 && have[n + 9] == ')') {
		*nullable = true;
		return true;
	}
	return false;
}

static int cht_digest(sl_target *handle, const sl_catalog *cat, int ti, sl_digest *d, sl_error *err)
{
	ch_target *t = ch_target_of(handle);
	SL_TRY(cht_table_setup(t, cat, ti, err));
	struct ch_table *tt = &t->tables[ti];
	const sl_table_def *td = &cat->tables[ti];
	char **names, **types;
	int n;
	SL_TRY(cht_columns(t, t->meta, tt->name, &names, &types, &n, err));
	int rc = 0;
	sl_buf q = {0}, resp = {0};
	ch_col *cols = sl_calloc((size_t)(td->nfields ? td->nfields : 1), sizeof *cols);
	if (n == 0) {
		rc = sl_error_set(err, SL_ERR_MISMATCH, "target table %s does not exist",
		                  tt->display);
		goto out;
	}
	sl_buf_puts(&q, "SELECT ");
	int nsel = 0;
	for (int i = 0; i < td->nfields; i++) {
		cols[i] = tt->cols[i];
		cols[i].codec.elem = NULL; /* borrowed below; never reset here */
		if (tt->cols[i].codec.kind == 0)
			continue;
		int k = 0;
		while (k < n && strcmp(names[k], td->fields[i].name) != 0)
			k++;
		bool nullable;
		if (k == n) {
			rc = sl_error_set(err, SL_ERR_MISMATCH, "target table %s lacks column %s",
			                  tt->display, td->fields[i].name);
			goto out;
		}
		if (!cht_type_holds(types[k], tt->cols[i].type, &nullable)) {
			rc = sl_error_set(
			        err, SL_ERR_MISMATCH,
			        "column %s of %s has type %s; the source's values need %s",
			        td->fields[i].name, tt->display, types[k], tt->cols[i].type);
			goto out;
		}
		cols[i].codec.elem = tt->cols[i].codec.elem;
		cols[i].codec.nullable |= nullable;
		snprintf(cols[i].type, sizeof cols[i].type, "%s", types[k]);
		if (nsel++)
			sl_buf_puts(&q, ", ");
		sl_ch_quote_ident(&q, td->fields[i].name);
	}
	if (nsel == 0)
		sl_buf_puts(&q, "1");
	sl_buf_printf(&q, " FROM %s FINAL WHERE _sluice_deleted = 0 FORMAT Native", tt->quoted);
	if ((rc = sl_ch_exec(t->meta, sl_buf_cstr(&q), &resp, err)) < 0)
		goto out;
	sl_batch *b = sl_batch_create(td->fields, td->nfields);
	sl_ch_reader rd = {resp.data, resp.data + resp.len};
	int ncols;
	int64_t nrows;
	while ((rc = sl_ch_block_next(&rd, &ncols, &nrows, err)) == 1) {
		sl_batch_reset(b);
		rc = cht_decode_block(&rd, cols, td->fields, td->nfields, nrows, b, err);
		if (nsel == 0 && rc >= 0)
			rc = sl_ch_skip_column(&rd, nrows, err);
		if (rc < 0)
			break;
		sl_digest_add_batch(d, b);
	}
	sl_batch_destroy(b);
	if (rc == SL_ERR_DATA) {
		sl_error_wrap(err, "target table %s", tt->display);
		err->code = rc = SL_ERR_MISMATCH;
	}
	if (rc > 0)
		rc = 0;
out:
	free(cols);
	cht_columns_free(names, types, n);
	sl_buf_free(&q);
	sl_buf_free(&resp);
	return rc;
}

const sl_target_ops sl_ch_target_ops = {
        .type = "clickhouse",
        .options = cht_option_names,
        .lists_never_null = true,
        .specials_null = true,
        .arrays_flat = true,
        .open = cht_open,
        .close = cht_close,
        .check = cht_check,
        .prepare = cht_prepare,
        .table_name = cht_table_name,
        .writer_open = cht_writer_open,
        .load_begin = cht_load_begin,
        .load_batch = cht_load_batch,
        .load_end = cht_load_end,
        .load_abort = cht_load_abort,
        .finish_table = cht_finish_table,
        .writer_cancel = cht_writer_cancel,
        .writer_close = cht_writer_close,
        .digest = cht_digest,
        .rename = cht_rename,
        .apply_open = cha_open,
        .apply_shape = cha_shape,
        .apply_changes = cha_changes,
        .apply_truncate = cha_truncate,
        .apply_actions = cha_actions,
        .actions_keyed_only = true,
        .apply_commit = cha_commit,
        .apply_rollback = cha_rollback,
        .apply_cancel = cha_cancel,
        .apply_close = cha_close,
        .durable = cha_durable,
};
