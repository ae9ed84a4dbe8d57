#!/usr/bin/env bash
# The buffer with the other source and the other target: MariaDB -> ClickHouse through
# buffer: { url: file://... }. Binlog changes (updates, deletes, a key change, a keyless table with
# equal rows, a multi-statement transaction, a column added) go through segments; the agent is
# killed while a writer keeps changing the source, and started again; every table read FINAL
# without deleted rows equals the source, `sluice verify` agrees, and the applied segments are
# deleted. ClickHouse has no transactions: a replayed segment must replace rows, not add them
# (the keyless table's equal rows would double).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require
ch_require

SDB=test_bufmy
CDB=it_bufmy
my_fresh_db "$SDB"
ch_fresh_db "$CDB"
my_sql "$SDB" <<'SQL'
CREATE TABLE acct (id int PRIMARY KEY, owner varchar(40), balance decimal(12,2), note text);
CREATE TABLE events (kind varchar(10), n int);
INSERT INTO acct SELECT seq, CONCAT('owner', seq), seq * 10, NULL FROM seq_1_to_1000;
INSERT INTO events VALUES ('a', 1), ('a', 1), ('b', 2);
SQL
BUF=$TMP/buf
PIPE=$TMP/bufmy.yaml
pipeline_file "$PIPE" it_bufmy "mysql:$SDB" "clickhouse:$CDB" \
	"buffer: { url: file://$BUF, segment_size: 8KiB }" "apply: { max_delay: 200ms }"

same() { # TABLE COLUMNS ORDER WHAT
	local a b
	a=$(my_sql "$SDB" -e "SELECT $2 FROM $1 ORDER BY $3" | md5sum)
	b=$(ch_sql "SELECT $2 FROM $CDB.$1 FINAL WHERE _sluice_deleted = 0 ORDER BY $3" | md5sum)
	assert_eq "$a" "$b" "$4"
}
caught_up() { # ClickHouse has every row of both tables as the source has them
	[[ $(my_sql "$SDB" -e "SELECT id, owner, balance, ifnull(note, 'NULL') FROM acct ORDER BY id" | md5sum) == \
		$(ch_sql "SELECT id, owner, balance, ifnull(note, 'NULL') FROM $CDB.acct FINAL WHERE _sluice_deleted = 0 ORDER BY id" | md5sum) ]] &&
		[[ $(my_sql "$SDB" -e "SELECT count(*) FROM events") == \
			$(ch_sql "SELECT count() FROM $CDB.events FINAL WHERE _sluice_deleted = 0") ]]
}
check() { # WHAT
	same acct "id, owner, balance, ifnull(note, 'NULL')" id "$1: acct"
	same events "kind, n" "kind, n" "$1: events (keyless)"
	sluice verify "$PIPE"
	((SL_RC == 0)) || { sluice_dump; fail "verify failed: $1"; }
}
segments() { find "$BUF" -name '*.seg' | wc -l; }

sluice_ok run --once "$PIPE"
my_sql "$SDB" <<'SQL'
UPDATE acct SET balance = balance + 1 WHERE id <= 100;
DELETE FROM acct WHERE id BETWEEN 900 AND 950;
UPDATE acct SET id = 5000 WHERE id = 1;
INSERT INTO events VALUES ('a', 1), ('c', 3);
BEGIN; UPDATE acct SET note = 'in txn' WHERE id = 2; DELETE FROM events WHERE kind = 'b'; COMMIT;
ALTER TABLE acct ADD COLUMN extra int;
UPDATE acct SET extra = id WHERE id <= 10;
SQL
sluice_ok run --once "$PIPE"
assert_contains "$SL_ERR" "buffer: the source side reads" "the changes went through the buffer"
check "after changes through the buffer"
assert_eq 0 "$(segments)" "applied segments are deleted"

# a writer changes the source while the agent is killed twice
{
	for i in $(seq 1 300); do
		echo "INSERT INTO events VALUES ('w', $((i % 7))); UPDATE acct SET balance = balance + 1 WHERE id = $((i % 500 + 2));"
		sleep 0.02
	done
} | my_sql "$SDB" &
WRITER=$!
sluice_bg "$TMP/run1.out" "$TMP/run1.err" run "$PIPE"
for k in 1 2; do
	sleep 2
	kill -KILL "$SL_PID"
	wait "$SL_PID" 2>/dev/null || true
	BG_PIDS=()
	log "killed ($k); $(segments) segments"
	sluice_bg "$TMP/run$((k + 1)).out" "$TMP/run$((k + 1)).err" run "$PIPE"
done
wait "$WRITER" || fail "the writer failed"
wait_until 60 caught_up || fail "ClickHouse did not catch up with the writer"
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "sluice did not stop cleanly"
BG_PIDS=()
check "after two kills through the buffer"
assert_eq 0 "$(segments)" "applied segments are deleted"
pass
