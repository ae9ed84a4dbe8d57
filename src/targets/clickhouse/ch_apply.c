/* ClickHouse target: applying changes (CDC).
 *
 * ClickHouse has no transactions, so exactly-once comes from idempotence: every row carries
 * _sluice_version, the version of its source transaction (position order), and the tables are
 * ReplacingMergeTree(_sluice_version): re-applying a group after a crash writes rows that
 * replace the first attempt's instead of adding to them. The position is saved in the state
 * store only after ClickHouse acknowledged every insert of the group.
 *
 * Keyed tables: one row per live change (the last per key, the applier collapsed them); a
 * DELETE is a tombstone row (_sluice_deleted = 1) with the key. An update that left TOASTed
 * columns unchanged (or a key change, MOVE) is completed with the values ClickHouse holds for
 * the (old) key, fetched with FINAL, so the row written is whole; no NULL or placeholder is
 * ever written for a value the source did not send.
 *
 * Keyless tables: a row's identity is (_sluice_origin, _sluice_seq), its source transaction's
 * version and its ordinal in it, the same however the stream is regrouped after a restart. A
 * DELETE finds a live row with the same values by _sluice_hash and writes its tombstone;
 * among equal rows it takes the one with the smallest identity that was live just before the
 * delete (rows deleted at or after the delete's own point count as live, so a replayed delete
 * picks the same row again).
 *
 * Schema changes: a new source column is added; a widened type is modified in place; a column
 * dropped on the source stays (made Nullable, so new rows hold NULL); anything else stops the
 * pipeline naming the table and column. TRUNCATE writes a tombstone for every live row. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/mem.h"
#include "targets/clickhouse/ch_target_int.h"

struct cha_table {
	sl_shape *shape;
	ch_col *cols; /* per shape field; type = what the ClickHouse column is */
	int ncols;
	int *keycols; /* shape indexes of the key */
	int nkey;
	sl_field *keyfields; /* shallow copies of the key fields (for key batches) */
	sl_buf insert_sql;
};

struct ch_applier {
	ch_target *tgt;
	const sl_catalog *cat;
	bool stale; /* apply_shape: rows held cannot get an added column's values */
	char *epoch;
	uint64_t converge_until; /* see apply_open */
	sl_ch_http *h;
	struct cha_table *tables;
	ch_meta meta;
	sl_buf block, q, resp;
};

static void cha_table_clear(struct cha_table *at)
{
	for (int i = 0; i < at->ncols; i++)
		sl_ch_codec_reset(&at->cols[i].codec);
	free(at->cols);
	free(at->keycols);
	free(at->keyfields);
	sl_buf_free(&at->insert_sql);
	sl_shape_unref(at->shape);
	memset(at, 0, sizeof *at);
}

void cha_close(sl_applier *handle)
{
	ch_applier *a = ch_applier_of(handle);
	if (a == NULL)
		return;
	for (int i = 0; a->tables && i < a->cat->ntables; i++)
		cha_table_clear(&a->tables[i]);
	free(a->tables);
	sl_ch_http_free(a->h);
	cht_meta_free(&a->meta);
	sl_buf_free(&a->block);
	sl_buf_free(&a->q);
	sl_buf_free(&a->resp);
	free(a->epoch);
	free(a);
}

int cha_durable(sl_target *handle, const char *epoch, sl_durable *out, sl_error *err)
{
	ch_target *tgt = ch_target_of(handle);
	memset(out, 0, sizeof *out);
	SL_TRY(cht_state(tgt, err));
	sl_state_position p;
	SL_TRY(sl_state_position_get(tgt->state, epoch, &p, err));
	out->found = p.found;
	snprintf(out->position, sizeof out->position, "%s", p.position);
	out->version = p.version;
	out->commit_us = p.commit_us;
	out->applied_us = p.applied_us;
	return 0;
}

int cha_open(sl_target *handle, const sl_catalog *cat, const char *epoch, uint64_t converge_until,
             sl_applier **out, sl_durable *durable, sl_error *err)
{
	ch_target *tgt = ch_target_of(handle);
	SL_TRY(cha_durable(handle, epoch, durable, err));
	ch_applier *a = sl_calloc(1, sizeof *a);
	a->converge_until = converge_until;
	a->tgt = tgt;
	a->cat = cat;
	a->epoch = sl_strdup(epoch);
	a->tables = sl_calloc((size_t)(cat->ntables ? cat->ntables : 1), sizeof *a->tables);
	a->h = sl_ch_http_new(&tgt->url, "target", tgt->gzip);
	*out = ch_applier_handle(a);
	return 0;
}

void cha_cancel(sl_applier *handle)
{
	ch_applier *a = ch_applier_of(handle);
	if (a)
		sl_ch_http_cancel(a->h);
}

void cha_rollback(sl_applier *handle)
{
	ch_applier *a = ch_applier_of(handle);
	/* nothing to undo: what was written is re-written identically when the group is
	 * applied again */
	(void)a;
}

int cha_commit(sl_applier *handle, const sl_msg *commit, sl_error *err)
{
	ch_applier *a = ch_applier_of(handle);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	sl_state_position p = {.found = true,
	                       .version = commit->version,
	                       .commit_us = commit->commit_us,
	                       .applied_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000};
	if (strlen(commit->position) >= sizeof p.position)
		return sl_error_set(
		        err, SL_ERR_STATE,
		        "target: the source position is longer than %zu bytes and cannot "
		        "be stored whole (it is never cut)",
		        sizeof p.position - 1);
	memcpy(p.position, commit->position, strlen(commit->position) + 1);
	return sl_state_position_set(a->tgt->state, a->epoch, &p, err);
}

/* ---------------------------------------------------------------- schema ---- */

/* The type inside Nullable(...), or the type itself. */
static const char *cha_base(const char *type, char *buf, size_t n)
{
	if (strncmp(type, "Nullable(", 9) == 0) {
		snprintf(buf, n, "%.*s", (int)strlen(type) - 10, type + 9);
		return buf;
	}
	return type;
}

static int cha_int_rank(const char *t, bool *is_unsigned)
{
	static const char *const names[] = {"Int8", "Int16", "Int32", "Int64"};
	*is_unsigned = t[0] == 'U';
	const char *s = *is_unsigned ? t + 1 : t;
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i + 1;
	return 0;
}

/* May a column of base type `have` become `want` in place without losing a value? */
static bool cha_widens(const char *have, const char *want)
{
	bool hu, wu;
	int hr = cha_int_rank(have, &hu), wr = cha_int_rank(want, &wu);
	if (hr && wr)
		return hu == wu ? wr > hr : (hu && !wu && wr > hr);
	if (strcmp(have, "Float32") == 0 && strcmp(want, "Float64") == 0)
		return true;
	int hp, hs, wp, ws;
	if (sscanf(have, "Decimal(%d, %d)", &hp, &hs) == 2 &&
	    sscanf(want, "Decimal(%d, %d)", &wp, &ws) == 2)
		return ws == hs && wp >= hp;
	return false;
}

static bool cha_is_meta(const char *name)
{
	return strncmp(name, "_sluice_", 8) == 0;
}

