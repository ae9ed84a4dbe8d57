/* PostgreSQL target: applying changes (CDC), exactly once.
 *
 * A group of source transactions becomes one target transaction. Per table, the collapsed
 * changes (at most one live row per key) are copied with COPY (FORMAT binary) into a temporary
 * staging table, then merged with set-based statements. A stage holds the staged types of a
 * table's columns (positional columns c1, c2, ...) after the batch number, the operation and
 * the unchanged-column mask; tables whose columns stage as the same types share one, each
 * COPY is a batch of its own, and every statement reads its batch only (by an index on the
 * batch number and the row number: the statements that join a batch to itself by row number
 * would otherwise run a nested loop over the batch per row, since temp tables have no
 * statistics and the planner takes a batch for a sliver of the table). A session creates a stage
 * per distinct list of types, not per table, and a stage is emptied once per transaction (ON COMMIT
 * DELETE ROWS), not before each use. The merges: keyed:   DELETE ... USING stage WHERE op = 'D';
 *            INSERT ... SELECT FROM stage ... ON CONFLICT (key) DO UPDATE (full images);
 *            UPDATE ... FROM stage (images with unchanged TOAST columns: those keep the
 *            target's value).
 *   keyless: DELETE one target row per staged old image (rows compared as text; a table scan);
 *            INSERT the new rows.
 * Columns the target has and the source no longer sends (dropped on the source) are set to NULL
 * by updates. The last position of the group is upserted into _sluice.positions in the same
 * transaction, so after a crash data and position agree.
 *
 * Schema changes (apply_shape) run in the same transaction: a new column is added, a widened
 * type is altered, anything else stops the pipeline with the table and column named. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "clients/pgcatalog.h"
#include "clients/pgclient.h"
#include "targets/postgres/pg_target_int.h"

#define PGA_COPY_SLICE (1u << 20)

/* A staging table: its types, and whether it exists in the session. */
struct pga_stage {
	char *types;         /* the staged types, comma-separated */
	bool exists;         /* created (and not undone by a rollback) */
	bool created_in_txn; /* a rollback of the open transaction undoes it */
};

struct pga_table {
	sl_shape *shape;
	char *qualified; /* "schema"."name" */
	char *display;   /* schema.name for messages */
	int stage_ix;    /* into pg_applier.stages */
	char stage[32];  /* its name */
	int64_t batch;   /* the batch the table's last changes were staged as */
	sl_pg_codec *codecs;
	char *copy_sql, *del_sql, *ups_sql, *upd_sql, *ins_sql, *kdel_sql, *fill_sql;
	char *lost_sql; /* staged partial images whose row the target lacks (pga_check_lost) */
	char **exprs;   /* per shape field: its staged value as the target type ("s." prefix) */
	int nexprs;
};

struct pg_applier {
	pg_target *tgt;
	const sl_catalog *cat;
	bool stale; /* apply_shape: rows held cannot get an added column's values */
	PGconn *conn;
	PGcancel *cancel;
	char *epoch;
	uint64_t converge_until; /* see apply_open */
	bool in_txn;
	struct pga_table *tables;
	struct pga_stage *stages;
	int nstages;
	int64_t batch;                    /* the last batch number staged in the session */
	bool cols_prepared, key_prepared; /* statements prepared on conn */
	sl_buf out;
};

static const char pga_state_ddl[] = "CREATE SCHEMA IF NOT EXISTS _sluice;"
                                    "CREATE TABLE IF NOT EXISTS _sluice.positions ("
                                    " pipeline text PRIMARY KEY,"
                                    " epoch text NOT NULL,"
                                    " position text NOT NULL,"
                                    " version bigint NOT NULL,"
                                    " source_commit_time timestamptz,"
                                    " applied_at timestamptz NOT NULL DEFAULT now())";

static int pga_read_position(PGconn *conn, const char *name, const char *epoch, sl_durable *d,
                             sl_error *err)
{
	memset(d, 0, sizeof *d);
	PGresult *res;
	const char *params[1] = {name};
	SL_TRY(sl_pg_query(conn,
	                   "SELECT epoch, position, version,"
	                   " (extract(epoch FROM source_commit_time) * 1000000)::bigint,"
	                   " (extract(epoch FROM applied_at) * 1000000)::bigint"
	                   " FROM _sluice.positions WHERE pipeline = $1",
	                   1, params, &res, err));
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), epoch) == 0) {
		d->found = true;
		const char *pos = PQgetvalue(res, 0, 1);
		if (strlen(pos) >= sizeof d->position) {
			PQclear(res);
			return sl_error_set(
			        err, SL_ERR_STATE,
			        "target: the position in _sluice.positions is longer than "
			        "%zu bytes, which sluice reads",
			        sizeof d->position - 1);
		}
		memcpy(d->position, pos, strlen(pos) + 1);
		d->version = strtoull(PQgetvalue(res, 0, 2), NULL, 10);
		d->commit_us = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
		d->applied_us = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	}
	PQclear(res);
	return 0;
}

int pga_durable(sl_target *handle, const char *epoch, sl_durable *out, sl_error *err)
{
	pg_target *tgt = pg_target_of(handle);
	PGresult *res;
	memset(out, 0, sizeof *out);
	SL_TRY(sl_pg_query(tgt->meta, "SELECT to_regclass('_sluice.positions') IS NOT NULL", 0,
	                   NULL, &res, err));
	bool exists = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!exists)
		return 0;
	return pga_read_position(tgt->meta, tgt->cfg->name, epoch, out, err);
}

static void pga_free_statements(struct pga_table *tt)
{
	char **sql[] = {&tt->copy_sql, &tt->del_sql,  &tt->ups_sql,  &tt->upd_sql,
	                &tt->ins_sql,  &tt->kdel_sql, &tt->fill_sql, &tt->lost_sql};
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		free(*sql[i]);
		*sql[i] = NULL;
	}
	for (int i = 0; i < tt->nexprs; i++)
		free(tt->exprs[i]);
	free(tt->exprs);
	tt->exprs = NULL;
	tt->nexprs = 0;
}

static void pga_table_clear(struct pga_table *tt)
{
	sl_shape_unref(tt->shape);
	free(tt->qualified);
	free(tt->display);
	free(tt->codecs);
	pga_free_statements(tt);
	memset(tt, 0, sizeof *tt);
}

void pga_close(sl_applier *handle)
{
	pg_applier *a = pg_applier_of(handle);
	if (a == NULL)
		return;
	for (int i = 0; a->tables && i < a->cat->ntables; i++)
		pga_table_clear(&a->tables[i]);
	free(a->tables);
	for (int i = 0; i < a->nstages; i++)
		free(a->stages[i].types);
	free(a->stages);
	if (a->cancel)
		PQfreeCancel(a->cancel);
	if (a->conn)
		PQfinish(a->conn);
	free(a->epoch);
	sl_buf_free(&a->out);
	free(a);
}

