#!/usr/bin/env bash
# TLS to PostgreSQL, source and target (issue "secure connections everywhere"). The test makes
# its own CA and certificates, starts a PostgreSQL with them (test-pgtls) whose pg_hba.conf
# takes user sluice only over TLS and only with a client certificate (hostssl ... cert):
#   verify-full  snapshot and streamed changes, source and target both over verified TLS with
#                the client certificate; check reports the TLS version and what was verified.
#   URL          libpq's own ?sslmode=...&sslrootcert=... parameters still work.
#   no cert      refused: the server wants a client certificate, name the settings.
#   disable      refused: the server takes the user only over TLS, set tls.mode.
#   wrong CA     refused naming source.tls.ca_file.
#   host name    a certificate for another name: verify-full refuses naming the host,
#                verify-ca accepts.
#   aws-iam      a token made per connection and sent over verified TLS (refused here: no IAM);
#                no region, no credentials, TLS below verify-ca: one line each.
#   expired      the server's certificate expired: refused naming the CA file or expiry.
#   no TLS       the server without TLS: require refuses naming tls.mode.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

C=$TMP/certs
make_test_certs "$C"
# PostgreSQL refuses a key file that others can read: the server's own copy is its OS user's
install -m 600 "$C/server.key" "$C/pgserver.key"
((EUID != 0)) || chown postgres "$C/pgserver.key"

INST=test-pgtls
start_with() { # SERVER_CERT (or "none")
	local opts=(-c ssl=off)
	[[ $1 == none ]] || opts=(-c ssl=on -c "ssl_cert_file=$C/$1" -c "ssl_key_file=$C/pgserver.key" -c "ssl_ca_file=$C/ca.pem")
	local out
	out=$(no_inherited_fds bash "$PG_SH" start "$INST" --wal-level logical --fsync off "${opts[@]}" 2>&1) ||
		{
			printf '%s\n' "$out" >&2
			fail "could not start $INST"
		}
}
start_with server.pem
cleanup_pginstance "$INST"

# user sluice: over TLS only, with a certificate whose CN is its name (the lines go first; the
# file outlives the test's certificates, so they are written once)
HBA=$(inst_sql "$INST" postgres "SHOW hba_file")
if ! grep -q "^hostssl all sluice" "$HBA"; then
	lines=$'hostnossl all sluice 127.0.0.1/32 reject\nhostssl all sluice 127.0.0.1/32 cert\nhostssl replication sluice 127.0.0.1/32 cert\n'
	{
		printf '%s' "$lines"
		cat "$HBA"
	} >"$TMP/hba"
	cat "$TMP/hba" >"$HBA"
fi
inst_sql "$INST" postgres "SELECT pg_reload_conf()" >/dev/null

SDB=it_pgtls_src
TDB=it_pgtls_dst
fresh_db "$INST" "$SDB"
fresh_db "$INST" "$TDB"
inst_sql "$INST" "$SDB" "CREATE TABLE t (id int PRIMARY KEY, v text);
  INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 500) g;
  ALTER TABLE t OWNER TO sluice"

CERT="cert_file: $C/client.pem, key_file: $C/client.key"
pipe() { # FILE NAME SOURCE-TLS [TARGET-TLS]: source and target on $INST
	pipeline_file "$1" "$2" "$INST:$SDB" "$INST:$TDB" ${3:+"source.tls: { $3 }"} ${4:+"target.tls: { $4 }"}
}
rows() { inst_sql "$INST" "$1" "SELECT count(*) || ':' || md5(string_agg(id || '=' || v, ',' ORDER BY id)) FROM $2"; }

# verify-full, both sides, with the client certificate: copied and streamed
FULL="mode: verify-full, ca_file: $C/ca.pem, $CERT"
pipe "$TMP/full.yaml" it_pgtls "$FULL" "$FULL"
sluice check "$TMP/full.yaml"
((SL_RC == 0)) || {
	sluice_dump
	fail "check over verified TLS failed"
}
assert_contains "$SL_OUT" "source TLS: TLSv1.3, certificate and host name verified" "check: the source's TLS"
assert_contains "$SL_OUT" "target TLS: TLSv1.3, certificate and host name verified" "check: the target's TLS"
sluice_ok run --once "$TMP/full.yaml"
inst_sql "$INST" "$SDB" "UPDATE t SET v = 'changed' WHERE id <= 10; DELETE FROM t WHERE id = 11;
  INSERT INTO t VALUES (501, 'new')"
sluice_ok run --once "$TMP/full.yaml"
assert_eq "$(rows "$SDB" t)" "$(rows "$TDB" public.t)" "copied and streamed over TLS"
assert_eq "489" "$(inst_sql "$INST" "$SDB" "SELECT count(*) FROM t WHERE v LIKE 'v%'")" "the source changed"