/* Bring the ClickHouse table in line with the shape; fill at->cols with what it holds. */
static int cha_evolve(ch_applier *a, int t, struct cha_table *at, const sl_shape *shape,
                      sl_error *err)
{
	ch_target *tgt = a->tgt;
	struct ch_table *tt = &tgt->tables[t];
	const sl_table_def *td = &a->cat->tables[t];
	char **names, **types;
	int n;
	SL_TRY(cht_columns(tgt, a->h, tt->name, &names, &types, &n, err));
	int rc = 0;
	if (n == 0) {
		rc = sl_error_set(err, SL_ERR_STATE,
		                  "target table %s is missing (was it dropped? run `sluice reset` "
		                  "and start again to reload it)",
		                  tt->display);
		goto out;
	}
	for (int i = 0; i < shape->nfields && rc == 0; i++) {
		const sl_field *f = &shape->fields[i];
		bool key = false;
		for (int k = 0; k < td->nkey; k++)
			key |= strcmp(td->fields[td->key[k]].name, f->name) == 0;
		ch_col *col = &at->cols[i];
		if (!cht_col_for(tgt, f, key, col))
			continue; /* kind 0: not replicated (warned at the snapshot) */
		int k = 0;
		while (k < n && strcmp(names[k], f->name) != 0)
			k++;
		sl_buf_reset(&a->q);
		bool nullable;
		char hb[200], wb[200];
		int was = 0;
		while (k == n && f->renamed_from && was < n &&
		       strcmp(names[was], f->renamed_from) != 0)
			was++;
		if (k == n && f->renamed_from && was < n && tgt->caps.rename_column) {
			sl_buf_printf(&a->q, "ALTER TABLE %s RENAME COLUMN ", tt->quoted);
			sl_ch_quote_ident(&a->q, f->renamed_from);
			sl_buf_puts(&a->q, " TO ");
			sl_ch_quote_ident(&a->q, f->name);
			rc = sl_ch_exec(a->h, sl_buf_cstr(&a->q), NULL, err);
			if (rc < 0)
				sl_error_wrap(err, "target: renaming column %s of %s",
				              f->renamed_from, tt->display);
			continue;
		}
		if (k == n && f->renamed_from && was < n) {
			/* no RENAME COLUMN before 20.4: the column is added, and its values come
			 * with a copy of the table */
			sl_info("target: column %s of %s was renamed to %s on the source; this "
			        "ClickHouse server cannot rename a column (20.4+), so %s is added "
			        "and the table copied again (%s is kept as it is)",
			        f->renamed_from, tt->display, f->name, f->name, f->renamed_from);
			a->stale = true;
		}
		if (k == n) {
			sl_buf_printf(&a->q, "ALTER TABLE %s ADD COLUMN ", tt->quoted);
			sl_ch_quote_ident(&a->q, f->name);
			sl_buf_printf(&a->q, " %s", col->type);
			/* the rows held read the value the source's rows have (their parts lack
			 * the column, so ClickHouse computes the default for them); every change
			 * written later carries the column */
			sl_buf lit = {0};
			bool fill = sl_ch_fill_literal(&col->codec, f, &lit);
			if (fill)
				sl_buf_printf(&a->q, " DEFAULT CAST(%s AS %s)", sl_buf_cstr(&lit),
				              col->type);
			a->stale |= !fill && (f->fill_missing || f->fill || f->fill_text);
			if (!fill && f->fill_missing)
				sl_warn("target: column %s added to %s was added on the source, "
				        "and the change log does not carry the values rows that "
				        "existed then hold (a volatile default or a rewrite, or a "
				        "source that never says): those rows hold the type's "
				        "default here until the table is copied again (a "
				        "streaming run starts that itself where the source can; "
				        "else 'sluice resync')",
				        f->name, tt->display);
			else if (!fill && (f->fill || f->fill_text))
				sl_warn("target: column %s added to %s: the rows already there get "
				        "no value for it (ClickHouse has no form of the source's "
				        "default '%s') until the table is copied again (a "
				        "streaming "
				        "run starts that itself where the source can; else 'sluice "
				        "resync')",
				        f->name, tt->display, f->fill_text ? f->fill_text : "?");
			sl_buf_free(&lit);
			sl_info("target: adding column %s %s to %s%s", f->name, col->type,
			        tt->display, fill ? "; rows held get its default" : "");
		} else if (cht_type_holds(types[k], col->type, &nullable)) {
			col->codec.nullable |= nullable;
			snprintf(col->type, sizeof col->type, "%s", types[k]);
			continue;
		} else if (!key && cha_widens(cha_base(types[k], hb, sizeof hb),
		                              cha_base(col->type, wb, sizeof wb))) {
			/* a new type, not only a larger precision: the source rewrote its rows,
			 * and ALTER TYPE ... USING may have changed their values unlogged */
			a->stale |=
			        strncmp(hb, "Decimal(", 8) != 0 || strncmp(wb, "Decimal(", 8) != 0;
			if (strncmp(types[k], "Nullable(", 9) == 0 && !col->codec.nullable) {
				/* stay Nullable: older rows may hold NULL */
				col->codec.nullable = true;
				snprintf(hb, sizeof hb, "Nullable(%s)", col->type);
				snprintf(col->type, sizeof col->type, "%s", hb);
			}
			sl_buf_printf(&a->q, "ALTER TABLE %s MODIFY COLUMN ", tt->quoted);
			sl_ch_quote_ident(&a->q, f->name);
			sl_buf_printf(&a->q, " %s", col->type);
			sl_info("target: widening column %s of %s from %s to %s", f->name,
			        tt->display, types[k], col->type);
		} else {
			rc = sl_error_set(err, SL_ERR_DATA,
			                  "column %s of %s changed type on the source: ClickHouse "
			                  "holds %s, the source now sends %s, which is not a "
			                  "widening sluice can apply in place (change the column "
			                  "back, or drop the target table and run `sluice reset`)",
			                  f->name, tt->display, types[k], col->type);
			break;
		}
		rc = sl_ch_exec(a->h, sl_buf_cstr(&a->q), NULL, err);
	}
	/* columns dropped on the source stay; new rows must hold NULL in them, not a default */
	for (int k = 0; k < n && rc == 0; k++) {
		if (cha_is_meta(names[k]) || sl_shape_find(shape, names[k]) >= 0 ||
		    strncmp(types[k], "Nullable(", 9) == 0 || strncmp(types[k], "Array(", 6) == 0)
			continue;
		bool key = false;
		for (int j = 0; j < td->nkey; j++)
			key |= strcmp(td->fields[td->key[j]].name, names[k]) == 0;
		if (key)
			continue;
		sl_buf_reset(&a->q);
		sl_buf_printf(&a->q, "ALTER TABLE %s MODIFY COLUMN ", tt->quoted);
		sl_ch_quote_ident(&a->q, names[k]);
		sl_buf_printf(&a->q, " Nullable(%s)", types[k]);
		sl_info("target: column %s of %s is no longer on the source; kept, Nullable",
		        names[k], tt->display);
		rc = sl_ch_exec(a->h, sl_buf_cstr(&a->q), NULL, err);
	}
out:
	cht_columns_free(names, types, n);
	return rc;
}

/* Whether table t is ordered by the shape's key columns (in any order); a table not there
 * yet counts as so (cha_evolve says it is missing). */
