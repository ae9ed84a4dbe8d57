/* PostgreSQL catalog queries shared by the source and the target. */
#include "clients/pgcatalog.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "clients/pgclient.h"

static const char sl_columns_sql[] =
        "SELECT a.attrelid, a.attname, a.attnotnull, format_type(a.atttypid, a.atttypmod), "
        "a.atttypid,"
        "       rt.oid, CASE WHEN rt.typcategory = 'A' AND b.typmod = -1 THEN eb.typmod ELSE "
        "b.typmod END,"
        "       rt.typtype, rt.typcategory, CASE WHEN rt.typcategory = 'A' THEN eb.oid ELSE 0 "
        "END,"
        "       coalesce(et.typtype, ''), coalesce(et.typcategory, ''), %s,"
        "       (SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d"
        "         WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum),"
        "       format_type(b.oid, b.typmod), a.attnum"
        "  FROM pg_attribute a"
        "  CROSS JOIN LATERAL " SL_PG_BASE_TYPE_SQL(
                "a.atttypid", "a.atttypmod",
                "b") "  JOIN pg_type rt ON rt.oid = b.oid"
                     "  CROSS JOIN LATERAL " SL_PG_BASE_TYPE_SQL(
                             "rt.typelem", "-1", "eb") "  LEFT JOIN pg_type et ON et.oid = eb.oid "
                                                       "AND rt.typcategory = 'A'"
                                                       " WHERE %s AND "
                                                       "a.attnum > 0 AND NOT a.attisdropped"
                                                       " ORDER BY a.attrelid, a.attnum";

/* The columns query, selecting the relations by `where`. */
static void sl_columns_query(PGconn *conn, const char *where, char *sql, size_t n)
{
	/* attgenerated exists from PostgreSQL 12 */
	snprintf(sql, n, sl_columns_sql,
	         PQserverVersion(conn) >= 120000 ? "a.attgenerated = 's'" : "false", where);
}

static void sl_columns_from(PGresult *res, sl_pg_column **cols, int *n)
{
	int rows = PQntuples(res);
	sl_pg_column *c = sl_calloc((size_t)(rows ? rows : 1), sizeof *c);
	for (int i = 0; i < rows; i++) {
		c[i].relid = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
		c[i].name = sl_strdup(PQgetvalue(res, i, 1));
		c[i].notnull = PQgetvalue(res, i, 2)[0] == 't';
		c[i].format_type = sl_strdup(PQgetvalue(res, i, 3));
		c[i].type_oid = (uint32_t)strtoul(PQgetvalue(res, i, 4), NULL, 10);
		c[i].ti.oid = (uint32_t)strtoul(PQgetvalue(res, i, 5), NULL, 10);
		c[i].ti.typmod = (int32_t)strtol(PQgetvalue(res, i, 6), NULL, 10);
		c[i].ti.typtype = PQgetvalue(res, i, 7)[0];
		c[i].ti.typcategory = PQgetvalue(res, i, 8)[0];
		c[i].ti.elem_oid = (uint32_t)strtoul(PQgetvalue(res, i, 9), NULL, 10);
		c[i].ti.elem_typtype = PQgetvalue(res, i, 10)[0];
		c[i].ti.elem_typcategory = PQgetvalue(res, i, 11)[0];
		c[i].generated = PQgetvalue(res, i, 12)[0] == 't';
		if (c[i].generated && !PQgetisnull(res, i, 13))
			c[i].expression = sl_strdup(PQgetvalue(res, i, 13));
		c[i].base_format_type = sl_strdup(PQgetvalue(res, i, 14));
		c[i].attnum = (int32_t)strtol(PQgetvalue(res, i, 15), NULL, 10);
	}
	PQclear(res);
	*cols = c;
	*n = rows;
}

int sl_pg_read_columns(PGconn *conn, const char *oids_literal, sl_pg_column **cols, int *n,
                       sl_error *err)
{
	PGresult *res;
	const char *params[1] = {oids_literal};
	char sql[sizeof sl_columns_sql + 64];
	sl_columns_query(conn, "a.attrelid = ANY($1::oid[])", sql, sizeof sql);
	SL_TRY(sl_pg_query(conn, sql, 1, params, &res, err));
	sl_columns_from(res, cols, n);
	return 0;
}

int sl_pg_read_relation_columns(PGconn *conn, bool *prepared, const char *qualified,
                                sl_pg_column **cols, int *n, bool *missing, sl_error *err)
{
	PGresult *res;
	const char *params[1] = {qualified};
	char sql[sizeof sl_columns_sql + 64];
	*missing = false;
	sl_columns_query(conn, "a.attrelid = to_regclass($1)", sql, sizeof sql);
	SL_TRY(sl_pg_query_prepared(conn, "sl_relation_columns", prepared, sql, 1, params, &res,
	                            err));
	sl_columns_from(res, cols, n);
	if (*n > 0)
		return 0;
	/* no columns, or no relation? */
	int rc = sl_pg_query(conn, "SELECT to_regclass($1) IS NULL", 1, params, &res, err);
	if (rc == 0) {
		*missing = PQgetvalue(res, 0, 0)[0] == 't';
		PQclear(res);
	}
	if (rc < 0 || *missing) {
		sl_pg_columns_free(*cols, *n);
		*cols = NULL;
	}
	return rc;
}

void sl_pg_columns_free(sl_pg_column *cols, int n)
{
	if (cols == NULL)
		return;
	for (int i = 0; i < n; i++) {
		free(cols[i].name);
		free(cols[i].format_type);
		free(cols[i].expression);
		free(cols[i].base_format_type);
	}
	free(cols);
}

void sl_pg_build_select(const sl_pg_column *cols, int n, sl_field *fields, sl_pg_codec *codecs,
                        sl_pg_select *how, const char **reasons)
{
	for (int i = 0; i < n; i++) {
		sl_field_init(&fields[i], cols[i].name, SL_TYPE_NA);
		fields[i].nullable = !cols[i].notnull;
		fields[i].source_type = sl_strdup(cols[i].format_type);
		fields[i].source_id = cols[i].attnum;
		how[i] = sl_pg_map_column(&cols[i].ti, &fields[i], &codecs[i], &reasons[i]);
	}
}

static sl_batch *sl_digest_flush(void *ctx, sl_batch *full, sl_error *err)
{
	(void)err;
	sl_digest_add_batch(ctx, full);
	sl_batch_reset(full);
	return full;
}

int sl_pg_copy_digest(PGconn *conn, const char *copy_sql, const sl_field *fields,
                      const sl_pg_codec *codecs, int n, sl_digest *d, sl_error *err)
{
	sl_batch *b = sl_batch_create(fields, n);
	int64_t rows = 0;
	int rc = sl_pg_copy_out(conn, copy_sql, codecs, &b, 8u << 20, sl_digest_flush, d, &rows,
	                        NULL, err);
	sl_batch_destroy(b);
	return rc;
}
