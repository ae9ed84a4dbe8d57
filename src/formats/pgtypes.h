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
	uint32_t range_subtype; /* ranges: the bound type (when the reader asked; else 0) */
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

/* ---- Text forms ----
 * A value as the type's output function prints it (pgoutput's text mode), turned into the same
 * Arrow value the binary path gives: the text is parsed into the kind's binary COPY field form
 * (see pgbinary.h) and that is decoded by sl_pg_decode_field, so both paths share one decoder and
 * give identical bytes. The forms read are those of a session with DateStyle ISO, TimeZone UTC
 * (other numeric offsets are applied), extra_float_digits 3, bytea_output hex (escape is read
 * too), lc_monetary C and IntervalStyle iso_8601 (postgres is read too):
 *   bool t/f; integers and oid in decimal; money [-]$1,234.56 (all its digits: the amount in
 *   cents); pg_lsn X/X; floats as printed (shortest exact, or 9/17 digits), NaN, Infinity,
 *   -Infinity; numeric digits, NaN, Infinity; date YYYY-MM-DD[ BC], infinity, -infinity; time
 *   HH:MM:SS[.ffffff]; timestamp YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]][ BC], infinity,
 *   -infinity; bytea \x<hex> or escaped; uuid 8-4-4-4-12 hex; text, json, jsonb as is;
 *   interval P1Y2M3DT4H5M6.5S or 1 year 2 mons 3 days 04:05:06.5; arrays
 *   {a,"b c",NULL} (elements quoted and backslash-escaped as array_out does), nested braces per
 *   further dimension {{1,2},{3,4}}, and the bounds [0:1][1:2]= when a lower bound is not 1:
 *   dimensions and lower bounds are kept (the list's shape, core/batch.h).
 * Text that is none of these is SL_ERR_DATA naming the column and the value; nothing becomes
 * NULL silently. Pure functions of bytes. */

/* Flags: SL_PG_TEXT_INET: the (element) values are inet output ("10.0.0.1"); give them the form
 * of the inet -> text cast that the snapshot reads ("10.0.0.1/32"). */
#define SL_PG_TEXT_INET 1u
/* SL_PG_TEXT_RANGE: a range's output ("[1,10)", "empty"); give it the JSON object the snapshot
 * reads (json_build_object of lower, upper, lower_inclusive, upper_inclusive, spelled as
 * PostgreSQL spells it). The bounds are JSON numbers (RANGE_NUM: int4/int8/numeric ranges),
 * timestamps in JSON's form (RANGE_TS, RANGE_TSTZ: "2024-01-01T10:00:00+00:00"), or strings
 * (dates and other subtypes: their output text). */
#define SL_PG_TEXT_RANGE 2u
#define SL_PG_TEXT_RANGE_NUM 4u
#define SL_PG_TEXT_RANGE_TS 8u
#define SL_PG_TEXT_RANGE_TSTZ 16u

/* Flags for a column of this type that the snapshot reads as text (0 for every other). */
unsigned sl_pg_text_flags(const sl_pg_typeinfo *ti);

/* Working space for sl_pg_decode_text, reused from value to value; zero-initialise, free with
 * sl_pg_text_buf_free. */
typedef struct sl_pg_text_buf {
	sl_buf bin;  /* the binary form being built */
	sl_buf elem; /* an unescaped array element */
} sl_pg_text_buf;
void sl_pg_text_buf_free(sl_pg_text_buf *tb);

/* Append the binary COPY field form (no length prefix) of the text s[0..len) of a value of
 * codec's kind to out; tmp is working space. SL_ERR_DATA when the text is not such a value (out
 * then holds part of one). */
int sl_pg_text_to_binary(const sl_pg_codec *codec, const char *s, size_t len, unsigned flags,
                         sl_buf *out, sl_buf *tmp, sl_error *err);

/* Append the value whose text is s[0..len) to column c (c->field, as for sl_pg_decode_field).
 * On error the column may hold part of an array value and must be discarded. */
int sl_pg_decode_text(const sl_pg_codec *codec, sl_column *c, const char *s, size_t len,
                      unsigned flags, sl_pg_text_buf *tb, sl_error *err);

#endif
