#!/usr/bin/env bash
# Primary key changes on a MariaDB source (issue "what the change log does not say", item 2).
# Each TABLE_MAP of the binlog lists the table's primary key as it was when the changes after it
# were made (binlog_row_metadata = FULL), so every change is applied by that key and the
# target's key follows in the same transaction:
#   streaming  ALTER TABLE ... DROP PRIMARY KEY, ADD PRIMARY KEY (code) while a run streams, then
#              updates and deletes by the new key, one of them giving two rows the same old key
#              value: the target's key becomes (code), every row equal.
#   stopped    the same while sluice is stopped, with changes before the key change (applied by
#              the old key) and after it (by the new one) in one run --once; then a key of two
#              columns in an order other than the table's.
#   renamed    a key column renamed, while streaming and while stopped: the key follows the
#              column's new name.
#   dropped    the key dropped: a table without one from then on; a duplicate row lands.
#   unique     a table discovered without a primary key but with a UNIQUE NOT NULL index, which
#              the binlog calls its primary key: it stays without one on the target.
#   clickhouse ClickHouse cannot change a table's ORDER BY in place: the table is rebuilt ordered
#              by the new key, every row equal; changes by the new key then apply.
# Rows are compared with digests each server computes.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require

SDB=test_mykey

same_rows() { assert_my_pg_rows "$3" "$SDB" "$2" "$1" "$SDB.$2" "id,code,v"; } # TDB TABLE WHAT
pg_key() { primary_key test-dst "$1" "$SDB" "$2"; }

make_k() { # a fresh source database with k (keyed) and u (a UNIQUE NOT NULL index, no key)
	my_fresh_db "$SDB"
	my_sql "$SDB" -e "CREATE TABLE k (id int PRIMARY KEY, code varchar(20) NOT NULL, v int);
	  INSERT INTO k SELECT seq, CONCAT('c', seq), seq FROM seq_1_to_200;
	  CREATE TABLE u (id int NOT NULL, code varchar(20) NOT NULL, v int, UNIQUE KEY (code, id));
	  INSERT INTO u SELECT seq, CONCAT('u', seq), seq FROM seq_1_to_50;
	  CREATE TABLE n (id int PRIMARY KEY, name varchar(10));
	  INSERT INTO n SELECT seq, CONCAT('n', seq) FROM seq_1_to_40"
}

NEWKEY="ALTER TABLE k DROP PRIMARY KEY, ADD PRIMARY KEY (code);
	UPDATE k SET v = -v WHERE code IN ('c1', 'c2', 'c3');
	UPDATE k SET id = 1 WHERE code = 'c4';
	UPDATE k SET code = CONCAT('x', code) WHERE id BETWEEN 10 AND 12;
	DELETE FROM k WHERE code = 'c5'"

case_streaming() {
	local tdb=it_mykey_stream
	fresh_db test-dst "$tdb"
	make_k
	pipeline_file "$TMP/s.yaml" it_mykey_s "mysql:$SDB" "$tdb"
	sluice_ok run --once "$TMP/s.yaml"
	sluice_bg "$TMP/s.out" "$TMP/s.err" run "$TMP/s.yaml"
	wait_lines "$TMP/s.err" "reading the binlog" 1 60 "streaming"
	my_sql "$SDB" -e "$NEWKEY"
	wait_sql test-dst "$tdb" "SELECT count(*) FROM $SDB.k WHERE code LIKE 'x%'" 3 "the changes after the key change"
	# a key column renamed while streaming
	my_sql "$SDB" -e "ALTER TABLE k RENAME COLUMN code TO code2; UPDATE k SET v = 99 WHERE code2 = 'c6';
	  INSERT INTO k VALUES (1, 'c6b', 5); DELETE FROM k WHERE code2 = 'c7'"
	wait_sql test-dst "$tdb" "SELECT count(*) FROM $SDB.k WHERE code2 = 'c6b'" 1 "the changes after the key column's rename"
	kill -TERM "$SL_PID"
	wait "$SL_PID" || fail "the streaming run exited $?"
	assert_contains "$(<"$TMP/s.err")" "primary key changed on the source: now (code)" "the run says the key changed"
	assert_eq code2 "$(pg_key "$tdb" k)" "the target's key is the new one, under the column's new name"
	my_sql "$SDB" -e "ALTER TABLE k RENAME COLUMN code2 TO code"
	dst_sql "$tdb" "ALTER TABLE $SDB.k RENAME COLUMN code2 TO code" # for the digest only
	same_rows "$tdb" k "streaming"
	same_rows "$tdb" u "streaming, u"
	assert_eq "" "$(pg_key "$tdb" u)" "u stays without a primary key"
}

