#!/usr/bin/env bash
# Arrays of any shape never stop a pipeline: two-dimensional int[] and text[], three-dimensional
# bigint[], lower bounds other than 1 ('[0:2]={1,2,3}', '[2:3][1:2]={{1,2},{3,4}}', negative
# ones), NULL elements, empty arrays, NULL arrays, an interval[] (its elements travel as text, and
# the column puts the CDC stream in pgoutput's text mode), a TOASTed two-dimensional text[] left
# unchanged by an update, and a keyless table whose shaped rows are deleted. Snapshot, then CDC
# (inserts, updates into and out of a shape, deletes) in both stream modes: table arr alone
# streams binary values, arrt (with the interval[]) text values. One source, two targets:
# - PostgreSQL: every value exact, by the servers' own SQL (compare_table over the rows' text,
#   and per column the md5 of array_dims(c) || c::text, which names the bounds), and `sluice
#   verify` clean with no "not representable" note; a target value that differs from the source
#   in its lower bound only makes verify fail;
# - ClickHouse (whose Array columns hold one dimension from 1): each value is its elements in
#   row-major order (compared with unnest() on the source), the first ones of each column are
#   warned about, and verify passes naming the count of such values, which must equal the count
#   by PostgreSQL's own SQL.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ch_require

SDB=it_shape_src
TDB=it_shape_dst
CDB=it_shape
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
ch_fresh_db "$CDB"

src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE arr (
  id  integer PRIMARY KEY,
  i2  integer[][],
  t2  text[],
  b3  bigint[],
  tag text
);
CREATE TABLE arrt (
  id  integer PRIMARY KEY,
  i2  integer[],
  iv  interval[],
  t2  text[]
);
CREATE TABLE kl (a integer, m integer[]);
ALTER TABLE kl REPLICA IDENTITY FULL;
INSERT INTO arr VALUES
  (1, '{{1,2},{3,4}}', '{{a,NULL},{"b c","q\"x"}}', '{{{1,2},{3,4}},{{5,6},{7,8}}}', 'two-d'),
  (2, '[0:2]={1,2,3}', '[2:3][1:2]={{x,y},{z,NULL}}', '[-1:0][0:0][1:2]={{{1,2}},{{3,NULL}}}', 'bounds'),
  (3, '[2:3][1:2]={{1,2},{3,4}}', '{}', '{}', 'empty'),
  (4, NULL, NULL, NULL, 'null'),
  (5, '{1,NULL,3}', '{a}', '{5}', 'plain'),
  (6, '[1:1][1:2]={{NULL,NULL}}', '[5:5]={"{}"}', '[-2147483648:-2147483647]={1,2}', 'edges'),
  (7, '{7}', ARRAY(SELECT ARRAY[md5(g::text), md5((g + 1)::text)] FROM generate_series(1, 300) g),
      '{{1},{2}}', 'toasted');
INSERT INTO arrt VALUES
  (1, '{{1,2},{3,4}}', '[0:1][1:2]={{P1D,PT1H},{NULL,P1M}}', '[0:0]={t}'),
  (2, '{1}', '{{"1 day"},{"2 days"}}', '{{a,b}}'),
  (3, NULL, '{}', NULL),
  (4, '{}', '{"-1 mons"}', '{x}');
INSERT INTO kl VALUES (1, '{{1,2},{3,4}}'), (1, '{{1,2},{3,4}}'), (2, '[0:1]={1,2}'), (3, '{1,2}');
SQL

TABLES=(arr arrt kl)
declare -A COLS=([arr]="i2 t2 b3" [arrt]="i2 iv t2" [kl]="m")
declare -A KEY=([arr]=id [arrt]=id [kl]=a)

# Values with a shape a ClickHouse Array cannot hold (more than one dimension, or a lower bound
# other than 1), in table $1, by PostgreSQL's own SQL.
source_shaped() {
	local t=$1 c expr=0
	for c in ${COLS[$t]}; do
		expr+=" + count(*) FILTER (WHERE array_ndims($c) > 1 OR array_lower($c, 1) <> 1)"
	done
	src_sql "$SDB" "SELECT $expr FROM $t"
}

