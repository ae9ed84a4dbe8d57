#!/usr/bin/env bash
# Table renames on a MariaDB source (issue "what the change log does not say"): the binlog says
# which table became which (RENAME TABLE, ALTER TABLE ... RENAME), and the target table is
# renamed at that point of the stream, rows kept, then the run discovers again and goes on under
# the new names. Nothing is copied again.
#   streaming  RENAME TABLE with changes just before and just after it in the same second.
#   alter      ALTER TABLE ... RENAME TO, in one statement with ADD COLUMN (the new column's
#              values come with a copy once the table changes).
#   swap       RENAME TABLE a TO tmp, b TO a, tmp TO b: each target table ends up with the rows
#              of the source table that holds its name.
#   chain      x -> y -> z in two statements a moment apart: the first is followed; the new
#              discovery after it already finds z, not y, so y is gone (kept) and z is copied.
#   elsewhere  a table renamed into a database the pipeline does not read: renamed on the
#              target, then gone from the pipeline (kept as it is).
#   stopped    a rename while sluice is stopped: the old name is gone (its target table kept),
#              the new one is copied as a table new to the pipeline.
#   killed     a run killed while following a rename, after the group with the statement was
#              committed: the state keeps the table's new identity under its old name (written
#              first), with the target table renamed or not yet; the next run renames it then,
#              nothing copied.
#   clickhouse the streaming case into ClickHouse.
# Rows are compared with digests each server computes.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require

SDB=test_mytren
ODB=test_mytren_other
TDB=it_mytren_dst
my_fresh_db "$SDB"
my_fresh_db "$ODB"
fresh_db test-dst "$TDB"
my_sql "$SDB" -e "
  CREATE TABLE o (id int PRIMARY KEY, v int, s varchar(20));
  INSERT INTO o SELECT seq, seq, CONCAT('o', seq) FROM seq_1_to_500;
  CREATE TABLE p (id int PRIMARY KEY, v int);
  INSERT INTO p SELECT seq, seq FROM seq_1_to_300;
  CREATE TABLE a (id int PRIMARY KEY, v int);
  INSERT INTO a SELECT seq, seq FROM seq_1_to_100;
  CREATE TABLE b (id int PRIMARY KEY, v int);
  INSERT INTO b SELECT seq, -seq FROM seq_1_to_250;
  CREATE TABLE x (id int PRIMARY KEY, v int);
  INSERT INTO x SELECT seq, seq * 3 FROM seq_1_to_50;
  CREATE TABLE q (id int PRIMARY KEY, v int);
  INSERT INTO q SELECT seq, seq FROM seq_1_to_20;
  CREATE TABLE st (id int PRIMARY KEY, v int);
  INSERT INTO st SELECT seq, seq FROM seq_1_to_70;
  CREATE TABLE w (id int PRIMARY KEY, v int);
  INSERT INTO w SELECT seq, seq FROM seq_1_to_30;
  CREATE TABLE w3 (id int PRIMARY KEY, v int);
  INSERT INTO w3 SELECT seq, seq FROM seq_1_to_40"
pipeline_file "$TMP/t.yaml" it_mytren "mysql:$SDB" "$TDB"

same_rows() { assert_my_pg_rows "$4" "$SDB" "$1" "$TDB" "$2" "$3"; } # MY_TABLE PG_TABLE COLS WHAT
pg_has() { dst_sql "$TDB" "SELECT count(*) FROM information_schema.tables WHERE table_schema = '$1' AND table_name = '$2'"; }
copies() { grep -c "backfill of .*: complete" "$1" || true; }

sluice_ok run --once "$TMP/t.yaml"

sluice_bg "$TMP/s.out" "$TMP/s.err" run "$TMP/t.yaml"
wait_until 60 grep -q "reading the binlog" "$TMP/s.err" || fail "the run did not start streaming"

# streaming: changes right before and right after the rename, in one client session
my_sql "$SDB" -e "UPDATE o SET v = -v WHERE id <= 10; DELETE FROM o WHERE id = 11;
  RENAME TABLE o TO o2;
  UPDATE o2 SET s = 'after' WHERE id BETWEEN 12 AND 20; INSERT INTO o2 VALUES (1000, 1, 'new');
  DELETE FROM o2 WHERE id = 21"
