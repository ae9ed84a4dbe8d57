#!/usr/bin/env bash
# Resume: a snapshot killed with SIGKILL in the middle finishes on the next `run --once`, and the
# target then equals the source; a further run is a no-op. A run stopped with SIGINT exits 130
# within a few seconds, and the next run finishes it. The "start over" path: a run killed while a
# keyless table is unfinished takes a new consistent point and reloads everything. Last, SIGINT
# while a primary key build waits for a lock held by another session must still stop sluice.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_resume_src
fresh_db test-src "$SDB"
BIG_ROWS=1500000
log "loading $BIG_ROWS rows into test-src/$SDB"
src_sql "$SDB" <<SQL
SET ROLE sluice;
CREATE TABLE big (id bigint PRIMARY KEY, v text, n integer, ts timestamptz);
INSERT INTO big
  SELECT i, md5(i::text) || ' row ' || i, i % 1000, '2024-01-01'::timestamptz + i * interval '1 s'
  FROM generate_series(1, $BIG_ROWS) i;
CREATE TABLE small (id integer PRIMARY KEY, v text);
INSERT INTO small SELECT i, 'small ' || i FROM generate_series(1, 1000) i;
CREATE TABLE heap (v text, n integer);   -- keyless; loaded only by the last scenario
RESET ROLE;
ANALYZE;
SQL

# grow_big: double public.big (used when a run finished before it could be interrupted).
grow_big() {
	log "the run finished before it was interrupted: doubling public.big ($BIG_ROWS rows)"
	src_sql "$SDB" "INSERT INTO big SELECT id + $BIG_ROWS, v, n, ts FROM big; ANALYZE big"
	BIG_ROWS=$((BIG_ROWS * 2))
}

