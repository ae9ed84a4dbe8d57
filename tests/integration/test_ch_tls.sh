#!/usr/bin/env bash
# ClickHouse over https: a throwaway CA signs a certificate for 127.0.0.1, a ClickHouse instance
# of its own (test-clickhouse-tls) serves HTTPS with it. Without target.tls_ca_file the
# certificate is refused with one line that names the fix; with it, the snapshot and a change
# land and verify. An unreadable tls_ca_file is a configuration error.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ch_require
command -v openssl >/dev/null || fail "openssl is needed (apt-get install openssl)"

INST=test-clickhouse-tls
CERTS=$SLUICE_ROOT/.local/clickhouse/$INST-certs
rm -rf "$CERTS"
mkdir -p "$CERTS"
(
	cd "$CERTS"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=sluice test CA"
	openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1"
	printf 'subjectAltName=IP:127.0.0.1\n' >ext.cnf
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile ext.cnf
) >"$TMP/openssl.log" 2>&1 || fail "openssl failed: $(tail -3 "$TMP/openssl.log")"
chmod 755 "$CERTS"
chmod 644 "$CERTS"/*
cleanup_chinstance "$INST"
bash "$CH_SH" start "$INST" >"$TMP/start.log" 2>&1 || fail "could not start $INST: $(tail -3 "$TMP/start.log")"
HTTP=$(bash "$CH_SH" env "$INST" | sed -n 's/^export CH_HTTP_PORT=//p')
HTTPS=$((HTTP + 400))
bash "$CH_SH" start "$INST" -o https_port=$HTTPS -o openSSL.server.certificateFile="$CERTS/server.crt" \
	-o openSSL.server.privateKeyFile="$CERTS/server.key" -o openSSL.server.verificationMode=none \
	>"$TMP/start.log" 2>&1 || fail "could not start $INST with https: $(tail -3 "$TMP/start.log")"
bash "$CH_SH" sql "$INST" --query "DROP DATABASE IF EXISTS tlsdb" || fail "could not drop tlsdb on $INST"

SDB=it_chtls_src
fresh_db test-src "$SDB"
src_sql "$SDB" "SET ROLE sluice; CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 1000) i"
pipe() { # NAME [extra target line]
	{
		echo "name: $1"
		echo "source: { type: postgres, url: 'postgres://sluice@127.0.0.1:$SRC_PORT/$SDB', password: '\${SL_PG_PASSWORD}' }"
		echo "target:"
		echo "  type: clickhouse"
		echo "  url: https://sluice@127.0.0.1:$HTTPS"
		echo "  password: \${SL_CH_PASSWORD}"
		echo "  database: tlsdb"
		[[ -z ${2:-} ]] || echo "  $2"
		echo "state: { url: 'sqlite://$TMP/$1.state.db' }"
	} >"$TMP/$1.yaml"
	cleanup_slot test-src "sluice_$1"
}

pipe chtls_noca
sluice run --once "$TMP/chtls_noca.yaml"
assert_sluice_error nonzero "TLS with ClickHouse at 127.0.0.1:$HTTPS failed" "target.tls_ca_file"

pipe chtls_badca "tls_ca_file: $TMP/no-such-ca.pem"
sluice run --once "$TMP/chtls_badca.yaml"
assert_sluice_error 2 "target.tls_ca_file" "cannot be read"

pipe chtls "tls_ca_file: $CERTS/ca.crt"
sluice_ok check "$TMP/chtls.yaml"
sluice_ok run --once "$TMP/chtls.yaml"
src_sql "$SDB" "UPDATE t SET v = 'changed' WHERE id <= 10; DELETE FROM t WHERE id > 990"
sluice_ok run --once "$TMP/chtls.yaml"
sluice_ok verify "$TMP/chtls.yaml"
assert_contains "$SL_OUT" "ok   public.t -> tlsdb.t: 990 rows" "rows arrived over https"
assert_eq 10 "$(bash "$CH_SH" sql "$INST" --query "SELECT count() FROM tlsdb.t FINAL WHERE v = 'changed' AND _sluice_deleted = 0")" \
	"changes arrived over https"
bash "$CH_SH" stop "$INST" >/dev/null 2>&1 || true
pass
