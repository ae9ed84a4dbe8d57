#!/usr/bin/env bash
# Resume and restart paths of a PostgreSQL source (docs/ARCHITECTURE.md "Resume and restart",
# "Consistency of the snapshot" step 1, "Positions"). Each case ends either in one clear error
# line that names the fix, with nothing created or changed, or in a correct run: the target
# equals the source (SQL digests of both servers), a keyless insert-only table included, so a
# change lost or applied twice would show.
#   another_source  a state store naming another source database for the same pipeline name is
#                   refused ("use another state.url"); no publication, slot or table is made
#                   for the new source, and the first pipeline goes on undisturbed.
#   unknown_slot    a slot with the pipeline's name that the state store does not know is
#                   refused, and left alone (it may belong to something else); once the user
#                   drops it (the fix in the error), the run succeeds.
#   slot_dropped    the slot missing while the state says CDC runs: refused (changes are lost),
#                   no new slot made silently; `reset` + dropping the tables starts over.
#   slot_crash      a crash between creating the slot and recording its position, reproduced
#                   at that moment: sluice is stopped (SIGSTOP) while CREATE_REPLICATION_SLOT
#                   waits for an open transaction, the slot is then completed by the server,
#                   and sluice is killed (SIGKILL) before it reads the answer. The state then
#                   says "slot being created" and an orphan slot exists; the next run drops it,
#                   takes a new consistent point and loads everything.
#   stale_epoch     a position in the target's _sluice.positions stored under another epoch
#                   (another snapshot of a pipeline with the same name, on a source with higher
#                   LSNs: forged by hand) is ignored: CDC starts at the consistent point and
#                   loses nothing.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
export SLUICE_CMD_TIMEOUT=120

SDB=it_rpath_src
SDB2=it_rpath_src2
fresh_db test-src "$SDB"
fresh_db test-src "$SDB2"
for db in "$SDB" "$SDB2"; do
	src_sql "$db" <<'SQL'
SET ROLE sluice;
CREATE TABLE t (id integer PRIMARY KEY, v text);
INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 2000) i;
CREATE TABLE ev (n integer, note text);   -- keyless, insert-only: a duplicate or a gap shows
INSERT INTO ev SELECT i, 'ev ' || i FROM generate_series(1, 500) i;
CREATE TABLE blocker (x integer);         -- written by the transaction that holds slot creation
SQL
done

# write_some DB: a transaction of inserts, updates and deletes on t and inserts into ev.
write_some() {
	src_sql "$1" <<'SQL'
BEGIN;
INSERT INTO t SELECT max(id) + g, 'new ' || g FROM t, generate_series(1, 50) g GROUP BY g;
UPDATE t SET v = v || ' upd' WHERE id % 97 = 0;
DELETE FROM t WHERE id IN (SELECT id FROM t WHERE id % 89 = 0 LIMIT 5);
INSERT INTO ev SELECT max(n) + g, 'later ' || g FROM ev, generate_series(1, 30) g GROUP BY g;
COMMIT;
SQL
}

equal_to_source() { # SRCDB TDB
	compare_table test-src "$1" test-dst "$2" public t
	compare_table test-src "$1" test-dst "$2" public ev
}

# state_sql NAME SQL: query the pipeline's SQLite state store.
state_sql() { sqlite3 "$TMP/$1.state.db" "$2"; }

slot_count() { # SLOT [DB]
	# shellcheck disable=SC2016 # '$2' is inside a double-quoted string
	src_sql postgres "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$1'${2:+ AND database = '$2'}"
}

target_tables() { # TDB: user tables on the target, outside _sluice
	dst_sql "$1" "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', '_sluice')
	    AND n.nspname !~ '^pg_'"
}

# ------------------------------------------------------------------- cases ---

case_another_source() {
	local tdb=it_rpath_dst_a tdb2=it_rpath_dst_a2
	fresh_db test-dst "$tdb"
	fresh_db test-dst "$tdb2"
	pipeline_file "$TMP/a.yaml" it_rpath_a "$SDB" "$tdb"
	sluice_ok run --once "$TMP/a.yaml"
	# same name, same state store, another source database (and another target)
	pipeline_file "$TMP/a2.yaml" it_rpath_a "$SDB2" "$tdb2"
	local state_before
	state_before=$(state_sql it_rpath_a "SELECT identity, position, snapshot_done FROM sluice_pipeline")
	sluice run --once "$TMP/a2.yaml"
	assert_sluice_error 1 "another source" "$SDB" "$SDB2" "state.url"
	assert_eq 0 "$(src_sql "$SDB2" "SELECT count(*) FROM pg_publication")" \
		"another source: no publication created on the refused source"
	assert_eq 0 "$(slot_count sluice_it_rpath_a "$SDB2")" "another source: no slot created in the refused source"
	assert_eq 0 "$(target_tables "$tdb2")" "another source: no table created on its target"
	assert_eq "$state_before" "$(state_sql it_rpath_a "SELECT identity, position, snapshot_done FROM sluice_pipeline")" \
		"another source: the state store is unchanged"
	# the first pipeline goes on, nothing lost
	write_some "$SDB"
	sluice_ok run --once "$TMP/a.yaml"
	equal_to_source "$SDB" "$tdb"
	sluice_ok reset "$TMP/a.yaml"
}

