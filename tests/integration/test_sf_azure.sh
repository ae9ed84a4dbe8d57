#!/usr/bin/env bash
# PostgreSQL → Snowflake with the stage on Azure Blob Storage (Azurite, which checks the Shared
# Key and SAS signature of every request): sluice writes the Parquet files with a SAS token,
# the emulator's COPY fetches them from Azurite with the AZURE_SAS_TOKEN sluice sends
# (Snowflake's form: azure://ACCOUNT.blob.core.windows.net/CONTAINER/PATH/); snapshot and
# changes (keyed and keyless) compared with the source; then the same through a named stage
# (target.stage_name: COPY FROM @stage, no credentials in the statement). Failures, one line
# each: an account key but no SAS, a named stage that does not exist. No secret in any output.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ORACLES=$SLUICE_ROOT/tests/oracles
[[ -d $ORACLES/node_modules/azurite ]] || fail "test oracles not installed: run scripts/oracles.sh"

AZDIR=$TMP/azurite
mkdir -p "$AZDIR"
AZPORT=$(sf_free_port)
(cd "$ORACLES" && exec node azurite.mjs "$AZPORT" "$AZDIR" stage) >"$TMP/azurite.log" 2>&1 &
BG_PIDS+=("$!")
wait_until 30 grep -q ready "$TMP/azurite.log" || fail "azurite did not start: $(cat "$TMP/azurite.log")"
SF_EMU_ARGS="--azure-endpoint http://127.0.0.1:$AZPORT" sf_start
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL AZURE_STORAGE_KEY AZURE_STORAGE_SAS_TOKEN || true