int pga_open(sl_target *handle, const sl_catalog *cat, const char *epoch, uint64_t converge_until,
             sl_applier **out, sl_durable *durable, sl_error *err)
{
	pg_target *tgt = pg_target_of(handle);
	pg_applier *a = sl_calloc(1, sizeof *a);
	a->converge_until = converge_until;
	a->tgt = tgt;
	a->cat = cat;
	a->epoch = sl_strdup(epoch);
	a->tables = sl_calloc((size_t)(cat->ntables ? cat->ntables : 1), sizeof *a->tables);
	int rc = sl_pg_connect(&tgt->cfg->target, "target", false, &a->conn, err);
	if (rc == 0) {
		a->cancel = PQgetCancel(a->conn);
		rc = sl_pg_exec(a->conn, pga_state_ddl, err);
		if (rc < 0)
			sl_error_wrap(
			        err, "target: creating the position table _sluice.positions (grant "
			             "the target user CREATE on the database, or create schema "
			             "_sluice for it)");
	}
	if (rc == 0)
		rc = pga_read_position(a->conn, tgt->cfg->name, epoch, durable, err);
	if (rc < 0) {
		pga_close(pg_applier_handle(a));
		return rc;
	}
	*out = pg_applier_handle(a);
	return 0;
}

void pga_cancel(sl_applier *handle)
{
	pg_applier *a = pg_applier_of(handle);
	if (a && a->cancel)
		sl_pg_cancel(a->cancel);
}

static int pga_begin(pg_applier *a, sl_error *err)
{
	if (a->in_txn)
		return 0;
	if (sl_pg_exec(a->conn, "BEGIN", err) < 0)
		return sl_error_wrap(err, "target");
	a->in_txn = true;
	return 0;
}

void pga_rollback(sl_applier *handle)
{
	pg_applier *a = pg_applier_of(handle);
	if (a->in_txn && PQstatus(a->conn) == CONNECTION_OK) {
		sl_error e = {0};
		sl_pg_exec(a->conn, "ROLLBACK", &e);
	}
	a->in_txn = false;
	for (int i = 0; i < a->nstages; i++) {
		if (a->stages[i].created_in_txn)
			a->stages[i].exists = false;
		a->stages[i].created_in_txn = false;
	}
}

/* ---------------------------------------------------------------- schema ---- */

/* Split "numeric(12,2)" / "character varying(40)" / "timestamp(3) without time zone" into the
 * name without the modifier and up to two numbers (-1 when absent). */
static void pga_parse_type(const char *t, char *base, size_t n, int *a, int *b)
{
	*a = *b = -1;
	const char *open = strchr(t, '(');
	if (open == NULL) {
		snprintf(base, n, "%s", t);
		return;
	}
	const char *close = strchr(open, ')');
	if (close == NULL) {
		snprintf(base, n, "%s", t);
		return;
	}
	sscanf(open + 1, "%d,%d", a, b);
	snprintf(base, n, "%.*s%s", (int)(open - t), t, close + 1);
}

static int pga_int_digits(const char *base)
{
	if (strcmp(base, "smallint") == 0)
		return 5;
	if (strcmp(base, "integer") == 0)
		return 10;
	if (strcmp(base, "bigint") == 0)
		return 19;
	return 0;
}

/* Can a column of type `from` become `to` without losing any value it may hold? */
static bool pga_widening(const char *from, const char *to)
{
	char fb[128], tb[128];
	int f1, f2, t1, t2;
	pga_parse_type(from, fb, sizeof fb, &f1, &f2);
	pga_parse_type(to, tb, sizeof tb, &t1, &t2);
	int fd = pga_int_digits(fb), td = pga_int_digits(tb);
	if (fd && td)
		return td >= fd;
	if (fd && strcmp(tb, "numeric") == 0)
		return t1 < 0 || t1 - (t2 < 0 ? 0 : t2) >= fd;
	if (strcmp(fb, "real") == 0 && strcmp(tb, "double precision") == 0)
		return true;
	if (strcmp(fb, "numeric") == 0 && strcmp(tb, "numeric") == 0) {
		if (t1 < 0)
			return true;
		if (f1 < 0)
			return false;
		int fs = f2 < 0 ? 0 : f2, ts = t2 < 0 ? 0 : t2;
		return ts >= fs && t1 - ts >= f1 - fs;
	}
	if (strcmp(fb, "character varying") == 0 || strcmp(fb, "text") == 0) {
		if (strcmp(tb, "text") == 0)
			return true;
		if (strcmp(tb, "character varying") == 0)
			return t1 < 0 ||
			       (strcmp(fb, "character varying") == 0 && f1 >= 0 && t1 >= f1);
		return false;
	}
	if ((strcmp(fb, "character") == 0 && strcmp(tb, "character") == 0) ||
	    (strcmp(fb, "bit varying") == 0 && strcmp(tb, "bit varying") == 0))
		return t1 < 0 || (f1 >= 0 && t1 >= f1);
	if (strcmp(fb, tb) == 0 &&
	    (strncmp(fb, "timestamp", 9) == 0 || strncmp(fb, "time ", 5) == 0))
		return (t1 < 0 ? 6 : t1) >= (f1 < 0 ? 6 : f1);
	return false;
}

static const sl_pg_column *pga_find_col(const sl_pg_column *cols, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(cols[i].name, name) == 0)
			return &cols[i];
	return NULL;
}

static bool pga_same_shape(const sl_shape *a, const sl_shape *b)
{
	if (a == b)
		return true;
	if (a == NULL || b == NULL || a->nfields != b->nfields || a->key_known != b->key_known)
		return false;
	for (int i = 0; i < a->nfields; i++) {
		const sl_field *x = &a->fields[i], *y = &b->fields[i];
		if (strcmp(x->name, y->name) != 0 || x->type != y->type ||
		    x->key_pos != y->key_pos ||
		    strcmp(x->source_type ? x->source_type : "",
		           y->source_type ? y->source_type : ""))
			return false;
	}
	return true;
}

static int pga_read_cols(pg_applier *a, struct pga_table *tt, sl_pg_column **cols, int *n,
                         sl_error *err)
{
	bool missing;
	SL_TRY(sl_pg_read_relation_columns(a->conn, &a->cols_prepared, tt->qualified, cols, n,
	                                   &missing, err));
	if (missing)
		return sl_error_set(err, SL_ERR_STATE,
		                    "target table %s is missing (was it dropped?); drop the "
		                    "pipeline's target tables and run sluice reset to start over",
		                    tt->display);
	return 0;
}

/* A type name without its modifiers: "timestamp(3) with time zone" -> "timestamp with time
 * zone". */
static void pga_base_type(const char *t, char *out, size_t n)
{
	size_t o = 0;
	int depth = 0;
	for (const char *p = t; *p && o + 1 < n; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0)
			out[o++] = *p;
	}
	out[o] = '\0';
}

/* Whether two type names differ only in their modifiers ("numeric(10,2)", "numeric(12,2)"). */
static bool pga_same_base(const char *a, const char *b)
{
	char ba[256], bb[256];
	pga_base_type(a, ba, sizeof ba);
	pga_base_type(b, bb, sizeof bb);
	return strcmp(ba, bb) == 0;
}