case_stopped() {
	local tdb=it_mykey_stop
	fresh_db test-dst "$tdb"
	make_k
	pipeline_file "$TMP/o.yaml" it_mykey_o "mysql:$SDB" "$tdb"
	sluice_ok run --once "$TMP/o.yaml"
	my_sql "$SDB" -e "UPDATE k SET v = 0 WHERE id <= 20; DELETE FROM k WHERE id = 30; $NEWKEY"
	sluice_ok run --once "$TMP/o.yaml"
	assert_eq code "$(pg_key "$tdb" k)" "the target's key is the new one"
	same_rows "$tdb" k "stopped"
	# a key of two columns, in another order than the table's
	my_sql "$SDB" -e "ALTER TABLE k DROP PRIMARY KEY, ADD PRIMARY KEY (v, code); UPDATE k SET v = 7 WHERE code = 'c100';
	  INSERT INTO k VALUES (1, 'dup-id', 1000)"
	sluice_ok run --once "$TMP/o.yaml"
	assert_eq "v,code" "$(pg_key "$tdb" k)" "the target's key has two columns, in the key's order"
	same_rows "$tdb" k "two columns"
	# a key column renamed while stopped, with changes before and after the rename
	my_sql "$SDB" -e "UPDATE k SET code = 'before' WHERE code = 'c101'; ALTER TABLE k CHANGE v w int NOT NULL;
	  UPDATE k SET code = 'after' WHERE code = 'c102'; DELETE FROM k WHERE code = 'c103'"
	sluice_ok run --once "$TMP/o.yaml"
	assert_eq "w,code" "$(pg_key "$tdb" k)" "the key follows the column's new name"
	my_sql "$SDB" -e "ALTER TABLE k CHANGE w v int NOT NULL"
	dst_sql "$tdb" "ALTER TABLE $SDB.k RENAME COLUMN w TO v" # for the digest only
	same_rows "$tdb" k "renamed while stopped"
}

case_dropped() {
	local tdb=it_mykey_drop
	fresh_db test-dst "$tdb"
	make_k
	pipeline_file "$TMP/d.yaml" it_mykey_d "mysql:$SDB" "$tdb"
	sluice_ok run --once "$TMP/d.yaml"
	my_sql "$SDB" -e "UPDATE k SET v = 1 WHERE id = 2; ALTER TABLE k DROP PRIMARY KEY;
	  INSERT INTO k VALUES (3, 'again', 3); UPDATE k SET v = 33 WHERE code = 'c33'"
	sluice_ok run --once "$TMP/d.yaml"
	assert_contains "$SL_ERR" "has no primary key any more" "the run says the key went"
	assert_eq "" "$(pg_key "$tdb" k)" "the target's key is gone"
	assert_eq 2 "$(dst_sql "$tdb" "SELECT count(*) FROM $SDB.k WHERE id = 3")" "both rows with id 3 landed"
	same_rows "$tdb" k "dropped"
}

case_clickhouse() {
	local tdb=it_mykey_ch
	ch_fresh_db "$tdb"
	make_k
	pipeline_file "$TMP/c.yaml" it_mykey_c "mysql:$SDB" "clickhouse:$tdb"
	sluice_ok run --once "$TMP/c.yaml"
	my_sql "$SDB" -e "UPDATE u SET v = -1 WHERE id = 1"
	sluice_ok run --once "$TMP/c.yaml"
	assert_eq -1 "$(ch_sql "SELECT v FROM $tdb.u FINAL WHERE _sluice_deleted = 0 AND id = 1")" "u (a unique index, no key) applies"
	my_sql "$SDB" -e "$NEWKEY; UPDATE k SET v = 4242 WHERE code = 'c6';
	  ALTER TABLE n DROP PRIMARY KEY, ADD PRIMARY KEY (name); UPDATE n SET id = -id WHERE name = 'n3'"
	sluice_ok run --once "$TMP/c.yaml"
	assert_eq "String 1 -3" "$(ch_sql "SELECT (SELECT type FROM system.columns WHERE database = '$tdb' AND table = 'n' AND name = 'name'),
	  (SELECT is_in_sorting_key FROM system.columns WHERE database = '$tdb' AND table = 'n' AND name = 'name'),
	  (SELECT id FROM $tdb.n FINAL WHERE _sluice_deleted = 0 AND name = 'n3')" | tr '\t' ' ')" \
		"a column held as Nullable becomes the key: not Nullable, the table ordered by it"
	assert_eq 40 "$(ch_sql "SELECT count() FROM $tdb.n FINAL WHERE _sluice_deleted = 0")" "n keeps its rows"
	assert_contains "$SL_ERR" "primary key changed on the source: now (code); the table is rebuilt ordered by it" \
		"the run says the table is rebuilt"
	assert_eq code "$(ch_sql "SELECT name FROM system.columns WHERE database = '$tdb' AND table = 'k' AND is_in_sorting_key = 1 AND name NOT LIKE '_sluice%'")" \
		"the ClickHouse table is ordered by the new key"
	local want got
	want=$(my_sql "$SDB" -e "SELECT CONCAT(COUNT(*), ' ', SUM(id), ' ', SUM(IFNULL(v, 0)), ' ', MD5(GROUP_CONCAT(code ORDER BY BINARY code SEPARATOR ','))) FROM k")
	got=$(ch_sql "SELECT concat(toString(count()), ' ', toString(sum(id)), ' ', toString(sum(ifNull(v, 0))), ' ', lower(hex(MD5(arrayStringConcat(arraySort(groupArray(code)), ','))))) FROM $tdb.k FINAL WHERE _sluice_deleted = 0")
	assert_eq "$want" "$got" "the rebuilt table holds the source's rows"
}

run_case case_streaming
run_case case_stopped
run_case case_dropped
run_case case_clickhouse
cases_done