static int cha_sorted_by(ch_applier *a, int t, const sl_shape *shape, const int *key, int nkey,
                         bool *same, sl_error *err)
{
	struct ch_table *tt = &a->tgt->tables[t];
	sl_buf_reset(&a->q);
	sl_buf_puts(&a->q, "SELECT name FROM system.columns WHERE database = ");
	sl_ch_quote_string(&a->q, a->tgt->db);
	sl_buf_puts(&a->q, " AND table = ");
	sl_ch_quote_string(&a->q, tt->name);
	sl_buf_puts(&a->q, " AND is_in_sorting_key = 1 FORMAT TabSeparated");
	sl_buf_reset(&a->resp);
	SL_TRY(sl_ch_exec(a->h, sl_buf_cstr(&a->q), &a->resp, err));
	int n = 0, found = 0;
	char *p = (char *)sl_buf_cstr(&a->resp);
	while (*p) {
		char *name = cht_tsv_field(&p);
		if (cha_is_meta(name))
			continue;
		n++;
		for (int k = 0; k < nkey; k++)
			found += strcmp(shape->fields[key[k]].name, name) == 0;
	}
	*same = *a->resp.data == 0 || (n == nkey && found == nkey);
	return 0;
}

/* Table t is ordered by another key than the shape's, which ClickHouse cannot change in
 * place: a table ordered by the new key takes its place, holding the live rows (FINAL, not
 * deleted, at their versions): `<name>_sluice_rekey` is made and filled, then the two are
 * swapped by one RENAME and the old one dropped. Key columns the table holds as Nullable lose
 * it (the source's key has no NULL; 18.16 cannot order by a Nullable). A run killed before the
 * swap does it again from the start; one killed after the swap and before the group commits
 * replays changes made under the old key, which rebuild the table the other way, then this way
 * again. */
static int cha_rekey(ch_applier *a, int t, const sl_shape *shape, const int *key, int nkey,
                     sl_error *err)
{
	ch_target *tgt = a->tgt;
	struct ch_table *tt = &tgt->tables[t];
	char **names, **types;
	int n;
	SL_TRY(cht_columns(tgt, a->h, tt->name, &names, &types, &n, err));
	size_t ln = strlen(tt->name) + 16;
	char *rekey = sl_malloc(ln), *was = sl_malloc(ln);
	snprintf(rekey, ln, "%s_sluice_rekey", tt->name);
	snprintf(was, ln, "%s_sluice_was", tt->name);
	sl_buf qrekey = {0}, qwas = {0}, cols = {0}, sel = {0}, keys = {0}, plain = {0};
	sl_buf_printf(&qrekey, "%s.", tgt->qdb);
	sl_ch_quote_ident(&qrekey, rekey);
	sl_buf_printf(&qwas, "%s.", tgt->qdb);
	sl_ch_quote_ident(&qwas, was);
	for (int k = 0; k < nkey; k++) {
		sl_buf_puts(&keys, k ? ", " : "");
		sl_ch_quote_ident(&keys, shape->fields[key[k]].name);
		sl_buf_printf(&plain, "%s%s", k ? ", " : "", shape->fields[key[k]].name);
	}
	for (int i = 0; i < n; i++) {
		bool is_key = false;
		for (int k = 0; k < nkey; k++)
			is_key |= strcmp(shape->fields[key[k]].name, names[i]) == 0;
		bool strip = is_key && strncmp(types[i], "Nullable(", 9) == 0;
		sl_buf_puts(&cols, i ? ", " : "");
		sl_ch_quote_ident(&cols, names[i]);
		if (strip)
			sl_buf_printf(&cols, " %.*s", (int)strlen(types[i]) - 10, types[i] + 9);
		else
			sl_buf_printf(&cols, " %s", types[i]);
		sl_buf_puts(&sel, i ? ", " : "");
		sl_buf_puts(&sel, strip ? "assumeNotNull(" : "");
		sl_ch_quote_ident(&sel, names[i]);
		sl_buf_puts(&sel, strip ? ")" : "");
	}
	/* the steps, in order: a leftover of a run killed midway goes first */
	enum { NSTEPS = 6 };
	sl_buf step[NSTEPS] = {{0}};
	const char *nk = sl_buf_cstr(&qrekey), *was_q = sl_buf_cstr(&qwas);
	sl_buf_printf(&step[0], "DROP TABLE IF EXISTS %s", nk);
	sl_buf_printf(&step[1],
	              "CREATE TABLE %s (%s) ENGINE = ReplacingMergeTree(_sluice_version) "
	              "ORDER BY (%s)%s",
	              nk, sl_buf_cstr(&cols), sl_buf_cstr(&keys),
	              tgt->fsync ? " SETTINGS fsync_after_insert = 1, fsync_part_directory = 1"
	                         : "");
	sl_buf_printf(&step[2], "INSERT INTO %s SELECT %s FROM %s FINAL WHERE _sluice_deleted = 0",
	              nk, sl_buf_cstr(&sel), tt->quoted);
	sl_buf_printf(&step[3], "DROP TABLE IF EXISTS %s", was_q);
	sl_buf_printf(&step[4], "RENAME TABLE %s TO %s, %s TO %s", tt->quoted, was_q, nk,
	              tt->quoted);
	sl_buf_printf(&step[5], "DROP TABLE %s", was_q);
	int rc = 0;
	for (int i = 0; i < NSTEPS && rc == 0; i++)
		rc = sl_ch_exec(a->h, sl_buf_cstr(&step[i]), NULL, err);
	for (int i = 0; i < NSTEPS; i++)
		sl_buf_free(&step[i]);
	if (rc < 0)
		sl_error_wrap(err, "target: rebuilding %s ordered by its new key (%s)", tt->display,
		              sl_buf_cstr(&plain));
	else
		sl_info("target: %s: primary key changed on the source: now (%s); the table is "
		        "rebuilt ordered by it",
		        tt->display, sl_buf_cstr(&plain));
	cht_columns_free(names, types, n);
	free(rekey);
	free(was);
	sl_buf_free(&qrekey);
	sl_buf_free(&qwas);
	sl_buf_free(&cols);
	sl_buf_free(&sel);
	sl_buf_free(&keys);
	sl_buf_free(&plain);
	return rc;
}

