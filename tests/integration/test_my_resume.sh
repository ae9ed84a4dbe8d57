#!/usr/bin/env bash
# MariaDB -> PostgreSQL: a snapshot killed with SIGKILL half-way resumes. Tables finished are
# kept, the others are reloaded lock-free (their chunks read later than the recorded GTID
# position), and the binlog replay from that position makes them converge, while a writer changes
# rows during the whole run. After `run --once`, every table equals MariaDB.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require

SDB=test_myresume
TDB=it_myresume_dst
my_fresh_db "$SDB"
fresh_db test-dst "$TDB"
for t in a b c; do
	my_sql "$SDB" -e "CREATE TABLE $t (id int PRIMARY KEY, v int, pad varchar(200));
	  INSERT INTO $t SELECT seq, seq, REPEAT('p', 150) FROM seq_1_to_300000"
done
PIPE=$TMP/resume.yaml
{
	echo "name: it_myresume"
	echo "source: { type: mysql, url: '$(my_url)$SDB', password: '\${SL_MY_PASSWORD}' }"
	echo "target: { type: postgres, url: 'postgres://sluice@127.0.0.1:$(port_of test-dst)/$TDB', password: '\${SL_PG_PASSWORD}' }"
	echo "snapshot: { parallelism: 1, chunk_size: 256KiB }"
	echo "state: { url: 'sqlite://$TMP/resume.state.db' }"
} >"$PIPE"

(
	for i in $(seq 1 80); do
		my_sql "$SDB" -e "UPDATE a SET v = v + 1 WHERE id % 500 = $((i % 500)); UPDATE c SET v = v - 1 WHERE id % 700 = $((i % 700)); DELETE FROM b WHERE id = $((i * 97 % 300000 + 1)); INSERT INTO c VALUES ($((1000000 + i)), $i, 'new')" || exit 1
		sleep 0.05
	done
) &
WRITER=$!
BG_PIDS+=("$WRITER")

sluice_bg "$TMP/run1.out" "$TMP/run1.err" run --once "$PIPE"
RUN=$SL_PID
# kill once more than one table's worth of rows has been loaded (chunks commit one by one)
for _ in $(seq 1 600); do
	n=$(dst_sql "$TDB" "SELECT (SELECT count(*) FROM $SDB.a) + (SELECT count(*) FROM $SDB.b) + (SELECT count(*) FROM $SDB.c)" 2>/dev/null || echo 0)
	((n > 200000)) && break
	sleep 0.05
done
kill -9 "$RUN" 2>/dev/null || true
wait "$RUN" 2>/dev/null || true
BG_PIDS=("$WRITER")
grep -q "snapshot: complete" "$TMP/run1.err" && fail "the snapshot finished before it could be killed (make the tables bigger)"
log "killed during the snapshot, with $n of 900000 rows loaded"

sluice_ok run --once "$PIPE"
assert_contains "$SL_ERR" "resuming the snapshot" "the second run resumes"
wait "$WRITER" || fail "the writer failed"
BG_PIDS=()
sluice_ok run --once "$PIPE"
for t in a b c; do
	a=$(my_sql "$SDB" -e "SELECT id, v, pad FROM $t ORDER BY id" | md5sum)
	b=$(dst_sql "$TDB" "COPY (SELECT id, v, pad FROM $SDB.$t ORDER BY id) TO STDOUT" | md5sum)
	assert_eq "$a" "$b" "$t equals MariaDB after a SIGKILL mid-snapshot and a resume"
done
sluice_ok verify "$PIPE"
assert_not_contains "$SL_OUT" "DIFF" "verify: equal"
pass