/* Bring the target table's columns in line with the shape (inside the transaction). */
static int pga_evolve(pg_applier *a, struct pga_table *tt, const sl_table_def *td,
                      const sl_shape *shape, const sl_pg_column *cols, int ncols, bool *changed,
                      sl_error *err)
{
	int rc = 0;
	bool same_engine = td->engine && strcmp(td->engine, "postgres") == 0;
	sl_buf sql = {0};
	for (int i = 0; i < shape->nfields && rc == 0; i++) {
		const sl_field *f = &shape->fields[i];
		char tbuf[256];
		const char *want = pgt_column_type(td, f, same_engine, tbuf, sizeof tbuf, err);
		if (want == NULL) {
			rc = err->code;
			break;
		}
		const sl_pg_column *col = pga_find_col(cols, ncols, f->name);
		sl_buf_reset(&sql);
		if (col == NULL) {
			if (same_engine && (rc = pgt_requirements(a->tgt, td, err)) < 0)
				break;
			sl_buf_printf(&sql, "ALTER TABLE %s ADD COLUMN ", tt->qualified);
			sl_pg_quote_ident(&sql, f->name);
			sl_buf_printf(&sql, " %s", want);
			if (same_engine && f->fill_text) {
				/* the rows held get the value the source's rows read; the default
				 * goes again at once (changes carry every value) */
				sl_buf_puts(&sql, " DEFAULT ");
				sl_pg_quote_literal(&sql, f->fill_text);
				sl_buf_printf(&sql, "::%s; ALTER TABLE %s ALTER COLUMN ", want,
				              tt->qualified);
				sl_pg_quote_ident(&sql, f->name);
				sl_buf_puts(&sql, " DROP DEFAULT");
			}
			if (f->fill_missing)
				a->stale = true;
			if (f->fill_missing)
				sl_warn("target: %s: column %s was added on the source, and the "
				        "change log does not carry the values rows that existed "
				        "then hold (a volatile default or a rewrite, or a source "
				        "that never says): those rows hold NULL here until the "
				        "table is copied again (a streaming run starts that "
				        "itself where the source can; else 'sluice resync')",
				        tt->display, f->name);
			sl_info("target: %s: adding column %s %s (added on the source%s)",
			        tt->display, f->name, want,
			        same_engine && f->fill_text ? "; rows held get its default" : "");
		} else if (strcmp(col->format_type, want) != 0) {
			if (!pga_widening(col->format_type, want)) {
				rc = sl_error_set(
				        err, SL_ERR_DATA,
				        "source column %s.%s changed type from %s to %s, which "
				        "sluice "
				        "cannot apply safely to %s (only widening changes are "
				        "applied; "
				        "alter the target column by hand, then run again)",
				        td->qualified, f->name, col->format_type, want,
				        tt->display);
				break;
			}
			sl_buf_printf(&sql, "ALTER TABLE %s ALTER COLUMN ", tt->qualified);
			sl_pg_quote_ident(&sql, f->name);
			sl_buf_printf(&sql, " TYPE %s USING ", want);
			sl_pg_quote_ident(&sql, f->name);
			sl_buf_printf(&sql, "::%s", want);
			sl_info("target: %s: column %s widened from %s to %s", tt->display, f->name,
			        col->format_type, want);
			/* a new base type (not only a longer varchar or a larger precision):
			 * the source rewrote its rows, and ALTER TYPE ... USING may have changed
			 * their values without logging them */
			if (!pga_same_base(col->format_type, want))
				a->stale = true;
		} else {
			continue;
		}
		if ((rc = pga_begin(a, err)) == 0)
			rc = sl_pg_exec(a->conn, sl_buf_cstr(&sql), err);
		*changed = true;
	}
	for (int k = 0; k < ncols && rc == 0; k++) {
		const sl_pg_column *col = &cols[k];
		if (sl_shape_find(shape, col->name) >= 0 || col->generated)
			continue;
		bool was = tt->shape && sl_shape_find(tt->shape, col->name) >= 0, key = false;
		for (int j = 0; j < td->nfields && !was; j++)
			was = strcmp(td->fields[j].name, col->name) == 0;
		for (int j = 0; j < td->nkey; j++)
			key |= strcmp(td->fields[td->key[j]].name, col->name) == 0;
		if (!was || key)
			continue; /* not the source's (a column added on the target by hand) */
		if (tt->shape && sl_shape_find(tt->shape, col->name) >= 0)
			sl_info("target: %s: column %s was dropped on the source; it is kept and "
			        "set to NULL by later updates",
			        tt->display, col->name);
		if (col->notnull) {
			/* rows inserted from now on hold NULL in it */
			sl_buf_reset(&sql);
			sl_buf_printf(&sql, "ALTER TABLE %s ALTER COLUMN ", tt->qualified);
			sl_pg_quote_ident(&sql, col->name);
			sl_buf_puts(&sql, " DROP NOT NULL");
			if ((rc = pga_begin(a, err)) == 0)
				rc = sl_pg_exec(a->conn, sl_buf_cstr(&sql), err);
			*changed = true;
		}
	}
	sl_buf_free(&sql);
	return rc;
}

/* " AND t.k = <alias>.k[::type] ..." for the key columns; exprs are written for alias "s". */
/* " AND t.key = <expr>" for every key column; exprs are the stage row's values as the target
 * types, written for the stage alias the statement uses (a range's is a whole CASE expression,
 * so the alias cannot be patched in afterwards). */
static void pga_key_match(sl_buf *b, const sl_shape *shape, const int *key, int nkey,
                          char *const *exprs)
{
	for (int k = 0; k < nkey; k++) {
		sl_buf_puts(b, " AND t.");
		sl_pg_quote_ident(b, shape->fields[key[k]].name);
		sl_buf_printf(b, " = %s", exprs[key[k]]);
	}
}

/* Build the staging table and the merge statements for the current shape. */
/* What pga_plan has worked out for the statements of a table: its shape, the key columns,
 * each column read from the stage row (s.col, and o.col for a MOVE's old row) as the target
 * type, which columns travel as text, the column list, the select list, and the SET of the
 * target columns the source no longer sends (", c = NULL ..." or ""). */
struct pga_parts {
	const sl_shape *shape;
	int n;
	const int *key;
	int nkey;
	char *const *exprs, *const *oexprs;
	const char *staged;
	const char *collist, *sel, *dropped;
};

/* A keyed table: delete by key, upsert in key order, MOVE fills and updates of unchanged
 * columns from the target's row, and the query for changes whose row is missing. */