case_unknown_slot() {
	local tdb=it_rpath_dst_b slot=sluice_it_rpath_b
	fresh_db test-dst "$tdb"
	pipeline_file "$TMP/b.yaml" it_rpath_b "$SDB" "$tdb"
	src_sql "$SDB" "SELECT 1 FROM pg_create_logical_replication_slot('$slot', 'pgoutput')" >/dev/null
	local lsn
	lsn=$(src_sql postgres "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$slot'")
	sluice run --once "$TMP/b.yaml"
	assert_sluice_error 1 "$slot" "no record" "pg_drop_replication_slot('$slot')"
	assert_eq "1 $lsn" "$(src_sql postgres "SELECT count(*) || ' ' || max(confirmed_flush_lsn::text) FROM pg_replication_slots WHERE slot_name = '$slot'")" \
		"unknown slot: the slot is left as it was (not dropped, not used)"
	assert_eq 0 "$(target_tables "$tdb")" "unknown slot: no table created on the target"
	assert_eq 0 "$(state_sql it_rpath_b "SELECT count(*) FROM sluice_pipeline")" "unknown slot: nothing recorded in the state store"
	# the fix the error names
	src_sql "$SDB" "SELECT pg_drop_replication_slot('$slot')" >/dev/null
	sluice_ok run --once "$TMP/b.yaml"
	write_some "$SDB"
	sluice_ok run --once "$TMP/b.yaml"
	equal_to_source "$SDB" "$tdb"
	sluice_ok reset "$TMP/b.yaml"
}

case_slot_dropped() {
	local tdb=it_rpath_dst_c slot=sluice_it_rpath_c
	fresh_db test-dst "$tdb"
	pipeline_file "$TMP/c.yaml" it_rpath_c "$SDB" "$tdb"
	sluice_ok run --once "$TMP/c.yaml"
	write_some "$SDB"
	sluice_ok run --once "$TMP/c.yaml" # CDC has applied something
	drop_slot test-src "$slot"
	assert_eq 0 "$(slot_count "$slot")" "slot dropped by hand"
	write_some "$SDB" # changes the dropped slot would have carried
	local before
	before=$(table_digest test-dst "$tdb" public t "id, v")
	sluice run --once "$TMP/c.yaml"
	assert_sluice_error 1 "$slot" "dropped" "lost" "sluice reset"
	assert_eq 0 "$(slot_count "$slot")" "slot dropped: no new slot created silently"
	assert_eq "$before" "$(table_digest test-dst "$tdb" public t "id, v")" "slot dropped: target untouched"
	sluice run --once "$TMP/c.yaml"
	assert_sluice_error 1 "$slot" "dropped" # and again: it does not "heal" by itself
	# the documented way out: reset, drop the target tables, run again
	sluice_ok reset "$TMP/c.yaml"
	dst_sql "$tdb" "DROP TABLE t, ev"
	sluice_ok run --once "$TMP/c.yaml"
	write_some "$SDB"
	sluice_ok run --once "$TMP/c.yaml"
	equal_to_source "$SDB" "$tdb"
	sluice_ok reset "$TMP/c.yaml"
}

