/* ClickHouse Native format (the column-oriented block format of `INSERT ... FORMAT Native` and
 * `SELECT ... FORMAT Native` over HTTP) from columnar batches, and back.
 *
 * The format (ClickHouse docs, "Native" format, and its source's NativeWriter): a stream of
 * blocks; each block is VarUInt column count, VarUInt row count, then per column a String name, a
 * String type name, and the column's values back to back. VarUInt is LEB128 (7 bits per byte,
 * high bit = more); String is VarUInt length + bytes. Values: fixed-width numbers little-endian
 * (Int8..Int64, UInt8..UInt64, Float32/64, Date = UInt16 days, DateTime = UInt32 seconds,
 * DateTime64(p) = Int64 ticks, Date32 = Int32 days, Decimal(p,s) = Int32/64/128/256 by p);
 * String = String per value; FixedString(n) = n bytes; Nullable(T) = a UInt8 per row (1 = NULL)
 * then T's values for every row (any value where NULL); Array(T) = UInt64 cumulative end offsets
 * per row, then all the elements as one column of T (for Array(Nullable(T)): the elements' null
 * map, then their values).
 *
 * Pure functions of memory: no I/O. */
#ifndef SL_CHNATIVE_H
#define SL_CHNATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/batch.h"
#include "core/buf.h"
#include "core/error.h"

/* What the server can store (detected from its version). */
typedef struct sl_ch_caps {
	bool datetime64;    /* DateTime64(p[, tz]) (20.1+) */
	bool date32;        /* Date32 (21.9+) */
	bool boolean;       /* Bool (21.12+) */
	bool decimal256;    /* Decimal256 / precision > 38 (20.8+) */
	bool rename_column; /* ALTER TABLE ... RENAME COLUMN (20.4+) */
} sl_ch_caps;

/* Capabilities of a server version "major.minor..." (e.g. "18.16.1"). */
void sl_ch_caps_for_version(const char *version, sl_ch_caps *caps);

/* How an Arrow field is written. */
typedef enum sl_ch_kind {
	SL_CH_FIXED = 1,   /* the Arrow value's own bytes (ints, floats) */
	SL_CH_BOOL_U8,     /* Bool or UInt8 0/1 */
	SL_CH_FLOAT16_F32, /* Float16 widened to Float32 */
	SL_CH_DATE32,      /* Date32 (Int32 days) */
	SL_CH_DATE_TEXT,   /* Date32 as 'YYYY-MM-DD' String (no Date32 on the server) */
	SL_CH_DT64,        /* timestamps/times as DateTime64(p) ticks */
	SL_CH_DT_TEXT,     /* timestamps as 'YYYY-MM-DD HH:MM:SS[.ffffff]' String (no DateTime64) */
	SL_CH_DECIMAL,     /* Decimal(p,s): Int32/64/128/256 by precision */
	SL_CH_STRING,      /* Utf8/Binary as String */
	SL_CH_INTERVAL_TEXT, /* Interval(DayTime) as text */
	SL_CH_ARRAY          /* List<T> as Array(T) */
} sl_ch_kind;

typedef struct sl_ch_codec {
	sl_ch_kind kind;
	bool nullable;            /* Nullable(T) */
	int width;                /* SL_CH_DECIMAL: 4, 8, 16 or 32 bytes */
	int scale_digits;         /* SL_CH_DT64: ticks per second = 10^scale_digits */
	struct sl_ch_codec *elem; /* SL_CH_ARRAY: the element's codec (owned) */
} sl_ch_codec;

/* The ClickHouse type and codec for an Arrow field: the spec's ClickHouse table, and on servers
 * without a type a lossless fallback (Date32 and DateTime64 as their text, Decimal wider than the
 * server's as its text, Bool as UInt8). Interval(DayTime) is text, as the spec says. A decimal
 * that may hold NaN/Infinity (field->specials) is Nullable: those values are written as NULL.
 * Returns
 * false for fields it cannot take (lists of lists). The type text is written into buf; free
 * codec->elem with sl_ch_codec_reset. */
