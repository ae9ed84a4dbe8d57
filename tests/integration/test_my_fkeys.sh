#!/usr/bin/env bash
# Foreign-key actions InnoDB performs without binlog row events (issue "what the change log does
# not say", item 5), MariaDB source into PostgreSQL. A schema with Sakila's shapes: store ->
# customer -> rental (ON DELETE CASCADE, ON UPDATE CASCADE: a two-level cascade), payment ->
# rental (ON DELETE SET NULL, ON UPDATE CASCADE), customer.addr_code -> address.code (a unique
# column, not the key: ON DELETE SET NULL, ON UPDATE CASCADE), film_actor -> film (the
# referencing column is part of the child's key), staff -> staff (self-referencing, ON DELETE
# SET NULL), note -> rental (RESTRICT: nothing to do).
#   check     lists every action as done on the target; a parent left out of the pipeline is
#             warned about, naming the child and the resync that fixes it.
#   offline   deletes and key changes of parents while sluice is stopped (one group), among them
#             a parent deleted and inserted again with a new child in one transaction (the new
#             child must survive the cascade), a key changed twice (13 -> 300 -> 301), a key
#             changed and then deleted, a key deleted and then taken by another row; the next
#             run --once leaves every table equal; so do a streaming run's groups, during which
#             a foreign key gets an ON DELETE CASCADE (ALTER TABLE): the run discovers again at
#             that statement and does the new action.
#   unplanned a child whose referencing column is masked: check warns; a streaming run that sees
#             the parent's deletes copies the child again.
#   clickhouse the offline case into ClickHouse (tombstones and new versions), then applied
#             again from the position before it (a replay): nothing changes.
#   killed    a streaming run is SIGKILLed while it applies cascades of thousands of rows, over
#             and over; nothing is lost or applied twice.
# Every table is compared through digests each server computes (count + md5 of the rows in key
# order) and by 'sluice verify'.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require

SDB=test_myfk