wait_sql test-dst "$TDB" "SELECT count(*) FROM $SDB.o2 WHERE id = 1000" 1 "the insert after the rename"
assert_contains "$(cat "$TMP/s.err")" "table $SDB.o was renamed to $SDB.o2 on the source: its target table follows" \
	"the run says o was renamed"
assert_eq 0 "$(pg_has "$SDB" o)" "o is renamed on the target, not kept"
same_rows o2 "$SDB.o2" "id, v, s" "streaming"

# alter: ALTER TABLE ... RENAME TO with ADD COLUMN; the column's values come with the next change
my_sql "$SDB" -e "UPDATE p SET v = 0 WHERE id = 1;
  ALTER TABLE p RENAME TO p2, ADD COLUMN w int NOT NULL DEFAULT 7;
  UPDATE p2 SET v = 1 WHERE id = 2"
wait_sql test-dst "$TDB" "SELECT count(*) FROM $SDB.p2 WHERE id = 2 AND v = 1" 1 "the update after ALTER ... RENAME"
wait_sql test-dst "$TDB" "SELECT count(*) FROM $SDB.p2 WHERE w = 7" 300 "every row of p2 gets w"
assert_eq 0 "$(pg_has "$SDB" p)" "p is renamed on the target, not kept"
same_rows p2 "$SDB.p2" "id, v, w" "alter"

# swap
my_sql "$SDB" -e "UPDATE a SET v = 1000 WHERE id = 1; RENAME TABLE a TO tmp, b TO a, tmp TO b;
  UPDATE a SET v = 2000 WHERE id = 2; UPDATE b SET v = 3000 WHERE id = 3"
wait_sql test-dst "$TDB" "SELECT count(*) FROM $SDB.b WHERE id = 3 AND v = 3000" 1 "the update of b after the swap"
wait_sql test-dst "$TDB" "SELECT count(*) FROM $SDB.a WHERE id = 2 AND v = 2000" 1 "the update of a after the swap"
same_rows a "$SDB.a" "id, v" "swap, a"
same_rows b "$SDB.b" "id, v" "swap, b"
assert_eq 0 "$(pg_has "$SDB" tmp)" "no table tmp is left on the target"

# chain: the second rename comes before the run has discovered again
my_sql "$SDB" -e "RENAME TABLE x TO y; UPDATE y SET v = 0 WHERE id = 1; ALTER TABLE y RENAME z;
  UPDATE z SET v = 0 WHERE id = 2"
wait_lines "$TMP/s.err" "backfill of $SDB.z: complete" 1 60 "z is copied"
same_rows z "$SDB.z" "id, v" "chain"
assert_contains "$(cat "$TMP/s.err")" "table $SDB.x was renamed to $SDB.y on the source" "the first rename is followed"
assert_contains "$(cat "$TMP/s.err")" "table $SDB.y is gone from the pipeline" "y is gone"
assert_eq "0 1" "$(pg_has "$SDB" x) $(pg_has "$SDB" y)" "x is renamed to y on the target, y kept"

# elsewhere: out of the pipeline's database
my_sql "$SDB" -e "UPDATE q SET v = 0 WHERE id = 1; RENAME TABLE q TO $ODB.q; UPDATE $ODB.q SET v = 5 WHERE id = 2"
wait_until 60 grep -q "table $ODB.q is gone from the pipeline (no longer selected)" "$TMP/s.err" ||
	fail "the table renamed elsewhere is not reported gone"
assert_eq 1 "$(pg_has "$ODB" q)" "q is renamed on the target too"
assert_eq "0 20" "$(dst_sql "$TDB" "SELECT sum(v) FILTER (WHERE id = 1) || ' ' || count(*) FROM $ODB.q")" \
	"q's rows are kept as they were when it left"

# nothing was copied again, and the run is still streaming
assert_eq 2 "$(copies "$TMP/s.err")" "only p2 (a column added) and z were copied"
my_sql "$SDB" -e "UPDATE o2 SET v = 77 WHERE id = 30"
wait_sql test-dst "$TDB" "SELECT v FROM $SDB.o2 WHERE id = 30" 77 "the run goes on after the renames"
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "the streaming run exited $?"
assert_not_contains "$(cat "$TMP/s.err")" "was not in the snapshot" "no change is left out under a new name"

