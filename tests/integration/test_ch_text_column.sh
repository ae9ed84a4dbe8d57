#!/usr/bin/env bash
# A column that has no binary Arrow form, added while `sluice run` streams: two pipelines stream
# one source table (binary pgoutput values, every column has a binary decoder), one into
# ClickHouse and one into PostgreSQL (test-dst). Then the source gets ALTER TABLE ADD COLUMN of
# types that travel as text (interval, inet, timetz, varbit, tsvector, a composite) -- once in a
# transaction that also writes rows before and after the ALTER -- and rows with edge values.
# Both running processes must switch the stream to text mode by themselves and deliver every
# value exactly: PostgreSQL by column types and a digest of the rows as both servers print them;
# ClickHouse by the column types (Nullable(String)) and each column read as String against the
# source's own text rendering in the replication session's settings (IntervalStyle iso_8601,
# DateStyle ISO, TimeZone UTC), compared column by column as hex bytes. (PostgreSQL target: the
# composite column added while streaming stops the run once, see KNOWN GAP below; the next run
# finishes.)
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ch_require

SDB=it_chtextcol_src
TDB=it_chtextcol_dst
CDB=it_chtextcol
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
ch_fresh_db "$CDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TYPE pair AS (x int, y text);
CREATE TABLE t (id int PRIMARY KEY, n int, note text);
INSERT INTO t SELECT i, i, 'before' FROM generate_series(1, 10) i;
SQL

PIPE_CH=$TMP/ch.yaml
PIPE_PG=$TMP/pg.yaml
pipeline_file "$PIPE_CH" it_chtextcol_ch "$SDB" "clickhouse:$CDB" "apply: { max_delay: 100ms }"
pipeline_file "$PIPE_PG" it_chtextcol_pg "$SDB" "$TDB" "apply: { max_delay: 100ms }"
sluice_bg "$TMP/ch.out" "$TMP/ch.err" run "$PIPE_CH"
PID_CH=$SL_PID
sluice_bg "$TMP/pg.out" "$TMP/pg.err" run "$PIPE_PG"
PID_PG=$SL_PID

# wait_for WHAT CMD...: until CMD prints "t" (the sluice processes in $ALIVE running), at most 90 s
ALIVE="ch pg"
wait_for() {
	local what=$1 deadline=$((SECONDS + 90)) w pid
	shift
	while [[ $("$@") != t ]]; do
		for w in $ALIVE; do
			[[ $w == ch ]] && pid=$PID_CH || pid=$PID_PG
			kill -0 "$pid" 2>/dev/null || { tail -30 "$TMP/$w.err" >&2; fail "sluice ($w) exited while waiting for $what"; }
		done
		((SECONDS < deadline)) || fail "timed out waiting for $what"
		sleep 0.2
	done
}
# has_row ID [ch|pg]: the targets (default both) hold row ID with note 'last'
has_row() {
	local c=1 p=1
	[[ ${2:-ch} != ch ]] ||
		c=$(ch_sql "SELECT count() FROM $CDB.t FINAL WHERE _sluice_deleted = 0 AND id = $1 AND note = 'last'")
	[[ ${2:-pg} != pg ]] || p=$(dst_sql "$TDB" "SELECT count(*) FROM public.t WHERE id = $1 AND note = 'last'")
	[[ $c == 1 && $p == 1 ]] && echo t || echo f
}
streaming() { grep -q "streaming changes from slot" "$TMP/ch.err" && grep -q "streaming changes from slot" "$TMP/pg.err" && echo t || echo f; }
wait_for "both pipelines streaming" streaming
src_sql "$SDB" "INSERT INTO t VALUES (100, 0, 'last')"
wait_for "a row written while streaming" has_row 100
assert_contains "$(<"$TMP/ch.err")" "binary values" "ClickHouse pipeline: the stream started with binary values"
assert_contains "$(<"$TMP/pg.err")" "binary values" "PostgreSQL pipeline: the stream started with binary values"

