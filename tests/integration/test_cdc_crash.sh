#!/usr/bin/env bash
# Exactly once under SIGKILL: pgbench (-c 4 -T 30) writes to the source while `sluice run` is
# killed with SIGKILL at random moments (the first kill may land in the snapshot) and restarted.
# Then `sluice run --once` catches up. Every pgbench table, including the keyless
# pgbench_history (insert-only: a duplicate would show), must equal the source: checked with
# `sluice verify` and with an independent ordered md5 of every table on both sides. The slot's
# confirmed flush position must have advanced.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

command -v pgbench >/dev/null || PATH=/usr/lib/postgresql/15/bin:$PATH
SDB=it_crash_src
TDB=it_crash_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
pgbench -i -q -s 2 -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SDB" >"$TMP/init.log" 2>&1 || fail "pgbench -i failed: $(<"$TMP/init.log")"

PIPE=$TMP/crash.yaml
pipeline_file "$PIPE" it_crash "$SDB" "$TDB" "apply: { max_group_bytes: 4MiB, max_delay: 200ms }"

DURATION=${CRASH_SECONDS:-30}
pgbench -n -c 4 -j 2 -T "$DURATION" -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SDB" >"$TMP/bench.log" 2>&1 &
BENCH=$!
BG_PIDS+=("$BENCH")

kills=0
start=$SECONDS
first_flush=""
while kill -0 "$BENCH" 2>/dev/null; do
	sluice_bg "$TMP/run.out" "$TMP/run$kills.err" run "$PIPE"
	sleep "$(awk -v s=$RANDOM 'BEGIN { srand(s); printf "%.1f", 1.5 + rand() * 4 }')"
	kill -9 "$SL_PID" 2>/dev/null || true
	wait "$SL_PID" 2>/dev/null || true
	kills=$((kills + 1))
	[[ -n $first_flush ]] || first_flush=$(src_sql "$SDB" "SELECT coalesce(confirmed_flush_lsn::text, '0/0') FROM pg_replication_slots WHERE slot_name = 'sluice_it_crash'")
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

digest() { # SQLFN DB TABLE ORDER
	"$1" "$2" "SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' ORDER BY $4), '')) FROM $3 t"
}
for spec in "pgbench_accounts:aid" "pgbench_branches:bid" "pgbench_tellers:tid" \
	"pgbench_history:tid, bid, aid, delta, mtime"; do
	tbl=${spec%%:*}
	ord=${spec#*:}
	a=$(digest src_sql "$SDB" "$tbl" "$ord")
	b=$(digest dst_sql "$TDB" "public.$tbl" "$ord")
	assert_eq "$a" "$b" "$tbl equals the source after $kills SIGKILLs (count + md5)"
done
hist=$(src_sql "$SDB" "SELECT count(*) FROM pgbench_history")
((hist > 100)) || fail "pgbench wrote only $hist history rows"
last_flush=$(src_sql "$SDB" "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'sluice_it_crash'")
assert_eq t "$(src_sql "$SDB" "SELECT '$last_flush'::pg_lsn > '${first_flush:-0/0}'::pg_lsn")" \
	"the slot's confirmed flush position advanced ($first_flush -> $last_flush)"
log "ok ($hist history rows, $kills kills)"