bool sl_ch_type_for_field(const sl_field *f, const sl_ch_caps *caps, char *buf, size_t n,
                          sl_ch_codec *codec);
void sl_ch_codec_reset(sl_ch_codec *c);

void sl_ch_put_varuint(sl_buf *out, uint64_t v);
void sl_ch_put_string(sl_buf *out, const void *p, size_t n);

/* Block header: column and row counts. Then, per column, sl_ch_encode_column. */
void sl_ch_block_begin(sl_buf *out, int ncols, int64_t nrows);
/* One column: name, type text, then rows [from, to) of c. */
int sl_ch_encode_column(const sl_ch_codec *codec, const char *name, const char *type,
                        const sl_column *c, int64_t from, int64_t to, sl_buf *out, sl_error *err);
/* The value a field's rows get when the column is added (field->fill) as a ClickHouse string
 * literal of its text in the column's type (the caller writes CAST(literal AS type)). False
 * when the field has none, or it has no form there (lists, NaN, infinite dates). */
bool sl_ch_fill_literal(const sl_ch_codec *codec, const sl_field *f, sl_buf *out);
/* How many NaN/Infinity decimal values (fields with `specials`; in lists, their elements) rows
 * [from, to) of c hold: sl_ch_encode_column writes each as NULL (Decimal has no such value). */
int64_t sl_ch_count_specials(const sl_column *c, int64_t from, int64_t to);
/* A column holding one UInt64 / UInt8 value in every row (metadata columns). */
void sl_ch_encode_const_u64(const char *name, uint64_t v, int64_t nrows, sl_buf *out);
void sl_ch_encode_const_u8(const char *name, uint8_t v, int64_t nrows, sl_buf *out);

/* ---- decoding: the mirror of the encoder ---- */

/* A cursor over a Native stream (e.g. an HTTP response body): the bytes [p, end), borrowed;
 * the functions below advance p. */
typedef struct sl_ch_reader {
	const uint8_t *p, *end;
} sl_ch_reader;

/* Next block header. Returns 1 and sets *ncols, *nrows; 0 at the end of the input; <0 (with err,
 * SL_ERR_DATA) on truncated or malformed input. Then the caller reads the block's ncols columns
 * in order, each with sl_ch_decode_column or sl_ch_skip_column. A block may have 0 rows (just
 * the column names and types); 18.16 answers an empty result with no block at all (0 bytes). */
int sl_ch_block_next(sl_ch_reader *r, int *ncols, int64_t *nrows, sl_error *err);

/* One column of the current block: reads its name and type text (checked: the name must equal
 * `name` and the type `type`, else SL_ERR_DATA naming both), then nrows values, appended to
 * dst (a column of a batch built over the source field the codec was made from, with `type`
 * from the same sl_ch_type_for_field call). Gives back exactly what sl_ch_encode_column wrote:
 * Nullable NULLs as nulls, the text fallbacks parsed, Float16 narrowed from Float32 (rounded to
 * nearest even when the value did not come from a half), Decimal and DateTime64 values checked
 * to fit the field. Returns 0, or <0 with err (SL_ERR_DATA naming the column: truncated input,
 * a value that does not parse or fit); then dst holds part of the block, so reset the batch.
 * Arrays cannot be Nullable in ClickHouse: a NULL list was written as an empty array and comes
 * back as an empty (valid) list (verify counts the two alike for this target). */
int sl_ch_decode_column(sl_ch_reader *r, const sl_ch_codec *codec, const char *name,
                        const char *type, int64_t nrows, sl_column *dst, sl_error *err);

/* Skip one column (name, type, values) whose type text is one of: UInt8, UInt64, Int64, UInt32 —
 * metadata columns; returns <0 (SL_ERR_DATA) for other types and on truncated input. */
int sl_ch_skip_column(sl_ch_reader *r, int64_t nrows, sl_error *err);

#endif
