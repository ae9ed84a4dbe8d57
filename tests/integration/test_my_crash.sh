#!/usr/bin/env bash
# MariaDB -> PostgreSQL exactly once under SIGKILL: sysbench oltp_read_write (4 tables x 50k
# rows, 4 threads, 30 s or more) writes to MariaDB, and a writer appends to `hist`, a keyless
# insert-only table (equal rows within a transaction and across transactions), while
# `sluice run` is killed with SIGKILL at random moments (the first kills may land in the
# snapshot) and restarted (crash_loop in lib.sh): every kill must hit a running process (a run that exits on its own
# fails the test), at least 3 kills, and in at least 3 cycles the target's `hist` must have
# grown. Then a streaming run finishes the copy of `hist` a kill in the snapshot handed to a
# backfill (if any), `sluice run --once` catches up, and every table must equal MariaDB row for row:
# `sluice verify`, plus an independent ordered md5 of the sysbench rows as each server prints
# them, and for `hist` (where a change applied twice adds a row) a count + md5 of every row in a
# canonical form (integers, md5 of the text) computed by MariaDB and by PostgreSQL.
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
my_keyless_table "$SDB" hist

PIPE=$TMP/crash.yaml
{
	echo "name: it_mycrash"
	echo "source: { type: mysql, url: '$(my_url)$SDB', password: '\${SL_MY_PASSWORD}' }"
	echo "target: { type: postgres, url: 'postgres://sluice@127.0.0.1:$(port_of test-dst)/$TDB', password: '\${SL_PG_PASSWORD}' }"
	echo "snapshot: { parallelism: 2, chunk_size: 1MiB }"
	echo "apply: { max_group_bytes: 4MiB, max_delay: 200ms }"
	echo "state: { url: 'sqlite://$TMP/crash.state.db' }"
} >"$PIPE"

# the workload, in rounds of $1 seconds (crash_loop runs them while it kills sluice): sysbench
# and the writer appending to hist
bench() {
	my_keyless_writer "$SDB" hist "$1" >>"$TMP/writer.log" 2>&1 &
	local w=$!
	"${SB[@]}" --threads=4 --time="$1" --report-interval=0 oltp_read_write run >>"$TMP/bench.log" 2>&1 || return
	wait "$w"
}
# progress: rows of the insert-only hist applied to the target (0 before it exists)
applied_hist() {
	dst_sql "$TDB" "SELECT to_regclass('$SDB.hist') IS NOT NULL" | grep -q t || { echo 0; return; }
	dst_sql "$TDB" "SELECT count(*) FROM $SDB.hist"
}
crash_loop "$PIPE" applied_hist "${CRASH_SECONDS:-30}" bench
kills=$CRASH_KILLS

# a SIGKILL during the snapshot leaves the keyless hist to a backfill (a snapshot of its own
# would not converge), which later kills may cut short too: a streaming run finishes it
# (run --once leaves such a table out, with a warning)
copying() { sqlite3 "$TMP/crash.state.db" "SELECT count(*) FROM sluice_backfill WHERE status = 0" 2>/dev/null || echo 0; }
if (($(copying) > 0)); then
	sluice_bg "$TMP/finish.out" "$TMP/finish.err" run "$PIPE"
	wait_until 180 bash -c "(( \$(sqlite3 '$TMP/crash.state.db' 'SELECT count(*) FROM sluice_backfill WHERE status = 0') == 0 ))" ||
		fail "the backfill the SIGKILLs left did not finish in 180 s"
	kill -TERM "$SL_PID"
	wait "$SL_PID" || fail "sluice did not stop cleanly on SIGTERM"
	BG_PIDS=()
	log "a streaming run finished the backfill of hist the SIGKILLs left"
fi
sluice_ok run --once "$PIPE"
sluice_ok verify "$PIPE"
assert_not_contains "$SL_OUT" "DIFF" "verify: every table equal"
for i in 1 2 3 4; do
	a=$(my_sql "$SDB" -e "SELECT id, k, c, pad FROM sbtest$i ORDER BY id" | md5sum)
	b=$(dst_sql "$TDB" "COPY (SELECT id, k, c, pad FROM $SDB.sbtest$i ORDER BY id) TO STDOUT" | md5sum)
	n=$(my_sql "$SDB" -e "SELECT count(*) FROM sbtest$i")
	assert_eq "$a" "$b" "sbtest$i ($n rows) equals MariaDB after $kills SIGKILLs"
done
a=$(my_keyless_digest "$SDB" hist)
b=$(pg_keyless_digest test-dst "$TDB" "$SDB.hist")
assert_eq "$a" "$b" "hist (keyless, insert-only) equals MariaDB after $kills SIGKILLs, duplicates counted"
((${a%% *} > 1000)) || fail "the writer wrote only ${a%% *} hist rows"
log "ok (${a%% *} hist rows, $kills kills)"
pass
