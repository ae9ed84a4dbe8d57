/* PostgreSQL source: discovery, preflight checks, consistent point and parallel snapshot.
 *
 * Consistent point: a logical replication slot (pgoutput) is created on a replication
 * connection with EXPORT_SNAPSHOT; its consistent_point LSN is where CDC will start, and the
 * exported snapshot is the exact database state at that LSN. Every snapshot reader opens a
 * REPEATABLE READ transaction and imports that snapshot, so all chunks, read in parallel by
 * different connections, see one state. The replication connection stays idle (keeping the
 * snapshot valid) until snapshot_end.
 *
 * Chunks: a table is split into ctid (block) ranges of about snapshot.chunk_size; PostgreSQL 14+
 * answers `ctid >= '(a,0)' AND ctid < '(b,0)'` with a TID range scan. A partitioned table is read
 * leaf by leaf (each leaf split the same way) and lands as its root table.
 *
 * Threads: the pg_source is used by the main thread; each pg_reader by one snapshot worker. */
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "clients/pgcatalog.h"
#include "clients/pgclient.h"
#include "sources/postgres/pg_source.h"
#include "sources/postgres/pg_source_int.h"

static void pg_table_free(void *p)
{
	struct pg_table *t = p;
	if (t == NULL)
		return;
	free(t->codecs);
	free(t->how);
	free(t->select_list);
	for (int i = 0; i < t->nleaves; i++)
		free(t->leaves[i].qualified);
	free(t->leaves);
	free(t);
}

