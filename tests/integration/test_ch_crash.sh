#!/usr/bin/env bash
# Exactly once into ClickHouse under SIGKILL: pgbench (-c 4, 30 s or more) writes to the source
# while `sluice run` (PostgreSQL -> ClickHouse) is killed with SIGKILL at random moments (the
# first kills may land in the snapshot) and restarted (crash_loop in lib.sh): every kill must hit a running
# process (a run that exits on its own fails the test), at least 3 kills, and in at least 3
# cycles the live rows of pgbench_history must have grown. A kill between ClickHouse
# acknowledging a group's inserts and the position being saved makes the next run write the same
# rows again: they must replace, not add. Then `sluice run --once` catches up and every pgbench
# table read FINAL without deleted rows must equal the source -- the keyless insert-only
# pgbench_history included, duplicates counted -- by `sluice verify` and by an independent
# count + md5 of the rows as both servers print them; no keyless row identity may stand for two
# different rows. Keyed tables must be ReplacingMergeTree ordered by their key.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ch_require

command -v pgbench >/dev/null || PATH=/usr/lib/postgresql/15/bin:$PATH
SDB=it_chcrash_src
CDB=it_chcrash
fresh_db test-src "$SDB"
ch_fresh_db "$CDB"
pgbench -i -q -s 2 -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SDB" >"$TMP/init.log" 2>&1 || fail "pgbench -i failed: $(<"$TMP/init.log")"

PIPE=$TMP/chcrash.yaml
pipeline_file "$PIPE" it_chcrash "$SDB" "clickhouse:$CDB" "apply: { max_group_bytes: 4MiB, max_delay: 200ms }"

# the workload: pgbench rounds of $1 seconds (crash_loop runs them while it kills sluice)
bench() {
	pgbench -n -c 4 -j 2 -T "$1" -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SDB" >>"$TMP/bench.log" 2>&1
}
# progress: live rows of the insert-only pgbench_history in ClickHouse (0 before it exists)
live_history() {
	[[ $(ch_sql "EXISTS TABLE $CDB.pgbench_history") == 1 ]] || { echo 0; return; }
	ch_sql "SELECT count() FROM $CDB.pgbench_history FINAL WHERE _sluice_deleted = 0"
}
crash_loop "$PIPE" live_history "${CRASH_SECONDS:-30}" bench
kills=$CRASH_KILLS

sluice_ok run --once "$PIPE"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT$SL_ERR" "all tables equal" "verify: every table equals the source"

same() { # TABLE PGCOLUMNS CHCOLUMNS ORDER
	local a b
	a=$(src_sql "$SDB" "COPY (SELECT $2 FROM $1 ORDER BY $4) TO STDOUT" | { md5sum; })
	a="$(src_sql "$SDB" "SELECT count(*) FROM $1") $a"
	b=$(ch_sql "SELECT $3 FROM $CDB.$1 FINAL WHERE _sluice_deleted = 0 ORDER BY $4" | { md5sum; })
	b="$(ch_sql "SELECT count() FROM $CDB.$1 FINAL WHERE _sluice_deleted = 0") $b"
	assert_eq "$a" "$b" "$1 equals the source after $kills SIGKILLs (count + md5)"
}
same pgbench_accounts "aid, bid, abalance, filler" "aid, bid, abalance, filler" aid
same pgbench_branches "bid, bbalance, filler" "bid, bbalance, filler" bid
same pgbench_tellers "tid, bid, tbalance, filler" "tid, bid, tbalance, filler" tid
# every row, duplicates included (count + md5), ordered by all of its columns
same pgbench_history "tid, bid, aid, delta, to_char(mtime, 'YYYY-MM-DD HH24:MI:SS.US'), filler" \
	"tid, bid, aid, delta, mtime, filler" "tid, bid, aid, delta, mtime, filler"
for t in pgbench_accounts:aid pgbench_branches:bid pgbench_tellers:tid; do
	assert_contains "$(ch_sql "SHOW CREATE TABLE $CDB.${t%%:*}")" \
		"ENGINE = ReplacingMergeTree(_sluice_version) ORDER BY ${t#*:}" "${t%%:*} is a ReplacingMergeTree ordered by its key"
done
# A row identity is the sorting key, so FINAL shows each identity once by construction; what
# must hold is that every stored version of an identity (replays not yet merged included) is
# the same source row: an identity given to two different rows would hide one of them.
clash=$(ch_sql "SELECT count() FROM (SELECT _sluice_origin, _sluice_seq FROM $CDB.pgbench_history
                GROUP BY _sluice_origin, _sluice_seq HAVING uniqExact(tid, bid, aid, delta, mtime) > 1)")
assert_eq 0 "$clash" "no row identity of pgbench_history stands for two different rows"
hist=$(src_sql "$SDB" "SELECT count(*) FROM pgbench_history")
((hist > 100)) || fail "pgbench wrote only $hist history rows"
raw=$(ch_sql "SELECT count() FROM $CDB.pgbench_history")
log "ok ($hist history rows; $raw stored before merges; $kills kills)"
pass