# an account SAS (version 2020-10-02) signed here with Azurite's well-known key: read, write,
# delete, list, add, create on blobs and containers
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
exp=$(date -u -d '+2 hours' '+%Y-%m-%dT%H:%M:%SZ')
sas_sig=$(printf 'devstoreaccount1\nrwdlac\nb\nsco\n\n%s\n127.0.0.1\nhttp\n2020-10-02\n' "$exp" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(printf '%s' "$KEY" | base64 -d | xxd -p -c 256)" -binary | base64 | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
SAS="sv=2020-10-02&ss=b&srt=sco&sp=rwdlac&se=$exp&sip=127.0.0.1&spr=http&sig=$sas_sig"
AZ_EP="BlobEndpoint=http://127.0.0.1:$AZPORT/devstoreaccount1"
export AZURE_STORAGE_CONNECTION_STRING="$AZ_EP;SharedAccessSignature=$SAS"

SDB=it_sf_az
fresh_db test-src "$SDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2));
CREATE TABLE notes (body text, n int);
ALTER TABLE notes REPLICA IDENTITY FULL;
INSERT INTO items SELECT i, 'item' || i, i * 0.5 FROM generate_series(1, 300) i;
INSERT INTO notes SELECT 'note' || (i % 5), i % 5 FROM generate_series(1, 40) i;
SQL
pg_rows() { src_sql "$SDB" "COPY (SELECT 'i', id::text, name, price::text FROM items UNION ALL SELECT 'n', body, n::text, count(*)::text FROM notes GROUP BY body, n ORDER BY 1, 2, 3) TO STDOUT"; }
sf_rows() {
	sf_query "SELECT 'i', CAST(\"ID\" AS VARCHAR), \"NAME\", CAST(\"PRICE\" AS VARCHAR) FROM ANALYTICS.PUBLIC.ITEMS WHERE NOT \"_SLUICE_DELETED\"
		UNION ALL SELECT 'n', \"BODY\", CAST(\"N\" AS VARCHAR), CAST(count(*) AS VARCHAR) FROM ANALYTICS.PUBLIC.NOTES WHERE NOT \"_SLUICE_DELETED\" GROUP BY \"BODY\", \"N\" ORDER BY 1, 2, 3"
}
same() { [[ "$(pg_rows)" == "$(sf_rows)" ]] || { diff <(pg_rows) <(sf_rows) | head -10 >&2; fail "$1: the rows differ"; }; }

PIPE=$TMP/sf_az.yaml
mapfile -t TL < <(sf_target_lines | grep -v '^target.stage:\|^target.region:')
pipeline_file "$PIPE" it_sf_az "$SDB" snowflake:analytics "${TL[@]}" \
	"target.stage: azure://devstoreaccount1.blob.core.windows.net/stage/sf" "snapshot: { chunk_size: 4KiB }"

# ---- an account key and no SAS: sluice could write, Snowflake could not read
AZURE_STORAGE_CONNECTION_STRING="AccountName=devstoreaccount1;AccountKey=$KEY;$AZ_EP" sluice check "$PIPE"
((SL_RC != 0)) || fail "check passed with no SAS token for Snowflake"
assert_contains "$SL_OUT$SL_ERR" "Snowflake reads an Azure stage with a SAS token: set AZURE_STORAGE_SAS_TOKEN" "no SAS: one line naming the fix"

# ---- with the SAS: check, snapshot, changes
sluice_ok check "$PIPE"
assert_contains "$SL_OUT" "loaded by Snowflake's COPY" "check: Snowflake's COPY reads a probe file from Azure"
sluice_ok run --once "$PIPE"
same "after the snapshot"
src_sql "$SDB" <<'SQL'
UPDATE items SET price = price + 1 WHERE id % 10 = 0;
DELETE FROM items WHERE id BETWEEN 50 AND 60;
INSERT INTO items VALUES (1000, 'new', 9.99);
DELETE FROM notes WHERE ctid IN (SELECT ctid FROM notes WHERE body = 'note1' LIMIT 3);
UPDATE notes SET n = 42 WHERE body = 'note2';
SQL
sluice_ok run --once "$PIPE"
same "after the changes"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "all tables equal" "verify"
copies=$(curl -sS "$SF_URL/_emulator/log" | python3 -c 'import json,sys
print(sum(1 for s in json.load(sys.stdin)["statements"] for t in s["text"].split(";\n") if t.startswith("COPY INTO") and "azure://devstoreaccount1.blob.core.windows.net/stage/sf/" in t and "AZURE_SAS_TOKEN" in t))')
((copies >= 4)) || fail "expected COPYs from the Azure location with a SAS token, saw $copies"

# ---- a named stage: COPY FROM @SLUICE_STAGE, its URL and access the stage's own
PIPE2=$TMP/sf_az_named.yaml
pipeline_file "$PIPE2" it_sf_az2 "$SDB" snowflake:analytics "${TL[@]}" \
	"target.stage: azure://devstoreaccount1/stage/named" "target.stage_name: sluice_stage" "target.schema: mirror"
sluice check "$PIPE2"
((SL_RC != 0)) || fail "check passed with a named stage that does not exist"
assert_contains "$SL_OUT" "Stage 'ANALYTICS.MIRROR.SLUICE_STAGE' does not exist or not authorized" "a missing named stage: check's stage line"
sf_post /_emulator/config "{\"stages\": {\"ANALYTICS.MIRROR.SLUICE_STAGE\": {\"url\": \"azure://devstoreaccount1.blob.core.windows.net/stage/named/\", \"sas\": \"$SAS\"}}}" >/dev/null
sluice_ok check "$PIPE2"
sluice_ok run --once "$PIPE2"
src_sql "$SDB" "DELETE FROM notes WHERE body = 'note3'; UPDATE items SET name = 'renamed' WHERE id = 7"
sluice_ok run --once "$PIPE2"
got=$(sf_query "SELECT \"NAME\" FROM ANALYTICS.MIRROR.ITEMS WHERE \"ID\" = 7 AND NOT \"_SLUICE_DELETED\"")
assert_eq "renamed" "$got" "a change applied through the named stage"
assert_eq "$(src_sql "$SDB" 'SELECT count(*) FROM notes')" "$(sf_query 'SELECT count(*) FROM ANALYTICS.MIRROR.NOTES WHERE NOT "_SLUICE_DELETED"')" \
	"keyless deletes through the named stage"
named=$(curl -sS "$SF_URL/_emulator/log" | python3 -c 'import json,sys
ts=[t for s in json.load(sys.stdin)["statements"] for t in s["text"].split(";\n") if t.startswith("COPY INTO \"ANALYTICS\".\"MIRROR\"")]
print(len(ts), sum(1 for t in ts if " FROM @\"SLUICE_STAGE\" FILES = (" in t and "CREDENTIALS" not in t))')
[[ $named == "$((${named%% *})) ${named%% *}" && ${named%% *} -ge 2 ]] || fail "COPYs into MIRROR should all read @\"SLUICE_STAGE\" without credentials: $named"

# ---- no secret anywhere
for f in "$TMP"/*.out "$TMP"/*.err; do
	[[ -f $f ]] || continue
	! grep -q "sig=$sas_sig" "$f" || fail "the SAS signature is in $f"
done
assert_not_contains "$SL_OUT$SL_ERR" "$sas_sig" "no SAS signature in the output"
pass
