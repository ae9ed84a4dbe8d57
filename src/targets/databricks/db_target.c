/* The Databricks target (work in progress: see the note at the end). Unity Catalog tables on a
 * SQL warehouse, through the Statement Execution API (db_api.h), with a volume as the stage, in
 * statements whose shapes are listed in tests/emulators/databricks/TEMPLATES.md.
 *
 * Snapshot: each chunk is one Parquet file of the table's columns (typed as db_sql.h says)
 * plus _sluice_version = 0, _sluice_seq = 0, _sluice_deleted = false, put in the volume under
 * <pipeline>/snapshot/, loaded by one COPY INTO (its load history makes a second run load
 * nothing), checked against the rows staged, then removed. A table whose load did not finish
 * is emptied and loaded again (prepare's reload). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/change.h"
#include "core/digest.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/target.h"
#include "formats/parquet.h"
#include "targets/databricks/db_api.h"
#include "targets/databricks/db_sql.h"
#include "targets/databricks/db_target.h"

typedef struct db_target db_target;
typedef struct db_writer db_writer;
SL_HANDLE(db_target, sl_target)
SL_HANDLE(db_writer, sl_writer)

struct db_table {
	bool ready;
	char *qt;     /* `catalog`.`schema`.`table` */
	char *schema; /* lower case */
	char *name;   /* lower case */
	db_col *cols; /* the catalog's fields that have a Databricks form */
	int ncols;
	int *key; /* indexes into cols */
	int nkey;
};

struct db_target {
	const sl_config *cfg;
	db_api *api;
	pthread_mutex_t mu;
	char *url, *catalog; /* lower case */
	char *schema;        /* target.schema lower-cased, or NULL: the source's schema */
	char *state_schema, *state_qt;
	char *volume; /* /Volumes/<catalog>/<schema>/<volume>/ */
	char *prefix; /* the volume path of this pipeline's files, ending in '/' */
	char run[24];
	bool swept; /* snapshot/ emptied of files an earlier run left (db_prepare) */
	unsigned seq;
	sl_pq_options pq;
	struct db_table *tables;
	int ntables;
};

static const char *const db_options[] = {"token",   "client_id", "client_secret", "warehouse_id",
                                         "catalog", "schema",    "volume",        NULL};

/* A group's staged rows of one table past this go to the volume as a change file of their own
 * (merged before the next one's, so the next one's unchanged columns find them in the table). */
#define DB_PART_BYTES ((size_t)256 << 20)
/* A snapshot chunk's Parquet file is built in memory and put in one request: chunks of at most
 * this many source bytes keep a lane's file within about that size */
#define DB_MAX_CHUNK_BYTES ((int64_t)64 << 20)

/* the meta columns of a staged snapshot row */
#define DB_SNAP_META 3

static char *db_lower(const char *s)
{
	char *o = sl_strdup(s);
	for (char *p = o; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	return o;
}

static unsigned db_next(db_target *t)
{
	return __atomic_add_fetch(&t->seq, 1, __ATOMIC_RELAXED);
}

static int db_required(const sl_config *cfg, const char *key, char **out, const char *hint,
                       sl_error *err)
{
	SL_TRY(sl_config_opt_string(cfg, "target", key, out, err));
	if (!*out)
		return sl_error_set(err, SL_ERR_CONFIG, "target.%s is required for Databricks (%s)",
		                    key, hint);
	return 0;
}

/* target.volume: catalog.schema.volume, or /Volumes/catalog/schema/volume[/path] */
static int db_volume_parse(const char *v, sl_buf *out, sl_error *err)
{
	if (strncmp(v, "/Volumes/", 9) == 0) {
		int slashes = 0;
		for (const char *p = v + 9; *p; p++)
			slashes += *p == '/';
		if (slashes < 2 || strstr(v, "//") || strstr(v, "/../"))
			return sl_error_set(
			        err, SL_ERR_CONFIG,
			        "target.volume: %s is not /Volumes/CATALOG/SCHEMA/VOLUME[/PATH]",
			        v);
		sl_buf_puts(out, v);
	} else {
		const char *a = strchr(v, '.'), *b = a ? strchr(a + 1, '.') : NULL;
		if (!a || !b || a == v || b == a + 1 || !b[1] || strchr(b + 1, '.') ||
		    strchr(v, '/'))
			return sl_error_set(err, SL_ERR_CONFIG,
			                    "target.volume: %s is not CATALOG.SCHEMA.VOLUME (or a "
			                    "/Volumes/... path)",
			                    v);
		sl_buf_puts(out, "/Volumes/");
		for (const char *p = v; *p; p++)
			sl_buf_putc(out, *p == '.'
			                         ? '/'
			                         : (*p >= 'A' && *p <= 'Z' ? (char)(*p + 32) : *p));
	}
	if (out->len && out->data[out->len - 1] != '/')
		sl_buf_putc(out, '/');
	return 0;
}

static void db_close(sl_target *handle);

static int db_open(const sl_config *cfg, sl_target **out, sl_error *err)
{
	if (cfg->target.password || cfg->target.password_file || cfg->target.aws_iam)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "the Databricks target signs in with target.token (a personal "
		                    "access token) or target.client_id and target.client_secret (a "
		                    "service principal), not a password");
	if (!cfg->target.url)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "target.url is required for Databricks: the workspace's URL, "
		                    "https://<workspace>.cloud.databricks.com");
	char *token = NULL, *cid = NULL, *csecret = NULL, *wh = NULL, *catalog = NULL,
	     *schema = NULL, *volume = NULL;
	db_target *t = sl_calloc(1, sizeof *t);
	pthread_mutex_init(&t->mu, NULL);
	t->cfg = cfg;
	int rc = sl_config_opt_string(cfg, "target", "token", &token, err);
	if (rc == 0)
		rc = sl_config_opt_string(cfg, "target", "client_id", &cid, err);
	if (rc == 0)
		rc = sl_config_opt_string(cfg, "target", "client_secret", &csecret, err);
	if (rc == 0 && !token && !(cid && csecret))
		rc = sl_error_set(err, SL_ERR_CONFIG,
		                  "target: Databricks needs target.token (a personal access token) "
		                  "or target.client_id and target.client_secret (a service "
		                  "principal's OAuth secret)");
	if (rc == 0 && token && (cid || csecret))
		rc = sl_error_set(err, SL_ERR_CONFIG,
		                  "target: name target.token or target.client_id and "
		                  "target.client_secret, not both");
	if (rc == 0)
		rc = db_required(cfg, "warehouse_id", &wh,
		                 "the SQL warehouse's id, from its Connection details", err);
	if (rc == 0)
		rc = db_required(cfg, "catalog", &catalog,
		                 "the Unity Catalog catalog the tables go to", err);
	if (rc == 0)
		rc = sl_config_opt_string(cfg, "target", "schema", &schema, err);
	if (rc == 0)
		rc = db_required(cfg, "volume", &volume,
		                 "the volume sluice stages Parquet files in: CATALOG.SCHEMA.VOLUME",
		                 err);
	sl_buf vol = {0};
	if (rc == 0)
		rc = db_volume_parse(volume, &vol, err);
	if (rc == 0) {
		sl_buf u = {0};
		sl_buf_puts(&u, cfg->target.url);
		while (u.len && u.data[u.len - 1] == '/')
			u.len--;
		t->url = sl_strdup(sl_buf_cstr(&u));
		sl_buf_free(&u);
		t->catalog = db_lower(catalog);
		t->schema = schema ? db_lower(schema) : NULL;
		t->state_schema = sl_strdup(t->schema ? t->schema : "default");
		sl_buf q = {0};
		db_table(&q, t->catalog, t->state_schema, "_sluice_state");
		t->state_qt = sl_strdup(sl_buf_cstr(&q));
		sl_buf_free(&q);
		t->volume = sl_strdup(sl_buf_cstr(&vol));
		sl_buf p = {0};
		sl_buf_puts(&p, t->volume);
		for (const char *c = cfg->name; *c; c++)
			sl_buf_putc(&p, (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			                                (*c >= '0' && *c <= '9') || *c == '-' ||
			                                *c == '_'
			                        ? *c
			                        : '_');
		sl_buf_putc(&p, '/');
		t->prefix = sl_strdup(sl_buf_cstr(&p));
		sl_buf_free(&p);
		db_api_config ac = {.url = t->url,
		                    .token = token,
		                    .client_id = cid,
		                    .client_secret = csecret,
		                    .warehouse_id = wh,
		                    .catalog = t->catalog};
		rc = db_api_open(&ac, &t->api, err);
		struct timeval tv;
		gettimeofday(&tv, NULL);
		snprintf(t->run, sizeof t->run, "%lx%05lx%x", (long)tv.tv_sec, (long)tv.tv_usec,
		         (unsigned)getpid());
		t->pq.codec = SL_PQ_SNAPPY;
		t->pq.row_group_bytes = (size_t)64 << 20;
		t->pq.created_by = "sluice version " SLUICE_VERSION;
	}
	if (token)
		sl_free_secret(token);
	if (csecret)
		sl_free_secret(csecret);
	free(cid), free(wh), free(catalog), free(schema), free(volume);
	sl_buf_free(&vol);
	if (rc < 0) {
		db_close(db_target_handle(t));
		return rc;
	}
	*out = db_target_handle(t);
	return 0;
}