# make_schema STORES CUSTOMERS RENTALS PAYMENTS
make_schema() {
	my_fresh_db "$SDB"
	my_sql "$SDB" <<SQL
CREATE TABLE store (store_id int PRIMARY KEY, name varchar(20)) ENGINE=InnoDB;
CREATE TABLE address (address_id int PRIMARY KEY, code varchar(20) NOT NULL UNIQUE) ENGINE=InnoDB;
CREATE TABLE customer (customer_id int PRIMARY KEY, store_id int NOT NULL, addr_code varchar(20),
  name varchar(20),
  CONSTRAINT fk_customer_store FOREIGN KEY (store_id) REFERENCES store (store_id)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT fk_customer_address FOREIGN KEY (addr_code) REFERENCES address (code)
    ON DELETE SET NULL ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE rental (rental_id int PRIMARY KEY, customer_id int NOT NULL, note varchar(20),
  CONSTRAINT fk_rental_customer FOREIGN KEY (customer_id) REFERENCES customer (customer_id)
    ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE payment (payment_id int PRIMARY KEY, rental_id int NULL, amount int,
  CONSTRAINT fk_payment_rental FOREIGN KEY (rental_id) REFERENCES rental (rental_id)
    ON DELETE SET NULL ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE film (film_id int PRIMARY KEY, title varchar(20)) ENGINE=InnoDB;
CREATE TABLE film_actor (actor_id int, film_id int, PRIMARY KEY (actor_id, film_id),
  CONSTRAINT fk_film_actor_film FOREIGN KEY (film_id) REFERENCES film (film_id)
    ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE staff (staff_id int PRIMARY KEY, manager_id int NULL,
  CONSTRAINT fk_staff_manager FOREIGN KEY (manager_id) REFERENCES staff (staff_id)
    ON DELETE SET NULL) ENGINE=InnoDB;
CREATE TABLE rental_log (rental_id int, what varchar(20),
  CONSTRAINT fk_rental_log_rental FOREIGN KEY (rental_id) REFERENCES rental (rental_id)
    ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE note (id int PRIMARY KEY, rental_id int,
  CONSTRAINT fk_note_rental FOREIGN KEY (rental_id) REFERENCES rental (rental_id)) ENGINE=InnoDB;
INSERT INTO store SELECT seq, CONCAT('store ', seq) FROM seq_1_to_$1;
INSERT INTO address SELECT seq, CONCAT('a', seq) FROM seq_1_to_10;
INSERT INTO customer SELECT seq, seq % $1 + 1, CONCAT('a', seq % 10 + 1), CONCAT('c', seq) FROM seq_1_to_$2;
INSERT INTO rental SELECT seq, seq % $2 + 1, CONCAT('r', seq) FROM seq_1_to_$3;
INSERT INTO payment SELECT seq, seq % $3 + 1, seq * 7 % 1000 FROM seq_1_to_$4;
INSERT INTO film SELECT seq, CONCAT('film ', seq) FROM seq_1_to_20;
INSERT INTO film_actor SELECT a.seq, f.seq FROM seq_1_to_5 a, seq_1_to_20 f;
INSERT INTO staff SELECT seq, CASE WHEN seq = 1 THEN NULL WHEN seq <= 5 THEN 1 ELSE 2 END FROM seq_1_to_10;
INSERT INTO note SELECT seq, NULL FROM seq_1_to_5;
INSERT INTO rental_log SELECT seq % 5 + 5, CONCAT("seen ", seq % 7) FROM seq_1_to_$3;
SQL
}

TABLES="store address customer rental payment film film_actor staff note rental_log"
# key columns, then every column
declare -A KEY=([store]=store_id [address]=address_id [customer]=customer_id [rental]=rental_id
	[payment]=payment_id [film]=film_id [film_actor]="actor_id, film_id" [staff]=staff_id [note]=id [rental_log]="rental_id, what")
declare -A COLS=([store]="store_id name" [address]="address_id code"
	[customer]="customer_id store_id addr_code name" [rental]="rental_id customer_id note"
	[payment]="payment_id rental_id amount" [film]="film_id title" [film_actor]="actor_id film_id"
	[staff]="staff_id manager_id" [note]="id rental_id" [rental_log]="rental_id what")

my_digest() { # TABLE
	local c row=()
	for c in ${COLS[$1]}; do row+=("IFNULL(CAST($c AS char), '~')"); done
	local list
	list=$(IFS=,; echo "${row[*]}")
	my_sql "$SDB" -e "SET SESSION group_concat_max_len = 1073741824;
	  SELECT CONCAT(COUNT(*), ' ', MD5(IFNULL(GROUP_CONCAT(CONCAT_WS('|', $list) ORDER BY ${KEY[$1]} SEPARATOR ','), '')))
	  FROM $1"
}
pg_digest() { # TARGET_DB TABLE
	local c row=()
	for c in ${COLS[$2]}; do row+=("coalesce($c::text, '~')"); done
	local list
	list=$(IFS=,; echo "${row[*]}")
	inst_sql test-dst "$1" "SELECT count(*) || ' ' || md5(coalesce(string_agg(concat_ws('|', $list), ',' ORDER BY ${KEY[$2]}), '')) FROM $SDB.$2"
}
ch_digest() { # CH_DB TABLE: the same text, computed by ClickHouse over the live rows
	local c row=()
	for c in ${COLS[$2]}; do row+=("ifNull(toString($c), '~')"); done
	local list
	list=$(IFS=,; echo "${row[*]}")
	ch_sql "SELECT concat(toString(count()), ' ', lower(hex(MD5(arrayStringConcat(arrayMap(x -> x.2,
	  arraySort(x -> x.1, groupArray(((${KEY[$2]}), concat_ws_row)))), ',')))))
	  FROM (SELECT ${KEY[$2]}, arrayStringConcat([$list], '|') AS concat_ws_row
	        FROM $1.$2 FINAL WHERE _sluice_deleted = 0)"
}
compare_all() { # TARGET_DB WHAT [clickhouse]
	local t
	for t in $TABLES; do
		if [[ ${3:-} == clickhouse ]]; then
			assert_eq "$(my_digest "$t")" "$(ch_digest "$1" "$t")" "$2: $t differs from the source"
		else
			assert_eq "$(my_digest "$t")" "$(pg_digest "$1" "$t")" "$2: $t differs from the source"
		fi
	done
}

