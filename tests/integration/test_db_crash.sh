#!/usr/bin/env bash
# Exactly once into Databricks under SIGKILL, against the emulator: pgbench (-c 4) writes to the
# source while `sluice run` (PostgreSQL -> Databricks) is killed with SIGKILL at random moments
# and restarted (crash_loop in lib.sh: every kill hits a live process, at least 3 kills, the
# history table grows in at least 3 cycles). Databricks has no transaction across statements: a
# kill lands between a group's MERGEs, or after its last and before its position, and the
# restarted agent applies the group again. The version guard leaves the tables already merged as
# they are; the keyless, insert-only pgbench_history takes each change once by its (version,
# seq), whatever files the replayed group's rows are in. Then `sluice run --once` catches up;
# `sluice verify` and an independent count + md5 of every table computed by DuckDB on the
# emulator's side must equal the source's (duplicates counted); the volume ends empty.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
db_start

command -v pgbench >/dev/null || PATH=/usr/lib/postgresql/15/bin:$PATH
SDB=it_dbcrash_src
fresh_db test-src "$SDB"
pgbench -i -q -s 1 -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SDB" >"$TMP/init.log" 2>&1 || fail "pgbench -i failed: $(<"$TMP/init.log")"

PIPE=$TMP/dbcrash.yaml
mapfile -t TL < <(db_target_lines)
pipeline_file "$PIPE" it_dbcrash "$SDB" databricks:x "${TL[@]}" "apply: { max_group_bytes: 4MiB, max_delay: 200ms }"

bench() {
	pgbench -n -c 4 -j 2 -T "$1" -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SDB" >>"$TMP/bench.log" 2>&1
}
# progress: live rows of the insert-only pgbench_history on the emulator (0 before it exists)
live_history() {
	db_query 'SELECT count(*) FROM uc_main.public.pgbench_history WHERE NOT _sluice_deleted' 2>/dev/null || echo 0
}
crash_loop "$PIPE" live_history "${CRASH_SECONDS:-30}" bench
kills=$CRASH_KILLS

# A chunk file left by a run killed between putting and removing it (the kills above may or may
# not hit that moment): the next run removes it before it loads anything.
STRAY=$TMP/volumes/main/stage/vol/it_dbcrash/snapshot/stray-1.parquet
mkdir -p "$(dirname "$STRAY")"
printf 'PAR1' >"$STRAY"
sluice_ok run --once "$PIPE"
[[ ! -e $STRAY ]] || fail "a chunk file an earlier run left is still in the volume"
sluice_ok run --once "$PIPE"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT$SL_ERR" "all tables equal" "verify: every table equals the source"

same() { # TABLE PG-EXPR DUCKDB-EXPR ORDER
	local a b
	a=$(src_sql "$SDB" "COPY (SELECT count(*), md5(coalesce(string_agg($2, E'\\n' ORDER BY $4), '')) FROM $1) TO STDOUT")
	b=$(db_query "SELECT count(*), md5(coalesce(string_agg($3, chr(10) ORDER BY $4), '')) FROM uc_main.public.$1 WHERE NOT _sluice_deleted")
	assert_eq "$a" "$b" "$1 equals the source after $kills SIGKILLs (count + md5, DuckDB)"
}
same pgbench_accounts "concat_ws('|', aid, bid, abalance, filler)" "concat_ws('|', aid, bid, abalance, filler)" aid
same pgbench_branches "concat_ws('|', bid, bbalance, coalesce(filler, '-'))" "concat_ws('|', bid, bbalance, coalesce(filler, '-'))" bid
same pgbench_tellers "concat_ws('|', tid, bid, tbalance, coalesce(filler, '-'))" "concat_ws('|', tid, bid, tbalance, coalesce(filler, '-'))" tid
same pgbench_history "concat_ws('|', tid, bid, aid, delta, (extract(epoch from mtime) * 1000000)::bigint, coalesce(filler, '-'))" \
	"concat_ws('|', tid, bid, aid, delta, epoch_us(mtime), coalesce(filler, '-'))" "tid, bid, aid, delta, mtime"
hist=$(src_sql "$SDB" "SELECT count(*) FROM pgbench_history")
((hist > 100)) || fail "pgbench wrote only $hist history rows"
left=$(find "$TMP/volumes" -name '*.parquet' || true)
[[ -z $left ]] || fail "files left in the volume: $left"
log "ok ($hist history rows; $kills kills)"
pass