static void pga_plan_keyed(struct pga_table *tt, const struct pga_parts *p)
{
	sl_buf b = {0};
	sl_buf_printf(&b, "DELETE FROM %s t USING %s s WHERE s._sl_b = $1 AND s._sl_op = 'D'",
	              tt->qualified, tt->stage);
	pga_key_match(&b, p->shape, p->key, p->nkey, p->exprs);
	tt->del_sql = sl_strdup(sl_buf_cstr(&b));

	sl_buf_reset(&b);
	sl_buf_printf(&b,
	              "INSERT INTO %s AS t (%s) SELECT %s FROM %s s WHERE s._sl_b = $1 AND "
	              "s._sl_op NOT IN ('D', 'K') AND s._sl_u IS NULL ORDER BY ",
	              tt->qualified, p->collist, p->sel, tt->stage);
	/* in key order: the index and the heap are visited in order (about twice
	 * as fast as arrival order for a large group) */
	for (int k = 0; k < p->nkey; k++)
		sl_buf_printf(&b, "%s%s", k ? ", " : "", p->exprs[p->key[k]]);
	sl_buf_puts(&b, " ON CONFLICT (");
	for (int k = 0; k < p->nkey; k++) {
		if (k)
			sl_buf_puts(&b, ", ");
		sl_pg_quote_ident(&b, p->shape->fields[p->key[k]].name);
	}
	sl_buf_puts(&b, ") DO ");
	sl_buf set = {0}, uset = {0}, fset = {0};
	for (int i = 0; i < p->n; i++) {
		/* a MOVE's unchanged values, from the row under its old key */
		const sl_field *f = &p->shape->fields[i];
		const char *cast = p->staged[i] == 't'   ? "::text"
		                   : p->staged[i] == 'a' ? "::text[]"
		                                         : "";
		sl_buf_printf(&fset, "c%d = CASE WHEN substr(s._sl_u, %d, 1) = '1' THEN t.", i + 1,
		              i + 1);
		sl_pg_quote_ident(&fset, f->name);
		sl_buf_printf(&fset, "%s ELSE s.c%d END, ", cast, i + 1);
	}
	sl_buf fb = {0};
	sl_buf_printf(&fb,
	              "UPDATE %s s SET %s_sl_u = NULL FROM %s o, %s t WHERE s._sl_b = $1 AND "
	              "o._sl_b = $1 AND s._sl_op = 'M' AND s._sl_u IS NOT NULL AND o._sl_seq = "
	              "s._sl_pair",
	              tt->stage, sl_buf_cstr(&fset), tt->stage, tt->qualified);
	pga_key_match(&fb, p->shape, p->key, p->nkey, p->oexprs);
	tt->fill_sql = sl_strdup(sl_buf_cstr(&fb));
	sl_buf_free(&fb);
	sl_buf_free(&fset);
	for (int i = 0; i < p->n; i++) {
		bool is_key = false;
		for (int k = 0; k < p->nkey; k++)
			is_key |= p->key[k] == i;
		if (is_key)
			continue;
		const char *sep = set.len ? ", " : "";
		sl_buf_puts(&set, sep);
		sl_pg_quote_ident(&set, p->shape->fields[i].name);
		sl_buf_puts(&set, " = EXCLUDED.");
		sl_pg_quote_ident(&set, p->shape->fields[i].name);
		sl_buf_puts(&uset, sep);
		sl_pg_quote_ident(&uset, p->shape->fields[i].name);
		sl_buf_printf(&uset, " = CASE WHEN substr(s._sl_u, %d, 1) = '1' THEN t.", i + 1);
		sl_pg_quote_ident(&uset, p->shape->fields[i].name);
		sl_buf_printf(&uset, " ELSE %s END", p->exprs[i]);
	}
	if (set.len == 0 && p->dropped[0] == 0)
		sl_buf_puts(&b, "NOTHING");
	else
		sl_buf_printf(&b, "UPDATE SET %s%s", set.len ? sl_buf_cstr(&set) : "",
		              set.len ? p->dropped : p->dropped + 2);
	tt->ups_sql = sl_strdup(sl_buf_cstr(&b));
	if (uset.len) {
		sl_buf_reset(&b);
		sl_buf_printf(&b,
		              "UPDATE %s t SET %s%s FROM %s s WHERE s._sl_b = $1 AND "
		              "s._sl_op = 'U' AND s._sl_u IS NOT NULL",
		              tt->qualified, sl_buf_cstr(&uset), p->dropped[0] ? p->dropped : "",
		              tt->stage);
		pga_key_match(&b, p->shape, p->key, p->nkey, p->exprs);
		tt->upd_sql = sl_strdup(sl_buf_cstr(&b));
	}
	/* run after fill_sql and upd_sql: a MOVE fill_sql could not complete still has its
	 * mask; an update's row is looked for by key */
	sl_buf_reset(&b);
	sl_buf_printf(&b,
	              "SELECT s._sl_seq, s._sl_op FROM %s s WHERE s._sl_b = $1 AND s._sl_u IS "
	              "NOT NULL AND (s._sl_op = 'M' OR s._sl_op = 'U' AND NOT EXISTS (SELECT FROM "
	              "%s t WHERE "
	              "true",
	              tt->stage, tt->qualified);
	pga_key_match(&b, p->shape, p->key, p->nkey, p->exprs);
	sl_buf_puts(&b, ")) ORDER BY 1 LIMIT 1000");
	tt->lost_sql = sl_strdup(sl_buf_cstr(&b));
	sl_buf_free(&set);
	sl_buf_free(&uset);
	sl_buf_free(&b);
}

/* A table without a key: plain inserts, and deletes of one target row per staged old image. */
static void pga_plan_keyless(struct pga_table *tt, const struct pga_parts *p)
{
	sl_buf b = {0};
	sl_buf_printf(&b,
	              "INSERT INTO %s (%s) SELECT %s FROM %s s WHERE s._sl_b = $1 AND s._sl_op "
	              "<> 'D'",
	              tt->qualified, p->collist, p->sel, tt->stage);
	tt->ins_sql = sl_strdup(sl_buf_cstr(&b));
	/* one target row per staged old image; duplicates count */
	sl_buf trow = {0};
	for (int i = 0; i < p->n; i++) {
		sl_buf_puts(&trow, i ? ", t." : "t.");
		sl_pg_quote_ident(&trow, p->shape->fields[i].name);
	}
	sl_buf_reset(&b);
	sl_buf_printf(&b,
	              "DELETE FROM %s WHERE ctid IN (SELECT x.ctid FROM (SELECT "
	              "t.ctid, ROW(%s)::text AS r, row_number() OVER (PARTITION BY "
	              "ROW(%s)::text) AS n FROM %s t) x JOIN (SELECT ROW(%s)::text AS "
	              "r, count(*) AS c FROM %s s WHERE s._sl_b = $1 AND s._sl_op = 'D' GROUP "
	              "BY 1) y "
	              "ON x.r = y.r AND x.n <= y.c)",
	              tt->qualified, sl_buf_cstr(&trow), sl_buf_cstr(&trow), tt->qualified, p->sel,
	              tt->stage);
	tt->kdel_sql = sl_strdup(sl_buf_cstr(&b));
	sl_buf_free(&trow);
	sl_buf_free(&b);
}

/* The stage for the column definitions `types` (", c1 <type>, c2 <type> ..."): its number
 * in a->stages, added when no table has used it yet. */
static int pga_stage_find(pg_applier *a, const char *types)
{
	for (int i = 0; i < a->nstages; i++)
		if (strcmp(a->stages[i].types, types) == 0)
			return i;
	a->stages = sl_realloc(a->stages, (size_t)(a->nstages + 1) * sizeof *a->stages);
	a->stages[a->nstages] = (struct pga_stage){.types = sl_strdup(types)};
	return a->nstages++;
}

/* Create table tt's stage if the session does not have it (inside the transaction). */
static int pga_stage_ensure(pg_applier *a, const struct pga_table *tt, sl_error *err)
{
	struct pga_stage *st = &a->stages[tt->stage_ix];
	if (st->exists)
		return 0;
	SL_TRY(pga_begin(a, err));
	sl_buf ddl = {0};
	sl_buf_printf(&ddl,
	              "DROP TABLE IF EXISTS pg_temp.%s; CREATE TEMP TABLE %s (_sl_b bigint, "
	              "_sl_op \"char\", _sl_u text, _sl_seq bigint, _sl_pair bigint%s) ON COMMIT "
	              "DELETE ROWS; CREATE INDEX ON %s (_sl_b, _sl_seq)",
	              tt->stage, tt->stage, st->types, tt->stage);
	int rc = sl_pg_exec(a->conn, sl_buf_cstr(&ddl), err);
	sl_buf_free(&ddl);
	if (rc < 0)
		return sl_error_wrap(err, "target: creating a staging table for %s", tt->display);
	st->exists = st->created_in_txn = true;
	return 0;
}