static void db_table_free(struct db_table *st)
{
	for (int i = 0; i < st->ncols; i++)
		db_col_reset(&st->cols[i]);
	free(st->cols), free(st->key), free(st->qt), free(st->schema), free(st->name);
	memset(st, 0, sizeof *st);
}

static void db_close(sl_target *handle)
{
	db_target *t = db_target_of(handle);
	if (!t)
		return;
	for (int i = 0; i < t->ntables; i++)
		db_table_free(&t->tables[i]);
	free(t->tables);
	db_api_close(t->api);
	pthread_mutex_destroy(&t->mu);
	free(t->url), free(t->catalog), free(t->schema), free(t->state_schema), free(t->state_qt);
	free(t->volume), free(t->prefix);
	free(t);
}

/* The columns of catalog table ti on Databricks (once). */
static int db_table_setup(db_target *t, const sl_catalog *cat, int ti, sl_error *err)
{
	pthread_mutex_lock(&t->mu);
	if (t->ntables < cat->ntables) {
		t->tables = sl_realloc(t->tables, (size_t)cat->ntables * sizeof *t->tables);
		memset(t->tables + t->ntables, 0,
		       (size_t)(cat->ntables - t->ntables) * sizeof *t->tables);
		t->ntables = cat->ntables;
	}
	struct db_table *st = &t->tables[ti];
	int rc = 0;
	if (!st->ready) {
		const sl_table_def *td = &cat->tables[ti];
		st->schema = t->schema ? sl_strdup(t->schema) : db_lower(td->schema);
		st->name = db_lower(td->name);
		sl_buf b = {0};
		db_table(&b, t->catalog, st->schema, st->name);
		st->qt = sl_strdup(sl_buf_cstr(&b));
		sl_buf_free(&b);
		st->cols = sl_calloc((size_t)(td->nfields ? td->nfields : 1), sizeof *st->cols);
		st->key = sl_calloc((size_t)(td->nkey ? td->nkey : 1), sizeof *st->key);
		int *at = sl_malloc((size_t)(td->nfields ? td->nfields : 1) * sizeof *at);
		for (int i = 0; i < td->nfields && rc == 0; i++) {
			at[i] = -1;
			db_col c;
			if (db_col_init(&c, &td->fields[i], i) == DB_SKIP) {
				char desc[128];
				sl_warn("target: %s.%s: type %s has no Databricks form; the column "
				        "is "
				        "skipped",
				        td->qualified, td->fields[i].name,
				        sl_field_describe(&td->fields[i], desc, sizeof desc));
				db_col_reset(&c);
				continue;
			}
			/* Delta compares column names without case */
			for (int k = 0; k < st->ncols && rc == 0; k++)
				if (strcasecmp(st->cols[k].file.name, c.file.name) == 0)
					rc = sl_error_set(
					        err, SL_ERR_CONFIG,
					        "target: %s has columns %s and %s, one column "
					        "on Databricks (its names ignore case): rename "
					        "one, or leave one out (source.tables.columns)",
					        td->qualified, st->cols[k].file.name, c.file.name);
			if (rc < 0) {
				db_col_reset(&c);
				break;
			}
			at[i] = st->ncols;
			st->cols[st->ncols++] = c;
		}
		for (int k = 0; k < td->nkey; k++)
			if (at[td->key[k]] >= 0)
				st->key[st->nkey++] = at[td->key[k]];
		if (st->nkey != td->nkey)
			st->nkey = 0; /* a key column without a form: keyless */
		free(at);
		if (rc == 0)
			st->ready = true;
		else
			db_table_free(st);
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static const char *db_table_name(sl_target *handle, const sl_catalog *cat, int ti, char *buf,
                                 size_t n)
{
	db_target *t = db_target_of(handle);
	sl_error e = {0};
	if (db_table_setup(t, cat, ti, &e) < 0)
		snprintf(buf, n, "%s.?", t->catalog);
	else
		snprintf(buf, n, "%s.%s.%s", t->catalog, t->tables[ti].schema, t->tables[ti].name);
	return buf;
}

/* The source renamed table ti (old_cat has its old name): the Databricks table follows, within
 * its schema (Unity Catalog renames no table into another). Done already (a run stopped after
 * the rename): the old name is gone and the new one there. */
static int db_rename(sl_target *handle, const sl_catalog *old_cat, const sl_catalog *cat, int ti,
                     sl_error *err)
{
	db_target *t = db_target_of(handle);
	const sl_table_def *od = &old_cat->tables[ti], *nd = &cat->tables[ti];
	char *os = t->schema ? sl_strdup(t->schema) : db_lower(od->schema);
	char *ns = t->schema ? sl_strdup(t->schema) : db_lower(nd->schema);
	char *on = db_lower(od->name), *nn = db_lower(nd->name);
	sl_buf from = {0}, to = {0}, q = {0};
	db_table(&from, t->catalog, os, on);
	db_table(&to, t->catalog, ns, nn);
	int rc = 0;
	if (strcmp(os, ns) != 0) {
		rc = sl_error_set(err, SL_ERR_SETTING,
		                  "target: %s was renamed to %s on the source, into another "
		                  "schema: Unity Catalog renames tables within their schema "
		                  "only; move %s to %s in Databricks yourself (or drop it, "
		                  "and sluice resync %s copies it anew), then run again",
		                  od->qualified, nd->qualified, sl_buf_cstr(&from),
		                  sl_buf_cstr(&to), nd->qualified);
	} else if (strcmp(on, nn) != 0) {
		sl_buf_printf(&q, "ALTER TABLE %s RENAME TO %s", sl_buf_cstr(&from),
		              sl_buf_cstr(&to));
		rc = db_sql(t->api, sl_buf_cstr(&q), NULL, 0, NULL, err);
		if (rc < 0 && strcmp(err->sqlstate, "42P01") == 0) {
			sl_error e = {0};
			sl_buf_reset(&q);
			sl_buf_printf(&q, "SELECT count(*) FROM %s", sl_buf_cstr(&to));
			if (db_sql(t->api, sl_buf_cstr(&q), NULL, 0, NULL, &e) == 0) {
				sl_error_clear(err);
				rc = 0;
			}
		}
		if (rc < 0)
			sl_error_wrap(err, "renaming %s to %s", sl_buf_cstr(&from),
			              sl_buf_cstr(&to));
	}
	if (rc == 0 && ti < t->ntables) {
		pthread_mutex_lock(&t->mu);
		db_table_free(&t->tables[ti]); /* set up again under the new name */
		pthread_mutex_unlock(&t->mu);
	}
	free(os), free(ns), free(on), free(nn);
	sl_buf_free(&from), sl_buf_free(&to), sl_buf_free(&q);
	return rc;
}

/* ---------------------------------------------------------------- statements ---- */

static int db_state_create(db_target *t, sl_error *err)
{
	sl_buf q = {0};
	sl_buf_puts(&q, "CREATE SCHEMA IF NOT EXISTS ");
	db_quote(&q, t->catalog, true);
	sl_buf_putc(&q, '.');
	db_quote(&q, t->state_schema, true);
	int rc = db_sql(t->api, sl_buf_cstr(&q), NULL, 0, NULL, err);
	sl_buf_reset(&q);
	sl_buf_printf(&q,
	              "CREATE TABLE IF NOT EXISTS %s (`pipeline` STRING NOT NULL, `epoch` STRING, "
	              "`position` STRING, `version` DECIMAL(20,0), `commit_us` BIGINT, "
	              "`applied_us` BIGINT)",
	              t->state_qt);
	if (rc == 0)
		rc = db_sql(t->api, sl_buf_cstr(&q), NULL, 0, NULL, err);
	sl_buf_free(&q);
	return rc;
}

/* ---------------------------------------------------------------- check ---- */

static int db_check(sl_target *handle, sl_check_fn report, void *ctx)
{
	db_target *t = db_target_of(handle);
	sl_error err = {0};
	db_result r = {0};
	char msg[1024], state[32] = "";
	int failed = 0;
	/* the login, and the warehouse: a stopped serverless warehouse starts on first use */
	if (db_warehouse_state(t->api, state, sizeof state, &err) < 0) {
		report(ctx, false, "target login", err.msg);
		return 1;
	}
	if (db_sql(t->api, "SELECT current_user(), current_catalog()", NULL, 0, &r, &err) < 0 ||
	    r.nrows != 1 || r.ncols != 2) {
		report(ctx, false, "target login", err.msg[0] ? err.msg : "unexpected answer");
		db_result_free(&r);
		return 1;
	}
	const char *user = db_result_text(&r, 0, 0);
	snprintf(msg, sizeof msg, "signed in to Databricks at %s as %s", t->url, user ? user : "?");
	report(ctx, true, "target login", msg);
	snprintf(msg, sizeof msg, "SQL warehouse %s", state);
	if (strcmp(state, "RUNNING") != 0)
		snprintf(msg, sizeof msg,
		         "SQL warehouse was %s and started for the check (a serverless warehouse "
		         "starts on first use)",
		         state);
	report(ctx, true, "target warehouse", msg);
	db_result_free(&r);
	/* catalog, schema and table privileges: the state table is made */
	sl_error_clear(&err);
	if (db_state_create(t, &err) < 0) {
		snprintf(msg, sizeof msg,
		         "%s (sluice keeps its position in %s.%s._sluice_state: GRANT USE "
		         "CATALOG ON CATALOG %s, and USE SCHEMA, CREATE TABLE, MODIFY, SELECT "
		         "ON SCHEMA %s.%s TO <principal>)",
		         err.msg, t->catalog, t->state_schema, t->catalog, t->catalog,
		         t->state_schema);
		report(ctx, false, "target privileges", msg);
		failed = 1;
	} else if (t->schema) {
		snprintf(msg, sizeof msg, "can create tables in %s.%s", t->catalog, t->schema);
		report(ctx, true, "target privileges", msg);
	} else {
		/* each source schema becomes a schema: one is made and dropped to know it may */
		sl_buf q = {0}, s = {0};
		sl_buf_printf(&s, "_sluice_probe_%s", t->run);
		sl_buf_puts(&q, "CREATE SCHEMA IF NOT EXISTS ");
		db_quote(&q, t->catalog, true);
		sl_buf_putc(&q, '.');
		db_quote(&q, sl_buf_cstr(&s), true);
		int rc = db_sql(t->api, sl_buf_cstr(&q), NULL, 0, NULL, &err);
		if (rc == 0) {
			sl_buf_reset(&q);
			sl_buf_puts(&q, "DROP SCHEMA IF EXISTS ");
			db_quote(&q, t->catalog, true);
			sl_buf_putc(&q, '.');
			db_quote(&q, sl_buf_cstr(&s), true);
			rc = db_sql(t->api, sl_buf_cstr(&q), NULL, 0, NULL, &err);
		}
		if (rc < 0) {
			snprintf(msg, sizeof msg,
			         "%s (each source schema becomes a schema in catalog %s: GRANT "
			         "CREATE SCHEMA ON CATALOG %s TO <principal>, or set target.schema "
			         "to a schema it may create tables in)",
			         err.msg, t->catalog, t->catalog);
			report(ctx, false, "target privileges", msg);
			failed = 1;
		} else {
			snprintf(msg, sizeof msg,
			         "can create schemas in catalog %s, and tables in %s.%s (the "
			         "state table)",
			         t->catalog, t->catalog, t->state_schema);
			report(ctx, true, "target privileges", msg);
		}
		sl_buf_free(&q), sl_buf_free(&s);
	}
	/* the volume: put, list, delete a probe file */
	sl_error_clear(&err);
	sl_buf p = {0};
	sl_buf_printf(&p, "%sprobe-%s", t->prefix, t->run);
	int rc = db_file_put(t->api, sl_buf_cstr(&p), "sluice", 6, &err);
	if (rc == 0)
		rc = db_file_delete(t->api, sl_buf_cstr(&p), &err) < 0 ? -1 : 0;
	if (rc < 0) {
		snprintf(msg, sizeof msg,
		         "%s (sluice needs READ VOLUME and WRITE VOLUME on the volume of %s)",
		         err.msg, t->volume);
		report(ctx, false, "target volume", msg);
		failed = 1;
	} else {
		snprintf(msg, sizeof msg, "%s can be written and deleted", t->volume);
		report(ctx, true, "target volume", msg);
	}
	sl_buf_free(&p);
	return failed;
}

/* ---------------------------------------------------------------- prepare ---- */

/* Files a run left when it stopped between putting and removing them (db_dir_list callback:
 * deletes each file). */
static int db_sweep_one(void *ctx, const char *path, bool dir, int64_t size, sl_error *err)
{
	(void)size;
	if (dir)
		return 0;
	return db_file_delete(ctx, path, err) < 0 ? -1 : 0;
}

/* Chunk files an earlier run put and did not get to remove (it stopped between the two): their
 * tables (or backfill slices) were not recorded as loaded, so they are loaded again. Once per
 * target, before its first load: at the first prepare, or when change capture starts. */
static int db_sweep_chunks(db_target *t, sl_error *err)
{
	if (t->swept)
		return 0;
	sl_buf p = {0};
	sl_buf_printf(&p, "%ssnapshot", t->prefix);
	int rc = db_dir_list(t->api, sl_buf_cstr(&p), db_sweep_one, t->api, err);
	sl_buf_free(&p);
	if (rc < 0)
		return sl_error_wrap(err, "target volume: removing files an earlier run left");
	t->swept = true;
	return 0;
}

static int db_prepare(sl_target *handle, const sl_catalog *cat, int ti, bool reload, sl_error *err)
{
	db_target *t = db_target_of(handle);
	SL_TRY(db_sweep_chunks(t, err)); /* no load runs before the first prepare */
	SL_TRY(db_table_setup(t, cat, ti, err));
	struct db_table *st = &t->tables[ti];
	sl_buf q = {0};
	sl_buf_puts(&q, "CREATE SCHEMA IF NOT EXISTS ");
	db_quote(&q, t->catalog, true);
	sl_buf_putc(&q, '.');
	db_quote(&q, st->schema, true);
	int rc = db_sql(t->api, sl_buf_cstr(&q), NULL, 0, NULL, err);
	sl_buf_reset(&q);
	db_sql_create(&q, st->qt, st->cols, st->ncols, st->key, st->nkey);
	if (rc == 0)
		rc = db_sql(t->api, sl_buf_cstr(&q), NULL, 0, NULL, err);
	sl_buf_reset(&q);
	db_result r = {0};
	if (reload)
		sl_buf_printf(&q, "TRUNCATE TABLE %s", st->qt);
	else
		sl_buf_printf(&q, "SELECT count(*) FROM %s", st->qt);
	if (rc == 0)
		rc = db_sql(t->api, sl_buf_cstr(&q), NULL, 0, &r, err);
	if (rc == 0 && !reload && r.nrows == 1) {
		const char *v = db_result_text(&r, 0, 0);
		if (v && strcmp(v, "0") != 0)
			rc = sl_error_set(err, SL_ERR_STATE,
			                  "target table %s.%s.%s already has %s rows that this "
			                  "pipeline did not write (drop it, choose another "
			                  "target.catalog or target.schema, or run `sluice reset`)",
			                  t->catalog, st->schema, st->name, v);
	}
	if (rc < 0 && err->code != SL_ERR_STATE)
		sl_error_wrap(err, "creating %s.%s.%s", t->catalog, st->schema, st->name);
	db_result_free(&r);
	sl_buf_free(&q);
	return rc;
}

/* ---------------------------------------------------------------- snapshot ---- */

struct db_writer {
	db_target *t;
	int table;
	sl_field *fields; /* the columns' file fields, then the meta ones */
	int nfields;
	sl_batch *staged;
	sl_pq_writer *pw;
	sl_buf file; /* the Parquet file being written */
	sl_buf tmp;
	int64_t rows;
};

static int db_mem_sink(void *ctx, const void *p, size_t n, sl_error *err)
{
	(void)err;
	sl_buf_append(ctx, p, n);
	return 0;
}

static int db_writer_open(sl_target *handle, sl_writer **out, sl_error *err)
{
	(void)err;
	db_writer *w = sl_calloc(1, sizeof *w);
	w->t = db_target_of(handle);
	w->table = -1;
	*out = db_writer_handle(w);
	return 0;
}

static void db_writer_reset(db_writer *w)
{
	if (w->pw)
		sl_pq_writer_free(w->pw);
	w->pw = NULL;
	if (w->staged)
		sl_batch_destroy(w->staged);
	w->staged = NULL;
	for (int i = w->nfields - DB_SNAP_META; w->fields && i < w->nfields; i++)
		sl_field_reset(&w->fields[i]);
	free(w->fields);
	w->fields = NULL;
	w->nfields = 0;
	sl_buf_reset(&w->file);
}

static int db_load_begin(sl_writer *handle, const sl_catalog *cat, int ti, sl_error *err)
{
	db_writer *w = db_writer_of(handle);
	db_target *t = w->t;
	SL_TRY(db_table_setup(t, cat, ti, err));
	struct db_table *st = &t->tables[ti];
	db_writer_reset(w);
	w->table = ti;
	w->nfields = st->ncols + DB_SNAP_META;
	w->fields = sl_calloc((size_t)w->nfields, sizeof *w->fields);
	for (int i = 0; i < st->ncols; i++)
		w->fields[i] = st->cols[i].file; /* shallow: the table's own */
	sl_field_init(&w->fields[st->ncols], DB_VERSION, SL_TYPE_DECIMAL128);
	w->fields[st->ncols].precision = 20;
	sl_field_init(&w->fields[st->ncols + 1], DB_SEQ, SL_TYPE_INT64);
	sl_field_init(&w->fields[st->ncols + 2], DB_DELETED, SL_TYPE_BOOL);
	w->staged = sl_batch_create(w->fields, w->nfields);
	w->rows = 0;
	return sl_pq_writer_new(w->fields, w->nfields, &t->pq, db_mem_sink, &w->file, &w->pw, err);
}

static int db_load_batch(sl_writer *handle, const sl_batch *b, sl_error *err)
{
	db_writer *w = db_writer_of(handle);
	struct db_table *st = &w->t->tables[w->table];
	sl_batch_reset(w->staged);
	static const uint8_t zero16[16];
	for (int64_t r = 0; r < b->length; r++) {
		for (int i = 0; i < st->ncols; i++)
			db_col_append(&st->cols[i], &w->staged->cols[i], &b->cols[st->cols[i].src],
			              r, &w->tmp);
		sl_col_append_fixed(&w->staged->cols[st->ncols], zero16, 16);
		sl_col_append_i64(&w->staged->cols[st->ncols + 1], 0);
		sl_col_append_bool(&w->staged->cols[st->ncols + 2], false);
		sl_batch_end_row(w->staged);
	}
	w->rows += b->length;
	return sl_pq_write(w->pw, w->staged, err);
}

static int db_load_end(sl_writer *handle, sl_error *err)
{
	db_writer *w = db_writer_of(handle);
	db_target *t = w->t;
	struct db_table *st = &t->tables[w->table];
	int rc = sl_pq_finish(w->pw, err);
	sl_pq_writer_free(w->pw);
	w->pw = NULL;
	char name[64];
	snprintf(name, sizeof name, "%s-%u.parquet", t->run, db_next(t));
	sl_buf dir = {0}, path = {0}, q = {0};
	sl_buf_printf(&dir, "%ssnapshot/", t->prefix);
	sl_buf_printf(&path, "%s%s", sl_buf_cstr(&dir), name);
	if (rc == 0)
		rc = db_file_put(t->api, sl_buf_cstr(&path), w->file.data, w->file.len, err);
	db_result r = {0};
	if (rc == 0) {
		const char *files[] = {name};
		db_sql_copy(&q, st->qt, sl_buf_cstr(&dir), files, 1);
		rc = db_sql(t->api, sl_buf_cstr(&q), NULL, 0, &r, err);
	}
	if (rc == 0) {
		/* num_affected_rows, num_inserted_rows, ... */
		const char *v = r.nrows == 1 && r.ncols >= 2 ? db_result_text(&r, 0, 1) : NULL;
		int64_t loaded = v ? strtoll(v, NULL, 10) : -1;
		if (loaded != w->rows)
			rc = sl_error_set(err, SL_ERR_SERVER,
			                  "target: COPY INTO %s.%s.%s loaded %" PRId64
			                  " rows of the %" PRId64 " staged in %s",
			                  t->catalog, st->schema, st->name, loaded, w->rows,
			                  sl_buf_cstr(&path));
	}
	if (rc < 0 && err->code != SL_ERR_CANCELLED)
		sl_error_wrap(err, "loading %s.%s.%s", t->catalog, st->schema, st->name);
	sl_error e = {0};
	if (db_file_delete(t->api, sl_buf_cstr(&path), &e) < 0)
		sl_warn("target volume: %s", e.msg);
	db_result_free(&r);
	sl_buf_free(&dir), sl_buf_free(&path), sl_buf_free(&q);
	sl_buf_reset(&w->file);
	return rc;
}

static void db_load_abort(sl_writer *handle)
{
	db_writer_reset(db_writer_of(handle));
}

static int db_finish_table(sl_writer *handle, const sl_catalog *cat, int ti, sl_error *err)
{
	(void)handle, (void)cat, (void)ti, (void)err;
	return 0; /* Delta has no indexes to build after a load */
}

static void db_writer_cancel(sl_writer *handle)
{
	db_api_cancel(db_writer_of(handle)->t->api);
}

static void db_writer_close(sl_writer *handle)
{
	db_writer *w = db_writer_of(handle);
	db_writer_reset(w);
	sl_buf_free(&w->file), sl_buf_free(&w->tmp);
	free(w);
}

/* ---------------------------------------------------------------- verify ---- */

struct db_digest_ctx {
	const sl_table_def *td;
	struct db_table *st;
	sl_digest *d;
	sl_batch *b;
	sl_buf tmp;
};

static int db_digest_chunk(void *ctx, db_result *r, sl_error *err)
{
	struct db_digest_ctx *x = ctx;
	struct db_table *st = x->st;
	if (r->nrows > 0 && r->ncols != st->ncols)
		return sl_error_set(err, SL_ERR_SERVER,
		                    "target: Databricks answered %d columns, not %d", r->ncols,
		                    st->ncols);
	sl_batch_reset(x->b);
	for (int64_t i = 0; i < r->nrows; i++) {
		for (int k = 0; k < st->ncols; k++) {
			const char *v = db_result_text(r, i, k);
			const sl_field *f = &x->td->fields[st->cols[k].src];
			if (db_value_parse(f, v, v ? r->cell.len : 0, &x->b->cols[k], &x->tmp) < 0)
				return sl_error_set(
				        err, SL_ERR_DATA,
				        "target: %s.%s: Databricks' value '%.60s' is not a %s",
				        x->td->qualified, f->name, v, st->cols[k].type);
		}
		sl_batch_end_row(x->b);
	}
	sl_digest_add_batch(x->d, x->b);
	return 0;
}

static int db_digest(sl_target *handle, const sl_catalog *cat, int ti, sl_digest *d, sl_error *err)
{
	db_target *t = db_target_of(handle);
	SL_TRY(db_table_setup(t, cat, ti, err));
	struct db_table *st = &t->tables[ti];
	const sl_table_def *td = &cat->tables[ti];
	if (st->ncols != td->nfields)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "target: %s has columns with no Databricks form (skipped): "
		                    "verify cannot compare it whole",
		                    td->qualified);
	sl_buf q = {0};
	sl_buf_puts(&q, "SELECT ");
	for (int k = 0; k < st->ncols; k++) {
		if (k)
			sl_buf_puts(&q, ", ");
		db_quote(&q, st->cols[k].file.name, false);
	}
	sl_buf_printf(&q, " FROM %s WHERE NOT `" DB_DELETED "`", st->qt);
	struct db_digest_ctx x = {.td = td, .st = st, .d = d};
	x.b = sl_batch_create(td->fields, td->nfields);
	int rc = db_query(t->api, sl_buf_cstr(&q), NULL, 0, db_digest_chunk, &x, err);
	sl_batch_destroy(x.b);
	sl_buf_free(&x.tmp), sl_buf_free(&q);
	return rc;
}

/* ---------------------------------------------------------------- durable ---- */

static int db_durable_read(db_target *t, const char *epoch, sl_durable *out, sl_error *err)
{
	memset(out, 0, sizeof *out);
	sl_buf q = {0};
	sl_buf_printf(&q,
	              "SELECT `epoch`, `position`, `version`, `commit_us`, `applied_us` FROM %s "
	              "WHERE `pipeline` = :pipeline",
	              t->state_qt);
	db_param p[] = {{"pipeline", t->cfg->name, NULL}};
	db_result r = {0};
	int rc = db_sql(t->api, sl_buf_cstr(&q), p, 1, &r, err);
	if (rc == 0 && r.nrows == 1 && r.ncols == 5) {
		const char *e = db_result_text(&r, 0, 0);
		if (e && strcmp(e, epoch) == 0) {
			const char *v = db_result_text(&r, 0, 1);
			snprintf(out->position, sizeof out->position, "%s", v ? v : "");
			v = db_result_text(&r, 0, 2);
			out->version = v ? strtoull(v, NULL, 10) : 0;
			v = db_result_text(&r, 0, 3);
			out->commit_us = v ? strtoll(v, NULL, 10) : 0;
			v = db_result_text(&r, 0, 4);
			out->applied_us = v ? strtoll(v, NULL, 10) : 0;
			out->found = true;
		}
	}
	db_result_free(&r);
	sl_buf_free(&q);
	return rc;
}

static int db_durable(sl_target *handle, const char *epoch, sl_durable *out, sl_error *err)
{
	db_target *t = db_target_of(handle);
	return db_durable_read(t, epoch, out, err);
}

/* ---------------------------------------------------------------- apply ---- */

/* One table's changes in the open group, staged: its columns, _sluice_version, _sluice_seq,
 * _sluice_deleted, _sluice_unchanged ('0'/'1' per column, then 'L' when the change may miss
 * its row; NULL when every column came). */
struct dba_table {
	sl_shape *shape;
	db_col *cols;
	int ncols;
	int *key;
	int nkey;
	sl_field *fields;
	int nfields;
	sl_batch *acc;
	sl_batch *one, *fixed; /* a row with unchanged columns, staged; then completed */
	sl_row_index live;     /* acc's latest live row per key */
	bool any_unchanged;
	bool known;              /* its columns on Databricks read */
	char **tnames, **ttypes; /* its columns on Databricks: names, types (as D2 spells them) */
	int ntcols;
};

/* What the group does, in order: a table's staged rows merged, or a table truncated. */
struct dba_step {
	int table;
	uint64_t truncate; /* 0: a MERGE of the file */
	char *file;        /* the change file's volume path */
	bool unchanged;
};

typedef struct db_applier db_applier;
SL_HANDLE(db_applier, sl_applier)

struct db_applier {
	db_target *t;
	const sl_catalog *cat;
	char *epoch;
	uint64_t converge_until;
	struct dba_table *tables;
	struct dba_step *steps;
	int nsteps, capsteps;
	int ndone; /* steps[0..ndone) run already */
	sl_buf tmp;
};

static void dba_cols_free(struct dba_table *at)
{
	if (at->acc)
		sl_batch_destroy(at->acc), sl_batch_destroy(at->one), sl_batch_destroy(at->fixed);
	at->acc = at->one = at->fixed = NULL;
	sl_row_index_free(&at->live);
	for (int i = 0; i < at->ncols; i++)
		db_col_reset(&at->cols[i]);
	for (int i = at->ncols; at->fields && i < at->nfields; i++)
		sl_field_reset(&at->fields[i]);
	free(at->cols), free(at->key), free(at->fields);
	at->cols = NULL, at->key = NULL, at->fields = NULL;
	at->ncols = at->nkey = at->nfields = 0;
}

static void dba_reset_group(db_applier *a, bool remove)
{
	for (int i = 0; i < a->nsteps; i++) {
		sl_error e = {0};
		if (remove && a->steps[i].file &&
		    db_file_delete(a->t->api, a->steps[i].file, &e) < 0)
			sl_warn("target volume: %s", e.msg);
		free(a->steps[i].file);
	}
	a->nsteps = a->ndone = 0;
	for (int i = 0; i < a->cat->ntables; i++) {
		struct dba_table *at = &a->tables[i];
		if (at->acc)
			sl_batch_reset(at->acc);
		sl_row_index_clear(&at->live);
		at->any_unchanged = false;
	}
}

static void dba_close(sl_applier *handle)
{
	db_applier *a = db_applier_of(handle);
	if (!a)
		return;
	dba_reset_group(a, false);
	for (int i = 0; a->tables && i < a->cat->ntables; i++) {
		struct dba_table *at = &a->tables[i];
		dba_cols_free(at);
		if (at->shape)
			sl_shape_unref(at->shape);
		for (int k = 0; k < at->ntcols; k++)
			free(at->tnames[k]), free(at->ttypes[k]);
		free(at->tnames), free(at->ttypes);
	}
	free(a->tables), free(a->steps), free(a->epoch);
	sl_buf_free(&a->tmp);
	free(a);
}

static int dba_open(sl_target *handle, const sl_catalog *cat, const char *epoch,
                    uint64_t converge_until, sl_applier **out, sl_durable *durable, sl_error *err)
{
	db_target *t = db_target_of(handle);
	db_applier *a = sl_calloc(1, sizeof *a);
	a->t = t;
	a->cat = cat;
	a->epoch = sl_strdup(epoch);
	a->converge_until = converge_until;
	a->tables = sl_calloc((size_t)(cat->ntables ? cat->ntables : 1), sizeof *a->tables);
	int rc = db_state_create(t, err);
	if (rc == 0)
		rc = db_durable_read(t, epoch, durable, err);
	if (rc == 0) {
		sl_buf p = {0};
		sl_buf_printf(&p, "%schanges", t->prefix);
		/* change files of a group a run stopped in: that group is applied again */
		rc = db_dir_list(t->api, sl_buf_cstr(&p), db_sweep_one, t->api, err);
		sl_buf_free(&p);
		if (rc > 0)
			rc = 0; /* no such directory yet */
	}
	if (rc == 0)
		rc = db_sweep_chunks(t, err); /* a backfill's, the last run stopped in */
	if (rc < 0) {
		dba_close(db_applier_handle(a));
		return rc;
	}
	*out = db_applier_handle(a);
	return 0;
}

static void dba_known_add(struct dba_table *at, const char *name, const char *type)
{
	size_t n = (size_t)(at->ntcols + 1);
	at->tnames = sl_realloc(at->tnames, n * sizeof *at->tnames);
	at->ttypes = sl_realloc(at->ttypes, n * sizeof *at->ttypes);
	at->tnames[at->ntcols] = sl_strdup(name);
	at->ttypes[at->ntcols++] = sl_strdup(type);
}

/* The table's columns as Databricks has them (information_schema), once. */
static int dba_known(db_applier *a, int ti, sl_error *err)
{
	struct dba_table *at = &a->tables[ti];
	if (at->known)
		return 0;
	struct db_table *st = &a->t->tables[ti];
	sl_buf q = {0};
	sl_buf_puts(&q, "SELECT column_name, full_data_type FROM ");
	db_quote(&q, a->t->catalog, true);
	sl_buf_puts(&q, ".information_schema.columns WHERE table_schema = :schema AND table_name "
	                "= :table ORDER BY ordinal_position");
	db_param p[] = {{"schema", st->schema, NULL}, {"table", st->name, NULL}};
	db_result r = {0};
	int rc = db_sql(a->t->api, sl_buf_cstr(&q), p, 2, &r, err);
	for (int64_t i = 0; rc == 0 && i < r.nrows; i++) {
		/* (each text is valid until the next) */
		const char *n = db_result_text(&r, i, 0);
		char *name = sl_strdup(n ? n : "");
		const char *ty = db_result_text(&r, i, 1);
		dba_known_add(at, name, ty ? ty : "");
		free(name);
	}
	if (rc == 0)
		at->known = true;
	db_result_free(&r);
	sl_buf_free(&q);
	return rc;
}

static int dba_flush(db_applier *a, int ti, sl_error *err);
static int dba_run(db_applier *a, sl_error *err);

/* Where column c (of shape field f) is in table ti on Databricks: there (its type widened when
 * the source's widened), there under its old name (renamed: values kept, through column
 * mapping), or not yet (added to `add`, for one ADD COLUMNS). */
static int dba_column(db_applier *a, int ti, const db_col *c, const sl_field *f, sl_buf *add,
                      bool *stale, sl_error *err)
{
	struct dba_table *at = &a->tables[ti];
	struct db_table *st = &a->t->tables[ti];
	const sl_table_def *td = &a->cat->tables[ti];
	int k = -1;
	for (int i = 0; i < at->ntcols && k < 0; i++)
		if (strcasecmp(at->tnames[i], c->file.name) == 0)
			k = i;
	sl_buf q = {0};
	int rc = 0;
	if (k >= 0 && strcasecmp(at->ttypes[k], c->type) != 0) {
		if (!db_widens(at->ttypes[k], c->type))
			rc = sl_error_set(err, SL_ERR_SETTING,
			                  "target: %s.%s is %s on Databricks and now %s on the "
			                  "source, which Databricks cannot widen it to: drop %s in "
			                  "Databricks, then copy the table anew (sluice resync %s)",
			                  td->qualified, c->file.name, at->ttypes[k], c->type,
			                  st->qt, td->qualified);
		if (rc == 0) {
			/* type widening: no data rewritten */
			sl_buf_printf(&q, "ALTER TABLE %s ALTER COLUMN ", st->qt);
			db_quote(&q, at->tnames[k], false);
			sl_buf_printf(&q, " TYPE %s", c->type);
			rc = db_sql(a->t->api, sl_buf_cstr(&q), NULL, 0, NULL, err);
		}
		if (rc == 0) {
			sl_info("target: %s: column %s widened from %s to %s", td->qualified,
			        c->file.name, at->ttypes[k], c->type);
			free(at->ttypes[k]);
			at->ttypes[k] = sl_strdup(c->type);
		}
	}
	for (int i = 0; k < 0 && f->renamed_from && i < at->ntcols; i++)
		if (strcasecmp(at->tnames[i], f->renamed_from) == 0)
			k = i;
	if (rc == 0 && k >= 0 && strcasecmp(at->tnames[k], c->file.name) != 0) {
		/* renamed on the source: renamed here, values kept (column mapping) */
		sl_buf_printf(&q, "ALTER TABLE %s RENAME COLUMN ", st->qt);
		db_quote(&q, at->tnames[k], false);
		sl_buf_puts(&q, " TO ");
		db_quote(&q, c->file.name, false);
		rc = db_sql(a->t->api, sl_buf_cstr(&q), NULL, 0, NULL, err);
		if (rc < 0 && strcmp(err->sqlstate, "0AKDC") == 0)
			sl_error_set(err, SL_ERR_SETTING,
			             "target: %s: column %s was renamed to %s on the source, and "
			             "Databricks renames columns only with column mapping: run "
			             "ALTER TABLE %s SET TBLPROPERTIES ('delta.columnMapping.mode' "
			             "= 'name') (sluice makes its tables so), then run again",
			             td->qualified, f->renamed_from, c->file.name, st->qt);
		if (rc == 0) {
			sl_info("target: %s: column %s renamed to %s", td->qualified, at->tnames[k],
			        c->file.name);
			free(at->tnames[k]);
			at->tnames[k] = sl_strdup(c->file.name);
		}
	}
	if (rc == 0 && k < 0 && at->ntcols > 0) {
		sl_buf_puts(add, add->len ? ", " : "");
		db_quote(add, c->file.name, false);
		sl_buf_printf(add, " %s", c->type);
		dba_known_add(at, c->file.name, c->type);
		if (f->fill || f->fill_missing)
			*stale = true;
		sl_info("target: %s: column %s added", td->qualified, c->file.name);
	}
	sl_buf_free(&q);
	return rc;
}

static int dba_shape(sl_applier *handle, int ti, sl_shape *shape, bool *stale, sl_error *err)
{
	db_applier *a = db_applier_of(handle);
	struct dba_table *at = &a->tables[ti];
	const sl_table_def *td = &a->cat->tables[ti];
	*stale = false;
	SL_TRY(db_table_setup(a->t, a->cat, ti, err));
	SL_TRY(dba_known(a, ti, err));
	/* rows of the old shape go as their own file, merged now with the columns they have */
	SL_TRY(dba_flush(a, ti, err));
	SL_TRY(dba_run(a, err));
	struct db_table *st = &a->t->tables[ti];
	dba_cols_free(at);
	at->cols = sl_calloc((size_t)(shape->nfields ? shape->nfields : 1), sizeof *at->cols);
	sl_buf add = {0};
	for (int i = 0; i < shape->nfields; i++) {
		db_col c;
		if (db_col_init(&c, &shape->fields[i], i) == DB_SKIP) {
			db_col_reset(&c);
			continue;
		}
		if (dba_column(a, ti, &c, &shape->fields[i], &add, stale, err) < 0) {
			db_col_reset(&c);
			sl_buf_free(&add);
			return -1;
		}
		at->cols[at->ncols++] = c;
	}
	int rc = 0;
	if (at->ntcols == 0)
		rc = sl_error_set(
		        err, SL_ERR_STATE,
		        "target: table %s is not in Databricks (dropped there?): reload it "
		        "with sluice resync",
		        st->qt);
	if (rc == 0 && add.len) {
		/* DDL commits on its own; sent now, before the group's rows need the column */
		sl_buf q = {0};
		sl_buf_printf(&q, "ALTER TABLE %s ADD COLUMNS (%s)", st->qt, sl_buf_cstr(&add));
		rc = db_sql(a->t->api, sl_buf_cstr(&q), NULL, 0, NULL, err);
		sl_buf_free(&q);
	}
	sl_buf_free(&add);
	SL_TRY(rc);
	int *kf = sl_malloc((size_t)(shape->nfields ? shape->nfields : 1) * sizeof *kf);
	const char *missing = NULL;
	int nk = sl_shape_key(shape, td, kf, &missing);
	at->key = sl_calloc((size_t)(nk > 0 ? nk : 1), sizeof *at->key);
	for (int k = 0; k < nk; k++)
		for (int i = 0; i < at->ncols; i++)
			if (at->cols[i].src == kf[k])
				at->key[at->nkey++] = i;
	if (at->nkey != nk || nk < 0)
		at->nkey = 0;
	free(kf);
	at->nfields = at->ncols + (at->nkey ? 4 : 3); /* keyless: no _sluice_unchanged */
	at->fields = sl_calloc((size_t)at->nfields, sizeof *at->fields);
	for (int i = 0; i < at->ncols; i++) {
		at->cols[i].file.nullable = true; /* a delete carries the key alone */
		at->fields[i] = at->cols[i].file;
	}
	int m = at->ncols;
	sl_field_init(&at->fields[m], DB_VERSION, SL_TYPE_DECIMAL128);
	at->fields[m++].precision = 20;
	sl_field_init(&at->fields[m++], DB_SEQ, SL_TYPE_INT64);
	sl_field_init(&at->fields[m++], DB_DELETED, SL_TYPE_BOOL);
	if (at->nkey) {
		sl_field_init(&at->fields[m], DB_UNCHANGED, SL_TYPE_UTF8);
		at->fields[m].nullable = true;
	}
	at->acc = sl_batch_create(at->fields, at->nfields);
	at->one = sl_batch_create(at->fields, at->nfields);
	at->fixed = sl_batch_create(at->fields, at->nfields);
	if (at->shape)
		sl_shape_unref(at->shape);
	at->shape = sl_shape_ref(shape);
	return 0;
}

/* The row staged in at->one, from a change that left the columns in bits unchanged, appended
 * to the group's rows: those columns taken from the group's latest live row of its key if there
 * is one, and what is still unchanged then marked for the MERGE to take from the table ('L'
 * after the bits when that row may be missing: then the change is skipped). */
static void dba_complete(struct dba_table *at, const char *bits, bool lenient)
{
	sl_batch *acc = at->acc, *fixed = at->fixed;
	int nb = at->ncols, ucol = at->ncols + 3;
	int64_t prev = sl_row_index_find(&at->live, acc, at->key, at->nkey, at->one, 0);
	const char *pbits = NULL;
	int32_t plen = 0;
	if (prev >= 0 && sl_col_is_valid(&acc->cols[ucol], prev))
		pbits = (const char *)sl_col_bytes(&acc->cols[ucol], prev, &plen);
	/* what the earlier change still needs from the table, it may miss as it could */
	lenient |= pbits && plen > nb && pbits[nb] == 'L';
	char *left = sl_malloc((size_t)nb + 2);
	bool any = false;
	for (int k = 0; k < nb; k++) {
		left[k] = bits[k] == '1' && (prev < 0 || (pbits && k < plen && pbits[k] == '1'))
		                  ? '1'
		                  : '0';
		any |= left[k] == '1';
	}
	left[nb] = 'L';
	sl_batch_reset(fixed);
	for (int k = 0; k < ucol; k++) {
		if (k < nb && bits[k] == '1' && prev >= 0)
			sl_col_append_from(&fixed->cols[k], &acc->cols[k], prev);
		else
			sl_col_append_from(&fixed->cols[k], &at->one->cols[k], 0);
	}
	if (any)
		sl_col_append_bytes(&fixed->cols[ucol], left, (size_t)nb + lenient);
	else
		sl_col_append_null(&fixed->cols[ucol]);
	sl_batch_end_row(fixed);
	for (int k = 0; k < at->nfields; k++)
		sl_col_append_from(&acc->cols[k], &fixed->cols[k], 0);
	sl_batch_end_row(acc);
	at->any_unchanged |= any;
	free(left);
}

static int dba_changes(sl_applier *handle, const sl_changes *c, const uint8_t *dead, sl_error *err)
{
	db_applier *a = db_applier_of(handle);
	struct dba_table *at = &a->tables[c->table];
	const sl_table_def *td = &a->cat->tables[c->table];
	if (at->shape != c->shape)
		return sl_error_set(err, SL_ERR_INTERNAL, "changes to %s arrived before its shape",
		                    td->qualified);
	int nb = at->ncols;
	char *bits = sl_malloc((size_t)nb + 2);
	int rc = 0;
	for (int64_t i = 0; i < c->rows->length && rc == 0; i++) {
		if (dead && (dead[i >> 3] >> (i & 7)) & 1)
			continue;
		char op = sl_changes_op(c, i);
		if (op == SL_OP_KEYREF || op == SL_OP_REKEY)
			continue;
		if (at->acc->length > 0 && sl_batch_bytes(at->acc) > DB_PART_BYTES) {
			rc = dba_flush(a, c->table, err);
			if (rc < 0)
				break;
		}
		bool del = op == SL_OP_DELETE, any = false;
		for (int k = 0; k < nb; k++) {
			bits[k] = c->any_unchanged && sl_changes_is_unchanged(c, i, at->cols[k].src)
			                  ? '1'
			                  : '0';
			any |= bits[k] == '1';
		}
		sl_row_origin o = sl_changes_origin(c, i);
		bool lenient = c->may_miss || o.version <= a->converge_until;
		if (at->nkey == 0 && op != SL_OP_INSERT) {
			rc = sl_error_set(
			        err, SL_ERR_SETTING,
			        "target: %s has no primary key: on Databricks sluice applies "
			        "only inserts to such a table so far, and a change on the "
			        "source updated or deleted a row (add a primary key, or leave "
			        "the table out)",
			        td->qualified);
			break;
		}
		if (op == SL_OP_MOVE && any) {
			rc = sl_error_set(
			        err, SL_ERR_SETTING,
			        "target: %s: a key change left columns unchanged (TOAST), "
			        "which the Databricks target cannot complete yet: give the "
			        "table REPLICA IDENTITY FULL on the source",
			        td->qualified);
			break;
		}
		/* a row with unchanged columns is staged alone first, then completed from the
		 * group's earlier row of its key, if any */
		bool fill = any && !del && at->nkey;
		sl_batch *into = fill ? at->one : at->acc;
		if (fill)
			sl_batch_reset(into);
		for (int k = 0; k < at->ncols; k++)
			db_col_append(&at->cols[k], &into->cols[k], &c->rows->cols[at->cols[k].src],
			              i, &a->tmp);
		uint8_t v[16] = {0};
		memcpy(v, &o.version, 8);
		sl_col_append_fixed(&into->cols[at->ncols], v, 16);
		sl_col_append_i64(&into->cols[at->ncols + 1], (int64_t)o.seq);
		sl_col_append_bool(&into->cols[at->ncols + 2], del);
		if (at->nkey)
			sl_col_append_null(&into->cols[at->ncols + 3]);
		sl_batch_end_row(into);
		if (fill)
			dba_complete(at, bits, lenient);
		if (!del && at->nkey)
			sl_row_index_put(&at->live, at->acc, at->key, at->nkey,
			                 at->acc->length - 1);
	}
	free(bits);
	return rc;
}

static struct dba_step *dba_step(db_applier *a)
{
	if (a->nsteps == a->capsteps) {
		a->capsteps = a->capsteps ? a->capsteps * 2 : 16;
		a->steps = sl_realloc(a->steps, (size_t)a->capsteps * sizeof *a->steps);
	}
	struct dba_step *s = &a->steps[a->nsteps++];
	memset(s, 0, sizeof *s);
	return s;
}

/* The table's staged rows become a change file in the volume, merged at commit. */
static int dba_flush(db_applier *a, int ti, sl_error *err)
{
	struct dba_table *at = &a->tables[ti];
	if (!at->acc || at->acc->length == 0)
		return 0;
	db_target *t = a->t;
	sl_buf file = {0}, path = {0};
	sl_pq_writer *pw = NULL;
	int rc = sl_pq_writer_new(at->fields, at->nfields, &t->pq, db_mem_sink, &file, &pw, err);
	if (rc == 0)
		rc = sl_pq_write(pw, at->acc, err);
	if (rc == 0)
		rc = sl_pq_finish(pw, err);
	sl_pq_writer_free(pw);
	sl_buf_printf(&path, "%schanges/%s-%u.parquet", t->prefix, t->run, db_next(t));
	if (rc == 0)
		rc = db_file_put(t->api, sl_buf_cstr(&path), file.data, file.len, err);
	if (rc == 0) {
		struct dba_step *s = dba_step(a);
		s->table = ti;
		s->file = sl_strdup(sl_buf_cstr(&path));
		s->unchanged = at->any_unchanged;
	}
	sl_buf_free(&file), sl_buf_free(&path);
	sl_batch_reset(at->acc);
	sl_row_index_clear(&at->live);
	at->any_unchanged = false;
	return rc;
}

static int dba_truncate(sl_applier *handle, int ti, uint64_t version, sl_error *err)
{
	db_applier *a = db_applier_of(handle);
	struct dba_table *at = &a->tables[ti];
	SL_TRY(db_table_setup(a->t, a->cat, ti, err));
	if (at->acc) {
		sl_batch_reset(at->acc); /* the group's earlier changes to it are gone with it */
		sl_row_index_clear(&at->live);
		at->any_unchanged = false;
	}
	struct dba_step *s = dba_step(a);
	s->table = ti;
	s->truncate = version ? version : 1;
	return 0;
}

/* Run the group's steps not run yet, in order: at its commit, and before a table's shape
 * changes (its earlier files are merged with the columns they have). */
static int dba_run(db_applier *a, sl_error *err)
{
	db_target *t = a->t;
	sl_buf q = {0};
	char vbuf[24];
	int rc = 0;
	for (; a->ndone < a->nsteps && rc == 0; a->ndone++) {
		int i = a->ndone;
		struct dba_step *s = &a->steps[i];
		struct dba_table *at = &a->tables[s->table];
		rc = db_table_setup(t, a->cat, s->table, err); /* again after a rename */
		if (rc < 0)
			break;
		struct db_table *st = &t->tables[s->table];
		sl_buf_reset(&q);
		if (s->truncate) {
			snprintf(vbuf, sizeof vbuf, "%" PRIu64, s->truncate);
			sl_buf_printf(&q,
			              "UPDATE %s SET `" DB_DELETED "` = true, `" DB_VERSION
			              "` = CAST(:version AS DECIMAL(20,0)), `" DB_SEQ
			              "` = -1 WHERE NOT `" DB_DELETED "` AND `" DB_VERSION
			              "` <= CAST(:version AS DECIMAL(20,0))",
			              st->qt);
			db_param p[] = {{"version", vbuf, NULL}};
			rc = db_sql(t->api, sl_buf_cstr(&q), p, 1, NULL, err);
		} else if (at->nkey == 0) {
			/* keyless (inserts only), each row once by its (version, seq): a group
			 * applied again after a crash has other files, so COPY INTO's load
			 * history would not know them */
			db_sql_insert_new(&q, st->qt, s->file, at->cols, at->ncols);
			rc = db_sql(t->api, sl_buf_cstr(&q), NULL, 0, NULL, err);
		} else {
			db_sql_merge(&q, st->qt, s->file, at->cols, at->ncols, at->key, at->nkey,
			             s->unchanged);
			rc = db_sql(t->api, sl_buf_cstr(&q), NULL, 0, NULL, err);
		}
		if (rc < 0 && strstr(err->msg, "sluice: a change left columns unchanged"))
			rc = sl_error_set(
			        err, SL_ERR_STATE,
			        "target: %s: a change on the source left columns unchanged, "
			        "and the row it changed is not in the Databricks table: the "
			        "target has diverged from the source; reload the table "
			        "(sluice resync)",
			        st->qt);
	}
	sl_buf_free(&q);
	return rc;
}

static int dba_commit(sl_applier *handle, const sl_msg *commit, sl_error *err)
{
	db_applier *a = db_applier_of(handle);
	db_target *t = a->t;
	int rc = 0;
	for (int i = 0; i < a->cat->ntables && rc == 0; i++)
		rc = dba_flush(a, i, err);
	if (rc == 0)
		rc = dba_run(a, err);
	sl_buf q = {0};
	char vbuf[24], cbuf[24], abuf[24];
	if (rc == 0) {
		/* the position, after the tables: a group merged again after a crash is a no-op */
		struct timeval tv;
		gettimeofday(&tv, NULL);
		snprintf(vbuf, sizeof vbuf, "%" PRIu64, commit->version);
		snprintf(cbuf, sizeof cbuf, "%" PRId64, commit->commit_us);
		snprintf(abuf, sizeof abuf, "%" PRId64, (int64_t)tv.tv_sec * 1000000 + tv.tv_usec);
		sl_buf_reset(&q);
		sl_buf_printf(
		        &q,
		        "MERGE INTO %s AS t USING (SELECT :pipeline AS `pipeline`, :epoch AS "
		        "`epoch`, :position AS `position`, CAST(:version AS DECIMAL(20,0)) AS "
		        "`version`, CAST(:commit_us AS BIGINT) AS `commit_us`, CAST(:applied_us "
		        "AS BIGINT) AS `applied_us`) AS s ON t.`pipeline` = s.`pipeline` WHEN "
		        "MATCHED AND (t.`epoch` <> s.`epoch` OR t.`version` <= s.`version`) THEN "
		        "UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
		        t->state_qt);
		db_param p[] = {{"pipeline", t->cfg->name, NULL},
		                {"epoch", a->epoch, NULL},
		                {"position", commit->position, NULL},
		                {"version", vbuf, NULL},
		                {"commit_us", cbuf, NULL},
		                {"applied_us", abuf, NULL}};
		rc = db_sql(t->api, sl_buf_cstr(&q), p, 6, NULL, err);
	}
	sl_buf_free(&q);
	dba_reset_group(a, true);
	return rc;
}

static void dba_rollback(sl_applier *handle)
{
	dba_reset_group(db_applier_of(handle), true);
}

static void dba_cancel(sl_applier *handle)
{
	db_api_cancel(db_applier_of(handle)->t->api);
}

/* Not yet: change data capture (apply_*), verify (digest), rename, durable. The statements are
 * in TEMPLATES.md (M1, T1, S1, R2, R4) and db_sql renders M1; what is left is the applier that
 * collects a group's changes per table into a change file, MERGEs each table, then writes the
 * position, and the reader of R4's JSON strings for verify. Until then the target is not in
 * the registry. */
const sl_target_ops sl_db_target_ops = {
        .type = "databricks",
        .options = db_options,
        .specials_null = true,
        .arrays_flat = true,
        .max_chunk_bytes = DB_MAX_CHUNK_BYTES,
        .open = db_open,
        .close = db_close,
        .check = db_check,
        .prepare = db_prepare,
        .table_name = db_table_name,
        .rename = db_rename,
        .writer_open = db_writer_open,
        .load_begin = db_load_begin,
        .load_batch = db_load_batch,
        .load_end = db_load_end,
        .load_abort = db_load_abort,
        .finish_table = db_finish_table,
        .writer_cancel = db_writer_cancel,
        .writer_close = db_writer_close,
        .digest = db_digest,
        .apply_open = dba_open,
        .apply_shape = dba_shape,
        .apply_changes = dba_changes,
        .apply_truncate = dba_truncate,
        .apply_commit = dba_commit,
        .apply_rollback = dba_rollback,
        .apply_cancel = dba_cancel,
        .apply_close = dba_close,
        .durable = db_durable,
};
