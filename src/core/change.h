/* Changes: the CDC half of the stream (DESIGN.md §1).
 *
 * A source turns its log into messages: SCHEMA (a table's shape, before rows that use it), BEGIN,
 * ROWS (a batch of changes to one table), TRUNCATE, COMMIT (with the position to resume after
 * it) and PROGRESS (the source moved on without a transaction we replicate). The applier groups
 * whole transactions and hands each table's collapsed changes to the target.
 *
 * A change batch is an Arrow-layout batch over the table's shape plus, per row, the operation
 * and, for updates, which columns the source left "unchanged" (PostgreSQL does not resend a
 * TOASTed value an update did not touch; the target must keep the value it has). Operations:
 *   INSERT  a new row (keyless tables: appended as is)
 *   UPSERT  the new image of a row (insert or replace by key)
 *   DELETE  the old row: its key columns (keyed tables) or its whole image (keyless tables)
 * A key change arrives as DELETE of the old key, then UPSERT (or MOVE, see below) of the new
 * row, always in the same batch. */
#ifndef SL_CHANGE_H
#define SL_CHANGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/batch.h"
#include "core/buf.h"
#include "core/state.h"
#include "core/types.h"

/* A table's shape: its replicated columns now. Reference-counted, because batches built with
 * an older shape may still be queued when the shape changes. */
typedef struct sl_shape {
	atomic_int refs;
	sl_field *fields;
	int nfields;
	/* The fields' key_pos say the table's primary key as it was when these changes were
	 * made (PostgreSQL's Relation message), which may not be the one discovered: no key at
	 * all, or other columns. False: the key is the catalog's (sl_table_def.key). */
	bool key_known;
} sl_shape;

/* Deep-copies fields. */
sl_shape *sl_shape_new(const sl_field *fields, int n);
sl_shape *sl_shape_ref(sl_shape *s);
void sl_shape_unref(sl_shape *s);
int sl_shape_find(const sl_shape *s, const char *name);
struct sl_table_def;
/* The shape's key as field indexes, in key order, into out (room for s->nfields); its
 * length, or -1 when a key column of the catalog's is not in the shape (*missing names it). */
int sl_shape_key(const sl_shape *s, const struct sl_table_def *td, int *out, const char **missing);

enum sl_op {
	SL_OP_INSERT = 'I',
	SL_OP_UPSERT = 'U',
	SL_OP_DELETE = 'D',
	/* the new image of a row whose key changed while some columns were left unchanged: the
	 * row just before it is the DELETE of its old key, and the unchanged columns take the
	 * values the row had under that old key */
	SL_OP_MOVE = 'M',
	/* the old image of an updated row whose key, or a column a foreign key with an ON
	 * UPDATE action references, changed (MySQL); the next row is its new image (UPSERT).
	 * The applier reads it for the foreign-key actions (core/fkeys.h) and applies it as a
	 * DELETE: targets never see it */
	SL_OP_REKEY = 'R',
	/* applier only: a superseded DELETE kept because a MOVE still reads its old key */
	SL_OP_KEYREF = 'K'
};

typedef struct sl_changes {
	int table;
	sl_shape *shape; /* one reference held */
	sl_batch *rows;
	sl_buf ops;       /* one enum sl_op byte per row */
	sl_buf unchanged; /* ubytes per row (bit c = column c unchanged), once any row has one */
	int ubytes;
	bool any_unchanged;
	/* applier only: the table is being backfilled (core/backfill.h), so a row a change needs
	 * may not be on the target yet; its copy brings it, and the change is skipped */
	bool may_miss;
	/* applier only: where the target counts the key changes it skipped for may_miss (their
	 * old row was not on the target), or NULL */
	int64_t *moves_missed;
	sl_buf pairs;   /* applier only: int64 per row, the row a MOVE reads its old key from (or
	                   -1); empty when no row is a MOVE */
	sl_buf origins; /* applier only: sl_row_origin per row (targets without transactions
	                   derive row versions and identities from it) */
} sl_changes;

/* Where a change came from: the version of its source transaction (the BEGIN's) and its
 * ordinal among that transaction's changes to the table. The same transaction read again
 * after a restart gives every change the same origin. */
typedef struct sl_row_origin {
	uint64_t version;
	uint64_t seq;
} sl_row_origin;

static inline sl_row_origin sl_changes_origin(const sl_changes *c, int64_t row)
{
	sl_row_origin o = {0, 0};
	if (c->origins.len >= (size_t)(row + 1) * sizeof o)
		o = ((const sl_row_origin *)c->origins.data)[row];
	return o;
}

sl_changes *sl_changes_new(int table, sl_shape *shape);
void sl_changes_free(sl_changes *c);
void sl_changes_reset(sl_changes *c);
size_t sl_changes_bytes(const sl_changes *c);
/* Bytes allocated for its buffers, kept across sl_changes_reset. */
size_t sl_changes_capacity(const sl_changes *c);
/* Close a row after one value was appended to every column; `unchanged` is NULL or ubytes
 * bytes. */
void sl_changes_end_row(sl_changes *c, enum sl_op op, const uint8_t *unchanged);

static inline char sl_changes_op(const sl_changes *c, int64_t row)
{
	return (char)c->ops.data[row];
}

static inline int64_t sl_changes_pair(const sl_changes *c, int64_t row)
{
	if (c->pairs.len < (size_t)(row + 1) * 8)
		return -1;
	return ((const int64_t *)c->pairs.data)[row];
}

