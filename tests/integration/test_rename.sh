#!/usr/bin/env bash
# What the change log does not say about tables (issue "renames, key changes, dropped tables"),
# PostgreSQL source; tables are followed by their relation oid (core/follow.h):
#   offline   while sluice is stopped: t is updated, renamed, updated again, and moved to
#             another schema (beyond source.tables.include, which names public.t only); d is
#             dropped; r is dropped and created again with other rows. The next run --once
#             renames the target table and applies both updates; keeps d's target table as it
#             was and says so; keeps r's old rows under r_dropped_<time> and leaves the new r
#             to a streaming run. verify names d (GONE) and r (not loaded yet) and exits 3;
#             status lists d as gone. A streaming run copies the new r; verify names d only.
#   killed    a streaming run is SIGKILLed after a rename whose later updates it applied; the
#             next run renames the target table, nothing is lost or applied twice.
#   clickhouse  the offline rename into ClickHouse: RENAME TABLE, rows kept, verify clean.
#   target.schema  a table moved to another source schema keeps its one target table.
#   columns   a column renamed while sluice is stopped (updates before and after) and one
#             renamed while a run streams are renamed on the target with their values; a drop
#             plus an add of the same type at the same place is not taken for a rename; a
#             SIGKILL after the streaming rename loses nothing.
#   ch columns  into ClickHouse 18.16 (no RENAME COLUMN): the new column is added and the
#             table copied again by a backfill; every row gets the renamed column's value.
#   key column  a primary key column renamed while a run streams, and again while sluice is
#             stopped with changes before and after the rename to apply: the target's column
#             is renamed, the key and the values kept (each change names the key its Relation
#             message flags).
#   crash between  the target renamed (table and column) but not the state, as after a crash
#             between the two: the next run finds it done.
#   verify    a state whose every table is gone compares nothing: no "all tables equal".
# Every table is compared with the source through SQL digests (compare_table) or verify's.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_ren_src
fresh_db test-src "$SDB"

make_tables() { # the tables of one case, in schema public of $SDB
	src_sql "$SDB" <<'SQL'
SET ROLE sluice;
DROP TABLE IF EXISTS t, d, r, t_renamed, s2.t2, s2.t, x CASCADE;
CREATE SCHEMA IF NOT EXISTS s2;
CREATE TABLE t (id integer PRIMARY KEY, a integer, v text);
INSERT INTO t SELECT i, i, 'v' || i FROM generate_series(1, 500) i;
CREATE TABLE d (id integer PRIMARY KEY, v text);
INSERT INTO d SELECT i, 'd' || i FROM generate_series(1, 50) i;
CREATE TABLE r (id integer PRIMARY KEY, v text);
INSERT INTO r SELECT i, 'old' || i FROM generate_series(1, 40) i;
SQL
}

