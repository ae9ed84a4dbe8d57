/* Thrift's compact protocol, the encoding of Parquet's metadata (file footer, page headers).
 *
 * From the Thrift compact protocol specification (thrift/doc/specs/thrift-compact-protocol.md):
 * a struct is a run of fields, each a header byte (the field id as a delta from the previous one
 * in the high nibble when it fits in 1..15, else a zigzag varint i16 after the byte) whose low
 * nibble is the value's type, then the value; a 0 byte ends it. Integers are zigzag ULEB128
 * varints; binary and strings a varint length and the bytes; a list a header (size in the high
 * nibble when under 15, else 0xF then a varint) and its elements without headers; booleans as
 * fields are the type nibble itself (1 true, 2 false), as list elements one byte.
 *
 * The writer appends to an sl_buf and cannot fail. The reader is a pure, bounds-checked function
 * of bytes: every read says whether it stayed inside the input and the nesting limit. */
#ifndef SL_THRIFT_H
#define SL_THRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum {
	SL_TC_STOP = 0,
	SL_TC_TRUE = 1,
	SL_TC_FALSE = 2,
	SL_TC_BYTE = 3,
	SL_TC_I16 = 4,
	SL_TC_I32 = 5,
	SL_TC_I64 = 6,
	SL_TC_DOUBLE = 7,
	SL_TC_BINARY = 8,
	SL_TC_LIST = 9,
	SL_TC_SET = 10,
	SL_TC_MAP = 11,
	SL_TC_STRUCT = 12,
};

#define SL_TC_DEPTH 32 /* struct nesting the writer and reader follow */

typedef struct sl_tc_writer {
	sl_buf *out;
	int depth;
	int16_t last[SL_TC_DEPTH]; /* the previous field id of each open struct */
} sl_tc_writer;

void sl_tc_writer_init(sl_tc_writer *w, sl_buf *out);
/* A struct: a field of type STRUCT (sl_tc_field) or a list element, then its fields, then end. */
void sl_tc_begin(sl_tc_writer *w);
void sl_tc_end(sl_tc_writer *w);
/* The header of field `id` with value type `type`; the value follows. */
void sl_tc_field(sl_tc_writer *w, int16_t id, int type);
void sl_tc_varint(sl_tc_writer *w, uint64_t v);
/* Fields: header and value. */
void sl_tc_i32(sl_tc_writer *w, int16_t id, int32_t v);
void sl_tc_i64(sl_tc_writer *w, int16_t id, int64_t v);
void sl_tc_byte(sl_tc_writer *w, int16_t id, int8_t v);
void sl_tc_bool(sl_tc_writer *w, int16_t id, bool v);
void sl_tc_binary(sl_tc_writer *w, int16_t id, const void *p, size_t n);
void sl_tc_string(sl_tc_writer *w, int16_t id, const char *s);
/* A field holding an empty struct (Parquet's unit types: StringType, MICROS, ...). */
void sl_tc_empty(sl_tc_writer *w, int16_t id);
/* A list field of n elements of `type`; then the elements: */
void sl_tc_list(sl_tc_writer *w, int16_t id, int type, uint32_t n);
void sl_tc_elem_i32(sl_tc_writer *w, int32_t v);
void sl_tc_elem_i64(sl_tc_writer *w, int64_t v);
void sl_tc_elem_binary(sl_tc_writer *w, const void *p, size_t n);

typedef struct sl_tc_reader {
	const uint8_t *p, *end;
	bool bad; /* a read went past the end, a value was malformed, or nesting too deep */
	int depth;
	int16_t last[SL_TC_DEPTH];
} sl_tc_reader;

void sl_tc_reader_init(sl_tc_reader *r, const void *p, size_t n);
/* Enter a struct (after its field header, or as a list element) / leave it, skipping the fields
 * not read yet. */
void sl_tc_enter(sl_tc_reader *r);
void sl_tc_leave(sl_tc_reader *r);
/* The next field of the current struct: false at its end (or on a malformed input). *type is
 * the value's type; a boolean field's value is in the type (SL_TC_TRUE/SL_TC_FALSE). */
bool sl_tc_next(sl_tc_reader *r, int16_t *id, int *type);
int64_t sl_tc_read_int(sl_tc_reader *r); /* BYTE, I16, I32, I64 (zigzag) */
uint64_t sl_tc_read_varint(sl_tc_reader *r);
/* BINARY: a pointer into the input and its length (NULL when bad). */
const uint8_t *sl_tc_read_binary(sl_tc_reader *r, size_t *n);
/* LIST/SET header: the element type and count (0 when bad). */
uint32_t sl_tc_read_list(sl_tc_reader *r, int *elem_type);
/* Skip one value of `type` (nested values included). */
void sl_tc_skip(sl_tc_reader *r, int type);

#endif
