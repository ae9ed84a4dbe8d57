#!/usr/bin/env bash
# CDC basics, each checked against the source after `run --once`: inserts, updates, deletes, an
# update of another column of a row whose big value is TOASTed (the target keeps the value), a
# key change, a transaction spanning two tables, a rolled-back transaction (nothing applied),
# TRUNCATE, ADD COLUMN / widening ALTER TYPE / DROP COLUMN, a keyless REPLICA IDENTITY FULL table
# with duplicate rows, an incompatible type change (clear error), and the slot's confirmed flush
# position advancing. `sluice verify` and an independent md5 of each table must agree.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_cdc_src
TDB=it_cdc_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE acct (id int PRIMARY KEY, owner text, balance numeric(12,2), doc text, note varchar(10));
CREATE TABLE ledger (id bigserial PRIMARY KEY, acct int, amount numeric(12,2));
CREATE TABLE events (kind text, payload jsonb);
ALTER TABLE events REPLICA IDENTITY FULL;
INSERT INTO acct SELECT i, 'owner' || i, i * 10, NULL, 'n' FROM generate_series(1, 100) i;
SQL

PIPE=$TMP/cdc.yaml
pipeline_file "$PIPE" it_cdc "$SDB" "$TDB"
sluice_ok run --once "$PIPE"

# md5 of a table's rows in key order, the same query on both sides
digest() { # INSTANCE-SQL-FN DB TABLE ORDER
	"$1" "$2" "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY $4), '')) FROM $3 t"
}
same() { # TABLE ORDER WHAT
	local a b
	a=$(digest src_sql "$SDB" "$1" "$2")
	b=$(digest dst_sql "$TDB" "public.$1" "$2")
	assert_eq "$a" "$b" "$3"
}
slot_flush() { src_sql "$SDB" "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'sluice_it_cdc'"; }
flush0=$(slot_flush)

src_sql "$SDB" <<'SQL'
-- a TOASTed value (incompressible, out of line), then an update of another column
INSERT INTO acct VALUES (1000, 'big', 1, (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 3000) i), 'x');
UPDATE acct SET balance = balance + 1 WHERE id <= 50;
DELETE FROM acct WHERE id BETWEEN 90 AND 95;
UPDATE acct SET id = 5000 WHERE id = 7;           -- key change
BEGIN;                                             -- one transaction, two tables
UPDATE acct SET balance = balance - 5 WHERE id = 1;
INSERT INTO ledger (acct, amount) VALUES (1, -5), (2, 5);
COMMIT;
BEGIN;
INSERT INTO acct VALUES (6000, 'rolled back', 0, NULL, 'r');
DELETE FROM acct WHERE id = 2;
ROLLBACK;
INSERT INTO events VALUES ('a', '{"x": 1}'), ('a', '{"x": 1}'), ('b', NULL);
SQL
src_sql "$SDB" "SELECT pg_sleep(0)" >/dev/null
src_sql "$SDB" "UPDATE acct SET balance = 42 WHERE id = 1000"
sluice_ok run --once "$PIPE"
same acct id "inserts, updates, deletes, key change and TOAST update applied"
same ledger id "a transaction spanning two tables applied"
doc=$(dst_sql "$TDB" "SELECT length(doc) FROM acct WHERE id = 1000")
assert_eq 96000 "$doc" "the unchanged TOASTed value kept its content on the target"
assert_eq 0 "$(dst_sql "$TDB" "SELECT count(*) FROM acct WHERE id = 6000")" "a rolled-back transaction left nothing"
same events "kind, payload::text" "keyless table rows"

# TOAST update inside the same group as the insert of the value
src_sql "$SDB" <<'SQL'
BEGIN;
INSERT INTO acct VALUES (1001, 'big2', 1, (SELECT string_agg(md5((i*7)::text), '') FROM generate_series(1, 3000) i), 'y');
COMMIT;
UPDATE acct SET owner = 'big2b' WHERE id = 1001;
UPDATE acct SET owner = 'big2c' WHERE id = 1001;
-- keyless: delete one of two identical rows, update another
DELETE FROM events WHERE ctid = (SELECT min(ctid) FROM events WHERE kind = 'a');
UPDATE events SET kind = 'c' WHERE kind = 'b';
SQL
sluice_ok run --once "$PIPE"
same acct id "TOAST updates collapsed with their insert in one group"

