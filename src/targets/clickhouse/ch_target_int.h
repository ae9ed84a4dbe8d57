/* ClickHouse target internals shared by the snapshot loader (ch_target.c) and the change
 * applier (ch_apply.c).
 *
 * Table layout (docs/ARCHITECTURE.md, "ClickHouse target"): the source columns, then
 *   _sluice_version UInt64  the source position of the row's last change (0: snapshot)
 *   _sluice_deleted UInt8   1 = deleted on the source (a tombstone)
 * and for keyless tables the row identity and what deletes need:
 *   _sluice_origin UInt64   the version of the transaction that inserted the row (0: snapshot)
 *   _sluice_seq UInt64      its ordinal in that transaction (snapshot: in the load)
 *   _sluice_hash UInt64     a hash of the row's values (deletes find their row by it)
 *   _sluice_del_seq UInt64  tombstones: the delete's ordinal in its transaction
 * ENGINE = ReplacingMergeTree(_sluice_version) ORDER BY the key (or origin, seq): re-inserting a
 * row after a crash replaces it instead of adding a copy. */
#ifndef SL_CH_TARGET_INT_H
#define SL_CH_TARGET_INT_H

#include <stdatomic.h>

#include "core/state.h"
#include "formats/chnative.h"
#include "targets/clickhouse/ch_http.h"
#include "core/target.h"

/* The structs behind the contract's handles (core/target.h, core/handle.h). */
SL_HANDLE(ch_target, sl_target)
SL_HANDLE(ch_writer, sl_writer)
SL_HANDLE(ch_applier, sl_applier)

/* How one source column travels: its ClickHouse type and codec (kind 0 = not replicated: a
 * type ClickHouse cannot hold, skipped with a warning). */
typedef struct ch_col {
	char type[200];
	sl_ch_codec codec;
	bool key;
	atomic_llong nulled;    /* numeric NaN/Infinity values written as NULL (see cht_encode) */
	atomic_llong flattened; /* arrays with a shape written as their elements (cht_encode) */
} ch_col;

/* Per-row metadata column values of a block being built. */
typedef struct ch_meta {
	sl_buf version, deleted, origin, seq, hash, del_seq;
} ch_meta;

struct ch_table {
	bool ready;
	char *name;       /* ClickHouse table name */
	char *quoted;     /* `db`.`name` */
	char *display;    /* db.name */
	char *insert_sql; /* the snapshot's INSERT ... FORMAT Native */
	ch_col *cols;     /* per catalog field */
	int ncols;
	bool keyless;
	atomic_llong next_seq; /* keyless snapshot rows: identities handed out */
};

struct ch_target {
	const sl_config *cfg;
	sl_ch_url url;
	bool gzip;
	char settings[128]; /* extra URL parameters of inserts */
	char version[64];
	sl_ch_caps caps;
	bool fsync;     /* create tables with fsync_after_insert / fsync_part_directory */
	bool can_fsync; /* the server has those MergeTree settings */
	sl_ch_http *meta;
	sl_state *state;
	char *db;      /* target.database */
	char *qdb;     /* `db` */
	char *ca_file; /* target.tls.ca_file, or its older name target.tls_ca_file */
	struct ch_table *tables;
	int ntables;
};

/* The ClickHouse table name of catalog table t: the one kept in the state store when the table
 * was first set up; else the source name, or schema_name when another selected source table
 * has that name. */
const char *cht_name_for(ch_target *tg, const sl_catalog *cat, int t, char *buf, size_t n);
/* Type and codec of a field; `key` columns are never Nullable. False: not representable. */
bool cht_col_for(ch_target *t, const sl_field *f, bool key, ch_col *out);
/* Read `name type` of the table's columns from system.columns; *n = 0 when it does not exist. */
int cht_columns(ch_target *t, sl_ch_http *h, const char *table, char ***names, char ***types,
                int *n, sl_error *err);
void cht_columns_free(char **names, char **types, int n);
/* The next field of TabSeparated text at *p, unescaped in place; *p moves past it. */
char *cht_tsv_field(char **p);
/* The value hash of row r over the given columns (NULLs left out, names mixed in), stable
 * across runs: what keyless deletes find their row by. */
uint64_t cht_row_hash(const sl_batch *b, int64_t r, const ch_col *cols);
bool cht_is_keyless(const sl_table_def *td);
/* Names and columns of catalog table ti (once). */
int cht_table_setup(ch_target *t, const sl_catalog *cat, int ti, sl_error *err);
/* Open the state store (positions) on first use. */
int cht_state(ch_target *t, sl_error *err);
void cht_meta_reset(ch_meta *m);
void cht_meta_free(ch_meta *m);
/* One row's metadata: every table's, then (keyless tables only) its identity. */
void cht_meta_add(ch_meta *m, uint64_t version, bool deleted);
void cht_meta_add_identity(ch_meta *m, uint64_t origin, uint64_t seq, uint64_t hash,
                           uint64_t del_seq);
/* "INSERT INTO `db`.`t` (columns..., metadata) FORMAT Native" for cols[0..n). */
void cht_insert_sql(const char *quoted, const sl_field *fields, const ch_col *cols, int n,
                    bool keyless, sl_buf *out);
/* One Native block: b's replicated columns then the metadata columns from m. Numeric
 * NaN/Infinity values are written as NULL and counted in cols[i].nulled; arrays with more than
 * one dimension or a lower bound other than 1 are written as their elements in row-major order
 * (a ClickHouse column holds arrays of one depth, from 1) and counted in cols[i].flattened;
 * the first ones of a column are warned about, naming the column and `display` (the table). */
int cht_encode(const sl_batch *b, ch_col *cols, bool keyless, const ch_meta *m, const char *display,
               sl_buf *out, sl_error *err);
/* Decode the current block's columns cols[0..n) (over fields) into b, appending nrows rows;
 * columns not replicated (kind 0) are not in the block and get NULLs. */
int cht_decode_block(sl_ch_reader *rd, const ch_col *cols, const sl_field *fields, int n,
                     int64_t nrows, sl_batch *b, sl_error *err);
/* Does a column of ClickHouse type `have` take what `want` writes (equal, or its Nullable)? */
bool cht_type_holds(const char *have, const char *want, bool *nullable);

/* ch_apply.c */
int cha_open(sl_target *handle, const sl_catalog *cat, const char *epoch, uint64_t converge_until,
             sl_applier **out, sl_durable *durable, sl_error *err);
int cha_shape(sl_applier *handle, int t, sl_shape *shape, bool *stale, sl_error *err);
int cha_changes(sl_applier *handle, const sl_changes *c, const uint8_t *dead, sl_error *err);
int cha_truncate(sl_applier *handle, int t, uint64_t version, sl_error *err);
int cha_actions(sl_applier *handle, const sl_changes *rows, const sl_fk_plan *plan, sl_error *err);
int cha_commit(sl_applier *handle, const sl_msg *commit, sl_error *err);
void cha_rollback(sl_applier *handle);
void cha_cancel(sl_applier *handle);
void cha_close(sl_applier *handle);
int cha_durable(sl_target *handle, const char *epoch, sl_durable *out, sl_error *err);

#endif
