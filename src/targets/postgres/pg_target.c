/* PostgreSQL target: creates tables, bulk-loads batches with COPY (FORMAT binary), adds the
 * primary key after the load.
 *
 * A column whose incoming Arrow value has a binary form the target type accepts (integers,
 * floats, decimals into numeric, dates, times, timestamps, Interval(DayTime) into interval,
 * text-like types, enums, jsonb, uuid, bytea, arrays of those of any shape) is sent as is. A
 * column that can only travel as text (interval, inet, bit, tsvector, composite and extension
 * types, ranges as JSON) makes its table load through a temporary staging table: COPY into the
 * stage with text columns, then one INSERT ... SELECT with casts, in the same transaction.
 *
 * Threads: prepare runs on the main thread before any writer starts; each pg_writer (its own
 * connection) is used by one lane thread and only reads the per-table plan. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "clients/pgcatalog.h"
#include "clients/pgclient.h"
#include "targets/postgres/pg_target.h"
#include "targets/postgres/pg_target_int.h"

#define SL_COPY_SLICE (1u << 20)

struct pg_writer {
	pg_target *tgt;
	PGconn *conn;
	int table; /* table being loaded, -1 when idle */
	bool in_txn;
	sl_buf out;
	bool *stage_made; /* per table: temp stage exists on this connection */
	PGcancel *cancel; /* for writer_cancel from another thread */
};

static int pgt_open(const sl_config *cfg, sl_target **out, sl_error *err)
{
	pg_target *t = sl_calloc(1, sizeof *t);
	t->cfg = cfg;
	int rc = sl_config_opt_string(cfg, "target", "schema", &t->schema, err);
	if (rc == 0)
		rc = sl_pg_connect(&cfg->target, "target", false, &t->meta, err);
	if (rc < 0) {
		free(t->schema);
		free(t);
		return rc;
	}
	*out = pg_target_handle(t);
	return 0;
}

static void pgt_table_free(struct pg_target_table *tt)
{
	free(tt->schema);
	free(tt->name);
	free(tt->qualified);
	free(tt->codecs);
	free(tt->copy_sql);
	free(tt->stage_ddl);
	free(tt->stage_insert);
	memset(tt, 0, sizeof *tt);
}

static void pgt_close(sl_target *handle)
{
	pg_target *t = pg_target_of(handle);
	if (t == NULL)
		return;
	for (int i = 0; i < t->ntables; i++)
		pgt_table_free(&t->tables[i]);
	free(t->tables);
	free(t->pending);
	for (int i = 0; i < t->nschemas; i++)
		free(t->schemas[i]);
	free(t->schemas);
	PQfinish(t->meta);
	free(t->schema);
	free(t);
}

const char *pgt_schema_for(pg_target *t, const sl_table_def *td)
{
	return t->schema ? t->schema : td->schema;
}

static const char *pgt_table_name(sl_target *handle, const sl_catalog *cat, int ti, char *buf,
                                  size_t n)
{
	pg_target *t = pg_target_of(handle);
	const sl_table_def *td = &cat->tables[ti];
	char *q = sl_qualify(pgt_schema_for(t, td), td->name);
	snprintf(buf, n, "%s", q);
	free(q);
	return buf;
}

static int pgt_rename(sl_target *handle, const sl_catalog *old_cat, const sl_catalog *cat, int ti,
                      sl_error *err)
{
	pg_target *t = pg_target_of(handle);
	const sl_table_def *o = &old_cat->tables[ti], *n = &cat->tables[ti];
	const char *os = pgt_schema_for(t, o), *ns = pgt_schema_for(t, n);
	sl_buf from = {0}, to = {0}, moved = {0}, sql = {0};
	sl_pg_quote_qualified(&from, os, o->name);
	sl_pg_quote_qualified(&to, ns, n->name);
	sl_pg_quote_qualified(&moved, ns, o->name);
	const char *params[2] = {sl_buf_cstr(&from), sl_buf_cstr(&to)};
	PGresult *res;
	if (strcmp(params[0], params[1]) == 0) { /* target.schema: only the source schema moved */
		sl_buf_free(&from);
		sl_buf_free(&to);
		sl_buf_free(&moved);
		return 0;
	}
	int rc = sl_pg_query(t->meta,
	                     "SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL", 2,
	                     params, &res, err);
	if (rc == 0) {
		bool had = PQgetvalue(res, 0, 0)[0] == 't', has = PQgetvalue(res, 0, 1)[0] == 't';
		PQclear(res);
		if (had && has)
			rc = sl_error_set(
			        err, SL_ERR_STATE,
			        "target: source table %s was renamed to %s, but target "
			        "table %s exists already; rename or drop it on the target, "
			        "then run again",
			        o->qualified, n->qualified, sl_buf_cstr(&to));
		else if (!had && !has)
			rc = sl_error_set(
			        err, SL_ERR_STATE,
			        "target: source table %s was renamed to %s, but target "
			        "table %s is missing; create it again with 'sluice resync "
			        "%s'",
			        o->qualified, n->qualified, sl_buf_cstr(&from), n->qualified);
		else if (had) {
			sl_buf_puts(&sql, "BEGIN;");
			if (strcmp(os, ns) != 0) {
				sl_buf_puts(&sql, "CREATE SCHEMA IF NOT EXISTS ");
				sl_pg_quote_ident(&sql, ns);
				sl_buf_printf(&sql, "; ALTER TABLE %s SET SCHEMA ",
				              sl_buf_cstr(&from));
				sl_pg_quote_ident(&sql, ns);
				sl_buf_putc(&sql, ';');
			}
			if (strcmp(o->name, n->name) != 0) {
				sl_buf_printf(&sql, "ALTER TABLE %s RENAME TO ",
				              sl_buf_cstr(&moved));
				sl_pg_quote_ident(&sql, n->name);
				sl_buf_putc(&sql, ';');
			}
			sl_buf_puts(&sql, "COMMIT");
			rc = sl_pg_exec(t->meta, sl_buf_cstr(&sql), err);
			if (rc < 0) {
				sl_pg_exec(t->meta, "ROLLBACK", NULL);
				sl_error_wrap(err, "target: renaming the table");
			}
		}
	}
	sl_buf_free(&from);
	sl_buf_free(&to);
	sl_buf_free(&moved);
	sl_buf_free(&sql);
	return rc;
}