static int pga_plan(pg_applier *a, struct pga_table *tt, const sl_table_def *td,
                    const sl_pg_column *cols, int ncols, sl_error *err)
{
	const sl_shape *shape = tt->shape;
	int n = shape->nfields, rc = 0;
	free(tt->codecs);
	tt->codecs = sl_calloc((size_t)(n ? n : 1), sizeof *tt->codecs);
	/* each field of the stage row as the target type, read as s.cN and as o.cN */
	char **exprs = sl_calloc((size_t)(n ? n : 1), sizeof *exprs);
	char **oexprs = sl_calloc((size_t)(n ? n : 1), sizeof *oexprs);
	char *staged = sl_calloc((size_t)(n ? n : 1), 1); /* 't' text, 'a' text[], 0 typed */
	sl_buf types = {0}, collist = {0}, sel = {0}, b = {0};
	for (int i = 0; i < n && rc == 0; i++) {
		const sl_field *f = &shape->fields[i];
		const sl_pg_column *col = pga_find_col(cols, ncols, f->name);
		if (col == NULL) {
			rc = sl_error_set(err, SL_ERR_STATE, "target table %s has no column \"%s\"",
			                  tt->display, f->name);
			break;
		}
		char sref[24], oref[24];
		snprintf(sref, sizeof sref, "s.c%d", i + 1);
		snprintf(oref, sizeof oref, "o.c%d", i + 1);
		sl_buf_printf(&types, ", c%d", i + 1);
		if (i) {
			sl_buf_puts(&collist, ", ");
			sl_buf_puts(&sel, ", ");
		}
		sl_pg_quote_ident(&collist, f->name);
		sl_buf_reset(&b);
		if (sl_pg_target_codec(f, &col->ti, &tt->codecs[i])) {
			/* the type under any domain: a delete's row is NULL in its other columns,
			 * which a NOT NULL domain would refuse (the target column checks it) */
			sl_buf_printf(&types, " %s", col->base_format_type);
			sl_buf_puts(&b, sref);
		} else {
			bool text_list = f->type == SL_TYPE_LIST && f->child &&
			                 f->child->type == SL_TYPE_UTF8;
			if (f->type != SL_TYPE_UTF8 && !text_list) {
				char d[128];
				rc = sl_error_set(
				        err, SL_ERR_DATA,
				        "target: cannot load Arrow %s into column %s.%s of "
				        "type %s",
				        sl_field_describe(f, d, sizeof d), tt->display, f->name,
				        col->format_type);
				break;
			}
			sl_buf_puts(&types, text_list ? " text[]" : " text");
			staged[i] = text_list ? 'a' : 't';
			tt->codecs[i].kind = text_list ? SL_PG_ARRAY : SL_PG_TEXT;
			tt->codecs[i].elem_kind = SL_PG_TEXT;
			tt->codecs[i].elem_oid = 25;
			pgt_cast_expr(a->tgt, &b, sref, f, col);
		}
		exprs[i] = sl_strdup(sl_buf_cstr(&b));
		sl_buf_puts(&sel, exprs[i]);
		sl_buf_reset(&b);
		if (staged[i])
			pgt_cast_expr(a->tgt, &b, oref, f, col);
		else
			sl_buf_puts(&b, oref);
		oexprs[i] = sl_strdup(sl_buf_cstr(&b));
	}
	int *key = sl_calloc((size_t)n + 1, sizeof *key);
	const char *missing = NULL;
	int nkey = sl_shape_key(shape, td, key, &missing);
	if (rc == 0 && nkey < 0)
		rc = sl_error_set(err, SL_ERR_DATA,
		                  "source table %s no longer has its key column %s", td->qualified,
		                  missing);
	if (rc == 0) {
		tt->stage_ix = pga_stage_find(a, sl_buf_cstr(&types));
		snprintf(tt->stage, sizeof tt->stage, "sluice_cdc_%d", tt->stage_ix);
		/* target columns the source no longer sends: NULL on update */
		sl_buf dropped = {0};
		for (int k = 0; k < ncols; k++) {
			/* a generated column computes its own value */
			if (cols[k].generated || sl_shape_find(shape, cols[k].name) >= 0)
				continue;
			sl_buf_puts(&dropped, ", ");
			sl_pg_quote_ident(&dropped, cols[k].name);
			sl_buf_puts(&dropped, " = NULL");
		}
		pga_free_statements(tt);
		sl_buf_reset(&b);
		sl_buf_printf(&b, "COPY %s FROM STDIN (FORMAT binary)", tt->stage);
		tt->copy_sql = sl_strdup(sl_buf_cstr(&b));
		struct pga_parts parts = {
		        .shape = shape,
		        .n = n,
		        .key = key,
		        .nkey = nkey,
		        .exprs = exprs,
		        .oexprs = oexprs,
		        .staged = staged,
		        .collist = sl_buf_cstr(&collist),
		        .sel = sl_buf_cstr(&sel),
		        .dropped = sl_buf_cstr(&dropped),
		};
		if (nkey > 0)
			pga_plan_keyed(tt, &parts);
		else
			pga_plan_keyless(tt, &parts);
		sl_buf_free(&dropped);
	}
	for (int i = 0; i < n; i++)
		free(oexprs[i]);
	if (rc == 0) {
		tt->exprs = exprs; /* pga_free_statements freed the last ones */
		tt->nexprs = n;
	} else {
		for (int i = 0; i < n; i++)
			free(exprs[i]);
		free(exprs);
	}
	free(oexprs);
	free(staged);
	free(key);
	sl_buf_free(&types);
	sl_buf_free(&collist);
	sl_buf_free(&sel);
	sl_buf_free(&b);
	return rc;
}

/* Columns the source renamed (sl_field.renamed_from) are renamed on the target, values kept;
 * one renamed already is left as it is. */
static int pga_renames(pg_applier *a, struct pga_table *tt, const sl_shape *shape,
                       const sl_pg_column *cols, int ncols, bool *changed, sl_error *err)
{
	int rc = 0;
	sl_buf sql = {0};
	for (int i = 0; i < shape->nfields && rc == 0; i++) {
		const sl_field *f = &shape->fields[i];
		if (f->renamed_from == NULL || pga_find_col(cols, ncols, f->renamed_from) == NULL)
			continue;
		if (pga_find_col(cols, ncols, f->name)) {
			rc = sl_error_set(
			        err, SL_ERR_STATE,
			        "target: column %s of %s was renamed to %s on the source, but "
			        "target table %s has both; drop or rename one of them on "
			        "the target",
			        f->renamed_from, tt->display, f->name, tt->display);
			break;
		}
		sl_buf_reset(&sql);
		sl_buf_printf(&sql, "ALTER TABLE %s RENAME COLUMN ", tt->qualified);
		sl_pg_quote_ident(&sql, f->renamed_from);
		sl_buf_puts(&sql, " TO ");
		sl_pg_quote_ident(&sql, f->name);
		rc = pga_begin(a, err);
		if (rc == 0 && (rc = sl_pg_exec(a->conn, sl_buf_cstr(&sql), err)) < 0)
			sl_error_wrap(err, "target: renaming column %s of %s", f->renamed_from,
			              tt->display);
		*changed = true;
	}
	sl_buf_free(&sql);
	return rc;
}

/* The primary key of the source's table, when its changes say it (sl_shape.key_known), is the
 * target table's from now on: another key, or none, is put in place in the open transaction
 * (the target's rows are the source's as of these changes, so they fit it). */
