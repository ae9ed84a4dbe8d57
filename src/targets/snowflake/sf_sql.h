/* Snowflake SQL: how sluice names and types tables there, what each value becomes in the
 * Parquet files it stages, and the text of the statements it sends (their shapes are listed in
 * tests/emulators/snowflake/TEMPLATES.md). Pure: no I/O.
 *
 * Names: Snowflake folds unquoted identifiers to upper case. A source name made only of lower
 * case letters, digits, '_' and '$' (not starting with a digit) is written upper-cased, so it
 * can be queried unquoted (orders → ORDERS); any other name is kept exactly as it is and must
 * be quoted in queries ("MixedCase"). sluice always quotes what it sends. */
#ifndef SL_SF_SQL_H
#define SL_SF_SQL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/batch.h"
#include "core/buf.h"
#include "core/types.h"

/* What a source column becomes. */
typedef enum sf_kind {
	SF_SKIP = 0, /* no Snowflake form (the column is skipped, with a warning) */
	SF_SAME,     /* the value as it is: Parquet's type loads into the Snowflake type */
	SF_JSON,     /* JSON text in the file, PARSE_JSON into a VARIANT column (JSON, lists) */
	SF_TEXT,     /* text in the file and a VARCHAR column (intervals, as ISO 8601) */
} sf_kind;

/* One column of a Snowflake table. */
typedef struct sf_col {
	sf_kind kind;
	char type[32]; /* NUMBER(38,0), VARCHAR, ... */
	int src;       /* its field in the source's fields */
	sl_field file; /* its field in staged files: the folded name, the file's type */
} sf_col;

/* Append name as Snowflake folds it (no quotes). */
void sf_fold(sl_buf *b, const char *name);
/* Append "name" folded and quoted. */
void sf_ident(sl_buf *b, const char *name);
/* Append an already folded name, quoted. */
void sf_quote(sl_buf *b, const char *folded);
/* Append 'text' as a string literal. */
void sf_lit(sl_buf *b, const char *s);

/* The Snowflake type of f into type (n bytes) and its kind. */
sf_kind sf_map(const sl_field *f, char *type, size_t n);
/* The column of field f (index src); its file field is a copy to reset with sl_field_reset. */
sf_kind sf_col_init(sf_col *c, const sl_field *f, int src);
void sf_col_reset(sf_col *c);
/* Append row i of src (a column of the source's type) to dst (a column of c->file's type),
 * converted as c->kind says. */
void sf_col_append(const sf_col *c, sl_column *dst, const sl_column *src, int64_t i, sl_buf *tmp);

/* Append to dst (a column of field f) the value Snowflake answered with as the text s (n
 * bytes; NULL: SQL NULL), for a column sluice made from f (sf_map): jsonv2's forms (numbers as
 * decimal text, DATE as days, TIME and TIMESTAMP as seconds with a fraction), BINARY as hex,
 * VARIANT lists as JSON arrays (element: true for a list's element, in the JSON forms
 * sf_col_append stages: ISO 8601 dates and times), intervals as sf_col_append stages them.
 * Returns 0, or -1 when the text is not such a value. */
int sf_value_parse(const sl_field *f, const char *s, size_t n, bool element, sl_column *dst,
                   sl_buf *tmp);

/* ---- statements ---- */

/* SELECT that fails (a message cast to a number) unless table qt holds n rows (TEMPLATES S4) */
void sf_sql_count_check(sl_buf *b, const char *qt, int64_t n);

/* "DB"."S"."T" (S and T folded; db as given). */
void sf_table(sl_buf *b, const char *db, const char *schema, const char *table);
/* CREATE TABLE IF NOT EXISTS <qt> (<cols>, meta[, PRIMARY KEY (...)]) of cols[0..n); key
 * holds indexes into cols (nkey 0: none). temp: CREATE TEMPORARY TABLE of the staged form
 * (no NOT NULL, no key, JSON columns as VARCHAR, the extra staged columns). */
void sf_sql_create(sl_buf *b, const char *qt, const sf_col *cols, int n, const int *key, int nkey);
/* The staged-changes table: every column as in its file, the meta columns, and
 * _SLUICE_UNCHANGED and _SLUICE_FROM_<key> when `unchanged`. */
void sf_sql_create_temp(sl_buf *b, const char *qt, const sf_col *cols, int n, const int *key,
                        int nkey);
/* COPY INTO qt FROM 'location' <auth> FILES = (...) FILE_FORMAT...; a location starting with
 * '@' is a named stage, written as it is (auth then empty) */
void sf_sql_copy(sl_buf *b, const char *qt, const char *location, const char *auth,
                 const char *const *files, int nfiles);
/* MERGE of the changes staged in tmp into qt (TEMPLATES.md M1); `unchanged`: some change
 * left columns unchanged (the LEFT JOIN form). Such a change whose row is not in the table
 * fails the statement, unless its _SLUICE_UNCHANGED ends with an 'L' after the n bits (it
 * may miss its row: the change is skipped). */
void sf_sql_merge(sl_buf *b, const char *qt, const char *tmp, const sf_col *cols, int n,
                  const int *key, int nkey, bool unchanged);
/* INSERT INTO qt (...) SELECT ... FROM tmp: live rows (K1), or every row of a snapshot
 * staged through a temporary table (L2; meta from the file). */
void sf_sql_insert(sl_buf *b, const char *qt, const char *tmp, const sf_col *cols, int n,
                   bool changes);
/* The deletes staged in tmp applied to keyless table qt (K2): a keyless table is a multiset,
 * so for each distinct deleted row, as many live rows equal to it as the group deletes are
 * marked deleted (any of equal rows is the one; the lowest _SLUICE_ROW first). Run after the
 * group's inserts (K1): a row the group inserts and deletes is found. */
void sf_sql_delete_keyless(sl_buf *b, const char *qt, const char *tmp, const sf_col *cols, int n);
/* SELECT that fails unless the deletes staged in tmp find ndel live rows (K3, before K2). */
void sf_sql_delete_check(sl_buf *b, const char *qt, const char *tmp, const sf_col *cols, int n,
                         int64_t ndel);

/* The meta columns' names */
#define SF_VERSION "_SLUICE_VERSION"
#define SF_SEQ "_SLUICE_SEQ"
#define SF_DELETED "_SLUICE_DELETED"
#define SF_UNCHANGED "_SLUICE_UNCHANGED"
#define SF_FROM "_SLUICE_FROM_"
#define SF_LOST "_SLUICE_LOST"
#define SF_ROW "_SLUICE_ROW" /* a keyless table's row identity (IDENTITY) */
/* the text of the error the count check raises */
#define SF_STAGED_MISSING "sluice: staged rows are missing"
/* ... and the keyless delete check */
#define SF_DELETE_UNMATCHED "sluice: a delete found no equal live row"

#endif