src_sql "$SDB" <<'SQL'
BEGIN;
INSERT INTO t VALUES (11, 11, 'same transaction, before the ALTER');
ALTER TABLE t ADD COLUMN iv interval, ADD COLUMN ip inet;
INSERT INTO t VALUES (12, 12, 'same transaction, after the ALTER', '1 day 02:03:04.5', '10.1.2.3/8');
UPDATE t SET iv = '-3 mons 2 days', ip = '::1' WHERE id = 1;
COMMIT;
ALTER TABLE t ADD COLUMN tz timetz, ADD COLUMN bits varbit(8), ADD COLUMN ts tsvector, ADD COLUMN p pair;
INSERT INTO t VALUES
 (20, 20, 'edges', '-178000000 years', '2001:db8::1/64', '24:00:00+15:59', B'1', 'a fat cat', ROW(1, 'x y')),
 (21, 21, 'edges', '1 mon -1 day -00:00:00.000001', '0.0.0.0/0', '00:00:00-15:59', B'', '''q''''s'':1A,3', ROW(NULL, E'tab\t"q"\\')),
 (22, 22, 'edges', '00:00:00', '::ffff:1.2.3.4', '12:34:56.789+05:30', B'10101010', '', ROW(-1, '')),
 (23, 23, 'nulls', NULL, NULL, NULL, NULL, NULL, NULL),
 (24, 24, 'edges', 'P1Y2M3DT4H5M6.000007S', '192.168.0.1', '23:59:59.999999-00:30', B'0001', 'b:2 a:1B', ROW(2147483647, 'ünï😀'));
UPDATE t SET iv = iv / 3, ip = '10.0.0.1', tz = '01:00+01' WHERE id = 20;
UPDATE t SET id = 25 WHERE id = 24;
DELETE FROM t WHERE id = 22;
UPDATE t SET p = ROW(7, 'seven'), bits = B'11' WHERE id BETWEEN 2 AND 4;
INSERT INTO t VALUES (101, 0, 'last');
SQL
ALIVE=ch
wait_for "the rows after the ALTERs in ClickHouse" has_row 101 ch
assert_contains "$(<"$TMP/ch.err")" "restarting the stream in text mode" "ClickHouse pipeline: switched to text mode"
assert_contains "$(<"$TMP/pg.err")" "restarting the stream in text mode" "PostgreSQL pipeline: switched to text mode"
# KNOWN GAP (reported in issue #23): the PostgreSQL target creates the types a table needs from
# the catalog read at startup, so a composite type first used by a column added while streaming
# is missing there: the run stops with PostgreSQL's error naming the type, and the next run
# (which reads the catalog again) creates it and goes on. When that is fixed, wait for row 101
# in PostgreSQL like in ClickHouse instead.
rc=0
wait "$PID_PG" || rc=$?
assert_eq 1 "$rc" "PostgreSQL pipeline: stopped at the composite column"
assert_contains "$(tail -n 1 "$TMP/pg.err")" 'type "public.pair" does not exist' "PostgreSQL pipeline: the error names the type"
sluice_ok run --once "$PIPE_PG"
assert_eq t "$(has_row 101 pg)" "PostgreSQL pipeline: the next run applied the rest"

# stop the ClickHouse pipeline (SIGTERM: a clean stop at a group boundary, exit 0)
kill -TERM "$PID_CH"
rc=0
wait "$PID_CH" || rc=$?
assert_eq 0 "$rc" "sluice run into ClickHouse stopped cleanly"
BG_PIDS=()
for f in "$TMP/ch.err" "$TMP/pg.err"; do
	if grep -q "ERROR: AddressSanitizer\|runtime error" "$f"; then
		cat "$f" >&2
		fail "sanitizer report in $f"
	fi
done

# ---- PostgreSQL target: types and rows as both servers print them
compare_table test-src "$SDB" test-dst "$TDB" public t

# ---- ClickHouse target
cols=$(ch_sql "SELECT name, type FROM system.columns WHERE database = '$CDB' AND table = 't' FORMAT CSV")
for c in iv ip tz bits ts p; do
	assert_contains "$cols" "\"$c\",\"Nullable(String)\"" "ClickHouse: $c is Nullable(String)"
done
PG_SET="SET DateStyle = ISO; SET IntervalStyle = iso_8601; SET TimeZone = 'UTC'; SET extra_float_digits = 3;"
assert_eq "$(src_sql "$SDB" "SELECT count(*) FROM t")" \
	"$(ch_sql "SELECT count() FROM $CDB.t FINAL WHERE _sluice_deleted = 0")" "ClickHouse: row count"
for c in id n note iv ip tz bits ts p; do
	# the bytes in hex: the two servers escape quotes and backslashes differently when printing
	a=$(src_sql "$SDB" "$PG_SET COPY (SELECT id, upper(encode(convert_to($c::text, 'UTF8'), 'hex')) FROM t ORDER BY 1) TO STDOUT")
	b=$(ch_sql "SELECT id, hex(toString($c)) AS v FROM $CDB.t FINAL WHERE _sluice_deleted = 0 ORDER BY id")
	assert_eq "$a" "$b" "ClickHouse: column $c equals the source's text, row by row"
done
pass
