/* Parquet files from batches, written from the Apache Parquet format specification
 * (parquet-format: README.md, Encodings.md, LogicalTypes.md, src/main/thrift/parquet.thrift).
 *
 * A writer takes batches of one table and hands the file's bytes, in order, to a sink: "PAR1",
 * row groups (each column's chunk: a dictionary page when it has one, then data pages), the
 * footer (FileMetaData in Thrift's compact protocol, formats/thrift.h), its length, "PAR1".
 * Pure: no I/O but the sink. Memory is bounded by one row group's encoded pages plus the open
 * page of each column, not by the rows written.
 *
 * Types: each field maps to the most exact Parquet type, with its logical type and the legacy
 * converted type where one exists (docs/PARQUET.md has the table):
 *   bool → BOOLEAN; int8/16/32, uint8/16/32 → INT32 + INTEGER(bits, signed); int64/uint64 →
 *   INT64 + INTEGER; float16/32 → FLOAT; float64 → DOUBLE; decimal(p ≤ 9) → INT32, p ≤ 18 →
 *   INT64, p ≤ 38 → FIXED_LEN_BYTE_ARRAY of the fewest bytes, + DECIMAL(p, s); a decimal of more
 *   than 38 digits → BYTE_ARRAY STRING holding its exact text (common readers stop at 38);
 *   a decimal's NaN/Infinity sentinels → NULL; date32 → INT32 DATE; timestamp → INT64
 *   TIMESTAMP(unit, isAdjustedToUTC = has a time zone), seconds written as milliseconds;
 *   time32 → INT32 TIME(MILLIS), time64 → INT64 TIME(MICROS | NANOS); date64 → INT64
 *   TIMESTAMP(MILLIS, local); interval(day-time) → INT64 total milliseconds (a day is 24 hours;
 *   Parquet's INTERVAL is unsigned and cannot hold a negative interval); utf8 → BYTE_ARRAY STRING,
 * JSON when the field is arrow.json; binary → BYTE_ARRAY; fixed binary → FIXED_LEN_BYTE_ARRAY; list
 * → the three-level LIST group.
 *
 * Encodings: dictionary (RLE_DICTIONARY pages, a PLAIN dictionary page) while the column
 * chunk's dictionary stays under dictionary_bytes, then PLAIN for the rest of the chunk;
 * definition and repetition levels in the RLE / bit-packed hybrid. Data pages v1 or v2; pages
 * carry a CRC32. Column chunks carry statistics (min/max by the type's order, null count). */
#ifndef SL_PARQUET_H
#define SL_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/batch.h"
#include "core/error.h"
#include "core/types.h"

typedef enum sl_pq_codec {
	SL_PQ_UNCOMPRESSED = 0,
	SL_PQ_SNAPPY = 1,
	SL_PQ_ZSTD = 6,
} sl_pq_codec;

typedef struct sl_pq_options {
	sl_pq_codec codec;
	int zstd_level;          /* 0: 3 */
	size_t page_bytes;       /* 0: 1 MiB of encoded values per data page */
	size_t row_group_bytes;  /* 0: 128 MiB of encoded pages per row group */
	int page_version;        /* 1 (0 means 1) or 2 */
	bool no_dictionary;      /* PLAIN only */
	size_t dictionary_bytes; /* 0: 1 MiB; a bigger dictionary falls back to PLAIN */
	const char *created_by;  /* NULL: "sluice" */
} sl_pq_options;

/* Takes the next n bytes of the file. */
typedef int (*sl_pq_sink)(void *ctx, const void *p, size_t n, sl_error *err);

typedef struct sl_pq_writer sl_pq_writer;

/* A writer of rows with fields[0..n) (borrowed: they must outlive the writer). Fails when a
 * field has no Parquet form (a list of lists). */
int sl_pq_writer_new(const sl_field *fields, int n, const sl_pq_options *o, sl_pq_sink sink,
                     void *ctx, sl_pq_writer **out, sl_error *err);
/* Append the batch's rows (its fields are the writer's). */
int sl_pq_write(sl_pq_writer *w, const sl_batch *b, sl_error *err);
/* Write the last row group and the footer. */
int sl_pq_finish(sl_pq_writer *w, sl_error *err);
void sl_pq_writer_free(sl_pq_writer *w);
/* Rows written so far; bytes handed to the sink so far. */
int64_t sl_pq_rows(const sl_pq_writer *w);
int64_t sl_pq_bytes(const sl_pq_writer *w);

/* The footer's key-value entry naming each column's exact Arrow type: one line per top-level
 * column, "FORMAT\tEXTENSION" (the Arrow C data interface format of its values, a list's
 * element's for a list; the extension name or nothing). */
#define SL_PQ_ARROW_KEY "sluice.arrow"

/* ---- reading ---- */

/* Reads n bytes at offset off of the file into dst. */
typedef int (*sl_pq_read_at)(void *ctx, int64_t off, void *dst, size_t n, sl_error *err);

typedef struct sl_pq_reader sl_pq_reader;

/* Open a file of `size` bytes: its footer is read and checked. The columns' fields come from
 * the footer's sluice.arrow entry when it has one, else from the Parquet types (the inverse of
 * the table above; a Parquet type with no Arrow form here, or nesting other than a LIST of
 * primitives, is an error naming the column). */
int sl_pq_reader_open(sl_pq_read_at read_at, void *ctx, int64_t size, sl_pq_reader **out,
                      sl_error *err);
const sl_field *sl_pq_reader_fields(const sl_pq_reader *r, int *n);
int sl_pq_reader_row_groups(const sl_pq_reader *r);
int64_t sl_pq_reader_rows(const sl_pq_reader *r);
/* Append the rows of row group g to b (a batch over sl_pq_reader_fields). Encodings read:
 * PLAIN, RLE_DICTIONARY / PLAIN_DICTIONARY, RLE booleans; others are an error naming them. */
int sl_pq_read_row_group(sl_pq_reader *r, int g, sl_batch *b, sl_error *err);
void sl_pq_reader_free(sl_pq_reader *r);

/* ---- pieces, exposed for tests ---- */

/* The RLE / bit-packed hybrid encoding of v[0..n), each below 2^bw (bw 0..32), appended to out
 * without a length prefix. */
void sl_pq_rle_encode(sl_buf *out, const uint32_t *v, size_t n, int bw);
/* Decode n values into v; returns 0, or -1 when the input is short or malformed. */
int sl_pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *v, size_t n);
/* Bits needed for values 0..max. */
int sl_pq_bit_width(uint32_t max);

#endif
