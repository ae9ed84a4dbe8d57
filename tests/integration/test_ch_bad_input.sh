#!/usr/bin/env bash
# ClickHouse target, bad input: each case fails with one clear line naming the problem and the
# fix, a non-zero exit, no secret in the output, and nothing written: refused connection,
# wrong password, a URL that is not HTTP, a path in the URL, target.schema (PostgreSQL-only),
# an unknown target.compression, a read-only user (check names the missing privilege), and a
# table that already holds rows sluice did not write. target.async_insert on a server without
# asynchronous inserts is a warning, and the pipeline runs.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ch_require

SDB=it_chbad_src
CDB=it_chbad
fresh_db test-src "$SDB"
ch_fresh_db "$CDB"
src_sql "$SDB" "SET ROLE sluice; CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b')"
SECRET=$SL_CH_PASSWORD

pipe() { # PATH NAME URL [PASSWORD ("" = the right one)] [extra target lines...]
	local path=$1 name=$2 url=$3 pw=${4:-\${SL_CH_PASSWORD\}}
	shift 3
	(($# == 0)) || shift
	{
		echo "name: $name"
		echo "source: { type: postgres, url: 'postgres://sluice@127.0.0.1:$SRC_PORT/$SDB', password: '\${SL_PG_PASSWORD}' }"
		echo "target:"
		echo "  type: clickhouse"
		echo "  url: '$url'"
		echo "  password: '$pw'"
		echo "  database: $CDB"
		(($# == 0)) || printf '  %s\n' "$@"
		echo "state: { url: 'sqlite://$TMP/$name.state.db' }"
	} >"$path"
	cleanup_slot test-src "sluice_$name"
}
nothing_written() { # WHAT
	assert_eq 0 "$(ch_sql "SELECT count() FROM system.tables WHERE database = '$CDB'")" "$1: no table created"
	assert_not_contains "$SL_OUT$SL_ERR" "$SECRET" "$1: the password is never printed"
}
URL=http://sluice@127.0.0.1:$CH_HTTP_PORT
P=$TMP/p.yaml

pipe "$P" chbad_port "http://sluice@127.0.0.1:1"
sluice run --once "$P"
assert_sluice_error nonzero "cannot reach ClickHouse at 127.0.0.1:1" "target.url"
nothing_written "refused connection"

pipe "$P" chbad_pw "$URL" "wrong-password-123"
sluice run --once "$P"
assert_sluice_error nonzero "refused the login" "target.password"
assert_not_contains "$SL_ERR" "wrong-password-123" "wrong password: not printed"
nothing_written "wrong password"

pipe "$P" chbad_pw2 "http://sluice:in-url-secret-77@127.0.0.1:$CH_HTTP_PORT"
sed -i '/^  password:/d' "$P"
sluice run --once "$P"
assert_sluice_error nonzero "refused the login"
assert_not_contains "$SL_OUT$SL_ERR" "in-url-secret-77" "a password in the URL is never printed"

pipe "$P" chbad_scheme "clickhouse://sluice@127.0.0.1:$CH_HTTP_PORT"
sluice run --once "$P"
assert_sluice_error nonzero "not a ClickHouse HTTP URL" "http://"

pipe "$P" chbad_path "$URL/$CDB"
sluice run --once "$P"
assert_sluice_error nonzero "target.database"

pipe "$P" chbad_schema "$URL" "" "schema: s"
sluice run --once "$P"
assert_sluice_error nonzero "target.schema does not apply to ClickHouse"

pipe "$P" chbad_comp "$URL" "" "compression: zstd"
sluice run --once "$P"
assert_sluice_error 2 "target.compression 'zstd'" "auto, gzip, none"
nothing_written "bad option values"

pipe "$P" chbad_ro "http://sluice_ro@127.0.0.1:$CH_HTTP_PORT"
sluice check "$P"
((SL_RC != 0)) || { sluice_dump; fail "check passed for a read-only user"; }
assert_contains "$SL_OUT" "target privileges" "check names the privilege check"
assert_contains "$SL_OUT" "readonly" "check says why"
sluice run --once "$P"
assert_sluice_error nonzero "lacks a privilege" "grant"
nothing_written "read-only user"

# a table with rows sluice did not write is never overwritten
ch_sql "CREATE TABLE $CDB.t (id Int32, v String) ENGINE = MergeTree ORDER BY id"
ch_sql "INSERT INTO $CDB.t VALUES (9, 'theirs')"
pipe "$P" chbad_exists "$URL"
sluice run --once "$P"
assert_sluice_error nonzero "$CDB.t already has 1 rows" "sluice reset"
assert_eq "9	theirs" "$(ch_sql "SELECT * FROM $CDB.t")" "their row is untouched"
ch_sql "DROP TABLE $CDB.t"

# async inserts asked for on 18.16: a warning, then the normal path
pipe "$P" chbad_async "$URL" "" "async_insert: true"
sluice_ok run --once "$P"
assert_contains "$SL_ERR" "target.async_insert is ignored" "async_insert on 18.16: warned"
assert_eq 2 "$(ch_sql "SELECT count() FROM $CDB.t FINAL WHERE _sluice_deleted = 0")" "and the rows landed"

# durability: what the server can promise is said by check, as the server itself reports it
fsync_settings=$(ch_sql "SELECT count() FROM system.merge_tree_settings WHERE name IN ('fsync_after_insert', 'fsync_part_directory')")
pipe "$P" chbad_fsync "$URL"
sluice_ok check "$P"
assert_contains "$SL_OUT" "target durability" "check reports insert durability"
if ((fsync_settings == 2)); then
	assert_contains "$SL_OUT" "created with fsync_after_insert" "a server with fsync settings: tables use them"
else
	assert_contains "$SL_OUT" "cannot fsync inserted parts" "a server without fsync settings: check says what can be lost"
	assert_not_contains "$(ch_sql "SHOW CREATE TABLE $CDB.t")" "fsync" "and no table asks for them"
fi
pipe "$P" chbad_fsync_bad "$URL" "" "fsync: sometimes"
sluice run --once "$P"
assert_sluice_error 2 "target.fsync 'sometimes'" "true, false"
pass
