/* Foreign-key action plans (see fkeys.h). */
#include "core/fkeys.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define FK_MAX_DEPTH 15 /* InnoDB refuses deeper cascades */

struct fk_build {
	const sl_catalog *cat;
	int *child, *parent; /* per foreign key: catalog indexes, -1 when not selected */
	bool *usable;        /* per foreign key: its columns are replicated as they are */
	char **problems;     /* per foreign key: what keeps its actions from being done */
	sl_fk_plan *plan;
};

static void fk_plan_free(sl_fk_plan *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->nsteps; i++) {
		free(p->steps[i].chain);
		free(p->steps[i].from);
	}
	free(p->steps);
	free(p->cols);
	free(p->reads);
	free(p);
}

/* Whether column `name` of table t is replicated with its values as they are. */
static bool fk_column_plain(const sl_table_def *td, const char *name)
{
	for (int i = 0; i < td->nfields; i++)
		if (strcmp(td->fields[i].name, name) == 0)
			return td->masks == NULL || td->masks[i] == SL_MASK_NONE;
	return false;
}

static void fk_problem(struct fk_build *b, int k, const char *fmt, ...)
{
	if (b->problems == NULL || b->problems[k] != NULL)
		return;
	const sl_foreign_key *fk = &b->cat->fks[k];
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	char line[1024];
	snprintf(line, sizeof line,
	         "%s -> %s (%s): %s, so sluice cannot do its ON DELETE / ON UPDATE actions on "
	         "the target and %s may differ from the source there (compare with 'sluice "
	         "verify'; 'sluice resync %s' copies it again)",
	         fk->child, fk->parent, fk->name, why, fk->child, fk->child);
	b->problems[k] = sl_strdup(line);
}

static void fk_add_step(struct fk_build *b, sl_fk_step_kind kind, const int *chain, int n,
                        const char **from, bool to_null)
{
	sl_fk_plan *p = b->plan;
	p->steps = sl_realloc(p->steps, sizeof *p->steps * (size_t)(p->nsteps + 1));
	sl_fk_step *s = &p->steps[p->nsteps++];
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->chain = sl_calloc((size_t)n, sizeof *s->chain);
	for (int i = 0; i < n; i++) {
		s->chain[i] = &b->cat->fks[chain[i]];
		p->reads[b->child[chain[i]]] = true;
	}
	s->nchain = n;
	s->table = b->child[chain[n - 1]];
	if (from) {
		const sl_foreign_key *last = s->chain[n - 1];
		s->from = sl_calloc((size_t)last->ncols, sizeof *s->from);
		memcpy(s->from, from, sizeof *s->from * (size_t)last->ncols);
		for (int c = 0; c < last->ncols; c++) {
			bool listed = false;
			for (int j = 0; j < p->ncols; j++)
				listed |= strcmp(p->cols[j], from[c]) == 0;
			if (!listed) {
				p->cols = sl_realloc(p->cols,
				                     sizeof *p->cols * (size_t)(p->ncols + 1));
				p->cols[p->ncols++] = from[c];
			}
		}
	}
	s->to_null = to_null;
}

/* Whether a column of `cols` (n names) is referenced by a foreign key with an ON UPDATE
 * action; its index, or -1. */
static int fk_referenced(struct fk_build *b, int table, char *const *cols, int n)
{
	for (int k = 0; k < b->cat->nfks; k++) {
		const sl_foreign_key *g = &b->cat->fks[k];
		if (b->parent[k] != table || b->child[k] < 0 || g->on_update == SL_FK_NO_ACTION)
			continue;
		for (int i = 0; i < g->ncols; i++)
			for (int j = 0; j < n; j++)
				if (strcmp(g->parent_cols[i], cols[j]) == 0)
					return k;
	}
	return -1;
}

/* The ON DELETE actions below the rows of table `t` the chain deletes (post-order: the
 * deepest steps first). */
static void fk_walk_delete(struct fk_build *b, int t, int *chain, int depth)
{
	for (int k = 0; k < b->cat->nfks; k++) {
		const sl_foreign_key *fk = &b->cat->fks[k];
		if (b->parent[k] != t || b->child[k] < 0 || fk->on_delete == SL_FK_NO_ACTION)
			continue;
		if (!b->usable[k])
			continue;
		bool loop = b->child[k] == t;
		for (int i = 0; i < depth; i++)
			loop |= b->parent[chain[i]] == b->child[k];
		if (loop && fk->on_delete == SL_FK_CASCADE) {
			fk_problem(b, k,
			           "it deletes rows of a table whose deletes cascade back to it "
			           "(a cycle sluice does not follow)");
			continue;
		}
		if (depth + 1 > FK_MAX_DEPTH) {
			fk_problem(b, k, "its cascade is more than %d levels deep", FK_MAX_DEPTH);
			continue;
		}
		chain[depth] = k;
		if (fk->on_delete == SL_FK_CASCADE) {
			fk_walk_delete(b, b->child[k], chain, depth + 1);
			fk_add_step(b, SL_FKS_DELETE, chain, depth + 1, NULL, false);
		} else {
			int g = fk_referenced(b, b->child[k], fk->child_cols, fk->ncols);
			if (g >= 0)
				fk_problem(
				        b, g,
				        "the columns it references are set to NULL by %s's ON "
				        "DELETE SET NULL, whose ON UPDATE action sluice does not "
				        "pass on",
				        fk->name);
			fk_add_step(b, SL_FKS_SET_NULL, chain, depth + 1, NULL, false);
		}
	}
}

