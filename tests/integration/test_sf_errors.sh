#!/usr/bin/env bash
# The Snowflake target's failures, against the SQL API emulator: each bad setting is one line
# naming the fix and a non-zero exit (another key, another account, this machine's clock an hour
# off, the warehouse or the CREATE SCHEMA privilege revoked, stage credentials Snowflake cannot
# use, a password, a missing key), with the login line still reported when a later part fails;
# then faults while changes flow: storms of 429 and 503, statements answering 202 (polled),
# dropped connections (the request sent again with the same requestId runs once), a column
# added with a default while streaming (the table copied again by itself), and the
# position moved under a running applier (it stops, applying nothing twice). No secret in any
# output.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
sf_start

SDB=it_sf_err
fresh_db test-src "$SDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE acct (id int PRIMARY KEY, owner text, balance numeric(12,2));
INSERT INTO acct SELECT i, 'o' || i, i FROM generate_series(1, 200) i;
CREATE TABLE events (id bigserial, what text);
INSERT INTO events (what) SELECT 'e' || i FROM generate_series(1, 50) i;
SQL
PIPE=$TMP/sf.yaml
mapfile -t TL < <(sf_target_lines)
pipeline_file "$PIPE" it_sf_err "$SDB" snowflake:analytics "${TL[@]}" "apply: { max_delay: 100ms }"

# ---- another key: the emulator has the first one registered
openssl genrsa 2048 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$TMP/other.p8"
sed "s|$SF_KEY|$TMP/other.p8|" "$PIPE" >"$TMP/otherkey.yaml"
check_fails "$TMP/otherkey.yaml" "Snowflake refused the key-pair login of user sluice_svc to account testacct"
assert_contains "$SL_OUT" "ALTER USER sluice_svc SET RSA_PUBLIC_KEY" "the fix names the key registration"
assert_eq 1 "$(grep -c "refused" <<<"$SL_OUT$SL_ERR")" "one line, not a cascade"
# ---- another account
sed "s|account: testacct|account: otheracct|" "$PIPE" >"$TMP/otheracct.yaml"
check_fails "$TMP/otheracct.yaml" "login of user sluice_svc to account otheracct"
# ---- this machine's clock an hour behind the server's
sf_post /_emulator/faults '{"clock_skew_s": 3600}' >/dev/null
check_fails "$PIPE" "this machine's clock is 3600 s behind the server's"
sf_post /_emulator/faults '{"clock_skew_s": 0}' >/dev/null
# ---- the warehouse: login still reported, then the warehouse line with its GRANT
sf_post /_emulator/config '{"warehouse_usage": false}' >/dev/null
check_fails "$PIPE" "no warehouse is usable: set target.warehouse to one the role SLUICE_ROLE may use (GRANT USAGE ON WAREHOUSE"
assert_contains "$SL_OUT" "signed in to Snowflake as SLUICE_SVC" "the login line passes while the warehouse fails"
sf_post /_emulator/config '{"warehouse_usage": true, "create_schema": false}' >/dev/null
check_fails "$PIPE" "GRANT USAGE, CREATE SCHEMA ON DATABASE ANALYTICS TO ROLE SLUICE_ROLE"
sf_post /_emulator/config '{"create_schema": true}' >/dev/null
# ---- the stage: a secret s3rver refuses (sluice's own write fails first)
AWS_SECRET_ACCESS_KEY=not-the-secret sluice check "$PIPE"
((SL_RC != 0)) || fail "check passed with a wrong stage secret"
assert_contains "$SL_OUT" "target stage" "the stage line fails"
assert_not_contains "$SL_OUT$SL_ERR" "not-the-secret" "the secret is in no output"
# ---- settings: a password, a missing stage, a non-S3 stage, an unreadable key
sed '/^target:/a\  password: nope' "$PIPE" >"$TMP/pw.yaml"
check_fails "$TMP/pw.yaml" "signs in with a key pair (target.private_key_file), not a password"
sed '/  stage: /d' "$PIPE" >"$TMP/nostage.yaml"
check_fails "$TMP/nostage.yaml" "target.stage is required for Snowflake"
sed 's|stage: s3://stage/sluice|stage: file:///tmp/x|' "$PIPE" >"$TMP/filestage.yaml"
check_fails "$TMP/filestage.yaml" "is neither an s3:// nor an azure:// location"
sed 's|stage: s3://stage/sluice|stage: azure://acct.dfs.core.windows.net/c/p|' "$PIPE" >"$TMP/dfsstage.yaml"
check_fails "$TMP/dfsstage.yaml" "is not azure://ACCOUNT.blob.core.windows.net/CONTAINER/PATH"
sed '/^target:/a\  stage_name: db.my/stage' "$PIPE" >"$TMP/badname.yaml"
check_fails "$TMP/badname.yaml" "target.stage_name: db.my/stage is not a stage name"
sed '/^target:/a\  stage_name: st\n  storage_integration: si' "$PIPE" >"$TMP/both.yaml"
check_fails "$TMP/both.yaml" "name target.stage_name or target.storage_integration, not both"
sed "s|$SF_KEY|$TMP/missing.p8|" "$PIPE" >"$TMP/nokey.yaml"
check_fails "$TMP/nokey.yaml" "target.private_key_file: cannot open $TMP/missing.p8"

