#!/usr/bin/env bash
# Exactly once into ClickHouse under SIGKILL: pgbench (-c 4 -T 30) writes to the source while
# `sluice run` (PostgreSQL -> ClickHouse) is killed with SIGKILL at random moments (the first kill
# may land in the snapshot) and restarted. A kill between ClickHouse acknowledging a group's
# inserts and the position being saved makes the next run write the same rows again: they must
# replace, not add. Then `sluice run --once` catches up and every pgbench table read FINAL
# without deleted rows must equal the source -- the keyless pgbench_history included, with no
# duplicates -- by `sluice verify` and by an independent count + md5 of the rows as both servers
# print them. Keyed tables must be ReplacingMergeTree ordered by their key.
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

DURATION=${CRASH_SECONDS:-30}
pgbench -n -c 4 -j 2 -T "$DURATION" -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SDB" >"$TMP/bench.log" 2>&1 &
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
	((SECONDS - start < DURATION + 60)) || fail "pgbench did not finish"
done
wait "$BENCH" || fail "pgbench failed: $(tail -5 "$TMP/bench.log")"
BG_PIDS=()
log "pgbench done: $(grep -E 'number of transactions actually processed' "$TMP/bench.log"); sluice killed $kills times"
((kills >= 3)) || fail "expected at least 3 kills, got $kills"
for f in "$TMP"/run*.err; do
	if grep -q "ERROR: AddressSanitizer\|runtime error" "$f"; then
		cat "$f" >&2
		fail "sanitizer report in $f"
	fi
done

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
same pgbench_history "tid, bid, aid, delta, to_char(mtime, 'YYYY-MM-DD HH24:MI:SS.US'), filler" \
	"tid, bid, aid, delta, mtime, filler" "tid, bid, aid, delta, mtime"
for t in pgbench_accounts:aid pgbench_branches:bid pgbench_tellers:tid; do
	assert_contains "$(ch_sql "SHOW CREATE TABLE $CDB.${t%%:*}")" \
		"ENGINE = ReplacingMergeTree(_sluice_version) ORDER BY ${t#*:}" "${t%%:*} is a ReplacingMergeTree ordered by its key"
done
dups=$(ch_sql "SELECT count() FROM (SELECT _sluice_origin, _sluice_seq FROM $CDB.pgbench_history FINAL GROUP BY _sluice_origin, _sluice_seq HAVING count() > 1)")
assert_eq 0 "$dups" "no row identity appears twice in pgbench_history"
hist=$(src_sql "$SDB" "SELECT count(*) FROM pgbench_history")
((hist > 100)) || fail "pgbench wrote only $hist history rows"
raw=$(ch_sql "SELECT count() FROM $CDB.pgbench_history")
log "ok ($hist history rows; $raw stored before merges; $kills kills)"
pass