/* The ON UPDATE actions of the rows of table `t` whose columns cols[c] took the plan table's
 * columns from[c] (n of them), passed on to the tables referencing them. */
static void fk_walk_update(struct fk_build *b, int t, char *const *cols, const char **from, int n,
                           bool to_null, int *chain, int depth)
{
	for (int k = 0; k < b->cat->nfks; k++) {
		const sl_foreign_key *fk = &b->cat->fks[k];
		if (b->parent[k] != t || b->child[k] < 0 || fk->on_update == SL_FK_NO_ACTION ||
		    !b->usable[k])
			continue;
		/* each referenced column must be one that changed, or none of them */
		const char **map = sl_calloc((size_t)fk->ncols, sizeof *map);
		int found = 0;
		for (int i = 0; i < fk->ncols; i++)
			for (int j = 0; j < n; j++)
				if (strcmp(fk->parent_cols[i], cols[j]) == 0) {
					map[i] = from[j];
					found++;
				}
		bool loop = false;
		for (int i = 0; i < depth; i++)
			loop |= chain[i] == k;
		if (found > 0 && found < fk->ncols)
			fk_problem(b, k,
			           "only some of the columns it references change with the "
			           "columns they reference in turn");
		else if (found > 0 && !loop && depth + 1 > FK_MAX_DEPTH)
			fk_problem(b, k, "its cascade is more than %d levels deep", FK_MAX_DEPTH);
		else if (found > 0 && !loop) {
			chain[depth] = k;
			bool null = to_null || fk->on_update == SL_FK_SET_NULL;
			fk_add_step(b, SL_FKS_UPDATE, chain, depth + 1, map, null);
			fk_walk_update(b, b->child[k], fk->child_cols, map, fk->ncols, null, chain,
			               depth + 1);
		}
		free(map);
	}
}

sl_fk_plan **sl_fk_plans_build(const sl_catalog *cat, bool keyed_only, char ***problems)
{
	if (problems)
		*problems = sl_calloc((size_t)(cat->nfks ? cat->nfks : 1), sizeof **problems);
	sl_fk_plan **plans = sl_calloc((size_t)(cat->ntables ? cat->ntables : 1), sizeof *plans);
	if (cat->nfks == 0)
		return plans;
	struct fk_build b = {.cat = cat, .problems = problems ? *problems : NULL};
	int n = cat->nfks;
	b.child = sl_calloc((size_t)n, sizeof *b.child);
	b.parent = sl_calloc((size_t)n, sizeof *b.parent);
	b.usable = sl_calloc((size_t)n, sizeof *b.usable);
	for (int k = 0; k < n; k++) {
		const sl_foreign_key *fk = &cat->fks[k];
		b.child[k] = sl_catalog_find(cat, fk->child);
		b.parent[k] = sl_catalog_find(cat, fk->parent);
		if (b.child[k] < 0)
			continue;
		if (b.parent[k] < 0) {
			fk_problem(&b, k,
			           "its parent table is not selected, so its deletes and updates "
			           "never reach the pipeline");
			continue;
		}
		const sl_table_def *c = &cat->tables[b.child[k]], *p = &cat->tables[b.parent[k]];
		if (keyed_only && c->nkey == 0 &&
		    (fk->on_delete == SL_FK_SET_NULL || fk->on_update != SL_FK_NO_ACTION)) {
			fk_problem(&b, k,
			           "the target cannot change rows of a table without a primary key "
			           "(it finds them by their values)");
			continue;
		}
		b.usable[k] = true;
		for (int i = 0; i < fk->ncols && b.usable[k]; i++) {
			bool child = !fk_column_plain(c, fk->child_cols[i]);
			if (child || !fk_column_plain(p, fk->parent_cols[i])) {
				fk_problem(
				        &b, k,
				        "column %s.%s is not replicated as it is (left out, masked "
				        "or of a type skipped)",
				        child ? fk->child : fk->parent,
				        child ? fk->child_cols[i] : fk->parent_cols[i]);
				b.usable[k] = false;
			}
		}
	}
	int chain[FK_MAX_DEPTH + 1];
	for (int t = 0; t < cat->ntables; t++) {
		sl_fk_plan *p = sl_calloc(1, sizeof *p);
		p->reads = sl_calloc((size_t)cat->ntables, sizeof *p->reads);
		b.plan = p;
		fk_walk_delete(&b, t, chain, 0);
		p->ndelete = p->nsteps;
		/* the plan table's own columns, as the first link's "from" */
		for (int k = 0; k < n; k++) {
			const sl_foreign_key *fk = &cat->fks[k];
			if (b.parent[k] != t || b.child[k] < 0 ||
			    fk->on_update == SL_FK_NO_ACTION || !b.usable[k])
				continue;
			const char **from = sl_calloc((size_t)fk->ncols, sizeof *from);
			for (int i = 0; i < fk->ncols; i++)
				from[i] = fk->parent_cols[i];
			chain[0] = k;
			bool null = fk->on_update == SL_FK_SET_NULL;
			fk_add_step(&b, SL_FKS_UPDATE, chain, 1, from, null);
			fk_walk_update(&b, b.child[k], fk->child_cols, from, fk->ncols, null, chain,
			               1);
			free(from);
		}
		if (p->nsteps == 0) {
			fk_plan_free(p);
			continue;
		}
		plans[t] = p;
	}
	free(b.child);
	free(b.parent);
	free(b.usable);
	return plans;
}

void sl_fk_plans_free(sl_fk_plan **plans, int ntables)
{
	if (plans == NULL)
		return;
	for (int t = 0; t < ntables; t++)
		fk_plan_free(plans[t]);
	free(plans);
}
