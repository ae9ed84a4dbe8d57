/* MySQL / MariaDB column types -> Arrow fields and values, per the spec's MySQL table.
 *
 * A column type is known two ways: from information_schema at discovery (COLUMN_TYPE text such
 * as "int(10) unsigned", "decimal(65,30)", "set('a','b')") and from a binlog TABLE_MAP. Both
 * become an sl_my_coltype; both the snapshot (text protocol) and the binlog decoder produce
 * sl_my_value, and sl_my_append turns either into the same Arrow value, so a row read by the
 * snapshot and the same row read from the binlog are identical in the batch. */
#ifndef SL_MY_TYPES_H
#define SL_MY_TYPES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/batch.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/types.h"
#include "formats/binlog.h"

typedef enum sl_my_charset {
	SL_MY_CS_UTF8 = 0, /* utf8mb3 / utf8mb4 / ascii: bytes are UTF-8 */
	SL_MY_CS_BINARY,   /* binary: bytes, not text */
	SL_MY_CS_LATIN1,   /* MySQL latin1 (cp1252): converted to UTF-8 */
	SL_MY_CS_OTHER     /* anything else: not supported in the binlog */
} sl_my_charset;

typedef struct sl_my_coltype {
	uint8_t type; /* enum sl_my_type; CHAR/BINARY = STRING, VARCHAR, TEXT/BLOB = BLOB */
	bool is_unsigned;
	int precision, scale; /* DECIMAL */
	int fsp;              /* TIME/DATETIME/TIMESTAMP fractional digits */
	int bits;             /* BIT width */
	int length;           /* CHAR/BINARY: the declared byte length (BINARY pads with 0x00) */
	sl_my_charset charset;
	bool json;
	char **elems; /* ENUM/SET values, owned */
	int nelems;
} sl_my_coltype;

void sl_my_coltype_reset(sl_my_coltype *ct);

/* From information_schema.COLUMNS: DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME (may be NULL),
 * CHARACTER_OCTET_LENGTH, DATETIME_PRECISION (may be -1), NUMERIC_PRECISION/SCALE; json says
 * the column is JSON (MySQL's type, or MariaDB's LONGTEXT with a json_valid check). Returns
 * false with *reason when the type is not supported (the column is skipped). */
bool sl_my_coltype_from_schema(const char *data_type, const char *column_type, const char *charset,
                               long long octet_length, int datetime_prec, int num_prec,
                               int num_scale, bool json, sl_my_coltype *ct, const char **reason);

/* From a binlog TABLE_MAP column. Returns false with *reason when not supported. */
bool sl_my_coltype_from_binlog(const sl_binlog_column *bc, sl_my_coltype *ct, const char **reason);

/* The Arrow field for a column (name copied; nullable and source_type set by the caller). */
void sl_my_field(const sl_my_coltype *ct, const char *name, sl_field *f);

/* A text-protocol value (the snapshot's SELECT) -> value. s points at len bytes (NULL for SQL
 * NULL). Byte values point into s. */
int sl_my_parse_text(const sl_my_coltype *ct, const char *s, size_t len, sl_my_value *v,
                     sl_error *err);

/* Append one value to column c (whose field came from sl_my_field(ct)). scratch is a reusable
 * buffer. Zero dates ('0000-00-00', month or day 0) and zero timestamps have no Arrow value:
 * they become NULL and *zero_date is set so the caller can warn once. */
int sl_my_append(sl_column *c, const sl_my_coltype *ct, const sl_my_value *v, sl_buf *scratch,
                 bool *zero_date, sl_error *err);

#endif