# killed: what a run killed in cdc_on_rename leaves (the statements themselves are read again
# here, which the real case is past: they find the tables renamed and do nothing)
my_sql "$SDB" -e "RENAME TABLE w TO w2, w3 TO w4; UPDATE w2 SET v = 0 WHERE id = 1; UPDATE w4 SET v = 0 WHERE id = 2"
sqlite3 "$TMP/it_mytren.state.db" "UPDATE sluice_source_table SET identity = '$SDB.w2' WHERE name = '$SDB.w';
  UPDATE sluice_source_table SET identity = '$SDB.w4' WHERE name = '$SDB.w3'"
dst_sql "$TDB" "ALTER TABLE $SDB.w3 RENAME TO w4"
sluice_ok run --once "$TMP/t.yaml"
assert_contains "$SL_ERR" "table $SDB.w was renamed to $SDB.w2 on the source: its target table follows" "w is renamed at the next run"
assert_contains "$SL_ERR" "table $SDB.w3 was renamed to $SDB.w4 on the source: its target table follows" "w3 is renamed at the next run"
assert_not_contains "$SL_ERR" "backfill of" "nothing is copied"
assert_eq "0 0" "$(pg_has "$SDB" w) $(pg_has "$SDB" w3)" "w and w3 are not left on the target"
same_rows w2 "$SDB.w2" "id, v" "killed, w2"
same_rows w4 "$SDB.w4" "id, v" "killed, w4"

# stopped: the old name is gone, the new one copied
my_sql "$SDB" -e "UPDATE st SET v = 0 WHERE id = 1; RENAME TABLE st TO st2; UPDATE st2 SET v = 0 WHERE id = 2"
sluice_bg "$TMP/s2.out" "$TMP/s2.err" run "$TMP/t.yaml"
wait_lines "$TMP/s2.err" "backfill of $SDB.st2: complete" 1 120 "st2 is copied"
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "the second run exited $?"
assert_contains "$(cat "$TMP/s2.err")" "table $SDB.st is gone from the pipeline (dropped on the source)" \
	"a rename while stopped: the old name is gone"
same_rows st2 "$SDB.st2" "id, v" "stopped"
for t in o2 p2 a b z; do same_rows "$t" "$SDB.$t" "id, v" "after the restart, $t"; done

# clickhouse: the streaming case
CDB=it_mytren_ch
ch_fresh_db "$CDB"
my_sql "$SDB" -e "CREATE TABLE c (id int PRIMARY KEY, v int); INSERT INTO c SELECT seq, seq FROM seq_1_to_400"
pipeline_file "$TMP/c.yaml" it_mytren_ch "mysql:$SDB" "clickhouse:$CDB" "source.tables: { include: [\"$SDB.c*\"] }"
sluice_ok run --once "$TMP/c.yaml"
sluice_bg "$TMP/c.out" "$TMP/c.err" run "$TMP/c.yaml"
wait_until 60 grep -q "reading the binlog" "$TMP/c.err" || fail "the ClickHouse run did not start streaming"
my_sql "$SDB" -e "UPDATE c SET v = -1 WHERE id <= 5; RENAME TABLE $SDB.c TO c9; UPDATE c9 SET v = -2 WHERE id BETWEEN 6 AND 9; DELETE FROM c9 WHERE id = 10"
ch_digest() { ch_sql "SELECT count(), sum(v), sum(id * v) FROM $CDB.$1 FINAL WHERE _sluice_deleted = 0" | tr '\t' ' '; }
my_digest() { my_sql "$SDB" -e "SELECT COUNT(*), SUM(v), SUM(id * v) FROM $1" | tr '\t' ' '; }
ch_caught_up() { [[ $(ch_digest c9 2>/dev/null) == "$(my_digest c9)" ]]; }
wait_until 60 ch_caught_up || fail "ClickHouse's c9 ($(ch_digest c9 2>&1)) differs from the source's ($(my_digest c9))"
ASSERTS=$((ASSERTS + 1))
assert_eq 0 "$(ch_sql "SELECT count() FROM system.tables WHERE database = '$CDB' AND name = 'c'")" \
	"c is not left in ClickHouse"
assert_eq 0 "$(copies "$TMP/c.err")" "nothing is copied again into ClickHouse"
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "the ClickHouse run exited $?"
pass
