#!/usr/bin/env bash
# One pipeline, one agent. While `sluice run` streams a pipeline, a second `sluice run` of the
# same pipeline, and `sluice reset`, refuse at once with one error line naming the running
# process (its pid); the running one is not disturbed (it still applies changes afterwards). A
# SIGKILLed agent leaves nothing to clean up: the next run starts. A slot still held by another
# session (pg_recvlogical standing in for a previous run going away) is waited for with a
# message, and used once released; held for longer than 30 s, the run stops with one error line
# naming the slot, not the server's raw "is active" error.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_one_src
TDB=it_one_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE t (id integer PRIMARY KEY, v text);
INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 100) i;
SQL
PIPE=$TMP/one.yaml
pipeline_file "$PIPE" it_one "$SDB" "$TDB"

wait_rows() { # N: the target holds N rows of t (30 s at most)
	local i
	for i in $(seq 1 300); do
		[[ $(dst_sql "$TDB" "SELECT count(*) FROM t" 2>/dev/null) == "$1" ]] && return 0
		kill -0 "$SL_PID" 2>/dev/null || { cat "$TMP/a.err" >&2; fail "the first agent exited"; }
		sleep 0.1
	done
	fail "the target did not reach $1 rows in 30 s"
}

# ------------------------------------------------------ a second agent refuses ---
sluice_bg "$TMP/a.out" "$TMP/a.err" run "$PIPE"
FIRST=$SL_PID
wait_rows 100
t0=$SECONDS
sluice run --once "$PIPE"
assert_sluice_error nonzero "pipeline it_one is already running" "pid $FIRST"
((SECONDS - t0 <= 5)) || fail "the second agent took $((SECONDS - t0)) s to refuse"
sluice reset "$PIPE"
assert_sluice_error nonzero "already running" "pid $FIRST"
# the first agent goes on
src_sql "$SDB" "INSERT INTO t VALUES (101, 'after the refusals')"
wait_rows 101
kill -0 "$FIRST" || fail "the first agent died"

# --------------------------------------------- a crash leaves nothing to clean up ---
kill -KILL "$FIRST"
wait "$FIRST" 2>/dev/null || true
BG_PIDS=()
src_sql "$SDB" "INSERT INTO t VALUES (102, 'after the kill')"
sluice_ok run --once "$PIPE"
assert_eq 102 "$(dst_sql "$TDB" "SELECT count(*) FROM t")" "the run after a SIGKILL starts and applies"

# ------------------------------------------- a slot held by another session ---
recv() { # SECONDS: hold the pipeline's slot with pg_recvlogical for that long
	timeout "$1" /usr/lib/postgresql/15/bin/pg_recvlogical -h 127.0.0.1 -p "$SRC_PORT" -U sluice \
		-d "$SDB" --slot sluice_it_one --start -f /dev/null \
		-o proto_version=1 -o publication_names=sluice_it_one >/dev/null 2>&1 &
	RECV=$!
	BG_PIDS+=("$RECV")
	local i
	for i in $(seq 1 100); do
		[[ $(src_sql "$SDB" "SELECT active FROM pg_replication_slots WHERE slot_name = 'sluice_it_one'") == t ]] && return 0
		sleep 0.1
	done
	fail "pg_recvlogical did not take the slot"
}
recv 4
src_sql "$SDB" "INSERT INTO t VALUES (103, 'while the slot was held')"
t0=$SECONDS
sluice_ok run --once "$PIPE"
log "run waited $((SECONDS - t0)) s for the slot"
assert_contains "$SL_ERR" 'replication slot "sluice_it_one" is still in use by PID' "the wait is announced"
assert_eq 103 "$(dst_sql "$TDB" "SELECT count(*) FROM t")" "once released, the slot is used"

recv 60
t0=$SECONDS
sluice run --once "$PIPE"
assert_sluice_error nonzero 'replication slot "sluice_it_one" is still in use' "after 30 s"
assert_not_contains "$SL_ERR" "is active for PID" "not the server's raw error"
((SECONDS - t0 >= 29)) || fail "gave up after $((SECONDS - t0)) s, not 30"
kill "$RECV" 2>/dev/null || true
wait "$RECV" 2>/dev/null || true
BG_PIDS=()
sluice_ok reset "$PIPE"
pass