static int pga_rekey(pg_applier *a, struct pga_table *tt, const sl_table_def *td,
                     const sl_shape *shape, sl_error *err)
{
	if (!shape->key_known)
		return 0;
	int *key = sl_calloc((size_t)shape->nfields + 1, sizeof *key);
	const char *missing = NULL;
	int nkey = sl_shape_key(shape, td, key, &missing);
	sl_buf want = {0}, cols = {0}, sql = {0}, names = {0};
	for (int k = 0; k < nkey; k++) {
		sl_buf_printf(&want, "%s%s", k ? "\n" : "", shape->fields[key[k]].name);
		sl_buf_puts(&cols, k ? ", " : "");
		sl_pg_quote_ident(&cols, shape->fields[key[k]].name);
		sl_buf_printf(&names, "%s%s", k ? ", " : "", shape->fields[key[k]].name);
	}
	free(key);
	const char *params[1] = {tt->qualified};
	PGresult *res = NULL;
	int rc = pga_begin(a, err);
	if (rc == 0)
		rc = sl_pg_query_prepared(
		        a->conn, "sl_primary_key", &a->key_prepared,
		        "SELECT c.conname, array_to_string(ARRAY(SELECT a.attname FROM "
		        "unnest(c.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON "
		        "a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o), E'\\n') "
		        "FROM pg_constraint c WHERE c.conrelid = $1::regclass AND c.contype "
		        "= 'p'",
		        1, params, &res, err);
	const char *have = rc == 0 && PQntuples(res) == 1 ? PQgetvalue(res, 0, 1) : "";
	if (rc == 0 && strcmp(have, sl_buf_cstr(&want)) != 0) {
		if (*have) {
			sl_buf_printf(&sql, "ALTER TABLE %s DROP CONSTRAINT ", tt->qualified);
			sl_pg_quote_ident(&sql, PQgetvalue(res, 0, 0));
			sl_buf_puts(&sql, nkey ? "; " : "");
		}
		if (nkey)
			sl_buf_printf(&sql, "ALTER TABLE %s ADD PRIMARY KEY (%s)", tt->qualified,
			              sl_buf_cstr(&cols));
		rc = sl_pg_exec(a->conn, sl_buf_cstr(&sql), err);
		if (rc < 0)
			sl_error_wrap(
			        err,
			        "target: %s: the source's primary key is now (%s), which the "
			        "target's rows do not fit: they differ from the source's (copy the "
			        "table again with 'sluice resync %s')",
			        tt->display, sl_buf_cstr(&names), td->qualified);
		else if (nkey)
			sl_info("target: %s: primary key changed on the source: now (%s)",
			        tt->display, sl_buf_cstr(&names));
		else
			sl_info("target: %s: the source's table has no primary key any more: the "
			        "target's "
			        "is dropped and changes apply as to a table without one",
			        tt->display);
	}
	PQclear(res);
	sl_buf_free(&want);
	sl_buf_free(&cols);
	sl_buf_free(&names);
	sl_buf_free(&sql);
	return rc;
}

int pga_shape(sl_applier *handle, int t, sl_shape *shape, bool *stale, sl_error *err)
{
	pg_applier *a = pg_applier_of(handle);
	struct pga_table *tt = &a->tables[t];
	const sl_table_def *td = &a->cat->tables[t];
	if (tt->shape && pga_same_shape(tt->shape, shape)) {
		sl_shape_unref(tt->shape);
		tt->shape = sl_shape_ref(shape);
		return 0;
	}
	if (tt->qualified == NULL) {
		const char *schema = pgt_schema_for(a->tgt, td);
		sl_buf q = {0};
		sl_pg_quote_qualified(&q, schema, td->name);
		tt->qualified = sl_strdup(sl_buf_cstr(&q));
		sl_buf_free(&q);
		tt->display = sl_qualify(schema, td->name);
	}
	/* the target table's columns, read again after DDL changed them */
	sl_pg_column *cols = NULL;
	int ncols = 0;
	bool renamed = false, changed = false;
	a->stale = false;
	int rc = pga_read_cols(a, tt, &cols, &ncols, err);
	if (rc == 0)
		rc = pga_renames(a, tt, shape, cols, ncols, &renamed, err);
	if (rc == 0 && renamed) {
		sl_pg_columns_free(cols, ncols);
		cols = NULL;
		rc = pga_read_cols(a, tt, &cols, &ncols, err);
	}
	if (rc == 0)
		rc = pga_evolve(a, tt, td, shape, cols, ncols, &changed, err);
	if (rc == 0 && changed) {
		sl_pg_columns_free(cols, ncols);
		cols = NULL;
		rc = pga_read_cols(a, tt, &cols, &ncols, err);
	}
	if (rc == 0)
		rc = pga_rekey(a, tt, td, shape, err);
	if (rc == 0) {
		*stale = a->stale;
		sl_shape_unref(tt->shape);
		tt->shape = sl_shape_ref(shape);
		rc = pga_plan(a, tt, td, cols, ncols, err);
	}
	sl_pg_columns_free(cols, ncols);
	return rc;
}

/* ---------------------------------------------------------------- changes ---- */

static void pga_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Run a statement on table tt's staged batch ($1); *rows = the rows it affected. */
static int pga_run_count(pg_applier *a, const char *sql, const struct pga_table *tt, int64_t *rows,
                         sl_error *err)
{
	char batch[24];
	snprintf(batch, sizeof batch, "%" PRId64, tt->batch);
	const char *params[1] = {batch};
	PGresult *res = PQexecParams(a->conn, sql, 1, NULL, params, NULL, NULL, 0);
	int rc = 0;
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = sl_pg_result_error(a->conn, res, "applying changes", err);
		sl_error_wrap(err, "target: applying changes to %s", tt->display);
	} else {
		*rows = strtoll(PQcmdTuples(res), NULL, 10);
	}
	PQclear(res);
	return rc;
}

static int pga_run(pg_applier *a, const char *sql, const struct pga_table *tt, sl_error *err)
{
	int64_t rows;
	return pga_run_count(a, sql, tt, &rows, err);
}

/* Some updates that left columns unchanged (TOAST), or key changes that did, found no row on
 * the target to take those values from. Within the convergence window (see apply_open) the
 * row may legitimately be gone already; after it, the target has diverged: stop, naming the
 * table, rather than drop the change. */
static int pga_check_lost(pg_applier *a, const struct pga_table *tt, const sl_changes *c,
                          sl_error *err)
{
	PGresult *res;
	char batch[24];
	snprintf(batch, sizeof batch, "%" PRId64, tt->batch);
	const char *params[1] = {batch};
	SL_TRY(sl_pg_query(a->conn, tt->lost_sql, 1, params, &res, err));
	int n = PQntuples(res), bad = -1;
	for (int i = 0; i < n && bad < 0; i++) {
		int64_t r = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		if (!c->may_miss && sl_changes_origin(c, r).version > a->converge_until)
			bad = i;
	}
	int rc = 0;
	if (bad >= 0) {
		bool move = PQgetvalue(res, bad, 1)[0] == 'M';
		rc = sl_error_set(
		        err, SL_ERR_STATE,
		        "target: %s: %s row that the target does not have (%d such change(s) in "
		        "this group), so the columns it left unchanged cannot be filled in: the "
		        "target has diverged from the source (rows deleted or changed there?); "
		        "check with sluice verify, then reload the table",
		        tt->display,
		        move ? "a key change on the source moved a"
		             : "an update on the source changed a",
		        n);
	} else if (n > 0 && c->may_miss) {
		for (int i = 0; i < n && c->moves_missed; i++)
			if (PQgetvalue(res, i, 1)[0] == 'M')
				(*c->moves_missed)++; /* its new key may be one the copy has passed
				                       */
		sl_debug("target: %s: %d change(s) found no row (not copied yet by the table's "
		         "backfill, which brings it); skipped",
		         tt->display, n);
	} else if (n > 0) {
		sl_info("target: %s: %d change(s) found their row already gone (a table reloaded "
		        "by a resumed snapshot converging); skipped",
		        tt->display, n);
	}
	PQclear(res);
	return rc;
}