PG_BIN=$TMP/shape_pg_bin.yaml
PG_TXT=$TMP/shape_pg_txt.yaml
CH_BIN=$TMP/shape_ch_bin.yaml
CH_TXT=$TMP/shape_ch_txt.yaml
pipeline_file "$PG_BIN" it_shape_pgb "$SDB" "$TDB" "source.tables: { include: [public.arr, public.kl] }"
pipeline_file "$PG_TXT" it_shape_pgt "$SDB" "$TDB" "source.tables: { include: [public.arrt] }"
pipeline_file "$CH_BIN" it_shape_chb "$SDB" "clickhouse:$CDB" "source.tables: { include: [public.arr, public.kl] }"
pipeline_file "$CH_TXT" it_shape_cht "$SDB" "clickhouse:$CDB" "source.tables: { include: [public.arrt] }"

# Per column, id: array_dims || text on both PostgreSQL servers (independent of sluice's code).
compare_dims() { # WHAT
	local t c q
	for t in "${TABLES[@]}"; do
		for c in ${COLS[$t]}; do
			q="SELECT count(*) || ' ' || md5(string_agg(${KEY[$t]} || ':' || coalesce(array_dims($c), '-') || ':' || coalesce($c::text, '<null>'), E'\n' ORDER BY ${KEY[$t]}, $c::text))
			     FROM $t"
			assert_eq "$(src_sql "$SDB" "$q")" "$(dst_sql "$TDB" "$q")" \
				"$1: $t.$c has the source's dimensions, lower bounds and elements on the PostgreSQL target"
		done
	done
}