/* Record that row `row` (a MOVE) reads its old key from row `from`. */
void sl_changes_set_pair(sl_changes *c, int64_t row, int64_t from);

static inline bool sl_changes_is_unchanged(const sl_changes *c, int64_t row, int col)
{
	return c->any_unchanged &&
	       ((c->unchanged.data[row * c->ubytes + (col >> 3)] >> (col & 7)) & 1);
}

/* Messages on the CDC queue. */
enum sl_msg_kind {
	SL_MSG_BEGIN = 1,
	SL_MSG_SCHEMA,
	SL_MSG_ROWS,
	SL_MSG_TRUNCATE,
	SL_MSG_COMMIT,
	SL_MSG_PROGRESS,
	/* a mark the pipeline wrote into the source's change log (sl_source_ops.watermark),
	 * outside any transaction, where the log has it: a backfill's low watermark */
	SL_MSG_WATERMARK,
	/* between transactions, after the one that renamed them: tables of the catalog renamed
	 * on the source (renames[0..nrenames), in the order the source did them). The stream
	 * ends after it: the next session starts from a new discovery. */
	SL_MSG_RENAME
};

/* One step of a rename: table `table` of the catalog is called `to` ("schema.name") from
 * here on, and has the identity `identity` (NULL: it keeps its own). A table may move more
 * than once in one message (a -> tmp, b -> a, tmp -> b). */
typedef struct sl_rename {
	int table;
	char *to;
	char *identity;
} sl_rename;

typedef struct sl_msg {
	enum sl_msg_kind kind;
	int table;           /* SCHEMA, ROWS, TRUNCATE: catalog index */
	sl_shape *shape;     /* SCHEMA: one reference held */
	sl_changes *changes; /* ROWS */
	char *position;      /* COMMIT, PROGRESS, WATERMARK: where to resume after this point
	                        (sl_msg_set_position) */
	char *mark;          /* WATERMARK: the text written (sl_msg_set_mark) */
	sl_rename *renames;  /* RENAME */
	int nrenames;
	uint64_t txid; /* BEGIN: the source's transaction id when it has one (else 0) */
	/* COMMIT, PROGRESS: monotonically increasing with the position. BEGIN: the same order,
	 * distinct per transaction, known before its rows (PostgreSQL: the commit record's LSN;
	 * MySQL: a count of the executed GTID set with the transaction's GTID, sl_my_version) */
	uint64_t version;
	int64_t commit_us;   /* BEGIN, COMMIT: source commit time, unix microseconds */
	int64_t received_us; /* COMMIT: when change capture received it (unix microseconds), for
	                        the latency metrics; 0 if not known */
} sl_msg;

/* The transactions a backfill slice's snapshot did not see although they may have committed
 * (backfill_read): ids as BEGIN messages carry them (sl_msg.txid), 32-bit counters that wrap.
 * Those listed, and, when from_set, every id from `from` on (compared as wrapping counters:
 * PostgreSQL does not list running transactions at or above its snapshot's xmax). */
typedef struct sl_unseen {
	uint64_t *ids;
	int n;
	bool from_set;
	uint32_t from;
	bool sorted; /* ids in ascending order (sl_unseen_sort) */
} sl_unseen;

static inline int sl_unseen_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sort the ids once, so that each sl_unseen_has looks them up in log time. */
static inline void sl_unseen_sort(sl_unseen *u)
{
	if (u->n > 1)
		qsort(u->ids, (size_t)u->n, sizeof *u->ids, sl_unseen_cmp);
	u->sorted = true;
}

static inline bool sl_unseen_has(const sl_unseen *u, uint64_t txid)
{
	if (u->sorted) {
		if (u->n > 0 && bsearch(&txid, u->ids, (size_t)u->n, sizeof *u->ids, sl_unseen_cmp))
			return true;
	} else {
		for (int i = 0; i < u->n; i++)
			if (u->ids[i] == txid)
				return true;
	}
	return u->from_set && (int32_t)((uint32_t)txid - u->from) >= 0;
}

static inline void sl_unseen_free(sl_unseen *u)
{
	free(u->ids);
	u->ids = NULL;
	u->n = 0;
	u->from_set = false;
	u->sorted = false;
}

/* Hand one message to the pipeline. Returns 0 when taken (ownership moves), 1 when the
 * pipeline is busy (the source keeps the message, answers its server, and offers it again),
 * or < 0 to stop (the source frees the message and returns SL_ERR_CANCELLED). */
typedef int (*sl_emit_fn)(void *ctx, sl_msg *m);

/* Offer m to emit until it is taken; while the pipeline is busy, busy(bctx) (when not NULL)
 * answers the source's server. On *stop, a stopping pipeline or busy's error, m is freed and
 * the error returned (SL_ERR_CANCELLED when stopping). */
int sl_emit_wait(sl_emit_fn emit, void *ctx, sl_msg *m, volatile int *stop,
                 int (*busy)(void *bctx, sl_error *err), void *bctx, sl_error *err);

sl_msg *sl_msg_new(enum sl_msg_kind kind);
void sl_msg_free(sl_msg *m);
/* Set the message's position (copied; any length). */
void sl_msg_set_position(sl_msg *m, const char *position);
void sl_msg_set_mark(sl_msg *m, const char *mark);
size_t sl_msg_bytes(const sl_msg *m);

#endif
