/* Following tables by their source identity: renames, tables gone, tables created again. */
#include "core/follow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"

char *sl_follow_columns(const sl_field *fields, int n)
{
	sl_buf b = {0};
	for (int i = 0; i < n; i++) {
		if (fields[i].source_id == 0)
			continue;
		sl_buf_printf(&b, "%d ", (int)fields[i].source_id);
		for (const char *p = fields[i].name; *p; p++) {
			if (*p == '\\')
				sl_buf_puts(&b, "\\\\");
			else if (*p == '\n')
				sl_buf_puts(&b, "\\n");
			else
				sl_buf_putc(&b, *p);
		}
		sl_buf_putc(&b, '\n');
	}
	if (b.len == 0)
		return NULL;
	sl_buf_putc(&b, '\0');
	return (char *)b.data;
}

char *sl_follow_column_name(const char *columns, int32_t id)
{
	for (const char *p = columns; p && *p;) {
		char *end;
		long v = strtol(p, &end, 10);
		const char *eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		if (end != p && *end == ' ' && v == id) {
			sl_buf b = {0};
			for (const char *q = end + 1; q < eol; q++) {
				if (*q == '\\' && q + 1 < eol) {
					q++;
					sl_buf_putc(&b, *q == 'n' ? '\n' : *q);
				} else {
					sl_buf_putc(&b, *q);
				}
			}
			sl_buf_putc(&b, '\0');
			return (char *)b.data;
		}
		p = *eol ? eol + 1 : eol;
	}
	return NULL;
}

static int follow_find(const sl_catalog *cat, const char *qualified)
{
	for (int i = 0; i < cat->ntables; i++)
		if (strcmp(cat->tables[i].qualified, qualified) == 0)
			return i;
	return -1;
}

static int follow_find_identity(const sl_catalog *cat, const char *identity)
{
	for (int i = 0; identity && i < cat->ntables; i++)
		if (cat->tables[i].identity && strcmp(cat->tables[i].identity, identity) == 0)
			return i;
	return -1;
}

sl_follow_kind sl_follow_classify(const sl_catalog *cat, const sl_state_table *row, int *now)
{
	int byname = follow_find(cat, row->name), byid = follow_find_identity(cat, row->identity);
	*now = -1;
	if (byname >= 0 &&
	    (row->identity == NULL || cat->tables[byname].identity == NULL || byname == byid)) {
		*now = byname;
		return SL_FOLLOW_SAME;
	}
	if (byid >= 0) {
		*now = byid;
		return SL_FOLLOW_RENAMED;
	}
	if (byname >= 0) {
		*now = byname;
		return SL_FOLLOW_RECREATED;
	}
	return SL_FOLLOW_GONE;
}

/* A view of cat in which table t has the name `qualified` (the caller frees it with
 * follow_view_free): what a target needs to find where t was loaded. */
static int follow_view(const sl_catalog *cat, int t, const char *qualified, sl_catalog *view,
                       sl_error *err)
{
	char *schema, *name;
	if (sl_unqualify(qualified, &schema, &name) < 0)
		return sl_error_set(err, SL_ERR_STATE,
		                    "state store: table name '%s' is not schema.name", qualified);
	*view = *cat;
	view->tables = sl_malloc(sizeof *view->tables * (size_t)cat->ntables);
	memcpy(view->tables, cat->tables, sizeof *view->tables * (size_t)cat->ntables);
	view->tables[t].schema = schema;
	view->tables[t].name = name;
	view->tables[t].qualified = sl_strdup(qualified);
	return 0;
}

static void follow_view_free(sl_catalog *view, int t)
{
	free(view->tables[t].schema);
	free(view->tables[t].name);
	free(view->tables[t].qualified);
	free(view->tables);
}

/* Rename where source table `from` landed on the target to where table t of cat lands now,
 * then everything the state keeps under `from`. */
static int follow_rename(const sl_target_ops *tops, sl_target *tgt, sl_state *st,
                         const sl_catalog *cat, int t, const char *from, sl_error *err)
{
	sl_catalog old;
	SL_TRY(follow_view(cat, t, from, &old, err));
	int rc = tops->rename(tgt, &old, cat, t, err);
	follow_view_free(&old, t);
	if (rc == 0)
		rc = sl_state_rename(st, from, cat->tables[t].qualified, err);
	return rc;
}

int sl_follow_rename(const sl_target_ops *tops, sl_target *tgt, sl_state *st, const sl_catalog *cat,
                     int t, const char *from, const char *to, sl_error *err)
{
	sl_catalog now;
	SL_TRY(follow_view(cat, t, to, &now, err));
	int rc = follow_rename(tops, tgt, st, &now, t, from, err);
	follow_view_free(&now, t);
	return rc;
}

/* The target table of `row`, whose source table was dropped and another created under its
 * name (table t of cat), is kept under a new name: NAME_dropped_YYYYMMDDHHMMSS. */
