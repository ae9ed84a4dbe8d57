/* Backfill: copy a table again while its changes stream (sluice resync, tables new to the
 * pipeline), without a new slot, a pause of the stream or a lock on the source.
 *
 * One table at a time, one slice of about snapshot.backfill_rows rows at a time, in key order:
 *   1. between source transactions the applier asks for the next slice: the source writes a
 *      low watermark into its change log, then reads the slice in a snapshot of its own
 *      (the stream reader keeps reading meanwhile);
 *   2. the applier goes on with the stream; where the watermark comes through, it applies the
 *      slice's rows as upserts, then everything after the watermark on top of them. A change
 *      committed after the watermark is applied after the copy, so it wins whether the
 *      slice's snapshot saw it or not (the watermark idea of Netflix's DBLog, with the slice
 *      applied at the low watermark because the applier holds it before the watermark
 *      arrives); a change before it is in the slice already.
 *   3. The slice is committed on the target with the watermark's position; then the key the
 *      copy reached goes into the state store, so a run killed at any point goes on from the
 *      last committed slice (a slice applied twice is the same upserts twice).
 * One race remains: a transaction that came through before the watermark although the
 * slice's snapshot did not see it (it was committing while the watermark was written) would be
 * overwritten by the older copy. The source lists the transactions its snapshot did not see,
 * the applier remembers the ids of the last transactions it applied, and a slice whose
 * snapshot missed one of them is read again.
 *
 * While a table is being copied, a change that needs its row on the target (an update that
 * left TOASTed columns unchanged) and finds none is skipped: the row's key is past the copy,
 * whose later slice brings the row with the change in it (sl_changes.may_miss).
 * A table without a key is one slice, the whole table, read under a lock that keeps writers
 * out from its watermark to the end of the read, and applied as a truncate and its rows. */
#ifndef SL_BACKFILL_H
#define SL_BACKFILL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/batch.h"
#include "core/catalog.h"
#include "core/change.h"
#include "core/config.h"
#include "core/error.h"
#include "core/source.h"
#include "core/state.h"

typedef struct sl_backfill sl_backfill;

/* A slice's rows, over the table's fields as discovered (masked as the pipeline masks). */
typedef struct sl_backfill_slice {
	int table;
	sl_batch **batches;
	int nbatches;
	int64_t rows;
} sl_backfill_slice;

/* NULL when the source cannot backfill (its ops lack watermark). */
sl_backfill *sl_backfill_create(const sl_config *cfg, const sl_source_ops *sops, sl_source *src,
                                const sl_catalog *cat, sl_state *st);
void sl_backfill_destroy(sl_backfill *b);
/* The table whose copy is under way, or -1. */
int sl_backfill_current(const sl_backfill *b);
/* Whether table t is being copied (or waits to be): its rows may not be on the target yet. */
bool sl_backfill_copying(const sl_backfill *b, int t);
/* Between source transactions: pick up requests (about once a second) and, when no slice
 * waits for its watermark, read the next one. An error with err->rediscover: the table is not
 * as discovered (a column dropped or renamed); discover again, and the copy goes on. */
int sl_backfill_step(sl_backfill *b, sl_error *err);
/* A source transaction with this id is being applied. */
void sl_backfill_saw_txn(sl_backfill *b, uint64_t txid);
/* A watermark came through: *out is the slice to apply there, or NULL (not this run's, or the
 * slice must be read again). The slice stays owned by b. */
int sl_backfill_on_mark(sl_backfill *b, const sl_msg *m, sl_backfill_slice **out, sl_error *err);
/* Key changes to table t (n of them) were skipped because their old row was not copied yet
 * (sl_changes.may_miss): their new key may be one the copy has passed, so the table is copied
 * once more when the current pass ends. Recorded in the state store before the target commits
 * the changes, so a run killed in between still makes that pass. */
int sl_backfill_moved(sl_backfill *b, int t, int64_t n, sl_error *err);
/* The same for another reason (why: what happened, for the log and the state). */
int sl_backfill_again(sl_backfill *b, int t, const char *why, sl_error *err);
/* The slice handed out was applied and committed in `secs`: with its read, how long it held
 * the stream up (reported when the table is done). */
void sl_backfill_applied(sl_backfill *b, double secs);
/* The slice handed out is committed on the target: record how far the copy got. */
int sl_backfill_committed(sl_backfill *b, sl_error *err);
/* "; backfill of T: N rows copied, M tables waiting" for the live display while a table is
 * copied, else "" (buf holds the text). */
const char *sl_backfill_progress(const sl_backfill *b, char *buf, size_t n);
/* The session ended: a slice not committed is read again in the next one. */
void sl_backfill_session_end(sl_backfill *b);

#endif
