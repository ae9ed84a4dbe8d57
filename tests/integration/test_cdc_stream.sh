#!/usr/bin/env bash
# Streaming behaviour of `sluice run` (no --once), PostgreSQL -> PostgreSQL:
#   - a 300,000-row single transaction is applied whole, with peak RSS under 300 MB (the
#     applier writes a large transaction into the open target transaction in pieces);
#   - the source server stops while sluice streams: sluice retries with backoff (the retries'
#     log lines are 1, 2 and 4 s apart: "1 s doubling"), reconnects by itself when it is back
#     and goes on; the target server restarts too; the target refuses new sessions for a while
#     (a smart shutdown held open: "the database system is shutting down", 57P03) and sluice
#     retries through it rather than exit;
#   - an idle slot advances: while no replicated table changes but the source writes WAL (in
#     another database), the slot's confirmed_flush_lsn passes the source's WAL position taken
#     after that WAL (source.heartbeat: 1s);
#   - SIGTERM stops it gracefully (exit 0) and SIGINT too, each while a writer is mid-stream
#     (a change made after the start was seen on the target first);
#   - nothing is lost or applied twice: besides the keyed tables (where a change applied twice
#     is invisible), an insert-only keyless table `ev`, written by a background session across
#     the source restart, the target restart, SIGTERM and SIGINT, with every row inserted twice,
#     has the same row count and ordered md5 (duplicates included) on both servers.
# Stops and restarts test-src and test-dst: run under the exclusive lock.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_stream_src
TDB=it_stream_dst
ODB=it_stream_other # on test-src, outside the pipeline: WAL that no replicated table sees
SLOT=sluice_it_stream
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
fresh_db test-src "$ODB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE big (id int PRIMARY KEY, pad text);
CREATE TABLE tick (id serial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp());
-- insert-only and keyless: a row applied twice or lost changes its count and digest
CREATE TABLE ev (phase text NOT NULL, n int NOT NULL);
ALTER TABLE ev REPLICA IDENTITY FULL;
INSERT INTO ev VALUES ('initial', 1), ('initial', 1);
SQL
PIPE=$TMP/stream.yaml
pipeline_file "$PIPE" it_stream "$SDB" "$TDB" "source.heartbeat: 1s"
sluice_ok run --once "$PIPE"

same() { # TABLE
	local q="SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM $1 t"
	assert_eq "$(src_sql "$SDB" "$q")" "$(dst_sql "$TDB" "$q")" "$1 equals the source"
}
# ev has no key: count + md5 of all rows in a total order, duplicates included
EV_DIGEST="SELECT count(*) || ' ' || md5(coalesce(string_agg(phase || ':' || n, ',' ORDER BY phase COLLATE \"C\", n), '')) FROM ev"
wait_for() { wait_sql test-dst "$TDB" "$@"; } # SQL-ON-TARGET EXPECTED WHAT (lib.sh: wait_sql)

# ev_writer_start PHASE [SQL]: a background session on the source that inserts (PHASE, i) twice
# in one statement, i = 1, 2, ..., about every 20 ms until ev_writer_stop; SQL (with @ replaced
# by i) is run after each insert. It keeps going across whatever the test does to sluice.
EVW=
ev_writer_start() {
	local phase=$1 extra=${2:-}
	rm -f "$TMP/evw.stop"
	{
		local i=0
		while [[ ! -e $TMP/evw.stop ]] && ((i < 3000)); do
			i=$((i + 1))
			printf "INSERT INTO ev VALUES ('%s', %d), ('%s', %d); %s\n" "$phase" "$i" "$phase" "$i" "${extra//@/$i}"
			sleep 0.02
		done
	} | src_sql "$SDB" >/dev/null 2>"$TMP/evw.err" &
	EVW=$!
}
ev_writer_stop() { # the writer must have run without an error
	touch "$TMP/evw.stop"
	local rc=0
	wait "$EVW" || rc=$?
	((rc == 0)) || { cat "$TMP/evw.err" >&2; fail "the ev writer failed ($rc)"; }
}
ev_seen() { # PHASE: wait until the target has rows the writer inserted in PHASE
	wait_for "SELECT count(*) > 0 FROM ev WHERE phase = '$1'" t "an ev row of phase $1 on the target"
}
ev_caught_up() { # the target has every ev row the source has
	wait_for "SELECT count(*) FROM ev" "$(src_sql "$SDB" "SELECT count(*) FROM ev")" "every ev row"
}