int cha_shape(sl_applier *handle, int t, sl_shape *shape, bool *stale, sl_error *err)
{
	ch_applier *a = ch_applier_of(handle);
	SL_TRY(cht_table_setup(a->tgt, a->cat, t, err));
	struct cha_table *at = &a->tables[t];
	const sl_table_def *td = &a->cat->tables[t];
	cha_table_clear(at);
	at->shape = sl_shape_ref(shape);
	at->ncols = shape->nfields;
	at->cols = sl_calloc((size_t)(shape->nfields ? shape->nfields : 1), sizeof *at->cols);
	at->keycols = sl_calloc((size_t)shape->nfields + 1, sizeof *at->keycols);
	at->keyfields = sl_calloc((size_t)shape->nfields + 1, sizeof *at->keyfields);
	const char *missing = NULL;
	int nkey = sl_shape_key(shape, td, at->keycols, &missing);
	if (nkey < 0)
		return sl_error_set(err, SL_ERR_DATA, "source table %s lost key column %s",
		                    td->qualified, missing);
	/* the table is ordered by the key it was created with */
	bool same = true, stale_cols = false;
	struct ch_table *tt = &a->tgt->tables[t];
	if (shape->key_known)
		SL_TRY(cha_sorted_by(a, t, shape, at->keycols, nkey, &same, err));
	if (!same && nkey > 0 && !tt->keyless) {
		/* the columns first (a new key column may be new), then the table */
		a->stale = false;
		SL_TRY(cha_evolve(a, t, at, shape, err));
		stale_cols = a->stale;
		SL_TRY(cha_rekey(a, t, shape, at->keycols, nkey, err));
	} else if (!same) {
		sl_buf names = {0};
		for (int k = 0; k < nkey; k++)
			sl_buf_printf(&names, "%s%s", k ? ", " : "",
			              shape->fields[at->keycols[k]].name);
		int rc = sl_error_set(
		        err, SL_ERR_STATE,
		        "target: the primary key of %s changed on the source (now (%s)); a "
		        "ClickHouse table without a key (or one that loses it) is ordered by "
		        "sluice's own columns and keeps rows another way, which cannot change in "
		        "place, and sluice stops rather than key rows wrongly (copy the pipeline "
		        "again: 'sluice reset', then run)",
		        td->qualified, sl_buf_cstr(&names));
		sl_buf_free(&names);
		return rc;
	}
	for (int k = 0; k < nkey; k++)
		at->keyfields[at->nkey++] = shape->fields[at->keycols[k]];
	a->stale = false;
	SL_TRY(cha_evolve(a, t, at, shape, err));
	*stale = a->stale || stale_cols;
	cht_insert_sql(tt->quoted, shape->fields, at->cols, at->ncols, tt->keyless,
	               &at->insert_sql);
	return 0;
}

/* ---------------------------------------------------------------- rows ---- */

static int cha_send(ch_applier *a, int t, const sl_batch *b, sl_error *err)
{
	struct cha_table *at = &a->tables[t];
	struct ch_table *tt = &a->tgt->tables[t];
	if (b->length == 0)
		return 0;
	sl_buf_reset(&a->block);
	SL_TRY(cht_encode(b, at->cols, tt->keyless, &a->meta, tt->display, &a->block, err));
	int rc = sl_ch_insert(a->h, sl_buf_cstr(&at->insert_sql), a->tgt->settings, a->block.data,
	                      a->block.len, err);
	if (rc < 0)
		sl_error_wrap(err, "applying changes to %s", tt->display);
	return rc;
}

static bool cha_bit(const uint8_t *bits, int64_t r)
{
	return bits && ((bits[r >> 3] >> (r & 7)) & 1);
}

/* Current rows, read back from ClickHouse by key. */
struct cha_found {
	sl_batch *rows; /* over the shape's fields */
	int64_t *slots; /* open addressing: row + 1 */
	size_t cap;
};

static uint64_t cha_key_hash(const struct cha_table *at, const sl_batch *b, int64_t r)
{
	uint64_t h = UINT64_C(1469598103934665603);
	for (int k = 0; k < at->nkey; k++)
		h = sl_col_hash(&b->cols[at->keycols[k]], r, h);
	return h;
}

static int64_t cha_find(const struct cha_table *at, const struct cha_found *f, const sl_batch *b,
                        int64_t r)
{
	if (f->cap == 0)
		return -1;
	size_t s = cha_key_hash(at, b, r) & (f->cap - 1);
	while (f->slots[s]) {
		int64_t cand = f->slots[s] - 1;
		bool eq = true;
		for (int k = 0; k < at->nkey && eq; k++)
			/* ClickHouse holds arrays flattened (cht_encode) */
			eq = sl_col_equal_elements(&f->rows->cols[at->keycols[k]], cand,
			                           &b->cols[at->keycols[k]], r);
		if (eq)
			return cand;
		s = (s + 1) & (f->cap - 1);
	}
	return -1;
}

/* The highest row version table t holds (tombstones included): a change at or below it may be
 * a re-delivery (ClickHouse acknowledged it before the position was saved), whose row a later
 * change already applied may have removed. */
static int cha_max_version(ch_applier *a, int t, uint64_t *out, sl_error *err)
{
	sl_buf q = {0}, resp = {0};
	sl_buf_printf(&q, "SELECT max(_sluice_version) FROM %s FORMAT TSV",
	              a->tgt->tables[t].quoted);
	int rc = sl_ch_exec(a->h, sl_buf_cstr(&q), &resp, err);
	*out = rc == 0 ? strtoull(sl_buf_cstr(&resp), NULL, 10) : 0;
	sl_buf_free(&q);
	sl_buf_free(&resp);
	return rc;
}

/* Read the current values of the keys of rows `want` (row indexes of c) from ClickHouse:
 * the keys go into a Memory table, the rows come back by a FINAL join on it. */
