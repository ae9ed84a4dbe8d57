#!/usr/bin/env bash
# Exactly once into Snowflake under SIGKILL, against the SQL API emulator: pgbench (-c 4) writes
# to the source while `sluice run` (PostgreSQL -> Snowflake) is killed with SIGKILL at random
# moments and restarted (crash_loop in lib.sh: every kill hits a live process, at least 3 kills,
# and the history table grows in at least 3 cycles). A kill can land while a group's request is
# running in Snowflake: it commits or not, whole, with its position, and a group the restarted
# agent replays after a late commit is refused by the position check, never applied twice.
# Then `sluice run --once` catches up; `sluice verify` and an independent count + md5 of every
# table computed by DuckDB on the emulator's side must equal the source's, the keyless,
# insert-only pgbench_history included (duplicates counted).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
sf_start

command -v pgbench >/dev/null || PATH=/usr/lib/postgresql/15/bin:$PATH
SDB=it_sfcrash_src
fresh_db test-src "$SDB"
pgbench -i -q -s 1 -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SDB" >"$TMP/init.log" 2>&1 || fail "pgbench -i failed: $(<"$TMP/init.log")"

PIPE=$TMP/sfcrash.yaml
mapfile -t TL < <(sf_target_lines)
pipeline_file "$PIPE" it_sfcrash "$SDB" snowflake:analytics "${TL[@]}" "apply: { max_group_bytes: 4MiB, max_delay: 200ms }"

bench() {
	pgbench -n -c 4 -j 2 -T "$1" -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SDB" >>"$TMP/bench.log" 2>&1
}
# progress: live rows of the insert-only pgbench_history on the emulator (0 before it exists)
live_history() {
	sf_query 'SELECT count(*) FROM ANALYTICS.PUBLIC.PGBENCH_HISTORY WHERE NOT "_SLUICE_DELETED"' 2>/dev/null || echo 0
}
crash_loop "$PIPE" live_history "${CRASH_SECONDS:-30}" bench
kills=$CRASH_KILLS

sluice_ok run --once "$PIPE"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT$SL_ERR" "all tables equal" "verify: every table equals the source"

same() { # TABLE PG-EXPR DUCKDB-EXPR ORDER
	local a b
	a=$(src_sql "$SDB" "COPY (SELECT count(*), md5(coalesce(string_agg($2, E'\\n' ORDER BY $4), '')) FROM $1) TO STDOUT")
	b=$(sf_query "SELECT count(*), md5(coalesce(string_agg($3, chr(10) ORDER BY $4), '')) FROM ANALYTICS.PUBLIC.${1^^} WHERE NOT \"_SLUICE_DELETED\"")
	assert_eq "$a" "$b" "$1 equals the source after $kills SIGKILLs (count + md5, DuckDB)"
}
same pgbench_accounts "concat_ws('|', aid, bid, abalance, filler)" "concat_ws('|', AID, BID, ABALANCE, FILLER)" aid
same pgbench_branches "concat_ws('|', bid, bbalance, coalesce(filler, '-'))" "concat_ws('|', BID, BBALANCE, coalesce(FILLER, '-'))" bid
same pgbench_tellers "concat_ws('|', tid, bid, tbalance, coalesce(filler, '-'))" "concat_ws('|', TID, BID, TBALANCE, coalesce(FILLER, '-'))" tid
same pgbench_history "concat_ws('|', tid, bid, aid, delta, (extract(epoch from mtime) * 1000000)::bigint, coalesce(filler, '-'))" \
	"concat_ws('|', TID, BID, AID, DELTA, epoch_us(MTIME), coalesce(FILLER, '-'))" "tid, bid, aid, delta, mtime"
hist=$(src_sql "$SDB" "SELECT count(*) FROM pgbench_history")
((hist > 100)) || fail "pgbench wrote only $hist history rows"
left=$(find "$TMP/s3/stage" -name '*._S3rver_object' | grep -v '/_sluice/' | grep -c . || true)
log "ok ($hist history rows; $kills kills; $left staged file(s) left)"
pass