struct pga_counts {
	int64_t ndel, nfull, npart, nmove, nmpart;
};

/* Copy the live rows of c into its table's stage, as a new batch. */
static int pga_stage(pg_applier *a, const sl_changes *c, const uint8_t *dead, struct pga_counts *k,
                     sl_error *err)
{
	struct pga_table *tt = &a->tables[c->table];
	if (tt->shape == NULL || !pga_same_shape(tt->shape, c->shape))
		return sl_error_set(err, SL_ERR_INTERNAL, "target: changes to %s before its shape",
		                    a->cat->tables[c->table].qualified);
	SL_TRY(pga_begin(a, err));
	SL_TRY(pga_stage_ensure(a, tt, err));
	tt->batch = ++a->batch;
	uint8_t bbe[8];
	pga_be64(bbe, (uint64_t)tt->batch);
	int n = c->shape->nfields;
	memset(k, 0, sizeof *k);
	char *mask = sl_malloc((size_t)n + 1);
	sl_buf *out = &a->out;
	sl_buf_reset(out);
	int rc = sl_pg_copy_in_begin(a->conn, tt->copy_sql, err);
	if (rc == 0)
		sl_pgcopy_write_header(out);
	for (int64_t r = 0; rc == 0 && r < c->rows->length; r++) {
		if (dead && ((dead[r >> 3] >> (r & 7)) & 1))
			continue;
		char op = sl_changes_op(c, r);
		sl_pgcopy_put_count(out, n + 5);
		sl_pgcopy_put_field(out, bbe, 8);
		sl_pgcopy_put_field(out, &op, 1);
		bool any = false;
		for (int i = 0; i < n; i++) {
			bool u = sl_changes_is_unchanged(c, r, i);
			mask[i] = u ? '1' : '0';
			any |= u;
		}
		if (op == SL_OP_DELETE)
			k->ndel++;
		else if (op == SL_OP_MOVE) {
			k->nmove++;
			k->nmpart += any;
		} else if (op == SL_OP_KEYREF)
			;
		else if (any)
			k->npart++;
		else
			k->nfull++;
		sl_pgcopy_put_field(out, any ? mask : NULL, any ? n : -1);
		uint8_t be[8];
		pga_be64(be, (uint64_t)r);
		sl_pgcopy_put_field(out, be, 8);
		int64_t pair = sl_changes_pair(c, r);
		pga_be64(be, (uint64_t)pair);
		sl_pgcopy_put_field(out, be, pair >= 0 ? 8 : -1);
		for (int i = 0; i < n && rc == 0; i++)
			rc = sl_pg_encode_field(&tt->codecs[i], &c->rows->cols[i], r, out, err);
		if (rc == 0 && out->len >= PGA_COPY_SLICE) {
			rc = sl_pg_copy_in_put(a->conn, out, err);
			sl_buf_reset(out);
		}
	}
	free(mask);
	if (rc == 0) {
		sl_pgcopy_write_trailer(out);
		rc = sl_pg_copy_in_put(a->conn, out, err);
	}
	if (rc == 0)
		rc = sl_pg_copy_in_end(a->conn, err);
	else
		PQputCopyEnd(a->conn, "sluice: encoding failed");
	if (rc < 0)
		return sl_error_wrap(err, "target: staging changes for %s", tt->display);
	return 0;
}

int pga_changes(sl_applier *handle, const sl_changes *c, const uint8_t *dead, sl_error *err)
{
	pg_applier *a = pg_applier_of(handle);
	struct pga_table *tt = &a->tables[c->table];
	struct pga_counts k;
	SL_TRY(pga_stage(a, c, dead, &k, err));
	if (tt->del_sql) {
		int64_t filled = 0, updated = k.npart;
		if (k.nmove)
			SL_TRY(pga_run_count(a, tt->fill_sql, tt, &filled, err));
		if (k.ndel)
			SL_TRY(pga_run(a, tt->del_sql, tt, err));
		if (k.nfull + k.nmove)
			SL_TRY(pga_run(a, tt->ups_sql, tt, err));
		if (k.npart && tt->upd_sql)
			SL_TRY(pga_run_count(a, tt->upd_sql, tt, &updated, err));
		if (filled < k.nmpart || updated < k.npart)
			SL_TRY(pga_check_lost(a, tt, c, err));
	} else {
		if (k.ndel)
			SL_TRY(pga_run(a, tt->kdel_sql, tt, err));
		if (k.nfull + k.npart)
			SL_TRY(pga_run(a, tt->ins_sql, tt, err));
	}
	return 0;
}

/* ---------------------------------------------------------------- foreign-key actions ---- */

/* "schema"."name" of table t on the target. */
static void pga_table_ref(pg_applier *a, int t, sl_buf *b)
{
	const sl_table_def *td = &a->cat->tables[t];
	sl_pg_quote_qualified(b, pgt_schema_for(a->tgt, td), td->name);
}

static void pga_cols(sl_buf *b, const char *alias, char *const *cols, int n)
{
	sl_buf_putc(b, '(');
	for (int i = 0; i < n; i++) {
		sl_buf_printf(b, "%s%s.", i ? ", " : "", alias);
		sl_pg_quote_ident(b, cols[i]);
	}
	sl_buf_putc(b, ')');
}

/* The staged value of the plan table's column `name`, or an error naming it. */
static int pga_staged(const struct pga_table *tt, const char *name, const char **expr,
                      sl_error *err)
{
	int f = sl_shape_find(tt->shape, name);
	if (f < 0 || f >= tt->nexprs)
		return sl_error_set(
		        err, SL_ERR_DATA,
		        "target: column %s of %s, which a foreign key references, is "
		        "no longer replicated: its ON DELETE / ON UPDATE actions cannot "
		        "be done (copy the tables that reference it again with 'sluice "
		        "resync')",
		        name, tt->display);
	*expr = tt->exprs[f];
	return 0;
}

/* The rows link k of step s selects, as a query of their referenced columns (link k's parent
 * columns): the deleted rows of the plan table for k = 0, else the rows of link k - 1's child
 * that it selects in turn (cascaded deletes). */
static int pga_chain_select(pg_applier *a, const struct pga_table *tt, const sl_fk_step *s, int k,
                            sl_buf *b, sl_error *err)
{
	const sl_foreign_key *fk = s->chain[k];
	sl_buf_puts(b, "SELECT ");
	if (k == 0) {
		for (int i = 0; i < fk->ncols; i++) {
			const char *e = NULL;
			SL_TRY(pga_staged(tt, fk->parent_cols[i], &e, err));
			sl_buf_printf(b, "%s%s", i ? ", " : "", e);
		}
		sl_buf_printf(b, " FROM pg_temp.%s s WHERE s._sl_b = $1 AND s._sl_op = 'D'",
		              tt->stage);
		return 0;
	}
	const sl_foreign_key *up = s->chain[k - 1];
	char alias[16];
	snprintf(alias, sizeof alias, "x%d", k);
	for (int i = 0; i < fk->ncols; i++) {
		sl_buf_printf(b, "%s%s.", i ? ", " : "", alias);
		sl_pg_quote_ident(b, fk->parent_cols[i]);
	}
	sl_buf_puts(b, " FROM ");
	pga_table_ref(a, sl_catalog_find(a->cat, up->child), b);
	sl_buf_printf(b, " %s WHERE ", alias);
	pga_cols(b, alias, up->child_cols, up->ncols);
	sl_buf_puts(b, " IN (");
	SL_TRY(pga_chain_select(a, tt, s, k - 1, b, err));
	sl_buf_putc(b, ')');
	return 0;
}

