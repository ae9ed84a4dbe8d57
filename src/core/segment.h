/* Buffer segments: the stream's messages (core/change.h) as bytes, for the buffer (core/buffer.h).
 *
 * A segment is a run of whole source transactions, in stream order, exactly as the source
 * emitted them: BEGIN, SCHEMA, ROWS (the Arrow-layout buffers of the batch as they are, with the
 * operations and the unchanged bitmaps), TRUNCATE, COMMIT, WATERMARK and RENAME. It is not
 * Parquet: a segment must keep the order of changes across tables inside a transaction, the
 * operations, TOAST's unchanged columns, key changes and shape changes, which one columnar file
 * per table does not; the files target is where Parquet is the product.
 *
 * Layout (integers little-endian):
 *   "SLSEG1\n\0"
 *   records: kind (1 byte), body length (u32), CRC-32 of the body (u32), body
 *     'T' a table:  u32 id, str qualified, str identity   (ids are local to the segment)
 *     'H' a shape:  u32 id, u8 key_known, u32 n, n fields
 *     'M' a message: u8 kind, i32 table, i32 shape, u64 txid, u64 version, i64 commit_us,
 *                    str position, str mark, u32 renames {i32 table, str to, str identity},
 *                    and for ROWS the changes (the ROWS' shape, operations, unchanged bitmaps,
 *                    the batch's columns buffer by buffer)
 *     'F' the footer: u32 n, u64 commit version of each transaction, str last position,
 *                    u64 last version, i64 first and last commit time (unix us)
 *   u64 offset of the footer record, "SLSEGEND"
 * str: u32 length then bytes, 0xffffffff for NULL.
 *
 * The footer lets a reader skip the transactions a target already holds without decoding them
 * and tells where the source resumes after the segment. */
#ifndef SL_SEGMENT_H
#define SL_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/catalog.h"
#include "core/change.h"
#include "core/error.h"

#define SL_SEG_MAGIC "SLSEG1\n"      /* with its NUL: 8 bytes */
#define SL_SEG_END "SLSEGEND"        /* 8 bytes, after the footer's offset */
#define SL_SEG_TRAILER 16            /* footer offset + end magic */
#define SL_SEG_RECORD_HEAD 9         /* kind, length, CRC */
#define SL_SEG_RECORD_MAX (1u << 31) /* a record body is at most this long */

/* ---- writing ---- */

typedef struct sl_seg_writer sl_seg_writer;

sl_seg_writer *sl_seg_writer_new(const sl_catalog *cat);
void sl_seg_writer_free(sl_seg_writer *w);
/* Start a segment: its bytes go to `out` (the caller drains out as it likes between calls;
 * the writer only appends). A segment without a transaction (a RENAME alone) ends at the
 * previous one's version and position: base_*. */
void sl_seg_begin(sl_seg_writer *w, sl_buf *out, uint64_t base_version, const char *base_position);
/* Append one message (not PROGRESS). */
void sl_seg_add(sl_seg_writer *w, const sl_msg *m);
/* Transactions complete so far, and the last COMMIT's version, position and time. */
int64_t sl_seg_txns(const sl_seg_writer *w);
uint64_t sl_seg_last_version(const sl_seg_writer *w);
const char *sl_seg_last_position(const sl_seg_writer *w);
int64_t sl_seg_first_commit_us(const sl_seg_writer *w);
/* Bytes of the segment so far (what the caller drained included). */
uint64_t sl_seg_bytes(const sl_seg_writer *w);
/* The caller took n bytes out of the segment's buffer (sl_seg_bytes still counts them). */
void sl_seg_drained(sl_seg_writer *w, size_t n);
/* End the segment: footer and trailer. */
void sl_seg_end(sl_seg_writer *w);

/* ---- reading ---- */

/* A record's head (SL_SEG_RECORD_HEAD bytes at h): its kind, body length and CRC-32. */
static inline void sl_seg_record_head(const uint8_t *h, char *kind, uint32_t *len, uint32_t *crc)
{
	*kind = (char)h[0];
	*len = (uint32_t)h[1] | (uint32_t)h[2] << 8 | (uint32_t)h[3] << 16 | (uint32_t)h[4] << 24;
	*crc = (uint32_t)h[5] | (uint32_t)h[6] << 8 | (uint32_t)h[7] << 16 | (uint32_t)h[8] << 24;
}

/* The footer: read from the segment's last bytes. */
typedef struct sl_seg_footer {
	uint64_t *versions; /* per transaction, its COMMIT's version */
	uint32_t ntxn;
	char *last_position;
	uint64_t last_version;
	int64_t first_commit_us, last_commit_us;
	uint64_t offset; /* where the footer record starts: the records end there */
} sl_seg_footer;

/* `tail` is the segment's last n bytes (n >= SL_SEG_TRAILER) and `size` its size: fills *f,
 * or says how many last bytes it needs (*need > n) and returns 1. `what` names the segment. */
int sl_seg_footer_read(const uint8_t *tail, size_t n, uint64_t size, const char *what,
                       sl_seg_footer *f, uint64_t *need, sl_error *err);
void sl_seg_footer_free(sl_seg_footer *f);

/* Turns records into messages for a catalog. Tables are found by identity when the segment
 * names one, else by name; messages of tables the catalog does not have are dropped (*dropped
 * counts them). Equal shapes of a table become the same sl_shape across segments, and a ROWS
 * whose shape this reader has not handed on for its table is preceded by a SCHEMA: a reader
 * starting at any segment gives the applier what it needs. */
typedef struct sl_seg_reader sl_seg_reader;

sl_seg_reader *sl_seg_reader_new(const sl_catalog *cat);
void sl_seg_reader_free(sl_seg_reader *r);
/* A new segment starts (its table and shape ids are its own). */
void sl_seg_reader_segment(sl_seg_reader *r);
/* Decode one record (kind, body) into zero, one or two messages (out[0..*n)); `what` names the
 * segment in errors. */
int sl_seg_decode(sl_seg_reader *r, char kind, const uint8_t *body, size_t len, const char *what,
                  sl_msg *out[2], int *n, sl_error *err);
int64_t sl_seg_reader_dropped(const sl_seg_reader *r);

#endif