static int pgt_check(sl_target *handle, sl_check_fn report, void *ctx)
{
	pg_target *t = pg_target_of(handle);
	char where[256], detail[512];
	sl_error err = {0};
	int failed = 0;
	snprintf(detail, sizeof detail, "connected to %s (PostgreSQL %d.%d)",
	         sl_pg_where(t->meta, where, sizeof where), PQserverVersion(t->meta) / 10000,
	         PQserverVersion(t->meta) % 10000);
	report(ctx, true, "target connection", detail);
	sl_pg_tls_describe(t->meta, "target", detail, sizeof detail);
	report(ctx, true, "target TLS", detail);
	PGresult *res;
	if (sl_pg_query(t->meta,
	                "SELECT has_database_privilege(current_database(), 'CREATE'),"
	                "       has_database_privilege(current_database(), 'TEMPORARY'), "
	                "current_user, current_database()",
	                0, NULL, &res, &err) < 0) {
		report(ctx, false, "target privileges", err.msg);
		return 1;
	}
	bool create = PQgetvalue(res, 0, 0)[0] == 't', temp = PQgetvalue(res, 0, 1)[0] == 't';
	const char *user = PQgetvalue(res, 0, 2), *db = PQgetvalue(res, 0, 3);
	if (create)
		snprintf(detail, sizeof detail, "user \"%s\" may create schemas in database \"%s\"",
		         user, db);
	else
		snprintf(detail, sizeof detail,
		         "user \"%s\" may not create schemas in database \"%s\" (run: GRANT CREATE "
		         "ON DATABASE \"%s\" TO \"%s\")",
		         user, db, db, user);
	report(ctx, create, "target CREATE privilege", detail);
	if (temp)
		snprintf(detail, sizeof detail, "user \"%s\" may create temporary staging tables",
		         user);
	else
		snprintf(detail, sizeof detail,
		         "user \"%s\" may not create temporary tables (run: GRANT TEMPORARY ON "
		         "DATABASE \"%s\" TO \"%s\")",
		         user, db, user);
	report(ctx, temp, "target TEMPORARY privilege", detail);
	failed += !create + !temp;
	PQclear(res);
	return failed;
}

/* Run the requirements (types, extensions) a same-engine table needs. */
int pgt_requirements(pg_target *t, const sl_table_def *td, sl_error *err)
{
	for (int i = 0; i < td->nrequires; i++) {
		const sl_requirement *r = &td->requires[i];
		if (r->type_name) {
			PGresult *res;
			const char *params[1] = {r->type_name};
			SL_TRY(sl_pg_query(t->meta, "SELECT to_regtype($1) IS NOT NULL", 1, params,
			                   &res, err));
			bool exists = PQgetvalue(res, 0, 0)[0] == 't';
			PQclear(res);
			if (exists)
				continue;
			if (r->ddl[0] == '\0')
				return sl_error_set(err, SL_ERR_SETTING,
				                    "target: type %s (column of %s) does not exist "
				                    "and sluice cannot create it (install "
				                    "it in the target database first)",
				                    r->type_name, td->qualified);
		}
		if (sl_pg_exec(t->meta, r->ddl, err) < 0) {
			if (strncmp(r->ddl, "CREATE EXTENSION", 16) == 0)
				return sl_error_wrap(err,
				                     "target: cannot create an extension that %s "
				                     "needs (ask an administrator to "
				                     "run '%s' in the target database)",
				                     td->qualified, r->ddl);
			return sl_error_wrap(err, "target: creating a type that %s needs",
			                     td->qualified);
		}
	}
	return 0;
}

/* The INSERT expression turning a staged text value back into the target type. */
void pgt_cast_expr(pg_target *t, sl_buf *b, const char *ref, const sl_field *f,
                   const sl_pg_column *col)
{
	if (col->ti.typtype == 'r' && f->ext_name && strcmp(f->ext_name, "arrow.json") == 0) {
		char oid[16];
		snprintf(oid, sizeof oid, "%u", col->ti.oid);
		const char *params[1] = {oid};
		PGresult *res;
		char sub[256] = "text";
		if (sl_pg_query(t->meta,
		                "SELECT format_type(rngsubtype, NULL) FROM pg_range WHERE rngtypid "
		                "= $1::oid",
		                1, params, &res, NULL) == 0) {
			if (PQntuples(res) == 1)
				snprintf(sub, sizeof sub, "%s", PQgetvalue(res, 0, 0));
			PQclear(res);
		}
		sl_buf v = {0};
		sl_buf_printf(&v, "%s::jsonb", ref);
		const char *j = sl_buf_cstr(&v);
		sl_buf_printf(
		        b,
		        "CASE WHEN %s IS NULL THEN NULL WHEN coalesce((%s->>'empty')::boolean, "
		        "false) THEN 'empty'::%s"
		        " ELSE %s((%s->>'lower')::%s, (%s->>'upper')::%s,"
		        " CASE WHEN (%s->>'lower_inclusive')::boolean THEN '[' ELSE '(' END ||"
		        " CASE WHEN (%s->>'upper_inclusive')::boolean THEN ']' ELSE ')' END) END",
		        j, j, col->format_type, col->format_type, j, sub, j, sub, j, j);
		sl_buf_free(&v);
		return;
	}
	sl_buf_printf(b, "%s::%s", ref, col->format_type);
}

/* The source's generated columns placed after `after` replicated fields, as generated columns
 * with the source's expression (the change log does not carry their values; the target
 * computes them from the columns it gets). */
