#!/usr/bin/env bash
# MariaDB -> PostgreSQL: snapshot, then binlog CDC, each step checked against the source after
# `run --once`: inserts, updates, deletes, a key change, a transaction spanning two tables, a
# rolled-back transaction, a statement that changes many rows, TRUNCATE, ALTER TABLE ADD COLUMN
# and MODIFY COLUMN while streaming, a keyless table with duplicate rows, a partitioned table
# (read partition by partition), and the lock-free snapshot (no RELOAD privilege) under
# concurrent writes converging to the source. `sluice verify` and an independent comparison of
# the rows as both servers print them must agree.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require

SDB=test_mybasic
TDB=it_mybasic_dst
my_fresh_db "$SDB"
fresh_db test-dst "$TDB"
my_sql "$SDB" <<'SQL'
CREATE TABLE acct (id int PRIMARY KEY, owner varchar(40), balance decimal(12,2), note text);
CREATE TABLE ledger (id bigint AUTO_INCREMENT PRIMARY KEY, acct int, amount decimal(12,2));
CREATE TABLE events (kind varchar(10), n int);
CREATE TABLE parted (id int NOT NULL, v varchar(20), PRIMARY KEY (id))
  PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (100), PARTITION p1 VALUES LESS THAN (1000),
                           PARTITION p2 VALUES LESS THAN MAXVALUE);
INSERT INTO acct SELECT seq, CONCAT('owner', seq), seq * 10, NULL FROM seq_1_to_2000;
INSERT INTO events VALUES ('a', 1), ('a', 1), ('b', 2);
INSERT INTO parted SELECT seq * 7, CONCAT('v', seq) FROM seq_1_to_500;
CREATE TABLE pairs (a int, b varchar(10), v int, PRIMARY KEY (a, b));
INSERT INTO pairs SELECT seq % 300, CONCAT('b', seq), seq FROM seq_1_to_6000;
SQL

my_pipeline() { # PATH NAME USER [extra lines...]
	local path=$1 name=$2 user=$3
	shift 3
	{
		echo "name: $name"
		echo "source:"
		echo "  type: mysql"
		echo "  url: $(my_url "$user")$SDB"
		echo "  password: \${SL_MY_PASSWORD}"
		echo "target:"
		echo "  type: postgres"
		echo "  url: postgres://sluice@127.0.0.1:$(port_of test-dst)/$TDB"
		echo "  password: \${SL_PG_PASSWORD}"
		echo "snapshot: { parallelism: 2, chunk_size: 16KiB }"
		echo "state: { url: sqlite://$TMP/$name.state.db }"
		printf '%s\n' "$@"
	} >"$path"
}

# rows as each server prints them, in key order: equal when the content is equal (the tables
# here hold only integers, decimals and plain text)
same() { # TABLE COLUMNS ORDER WHAT
	local a b
	a=$(my_sql "$SDB" -e "SELECT $2 FROM $1 ORDER BY $3" | md5sum)
	b=$(dst_sql "$TDB" "COPY (SELECT $2 FROM $SDB.$1 ORDER BY $3) TO STDOUT" | md5sum)
	assert_eq "$a" "$b" "$4"
}

PIPE=$TMP/my.yaml
my_pipeline "$PIPE" it_mybasic sluice
sluice_ok run --once "$PIPE"
assert_contains "$SL_ERR" "snapshot: complete" "the snapshot ran"
same acct "id, owner, balance, coalesce(note, 'NULL')" id "snapshot: acct equal"
same parted "id, v" id "snapshot: a partitioned table read partition by partition"
same pairs "a, b, v" "a, b" "snapshot: a composite key split into ranges of its first column"
chunks=$(printf '%s\n' "$SL_ERR" | sed -n 's/.*snapshot: \([0-9]*\) table(s) in \([0-9]*\) chunk(s).*/\2/p')
((chunks > 8)) || fail "expected key-range chunks, got $chunks chunk(s)"
assert_eq 3 "$(dst_sql "$TDB" "SELECT count(*) FROM $SDB.events")" "snapshot: keyless rows, duplicates kept"

