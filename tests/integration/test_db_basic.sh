#!/usr/bin/env bash
# PostgreSQL → Databricks, against the emulator (tests/emulators/databricks: the Statement
# Execution API, the Files API on a volume, a personal access token and a service principal's
# OAuth token checked, sluice's statements run on DuckDB): check's lines; the snapshot (Parquet
# files put in the volume, COPY INTO); changes MERGEd per table with the version guard, soft
# deletes, a TOAST value an update leaves unchanged taken from the table, a truncate, a column
# added; a keyless table's inserts; the rows compared with the source by DuckDB on the
# emulator's side; the volume left empty; no secret in any output.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
db_start

SDB=it_db_src
fresh_db test-src "$SDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE orders (id int PRIMARY KEY, customer text, amount numeric(12,2), note text,
                     tags int[], doc jsonb, placed timestamptz, "Flag" boolean);
ALTER TABLE orders ALTER COLUMN note SET STORAGE EXTERNAL;
CREATE TABLE audit (what text, at date);
INSERT INTO orders SELECT i, 'cust' || (i % 7), i * 1.25, 'n' || i, ARRAY[i, i + 1],
       jsonb_build_object('i', i), '2024-03-01 10:00:00+00'::timestamptz + i * interval '1 minute', i % 3 = 0
  FROM generate_series(1, 300) i;
INSERT INTO audit SELECT 'a' || i, DATE '2024-01-01' + i FROM generate_series(1, 20) i;
SQL

PIPE=$TMP/db.yaml
mapfile -t TL < <(db_target_lines ${DB_AUTH:-})
pipeline_file "$PIPE" it_db "$SDB" databricks:x "${TL[@]}" "snapshot: { parallelism: 2, chunk_size: 8KiB }"

sluice_ok check "$PIPE"
assert_contains "$SL_OUT" "signed in to Databricks at $DB_URL as $([[ ${DB_AUTH:-} == oauth ]] && echo "$DB_CLIENT_ID" || echo sluice@example.com)" "check signs in"
assert_contains "$SL_OUT" "can create schemas in catalog main, and tables in main.default" "check's privileges"
assert_contains "$SL_OUT" "/Volumes/main/stage/vol/ can be written and deleted" "check's volume"

sluice_ok run --once "$PIPE"
pg_orders() {
	src_sql "$SDB" "COPY (SELECT id, customer, amount, coalesce(note, '-'), array_to_string(tags, ','), doc->>'i', (extract(epoch from placed) * 1000000)::bigint, \"Flag\" FROM orders ORDER BY id) TO STDOUT"
}
db_orders() {
	db_query "SELECT id, customer, amount, coalesce(note, '-'), array_to_string(tags, ','), json_extract_string(doc, '\$.i'), epoch_us(placed), CASE WHEN \"Flag\" THEN 't' WHEN NOT \"Flag\" THEN 'f' END FROM uc_main.public.orders WHERE NOT _sluice_deleted ORDER BY id"
}
same() {
	[[ "$(pg_orders)" == "$(db_orders)" ]] || { diff <(pg_orders) <(db_orders) | head -10 >&2; fail "$1: orders differ"; }
	assert_eq "$(src_sql "$SDB" 'SELECT count(*) FROM audit')" "$(db_query 'SELECT count(*) FROM uc_main.public.audit WHERE NOT _sluice_deleted')" "$1: audit"
}
same "after the snapshot"

BIG=$(head -c 30000 /dev/urandom | base64 -w0)
src_sql "$SDB" <<SQL
UPDATE orders SET note = '$BIG' WHERE id = 7;
SQL
# (a run per source transaction: how transactions group depends on timing, and the golden file
# pins the statements each group sends)
sluice_ok run --once "$PIPE"
src_sql "$SDB" <<'SQL'
BEGIN;
UPDATE orders SET amount = amount + 1 WHERE id % 10 = 0;
UPDATE orders SET customer = 'changed' WHERE id = 7;   -- note (TOAST) unchanged
DELETE FROM orders WHERE id BETWEEN 100 AND 120;
INSERT INTO orders (id, customer, amount) VALUES (1001, 'new', 5);
INSERT INTO audit VALUES ('late', DATE '2025-01-01');
COMMIT;
SQL
sluice_ok run --once "$PIPE"
same "after the changes"
assert_eq "${#BIG}" "$(db_query 'SELECT length(note) FROM uc_main.public.orders WHERE id = 7')" "the TOAST value the update left unchanged"
assert_eq 21 "$(db_query 'SELECT count(*) FROM uc_main.public.orders WHERE _sluice_deleted AND id BETWEEN 100 AND 120')" "deleted rows stay, marked"

src_sql "$SDB" "ALTER TABLE orders ADD COLUMN region text; UPDATE orders SET region = 'eu' WHERE id < 5; TRUNCATE audit; INSERT INTO audit VALUES ('after', NULL)"
sluice_ok run --once "$PIPE"
same "after a column added and a truncate"
assert_eq 4 "$(db_query "SELECT count(*) FROM uc_main.public.orders WHERE region = 'eu'")" "the added column's values"