case_offline() {
	local tdb=it_ren_dst_off
	fresh_db test-dst "$tdb"
	make_tables
	pipeline_file "$TMP/off.yaml" it_ren_off "$SDB" "$tdb" \
		"source.tables: { include: [public.t, public.d, public.r] }"
	sluice_ok run --once "$TMP/off.yaml"
	src_sql "$SDB" <<'SQL'
SET ROLE sluice;
UPDATE t SET v = 'before rename' WHERE id <= 10;
ALTER TABLE t RENAME TO t_renamed;
UPDATE t_renamed SET v = 'after rename' WHERE id > 490;
DELETE FROM t_renamed WHERE id = 250;
ALTER TABLE t_renamed SET SCHEMA s2;
ALTER TABLE s2.t_renamed RENAME TO t2;
INSERT INTO s2.t2 VALUES (1001, 1001, 'after the move');
DROP TABLE d;
DROP TABLE r;
CREATE TABLE r (id integer PRIMARY KEY, v text);
INSERT INTO r SELECT i, 'new' || i FROM generate_series(1, 30) i;
SQL
	sluice_ok run --once "$TMP/off.yaml"
	assert_contains "$SL_ERR" "table public.t was renamed to s2.t2 on the source" "offline: the rename is named"
	assert_contains "$SL_ERR" "table public.d is gone from the pipeline (dropped on the source)" "offline: the dropped table is named"
	assert_contains "$SL_ERR" "table public.r was dropped on the source and created again" "offline: the table created again is named"
	assert_eq "" "$(dst_sql "$tdb" "SELECT to_regclass('public.t')")" "offline: the old target name is gone"
	compare_table test-src "$SDB" test-dst "$tdb" s2 t2
	assert_eq "10 1" "$(dst_sql "$tdb" "SELECT count(*) FILTER (WHERE v = 'before rename') || ' ' || count(*) FILTER (WHERE v = 'after the move') FROM s2.t2")" \
		"offline: the updates before and after the rename arrived"
	assert_eq "50" "$(dst_sql "$tdb" "SELECT count(*) FROM public.d")" "offline: the dropped table's target rows are kept"
	local aside
	aside=$(dst_sql "$tdb" "SELECT relname FROM pg_class WHERE relname LIKE 'r\_dropped\_%' AND relkind = 'r'")
	[[ $aside =~ ^r_dropped_[0-9]{14}$ ]] || fail "offline: the old r is kept under r_dropped_<time> (target has '$aside')"
	assert_eq "40 old1" "$(dst_sql "$tdb" "SELECT count(*) || ' ' || min(v) FROM public.$aside")" "offline: ...with its old rows"
	sluice verify "$TMP/off.yaml"
	assert_eq 3 "$SL_RC" "offline: verify exits 3 (differences) while a table is gone"
	assert_contains "$SL_OUT" "GONE public.d: not compared: dropped on the source" "offline: verify names the dropped table"
	assert_contains "$SL_OUT" "wait public.r: not compared: not loaded yet" "offline: verify names the table not copied yet"
	assert_contains "$SL_OUT" "ok   s2.t2" "offline: verify compares the renamed table"
	assert_not_contains "$SL_OUT" "all tables equal" "offline: verify does not say all tables equal"
	sluice_ok status "$TMP/off.yaml"
	assert_contains "$SL_OUT" "public.d" "status names the dropped table"
	assert_contains "$SL_OUT" "gone     dropped on the source since" "status: ...as gone"
	# a streaming run copies the new r
	sluice_bg "$TMP/off.out" "$TMP/off.err" run "$TMP/off.yaml"
	wait_lines "$TMP/off.err" "backfill of public.r: complete" 1 90 "the new r is copied"
	wait_sql test-dst "$tdb" "SELECT count(*) || ' ' || min(v) FROM public.r" "30 new1" "the new r on the target"
	kill -TERM "$SL_PID"
	wait "$SL_PID" || true
	compare_table test-src "$SDB" test-dst "$tdb" public r
	sluice verify "$TMP/off.yaml"
	assert_eq 3 "$SL_RC" "offline: verify still exits 3 for the dropped table"
	assert_contains "$SL_OUT" "ok   public.r" "offline: verify compares the new r"
	assert_contains "$SL_OUT" "GONE public.d" "offline: verify still names d"
	sluice_ok reset "$TMP/off.yaml"
}

case_killed() {
	local tdb=it_ren_dst_kill
	fresh_db test-dst "$tdb"
	make_tables
	pipeline_file "$TMP/kill.yaml" it_ren_kill "$SDB" "$tdb"
	sluice_ok run --once "$TMP/kill.yaml"
	sluice_bg "$TMP/kill.out" "$TMP/kill.err" run "$TMP/kill.yaml"
	wait_lines "$TMP/kill.err" "streaming changes from slot" 1 60 "streaming"
	src_sql "$SDB" <<'SQL'
SET ROLE sluice;
UPDATE t SET v = 'x1' WHERE id <= 100;
ALTER TABLE t RENAME TO t_renamed;
UPDATE t_renamed SET v = 'x2' WHERE id > 400;
INSERT INTO t_renamed VALUES (2000, 0, 'x3');
SQL
	# the changes after the rename reach the target table under its old name, by oid
	wait_sql test-dst "$tdb" "SELECT count(*) FROM public.t WHERE v LIKE 'x_'" 201 "changes after the rename applied"
	kill -KILL "$SL_PID"
	wait "$SL_PID" || true
	src_sql "$SDB" "UPDATE t_renamed SET v = 'x4' WHERE id = 2000"
	sluice_ok run --once "$TMP/kill.yaml"
	assert_contains "$SL_ERR" "renamed to public.t_renamed" "killed: the rename is followed"
	compare_table test-src "$SDB" test-dst "$tdb" public t_renamed
	sluice verify "$TMP/kill.yaml"
	assert_eq 0 "$SL_RC" "killed: verify is clean"
	assert_contains "$SL_OUT" "all tables equal (3 compared)" "killed: verify compared the three tables"
	sluice_ok reset "$TMP/kill.yaml"
}