static int follow_set_aside(const sl_target_ops *tops, sl_target *tgt, sl_state *st,
                            const sl_catalog *cat, int t, const sl_state_table *row, sl_error *err)
{
	const sl_table_def *td = &cat->tables[t];
	char stamp[32], *aside_name;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
	size_t n = strlen(td->name) + strlen(stamp) + 16;
	aside_name = sl_malloc(n);
	snprintf(aside_name, n, "%s_dropped_%s", td->name, stamp);
	char *aside = sl_qualify(td->schema, aside_name);
	sl_catalog view;
	int rc = follow_view(cat, t, aside, &view, err);
	if (rc == 0) {
		/* from where `row` landed (t's name now) to the new name */
		rc = tops->rename(tgt, cat, &view, t, err);
		follow_view_free(&view, t);
	}
	char why[128];
	snprintf(why, sizeof why, "dropped on the source and created again as %.80s",
	         td->qualified);
	if (rc == 0)
		rc = sl_state_rename(st, row->name, aside, err);
	if (rc == 0)
		rc = sl_state_gone_set(st, aside, why, err);
	if (rc == 0)
		sl_warn("table %s was dropped on the source and created again under its name: "
		        "the target rows of the table dropped are kept under the name %s",
		        row->name, aside_name);
	free(aside);
	free(aside_name);
	return rc;
}

int sl_follow_apply(const sl_config *cfg, const sl_target_ops *tops, sl_target *tgt, sl_state *st,
                    const sl_catalog *cat, sl_error *err)
{
	sl_state_table *rows;
	int n, rc = 0;
	SL_TRY(sl_state_tables(st, &rows, &n, err));
	int *kind = sl_calloc((size_t)(n ? n : 1), sizeof *kind);
	int *now = sl_calloc((size_t)(n ? n : 1), sizeof *now);
	bool *done = sl_calloc((size_t)(n ? n : 1), sizeof *done);
	for (int i = 0; i < n; i++)
		kind[i] = sl_follow_classify(cat, &rows[i], &now[i]);

	/* first make room: a name taken by a table created again, or wanted by a rename, whose
	 * old table is gone */
	for (int i = 0; i < n && rc == 0; i++) {
		if (kind[i] != SL_FOLLOW_RECREATED || rows[i].status == SL_TABLE_PENDING)
			continue;
		rc = follow_set_aside(tops, tgt, st, cat, now[i], &rows[i], err);
		done[i] = true;
	}
	/* renames, each once its new name is free (a chain a -> b -> c renames b first) */
	for (bool moved = true; rc == 0 && moved;) {
		moved = false;
		for (int i = 0; i < n && rc == 0; i++) {
			if (kind[i] != SL_FOLLOW_RENAMED || done[i])
				continue;
			const char *to = cat->tables[now[i]].qualified;
			bool blocked = false;
			for (int k = 0; k < n; k++)
				blocked |= k != i && !done[k] && kind[k] == SL_FOLLOW_RENAMED &&
				           strcmp(rows[k].name, to) == 0;
			if (blocked)
				continue;
			if (rows[i].status == SL_TABLE_PENDING) /* nothing on the target yet */
				rc = sl_state_rename(st, rows[i].name, to, err);
			else
				rc = follow_rename(tops, tgt, st, cat, now[i], rows[i].name, err);
			if (rc == 0)
				sl_info("table %s was renamed to %s on the source: its target "
				        "table "
				        "follows",
				        rows[i].name, to);
			done[i] = moved = true;
		}
	}
	for (int i = 0; i < n && rc == 0; i++)
		if (kind[i] == SL_FOLLOW_RENAMED && !done[i])
			rc = sl_error_set(
			        err, SL_ERR_STATE,
			        "tables %s and %s swapped names on the source while sluice "
			        "was stopped; sluice cannot follow that: give one of them "
			        "another name on the source, run, then rename it",
			        rows[i].name, cat->tables[now[i]].qualified);
	/* gone: kept on the target as they are */
	for (int i = 0; i < n && rc == 0; i++) {
		if (kind[i] == SL_FOLLOW_SAME && rows[i].gone_at) {
			sl_info("table %s is on the source again", rows[i].name);
			rc = sl_state_gone_set(st, rows[i].name, NULL, err);
		}
		if (kind[i] != SL_FOLLOW_GONE || done[i] || rows[i].gone_at)
			continue;
		const sl_globs none = {0};
		bool selected =
		        sl_globs_select(&cfg->source.include, &cfg->source.exclude, rows[i].name) &&
		        sl_globs_select(&none, &cfg->source.exclude, rows[i].name);
		char *schema, *name;
		if (selected && cat->only_schema &&
		    sl_unqualify(rows[i].name, &schema, &name) == 0) {
			selected = strcmp(schema, cat->only_schema) == 0;
			free(schema);
			free(name);
		}
		const char *why = selected ? "dropped on the source" : "no longer selected";
		sl_warn("table %s is gone from the pipeline (%s): its target table is kept as it "
		        "is; verify reports it",
		        rows[i].name, why);
		rc = sl_state_gone_set(st, rows[i].name, why, err);
	}
	/* remember every table by its identity, loaded or about to be, and the columns of one
	 * not known yet (the columns a table has later are recorded as its changes apply) */
	int nt = cat->ntables;
	const char **names = sl_calloc((size_t)(nt ? nt : 1), sizeof *names);
	const char **ids = sl_calloc((size_t)(nt ? nt : 1), sizeof *ids);
	char **cols = sl_calloc((size_t)(nt ? nt : 1), sizeof *cols);
	for (int i = 0; i < nt; i++) {
		names[i] = cat->tables[i].qualified;
		ids[i] = cat->tables[i].identity;
		cols[i] = sl_follow_columns(cat->tables[i].fields, cat->tables[i].nfields);
	}
	if (rc == 0)
		rc = sl_state_remember(st, names, ids, (const char *const *)cols, nt, err);
	for (int i = 0; i < nt; i++)
		free(cols[i]);
	free(cols);
	free(names);
	free(ids);
	free(kind);
	free(now);
	free(done);
	sl_state_tables_free(rows, n);
	return rc;
}
