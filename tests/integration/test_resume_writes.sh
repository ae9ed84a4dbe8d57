#!/usr/bin/env bash
# Snapshot resume converging through CDC under concurrent writes (README "An interrupted snapshot
# resumes: ... Reloaded keyed tables are read from a fresh snapshot; change capture starting at
# the slot's consistent point makes them converge"). A writer commits, without pause,
# transactions that insert, update and delete rows of the keyed table `big` and append to the
# keyless, insert-only table `log`. sluice is killed (SIGKILL) once `log` is done and `big` is
# loading with some chunks committed; the next run must resume (not start over) while the writer goes on, reload `big` from
# a newer snapshot, and replay from the old consistent point. After the writer stops, one more
# `run --once`: both tables equal the source (SQL digests: a row lost, duplicated in `log` or
# left stale in `big` shows).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
export SLUICE_CMD_TIMEOUT=180

SDB=it_rwrite_src
TDB=it_rwrite_dst
fresh_db test-src "$SDB"
N_BIG=250000
N_LOG=500000
# `log` is the bigger table, so its chunks are taken first; `big` is loaded after it.
src_sql "$SDB" <<SQL
SET ROLE sluice;
CREATE TABLE big (id bigint PRIMARY KEY, v integer, pad text);
INSERT INTO big SELECT i, 0, repeat('b', 150) FROM generate_series(1, $N_BIG) i;
CREATE TABLE log (n bigint, note text);
INSERT INTO log SELECT i, repeat('l', 150) FROM generate_series(1, $N_LOG) i;
RESET ROLE;
ANALYZE;
SQL

PIPE=$TMP/rw.yaml
pipeline_file "$PIPE" it_rwrite "$SDB" "$TDB" "snapshot: { parallelism: 2, chunk_size: 4MiB }" \
	"apply: { max_group_bytes: 4MiB, max_delay: 200ms }"
STATE=$TMP/it_rwrite.state.db
table_status() { sqlite3 "$STATE" "SELECT status FROM sluice_table WHERE name = 'public.$1'" 2>/dev/null || true; }
writer_count() { src_sql "$SDB" "SELECT count(*) FROM log WHERE n > $N_LOG"; }

# Writer: transaction i inserts big id N_BIG+i and log n N_LOG+i, updates one old row of big
# and deletes another; until $TMP/stop exists.
writer() {
	local i=0
	while [[ ! -e $TMP/stop ]]; do
		i=$((i + 1))
		printf "BEGIN; INSERT INTO big VALUES (%d, %d, 'new'); UPDATE big SET v = v + 1, pad = 'u%d' WHERE id = %d;
DELETE FROM big WHERE id = %d; INSERT INTO log VALUES (%d, 'w%d'); COMMIT;\n" \
			$((N_BIG + i)) "$i" "$i" $((i * 7919 % N_BIG + 1)) $((i * 104729 % N_BIG + 1)) $((N_LOG + i)) "$i"
	done | src_sql "$SDB" >/dev/null
}
rm -f "$TMP/stop"
writer &
WRITER=$!
BG_PIDS+=("$WRITER")
for ((i = 0; i < 100; i++)); do
	(($(writer_count) > 50)) && break
	sleep 0.1
done
((i < 100)) || fail "the writer did not start"

killed=0
for attempt in 1 2 3; do
	fresh_db test-dst "$TDB"
	rm -f "$STATE"
	sluice_bg "$TMP/run1.out" "$TMP/run1.err" run --once "$PIPE"
	RUN=$SL_PID
	for ((i = 0; i < 1200; i++)); do
		kill -0 "$RUN" 2>/dev/null || break
		if [[ $(table_status log) == 2 ]]; then
			[[ $(table_status big) == 1 ]] || break
			# some chunks of big committed: the resume must empty them and reload
			if (($(dst_sql "$TDB" "SELECT count(*) FROM big") > 0)); then
				killed=1
				break
			fi
		fi
		sleep 0.05
	done
	kill -KILL "$RUN" 2>/dev/null
	rc=0
	wait "$RUN" || rc=$?
	BG_PIDS=("$WRITER")
	((killed)) && { assert_eq 137 "$rc" "the first run was killed by SIGKILL"; break; }
	log "attempt $attempt: log=$(table_status log) big=$(table_status big) when the run ended (exit $rc); again"
	sluice reset "$PIPE"
done
((killed)) || {
	tail -20 "$TMP/run1.err" >&2
	fail "could not kill the snapshot while log was done and big loading, in 3 attempts"
}
log "killed with log done and big loading ($(dst_sql "$TDB" "SELECT count(*) FROM big") of about $N_BIG rows of big on the target)"

w0=$(writer_count)
sluice_ok run --once "$PIPE"
w1=$(writer_count)
assert_contains "$SL_ERR" "resuming the snapshot" "the second run resumes the snapshot"
assert_not_contains "$SL_ERR" "starts over" "the second run does not start over (every unfinished table is keyed)"
log "resumed run: the writer committed $((w1 - w0)) transactions meanwhile"
((w1 - w0 > 0)) || fail "the writer committed nothing during the resumed run (no concurrency exercised)"

touch "$TMP/stop"
wait "$WRITER" || fail "the writer failed"
BG_PIDS=()
log "writer stopped after $(writer_count) transactions"
sluice_ok run --once "$PIPE"
compare_table test-src "$SDB" test-dst "$TDB" public big
compare_table test-src "$SDB" test-dst "$TDB" public log
sluice_ok reset "$PIPE"
pass