case_clickhouse() {
	ch_require
	local cdb=it_ren_ch
	ch_fresh_db "$cdb"
	make_tables
	pipeline_file "$TMP/ch.yaml" it_ren_ch "$SDB" "clickhouse:$cdb" \
		"source.tables: { include: [public.t] }"
	sluice_ok run --once "$TMP/ch.yaml"
	src_sql "$SDB" <<'SQL'
SET ROLE sluice;
ALTER TABLE t RENAME TO t_renamed;
UPDATE t_renamed SET v = 'after rename' WHERE id > 490;
SQL
	sluice_ok run --once "$TMP/ch.yaml"
	assert_eq "t_renamed" "$(ch_sql "SELECT name FROM system.tables WHERE database = '$cdb' ORDER BY name")" \
		"clickhouse: the table was renamed"
	assert_eq "10" "$(ch_sql "SELECT count() FROM $cdb.t_renamed FINAL WHERE v = 'after rename'")" \
		"clickhouse: the updates after the rename arrived"
	sluice verify "$TMP/ch.yaml"
	assert_eq 0 "$SL_RC" "clickhouse: verify is clean"
	assert_contains "$SL_OUT" "all tables equal (1 compared)" "clickhouse: verify compared the table"
	sluice_ok reset "$TMP/ch.yaml"
}

case_target_schema() {
	local tdb=it_ren_dst_flat
	fresh_db test-dst "$tdb"
	make_tables
	pipeline_file "$TMP/flat.yaml" it_ren_flat "$SDB" "$tdb" \
		"source.tables: { include: [public.t] }" "target.schema: flat"
	sluice_ok run --once "$TMP/flat.yaml"
	src_sql "$SDB" "ALTER TABLE t SET SCHEMA s2; UPDATE s2.t SET v = 'moved' WHERE id <= 5"
	# with target.schema, a table moved to another source schema keeps its target table
	sluice_ok run --once "$TMP/flat.yaml"
	assert_eq "5" "$(dst_sql "$tdb" "SELECT count(*) FROM flat.t WHERE v = 'moved'")" \
		"target.schema: the updates after SET SCHEMA reach flat.t"
	sluice verify "$TMP/flat.yaml"
	assert_eq 0 "$SL_RC" "target.schema: verify is clean"
	assert_contains "$SL_OUT" "ok   s2.t -> flat.t" "target.schema: verify compares s2.t with flat.t"
	src_sql "$SDB" "ALTER TABLE s2.t SET SCHEMA public"
	sluice_ok reset "$TMP/flat.yaml"
}

make_c() { # public.c of the column cases
	src_sql "$SDB" <<'SQL'
SET ROLE sluice;
DROP TABLE IF EXISTS c;
CREATE TABLE c (id integer PRIMARY KEY, a integer, b text, z integer);
INSERT INTO c SELECT i, i, 'b' || i, i FROM generate_series(1, 300) i;
SQL
}

# digest of the columns COLS of public.c on INSTANCE DB (columns the target may have beyond
# the source's are left out)
c_digest() { table_digest "$1" "$2" public c "$3"; }

