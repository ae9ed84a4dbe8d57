#!/usr/bin/env bash
# PostgreSQL -> ClickHouse: snapshot and CDC, each step checked after `run --once` with
# `sluice verify` and with an independent comparison of the rows as both servers print them
# (ClickHouse read FINAL without deleted rows): the table layout (ReplacingMergeTree ordered by
# the key, metadata columns, Nullable), inserts, updates, deletes as tombstones, a key change,
# updates that leave a TOASTed value unchanged (the row in ClickHouse stays whole: the value is
# fetched back, never NULL), a keyless REPLICA IDENTITY FULL table with duplicate rows (a delete
# removes one copy), two source schemas with the same table name, ADD COLUMN / widening ALTER
# TYPE / DROP COLUMN, TRUNCATE, the position in the state store, and a replay of already applied
# changes (re-delivery after a crash) that must leave every table unchanged: no duplicates.
# The replay is a real re-delivery: before the CDC changes the slot is copied and the state
# store backed up; after they were applied, the slot is replaced by the copy (confirmed before
# the changes) and the state store restored -- the state a crash leaves when ClickHouse
# acknowledged the inserts but sluice died before saving the position and acknowledging the
# slot. PostgreSQL then streams every change again (the raw row count in ClickHouse, merges
# stopped, shows they were written again), and every table read FINAL must be exactly what it
# was before the replay (all columns, the metadata included: versions, tombstones, keyless
# identities) and equal the source by count and rows.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ch_require

SDB=it_chbasic_src
CDB=it_chbasic
fresh_db test-src "$SDB"
ch_fresh_db "$CDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE acct (id int PRIMARY KEY, owner text, balance numeric(12,2), doc text, n int);
ALTER TABLE acct ALTER doc SET STORAGE EXTERNAL;
CREATE TABLE hist (a int, b text);
ALTER TABLE hist REPLICA IDENTITY FULL;
CREATE TABLE pairs (a int, b text, v bigint, PRIMARY KEY (a, b));
CREATE SCHEMA s2;
CREATE TABLE s2.acct (id int PRIMARY KEY, x text);
INSERT INTO acct SELECT i, 'owner' || i, i * 10, repeat(md5(i::text), 200), i FROM generate_series(1, 500) i;
INSERT INTO hist VALUES (1, 'a'), (1, 'a'), (1, 'a'), (2, 'b'), (NULL, NULL);
INSERT INTO pairs SELECT i % 7, 'b' || i, i FROM generate_series(1, 300) i;
INSERT INTO s2.acct VALUES (1, 'other schema');
SQL

PIPE=$TMP/ch.yaml
pipeline_file "$PIPE" it_chbasic "$SDB" "clickhouse:$CDB"
STATE=$TMP/it_chbasic.state.db

# rows as both servers print them, in the same order: equal when the contents are equal (the
# columns compared are integers, decimals and text)
same() { # PGTABLE CHTABLE COLUMNS ORDER WHAT
	local a b
	a=$(src_sql "$SDB" "COPY (SELECT $3 FROM $1 ORDER BY $4) TO STDOUT" | md5sum)
	b=$(ch_sql "SELECT $3 FROM $CDB.$2 FINAL WHERE _sluice_deleted = 0 ORDER BY $4" | md5sum)
	assert_eq "$a" "$b" "$5"
}
verify_ok() { # WHAT
	sluice verify "$PIPE"
	((SL_RC == 0)) || { sluice_dump; fail "verify failed: $1"; }
	assert_contains "$SL_OUT$SL_ERR" "all tables equal" "verify: $1"
}
all_same() { # WHAT
	same acct public_acct "$ACCT_COLS" id "$1: acct"
	same hist hist "a, b" "a, b" "$1: hist (keyless)"
	same pairs pairs "$PAIRS_COLS" "a, b" "$1: pairs (composite key)"
	same s2.acct s2_acct "id, x" id "$1: s2.acct"
	verify_ok "$1"
}

PAIRS_COLS="a, b, v"
ACCT_COLS="id, owner, balance, doc, n"
sluice_ok run --once "$PIPE"
assert_contains "$SL_ERR" "snapshot: complete" "the snapshot ran"
# layout
ddl=$(ch_sql "SHOW CREATE TABLE $CDB.public_acct")
assert_contains "$ddl" "ENGINE = ReplacingMergeTree(_sluice_version) ORDER BY id" "keyed: ReplacingMergeTree ordered by the key"
assert_contains "$ddl" "id Int32" "key column not Nullable"
assert_contains "$ddl" "owner Nullable(String)" "nullable columns are Nullable"
assert_contains "$ddl" "balance Nullable(Decimal(12, 2))" "numeric(12,2) is Decimal(12, 2)"
assert_contains "$ddl" "_sluice_version UInt64" "version column"
assert_contains "$ddl" "_sluice_deleted UInt8" "deleted column"
assert_contains "$(ch_sql "SHOW CREATE TABLE $CDB.pairs")" "ORDER BY (a, b)" "composite key"
assert_contains "$(ch_sql "SHOW CREATE TABLE $CDB.hist")" "ORDER BY (_sluice_origin, _sluice_seq)" \
	"keyless: ordered by the row identity"
