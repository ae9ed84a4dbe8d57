/* PostgreSQL binary COPY format <-> columnar batches.
 *
 * The format (PostgreSQL docs, "COPY ... Binary Format"): an 11-byte signature
 * "PGCOPY\n\377\r\n\0", int32 flags, int32 header-extension length + extension; then tuples, each
 * an int16 field count followed per field by an int32 length (-1 = NULL) and that many bytes of
 * the type's binary send/receive representation; a trailer int16 -1. All integers are
 * big-endian. Per-type representations used here:
 *   bool 1 byte; int2/int4/int8/oid/money/pg_lsn big-endian integers; float4/float8 IEEE;
 *   date int32 days since 2000-01-01 (INT32_MAX/MIN = +/-infinity); time int64 us since
 *   midnight; timestamp[tz] int64 us since 2000-01-01 UTC (INT64_MAX/MIN = +/-infinity);
 *   numeric int16 ndigits, int16 weight, uint16 sign, int16 dscale, ndigits int16 base-10000
 *   digits; interval int64 us, int32 days, int32 months; text-like types raw bytes; jsonb a
 *   version byte 1 + text; uuid 16 bytes;
 *   arrays int32 ndim, int32 has-nulls, uint32 element oid, per dimension int32 size + int32
 *   lower bound, then each element as a length-prefixed field, in row-major order (an array without
 *   elements has ndim 0).
 *
 * A value of one wire kind may be encoded from, and decoded into, several Arrow types (a
 * column's Arrow field need not be the one the PostgreSQL source would choose, e.g. a MySQL
 * TINYINT UNSIGNED (UInt8) in a smallint column): the decoder accepts every field type the
 * encoder accepts for that kind and range-checks narrowing (SL_ERR_DATA when a value does not
 * fit, or would lose precision).
 *
 * Everything here is a pure function of bytes: no I/O, every length checked. */
#ifndef SL_PGBINARY_H
#define SL_PGBINARY_H

#include <stddef.h>
#include <stdint.h>

#include "core/batch.h"
#include "core/buf.h"
#include "core/error.h"

/* How one column travels on the PostgreSQL wire. */
typedef enum sl_pg_kind {
	SL_PG_BOOL = 1,
	SL_PG_INT2,
	SL_PG_INT4,
	SL_PG_INT8, /* int8, and money (cents) */
	SL_PG_OID,  /* uint32 */
	SL_PG_LSN,  /* uint64 */
	SL_PG_FLOAT4,
	SL_PG_FLOAT8,
	SL_PG_NUMERIC,
	SL_PG_DATE,
	SL_PG_TIME,
	SL_PG_TIMESTAMP, /* timestamp and timestamptz share the wire form */
	SL_PG_TEXT,      /* any type whose binary form is its text: text, varchar, bpchar, name,
	                    json, xml, enum labels, and anything the source selected as ::text */
	SL_PG_BYTEA,
	SL_PG_JSONB,
	SL_PG_UUID,
	SL_PG_INTERVAL, /* from/into Interval(DayTime): encoded as microseconds only (days and
	                   months 0, so MySQL's TIME '838:59:59' shows as 838:59:59); decoded with
	                   a month as 30 days, to the canonical form (see core/types.h) */
	SL_PG_ARRAY     /* array of elem_kind, of any dimensions and lower bounds: a List of the
	                   elements in row-major order, the shape beside it (core/batch.h) */
} sl_pg_kind;

typedef struct sl_pg_codec {
	sl_pg_kind kind;
	sl_pg_kind elem_kind; /* arrays */
	uint32_t elem_oid;    /* arrays: element type oid written by the encoder */
} sl_pg_codec;

#define SL_PGCOPY_SIGNATURE "PGCOPY\n\377\r\n"
#define SL_PGCOPY_HEADER_LEN 19

/* Parse the stream header. Returns its length (>= 19), 0 when more bytes are needed, or a
 * negative error. */
int sl_pgcopy_parse_header(const uint8_t *buf, size_t len, sl_error *err);

/* Decode one tuple into one row of `batch` (column i uses codecs[i] and batch->fields[i]).
 * Returns the bytes consumed (> 0), 0 when the tuple is incomplete (nothing appended),
 * SL_PGCOPY_TRAILER (as a positive value via *trailer) at the end marker, or a negative error.
 * On error the batch may hold a partial row and must be discarded. */
int sl_pgcopy_decode_tuple(const sl_pg_codec *codecs, const uint8_t *buf, size_t len,
                           sl_batch *batch, int *trailer, sl_error *err);

/* Encoding: header, rows [from, to) of the batch, trailer. Column i of the batch is encoded with
 * codecs[i] into the target column i. Returns 0 or a negative error (a value the target type
 * cannot hold). */
void sl_pgcopy_write_header(sl_buf *out);
int sl_pgcopy_encode_rows(const sl_pg_codec *codecs, const sl_batch *batch, int64_t from,
                          int64_t to, sl_buf *out, sl_error *err);
void sl_pgcopy_write_trailer(sl_buf *out);

/* One field: decode n bytes (n < 0 = NULL) into column c; encode value i of column c as a
 * length-prefixed COPY field (NULL as length -1). */
int sl_pg_decode_field(const sl_pg_codec *codec, sl_column *c, const uint8_t *p, int32_t n,
                       sl_error *err);
int sl_pg_encode_field(const sl_pg_codec *codec, const sl_column *c, int64_t i, sl_buf *out,
                       sl_error *err);
/* Raw pieces of a COPY tuple: the field count, and one field of n bytes (n = -1: NULL). */
void sl_pgcopy_put_count(sl_buf *out, int n);
void sl_pgcopy_put_field(sl_buf *out, const void *p, int32_t n);

/* Single values, exposed for tests and for other PostgreSQL code. */
int sl_pg_numeric_to_text(const uint8_t *p, size_t len, sl_buf *out, sl_error *err);
int sl_pg_numeric_from_text(const char *s, size_t len, sl_buf *out, sl_error *err);
/* NaN and +-Infinity become the decimal sentinels of core/types.h, and back. */
int sl_pg_numeric_to_decimal(const uint8_t *p, size_t len, int width, int scale, uint8_t *out,
                             sl_error *err);
void sl_pg_numeric_from_decimal(const uint8_t *dec, int width, int scale, sl_buf *out);

/* Microseconds between 1970-01-01 and 2000-01-01, and the days between them. */
#define SL_PG_EPOCH_US INT64_C(946684800000000)
#define SL_PG_EPOCH_DAYS 10957

#endif
