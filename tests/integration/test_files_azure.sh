#!/usr/bin/env bash
# The files target on Azure Blob Storage (the azure:// store) against Azurite, which checks the
# Shared Key signature of every request: snapshot (one table big enough for blocks and a block
# list), changes, `sluice verify` reading the blobs back through ranged GETs; the blob names as
# the layout says; a SAS token; a wrong key, a missing container and an unreachable endpoint,
# each one line naming the fix; the key in no output.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ORACLES=$SLUICE_ROOT/tests/oracles
[[ -d $ORACLES/node_modules/azurite ]] || fail "test oracles not installed: run scripts/oracles.sh"

AZDIR=$TMP/azurite
mkdir -p "$AZDIR"
AZPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$ORACLES" && exec node azurite.mjs "$AZPORT" "$AZDIR" lake) >"$TMP/azurite.log" 2>&1 &
BG_PIDS+=("$!")
wait_until 30 grep -q ready "$TMP/azurite.log" || fail "azurite did not start: $(cat "$TMP/azurite.log")"
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
export AZURE_STORAGE_CONNECTION_STRING="AccountName=devstoreaccount1;AccountKey=$KEY;BlobEndpoint=http://127.0.0.1:$AZPORT/devstoreaccount1"
unset AZURE_STORAGE_KEY AZURE_STORAGE_SAS_TOKEN || true

SDB=it_files_az
fresh_db test-src "$SDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE big (id int PRIMARY KEY, noise text, n numeric(20,4));
INSERT INTO big SELECT i, md5(i::text) || md5((i * 7)::text) || md5((i * 13)::text), i / 3.0
  FROM generate_series(1, 200000) i;
CREATE TABLE small (id int PRIMARY KEY, v text);
INSERT INTO small SELECT i, 'v' || i FROM generate_series(1, 100) i;
SQL

PIPE=$TMP/az.yaml
cat >"$PIPE" <<YAML
name: it_files_az
source:
  type: postgres
  url: postgres://sluice@127.0.0.1:$(port_of test-src)/$SDB
  password: \${SL_PG_PASSWORD}
target:
  type: files
  url: azure://devstoreaccount1/lake/warehouse/raw
snapshot: { parallelism: 2 }
state: { url: sqlite://$TMP/it_files_az.state.db }
YAML
cleanup_slot test-src sluice_it_files_az

sluice_ok check "$PIPE"
assert_contains "$SL_OUT" "azure://devstoreaccount1/lake/warehouse/raw can be written" "check writes, reads and deletes a probe blob"
sluice_ok run --once "$PIPE"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "all tables equal" "verify reads the blobs back"
src_sql "$SDB" "UPDATE big SET n = n + 1 WHERE id % 1000 = 0; DELETE FROM small WHERE id > 90; INSERT INTO small VALUES (500, 'new')"
sluice_ok run --once "$PIPE"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "all tables equal" "changes applied and read back"

# the blob names, listed by an independent client: a request this test signs with openssl
list_blobs() {
	local date sts sig
	date=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
	sts=$(printf 'GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:%s\nx-ms-version:2020-10-02\n/devstoreaccount1/devstoreaccount1/lake\ncomp:list\nrestype:container' "$date")
	sig=$(printf '%s' "$sts" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(printf '%s' "$KEY" | base64 -d | xxd -p -c 256)" -binary | base64)
	curl -s -H "x-ms-date: $date" -H "x-ms-version: 2020-10-02" -H "Authorization: SharedKey devstoreaccount1:$sig" \
		"http://127.0.0.1:$AZPORT/devstoreaccount1/lake?restype=container&comp=list" | grep -o '<Name>[^<]*</Name>'
}
names=$(list_blobs)
assert_contains "$names" "<Name>warehouse/raw/public/big/snapshot/part-" "blobs under the url's prefix, as the layout says"
assert_contains "$names" "<Name>warehouse/raw/public/small/changes/" "the change blob"
assert_contains "$names" "<Name>warehouse/raw/_sluice/it_files_az/commits/" "the commit blob"

# a SAS token instead of the key: Azurite checks its signature too
exp=$(date -u -d '+1 hour' '+%Y-%m-%dT%H:%M:%SZ')
# the account SAS string to sign of version 2020-10-02 (it ends with a newline: piped, not
# captured, which would drop it)
sas_sig=$(printf 'devstoreaccount1\nrwdlac\nb\nsco\n\n%s\n127.0.0.1\nhttp\n2020-10-02\n' "$exp" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(printf '%s' "$KEY" | base64 -d | xxd -p -c 256)" -binary | base64 | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
SAS="sv=2020-10-02&ss=b&srt=sco&sp=rwdlac&se=$exp&sip=127.0.0.1&spr=http&sig=$sas_sig"
AZURE_STORAGE_CONNECTION_STRING="BlobEndpoint=http://127.0.0.1:$AZPORT/devstoreaccount1;SharedAccessSignature=$SAS" sluice check "$PIPE"
((SL_RC == 0)) || { sluice_dump; fail "check with a SAS token failed"; }

# a wrong key: Azurite checks the signature
AZURE_STORAGE_CONNECTION_STRING="AccountName=devstoreaccount1;AccountKey=$(printf 'wrong-key-of-32-bytes-xxxxxxxxxx' | base64);BlobEndpoint=http://127.0.0.1:$AZPORT/devstoreaccount1" sluice check "$PIPE"
((SL_RC != 0)) || fail "check passed with a wrong key"
assert_contains "$SL_OUT" "credentials were refused" "a wrong key is named"
assert_not_contains "$SL_OUT$SL_ERR" "$(printf 'wrong-key-of-32-bytes-xxxxxxxxxx' | base64)" "the key is in no output"
# a container that does not exist
sed 's|azure://devstoreaccount1/lake/|azure://devstoreaccount1/nolake/|' "$PIPE" >"$TMP/nocontainer.yaml"
check_fails "$TMP/nocontainer.yaml" "container 'nolake' does not exist"
# an endpoint nothing listens on
AZURE_STORAGE_CONNECTION_STRING="AccountName=devstoreaccount1;AccountKey=$KEY;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1" sluice check "$PIPE"
((SL_RC != 0)) || fail "check passed with an unreachable endpoint"
assert_contains "$SL_OUT" "is http://127.0.0.1:1 reachable?" "an unreachable endpoint is named"
# no credentials
env -u AZURE_STORAGE_CONNECTION_STRING "$SLUICE_BIN" check "$PIPE" >"$TMP/nocred.out" 2>&1 && fail "check passed without credentials"
assert_contains "$(cat "$TMP/nocred.out")" "AZURE_STORAGE_KEY" "missing credentials say what to set"
# the endpoint from the pipeline file instead of the connection string (the key alone in the
# environment), and a setting Azure has no use for refused by name
EPIPE=$TMP/az-endpoint.yaml
sed "s|^  url: azure://.*|&\n  endpoint: 'http://127.0.0.1:$AZPORT/devstoreaccount1'|" "$PIPE" >"$EPIPE"
env -u AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_KEY="$KEY" "$SLUICE_BIN" check "$EPIPE" >"$TMP/ep.out" 2>&1 ||
	{ cat "$TMP/ep.out" >&2; fail "check failed with target.endpoint and AZURE_STORAGE_KEY"; }
sed "s|^  url: azure://.*|&\n  region: westeurope|" "$PIPE" >"$TMP/az-region.yaml"
check_fails "$TMP/az-region.yaml" "region and path_style are settings of s3:// stores"
pass
