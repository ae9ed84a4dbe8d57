/* What a source discovered: the selected tables, their columns as Arrow fields (with the
 * source's own type in each field), their keys, size estimates, and what a same-engine target
 * must create first for the columns' types (enums, domains, extensions...). */
#ifndef SL_CATALOG_H
#define SL_CATALOG_H

#include <stdint.h>

#include "core/config.h"
#include "core/types.h"

/* Something a column type depends on, as DDL a same-engine target can run. */
typedef struct sl_requirement {
	char *type_name; /* the qualified type it creates, or NULL (e.g. a schema or extension) */
	char *ddl;       /* one idempotent-when-checked statement */
} sl_requirement;

typedef struct sl_skipped_column {
	char *name;
	char *source_type;
	char *reason;
	/* A stored generated column the change log does not carry: a same-engine target creates
	 * it as a generated column from this expression (in the source's own SQL), in place:
	 * after `after` of the table's replicated fields. NULL for other skipped columns. */
	char *expression;
	int after;
} sl_skipped_column;

typedef struct sl_table_def {
	char *schema;     /* source schema (or database for MySQL) */
	char *name;       /* source table name */
	char *qualified;  /* "schema.name": glob matching, state keys, messages */
	sl_field *fields; /* replicated columns, in source order */
	int nfields;
	int *key; /* indexes into fields of the primary key, in key order */
	int nkey;
	int64_t est_rows; /* -1 when unknown */
	int64_t est_bytes;
	sl_requirement *requires;
	int nrequires;
	sl_skipped_column *skipped; /* columns of an unsupported type, left out with a warning */
	int nskipped;
	/* source.tables.columns, applied by sl_columns_apply (core/columns.h) */
	char **excluded; /* columns left out by the pipeline file: never read, never sent */
	int nexcluded;
	sl_mask *masks;             /* per field, or NULL when no field is masked */
	sl_field *read_fields;      /* per field as the source reads it, when masking changed a
	                               type (hash: Utf8); NULL when the same as fields */
	const sl_column_rule *rule; /* borrowed from the config; NULL when none */
	const char *engine;         /* "postgres", ... (static string) */
	/* The source's stable name for the table, kept when it is renamed (PostgreSQL: the
	 * relation's oid), or NULL when the source has none: the pipeline follows a table by it
	 * (a rename on the source renames the target table) and tells a table dropped and
	 * created again under its name from the one it loaded. */
	char *identity;
	bool unstreamed; /* the source cannot stream its changes (said in a warning): a table new
	                    to the pipeline that is left out */
	void *priv;      /* the source's own per-table data */
	void (*priv_free)(void *);
} sl_table_def;

/* What a foreign key makes the source do to the rows that reference a row deleted or whose
 * referenced columns changed. */
typedef enum sl_fk_action {
	SL_FK_NO_ACTION = 0, /* nothing (RESTRICT, NO ACTION: the source refuses instead) */
	SL_FK_CASCADE,       /* delete them / give them the new values */
	SL_FK_SET_NULL       /* set their referencing columns to NULL */
} sl_fk_action;

/* A foreign key whose actions the source performs without logging the rows they change
 * (InnoDB's ON DELETE / ON UPDATE): the applier performs them on the target (core/fkeys.h). */
typedef struct sl_foreign_key {
	char *name;           /* the constraint's */
	char *child, *parent; /* qualified table names (sl_qualify) */
	int ncols;
	char **child_cols, **parent_cols; /* in the constraint's order */
	sl_fk_action on_delete, on_update;
} sl_foreign_key;

typedef struct sl_catalog {
	sl_table_def *tables;
	int ntables;
	/* the foreign keys with an action the source's log does not show, whose child table
	 * is selected (its parent may not be); none for a source that logs them (PostgreSQL) */
	sl_foreign_key *fks;
	int nfks;
	/* discover's input (borrowed, kept by discover): identities of tables the pipeline has
	 * loaded, selected whatever their name now unless source.tables.exclude matches it */
	char *const *follow;
	int nfollow;
	/* set by discover when the source reads one schema only (MySQL: the URL's database,
	 * without source.tables.include): a table of another schema is not selected */
	char *only_schema;
} sl_catalog;

/* Whether discover should select the table named `qualified` with `identity`: source.tables
 * selects it, or it is one the pipeline follows (a table it loaded, renamed since). */
bool sl_catalog_selects(const sl_catalog *cat, const sl_config *cfg, const char *qualified,
                        const char *identity);

/* The index of the table named `qualified`, or -1. */
int sl_catalog_find(const sl_catalog *cat, const char *qualified);

/* "schema.name" for messages, globs and state keys; a part containing '.' or '"' is written
 * in double quotes (quotes doubled), so distinct tables never share a name. Caller frees. */
char *sl_qualify(const char *schema, const char *name);
/* The schema and name of a name sl_qualify wrote (the caller frees both); -1 when it is not
 * one. */
int sl_unqualify(const char *qualified, char **schema, char **name);

/* The fields as the source reads and decodes them (before masking). */
static inline const sl_field *sl_table_read_fields(const sl_table_def *t)
{
	return t->read_fields ? t->read_fields : t->fields;
}

void sl_table_def_free(sl_table_def *t);
void sl_catalog_free(sl_catalog *c);
void sl_catalog_free_fks(sl_catalog *c);
/* Whether a and b hold the same foreign keys of their tables (those whose child table each
 * holds), in the same order. */
bool sl_catalog_same_fks(const sl_catalog *a, const sl_catalog *b);
/* Add a foreign key (copies the strings; the columns are n names each). */
void sl_catalog_add_fk(sl_catalog *c, const char *name, const char *child, const char *parent,
                       int n, char *const *child_cols, char *const *parent_cols,
                       sl_fk_action on_delete, sl_fk_action on_update);
/* Record a column left out (copies the strings); the entry's other members are zero. */
sl_skipped_column *sl_table_skip_column(sl_table_def *t, const char *name, const char *source_type,
                                        const char *reason);
/* Add a requirement unless one with the same ddl exists. Copies the strings. */
void sl_table_add_requirement(sl_table_def *t, const char *type_name, const char *ddl);

#endif
