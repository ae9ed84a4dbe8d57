#!/usr/bin/env bash
# Primary key changes on a PostgreSQL source (issue "what the change log does not say", item 2).
# The Relation message of pgoutput flags the key the changes after it name (REPLICA IDENTITY
# DEFAULT: the primary key as it was then), so every change is applied by the key it was made
# under, and the target's key follows in the same transaction:
#   streaming  ALTER TABLE ... DROP CONSTRAINT pkey, ADD PRIMARY KEY (code) while a run streams,
#              then updates and deletes by the new key, one of them giving two rows the same
#              old key value: the target's key becomes (code), every row equal.
#   stopped    the same while sluice is stopped, with changes before the key change still to
#              apply (by the old key) and after it (by the new one), in one run --once.
#   dropped    the key dropped (a table without one from then on: inserts only, as PostgreSQL
#              allows), a duplicate row inserted: the target's key goes, both rows land.
#   added      a table without a key gets one; its updates and deletes then apply by it.
#   full       REPLICA IDENTITY FULL (the Relation message flags every column): the key is read
#              from the catalog at each Relation message, so the same change while streaming
#              applies by the new key.
#   diverged   the target holds a row the source does not, which the new key refuses: the run
#              stops with one line naming the table and 'sluice resync'.
#   clickhouse ClickHouse cannot change a table's ORDER BY in place: the table is rebuilt ordered
#              by the new key (live rows at their versions), every row equal; a key dropped
#              (a keyless table is kept another way) stops the run with one line saying so.
# Every table is compared with the source (columns, primary key, content digest).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_key_src
fresh_db test-src "$SDB"

make_k() {
	src_sql "$SDB" <<'SQL'
SET ROLE sluice;
DROP TABLE IF EXISTS k, n;
CREATE TABLE k (id integer PRIMARY KEY, code text NOT NULL, v integer);
INSERT INTO k SELECT i, 'c' || i, i FROM generate_series(1, 200) i;
CREATE TABLE n (id integer NOT NULL, v text);
ALTER TABLE n REPLICA IDENTITY FULL;
INSERT INTO n SELECT i, 'n' || i FROM generate_series(1, 50) i;
SQL
}

NEWKEY="ALTER TABLE k DROP CONSTRAINT k_pkey, ADD PRIMARY KEY (code);
	UPDATE k SET v = -v WHERE code IN ('c1', 'c2', 'c3');
	UPDATE k SET id = 1 WHERE code = 'c4';
	UPDATE k SET code = 'x' || code WHERE id BETWEEN 10 AND 12;
	DELETE FROM k WHERE code = 'c5'"

case_streaming() {
	local tdb=it_key_dst_stream
	fresh_db test-dst "$tdb"
	make_k
	pipeline_file "$TMP/s.yaml" it_key_s "$SDB" "$tdb" "source.tables: { include: [public.k] }"
	sluice_ok run --once "$TMP/s.yaml"
	sluice_bg "$TMP/s.out" "$TMP/s.err" run "$TMP/s.yaml"
	wait_lines "$TMP/s.err" "streaming changes from slot" 1 60 "streaming"
	src_sql "$SDB" "$NEWKEY"
	wait_sql test-dst "$tdb" "SELECT count(*) FROM public.k WHERE code LIKE 'x%'" 3 "the changes after the key change"
	kill -TERM "$SL_PID"
	wait "$SL_PID" || fail "the streaming run exited $?"
	assert_contains "$(<"$TMP/s.err")" "primary key changed on the source: now (code)" "the run says the key changed"
	assert_eq code "$(primary_key test-dst "$tdb" public k)" "the target's key is the new one"
	compare_table test-src "$SDB" test-dst "$tdb" public k
	sluice verify "$TMP/s.yaml"
	assert_eq 0 "$SL_RC" "streaming: verify is clean"
}

case_stopped() {
	local tdb=it_key_dst_stop
	fresh_db test-dst "$tdb"
	make_k
	pipeline_file "$TMP/o.yaml" it_key_o "$SDB" "$tdb" "source.tables: { include: [public.k] }"
	sluice_ok run --once "$TMP/o.yaml"
	src_sql "$SDB" "UPDATE k SET v = 0 WHERE id <= 20; DELETE FROM k WHERE id = 30; $NEWKEY"
	sluice_ok run --once "$TMP/o.yaml"
	assert_eq code "$(primary_key test-dst "$tdb" public k)" "the target's key is the new one"
	compare_table test-src "$SDB" test-dst "$tdb" public k
	# and back to a key of two columns
	src_sql "$SDB" "ALTER TABLE k DROP CONSTRAINT k_pkey, ADD PRIMARY KEY (id, code);
		UPDATE k SET v = 7 WHERE id = 1"
	sluice_ok run --once "$TMP/o.yaml"
	assert_eq "id,code" "$(primary_key test-dst "$tdb" public k)" "the target's key has two columns"
	compare_table test-src "$SDB" test-dst "$tdb" public k
}

case_dropped_added() {
	local tdb=it_key_dst_drop
	fresh_db test-dst "$tdb"
	make_k
	pipeline_file "$TMP/d.yaml" it_key_d "$SDB" "$tdb" "source.tables: { include: [public.k, public.n] }"
	sluice_ok run --once "$TMP/d.yaml"
	src_sql "$SDB" "UPDATE k SET v = 1 WHERE id = 2; ALTER TABLE k DROP CONSTRAINT k_pkey;
		INSERT INTO k VALUES (3, 'again', 3);
		ALTER TABLE n ADD PRIMARY KEY (id); ALTER TABLE n REPLICA IDENTITY DEFAULT;
		UPDATE n SET v = 'by key' WHERE id <= 5; DELETE FROM n WHERE id = 6"
	sluice_ok run --once "$TMP/d.yaml"
	assert_contains "$SL_ERR" "has no primary key any more" "the run says the key went"
	assert_eq "" "$(primary_key test-dst "$tdb" public k)" "the target's key is gone"
	assert_eq 2 "$(dst_sql "$tdb" "SELECT count(*) FROM public.k WHERE id = 3")" "both rows with id 3 landed"
	compare_table test-src "$SDB" test-dst "$tdb" public k
	assert_eq id "$(primary_key test-dst "$tdb" public n)" "the keyless table got its key"
	compare_table test-src "$SDB" test-dst "$tdb" public n
}

