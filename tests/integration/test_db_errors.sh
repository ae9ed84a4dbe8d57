#!/usr/bin/env bash
# The Databricks target's failures, against the emulator: each bad setting is one line naming
# the fix and a non-zero exit (a wrong token, a wrong OAuth secret, a warehouse that does not
# exist, CREATE SCHEMA or WRITE VOLUME not granted, settings missing or contradicting), with the
# login line still reported when a later part fails; a stopped warehouse started by the check,
# with a note. Then faults while changes flow: storms of 429 and 503, dropped connections, and
# statements that ran but whose answer was lost (each sent again: every statement sluice sends
# must be harmless twice, the keyless table's inserts included). No secret in any output.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
db_start

SDB=it_db_err
fresh_db test-src "$SDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE acct (id int PRIMARY KEY, owner text, balance numeric(12,2));
INSERT INTO acct SELECT i, 'o' || i, i FROM generate_series(1, 200) i;
CREATE TABLE events (id bigserial, what text);
INSERT INTO events (what) SELECT 'e' || i FROM generate_series(1, 50) i;
SQL
PIPE=$TMP/db.yaml
mapfile -t TL < <(db_target_lines)
pipeline_file "$PIPE" it_db_err "$SDB" databricks:x "${TL[@]}" "apply: { max_delay: 100ms }"
db_post() { curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' --data-binary "$2" "$DB_URL$1" >/dev/null; }

# ---- credentials and the warehouse
sed "s|token: $DB_TOKEN|token: dapi-not-the-token|" "$PIPE" >"$TMP/badtoken.yaml"
check_fails "$TMP/badtoken.yaml" "Databricks refused the personal access token (Invalid access token.): check target.token"
mapfile -t OL < <(db_target_lines oauth)
pipeline_file "$TMP/badsecret.yaml" it_db_err "$SDB" databricks:x "${OL[@]/$DB_CLIENT_SECRET/dose-not-the-secret}"
check_fails "$TMP/badsecret.yaml" "Databricks refused the service principal $DB_CLIENT_ID (HTTP 401: Client authentication failed): check target.client_id and target.client_secret"
sed "s|warehouse_id: $DB_WAREHOUSE|warehouse_id: 0123456789abcdef|" "$PIPE" >"$TMP/badwh.yaml"
check_fails "$TMP/badwh.yaml" "SQL warehouse 0123456789abcdef does not exist. (check target.warehouse_id)"
# the state table is made by the first check that may (later ones find it)
db_post /_emulator/config '{"grants": {"createTable": false}}'
check_fails "$PIPE" "USE SCHEMA, CREATE TABLE, MODIFY, SELECT ON SCHEMA main.default TO <principal>"
db_post /_emulator/config '{"grants": {"createTable": true}}'
db_post /_emulator/faults '{"stop_warehouse": 1}'
sluice_ok check "$PIPE"
assert_contains "$SL_OUT" "SQL warehouse was STOPPED and started for the check" "a stopped warehouse is started, with a note"
db_post /_emulator/config '{"grants": {"createSchema": false}}'
check_fails "$PIPE" "GRANT CREATE SCHEMA ON CATALOG main TO <principal>, or set target.schema"
assert_contains "$SL_OUT" "signed in to Databricks at $DB_URL" "the login line passes while the privileges fail"
db_post /_emulator/config '{"grants": {"createSchema": true, "writeVolume": false}}'
check_fails "$PIPE" "User does not have WRITE VOLUME on Volume 'main.stage.vol'"
db_post /_emulator/config '{"grants": {"writeVolume": true}}'
# ---- settings
sed '/  token: /d' "$PIPE" >"$TMP/nocred.yaml"
check_fails "$TMP/nocred.yaml" "Databricks needs target.token (a personal access token) or target.client_id and target.client_secret"
sed "/^target:/a\\  client_id: $DB_CLIENT_ID" "$PIPE" >"$TMP/both.yaml"
check_fails "$TMP/both.yaml" "name target.token or target.client_id and target.client_secret, not both"
sed '/  warehouse_id: /d' "$PIPE" >"$TMP/nowh.yaml"
check_fails "$TMP/nowh.yaml" "target.warehouse_id is required for Databricks"
sed 's|volume: main.stage.vol|volume: vol|' "$PIPE" >"$TMP/badvol.yaml"
check_fails "$TMP/badvol.yaml" "target.volume: vol is not CATALOG.SCHEMA.VOLUME"
sed 's|volume: main.stage.vol|volume: main.stage.nope|' "$PIPE" >"$TMP/novol.yaml"
check_fails "$TMP/novol.yaml" "Volume main.stage.nope does not exist (sluice needs READ VOLUME and WRITE VOLUME"

# ---- faults while changes flow
sluice_ok run --once "$PIPE"
db_rows() { db_query 'SELECT count(*), sum(balance) FROM uc_main.public.acct WHERE NOT _sluice_deleted'; }
pg_rows() { src_sql "$SDB" 'COPY (SELECT count(*), sum(balance) FROM acct) TO STDOUT'; }
assert_eq "$(pg_rows)" "$(db_rows)" "after the snapshot"
stat() { curl -sS "$DB_URL/_emulator/stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
events_same() {
	assert_eq "$(src_sql "$SDB" 'SELECT count(*) FROM events')" "$(db_query 'SELECT count(*) FROM uc_main.public.events WHERE NOT _sluice_deleted')" "$1"
}
src_sql "$SDB" "UPDATE acct SET balance = balance + 1 WHERE id <= 50; INSERT INTO events (what) VALUES ('storm')"
db_post /_emulator/faults '{"status429": 3, "status503": 2}'
sluice_ok run --once "$PIPE"
assert_eq "$(pg_rows)" "$(db_rows)" "after the 429/503 storm"
assert_eq 0 "$(stat '["faults"]["pending"]["status429"] + d["faults"]["pending"]["status503"]')" "every injected fault was met"
src_sql "$SDB" "UPDATE acct SET balance = balance * 2 WHERE id % 3 = 0; DELETE FROM acct WHERE id > 190; INSERT INTO events (what) SELECT 'drop' || i FROM generate_series(1, 20) i"
db_post /_emulator/faults '{"drop": 3, "slow": 2}'
sluice_ok run --once "$PIPE"
assert_eq "$(pg_rows)" "$(db_rows)" "after dropped connections"
events_same "events after dropped connections"
# every statement of a group answered lost once: each runs twice
src_sql "$SDB" "UPDATE acct SET owner = 'x' WHERE id <= 20; DELETE FROM acct WHERE id = 21; INSERT INTO events (what) SELECT 'lost' || i FROM generate_series(1, 30) i"
db_post /_emulator/faults '{"lost_answer": 12}'
sluice_ok run --once "$PIPE"
assert_eq "$(stat '["faults"]["fired"]["lost_answer"]')" 12 "twelve answers lost"
assert_eq "$(pg_rows)" "$(db_rows)" "after lost answers"
events_same "events after lost answers: every row once"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "all tables equal" "verify after the faults"
assert_not_contains "$SL_OUT$SL_ERR" "$DB_TOKEN" "the token is in no output"
pass