assert_eq "hist,pairs,public_acct,s2_acct" "$(ch_sql "SELECT arrayStringConcat(groupArray(name), ',') FROM (SELECT name FROM system.tables WHERE database = '$CDB' ORDER BY name)")" \
	"tables land under their source names; a name two schemas share gets the schema as prefix"
assert_eq 0 "$(ch_sql "SELECT count() FROM $CDB.public_acct WHERE _sluice_version <> 0")" "snapshot rows have version 0"
all_same "snapshot"

# ---- CDC
# what a crash after ClickHouse acknowledged the changes below but before sluice saved their
# position leaves behind: the slot confirmed before them, the state store without them
SLOT=sluice_it_chbasic
cleanup_slot test-src "${SLOT}_before"
src_sql "$SDB" "SELECT 1 FROM pg_copy_logical_replication_slot('$SLOT', '${SLOT}_before')" >/dev/null
sqlite3 "$STATE" ".backup '$TMP/state_before.db'"
src_sql "$SDB" <<'SQL'
UPDATE acct SET balance = balance + 1 WHERE id <= 50;
UPDATE acct SET owner = 'toast kept' WHERE id BETWEEN 60 AND 64;
DELETE FROM acct WHERE id BETWEEN 90 AND 95;
UPDATE acct SET id = 5000 WHERE id = 7;
UPDATE acct SET id = 5001, owner = 'moved and kept' WHERE id = 8;
BEGIN;
UPDATE acct SET balance = 0 WHERE id = 1;
INSERT INTO pairs VALUES (100, 'x', 1);
DELETE FROM pairs WHERE a = 3;
COMMIT;
BEGIN;
INSERT INTO acct VALUES (6000, 'rolled back', 0, NULL, 0);
ROLLBACK;
DELETE FROM hist WHERE ctid = (SELECT ctid FROM hist WHERE a = 1 LIMIT 1);
UPDATE hist SET b = 'bb' WHERE a = 2;
INSERT INTO hist VALUES (2, 'b'), (3, 'c');
BEGIN;
INSERT INTO hist VALUES (9, 'q');
DELETE FROM hist WHERE a = 9;
INSERT INTO hist VALUES (9, 'q');
COMMIT;
SQL
sluice_ok run --once "$PIPE"
all_same "CDC"
assert_eq "6400" "$(ch_sql "SELECT length(doc) FROM $CDB.public_acct FINAL WHERE id = 62")" \
	"an update that left the TOASTed value unchanged keeps it in ClickHouse"
assert_eq "6400" "$(ch_sql "SELECT length(doc) FROM $CDB.public_acct FINAL WHERE id = 5001")" \
	"a key change that left the TOASTed value unchanged keeps it"
assert_eq "1" "$(ch_sql "SELECT _sluice_deleted FROM $CDB.public_acct FINAL WHERE id = 90")" "a delete is a tombstone"
assert_eq "2" "$(ch_sql "SELECT count() FROM $CDB.hist FINAL WHERE _sluice_deleted = 0 AND a = 1")" \
	"a keyless delete removes one of three equal rows"
pos=$(sqlite3 "$STATE" "SELECT position FROM sluice_position WHERE pipeline = 'it_chbasic'")
# the acknowledgement is sent before sluice exits; the walsender may apply it a moment later.
# It covers the applied position, and may pass it: WAL after the last applied commit that holds
# nothing for the pipeline (a running-transactions record, another database's commit) is
# confirmed too, so that an idle slot advances.
ack_covers() {
	flush=$(src_sql "$SDB" "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'sluice_it_chbasic'")
	[[ $(src_sql "$SDB" "SELECT '$flush'::pg_lsn >= '$pos'::pg_lsn") == t ]]
}
wait_until 10 ack_covers || fail "the slot's confirmed position ($flush) is behind the applied one in the state store ($pos)"
ASSERTS=$((ASSERTS + 1))

# ---- re-delivery of the changes above (see the header)
# every table read FINAL, all columns: the replay must not change one byte of it
ch_final() {
	local t
	for t in public_acct:id hist:_sluice_origin,_sluice_seq pairs:a,b s2_acct:id; do
		ch_sql "SELECT * FROM $CDB.${t%%:*} FINAL ORDER BY ${t#*:}"
	done | md5sum
}
final_before=$(ch_final)
for t in public_acct hist pairs; do ch_sql "SYSTEM STOP MERGES $CDB.$t"; done
raw_before=$(ch_sql "SELECT (SELECT count() FROM $CDB.public_acct) + (SELECT count() FROM $CDB.hist) + (SELECT count() FROM $CDB.pairs)")
src_sql "$SDB" "SELECT pg_drop_replication_slot('$SLOT');
	SELECT 1 FROM pg_copy_logical_replication_slot('${SLOT}_before', '$SLOT');
	SELECT pg_drop_replication_slot('${SLOT}_before')" >/dev/null