# libpq's URL parameters, with no tls: block
sed -i "s|/$SDB\$|/$SDB?sslmode=verify-full\&sslrootcert=$C/ca.pem\&sslcert=$C/client.pem\&sslkey=$C/client.key|" "$TMP/full.yaml"
sed -i '/^  tls: /d' "$TMP/full.yaml"
sed -i "s|/$TDB\$|/$TDB?sslmode=require\&sslcert=$C/client.pem\&sslkey=$C/client.key|" "$TMP/full.yaml"
grep -q "sslmode=verify-full" "$TMP/full.yaml" || fail "the URL was not rewritten"
inst_sql "$INST" "$SDB" "UPDATE t SET v = 'by url' WHERE id = 20"
sluice_ok run --once "$TMP/full.yaml"
assert_eq "by url" "$(inst_sql "$INST" "$TDB" "SELECT v FROM public.t WHERE id = 20")" "a change read and written with the URL's TLS settings"

# auth: aws-iam: a token made and sent over verified TLS; this server knows no IAM, so it
# refuses it, and the refusal says what RDS needs. Without credentials, or a region the host
# name does not give, the line says what to set.
inst_sql "$INST" postgres "DROP ROLE IF EXISTS sluice_iam; CREATE ROLE sluice_iam LOGIN PASSWORD 'not-a-token'" >/dev/null
IAM="mode: verify-full, ca_file: $C/ca.pem"
pipe "$TMP/iam.yaml" it_pgtls_i "$IAM" "$FULL"
sed -i -e "s|postgres://sluice@127.0.0.1:\([0-9]*\)/$SDB|postgres://sluice_iam@localhost:\1/$SDB|" \
	-e "0,/  password: .*/s|  password: .*|  auth: aws-iam|" "$TMP/iam.yaml"
grep -q "auth: aws-iam" "$TMP/iam.yaml" || fail "the pipeline file was not rewritten"
export AWS_SHARED_CREDENTIALS_FILE=$TMP/no-credentials
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE
check_fails "$TMP/iam.yaml" "localhost is not an RDS host name that says its region: set source.aws_region"
sed -i "s|  auth: aws-iam|  auth: aws-iam\n  aws_region: eu-west-1|" "$TMP/iam.yaml"
check_fails "$TMP/iam.yaml" "AWS credentials: none found"
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
check_fails "$TMP/iam.yaml" "the IAM token was refused for user \"sluice_iam\""
assert_contains "$SL_OUT" "GRANT rds_iam TO \"sluice_iam\"" "the refusal says what RDS needs"
assert_not_contains "$SL_OUT$SL_ERR" "wJalrXUtnFEMI" "no secret key in the output"
sed -i "s|  tls: { $IAM }|  tls: { mode: require }|" "$TMP/iam.yaml"
sluice run --once "$TMP/iam.yaml"
assert_sluice_error 2 "source.auth aws-iam sends a token" "set source.tls.mode verify-full"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE

# no client certificate; no TLS at all; a wrong CA
pipe "$TMP/nocert.yaml" it_pgtls_n "mode: verify-full, ca_file: $C/ca.pem" "$FULL"
check_fails "$TMP/nocert.yaml" "the server wants a client certificate for user \"sluice\": set source.tls.cert_file and source.tls.key_file"
pipe "$TMP/off.yaml" it_pgtls_o "$FULL" "mode: disable"
check_fails "$TMP/off.yaml" "the server takes user \"sluice\" only over TLS: set target.tls.mode"
pipe "$TMP/wrongca.yaml" it_pgtls_w "mode: verify-ca, ca_file: $C/other.pem, $CERT" "$FULL"
check_fails "$TMP/wrongca.yaml" "source: TLS with postgres://sluice@127.0.0.1:$(port_of "$INST")/$SDB failed"
assert_contains "$SL_OUT$SL_ERR" "not signed by a CA in source.tls.ca_file" "the wrong CA is named"
assert_not_contains "$SL_OUT$SL_ERR" "sluice-test-pw" "no password in the message"

# host name: a certificate for elsewhere.example
start_with wrongname.pem
check_fails "$TMP/nocert.yaml" "the server's certificate is not for the host in source.url"
pipe "$TMP/ca.yaml" it_pgtls "mode: verify-ca, ca_file: $C/ca.pem, $CERT" "mode: verify-ca, ca_file: $C/ca.pem, $CERT"
inst_sql "$INST" "$SDB" "UPDATE t SET v = 'verify-ca' WHERE id = 21"
sluice_ok run --once "$TMP/ca.yaml"
assert_eq "verify-ca" "$(inst_sql "$INST" "$TDB" "SELECT v FROM public.t WHERE id = 21")" "verify-ca takes a certificate for another name"
sluice check "$TMP/ca.yaml"
assert_contains "$SL_OUT" "source TLS: TLSv1.3, certificate verified (not the host name)" "check: verify-ca"

# an expired certificate
start_with expired.pem
check_fails "$TMP/nocert.yaml" "not signed by a CA in source.tls.ca_file, or has expired"

# no TLS on the server
start_with none
pipe "$TMP/req.yaml" it_pgtls "mode: require" "$FULL"
check_fails "$TMP/req.yaml" "the server has no TLS, and source.tls.mode is require"
pass
