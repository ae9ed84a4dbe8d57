#!/usr/bin/env bash
# The files target on S3 (the s3:// store) against @20minutes/s3rver, which checks the Signature
# Version 4 of every request: snapshot (one table big enough for a multipart upload), changes,
# `sluice verify` reading the objects back through ranged GETs; the objects' keys as the
# layout says; a wrong secret, a missing bucket and an unreachable endpoint, each one line
# naming the fix; no secret in any output.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ORACLES=$SLUICE_ROOT/tests/oracles
[[ -d $ORACLES/node_modules/@20minutes/s3rver ]] || fail "test oracles not installed: run scripts/oracles.sh"

# s3rver on a free loopback port
S3DIR=$TMP/s3
mkdir -p "$S3DIR"
S3PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$ORACLES" && exec node s3rver.mjs "$S3PORT" "$S3DIR" lake) >"$TMP/s3rver.log" 2>&1 &
BG_PIDS+=("$!")
wait_until 20 grep -q ready "$TMP/s3rver.log" || fail "s3rver did not start: $(cat "$TMP/s3rver.log")"
export AWS_ENDPOINT_URL=http://127.0.0.1:$S3PORT AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL_S3 || true

SDB=it_files_s3
fresh_db test-src "$SDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE big (id int PRIMARY KEY, noise text, n numeric(20,4));
INSERT INTO big SELECT i, md5(i::text) || md5((i * 7)::text) || md5((i * 13)::text), i / 3.0
  FROM generate_series(1, 200000) i;
CREATE TABLE small (id int PRIMARY KEY, v text);
INSERT INTO small SELECT i, 'v' || i FROM generate_series(1, 100) i;
SQL

PIPE=$TMP/s3.yaml
cat >"$PIPE" <<YAML
name: it_files_s3
source:
  type: postgres
  url: postgres://sluice@127.0.0.1:$(port_of test-src)/$SDB
  password: \${SL_PG_PASSWORD}
target:
  type: files
  url: s3://lake/warehouse/raw
snapshot: { parallelism: 2 }
state: { url: sqlite://$TMP/it_files_s3.state.db }
YAML
cleanup_slot test-src sluice_it_files_s3

sluice_ok check "$PIPE"
assert_contains "$SL_OUT" "s3://lake/warehouse/raw can be written" "check writes, reads and deletes a probe object"
sluice_ok run --once "$PIPE"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "all tables equal" "verify reads the objects back"
keys=$(cd "$S3DIR/lake" && find . -type f -name '*._S3rver_object' | sed 's|^\./||; s|._S3rver_object$||' | sort)
assert_contains "$keys" "warehouse/raw/public/big/snapshot/part-" "objects under the url's prefix, as the layout says"
bigsize=$(find "$S3DIR/lake/warehouse/raw/public/big" -name '*._S3rver_object' -size +8M | wc -l)
((bigsize >= 1)) || fail "no object of big is over 8 MiB: the multipart path was not taken"

src_sql "$SDB" "UPDATE big SET n = n + 1 WHERE id % 1000 = 0; DELETE FROM small WHERE id > 90; INSERT INTO small VALUES (500, 'new')"
sluice_ok run --once "$PIPE"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "all tables equal" "changes applied and read back"
keys=$(cd "$S3DIR/lake" && find . -type f -name '*._S3rver_object' | sed 's|^\./||; s|._S3rver_object$||' | sort)
assert_contains "$keys" "warehouse/raw/public/small/changes/" "the change object"
assert_contains "$keys" "warehouse/raw/_sluice/it_files_s3/commits/" "the commit object"

# wrong secret: s3rver checks the signature
AWS_SECRET_ACCESS_KEY=not-the-secret sluice check "$PIPE"
((SL_RC != 0)) || fail "check passed with a wrong secret"
assert_contains "$SL_OUT" "credentials were refused (SignatureDoesNotMatch)" "a wrong secret is named"
assert_not_contains "$SL_OUT$SL_ERR" "not-the-secret" "the secret is in no output"
# a bucket that does not exist
sed 's|s3://lake/|s3://nolake/|' "$PIPE" >"$TMP/nobucket.yaml"
check_fails "$TMP/nobucket.yaml" "bucket 'nolake' does not exist"
# an endpoint nothing listens on
AWS_ENDPOINT_URL=http://127.0.0.1:1 sluice check "$PIPE"
((SL_RC != 0)) || fail "check passed with an unreachable endpoint"
assert_contains "$SL_OUT" "is http://127.0.0.1:1 reachable?" "an unreachable endpoint is named"
# no credentials at all
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME=$TMP "$SLUICE_BIN" check "$PIPE" >"$TMP/nocred.out" 2>&1 && fail "check passed without credentials"
assert_contains "$(cat "$TMP/nocred.out")" "AWS_ACCESS_KEY_ID" "missing credentials say what to set"

# the buffer on S3: PostgreSQL -> PostgreSQL through s3://lake/buffer. A transaction updating
# all 200,000 rows of big (over 8 MiB of changes) is one segment written as a multipart upload;
# the agent is killed twice while such segments are written or applied (an incomplete upload is
# never visible), started again, and the target equals the source; applied segments are
# deleted, the head object stays. The endpoint and region come from the buffer section of the
# pipeline file this time, not from the environment.
TDB=it_files_s3_dst
fresh_db test-dst "$TDB"
BPIPE=$TMP/s3buf.yaml
pipeline_file "$BPIPE" it_s3_buf "$SDB" "$TDB" \
	"buffer: { url: s3://lake/buffer/shop, segment_size: 1MiB, endpoint: 'http://127.0.0.1:$S3PORT', region: us-east-1 }" \
	"apply: { max_delay: 200ms }"
unset AWS_ENDPOINT_URL AWS_REGION
sluice_ok check "$BPIPE"
assert_contains "$SL_OUT" "ok   buffer" "check writes to the buffer at the endpoint the file names"
sed "s|127.0.0.1:$S3PORT|127.0.0.1:1|" "$BPIPE" >"$TMP/s3buf-bad.yaml"
check_fails "$TMP/s3buf-bad.yaml" "is http://127.0.0.1:1 reachable?"
sluice_ok run --once "$BPIPE"
for k in 1 2; do
	src_sql "$SDB" "UPDATE big SET noise = md5(noise) || '$k'"
	sluice_bg "$TMP/s3buf$k.out" "$TMP/s3buf$k.err" run "$BPIPE"
	sleep 3
	kill -KILL "$SL_PID"
	wait "$SL_PID" 2>/dev/null || true
	BG_PIDS=("${BG_PIDS[@]:0:1}")
done
src_sql "$SDB" "DELETE FROM small WHERE id < 10"
sluice_ok run --once "$BPIPE"
compare_table test-src "$SDB" test-dst "$TDB" public big
compare_table test-src "$SDB" test-dst "$TDB" public small
segs=$(find "$S3DIR/lake/buffer" -name '*.seg._S3rver_object' | wc -l)
assert_eq 0 "$segs" "applied segments are deleted from the bucket"
heads=$(find "$S3DIR/lake/buffer" -name 'head._S3rver_object' | wc -l)
assert_eq 1 "$heads" "the head object says where the source resumes"
pass
