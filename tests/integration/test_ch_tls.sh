#!/usr/bin/env bash
# ClickHouse over https: a throwaway CA (make_test_certs) signs the certificates, a ClickHouse
# instance of its own (test-clickhouse-tls) serves HTTPS with them. Without target.tls_ca_file
# the certificate is refused with one line that names the fix; with it, the snapshot and a
# change land and verify, and check reports the TLS version and what it verified. An unreadable
# tls_ca_file is a configuration error. Modes: require encrypts unchecked, disable with https://
# and a TLS mode with http:// are refused; a certificate for another host name is refused by
# verify-full and taken by verify-ca; an expired one is refused saying so; a server that wants a client certificate refuses a
# connection without one and takes target.tls.cert_file/key_file.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ch_require
command -v openssl >/dev/null || fail "openssl is needed (apt-get install openssl)"

INST=test-clickhouse-tls
C=$TMP/certs
make_test_certs "$C"
cleanup_chinstance "$INST"
bash "$CH_SH" start "$INST" >"$TMP/start.log" 2>&1 || fail "could not start $INST: $(tail -3 "$TMP/start.log")"
HTTP=$(bash "$CH_SH" env "$INST" | sed -n 's/^export CH_HTTP_PORT=//p')
HTTPS=$((HTTP + 400))
start_with() { # SERVER_CERT none|strict: https with that certificate; strict wants a client one
	local opts=(-o https_port=$HTTPS -o openSSL.server.certificateFile="$C/$1"
		-o openSSL.server.privateKeyFile="$C/server.key" -o openSSL.server.verificationMode="$2")
	[[ $2 == none ]] || opts+=(-o openSSL.server.caConfig="$C/ca.pem")
	bash "$CH_SH" start "$INST" "${opts[@]}" >"$TMP/start.log" 2>&1 ||
		fail "could not start $INST with https: $(tail -3 "$TMP/start.log")"
}
start_with server.pem none
bash "$CH_SH" sql "$INST" --query "DROP DATABASE IF EXISTS tlsdb" || fail "could not drop tlsdb on $INST"

SDB=it_chtls_src
fresh_db test-src "$SDB"
src_sql "$SDB" "SET ROLE sluice; CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 1000) i"
pipe() { # NAME [extra target line] [host]
	{
		echo "name: $1"
		echo "source: { type: postgres, url: 'postgres://sluice@127.0.0.1:$SRC_PORT/$SDB', password: '\${SL_PG_PASSWORD}' }"
		echo "target:"
		echo "  type: clickhouse"
		echo "  url: https://sluice@${3:-127.0.0.1}:$HTTPS"
		echo "  password: \${SL_CH_PASSWORD}"
		echo "  database: tlsdb"
		[[ -z ${2:-} ]] || echo "  $2"
		echo "state: { url: 'sqlite://$TMP/$1.state.db' }"
	} >"$TMP/$1.yaml"
	cleanup_slot test-src "sluice_$1"
}

pipe chtls_noca
sluice run --once "$TMP/chtls_noca.yaml"
assert_sluice_error nonzero "TLS with ClickHouse at 127.0.0.1:$HTTPS failed" "not signed by a CA in target.tls.ca_file"

pipe chtls_badca "tls_ca_file: $TMP/no-such-ca.pem"
sluice run --once "$TMP/chtls_badca.yaml"
assert_sluice_error 2 "target.tls_ca_file" "cannot be read"

pipe chtls "tls_ca_file: $C/ca.pem"
sluice_ok check "$TMP/chtls.yaml"
assert_contains "$SL_OUT" "target TLS: TLSv1.3, certificate and host name verified" "check: TLS version, verified"
sluice_ok run --once "$TMP/chtls.yaml"
src_sql "$SDB" "UPDATE t SET v = 'changed' WHERE id <= 10; DELETE FROM t WHERE id > 990"
sluice_ok run --once "$TMP/chtls.yaml"
sluice_ok verify "$TMP/chtls.yaml"
assert_contains "$SL_OUT" "ok   public.t -> tlsdb.t: 990 rows" "rows arrived over https"
assert_eq 10 "$(bash "$CH_SH" sql "$INST" --query "SELECT count() FROM tlsdb.t FINAL WHERE v = 'changed' AND _sluice_deleted = 0")" \
	"changes arrived over https"

# modes: require encrypts unchecked; a mode that wants TLS with http://, disable with https://
pipe chtls_req "tls: { mode: require }"
sluice_ok check "$TMP/chtls_req.yaml"
assert_contains "$SL_OUT" "target TLS: TLSv1.3, certificate not verified" "require: encrypted, unchecked"
pipe chtls_off "tls: { mode: disable }"
check_fails "$TMP/chtls_off.yaml" "target.tls.mode is disable but target.url is https://"
sed "s|https://|http://|" "$TMP/chtls_req.yaml" >"$TMP/chtls_http.yaml"
sluice run --once "$TMP/chtls_http.yaml"
assert_sluice_error 2 "target.tls asks for TLS but target.url is http://"

# host name: a certificate for elsewhere.example
start_with wrongname.pem none
check_fails "$TMP/chtls.yaml" "TLS with ClickHouse at 127.0.0.1:$HTTPS failed"
assert_contains "$SL_OUT" "the server's certificate is not for the host in target.url" "the host name is named"
pipe chtls_ca "tls: { mode: verify-ca, ca_file: $C/ca.pem }"
sluice_ok check "$TMP/chtls_ca.yaml"
assert_contains "$SL_OUT" "certificate verified (not the host name)" "verify-ca takes a certificate for another name"

# an expired certificate
start_with expired.pem none
check_fails "$TMP/chtls.yaml" "the server's certificate has expired: renew it on the server"

# a server that wants a client certificate
start_with server.pem strict
check_fails "$TMP/chtls.yaml" "TLS with ClickHouse at 127.0.0.1:$HTTPS failed"
assert_contains "$SL_OUT" "set target.tls.cert_file and target.tls.key_file" "the missing client certificate is named"
sed -i "/^  tls_ca_file/d" "$TMP/chtls.yaml"
sed -i "s|^  database: tlsdb|  database: tlsdb\n  tls: { mode: verify-full, ca_file: $C/ca.pem, cert_file: $C/client.pem, key_file: $C/client.key }|" "$TMP/chtls.yaml"
src_sql "$SDB" "UPDATE t SET v = 'by cert' WHERE id = 20"
sluice_ok run --once "$TMP/chtls.yaml"
assert_eq 1 "$(bash "$CH_SH" sql "$INST" --query "SELECT count() FROM tlsdb.t FINAL WHERE v = 'by cert' AND _sluice_deleted = 0")" \
	"a change written with a client certificate"
pipe chtls_badcert "tls: { mode: verify-full, ca_file: $C/ca.pem, cert_file: $C/ca.pem, key_file: $C/client.key }"
check_fails "$TMP/chtls_badcert.yaml" "target.tls.cert_file"
pass
