#!/usr/bin/env bash
# MariaDB source, bad input: each case must fail with one clear line naming the problem and the
# fix, a non-zero exit, no secret in the output, and nothing written to the target:
# wrong password, refused connection, malformed URL, unknown database, binlog off,
# binlog_format / binlog_row_image / binlog_row_metadata wrong, missing REPLICATION privileges,
# and a saved position whose binary logs were purged (refused instead of skipping changes).
# check also lists the foreign-key actions the binary log does not show.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require

SDB=test_mybad
TDB=it_mybad_dst
my_fresh_db "$SDB"
fresh_db test-dst "$TDB"
my_sql "$SDB" -e "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 1), (2, 2)"

SECRET=$SL_MY_PASSWORD
pipe() { # PATH NAME URL [PASSWORD]
	{
		echo "name: $2"
		echo "source: { type: mysql, url: '$3', password: '${4:-\${SL_MY_PASSWORD\}}' }"
		echo "target: { type: postgres, url: 'postgres://sluice@127.0.0.1:$(port_of test-dst)/$TDB', password: '\${SL_PG_PASSWORD}' }"
		echo "state: { url: 'sqlite://$TMP/$2.state.db' }"
	} >"$1"
}
no_target_tables() {
	assert_eq 0 "$(dst_sql "$TDB" "SELECT count(*) FROM information_schema.tables WHERE table_schema = '$SDB'")" \
		"$1: nothing created on the target"
}
no_secret() {
	assert_not_contains "$SL_OUT$SL_ERR" "$SECRET" "$1: the password is never printed"
}

P=$TMP/p.yaml
pipe "$P" bad_pw "$(my_url)$SDB" "wrong-password-123"
sluice run --once "$P"
assert_sluice_error nonzero "login refused for user 'sluice'"
assert_not_contains "$SL_ERR" "wrong-password-123" "wrong password: not printed"

pipe "$P" bad_port "mysql://sluice@127.0.0.1:1/$SDB"
sluice run --once "$P"
assert_sluice_error nonzero "cannot connect to 127.0.0.1:1"

pipe "$P" bad_url "mysql:/sluice@127.0.0.1/$SDB"
sluice run --once "$P"
assert_sluice_error nonzero "not a MySQL URL"

pipe "$P" bad_db "$(my_url)test_no_such_db"
sluice run --once "$P"
assert_sluice_error nonzero "database 'test_no_such_db'"
no_secret "unknown database"

# settings: each wrong one is named, with the statement that fixes it
setting_case() { # VARIABLE BAD GOOD
	my_sql -e "SET GLOBAL $1 = '$2'"
	pipe "$P" "bad_$1" "$(my_url)$SDB"
	sluice run --once "$P"
	local rc=$SL_RC err=$SL_ERR
	sluice check "$P"
	local cout=$SL_OUT$SL_ERR
	my_sql -e "SET GLOBAL $1 = '$3'"
	SL_RC=$rc SL_ERR=$err
	assert_sluice_error nonzero "SET GLOBAL $1 = '$3'"
	assert_contains "$cout" "$1 is $2" "$1=$2: check names the setting"
	no_target_tables "$1=$2"
	no_secret "$1=$2"
}
setting_case binlog_format STATEMENT ROW
setting_case binlog_row_image MINIMAL FULL
setting_case binlog_row_metadata MINIMAL FULL

# missing privileges: SELECT only
pipe "$P" bad_priv "$(my_url sluice_norepl)$SDB"
sluice run --once "$P"
assert_sluice_error nonzero "lacks REPLICATION SLAVE"
assert_contains "$SL_ERR" "GRANT REPLICATION SLAVE" "missing privilege: the GRANT is shown"
no_target_tables "missing privilege"
sluice check "$P"
assert_contains "$SL_OUT$SL_ERR" "lacks REPLICATION CLIENT" "check names REPLICATION CLIENT too"

# foreign-key actions InnoDB performs without binlog row events are listed by check, one line
# each, as done by sluice on the target (test_my_fkeys does them); a plain foreign key
# (RESTRICT) is not
my_sql "$SDB" -e "CREATE TABLE fkp (id int PRIMARY KEY) ENGINE=InnoDB;
	CREATE TABLE fkc (id int PRIMARY KEY, p int, FOREIGN KEY (p) REFERENCES fkp (id) ON DELETE CASCADE ON UPDATE SET NULL) ENGINE=InnoDB;
	CREATE TABLE fkr (id int PRIMARY KEY, p int, FOREIGN KEY (p) REFERENCES fkp (id)) ENGINE=InnoDB"
pipe "$P" fkcheck "$(my_url)$SDB"
sluice_ok check "$P"
assert_contains "$SL_OUT" "foreign-key actions: $SDB.fkc -> $SDB.fkp" "check lists the cascading foreign key"
assert_contains "$SL_OUT" "ON DELETE CASCADE, ON UPDATE SET NULL: the source's log does not show the rows they change; sluice does them on the target" "check names both actions"
assert_not_contains "$SL_OUT" "$SDB.fkr ->" "a RESTRICT foreign key is not listed"
my_sql "$SDB" -e "DROP TABLE fkc, fkr, fkp"

# purged position: run, stop, let the binlogs the pipeline needs be purged, run again
pipe "$P" purged "$(my_url)$SDB"
sluice_ok run --once "$P"
my_sql "$SDB" -e "INSERT INTO t VALUES (3, 3)"
my_sql -e "FLUSH BINARY LOGS"
my_sql "$SDB" -e "INSERT INTO t VALUES (4, 4)"
my_sql -e "FLUSH BINARY LOGS"
# MariaDB keeps a log until its binlog checkpoint passes it (crash recovery): retry a little
last=$(my_sql -e "SHOW BINARY LOGS" | tail -1 | cut -f1)
for _ in $(seq 1 30); do
	my_sql -e "PURGE BINARY LOGS TO '$last'" >/dev/null 2>&1 || true
	[[ $(my_sql -e "SHOW BINARY LOGS" | head -1 | cut -f1) == "$last" ]] && break
	sleep 0.5
done
[[ $(my_sql -e "SHOW BINARY LOGS" | head -1 | cut -f1) == "$last" ]] || fail "could not purge the binary logs before $last"
sluice run --once "$P"
assert_sluice_error nonzero "no longer hold position"
assert_contains "$SL_ERR" "sluice reset" "purged position: the way out is named"
assert_eq 2 "$(dst_sql "$TDB" "SELECT count(*) FROM $SDB.t")" "purged position: the target was left as it was"

# binlog off: a server of its own
bash "$MY_SH" start test-mysql-nobin --binlog off --fsync off >/dev/null 2>&1 || fail "could not start test-mysql-nobin"
trap_nobin() { bash "$MY_SH" stop test-mysql-nobin >/dev/null 2>&1 || true; }
NOBIN_PORT=$(eval "$(bash "$MY_SH" env test-mysql-nobin)" && echo "$MYSQL_PORT")
bash "$MY_SH" sql test-mysql-nobin -e "CREATE DATABASE IF NOT EXISTS test_nobin; CREATE TABLE IF NOT EXISTS test_nobin.t (id int primary key)"
pipe "$P" nobin "mysql://sluice@127.0.0.1:$NOBIN_PORT/test_nobin"
sluice run --once "$P"
trap_nobin
assert_sluice_error nonzero "binary log is off"
assert_contains "$SL_ERR" "log_bin" "binlog off: the setting to add is named"
pass
