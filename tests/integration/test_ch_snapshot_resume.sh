#!/usr/bin/env bash
# A PostgreSQL -> ClickHouse snapshot killed (SIGKILL) in the middle of a table, then finished by
# `run --once`. The kill lands while ClickHouse holds some of the table's rows but not all
# (several ctid chunks, a small snapshot.chunk_size), on a live sluice process (it dies of the
# signal, status 137). Two cases:
#  - keyed: the table is emptied and reloaded from a fresh snapshot; changes written between the
#    kill and the restart (updates, deletes, a key change, inserts) come through CDC from the
#    slot's consistent point and converge;
#  - keyless: the snapshot starts over from a new consistent point.
# Afterwards every table read FINAL without deleted rows equals the source (row count computed by
# each server, md5 of the rows as each server prints them), and the raw table (no FINAL) holds
# each snapshot row once: no key (keyed) and no row identity (keyless) was written twice by the
# snapshot, so nothing the killed run wrote survived next to the reload.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ch_require

SDB=it_chsnapkill_src
fresh_db test-src "$SDB"
ROWS=${SNAPKILL_ROWS:-600000}
src_sql "$SDB" <<SQL
SET ROLE sluice;
CREATE TABLE big (id int PRIMARY KEY, n bigint, v text);
INSERT INTO big SELECT i, i * 7, md5(i::text) FROM generate_series(1, $ROWS) i;
CREATE TABLE small (id int PRIMARY KEY, v text);
INSERT INTO small SELECT i, 's' || i FROM generate_series(1, 100) i;
-- keyless, every row twice
CREATE TABLE heap (a int, b text);
ALTER TABLE heap REPLICA IDENTITY FULL;
INSERT INTO heap SELECT i / 2, md5((i / 2)::text) FROM generate_series(0, $ROWS - 1) i;
ANALYZE big, small, heap;
SQL

# interrupted PIPE CDB TABLE: start `sluice run`, SIGKILL it once ClickHouse holds some but not
# all of TABLE's rows, and check that it died of that signal with the table unfinished
interrupted() {
	local pipe=$1 cdb=$2 table=$3 total n pid rc deadline
	total=$(src_sql "$SDB" "SELECT count(*) FROM $table")
	sluice_bg "$TMP/$table.out" "$TMP/$table.err" run "$pipe"
	pid=$SL_PID
	deadline=$((SECONDS + 120))
	while :; do
		kill -0 "$pid" 2>/dev/null || { tail -20 "$TMP/$table.err" >&2; fail "$table: sluice exited before it could be killed"; }
		((SECONDS < deadline)) || fail "$table: no rows in ClickHouse after 120 s"
		# rows in the table's active parts: count() without FINAL, 0 before it exists
		n=$(ch_sql "SELECT sum(rows) FROM system.parts WHERE database = '$cdb' AND table = '$table' AND active")
		((n < total)) || fail "$table: the snapshot finished ($n of $total rows) before it could be killed; raise SNAPKILL_ROWS"
		((n == 0)) || break
	done
	kill -KILL "$pid" || fail "$table: sluice exited before the kill"
	rc=0
	wait "$pid" || rc=$?
	assert_eq 137 "$rc" "$table: sluice died of the SIGKILL"
	if grep -q "ERROR: AddressSanitizer\|runtime error" "$TMP/$table.err"; then
		cat "$TMP/$table.err" >&2
		fail "sanitizer report before the kill"
	fi
	n=$(ch_sql "SELECT count() FROM $cdb.$table")
	log "$table: killed with $n of $total rows in ClickHouse"
	((n > 0 && n < total)) || fail "$table: killed with $n of $total rows, not in the middle"
}

# same CDB TABLE PGCOLS CHCOLS ORDER: live rows equal the source's (count + md5 of the rows)
same() {
	local a b
	a="$(src_sql "$SDB" "SELECT count(*) FROM $2") $(src_sql "$SDB" "COPY (SELECT $3 FROM $2 ORDER BY $5) TO STDOUT" | md5sum)"
	b="$(ch_sql "SELECT count() FROM $1.$2 FINAL WHERE _sluice_deleted = 0") $(ch_sql "SELECT $4 FROM $1.$2 FINAL WHERE _sluice_deleted = 0 ORDER BY $5" | md5sum)"
	assert_eq "$a" "$b" "$2 equals the source (count + md5 of the rows)"
}

# ---- keyed: reloaded from a fresh snapshot, converging through CDC
CDB=it_chsnapkill
ch_fresh_db "$CDB"
PIPE=$TMP/keyed.yaml
pipeline_file "$PIPE" it_chsnapkill "$SDB" "clickhouse:$CDB" "source.tables: { include: [public.big, public.small] }" \
	"snapshot: { parallelism: 2, chunk_size: 512KiB }"
interrupted "$PIPE" "$CDB" big
src_sql "$SDB" <<'SQL'
UPDATE big SET n = -n, v = 'changed' WHERE id % 1000 = 0;
DELETE FROM big WHERE id % 1000 = 1;
UPDATE big SET id = -id WHERE id % 1000 = 2;
INSERT INTO big SELECT i, i, 'new' FROM generate_series(1000001, 1000500) i;
UPDATE small SET v = 'after the kill' WHERE id = 5;
SQL
sluice_ok run --once "$PIPE"
assert_contains "$SL_ERR" "resuming the snapshot" "keyed: the snapshot resumed"
same "$CDB" big "id, n, v" "id, n, v" id
same "$CDB" small "id, v" "id, v" id
assert_eq 0 "$(ch_sql "SELECT count() FROM (SELECT id FROM $CDB.big WHERE _sluice_version = 0 GROUP BY id HAVING count() > 1)")" \
	"keyed: the snapshot wrote no key twice (raw rows)"
log "keyed: ok"

# ---- keyless: the snapshot starts over
KDB=it_chsnapkill_k
ch_fresh_db "$KDB"
KPIPE=$TMP/keyless.yaml
pipeline_file "$KPIPE" it_chsnapkill_k "$SDB" "clickhouse:$KDB" "source.tables: { include: [public.heap] }" \
	"snapshot: { parallelism: 2, chunk_size: 512KiB }"
interrupted "$KPIPE" "$KDB" heap
src_sql "$SDB" "INSERT INTO heap VALUES (-1, 'after the kill'), (-1, 'after the kill'); DELETE FROM heap WHERE a = 3"
sluice_ok run --once "$KPIPE"
assert_contains "$SL_ERR" "starts over from a new consistent point" "keyless: the snapshot started over"
same "$KDB" heap "a, b" "a, b" "a, b"
assert_eq 0 "$(ch_sql "SELECT count() FROM (SELECT _sluice_origin, _sluice_seq FROM $KDB.heap GROUP BY _sluice_origin, _sluice_seq HAVING count() > 1)")" \
	"keyless: no row identity written twice (raw rows)"
pass
