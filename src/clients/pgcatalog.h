/* Reading PostgreSQL's catalog: columns with their domain-resolved type facts, for both the
 * source (what to read) and the target (how to write, and verify). */
#ifndef SL_PGCATALOG_H
#define SL_PGCATALOG_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "core/digest.h"
#include "core/error.h"
#include "formats/pgtypes.h"

/* SQL (a subquery to join LATERAL, named ALIAS, columns oid and typmod): the type TYPE_OID with
 * TYPMOD after every domain level is stripped (domains over domains too), and the typmod in
 * force: the outermost one set. */
#define SL_PG_BASE_TYPE_SQL(type_oid, typmod, alias)                                               \
	"(WITH RECURSIVE d(oid, typmod, lvl) AS (SELECT " type_oid ", " typmod ", 0"               \
	" UNION ALL SELECT bt.typbasetype, CASE WHEN d.typmod <> -1 THEN d.typmod ELSE "           \
	"bt.typtypmod END, d.lvl + 1 FROM d JOIN pg_type bt ON bt.oid = d.oid WHERE bt.typtype = " \
	"'d') SELECT oid, typmod FROM d ORDER BY lvl DESC LIMIT 1) " alias

typedef struct sl_pg_column {
	uint32_t relid;
	char *name;
	bool notnull;
	char *format_type; /* format_type(atttypid, atttypmod), schema-qualified outside pg_catalog
	                    */
	uint32_t type_oid; /* atttypid (before domain resolution) */
	sl_pg_typeinfo ti; /* domain-resolved */
	bool generated;    /* a stored generated column (attgenerated 's') */
	char *expression;  /* its generation expression (pg_get_expr), or NULL */
	char *base_format_type; /* format_type of the type under any domains */
	int32_t attnum;
} sl_pg_column;

/* Columns of the relations whose oids are in `oids_literal` ("{1,2,3}"), ordered by relation
 * then attnum. *cols is a new array (free with sl_pg_columns_free). */
int sl_pg_read_columns(PGconn *conn, const char *oids_literal, sl_pg_column **cols, int *n,
                       sl_error *err);
/* The columns of the relation named `qualified` ("schema"."name"), through a statement
 * prepared on conn the first time (*prepared false): for a caller reading one relation at a
 * time, many times. *missing: there is no such relation (*cols NULL). */
int sl_pg_read_relation_columns(PGconn *conn, bool *prepared, const char *qualified,
                                sl_pg_column **cols, int *n, bool *missing, sl_error *err);
void sl_pg_columns_free(sl_pg_column *cols, int n);

/* Map the columns of one relation for reading: fills fields/codecs/how (arrays of n) and the
 * select list; columns of unsupported types get how = SL_PG_SELECT_UNSUPPORTED. */
void sl_pg_build_select(const sl_pg_column *cols, int n, sl_field *fields, sl_pg_codec *codecs,
                        sl_pg_select *how, const char **reasons);

/* Stream `copy_sql` and fold every row into the digest. */
int sl_pg_copy_digest(PGconn *conn, const char *copy_sql, const sl_field *fields,
                      const sl_pg_codec *codecs, int n, sl_digest *d, sl_error *err);

#endif
