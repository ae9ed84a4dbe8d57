/* Columnar batches in the Arrow layout.
 *
 * A batch holds `length` rows of one table as one column per field: a validity bitmap (bit set =
 * value present, LSB first), a values buffer (bit-packed for booleans, fixed-width little-endian
 * otherwise), and for Utf8/Binary/List an int32 offsets buffer starting at 0. List columns own a
 * child column. Builders append row by row without per-value allocation: buffers grow
 * geometrically and keep their capacity across sl_batch_reset, so one batch serves a whole
 * chunk. A batch exports to `struct ArrowArray` (ownership of the buffers moves to the export).
 *
 * A list value holds its elements flat. A PostgreSQL array may have more than one dimension and
 * lower bounds other than 1: its elements travel in row-major order and its shape (dimensions
 * and lower bounds, sl_list_shape) in a side table of the column, which exists only once a
 * value needs it. A list without an entry is one-dimensional from 1 (or empty), so a column
 * that never meets such a value pays one NULL pointer. */
#ifndef SL_BATCH_H
#define SL_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/types.h"

/* The most bytes a var-width column's values buffer holds, and the most elements a list
 * column's child holds: offsets are int32 (Arrow's Utf8/Binary/List). A builder never goes past
 * it: whoever fills a batch checks room first (sl_col_room, sl_col_fits, sl_batch_rows_overflow)
 * and cuts the batch or reports the value; the builders themselves stop the process rather than
 * wrap. */
#define SL_COL_MAX_BYTES ((int64_t)INT32_MAX)

/* The shape of a list value that is not one-dimensional from 1: PostgreSQL's dimensions and
 * lower bounds, outermost first; the product of dims is the value's element count (> 0). */
#define SL_LIST_MAXDIM 6 /* PostgreSQL's MAXDIM */
typedef struct sl_list_shape {
	int32_t ndim; /* 1..SL_LIST_MAXDIM */
	int32_t dims[SL_LIST_MAXDIM];
	int32_t lbounds[SL_LIST_MAXDIM];
} sl_list_shape;

/* A shape that lists need not record: no dimension (empty), or one dimension from 1. */
static inline bool sl_list_shape_is_plain(const sl_list_shape *s)
{
	return s->ndim == 0 || (s->ndim == 1 && s->lbounds[0] == 1);
}

typedef struct sl_column {
	const sl_field *field; /* borrowed from the batch's fields */
	sl_buf validity;
	sl_buf values;
	sl_buf offsets; /* int32, length+1 entries, for utf8/binary/list */
	int64_t length;
	int64_t null_count;
	struct sl_column *child; /* list element values */
	/* Lists: the shapes of the values that are not plain, NULL until one is (see above):
	 * entries (row, sl_list_shape) in row order. */
	sl_buf *shapes;
} sl_column;

typedef struct sl_batch {
	const sl_field *fields; /* borrowed: must outlive the batch */
	int ncols;
	sl_column *cols;
	int64_t length;
} sl_batch;

/* Create an empty batch over fields[0..n). Free with sl_batch_destroy. */
sl_batch *sl_batch_create(const sl_field *fields, int n);
void sl_batch_destroy(sl_batch *b);
/* Drop all rows, keep the buffers' capacity. */
void sl_batch_reset(sl_batch *b);
/* Bytes held by the batch's buffers (what the queue counts). */
size_t sl_batch_bytes(const sl_batch *b);
/* Bytes allocated for the batch's buffers: what it keeps across sl_batch_reset. */
size_t sl_batch_capacity(const sl_batch *b);
/* Call after appending one value to every column. */
static inline void sl_batch_end_row(sl_batch *b)
{
	b->length++;
}
/* Check that every column has `length` values (debug aid, used by tests). */
bool sl_batch_is_consistent(const sl_batch *b);

/* ---- builders: each appends exactly one value (or null) to a column ---- */

static inline void sl_col_validity_(sl_column *c, bool valid)
{
	int64_t i = c->length;
	if ((i & 7) == 0)
		sl_buf_putc(&c->validity, 0);
	if (valid)
		c->validity.data[i >> 3] |= (uint8_t)(1u << (i & 7));
	else
		c->null_count++;
}

static inline bool sl_col_is_valid(const sl_column *c, int64_t i)
{
	return (c->validity.data[i >> 3] >> (i & 7)) & 1;
}

/* Append a null; fixed-width columns get zeroed bytes, var-width ones an empty slot. */
void sl_col_append_null(sl_column *c);

static inline void sl_col_append_fixed(sl_column *c, const void *v, size_t width)
{
	sl_col_validity_(c, true);
	sl_buf_append(&c->values, v, width);
	c->length++;
}

static inline void sl_col_append_bool(sl_column *c, bool v)
{
	int64_t i = c->length;
	sl_col_validity_(c, true);
	if ((i & 7) == 0)
		sl_buf_putc(&c->values, 0);
	if (v)
		c->values.data[i >> 3] |= (uint8_t)(1u << (i & 7));
	c->length++;
}

static inline void sl_col_append_i16(sl_column *c, int16_t v)
{
	sl_col_append_fixed(c, &v, 2);
}
static inline void sl_col_append_i32(sl_column *c, int32_t v)
{
	sl_col_append_fixed(c, &v, 4);
}
static inline void sl_col_append_i64(sl_column *c, int64_t v)
{
	sl_col_append_fixed(c, &v, 8);
}
static inline void sl_col_append_f32(sl_column *c, float v)
{
	sl_col_append_fixed(c, &v, 4);
}
static inline void sl_col_append_f64(sl_column *c, double v)
{
	sl_col_append_fixed(c, &v, 8);
}

/* Report a builder asked to pass SL_COL_MAX_BYTES (a caller that did not check room) and
 * abort: the offsets would wrap and every later reader would read out of bounds. */