# interrupt_run SIGNAL PIPE TDB TABLE: start `run --once`, wait until a COPY into TABLE is
# running on the target database TDB (so the snapshot is surely under way and TABLE not done),
# let it load for another 0.5 s (some chunks commit), then send SIGNAL. Returns 0 when the
# signal hit a running sluice (sets RC and STOP_SECONDS: time from the signal to its exit;
# a sluice still running 20 s after the signal is killed and RC is "hung"), 1 when sluice
# exited before it could be interrupted.
interrupt_run() {
	local sig=$1 pipe=$2 tdb=$3 table=$4 t0 i copying=0
	sluice_bg "$TMP/bg.out" "$TMP/bg.err" run --once "$pipe"
	for ((i = 0; i < 600; i++)); do
		kill -0 "$SL_PID" 2>/dev/null || break
		if [[ $(dst_sql "$tdb" "SELECT count(*) FROM pg_stat_activity
		         WHERE datname = current_database() AND state = 'active'
		           AND query LIKE 'COPY %$table%FROM STDIN%'") != 0 ]]; then
			copying=1
			break
		fi
		sleep 0.1
	done
	((copying)) && sleep 0.5
	if ! kill -0 "$SL_PID" 2>/dev/null; then
		RC=0
		wait "$SL_PID" || RC=$?
		BG_PIDS=()
		log "run exited by itself with status $RC before it could be interrupted"
		return 1
	fi
	((copying)) || fail "no COPY into $table seen on the target within 60 s"
	t0=$EPOCHREALTIME
	kill -s "$sig" "$SL_PID"
	for ((i = 0; i < 200; i++)); do
		kill -0 "$SL_PID" 2>/dev/null || break
		sleep 0.1
	done
	STOP_SECONDS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
	if kill -0 "$SL_PID" 2>/dev/null; then
		kill -KILL "$SL_PID"
		wait "$SL_PID" || true
		RC=hung
	else
		RC=0
		wait "$SL_PID" || RC=$?
	fi
	BG_PIDS=()
	return 0
}

# status_of PIPE: `sluice status` output (fails the test when status fails).
status_of() {
	sluice_ok status "$1"
	printf '%s\n' "$SL_OUT"
}

check_equal() { # PIPE TDB
	sluice_ok verify "$1"
	assert_contains "$SL_OUT" "ok   public.big -> public.big: $BIG_ROWS rows" "verify: big"
	assert_contains "$SL_OUT" "ok   public.small -> public.small: 1000 rows" "verify: small"
	assert_contains "$SL_OUT" "all tables equal" "verify: all tables equal"
	compare_table test-src "$SDB" test-dst "$2" public big
	compare_table test-src "$SDB" test-dst "$2" public small
}

# ------------------------------------------------------------------ SIGKILL ---
TDB=it_resume_dst
PIPE=$TMP/kill.yaml
pipeline_file "$PIPE" it_resume_kill "$SDB" "$TDB" \
	"snapshot: { parallelism: 2, chunk_size: 4MiB }" "source.tables: { exclude: [public.heap] }"
killed=0
for attempt in 1 2 3; do
	fresh_db test-dst "$TDB"
	rm -f "$TMP/it_resume_kill.state.db"
	if interrupt_run KILL "$PIPE" "$TDB" big; then
		assert_eq 137 "$RC" "SIGKILL: exit status of the killed run"
		[[ -f $TMP/it_resume_kill.state.db ]] || fail "SIGKILL: no state file although the snapshot was loading"
		st=$(status_of "$PIPE")
		if [[ $st == *"snapshot: incomplete"* ]] && ! grep -Eq 'public\.big +done' <<<"$st"; then
			killed=1
			break
		fi
		log "killed, but status says: $st"
	fi
	sluice reset "$PIPE"
	grow_big
done
((killed)) || fail "could not interrupt a snapshot in 3 attempts"
log "killed mid-snapshot; target has $(dst_sql "$TDB" "SELECT count(*) FROM big") of $BIG_ROWS rows in big"
assert_contains "$st" "public.big" "status after the kill lists public.big"

t0=$SECONDS
sluice_ok run --once "$PIPE"
log "resumed run took $((SECONDS - t0))s"
assert_contains "$SL_ERR" "resum" "the second run resumes the interrupted snapshot"
st=$(status_of "$PIPE")
assert_contains "$st" "snapshot: complete" "status after the resumed run"
assert_contains "$st" "$(printf '  %-40s %-8s %s rows' public.big done "$BIG_ROWS")" "status: big done"
assert_contains "$st" "$(printf '  %-40s %-8s %s rows' public.small done 1000)" "status: small done"
check_equal "$PIPE" "$TDB"

point=$(printf '%s\n' "$st" | grep 'consistent point')
before=$(table_digest test-dst "$TDB" public big "id, v, n, ts")
sluice_ok run --once "$PIPE"
assert_contains "$SL_ERR" "already complete" "a run after completion is a no-op"
assert_not_contains "$SL_ERR" "emptied" "a no-op run must not empty tables"
assert_eq "$point" "$(status_of "$PIPE" | grep 'consistent point')" "the consistent point does not move"
assert_eq "$before" "$(table_digest test-dst "$TDB" public big "id, v, n, ts")" "target unchanged by the no-op run"
sluice_ok reset "$PIPE"

# ------------------------------------------------------------------- SIGINT ---
TDB2=it_resume_dst_int
PIPE2=$TMP/int.yaml
pipeline_file "$PIPE2" it_resume_int "$SDB" "$TDB2" \
	"snapshot: { parallelism: 2, chunk_size: 4MiB }" "source.tables: { exclude: [public.heap] }"
stopped=0
for attempt in 1 2 3; do
	fresh_db test-dst "$TDB2"
	rm -f "$TMP/it_resume_int.state.db"
	if interrupt_run INT "$PIPE2" "$TDB2" big; then
		stopped=1
		break
	fi
	sluice reset "$PIPE2"
	grow_big
done
((stopped)) || fail "could not interrupt a snapshot with SIGINT in 3 attempts"
log "SIGINT: exit $RC after ${STOP_SECONDS}s"
assert_eq 130 "$RC" "SIGINT: exit status"
awk -v s="$STOP_SECONDS" 'BEGIN { exit !(s < 5) }' || fail "SIGINT: sluice took ${STOP_SECONDS}s to stop (more than 5 s)"
SL_RC=$RC SL_OUT=$(<"$TMP/bg.out") SL_ERR=$(<"$TMP/bg.err")
assert_sluice_error 130
st=$(status_of "$PIPE2")
assert_contains "$st" "snapshot: incomplete" "status after SIGINT"
sluice_ok run --once "$PIPE2"
assert_contains "$(status_of "$PIPE2")" "snapshot: complete" "status after the run following SIGINT"
check_equal "$PIPE2" "$TDB2"
sluice_ok reset "$PIPE2"

# ---------------------------------------------- keyless table: start over ---
# A keyless table cannot converge from a fresh snapshot, so an interrupted one makes the next
# run take a new consistent point and reload every table.
src_sql "$SDB" "INSERT INTO heap SELECT md5(i::text), i FROM generate_series(1, $BIG_ROWS) i; ANALYZE heap"
TDB3=it_resume_dst_heap
PIPE3=$TMP/heap.yaml
pipeline_file "$PIPE3" it_resume_heap "$SDB" "$TDB3" \
	"snapshot: { parallelism: 2, chunk_size: 4MiB }" "source.tables: { include: [public.heap, public.small] }"
stopped=0
for attempt in 1 2 3; do
	fresh_db test-dst "$TDB3"
	rm -f "$TMP/it_resume_heap.state.db"
	if interrupt_run KILL "$PIPE3" "$TDB3" heap && st=$(status_of "$PIPE3") &&
		[[ $st == *"snapshot: incomplete"* ]] && ! grep -Eq 'public\.heap +done' <<<"$st"; then
		stopped=1
		break
	fi
	sluice reset "$PIPE3"
	log "heap finished before the kill: doubling it"
	src_sql "$SDB" "INSERT INTO heap SELECT * FROM heap; ANALYZE heap"
done
((stopped)) || fail "could not interrupt the keyless snapshot in 3 attempts"
point1=$(status_of "$PIPE3" | grep 'consistent point')
sluice_ok run --once "$PIPE3"
assert_contains "$SL_ERR" "starts over" "an unfinished keyless table makes the snapshot start over"
point2=$(status_of "$PIPE3" | grep 'consistent point')
[[ $point1 != "$point2" ]] || fail "starting over must take a new consistent point ($point1)"
sluice_ok verify "$PIPE3"
assert_contains "$SL_OUT" "all tables equal" "verify after starting over"
compare_table test-src "$SDB" test-dst "$TDB3" public heap
compare_table test-src "$SDB" test-dst "$TDB3" public small
sluice_ok reset "$PIPE3"

# ----------------------------------- SIGINT while a statement waits on the target ---
# The target table exists empty (sluice uses it as is) and another session holds a lock on it
# that COPY does not conflict with but ADD PRIMARY KEY does, so the load finishes and the
# primary key build waits. SIGINT must still stop sluice within a few seconds (the statement
# cancelled), not when the other session lets go.
TDB4=it_resume_dst_lock
PIPE4=$TMP/lock.yaml
fresh_db test-dst "$TDB4"
dst_sql "$TDB4" "SET ROLE sluice; CREATE TABLE small (id integer, v text)"
pipeline_file "$PIPE4" it_resume_lock "$SDB" "$TDB4" "source.tables: { include: [public.small] }"
(printf "SET application_name = 'it_resume_blocker';\nBEGIN;\nSELECT count(*) FROM small;\nSELECT pg_sleep(300);\n" |
	dst_sql "$TDB4" >/dev/null 2>&1 || true) &
BLOCKER=$!
BG_PIDS+=("$BLOCKER")
unblock() {
	dst_sql "$TDB4" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'it_resume_blocker'" >/dev/null
	wait "$BLOCKER" 2>/dev/null || true
}
for _ in $(seq 1 100); do
	[[ $(dst_sql "$TDB4" "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'it_resume_blocker' AND query LIKE '%pg_sleep%'") == 1 ]] && break
	sleep 0.1
done
sluice_bg "$TMP/lock.out" "$TMP/lock.err" run --once "$PIPE4"
waiting=0
for _ in $(seq 1 300); do
	kill -0 "$SL_PID" 2>/dev/null || break
	if [[ $(dst_sql "$TDB4" "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
	          AND query LIKE 'ALTER TABLE %small% ADD PRIMARY KEY%' AND wait_event_type = 'Lock'") != 0 ]]; then
		waiting=1
		break
	fi
	sleep 0.1
done
if ((!waiting)); then
	unblock
	SL_RC=$(wait "$SL_PID"; echo $?) SL_OUT=$(<"$TMP/lock.out") SL_ERR=$(<"$TMP/lock.err")
	sluice_dump
	fail "the primary key build of public.small never waited for the blocking session"
fi
t0=$EPOCHREALTIME
kill -INT "$SL_PID"
for _ in $(seq 1 100); do
	kill -0 "$SL_PID" 2>/dev/null || break
	sleep 0.1
done
took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
if kill -0 "$SL_PID" 2>/dev/null; then
	kill -KILL "$SL_PID"
	wait "$SL_PID" || true
	BG_PIDS=("$BLOCKER")
	unblock
	fail "SIGINT while ADD PRIMARY KEY waits for a lock: sluice still running after ${took}s (the in-flight target statement is not cancelled)"
fi
RC=0
wait "$SL_PID" || RC=$?
BG_PIDS=("$BLOCKER")
log "SIGINT during a blocked primary key build: exit $RC after ${took}s"
assert_eq 130 "$RC" "SIGINT during a blocked primary key build: exit status"
unblock
sluice_ok run --once "$PIPE4"
sluice_ok verify "$PIPE4"
assert_contains "$SL_OUT" "all tables equal" "verify after the blocked run"
assert_eq "id" "$(primary_key test-dst "$TDB4" public small)" "primary key added on the rerun"
sluice_ok reset "$PIPE4"
pass
