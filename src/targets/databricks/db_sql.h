/* Databricks SQL: how sluice names and types tables there, what each value becomes in the
 * Parquet files it stages, and the text of the statements it sends (their shapes:
 * tests/emulators/databricks/TEMPLATES.md). Pure: no I/O.
 *
 * Names: catalogs, schemas and tables are lower case in Unity Catalog, so sluice writes them
 * lower-cased; columns keep the source's case (Databricks compares them case-insensitively: two
 * source columns that differ only in case cannot both be there). Everything is quoted with
 * backticks.
 *
 * Types (the spec's Databricks table): integers by width (unsigned ones one size up, UInt64 as
 * DECIMAL(20,0)), FLOAT/DOUBLE, DECIMAL(p,s) up to 38 digits and STRING beyond, BOOLEAN, DATE,
 * every timestamp as TIMESTAMP_NTZ (UTC for those with a zone; nanoseconds cut to
 * microseconds), times and intervals as STRING, text and JSON as STRING, BINARY, lists as
 * ARRAY of their element's type. */
#ifndef SL_DB_SQL_H
#define SL_DB_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/batch.h"
#include "core/buf.h"
#include "core/types.h"

typedef enum db_kind {
	DB_SKIP = 0, /* no Databricks form (skipped with a warning) */
	DB_SAME,     /* the value as it is (its file field may differ: a zone dropped) */
	DB_CONVERT,  /* a value conversion (widening, a unit, text) */
} db_kind;

typedef struct db_col {
	db_kind kind;
	char type[96]; /* INT, DECIMAL(20,0), ARRAY<STRING>, ... */
	int src;       /* its field in the source's fields */
	sl_field file; /* its field in staged files (free with sl_field_reset) */
} db_col;

/* Append `name` quoted with backticks; lower: lower-cased first (object names). */
void db_quote(sl_buf *b, const char *name, bool lower);
/* `catalog`.`schema`.`table`, all lower case. */
void db_table(sl_buf *b, const char *catalog, const char *schema, const char *table);
/* Append 'text' as a string literal ('' and \\ doubled). */
void db_lit(sl_buf *b, const char *s);

/* The Databricks type of f into type (n bytes) and its kind. */
db_kind db_map(const sl_field *f, char *type, size_t n);
/* The column of field f (index src); c->file a field of its own. */
db_kind db_col_init(db_col *c, const sl_field *f, int src);
void db_col_reset(db_col *c);
/* Append row i of src (a column of the source's type) to dst (of c->file's type). */
void db_col_append(const db_col *c, sl_column *dst, const sl_column *src, int64_t i, sl_buf *tmp);

/* Append to dst (a column of source field f) the value Databricks answered with as the text s
 * (n bytes; NULL: SQL NULL), for a column sluice made from f: JSON_ARRAY's strings (integers
 * and decimals in digits, true/false, YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS[.f], base64 binary,
 * arrays as JSON, times and intervals as sluice staged them). Returns 0, or -1 when s is not
 * such a value. */
int db_value_parse(const sl_field *f, const char *s, size_t n, sl_column *dst, sl_buf *tmp);

/* Whether Databricks' type widening takes a column of type `from` to `to` (both as D2 or R3's
 * full_data_type spell them, case aside): a wider integer, an integer to DOUBLE or to a DECIMAL
 * with room for its digits, FLOAT to DOUBLE, a DECIMAL with as many more integer digits and at
 * least its scale, DATE to TIMESTAMP_NTZ; in an ARRAY, its elements so. */
bool db_widens(const char *from, const char *to);

/* ---- statements (TEMPLATES.md) ---- */
/* D2: cols[0..n) then the meta columns; key: indexes into cols (NOT NULL). */
void db_sql_create(sl_buf *b, const char *qt, const db_col *cols, int n, const int *key, int nkey);
/* L1 */
void db_sql_copy(sl_buf *b, const char *qt, const char *dir, const char *const *files, int nfiles);
/* M1 from the change file `path`; unchanged: the TOAST form; n: the columns' count. */
void db_sql_merge(sl_buf *b, const char *qt, const char *path, const db_col *cols, int n,
                  const int *key, int nkey, bool unchanged);
/* K1: a keyless table's inserts from the change file `path`, each once: a row is known by its
 * change's (version, seq). */
void db_sql_insert_new(sl_buf *b, const char *qt, const char *path, const db_col *cols, int n);

#define DB_VERSION "_sluice_version"
#define DB_SEQ "_sluice_seq"
#define DB_DELETED "_sluice_deleted"
#define DB_UNCHANGED "_sluice_unchanged"
#define DB_LOST                                                                                    \
	"sluice: a change left columns unchanged, and the row it changed is not in the table"

#endif
