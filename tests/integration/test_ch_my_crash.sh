#!/usr/bin/env bash
# MariaDB -> ClickHouse exactly once under SIGKILL: sysbench oltp_read_write (2 tables x 20k
# rows, 4 threads, 30 s or more) writes to MariaDB, and a writer appends to `hist`, a keyless
# insert-only table (equal rows within a transaction and across transactions), while
# `sluice run` is killed with SIGKILL at random moments (the first kills may land in the
# snapshot) and restarted (crash_loop in lib.sh): every kill must hit a running process (a run
# that exits on its own fails the test), at least 3 kills, and in at least 3 cycles the live rows
# of `hist` in ClickHouse must have grown. A kill between ClickHouse acknowledging a group's
# inserts and the position being saved makes the next run write the same rows again: they must
# replace, not add. Then `sluice run --once` catches up, and every table read FINAL without
# deleted rows must equal MariaDB: `sluice verify`; the sysbench tables as rows of integers and
# md5s of the text printed by both servers; `hist`, where a change applied twice adds a row, as
# a count + md5 of every row in a canonical form computed by MariaDB and by ClickHouse; and no
# keyless row identity (_sluice_origin, _sluice_seq) may stand for two different rows.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require
ch_require
command -v sysbench >/dev/null || fail "sysbench is not installed (scripts/deps.sh installs it)"

SDB=test_chmycrash
CDB=it_chmycrash
my_fresh_db "$SDB"
ch_fresh_db "$CDB"
NT=2
SB=(sysbench --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$MY_PORT" --mysql-user=sluice
	--mysql-password="$SL_MY_PASSWORD" --mysql-db="$SDB" --tables="$NT" --table-size="${SB_ROWS:-20000}")
"${SB[@]}" oltp_read_write prepare >"$TMP/prepare.log" 2>&1 || fail "sysbench prepare failed: $(tail -5 "$TMP/prepare.log")"
my_keyless_table "$SDB" hist

PIPE=$TMP/chmycrash.yaml
pipeline_file "$PIPE" it_chmycrash "mysql:$SDB" "clickhouse:$CDB" \
	"snapshot: { parallelism: 2, chunk_size: 1MiB }" "apply: { max_group_bytes: 4MiB, max_delay: 200ms }"

# the workload, in rounds of $1 seconds (crash_loop runs them while it kills sluice): sysbench
# and the writer appending to hist
bench() {
	my_keyless_writer "$SDB" hist "$1" >>"$TMP/writer.log" 2>&1 &
	local w=$!
	"${SB[@]}" --threads=4 --time="$1" --report-interval=0 oltp_read_write run >>"$TMP/bench.log" 2>&1 || return
	wait "$w"
}
# progress: live rows of the insert-only hist in ClickHouse (0 before it exists)
live_hist() {
	[[ $(ch_sql "EXISTS TABLE $CDB.hist") == 1 ]] || { echo 0; return; }
	ch_sql "SELECT count() FROM $CDB.hist FINAL WHERE _sluice_deleted = 0"
}
crash_loop "$PIPE" live_hist "${CRASH_SECONDS:-30}" bench
kills=$CRASH_KILLS

sluice_ok run --once "$PIPE"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT$SL_ERR" "all tables equal" "verify: every table equals the source"

for ((i = 1; i <= NT; i++)); do
	a=$(my_sql "$SDB" -e "SELECT id, k, md5(c), md5(pad) FROM sbtest$i ORDER BY id" | md5sum)
	a="$(my_sql "$SDB" -e "SELECT count(*) FROM sbtest$i") $a"
	b=$(ch_sql "SELECT id, k, lower(hex(MD5(c))), lower(hex(MD5(pad))) FROM $CDB.sbtest$i FINAL
	            WHERE _sluice_deleted = 0 ORDER BY id" | md5sum)
	b="$(ch_sql "SELECT count() FROM $CDB.sbtest$i FINAL WHERE _sluice_deleted = 0") $b"
	assert_eq "$a" "$b" "sbtest$i equals MariaDB after $kills SIGKILLs (count + md5)"
done
a=$(my_keyless_digest "$SDB" hist)
b=$(ch_keyless_digest "$CDB.hist")
assert_eq "$a" "$b" "hist (keyless, insert-only) equals MariaDB after $kills SIGKILLs, duplicates counted"
((${a%% *} > 1000)) || fail "the writer wrote only ${a%% *} hist rows"
# A row identity is the sorting key, so FINAL shows each identity once by construction; what
# must hold is that every stored version of an identity (replays not yet merged included) is
# the same source row: an identity given to two different rows would hide one of them.
clash=$(ch_sql "SELECT count() FROM (SELECT _sluice_origin, _sluice_seq FROM $CDB.hist
                GROUP BY _sluice_origin, _sluice_seq HAVING uniqExact(n, k, note) > 1)")
assert_eq 0 "$clash" "no row identity of hist stands for two different rows"
raw=$(ch_sql "SELECT count() FROM $CDB.hist")
log "ok (${a%% *} hist rows; $raw stored before merges; $kills kills)"
pass