static int cha_fetch(ch_applier *a, int t, const sl_changes *c, const int64_t *want, int64_t nwant,
                     struct cha_found *f, sl_error *err)
{
	struct cha_table *at = &a->tables[t];
	struct ch_table *tt = &a->tgt->tables[t];
	sl_buf stage = {0}, keys = {0};
	sl_buf_printf(&stage, "%s.", a->tgt->qdb);
	char sname[300];
	snprintf(sname, sizeof sname, "_sluice_keys_%s_%s", a->tgt->cfg->name, tt->name);
	sl_ch_quote_ident(&stage, sname);
	int rc = sl_ch_execf(a->h, err, "DROP TABLE IF EXISTS %s", sl_buf_cstr(&stage));
	sl_buf_reset(&a->q);
	sl_buf_printf(&a->q, "CREATE TABLE %s (", sl_buf_cstr(&stage));
	for (int k = 0; k < at->nkey; k++) {
		if (k) {
			sl_buf_puts(&a->q, ", ");
			sl_buf_puts(&keys, ", ");
		}
		sl_ch_quote_ident(&a->q, at->keyfields[k].name);
		sl_ch_quote_ident(&keys, at->keyfields[k].name);
		sl_buf_printf(&a->q, " %s", at->cols[at->keycols[k]].type);
	}
	sl_buf_puts(&a->q, ") ENGINE = Memory");
	if (rc == 0)
		rc = sl_ch_exec(a->h, sl_buf_cstr(&a->q), NULL, err);
	/* the keys, as one Native block */
	sl_batch *kb = sl_batch_create(at->keyfields, at->nkey);
	for (int64_t i = 0; i < nwant; i++) {
		for (int k = 0; k < at->nkey; k++)
			sl_col_append_from(&kb->cols[k], &c->rows->cols[at->keycols[k]], want[i]);
		sl_batch_end_row(kb);
	}
	sl_buf_reset(&a->block);
	sl_ch_block_begin(&a->block, at->nkey, kb->length);
	for (int k = 0; k < at->nkey && rc == 0; k++)
		rc = sl_ch_encode_column(&at->cols[at->keycols[k]].codec, at->keyfields[k].name,
		                         at->cols[at->keycols[k]].type, &kb->cols[k], 0, kb->length,
		                         &a->block, err);
	sl_batch_destroy(kb);
	if (rc == 0) {
		sl_buf_reset(&a->q);
		sl_buf_printf(&a->q, "INSERT INTO %s FORMAT Native", sl_buf_cstr(&stage));
		rc = sl_ch_insert(a->h, sl_buf_cstr(&a->q), "", a->block.data, a->block.len, err);
	}
	sl_buf_reset(&a->q);
	sl_buf_puts(&a->q, "SELECT ");
	int nsel = 0;
	for (int i = 0; i < at->ncols; i++) {
		if (at->cols[i].codec.kind == 0)
			continue;
		if (nsel++)
			sl_buf_puts(&a->q, ", ");
		sl_ch_quote_ident(&a->q, at->shape->fields[i].name);
	}
	sl_buf_printf(&a->q,
	              " FROM %s FINAL WHERE _sluice_deleted = 0 AND (%s) IN (SELECT %s FROM %s)"
	              " FORMAT Native",
	              tt->quoted, sl_buf_cstr(&keys), sl_buf_cstr(&keys), sl_buf_cstr(&stage));
	sl_buf_reset(&a->resp);
	if (rc == 0)
		rc = sl_ch_exec(a->h, sl_buf_cstr(&a->q), &a->resp, err);
	sl_error e2 = {0};
	sl_ch_execf(a->h, &e2, "DROP TABLE IF EXISTS %s", sl_buf_cstr(&stage));
	sl_buf_free(&stage);
	sl_buf_free(&keys);
	f->rows = sl_batch_create(at->shape->fields, at->shape->nfields);
	sl_ch_reader rd = {a->resp.data, a->resp.data + a->resp.len};
	int ncols;
	int64_t nrows;
	while (rc == 0 && (rc = sl_ch_block_next(&rd, &ncols, &nrows, err)) == 1) {
		rc = cht_decode_block(&rd, at->cols, at->shape->fields, at->ncols, nrows, f->rows,
		                      err);
	}
	if (rc < 0) {
		sl_error_wrap(err, "reading current rows of %s", tt->display);
		return rc;
	}
	int64_t n = f->rows->length;
	f->cap = 16;
	while (f->cap < (size_t)n * 2)
		f->cap *= 2;
	f->slots = sl_calloc(f->cap, sizeof *f->slots);
	for (int64_t r = 0; r < n; r++) {
		size_t s = cha_key_hash(at, f->rows, r) & (f->cap - 1);
		while (f->slots[s])
			s = (s + 1) & (f->cap - 1);
		f->slots[s] = r + 1;
	}
	return 0;
}

static bool cha_any_unchanged(const sl_changes *c, int64_t r)
{
	if (!c->any_unchanged)
		return false;
	for (int k = 0; k < c->ubytes; k++)
		if (c->unchanged.data[r * c->ubytes + k])
			return true;
	return false;
}

static int cha_keyed(ch_applier *a, const sl_changes *c, const uint8_t *dead, sl_error *err)
{
	struct cha_table *at = &a->tables[c->table];
	struct ch_table *tt = &a->tgt->tables[c->table];
	int64_t n = c->rows->length;
	/* rows whose unchanged columns ClickHouse must supply, and where their key is */
	int64_t *want = NULL, nwant = 0;
	for (int64_t r = 0; r < n; r++) {
		char op = sl_changes_op(c, r);
		if (cha_bit(dead, r) || op == SL_OP_KEYREF || op == SL_OP_DELETE ||
		    !cha_any_unchanged(c, r))
			continue;
		if (want == NULL)
			want = sl_malloc((size_t)n * sizeof *want);
		int64_t from = op == SL_OP_MOVE ? sl_changes_pair(c, r) : r;
		want[nwant++] = from >= 0 ? from : r;
	}
	struct cha_found found = {0};
	int rc = 0;
	if (nwant > 0)
		rc = cha_fetch(a, c->table, c, want, nwant, &found, err);
	free(want);
	sl_batch *out = sl_batch_create(at->shape->fields, at->shape->nfields);
	cht_meta_reset(&a->meta);
	int64_t missing = 0, lost = 0, uncopied = 0;
	char lost_op = 0;
	bool have_max = false;
	uint64_t max_version = 0;
	for (int64_t r = 0; r < n && rc == 0; r++) {
		char op = sl_changes_op(c, r);
		if (cha_bit(dead, r) || op == SL_OP_KEYREF)
			continue;
		int64_t cur = -1;
		if (op != SL_OP_DELETE && cha_any_unchanged(c, r)) {
			int64_t from = op == SL_OP_MOVE ? sl_changes_pair(c, r) : r;
			cur = cha_find(at, &found, c->rows, from >= 0 ? from : r);
			if (cur < 0) {
				/* gone already (a re-delivery, or a reloaded table converging), or
				 * the target diverged */
				uint64_t v = sl_changes_origin(c, r).version;
				if (c->may_miss) {
					uncopied++; /* the backfill's later slice brings it */
					if (op == SL_OP_MOVE && c->moves_missed)
						(*c->moves_missed)++; /* or the next pass */
					continue;
				}
				if (v > a->converge_until && !have_max) {
					rc = cha_max_version(a, c->table, &max_version, err);
					have_max = true;
				}
				if (v > a->converge_until && v > max_version) {
					lost++;
					lost_op = op;
				} else {
					missing++;
				}
				continue;
			}
		}
		for (int i = 0; i < at->ncols; i++) {
			if (cur >= 0 && sl_changes_is_unchanged(c, r, i))
				sl_col_append_from(&out->cols[i], &found.rows->cols[i], cur);
			else
				sl_col_append_from(&out->cols[i], &c->rows->cols[i], r);
		}
		sl_batch_end_row(out);
		sl_row_origin o = sl_changes_origin(c, r);
		cht_meta_add(&a->meta, o.version, op == SL_OP_DELETE);
	}
	if (uncopied > 0)
		sl_debug("target: %" PRId64 " change(s) to %s found no row (not copied yet by the "
		         "table's backfill, which brings it); skipped",
		         uncopied, tt->display);
	if (missing > 0)
		sl_info("target: %" PRId64 " change(s) to %s found their row already gone (a "
		        "re-delivery, or a table reloaded by a resumed snapshot converging); "
		        "skipped",
		        missing, tt->display);
	if (rc == 0 && lost > 0)
		rc = sl_error_set(
		        err, SL_ERR_STATE,
		        "target: %s: %s row that ClickHouse does not have (%" PRId64 " such "
		        "change(s) in this group), so the columns it left unchanged cannot be "
		        "filled in: the target has diverged from the source (rows deleted or "
		        "changed there?); check with sluice verify, then reload the table",
		        tt->display,
		        lost_op == SL_OP_MOVE ? "a key change on the source moved a"
		                              : "an update on the source changed a",
		        lost);
	if (rc == 0)
		rc = cha_send(a, c->table, out, err);
	sl_batch_destroy(out);
	if (found.rows)
		sl_batch_destroy(found.rows);
	free(found.slots);
	return rc;
}

/* ---------------------------------------------------------------- keyless ---- */

struct cha_cand {
	uint64_t origin, seq, hash, version, del_seq;
	bool deleted, taken;
};