static void pgt_generated_columns(const sl_table_def *td, int after, sl_buf *sql)
{
	for (int k = 0; k < td->nskipped; k++) {
		const sl_skipped_column *g = &td->skipped[k];
		if (g->expression == NULL || g->after != after)
			continue;
		if (sql->data[sql->len - 1] != '(')
			sl_buf_puts(sql, ", ");
		sl_pg_quote_ident(sql, g->name);
		sl_buf_printf(sql, " %s GENERATED ALWAYS AS (%s) STORED", g->source_type,
		              g->expression);
	}
}

/* CREATE SCHEMA IF NOT EXISTS, once per schema in a batch of tables. */
static int pgt_schema(pg_target *t, const char *schema, sl_error *err)
{
	for (int i = 0; t->batching && i < t->nschemas; i++)
		if (strcmp(t->schemas[i], schema) == 0)
			return 0;
	sl_buf sql = {0};
	sl_buf_puts(&sql, "CREATE SCHEMA IF NOT EXISTS ");
	sl_pg_quote_ident(&sql, schema);
	int rc = sl_pg_exec(t->meta, sl_buf_cstr(&sql), err);
	sl_buf_free(&sql);
	if (rc < 0)
		return sl_error_wrap(err, "target: creating schema \"%s\"", schema);
	if (t->batching) {
		t->schemas = sl_realloc(t->schemas, sizeof *t->schemas * (size_t)(t->nschemas + 1));
		t->schemas[t->nschemas++] = sl_strdup(schema);
	}
	return 0;
}

/* An existing target table: sluice never overwrites rows it did not write; a table whose
 * load was cut short (`reload`) is emptied. */
static int pgt_prepare_existing(pg_target *t, struct pg_target_table *tt, bool reload,
                                sl_error *err)
{
	sl_buf sql = {0};
	PGresult *res = NULL;
	sl_buf_printf(&sql, "SELECT EXISTS (SELECT 1 FROM %s)", tt->qualified);
	int rc = sl_pg_query(t->meta, sl_buf_cstr(&sql), 0, NULL, &res, err);
	if (rc < 0) {
		if (rc == SL_ERR_PRIVILEGE)
			sl_error_set(
			        err, rc,
			        "target table %s already exists and user \"%s\" cannot use it "
			        "(make the user its owner, or drop the table so sluice creates "
			        "it)",
			        tt->qualified, PQuser(t->meta));
		goto out;
	}
	bool has_rows = PQgetvalue(res, 0, 0)[0] == 't';
	if (has_rows && !reload) {
		rc = sl_error_set(err, SL_ERR_STATE,
		                  "target table %s.%s already exists and has rows that sluice did "
		                  "not write (empty or drop it, or set target.schema to another "
		                  "schema)",
		                  tt->schema, tt->name);
	} else if (has_rows) {
		sl_buf_reset(&sql);
		sl_buf_printf(&sql, "TRUNCATE %s", tt->qualified);
		if ((rc = sl_pg_exec(t->meta, sl_buf_cstr(&sql), err)) == 0)
			sl_info("target: emptied %s.%s to reload it", tt->schema, tt->name);
	}
out:
	PQclear(res);
	sl_buf_free(&sql);
	return rc;
}

const char *pgt_column_type(const sl_table_def *td, const sl_field *f, bool same_engine, char *buf,
                            size_t n, sl_error *err)
{
	const char *type =
	        same_engine && f->source_type ? f->source_type : sl_pg_type_for_field(f, buf, n);
	if (type == NULL) {
		char d[128];
		sl_error_set(
		        err, SL_ERR_DATA,
		        "target: column %s.%s has Arrow type %s, which PostgreSQL cannot store",
		        td->qualified, f->name, sl_field_describe(f, d, sizeof d));
	}
	return type;
}

/* CREATE TABLE for td: the source's own types from a PostgreSQL source (with its generated
 * columns), else the Arrow types' PostgreSQL forms; no primary key yet (finish_table). */
/* Append table td's CREATE TABLE statement to sql. */
static int pgt_create_sql(const sl_table_def *td, const struct pg_target_table *tt,
                          bool same_engine, sl_buf *sql, sl_error *err)
{
	sl_buf_printf(sql, "CREATE TABLE %s (", tt->qualified);
	for (int i = 0; i < td->nfields; i++) {
		const sl_field *f = &td->fields[i];
		char tbuf[256];
		const char *type = pgt_column_type(td, f, same_engine, tbuf, sizeof tbuf, err);
		if (type == NULL)
			return err->code;
		if (same_engine)
			pgt_generated_columns(td, i, sql);
		if (sql->data[sql->len - 1] != '(')
			sl_buf_puts(sql, ", ");
		sl_pg_quote_ident(sql, f->name);
		sl_buf_printf(sql, " %s%s", type, f->nullable ? "" : " NOT NULL");
	}
	if (same_engine)
		pgt_generated_columns(td, td->nfields, sql);
	sl_buf_puts(sql, ")");
	return 0;
}

static int pgt_create(pg_target *t, const sl_table_def *td, const struct pg_target_table *tt,
                      bool same_engine, sl_error *err)
{
	sl_buf sql = {0};
	int rc = pgt_create_sql(td, tt, same_engine, &sql, err);
	if (rc == 0 && (rc = sl_pg_exec(t->meta, sl_buf_cstr(&sql), err)) < 0)
		sl_error_wrap(err, "target: creating table %s.%s%s", tt->schema, tt->name,
		              rc == SL_ERR_PRIVILEGE
		                      ? " (grant the target user USAGE and CREATE on "
		                        "its schema, or create the table for it)"
		                      : "");
	sl_buf_free(&sql);
	return rc;
}

/* How each column travels into table `oid`, from the target's actual column types: binary
 * COPY straight into the table, or, for columns only text can carry, into a staging table
 * and from there by INSERT ... SELECT with casts. */
