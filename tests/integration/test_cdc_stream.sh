#!/usr/bin/env bash
# Streaming behaviour of `sluice run` (no --once):
#   - a 300,000-row single transaction is applied whole, with peak RSS under 300 MB (the
#     applier writes a large transaction into the open target transaction in pieces);
#   - the source server restarts while sluice streams: sluice reconnects by itself and goes on;
#   - changes keep flowing within seconds (lag) while it runs;
#   - SIGTERM stops it gracefully (exit 0) and SIGINT too; nothing is lost or applied twice.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_stream_src
TDB=it_stream_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE big (id int PRIMARY KEY, pad text);
CREATE TABLE tick (id serial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp());
SQL
PIPE=$TMP/stream.yaml
pipeline_file "$PIPE" it_stream "$SDB" "$TDB" "source.heartbeat: 1s"
sluice_ok run --once "$PIPE"

same() { # TABLE
	local q="SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM $1 t"
	assert_eq "$(src_sql "$SDB" "$q")" "$(dst_sql "$TDB" "$q")" "$1 equals the source"
}
wait_for() { # SQL-ON-TARGET EXPECTED WHAT
	local i
	for i in $(seq 1 300); do
		[[ $(dst_sql "$TDB" "$1") == "$2" ]] && return 0
		sleep 0.1
	done
	fail "timed out waiting for: $3 (target says $(dst_sql "$TDB" "$1"))"
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
src_sql "$SDB" "INSERT INTO tick DEFAULT VALUES; UPDATE big SET pad = 'live' WHERE id <= 10"
wait_for "SELECT count(*) FROM big WHERE pad = 'live'" 10 "streamed update"

# 3. the source restarts: sluice reconnects and continues
bash "$SLUICE_ROOT/scripts/pg.sh" stop test-src >/dev/null
sleep 1
ensure_instance test-src logical
src_sql "$SDB" "INSERT INTO tick DEFAULT VALUES; DELETE FROM big WHERE id > 299990"
wait_for "SELECT count(*) FROM big" 299990 "changes after the source restarted"
grep -q "reconnecting" "$TMP/run1.err" || { cat "$TMP/run1.err" >&2; fail "no reconnect logged"; }
kill -0 "$SL_PID" || fail "sluice exited when the source restarted"

# 4. the target restarts too
bash "$SLUICE_ROOT/scripts/pg.sh" stop test-dst >/dev/null
src_sql "$SDB" "UPDATE big SET pad = 'after target restart' WHERE id = 1"
sleep 2
ensure_instance test-dst replica
wait_for "SELECT pad FROM big WHERE id = 1" "after target restart" "changes after the target restarted"

# 5. SIGTERM: graceful stop, exit 0
kill -TERM "$SL_PID"
rc=0
wait "$SL_PID" || rc=$?
BG_PIDS=()
assert_eq 0 "$rc" "sluice run exits 0 on SIGTERM"
grep -q "stopped by signal" "$TMP/run1.err" || { tail "$TMP/run1.err" >&2; fail "no graceful stop message"; }

# 6. SIGINT while a stream of small transactions flows, then catch up: nothing lost or doubled
sluice_bg "$TMP/run2.out" "$TMP/run2.err" run "$PIPE"
for i in $(seq 1 200); do echo "INSERT INTO tick DEFAULT VALUES; UPDATE big SET pad = 'n$i' WHERE id = $i;"; done | src_sql "$SDB" >/dev/null &
WRITER=$!
sleep 1
kill -INT "$SL_PID"
rc=0
wait "$SL_PID" || rc=$?
wait "$WRITER"
BG_PIDS=()
assert_eq 0 "$rc" "sluice run exits 0 on SIGINT"
sluice_ok run --once "$PIPE"
same big
same tick
sluice_ok verify "$PIPE"

# the heartbeat (source.heartbeat: 1s) wrote messages; the stream ignored them
# (run2 only: run1 saw the source go down)
! grep -q "heartbeat failed" "$TMP/run2.err" || fail "heartbeat failed: $(grep -h 'heartbeat failed' "$TMP/run2.err" | head -1)"
log "ok"
