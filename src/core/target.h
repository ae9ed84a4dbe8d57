/* The target interface: what the pipeline asks of every target engine.
 *
 * prepare creates what a table needs (schemas, types, the table without secondary structures)
 * and empties tables that must be reloaded; writers (one per parallel lane, one thread each)
 * load chunks; finish_table adds the primary key after the bulk load. */
#ifndef SL_TARGET_H
#define SL_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/state.h"
#include "core/batch.h"
#include "core/catalog.h"
#include "core/config.h"
#include "core/error.h"
#include "core/handle.h"
#include "core/fkeys.h"
#include "core/source.h"

typedef struct sl_target sl_target;
typedef struct sl_writer sl_writer;
typedef struct sl_applier sl_applier;

/* The position a target has durably applied (CDC). */
typedef struct sl_durable {
	bool found;
	char position[SL_POSITION_MAX];
	uint64_t version;
	int64_t commit_us;  /* source commit time of the last applied transaction */
	int64_t applied_us; /* when the target committed it */
} sl_durable;

typedef struct sl_target_ops {
	const char *type;
	/* the connector's own keys in the target section (see sl_source_ops.options) */
	const char *const *options;
	bool url_optional;     /* target.url may be left out (the connector derives it) */
	bool lists_never_null; /* a NULL list lands as an empty one (verify counts them equal) */
	bool specials_null;    /* a decimal NaN/Infinity lands as NULL (verify counts them) */
	bool arrays_flat;      /* an array with more than one dimension or a lower bound other
	                        * than 1 lands as its elements in row-major order (verify counts
	                        * them) */
	/* The largest snapshot chunk the target takes, in source bytes (0: any): a target that
	 * holds a chunk's load in memory caps snapshot.chunk_size with it */
	int64_t max_chunk_bytes;
	int (*open)(const sl_config *cfg, sl_target **out, sl_error *err);
	void (*close)(sl_target *tgt);
	int (*check)(sl_target *tgt, sl_check_fn report, void *ctx);
	/* Create table t (and what it needs) when missing. `reload` says the table's earlier load
	 * is incomplete and must be emptied; a table that exists with rows and is not being
	 * reloaded is an error (sluice never overwrites data it did not write). */
	int (*prepare)(sl_target *tgt, const sl_catalog *cat, int t, bool reload, sl_error *err);
	/* Optional: the prepare calls between prepare_batch(true) and prepare_batch(false) may
	 * leave their work to be made durable by the second call (which the core makes before it
	 * writes anything anywhere else, also after a failed prepare): many tables cost one sync
	 * to disk, not one each. */
	int (*prepare_batch)(sl_target *tgt, bool begin, sl_error *err);
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
	/* Optional, both or neither: after writer_defer, what the writer commits (load_end,
	 * finish_table) may be made durable only by the next writer_sync; the caller records a
	 * table as loaded only after that. Small tables then cost one sync to disk per batch
	 * of tables rather than one or two each. */
	int (*writer_defer)(sl_writer *w, sl_error *err);
	int (*writer_sync)(sl_writer *w, sl_error *err);
	/* Interrupt whatever the writer is running (called from another thread). */
	void (*writer_cancel)(sl_writer *w);
	void (*writer_close)(sl_writer *w);
	int (*digest)(sl_target *tgt, const sl_catalog *cat, int t, sl_digest *d, sl_error *err);
	/* The source renamed table t: in `old_cat` (cat with table t under the schema and name
	 * it had) it lands where it was loaded. Rename the target table to the name t gets now,
	 * keeping its rows. Already done (the old table gone, the new one there) is success; a
	 * target table already holding the new name is an error naming it. */
	int (*rename)(sl_target *tgt, const sl_catalog *old_cat, const sl_catalog *cat, int t,
	              sl_error *err);

	/* CDC apply (one applier, one thread). `epoch` names the snapshot generation (its
	 * consistent point): a durable position recorded under another epoch is ignored.
	 * apply_open reports the durable position. Then, inside one target transaction begun
	 * on first use: apply_shape (the table's columns from now on; DDL as needed),
	 * apply_changes (collapsed changes: at most one live row per key; rows whose bit is set
	 * in `dead` are skipped), apply_truncate (version: its transaction's BEGIN version);
	 * apply_commit stores the position of `commit`
	 * in the same transaction and commits. apply_rollback abandons the transaction.
	 * A change that needs its row on the target (an update leaving columns unchanged, a key
	 * change) and does not find it is an error naming the table, unless its transaction's
	 * version is at most `converge_until` (sl_state_converge_get: rows of tables reloaded
	 * by a resumed snapshot may already be gone). */
	int (*apply_open)(sl_target *tgt, const sl_catalog *cat, const char *epoch,
	                  uint64_t converge_until, sl_applier **out, sl_durable *durable,
	                  sl_error *err);
	/* *stale: set when rows the target holds cannot get the values the source's rows have
	 * for a column added (a default without a stored value, or one the target has no form
	 * of); the core then copies the table again where the source can (core/backfill.h) */
	int (*apply_shape)(sl_applier *a, int t, sl_shape *shape, bool *stale, sl_error *err);
	int (*apply_changes)(sl_applier *a, const sl_changes *c, const uint8_t *dead,
	                     sl_error *err);
	int (*apply_truncate)(sl_applier *a, int t, uint64_t version, sl_error *err);
	/* Foreign-key actions the source did without logging the rows they changed
	 * (core/fkeys.h): `rows` are rows of table rows->table, in order, deleted (DELETE: the
	 * old image) or updated (KEYREF: the old image; the UPSERT after it, whose pair names
	 * it: the new one). Do plan's steps for them: steps[0..ndelete) for the deleted rows,
	 * the rest for the updated ones, in that order. The changes before them to the tables
	 * the steps read are applied already. NULL: the target cannot (warned). */
	int (*apply_actions)(sl_applier *a, const sl_changes *rows, const sl_fk_plan *plan,
	                     sl_error *err);
	/* apply_actions deletes the rows of a child table without a primary key but cannot
	 * change them (it finds such rows by their values) */
	bool actions_keyed_only;
	int (*apply_commit)(sl_applier *a, const sl_msg *commit, sl_error *err);
	void (*apply_rollback)(sl_applier *a);
	void (*apply_cancel)(sl_applier *a); /* from another thread */
	void (*apply_close)(sl_applier *a);
	/* The durable position, for status (no applier needed). */
	int (*durable)(sl_target *tgt, const char *epoch, sl_durable *out, sl_error *err);
} sl_target_ops;

/* The registry (targets/target.c), as for sources. */
const sl_target_ops *sl_target_lookup(const char *type);
const char *sl_target_types(void);

#endif