case_check() {
	local tdb=it_myfk_check
	fresh_db test-dst "$tdb"
	make_schema 3 30 300 600
	pipeline_file "$TMP/check.yaml" it_myfk_check "mysql:$SDB" "$tdb"
	sluice_ok check "$TMP/check.yaml"
	assert_contains "$SL_OUT" "foreign-key actions: $SDB.payment -> $SDB.rental (fk_payment_rental): ON DELETE SET NULL, ON UPDATE CASCADE: the source's log does not show the rows they change; sluice does them on the target" \
		"check lists the payment action as done"
	assert_contains "$SL_OUT" "$SDB.customer -> $SDB.address (fk_customer_address)" "check lists a key on a unique column"
	assert_not_contains "$SL_OUT" "fk_note_rental" "a RESTRICT foreign key is not listed"
	# a parent left out: its deletes never reach the pipeline
	pipeline_file "$TMP/check2.yaml" it_myfk_check2 "mysql:$SDB" "$tdb" \
		"source.tables: { exclude: ['$SDB.store'] }"
	sluice_ok check "$TMP/check2.yaml"
	assert_contains "$SL_OUT" "foreign-key actions: warning: $SDB.customer -> $SDB.store (fk_customer_store): its parent table is not selected" \
		"check warns about a parent left out"
	assert_contains "$SL_OUT" "'sluice resync $SDB.customer'" "the warning names the resync"
}

OPS="DELETE FROM rental WHERE rental_id < 10;
DELETE FROM store WHERE store_id = 1;
UPDATE customer SET customer_id = customer_id + 1000 WHERE customer_id BETWEEN 20 AND 25;
UPDATE rental SET rental_id = rental_id + 10000 WHERE rental_id BETWEEN 50 AND 60;
UPDATE address SET code = CONCAT(code, 'x') WHERE address_id <= 3;
DELETE FROM address WHERE address_id = 10;
UPDATE store SET store_id = 30 WHERE store_id = 3;
BEGIN; DELETE FROM customer WHERE customer_id = 2;
  INSERT INTO customer VALUES (2, 30, 'a5', 'again'); INSERT INTO rental VALUES (5000, 2, 'after');
  INSERT INTO payment VALUES (5000, 5000, 1); COMMIT;
DELETE FROM film WHERE film_id <= 3;
UPDATE film SET film_id = film_id + 100 WHERE film_id = 10;
DELETE FROM staff WHERE staff_id = 1;
UPDATE film SET film_id = 300 WHERE film_id = 13; UPDATE film SET film_id = 301 WHERE film_id = 300;
UPDATE film SET film_id = 400 WHERE film_id = 14; DELETE FROM film WHERE film_id = 400;
DELETE FROM film WHERE film_id = 15; UPDATE film SET film_id = 15 WHERE film_id = 16;"

case_offline() {
	local tdb=it_myfk_off
	fresh_db test-dst "$tdb"
	make_schema 3 30 300 600
	pipeline_file "$TMP/off.yaml" it_myfk_off "mysql:$SDB" "$tdb"
	sluice_ok run --once "$TMP/off.yaml"
	compare_all "$tdb" "after the snapshot"
	my_sql "$SDB" <<<"$OPS"
	# the actions did something on the source (or the test proves nothing)
	assert_eq 0 "$(my_sql "$SDB" -e "SELECT count(*) FROM customer WHERE store_id = 1")" "store 1's customers are gone"
	assert_eq 1 "$(my_sql "$SDB" -e "SELECT count(*) > 0 FROM payment WHERE rental_id IS NULL")" "payments lost their rental"
	assert_eq 1 "$(my_sql "$SDB" -e "SELECT count(*) > 0 FROM rental WHERE customer_id > 1000")" "rentals followed their customer"
	assert_eq 1 "$(my_sql "$SDB" -e "SELECT count(*) > 0 FROM customer WHERE addr_code LIKE '%x'")" "customers followed their address"
	assert_eq 1 "$(my_sql "$SDB" -e "SELECT count(*) FROM rental WHERE rental_id = 5000")" "the new rental is there"
	sluice_ok run --once "$TMP/off.yaml"
	compare_all "$tdb" "after the actions"
	sluice_ok verify "$TMP/off.yaml"
	assert_contains "$SL_OUT" "all tables equal" "verify"
	# and while streaming, each statement its own group
	sluice_bg "$TMP/off.out" "$TMP/off.err" run "$TMP/off.yaml"
	# a foreign key given an action while the run streams: followed from that statement on
	wait_until 30 grep -q "reading the binlog" "$TMP/off.err" || fail "the run did not start streaming"
	my_sql "$SDB" <<<"ALTER TABLE note DROP FOREIGN KEY fk_note_rental;
ALTER TABLE note ADD CONSTRAINT fk_note_rental2 FOREIGN KEY (rental_id) REFERENCES rental (rental_id) ON DELETE CASCADE;
UPDATE note SET rental_id = 202 WHERE id <= 3;
DELETE FROM rental WHERE rental_id = 202;"
	assert_eq 2 "$(my_sql "$SDB" -e "SELECT count(*) FROM note")" "the new action deleted notes on the source"
	wait_sql test-dst "$tdb" "SELECT count(*) FROM $SDB.note" 2 "the new action on the target"
	assert_contains "$(<"$TMP/off.err")" "the foreign keys of the selected tables changed" \
		"the run saw the foreign keys change"
	my_sql "$SDB" <<<"DELETE FROM customer WHERE customer_id = 5;
UPDATE rental SET rental_id = 20000 WHERE rental_id = 100;
DELETE FROM store WHERE store_id = 2;
INSERT INTO store VALUES (2, 'back'); INSERT INTO customer VALUES (3000, 2, NULL, 'n');
UPDATE staff SET staff_id = 50 WHERE staff_id = 7;"
	wait_sql test-dst "$tdb" "SELECT count(*) FROM $SDB.customer WHERE customer_id = 3000" 1 "the last change"
	kill -TERM "$SL_PID"
	wait "$SL_PID" || fail "the streaming run exited $?"
	compare_all "$tdb" "after streaming"
}

