/* Following tables by their source identity (sl_table_def.identity) from one discovery to the
 * next: a table the pipeline loaded that is found under another name was renamed on the source,
 * so its target table is renamed and everything the state keeps under the old name moves to the
 * new one; a table no longer found is gone (dropped, or no longer selected) and its target table
 * is kept as it is; a table found under its name with another identity was dropped and created
 * again, so the target rows of the one dropped are kept under another name and the new one is
 * copied as a table new to the pipeline. */
#ifndef SL_FOLLOW_H
#define SL_FOLLOW_H

#include "core/catalog.h"
#include "core/config.h"
#include "core/error.h"
#include "core/state.h"
#include "core/target.h"

typedef enum sl_follow_kind {
	SL_FOLLOW_SAME = 0,  /* found under its name (*now: its catalog index) */
	SL_FOLLOW_RENAMED,   /* found by identity under another name (*now) */
	SL_FOLLOW_RECREATED, /* its name now holds another table (*now) */
	SL_FOLLOW_GONE       /* not found (*now: -1) */
} sl_follow_kind;

/* What became of the table `row` names, in a catalog discovered now. */
sl_follow_kind sl_follow_classify(const sl_catalog *cat, const sl_state_table *row, int *now);

/* The columns of fields[0..n) by source id, as the state keeps them ("ID NAME" lines, '\\'
 * and newlines in names escaped); NULL when no field has a source id. Caller frees. */
char *sl_follow_columns(const sl_field *fields, int n);
/* The name column `id` has in `columns` (sl_follow_columns), or NULL. Caller frees. */
char *sl_follow_column_name(const char *columns, int32_t id);

/* Table t of cat, loaded as `from` ("schema.name"), is called `to` on the source now: rename
 * its target table, then move everything the state keeps under `from` (a rename the change
 * log carried, applied where it has it). */
int sl_follow_rename(const sl_target_ops *tops, sl_target *tgt, sl_state *st, const sl_catalog *cat,
                     int t, const char *from, const char *to, sl_error *err);

/* Bring the target and the state in line with the catalog discovered now (renames, tables set
 * aside, tables gone or back) and record every catalog table's identity. */
int sl_follow_apply(const sl_config *cfg, const sl_target_ops *tops, sl_target *tgt, sl_state *st,
                    const sl_catalog *cat, sl_error *err);

#endif
