/* The source interface: what the pipeline asks of every source engine.
 *
 * Life of a snapshot: open -> discover -> snapshot_begin (fix the consistent point, record it in
 * the state store) -> plan (split tables into chunks) -> N readers each read chunks in parallel
 * as of that point -> snapshot_end. A reader is used by one thread only; the source object is
 * used by the main thread only. */
#ifndef SL_SOURCE_H
#define SL_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/batch.h"
#include "core/change.h"
#include "core/catalog.h"
#include "core/config.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/handle.h"
#include "core/state.h"

typedef struct sl_source sl_source;
typedef struct sl_reader sl_reader;

/* One unit of parallel snapshot work: part of one table. */
typedef struct sl_chunk {
	int table;        /* index into the catalog */
	int64_t est_rows; /* for progress */
	char *where;      /* source-specific description of the slice (e.g. a ctid range) */
	char *relation;   /* source-specific relation to read (e.g. a leaf partition), or NULL */
} sl_chunk;

/* Outcome of one preflight check (sluice check). */
typedef void (*sl_check_fn)(void *ctx, bool ok, const char *what, const char *detail);

/* What snapshot_begin decided. */
typedef struct sl_snapshot_info {
	/* in: tables without a key that a resumed snapshot did not finish are copied by a
	 * backfill once changes stream (so they need not make the snapshot start over) */
	bool keyless_backfill;
	char position[SL_POSITION_MAX]; /* the consistent point */
	bool resumed;   /* continuing an earlier snapshot (its tables not done are reloaded) */
	bool restarted; /* an earlier snapshot could not be resumed and starts over */
} sl_snapshot_info;

typedef sl_batch *(*sl_batch_sink)(void *ctx, sl_batch *full, sl_error *err);

/* CDC: the change stream of one session. */
typedef struct sl_stream sl_stream;

/* What the source says about its change log, for status and warnings. */
typedef struct sl_log_info {
	char slot_state[32];      /* e.g. "active", "inactive", "lost" */
	char current[64];         /* the source's current position */
	uint64_t current_version; /* ... as a change version (0: the source cannot say) */
	char confirmed[64];       /* what the source has been told is durable */
	int64_t lag_bytes;        /* current - confirmed, -1 unknown */
	int64_t retained_bytes;   /* log the source keeps for us, -1 unknown */
} sl_log_info;