static int pgt_plan_load(pg_target *t, const sl_table_def *td, struct pg_target_table *tt, int ti,
                         const sl_pg_column *cols, int ncols, sl_error *err)
{
	int rc = 0;
	tt->codecs = sl_calloc((size_t)td->nfields, sizeof *tt->codecs);
	bool staged = false;
	sl_buf stage = {0}, insert = {0}, select = {0}, collist = {0}, sql = {0};
	sl_buf_printf(&stage, "CREATE TEMP TABLE IF NOT EXISTS \"sluice_stage_%d\" (", ti);
	for (int i = 0; i < td->nfields && rc == 0; i++) {
		const sl_field *f = &td->fields[i];
		const sl_pg_column *col = NULL;
		for (int k = 0; k < ncols; k++)
			if (strcmp(cols[k].name, f->name) == 0)
				col = &cols[k];
		if (col == NULL) {
			rc = sl_error_set(
			        err, SL_ERR_STATE,
			        "target table %s.%s has no column \"%s\" (drop the table so sluice "
			        "recreates it, or add the column)",
			        tt->schema, tt->name, f->name);
			break;
		}
		if (i) {
			sl_buf_puts(&stage, ", ");
			sl_buf_puts(&select, ", ");
			sl_buf_puts(&collist, ", ");
		}
		sl_pg_quote_ident(&collist, f->name);
		sl_pg_quote_ident(&stage, f->name);
		if (sl_pg_target_codec(f, &col->ti, &tt->codecs[i])) {
			sl_buf_printf(&stage, " %s", col->format_type);
			sl_pg_quote_ident(&select, f->name);
			continue;
		}
		bool text_list =
		        f->type == SL_TYPE_LIST && f->child && f->child->type == SL_TYPE_UTF8;
		if (f->type != SL_TYPE_UTF8 && !text_list) {
			char d[128];
			rc = sl_error_set(
			        err, SL_ERR_DATA,
			        "target: cannot load Arrow %s into column %s.%s.%s of type %s",
			        sl_field_describe(f, d, sizeof d), tt->schema, tt->name, f->name,
			        col->format_type);
			break;
		}
		staged = true;
		sl_buf_puts(&stage, text_list ? " text[]" : " text");
		tt->codecs[i].kind = text_list ? SL_PG_ARRAY : SL_PG_TEXT;
		tt->codecs[i].elem_kind = SL_PG_TEXT;
		tt->codecs[i].elem_oid = 25;
		sl_buf ref = {0};
		sl_pg_quote_ident(&ref, f->name);
		pgt_cast_expr(t, &select, sl_buf_cstr(&ref), f, col);
		sl_buf_free(&ref);
	}
	sl_buf_puts(&stage, ") ON COMMIT DELETE ROWS");
	if (rc == 0) {
		if (staged) {
			tt->stage_ddl = sl_strdup(sl_buf_cstr(&stage));
			sl_buf_printf(
			        &insert, "INSERT INTO %s (%s) SELECT %s FROM \"sluice_stage_%d\"",
			        tt->qualified, sl_buf_cstr(&collist), sl_buf_cstr(&select), ti);
			tt->stage_insert = sl_strdup(sl_buf_cstr(&insert));
			sl_buf_printf(&sql,
			              "COPY \"sluice_stage_%d\" (%s) FROM STDIN (FORMAT binary)",
			              ti, sl_buf_cstr(&collist));
		} else {
			sl_buf_printf(&sql, "COPY %s (%s) FROM STDIN (FORMAT binary)",
			              tt->qualified, sl_buf_cstr(&collist));
		}
		tt->copy_sql = sl_strdup(sl_buf_cstr(&sql));
		tt->ready = true;
	}
	sl_buf_free(&stage);
	sl_buf_free(&insert);
	sl_buf_free(&select);
	sl_buf_free(&collist);
	sl_buf_free(&sql);
	return rc;
}

/* pgt_plan_load for tables `pend` (n of them), their columns read in one query. */
static int pgt_plan_loads(pg_target *t, const sl_catalog *cat, const struct pgt_pending *pend,
                          int n, sl_error *err)
{
	sl_buf lit = {0};
	sl_buf_putc(&lit, '{');
	for (int i = 0; i < n; i++)
		sl_buf_printf(&lit, "%s%u", i ? "," : "", pend[i].oid);
	sl_buf_putc(&lit, '}');
	sl_pg_column *cols = NULL;
	int ncols = 0;
	int rc = sl_pg_read_columns(t->meta, sl_buf_cstr(&lit), &cols, &ncols, err);
	sl_buf_free(&lit);
	for (int i = 0; i < n && rc == 0; i++) {
		/* the rows come ordered by table (attrelid), then column: the table's first */
		int at = 0, hi = ncols, k;
		while (at < hi) {
			int mid = at + (hi - at) / 2;
			if (cols[mid].relid < pend[i].oid)
				at = mid + 1;
			else
				hi = mid;
		}
		for (k = at; k < ncols && cols[k].relid == pend[i].oid; k++)
			;
		int ti = pend[i].table;
		rc = pgt_plan_load(t, &cat->tables[ti], &t->tables[ti], ti, cols + at, k - at, err);
	}
	sl_pg_columns_free(cols, ncols);
	return rc;
}

