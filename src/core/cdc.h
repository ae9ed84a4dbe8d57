/* CDC apply loop: sessions of source change stream -> group commit -> target (see cdc.c). */
#ifndef SL_CDC_H
#define SL_CDC_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/catalog.h"
#include "core/config.h"
#include "core/error.h"
#include "core/source.h"
#include "core/target.h"

/* What the applier has made durable, for the caller's display. */
typedef struct sl_cdc_progress {
	/* when set, the apply loop writes the fields under it, for readers on other threads (the
	 * status API); it reads them without */
	pthread_mutex_t *mu;
	char position[SL_POSITION_MAX];
	int64_t commit_us;
	/* the stream had nothing more for 100 ms and everything received is committed: the lag
	 * is then none, however old the last commit */
	bool caught_up;
	/* the source commit time of the oldest transaction received and not yet committed on
	 * the target (0: none): the lag is counted from it */
	int64_t pending_us;
	/* between sessions (a connection lost, waiting to reconnect): the lag is then counted
	 * from the last applied commit, nothing newer being known */
	bool down;
} sl_cdc_progress;

typedef struct sl_cdc_params {
	const sl_config *cfg;
	const sl_source_ops *sops;
	const sl_target_ops *tops;
	sl_source *src;
	sl_target *tgt;
	const sl_catalog *cat;
	const char *epoch; /* the snapshot's consistent point: where CDC starts the first time */
	uint64_t converge_until; /* see sl_state_converge_get; handed to the target */
	bool once;               /* stop once caught up with the source's position at start */
	sl_cdc_progress *progress;
	sl_state *state; /* backfill requests and progress (NULL: no backfills) */
	/* set (by the caller's tick, or here) when change capture must start again with a new
	 * discovery: sl_cdc_run then returns 0 once what it applied is committed */
	volatile int *restart;
	void (*tick)(void *ctx); /* called from the apply loop after each message, and every 100 ms
	                            when idle */
	void *tick_ctx;
	/* the buffer (core/buffer.h), or NULL: with it the source side writes segments and the
	 * sessions here apply from them */
	struct sl_buffer *buffer;
	int64_t col_limit; /* 0: SL_COL_MAX_BYTES, what a pending batch column may hold; unit
	                      tests lower it to reach the cut without gigabytes */
	struct sl_metrics *metrics; /* the run's (core/metrics.h), or NULL */
} sl_cdc_params;

/* Stream until stopped (SIGINT/SIGTERM: graceful), caught up (once), or a non-retryable
 * error. */
int sl_cdc_run(const sl_cdc_params *p, sl_error *err);

#endif
