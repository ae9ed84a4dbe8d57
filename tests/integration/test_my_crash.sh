#!/usr/bin/env bash
# MariaDB -> PostgreSQL exactly once under SIGKILL: sysbench oltp_read_write (4 tables x 50k
# rows, 4 threads, 30 s) writes to MariaDB while `sluice run` is killed with SIGKILL at random
# moments (the first kill may land in the snapshot) and restarted. Then `sluice run --once`
# catches up, and every table must equal MariaDB row for row: `sluice verify`, plus an
# independent ordered md5 of the rows as each server prints them.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require
command -v sysbench >/dev/null || fail "sysbench is not installed (scripts/deps.sh installs it)"

SDB=sbtest
TDB=it_mycrash_dst
my_fresh_db "$SDB"
fresh_db test-dst "$TDB"
SB=(sysbench --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$MY_PORT" --mysql-user=sluice
	--mysql-password="$SL_MY_PASSWORD" --mysql-db="$SDB" --tables=4 --table-size="${SB_ROWS:-50000}")
"${SB[@]}" oltp_read_write prepare >"$TMP/prepare.log" 2>&1 || fail "sysbench prepare failed: $(tail -5 "$TMP/prepare.log")"

PIPE=$TMP/crash.yaml
{
	echo "name: it_mycrash"
	echo "source: { type: mysql, url: '$(my_url)$SDB', password: '\${SL_MY_PASSWORD}' }"
	echo "target: { type: postgres, url: 'postgres://sluice@127.0.0.1:$(port_of test-dst)/$TDB', password: '\${SL_PG_PASSWORD}' }"
	echo "snapshot: { parallelism: 2, chunk_size: 1MiB }"
	echo "apply: { max_group_bytes: 4MiB, max_delay: 200ms }"
	echo "state: { url: 'sqlite://$TMP/crash.state.db' }"
} >"$PIPE"

DURATION=${CRASH_SECONDS:-30}
"${SB[@]}" --threads=4 --time="$DURATION" --report-interval=0 oltp_read_write run >"$TMP/bench.log" 2>&1 &
BENCH=$!
BG_PIDS+=("$BENCH")

kills=0
start=$SECONDS
while kill -0 "$BENCH" 2>/dev/null; do
	sluice_bg "$TMP/run.out" "$TMP/run$kills.err" run "$PIPE"
	sleep "$(awk -v s=$RANDOM 'BEGIN { srand(s); printf "%.1f", 1.5 + rand() * 4 }')"
	kill -9 "$SL_PID" 2>/dev/null || true
	wait "$SL_PID" 2>/dev/null || true
	kills=$((kills + 1))
	((SECONDS - start < DURATION + 60)) || fail "sysbench did not finish"
done
wait "$BENCH" || fail "sysbench failed: $(tail -5 "$TMP/bench.log")"
BG_PIDS=()
log "sysbench done: $(grep -E 'transactions:' "$TMP/bench.log" | xargs); sluice killed $kills times"
((kills >= 3)) || fail "expected at least 3 kills, got $kills"
for f in "$TMP"/run*.err; do
	if grep -q "ERROR: AddressSanitizer\|runtime error" "$f"; then
		cat "$f" >&2
		fail "sanitizer report in $f"
	fi
done

sluice_ok run --once "$PIPE"
sluice_ok verify "$PIPE"
assert_not_contains "$SL_OUT" "DIFF" "verify: every table equal"
for i in 1 2 3 4; do
	a=$(my_sql "$SDB" -e "SELECT id, k, c, pad FROM sbtest$i ORDER BY id" | md5sum)
	b=$(dst_sql "$TDB" "COPY (SELECT id, k, c, pad FROM $SDB.sbtest$i ORDER BY id) TO STDOUT" | md5sum)
	n=$(my_sql "$SDB" -e "SELECT count(*) FROM sbtest$i")
	assert_eq "$a" "$b" "sbtest$i ($n rows) equals MariaDB after $kills SIGKILLs"
done
pass
