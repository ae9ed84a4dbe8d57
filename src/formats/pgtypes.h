/* PostgreSQL types <-> Arrow types, per the spec's PostgreSQL source and target tables.
 *
 * Reading: a column's catalog facts (resolved through domains) decide its Arrow field, the
 * binary codec, and how the snapshot query selects it (as is, cast to text, or as JSON for
 * ranges). Writing: a target column's type and the incoming Arrow field decide whether the value
 * can be sent in the column's own binary form or must pass through text (staging + cast). */
#ifndef SL_PGTYPES_H
#define SL_PGTYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/types.h"
#include "formats/pgbinary.h"

/* Catalog facts about one column, as read by the discovery query. */
typedef struct sl_pg_typeinfo {
	uint32_t oid;      /* type after domain resolution */
	int32_t typmod;    /* typmod after domain resolution */
	char typtype;      /* b c d e p r m */
	char typcategory;  /* 'A' for arrays */
	uint32_t elem_oid; /* arrays: element type */
	char elem_typtype;
	char elem_typcategory;
} sl_pg_typeinfo;

typedef enum sl_pg_select {
	SL_PG_SELECT_PLAIN = 0,  /* "col" */
	SL_PG_SELECT_TEXT,       /* "col"::text */
	SL_PG_SELECT_TEXT_ARRAY, /* "col"::text[] */
	SL_PG_SELECT_RANGE_JSON, /* the range as a JSON object (arrow.json) */
	SL_PG_SELECT_UNSUPPORTED /* the column is skipped with a warning */
} sl_pg_select;

/* Map a column. `field` must be initialised with its name; its type and attributes are set.
 * Returns how to select it; for UNSUPPORTED, *reason says why. */
sl_pg_select sl_pg_map_column(const sl_pg_typeinfo *ti, sl_field *field, sl_pg_codec *codec,
                              const char **reason);

/* Append the select expression for column `name` mapped as `how`. */
void sl_pg_select_expr(sl_buf *b, const char *name, sl_pg_select how);

/* Target side: can a value of Arrow field f be sent in binary to a column whose (domain-resolved)
 * type is target? Fills codec when yes. */
bool sl_pg_target_codec(const sl_field *f, const sl_pg_typeinfo *target, sl_pg_codec *codec);

/* The PostgreSQL type for an Arrow field coming from another engine (spec's target table);
 * NULL when unsupported (Duration, Struct, Map). */
const char *sl_pg_type_for_field(const sl_field *f, char *buf, size_t n);

#endif