case_slot_crash() {
	local tdb=it_rpath_dst_d slot=sluice_it_rpath_d i
	fresh_db test-dst "$tdb"
	pipeline_file "$TMP/d.yaml" it_rpath_d "$SDB" "$tdb"
	# An open transaction with an xid: CREATE_REPLICATION_SLOT waits for it to end.
	(printf "SET application_name = 'it_rpath_blocker';\nBEGIN;\nINSERT INTO blocker VALUES (1);\nSELECT pg_sleep(120);\n" |
		src_sql "$SDB" >/dev/null 2>&1 || true) &
	local blocker=$!
	BG_PIDS+=("$blocker")
	for ((i = 0; i < 100; i++)); do
		[[ $(src_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'it_rpath_blocker' AND query LIKE '%pg_sleep%'") == 1 ]] && break
		sleep 0.1
	done
	((i < 100)) || fail "slot crash: the blocking transaction did not start"
	sluice_bg "$TMP/d.out" "$TMP/d.err" run --once "$TMP/d.yaml"
	local pid=$SL_PID waiting=0
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		if [[ $(src_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'
		          AND state = 'active' AND query LIKE 'CREATE_REPLICATION_SLOT%$slot%'") == 1 ]]; then
			waiting=1
			break
		fi
		sleep 0.1
	done
	if ((!waiting)); then
		cat "$TMP/d.err" >&2
		fail "slot crash: never saw CREATE_REPLICATION_SLOT waiting for the open transaction"
	fi
	kill -STOP "$pid"
	# what is recorded while the slot is being created: the intent, without a position
	assert_eq "|0" "$(state_sql it_rpath_d "SELECT position || '|' || snapshot_done FROM sluice_pipeline")" \
		"slot crash: the state records the slot being created, with no position yet"
	src_sql postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'it_rpath_blocker'" >/dev/null
	wait "$blocker" 2>/dev/null || true
	# the server finishes creating the slot (persistent, with its consistent point) and waits,
	# "idle in transaction" (the exported snapshot), for sluice to read the answer
	local orphan=""
	for ((i = 0; i < 300; i++)); do
		orphan=$(src_sql postgres "SELECT coalesce(confirmed_flush_lsn::text, '') FROM pg_replication_slots
		           WHERE slot_name = '$slot' AND NOT temporary")
		[[ -n $orphan && $(src_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'
		          AND state LIKE 'idle%' AND query LIKE 'CREATE_REPLICATION_SLOT%$slot%'") == 1 ]] && break
		sleep 0.1
	done
	[[ -n $orphan ]] || fail "slot crash: the server never finished creating the slot"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		[[ $(src_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'
		      AND query LIKE 'CREATE_REPLICATION_SLOT%$slot%'") == 0 ]] && break
		sleep 0.1
	done
	assert_eq "1 0" "$(src_sql postgres "SELECT count(*) || ' ' || count(*) FILTER (WHERE active) FROM pg_replication_slots WHERE slot_name = '$slot'")" \
		"slot crash: the orphan slot outlives the killed sluice"
	assert_eq "|0" "$(state_sql it_rpath_d "SELECT position || '|' || snapshot_done FROM sluice_pipeline")" \
		"slot crash: the state still has no position for it"
	log "slot crash: orphan slot at $orphan, state has no position"
	write_some "$SDB" # after the orphan's point: must arrive either way
	sluice_ok run --once "$TMP/d.yaml"
	local point
	point=$(state_sql it_rpath_d "SELECT position FROM sluice_pipeline WHERE snapshot_done = 1")
	[[ -n $point && $point != "$orphan" ]] || fail "slot crash: expected a new consistent point, not '$point' (orphan $orphan)"
	# the new slot starts at the recorded point; the run's catch-up may have confirmed WAL
	# written after it (a running-transactions record the server logs on its own)
	assert_eq "true true" "$(src_sql postgres "SELECT ('$point'::pg_lsn > '$orphan'::pg_lsn) || ' ' ||
	          (confirmed_flush_lsn >= '$point'::pg_lsn) FROM pg_replication_slots WHERE slot_name = '$slot'")" \
		"slot crash: the slot now is the one recorded (recreated at the new point)"
	equal_to_source "$SDB" "$tdb"
	write_some "$SDB"
	sluice_ok run --once "$TMP/d.yaml"
	equal_to_source "$SDB" "$tdb"
	sluice_ok reset "$TMP/d.yaml"
}

case_stale_epoch() {
	local tdb=it_rpath_dst_e
	fresh_db test-dst "$tdb"
	pipeline_file "$TMP/e.yaml" it_rpath_e "$SDB" "$tdb"
	sluice_ok run --once "$TMP/e.yaml"
	write_some "$SDB"
	sluice_ok run --once "$TMP/e.yaml"
	local epoch
	epoch=$(state_sql it_rpath_e "SELECT position FROM sluice_pipeline")
	assert_eq "1 $epoch" "$(dst_sql "$tdb" "SELECT count(*) || ' ' || max(epoch) FROM _sluice.positions WHERE pipeline = 'it_rpath_e'")" \
		"stale epoch: CDC stored its position under the snapshot's consistent point"
	# another snapshot of a pipeline with this name, on a source far ahead in the WAL
	dst_sql "$tdb" "UPDATE _sluice.positions SET epoch = 'FF/0', position = 'FF/FFFFFF00',
	  version = x'000000FFFFFFFF00'::bigint WHERE pipeline = 'it_rpath_e'"
	write_some "$SDB"
	sluice_ok run --once "$TMP/e.yaml"
	equal_to_source "$SDB" "$tdb"
	assert_eq "1 $epoch" "$(dst_sql "$tdb" "SELECT count(*) || ' ' || max(epoch) FROM _sluice.positions WHERE pipeline = 'it_rpath_e'")" \
		"stale epoch: the position is stored under this snapshot's epoch again"
	sluice_ok reset "$TMP/e.yaml"
}

for c in case_another_source case_unknown_slot case_slot_dropped case_slot_crash case_stale_epoch; do
	log "$c"
	run_case "$c"
done
cases_done
