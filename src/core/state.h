/* The state store: what a pipeline has done, kept outside the servers (SQLite file by default).
 *
 * It records the pipeline's identity (which source it reads), the consistent point fixed
 * before the snapshot (the position CDC starts from), and each table's snapshot status, so a
 * run cut short resumes instead of starting over. Thread-safe: every call takes one mutex. */
#ifndef SL_STATE_H
#define SL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Longest position text kept in fixed buffers (a MySQL GTID set names one uuid and its
 * intervals per source server it ever had: ~1,000 servers fit). Messages carry positions of any
 * length; one longer than this is refused with an error where it would be stored or read back,
 * never cut (a cut GTID set parses as a smaller one). */
#define SL_POSITION_MAX 65536

typedef struct sl_state sl_state;

typedef struct sl_pipeline_state {
	bool found;                     /* a consistent point was recorded */
	char identity[512];             /* source identity recorded with it (no secrets) */
	char position[SL_POSITION_MAX]; /* consistent point, source-specific text (PostgreSQL: an
	                                   LSN) */
	bool snapshot_done;
	int64_t created_at; /* unix seconds */
} sl_pipeline_state;

typedef enum sl_table_status {
	SL_TABLE_PENDING = 0, /* not started, or must be reloaded from scratch */
	SL_TABLE_LOADING,     /* started; incomplete on the target */
	SL_TABLE_DONE         /* loaded completely and its key added */
} sl_table_status;

/* Open (creating when missing) the state at `url` ("sqlite://PATH" or a plain path) for the
 * pipeline `name`. Free with sl_state_close. */
int sl_state_open(const char *url, const char *name, sl_state **out, sl_error *err);
void sl_state_close(sl_state *st);

/* Take the pipeline's run lock (one agent per pipeline): an exclusive flock on the file
 * PATH.NAME.lock next to the state store, held until sl_state_close or the process ends (the
 * kernel releases it after a crash, so nothing is left to clean up). The file notes the holder
 * (pid, host, start time); when another process holds it, fails with SL_ERR_STATE naming it. */
int sl_state_lock(sl_state *st, sl_error *err);

int sl_state_load(sl_state *st, sl_pipeline_state *out, sl_error *err);
/* Record a new consistent point: every table loaded (even partly) before becomes LOADING, so it
 * is emptied and reloaded; pending tables stay pending. */
int sl_state_begin_snapshot(sl_state *st, const char *identity, const char *position,
                            sl_error *err);
int sl_state_finish_snapshot(sl_state *st, sl_error *err);
/* Forget everything about this pipeline, in one transaction: all of it or, on error, none. */
int sl_state_reset(sl_state *st, sl_error *err);

int sl_state_table_get(sl_state *st, const char *table, sl_table_status *status, int64_t *rows,
                       sl_error *err);
int sl_state_table_set(sl_state *st, const char *table, sl_table_status status, int64_t rows,
                       sl_error *err);

/* Group the writes that follow, up to sl_state_batch_end, into one transaction: one sync to disk
 * instead of one per write (a snapshot preparing thousands of tables). Only writes that take
 * no transaction of their own may run inside (the ones that do, such as begin_snapshot, reset,
 * remember and rename, fail there). sl_state_batch_end commits what was written when rc is 0,
 * else rolls it back (the caller's step failed: none of it is recorded), and returns rc, or
 * the commit's error. One batch
 * at a time: another thread's sl_state_batch_begin waits; its single writes join the batch. */
int sl_state_batch_begin(sl_state *st, sl_error *err);
int sl_state_batch_end(sl_state *st, int rc, sl_error *err);

const char *sl_table_status_name(sl_table_status s);

/* Every table the pipeline has begun to load, by name, with what it knows of it: its source
 * identity (sl_table_def.identity) and whether it is gone from the source. */
typedef struct sl_state_table {
	char *name;
	sl_table_status status;
	int64_t rows;
	char *identity;  /* NULL when none was recorded */
	int64_t gone_at; /* unix seconds when the pipeline found it gone, or 0 */
	char gone[128];  /* why: "dropped on the source", "no longer selected" */
} sl_state_table;

