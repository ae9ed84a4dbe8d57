#!/usr/bin/env bash
# Column renames on a MariaDB source (issue "what the change log does not say", item 1): the
# binlog's ALTER TABLE says which column became which (RENAME COLUMN, CHANGE [COLUMN]), and the
# target's column is renamed in the same transaction as the changes after it, values kept.
#   stopped    two renames (one also widening the type) while sluice is stopped, with updates
#              before and after each; run --once renames the target's columns, adds none.
#   streaming  a rename while a run streams, with a column added in the same statement.
#   not a rename  RENAME COLUMN / CHANGE inside a comment or a default renames nothing; a column
#              dropped and another added in its place: the old one is kept on the target (NULL
#              in new rows), the new one added.
# The table is compared with the source through digests each server computes, and by verify.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require

SDB=test_myren
TDB=it_myren_dst
my_fresh_db "$SDB"
fresh_db test-dst "$TDB"
my_sql "$SDB" -e "CREATE TABLE r (id int PRIMARY KEY, a int, b varchar(20), c int, x int) ENGINE=InnoDB;
  INSERT INTO r SELECT seq, seq, CONCAT('b', seq), seq * 2, seq FROM seq_1_to_300"
pipeline_file "$TMP/r.yaml" it_myren "mysql:$SDB" "$TDB"

digests() { # COLUMNS...: "MariaDB's digest | PostgreSQL's"
	local c my=() pg=()
	for c in "$@"; do
		my+=("IFNULL(CAST($c AS char), '~')")
		pg+=("coalesce($c::text, '~')")
	done
	local m p
	m=$(my_sql "$SDB" -e "SET SESSION group_concat_max_len = 1073741824;
	  SELECT CONCAT(COUNT(*), ' ', MD5(GROUP_CONCAT(CONCAT_WS('|', $(IFS=,; echo "${my[*]}")) ORDER BY id SEPARATOR ','))) FROM r")
	p=$(dst_sql "$TDB" "SELECT count(*) || ' ' || md5(string_agg(concat_ws('|', $(IFS=,; echo "${pg[*]}")), ',' ORDER BY id)) FROM $SDB.r")
	echo "$m | $p"
}
assert_equal_rows() { # WHAT COLUMNS...
	local what=$1 d
	shift
	d=$(digests "$@")
	assert_eq "${d% | *}" "${d#* | }" "$what: the target's rows differ from the source's"
}
has_column() { dst_sql "$TDB" "SELECT count(*) FROM information_schema.columns WHERE table_schema = '$SDB' AND table_name = 'r' AND column_name = '$1'"; }

sluice_ok run --once "$TMP/r.yaml"

# stopped
my_sql "$SDB" -e "UPDATE r SET a = -a WHERE id <= 5;
  ALTER TABLE r RENAME COLUMN a TO a2;
  UPDATE r SET a2 = 100 WHERE id BETWEEN 6 AND 8;
  ALTER TABLE r CHANGE COLUMN \`b\` \`b2\` varchar(40);
  UPDATE r SET b2 = REPEAT('y', 30) WHERE id = 9"
sluice_ok run --once "$TMP/r.yaml"
assert_contains "$SL_ERR" "column a was renamed to a2 on the source" "the run says a was renamed"
assert_eq 0 "$(has_column a)" "a is renamed on the target, not kept"
assert_eq 0 "$(has_column b)" "b is renamed on the target, not kept"
assert_equal_rows "stopped" id a2 b2 c x

# streaming: renamed, and a column added in the same statement
sluice_bg "$TMP/s.out" "$TMP/s.err" run "$TMP/r.yaml"
wait_until 60 grep -q "reading the binlog" "$TMP/s.err" || fail "the run did not start streaming"
my_sql "$SDB" -e "ALTER TABLE r RENAME COLUMN c TO c2, ADD COLUMN d int DEFAULT 5;
  UPDATE r SET c2 = 0, d = 6 WHERE id <= 10; DELETE FROM r WHERE id = 11"
wait_sql test-dst "$TDB" "SELECT count(*) FROM $SDB.r WHERE c2 = 0 AND d = 6" 10 "the changes after the rename"
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "the streaming run exited $?"
assert_eq 0 "$(has_column c)" "c is renamed on the target, not kept"
assert_equal_rows "streaming" id a2 b2 c2 x

# words in a comment or a default are not clauses: nothing is renamed
my_sql "$SDB" -e "ALTER TABLE r MODIFY COLUMN c2 int COMMENT 'CHANGE c2 zz, RENAME COLUMN a2 TO q',
  ALTER COLUMN b2 SET DEFAULT 'RENAME COLUMN c2 TO w'; UPDATE r SET c2 = -1 WHERE id = 12"
sluice_ok run --once "$TMP/r.yaml"
assert_not_contains "$SL_ERR" "was renamed" "a comment or a default renames nothing"
assert_eq 1 "$(has_column c2)" "c2 is still c2 on the target"
assert_eq 1 "$(has_column a2)" "a2 is still a2 on the target"
assert_equal_rows "comment and default" id a2 b2 c2 x

# a column dropped and another added in its place is not a rename
my_sql "$SDB" -e "ALTER TABLE r DROP COLUMN x, ADD COLUMN y int AFTER c2; UPDATE r SET y = id WHERE id <= 3"
sluice_ok run --once "$TMP/r.yaml"
assert_eq 1 "$(has_column x)" "the dropped column is kept on the target"
assert_eq 1 "$(has_column y)" "the new column is added"
assert_equal_rows "drop and add" id a2 b2 c2 y
sluice verify "$TMP/r.yaml"
assert_eq 0 "$SL_RC" "verify is clean"
pass
