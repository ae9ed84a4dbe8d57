#!/usr/bin/env bash
# scripts/clickhouse.sh through the lib.sh helpers: test-clickhouse starts (ClickHouse 18.x),
# a database and a MergeTree table are made as admin, rows go in over HTTP as user `sluice`
# with its password (basic auth and the X-ClickHouse-User / X-ClickHouse-Key headers) and read
# back both ways; a wrong password and no credentials are refused; `env` agrees with lib.sh;
# stop + start keeps the data and the server comes back on the remembered port.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ch_require

DB=test_chserver
ch_fresh_db "$DB"

version=$(ch_sql 'SELECT version()')
log "ClickHouse $version on $(ch_url)"
assert_eq "18." "${version:0:3}" "SELECT version() is 18.x (Debian 12's clickhouse-server)"

ch_sql "CREATE TABLE $DB.t (id UInt64, v String, n Nullable(Int32)) ENGINE = MergeTree ORDER BY id"

# http CURL-ARGS...: a request to test-clickhouse; sets HTTP_STATUS and HTTP_BODY.
http() {
	rm -f -- "$TMP/.body"
	HTTP_STATUS=$(curl -sS --max-time 20 -o "$TMP/.body" -w '%{http_code}' "$@") || true
	HTTP_BODY=$(cat -- "$TMP/.body" 2>/dev/null) || HTTP_BODY=
}

q_insert="INSERT%20INTO%20$DB.t%20FORMAT%20TabSeparated"
rows=$'1\tone\t\\N\n2\ttab\\there\t-7\n3\t\t0\n'
http -u "sluice:$SL_CH_PASSWORD" --data-binary "$rows" "$(ch_url)/?query=$q_insert"
assert_eq 200 "$HTTP_STATUS" "INSERT over HTTP as sluice (basic auth): $HTTP_BODY"

http -H 'X-ClickHouse-User: sluice' -H "X-ClickHouse-Key: $SL_CH_PASSWORD" \
	--data-binary $'4\theaders\t42\n' "$(ch_url)/?query=$q_insert"
assert_eq 200 "$HTTP_STATUS" "INSERT over HTTP with X-ClickHouse-User/Key: $HTTP_BODY"

expected=$'1\tone\t\\N\n2\ttab\\there\t-7\n3\t\t0\n4\theaders\t42'
assert_eq "$expected" "$(ch_sql "SELECT id, v, n FROM $DB.t ORDER BY id")" "rows read back as admin"
http -u "sluice:$SL_CH_PASSWORD" --data-binary "SELECT id, v, n FROM $DB.t ORDER BY id FORMAT TabSeparated" "$(ch_url)/"
assert_eq 200 "$HTTP_STATUS" "SELECT over HTTP as sluice: $HTTP_BODY"
assert_eq "$expected" "$HTTP_BODY" "rows read back over HTTP as sluice"

# refused: a wrong password, no credentials (user default has a password), an unknown user
refused() { # WHAT: the last request must have been refused
	ASSERTS=$((ASSERTS + 1))
	[[ $HTTP_STATUS =~ ^[0-9]+$ && $HTTP_STATUS != 000 ]] || fail "$1: no HTTP answer"
	[[ $HTTP_STATUS != 200 ]] || fail "$1 was accepted (HTTP 200: $HTTP_BODY)"
}
http -u "sluice:wrong-$SL_CH_PASSWORD" --data-binary 'SELECT 1' "$(ch_url)/"
refused "a wrong password"
assert_contains "$HTTP_BODY" "Wrong password" "wrong password: the server's message"
http --data-binary 'SELECT 1' "$(ch_url)/"
refused "a request without credentials"
http -u "nobody:$SL_CH_PASSWORD" --data-binary 'SELECT 1' "$(ch_url)/"
refused "an unknown user"
http -u "sluice:wrong" --data-binary $'9\tx\t\\N\n' "$(ch_url)/?query=$q_insert"
refused "an INSERT with a wrong password"
assert_eq 4 "$(ch_sql "SELECT count() FROM $DB.t")" "refused INSERT left the table alone"

# env agrees with what ch_require found
envlines=$(bash "$CH_SH" env test-clickhouse)
assert_contains "$envlines" "export CH_HTTP_PORT=$CH_HTTP_PORT" "env: HTTP port"
assert_contains "$envlines" "export CH_TCP_PORT=$CH_TCP_PORT" "env: TCP port"
assert_contains "$envlines" "export CH_HOST=127.0.0.1" "env: host"
assert_contains "$envlines" "export CH_USER=sluice" "env: user"
assert_eq "$SL_CH_PASSWORD" "$(eval "$envlines" && printf '%s' "$CH_PASSWORD")" "env: password"

# stop + start keeps the data (and the ports, which nothing else took meanwhile)
bash "$CH_SH" stop test-clickhouse 2>/dev/null
rc=0
bash "$CH_SH" status test-clickhouse >/dev/null || rc=$?
assert_eq 3 "$rc" "status of a stopped instance exits 3"
curl -s --max-time 5 "$(ch_url)/ping" >/dev/null && fail "test-clickhouse still answers after stop"
bash "$CH_SH" start test-clickhouse 2>/dev/null || fail "restart of test-clickhouse failed"
bash "$CH_SH" status test-clickhouse >/dev/null || fail "status after restart"
assert_eq "export CH_HTTP_PORT=$CH_HTTP_PORT" "$(bash "$CH_SH" env test-clickhouse | head -n 1)" "same port after restart"
assert_eq "Ok." "$(curl -sS --max-time 5 "$(ch_url)/ping")" "/ping after restart"
assert_eq "$expected" "$(ch_sql "SELECT id, v, n FROM $DB.t ORDER BY id")" "rows kept across stop + start"

pass