# ClickHouse holds each value as its elements in row-major order (a NULL array as []).
compare_ch() { # WHAT
	local t c a b
	for t in "${TABLES[@]}"; do
		for c in ${COLS[$t]}; do
			a=$(src_sql "$SDB" "SET IntervalStyle = iso_8601;
			  SELECT r FROM (SELECT ${KEY[$t]} || ':[' || coalesce((SELECT string_agg(coalesce(e::text, 'NULL'), ',' ORDER BY o)
			                                                FROM unnest($c) WITH ORDINALITY u(e, o)), '') || ']' AS r
			                   FROM $t) s ORDER BY r COLLATE \"C\"")
			b=$(ch_sql "SELECT concat(toString(${KEY[$t]}), ':[', arrayStringConcat(arrayMap(x -> ifNull(toString(x), 'NULL'), $c), ','), ']') AS r
			              FROM $CDB.$t FINAL WHERE _sluice_deleted = 0 ORDER BY r")
			assert_eq "$a" "$b" "$1: ClickHouse $t.$c holds each source value's elements in row-major order"
		done
	done
}

check_all() { # WHAT
	local t n
	compare_table test-src "$SDB" test-dst "$TDB" public arr
	compare_table test-src "$SDB" test-dst "$TDB" public arrt
	compare_table test-src "$SDB" test-dst "$TDB" public kl
	compare_dims "$1"
	for p in "$PG_BIN" "$PG_TXT"; do
		sluice_ok verify "$p"
		assert_not_contains "$SL_OUT" "not representable" "$1: the PostgreSQL target holds every array exactly"
	done
	compare_ch "$1"
	for p in "$CH_BIN" "$CH_TXT"; do
		sluice_ok verify "$p"
		for t in "${TABLES[@]}"; do
			[[ $SL_OUT == *"public.$t -> "* ]] || continue
			n=$(source_shaped "$t")
			((n > 0)) || fail "$1: the source's $t holds no shaped array (test did not exercise them)"
			assert_contains "$(grep "public.$t -> " <<<"$SL_OUT")" \
				"not representable: $n array(s) with more than one dimension or a lower bound other than 1" \
				"$1: verify counts $t's arrays ClickHouse holds flattened"
		done
	done
}

# ------------------------------------------------------------------ snapshot ---
sluice_ok run --once "$PG_BIN"
sluice_ok run --once "$PG_TXT"
sluice_ok run --once "$CH_BIN"
for c in i2 t2 b3; do
	assert_contains "$SL_ERR" "column $c of $CDB.arr holds arrays with more than one dimension or a lower bound other than 1" \
		"snapshot: a warning names ClickHouse column arr.$c"
done
assert_contains "$SL_ERR" "column m of $CDB.kl holds arrays" "snapshot: a warning names ClickHouse column kl.m"
sluice_ok run --once "$CH_TXT"
assert_contains "$SL_ERR" "column iv of $CDB.arrt holds arrays" "snapshot: a warning names ClickHouse column arrt.iv"
check_all "snapshot"

# ----------------------------------------------------------------------- CDC ---
src_sql "$SDB" <<'SQL'
INSERT INTO arr VALUES
  (8, '{{{{1}}},{{{2}}}}', '[0:0][0:1]={{"a,b",NULL}}', '[3:4]={10,20}', 'cdc'),
  (9, '{}', NULL, '{{1,2,3}}', 'cdc-plain-ish');
UPDATE arr SET i2 = '{{5,6},{7,8}}', b3 = '[0:0]={9}' WHERE id = 5;   -- plain to shaped
UPDATE arr SET i2 = '{1,2,3}', t2 = '{a,b}' WHERE id = 2;             -- shaped to plain
UPDATE arr SET i2 = '[5:6][0:0]={{1},{2}}', tag = 'cdc-update' WHERE id = 7; -- t2 unchanged (TOAST)
UPDATE arr SET tag = 'tag only' WHERE id = 1;
DELETE FROM arr WHERE id = 6;
INSERT INTO arrt VALUES (5, '[0:1]={5,6}', '[2:3]={P2D,NULL}', '{{a},{b}}');
UPDATE arrt SET iv = '{{P1Y},{P2Y}}', i2 = '{1}' WHERE id = 2;
UPDATE arrt SET iv = '{P3D}' WHERE id = 1;
DELETE FROM arrt WHERE id = 4;
INSERT INTO kl VALUES (4, '[2:2][2:2][2:2]={{{8}}}');
DELETE FROM kl WHERE a = 2;
SQL
sluice_ok run --once "$PG_BIN"
assert_contains "$SL_ERR" "binary values" "table arr streams binary values"
sluice_ok run --once "$PG_TXT"
assert_contains "$SL_ERR" "text values" "table arrt streams text values"
sluice_ok run --once "$CH_BIN"
sluice_ok run --once "$CH_TXT"
check_all "CDC"
assert_eq "[1:300][1:2]" "$(dst_sql "$TDB" "SELECT array_dims(t2) FROM arr WHERE id = 7")" \
	"an unchanged TOASTed array keeps its shape on the PostgreSQL target"

# ------------------------------------------------------- the checks can fail ---
# the same elements from another lower bound: verify must see it
dst_sql "$TDB" "UPDATE arr SET i2 = '[0:2]={1,2,3}' WHERE id = 2"
sluice verify "$PG_BIN"
((SL_RC == 3)) || { sluice_dump; fail "verify must fail when a target array's lower bound changed (rc $SL_RC)"; }
assert_contains "$SL_OUT" "DIFF public.arr" "verify names the table whose array changed its bounds"
ch_sql "INSERT INTO $CDB.arr SELECT id, CAST([1, 2] AS Array(Nullable(Int32))), t2, b3, tag, _sluice_version + 1, 0 FROM $CDB.arr FINAL WHERE id = 1"
sluice verify "$CH_BIN"
((SL_RC == 3)) || { sluice_dump; fail "verify must fail when a ClickHouse array changed (rc $SL_RC)"; }
sluice_ok reset "$PG_BIN"
sluice_ok reset "$PG_TXT"
sluice_ok reset "$CH_BIN"
sluice_ok reset "$CH_TXT"
pass