static int cha_cand_cmp(const void *x, const void *y)
{
	const struct cha_cand *a = x, *b = y;
	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	if (a->origin != b->origin)
		return a->origin < b->origin ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static bool cha_before(uint64_t v1, uint64_t s1, uint64_t v2, uint64_t s2)
{
	return v1 < v2 || (v1 == v2 && s1 < s2);
}

/* The rows that could be the ones deleted: every row (live or tombstoned) with one of the
 * hashes. */
static int cha_candidates(ch_applier *a, struct ch_table *tt, const uint64_t *hashes, int64_t n,
                          struct cha_cand **out, int64_t *nout, sl_error *err)
{
	*out = NULL;
	*nout = 0;
	int64_t cap = 0;
	for (int64_t from = 0; from < n; from += 2000) {
		int64_t to = from + 2000 < n ? from + 2000 : n;
		sl_buf_reset(&a->q);
		sl_buf_printf(
		        &a->q,
		        "SELECT _sluice_origin, _sluice_seq, _sluice_hash, _sluice_version,"
		        " _sluice_deleted, _sluice_del_seq FROM %s FINAL WHERE _sluice_hash IN (",
		        tt->quoted);
		for (int64_t i = from; i < to; i++)
			sl_buf_printf(&a->q, "%s%" PRIu64, i > from ? "," : "", hashes[i]);
		sl_buf_puts(&a->q, ") FORMAT TabSeparated");
		sl_buf_reset(&a->resp);
		SL_TRY(sl_ch_exec(a->h, sl_buf_cstr(&a->q), &a->resp, err));
		const char *p = sl_buf_cstr(&a->resp);
		while (*p) {
			struct cha_cand cd = {0};
			unsigned long long v[6];
			int used = 0;
			if (sscanf(p, "%llu\t%llu\t%llu\t%llu\t%llu\t%llu%n", &v[0], &v[1], &v[2],
			           &v[3], &v[4], &v[5], &used) != 6)
				return sl_error_set(err, SL_ERR_DATA,
				                    "target: unexpected row identities from %s",
				                    tt->display);
			cd.origin = v[0], cd.seq = v[1], cd.hash = v[2], cd.version = v[3];
			cd.deleted = v[4] != 0, cd.del_seq = v[5];
			if (*nout == cap) {
				cap = cap ? cap * 2 : 64;
				*out = sl_realloc(*out, (size_t)cap * sizeof **out);
			}
			(*out)[(*nout)++] = cd;
			p += used;
			while (*p == '\n' || *p == '\r')
				p++;
		}
	}
	if (*nout > 1)
		qsort(*out, (size_t)*nout, sizeof **out, cha_cand_cmp);
	return 0;
}

static int cha_keyless(ch_applier *a, const sl_changes *c, const uint8_t *dead, sl_error *err)
{
	struct cha_table *at = &a->tables[c->table];
	struct ch_table *tt = &a->tgt->tables[c->table];
	int64_t n = c->rows->length;
	uint64_t *hashes = sl_malloc((size_t)(n ? n : 1) * sizeof *hashes);
	int64_t ndel = 0;
	for (int64_t r = 0; r < n; r++) {
		hashes[r] = cht_row_hash(c->rows, r, at->cols);
		if (!cha_bit(dead, r) && sl_changes_op(c, r) == SL_OP_DELETE)
			ndel++;
	}
	struct cha_cand *cand = NULL;
	int64_t ncand = 0;
	int rc = 0;
	if (ndel > 0) {
		uint64_t *dh = sl_malloc((size_t)ndel * sizeof *dh);
		int64_t k = 0;
		for (int64_t r = 0; r < n; r++)
			if (!cha_bit(dead, r) && sl_changes_op(c, r) == SL_OP_DELETE)
				dh[k++] = hashes[r];
		rc = cha_candidates(a, tt, dh, ndel, &cand, &ncand, err);
		free(dh);
	}
	sl_batch *out = sl_batch_create(at->shape->fields, at->shape->nfields);
	cht_meta_reset(&a->meta);
	int64_t missing = 0;
	for (int64_t r = 0; r < n && rc == 0; r++) {
		char op = sl_changes_op(c, r);
		if (cha_bit(dead, r) || op == SL_OP_KEYREF)
			continue;
		sl_row_origin o = sl_changes_origin(c, r);
		if (op != SL_OP_DELETE) {
			cht_meta_add(&a->meta, o.version, false);
			cht_meta_add_identity(&a->meta, o.version, o.seq, hashes[r], 0);
		} else {
			/* the first candidate (smallest identity) with these values that was live
			 * just before this delete */
			struct cha_cand key = {.hash = hashes[r]};
			int64_t lo = 0, hi = ncand;
			while (lo < hi) {
				int64_t mid = (lo + hi) / 2;
				if (cand[mid].hash < key.hash)
					lo = mid + 1;
				else
					hi = mid;
			}
			struct cha_cand *pick = NULL;
			for (int64_t i = lo; i < ncand && cand[i].hash == key.hash; i++) {
				struct cha_cand *cd = &cand[i];
				if (cd->taken || !cha_before(cd->origin, cd->seq, o.version, o.seq))
					continue;
				if (cd->deleted &&
				    cha_before(cd->version, cd->del_seq, o.version, o.seq))
					continue; /* deleted earlier */
				pick = cd;
				break;
			}
			if (pick == NULL) {
				missing++;
				continue;
			}
			pick->taken = true;
			cht_meta_add(&a->meta, o.version, true);
			cht_meta_add_identity(&a->meta, pick->origin, pick->seq, pick->hash, o.seq);
		}
		for (int i = 0; i < at->ncols; i++)
			sl_col_append_from(&out->cols[i], &c->rows->cols[i], r);
		sl_batch_end_row(out);
	}
	if (missing > 0)
		sl_warn("target: %" PRId64 " deleted row(s) of keyless table %s were not found in "
		        "ClickHouse; nothing to delete for them",
		        missing, tt->display);
	if (rc == 0)
		rc = cha_send(a, c->table, out, err);
	sl_batch_destroy(out);
	free(cand);
	free(hashes);
	return rc;
}

int cha_changes(sl_applier *handle, const sl_changes *c, const uint8_t *dead, sl_error *err)
{
	ch_applier *a = ch_applier_of(handle);
	struct cha_table *at = &a->tables[c->table];
	if (at->shape != c->shape)
		return sl_error_set(err, SL_ERR_INTERNAL, "changes to %s arrived before its shape",
		                    a->cat->tables[c->table].qualified);
	if (a->tgt->tables[c->table].keyless)
		return cha_keyless(a, c, dead, err);
	return cha_keyed(a, c, dead, err);
}

int cha_truncate(sl_applier *handle, int t, uint64_t version, sl_error *err)
{
	ch_applier *a = ch_applier_of(handle);
	SL_TRY(cht_table_setup(a->tgt, a->cat, t, err));
	struct ch_table *tt = &a->tgt->tables[t];
	char **names, **types;
	int n;
	SL_TRY(cht_columns(a->tgt, a->h, tt->name, &names, &types, &n, err));
	sl_buf cols = {0};
	for (int k = 0; k < n; k++) {
		if (cha_is_meta(names[k]))
			continue;
		sl_ch_quote_ident(&cols, names[k]);
		sl_buf_puts(&cols, ", ");
	}
	cht_columns_free(names, types, n);
	const char *ids = tt->keyless ? ", _sluice_origin, _sluice_seq, _sluice_hash" : "";
	sl_buf_reset(&a->q);
	sl_buf_printf(&a->q,
	              "INSERT INTO %s (%s_sluice_version, _sluice_deleted%s%s) SELECT "
	              "%stoUInt64(%" PRIu64 "), toUInt8(1)%s%s FROM %s FINAL WHERE _sluice_deleted "
	              "= 0 AND _sluice_version <= %" PRIu64,
	              tt->quoted, sl_buf_cstr(&cols), ids, tt->keyless ? ", _sluice_del_seq" : "",
	              sl_buf_cstr(&cols), version, ids,
	              tt->keyless ? ", toUInt64(18446744073709551615)" : "", tt->quoted, version);
	sl_buf_free(&cols);
	int rc = sl_ch_exec(a->h, sl_buf_cstr(&a->q), NULL, err);
	if (rc < 0)
		sl_error_wrap(err, "truncating %s", tt->display);
	else
		sl_info("target: %s truncated on the source; its rows are marked deleted",
		        tt->display);
	return rc;
}

/* ---------------------------------------------------------------- foreign-key actions ---- */

/* The rows of the plan table go into a Memory stage with its replicated columns and, in the
 * metadata columns cht_encode writes: _sluice_version = the row's ordinal, _sluice_deleted =
 * its operation ('D', 'K' or 'U'), _sluice_origin = the ordinal of the row an UPSERT pairs with,
 * plus one. Every step is one INSERT ... SELECT from the table it changes (FINAL, live rows
 * at or below the version the actions take): tombstones for deleted rows, new versions for
 * rows whose referencing columns change. The rows written take the version of the last
 * transaction whose rows are staged; changes made after them have later versions. */
struct cha_step {
	ch_applier *a;
	const struct cha_table *at; /* the plan table's */
	const char *stage;          /* `db`.`stage` */
	uint64_t version;
};

static int cha_stage_col(const struct cha_step *x, const char *name, sl_error *err)
{
	int f = sl_shape_find(x->at->shape, name);
	if (f < 0 || x->at->cols[f].codec.kind == 0)
		return sl_error_set(
		        err, SL_ERR_DATA,
		        "target: column %s, which a foreign key references, is no longer "
		        "replicated: its ON DELETE / ON UPDATE actions cannot be done "
		        "(copy the tables that reference it again with 'sluice resync')",
		        name);
	return 0;
}

static void cha_tuple(sl_buf *b, char *const *cols, int n)
{
	sl_buf_putc(b, '(');
	for (int i = 0; i < n; i++) {
		sl_buf_puts(b, i ? ", " : "");
		sl_ch_quote_ident(b, cols[i]);
	}
	sl_buf_putc(b, ')');
}

/* Like pga_chain_select: the referenced values of the rows link k selects. */
static int cha_chain_select(const struct cha_step *x, const sl_fk_step *s, int k, sl_buf *b,
                            sl_error *err)
{
	const sl_foreign_key *fk = s->chain[k];
	sl_buf_puts(b, "SELECT ");
	for (int i = 0; i < fk->ncols; i++) {
		if (k == 0)
			SL_TRY(cha_stage_col(x, fk->parent_cols[i], err));
		sl_buf_puts(b, i ? ", " : "");
		sl_ch_quote_ident(b, fk->parent_cols[i]);
	}
	if (k == 0) {
		sl_buf_printf(b, " FROM %s WHERE _sluice_deleted = %d", x->stage, SL_OP_DELETE);
		return 0;
	}
	const sl_foreign_key *up = s->chain[k - 1];
	int ut = sl_catalog_find(x->a->cat, up->child);
	SL_TRY(cht_table_setup(x->a->tgt, x->a->cat, ut, err));
	sl_buf_printf(b, " FROM %s FINAL WHERE _sluice_deleted = 0 AND ",
	              x->a->tgt->tables[ut].quoted);
	cha_tuple(b, up->child_cols, up->ncols);
	sl_buf_puts(b, " IN (");
	SL_TRY(cha_chain_select(x, s, k - 1, b, err));
	sl_buf_putc(b, ')');
	return 0;
}

static bool cha_in(char *const *cols, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(cols[i], name) == 0)
			return true;
	return false;
}