/* The table's oid, or "0" when there is none. */
static int pgt_oid(pg_target *t, const char *qualified, char *oid, size_t n, sl_error *err)
{
	PGresult *res;
	const char *params[1] = {qualified};
	SL_TRY(sl_pg_query(t->meta, "SELECT to_regclass($1)::oid", 1, params, &res, err));
	snprintf(oid, n, "%s", PQgetisnull(res, 0, 0) ? "0" : PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

static int pgt_prepare(sl_target *handle, const sl_catalog *cat, int ti, bool reload, sl_error *err)
{
	pg_target *t = pg_target_of(handle);
	const sl_table_def *td = &cat->tables[ti];
	if (t->tables == NULL) {
		t->tables = sl_calloc((size_t)cat->ntables, sizeof *t->tables);
		t->ntables = cat->ntables;
	}
	struct pg_target_table *tt = &t->tables[ti];
	pgt_table_free(tt);
	tt->schema = sl_strdup(pgt_schema_for(t, td));
	tt->name = sl_strdup(td->name);
	sl_buf q = {0};
	sl_pg_quote_qualified(&q, tt->schema, tt->name);
	tt->qualified = sl_strdup(sl_buf_cstr(&q));
	sl_buf_free(&q);
	bool same_engine = td->engine && strcmp(td->engine, "postgres") == 0;

	if (td->nfields == 0)
		return sl_error_set(err, SL_ERR_DATA, "table %s has no column sluice can replicate",
		                    td->qualified);
	if (same_engine)
		SL_TRY(pgt_requirements(t, td, err));
	SL_TRY(pgt_schema(t, tt->schema, err));
	if (t->batching) {
		t->batch_cat = cat;
		t->pending = sl_realloc(t->pending, sizeof *t->pending * (size_t)(t->npending + 1));
		t->pending[t->npending++] = (struct pgt_pending){ti, reload, 0};
		return 0;
	}
	char oid[16];
	SL_TRY(pgt_oid(t, tt->qualified, oid, sizeof oid, err));
	if (strcmp(oid, "0") != 0) {
		SL_TRY(pgt_prepare_existing(t, tt, reload, err));
	} else {
		SL_TRY(pgt_create(t, td, tt, same_engine, err));
		SL_TRY(pgt_oid(t, tt->qualified, oid, sizeof oid, err));
	}
	struct pgt_pending p = {ti, reload, (uint32_t)strtoul(oid, NULL, 10)};
	return pgt_plan_loads(t, cat, &p, 1, err);
}

/* The oid of each pending table (0: none), in one query. */
static int pgt_pending_oids(pg_target *t, sl_error *err)
{
	sl_buf names = {0};
	sl_buf_putc(&names, '{');
	for (int i = 0; i < t->npending; i++) {
		if (i)
			sl_buf_putc(&names, ',');
		sl_buf_putc(&names, '"');
		for (const char *c = t->tables[t->pending[i].table].qualified; *c; c++) {
			if (*c == '"' || *c == '\\')
				sl_buf_putc(&names, '\\');
			sl_buf_putc(&names, *c);
		}
		sl_buf_putc(&names, '"');
	}
	sl_buf_putc(&names, '}');
	const char *params[1] = {sl_buf_cstr(&names)};
	PGresult *res;
	int rc = sl_pg_query(t->meta,
	                     "SELECT coalesce(to_regclass(n)::oid, 0) FROM unnest($1::text[]) WITH "
	                     "ORDINALITY AS u(n, i) ORDER BY i",
	                     1, params, &res, err);
	sl_buf_free(&names);
	if (rc == 0) {
		for (int i = 0; i < t->npending && i < PQntuples(res); i++)
			t->pending[i].oid = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
		PQclear(res);
		return 0;
	}
	/* one name the user may not look up (a schema without USAGE) fails them all: again one
	 * by one, so the error names the table */
	sl_error_clear(err);
	for (int i = 0; i < t->npending; i++) {
		const struct pg_target_table *tt = &t->tables[t->pending[i].table];
		char oid[16];
		rc = pgt_oid(t, tt->qualified, oid, sizeof oid, err);
		if (rc < 0)
			return sl_error_wrap(
			        err, "target: looking up table %s.%s%s", tt->schema, tt->name,
			        rc == SL_ERR_PRIVILEGE
			                ? " (grant the target user USAGE on its schema)"
			                : "");
		t->pending[i].oid = (uint32_t)strtoul(oid, NULL, 10);
	}
	return sl_error_set(err, SL_ERR_INTERNAL,
	                    "target: looking up %d table(s) together failed, and each on its own "
	                    "did not",
	                    t->npending);
}

/* Tables created together over this many connections (when there are this many or more
 * to create, the extra connection is worth its set-up), and at most this many per transaction
 * (each holds locks until its commit: thousands would exceed max_locks_per_transaction). */
enum { PGT_CREATE_CONNS = 2, PGT_CREATE_SPLIT_MIN = 200, PGT_CREATE_PER_TXN = 250 };

/* Run the CREATE TABLE statements of the pending tables without an oid: in transactions of
 * PGT_CREATE_PER_TXN, over `nconn` connections at once. After a failure the rest of that
 * connection's work is rolled back or skipped, and the tables still missing are created one by
 * one, so an error names the table (and a passing failure only costs time, with a warning). */
static int pgt_create_pending(pg_target *t, PGconn **conns, int nconn, sl_error *err)
{
	const sl_catalog *cat = t->batch_cat;
	sl_buf sql[2] = {{0}, {0}};
	int nnew = 0, rc = 0;
	for (int i = 0; i < t->npending; i++)
		nnew += t->pending[i].oid == 0;
	int inblock[2] = {0, 0};
	for (int i = 0, k = 0; i < t->npending && rc == 0; i++) {
		if (t->pending[i].oid != 0)
			continue;
		int ti = t->pending[i].table;
		const sl_table_def *td = &cat->tables[ti];
		bool same_engine = td->engine && strcmp(td->engine, "postgres") == 0;
		int c = (k++ * nconn) / (nnew ? nnew : 1);
		sl_buf *b = &sql[c];
		if (inblock[c] == PGT_CREATE_PER_TXN) {
			sl_buf_puts(b, "COMMIT;");
			inblock[c] = 0;
		}
		if (inblock[c]++ == 0)
			sl_buf_puts(b, "BEGIN; SET LOCAL synchronous_commit = off;");
		if ((rc = pgt_create_sql(td, &t->tables[ti], same_engine, b, err)) < 0)
			sl_error_wrap(err, "target: creating table %s.%s", t->tables[ti].schema,
			              t->tables[ti].name);
		sl_buf_putc(b, ';');
	}
	bool failed[2] = {false, false};
	char msg[2][256] = {"", ""};
	int sent = 0;
	for (int c = 0; c < nconn && rc == 0; c++) {
		if (inblock[c] == 0)
			continue;
		sl_buf_puts(&sql[c], "COMMIT");
		if (!PQsendQuery(conns[c], sl_buf_cstr(&sql[c]))) {
			failed[c] = true;
			snprintf(msg[c], sizeof msg[c], "%s", PQerrorMessage(conns[c]));
			msg[c][strcspn(msg[c], "\n")] = '\0';
		} else {
			sent = c + 1;
		}
	}
	for (int c = 0; c < sent; c++) {
		PGresult *res;
		while ((res = PQgetResult(conns[c])) != NULL) {
			if (PQresultStatus(res) != PGRES_COMMAND_OK && !failed[c]) {
				failed[c] = true;
				snprintf(msg[c], sizeof msg[c], "%s", PQresultErrorMessage(res));
				msg[c][strcspn(msg[c], "\n")] = '\0';
			}
			PQclear(res);
		}
		if (failed[c] && PQtransactionStatus(conns[c]) != PQTRANS_IDLE)
			sl_pg_exec(conns[c], "ROLLBACK", NULL);
	}
	sl_buf_free(&sql[0]);
	sl_buf_free(&sql[1]);
	if (rc < 0 || !(failed[0] || failed[1]))
		return rc;
	/* again, one table at a time (tables already made are found): a table that cannot be
	 * created is named in the error */
	char why[300];
	snprintf(why, sizeof why, "%s", msg[0][0] ? msg[0] : msg[1]);
	SL_TRY(pgt_pending_oids(t, err));
	for (int i = 0; i < t->npending && rc == 0; i++) {
		if (t->pending[i].oid != 0)
			continue;
		int ti = t->pending[i].table;
		const sl_table_def *td = &cat->tables[ti];
		rc = pgt_create(t, td, &t->tables[ti],
		                td->engine && strcmp(td->engine, "postgres") == 0, err);
	}
	if (rc == 0)
		sl_warn("target: creating %d table(s) together failed (%s); created one by one "
		        "instead",
		        nnew, why);
	return rc;
}

static int pgt_prepare_pending(pg_target *t, sl_error *err)
{
	SL_TRY(pgt_pending_oids(t, err));
	int nnew = 0;
	for (int i = 0; i < t->npending; i++) {
		struct pgt_pending *p = &t->pending[i];
		if (p->oid != 0)
			SL_TRY(pgt_prepare_existing(t, &t->tables[p->table], p->reload, err));
		else
			nnew++;
	}
	if (nnew > 0) {
		PGconn *conns[PGT_CREATE_CONNS] = {t->meta, NULL};
		int nconn = 1;
		if (nnew >= PGT_CREATE_SPLIT_MIN &&
		    sl_pg_connect(&t->cfg->target, "target", false, &conns[1], err) == 0)
			nconn = 2;
		sl_error_clear(err); /* without the second connection, one does it all */
		int rc = pgt_create_pending(t, conns, nconn, err);
		if (conns[1])
			PQfinish(conns[1]);
		SL_TRY(rc);
		SL_TRY(pgt_pending_oids(t, err));
		for (int i = 0; i < t->npending; i++)
			if (t->pending[i].oid == 0)
				return sl_error_set(err, SL_ERR_INTERNAL,
				                    "target: table %s was created but is not there",
				                    t->tables[t->pending[i].table].qualified);
	}
	return pgt_plan_loads(t, t->batch_cat, t->pending, t->npending, err);
}

/* Commit a transaction that writes its commit record and waits for it to be flushed, at the
 * session's default synchronous_commit or `on` if that is weaker: every transaction committed
 * before it on this server is then durable too (the WAL is flushed in order). */
static int pgt_durable(PGconn *conn, sl_error *err)
{
	int rc = sl_pg_exec(conn,
	                    "BEGIN; SET LOCAL synchronous_commit TO DEFAULT;"
	                    " SELECT set_config('synchronous_commit', CASE WHEN"
	                    " current_setting('synchronous_commit') IN ('off', 'local') THEN 'on'"
	                    " ELSE current_setting('synchronous_commit') END, true),"
	                    " txid_current(); COMMIT",
	                    err);
	if (rc < 0 && PQtransactionStatus(conn) != PQTRANS_IDLE)
		sl_pg_exec(conn, "ROLLBACK", NULL);
	return rc;
}

/* Many tables: their DDL commits without waiting for the disk, then one transaction that
 * commits synchronously makes all of it durable (its commit record comes after theirs in the
 * WAL, and a synchronous commit flushes the WAL up to it). */
static int pgt_prepare_batch(sl_target *handle, bool begin, sl_error *err)
{
	pg_target *t = pg_target_of(handle);
	if (begin) {
		t->npending = 0;
		SL_TRY(sl_pg_exec(t->meta, "SET synchronous_commit = off", err));
		t->batching = true;
		return 0;
	}
	t->batching = false;
	int rc = 0;
	if (t->npending > 0)
		rc = pgt_prepare_pending(t, err);
	free(t->pending);
	t->pending = NULL;
	t->npending = 0;
	for (int i = 0; i < t->nschemas; i++)
		free(t->schemas[i]);
	free(t->schemas);
	t->schemas = NULL;
	t->nschemas = 0;
	sl_error e = {0};
	int drc = sl_pg_exec(t->meta, "RESET synchronous_commit", &e);
	if (drc == 0)
		drc = pgt_durable(t->meta, &e);
	if (drc < 0 && rc == 0) {
		*err = e;
		rc = sl_error_wrap(err, "target: committing the tables' definitions");
	}
	return rc;
}

static int pgt_writer_open(sl_target *handle, sl_writer **out, sl_error *err)
{
	pg_target *t = pg_target_of(handle);
	pg_writer *w = sl_calloc(1, sizeof *w);
	w->tgt = t;
	w->table = -1;
	w->stage_made = sl_calloc((size_t)(t->ntables ? t->ntables : 1), sizeof *w->stage_made);
	int rc = sl_pg_connect(&t->cfg->target, "target", false, &w->conn, err);
	if (rc == 0)
		rc = sl_pg_exec(w->conn, "SET maintenance_work_mem = '256MB'", err);
	if (rc < 0) {
		if (w->conn)
			PQfinish(w->conn);
		free(w->stage_made);
		free(w);
		return rc;
	}
	w->cancel = PQgetCancel(w->conn);
	*out = pg_writer_handle(w);
	return 0;
}

static int pgt_load_begin(sl_writer *handle, const sl_catalog *cat, int ti, sl_error *err)
{
	pg_writer *w = pg_writer_of(handle);
	(void)cat;
	struct pg_target_table *tt = &w->tgt->tables[ti];
	if (!tt->ready)
		return sl_error_set(err, SL_ERR_INTERNAL, "target table %d was not prepared", ti);
	w->table = ti;
	if (tt->stage_ddl) {
		SL_TRY(sl_pg_exec(w->conn, "BEGIN", err));
		w->in_txn = true;
		if (!w->stage_made[ti]) {
			SL_TRY(sl_pg_exec(w->conn, tt->stage_ddl, err));
			w->stage_made[ti] = true;
		}
	}
	SL_TRY(sl_pg_copy_in_begin(w->conn, tt->copy_sql, err));
	sl_buf_reset(&w->out);
	sl_pgcopy_write_header(&w->out);
	return 0;
}

static int pgt_load_batch(sl_writer *handle, const sl_batch *b, sl_error *err)
{
	pg_writer *w = pg_writer_of(handle);
	const struct pg_target_table *tt = &w->tgt->tables[w->table];
	for (int64_t r = 0; r < b->length; r++) {
		/* row by row, so the output buffer stays about SL_COPY_SLICE even for wide rows */
		SL_TRY(sl_pgcopy_encode_rows(tt->codecs, b, r, r + 1, &w->out, err));
		if (w->out.len >= SL_COPY_SLICE) {
			SL_TRY(sl_pg_copy_in_put(w->conn, &w->out, err));
			sl_buf_reset(&w->out);
		}
	}
	return 0;
}

static int pgt_load_end(sl_writer *handle, sl_error *err)
{
	pg_writer *w = pg_writer_of(handle);
	const struct pg_target_table *tt = &w->tgt->tables[w->table];
	sl_pgcopy_write_trailer(&w->out);
	SL_TRY(sl_pg_copy_in_put(w->conn, &w->out, err));
	sl_buf_reset(&w->out);
	int rc = sl_pg_copy_in_end(w->conn, err);
	if (rc == 0 && tt->stage_insert)
		rc = sl_pg_exec(w->conn, tt->stage_insert, err);
	if (rc == 0 && w->in_txn) {
		rc = sl_pg_exec(w->conn, "COMMIT", err);
		w->in_txn = false;
	}
	if (rc < 0)
		sl_error_wrap(err, "target: loading %s.%s", tt->schema, tt->name);
	w->table = -1;
	return rc;
}

static void pgt_load_abort(sl_writer *handle)
{
	pg_writer *w = pg_writer_of(handle);
	if (PQtransactionStatus(w->conn) == PQTRANS_ACTIVE)
		PQputCopyEnd(w->conn, "sluice: load aborted");
	PGresult *res;
	while ((res = PQgetResult(w->conn)) != NULL)
		PQclear(res);
	if (PQtransactionStatus(w->conn) != PQTRANS_IDLE)
		sl_pg_exec(w->conn, "ROLLBACK", NULL);
	w->in_txn = false;
	w->table = -1;
}

static int pgt_finish_table(sl_writer *handle, const sl_catalog *cat, int ti, sl_error *err)
{
	pg_writer *w = pg_writer_of(handle);
	const sl_table_def *td = &cat->tables[ti];
	const struct pg_target_table *tt = &w->tgt->tables[ti];
	if (td->nkey == 0)
		return 0;
	PGresult *res;
	const char *params[1] = {tt->qualified};
	SL_TRY(sl_pg_query(
	        w->conn, "SELECT 1 FROM pg_index WHERE indrelid = to_regclass($1) AND indisprimary",
	        1, params, &res, err));
	bool has_pk = PQntuples(res) > 0;
	PQclear(res);
	if (has_pk)
		return 0;
	sl_buf sql = {0};
	sl_buf_printf(&sql, "ALTER TABLE %s ADD PRIMARY KEY (", tt->qualified);
	for (int k = 0; k < td->nkey; k++) {
		if (k)
			sl_buf_puts(&sql, ", ");
		sl_pg_quote_ident(&sql, td->fields[td->key[k]].name);
	}
	sl_buf_puts(&sql, ")");
	int rc = sl_pg_exec(w->conn, sl_buf_cstr(&sql), err);
	if (rc < 0)
		sl_error_wrap(err, "target: adding the primary key of %s.%s", tt->schema, tt->name);
	sl_buf_free(&sql);
	return rc;
}

/* Commits without waiting for the disk until pgt_writer_sync, whose synchronous commit flushes
 * the WAL past all of them (see pgt_prepare_batch). */
static int pgt_writer_defer(sl_writer *handle, sl_error *err)
{
	pg_writer *w = pg_writer_of(handle);
	return sl_pg_exec(w->conn, "SET synchronous_commit = off", err);
}

static int pgt_writer_sync(sl_writer *handle, sl_error *err)
{
	pg_writer *w = pg_writer_of(handle);
	int rc = pgt_durable(w->conn, err);
	if (rc < 0)
		sl_error_wrap(err, "target: making the loaded tables durable");
	return rc;
}

static void pgt_writer_cancel(sl_writer *handle)
{
	pg_writer *w = pg_writer_of(handle);
	sl_pg_cancel(w->cancel);
}

static void pgt_writer_close(sl_writer *handle)
{
	pg_writer *w = pg_writer_of(handle);
	if (w == NULL)
		return;
	PQfreeCancel(w->cancel);
	PQfinish(w->conn);
	sl_buf_free(&w->out);
	free(w->stage_made);
	free(w);
}

/* Another engine's table: each target column is read the way the writer wrote it (the same
 * codec, from the source's Arrow field to the column's type) and decoded back into the source's
 * field, so both digests hash the same Arrow values. Columns the writer staged as text are read
 * as text. */
static int pgt_digest_codecs(pg_target *t, const sl_table_def *td, const sl_pg_column *cols,
                             sl_pg_codec *codecs, sl_pg_select *how, sl_error *err)
{
	for (int i = 0; i < td->nfields; i++) {
		const sl_field *f = &td->fields[i];
		if (sl_pg_target_codec(f, &cols[i].ti, &codecs[i])) {
			how[i] = SL_PG_SELECT_PLAIN;
			continue;
		}
		bool text_list =
		        f->type == SL_TYPE_LIST && f->child && f->child->type == SL_TYPE_UTF8;
		if (f->type != SL_TYPE_UTF8 && !text_list) {
			char d[128];
			return sl_error_set(err, SL_ERR_MISMATCH,
			                    "column \"%s\" of %s.%s has type %s, which cannot hold "
			                    "the source's Arrow %s",
			                    f->name, pgt_schema_for(t, td), td->name,
			                    cols[i].format_type, sl_field_describe(f, d, sizeof d));
		}
		how[i] = text_list ? SL_PG_SELECT_TEXT_ARRAY : SL_PG_SELECT_TEXT;
		codecs[i].kind = text_list ? SL_PG_ARRAY : SL_PG_TEXT;
		codecs[i].elem_kind = SL_PG_TEXT;
		codecs[i].elem_oid = 25;
	}
	return 0;
}

static int pgt_digest(sl_target *handle, const sl_catalog *cat, int ti, sl_digest *d, sl_error *err)
{
	pg_target *t = pg_target_of(handle);
	const sl_table_def *td = &cat->tables[ti];
	bool same_engine = td->engine && strcmp(td->engine, "postgres") == 0;
	sl_buf q = {0}, sql = {0};
	sl_pg_quote_qualified(&q, pgt_schema_for(t, td), td->name);
	sl_pg_column *cols = NULL, *picked = sl_calloc((size_t)td->nfields, sizeof *picked);
	int ncols = 0;
	/* one table after another: a prepared statement saves planning it each time */
	bool missing;
	int rc = sl_pg_read_relation_columns(t->meta, &t->meta_cols_prepared, sl_buf_cstr(&q),
	                                     &cols, &ncols, &missing, err);
	if (rc < 0)
		goto out;
	if (missing) {
		rc = sl_error_set(err, SL_ERR_MISMATCH, "target table %s.%s does not exist",
		                  pgt_schema_for(t, td), td->name);
		goto out;
	}
	for (int i = 0; i < td->nfields; i++) {
		int k = 0;
		while (k < ncols && strcmp(cols[k].name, td->fields[i].name) != 0)
			k++;
		if (k == ncols) {
			rc = sl_error_set(err, SL_ERR_MISMATCH,
			                  "target table %s.%s lacks column \"%s\"",
			                  pgt_schema_for(t, td), td->name, td->fields[i].name);
			goto out;
		}
		picked[i] = cols[k];
	}
	sl_pg_codec *codecs = sl_calloc((size_t)td->nfields, sizeof *codecs);
	sl_pg_select *how = sl_calloc((size_t)td->nfields, sizeof *how);
	sl_field *fields = NULL;
	if (same_engine) {
		/* both sides decode the same PostgreSQL types into the same Arrow values */
		fields = sl_calloc((size_t)td->nfields, sizeof *fields);
		const char **reasons = sl_calloc((size_t)td->nfields, sizeof *reasons);
		sl_pg_build_select(picked, td->nfields, fields, codecs, how, reasons);
		free(reasons);
	} else if ((rc = pgt_digest_codecs(t, td, picked, codecs, how, err)) < 0) {
		goto out1;
	}
	sl_buf_puts(&sql, "COPY (SELECT ");
	for (int i = 0; i < td->nfields; i++) {
		if (i)
			sl_buf_puts(&sql, ", ");
		sl_pg_select_expr(&sql, td->fields[i].name, how[i]);
	}
	sl_buf_printf(&sql, " FROM %s) TO STDOUT (FORMAT binary)", sl_buf_cstr(&q));
	rc = sl_pg_copy_digest(t->meta, sl_buf_cstr(&sql), same_engine ? fields : td->fields,
	                       codecs, td->nfields, d, err);
	if (rc == SL_ERR_DATA && !same_engine) {
		/* a target value the source's type cannot hold: the tables differ */
		sl_error_wrap(err, "target table %s.%s", pgt_schema_for(t, td), td->name);
		if (err)
			err->code = SL_ERR_MISMATCH;
		rc = SL_ERR_MISMATCH;
	}
out1:
	if (fields)
		for (int i = 0; i < td->nfields; i++)
			sl_field_reset(&fields[i]);
	free(fields);
	free(codecs);
	free(how);
out:
	free(picked);
	sl_pg_columns_free(cols, ncols);
	sl_buf_free(&q);
	sl_buf_free(&sql);
	return rc;
}

static const char *const pgt_options[] = {"schema", NULL};

const sl_target_ops sl_pg_target_ops = {
        .type = "postgres",
        .options = pgt_options,
        .open = pgt_open,
        .close = pgt_close,
        .check = pgt_check,
        .prepare = pgt_prepare,
        .prepare_batch = pgt_prepare_batch,
        .writer_defer = pgt_writer_defer,
        .writer_sync = pgt_writer_sync,
        .table_name = pgt_table_name,
        .writer_open = pgt_writer_open,
        .load_begin = pgt_load_begin,
        .load_batch = pgt_load_batch,
        .load_end = pgt_load_end,
        .load_abort = pgt_load_abort,
        .finish_table = pgt_finish_table,
        .writer_cancel = pgt_writer_cancel,
        .writer_close = pgt_writer_close,
        .digest = pgt_digest,
        .rename = pgt_rename,
        .apply_open = pga_open,
        .apply_shape = pga_shape,
        .apply_changes = pga_changes,
        .apply_truncate = pga_truncate,
        .apply_actions = pga_actions,
        .apply_commit = pga_commit,
        .apply_rollback = pga_rollback,
        .apply_cancel = pga_cancel,
        .apply_close = pga_close,
        .durable = pga_durable,
};