my_sql "$SDB" <<'SQL'
UPDATE acct SET balance = balance + 1 WHERE id <= 50;
DELETE FROM acct WHERE id BETWEEN 90 AND 95;
UPDATE acct SET id = 5000 WHERE id = 7;
BEGIN;
UPDATE acct SET balance = balance - 5 WHERE id = 1;
INSERT INTO ledger (acct, amount) VALUES (1, -5), (2, 5);
COMMIT;
BEGIN;
INSERT INTO acct VALUES (6000, 'rolled back', 0, NULL);
DELETE FROM acct WHERE id = 2;
ROLLBACK;
BEGIN;
INSERT INTO acct VALUES (6001, 'kept', 1, NULL);
SAVEPOINT sp;
INSERT INTO acct VALUES (6002, 'rolled back to savepoint', 2, NULL);
ROLLBACK TO SAVEPOINT sp;
UPDATE acct SET note = 'after savepoint' WHERE id = 6001;
COMMIT;
INSERT INTO acct SELECT seq + 10000, CONCAT('bulk', seq), seq, REPEAT('x', seq) FROM seq_1_to_3000;
DELETE FROM events WHERE kind = 'b';
INSERT INTO events VALUES ('c', 3);
UPDATE parted SET id = id + 1000 WHERE id < 50;
SQL
sluice_ok run --once "$PIPE"
same acct "id, owner, balance, coalesce(note, 'NULL')" id "CDC: inserts, updates, deletes, key change, bulk insert"
same ledger "id, acct, amount" id "CDC: a transaction spanning two tables"
assert_eq 0 "$(dst_sql "$TDB" "SELECT count(*) FROM $SDB.acct WHERE id = 6000")" "CDC: a rolled-back transaction left nothing"
assert_eq "kept after savepoint|" "$(dst_sql "$TDB" "SELECT string_agg(owner || ' ' || note, ',') || '|' || coalesce(string_agg(CASE WHEN id = 6002 THEN 'x' END, ''), '') FROM $SDB.acct WHERE id IN (6001, 6002)")" \
	"CDC: ROLLBACK TO SAVEPOINT undid only its part"
same events "kind, n" "kind, n" "CDC: keyless table"
same parted "id, v" id "CDC: partitioned table, rows moving between partitions"

# schema changes while streaming: the binlog's TABLE_MAP carries the new columns
my_sql "$SDB" <<'SQL'
ALTER TABLE acct ADD COLUMN tier tinyint unsigned NOT NULL DEFAULT 3;
UPDATE acct SET tier = 7 WHERE id < 20;
ALTER TABLE acct MODIFY COLUMN owner varchar(200);
INSERT INTO acct VALUES (7000, REPEAT('o', 150), 1, 'wide', 9);
ALTER TABLE ledger MODIFY COLUMN amount decimal(20,4);
INSERT INTO ledger (acct, amount) VALUES (3, 12345678.1234);
SQL
sluice_ok run --once "$PIPE"
same acct "id, owner, balance, coalesce(note, 'NULL'), tier" id "CDC: ADD COLUMN and MODIFY COLUMN applied"
same ledger "id, acct, amount" id "CDC: decimal widened"
assert_eq "smallint" "$(dst_sql "$TDB" "SELECT data_type FROM information_schema.columns WHERE table_schema = '$SDB' AND table_name = 'acct' AND column_name = 'tier'")" \
	"a TINYINT UNSIGNED column is a smallint on the target"

my_sql "$SDB" -e "TRUNCATE TABLE events; INSERT INTO events VALUES ('after', 1)"
sluice_ok run --once "$PIPE"
same events "kind, n" "kind, n" "CDC: TRUNCATE then insert"

# a table created after the snapshot is not replicated by run --once, and the run says so (once per table)
my_sql "$SDB" -e "CREATE TABLE latecomer (id int PRIMARY KEY); INSERT INTO latecomer VALUES (1), (2)"
sluice_ok run --once "$PIPE"
assert_contains "$SL_ERR" "table test_mybasic.latecomer has changes in the binlog but was not in the snapshot" \
	"a table created after the snapshot is named in a warning"
assert_contains "$SL_ERR" "table test_mybasic.latecomer is new to the pipeline; a streaming run (without --once) copies it" \
	"and at start, the run names it, and says a streaming run adds it"
assert_eq 0 "$(dst_sql "$TDB" "SELECT count(*) FROM information_schema.tables WHERE table_name = 'latecomer'")" \
	"nothing of it lands on the target"
