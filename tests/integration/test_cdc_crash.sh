#!/usr/bin/env bash
# Exactly once under SIGKILL: pgbench (-c 4, 30 s or more) writes to the source while `sluice run`
# is killed with SIGKILL at random moments (the first kills may land in the snapshot) and
# restarted (crash_loop in lib.sh): every kill must hit a running process (`wait` reports
# SIGKILL; a run that exits on its own fails the test), at least 3 kills, and in at least 3
# cycles the target's pgbench_history must have grown. Then `sluice run --once` catches up. Every pgbench table,
# including the keyless insert-only pgbench_history (a change applied twice adds a row), must
# equal the source: checked with `sluice verify` and with an independent count + md5 of all
# rows (duplicates included, ordered by the whole row) on both sides. The slot's confirmed flush
# position must have advanced past where it stood after the crash loop.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

command -v pgbench >/dev/null || PATH=/usr/lib/postgresql/15/bin:$PATH
SDB=it_crash_src
TDB=it_crash_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
pgbench -i -q -s 2 -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SDB" >"$TMP/init.log" 2>&1 || fail "pgbench -i failed: $(<"$TMP/init.log")"

PIPE=$TMP/crash.yaml
pipeline_file "$PIPE" it_crash "$SDB" "$TDB" "apply: { max_group_bytes: 4MiB, max_delay: 200ms }"

# the workload: pgbench rounds of $1 seconds (crash_loop runs them while it kills sluice)
bench() {
	pgbench -n -c 4 -j 2 -T "$1" -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SDB" >>"$TMP/bench.log" 2>&1
}
# progress: rows of the insert-only pgbench_history applied to the target (0 before it exists)
applied_history() {
	dst_sql "$TDB" "SELECT to_regclass('public.pgbench_history') IS NOT NULL" | grep -q t || { echo 0; return; }
	dst_sql "$TDB" "SELECT count(*) FROM public.pgbench_history"
}
crash_loop "$PIPE" applied_history "${CRASH_SECONDS:-30}" bench
first_flush=$(src_sql "$SDB" "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'sluice_it_crash'")
kills=$CRASH_KILLS

sluice_ok run --once "$PIPE"
sluice_ok verify "$PIPE"

# count + md5 of every row's text, duplicates included, ordered by the whole row
digest() { # SQLFN DB TABLE
	"$1" "$2" "SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text COLLATE \"C\"), '')) FROM $3 t"
}
for tbl in pgbench_accounts pgbench_branches pgbench_tellers pgbench_history; do
	a=$(digest src_sql "$SDB" "$tbl")
	b=$(digest dst_sql "$TDB" "public.$tbl")
	assert_eq "$a" "$b" "$tbl equals the source after $kills SIGKILLs (count + md5 of all rows)"
done
hist=$(src_sql "$SDB" "SELECT count(*) FROM pgbench_history")
((hist > 100)) || fail "pgbench wrote only $hist history rows"
last_flush=$(src_sql "$SDB" "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'sluice_it_crash'")
assert_eq t "$(src_sql "$SDB" "SELECT '$last_flush'::pg_lsn > '$first_flush'::pg_lsn")" \
	"the slot's confirmed flush position advanced ($first_flush -> $last_flush)"
log "ok ($hist history rows, $kills kills)"
pass