typedef struct sl_source_ops {
	const char *type;
	/* the connector's own keys in the source section, beside the shared ones (core/config.h:
	 * read with sl_config_opt_*); NULL-terminated */
	const char *const *options;
	int (*open)(const sl_config *cfg, sl_source **out, sl_error *err);
	/* Which server and database this is, without secrets: recorded with the consistent
	 * point, so a state store of another source is refused (snapshot_begin) and never
	 * acted on before that (the tables a pipeline follows). */
	void (*identity)(sl_source *src, char *buf, size_t n);
	void (*close)(sl_source *src);
	/* Run every preflight check, reporting each; returns the number that failed. */
	int (*check)(sl_source *src, sl_check_fn report, void *ctx);
	int (*discover)(sl_source *src, sl_catalog *cat, sl_error *err);
	/* Read only fields keep[0..nkeep) of table t from now on: ascending indexes into its
	 * fields as discovered (source.tables.columns left the others out; core/columns.h).
	 * Called after discover, before anything is read; the core then drops the others from
	 * the table's fields and renumbers its key. */
	int (*project)(sl_source *src, sl_catalog *cat, int t, const int *keep, int nkeep,
	               sl_error *err);
	/* Fix (or recover) the consistent point; statuses in `st` say what is already loaded. */
	int (*snapshot_begin)(sl_source *src, sl_catalog *cat, sl_state *st, sl_snapshot_info *info,
	                      sl_error *err);
	/* Split table t into chunks of about chunk_bytes; appends to *chunks. */
	int (*plan)(sl_source *src, const sl_catalog *cat, int t, int64_t chunk_bytes,
	            sl_chunk **chunks, int *nchunks, sl_error *err);
	int (*reader_open)(sl_source *src, sl_reader **out, sl_error *err);
	/* Read one chunk: rows go into *batch; sink(ctx, batch) takes a full batch and returns the
	 * next, or NULL with err set (the full batch freed): the read stops and *batch is NULL. */
	int (*read_chunk)(sl_reader *r, const sl_catalog *cat, const sl_chunk *chunk,
	                  sl_batch **batch, size_t batch_bytes, sl_batch_sink sink, void *ctx,
	                  int64_t *rows, volatile int *cancel, sl_error *err);
	/* Interrupt whatever the reader is running (called from another thread). */
	void (*reader_cancel)(sl_reader *r);
	void (*reader_close)(sl_reader *r);
	/* All readers have finished; release the consistent point. */
	int (*snapshot_end)(sl_source *src, sl_error *err);
	/* Release what the source holds for this pipeline (the replication slot). */
	int (*reset)(sl_source *src, sl_error *err);
	/* CDC. stream_open starts the change stream strictly after `from` (a position from a
	 * COMMIT, or the consistent point); with `once`, the stream ends (stream_run returns 0)
	 * once every transaction committed before the source's position at open has been
	 * emitted. stream_run reads until then, until *stop, or an error (retryable when a
	 * reconnect may help); a stream whose log names the tables' renames emits SL_MSG_RENAME
	 * after the transaction that renamed them and returns 0 there. stream_ack reports `version`
	 * as durable on the target (any thread). stream_close sends a last acknowledgement and
	 * disconnects. */
	int (*stream_open)(sl_source *src, const sl_catalog *cat, const char *from, bool once,
	                   sl_stream **out, sl_error *err);
	int (*stream_run)(sl_stream *s, sl_emit_fn emit, void *ctx, volatile int *stop,
	                  sl_error *err);
	void (*stream_ack)(sl_stream *s, uint64_t version);
	void (*stream_close)(sl_stream *s);
	/* The state of the change log kept for this pipeline. */
	int (*log_info)(sl_source *src, sl_log_info *out, sl_error *err);
	/* Write a heartbeat into the change log (keeps an idle source's log moving). */
	int (*heartbeat)(sl_source *src, sl_error *err);
	/* Backfill (core/backfill.h): copy a table again while its changes stream. Optional
	 * (both NULL: the source cannot). backfill_next describes the next slice of table t in
	 * key order into *chunk: the rows whose key is after `after` (a key as the source spells
	 * it, from an earlier call; NULL: from the first row), about `rows` of them; *next gets
	 * the key ending the slice (the caller frees it), or NULL when the slice runs to the end
	 * of the table. A table without a key is one slice, the whole table. backfill_read writes
	 * `mark` into the change log, outside any transaction (the stream hands it on as
	 * SL_MSG_WATERMARK where the log has it), then reads the slice in a snapshot taken after
	 * that, and says in *unseen (the caller frees it with sl_unseen_free) which transactions
	 * that snapshot did not see although they may have committed.
	 * For a table without a key, no transaction that changes it may commit between the mark
	 * and the end of the read (PostgreSQL: a SHARE lock, taken before the mark). */
	/* Whether this source server can backfill (NULL: whenever backfill_read is set). */
	bool (*backfill_ok)(sl_source *src);
	int (*backfill_next)(sl_source *src, const sl_catalog *cat, int t, const char *after,
	                     int64_t rows, sl_chunk *chunk, char **next, sl_error *err);
	int (*backfill_read)(sl_source *src, const sl_catalog *cat, const sl_chunk *chunk,
	                     const char *mark, sl_batch **batch, size_t batch_bytes,
	                     sl_batch_sink sink, void *ctx, int64_t *rows, sl_unseen *unseen,
	                     sl_error *err);
	/* verify: row count and content digest of a table as the source has it now */
	int (*digest)(sl_source *src, const sl_catalog *cat, int t, sl_digest *d, sl_error *err);
} sl_source_ops;

/* The registry (sources/source.c): the connector of a source.type, or NULL; and the types, for
 * messages ("postgres, mysql"). */
const sl_source_ops *sl_source_lookup(const char *type);
const char *sl_source_types(void);

/* Whether the source can copy tables while changes stream (core/backfill.h). */
static inline bool sl_source_can_backfill(const sl_source_ops *ops, sl_source *src)
{
	return ops->backfill_next && ops->backfill_read &&
	       (ops->backfill_ok == NULL || ops->backfill_ok(src));
}
void sl_chunks_free(sl_chunk *chunks, int n);

#endif