int sl_state_tables(sl_state *st, sl_state_table **out, int *n, sl_error *err);
void sl_state_tables_free(sl_state_table *t, int n);
/* In one transaction, for tables names[0..n): their identities (when not NULL) and their
 * columns (sl_state_columns_set) unless some are kept already. */
int sl_state_remember(sl_state *st, const char *const *names, const char *const *identities,
                      const char *const *columns, int n, sl_error *err);
/* The table's columns as its target table has them, by their source ids (sl_field.source_id):
 * "ID NAME" lines, so a column renamed on the source is renamed on the target. NULL when none
 * is kept (the caller frees it). */
int sl_state_columns_set(sl_state *st, const char *table, const char *columns, sl_error *err);
int sl_state_columns_get(sl_state *st, const char *table, char **columns, sl_error *err);
/* Record that the table is gone from the source (why: a short phrase), or back (why NULL). */
int sl_state_gone_set(sl_state *st, const char *table, const char *why, sl_error *err);
/* The source renamed table `from` to `to`: everything kept under the old name moves to the new
 * one, in one transaction (a row already kept under the new name wins). */
int sl_state_rename(sl_state *st, const char *from, const char *to, sl_error *err);

/* The target table name chosen for source table `table` (for targets whose names depend on
 * the other tables selected: kept so that a table keeps its name when they change). */
int sl_state_target_name_set(sl_state *st, const char *table, const char *name, sl_error *err);
int sl_state_target_name_get(sl_state *st, const char *table, char *buf, size_t n, bool *found,
                             sl_error *err);

/* The convergence point: after a resumed snapshot, the reloaded tables were read from snapshots
 * newer than the consistent point, so changes up to this source version may find their row
 * already gone on the target (it is deleted later in the stream). After it, a change whose row
 * is missing means the target diverged. 0: none. */
int sl_state_converge_set(sl_state *st, uint64_t version, sl_error *err);
int sl_state_converge_get(sl_state *st, uint64_t *version, sl_error *err);

/* The CDC position a target without transactions of its own (ClickHouse) has applied, written
 * after the target acknowledged the data. `epoch` names the snapshot generation: a position
 * recorded under another epoch is not found. */
typedef struct sl_state_position {
	bool found;
	char position[SL_POSITION_MAX];
	uint64_t version;
	int64_t commit_us;
	int64_t applied_us;
} sl_state_position;

int sl_state_position_get(sl_state *st, const char *epoch, sl_state_position *out, sl_error *err);
int sl_state_position_set(sl_state *st, const char *epoch, const sl_state_position *p,
                          sl_error *err);

/* The source.tables.columns rules a table's target rows were written under
 * (sl_columns_fingerprint); *fingerprint NULL when none is kept (the caller frees it). */
int sl_state_rules_set(sl_state *st, const char *table, const char *fingerprint, sl_error *err);
int sl_state_rules_get(sl_state *st, const char *table, char **fingerprint, sl_error *err);

/* Backfills (core/backfill.h): tables to copy again while changes stream, requested by
 * `sluice resync` or by the run itself (tables new to the pipeline). `after` is the key the
 * copy has reached, as the source spells it (NULL: none yet); `gen` counts requests, so a new
 * request starts a backfill under way over. */
typedef enum sl_backfill_status {
	SL_BACKFILL_COPYING = 0, /* requested, or part copied */
	SL_BACKFILL_DONE = 1,
	SL_BACKFILL_FAILED = 2 /* see reason */
} sl_backfill_status;

typedef struct sl_backfill_row {
	char *name; /* the source table, "schema.name" */
	int64_t gen;
	char *after;
	int64_t rows; /* copied so far */
	sl_backfill_status status;
	char reason[256];
	int64_t requested_at, updated_at; /* unix seconds */
} sl_backfill_row;

int sl_state_backfill_request(sl_state *st, const char *table, sl_error *err);
/* Every backfill of the pipeline: copying ones first, oldest request first. */
int sl_state_backfill_list(sl_state *st, sl_backfill_row **out, int *n, sl_error *err);
/* Record b's after, rows, status and reason, if its generation is still the latest. */
int sl_state_backfill_progress(sl_state *st, const sl_backfill_row *b, sl_error *err);
void sl_backfill_rows_free(sl_backfill_row *rows, int n);
const char *sl_backfill_status_name(sl_backfill_status s);

#endif
