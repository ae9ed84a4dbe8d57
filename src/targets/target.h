/* The target interface: what the pipeline asks of every target engine.
 *
 * prepare creates what a table needs (schemas, types, the table without secondary structures)
 * and empties tables that must be reloaded; writers (one per parallel lane, one thread each)
 * load chunks; finish_table adds the primary key after the bulk load. */
#ifndef SL_TARGET_H
#define SL_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/batch.h"
#include "core/catalog.h"
#include "core/config.h"
#include "core/error.h"
#include "sources/source.h"

typedef struct sl_target sl_target;
typedef struct sl_writer sl_writer;

typedef struct sl_target_ops {
	const char *type;
	int (*open)(const sl_config *cfg, sl_target **out, sl_error *err);
	void (*close)(sl_target *tgt);
	int (*check)(sl_target *tgt, sl_check_fn report, void *ctx);
	/* Create table t (and what it needs) when missing. `reload` says the table's earlier load
	 * is incomplete and must be emptied; a table that exists with rows and is not being
	 * reloaded is an error (sluice never overwrites data it did not write). */
	int (*prepare)(sl_target *tgt, const sl_catalog *cat, int t, bool reload, sl_error *err);
	/* Name of table t on the target, for messages ("schema.name"). */
	const char *(*table_name)(sl_target *tgt, const sl_catalog *cat, int t, char *buf,
	                          size_t n);
	int (*writer_open)(sl_target *tgt, sl_writer **out, sl_error *err);
	int (*load_begin)(sl_writer *w, const sl_catalog *cat, int t, sl_error *err);
	int (*load_batch)(sl_writer *w, const sl_batch *b, sl_error *err);
	int (*load_end)(sl_writer *w, sl_error *err);
	void (*load_abort)(sl_writer *w);
	/* After every chunk of table t is loaded: add the primary key etc. */
	int (*finish_table)(sl_writer *w, const sl_catalog *cat, int t, sl_error *err);
	/* Interrupt whatever the writer is running (called from another thread). */
	void (*writer_cancel)(sl_writer *w);
	void (*writer_close)(sl_writer *w);
	int (*digest)(sl_target *tgt, const sl_catalog *cat, int t, int64_t *rows, uint64_t *hash,
	              sl_error *err);
} sl_target_ops;

const sl_target_ops *sl_target_lookup(const char *type);

#endif
