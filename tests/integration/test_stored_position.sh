#!/usr/bin/env bash
# A damaged stored position: CDC resumes from the consistent point in the state store (or the
# position the target recorded as applied) and writes it into START_REPLICATION. A value that
# is not strictly an LSN must stop the run with one clear error naming the state store and the
# way out (sluice reset), and never reach the replication protocol. Restoring the value lets
# the pipeline continue.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_pos_src
TDB=it_pos_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 100) i;
SQL
PIPE=$TMP/pos.yaml
pipeline_file "$PIPE" it_pos "$SDB" "$TDB"
STATE=$TMP/it_pos.state.db
sluice_ok run --once "$PIPE"

state_sql() { sqlite3 "$STATE" "$1"; }
good=$(state_sql "SELECT position FROM sluice_pipeline WHERE name = 'it_pos'")
[[ $good == */* ]] || fail "no consistent point in the state store (got '$good')"

src_sql "$SDB" "UPDATE t SET v = 'changed' WHERE id <= 10"
for bad in "$good (proto_version '1', publication_names 'x')" "$good; x" " $good" "+$good" \
	"0x${good}" "${good}0000000000" "$good/0" "not an lsn" ""; do
	state_sql "UPDATE sluice_pipeline SET position = $(sql_lit "$bad") WHERE name = 'it_pos'"
	sluice run --once "$PIPE"
	assert_sluice_error 1 "not a PostgreSQL LSN" "state store" "$STATE" "sluice reset"
	assert_not_contains "$SL_ERR" "syntax error" "the value never reached the server ('$bad')"
done
log "$SL_ERRLINE"

state_sql "UPDATE sluice_pipeline SET position = $(sql_lit "$good") WHERE name = 'it_pos'"
sluice_ok run --once "$PIPE"
compare_table test-src "$SDB" test-dst "$TDB" public t

# the position the target recorded as applied is read the same way
src_sql "$SDB" "UPDATE t SET v = 'again' WHERE id <= 5"
applied=$(dst_sql "$TDB" "SELECT position FROM _sluice.positions WHERE pipeline = 'it_pos'")
[[ $applied == */* ]] || fail "no applied position on the target (got '$applied')"
dst_sql "$TDB" "UPDATE _sluice.positions SET position = position || ' x' WHERE pipeline = 'it_pos'"
sluice run --once "$PIPE"
assert_sluice_error 1 "not a PostgreSQL LSN" "_sluice.positions" "sluice reset"
dst_sql "$TDB" "UPDATE _sluice.positions SET position = $(sql_lit "$applied") WHERE pipeline = 'it_pos'"
sluice_ok run --once "$PIPE"
compare_table test-src "$SDB" test-dst "$TDB" public t
pass