case_full() {
	local tdb=it_key_dst_full
	fresh_db test-dst "$tdb"
	make_k
	src_sql "$SDB" "ALTER TABLE k REPLICA IDENTITY FULL"
	pipeline_file "$TMP/f.yaml" it_key_f "$SDB" "$tdb" "source.tables: { include: [public.k] }"
	sluice_ok run --once "$TMP/f.yaml"
	sluice_bg "$TMP/f.out" "$TMP/f.err" run "$TMP/f.yaml"
	wait_lines "$TMP/f.err" "streaming changes from slot" 1 60 "streaming"
	src_sql "$SDB" "UPDATE k SET v = 0 WHERE id = 20"
	wait_sql test-dst "$tdb" "SELECT v FROM public.k WHERE id = 20" 0 "a change before the key change"
	src_sql "$SDB" "$NEWKEY"
	wait_sql test-dst "$tdb" "SELECT count(*) FROM public.k WHERE code LIKE 'x%'" 3 "the changes after the key change"
	kill -TERM "$SL_PID"
	wait "$SL_PID" || fail "the streaming run exited $?"
	assert_eq code "$(primary_key test-dst "$tdb" public k)" "the target's key is the new one"
	compare_table test-src "$SDB" test-dst "$tdb" public k
}

case_diverged() {
	local tdb=it_key_dst_div
	fresh_db test-dst "$tdb"
	make_k
	pipeline_file "$TMP/v.yaml" it_key_v "$SDB" "$tdb" "source.tables: { include: [public.k] }"
	sluice_ok run --once "$TMP/v.yaml"
	dst_sql "$tdb" "INSERT INTO public.k VALUES (9999, 'c7', 0)" # not on the source
	src_sql "$SDB" "$NEWKEY"
	sluice run --once "$TMP/v.yaml"
	assert_sluice_error nonzero "the source's primary key is now (code), which the target's rows do not fit"
	assert_contains "$SL_ERR" "sluice resync public.k" "the error names the resync"
	assert_eq id "$(primary_key test-dst "$tdb" public k)" "nothing of the group is on the target"
}

case_clickhouse() {
	local tdb=it_key_ch
	ch_fresh_db "$tdb"
	make_k
	pipeline_file "$TMP/c.yaml" it_key_c "$SDB" "clickhouse:$tdb" "source.tables: { include: [public.k] }"
	sluice_ok run --once "$TMP/c.yaml"
	# a row whose new key is '' and, later, a delete: its tombstone holds the key only ('' in
	# code): the rebuild takes live rows only, or the tombstone would hide that row
	src_sql "$SDB" "INSERT INTO k VALUES (500, '', 5)"
	sluice_ok run --once "$TMP/c.yaml"
	src_sql "$SDB" "DELETE FROM k WHERE id = 150; $NEWKEY"
	sluice_ok run --once "$TMP/c.yaml"
	assert_contains "$SL_ERR" "primary key changed on the source: now (code); the table is rebuilt ordered by it" \
		"the run says the table is rebuilt"
	assert_eq code "$(ch_sql "SELECT name FROM system.columns WHERE database = '$tdb' AND table = 'k' AND is_in_sorting_key = 1 AND name NOT LIKE '_sluice%'")" \
		"the ClickHouse table is ordered by the new key"
	assert_eq 2 "$(ch_sql "SELECT count() FROM $tdb.k FINAL WHERE _sluice_deleted = 0 AND id = 1")" "two rows with the old key 1 are kept"
	local want got
	want=$(src_sql "$SDB" "SELECT count(*) || ' ' || sum(id) || ' ' || sum(coalesce(v, 0)) || ' ' || md5(string_agg(code, ',' ORDER BY code COLLATE \"C\")) FROM k")
	got=$(ch_sql "SELECT concat(toString(count()), ' ', toString(sum(id)), ' ', toString(sum(ifNull(v, 0))), ' ', lower(hex(MD5(arrayStringConcat(arraySort(groupArray(code)), ','))))) FROM $tdb.k FINAL WHERE _sluice_deleted = 0")
	assert_eq "$want" "$got" "the rebuilt table holds the source's rows"
	# changes by the new key go on; then the key dropped stops the run
	src_sql "$SDB" "UPDATE k SET v = 4242 WHERE code = 'c6'; DELETE FROM k WHERE code = 'c7'"
	sluice_ok run --once "$TMP/c.yaml"
	assert_eq "1 0" "$(ch_sql "SELECT countIf(v = 4242), countIf(code = 'c7') FROM $tdb.k FINAL WHERE _sluice_deleted = 0" | tr '\t' ' ')" \
		"changes by the new key apply"
	src_sql "$SDB" "ALTER TABLE k DROP CONSTRAINT k_pkey; INSERT INTO k VALUES (9000, 'n9000', 1)"
	sluice run --once "$TMP/c.yaml"
	assert_sluice_error nonzero "the primary key of public.k changed on the source (now ()); a ClickHouse table without a key"
}

run_case case_streaming
run_case case_stopped
run_case case_dropped_added
run_case case_full
run_case case_diverged
run_case case_clickhouse
cases_done