/* INSERT INTO the step's table SELECT its live rows the step selects, as tombstones
 * (deleted) or with its referencing columns set to `set` (NULL or the new values, "__new<i>";
 * then `from` is the join with the pairs, else the condition on them). */
static int cha_step_insert(const struct cha_step *x, const sl_fk_step *s, bool deleted,
                           const char *set, const char *cond, const char *from, sl_error *err)
{
	ch_applier *a = x->a;
	struct ch_table *tt = &a->tgt->tables[s->table];
	const sl_foreign_key *fk = s->chain[s->nchain - 1];
	char **names, **types;
	int n;
	SL_TRY(cht_columns(a->tgt, a->h, tt->name, &names, &types, &n, err));
	sl_buf cols = {0}, sel = {0}, live = {0};
	for (int k = 0; k < n; k++) {
		if (cha_is_meta(names[k]))
			continue;
		sl_ch_quote_ident(&cols, names[k]);
		sl_buf_puts(&cols, ", ");
		sl_buf_puts(&live, live.len ? ", " : "");
		sl_ch_quote_ident(&live, names[k]);
		int i = -1;
		for (int c = 0; c < fk->ncols; c++)
			if (strcmp(fk->child_cols[c], names[k]) == 0)
				i = c;
		if (i >= 0 && set && strcmp(set, "NULL") == 0)
			sl_buf_puts(&sel, "NULL, ");
		else if (i >= 0 && set)
			sl_buf_printf(&sel, "%s%d, ", set, i);
		else {
			sl_ch_quote_ident(&sel, names[k]);
			sl_buf_puts(&sel, ", ");
		}
	}
	cht_columns_free(names, types, n);
	const char *ids = tt->keyless ? ", _sluice_origin, _sluice_seq, _sluice_hash" : "";
	sl_buf_reset(&a->q);
	sl_buf_printf(&a->q,
	              "INSERT INTO %s (%s_sluice_version, _sluice_deleted%s%s) SELECT "
	              "%stoUInt64(%" PRIu64 "), toUInt8(%d)%s%s FROM ",
	              tt->quoted, sl_buf_cstr(&cols), ids, tt->keyless ? ", _sluice_del_seq" : "",
	              sl_buf_cstr(&sel), x->version, deleted, ids,
	              tt->keyless ? ", toUInt64(18446744073709551615)" : "");
	if (from)
		sl_buf_printf(&a->q,
		              "(SELECT %s%s FROM %s FINAL WHERE _sluice_deleted = 0 AND "
		              "_sluice_version <= %" PRIu64 ") ANY INNER JOIN (%s) USING ",
		              sl_buf_cstr(&live), ids, tt->quoted, x->version, from);
	else
		sl_buf_printf(&a->q,
		              "%s FINAL WHERE _sluice_deleted = 0 AND _sluice_version <= %" PRIu64
		              " AND ",
		              tt->quoted, x->version);
	cha_tuple(&a->q, fk->child_cols, fk->ncols);
	if (cond)
		sl_buf_printf(&a->q, " IN (%s)", cond);
	sl_buf_free(&cols);
	sl_buf_free(&sel);
	sl_buf_free(&live);
	int rc = sl_ch_exec(a->h, sl_buf_cstr(&a->q), NULL, err);
	if (rc < 0)
		sl_error_wrap(err, "foreign key %s: %s", fk->name, tt->display);
	return rc;
}

