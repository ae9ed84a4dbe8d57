#!/usr/bin/env bash
# A ClickHouse table keeps its name. Two selected source tables with one name (s1.t, s2.t) land
# in s1_t and s2_t; once s2.t leaves the pipeline (excluded), s1.t still streams into s1_t (the
# name is kept in the state store), no table t appears, and verify passes. `sluice reset`
# forgets the kept names.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ch_require

SDB=it_chkept_src
CDB=it_chkept
fresh_db test-src "$SDB"
ch_fresh_db "$CDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE SCHEMA s1;
CREATE SCHEMA s2;
CREATE TABLE s1.t (id integer PRIMARY KEY, v text);
CREATE TABLE s2.t (id integer PRIMARY KEY, v text);
INSERT INTO s1.t VALUES (1, 'one');
INSERT INTO s2.t VALUES (1, 'uno');
SQL
PIPE=$TMP/kept.yaml
pipeline_file "$PIPE" it_chkept "$SDB" "clickhouse:$CDB" "source.tables: { include: [s1.t, s2.t] }"
sluice_ok run --once "$PIPE"
tables() { ch_sql "SELECT arrayStringConcat(groupArray(name), ',') FROM (SELECT name FROM system.tables WHERE database = '$CDB' ORDER BY name)"; }
assert_eq "s1_t,s2_t" "$(tables)" "a shared name lands as schema_name"

pipeline_file "$PIPE" it_chkept "$SDB" "clickhouse:$CDB" "source.tables: { include: [s1.t] }"
src_sql "$SDB" "INSERT INTO s1.t VALUES (2, 'two')"
sluice_ok run --once "$PIPE"
assert_eq "s1_t,s2_t" "$(tables)" "no new table once the clash is gone"
assert_eq "1 one,2 two" "$(ch_sql "SELECT arrayStringConcat(groupArray(concat(toString(id), ' ', v)), ',') FROM (SELECT id, v FROM $CDB.s1_t FINAL WHERE _sluice_deleted = 0 ORDER BY id)")" \
	"s1.t still streams into s1_t"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "s1.t -> $CDB.s1_t" "verify reads s1_t"
sluice_ok reset "$PIPE"
assert_eq "0" "$(sqlite3 "$TMP/it_chkept.state.db" "SELECT count(*) FROM sluice_target_name WHERE pipeline = 'it_chkept'")" \
	"reset forgets the kept names"
pass