# key changes of rows whose TOASTed value is not sent (unchanged): the value must follow the row,
# whether the old row is on the target (1000 -> 2000) or was changed earlier in the same group
# (1001: updated, then moved twice), and a moved-away key may be reused at once.
src_sql "$SDB" <<'SQL'
UPDATE acct SET id = 2000 WHERE id = 1000;
BEGIN;
UPDATE acct SET owner = 'moving' WHERE id = 1001;
UPDATE acct SET id = 2001 WHERE id = 1001;
UPDATE acct SET id = 2002, owner = 'moved twice' WHERE id = 2001;
INSERT INTO acct VALUES (1001, 'reused key', 0, NULL, 'k');
COMMIT;
SQL
sluice_ok run --once "$PIPE"
same acct id "key changes carry unchanged TOASTed values (from the target or from the group)"
assert_eq 96000 "$(dst_sql "$TDB" "SELECT length(doc) FROM acct WHERE id = 2000")" "moved row kept its TOASTed value"
assert_eq 96000 "$(dst_sql "$TDB" "SELECT length(doc) FROM acct WHERE id = 2002")" "twice-moved row kept its TOASTed value"
same events "kind, payload::text" "keyless delete of one duplicate and update (REPLICA IDENTITY FULL)"

# schema evolution
src_sql "$SDB" <<'SQL'
ALTER TABLE acct ADD COLUMN tier smallint;
UPDATE acct SET tier = 3 WHERE id <= 10;
ALTER TABLE acct ALTER COLUMN tier TYPE bigint;
ALTER TABLE acct ALTER COLUMN note TYPE varchar(40);
UPDATE acct SET tier = 9000000000, note = repeat('w', 30) WHERE id = 3;
ALTER TABLE ledger DROP COLUMN amount;
INSERT INTO ledger (acct) VALUES (3);
UPDATE ledger SET acct = 4 WHERE id = 1;
SQL
sluice_ok run --once "$PIPE"
same acct id "ADD COLUMN and widening ALTER TYPE applied"
assert_eq "bigint" "$(dst_sql "$TDB" "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'acct'::regclass AND attname = 'tier'")" "tier widened to bigint on the target"
assert_eq "3" "$(dst_sql "$TDB" "SELECT count(*) FROM ledger")" "ledger rows after DROP COLUMN"
assert_eq "5.00" "$(dst_sql "$TDB" "SELECT amount FROM ledger WHERE id = 2")" "dropped column: kept on the target with its old values"
assert_eq "" "$(dst_sql "$TDB" "SELECT amount FROM ledger WHERE id = 3")" "dropped column: NULL in new rows"
assert_eq "" "$(dst_sql "$TDB" "SELECT amount FROM ledger WHERE id = 1")" "dropped column: set to NULL by a later update"

# TRUNCATE
src_sql "$SDB" "TRUNCATE events; INSERT INTO events VALUES ('after', '[]')"
sluice_ok run --once "$PIPE"
same events "kind, payload::text" "TRUNCATE applied, then the insert after it"

sluice_ok verify "$PIPE"
flush1=$(slot_flush)
advanced=$(src_sql "$SDB" "SELECT '$flush1'::pg_lsn > '$flush0'::pg_lsn")
assert_eq t "$advanced" "the slot's confirmed flush position advanced ($flush0 -> $flush1)"
pos=$(dst_sql "$TDB" "SELECT position FROM _sluice.positions WHERE pipeline = 'it_cdc'")
[[ -n $pos ]] || fail "no durable position in _sluice.positions"

sluice_ok status "$PIPE"
[[ $SL_OUT == *"applied: up to"* && $SL_OUT == *"slot:"* ]] || { sluice_dump; fail "status shows no CDC position"; }

# an incompatible change stops with a clear error naming table and column
src_sql "$SDB" "ALTER TABLE acct ALTER COLUMN owner TYPE int USING length(owner); UPDATE acct SET owner = 1 WHERE id = 1"
sluice run --once "$PIPE"
((SL_RC != 0)) || fail "an incompatible type change must stop the pipeline"
[[ $SL_ERR == *"acct.owner"* && $SL_ERR == *"integer"* ]] || { sluice_dump; fail "the error must name the table, column and new type"; }
log "ok"