static int cha_step(const struct cha_step *x, const sl_fk_step *s, sl_error *err)
{
	const sl_foreign_key *fk = s->chain[s->nchain - 1];
	SL_TRY(cht_table_setup(x->a->tgt, x->a->cat, s->table, err));
	sl_buf q = {0};
	int rc = 0;
	if (s->kind != SL_FKS_UPDATE) {
		rc = cha_chain_select(x, s, s->nchain - 1, &q, err);
		if (rc == 0)
			rc = cha_step_insert(x, s, s->kind == SL_FKS_DELETE,
			                     s->kind == SL_FKS_SET_NULL ? "NULL" : NULL,
			                     sl_buf_cstr(&q), NULL, err);
		sl_buf_free(&q);
		return rc;
	}
	/* the old values under the child's column names, the new ones as __new<i> */
	sl_buf_puts(&q, "SELECT ");
	for (int i = 0; i < fk->ncols && rc == 0; i++) {
		rc = cha_stage_col(x, s->from[i], err);
		sl_buf_puts(&q, i ? ", " : "");
		sl_ch_quote_ident(&q, s->from[i]);
		sl_buf_puts(&q, " AS ");
		sl_ch_quote_ident(&q, fk->child_cols[i]);
		sl_buf_printf(&q, ", __n%d AS __new%d", i, i);
	}
	sl_buf_puts(&q, " FROM (SELECT _sluice_version AS __k");
	for (int i = 0; i < fk->ncols; i++) {
		sl_buf_puts(&q, ", ");
		sl_ch_quote_ident(&q, s->from[i]);
	}
	sl_buf_printf(&q,
	              " FROM %s WHERE _sluice_deleted = %d) ANY INNER JOIN (SELECT "
	              "toUInt64(_sluice_origin - 1) AS __k",
	              x->stage, SL_OP_KEYREF);
	for (int i = 0; i < fk->ncols; i++) {
		sl_buf_puts(&q, ", ");
		sl_ch_quote_ident(&q, s->from[i]);
		sl_buf_printf(&q, " AS __n%d", i);
	}
	sl_buf_printf(&q, " FROM %s WHERE _sluice_deleted = %d) USING __k", x->stage, SL_OP_UPSERT);
	const sl_table_def *td = &x->a->cat->tables[s->table];
	bool rekeys = false; /* a referencing column is in the child's key */
	for (int k = 0; k < td->nkey; k++)
		rekeys |= cha_in(fk->child_cols, fk->ncols, td->fields[td->key[k]].name);
	if (rc == 0)
		rc = cha_step_insert(x, s, false, s->to_null ? "NULL" : "__new", NULL,
		                     sl_buf_cstr(&q), err);
	if (rc == 0 && rekeys) {
		/* the rows under their old keys go: after the new ones were read from them */
		sl_buf old = {0};
		sl_buf_puts(&old, "SELECT ");
		for (int i = 0; i < fk->ncols; i++) {
			sl_buf_puts(&old, i ? ", " : "");
			sl_ch_quote_ident(&old, s->from[i]);
		}
		sl_buf_printf(&old, " FROM %s WHERE _sluice_deleted = %d", x->stage, SL_OP_KEYREF);
		rc = cha_step_insert(x, s, true, NULL, sl_buf_cstr(&old), NULL, err);
		sl_buf_free(&old);
	}
	sl_buf_free(&q);
	return rc;
}

int cha_actions(sl_applier *handle, const sl_changes *rows, const sl_fk_plan *plan, sl_error *err)
{
	ch_applier *a = ch_applier_of(handle);
	int t = rows->table;
	struct cha_table *at = &a->tables[t];
	struct ch_table *tt = &a->tgt->tables[t];
	struct cha_step x = {.a = a, .at = at};
	bool any_del = false, any_upd = false;
	sl_batch *b = sl_batch_create(at->shape->fields, at->shape->nfields);
	cht_meta_reset(&a->meta);
	for (int64_t r = 0; r < rows->rows->length; r++) {
		char op = sl_changes_op(rows, r);
		any_del |= op == SL_OP_DELETE;
		any_upd |= op == SL_OP_KEYREF;
		uint64_t v = sl_changes_origin(rows, r).version;
		if (v > x.version)
			x.version = v;
		for (int i = 0; i < at->ncols; i++)
			sl_col_append_from(&b->cols[i], &rows->rows->cols[i], r);
		sl_batch_end_row(b);
		cht_meta_add(&a->meta, (uint64_t)r, false);
		((uint8_t *)a->meta.deleted.data)[a->meta.deleted.len - 1] = (uint8_t)op;
		cht_meta_add_identity(&a->meta, (uint64_t)(sl_changes_pair(rows, r) + 1), 0, 0, 0);
	}
	sl_buf stage = {0}, sql = {0};
	char sname[300];
	snprintf(sname, sizeof sname, "_sluice_fk_%s_%s", a->tgt->cfg->name, tt->name);
	sl_buf_printf(&stage, "%s.", a->tgt->qdb);
	sl_ch_quote_ident(&stage, sname);
	x.stage = sl_buf_cstr(&stage);
	int rc = sl_ch_execf(a->h, err, "DROP TABLE IF EXISTS %s", x.stage);
	sl_buf_printf(&sql, "CREATE TABLE %s (", x.stage);
	for (int i = 0; i < at->ncols; i++) {
		if (at->cols[i].codec.kind == 0)
			continue;
		sl_ch_quote_ident(&sql, at->shape->fields[i].name);
		sl_buf_printf(&sql, " %s, ", at->cols[i].type);
	}
	sl_buf_puts(&sql, "_sluice_version UInt64, _sluice_deleted UInt8, _sluice_origin UInt64, "
	                  "_sluice_seq UInt64, _sluice_hash UInt64, _sluice_del_seq UInt64) "
	                  "ENGINE = Memory");
	if (rc == 0)
		rc = sl_ch_exec(a->h, sl_buf_cstr(&sql), NULL, err);
	sl_buf_reset(&a->block);
	if (rc == 0)
		rc = cht_encode(b, at->cols, true, &a->meta, tt->display, &a->block, err);
	if (rc == 0) {
		cht_insert_sql(x.stage, at->shape->fields, at->cols, at->ncols, true, &sql);
		rc = sl_ch_insert(a->h, sl_buf_cstr(&sql), "", a->block.data, a->block.len, err);
	}
	sl_batch_destroy(b);
	for (int i = 0; i < plan->nsteps && rc == 0; i++)
		if (i < plan->ndelete ? any_del : any_upd)
			rc = cha_step(&x, &plan->steps[i], err);
	sl_error e2 = {0};
	sl_ch_execf(a->h, &e2, "DROP TABLE IF EXISTS %s", x.stage);
	sl_buf_free(&stage);
	sl_buf_free(&sql);
	return rc;
}
