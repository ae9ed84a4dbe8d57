#!/usr/bin/env bash
# MariaDB -> ClickHouse: change versions grow in commit order when the binlog coordinates go
# back (#11 item 6). ClickHouse keeps the row with the highest _sluice_version, so a version
# taken from the binlog coordinates (file number << 32 | offset) made every change after a
# RESET MASTER, a failover to another server, or past 4 GiB in one binlog file lose against
# the older changes it replaced. Here, on a MariaDB instance of the test's own:
#   - a keyed row is updated in binlog file 3 and streamed;
#   - RESET MASTER with the GTID state carried over (SET GLOBAL gtid_binlog_state, as a new
#     primary continues the GTIDs): the binlog starts over at file 1, the GTIDs continue;
#   - the same row is updated again, a keyless row inserted before the reset is deleted, and
#     a table is truncated; after `sluice run --once`, ClickHouse read FINAL shows the newest
#     value, the keyless row gone and the truncated table empty (the previous build kept the
#     older value and the deleted row), and the versions after the reset are higher;
#   - a second pipeline snapshotted after the reset (no old versions at all) and the first one
#     keep streaming, and `sluice verify` finds every table equal.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
MY_INSTANCE=test-myversion
my_require
ch_require

SDB=test_chmyver
CDB=it_chmyver
# the instance outlives a run: start from a binlog of this run's own
my_sql -e "RESET MASTER"
my_fresh_db "$SDB"
ch_fresh_db "$CDB"
my_sql "$SDB" -e "CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL);
	INSERT INTO t VALUES (1, 0), (2, 0);
	CREATE TABLE k (n int NOT NULL, note varchar(20) NOT NULL); -- keyless
	INSERT INTO k VALUES (1, 'kept');
	CREATE TABLE z (id int PRIMARY KEY, v int NOT NULL);
	INSERT INTO z VALUES (1, 0)"

PIPE=$TMP/chmyver.yaml
pipeline_file "$PIPE" it_chmyver "mysql:$SDB" "clickhouse:$CDB" "apply: { max_delay: 100ms }"
sluice_ok run --once "$PIPE"

# changes in binlog file 3: their coordinates are large
my_sql -e "FLUSH BINARY LOGS; FLUSH BINARY LOGS"
for i in 1 2 3 4 5; do
	my_sql "$SDB" -e "UPDATE t SET v = $i WHERE id = 1"
done
my_sql "$SDB" -e "INSERT INTO k VALUES (2, 'deleted later'); UPDATE z SET v = 5"
sluice_ok run --once "$PIPE"
fin() { ch_sql "SELECT $1 FROM $CDB.$2 FINAL WHERE _sluice_deleted = 0 ${3:-}"; }
assert_eq 5 "$(fin v t 'AND id = 1')" "before the reset: the row holds its last value"
assert_eq 2 "$(fin 'count()' k)" "before the reset: both keyless rows arrived"
before=$(ch_sql "SELECT max(_sluice_version) FROM $CDB.t")
log "binlog $(my_sql -e 'SHOW MASTER STATUS' | cut -f1-2), max _sluice_version $before"

# the binlog starts over, the GTIDs continue
state=$(my_sql -e "SELECT @@GLOBAL.gtid_binlog_state")
[[ -n $state ]] || fail "the server has no GTID state"
my_sql -e "RESET MASTER; SET GLOBAL gtid_binlog_state = $(my_lit "$state")"
first=$(my_sql -e "SHOW BINARY LOGS" | head -1 | cut -f1)
[[ $first == *.000001 ]] || fail "after RESET MASTER the binlog is $first, expected file 1"
assert_eq "$state" "$(my_sql -e "SELECT @@GLOBAL.gtid_binlog_state")" "the GTID state was carried over"

my_sql "$SDB" -e "UPDATE t SET v = 6 WHERE id = 1; DELETE FROM k WHERE n = 2; TRUNCATE TABLE z"
sluice_ok run --once "$PIPE"
after=$(ch_sql "SELECT max(_sluice_version) FROM $CDB.t")
log "binlog $(my_sql -e 'SHOW MASTER STATUS' | cut -f1-2), max _sluice_version $after"
assert_eq 6 "$(fin v t 'AND id = 1')" "after the reset: the newest value wins in ClickHouse"
assert_eq "1 kept" "$(fin "concat(toString(n), ' ', note)" k)" "after the reset: the keyless row deleted is gone"
assert_eq 0 "$(fin 'count()' z)" "after the reset: the truncated table is empty"
[[ $(ch_sql "SELECT $after > $before") == 1 ]] ||
	fail "the version after the reset ($after) is not above the one before ($before)"

# more changes, a second pipeline snapshotted now, and a check of every table
PIPE2=$TMP/chmyver2.yaml
CDB2=it_chmyver2
ch_fresh_db "$CDB2"
pipeline_file "$PIPE2" it_chmyver2 "mysql:$SDB" "clickhouse:$CDB2" "apply: { max_delay: 100ms }"
sluice_ok run --once "$PIPE2"
my_sql "$SDB" -e "UPDATE t SET v = 7 WHERE id = 1; UPDATE t SET v = 8 WHERE id = 2;
	INSERT INTO k VALUES (3, 'after'); INSERT INTO z VALUES (2, 2)"
for p in "$PIPE" "$PIPE2"; do
	sluice_ok run --once "$p"
	sluice_ok verify "$p"
	assert_contains "$SL_OUT" "all tables equal" "verify $(basename "$p" .yaml): every table equals MariaDB"
done
assert_eq 7 "$(fin v t 'AND id = 1')" "the row keeps following its changes"
pass