sqlite3 "$STATE" ".restore '$TMP/state_before.db'"
assert_eq 0 "$(sqlite3 "$STATE" "SELECT count(*) FROM sluice_position WHERE position = '$pos'")" \
	"the restored state store does not hold the replayed changes' position"
sluice_ok run --once "$PIPE"
raw_after=$(ch_sql "SELECT (SELECT count() FROM $CDB.public_acct) + (SELECT count() FROM $CDB.hist) + (SELECT count() FROM $CDB.pairs)")
for t in public_acct hist pairs; do ch_sql "SYSTEM START MERGES $CDB.$t"; done
log "rows stored before merges: $raw_before before the replay, $raw_after after"
((raw_after > raw_before)) || fail "the replay wrote nothing: it did not re-deliver ($raw_before -> $raw_after)"
assert_eq "$final_before" "$(ch_final)" "the replay left every table as it was (read FINAL, all columns)"
counts() { # PGTABLE CHTABLE
	assert_eq "$(src_sql "$SDB" "SELECT count(*) FROM $1")" \
		"$(ch_sql "SELECT count() FROM $CDB.$2 FINAL WHERE _sluice_deleted = 0")" "after the replay: $1 row count"
}
counts acct public_acct
counts hist hist
counts pairs pairs
all_same "after the replay"
assert_eq "$pos" "$(sqlite3 "$STATE" "SELECT position FROM sluice_position WHERE pipeline = 'it_chbasic'")" \
	"the replay ends at the same position"

# ---- schema changes
src_sql "$SDB" <<'SQL'
ALTER TABLE acct ADD COLUMN extra int;
UPDATE acct SET extra = id WHERE id <= 5;
ALTER TABLE acct ALTER COLUMN balance TYPE numeric(16,2);
ALTER TABLE acct ALTER COLUMN n TYPE bigint;
UPDATE acct SET balance = 12345678901234.56, n = 9000000000 WHERE id = 2;
ALTER TABLE pairs DROP COLUMN v;
INSERT INTO pairs VALUES (200, 'after drop');
SQL
PAIRS_COLS="a, b"
ACCT_COLS="id, owner, balance, doc, n, extra"
sluice_ok run --once "$PIPE"
cols=$(ch_sql "SELECT name, type FROM system.columns WHERE database = '$CDB' AND table = 'public_acct' FORMAT CSV")
assert_contains "$cols" '"extra","Nullable(Int32)"' "ADD COLUMN added it"
assert_contains "$cols" '"balance","Nullable(Decimal(16, 2))"' "numeric widened in place"
assert_contains "$cols" '"n","Nullable(Int64)"' "int widened to bigint in place"
assert_contains "$(ch_sql "SELECT name, type FROM system.columns WHERE database = '$CDB' AND table = 'pairs' FORMAT CSV")" \
	'"v","Nullable(Int64)"' "a dropped column is kept, Nullable"
assert_eq '\N' "$(ch_sql "SELECT v FROM $CDB.pairs FINAL WHERE a = 200")" "rows after the drop hold NULL in it"
same acct public_acct "id, owner, balance, doc, n, extra" id "schema change: acct"
same pairs pairs "a, b" "a, b" "schema change: pairs"
verify_ok "schema changes"

# ---- TRUNCATE
src_sql "$SDB" "TRUNCATE hist; INSERT INTO hist VALUES (100, 'after truncate'); TRUNCATE s2.acct"
sluice_ok run --once "$PIPE"
assert_eq "100	after truncate" "$(ch_sql "SELECT a, b FROM $CDB.hist FINAL WHERE _sluice_deleted = 0")" "TRUNCATE of a keyless table"
assert_eq 0 "$(ch_sql "SELECT count() FROM $CDB.s2_acct FINAL WHERE _sluice_deleted = 0")" "TRUNCATE of a keyed table"
all_same "TRUNCATE"

# incompatible type change (last: the stream cannot get past it): a clear error, the position
# kept
pos=$(sqlite3 "$STATE" "SELECT position FROM sluice_position WHERE pipeline = 'it_chbasic'")
src_sql "$SDB" "ALTER TABLE acct ALTER COLUMN owner TYPE int USING length(owner); UPDATE acct SET owner = 1 WHERE id = 3"
sluice run --once "$PIPE"
assert_sluice_error nonzero "column owner" "public_acct" "Nullable(String)"
assert_eq "$pos" "$(sqlite3 "$STATE" "SELECT position FROM sluice_position WHERE pipeline = 'it_chbasic'")" \
	"the position did not move past the change"
pass
