/* The Snowflake target (docs/SNOWFLAKE.md): Parquet files staged on S3 or Azure, loaded
 * with COPY INTO through the SQL API (sf_api.h), in statements whose shapes are listed in
 * tests/emulators/snowflake/TEMPLATES.md.
 *
 * Snapshot: each chunk is one Parquet file of the table's columns (named and typed as in
 * Snowflake, sf_sql.h) plus _SLUICE_VERSION = 0 and _SLUICE_DELETED = FALSE, loaded by one
 * COPY INTO the table (through a temporary table and PARSE_JSON when the table has VARIANT
 * columns, and for a keyless table, whose _SLUICE_ROW an INSERT fills), then removed. A table whose
 * load did not finish is emptied and loaded again (prepare's reload), so a chunk loaded twice never
 * stays.
 *
 * Changes: a group's changes to a table collect in memory as staged rows (the latest row per
 * key is known, so a change that left columns unchanged takes them from an earlier change of
 * the group); at commit each table's rows become one Parquet file, and one multi-statement
 * request applies the whole group: the DDL first (DDL commits in Snowflake), the temporary
 * tables and their COPYs, then BEGIN, per table a soft-delete UPDATE for a TRUNCATE and a
 * MERGE (the latest change per key wins; a deleted row keeps its values with _SLUICE_DELETED
 * set; columns still unchanged come from the row in the table), the position upserted into
 * the state table _SLUICE_STATE, COMMIT. The request is sent again with the same requestId
 * after a network error, and Snowflake runs it once; after a crash the position says which
 * groups are in. Tables without a primary key take inserts only (a change that updates or
 * deletes their rows stops the pipeline naming the table). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "clients/aws.h"
#include "core/digest.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/store.h"
#include "core/target.h"
#include "formats/parquet.h"
#include "stores/azure.h"
#include "targets/snowflake/sf_api.h"
#include "targets/snowflake/sf_sql.h"
#include "targets/snowflake/sf_target.h"

SL_HANDLE(sf_target, sl_target)
SL_HANDLE(sf_writer, sl_writer)
SL_HANDLE(sf_applier, sl_applier)

#define SF_SNAP_META 2 /* _SLUICE_VERSION, _SLUICE_DELETED */
/* a group's staged rows of one table past this many bytes go as a part of their own */
#define SF_PART_BYTES ((size_t)256 << 20)
/* the text of the error a group raises when the position moved under it */
#define SF_MOVED "sluice: the position moved"

struct sf_table {
	bool ready;
	char *qt;     /* "DB"."S"."T" */
	char *schema; /* folded */
	char *name;   /* folded */
	sf_col *cols; /* the catalog's fields that have a Snowflake form */
	int ncols;
	int *key; /* indexes into cols */
	int nkey;
	bool has_json;
};

struct sf_target {
	const sl_config *cfg;
	sf_auth *auth;
	sf_conn *conn; /* prepare, check, durable */
	pthread_mutex_t mu;
	char *db;       /* folded */
	char *schema;   /* target.schema folded, or NULL: the source's schema, folded */
	char *state_qt; /* "DB"."S"."_SLUICE_STATE" */
	char *state_schema;
	char *stage;       /* target.stage as written */
	char *location;    /* what COPY reads: the stage's URL with a trailing '/' (an Azure one
	                      as Snowflake spells it), or @"NAMED"."STAGE" */
	char *integration; /* target.storage_integration, or NULL: credentials */
	bool azure;        /* the stage is azure:// (a SAS token), else s3:// */
	bool named;        /* target.stage_name: COPY reads through it, with its own access */
	const sl_store_ops *so;
	sl_store *store;
	char *prefix; /* "<pipeline>/" */
	char run[24];
	unsigned seq;
	sl_pq_options pq;
	struct sf_table *tables;
	int ntables;
};

static const char *const sf_options[] = {
        "account",  "user",       "private_key_file",    "private_key_passphrase",
        "database", "schema",     "warehouse",           "role",
        "stage",    "stage_name", "storage_integration", SL_STORE_SETTING_KEYS,
        NULL};

/* ---------------------------------------------------------------- helpers ---- */

static char *sf_folded(const char *name)
{
	sl_buf b = {0};
	sf_fold(&b, name);
	char *s = sl_strdup(sl_buf_cstr(&b));
	sl_buf_free(&b);
	return s;
}

/* A session field of the request body: a folded name as Snowflake resolves an identifier. */
static char *sf_session_name(const char *name)
{
	if (!name)
		return NULL;
	sl_buf b = {0};
	sl_buf f = {0};
	sf_fold(&f, name);
	bool plain = true;
	for (const char *p = sl_buf_cstr(&f); *p; p++)
		plain &= (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		         *p == '$';
	if (plain)
		sl_buf_puts(&b, sl_buf_cstr(&f));
	else
		sf_quote(&b, sl_buf_cstr(&f));
	sl_buf_free(&f);
	char *s = sl_strdup(sl_buf_cstr(&b));
	sl_buf_free(&b);
	return s;
}

/* How COPY reads the stage: the storage integration, or the credentials found now (a
 * secret: registered, so no log line carries it). */
static int sf_auth_clause(sf_target *t, sl_buf *b, sl_error *err)
{
	if (t->named)
		return 0; /* the named stage has its own */
	if (t->integration) {
		sl_buf_puts(b, "STORAGE_INTEGRATION = ");
		sf_ident(b, t->integration);
		return 0;
	}
	if (t->azure) {
		char sas[4096];
		if (!sl_azure_sas(sas, sizeof sas))
			return sl_error_set(err, SL_ERR_CONFIG,
			                    "target.stage: Snowflake reads an Azure stage with a "
			                    "SAS token: set "
			                    "AZURE_STORAGE_SAS_TOKEN (or SharedAccessSignature in "
			                    "AZURE_STORAGE_CONNECTION_STRING) to one that can read "
			                    "and list the "
			                    "container, or name target.storage_integration or "
			                    "target.stage_name");
		sl_buf_puts(b, "CREDENTIALS = (AZURE_SAS_TOKEN = ");
		sf_lit(b, sas);
		sl_buf_putc(b, ')');
		return 0;
	}
	sl_aws_credentials c;
	int rc = sl_aws_credentials_load(&c, err);
	if (rc < 0)
		return sl_error_wrap(err, "target.stage: Snowflake reads the stage with the same "
		                          "credentials (or name target.storage_integration)");
	sl_buf_puts(b, "CREDENTIALS = (AWS_KEY_ID = ");
	sf_lit(b, c.access_key);
	sl_buf_puts(b, " AWS_SECRET_KEY = ");
	sf_lit(b, c.secret_key);
	if (c.session_token[0]) {
		sl_buf_puts(b, " AWS_TOKEN = ");
		sf_lit(b, c.session_token);
	}
	sl_buf_putc(b, ')');
	return 0;
}

/* target.stage: the URL the store opens and the location COPY reads. s3:// as it is; Azure as
 * azure://ACCOUNT.blob.core.windows.net/CONTAINER/PATH (Snowflake's spelling) or
 * azure://ACCOUNT/CONTAINER/PATH (the files target's), either giving both forms. */
static int sf_stage_parse(sf_target *t, const char *stage, sl_buf *store_url, sl_buf *loc,
                          sl_error *err)
{
	static const char blob[] = ".blob.core.windows.net";
	if (strncmp(stage, "s3://", 5) == 0) {
		sl_buf_puts(store_url, stage);
		sl_buf_puts(loc, stage);
		return 0;
	}
	if (strncmp(stage, "azure://", 8) != 0)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "target.stage: %s is neither an s3:// nor an azure:// location "
		                    "(Snowflake loads the Parquet files sluice writes there)",
		                    stage);
	const char *host = stage + 8, *rest = host + strcspn(host, "/");
	size_t hl = (size_t)(rest - host), bl = sizeof blob - 1;
	if (hl > bl && strncasecmp(rest - bl, blob, bl) == 0)
		hl -= bl;
	/* the account: letters and digits (a dfs.core or sovereign-cloud host is not taken) */
	bool ok = hl > 0 && rest[0] == '/' && rest[1] && rest[1] != '/';
	for (size_t k = 0; ok && k < hl; k++)
		ok = (host[k] >= 'a' && host[k] <= 'z') || (host[k] >= '0' && host[k] <= '9');
	if (!ok)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "target.stage: %s is not azure://ACCOUNT.blob.core.windows.net/"
		                    "CONTAINER/PATH (an account of lower-case letters and digits, "
		                    "then a container)",
		                    stage);
	sl_buf_printf(store_url, "azure://%.*s%s", (int)hl, host, rest);
	sl_buf_printf(loc, "azure://%.*s%s%s", (int)hl, host, blob, rest);
	t->azure = true;
	return 0;
}

static unsigned sf_next(sf_target *t)
{
	return __atomic_add_fetch(&t->seq, 1, __ATOMIC_RELAXED);
}

/* A staged file's key for this process: "<pipeline>/<what>/<run>-<n>.parquet". */
static char *sf_file_key(sf_target *t, const char *what)
{
	sl_buf b = {0};
	sl_buf_printf(&b, "%s%s/%s-%u.parquet", t->prefix, what, t->run, sf_next(t));
	char *s = sl_strdup(sl_buf_cstr(&b));
	sl_buf_free(&b);
	return s;
}