case_killed() {
	local tdb=it_myfk_kill
	fresh_db test-dst "$tdb"
	make_schema 10 3000 30000 60000
	pipeline_file "$TMP/kill.yaml" it_myfk_kill "mysql:$SDB" "$tdb" "apply: { max_delay: 100ms }"
	sluice_ok run --once "$TMP/kill.yaml"
	# the target's session of sluice inside a foreign-key action's statement
	local in_action="SELECT count(*) FROM pg_stat_activity WHERE datname = '$tdb'
	  AND application_name = 'sluice-target' AND xact_start IS NOT NULL
	  AND (query LIKE '% IN (SELECT %' OR query LIKE '%FROM (SELECT s._sl_seq%')"
	local s locker
	for s in 1 2 3 4; do
		# a session holding payment (or rental) stops the actions that change it: the
		# SIGKILL lands inside one, in the open target transaction of the group
		local held=payment
		((s % 2)) || held=rental
		inst_sql test-dst "$tdb" "BEGIN; LOCK TABLE $SDB.$held IN EXCLUSIVE MODE;
		  SELECT pg_sleep(60); COMMIT" >/dev/null 2>&1 &
		locker=$!
		wait_sql test-dst "$tdb" "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		  WHERE c.relname = '$held' AND l.mode = 'ExclusiveLock' AND l.granted" 1 "the lock on $held"
		sluice_bg "$TMP/kill$s.out" "$TMP/kill$s.err" run "$TMP/kill.yaml"
		# thousands of cascaded rows per statement: one store's customers, their rentals, the
		# payments of those; then key changes passed down
		my_sql "$SDB" -e "DELETE FROM store WHERE store_id = $s;
		  UPDATE customer SET customer_id = customer_id + 100000 WHERE store_id = $((s + 4));
		  UPDATE rental SET rental_id = rental_id + 100000 WHERE rental_id % 10 = $s AND rental_id < 100000"
		wait_sql test-dst "$tdb" "$in_action AND wait_event_type = 'Lock'" 1 \
			"sluice waiting inside a foreign-key action (cycle $s)"
		kill -KILL "$SL_PID" 2>/dev/null || :
		wait "$SL_PID" 2>/dev/null || :
		inst_sql test-dst "$tdb" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		  WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
		wait "$locker" 2>/dev/null || :
		# nothing of the group is on the target: the store's customers are all still there
		assert_eq 1 "$(inst_sql test-dst "$tdb" "SELECT (count(*) > 0)::int FROM $SDB.customer WHERE store_id = $s")" \
			"cycle $s: the killed group left nothing behind"
	done
	sluice_ok run --once "$TMP/kill.yaml"
	compare_all "$tdb" "after SIGKILLs"
	sluice_ok verify "$TMP/kill.yaml"
	assert_contains "$SL_OUT" "all tables equal" "verify after SIGKILLs"
}

