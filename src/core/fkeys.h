/* Foreign-key actions the source performs without logging the rows they change
 * (sl_catalog.fks: InnoDB's ON DELETE and ON UPDATE actions). For each parent table, a plan:
 * the steps that do on the target what deleting one of its rows, or changing the columns a
 * foreign key references, did on the source to the rows that reference it, transitively.
 *
 * Deleted parent rows: ON DELETE CASCADE deletes the rows that reference them, whose own
 * children then get their ON DELETE actions; ON DELETE SET NULL sets the referencing columns
 * to NULL. The steps run deepest first: each selects its rows through the chain of cascaded
 * deletes above it while those rows are still on the target.
 *
 * Updated parent rows (the referenced columns changed): ON UPDATE CASCADE gives the
 * referencing rows the new values, SET NULL sets them to NULL; a child whose changed columns
 * are themselves referenced passes the change on. Every update step selects by the parent's
 * old values and takes its new ones, column for column.
 *
 * What cannot be done that way is said once per foreign key (sl_fk_plans_build's problems):
 * the parent not selected (its deletes never reach the pipeline), referencing or referenced
 * columns not replicated or masked, a table cascading deletes to itself, chains deeper than
 * InnoDB's 15, a SET NULL whose nulled columns are referenced in turn. */
#ifndef SL_FKEYS_H
#define SL_FKEYS_H

#include <stdbool.h>

#include "core/catalog.h"

typedef enum sl_fk_step_kind {
	SL_FKS_DELETE,   /* delete the selected rows */
	SL_FKS_SET_NULL, /* set the last link's child columns of the selected rows to NULL */
	SL_FKS_UPDATE    /* give the last link's child columns the parent's new values */
} sl_fk_step_kind;

typedef struct sl_fk_step {
	sl_fk_step_kind kind;
	int table; /* catalog index of the table whose rows change */
	/* The foreign keys from the parent down to `table`, outermost first (chain[0]'s parent
	 * is the plan's table, chain[nchain-1]'s child is `table`). DELETE and SET_NULL: every
	 * link but the last is a cascaded delete; the rows of a link's child are those whose
	 * child columns equal the parent columns of a row selected one link up, and the first
	 * link's parent rows are the deleted ones. */
	const sl_foreign_key **chain;
	int nchain;
	/* UPDATE: per child column of the last link, the plan table's column whose old value it
	 * is compared with and whose new value it takes (or NULL: to_null) */
	const char **from;
	bool to_null;
} sl_fk_step;

typedef struct sl_fk_plan {
	sl_fk_step *steps; /* steps[0..ndelete): for deleted rows; the rest: for updated ones */
	int nsteps, ndelete;
	/* the plan table's columns the update steps read: an update that changed none of them
	 * does nothing */
	const char **cols;
	int ncols;
	bool *reads; /* per catalog table: some step reads or changes its rows */
} sl_fk_plan;

/* One plan per table of cat (NULL where none of its rows' changes has an action); keyed_only:
 * the target cannot change rows of a table without a primary key, only delete them. When
 * problems is not NULL, *problems gets one entry per foreign key of cat: NULL when its
 * actions are in the plans, else one line saying why not (the caller frees each and the
 * array). */
sl_fk_plan **sl_fk_plans_build(const sl_catalog *cat, bool keyed_only, char ***problems);
void sl_fk_plans_free(sl_fk_plan **plans, int ntables);

#endif
