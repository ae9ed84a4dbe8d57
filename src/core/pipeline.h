/* A pipeline run: source + target + state, and the commands that act on all three. */
#ifndef SL_PIPELINE_H
#define SL_PIPELINE_H

#include <signal.h>
#include <stdbool.h>

#include "core/config.h"
#include "core/error.h"
#include "core/source.h"
#include "core/target.h"

/* Set by the signal handler; every long loop checks it and stops cleanly. */
extern volatile sig_atomic_t sl_stop_requested;

/* The connectors of the pipeline file's source and target types (from the registries), with
 * every key of both sections checked against the shared ones and the connector's own: an
 * unknown type or key is an error naming what is supported. */
int sl_pipeline_connectors(const sl_config *cfg, const sl_source_ops **sops,
                           const sl_target_ops **tops, sl_error *err);

/* Snapshot every selected table not yet loaded (resuming an interrupted snapshot), then stream
 * changes until stopped (once: until caught up with the source's position at start). */
int sl_pipeline_run(const sl_config *cfg, bool once, sl_error *err);
/* Preflight: prints one line per check to stdout; returns the number of failed checks or < 0. */
int sl_pipeline_check(const sl_config *cfg, sl_error *err);
/* Prints tables, keys and each column's source, Arrow and target types to stdout. */
int sl_pipeline_discover(const sl_config *cfg, sl_error *err);
/* Compares every selected table's row count and content digest on source and target.
 * Returns SL_ERR_MISMATCH when any table differs. */
int sl_pipeline_verify(const sl_config *cfg, sl_error *err);
/* Prints the state: consistent point, snapshot progress per table. */
int sl_pipeline_status(const sl_config *cfg, sl_error *err);
/* Forget the pipeline: drop its replication slot and its state (target data is kept). */
int sl_pipeline_reset(const sl_config *cfg, sl_error *err);
/* Ask for tables (qualified names) to be copied again while the pipeline streams
 * (core/backfill.h): all requests or none. */
int sl_pipeline_resync(const sl_config *cfg, char *const *tables, int ntables, sl_error *err);

#endif