# ---- faults while changes flow
sluice_ok run --once "$PIPE"
sf_rows() { sf_query 'SELECT count(*), sum("BALANCE") FROM ANALYTICS.PUBLIC.ACCT WHERE NOT "_SLUICE_DELETED"'; }
pg_rows() { src_sql "$SDB" 'COPY (SELECT count(*), sum(balance) FROM acct) TO STDOUT'; }
assert_eq "$(pg_rows)" "$(sf_rows)" "after the snapshot"
stat() { curl -sS "$SF_URL/_emulator/stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }

# 429 and 503 storms: the same request again after a backoff, until it passes
src_sql "$SDB" "UPDATE acct SET balance = balance + 1 WHERE id <= 50; INSERT INTO events (what) VALUES ('storm')"
sf_post /_emulator/faults '{"status429": 3, "status503": 2}' >/dev/null
sluice_ok run --once "$PIPE"
assert_eq "$(pg_rows)" "$(sf_rows)" "after the 429/503 storm"
assert_eq 0 "$(stat '["faults"]["pending"]["status429"] + d["faults"]["pending"]["status503"]')" "every injected fault was met"
# statements answering 202: polled at their statementStatusUrl
src_sql "$SDB" "UPDATE acct SET balance = balance * 2 WHERE id % 3 = 0; DELETE FROM acct WHERE id > 190"
sf_post /_emulator/faults '{"async": 6}' >/dev/null
sluice_ok run --once "$PIPE"
assert_eq "$(pg_rows)" "$(sf_rows)" "after statements that answered 202"
# dropped connections: executed, then the socket closed; sent again with retry=true, the first
# result comes back and the statement does not run twice (events has no key: a second run of
# its group would insert its rows twice)
src_sql "$SDB" "INSERT INTO events (what) SELECT 'drop' || i FROM generate_series(1, 30) i; UPDATE acct SET owner = 'x' WHERE id = 1"
dedup0=$(stat '["deduplicated"]')
sf_post /_emulator/faults '{"drop": 2}' >/dev/null
sluice_ok run --once "$PIPE"
((dedup0 < $(stat '["deduplicated"]'))) || fail "no request was sent again after a dropped connection"
assert_eq "$(src_sql "$SDB" 'SELECT count(*) FROM events')" "$(sf_query 'SELECT count(*) FROM ANALYTICS.PUBLIC.EVENTS')" \
	"events after dropped connections: every row once"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "all tables equal" "verify after the faults"

# ---- a column added with a default while streaming: the rows there lack it, so the table is
# copied again by itself (core/backfill.h), through MERGEs, and ends equal
sluice_bg "$TMP/bf.out" "$TMP/bf.err" run "$PIPE"
wait_lines "$TMP/bf.err" "streaming changes from slot" 1 60 "the streaming run starts"
src_sql "$SDB" "ALTER TABLE acct ADD COLUMN region text DEFAULT 'eu'; UPDATE acct SET owner = 'y' WHERE id = 2"
wait_lines "$TMP/bf.err" "backfill of public.acct: complete" 1 60 "the table is copied again by itself"
kill "$SL_PID"
wait "$SL_PID" || true
assert_eq "$(src_sql "$SDB" 'SELECT count(*) FROM acct')" \
	"$(sf_query 'SELECT count("REGION") FROM ANALYTICS.PUBLIC.ACCT WHERE NOT "_SLUICE_DELETED"')" "every row has the added column's value"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "all tables equal" "verify after the copy"

# ---- the position moved under a running applier: it stops and applies nothing
sluice_bg "$TMP/bg.out" "$TMP/bg.err" run "$PIPE"
wait_until 30 grep -q "streaming changes" "$TMP/bg.err" || fail "the run did not start streaming: $(tail -5 "$TMP/bg.err")"
sleep 1
sf_query "UPDATE ANALYTICS.PUBLIC._SLUICE_STATE SET \"VERSION\" = \"VERSION\" + 1 WHERE \"PIPELINE\" = 'it_sf_err'" >/dev/null
before=$(sf_query 'SELECT count(*) FROM ANALYTICS.PUBLIC.EVENTS')
src_sql "$SDB" "INSERT INTO events (what) VALUES ('after the move')"
wait_until 30 bash -c "! kill -0 $SL_PID 2>/dev/null" || fail "the run went on after its position moved"
wait "$SL_PID" && fail "the run exited 0 after its position moved"
assert_contains "$(cat "$TMP/bg.err")" "position in \"ANALYTICS\".\"PUBLIC\".\"_SLUICE_STATE\" moved after this agent read it" "the moved position is named"
assert_eq "$before" "$(sf_query 'SELECT count(*) FROM ANALYTICS.PUBLIC.EVENTS')" "nothing of that group was applied"
pass