/* The columns of catalog table ti on Snowflake (once). */
static int sf_table_setup(sf_target *t, const sl_catalog *cat, int ti, sl_error *err)
{
	(void)err;
	pthread_mutex_lock(&t->mu);
	if (t->ntables < cat->ntables) {
		t->tables = sl_realloc(t->tables, (size_t)cat->ntables * sizeof *t->tables);
		memset(t->tables + t->ntables, 0,
		       (size_t)(cat->ntables - t->ntables) * sizeof *t->tables);
		t->ntables = cat->ntables;
	}
	struct sf_table *st = &t->tables[ti];
	if (st->ready) {
		pthread_mutex_unlock(&t->mu);
		return 0;
	}
	const sl_table_def *td = &cat->tables[ti];
	st->schema = t->schema ? sl_strdup(t->schema) : sf_folded(td->schema);
	st->name = sf_folded(td->name);
	sl_buf b = {0};
	sf_quote(&b, t->db);
	sl_buf_putc(&b, '.');
	sf_quote(&b, st->schema);
	sl_buf_putc(&b, '.');
	sf_quote(&b, st->name);
	st->qt = sl_strdup(sl_buf_cstr(&b));
	sl_buf_free(&b);
	st->cols = sl_calloc((size_t)(td->nfields ? td->nfields : 1), sizeof *st->cols);
	st->key = sl_calloc((size_t)(td->nkey ? td->nkey : 1), sizeof *st->key);
	int *at = sl_malloc((size_t)(td->nfields ? td->nfields : 1) * sizeof *at);
	for (int i = 0; i < td->nfields; i++) {
		at[i] = -1;
		sf_col c;
		if (sf_col_init(&c, &td->fields[i], i) == SF_SKIP) {
			char desc[128];
			sl_warn("target: %s.%s: type %s has no Snowflake form; the column is "
			        "skipped",
			        td->qualified, td->fields[i].name,
			        sl_field_describe(&td->fields[i], desc, sizeof desc));
			sf_col_reset(&c);
			continue;
		}
		st->has_json |= c.kind == SF_JSON;
		at[i] = st->ncols;
		st->cols[st->ncols++] = c;
	}
	for (int k = 0; k < td->nkey; k++)
		if (at[td->key[k]] >= 0)
			st->key[st->nkey++] = at[td->key[k]];
	if (st->nkey != td->nkey)
		st->nkey = 0; /* a key column without a form: keyless */
	free(at);
	st->ready = true;
	pthread_mutex_unlock(&t->mu);
	return 0;
}

static void sf_table_free(struct sf_table *st)
{
	for (int i = 0; i < st->ncols; i++)
		sf_col_reset(&st->cols[i]);
	free(st->cols), free(st->key), free(st->qt), free(st->schema), free(st->name);
	memset(st, 0, sizeof *st);
}

/* Run statements[0..n) as one request on conn. */
static int sf_run(sf_conn *conn, sl_buf *sql, int n, sf_result *res, sl_error *err)
{
	return sf_conn_exec(conn, sl_buf_cstr(sql), n, res, err);
}

static void sf_stmt(sl_buf *all, int *n, const sl_buf *one)
{
	if (*n)
		sl_buf_puts(all, ";\n");
	sl_buf_append(all, one->data, one->len);
	sl_buf_cstr(all);
	(*n)++;
}

/* ---------------------------------------------------------------- lifecycle ---- */

static int sf_required(const sl_config *cfg, const char *key, char **out, const char *hint,
                       sl_error *err)
{
	SL_TRY(sl_config_opt_string(cfg, "target", key, out, err));
	if (!*out)
		return sl_error_set(err, SL_ERR_CONFIG, "target.%s is required for Snowflake (%s)",
		                    key, hint);
	return 0;
}

static void sf_close(sl_target *handle);