static int pg_open(const sl_config *cfg, sl_source **out, sl_error *err)
{
	char *publication = NULL, *slot = NULL;
	if (sl_config_opt_string(cfg, "source", "publication", &publication, err) < 0 ||
	    sl_config_opt_string(cfg, "source", "slot", &slot, err) < 0) {
		free(publication);
		return err->code;
	}
	pg_source *s = sl_calloc(1, sizeof *s);
	s->cfg = cfg;
	snprintf(s->publication, sizeof s->publication, "%s", publication ? publication : "");
	snprintf(s->slot, sizeof s->slot, "%s", slot ? slot : "");
	free(publication);
	free(slot);
	if (s->publication[0] == '\0')
		snprintf(s->publication, sizeof s->publication, "sluice_%s", cfg->name);
	if (s->slot[0] == '\0') {
		/* slot names allow only lower-case letters, digits and underscores */
		snprintf(s->slot, sizeof s->slot, "sluice_%s", cfg->name);
		for (char *p = s->slot; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	}
	int rc = sl_pg_connect(&cfg->source, "source", false, &s->meta, err);
	if (rc < 0) {
		free(s);
		return rc;
	}
	s->server_version = PQserverVersion(s->meta);
	PGresult *res;
	rc = sl_pg_query(s->meta, "SELECT current_setting('block_size')::int", 0, NULL, &res, err);
	if (rc == 0) {
		s->block_size = atoi(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	if (rc == 0 && s->server_version < 100000)
		rc = sl_error_set(err, SL_ERR_SETTING,
		                  "source: PostgreSQL %d.%d is too old; sluice needs PostgreSQL 10 "
		                  "or later (pgoutput)",
		                  s->server_version / 10000, s->server_version % 10000 / 100);
	if (rc < 0) {
		PQfinish(s->meta);
		free(s);
		return rc;
	}
	*out = pg_source_handle(s);
	return 0;
}

static void pg_close(sl_source *handle)
{
	pg_source *s = pg_source_of(handle);
	if (s == NULL)
		return;
	if (s->repl)
		PQfinish(s->repl);
	if (s->bf)
		PQfinish(s->bf);
	PQfinish(s->meta);
	free(s);
}

/* ---------------------------------------------------------------- discovery ---- */

static const char pg_tables_sql[] =
        "SELECT c.oid, n.nspname, c.relname, c.relkind,"
        "       CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum(greatest(pc.reltuples, 0)), "
        "0)::bigint"
        "              FROM pg_partition_tree(c.oid) pt JOIN pg_class pc ON pc.oid = pt.relid "
        "WHERE pt.isleaf)"
        "            ELSE greatest(c.reltuples, -1)::bigint END,"
        "       CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum(pg_relation_size(pt.relid)), "
        "0)::bigint"
        "              FROM pg_partition_tree(c.oid) pt WHERE pt.isleaf)"
        "            ELSE pg_relation_size(c.oid) END"
        "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition"
        "   AND n.nspname NOT IN ('pg_catalog', 'information_schema', '_sluice') AND n.nspname !~ "
        "'^pg_(toast|temp)'"
        "   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND "
        "d.objid = c.oid"
        "                   AND d.deptype = 'e')"
        " ORDER BY n.nspname, c.relname";

static const char pg_keys_sql[] =
        "SELECT i.indrelid, a.attname FROM pg_index i"
        " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
        "  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
        " WHERE i.indisprimary AND i.indrelid = ANY($1::oid[])"
        " ORDER BY i.indrelid, k.ord";

static const char pg_type_sql[] =
        "SELECT n.nspname, t.typname, t.typtype, t.typcategory, t.typelem,"
        "       (SELECT e.extname FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid"
        "         WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid"
        "           AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'),"
        "       (SELECT en.nspname FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid"
        "          JOIN pg_namespace en ON en.oid = e.extnamespace"
        "         WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid"
        "           AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'),"
        "       t.typbasetype, format_type(t.typbasetype, t.typtypmod), t.typnotnull,"
        "       (SELECT string_agg(format('CONSTRAINT %I %s', conname, pg_get_constraintdef(oid)), "
        "' '"
        "                          ORDER BY conname) FROM pg_constraint WHERE contypid = t.oid),"
        "       (SELECT string_agg(quote_literal(enumlabel), ', ' ORDER BY enumsortorder)"
        "          FROM pg_enum WHERE enumtypid = t.oid),"
        "       (SELECT string_agg(format('%I %s', attname, format_type(atttypid, atttypmod)), ', "
        "' ORDER BY attnum)"
        "          FROM pg_attribute WHERE attrelid = t.typrelid AND attnum > 0 AND NOT "
        "attisdropped),"
        "       (SELECT string_agg(atttypid::text, ',' ORDER BY attnum)"
        "          FROM pg_attribute WHERE attrelid = t.typrelid AND attnum > 0 AND NOT "
        "attisdropped),"
        "       (SELECT rngsubtype FROM pg_range WHERE rngtypid = t.oid),"
        "       (SELECT format_type(rngsubtype, NULL) FROM pg_range WHERE rngtypid = t.oid),"
        "       format_type(t.oid, NULL)"
        "  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = $1";

static void pg_types_forget(pg_source *s)
{
	for (int i = 0; i < s->ntypes; i++)
		PQclear(s->types[i].res);
	free(s->types);
	s->types = NULL;
	s->ntypes = 0;
}

/* Type `oid`'s row of pg_type_sql, read on first use in a discovery (*res stays the memo's). */
static int pg_type_row(pg_source *s, uint32_t oid, PGresult **res, sl_error *err)
{
	for (int i = 0; i < s->ntypes; i++)
		if (s->types[i].oid == oid) {
			*res = s->types[i].res;
			return 0;
		}
	char oidbuf[16];
	snprintf(oidbuf, sizeof oidbuf, "%u", oid);
	const char *params[1] = {oidbuf};
	SL_TRY(sl_pg_query(s->meta, pg_type_sql, 1, params, res, err));
	s->types = sl_realloc(s->types, sizeof *s->types * (size_t)(s->ntypes + 1));
	s->types[s->ntypes++] = (struct pg_type_memo){oid, *res};
	return 0;
}

/* Add what type `oid` needs on a same-engine target (dependencies first). */
static int pg_collect_requirements(pg_source *s, sl_table_def *t, uint32_t oid, int depth,
                                   sl_error *err)
{
	if (oid == 0 || depth > 8)
		return 0;
	PGresult *res;
	SL_TRY(pg_type_row(s, oid, &res, err));
	if (PQntuples(res) != 1)
		return 0;
	const char *nsp = PQgetvalue(res, 0, 0), *typname = PQgetvalue(res, 0, 1);
	char typtype = PQgetvalue(res, 0, 2)[0], typcategory = PQgetvalue(res, 0, 3)[0];
	uint32_t typelem = (uint32_t)strtoul(PQgetvalue(res, 0, 4), NULL, 10);
	int rc = 0;
	sl_buf ddl = {0}, qname = {0};
	if (typcategory == 'A' && typelem != 0) {
		rc = pg_collect_requirements(s, t, typelem, depth + 1, err);
		goto out;
	}
	if (strcmp(nsp, "pg_catalog") == 0)
		goto out;
	sl_buf_puts(&ddl, "CREATE SCHEMA IF NOT EXISTS ");
	if (!PQgetisnull(res, 0, 5)) {
		/* a type from an extension: create the extension in the same schema */
		const char *extschema = PQgetvalue(res, 0, 6);
		sl_pg_quote_ident(&ddl, extschema);
		sl_table_add_requirement(t, NULL, sl_buf_cstr(&ddl));
		sl_buf_reset(&ddl);
		sl_buf_puts(&ddl, "CREATE EXTENSION IF NOT EXISTS ");
		sl_pg_quote_ident(&ddl, PQgetvalue(res, 0, 5));
		sl_buf_puts(&ddl, " WITH SCHEMA ");
		sl_pg_quote_ident(&ddl, extschema);
		sl_table_add_requirement(t, NULL, sl_buf_cstr(&ddl));
		goto out;
	}
	sl_pg_quote_ident(&ddl, nsp);
	sl_table_add_requirement(t, NULL, sl_buf_cstr(&ddl));
	sl_buf_reset(&ddl);
	sl_pg_quote_qualified(&qname, nsp, typname);
	const char *q = sl_buf_cstr(&qname);
	switch (typtype) {
	case 'e':
		sl_buf_printf(&ddl, "CREATE TYPE %s AS ENUM (%s)", q,
		              PQgetisnull(res, 0, 11) ? "" : PQgetvalue(res, 0, 11));
		break;
	case 'd':
		if ((rc = pg_collect_requirements(
		             s, t, (uint32_t)strtoul(PQgetvalue(res, 0, 7), NULL, 10), depth + 1,
		             err)) < 0)
			goto out;
		sl_buf_printf(&ddl, "CREATE DOMAIN %s AS %s%s %s", q, PQgetvalue(res, 0, 8),
		              PQgetvalue(res, 0, 9)[0] == 't' ? " NOT NULL" : "",
		              PQgetisnull(res, 0, 10) ? "" : PQgetvalue(res, 0, 10));
		break;
	case 'c': {
		char *attrs = sl_strdup(PQgetisnull(res, 0, 13) ? "" : PQgetvalue(res, 0, 13));
		char *save = NULL; /* strtok_r: the recursion tokenizes nested composites too */
		for (char *tok = strtok_r(attrs, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			if ((rc = pg_collect_requirements(s, t, (uint32_t)strtoul(tok, NULL, 10),
			                                  depth + 1, err)) < 0)
				break;
		free(attrs);
		if (rc < 0)
			goto out;
		sl_buf_printf(&ddl, "CREATE TYPE %s AS (%s)", q,
		              PQgetisnull(res, 0, 12) ? "" : PQgetvalue(res, 0, 12));
		break;
	}
	case 'r':
		if ((rc = pg_collect_requirements(
		             s, t, (uint32_t)strtoul(PQgetvalue(res, 0, 14), NULL, 10), depth + 1,
		             err)) < 0)
			goto out;
		sl_buf_printf(&ddl, "CREATE TYPE %s AS RANGE (SUBTYPE = %s)", q,
		              PQgetvalue(res, 0, 15));
		break;
	default:
		/* a base type outside any extension: it must already exist on the target */
		break;
	}
	sl_table_add_requirement(t, PQgetvalue(res, 0, 16), ddl.len ? sl_buf_cstr(&ddl) : "");
out:
	sl_buf_free(&ddl);
	sl_buf_free(&qname);
	return rc;
}

static int pg_discover(sl_source *handle, sl_catalog *cat, sl_error *err)
{
	pg_source *s = pg_source_of(handle);
	char *const *follow = cat->follow;
	int nfollow = cat->nfollow;
	memset(cat, 0, sizeof *cat);
	cat->follow = follow;
	cat->nfollow = nfollow;
	PGresult *res = NULL;
	sl_pg_column *cols = NULL;
	int ncols = 0, rc;
	sl_buf oids = {0};
	if ((rc = sl_pg_query(s->meta, pg_tables_sql, 0, NULL, &res, err)) < 0)
		return sl_error_wrap(err, "source: listing tables");
	int n = PQntuples(res);
	cat->tables = sl_calloc((size_t)(n ? n : 1), sizeof *cat->tables);
	sl_buf_putc(&oids, '{');
	for (int i = 0; i < n; i++) {
		const char *nsp = PQgetvalue(res, i, 1), *rel = PQgetvalue(res, i, 2);
		char *qualified = sl_qualify(nsp, rel);
		if (!sl_catalog_selects(cat, s->cfg, qualified, PQgetvalue(res, i, 0))) {
			free(qualified);
			continue;
		}
		sl_table_def *t = &cat->tables[cat->ntables++];
		t->schema = sl_strdup(nsp);
		t->name = sl_strdup(rel);
		t->qualified = qualified;
		t->est_rows = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		t->est_bytes = strtoll(PQgetvalue(res, i, 5), NULL, 10);
		if (t->est_rows < 0 && t->est_bytes == 0)
			t->est_rows = 0;
		t->engine = "postgres";
		t->identity = sl_strdup(PQgetvalue(res, i, 0));
		struct pg_table *pt = sl_calloc(1, sizeof *pt);
		pt->oid = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
		pt->relkind = PQgetvalue(res, i, 3)[0];
		t->priv = pt;
		t->priv_free = pg_table_free;
		sl_buf_printf(&oids, "%s%u", cat->ntables > 1 ? "," : "", pt->oid);
	}
	sl_buf_putc(&oids, '}');
	PQclear(res);
	res = NULL;
	if (cat->ntables == 0)
		goto out;

	if ((rc = sl_pg_read_columns(s->meta, sl_buf_cstr(&oids), &cols, &ncols, err)) < 0)
		goto out;
	int ci = 0;
	for (int ti = 0; ti < cat->ntables; ti++) {
		sl_table_def *t = &cat->tables[ti];
		struct pg_table *pt = t->priv;
		ci = 0; /* columns come ordered by relation oid, tables by name */
		while (ci < ncols && cols[ci].relid != pt->oid)
			ci++;
		int start = ci;
		while (ci < ncols && cols[ci].relid == pt->oid)
			ci++;
		int nc = ci - start;
		sl_field *fields = sl_calloc((size_t)(nc ? nc : 1), sizeof *fields);
		sl_pg_codec *codecs = sl_calloc((size_t)(nc ? nc : 1), sizeof *codecs);
		sl_pg_select *how = sl_calloc((size_t)(nc ? nc : 1), sizeof *how);
		const char **reasons = sl_calloc((size_t)(nc ? nc : 1), sizeof *reasons);
		sl_pg_build_select(cols + start, nc, fields, codecs, how, reasons);
		for (int k = 0; k < nc; k++)
			if (cols[start + k].generated && s->server_version < 180000) {
				how[k] = SL_PG_SELECT_UNSUPPORTED;
				reasons[k] =
				        "a generated column: PostgreSQL before 18 leaves generated "
				        "columns out of logical replication; a PostgreSQL target "
				        "recreates it as a generated column with the same "
				        "expression, "
				        "other targets leave it out";
			}
		/* keep the supported columns; remember the others */
		t->fields = sl_calloc((size_t)(nc ? nc : 1), sizeof *t->fields);
		pt->codecs = sl_calloc((size_t)(nc ? nc : 1), sizeof *pt->codecs);
		pt->how = sl_calloc((size_t)(nc ? nc : 1), sizeof *pt->how);
		sl_buf sel = {0};
		for (int k = 0; k < nc; k++) {
			if (how[k] == SL_PG_SELECT_UNSUPPORTED) {
				sl_skipped_column *sk = sl_table_skip_column(
				        t, cols[start + k].name, cols[start + k].format_type,
				        reasons[k]);
				if (cols[start + k].generated && cols[start + k].expression)
					sk->expression = sl_strdup(cols[start + k].expression);
				sk->after = t->nfields;
				sl_field_reset(&fields[k]);
				continue;
			}
			if (t->nfields)
				sl_buf_puts(&sel, ", ");
			sl_pg_select_expr(&sel, fields[k].name, how[k]);
			pt->codecs[t->nfields] = codecs[k];
			pt->how[t->nfields] = how[k];
			t->fields[t->nfields++] = fields[k];
			if ((rc = pg_collect_requirements(s, t, cols[start + k].type_oid, 0, err)) <
			    0)
				break;
		}
		pt->select_list = sl_strdup(t->nfields ? sl_buf_cstr(&sel) : "");
		sl_buf_free(&sel);
		free(fields);
		free(codecs);
		free(how);
		free(reasons);
		if (rc < 0)
			goto out;
	}

	/* primary keys */
	const char *params[1] = {sl_buf_cstr(&oids)};
	if ((rc = sl_pg_query(s->meta, pg_keys_sql, 1, params, &res, err)) < 0)
		goto out;
	for (int i = 0; i < PQntuples(res); i++) {
		uint32_t relid = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
		const char *att = PQgetvalue(res, i, 1);
		for (int ti = 0; ti < cat->ntables; ti++) {
			sl_table_def *t = &cat->tables[ti];
			if (((struct pg_table *)t->priv)->oid != relid)
				continue;
			for (int k = 0; k < t->nfields; k++)
				if (strcmp(t->fields[k].name, att) == 0) {
					t->key = sl_realloc(t->key,
					                    sizeof *t->key * (size_t)(t->nkey + 1));
					t->key[t->nkey++] = k;
				}
		}
	}
out:
	PQclear(res);
	pg_types_forget(s);
	sl_pg_columns_free(cols, ncols);
	sl_buf_free(&oids);
	if (rc < 0)
		sl_catalog_free(cat);
	return rc;
}

/* The pipeline file leaves columns out: the select list (snapshot and verify) reads only
 * the others. */
static int pg_project(sl_source *handle, sl_catalog *cat, int ti, const int *keep, int nkeep,
                      sl_error *err)
{
	pg_source *s = pg_source_of(handle);
	(void)s;
	(void)err;
	sl_table_def *t = &cat->tables[ti];
	struct pg_table *pt = t->priv;
	sl_buf sel = {0};
	for (int k = 0; k < nkeep; k++) {
		pt->codecs[k] = pt->codecs[keep[k]];
		pt->how[k] = pt->how[keep[k]];
		if (k)
			sl_buf_puts(&sel, ", ");
		sl_pg_select_expr(&sel, t->fields[keep[k]].name, pt->how[k]);
	}
	free(pt->select_list);
	pt->select_list = sl_strdup(nkeep ? sl_buf_cstr(&sel) : "");
	sl_buf_free(&sel);
	return 0;
}

/* ---------------------------------------------------------------- checks ---- */

static void pg_report(sl_check_fn report, void *ctx, bool ok, const char *what, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));
static void pg_report(sl_check_fn report, void *ctx, bool ok, const char *what, const char *fmt,
                      ...)
{
	char detail[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	report(ctx, ok, what, detail);
}

static const char pg_settings_sql[] =
        "SELECT current_setting('wal_level'), current_setting('max_replication_slots')::int,"
        "       (SELECT count(*) FROM pg_replication_slots)::int,"
        "       current_setting('max_wal_senders')::int,"
        "       (SELECT count(*) FROM pg_stat_replication)::int,"
        "       (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user),"
        "       current_user, has_database_privilege(current_database(), 'CREATE'),"
        "       (SELECT count(*) FROM pg_publication WHERE pubname = $1)::int,"
        "       (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $2)::int,"
        "       current_database(), version()";

/* The server settings and privileges change capture needs, one report each; the user, the
 * database and whether the user may replicate, for the checks after. Returns the number
 * failed, or -1 when the settings cannot be read (reported). */
static int pg_check_settings(pg_source *s, sl_check_fn report, void *ctx, char *user, size_t nuser,
                             char *db, size_t ndb, bool *can_replicate)
{
	int failed = 0;
	sl_error err = {0};
	PGresult *res;
	const char *params[2] = {s->publication, s->slot};
	if (sl_pg_query(s->meta, pg_settings_sql, 2, params, &res, &err) < 0) {
		report(ctx, false, "source settings", err.msg);
		return -1;
	}
	const char *wal_level = PQgetvalue(res, 0, 0);
	int max_slots = atoi(PQgetvalue(res, 0, 1)), used_slots = atoi(PQgetvalue(res, 0, 2));
	int max_senders = atoi(PQgetvalue(res, 0, 3)), used_senders = atoi(PQgetvalue(res, 0, 4));
	*can_replicate = PQgetvalue(res, 0, 5)[0] == 't';
	snprintf(user, nuser, "%s", PQgetvalue(res, 0, 6));
	bool can_create = PQgetvalue(res, 0, 7)[0] == 't';
	bool pub_exists = atoi(PQgetvalue(res, 0, 8)) > 0,
	     slot_exists = atoi(PQgetvalue(res, 0, 9)) > 0;
	snprintf(db, ndb, "%s", PQgetvalue(res, 0, 10));

	bool ok = strcmp(wal_level, "logical") == 0;
	failed += !ok;
	pg_report(report, ctx, ok, "source wal_level",
	          ok ? "wal_level is logical"
	             : "wal_level is '%s' (run: ALTER SYSTEM SET wal_level = logical; then restart "
	               "PostgreSQL)",
	          wal_level);
	ok = slot_exists || used_slots < max_slots;
	failed += !ok;
	pg_report(report, ctx, ok, "source replication slots",
	          ok ? "%d of max_replication_slots=%d in use"
	             : "all %d of max_replication_slots=%d are in use (raise "
	               "max_replication_slots and restart, or drop an unused slot)",
	          used_slots, max_slots);
	ok = used_senders < max_senders;
	failed += !ok;
	pg_report(report, ctx, ok, "source wal senders",
	          ok ? "%d of max_wal_senders=%d in use"
	             : "all %d of max_wal_senders=%d are in use (raise max_wal_senders "
	               "and restart)",
	          used_senders, max_senders);
	failed += !*can_replicate;
	pg_report(report, ctx, *can_replicate, "source replication privilege",
	          *can_replicate
	                  ? "user \"%s\" has REPLICATION"
	                  : "user \"%s\" lacks REPLICATION (run: ALTER ROLE \"%s\" REPLICATION)",
	          user, user);
	ok = pub_exists || can_create;
	failed += !ok;
	pg_report(report, ctx, ok, "source publication",
	          pub_exists ? "publication \"%s\" exists"
	          : ok       ? "publication \"%s\" will be created"
	               : "publication \"%s\" is missing and user may not create it (run as an "
	                 "owner of the tables: "
	                 "CREATE PUBLICATION \"%s\" FOR ALL TABLES WITH "
	                 "(publish_via_partition_root))",
	          s->publication, s->publication);
	pg_report(report, ctx, true, "source replication slot",
	          slot_exists ? "slot \"%s\" exists" : "slot \"%s\" will be created", s->slot);
	PQclear(res);

	return failed;
}

/* Table i of cat: SELECT for `user`, and, without a key, whether its updates and deletes
 * can be replicated. Returns 1 when the user cannot read it. */
static int pg_check_table(pg_source *s, sl_check_fn report, void *ctx, const sl_catalog *cat, int i,
                          const char *user)
{
	sl_error err = {0};
	PGresult *res;
	int denied = 0;
	sl_buf q = {0};
	sl_buf_puts(&q, "SELECT has_table_privilege(");
	sl_buf pq = {0};
	sl_pg_quote_qualified(&pq, cat->tables[i].schema, cat->tables[i].name);
	sl_pg_quote_literal(&q, sl_buf_cstr(&pq));
	sl_buf_puts(&q, ", 'SELECT')");
	if (sl_pg_query(s->meta, sl_buf_cstr(&q), 0, NULL, &res, &err) == 0) {
		if (PQgetvalue(res, 0, 0)[0] != 't') {
			char what[300];
			snprintf(what, sizeof what, "source table %s", cat->tables[i].qualified);
			pg_report(report, ctx, false, what,
			          "user \"%s\" cannot read it (run: GRANT SELECT ON %s TO "
			          "\"%s\")",
			          user, sl_buf_cstr(&pq), user);
			denied++;
		}
		PQclear(res);
	}
	if (cat->tables[i].nkey == 0) {
		/* without a key, updates and deletes need the whole old row in the log */
		const struct pg_table *pt = cat->tables[i].priv;
		char oid[16];
		snprintf(oid, sizeof oid, "%u", pt->oid);
		const char *p1[1] = {oid};
		if (sl_pg_query(s->meta, "SELECT relreplident FROM pg_class WHERE oid = $1", 1, p1,
		                &res, &err) == 0) {
			char what[300];
			snprintf(what, sizeof what, "source table %s", cat->tables[i].qualified);
			if (PQgetvalue(res, 0, 0)[0] == 'f')
				pg_report(report, ctx, true, what,
				          "no primary key; REPLICA IDENTITY FULL: updates "
				          "and "
				          "deletes are applied by whole-row match");
			else
				pg_report(report, ctx, true, what,
				          "warning: no primary key and REPLICA IDENTITY is "
				          "not "
				          "FULL: only inserts can be replicated, and once "
				          "published PostgreSQL refuses UPDATE/DELETE on "
				          "it (run: "
				          "ALTER TABLE %s REPLICA IDENTITY FULL)",
				          sl_buf_cstr(&pq));
			PQclear(res);
		}
	}
	sl_buf_free(&q);
	sl_buf_free(&pq);
	return denied;
}

static int pg_check(sl_source *handle, sl_check_fn report, void *ctx)
{
	pg_source *s = pg_source_of(handle);
	char where[256];
	sl_error err = {0};
	pg_report(report, ctx, true, "source connection", "connected to %s (PostgreSQL %d.%d)",
	          sl_pg_where(s->meta, where, sizeof where), s->server_version / 10000,
	          s->server_version % 10000);
	char tls[256];
	sl_pg_tls_describe(s->meta, "source", tls, sizeof tls);
	report(ctx, true, "source TLS", tls);
	char user[128], db[128];
	bool can_replicate = false;
	int failed =
	        pg_check_settings(s, report, ctx, user, sizeof user, db, sizeof db, &can_replicate);
	if (failed < 0)
		return 1;

	/* a replication connection must be allowed (pg_hba.conf, REPLICATION) */
	if (can_replicate) {
		PGconn *repl = NULL;
		if (sl_pg_connect(&s->cfg->source, "source", true, &repl, &err) < 0) {
			failed++;
			report(ctx, false, "source replication connection", err.msg);
		} else {
			report(ctx, true, "source replication connection",
			       "a replication connection can be opened");
			PQfinish(repl);
		}
	}

	/* the selected tables, and SELECT on each */
	sl_catalog cat;
	if (pg_discover(handle, &cat, &err) < 0) {
		report(ctx, false, "source tables", err.msg);
		return failed + 1;
	}
	for (int i = 0; i < cat.ntables; i++)
		failed += pg_check_table(s, report, ctx, &cat, i, user);
	bool ok = cat.ntables > 0;
	failed += !ok;
	if (ok)
		pg_report(report, ctx, true, "source tables",
		          "%d table(s) selected in database \"%s\"", cat.ntables, db);
	else
		pg_report(report, ctx, false, "source tables",
		          "no table selected in database \"%s\" (check "
		          "source.tables.include/exclude)",
		          db);
	sl_catalog_free(&cat);
	return failed;
}

/* ---------------------------------------------------------------- snapshot ---- */

static void pg_identity(sl_source *handle, char *buf, size_t n)
{
	pg_source *s = pg_source_of(handle);
	char where[256];
	snprintf(buf, n, "postgres %s slot %s", sl_pg_where(s->meta, where, sizeof where), s->slot);
}

static int pg_slot_exists(pg_source *s, bool *exists, sl_error *err)
{
	PGresult *res;
	const char *params[1] = {s->slot};
	SL_TRY(sl_pg_query(s->meta,
	                   "SELECT database = current_database(), plugin FROM pg_replication_slots "
	                   "WHERE slot_name = $1",
	                   1, params, &res, err));
	*exists = PQntuples(res) > 0;
	int rc = 0;
	if (*exists &&
	    (PQgetvalue(res, 0, 0)[0] != 't' || strcmp(PQgetvalue(res, 0, 1), "pgoutput") != 0))
		rc = sl_error_set(err, SL_ERR_STATE,
		                  "source: replication slot \"%s\" exists but belongs to another "
		                  "database or plugin (set "
		                  "source.slot to another name)",
		                  s->slot);
	PQclear(res);
	return rc;
}

int sl_pg_wait_slot_free(PGconn *conn, const char *slot, int seconds, bool *still_active,
                         sl_error *err)
{
	PGresult *res;
	const char *params[1] = {slot};
	*still_active = false;
	for (int i = 0; i <= seconds * 10; i++) {
		SL_TRY(sl_pg_query(
		        conn,
		        "SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1 "
		        "AND active_pid IS NOT NULL",
		        1, params, &res, err));
		bool active = PQntuples(res) > 0;
		if (active && i == 0)
			sl_info("source: replication slot \"%s\" is still in use by PID %s (a "
			        "previous run going away?); waiting up to %d s for it to be "
			        "released",
			        slot, PQgetvalue(res, 0, 0), seconds);
		PQclear(res);
		if (!active)
			return 0;
		if (i < seconds * 10)
			usleep(100000);
	}
	*still_active = true;
	return 0;
}

/* Drop the slot of an unfinished snapshot. A run killed while creating the slot leaves its
 * session behind until the server notices (CREATE_REPLICATION_SLOT waits for a consistent
 * point, which can take as long as the server takes to log the running transactions): wait up
 * to a minute for the slot to be released rather than fail on "slot is active". */
static int pg_drop_slot(pg_source *s, sl_error *err)
{
	PGresult *res;
	const char *params[1] = {s->slot};
	bool busy;
	SL_TRY(sl_pg_wait_slot_free(s->meta, s->slot, 60, &busy, err));
	int rc = sl_pg_query(s->meta, "SELECT pg_drop_replication_slot($1)", 1, params, &res, err);
	if (rc == 0)
		PQclear(res);
	return rc;
}

extern volatile sig_atomic_t sl_stop_requested;

/* Wait until every transaction running now has ended. A table added to the publication is
 * published for changes decoded after the addition; a transaction that was already running
 * may have changed it before (those changes are not streamed), so the table is copied only
 * once such transactions are over and their rows visible to the copy. */
static int pg_wait_running(pg_source *s, sl_error *err)
{
	PGresult *res;
	SL_TRY(sl_pg_query(s->meta, "SELECT txid_current_snapshot()::text", 0, NULL, &res, err));
	char *snap = sl_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	const char *params[1] = {snap};
	int rc = 0;
	for (int i = 0;; i++) {
		rc = sl_pg_query(
		        s->meta,
		        "SELECT count(*), min(x)::text FROM txid_snapshot_xip($1::txid_snapshot) "
		        "x WHERE txid_status(x) = 'in progress'",
		        1, params, &res, err);
		if (rc < 0)
			break;
		long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
		if (n > 0 && i % 100 == 50)
			sl_info("source: waiting for %ld transaction(s) that were running when "
			        "tables "
			        "were added to publication \"%s\" (the oldest: xid %s) to end "
			        "before "
			        "copying them",
			        n, s->publication, PQgetvalue(res, 0, 1));
		PQclear(res);
		if (n == 0 || sl_stop_requested)
			break;
		usleep(100000);
	}
	free(snap);
	return rc;
}

/* Create the publication when missing; add selected tables it lacks (unless it is FOR ALL TABLES).
 */
/* `st`: when not NULL (the snapshot is complete), a table the publication lacks and that
 * cannot be added is left out with a warning if it is new to the pipeline (not loaded), so a
 * table created by another owner does not stop the stream of the others. */
static int pg_strptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int pg_ensure_publication(pg_source *s, sl_catalog *cat, sl_state *st, sl_error *err)
{
	PGresult *res;
	const char *params[1] = {s->publication};
	SL_TRY(sl_pg_query(s->meta, "SELECT puballtables FROM pg_publication WHERE pubname = $1", 1,
	                   params, &res, err));
	bool exists = PQntuples(res) > 0, all = exists && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (all)
		return 0;
	sl_buf sql = {0};
	int rc = 0, added = 0;
	if (!exists) {
		sl_buf_puts(&sql, "CREATE PUBLICATION ");
		sl_pg_quote_ident(&sql, s->publication);
		if (cat->ntables > 0) {
			sl_buf_puts(&sql, " FOR TABLE ");
			for (int i = 0; i < cat->ntables; i++) {
				if (i)
					sl_buf_puts(&sql, ", ");
				sl_pg_quote_qualified(&sql, cat->tables[i].schema,
				                      cat->tables[i].name);
			}
		}
		sl_buf_puts(&sql, " WITH (publish_via_partition_root = true)");
		rc = sl_pg_exec(s->meta, sl_buf_cstr(&sql), err);
		if (rc < 0)
			sl_error_wrap(err,
			              "source: cannot create publication \"%s\" (create it as an "
			              "owner of the tables, "
			              "e.g. CREATE PUBLICATION \"%s\" FOR ALL TABLES WITH "
			              "(publish_via_partition_root))",
			              s->publication, s->publication);
		else
			sl_info("source: created publication \"%s\" for %d table(s)",
			        s->publication, cat->ntables);
		goto out;
	}
	/* the tables it has, read in one query (sorted, "schema.name" as sl_qualify writes it) */
	PGresult *in;
	SL_TRY(sl_pg_query(s->meta,
	                   "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname "
	                   "= $1",
	                   1, params, &in, err));
	int nin = PQntuples(in);
	char **has = sl_calloc((size_t)(nin ? nin : 1), sizeof *has);
	for (int i = 0; i < nin; i++)
		has[i] = sl_qualify(PQgetvalue(in, i, 0), PQgetvalue(in, i, 1));
	PQclear(in);
	qsort(has, (size_t)nin, sizeof *has, pg_strptr_cmp);
	for (int i = 0; i < cat->ntables && rc == 0; i++) {
		const char *key = cat->tables[i].qualified;
		if (bsearch(&key, has, (size_t)nin, sizeof *has, pg_strptr_cmp))
			continue;
		sl_buf_reset(&sql);
		sl_buf_puts(&sql, "ALTER PUBLICATION ");
		sl_pg_quote_ident(&sql, s->publication);
		sl_buf_puts(&sql, " ADD TABLE ");
		sl_pg_quote_qualified(&sql, cat->tables[i].schema, cat->tables[i].name);
		rc = sl_pg_exec(s->meta, sl_buf_cstr(&sql), err);
		sl_table_status ts = SL_TABLE_DONE;
		if (rc < 0 && st)
			sl_state_table_get(st, cat->tables[i].qualified, &ts, NULL, NULL);
		if (rc < 0 && ts != SL_TABLE_DONE) {
			sl_warn("source: table %s is new to the pipeline but cannot be added to "
			        "publication \"%s\" (%s); its changes are not replicated: add it "
			        "as "
			        "its owner (ALTER PUBLICATION ... ADD TABLE), and the next run "
			        "copies it",
			        cat->tables[i].qualified, s->publication, err->msg);
			cat->tables[i].unstreamed = true;
			sl_error_clear(err);
			rc = 0;
		} else if (rc < 0) {
			sl_error_wrap(
			        err,
			        "source: publication \"%s\" lacks table %s and it cannot be added",
			        s->publication, cat->tables[i].qualified);
		} else {
			added++;
		}
	}
	/* a table not loaded yet may have been added by a run that stopped before this wait (a
	 * SIGKILL): wait again, its copy must not start before those transactions end */
	bool pending = false;
	for (int i = 0; rc == 0 && st && !pending && i < cat->ntables; i++) {
		sl_table_status ts = SL_TABLE_DONE;
		sl_state_table_get(st, cat->tables[i].qualified, &ts, NULL, NULL);
		pending = ts != SL_TABLE_DONE && !cat->tables[i].unstreamed;
	}
	if (rc == 0 && (added > 0 || pending))
		rc = pg_wait_running(s, err);
	for (int i = 0; i < nin; i++)
		free(has[i]);
	free(has);
out:
	sl_buf_free(&sql);
	return rc;
}

static int pg_create_slot(pg_source *s, sl_snapshot_info *info, sl_error *err)
{
	SL_TRY(sl_pg_connect(&s->cfg->source, "source", true, &s->repl, err));
	sl_buf sql = {0};
	sl_buf_puts(&sql, "CREATE_REPLICATION_SLOT ");
	sl_pg_quote_ident(&sql, s->slot);
	sl_buf_puts(&sql, " LOGICAL pgoutput EXPORT_SNAPSHOT");
	PGresult *res = PQexec(s->repl, sl_buf_cstr(&sql));
	sl_buf_free(&sql);
	int rc = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = sl_pg_result_error(s->repl, res, "source: creating replication slot", err);
	} else {
		snprintf(info->position, sizeof info->position, "%s", PQgetvalue(res, 0, 1));
		snprintf(s->snapshot_name, sizeof s->snapshot_name, "%s", PQgetvalue(res, 0, 2));
		sl_info("source: created replication slot \"%s\" at %s (snapshot %s)", s->slot,
		        info->position, s->snapshot_name);
	}
	PQclear(res);
	return rc;
}

/* Settings a slot needs, checked before anything is created on the source. */
static int pg_require_logical(pg_source *s, sl_error *err)
{
	PGresult *res;
	SL_TRY(sl_pg_query(s->meta, "SELECT current_setting('wal_level')", 0, NULL, &res, err));
	char level[32];
	snprintf(level, sizeof level, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (strcmp(level, "logical") != 0)
		return sl_error_set(
		        err, SL_ERR_SETTING,
		        "source: wal_level is '%s' but logical decoding needs 'logical' (run: "
		        "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL)",
		        level);
	return 0;
}

/* Open a transaction on s->repl (closed by pg_snapshot_end) and export its snapshot for the
 * readers (s->snapshot_name). */
static int pg_export_snapshot(pg_source *s, sl_error *err)
{
	SL_TRY(sl_pg_connect(&s->cfg->source, "source", false, &s->repl, err));
	PGresult *res;
	SL_TRY(sl_pg_exec(s->repl, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err));
	SL_TRY(sl_pg_query(s->repl, "SELECT pg_export_snapshot()", 0, NULL, &res, err));
	snprintf(s->snapshot_name, sizeof s->snapshot_name, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

static int pg_snapshot_begin(sl_source *handle, sl_catalog *cat, sl_state *st,
                             sl_snapshot_info *info, sl_error *err)
{
	pg_source *s = pg_source_of(handle);
	bool keyless_backfill = info->keyless_backfill;
	memset(info, 0, sizeof *info);
	SL_TRY(pg_require_logical(s, err));
	char identity[512];
	pg_identity(handle, identity, sizeof identity);
	sl_pipeline_state ps;
	SL_TRY(sl_state_load(st, &ps, err));
	if (ps.found && strcmp(ps.identity, identity) != 0)
		return sl_error_set(err, SL_ERR_STATE,
		                    "state store holds pipeline '%s' for another source (%s, not "
		                    "%s): use another state.url "
		                    "or pipeline name",
		                    s->cfg->name, ps.identity, identity);
	bool slot_exists;
	SL_TRY(pg_slot_exists(s, &slot_exists, err));
	if (ps.found && ps.snapshot_done) {
		snprintf(info->position, sizeof info->position, "%s", ps.position);
		if (!slot_exists)
			return sl_error_set(err, SL_ERR_STATE,
			                    "source: replication slot \"%s\" was dropped after the "
			                    "snapshot; changes since %s are "
			                    "lost (run 'sluice reset' and start over)",
			                    s->slot, ps.position);
		/* tables new to the pipeline are streamed from now on (and copied by a
		 * backfill): the publication must carry them */
		return pg_ensure_publication(s, cat, st, err);
	}
	if (!ps.found && slot_exists)
		return sl_error_set(
		        err, SL_ERR_STATE,
		        "source: replication slot \"%s\" already exists but this state store has "
		        "no record of it "
		        "(drop it with SELECT pg_drop_replication_slot('%s'), or set source.slot)",
		        s->slot, s->slot);
	if (ps.found && ps.position[0] != '\0' && slot_exists) {
		/* resume: tables not done are reloaded with a fresh snapshot; CDC from the slot's
		 * point makes those with a key converge. Those without one are copied by a backfill
		 * once changes stream (keyless_backfill), or else make the snapshot start over. */
		bool resumable = true;
		for (int i = 0; i < cat->ntables && !keyless_backfill; i++) {
			sl_table_status ts;
			SL_TRY(sl_state_table_get(st, cat->tables[i].qualified, &ts, NULL, err));
			if (ts != SL_TABLE_DONE && cat->tables[i].nkey == 0) {
				sl_warn("snapshot: keyless table %s was not finished; the snapshot "
				        "starts over from a new consistent point (a streaming run, "
				        "without --once, would copy it while changes stream "
				        "instead)",
				        cat->tables[i].qualified);
				resumable = false;
				break;
			}
		}
		if (resumable) {
			snprintf(info->position, sizeof info->position, "%s", ps.position);
			info->resumed = true;
			/* every reader reloads in one snapshot (taken now, after the consistent
			 * point): with a snapshot each, a row updated while the chunks are read
			 * could be read twice, its old version in one ctid range and its new one
			 * in another, and the key added after the load would fail */
			SL_TRY(pg_export_snapshot(s, err));
			/* tables matched since the first run: the publication must carry them
			 * before they are loaded */
			return pg_ensure_publication(s, cat, NULL, err);
		}
	}
	if (ps.found) {
		info->restarted = true;
		if (slot_exists)
			SL_TRY(pg_drop_slot(s, err));
	}
	SL_TRY(pg_ensure_publication(s, cat, NULL, err));
	/* record the intent first: a crash between creating the slot and recording its position
	 * then leaves a state that lets the next run drop and recreate the slot */
	SL_TRY(sl_state_begin_snapshot(st, identity, "", err));
	SL_TRY(pg_create_slot(s, info, err));
	return sl_state_begin_snapshot(st, identity, info->position, err);
}

static int pg_plan(sl_source *handle, const sl_catalog *cat, int ti, int64_t chunk_bytes,
                   sl_chunk **chunks, int *nchunks, sl_error *err)
{
	pg_source *s = pg_source_of(handle);
	const sl_table_def *t = &cat->tables[ti];
	struct pg_table *pt = t->priv;
	struct pg_leaf self = {0};
	struct pg_leaf *leaves = &self;
	int nleaves = 1;
	int rc = 0;
	PGresult *res = NULL;
	char oidbuf[16];
	snprintf(oidbuf, sizeof oidbuf, "%u", pt->oid);
	const char *params[1] = {oidbuf};
	if (pt->relkind == 'p') {
		rc = sl_pg_query(
		        s->meta,
		        "SELECT format('%I.%I', n.nspname, c.relname), pg_relation_size(c.oid), "
		        "greatest(c.reltuples, 0)::bigint, pg_table_size(c.oid)"
		        "  FROM pg_partition_tree($1::oid) pt JOIN pg_class c ON c.oid = pt.relid"
		        "  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE pt.isleaf ORDER BY "
		        "2 DESC",
		        1, params, &res, err);
		if (rc < 0)
			goto out;
		nleaves = PQntuples(res);
		leaves = sl_calloc((size_t)(nleaves ? nleaves : 1), sizeof *leaves);
		for (int i = 0; i < nleaves; i++) {
			leaves[i].qualified = sl_strdup(PQgetvalue(res, i, 0));
			leaves[i].bytes = strtoll(PQgetvalue(res, i, 1), NULL, 10);
			leaves[i].rows = strtoll(PQgetvalue(res, i, 2), NULL, 10);
			leaves[i].total_bytes = strtoll(PQgetvalue(res, i, 3), NULL, 10);
		}
		PQclear(res);
		res = NULL;
	} else {
		rc = sl_pg_query(
		        s->meta,
		        "SELECT format('ONLY %I.%I', n.nspname, c.relname), "
		        "pg_relation_size(c.oid),"
		        "       pg_table_size(c.oid)"
		        "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
		        "c.oid = $1::oid",
		        1, params, &res, err);
		if (rc < 0)
			goto out;
		if (PQntuples(res) != 1) {
			rc = sl_error_set(err, SL_ERR_STATE,
			                  "source: table %s disappeared during the snapshot",
			                  t->qualified);
			goto out;
		}
		self.qualified = sl_strdup(PQgetvalue(res, 0, 0));
		self.bytes = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		self.total_bytes = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		self.rows = t->est_rows;
		PQclear(res);
		res = NULL;
	}
	int64_t block = s->block_size > 0 ? s->block_size : 8192;
	/* ctid ranges need a TID range scan (PostgreSQL 14+) to be cheap */
	bool split = s->server_version >= 140000;
	for (int l = 0; l < nleaves; l++) {
		/* size chunks by all they carry (TOASTed values live outside the main fork), then
		 * divide the main fork's blocks among them */
		int64_t pages = leaves[l].bytes / block;
		int64_t total = leaves[l].total_bytes > leaves[l].bytes ? leaves[l].total_bytes
		                                                        : leaves[l].bytes;
		int64_t n = split ? (total + chunk_bytes - 1) / chunk_bytes : 1;
		if (n > pages / 4)
			n = pages / 4; /* at least 4 blocks a chunk */
		if (n < 1)
			n = 1;
		int64_t per = (pages + n - 1) / n;
		for (int64_t k = 0; k < n; k++) {
			*chunks = sl_realloc(*chunks, sizeof **chunks * (size_t)(*nchunks + 1));
			sl_chunk *c = &(*chunks)[(*nchunks)++];
			memset(c, 0, sizeof *c);
			c->table = ti;
			c->relation = sl_strdup(leaves[l].qualified);
			int64_t rows = leaves[l].rows < 0 ? -1 : leaves[l].rows;
			c->est_rows = rows < 0 ? -1 : rows / n;
			if (n == 1)
				c->where = NULL;
			else if (k ==
			         n - 1) /* open-ended: the table may have grown since we measured */
				c->where = sl_asprintf("ctid >= '(%lld,0)'::tid",
				                       (long long)(k * per));
			else
				c->where = sl_asprintf(
				        "ctid >= '(%lld,0)'::tid AND ctid < '(%lld,0)'::tid",
				        (long long)(k * per), (long long)((k + 1) * per));
		}
	}
out:
	PQclear(res);
	if (leaves != &self) {
		for (int i = 0; i < nleaves; i++)
			free(leaves[i].qualified);
		free(leaves);
	} else {
		free(self.qualified);
	}
	return rc;
}

/* A reader's transaction holds a lock on each table it read (and on its indexes) until it
 * ends, and the server's lock table has room for max_locks_per_transaction x max_connections
 * in all (6,400 by default): after this many chunks the reader begins a new transaction on the
 * same snapshot, so a snapshot of 10,000 tables does not run out of shared memory. */
#define PG_READS_PER_TXN 64

/* Begin the reader's transaction: on the exported snapshot when there is one. */
static int pg_reader_begin(pg_reader *r, sl_error *err)
{
	r->reads = 0;
	SL_TRY(sl_pg_exec(r->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err));
	if (r->src->snapshot_name[0] == '\0')
		return 0;
	char sql[128];
	snprintf(sql, sizeof sql, "SET TRANSACTION SNAPSHOT '%s'", r->src->snapshot_name);
	return sl_pg_exec(r->conn, sql, err);
}

static int pg_reader_open(sl_source *handle, sl_reader **out, sl_error *err)
{
	pg_source *s = pg_source_of(handle);
	pg_reader *r = sl_calloc(1, sizeof *r);
	r->src = s;
	int rc = sl_pg_connect(&s->cfg->source, "source", false, &r->conn, err);
	if (rc == 0)
		rc = pg_reader_begin(r, err);
	if (rc < 0) {
		if (r->conn)
			PQfinish(r->conn);
		free(r);
		return rc;
	}
	r->cancel = PQgetCancel(r->conn);
	*out = pg_reader_handle(r);
	return 0;
}

static void pg_reader_cancel(sl_reader *handle)
{
	pg_reader *r = pg_reader_of(handle);
	sl_pg_cancel(r->cancel);
}

/* A read failed: name the table, and the grant when the user lacks SELECT. */
static int pg_read_error(PGconn *conn, const sl_table_def *t, int rc, sl_error *err)
{
	if (rc == SL_ERR_CANCELLED)
		return rc;
	/* undefined_column, undefined_table: changed since discovery */
	err->rediscover =
	        strcmp(err->sqlstate, "42703") == 0 || strcmp(err->sqlstate, "42P01") == 0;
	if (rc == SL_ERR_PRIVILEGE) {
		sl_buf q = {0};
		sl_pg_quote_qualified(&q, t->schema, t->name);
		sl_error_set(err, SL_ERR_PRIVILEGE,
		             "source: user \"%s\" cannot read table %s (run: GRANT SELECT ON %s TO "
		             "\"%s\")",
		             PQuser(conn), t->qualified, sl_buf_cstr(&q), PQuser(conn));
		sl_buf_free(&q);
		return rc;
	}
	return sl_error_wrap(err, "source: reading %s", t->qualified);
}

static int pg_read_chunk(sl_reader *handle, const sl_catalog *cat, const sl_chunk *chunk,
                         sl_batch **batch, size_t batch_bytes, sl_batch_sink sink, void *ctx,
                         int64_t *rows, volatile int *cancel, sl_error *err)
{
	pg_reader *r = pg_reader_of(handle);
	const sl_table_def *t = &cat->tables[chunk->table];
	struct pg_table *pt = t->priv;
	if (r->reads == PG_READS_PER_TXN) {
		int rc = sl_pg_exec(r->conn, "COMMIT", err);
		if (rc == 0)
			rc = pg_reader_begin(r, err);
		if (rc < 0)
			return sl_error_wrap(err, "source: a new transaction on the snapshot");
	}
	r->reads++;
	sl_buf sql = {0};
	sl_buf_printf(&sql, "COPY (SELECT %s FROM %s%s%s) TO STDOUT (FORMAT binary)",
	              pt->select_list, chunk->relation, chunk->where ? " WHERE " : "",
	              chunk->where ? chunk->where : "");
	int rc = sl_pg_copy_out(r->conn, sl_buf_cstr(&sql), pt->codecs, batch, batch_bytes, sink,
	                        ctx, rows, cancel, err);
	if (rc < 0)
		pg_read_error(r->conn, t, rc, err);
	sl_buf_free(&sql);
	return rc;
}

static void pg_reader_close(sl_reader *handle)
{
	pg_reader *r = pg_reader_of(handle);
	if (r == NULL)
		return;
	PQfreeCancel(r->cancel);
	PQfinish(r->conn);
	free(r);
}

static int pg_snapshot_end(sl_source *handle, sl_error *err)
{
	pg_source *s = pg_source_of(handle);
	(void)err;
	if (s->repl) {
		PQfinish(s->repl);
		s->repl = NULL;
	}
	s->snapshot_name[0] = '\0';
	return 0;
}

static int pg_reset(sl_source *handle, sl_error *err)
{
	pg_source *s = pg_source_of(handle);
	bool exists;
	SL_TRY(pg_slot_exists(s, &exists, err));
	if (exists) {
		SL_TRY(pg_drop_slot(s, err));
		sl_info("source: dropped replication slot \"%s\"", s->slot);
	}
	return 0;
}

/* ---------------------------------------------------------------- backfill ---- */

/* The relation a backfill reads: the partitioned table itself (its leaves), or ONLY the table. */
static void pg_backfill_relation(sl_buf *b, const sl_table_def *t)
{
	const struct pg_table *pt = t->priv;
	if (pt->relkind != 'p')
		sl_buf_puts(b, "ONLY ");
	sl_pg_quote_qualified(b, t->schema, t->name);
}

/* "(k1, k2)" */
static void pg_key_list(sl_buf *b, const sl_table_def *t)
{
	sl_buf_putc(b, '(');
	for (int k = 0; k < t->nkey; k++) {
		if (k)
			sl_buf_puts(b, ", ");
		sl_pg_quote_ident(b, t->fields[t->key[k]].name);
	}
	sl_buf_putc(b, ')');
}

/* "(k1, k2) OP (('{..}'::text[])[1]::type1, ...)": the key compared with a key spelled as
 * the text array pg_backfill_next returns (each value as its type's text; cast back with the
 * column's own type, so the comparison is the index's). */
static void pg_key_compare(sl_buf *b, const sl_table_def *t, char *const *types, const char *op,
                           const char *key)
{
	pg_key_list(b, t);
	sl_buf_printf(b, " %s (", op);
	for (int k = 0; k < t->nkey; k++) {
		sl_buf_puts(b, k ? ", (" : "(");
		sl_pg_quote_literal(b, key);
		sl_buf_printf(b, "::text[])[%d]::%s", k + 1, types[k]);
	}
	sl_buf_putc(b, ')');
}

/* The watermarks are logical decoding messages, which pgoutput carries from version 14 on. */
static bool pg_backfill_ok(sl_source *handle)
{
	pg_source *s = pg_source_of(handle);
	return s->server_version >= 140000;
}

static int pg_backfill_next(sl_source *handle, const sl_catalog *cat, int ti, const char *after,
                            int64_t rows, sl_chunk *chunk, char **next, sl_error *err)
{
	pg_source *s = pg_source_of(handle);
	const sl_table_def *t = &cat->tables[ti];
	const struct pg_table *pt = t->priv;
	*next = NULL;
	memset(chunk, 0, sizeof *chunk);
	if (t->nkey == 0) {
		/* the whole table, read under a lock (pg_backfill_read) */
		sl_buf rel = {0};
		pg_backfill_relation(&rel, t);
		chunk->table = ti;
		chunk->est_rows = t->est_rows;
		chunk->relation = sl_strdup(sl_buf_cstr(&rel));
		sl_buf_free(&rel);
		return 0;
	}
	/* each key column's type as the catalog spells it, for the casts */
	char **types = sl_calloc((size_t)t->nkey, sizeof *types);
	sl_buf sql = {0}, rel = {0};
	PGresult *res = NULL;
	int rc = 0;
	char oid[16];
	snprintf(oid, sizeof oid, "%u", pt->oid);
	for (int k = 0; k < t->nkey && rc == 0; k++) {
		const char *params[2] = {oid, t->fields[t->key[k]].name};
		rc = sl_pg_query(s->meta,
		                 "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
		                 "attrelid = $1::oid AND attname = $2 AND NOT attisdropped",
		                 2, params, &res, err);
		if (rc == 0 && PQntuples(res) != 1) {
			rc = sl_error_set(err, SL_ERR_STATE,
			                  "source: key column %s of %s is gone; restart sluice",
			                  t->fields[t->key[k]].name, t->qualified);
			err->rediscover = true;
		}
		if (rc == 0)
			types[k] = sl_strdup(PQgetvalue(res, 0, 0));
		PQclear(res);
		res = NULL;
	}
	if (rc < 0)
		goto out;
	pg_backfill_relation(&rel, t);
	/* the key `rows` rows on: the slice's last */
	sl_buf_puts(&sql, "SELECT ARRAY[");
	for (int k = 0; k < t->nkey; k++) {
		if (k)
			sl_buf_puts(&sql, ", ");
		sl_pg_quote_ident(&sql, t->fields[t->key[k]].name);
		sl_buf_puts(&sql, "::text");
	}
	sl_buf_printf(&sql, "]::text FROM %s", sl_buf_cstr(&rel));
	if (after) {
		sl_buf_puts(&sql, " WHERE ");
		pg_key_compare(&sql, t, types, ">", after);
	}
	sl_buf_puts(&sql, " ORDER BY ");
	for (int k = 0; k < t->nkey; k++) {
		if (k)
			sl_buf_puts(&sql, ", ");
		sl_pg_quote_ident(&sql, t->fields[t->key[k]].name);
	}
	sl_buf_printf(&sql, " OFFSET %lld LIMIT 1", (long long)(rows > 1 ? rows - 1 : 0));
	if ((rc = sl_pg_query(s->meta, sl_buf_cstr(&sql), 0, NULL, &res, err)) < 0) {
		pg_read_error(s->meta, t, rc, err);
		goto out;
	}
	if (PQntuples(res) == 1)
		*next = sl_strdup(PQgetvalue(res, 0, 0));
	sl_buf_reset(&sql);
	if (after)
		pg_key_compare(&sql, t, types, ">", after);
	if (*next) {
		if (after)
			sl_buf_puts(&sql, " AND ");
		pg_key_compare(&sql, t, types, "<=", *next);
	}
	chunk->table = ti;
	chunk->est_rows = rows;
	chunk->relation = sl_strdup(sl_buf_cstr(&rel));
	chunk->where = sql.len ? sl_strdup(sl_buf_cstr(&sql)) : NULL;
out:
	PQclear(res);
	for (int k = 0; k < t->nkey; k++)
		free(types[k]);
	free(types);
	sl_buf_free(&sql);
	sl_buf_free(&rel);
	return rc;
}

static int pg_backfill_read(sl_source *handle, const sl_catalog *cat, const sl_chunk *chunk,
                            const char *mark, sl_batch **batch, size_t batch_bytes,
                            sl_batch_sink sink, void *ctx, int64_t *rows, sl_unseen *unseen,
                            sl_error *err)
{
	pg_source *s = pg_source_of(handle);
	const sl_table_def *t = &cat->tables[chunk->table];
	const struct pg_table *pt = t->priv;
	memset(unseen, 0, sizeof *unseen);
	if (s->bf && PQstatus(s->bf) != CONNECTION_OK) {
		PQfinish(s->bf);
		s->bf = NULL;
	}
	if (s->bf == NULL)
		SL_TRY(sl_pg_connect(&s->cfg->source, "source", false, &s->bf, err));
	/* the snapshot is taken by the first query, after the mark: the running transactions it
	 * lists are those whose changes the slice does not show. A table without a key is locked
	 * against writers first (LOCK waits for the running ones to end), so that nothing
	 * changes it between the mark and the read. */
	int rc = 0;
	if (t->nkey > 0) {
		rc = sl_pg_watermark(s, mark, err);
		if (rc == 0)
			rc = sl_pg_exec(s->bf, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
			                err);
	} else {
		sl_buf lock = {0};
		sl_buf_printf(&lock, "LOCK TABLE %s IN SHARE MODE", chunk->relation);
		rc = sl_pg_exec(s->bf, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
		if (rc == 0)
			rc = sl_pg_exec(s->bf, "SET LOCAL lock_timeout = '10s'", err);
		if (rc == 0 && (rc = sl_pg_exec(s->bf, sl_buf_cstr(&lock), err)) < 0)
			sl_error_wrap(err,
			              "source: %s (copying a table without a key locks it "
			              "against writes for the read)",
			              t->qualified);
		if (rc == 0)
			rc = sl_pg_watermark(s, mark, err);
		sl_buf_free(&lock);
		if (rc < 0) {
			sl_error e2;
			sl_pg_exec(s->bf, "ROLLBACK", &e2);
			return rc;
		}
	}
	SL_TRY(rc);
	PGresult *res = NULL;
	rc = sl_pg_query(s->bf, "SELECT txid_current_snapshot()::text", 0, NULL, &res, err);
	if (rc == 0) {
		sl_pg_parse_snapshot(PQgetvalue(res, 0, 0), unseen);
		PQclear(res);
		sl_buf sql = {0};
		sl_buf_printf(&sql, "COPY (SELECT %s FROM %s%s%s) TO STDOUT (FORMAT binary)",
		              pt->select_list, chunk->relation, chunk->where ? " WHERE " : "",
		              chunk->where ? chunk->where : "");
		rc = sl_pg_copy_out(s->bf, sl_buf_cstr(&sql), pt->codecs, batch, batch_bytes, sink,
		                    ctx, rows, NULL, err);
		if (rc < 0)
			pg_read_error(s->bf, t, rc, err);
		sl_buf_free(&sql);
	}
	sl_error e2;
	sl_pg_exec(s->bf, rc == 0 ? "COMMIT" : "ROLLBACK", &e2);
	if (rc < 0) {
		sl_unseen_free(unseen);
	}
	return rc;
}

static int pg_digest(sl_source *handle, const sl_catalog *cat, int ti, sl_digest *d, sl_error *err)
{
	pg_source *s = pg_source_of(handle);
	const sl_table_def *t = &cat->tables[ti];
	struct pg_table *pt = t->priv;
	sl_buf sql = {0};
	sl_buf_printf(&sql, "COPY (SELECT %s FROM ", pt->select_list);
	sl_pg_quote_qualified(&sql, t->schema, t->name);
	sl_buf_puts(&sql, ") TO STDOUT (FORMAT binary)");
	int rc = sl_pg_copy_digest(s->meta, sl_buf_cstr(&sql), sl_table_read_fields(t), pt->codecs,
	                           t->nfields, d, err);
	sl_buf_free(&sql);
	if (rc < 0)
		pg_read_error(s->meta, t, rc, err);
	return rc;
}

static const char *const pg_options[] = {"publication", "slot", NULL};

const sl_source_ops sl_pg_source_ops = {
        .type = "postgres",
        .options = pg_options,
        .identity = pg_identity,
        .open = pg_open,
        .close = pg_close,
        .check = pg_check,
        .discover = pg_discover,
        .project = pg_project,
        .snapshot_begin = pg_snapshot_begin,
        .plan = pg_plan,
        .reader_open = pg_reader_open,
        .read_chunk = pg_read_chunk,
        .reader_cancel = pg_reader_cancel,
        .reader_close = pg_reader_close,
        .snapshot_end = pg_snapshot_end,
        .reset = pg_reset,
        .stream_open = sl_pg_stream_open,
        .stream_run = sl_pg_stream_run,
        .stream_ack = sl_pg_stream_ack,
        .stream_close = sl_pg_stream_close,
        .log_info = sl_pg_log_info,
        .heartbeat = sl_pg_heartbeat,
        .backfill_ok = pg_backfill_ok,
        .backfill_next = pg_backfill_next,
        .backfill_read = pg_backfill_read,
        .digest = pg_digest,
};
