#!/usr/bin/env bash
# A change that needs its row on the target and does not find it is never dropped. An update
# that leaves a TOASTed column unchanged (pgoutput sends it without that value) and a key change
# that does (the new row takes it from the old key's row) can only be completed from the
# target's row. When someone deleted that row on the target, sluice stops with one error line
# naming the table, applies nothing of the group, and keeps failing until the target is
# repaired; then it goes on and verify is clean. Into PostgreSQL and into ClickHouse. Within the
# convergence window of a resumed snapshot (sluice_converge in the state store, set here by
# hand), the same missing row is skipped with a message instead: the reloaded table was read
# after the change, and the row's deletion comes later in the stream.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ch_require

SDB=it_lost_src
TDB=it_lost_dst
CDB=it_lost
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
ch_fresh_db "$CDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE a (id integer PRIMARY KEY, n integer, big text);
CREATE TABLE b (id integer PRIMARY KEY, n integer, big text);
-- values of ~100 kB that compress poorly: stored out of line, sent unchanged by pgoutput
INSERT INTO a SELECT i, i, (SELECT string_agg(md5((i * 1000 + k)::text), '') FROM generate_series(1, 3000) k) FROM generate_series(1, 3) i;
INSERT INTO b SELECT i, i, (SELECT string_agg(md5((i * 7000 + k)::text), '') FROM generate_series(1, 3000) k) FROM generate_series(1, 3) i;
SQL
PG_PIPE=$TMP/lost_pg.yaml
CH_PIPE=$TMP/lost_ch.yaml
pipeline_file "$PG_PIPE" it_lost_pg "$SDB" "$TDB"
pipeline_file "$CH_PIPE" it_lost_ch "$SDB" "clickhouse:$CDB"
sluice_ok run --once "$PG_PIPE"
sluice_ok run --once "$CH_PIPE"

pg_lose() { dst_sql "$TDB" "DELETE FROM $1 WHERE id = $2"; } # TABLE ID
pg_repair() { # TABLE ID FROM: put back row ID as it was, from the source's row FROM
	dst_sql "$TDB" "INSERT INTO $1 VALUES ($2, $(src_sql "$SDB" "SELECT format('%s, %L', n, big) FROM $1 WHERE id = $3"))"
}
# ClickHouse rows carry the source's commit LSN as their version: a tombstone stamped with the
# source's current LSN is newer than what sluice wrote and older than the change made next.
CH_V=0
ch_lose() { # TABLE ID
	CH_V=$(src_sql "$SDB" "SELECT pg_current_wal_lsn() - '0/0'")
	ch_sql "INSERT INTO $CDB.$1 (id, n, big, _sluice_version, _sluice_deleted) VALUES ($2, 0, '', $CH_V, 1)"
}
ch_repair() { # TABLE ID FROM
	ch_sql "INSERT INTO $CDB.$1 (id, n, big, _sluice_version, _sluice_deleted) VALUES ($2, $(src_sql "$SDB" "SELECT format('%s, %L', n, big) FROM $1 WHERE id = $3"), $((CH_V + 1)), 0)"
}

# lost PIPE TARGET-LOSE TARGET-REPAIR TABLE ID NEWID SQL WHAT NEEDLE: the row ID of TABLE goes
# missing on the target, SQL changes it on the source (its key becomes NEWID): run fails naming
# the table (twice: nothing was skipped), then succeeds once the row is back.
lost() {
	local pipe=$1 lose=$2 repair=$3 table=$4 id=$5 newid=$6 sql=$7 what=$8 needle=$9 qual
	qual=$([[ $pipe == "$PG_PIPE" ]] && echo "public.$table" || echo "$CDB.$table")
	"$lose" "$table" "$id"
	src_sql "$SDB" "$sql"
	for attempt in 1 2; do
		sluice run --once "$pipe"
		assert_sluice_error nonzero "$qual" "$needle" "the target has diverged"
	done
	"$repair" "$table" "$id" "$newid"
	sluice_ok run --once "$pipe"
	sluice_ok verify "$pipe"
	log "$what: stopped twice, then applied once repaired"
}

lost "$PG_PIPE" pg_lose pg_repair a 2 2 "UPDATE a SET n = n + 100 WHERE id = 2" \
	"PostgreSQL, update" "an update on the source changed a row that the target does not have"
lost "$PG_PIPE" pg_lose pg_repair b 3 30 "UPDATE b SET id = 30 WHERE id = 3" \
	"PostgreSQL, key change" "a key change on the source moved a row that the target does not have"
compare_table test-src "$SDB" test-dst "$TDB" public a
compare_table test-src "$SDB" test-dst "$TDB" public b

# the CH pipeline reads the same slot-less history from its own slot: it sees both changes
# above first; the rows are there, so it applies them
sluice_ok run --once "$CH_PIPE"
sluice_ok verify "$CH_PIPE"
lost "$CH_PIPE" ch_lose ch_repair a 1 1 "UPDATE a SET n = n + 100 WHERE id = 1" \
	"ClickHouse, update" "an update on the source changed a row that ClickHouse does not have"
lost "$CH_PIPE" ch_lose ch_repair b 30 31 "UPDATE b SET id = 31 WHERE id = 30" \
	"ClickHouse, key change" "a key change on the source moved a row that ClickHouse does not have"

# ------------------------------------------------------- the convergence window ---
# Both pipelines: a missing row within the window is skipped with a message, not an error.
sqlite3 "$TMP/it_lost_pg.state.db" "INSERT INTO sluice_converge VALUES ('it_lost_pg', 9000000000000000000)"
sqlite3 "$TMP/it_lost_ch.state.db" "INSERT INTO sluice_converge VALUES ('it_lost_ch', 9000000000000000000)"
pg_lose a 1
ch_lose a 2
src_sql "$SDB" "UPDATE a SET n = n + 1 WHERE id IN (1, 2)"
sluice_ok run --once "$PG_PIPE"
assert_contains "$SL_ERR" "found their row already gone" "PostgreSQL: the window's missing row is skipped, with a message"
sluice_ok run --once "$CH_PIPE"
assert_contains "$SL_ERR" "found their row already gone" "ClickHouse: the window's missing row is skipped, with a message"
sluice_ok reset "$PG_PIPE"
sluice_ok reset "$CH_PIPE"
assert_eq "" "$(sqlite3 "$TMP/it_lost_pg.state.db" "SELECT version FROM sluice_converge WHERE pipeline = 'it_lost_pg'")" \
	"reset forgets the convergence point"
pass