# The same into ClickHouse: tombstones and new versions written by INSERT ... SELECT FINAL.
case_clickhouse() {
	local tdb=it_myfk_ch
	ch_fresh_db "$tdb"
	make_schema 3 30 300 600
	pipeline_file "$TMP/ch.yaml" it_myfk_ch "mysql:$SDB" "clickhouse:$tdb"
	sluice_ok check "$TMP/ch.yaml"
	assert_contains "$SL_OUT" "$SDB.payment -> $SDB.rental (fk_payment_rental): ON DELETE SET NULL, ON UPDATE CASCADE: the source's log does not show the rows they change; sluice does them on the target" \
		"check: ClickHouse does the actions"
	assert_contains "$SL_OUT" "$SDB.rental_log -> $SDB.rental (fk_rental_log_rental): ON DELETE CASCADE" \
		"check: a keyless child's deletes are done on ClickHouse too"
	sluice_ok run --once "$TMP/ch.yaml"
	compare_all "$tdb" "ClickHouse, after the snapshot" clickhouse
	my_sql "$SDB" <<<"$OPS"
	cp "$TMP/it_myfk_ch.state.db" "$TMP/ch.state.before"
	sluice_ok run --once "$TMP/ch.yaml"
	compare_all "$tdb" "ClickHouse, after the actions" clickhouse
	sluice_ok verify "$TMP/ch.yaml"
	assert_contains "$SL_OUT" "all tables equal" "verify on ClickHouse"
	# applied again from the position before them (as after a crash before ClickHouse's
	# position was saved): the actions write the same rows again, nothing changes
	cp "$TMP/ch.state.before" "$TMP/it_myfk_ch.state.db"
	sluice_ok run --once "$TMP/ch.yaml"
	assert_contains "$SL_ERR" "transactions" "the run applied the changes again"
	compare_all "$tdb" "ClickHouse, applied again" clickhouse
}

# A child whose referencing column is masked: sluice cannot find its rows, so check warns, and a
# streaming run that sees the parent's deletes copies the child again instead of leaving it
# wrong.
case_unplanned() {
	local tdb=it_myfk_unpl
	fresh_db test-dst "$tdb"
	make_schema 3 30 300 600
	export SL_TEST_FK_MASK_KEY=fk-test-mask-key-0123456789abcdef
	pipeline_file "$TMP/unpl.yaml" it_myfk_unpl "mysql:$SDB" "$tdb" "source.tables:" \
		"source.  columns:" "source.    $SDB.payment: { mask: { rental_id: hash } }" \
		"mask_key: \${SL_TEST_FK_MASK_KEY}" "apply: { max_delay: 100ms }"
	sluice_ok check "$TMP/unpl.yaml"
	assert_contains "$SL_OUT" "warning: $SDB.payment -> $SDB.rental (fk_payment_rental): column $SDB.payment.rental_id is not replicated as it is" \
		"check says the masked column keeps the action from being done"
	sluice_ok run --once "$TMP/unpl.yaml"
	sluice_bg "$TMP/unpl.out" "$TMP/unpl.err" run "$TMP/unpl.yaml"
	wait_until 60 grep -q "reading the binlog" "$TMP/unpl.err" || fail "the run did not start streaming"
	my_sql "$SDB" -e "DELETE FROM rental WHERE rental_id < 10"
	local nulls
	nulls=$(my_sql "$SDB" -e "SELECT count(*) FROM payment WHERE rental_id IS NULL")
	((nulls > 0)) || fail "the source set no payment's rental_id to NULL"
	wait_sql test-dst "$tdb" "SELECT count(*) FROM $SDB.payment WHERE rental_id IS NULL" "$nulls" \
		"the payments copied again" 60
	kill -TERM "$SL_PID"
	wait "$SL_PID" || fail "the streaming run exited $?"
	assert_contains "$(<"$TMP/unpl.err")" "table $SDB.payment: foreign key fk_payment_rental changed its rows on the source in ways the target cannot follow: its rows are copied again" \
		"the run says why it copies payment again"
}

run_case case_check
run_case case_unplanned
run_case case_clickhouse
run_case case_offline
run_case case_killed
cases_done
