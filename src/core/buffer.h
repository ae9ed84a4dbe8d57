/* The buffer (the pipeline's `buffer:` section): committed source transactions kept in an
 * object store between the source and the target, so that each runs at its own pace and a
 * target outage does not hold the source's log back.
 *
 * Source side (two threads: the change stream, and the segment writer): whole transactions go
 * into segments (core/segment.h); a segment is put when it holds buffer.segment_size bytes or
 * apply.max_delay passed since its first transaction, and only then is the source told its
 * last position is durable (PostgreSQL's slot moves on). The segments together hold at most
 * buffer.max_size: past it the writer waits and the source waits on it (backpressure).
 *
 * Target side (core/cdc.c): a reader thread hands the segments' messages to the applier in
 * order, skipping the transactions the target already holds (its durable position, stored with
 * the data as without a buffer: the source's position, so a buffer can be added to a pipeline
 * or drained and removed). Segments the target holds whole are deleted.
 *
 * Objects under the buffer's URL, in a folder e<CRC-32 of the snapshot's consistent point> (a new
 * snapshot starts a new folder, so segments of an older generation are never applied):
 *   segments/<sequence:020>-<first commit, unix us>.seg
 *   head   where the source resumes once every segment is applied and deleted
 * The source resumes after the newest segment (or head): a segment is visible only
 * whole, so a writer killed mid-segment leaves nothing and reads those transactions again. */
#ifndef SL_BUFFER_H
#define SL_BUFFER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/catalog.h"
#include "core/change.h"
#include "core/config.h"
#include "core/error.h"
#include "core/source.h"

typedef struct sl_buffer sl_buffer;

/* Open the buffer of cfg (cfg->buffer_url) and list what it holds. */
int sl_buffer_open(const sl_config *cfg, const char *epoch, sl_buffer **out, sl_error *err);
void sl_buffer_close(sl_buffer *b);
/* Count into m (core/metrics.h; before sl_buffer_source_start): buffer.rows/bytes.out written
 * into segments, .in read from them, buffer.latency.* up to a segment's put, and
 * buffer.object_store.*: files created, deleted, read (get), aborted, forced flushes (a
 * segment put because apply.max_delay passed with no more changes), the bytes and segments
 * held. */
struct sl_metrics;
void sl_buffer_observe(sl_buffer *b, struct sl_metrics *m);
/* Where the source resumes: after the newest segment, or head; false when the buffer has
 * never held anything (the caller then starts from the target's durable position). */
bool sl_buffer_resume(const sl_buffer *b, char *position, size_t n);

/* Start the source side: changes of `src` from strictly after `from`. `once`: the stream ends
 * when caught up (sl_buffer_run then returns 0 once every segment is handed on). */
int sl_buffer_source_start(sl_buffer *b, const sl_source_ops *sops, sl_source *src,
                           const sl_catalog *cat, const char *from, bool once, sl_error *err);
/* Stop it: complete transactions not yet in a segment are put first (graceful). */
void sl_buffer_source_stop(sl_buffer *b);

/* Target side (the reader thread): hand every message after the transaction of version
 * `after` (0: all) to emit, in order, waiting for new segments. Returns when *stop is set, or
 * once the source side ended and everything is handed on: 0 then, or the source side's error
 * (err->rediscover when a new discovery may help). */
int sl_buffer_run(sl_buffer *b, const sl_catalog *cat, uint64_t after, sl_emit_fn emit, void *ctx,
                  volatile int *stop, sl_error *err);
/* The target holds every transaction up to `version`: delete the segments it holds whole. */
void sl_buffer_ack(sl_buffer *b, uint64_t version);

/* What the buffer holds, for status. */
typedef struct sl_buffer_depth {
	int64_t segments;
	int64_t bytes;
	int64_t oldest_us; /* commit time of the oldest transaction held, 0 when empty */
} sl_buffer_depth;
int sl_buffer_depth_of(const sl_config *cfg, const char *epoch, sl_buffer_depth *out,
                       sl_error *err);
/* The store can be written (sluice check). */
int sl_buffer_check(const sl_config *cfg, sl_error *err);

#endif
