#!/usr/bin/env bash
# source.max_retained_wal (README: "warn (every minute while running, and in `status`) when the
# slot holds back more WAL than this"). An open source transaction that has written keeps the
# slot's restart_lsn where it is; committed writes then grow the WAL the slot retains past a
# small limit (measured independently: pg_current_wal_lsn() - restart_lsn). Checks:
#   - `sluice status` flags the slot as holding more than source.max_retained_wal; the same
#     status with a limit above the retained amount does not;
#   - a streaming `run` logs the warning (the first check comes 10 s into change capture; the
#     next ones a minute apart are not waited for here), keeps applying changes, and stops on
#     SIGINT with exit 0; the target then equals the source.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_rwal_src
TDB=it_rwal_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE t (id integer PRIMARY KEY, pad text);
INSERT INTO t SELECT i, repeat('x', 100) FROM generate_series(1, 1000) i;
CREATE TABLE side (x integer);
SQL
LIMIT=256KiB
LIMIT_BYTES=$((256 * 1024))
PIPE=$TMP/rwal.yaml
pipeline_file "$PIPE" it_rwal "$SDB" "$TDB" "source.max_retained_wal: $LIMIT" \
	"source.tables: { include: [public.t] }"
sluice_ok run --once "$PIPE"

# Hold the slot back: a transaction that has written (it is in the slot's reorder buffer, so
# restart_lsn cannot pass it) stays open while committed writes add WAL.
(printf "SET application_name = 'it_rwal_holder';\nBEGIN;\nINSERT INTO side VALUES (1);\nSELECT pg_sleep(300);\n" |
	src_sql "$SDB" >/dev/null 2>&1 || true) &
HOLDER=$!
BG_PIDS+=("$HOLDER")
release_holder() {
	src_sql postgres "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'it_rwal_holder'" >/dev/null
	wait "$HOLDER" 2>/dev/null || true
}
for ((i = 0; i < 100; i++)); do
	[[ $(src_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'it_rwal_holder' AND query LIKE '%pg_sleep%'") == 1 ]] && break
	sleep 0.1
done
((i < 100)) || fail "the holding transaction did not start"
src_sql "$SDB" "INSERT INTO t SELECT i, repeat('y', 100) FROM generate_series(1001, 11000) i"

retained() {
	src_sql postgres "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots WHERE slot_name = 'sluice_it_rwal'"
}
r=$(retained)
log "the slot retains $r bytes of WAL (limit $LIMIT_BYTES)"
((r > LIMIT_BYTES)) || fail "test setup: the slot retains only $r bytes, not more than $LIMIT"

sluice_ok status "$PIPE"
assert_contains "$SL_OUT" "of log retained for the slot (more than source.max_retained_wal!)" \
	"status flags the retained WAL over the limit"
# the same pipeline and state with a limit far above what is retained: no flag
pipeline_file "$TMP/rwal_big.yaml" it_rwal "$SDB" "$TDB" "source.max_retained_wal: 1GiB" \
	"source.tables: { include: [public.t] }"
sluice_ok status "$TMP/rwal_big.yaml"
assert_contains "$SL_OUT" "of log retained for the slot" "status shows the retained WAL"
assert_not_contains "$SL_OUT" "max_retained_wal" "status with a limit above the retained WAL: no flag"

# A streaming run warns while running.
sluice_bg "$TMP/run.out" "$TMP/run.err" run "$PIPE"
RUN=$SL_PID
warned=0
for ((i = 0; i < 600; i++)); do
	kill -0 "$RUN" 2>/dev/null || break
	if grep -q "replication slot holds back .* of log (more than source.max_retained_wal $LIMIT_BYTES bytes)" "$TMP/run.err"; then
		warned=1
		break
	fi
	sleep 0.1
done
if ((!warned)); then
	kill -KILL "$RUN" 2>/dev/null
	cat "$TMP/run.err" >&2
	fail "no max_retained_wal warning from a running sluice within 60 s (retained: $(retained) bytes)"
fi
log "run warned: $(grep -m1 'holds back' "$TMP/run.err")"
# it still applies changes while warning
src_sql "$SDB" "UPDATE t SET pad = 'changed' WHERE id % 10 = 0; INSERT INTO t VALUES (20000, 'last')"
for ((i = 0; i < 600; i++)); do
	[[ $(dst_sql "$TDB" "SELECT count(*) FROM t WHERE id = 20000") == 1 ]] && break
	kill -0 "$RUN" 2>/dev/null || break
	sleep 0.1
done
kill -INT "$RUN"
rc=0
wait "$RUN" || rc=$?
BG_PIDS=("$HOLDER")
assert_eq 0 "$rc" "SIGINT during change capture: exit 0"
release_holder
compare_table test-src "$SDB" test-dst "$TDB" public t
sluice_ok reset "$PIPE"
pass
