/* PostgreSQL target internals shared by the snapshot loader (pg_target.c) and the change
 * applier (pg_apply.c). */
#ifndef SL_PG_TARGET_INT_H
#define SL_PG_TARGET_INT_H

#include <libpq-fe.h>

#include "formats/pgtypes.h"
#include "core/target.h"

/* The structs behind the contract's handles (core/target.h, core/handle.h). */
SL_HANDLE(pg_target, sl_target)
SL_HANDLE(pg_writer, sl_writer)
SL_HANDLE(pg_applier, sl_applier)

struct pg_target_table {
	bool ready;
	char *schema, *name;
	char *qualified;     /* quoted "schema"."name" */
	sl_pg_codec *codecs; /* per field: how it travels into the table (or into the stage) */
	char *copy_sql;      /* COPY ... FROM STDIN (FORMAT binary) */
	char *stage_ddl;     /* NULL when loading directly */
	char *stage_insert;
};

struct pg_target {
	const sl_config *cfg;
	char *schema; /* target.schema: every table lands there; NULL: its source schema */
	PGconn *meta;
	bool meta_cols_prepared; /* sl_pg_read_relation_columns's statement, on meta */
	struct pg_target_table *tables;
	int ntables;
	/* between prepare_batch(true) and (false): the tables to prepare, created (over two
	 * connections when there are many) and planned at the end, their columns read in one
	 * query; the schemas made so far */
	bool batching;
	const sl_catalog *batch_cat;
	struct pgt_pending {
		int table;
		bool reload;
		uint32_t oid; /* 0: not there yet */
	} * pending;
	int npending;
	char **schemas;
	int nschemas;
};

const char *pgt_schema_for(pg_target *t, const sl_table_def *td);
/* The PostgreSQL type of column f of td: the source's own from a PostgreSQL source
 * (same_engine), else the Arrow type's form (into buf); NULL, with err set, when PostgreSQL
 * cannot store it. */
const char *pgt_column_type(const sl_table_def *td, const sl_field *f, bool same_engine, char *buf,
                            size_t n, sl_error *err);
int pgt_requirements(pg_target *t, const sl_table_def *td, sl_error *err);
/* The staged text `ref` (a column reference, quoted as needed) cast to the type of column col,
 * field f's target (a range from the snapshot's JSON object, anything else by ::type). */
void pgt_cast_expr(pg_target *t, sl_buf *b, const char *ref, const sl_field *f,
                   const sl_pg_column *col);

/* pg_apply.c */
int pga_open(sl_target *handle, const sl_catalog *cat, const char *epoch, uint64_t converge_until,
             sl_applier **out, sl_durable *durable, sl_error *err);
int pga_shape(sl_applier *handle, int t, sl_shape *shape, bool *stale, sl_error *err);
int pga_changes(sl_applier *handle, const sl_changes *c, const uint8_t *dead, sl_error *err);
int pga_truncate(sl_applier *handle, int t, uint64_t version, sl_error *err);
int pga_actions(sl_applier *handle, const sl_changes *rows, const sl_fk_plan *plan, sl_error *err);
int pga_commit(sl_applier *handle, const sl_msg *commit, sl_error *err);
void pga_rollback(sl_applier *handle);
void pga_cancel(sl_applier *handle);
void pga_close(sl_applier *handle);
int pga_durable(sl_target *handle, const char *epoch, sl_durable *out, sl_error *err);

#endif