# 1. one transaction of 300k rows (~180 MB of row data), then catch up with --once, measuring
# peak RSS. The sanitizer build keeps freed memory in quarantine: keep that small here.
src_sql "$SDB" "INSERT INTO big SELECT i, repeat(md5(i::text), 18) FROM generate_series(1, 300000) i"
ASAN_OPTIONS=${ASAN_OPTIONS:-}:quarantine_size_mb=16 \
	/usr/bin/time -f '%M' -o "$TMP/rss" "$SLUICE_BIN" run --once "$PIPE" >"$TMP/big.out" 2>"$TMP/big.err" ||
	{ tail -20 "$TMP/big.err" >&2; fail "run --once after the 300k-row transaction failed"; }
rss_kb=$(tail -1 "$TMP/rss")
log "peak RSS applying a 300k-row transaction: $((rss_kb / 1024)) MB"
((rss_kb < 300 * 1024)) || fail "peak RSS $((rss_kb / 1024)) MB is over 300 MB"
same big

# 2. streaming: changes arrive while sluice runs
sluice_bg "$TMP/run1.out" "$TMP/run1.err" run "$PIPE"
src_sql "$SDB" "INSERT INTO tick DEFAULT VALUES; UPDATE big SET pad = 'live' WHERE id <= 10; INSERT INTO ev VALUES ('stream', 1), ('stream', 1)"
wait_for "SELECT count(*) FROM big WHERE pad = 'live'" 10 "streamed update"

