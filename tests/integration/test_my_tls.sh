#!/usr/bin/env bash
# TLS to a MariaDB source (issue "secure connections everywhere"). The test makes its own CA
# and certificates (openssl), starts a MariaDB with them, and makes the sluice account
# REQUIRE SSL, as managed MySQL services do:
#   verify-full  snapshot and streamed changes over TLS with the CA checked and the host name.
#   wrong CA     refused in one line naming source.tls.ca_file.
#   host name    a certificate for another name: verify-full refuses naming the host,
#                verify-ca accepts.
#   aws-iam      a token sent over verified TLS through the clear-text plugin; refused here.
#   expired      the server's certificate expired: refused, saying so.
#   no TLS       the server without TLS: require refuses (libmariadb itself would go on in
#                plain text); prefer goes on without.
#   disable      the account requires TLS: the login refusal says to set source.tls.mode.
#   client cert  an account REQUIRE X509: accepted with tls.cert_file / key_file.
#   config       an unreadable ca_file, a cert without its key: one line each.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

C=$TMP/certs
make_test_certs "$C"

MY_INSTANCE=test-mytls
MY_START_OPTS=(-o "ssl_cert=$C/server.pem" -o "ssl_key=$C/server.key" -o "ssl_ca=$C/ca.pem")
my_require
require_ssl() { my_sql -e "ALTER USER 'sluice'@'127.0.0.1' REQUIRE SSL"; }
restart_with() { # SERVER_CERT (or "none"): the instance again, its accounts made anew
	local opts=()
	[[ $1 == none ]] || opts=(-o "ssl_cert=$C/$1" -o "ssl_key=$C/server.key" -o "ssl_ca=$C/ca.pem")
	no_inherited_fds bash "$MY_SH" start "$MY_INSTANCE" --fsync off "${opts[@]}" >/dev/null 2>&1 ||
		fail "could not restart $MY_INSTANCE"
}

SDB=test_mytls
TDB=it_mytls_dst
my_fresh_db "$SDB"
fresh_db test-dst "$TDB"
my_sql "$SDB" -e "CREATE TABLE t (id int PRIMARY KEY, v varchar(20));
  INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_500"
require_ssl
pipe() { # FILE NAME TLS-LINE
	pipeline_file "$1" "$2" "mysql:$SDB" "$TDB" ${3:+"source.$3"}
}

# verify-full: copied and streamed over TLS
pipe "$TMP/full.yaml" it_mytls "tls: { mode: verify-full, ca_file: $C/ca.pem }"
sluice check "$TMP/full.yaml"
assert_contains "$SL_OUT" "source TLS: TLSv1.3, certificate and host name verified" "check: TLS version and verification"
sluice_ok run --once "$TMP/full.yaml"
my_sql "$SDB" -e "UPDATE t SET v = 'changed' WHERE id <= 10; DELETE FROM t WHERE id = 11"
sluice_ok run --once "$TMP/full.yaml"
# (the account REQUIRE SSL: a login at all was over TLS)
assert_my_pg_rows "verify-full" "$SDB" t "$TDB" "$SDB.t" "id,v"

# auth: aws-iam: a token made for the account and sent over verified TLS; MariaDB knows no IAM
# and refuses it, and the line says what RDS needs
pipe "$TMP/iam.yaml" it_mytls_i "tls: { mode: verify-full, ca_file: $C/ca.pem }"
sed -i -e "0,/  password: .*/s|  password: .*|  auth: aws-iam\n  aws_region: us-east-1|" "$TMP/iam.yaml"
grep -q "auth: aws-iam" "$TMP/iam.yaml" || fail "the pipeline file was not rewritten"
AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \
	check_fails "$TMP/iam.yaml" "the IAM token was refused for user 'sluice' on 127.0.0.1:$MY_PORT"
assert_contains "$SL_OUT" "IDENTIFIED WITH AWSAuthenticationPlugin" "the refusal says what RDS needs"
assert_not_contains "$SL_OUT$SL_ERR" "wJalrXUtnFEMI" "no secret key in the output"

# wrong CA
pipe "$TMP/wrongca.yaml" it_mytls_w "tls: { mode: verify-ca, ca_file: $C/other.pem }"
check_fails "$TMP/wrongca.yaml" "TLS with 127.0.0.1:$MY_PORT failed"
assert_contains "$SL_OUT$SL_ERR" "not signed by a CA in source.tls.ca_file" "the wrong CA is named"

# config: an unreadable CA file, a certificate without its key
pipe "$TMP/nofile.yaml" it_mytls_n "tls: { mode: verify-ca, ca_file: $C/missing.pem }"
check_fails "$TMP/nofile.yaml" "source.tls.ca_file: cannot read $C/missing.pem"
pipe "$TMP/nokey.yaml" it_mytls_k "tls: { mode: verify-ca, ca_file: $C/ca.pem, cert_file: $C/client.pem }"
check_fails "$TMP/nokey.yaml" "a client certificate needs both cert_file and key_file"

# disable, with an account that requires TLS
pipe "$TMP/off.yaml" it_mytls_o "tls: { mode: disable }"
check_fails "$TMP/off.yaml" "does the account REQUIRE SSL? set source.tls.mode"

# client certificate: REQUIRE X509
my_sql -e "ALTER USER 'sluice'@'127.0.0.1' REQUIRE X509"
pipe "$TMP/cert.yaml" it_mytls "tls: { mode: verify-full, ca_file: $C/ca.pem, cert_file: $C/client.pem, key_file: $C/client.key }"
my_sql "$SDB" -e "UPDATE t SET v = 'by cert' WHERE id = 20"
sluice_ok run --once "$TMP/cert.yaml"
assert_eq "by cert" "$(dst_sql "$TDB" "SELECT v FROM $SDB.t WHERE id = 20")" "a change read with a client certificate"
check_fails "$TMP/full.yaml" "login refused"

# host name: a certificate for elsewhere.example
restart_with wrongname.pem
require_ssl
check_fails "$TMP/full.yaml" "the server's certificate is not for the host in source.url"
pipe "$TMP/ca.yaml" it_mytls "tls: { mode: verify-ca, ca_file: $C/ca.pem }"
my_sql "$SDB" -e "UPDATE t SET v = 'verify-ca' WHERE id = 21"
sluice_ok run --once "$TMP/ca.yaml"
assert_eq "verify-ca" "$(dst_sql "$TDB" "SELECT v FROM $SDB.t WHERE id = 21")" "verify-ca takes a certificate for another name"

# an expired certificate
restart_with expired.pem
require_ssl
check_fails "$TMP/full.yaml" "the server's certificate has expired"

# no TLS on the server
restart_with none
my_sql -e "ALTER USER 'sluice'@'127.0.0.1' REQUIRE NONE"
pipe "$TMP/req.yaml" it_mytls "tls: { mode: require }"
check_fails "$TMP/req.yaml" "has no TLS, and source.tls.mode is require"
pipe "$TMP/pref.yaml" it_mytls "tls: { mode: prefer }"
sluice check "$TMP/pref.yaml"
assert_contains "$SL_OUT" "source TLS: no TLS (the server is on this machine)" "check: no TLS, locally"
my_sql "$SDB" -e "UPDATE t SET v = 'plain' WHERE id = 22"
sluice_ok run --once "$TMP/pref.yaml"
assert_eq "plain" "$(dst_sql "$TDB" "SELECT v FROM $SDB.t WHERE id = 22")" "prefer goes on without TLS"
pass