void sl_col_overflow_(const sl_column *c, int64_t want) __attribute__((noreturn));

/* A var-width column has room for `n` more value bytes. */
static inline bool sl_col_room(const sl_column *c, size_t n)
{
	return n <= (size_t)SL_COL_MAX_BYTES - c->values.len;
}

/* Reserve `n` bytes for a var-width value and return where to write them. The caller has
 * checked sl_col_room. */
static inline uint8_t *sl_col_append_bytes_start(sl_column *c, size_t n)
{
	if (!sl_col_room(c, n))
		sl_col_overflow_(c, (int64_t)c->values.len + (int64_t)(n & INT64_MAX));
	sl_col_validity_(c, true);
	uint8_t *p = sl_buf_reserve(&c->values, n);
	c->values.len += n;
	int32_t end = (int32_t)c->values.len;
	sl_buf_append(&c->offsets, &end, 4);
	c->length++;
	return p;
}

static inline void sl_col_append_bytes(sl_column *c, const void *p, size_t n)
{
	uint8_t *dst = sl_col_append_bytes_start(c, n);
	if (n)
		memcpy(dst, p, n);
}

/* Lists: append the elements to c->child, then close the list value. */
static inline void sl_col_end_list(sl_column *c)
{
	if (c->child->length > SL_COL_MAX_BYTES)
		sl_col_overflow_(c, c->child->length);
	sl_col_validity_(c, true);
	int32_t end = (int32_t)c->child->length;
	sl_buf_append(&c->offsets, &end, 4);
	c->length++;
}

/* Close a list value whose elements (row-major) are in c->child and whose shape is *s; a plain
 * shape is not recorded. The caller has checked that the dims multiply to the element count. */
void sl_col_end_list_shaped(sl_column *c, const sl_list_shape *s);

/* ---- readers ---- */

static inline const uint8_t *sl_col_value_ptr(const sl_column *c, int64_t i, int width)
{
	return c->values.data + i * width;
}

static inline const uint8_t *sl_col_bytes(const sl_column *c, int64_t i, int32_t *len)
{
	const int32_t *off = (const int32_t *)c->offsets.data;
	*len = off[i + 1] - off[i];
	return c->values.data + off[i];
}

static inline bool sl_col_bool(const sl_column *c, int64_t i)
{
	return (c->values.data[i >> 3] >> (i & 7)) & 1;
}

/* The shape of list value i: true and *out filled when it is not plain, false (and *out the
 * plain shape of its element count) otherwise. */
bool sl_col_list_shape(const sl_column *c, int64_t i, sl_list_shape *out);
/* How many values in rows [from, to) of list column c have a shape that is not plain. */
int64_t sl_col_shaped_count(const sl_column *c, int64_t from, int64_t to);

/* ---- row-level helpers ---- */

/* Add to need[0] what values [i, j) of c take in a column like it: value bytes (var-width) or
 * elements (list), and to need[1] the value bytes of those elements (list of var-width). */
void sl_col_range_size(const sl_column *c, int64_t i, int64_t j, int64_t need[2]);
/* c takes need[] more (as sl_col_range_size counts) without passing `limit`
 * (SL_COL_MAX_BYTES; tests lower it). */
bool sl_col_fits(const sl_column *c, const int64_t need[2], int64_t limit);
/* The first column of dst that would pass `limit` if rows [from, to) of src (same fields) were
 * appended, or -1 when they fit. */
int sl_batch_rows_overflow(const sl_batch *dst, const sl_batch *src, int64_t from, int64_t to,
                           int64_t limit);
/* Append value i of src (same field type) to dst. */
void sl_col_append_from(sl_column *dst, const sl_column *src, int64_t i);
/* Mix value i into hash h (equal values give equal hashes; null differs from every value). A
 * list hashes its elements, not its shape, so a value and its flattened form hash alike. */
uint64_t sl_col_hash(const sl_column *c, int64_t i, uint64_t h);
/* Values a[i] and b[j] (same field type) are identical, nulls equal to nulls; lists compare
 * their shapes too (PostgreSQL: '[0:1]={1,2}' is not '{1,2}'). */
bool sl_col_equal(const sl_column *a, int64_t i, const sl_column *b, int64_t j);
/* The same, except that lists compare their elements only: for a value read back from a target
 * that stores arrays flattened (ClickHouse) against the source's. */
bool sl_col_equal_elements(const sl_column *a, int64_t i, const sl_column *b, int64_t j);

/* Rows of one batch found by key: for each key, the row last put (open addressing over row
 * numbers; the batch holds the keys). The key is columns key[0..nkey) of that batch. */
typedef struct sl_row_index {
	int64_t *slots; /* row + 1; 0: empty */
	size_t cap, used;
} sl_row_index;

/* The row of `in` put under the key of row r of `probe` (whose key columns have the same
 * fields), or -1. */
int64_t sl_row_index_find(const sl_row_index *x, const sl_batch *in, const int *key, int nkey,
                          const sl_batch *probe, int64_t r);
/* Row r of `in` becomes the one found under its key. */
void sl_row_index_put(sl_row_index *x, const sl_batch *in, const int *key, int nkey, int64_t r);
/* Forget every row (the batch was reset); the memory stays for the next. */
void sl_row_index_clear(sl_row_index *x);
void sl_row_index_free(sl_row_index *x);

/* Export the batch as a struct array (one child per column) through the Arrow C Data
 * Interface. The buffers move into `out`; the batch is left empty and reusable. The caller
 * must call out->release(out). XXX: list shapes have no place in Arrow's List and are not
 * exported (the elements are, flattened); nothing in the data path exports batches. */
void sl_batch_export(sl_batch *b, struct ArrowArray *out);

#endif