/* One step's statement (fkeys.h). */
static int pga_step_sql(pg_applier *a, const struct pga_table *tt, const sl_fk_step *s, sl_buf *b,
                        sl_error *err)
{
	const sl_foreign_key *fk = s->chain[s->nchain - 1];
	sl_buf_puts(b, s->kind == SL_FKS_DELETE ? "DELETE FROM " : "UPDATE ");
	pga_table_ref(a, s->table, b);
	sl_buf_puts(b, " t");
	if (s->kind == SL_FKS_UPDATE) {
		sl_buf_puts(b, " SET ");
		for (int i = 0; i < fk->ncols; i++) {
			sl_buf_puts(b, i ? ", " : "");
			sl_pg_quote_ident(b, fk->child_cols[i]);
			if (s->to_null)
				sl_buf_puts(b, " = NULL");
			else
				sl_buf_printf(b, " = n.v%d", i);
		}
		/* each updated row's old image (KEYREF) with its new one (the UPSERT pairing it) */
		for (int side = 0; side < 2; side++) {
			sl_buf_printf(b, "%s(SELECT s.%s AS id", side ? ", " : " FROM ",
			              side ? "_sl_pair" : "_sl_seq");
			for (int i = 0; i < fk->ncols; i++) {
				const char *e = NULL;
				SL_TRY(pga_staged(tt, s->from[i], &e, err));
				sl_buf_printf(b, ", %s AS v%d", e, i);
			}
			sl_buf_printf(
			        b, " FROM pg_temp.%s s WHERE s._sl_b = $1 AND s._sl_op = '%c') %c",
			        tt->stage, side ? 'U' : 'K', side ? 'n' : 'o');
		}
		sl_buf_puts(b, " WHERE n.id = o.id");
		for (int i = 0; i < fk->ncols; i++) {
			sl_buf_puts(b, " AND t.");
			sl_pg_quote_ident(b, fk->child_cols[i]);
			sl_buf_printf(b, " = o.v%d", i);
		}
		return 0;
	}
	if (s->kind == SL_FKS_SET_NULL) {
		sl_buf_puts(b, " SET ");
		for (int i = 0; i < fk->ncols; i++) {
			sl_buf_puts(b, i ? ", " : "");
			sl_pg_quote_ident(b, fk->child_cols[i]);
			sl_buf_puts(b, " = NULL");
		}
	}
	sl_buf_puts(b, " WHERE ");
	pga_cols(b, "t", fk->child_cols, fk->ncols);
	sl_buf_puts(b, " IN (");
	SL_TRY(pga_chain_select(a, tt, s, s->nchain - 1, b, err));
	sl_buf_putc(b, ')');
	return 0;
}

/* The rows go into the plan table's stage (DELETE, KEYREF and UPSERT rows with their ordinal
 * and pair); each step is one statement reading it. */
int pga_actions(sl_applier *handle, const sl_changes *rows, const sl_fk_plan *plan, sl_error *err)
{
	pg_applier *a = pg_applier_of(handle);
	struct pga_table *tt = &a->tables[rows->table];
	struct pga_counts k;
	SL_TRY(pga_stage(a, rows, NULL, &k, err));
	bool any_update = false;
	for (int64_t r = 0; r < rows->rows->length; r++)
		any_update |= sl_changes_op(rows, r) == SL_OP_KEYREF;
	sl_buf q = {0};
	int rc = 0;
	for (int i = 0; i < plan->nsteps && rc == 0; i++) {
		const sl_fk_step *s = &plan->steps[i];
		if (i < plan->ndelete ? k.ndel == 0 : !any_update)
			continue;
		sl_buf_reset(&q);
		rc = pga_step_sql(a, tt, s, &q, err);
		int64_t n = 0;
		if (rc == 0)
			rc = pga_run_count(a, sl_buf_cstr(&q), tt, &n, err);
		if (rc < 0)
			sl_error_wrap(err, "foreign key %s", s->chain[s->nchain - 1]->name);
		else if (n > 0)
			sl_debug("target: foreign key %s: %s %" PRId64 " row(s) of %s",
			         s->chain[s->nchain - 1]->name,
			         s->kind == SL_FKS_DELETE ? "deleted" : "updated", n,
			         a->cat->tables[s->table].qualified);
	}
	sl_buf_free(&q);
	return rc;
}

int pga_truncate(sl_applier *handle, int t, uint64_t version, sl_error *err)
{
	pg_applier *a = pg_applier_of(handle);
	(void)version;
	struct pga_table *tt = &a->tables[t];
	if (tt->qualified == NULL)
		return sl_error_set(err, SL_ERR_INTERNAL, "target: truncate of %s before its shape",
		                    a->cat->tables[t].qualified);
	SL_TRY(pga_begin(a, err));
	sl_buf q = {0};
	sl_buf_printf(&q, "TRUNCATE %s", tt->qualified);
	int rc = sl_pg_exec(a->conn, sl_buf_cstr(&q), err);
	if (rc < 0)
		sl_error_wrap(err, "target: applying changes to %s", tt->display);
	sl_buf_free(&q);
	if (rc == 0)
		sl_info("target: %s truncated (TRUNCATE on the source)", tt->display);
	return rc;
}

int pga_commit(sl_applier *handle, const sl_msg *commit, sl_error *err)
{
	pg_applier *a = pg_applier_of(handle);
	SL_TRY(pga_begin(a, err));
	char version[32], commit_us[32];
	snprintf(version, sizeof version, "%llu", (unsigned long long)commit->version);
	snprintf(commit_us, sizeof commit_us, "%.6f", (double)commit->commit_us / 1e6);
	const char *params[5] = {a->tgt->cfg->name, a->epoch, commit->position, version, commit_us};
	PGresult *res;
	SL_TRY(sl_pg_query(a->conn,
	                   "INSERT INTO _sluice.positions AS p (pipeline, epoch, position, version,"
	                   " source_commit_time, applied_at)"
	                   " VALUES ($1, $2, $3, $4::bigint, to_timestamp($5::float8), "
	                   "clock_timestamp())"
	                   " ON CONFLICT (pipeline) DO UPDATE SET epoch = EXCLUDED.epoch,"
	                   " position = EXCLUDED.position, version = EXCLUDED.version,"
	                   " source_commit_time = EXCLUDED.source_commit_time,"
	                   " applied_at = EXCLUDED.applied_at",
	                   5, params, &res, err));
	PQclear(res);
	int rc = sl_pg_exec(a->conn, "COMMIT", err);
	a->in_txn = false;
	for (int i = 0; i < a->nstages; i++) {
		if (rc < 0 && a->stages[i].created_in_txn)
			a->stages[i].exists = false; /* rolled back with the rest */
		a->stages[i].created_in_txn = false;
	}
	return rc;
}