# a transaction bigger than apply.max_group_bytes reaches the target in parts: an update of
# row 8 leaving its TOAST value unchanged, in a later part than the update that set that value,
# takes it from the group's earlier row (the MERGE keeps only the latest change per key, so the
# table's value would be the one from before the group)
PIPE2=$TMP/db_small.yaml
pipeline_file "$PIPE2" it_db "$SDB" databricks:x "${TL[@]}" "apply: { max_group_bytes: 64KiB }"
BIG2=$(head -c 45000 /dev/urandom | base64 -w0)
src_sql "$SDB" <<SQL
BEGIN;
UPDATE orders SET note = '$BIG2' WHERE id = 8;
-- past the source's 4 MiB of rows per message: the next rows reach the target in a part of their own
UPDATE orders SET note = repeat(md5(id::text), 2000) WHERE id BETWEEN 200 AND 299;
UPDATE orders SET customer = 'again' WHERE id = 8;
COMMIT;
SQL
sluice_ok run --once "$PIPE2"
same "after a transaction in parts"
assert_eq "${#BIG2} again" "$(db_query "SELECT length(note) || ' ' || customer FROM uc_main.public.orders WHERE id = 8")" "an unchanged TOAST value set earlier in the group"

# ---- a column added after changes to its table in the same transaction (the rows before go
# with the columns they have); a column and a table renamed on the source: renamed on
# Databricks (column mapping by name; a table within its schema), values kept
src_sql "$SDB" "BEGIN; UPDATE orders SET amount = amount + 2 WHERE id = 1; ALTER TABLE orders ADD COLUMN extra int; UPDATE orders SET extra = 5 WHERE id = 2; COMMIT"
sluice_ok run --once "$PIPE"
same "after a column added mid-transaction"
assert_eq "5" "$(db_query 'SELECT extra FROM uc_main.public.orders WHERE id = 2')" "the value of the column added mid-transaction"
src_sql "$SDB" "ALTER TABLE orders RENAME COLUMN customer TO client; UPDATE orders SET client = 'renamed' WHERE id = 3"
sluice_ok run --once "$PIPE"
assert_contains "$SL_ERR" "column customer renamed to client" "the column rename is logged"
assert_eq "$(src_sql "$SDB" "COPY (SELECT count(client), count(*) FILTER (WHERE client = 'renamed') FROM orders) TO STDOUT")" \
	"$(db_query "SELECT count(client), count(*) FILTER (WHERE client = 'renamed') FROM uc_main.public.orders WHERE NOT _sluice_deleted")" "the renamed column kept its values"
src_sql "$SDB" "ALTER TABLE audit RENAME TO audit_log; INSERT INTO audit_log VALUES ('renamed', NULL)"
sluice_ok run --once "$PIPE"
assert_eq "$(src_sql "$SDB" 'SELECT count(*) FROM audit_log')" "$(db_query 'SELECT count(*) FROM uc_main.public.audit_log WHERE NOT _sluice_deleted')" "the renamed table, with the insert after the rename"
# widened on the source (decimal precision, int to bigint): widened on Databricks
src_sql "$SDB" "ALTER TABLE orders ALTER COLUMN amount TYPE numeric(16,2), ALTER COLUMN extra TYPE bigint; UPDATE orders SET amount = 12345678901234.56, extra = 5000000000 WHERE id = 4"
sluice_ok run --once "$PIPE"
assert_contains "$SL_ERR" "column amount widened from decimal(12,2) to DECIMAL(16,2)" "the widening is logged"
assert_eq "12345678901234.56 5000000000" "$(db_query "SELECT amount || ' ' || extra FROM uc_main.public.orders WHERE id = 4")" "values that need the wider types"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "all tables equal" "verify after the renames and widenings"

# the volume holds no staged file once the groups are in
left=$(find "$TMP/volumes" -name '*.parquet' || true)
[[ -z $left ]] || fail "files left in the volume: $left"

# ---- the statements sent, against the golden file (variable parts normalised)
curl -sS "$DB_URL/_emulator/log" | python3 "$SLUICE_ROOT/tests/integration/emulator_golden.py" databricks >"$TMP/sent.sql"
GOLDEN=$SLUICE_ROOT/tests/integration/golden/db_basic.sql # the same SQL with OAuth
if [[ ${SLUICE_GOLDEN_UPDATE:-} == 1 ]]; then
	cp "$TMP/sent.sql" "$GOLDEN"
fi
diff -u "$GOLDEN" "$TMP/sent.sql" >&2 || fail "the SQL sent differs from $GOLDEN (SLUICE_GOLDEN_UPDATE=1 writes it anew)"

# ---- a type change Databricks cannot widen to (two more decimal places, no more digits):
# one line naming the column, both types and the fix; the position stays
pos=$(db_query "SELECT position FROM uc_main.default._sluice_state WHERE pipeline = 'it_db'")
src_sql "$SDB" "UPDATE orders SET amount = 1 WHERE id = 4; ALTER TABLE orders ALTER COLUMN amount TYPE numeric(16,4); UPDATE orders SET amount = 1.2345 WHERE id = 5"
sluice run --once "$PIPE"
((SL_RC != 0)) || fail "a narrowing type change: run --once exited 0"
assert_contains "$SL_ERR" "public.orders.amount is decimal(16,2) on Databricks and now DECIMAL(16,4) on the source, which Databricks cannot widen it to: drop" "the type change's one line"
assert_eq "$pos" "$(db_query "SELECT position FROM uc_main.default._sluice_state WHERE pipeline = 'it_db'")" "the position stays"
assert_not_contains "$SL_OUT$SL_ERR" "$DB_TOKEN" "the token is in no output"
pass