static int sf_open(const sl_config *cfg, sl_target **out, sl_error *err)
{
	if (cfg->target.password || cfg->target.password_file || cfg->target.aws_iam)
		return sl_error_set(
		        err, SL_ERR_CONFIG,
		        "the Snowflake target signs in with a key pair "
		        "(target.private_key_file), not a password: Snowflake's SQL API "
		        "takes no passwords (docs/SNOWFLAKE.md)");
	char *account = NULL, *user = NULL, *key_file = NULL, *pass = NULL, *db = NULL,
	     *schema = NULL, *wh = NULL, *role = NULL, *stage = NULL, *integ = NULL, *named = NULL;
	sl_buf store_url = {0}, loc = {0};
	sf_target *t = sl_calloc(1, sizeof *t);
	pthread_mutex_init(&t->mu, NULL);
	t->cfg = cfg;
	int rc = sf_required(cfg, "account", &account,
	                     "the account identifier, e.g. myorg-myaccount or xy12345.us-east-1",
	                     err);
	if (rc == 0)
		rc = sf_required(cfg, "user", &user, "the service user sluice signs in as", err);
	if (rc == 0)
		rc = sf_required(cfg, "private_key_file", &key_file,
		                 "the PKCS#8 PEM private key of the user's key pair", err);
	if (rc == 0)
		rc = sl_config_opt_string(cfg, "target", "private_key_passphrase", &pass, err);
	if (rc == 0 && pass)
		sl_log_add_secret(pass);
	if (rc == 0)
		rc = sf_required(cfg, "database", &db, "the database the tables go to", err);
	if (rc == 0)
		rc = sl_config_opt_string(cfg, "target", "schema", &schema, err);
	if (rc == 0)
		rc = sl_config_opt_string(cfg, "target", "warehouse", &wh, err);
	if (rc == 0)
		rc = sl_config_opt_string(cfg, "target", "role", &role, err);
	if (rc == 0)
		rc = sf_required(cfg, "stage", &stage,
		                 "the s3:// or azure:// location sluice stages Parquet files in "
		                 "for COPY",
		                 err);
	if (rc == 0)
		rc = sl_config_opt_string(cfg, "target", "storage_integration", &integ, err);
	if (rc == 0)
		rc = sl_config_opt_string(cfg, "target", "stage_name", &named, err);
	if (rc == 0 && integ && named)
		rc = sl_error_set(err, SL_ERR_CONFIG,
		                  "target: name target.stage_name or target.storage_integration, "
		                  "not both (a named stage reads with its own integration)");
	if (rc == 0)
		rc = sf_stage_parse(t, stage, &store_url, &loc, err);
	sl_buf url = {0};
	if (rc == 0) {
		if (cfg->target.url)
			sl_buf_puts(&url, cfg->target.url);
		else
			sl_buf_printf(&url, "https://%s.snowflakecomputing.com", account);
		while (url.len && url.data[url.len - 1] == '/')
			url.len--;
		sl_buf_cstr(&url);
	}
	char *s_db = NULL, *s_schema = NULL, *s_wh = NULL, *s_role = NULL;
	if (rc == 0) {
		t->db = sf_folded(db);
		t->schema = schema ? sf_folded(schema) : NULL;
		t->state_schema = sl_strdup(t->schema ? t->schema : "PUBLIC");
		sl_buf q = {0};
		sf_quote(&q, t->db);
		sl_buf_putc(&q, '.');
		sf_quote(&q, t->state_schema);
		sl_buf_puts(&q, ".\"_SLUICE_STATE\"");
		t->state_qt = sl_strdup(sl_buf_cstr(&q));
		sl_buf_free(&q);
		s_db = sf_session_name(db);
		s_schema = sf_session_name(t->state_schema);
		s_wh = sf_session_name(wh);
		s_role = sf_session_name(role);
		sf_api_config ac = {.url = sl_buf_cstr(&url),
		                    .account = account,
		                    .user = user,
		                    .key_file = key_file,
		                    .passphrase = pass,
		                    .database = s_db,
		                    .schema = s_schema,
		                    .warehouse = s_wh,
		                    .role = s_role};
		rc = sf_auth_open(&ac, &t->auth, err);
	}
	if (rc == 0)
		rc = sf_conn_open(t->auth, &t->conn, err);
	if (rc == 0) {
		sl_store_settings set;
		rc = sl_store_settings_read(cfg, "target", &set, err);
		if (rc == 0)
			rc = sl_store_open(sl_buf_cstr(&store_url), "target stage", &set, &t->so,
			                   &t->store, err);
		sl_store_settings_free(&set);
	}
	if (rc == 0) {
		t->stage = sl_strdup(stage);
		sl_buf l = {0};
		if (named) {
			/* @"DB"."S"."STAGE": each part folded as Snowflake folds it */
			sl_buf_putc(&l, '@');
			const char *p = named + (named[0] == '@');
			for (int parts = 1; rc == 0; parts++) {
				size_t n = strcspn(p, ".");
				if (n == 0 || parts > 3 || strcspn(p, "\"/ ") < n) {
					rc = sl_error_set(
					        err, SL_ERR_CONFIG,
					        "target.stage_name: %s is not a stage name "
					        "(NAME, SCHEMA.NAME or DB.SCHEMA.NAME, unquoted, "
					        "without a path)",
					        named);
					break;
				}
				char *part = sl_strndup(p, n);
				sf_ident(&l, part);
				free(part);
				p += n;
				if (*p != '.')
					break;
				p++;
				sl_buf_putc(&l, '.');
			}
			t->named = true;
		} else {
			sl_buf_puts(&l, sl_buf_cstr(&loc));
			if (l.len && l.data[l.len - 1] != '/')
				sl_buf_putc(&l, '/');
		}
		t->location = sl_strdup(sl_buf_cstr(&l));
		sl_buf_free(&l);
		t->integration = integ;
		integ = NULL;
		sl_buf p = {0};
		for (const char *c = cfg->name; *c; c++)
			sl_buf_putc(&p, (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			                                (*c >= '0' && *c <= '9') || *c == '-' ||
			                                *c == '_'
			                        ? *c
			                        : '_');
		sl_buf_puts(&p, "/");
		t->prefix = sl_strdup(sl_buf_cstr(&p));
		sl_buf_free(&p);
		struct timeval tv;
		gettimeofday(&tv, NULL);
		snprintf(t->run, sizeof t->run, "%lx%05lx%x", (long)tv.tv_sec, (long)tv.tv_usec,
		         (unsigned)getpid());
		t->pq.codec = SL_PQ_SNAPPY;
		t->pq.row_group_bytes = (size_t)64 << 20;
		t->pq.created_by = "sluice version " SLUICE_VERSION;
	}
	free(account), free(user), free(key_file), free(db), free(schema), free(wh), free(role);
	free(stage), free(integ), free(named), free(s_db), free(s_schema), free(s_wh), free(s_role);
	sl_buf_free(&store_url), sl_buf_free(&loc);
	if (pass)
		sl_free_secret(pass);
	sl_buf_free(&url);
	if (rc < 0) {
		sf_close(sf_target_handle(t));
		return rc;
	}
	*out = sf_target_handle(t);
	return 0;
}

static void sf_close(sl_target *handle)
{
	sf_target *t = sf_target_of(handle);
	if (!t)
		return;
	for (int i = 0; i < t->ntables; i++)
		sf_table_free(&t->tables[i]);
	free(t->tables);
	if (t->store)
		t->so->close(t->store);
	sf_conn_close(t->conn);
	sf_auth_close(t->auth);
	pthread_mutex_destroy(&t->mu);
	free(t->db), free(t->schema), free(t->state_qt), free(t->state_schema), free(t->stage);
	free(t->location), free(t->integration), free(t->prefix);
	free(t);
}

/* The state table and its schema. */
static int sf_state_create(sf_target *t, sf_conn *conn, sl_error *err)
{
	sl_buf q = {0};
	sl_buf_puts(&q, "CREATE SCHEMA IF NOT EXISTS ");
	sf_quote(&q, t->db);
	sl_buf_putc(&q, '.');
	sf_quote(&q, t->state_schema);
	sl_buf_printf(&q,
	              ";\nCREATE TABLE IF NOT EXISTS %s (\"PIPELINE\" VARCHAR NOT NULL, \"EPOCH\" "
	              "VARCHAR, \"POSITION\" VARCHAR, \"VERSION\" NUMBER(20,0), \"COMMIT_US\" "
	              "NUMBER(20,0), \"APPLIED_US\" NUMBER(20,0), PRIMARY KEY (\"PIPELINE\"))",
	              t->state_qt);
	/* the pipeline's row, so a group's transaction can lock it (sfa_commit) */
	sl_buf_printf(&q, ";\nMERGE INTO %s AS t USING (SELECT ", t->state_qt);
	sf_lit(&q, t->cfg->name);
	sl_buf_puts(
	        &q,
	        " AS \"PIPELINE\") AS s ON t.\"PIPELINE\" = s.\"PIPELINE\" WHEN NOT MATCHED THEN "
	        "INSERT (\"PIPELINE\") VALUES (s.\"PIPELINE\")");
	int rc = sf_run(conn, &q, 3, NULL, err);
	sl_buf_free(&q);
	return rc;
}

/* ---------------------------------------------------------------- check ---- */

/* A one-row, one-column Parquet file of NUMBER 1, for the stage probe. */
static int sf_probe_sink(void *ctx, const void *p, size_t n, sl_error *err)
{
	(void)err;
	sl_buf_append(ctx, p, n);
	return 0;
}

static int sf_probe_file(sl_buf *out, sl_error *err)
{
	sl_field f;
	sl_field_init(&f, "PROBE", SL_TYPE_INT64);
	sl_batch *b = sl_batch_create(&f, 1);
	sl_col_append_i64(&b->cols[0], 1);
	sl_batch_end_row(b);
	sl_pq_options o = {.codec = SL_PQ_UNCOMPRESSED};
	sl_pq_writer *w = NULL;
	int rc = sl_pq_writer_new(&f, 1, &o, sf_probe_sink, out, &w, err);
	if (rc == 0)
		rc = sl_pq_write(w, b, err);
	if (rc == 0)
		rc = sl_pq_finish(w, err);
	sl_pq_writer_free(w);
	sl_batch_destroy(b);
	sl_field_reset(&f);
	return rc;
}

static int sf_check(sl_target *handle, sl_check_fn report, void *ctx)
{
	sf_target *t = sf_target_of(handle);
	sl_error err = {0};
	sf_result r = {0};
	char msg[1024];
	int failed = 0;
	/* the connection and the login, whatever the stage does */
	sl_buf q = {0};
	sl_buf_puts(&q, "SELECT CURRENT_ACCOUNT(), CURRENT_USER(), CURRENT_ROLE(), "
	                "CURRENT_WAREHOUSE(), CURRENT_DATABASE()");
	if (sf_run(t->conn, &q, 1, &r, &err) < 0 || r.nrows != 1 || r.ncols != 5) {
		report(ctx, false, "target login", err.msg[0] ? err.msg : "unexpected answer");
		sl_buf_free(&q);
		sf_result_free(&r);
		return 1;
	}
	char user[256], role[256], wh[256], db[256];
	const char *v;
	snprintf(user, sizeof user, "%s", (v = sf_result_text(&r, 0, 1)) ? v : "?");
	snprintf(role, sizeof role, "%s", (v = sf_result_text(&r, 0, 2)) ? v : "?");
	v = sf_result_text(&r, 0, 3);
	snprintf(wh, sizeof wh, "%s", v ? v : "");
	v = sf_result_text(&r, 0, 4);
	snprintf(db, sizeof db, "%s", v ? v : "");
	snprintf(msg, sizeof msg, "signed in to Snowflake as %s (role %s) with the key %s", user,
	         role, sf_auth_fingerprint(t->auth));
	report(ctx, true, "target login", msg);
	/* the warehouse */
	if (!wh[0]) {
		snprintf(msg, sizeof msg,
		         "no warehouse is usable: set target.warehouse to one the role %s may use "
		         "(GRANT USAGE ON WAREHOUSE <name> TO ROLE %s)",
		         role, role);
		report(ctx, false, "target warehouse", msg);
		failed = 1;
	} else {
		snprintf(msg, sizeof msg, "warehouse %s is usable", wh);
		report(ctx, true, "target warehouse", msg);
	}
	/* the database and the privileges sluice needs there */
	if (!db[0]) {
		snprintf(msg, sizeof msg,
		         "database %s does not exist or the role %s cannot use it: CREATE "
		         "DATABASE %s; GRANT USAGE, CREATE SCHEMA ON DATABASE %s TO ROLE %s",
		         t->db, role, t->db, t->db, role);
		report(ctx, false, "target database", msg);
		failed = 1;
	} else if (!failed) {
		sl_error_clear(&err);
		if (sf_state_create(t, t->conn, &err) < 0) {
			snprintf(msg, sizeof msg,
			         "%s (sluice needs: GRANT USAGE, CREATE SCHEMA ON DATABASE %s TO "
			         "ROLE "
			         "%s)",
			         err.msg, t->db, role);
			report(ctx, false, "target privileges", msg);
			failed = 1;
		} else {
			snprintf(msg, sizeof msg,
			         "the role %s can create schemas and tables in database %s", role,
			         t->db);
			report(ctx, true, "target privileges", msg);
		}
	}
	/* the stage: sluice writes it, Snowflake reads it */
	sl_error_clear(&err);
	if (t->so->check(t->store, &err) < 0) {
		report(ctx, false, "target stage", err.msg);
		failed = 1;
	} else if (!failed) {
		sl_buf pq = {0}, auth = {0};
		char *key = sf_file_key(t, "probe");
		int rc = sf_probe_file(&pq, &err);
		if (rc == 0)
			rc = t->so->put(t->store, key, pq.data, pq.len, &err);
		if (rc == 0)
			rc = sf_auth_clause(t, &auth, &err);
		if (rc == 0) {
			sl_buf probe = {0};
			sf_quote(&probe, t->db);
			sl_buf_putc(&probe, '.');
			sf_quote(&probe, t->state_schema);
			sl_buf_puts(&probe, ".\"_SLUICE_PROBE\"");
			sl_buf_reset(&q);
			sl_buf_printf(&q, "CREATE TEMPORARY TABLE %s (\"PROBE\" NUMBER(38,0));\n",
			              sl_buf_cstr(&probe));
			const char *files[] = {key};
			sf_sql_copy(&q, sl_buf_cstr(&probe), t->location, sl_buf_cstr(&auth), files,
			            1);
			sl_buf_puts(&q, ";\n");
			sf_sql_count_check(&q, sl_buf_cstr(&probe), 1);
			sl_buf_free(&probe);
			rc = sf_run(t->conn, &q, 3, NULL, &err);
		}
		sl_error e2 = {0};
		t->so->del(t->store, key, &e2);
		if (rc < 0) {
			snprintf(msg, sizeof msg,
			         "%s can be written, but Snowflake cannot load from it: %s",
			         t->stage, err.msg);
			report(ctx, false, "target stage", msg);
			failed = 1;
		} else {
			snprintf(msg, sizeof msg,
			         "%s can be written, read and deleted by sluice, and loaded by "
			         "Snowflake's COPY",
			         t->stage);
			report(ctx, true, "target stage", msg);
		}
		free(key);
		sl_buf_free(&pq), sl_buf_free(&auth);
	}
	sl_buf_free(&q);
	sf_result_free(&r);
	return failed;
}

static const char *sf_table_name(sl_target *handle, const sl_catalog *cat, int ti, char *buf,
                                 size_t n)
{
	sf_target *t = sf_target_of(handle);
	sl_error e = {0};
	sf_table_setup(t, cat, ti, &e);
	snprintf(buf, n, "%s.%s.%s", t->db, t->tables[ti].schema, t->tables[ti].name);
	return buf;
}

/* ---------------------------------------------------------------- prepare ---- */

static int sf_prepare(sl_target *handle, const sl_catalog *cat, int ti, bool reload, sl_error *err)
{
	sf_target *t = sf_target_of(handle);
	SL_TRY(sf_table_setup(t, cat, ti, err));
	struct sf_table *st = &t->tables[ti];
	sl_buf q = {0};
	int n = 0;
	sl_buf one = {0};
	sl_buf_puts(&one, "CREATE SCHEMA IF NOT EXISTS ");
	sf_quote(&one, t->db);
	sl_buf_putc(&one, '.');
	sf_quote(&one, st->schema);
	sf_stmt(&q, &n, &one);
	sl_buf_reset(&one);
	sf_sql_create(&one, st->qt, st->cols, st->ncols, st->key, st->nkey);
	sf_stmt(&q, &n, &one);
	sl_buf_reset(&one);
	if (reload)
		sl_buf_printf(&one, "TRUNCATE TABLE %s", st->qt);
	else
		sl_buf_printf(&one, "SELECT COUNT(*) FROM %s", st->qt);
	sf_stmt(&q, &n, &one);
	pthread_mutex_lock(&t->mu);
	int rc = sf_run(t->conn, &q, n, NULL, err);
	sf_result r = {0};
	if (rc == 0 && !reload)
		rc = sf_run(t->conn, &one, 1, &r, err); /* the count, as its own request */
	pthread_mutex_unlock(&t->mu);
	if (rc == 0 && !reload && r.nrows == 1) {
		const char *v = sf_result_text(&r, 0, 0);
		if (v && strcmp(v, "0") != 0)
			rc = sl_error_set(
			        err, SL_ERR_STATE,
			        "target table %s.%s.%s already has %s rows that this "
			        "pipeline did not write (drop it, choose another "
			        "target.database or target.schema, or run `sluice reset`)",
			        t->db, st->schema, st->name, v);
	}
	if (rc < 0 && err->code != SL_ERR_STATE)
		sl_error_wrap(err, "creating %s.%s.%s", t->db, st->schema, st->name);
	sf_result_free(&r);
	sl_buf_free(&q), sl_buf_free(&one);
	return rc;
}

/* ---------------------------------------------------------------- staged files ---- */

/* A Parquet file on its way to the stage. */
struct sf_file {
	sf_target *t;
	char *key;
	sl_store_writer *sw;
	sl_pq_writer *pw;
};

static int sf_file_sink(void *ctx, const void *p, size_t n, sl_error *err)
{
	struct sf_file *f = ctx;
	return f->t->so->write(f->sw, p, n, err);
}

static void sf_file_free(struct sf_file *f)
{
	if (f->pw)
		sl_pq_writer_free(f->pw);
	if (f->sw)
		f->t->so->abort(f->sw);
	free(f->key);
	memset(f, 0, sizeof *f);
}

static int sf_file_open(sf_target *t, struct sf_file *f, const char *what, const sl_field *fields,
                        int n, sl_error *err)
{
	memset(f, 0, sizeof *f);
	f->t = t;
	f->key = sf_file_key(t, what);
	int rc = t->so->writer_open(t->store, f->key, &f->sw, err);
	if (rc == 0)
		rc = sl_pq_writer_new(fields, n, &t->pq, sf_file_sink, f, &f->pw, err);
	if (rc < 0)
		sf_file_free(f);
	return rc;
}

/* Finish the file and make it visible in the stage; f->key stays. */
static int sf_file_commit(struct sf_file *f, sl_error *err)
{
	int rc = sl_pq_finish(f->pw, err);
	sl_pq_writer_free(f->pw);
	f->pw = NULL;
	if (rc == 0) {
		rc = f->t->so->commit(f->sw, err);
		f->sw = NULL; /* commit frees it, whatever it returns */
	}
	if (rc < 0)
		sl_error_wrap(err, "target stage: writing %s", f->key);
	return rc;
}

/* The staged key relative to the COPY location (the store's keys are). */
static const char *sf_rel(const struct sf_file *f)
{
	return f->key;
}

/* ---------------------------------------------------------------- snapshot ---- */

struct sf_writer {
	sf_target *t;
	sf_conn *conn;
	int table;
	struct sf_file f;
	bool open;
	sl_field *fields; /* the columns' file fields, then the meta ones (borrowed names) */
	int nfields;
	sl_batch *staged;
	sl_buf tmp;
	int64_t rows;
};

static int sf_writer_open(sl_target *handle, sl_writer **out, sl_error *err)
{
	sf_target *t = sf_target_of(handle);
	sf_writer *w = sl_calloc(1, sizeof *w);
	w->t = t;
	w->table = -1;
	int rc = sf_conn_open(t->auth, &w->conn, err);
	if (rc < 0) {
		free(w);
		return rc;
	}
	*out = sf_writer_handle(w);
	return 0;
}

static void sf_writer_fields_free(sf_writer *w)
{
	if (w->staged)
		sl_batch_destroy(w->staged);
	w->staged = NULL;
	for (int i = w->nfields - SF_SNAP_META; w->fields && i < w->nfields; i++)
		sl_field_reset(&w->fields[i]);
	free(w->fields);
	w->fields = NULL;
	w->nfields = 0;
}

static int sf_load_begin(sl_writer *handle, const sl_catalog *cat, int ti, sl_error *err)
{
	sf_writer *w = sf_writer_of(handle);
	sf_target *t = w->t;
	SL_TRY(sf_table_setup(t, cat, ti, err));
	struct sf_table *st = &t->tables[ti];
	sf_writer_fields_free(w);
	w->table = ti;
	w->nfields = st->ncols + SF_SNAP_META;
	w->fields = sl_calloc((size_t)w->nfields, sizeof *w->fields);
	for (int i = 0; i < st->ncols; i++)
		w->fields[i] = st->cols[i].file; /* shallow: the table's own */
	sl_field_init(&w->fields[st->ncols], SF_VERSION, SL_TYPE_UINT64);
	sl_field_init(&w->fields[st->ncols + 1], SF_DELETED, SL_TYPE_BOOL);
	w->staged = sl_batch_create(w->fields, w->nfields);
	w->rows = 0;
	int rc = sf_file_open(t, &w->f, "snapshot", w->fields, w->nfields, err);
	w->open = rc == 0;
	return rc;
}

static int sf_load_batch(sl_writer *handle, const sl_batch *b, sl_error *err)
{
	sf_writer *w = sf_writer_of(handle);
	struct sf_table *st = &w->t->tables[w->table];
	sl_batch_reset(w->staged);
	uint64_t zero = 0;
	for (int64_t r = 0; r < b->length; r++) {
		for (int i = 0; i < st->ncols; i++)
			sf_col_append(&st->cols[i], &w->staged->cols[i], &b->cols[st->cols[i].src],
			              r, &w->tmp);
		sl_col_append_fixed(&w->staged->cols[st->ncols], &zero, 8);
		sl_col_append_bool(&w->staged->cols[st->ncols + 1], false);
		sl_batch_end_row(w->staged);
	}
	w->rows += b->length;
	return sl_pq_write(w->f.pw, w->staged, err);
}

/* COPY the staged file into the table (through a temporary table for VARIANT columns, and
 * for a keyless table, whose _SLUICE_ROW an INSERT fills); checks the rows Snowflake says it
 * loaded. */
static int sf_load_file(sf_target *t, sf_conn *conn, struct sf_table *st, const char *rel,
                        int64_t rows, sl_error *err)
{
	sl_buf q = {0}, one = {0}, auth = {0}, tmp = {0};
	int n = 0, rc = sf_auth_clause(t, &auth, err);
	const char *files[] = {rel};
	sf_result r = {0};
	if (rc == 0 && !st->has_json && st->nkey > 0) {
		sf_sql_copy(&q, st->qt, t->location, sl_buf_cstr(&auth), files, 1);
		rc = sf_run(conn, &q, 1, &r, err);
		int64_t loaded = 0;
		for (int64_t i = 0; rc == 0 && i < r.nrows; i++) {
			const char *v = r.ncols > 3 ? sf_result_text(&r, i, 3) : NULL;
			loaded += v ? strtoll(v, NULL, 10) : 0;
		}
		if (rc == 0 && loaded != rows)
			rc = sl_error_set(err, SL_ERR_SERVER,
			                  "target: COPY INTO %s.%s.%s loaded %" PRId64
			                  " rows of the %" PRId64 " staged in %s",
			                  t->db, st->schema, st->name, loaded, rows, rel);
	} else if (rc == 0) {
		sf_quote(&tmp, t->db);
		sl_buf_putc(&tmp, '.');
		sf_quote(&tmp, st->schema);
		sl_buf_printf(&tmp, ".\"_SLUICE_TMP_%u\"", sf_next(t));
		sf_sql_create_temp(&one, sl_buf_cstr(&tmp), st->cols, st->ncols, NULL, 0);
		sf_stmt(&q, &n, &one);
		sl_buf_reset(&one);
		sf_sql_copy(&one, sl_buf_cstr(&tmp), t->location, sl_buf_cstr(&auth), files, 1);
		sf_stmt(&q, &n, &one);
		sl_buf_reset(&one);
		sf_sql_count_check(&one, sl_buf_cstr(&tmp), rows);
		sf_stmt(&q, &n, &one);
		sl_buf_reset(&one);
		sf_sql_insert(&one, st->qt, sl_buf_cstr(&tmp), st->cols, st->ncols, false);
		sf_stmt(&q, &n, &one);
		rc = sf_run(conn, &q, n, NULL, err);
	}
	if (rc < 0 && strstr(err->msg, SF_STAGED_MISSING))
		rc = sl_error_set(
		        err, SL_ERR_SERVER,
		        "target: Snowflake's COPY loaded fewer rows than sluice staged in %s", rel);
	if (rc < 0 && err->code != SL_ERR_CANCELLED)
		sl_error_wrap(err, "loading %s.%s.%s", t->db, st->schema, st->name);
	sf_result_free(&r);
	sl_buf_free(&q), sl_buf_free(&one), sl_buf_free(&auth), sl_buf_free(&tmp);
	return rc;
}

static int sf_load_end(sl_writer *handle, sl_error *err)
{
	sf_writer *w = sf_writer_of(handle);
	sf_target *t = w->t;
	int rc = sf_file_commit(&w->f, err);
	sl_debug("target: staged %s (%" PRId64 " rows)", w->f.key, w->rows);
	if (rc == 0)
		rc = sf_load_file(t, w->conn, &t->tables[w->table], sf_rel(&w->f), w->rows, err);
	sl_error e = {0};
	if (t->so->del(t->store, w->f.key, &e) < 0)
		sl_warn("target stage: %s", e.msg);
	sf_file_free(&w->f);
	w->open = false;
	return rc;
}

static void sf_load_abort(sl_writer *handle)
{
	sf_writer *w = sf_writer_of(handle);
	if (w->open)
		sf_file_free(&w->f);
	w->open = false;
}

static int sf_finish_table(sl_writer *handle, const sl_catalog *cat, int ti, sl_error *err)
{
	(void)handle, (void)cat, (void)ti, (void)err;
	return 0; /* the key was declared with the table; Snowflake builds no index */
}

static void sf_writer_cancel(sl_writer *handle)
{
	sf_conn_cancel(sf_writer_of(handle)->conn);
}

static void sf_writer_close(sl_writer *handle)
{
	sf_writer *w = sf_writer_of(handle);
	if (!w)
		return;
	sf_load_abort(handle);
	sf_writer_fields_free(w);
	sf_conn_close(w->conn);
	sl_buf_free(&w->tmp);
	free(w);
}

/* verify: the live rows read back through the SQL API, partition by partition, as the
 * catalog's fields (sf_value_parse), into the digest. */
struct sf_digest_ctx {
	const sl_table_def *td;
	struct sf_table *st;
	sl_digest *d;
	sl_batch *b;
	sl_buf tmp;
};

static int sf_digest_part(void *ctx, sf_result *r, sl_error *err)
{
	struct sf_digest_ctx *x = ctx;
	struct sf_table *st = x->st;
	if (r->nrows > 0 && r->ncols != st->ncols)
		return sl_error_set(err, SL_ERR_SERVER,
		                    "target: Snowflake answered %d columns, not %d", r->ncols,
		                    st->ncols);
	sl_batch_reset(x->b);
	for (int64_t i = 0; i < r->nrows; i++) {
		for (int k = 0; k < st->ncols; k++) {
			const char *v = sf_result_text(r, i, k);
			const sl_field *f = &x->td->fields[st->cols[k].src];
			if (sf_value_parse(f, v, v ? r->cell.len : 0, false, &x->b->cols[k],
			                   &x->tmp) < 0)
				return sl_error_set(
				        err, SL_ERR_DATA,
				        "target: %s.%s: Snowflake's value '%.60s' is not a %s",
				        x->td->qualified, f->name, v, st->cols[k].type);
		}
		sl_batch_end_row(x->b);
	}
	sl_digest_add_batch(x->d, x->b);
	return 0;
}

static int sf_digest(sl_target *handle, const sl_catalog *cat, int ti, sl_digest *d, sl_error *err)
{
	sf_target *t = sf_target_of(handle);
	SL_TRY(sf_table_setup(t, cat, ti, err));
	struct sf_table *st = &t->tables[ti];
	const sl_table_def *td = &cat->tables[ti];
	if (st->ncols != td->nfields)
		return sl_error_set(
		        err, SL_ERR_CONFIG,
		        "target: %s has columns with no Snowflake form (skipped): verify "
		        "cannot compare it whole",
		        td->qualified);
	sl_buf q = {0};
	sl_buf_puts(&q, "SELECT ");
	for (int k = 0; k < st->ncols; k++) {
		if (k)
			sl_buf_puts(&q, ", ");
		sf_quote(&q, st->cols[k].file.name);
	}
	sl_buf_printf(&q, " FROM %s WHERE NOT \"" SF_DELETED "\"", st->qt);
	/* the batch is over the catalog's fields, in its order (every one has a column) */
	struct sf_digest_ctx x = {.td = td, .st = st, .d = d};
	x.b = sl_batch_create(td->fields, td->nfields);
	pthread_mutex_lock(&t->mu);
	int rc = sf_conn_query(t->conn, sl_buf_cstr(&q), sf_digest_part, &x, err);
	pthread_mutex_unlock(&t->mu);
	sl_batch_destroy(x.b);
	sl_buf_free(&x.tmp);
	sl_buf_free(&q);
	return rc;
}

static int sf_rename(sl_target *handle, const sl_catalog *old_cat, const sl_catalog *cat, int ti,
                     sl_error *err)
{
	sf_target *t = sf_target_of(handle);
	char from[512], to[512];
	sl_buf q = {0};
	sf_table_name(handle, old_cat, ti, from, sizeof from);
	const sl_table_def *td = &cat->tables[ti];
	char *schema = t->schema ? sl_strdup(t->schema) : sf_folded(td->schema);
	char *name = sf_folded(td->name);
	sl_buf_printf(&q, "ALTER TABLE %s RENAME TO ", t->tables[ti].qt);
	sf_quote(&q, t->db);
	sl_buf_putc(&q, '.');
	sf_quote(&q, schema);
	sl_buf_putc(&q, '.');
	sf_quote(&q, name);
	snprintf(to, sizeof to, "%s.%s.%s", t->db, schema, name);
	int rc = sf_run(t->conn, &q, 1, NULL, err);
	if (rc < 0)
		sl_error_wrap(err, "renaming %s to %s", from, to);
	else {
		free(t->tables[ti].qt);
		t->tables[ti].qt = NULL;
		sf_table_free(&t->tables[ti]); /* set up again under the new name */
	}
	free(schema), free(name);
	sl_buf_free(&q);
	return rc;
}

/* ---------------------------------------------------------------- durable ---- */

static int sf_durable_read(sf_target *t, sf_conn *conn, const char *epoch, sl_durable *out,
                           sl_error *err)
{
	memset(out, 0, sizeof *out);
	sl_buf q = {0};
	sl_buf_printf(&q,
	              "SELECT \"EPOCH\", \"POSITION\", \"VERSION\", \"COMMIT_US\", \"APPLIED_US\" "
	              "FROM %s WHERE \"PIPELINE\" = ",
	              t->state_qt);
	sf_lit(&q, t->cfg->name);
	sf_result r = {0};
	int rc = sf_run(conn, &q, 1, &r, err);
	if (rc < 0 && strcmp(err->sqlstate, "002003") == 0) {
		sl_error_clear(err); /* no state table: nothing applied */
		rc = 0;
	} else if (rc == 0 && r.nrows == 1 && r.ncols == 5) {
		const char *e = sf_result_text(&r, 0, 0);
		if (e && strcmp(e, epoch) == 0) {
			const char *v = sf_result_text(&r, 0, 1);
			snprintf(out->position, sizeof out->position, "%s", v ? v : "");
			v = sf_result_text(&r, 0, 2);
			out->version = v ? strtoull(v, NULL, 10) : 0;
			v = sf_result_text(&r, 0, 3);
			out->commit_us = v ? strtoll(v, NULL, 10) : 0;
			v = sf_result_text(&r, 0, 4);
			out->applied_us = v ? strtoll(v, NULL, 10) : 0;
			out->found = true;
		}
	}
	sf_result_free(&r);
	sl_buf_free(&q);
	return rc;
}

static int sf_durable(sl_target *handle, const char *epoch, sl_durable *out, sl_error *err)
{
	sf_target *t = sf_target_of(handle);
	pthread_mutex_lock(&t->mu);
	int rc = sf_durable_read(t, t->conn, epoch, out, err);
	pthread_mutex_unlock(&t->mu);
	return rc;
}

/* ---------------------------------------------------------------- apply ---- */

/* One table's changes in the open group. */
struct sfa_table {
	sl_shape *shape;
	sf_col *cols; /* the shape's fields that have a Snowflake form */
	int ncols;
	int *key; /* into cols */
	int nkey;
	bool has_json;
	sl_field
	        *fields; /* staged: cols' file fields, VERSION, SEQ, DELETED[, UNCHANGED, FROM_k] */
	int nfields;
	sl_batch *acc;               /* this group's staged rows */
	sl_batch *one, *old, *fixed; /* one row being staged; a MOVE's old key; completed */
	sl_row_index live;           /* acc's latest live row per key */
	bool any_unchanged;
	bool has_row;     /* keyless: the table has _SLUICE_ROW */
	int64_t ndel;     /* keyless: the deletes staged */
	bool stale;       /* a column added this group that the table's rows lack values of:
	                     its keyless deletes may find no equal row until it is copied */
	bool lenient_del; /* keyless: one of them may find no row (may_miss, converging) */
	char *bits;       /* sfa_changes' work space: a 0/1 per column, then 'L' or not */
	int nbits;
	/* the table's columns on Snowflake (read at its first shape) */
	bool known;
	char **tnames, **ttypes;
	int ntcols;
};

struct sf_applier {
	sf_target *t;
	sf_conn *conn;
	const sl_catalog *cat;
	char *epoch;
	struct sfa_table *tables;
	sl_durable durable; /* what _SLUICE_STATE holds for this pipeline (as this applier knows) */
	/* the group's request: DDL and staging before BEGIN, then the changes */
	sl_buf pre, body;
	int npre, nbody;
	char **files; /* staged keys, removed after the group */
	int nfiles;
	sl_buf one, tmp;
	uint64_t converge_until; /* see apply_open */
};

static void sfa_cols_free(struct sfa_table *at)
{
	if (at->acc)
		sl_batch_destroy(at->acc);
	if (at->one)
		sl_batch_destroy(at->one), sl_batch_destroy(at->old), sl_batch_destroy(at->fixed);
	at->acc = at->one = at->old = at->fixed = NULL;
	for (int i = 0; i < at->ncols; i++)
		sf_col_reset(&at->cols[i]);
	for (int i = at->ncols; at->fields && i < at->nfields; i++)
		sl_field_reset(&at->fields[i]);
	free(at->cols), free(at->key), free(at->fields);
	sl_row_index_free(&at->live);
	at->cols = NULL, at->key = NULL, at->fields = NULL;
	at->ncols = at->nkey = at->nfields = 0;
}

static void sfa_known_free(struct sfa_table *at)
{
	for (int i = 0; i < at->ntcols; i++)
		free(at->tnames[i]), free(at->ttypes[i]);
	free(at->tnames), free(at->ttypes);
	at->tnames = at->ttypes = NULL;
	at->ntcols = 0;
	at->known = false;
}

static void sfa_close(sl_applier *handle);

static int sfa_sweep(sf_target *t, sl_error *err);

static int sfa_open(sl_target *handle, const sl_catalog *cat, const char *epoch,
                    uint64_t converge_until, sl_applier **out, sl_durable *durable, sl_error *err)
{
	sf_target *t = sf_target_of(handle);
	sf_applier *a = sl_calloc(1, sizeof *a);
	a->t = t;
	a->converge_until = converge_until;
	a->cat = cat;
	a->epoch = sl_strdup(epoch);
	a->tables = sl_calloc((size_t)(cat->ntables ? cat->ntables : 1), sizeof *a->tables);
	int rc = sf_conn_open(t->auth, &a->conn, err);
	if (rc == 0)
		rc = sf_state_create(t, a->conn, err);
	if (rc == 0)
		rc = sf_durable_read(t, a->conn, epoch, durable, err);
	if (rc == 0)
		a->durable = *durable;
	if (rc == 0)
		rc = sfa_sweep(t, err);
	if (rc < 0) {
		sfa_close(sf_applier_handle(a));
		return rc;
	}
	*out = sf_applier_handle(a);
	return 0;
}

/* Staged change files left by a run that stopped mid-group: the group is applied again. */
static int sfa_sweep_one(void *ctx, const sl_store_object *o, sl_error *err)
{
	sf_target *t = ctx;
	return t->so->del(t->store, o->key, err);
}

static int sfa_sweep(sf_target *t, sl_error *err)
{
	sl_buf p = {0};
	sl_buf_printf(&p, "%schanges/", t->prefix);
	int rc = t->so->list(t->store, sl_buf_cstr(&p), sfa_sweep_one, t, err);
	sl_buf_free(&p);
	return rc;
}

/* The table's columns as Snowflake has them (R3). */
static int sfa_known(sf_applier *a, int ti, sl_error *err)
{
	struct sfa_table *at = &a->tables[ti];
	if (at->known)
		return 0;
	SL_TRY(sf_table_setup(a->t, a->cat, ti, err));
	struct sf_table *st = &a->t->tables[ti];
	sl_buf q = {0};
	sl_buf_puts(&q, "SELECT \"COLUMN_NAME\", \"DATA_TYPE\", \"NUMERIC_PRECISION\", "
	                "\"NUMERIC_SCALE\" FROM ");
	sf_quote(&q, a->t->db);
	sl_buf_puts(&q, ".\"INFORMATION_SCHEMA\".\"COLUMNS\" WHERE \"TABLE_SCHEMA\" = ");
	sf_lit(&q, st->schema);
	sl_buf_puts(&q, " AND \"TABLE_NAME\" = ");
	sf_lit(&q, st->name);
	sl_buf_puts(&q, " ORDER BY \"ORDINAL_POSITION\"");
	sf_result r = {0};
	int rc = sf_run(a->conn, &q, 1, &r, err);
	if (rc == 0 && r.ncols == 4) {
		at->tnames = sl_calloc((size_t)r.nrows + 1, sizeof *at->tnames);
		at->ttypes = sl_calloc((size_t)r.nrows + 1, sizeof *at->ttypes);
		for (int64_t i = 0; i < r.nrows; i++) {
			const char *n = sf_result_text(&r, i, 0);
			at->tnames[at->ntcols] = sl_strdup(n ? n : "");
			const char *ty = sf_result_text(&r, i, 1);
			char buf[64];
			if (ty && strcmp(ty, "NUMBER") == 0) {
				char p[24], s[24];
				const char *v = sf_result_text(&r, i, 2);
				snprintf(p, sizeof p, "%s", v ? v : "38");
				v = sf_result_text(&r, i, 3);
				snprintf(s, sizeof s, "%s", v ? v : "0");
				snprintf(buf, sizeof buf, "NUMBER(%s,%s)", p, s);
			} else {
				snprintf(buf, sizeof buf, "%s", ty ? ty : "");
			}
			at->ttypes[at->ntcols++] = sl_strdup(buf);
		}
		at->known = true;
	}
	sf_result_free(&r);
	sl_buf_free(&q);
	return rc;
}

/* Is a column of Snowflake type `have` (as R3 reads it) what `want` (as sluice writes it)
 * asks for? 1 yes, 2 a NUMBER to widen, 0 no. */
static int sfa_type_fits(const char *have, const char *want)
{
	char w[32];
	snprintf(w, sizeof w, "%s", want);
	char *paren = strchr(w, '(');
	if (strncmp(want, "NUMBER(", 7) == 0 && strncmp(have, "NUMBER(", 7) == 0) {
		int hp = 0, hs = 0, wp = 0, ws = 0;
		sscanf(have, "NUMBER(%d,%d)", &hp, &hs);
		sscanf(want, "NUMBER(%d,%d)", &wp, &ws);
		if (hs == ws && hp >= wp)
			return 1;
		if (hs == ws && hp < wp)
			return 2;
		return 0;
	}
	if (paren && strncmp(want, "NUMBER", 6) != 0)
		*paren = 0; /* TIME(6) and TIMESTAMP_NTZ(6) read back without precision */
	if (strcmp(w, "VARCHAR") == 0)
		snprintf(w, sizeof w, "TEXT");
	return strcmp(have, w) == 0;
}

static void sfa_pre(sf_applier *a, const sl_buf *stmt)
{
	sf_stmt(&a->pre, &a->npre, stmt);
}

static void sfa_body(sf_applier *a, const sl_buf *stmt)
{
	sf_stmt(&a->body, &a->nbody, stmt);
}

static int sfa_flush(sf_applier *a, int ti, sl_error *err);

static int sfa_shape(sl_applier *handle, int ti, sl_shape *shape, bool *stale, sl_error *err)
{
	sf_applier *a = sf_applier_of(handle);
	struct sfa_table *at = &a->tables[ti];
	const sl_table_def *td = &a->cat->tables[ti];
	*stale = false;
	SL_TRY(sfa_known(a, ti, err));
	/* rows of the old shape go as their own part */
	SL_TRY(sfa_flush(a, ti, err));
	struct sf_table *st = &a->t->tables[ti];
	sfa_cols_free(at);
	at->cols = sl_calloc((size_t)(shape->nfields ? shape->nfields : 1), sizeof *at->cols);
	at->has_json = false;
	for (int i = 0; i < shape->nfields; i++) {
		sf_col c;
		if (sf_col_init(&c, &shape->fields[i], i) == SF_SKIP) {
			sf_col_reset(&c);
			continue;
		}
		at->has_json |= c.kind == SF_JSON;
		/* against the table as Snowflake has it */
		int found = -1;
		for (int k = 0; k < at->ntcols; k++)
			if (strcmp(at->tnames[k], c.file.name) == 0)
				found = k;
		sl_buf_reset(&a->one);
		if (shape->fields[i].renamed_from) {
			/* renamed on the source: renamed here, its values kept */
			sl_buf old = {0};
			sf_fold(&old, shape->fields[i].renamed_from);
			int from = -1;
			for (int k = 0; k < at->ntcols; k++)
				if (strcmp(at->tnames[k], sl_buf_cstr(&old)) == 0)
					from = k;
			if (from >= 0 && found >= 0) {
				int rc = sl_error_set(
				        err, SL_ERR_STATE,
				        "target: column %s of %s was renamed to %s on the "
				        "source, but %s has both; drop or rename one of "
				        "them in Snowflake",
				        sl_buf_cstr(&old), st->qt, c.file.name, st->qt);
				sl_buf_free(&old), sf_col_reset(&c);
				return rc;
			}
			if (from >= 0) {
				sl_buf_printf(&a->one, "ALTER TABLE %s RENAME COLUMN ", st->qt);
				sf_quote(&a->one, sl_buf_cstr(&old));
				sl_buf_puts(&a->one, " TO ");
				sf_quote(&a->one, c.file.name);
				sfa_pre(a, &a->one);
				sl_buf_reset(&a->one);
				free(at->tnames[from]);
				at->tnames[from] = sl_strdup(c.file.name);
				found = from;
				sl_info("target: %s: column %s renamed to %s", td->qualified,
				        sl_buf_cstr(&old), c.file.name);
			}
			sl_buf_free(&old);
		}
		if (found < 0 && at->ntcols > 0) {
			sl_buf_printf(&a->one, "ALTER TABLE %s ADD COLUMN ", st->qt);
			sf_quote(&a->one, c.file.name);
			sl_buf_printf(&a->one, " %s", c.type);
			sfa_pre(a, &a->one);
			at->tnames =
			        sl_realloc(at->tnames, (size_t)(at->ntcols + 1) * sizeof(char *));
			at->ttypes =
			        sl_realloc(at->ttypes, (size_t)(at->ntcols + 1) * sizeof(char *));
			at->tnames[at->ntcols] = sl_strdup(c.file.name);
			at->ttypes[at->ntcols++] = sl_strdup(c.type);
			if (shape->fields[i].fill || shape->fields[i].fill_missing)
				*stale = at->stale = true; /* the rows there get their values by a
				                            * copy */
			sl_info("target: %s: column %s added", td->qualified, c.file.name);
		} else if (found >= 0) {
			int fit = sfa_type_fits(at->ttypes[found], c.type);
			if (fit == 2) {
				sl_buf_printf(&a->one, "ALTER TABLE %s ALTER COLUMN ", st->qt);
				sf_quote(&a->one, c.file.name);
				sl_buf_printf(&a->one, " SET DATA TYPE %s", c.type);
				sfa_pre(a, &a->one);
				free(at->ttypes[found]);
				at->ttypes[found] = sl_strdup(c.type);
			} else if (!fit) {
				int rc = sl_error_set(
				        err, SL_ERR_SETTING,
				        "target: %s: column %s changed type on the source, to %s, "
				        "which its Snowflake column (%s) cannot take: reload the "
				        "table "
				        "(sluice resync)",
				        td->qualified, shape->fields[i].name, c.type,
				        at->ttypes[found]);
				sf_col_reset(&c);
				return rc;
			}
		}
		at->cols[at->ncols++] = c;
	}
	at->has_row = false;
	for (int k = 0; k < at->ntcols; k++)
		at->has_row |= strcmp(at->tnames[k], SF_ROW) == 0;
	if (at->ntcols == 0)
		return sl_error_set(err, SL_ERR_STATE,
		                    "target: table %s is not in Snowflake (dropped there?): reload "
		                    "it with sluice resync",
		                    st->qt);
	/* the key, as the shape has it */
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
	/* the staged form */
	at->nfields = at->ncols + 3 + (at->nkey ? 1 + at->nkey : 0);
	at->fields = sl_calloc((size_t)at->nfields, sizeof *at->fields);
	for (int i = 0; i < at->ncols; i++) {
		/* a delete carries the key alone: every other column may be NULL in its row */
		at->cols[i].file.nullable = true;
		at->fields[i] = at->cols[i].file;
	}
	int m = at->ncols;
	sl_field_init(&at->fields[m++], SF_VERSION, SL_TYPE_UINT64);
	sl_field_init(&at->fields[m++], SF_SEQ, SL_TYPE_UINT64);
	sl_field_init(&at->fields[m++], SF_DELETED, SL_TYPE_BOOL);
	if (at->nkey) {
		sl_field_init(&at->fields[m], SF_UNCHANGED, SL_TYPE_UTF8);
		at->fields[m++].nullable = true;
		for (int k = 0; k < at->nkey; k++) {
			sl_field_copy(&at->fields[m], &at->cols[at->key[k]].file);
			free(at->fields[m].name);
			sl_buf nb = {0};
			sl_buf_printf(&nb, SF_FROM "%s", at->cols[at->key[k]].file.name);
			at->fields[m].name = sl_strdup(sl_buf_cstr(&nb));
			at->fields[m++].nullable = true;
			sl_buf_free(&nb);
		}
	}
	at->acc = sl_batch_create(at->fields, at->nfields);
	at->one = sl_batch_create(at->fields, at->nfields);
	at->old = sl_batch_create(at->fields, at->nfields);
	at->fixed = sl_batch_create(at->fields, at->nfields);
	if (at->shape)
		sl_shape_unref(at->shape);
	at->shape = sl_shape_ref(shape);
	return 0;
}

/* ---- the group's rows per key ---- */

/* Stage row i of c into `into` (reset first): values converted, meta set. */
static void sfa_stage(sf_applier *a, struct sfa_table *at, sl_batch *into, const sl_changes *c,
                      int64_t i, bool deleted)
{
	sl_batch_reset(into);
	for (int k = 0; k < at->ncols; k++)
		sf_col_append(&at->cols[k], &into->cols[k], &c->rows->cols[at->cols[k].src], i,
		              &a->tmp);
	sl_row_origin o = sl_changes_origin(c, i);
	sl_col_append_fixed(&into->cols[at->ncols], &o.version, 8);
	sl_col_append_fixed(&into->cols[at->ncols + 1], &o.seq, 8);
	sl_col_append_bool(&into->cols[at->ncols + 2], deleted);
	for (int k = at->ncols + 3; k < at->nfields; k++)
		sl_col_append_null(&into->cols[k]);
	sl_batch_end_row(into);
}

/* Row `one` (staged from a change that left the columns in bits unchanged) completed into
 * at->fixed: those columns from the group's latest live row of the key they are under (prev,
 * or -1), and what is still unchanged then marked, with that key (FROM), for the MERGE to take
 * from the table. `old` holds the staged row of that key (a MOVE's DELETE half), or is `one`. */
static void sfa_complete(struct sfa_table *at, const sl_batch *one, const sl_batch *old,
                         int64_t prev, char *bits, int nb, bool lenient)
{
	const sl_batch *acc = at->acc;
	int ucol = at->ncols + 3;
	const char *pbits = NULL;
	int32_t plen = 0;
	if (prev >= 0 && sl_col_is_valid(&acc->cols[ucol], prev))
		pbits = (const char *)sl_col_bytes(&acc->cols[ucol], prev, &plen);
	/* what the earlier change still needs from the table, it may miss as it could */
	lenient |= pbits && plen > nb && pbits[nb] == 'L';
	char *left = sl_malloc((size_t)nb + 2);
	bool any = false;
	for (int k = 0; k < nb; k++) {
		/* with prev, a column stays unchanged only where prev left it so too */
		left[k] = bits[k] == '1' && (prev < 0 || (pbits && k < plen && pbits[k] == '1'))
		                  ? '1'
		                  : '0';
		any |= left[k] == '1';
	}
	sl_batch *fixed = at->fixed;
	sl_batch_reset(fixed);
	for (int k = 0; k < at->nfields; k++) {
		sl_column *dst = &fixed->cols[k];
		if (k < nb && bits[k] == '1' && prev >= 0)
			sl_col_append_from(dst, &acc->cols[k], prev);
		else if (k < ucol)
			sl_col_append_from(dst, &one->cols[k], 0);
		else if (!any)
			sl_col_append_null(dst);
		else if (k == ucol) {
			if (lenient)
				left[nb] = 'L'; /* it may find no row: then it is skipped */
			sl_col_append_bytes(dst, left, (size_t)nb + lenient);
		} else if (prev >= 0)
			sl_col_append_from(dst, &acc->cols[k], prev); /* prev's FROM */
		else
			sl_col_append_from(dst, &old->cols[at->key[k - ucol - 1]], 0);
	}
	sl_batch_end_row(fixed);
	at->any_unchanged |= any;
	free(left);
}

static int sfa_changes(sl_applier *handle, const sl_changes *c, const uint8_t *dead, sl_error *err)
{
	sf_applier *a = sf_applier_of(handle);
	struct sfa_table *at = &a->tables[c->table];
	const sl_table_def *td = &a->cat->tables[c->table];
	if (at->shape != c->shape)
		return sl_error_set(err, SL_ERR_INTERNAL, "changes to %s arrived before its shape",
		                    td->qualified);
	int nb = at->ncols;
	if (at->nbits < nb + 2) {
		at->bits = sl_realloc(at->bits, (size_t)nb + 2);
		at->nbits = nb + 2;
	}
	char *bits = at->bits;
	for (int64_t i = 0; i < c->rows->length; i++) {
		if (dead && (dead[i >> 3] >> (i & 7)) & 1)
			continue;
		char op = sl_changes_op(c, i);
		if (op == SL_OP_KEYREF || op == SL_OP_REKEY)
			continue; /* read by the MOVE after it; the DELETE that follows applies it
			           */
		/* a group's rows of one table stay in memory until its commit: past this, they go
		 * as a part of their own (its MERGE runs before the next part's, in the same
		 * transaction, so the next part sees them). Not just before a MOVE: the DELETE of
		 * its old key before it would be applied, and the MOVE's unchanged columns no
		 * longer found. */
		if (op != SL_OP_MOVE && at->acc->length > 0 &&
		    sl_batch_bytes(at->acc) > SF_PART_BYTES) {
			SL_TRY(sfa_flush(a, c->table, err));
		}
		bool del = op == SL_OP_DELETE, any = false;
		for (int k = 0; k < nb; k++) {
			bits[k] = c->any_unchanged && sl_changes_is_unchanged(c, i, at->cols[k].src)
			                  ? '1'
			                  : '0';
			any |= bits[k] == '1';
		}
		/* a change that needs its row and may not find it: while the table is copied
		 * (its copy brings the row), or within the convergence window (apply_open) */
		bool lenient = c->may_miss || sl_changes_origin(c, i).version <= a->converge_until;
		if (at->nkey == 0 && op != SL_OP_INSERT && op != SL_OP_DELETE)
			return sl_error_set(
			        err, SL_ERR_SETTING,
			        "target: %s: the source updates its rows by key, but its Snowflake "
			        "table has no key (a key column has no Snowflake form, or is not "
			        "in "
			        "the changes): give the key columns types Snowflake takes, or "
			        "leave "
			        "the table out",
			        td->qualified);
		if (at->nkey == 0 && any)
			return sl_error_set(
			        err, SL_ERR_SETTING,
			        "target: %s has no primary key, and a change on the source left "
			        "columns unchanged, whose values sluice cannot find without one "
			        "(give the source's changes whole rows: PostgreSQL REPLICA "
			        "IDENTITY FULL on %s, MySQL binlog_row_image=FULL; or add a "
			        "primary key)",
			        td->qualified, td->qualified);
		if (at->nkey == 0 && del && !at->has_row)
			return sl_error_set(
			        err, SL_ERR_STATE,
			        "target: %s has no primary key and its Snowflake table no "
			        "\"" SF_ROW "\" column (made by an older sluice), so a "
			        "delete cannot take one of equal rows: drop the table in "
			        "Snowflake, then reload it (sluice resync), which makes it anew",
			        td->qualified);
		if (at->nkey == 0 && del) {
			at->ndel++;
			at->lenient_del |= lenient || at->stale;
		}
		sfa_stage(a, at, at->one, c, i, del);
		const sl_batch *row = at->one;
		if (!del && (any || op == SL_OP_MOVE)) {
			/* the key the unchanged values are under: a MOVE's old one */
			int64_t from = i;
			if (op == SL_OP_MOVE) {
				from = sl_changes_pair(c, i);
				if (from < 0)
					from = i - 1;
			}
			const sl_batch *old = at->one;
			if (from != i) {
				sfa_stage(a, at, at->old, c, from, true);
				old = at->old;
			}
			int64_t prev =
			        sl_row_index_find(&at->live, at->acc, at->key, at->nkey, old, 0);
			if (op == SL_OP_MOVE && prev < 0 && c->may_miss && c->moves_missed)
				(*c->moves_missed)++; /* it may find no row; then its new key may be
				                       * one the copy passed (counted whether or
				                       * not) */
			sfa_complete(at, at->one, old, prev, bits, nb, lenient);
			row = at->fixed;
		}
		for (int k = 0; k < at->nfields; k++)
			sl_col_append_from(&at->acc->cols[k], &row->cols[k], 0);
		sl_batch_end_row(at->acc);
		if (!del && at->nkey)
			sl_row_index_put(&at->live, at->acc, at->key, at->nkey,
			                 at->acc->length - 1);
	}
	return 0;
}

/* The table's staged rows so far become a file, COPYed into a temporary table, merged. */
static int sfa_flush(sf_applier *a, int ti, sl_error *err)
{
	struct sfa_table *at = &a->tables[ti];
	if (!at->acc || at->acc->length == 0)
		return 0;
	sf_target *t = a->t;
	struct sf_table *st = &t->tables[ti];
	struct sf_file f;
	SL_TRY(sf_file_open(t, &f, "changes", at->fields, at->nfields, err));
	int rc = sl_pq_write(f.pw, at->acc, err);
	if (rc == 0)
		rc = sf_file_commit(&f, err);
	if (rc < 0) {
		sf_file_free(&f);
		return rc;
	}
	a->files = sl_realloc(a->files, (size_t)(a->nfiles + 1) * sizeof *a->files);
	a->files[a->nfiles++] = sl_strdup(f.key);
	sl_buf tmp = {0}, auth = {0};
	sf_quote(&tmp, t->db);
	sl_buf_putc(&tmp, '.');
	sf_quote(&tmp, st->schema);
	sl_buf_printf(&tmp, ".\"_SLUICE_TMP_%u\"", sf_next(t));
	rc = sf_auth_clause(t, &auth, err);
	if (rc == 0) {
		sl_buf_reset(&a->one);
		sf_sql_create_temp(&a->one, sl_buf_cstr(&tmp), at->cols, at->ncols, at->key,
		                   at->nkey);
		sfa_pre(a, &a->one);
		sl_buf_reset(&a->one);
		const char *files[] = {sf_rel(&f)};
		sf_sql_copy(&a->one, sl_buf_cstr(&tmp), t->location, sl_buf_cstr(&auth), files, 1);
		sfa_pre(a, &a->one);
		/* every staged row is there (a file gone while its group ran would load none) */
		sl_buf_reset(&a->one);
		sf_sql_count_check(&a->one, sl_buf_cstr(&tmp), at->acc->length);
		sfa_body(a, &a->one);
		sl_buf_reset(&a->one);
		if (at->nkey) {
			sf_sql_merge(&a->one, st->qt, sl_buf_cstr(&tmp), at->cols, at->ncols,
			             at->key, at->nkey, at->any_unchanged);
			sfa_body(a, &a->one);
		} else {
			/* a multiset: the inserts, then the deletes whatever their order (a delete
			 * finds an equal row the table had or the group inserted) */
			sf_sql_insert(&a->one, st->qt, sl_buf_cstr(&tmp), at->cols, at->ncols,
			              true);
			sfa_body(a, &a->one);
			if (at->ndel > 0 && !at->lenient_del) {
				sl_buf_reset(&a->one);
				sf_sql_delete_check(&a->one, st->qt, sl_buf_cstr(&tmp), at->cols,
				                    at->ncols, at->ndel);
				sfa_body(a, &a->one);
			}
			if (at->ndel > 0) {
				sl_buf_reset(&a->one);
				sf_sql_delete_keyless(&a->one, st->qt, sl_buf_cstr(&tmp), at->cols,
				                      at->ncols);
				sfa_body(a, &a->one);
			}
		}
	}
	sf_file_free(&f);
	sl_buf_free(&tmp), sl_buf_free(&auth);
	sl_batch_reset(at->acc);
	sl_row_index_clear(&at->live);
	at->any_unchanged = false;
	at->ndel = 0, at->lenient_del = false;
	return rc;
}

static int sfa_truncate(sl_applier *handle, int ti, uint64_t version, sl_error *err)
{
	sf_applier *a = sf_applier_of(handle);
	struct sfa_table *at = &a->tables[ti];
	SL_TRY(sf_table_setup(a->t, a->cat, ti, err));
	/* the group's earlier changes to it are gone with it */
	if (at->acc) {
		sl_batch_reset(at->acc);
		sl_row_index_clear(&at->live);
		at->any_unchanged = false;
		at->ndel = 0, at->lenient_del = false;
	}
	sl_buf_reset(&a->one);
	sl_buf_printf(&a->one,
	              "UPDATE %s SET \"" SF_DELETED "\" = TRUE, \"" SF_VERSION "\" = %" PRIu64
	              " WHERE NOT \"" SF_DELETED "\"",
	              a->t->tables[ti].qt, version);
	sfa_body(a, &a->one);
	return 0;
}

static void sfa_reset_group(sf_applier *a)
{
	sl_buf_reset(&a->pre), sl_buf_reset(&a->body);
	a->npre = a->nbody = 0;
	sl_error e = {0};
	for (int i = 0; i < a->nfiles; i++) {
		if (a->t->so->del(a->t->store, a->files[i], &e) < 0)
			sl_warn("target stage: %s", e.msg);
		free(a->files[i]);
	}
	a->nfiles = 0;
	for (int i = 0; i < a->cat->ntables; i++) {
		struct sfa_table *at = &a->tables[i];
		if (at->acc)
			sl_batch_reset(at->acc);
		sl_row_index_clear(&at->live);
		at->any_unchanged = false;
		at->ndel = 0, at->lenient_del = false;
		at->stale = false;
	}
}

static int sfa_commit(sl_applier *handle, const sl_msg *commit, sl_error *err)
{
	sf_applier *a = sf_applier_of(handle);
	sf_target *t = a->t;
	for (int i = 0; i < a->cat->ntables; i++)
		SL_TRY(sfa_flush(a, i, err));
	struct timeval tv;
	gettimeofday(&tv, NULL);
	int64_t now = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	sl_buf q = {0}, s = {0};
	int n = 0;
	if (a->npre) {
		sl_buf_append(&q, a->pre.data, a->pre.len);
		n = a->npre;
	}
	sl_buf_puts(&s, "BEGIN");
	sf_stmt(&q, &n, &s);
	/* the pipeline's row locked (a second transaction's DML on it waits for this one), then
	 * checked: still at the position this applier read. An agent killed mid-request may have
	 * left a group running in Snowflake that commits after this agent read the position; this
	 * one then stops instead of applying the group twice. */
	sl_buf_reset(&s);
	sl_buf_printf(&s, "UPDATE %s SET \"EPOCH\" = \"EPOCH\" WHERE \"PIPELINE\" = ", t->state_qt);
	sf_lit(&s, t->cfg->name);
	sf_stmt(&q, &n, &s);
	sl_buf_reset(&s);
	sl_buf_printf(&s,
	              "SELECT CAST(IFF(COUNT(*) = %d, '0', '" SF_MOVED "') AS NUMBER(1,0)) FROM %s "
	              "WHERE \"PIPELINE\" = ",
	              a->durable.found ? 1 : 0, t->state_qt);
	sf_lit(&s, t->cfg->name);
	sl_buf_puts(&s, " AND \"EPOCH\" = ");
	sf_lit(&s, a->epoch);
	if (a->durable.found)
		sl_buf_printf(&s, " AND \"VERSION\" = %" PRIu64, a->durable.version);
	sf_stmt(&q, &n, &s);
	if (a->nbody) {
		sl_buf_puts(&q, ";\n");
		sl_buf_append(&q, a->body.data, a->body.len);
		n += a->nbody;
	}
	sl_buf_reset(&s);
	sl_buf_printf(&s, "MERGE INTO %s AS t USING (SELECT ", t->state_qt);
	sf_lit(&s, t->cfg->name);
	sl_buf_puts(&s, " AS \"PIPELINE\", ");
	sf_lit(&s, a->epoch);
	sl_buf_puts(&s, " AS \"EPOCH\", ");
	sf_lit(&s, commit->position);
	sl_buf_printf(&s,
	              " AS \"POSITION\", %" PRIu64 " AS \"VERSION\", %" PRId64
	              " AS \"COMMIT_US\", %" PRId64
	              " AS \"APPLIED_US\") AS s ON t.\"PIPELINE\" = s.\"PIPELINE\" WHEN MATCHED "
	              "THEN UPDATE SET \"EPOCH\" = s.\"EPOCH\", \"POSITION\" = s.\"POSITION\", "
	              "\"VERSION\" = s.\"VERSION\", \"COMMIT_US\" = s.\"COMMIT_US\", "
	              "\"APPLIED_US\" = s.\"APPLIED_US\" WHEN NOT MATCHED THEN INSERT "
	              "(\"PIPELINE\", \"EPOCH\", \"POSITION\", \"VERSION\", \"COMMIT_US\", "
	              "\"APPLIED_US\") VALUES (s.\"PIPELINE\", s.\"EPOCH\", s.\"POSITION\", "
	              "s.\"VERSION\", s.\"COMMIT_US\", s.\"APPLIED_US\")",
	              commit->version, commit->commit_us, now);
	sf_stmt(&q, &n, &s);
	sl_buf_reset(&s);
	sl_buf_puts(&s, "COMMIT");
	sf_stmt(&q, &n, &s);
	int rc = sf_run(a->conn, &q, n, NULL, err);
	if (rc == 0) {
		a->durable.found = true;
		a->durable.version = commit->version;
	}
	if (rc < 0 && strstr(err->msg, SF_STAGED_MISSING)) {
		rc = sl_error_set(
		        err, SL_ERR_SERVER,
		        "target: Snowflake's COPY loaded fewer rows than sluice staged (a "
		        "staged file removed while its group ran?): nothing of the group "
		        "was applied; the next run applies it again");
	} else if (rc < 0 && strstr(err->msg, SF_MOVED)) {
		rc = sl_error_set(
		        err, SL_ERR_STATE,
		        "target: this pipeline's position in %s moved after this agent read "
		        "it (another sluice runs the pipeline, or a request of one that was "
		        "stopped committed late): nothing of this group was applied; the "
		        "next run resumes from the position",
		        t->state_qt);
	} else if (rc < 0 && strstr(err->msg, SF_DELETE_UNMATCHED)) {
		rc = sl_error_set(err, SL_ERR_STATE,
		                  "target: a delete on the source, of a row of a table without a "
		                  "primary key, found no equal live row in the Snowflake table: "
		                  "the target has diverged from the source (check with sluice "
		                  "verify); nothing of the group was applied; reload the table "
		                  "(sluice resync)");
	} else if (rc < 0 && strstr(err->msg, "sluice: ")) {
		/* the MERGE's own check: a change needed a row the table does not have */
		rc = sl_error_set(err, SL_ERR_STATE,
		                  "target: a change on the source left columns unchanged, and the "
		                  "row it changed is not in the Snowflake table: the target has "
		                  "diverged from the source; reload the table (sluice resync)");
	}
	sl_buf_free(&q), sl_buf_free(&s);
	sfa_reset_group(a);
	return rc;
}

static void sfa_rollback(sl_applier *handle)
{
	sfa_reset_group(sf_applier_of(handle));
}

static void sfa_cancel(sl_applier *handle)
{
	sf_conn_cancel(sf_applier_of(handle)->conn);
}

static void sfa_close(sl_applier *handle)
{
	sf_applier *a = sf_applier_of(handle);
	if (!a)
		return;
	if (a->conn)
		sfa_reset_group(a);
	for (int i = 0; i < a->cat->ntables; i++) {
		struct sfa_table *at = &a->tables[i];
		sfa_cols_free(at);
		sfa_known_free(at);
		free(at->bits);
		if (at->shape)
			sl_shape_unref(at->shape);
	}
	free(a->tables);
	free(a->files);
	free(a->epoch);
	sf_conn_close(a->conn);
	sl_buf_free(&a->pre), sl_buf_free(&a->body), sl_buf_free(&a->one), sl_buf_free(&a->tmp);
	free(a);
}

const sl_target_ops sl_sf_target_ops = {
        .type = "snowflake",
        .options = sf_options,
        .url_optional = true,
        .lists_never_null = false,
        .specials_null = true,
        .arrays_flat = true,
        .open = sf_open,
        .close = sf_close,
        .check = sf_check,
        .prepare = sf_prepare,
        .table_name = sf_table_name,
        .writer_open = sf_writer_open,
        .load_begin = sf_load_begin,
        .load_batch = sf_load_batch,
        .load_end = sf_load_end,
        .load_abort = sf_load_abort,
        .finish_table = sf_finish_table,
        .writer_cancel = sf_writer_cancel,
        .writer_close = sf_writer_close,
        .digest = sf_digest,
        .rename = sf_rename,
        .apply_open = sfa_open,
        .apply_shape = sfa_shape,
        .apply_changes = sfa_changes,
        .apply_truncate = sfa_truncate,
        .apply_actions = NULL,
        .apply_commit = sfa_commit,
        .apply_rollback = sfa_rollback,
        .apply_cancel = sfa_cancel,
        .apply_close = sfa_close,
        .durable = sf_durable,
};