# 3. the source stops while a writer streams into ev; sluice retries with backoff: its retry
# lines (one per failed attempt) must be 1, 2 and 4 s apart. Then the source comes back and
# sluice reconnects by itself.
ev_writer_start src-restart
ev_seen src-restart
R=$TMP/run1.err
n0=$(count_lines "$R" "reconnecting in")
bash "$SLUICE_ROOT/scripts/pg.sh" stop test-src >/dev/null
wait "$EVW" || log "the ev writer ended with the source server (expected)"
wait_lines "$R" "reconnecting in" $((n0 + 4)) 40 "four attempts while the source is down"
ensure_instance test-src logical
# the four retry lines after the stop: "reconnecting in 1s/2s/4s/8s", each the delay to the next
mapfile -t retries < <(grep -F "reconnecting in" "$R" | tail -n +$((n0 + 1)) | head -4)
secs=()
for line in "${retries[@]}"; do
	t=${line%%Z *}       # 2025-01-02T03:04:05.678
	t=${t#*T}            # 03:04:05.678
	secs+=("$(awk -F: '{ printf "%.3f", $1 * 3600 + $2 * 60 + $3 }' <<<"$t")")
done
log "retry lines after the source stopped: ${retries[*]##*reconnecting in } at ${secs[*]}"
for k in 0 1 2 3; do
	assert_contains "${retries[k]}" "reconnecting in $((1 << k))s" "retry $((k + 1)) announces a $((1 << k)) s delay"
done
for k in 0 1 2; do
	want=$((1 << k))
	gap=$(awk -v a="${secs[k]}" -v b="${secs[k + 1]}" 'BEGIN { d = b - a; if (d < 0) d += 86400; printf "%.3f", d }')
	# not before the delay is over; under 0.9 s more (a refused connection fails at once; a
	# delay of the next step, twice as long, must not pass)
	awk -v g="$gap" -v w="$want" 'BEGIN { exit !(g >= w - 0.01 && g < w + 0.9) }' ||
		fail "retry $((k + 2)) came $gap s after retry $((k + 1)), expected $want s (backoff 1 s doubling)"
	ASSERTS=$((ASSERTS + 1))
done
src_sql "$SDB" "INSERT INTO tick DEFAULT VALUES; DELETE FROM big WHERE id > 299990; INSERT INTO ev VALUES ('after-src', 1), ('after-src', 1)"
wait_for "SELECT count(*) FROM big" 299990 "changes after the source restarted"
kill -0 "$SL_PID" || fail "sluice exited when the source restarted"

# 4. the target restarts while the writer streams: sluice notices (a retry line) before the
# target comes back
ev_writer_start dst-restart
ev_seen dst-restart
n0=$(count_lines "$R" "reconnecting in")
bash "$SLUICE_ROOT/scripts/pg.sh" stop test-dst >/dev/null
src_sql "$SDB" "UPDATE big SET pad = 'after target restart' WHERE id = 1"
wait_lines "$R" "reconnecting in" $((n0 + 1)) 30 "sluice saw the target go away"
ensure_instance test-dst replica
wait_for "SELECT pad FROM big WHERE id = 1" "after target restart" "changes after the target restarted"
ev_writer_stop
ev_caught_up

# 4b. the target refuses new sessions for a while ("the database system is shutting down",
# SQLSTATE 57P03, as while a server stops or starts): a smart shutdown waits for an open
# session, which ends sluice's session and holds on for 6 s; sluice keeps retrying through
# the refusals (an error that passes by itself, not a reason to exit), then the server stops
# and comes back, and sluice goes on.
ev_writer_start dst-refuse
ev_seen dst-refuse
n0=$(count_lines "$R" "reconnecting in")
dst_sql postgres "SELECT pg_sleep(2); SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	WHERE datname = '$TDB' AND pid <> pg_backend_pid(); SELECT pg_sleep(6)" >/dev/null &
holder=$!
sleep 0.5
bash "$SLUICE_ROOT/scripts/pg.sh" stop test-dst --smart >/dev/null &
stopper=$!
src_sql "$SDB" "UPDATE big SET pad = 'after refusals' WHERE id = 2"
wait_lines "$R" "the database system is shutting down" 1 20 "sluice retried while the target refused sessions"
wait "$holder" || fail "the session holding the target open failed"
wait "$stopper" || fail "the smart shutdown of test-dst failed"
kill -0 "$SL_PID" || fail "sluice exited while the target refused new sessions"
assert_contains "$(grep -F "shutting down" "$R" | head -1)" "reconnecting in" \
	"a refused session is retried"
ensure_instance test-dst replica
wait_for "SELECT pad FROM big WHERE id = 2" "after refusals" "changes after the target refused sessions"
ev_writer_stop
ev_caught_up

# 5. an idle slot advances: no replicated table changes, but the source writes WAL in another
# database; the slot (active) must confirm past the WAL position taken after that write
src_sql "$ODB" "CREATE TABLE w AS SELECT g, md5(g::text) FROM generate_series(1, 20000) g"
lsn=$(src_sql "$ODB" "SELECT pg_current_wal_lsn()")
q="SELECT active_pid IS NOT NULL AND confirmed_flush_lsn >= '$lsn'::pg_lsn FROM pg_replication_slots WHERE slot_name = '$SLOT'"
advanced=
for _ in $(seq 1 150); do
	[[ $(src_sql postgres "$q") == t ]] && { advanced=1; break; }
	sleep 0.1
done
[[ -n $advanced ]] || fail "the idle slot did not confirm past $lsn within 15 s (it is at $(src_sql postgres "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$SLOT'"))"
ASSERTS=$((ASSERTS + 1))
log "idle slot confirmed past $lsn"

# 6. SIGTERM while the writer streams: graceful stop, exit 0
ev_writer_start sigterm
ev_seen sigterm
kill -0 "$EVW" || fail "the writer stopped before the signal"
kill -TERM "$SL_PID"
rc=0
wait "$SL_PID" || rc=$?
BG_PIDS=()
ev_writer_stop
assert_eq 0 "$rc" "sluice run exits 0 on SIGTERM"
grep -q "stopped by signal" "$R" || { tail "$R" >&2; fail "no graceful stop message"; }
src_sql "$SDB" "INSERT INTO ev VALUES ('stopped', 1), ('stopped', 1)"

# 7. SIGINT while a stream of small transactions flows (seen arriving first), then catch up:
# nothing lost or doubled
sluice_bg "$TMP/run2.out" "$TMP/run2.err" run "$PIPE"
ev_writer_start sigint "INSERT INTO tick DEFAULT VALUES; UPDATE big SET pad = 'n@' WHERE id = @;"
ev_seen sigint
kill -0 "$EVW" || fail "the writer stopped before the signal"
kill -INT "$SL_PID"
rc=0
wait "$SL_PID" || rc=$?
BG_PIDS=()
ev_writer_stop
assert_eq 0 "$rc" "sluice run exits 0 on SIGINT"
sluice_ok run --once "$PIPE"
same big
same tick
for phase in initial stream src-restart after-src dst-restart sigterm stopped sigint; do
	(($(src_sql "$SDB" "SELECT count(*) FROM ev WHERE phase = '$phase'") > 0)) || fail "no ev rows written in phase $phase"
done
assert_eq "$(src_sql "$SDB" "$EV_DIGEST")" "$(dst_sql "$TDB" "$EV_DIGEST")" \
	"keyless ev: every row exactly once (count and ordered md5, duplicates included)"
log "ev: $(src_sql "$SDB" "$EV_DIGEST")"
sluice_ok verify "$PIPE"

# the heartbeat (source.heartbeat: 1s) wrote messages; the stream ignored them
# (run2 only: run1 saw the source go down)
! grep -q "heartbeat failed" "$TMP/run2.err" || fail "heartbeat failed: $(grep -h 'heartbeat failed' "$TMP/run2.err" | head -1)"
pass