my_sql "$SDB" -e "INSERT INTO latecomer VALUES (3)"
sluice_ok run --once "$PIPE"
assert_eq 1 "$(printf '%s\n' "$SL_ERR" | grep -c 'latecomer has changes in the binlog')" "the binlog warning comes once per run"

sluice_ok verify "$PIPE"
assert_not_contains "$SL_OUT" "DIFF" "verify finds every table equal"

# the lock-free snapshot: no RELOAD privilege, writers busy during the whole snapshot
SDB2=test_mynolock
TDB2=it_mynolock_dst
my_fresh_db "$SDB2"
fresh_db test-dst "$TDB2"
my_sql "$SDB2" <<'SQL'
CREATE TABLE t (id int PRIMARY KEY, v int, s varchar(30));
INSERT INTO t SELECT seq, seq, CONCAT('s', seq) FROM seq_1_to_60000;
SQL
(
	for i in $(seq 1 400); do
		my_sql "$SDB2" -e "UPDATE t SET v = v + 1 WHERE id % 97 = $((i % 97)); DELETE FROM t WHERE id = $((i * 131 % 60000 + 1)); INSERT INTO t VALUES ($((100000 + i)), $i, 'new') ON DUPLICATE KEY UPDATE v = v + 1; UPDATE t SET id = id + 200000 WHERE id = $((i * 7 + 3))" || exit 1
	done
) &
WRITER=$!
BG_PIDS+=("$WRITER")
PIPE2=$TMP/nolock.yaml
SDB_SAVE=$SDB TDB_SAVE=$TDB
SDB=$SDB2 TDB=$TDB2
my_pipeline "$PIPE2" it_mynolock sluice_nolock
sluice_ok run --once "$PIPE2"
assert_contains "$SL_ERR" "lock-free" "without RELOAD the snapshot runs lock-free"
wait "$WRITER" || fail "the concurrent writer failed"
sluice_ok run --once "$PIPE2"
same t "id, v, s" id "lock-free snapshot + binlog replay converge to the source exactly"
sluice_ok verify "$PIPE2"
assert_not_contains "$SL_OUT" "DIFF" "verify: lock-free snapshot equal"
SDB=$SDB_SAVE TDB=$TDB_SAVE

# a long write keeps FLUSH TABLES WITH READ LOCK waiting: after 10 s sluice gives up the
# lock (writes queue behind it) and reads lock-free
SDB3=test_mylongq
TDB3=it_mylongq_dst
my_fresh_db "$SDB3"
fresh_db test-dst "$TDB3"
my_sql "$SDB3" -e "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT seq, seq FROM seq_1_to_1000"
my_sql "$SDB3" -e "UPDATE t SET v = v + 0 * SLEEP(25) WHERE id = 1" >/dev/null 2>&1 &
LONGQ=$!
BG_PIDS+=("$LONGQ")
for _ in $(seq 1 100); do # until the write is running
	[[ $(my_sql -e "SELECT count(*) FROM information_schema.processlist WHERE info LIKE 'UPDATE t SET v = v + 0 * SLEEP%'") -gt 0 ]] && break
	sleep 0.1
done
SDB=$SDB3 TDB=$TDB3
my_pipeline "$TMP/longq.yaml" it_mylongq sluice
sluice_ok run --once "$TMP/longq.yaml"
assert_contains "$SL_ERR" "waited 10 s" "a lock that cannot be had in 10 s is given up"
assert_contains "$SL_ERR" "lock-free" "then the snapshot reads lock-free"
same t "id, v" id "lock-free after a lock timeout: equal"
kill "$LONGQ" 2>/dev/null || true
wait "$LONGQ" 2>/dev/null || true
for id in $(my_sql -e "SELECT id FROM information_schema.processlist WHERE info LIKE 'UPDATE t SET v = v + 0 * SLEEP%'"); do
	my_sql -e "KILL QUERY $id" >/dev/null 2>&1 || true
done
SDB=$SDB_SAVE TDB=$TDB_SAVE

# keyless tables cannot converge lock-free: refused with the fix
my_sql "$SDB2" -e "CREATE TABLE nokey (a int)"
PIPE3=$TMP/nolock3.yaml
SDB=$SDB2 TDB=$TDB2
my_pipeline "$PIPE3" it_mynolock3 sluice_nolock
sluice run --once "$PIPE3"
assert_sluice_error nonzero "GRANT RELOAD"
pass