case_columns() {
	local tdb=it_ren_dst_cols cols
	fresh_db test-dst "$tdb"
	make_c
	pipeline_file "$TMP/cols.yaml" it_ren_cols "$SDB" "$tdb" "source.tables: { include: [public.c] }"
	sluice_ok run --once "$TMP/cols.yaml"
	# while sluice is stopped: an update, the rename, an update of the renamed column
	src_sql "$SDB" "UPDATE c SET a = a + 1000 WHERE id <= 10; ALTER TABLE c RENAME COLUMN a TO a2;
		UPDATE c SET a2 = a2 + 1 WHERE id > 290"
	sluice_ok run --once "$TMP/cols.yaml"
	assert_contains "$SL_ERR" "table public.c: column a was renamed to a2 on the source" "columns: the offline rename is named"
	assert_eq "id a2 b z" "$(dst_sql "$tdb" "SELECT string_agg(attname, ' ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'public.c'::regclass AND attnum > 0 AND NOT attisdropped")" \
		"columns: the target column is renamed, no new one"
	cols='id, a2, b, z'
	assert_eq "$(c_digest test-src "$SDB" "$cols")" "$(c_digest test-dst "$tdb" "$cols")" "columns: values kept under the new name, both updates applied"
	# while a run streams: a rename, and a drop plus an add of the same type at the same
	# place (not a rename: the dropped column's values must not reach the new one)
	sluice_bg "$TMP/cols.out" "$TMP/cols.err" run "$TMP/cols.yaml"
	wait_lines "$TMP/cols.err" "streaming changes from slot" 1 60 "streaming"
	src_sql "$SDB" "ALTER TABLE c RENAME COLUMN b TO b2; UPDATE c SET b2 = 'x' WHERE id <= 3;
		ALTER TABLE c DROP COLUMN z; ALTER TABLE c ADD COLUMN z2 integer; UPDATE c SET b2 = 'y', z2 = -1 WHERE id = 300"
	wait_sql test-dst "$tdb" "SELECT count(*) FILTER (WHERE b2 = 'x') || ' ' || count(*) FILTER (WHERE b2 = 'y') FROM public.c" "3 1" "the changes after the rename"
	kill -KILL "$SL_PID"
	wait "$SL_PID" || true
	assert_contains "$(cat "$TMP/cols.err")" "column b was renamed to b2" "columns: the streaming rename is named"
	assert_not_contains "$(cat "$TMP/cols.err")" "column z was renamed" "columns: a drop and an add are not a rename"
	src_sql "$SDB" "UPDATE c SET b2 = 'after the kill' WHERE id = 4"
	sluice_ok run --once "$TMP/cols.yaml"
	assert_eq "1 298" "$(dst_sql "$tdb" "SELECT count(z2) || ' ' || count(z) FROM public.c")" \
		"columns: the new column has only its own value, the dropped one is kept (NULL in the two rows changed since)"
	cols='id, a2, b2, z2'
	assert_eq "$(c_digest test-src "$SDB" "$cols")" "$(c_digest test-dst "$tdb" "$cols")" "columns: equal after the SIGKILL"
	sluice verify "$TMP/cols.yaml"
	assert_eq 0 "$SL_RC" "columns: verify is clean"
	sluice_ok reset "$TMP/cols.yaml"
}

case_ch_columns() {
	ch_require
	local cdb=it_ren_chcols
	ch_fresh_db "$cdb"
	make_c
	pipeline_file "$TMP/chc.yaml" it_ren_chc "$SDB" "clickhouse:$cdb" "source.tables: { include: [public.c] }"
	sluice_ok run --once "$TMP/chc.yaml"
	sluice_bg "$TMP/chc.out" "$TMP/chc.err" run "$TMP/chc.yaml"
	wait_lines "$TMP/chc.err" "streaming changes from slot" 1 60 "streaming"
	src_sql "$SDB" "ALTER TABLE c RENAME COLUMN a TO a2; UPDATE c SET a2 = -a2 WHERE id <= 5"
	# ClickHouse 18.16 has no RENAME COLUMN: a2 is added and the table copied again
	wait_lines "$TMP/chc.err" "backfill of public.c: complete" 1 120 "the table is copied again"
	kill -TERM "$SL_PID"
	wait "$SL_PID" || true
	assert_contains "$(cat "$TMP/chc.err")" "cannot rename a column (20.4+)" "clickhouse columns: said why the table is copied"
	assert_eq "300 5" "$(ch_sql "SELECT concat(toString(count()), ' ', toString(countIf(a2 < 0))) FROM $cdb.c FINAL WHERE _sluice_deleted = 0")" \
		"clickhouse columns: every row has the renamed column's value"
	sluice verify "$TMP/chc.yaml"
	assert_eq 0 "$SL_RC" "clickhouse columns: verify is clean"
	sluice_ok reset "$TMP/chc.yaml"
}

# a key column renamed while a run streams (nothing of the table pending): the run discovers
# the tables again and renames the target's column, key and values kept
case_key_column() {
	local tdb=it_ren_dst_key
	fresh_db test-dst "$tdb"
	make_c
	pipeline_file "$TMP/key.yaml" it_ren_key "$SDB" "$tdb" "source.tables: { include: [public.c] }"
	sluice_ok run --once "$TMP/key.yaml"
	sluice_bg "$TMP/key.out" "$TMP/key.err" run "$TMP/key.yaml"
	wait_lines "$TMP/key.err" "streaming changes from slot" 1 60 "streaming"
	src_sql "$SDB" "ALTER TABLE c RENAME COLUMN id TO ident; UPDATE c SET b = 'k' WHERE ident <= 7; DELETE FROM c WHERE ident = 8"
	wait_sql test-dst "$tdb" "SELECT count(*) FILTER (WHERE b = 'k') || ' ' || count(*) FROM public.c" "7 299" "the changes after the key column's rename"
	kill -TERM "$SL_PID"
	wait "$SL_PID" || true
	compare_table test-src "$SDB" test-dst "$tdb" public c
	sluice verify "$TMP/key.yaml"
	assert_eq 0 "$SL_RC" "key column: verify is clean"
	# while sluice is stopped, with changes before the rename still to stream: the key each
	# change names is the one its Relation message flags, so nothing waits for a discovery
	src_sql "$SDB" "UPDATE c SET b = 'before' WHERE ident <= 3; DELETE FROM c WHERE ident = 9;
		ALTER TABLE c RENAME COLUMN ident TO ident2; UPDATE c SET b = 'after' WHERE ident2 BETWEEN 4 AND 6;
		DELETE FROM c WHERE ident2 = 10"
	sluice_ok run --once "$TMP/key.yaml"
	compare_table test-src "$SDB" test-dst "$tdb" public c
	sluice verify "$TMP/key.yaml"
	assert_eq 0 "$SL_RC" "key column renamed while stopped: verify is clean"
	sluice_ok reset "$TMP/key.yaml"
}

# a crash between the target's rename and the state's (simulated: the target renamed by hand,
# the state left as it was): the next run finds the rename done and goes on
case_crash_between() {
	local tdb=it_ren_dst_crash
	fresh_db test-dst "$tdb"
	make_tables
	make_c
	pipeline_file "$TMP/crash.yaml" it_ren_crash "$SDB" "$tdb" "source.tables: { include: [public.t, public.c] }"
	sluice_ok run --once "$TMP/crash.yaml"
	src_sql "$SDB" "ALTER TABLE t RENAME TO t_renamed; UPDATE t_renamed SET v = 'after' WHERE id <= 3;
		ALTER TABLE c RENAME COLUMN a TO a2; UPDATE c SET a2 = -1 WHERE id <= 4"
	dst_sql "$tdb" "ALTER TABLE public.t RENAME TO t_renamed; ALTER TABLE public.c RENAME COLUMN a TO a2"
	sluice_ok run --once "$TMP/crash.yaml"
	compare_table test-src "$SDB" test-dst "$tdb" public t_renamed
	compare_table test-src "$SDB" test-dst "$tdb" public c
	sluice verify "$TMP/crash.yaml"
	assert_eq 0 "$SL_RC" "crash between: verify is clean"
	sluice_ok reset "$TMP/crash.yaml"
}

case_nothing() {
	local tdb=it_ren_dst_none
	fresh_db test-dst "$tdb"
	make_tables
	pipeline_file "$TMP/none.yaml" it_ren_none "$SDB" "$tdb" \
		"source.tables: { include: [public.d, public.r] }"
	sluice_ok run --once "$TMP/none.yaml"
	src_sql "$SDB" "DROP TABLE d; ALTER TABLE r RENAME TO x"
	# x is not selected by name; the pipeline follows it by identity, d is gone
	sluice verify "$TMP/none.yaml"
	assert_eq 3 "$SL_RC" "nothing: verify exits 3"
	assert_contains "$SL_OUT" "MOVED public.r: not compared: renamed to public.x" "nothing: verify names the rename not followed yet"
	assert_contains "$SL_OUT" "GONE public.d" "nothing: verify names the dropped table"
	sluice_ok status "$TMP/none.yaml"
	assert_contains "$SL_OUT" "renamed  to public.x on the source" "nothing: status names the rename (beyond include)"
	src_sql "$SDB" "DROP TABLE x"
	sluice verify "$TMP/none.yaml"
	assert_eq 3 "$SL_RC" "nothing: verify exits 3 when nothing is left"
	assert_not_contains "$SL_OUT" "all tables equal" "nothing: no 'all tables equal' when nothing was compared"
	sluice_ok reset "$TMP/none.yaml"
}

run_case case_offline
run_case case_killed
run_case case_clickhouse
run_case case_target_schema
run_case case_columns
run_case case_ch_columns
run_case case_key_column
run_case case_crash_between
run_case case_nothing
cases_done
