#!/usr/bin/env bash
# The buffer (buffer: { url: file://... }), PostgreSQL -> PostgreSQL, with pgbench writing:
#   - a 30 s target outage: sluice keeps reading the source into the buffer (the slot's
#     confirmed_flush_lsn moves on while the target is down, so WAL is not held back), `status`
#     shows the buffer's depth and age; the agent is then killed (the changes the slot let go of
#     are only in the buffer) and started again once the target is back: everything is applied: every
#     pgbench table equals the source by a digest psql computes on each server (the keyless,
#     insert-only pgbench_history included, so a row lost or applied twice shows) and `sluice
#     verify` agrees; the applied segments are deleted;
#   - SIGKILL of the agent three times while pgbench writes (segments half written, segments
#     half applied): the same digests afterwards;
#   - buffer.max_size: with the target down the buffer stops at about max_size, says it is
#     full, and the source waits (its slot stops moving) until the target is back;
#   - bad settings: an unknown scheme, a buffer that cannot be written (sluice check).
# Stops and restarts test-dst: run under the exclusive lock (RUN_SERIAL).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_buf_src
TDB=it_buf_dst
SLOT=sluice_it_buf
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
PGBENCH=$(ls /usr/lib/postgresql/*/bin/pgbench | tail -1)
SPORT=$(port_of test-src)
BUF=$TMP/buf
mkdir -p "$BUF"
PGPASSWORD=$SL_PG_PASSWORD "$PGBENCH" -q -i -s 1 -h 127.0.0.1 -p "$SPORT" -U sluice "$SDB" >/dev/null 2>&1 ||
	fail "pgbench -i failed"
src_sql "$SDB" "ALTER TABLE pgbench_history REPLICA IDENTITY FULL"
PIPE=$TMP/buf.yaml
MPORT=$(sf_free_port)
pipeline_file "$PIPE" it_buf "$SDB" "$TDB" "source.heartbeat: 1s" \
	"buffer: { url: file://$BUF, segment_size: 64KiB }" "apply: { max_delay: 200ms, max_group_bytes: 1KiB }" \
	"observability: { listen: \"127.0.0.1:$MPORT\" }"
metric() { # NAME: its value summed over its series in /metrics, or nothing
	curl -sS "http://127.0.0.1:$MPORT/metrics" |
		awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $NF; f = 1 } END { if (f) print s }'
}
sluice_ok check "$PIPE"
assert_contains "$SL_OUT" "buffer" "check names the buffer"
sluice_ok run --once "$PIPE"

pgbench_bg() { # SECONDS: pgbench at a modest rate (the agent is a sanitizer build)
	PGPASSWORD=$SL_PG_PASSWORD "$PGBENCH" -n -T "$1" -c 2 -R 150 -h 127.0.0.1 -p "$SPORT" \
		-U sluice "$SDB" >"$TMP/pgbench.out" 2>&1 &
	PGB=$!
}
pgbench_wait() {
	wait "$PGB" || { cat "$TMP/pgbench.out" >&2; fail "pgbench failed"; }
}
slot_lsn() {
	src_sql postgres "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$SLOT'"
}
lsn_gt() { # A B: A > B
	[[ $(src_sql postgres "SELECT '$1'::pg_lsn > '$2'::pg_lsn") == t ]]
}
segments() { find "$BUF" -name '*.seg' | wc -l; }
seg_bytes() { find "$BUF" -name '*.seg' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
TABLES=(pgbench_accounts pgbench_branches pgbench_tellers pgbench_history)
all_equal() {
	local t
	for t in "${TABLES[@]}"; do
		compare_table test-src "$SDB" test-dst "$TDB" public "$t"
	done
}
caught_up() { # the target holds as many history rows as the source
	local n
	n=$(src_sql "$SDB" "SELECT count(*) FROM pgbench_history")
	wait_sql test-dst "$TDB" "SELECT count(*) FROM pgbench_history" "$n" "every pgbench_history row on the target"
}

# 1. a 30 s target outage while pgbench writes
sluice_bg "$TMP/run1.out" "$TMP/run1.err" run "$PIPE"
R=$TMP/run1.err
pgbench_bg 45
sleep 5
bash "$SLUICE_ROOT/scripts/pg.sh" stop test-dst >/dev/null
log "target stopped"
sleep 3
lsn0=$(slot_lsn)
h0=$(src_sql "$SDB" "SELECT count(*) FROM pgbench_history")
sleep 20
lsn1=$(slot_lsn)
h1=$(src_sql "$SDB" "SELECT count(*) FROM pgbench_history")
((h1 > h0)) || fail "pgbench wrote nothing during the outage"
lsn_gt "$lsn1" "$lsn0" || fail "the slot did not move while the target was down ($lsn0 -> $lsn1): the buffer did not take the changes"
ASSERTS=$((ASSERTS + 1))
log "slot confirmed $lsn0 -> $lsn1 with the target down; $(segments) segments, $(seg_bytes) bytes"
(($(segments) > 0)) || fail "no segment in the buffer while the target is down"
sluice_ok status "$PIPE"
assert_contains "$SL_OUT" "buffer: " "status shows the buffer"
[[ $SL_OUT =~ buffer:\ ([0-9]+)\ segments.*committed\ ([0-9.]+)s\ ago ]] ||
	fail "status does not give the buffer's depth and age: $SL_OUT"
((BASH_REMATCH[1] > 0)) || fail "status shows an empty buffer"
awk -v a="${BASH_REMATCH[2]}" 'BEGIN { exit !(a >= 10 && a < 120) }' ||
	fail "the oldest change held is ${BASH_REMATCH[2]}s old; the target went down over 20 s ago"
ASSERTS=$((ASSERTS + 2))
kill -0 "$SL_PID" || fail "sluice exited while the target was down"
# the buffer's metrics while it holds the changes: rows written into segments, segments put
# (at least the ones the directory holds) and the depth gauges
segs_now=$(segments)
m_rows=$(metric buffer_rows_out_total) m_put=$(metric buffer_object_store_files_create_total)
m_segs=$(metric buffer_object_store_segments) m_size=$(metric buffer_object_store_size_bytes)
log "metrics: rows into the buffer $m_rows, segments put $m_put, held $m_segs ($m_size bytes); the directory has $segs_now"
((${m_rows:-0} > 0)) || fail "buffer_rows_out_total is '$m_rows' with the target down"
((${m_put:-0} >= segs_now && ${m_segs:-0} > 0 && ${m_size:-0} > 0)) ||
	fail "the buffer's metrics (put $m_put, held $m_segs, $m_size bytes) do not match its $segs_now segments"
((m_segs >= segs_now - 2 && m_segs <= segs_now + 2)) || fail "buffer_object_store_segments is $m_segs, the directory has $segs_now"
ASSERTS=$((ASSERTS + 3))
# the target has been down for over 20 s: not caught up, and the lag says so (the status API
# and the gauge), counted from the last transaction applied before the outage
st=$(curl -sS "http://127.0.0.1:$MPORT/api/v1/status")
got=$(python3 -c 'import json,sys
c=json.loads(sys.argv[1])["changes"]
print(c["caught_up"], 20 <= c["lag_seconds"] < 120, c["buffer"]["segments"] > 0)' "$st") ||
	fail "/api/v1/status during the outage: $st"
assert_eq "False True True" "$got" "/api/v1/status with the target down (caught_up, lag 20-120 s, buffer)"
lag=$(metric lag_seconds)
awk -v l="$lag" 'BEGIN { exit !(l >= 20) }' || fail "lag_seconds is '$lag' with the target down for over 20 s"
ASSERTS=$((ASSERTS + 1))
# killed while the target is down: what the slot let go of is only in the buffer now
kill -KILL "$SL_PID"
wait "$SL_PID" 2>/dev/null || true
BG_PIDS=()
sleep 5
ensure_instance test-dst replica
log "target back"
sluice_bg "$TMP/run1b.out" "$TMP/run1b.err" run "$PIPE"
# killed again while it applies the buffer (a target commit per transaction: the target holds
# part of a segment), and started again: the rest of that segment only is applied
wait_sql test-dst "$TDB" "SELECT count(*) > $h0 FROM pgbench_history" t "part of the buffer applied"
kill -KILL "$SL_PID"
wait "$SL_PID" 2>/dev/null || true
BG_PIDS=()
log "killed while applying; $(segments) segments left"
(($(segments) > 0)) || fail "the buffer was applied before the kill: nothing left to resume"
sluice_bg "$TMP/run1c.out" "$TMP/run1c.err" run "$PIPE"
pgbench_wait
caught_up
wait_until 30 test "$(segments)" -eq 0 || fail "applied segments were not deleted ($(segments) left)"
# this run applied what the buffer held and deleted it: the gauges say empty
wait_until 10 test "$(metric buffer_object_store_segments)" = 0 ||
	fail "buffer_object_store_segments is '$(metric buffer_object_store_segments)' with the buffer empty"
m_del=$(metric buffer_object_store_files_delete_total) m_in=$(metric buffer_rows_in_total) m_get=$(metric buffer_object_store_files_get_total)
((${m_del:-0} > 0 && ${m_in:-0} > 0 && ${m_get:-0} > 0)) ||
	fail "after applying the buffer: deleted $m_del, rows read $m_in, segments read $m_get"
ASSERTS=$((ASSERTS + 2))
ASSERTS=$((ASSERTS + 1))
all_equal
sluice_ok status "$PIPE"
assert_contains "$SL_OUT" "buffer: empty" "status shows the buffer drained"

# 2. SIGKILL three times while pgbench writes
pgbench_bg 16
for k in 1 2 3; do
	sleep 4
	kill -KILL "$SL_PID"
	wait "$SL_PID" 2>/dev/null || true
	BG_PIDS=()
	log "killed ($k); $(segments) segments"
	sluice_bg "$TMP/run-k$k.out" "$TMP/run-k$k.err" run "$PIPE"
done
pgbench_wait
caught_up
all_equal
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "sluice did not stop cleanly on SIGTERM"
BG_PIDS=()
sluice_ok verify "$PIPE"

# 3. max_size: the target down, a buffer of 256 KiB fills; the source waits, then goes on
PIPE2=$TMP/buf2.yaml
pipeline_file "$PIPE2" it_buf "$SDB" "$TDB" "source.heartbeat: 1s" \
	"buffer: { url: file://$BUF, segment_size: 32KiB, max_size: 256KiB }" "apply: { max_delay: 200ms }"
sluice_bg "$TMP/run3.out" "$TMP/run3.err" run "$PIPE2"
wait_lines "$TMP/run3.err" "buffer: the source side reads" 1 30 "change capture started"
bash "$SLUICE_ROOT/scripts/pg.sh" stop test-dst >/dev/null
pgbench_bg 20
wait_lines "$TMP/run3.err" "buffer: full" 1 40 "the buffer says it is full"
sleep 2
lsn0=$(slot_lsn)
bytes=$(seg_bytes)
sleep 4
lsn1=$(slot_lsn)
assert_eq "$lsn0" "$lsn1" "the slot waits while the buffer is full"
# at most one segment past max_size (a segment in progress when the limit was reached)
((bytes <= 256 * 1024 + 32 * 1024 + 65536)) || fail "the full buffer holds $bytes bytes, max_size is 256 KiB"
ASSERTS=$((ASSERTS + 1))
ensure_instance test-dst replica
pgbench_wait
caught_up
all_equal
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "sluice did not stop cleanly"
BG_PIDS=()
grep -q "buffer: room again" "$TMP/run3.err" || fail "no log line when the buffer had room again"
ASSERTS=$((ASSERTS + 1))

# 4. bad settings
PIPE3=$TMP/buf3.yaml
pipeline_file "$PIPE3" it_buf "$SDB" "$TDB" "buffer: { url: gs://bucket/x }"
sluice run --once "$PIPE3"
((SL_RC != 0)) || fail "a gs:// buffer was accepted"
assert_contains "$SL_ERR" "gs" "the error names the scheme"
pipeline_file "$PIPE3" it_buf "$SDB" "$TDB" "buffer: { url: file:///proc/sluice-no-such-dir }"
check_fails "$PIPE3" "buffer"
pipeline_file "$PIPE3" it_buf "$SDB" "$TDB" "buffer: { max_size: 1GiB }"
sluice run --once "$PIPE3"
((SL_RC != 0)) || fail "a buffer without url was accepted"
assert_contains "$SL_ERR" "buffer.url" "the error names buffer.url"
pass
