/* The transaction a source's decoder builds (one per stream, one thread): per table, the
 * changes not yet handed on, in one columnar batch of one shape. A decoder asks for a table's
 * batch (sl_txb_batch), appends a row to it and says so (sl_txb_added); the builder hands
 * batches on as SL_MSG_ROWS through the stream's emit function: a table's when its shape
 * changes, every table's when together they hold more than `limit` bytes (so a transaction
 * touching many tables holds at most that much, not a batch per table), and every table's at
 * COMMIT (sl_txb_flush). The rule that a key change's DELETE and its new row travel in one
 * batch (the applier reads the old key from the pair) is the decoder's: it appends the DELETE
 * with may_flush false. */
#ifndef SL_TXBUILD_H
#define SL_TXBUILD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/change.h"
#include "core/error.h"

/* Hand a message on (taking it, also on failure). */
typedef int (*sl_txb_emit_fn)(void *ctx, sl_msg *m, sl_error *err);

typedef struct sl_txb {
	int ntables;
	sl_changes **pending; /* per catalog table, NULL when nothing is pending */
	int *touched;         /* tables with pending rows, in the order first touched */
	int ntouched;
	size_t bytes; /* of every pending batch */
	size_t limit;
	sl_txb_emit_fn emit;
	void *ctx;
} sl_txb;

void sl_txb_init(sl_txb *b, int ntables, size_t limit, sl_txb_emit_fn emit, void *ctx);
void sl_txb_free(sl_txb *b);

/* Table t's pending batch for rows of `shape`, made when missing; one of another shape is
 * handed on first. */
int sl_txb_batch(sl_txb *b, int t, sl_shape *shape, sl_changes **out, sl_error *err);
/* A row was appended to c, which held `before` bytes (sl_changes_bytes) before it; with
 * may_flush, every table's rows are handed on once they hold `limit` bytes. */
int sl_txb_added(sl_txb *b, sl_changes *c, size_t before, bool may_flush, sl_error *err);
/* Whether the pending rows hold `limit` bytes or more. */
static inline bool sl_txb_full(const sl_txb *b)
{
	return b->bytes >= b->limit;
}

/* Hand on table t's pending rows / every table's. */
int sl_txb_flush_table(sl_txb *b, int t, sl_error *err);
int sl_txb_flush(sl_txb *b, sl_error *err);
/* Forget table t's pending rows (a TRUNCATE follows them) / every table's (a transaction
 * skipped or rolled back). */
void sl_txb_discard(sl_txb *b, int t);
void sl_txb_drop(sl_txb *b);

/* Whether two fields are the same column: name, type and its parameters, nullability. */
bool sl_field_same(const sl_field *a, const sl_field *b);
/* Whether `a` has exactly the columns f[0..n) (names, types and their parameters, key
 * positions, source types) and the same key_known: when not, a stream sends a new shape. */
bool sl_shape_same(const sl_shape *a, const sl_field *f, int n, bool key_known);

#endif
