#!/usr/bin/env bash
# Special values never stop a pipeline: numeric NaN in constrained numerics of both decimal
# widths (numeric(10,2) NOT NULL, numeric(38,10), numeric(76,20)), in numeric(10,2)[] elements
# and in a numeric primary key (PostgreSQL allows Infinity only in unconstrained numerics);
# NaN/±Infinity in an unconstrained numeric; float NaN/±Infinity; date and timestamp ±infinity. Snapshot, then the same values arriving through
# CDC (inserts and updates into and out of a special value). One source, two pipelines:
# - PostgreSQL target: every value exact (compare_table's SQL digest of the rows' text) and
#   `sluice verify` clean without any "not representable" note;
# - ClickHouse target: the decimal NaNs are NULL there (ClickHouse's Decimal has no such
#   value), counted: verify passes and names the count, which must equal the count of such
#   values on the source by PostgreSQL's own SQL; a warning names each column; every other
#   value is exact (compared column by column with both servers' SQL). A NaN in the numeric key
#   (ClickHouse keys cannot be NULL) stops that pipeline with an error naming the column and
#   the value. A changed row on each target must still make verify fail.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ch_require

SDB=it_special_src
TDB=it_special_dst
CDB=it_special
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
ch_fresh_db "$CDB"

src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE sv (
  id      integer PRIMARY KEY,
  n10     numeric(10,2) NOT NULL,
  n38     numeric(38,10),
  n76     numeric(76,20),
  nu      numeric,
  narr    numeric(10,2)[],
  f4      real,
  f8      double precision,
  d       date,
  ts      timestamp,
  tstz    timestamptz
);
INSERT INTO sv VALUES
  (1, 'NaN', 'NaN', 'NaN', 'NaN', '{NaN,1.50,NULL,NaN}',
      'NaN', '-Infinity', 'infinity', '-infinity', 'infinity'),
  (2, '-99999999.99', 'NaN', '1.5', 'Infinity', '{}', 'Infinity', 'NaN',
      '-infinity', 'infinity', '-infinity'),
  (3, '12.50', '-0.0000000001', '1.5', '-Infinity', '{-1.25}', 1.5, -2.5,
      '2024-02-29', '2024-02-29 12:00:00', '2024-02-29 12:00:00+00'),
  (4, 'NaN', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
-- keyed by a numeric: ClickHouse keys are never NULL
CREATE TABLE nkey (k numeric(10,2) PRIMARY KEY, v text);
INSERT INTO nkey VALUES (1.5, 'one and a half'), (2, 'two');
SQL

# How many decimal NaN/Infinity values (constrained numerics and numeric(10,2)[] elements) the
# source holds: ClickHouse stores each as NULL and verify must count exactly these.
source_specials() {
	src_sql "$SDB" "SELECT
	  (SELECT count(*) FILTER (WHERE n10 IN ('NaN', 'Infinity', '-Infinity'))
	        + count(*) FILTER (WHERE n38 IN ('NaN', 'Infinity', '-Infinity'))
	        + count(*) FILTER (WHERE n76 IN ('NaN', 'Infinity', '-Infinity')) FROM sv)
	  + (SELECT count(*) FROM sv, unnest(narr) e WHERE e IN ('NaN', 'Infinity', '-Infinity'))"
}

PG_PIPE=$TMP/special_pg.yaml
CH_PIPE=$TMP/special_ch.yaml
pipeline_file "$PG_PIPE" it_special_pg "$SDB" "$TDB" "source.tables: { include: [public.sv, public.nkey] }"
pipeline_file "$CH_PIPE" it_special_ch "$SDB" "clickhouse:$CDB" "source.tables: { include: [public.sv] }"

# ClickHouse renders its stored value, PostgreSQL the value ClickHouse should hold: decimal
# NaN/Infinity as NULL, the rest as the text ClickHouse prints (dates as text on 18.16).
CH_COLS=(id n10 n38 n76 nu narr f4 f8 d ts tstz)
pg_expect() { # COLUMN: the SQL expression of what ClickHouse should print for it
	case $1 in
		n10 | n38 | n76) echo "CASE WHEN $1 IS NULL OR $1 IN ('NaN', 'Infinity', '-Infinity') THEN '<null>' ELSE $1::text END" ;;
		narr) echo "'[' || coalesce((SELECT string_agg(CASE WHEN e IS NULL OR e IN ('NaN', 'Infinity', '-Infinity') THEN 'NULL' ELSE e::text END, ',' ORDER BY o) FROM unnest(narr) WITH ORDINALITY u(e, o)), '') || ']'" ;;
		f4 | f8) echo "CASE WHEN $1 IS NULL THEN '<null>' WHEN $1 = 'NaN' THEN 'nan' WHEN $1 = 'Infinity' THEN 'inf' WHEN $1 = '-Infinity' THEN '-inf' ELSE $1::text END" ;;
		d) echo "CASE WHEN d IS NULL THEN '<null>' WHEN isfinite(d) THEN to_char(d, 'YYYY-MM-DD') ELSE d::text END" ;;
		ts) echo "CASE WHEN ts IS NULL THEN '<null>' WHEN isfinite(ts) THEN to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US') ELSE ts::text END" ;;
		tstz) echo "CASE WHEN tstz IS NULL THEN '<null>' WHEN isfinite(tstz) THEN to_char(tstz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') ELSE tstz::text END" ;;
		*) echo "coalesce($1::text, '<null>')" ;;
	esac
}
ch_render() { # COLUMN
	case $1 in
		n10 | n38 | n76) echo "toString($1)" ;;
		narr) echo "concat('[', arrayStringConcat(arrayMap(x -> ifNull(toString(x), 'NULL'), narr), ','), ']')" ;;
		*) echo "$1" ;;
	esac
}
compare_ch() { # WHAT
	local c a b
	for c in "${CH_COLS[@]}"; do
		a=$(src_sql "$SDB" "SELECT id || ':' || ($(pg_expect "$c")) FROM sv ORDER BY id")
		b=$(ch_sql "SELECT concat(toString(id), ':', ifNull(toString($(ch_render "$c")), '<null>')) FROM $CDB.sv FINAL WHERE _sluice_deleted = 0 ORDER BY id")
		assert_eq "$a" "$b" "$1: ClickHouse column $c holds the source's values (decimal NaN/Infinity as NULL)"
	done
}

check_both() { # WHAT
	compare_table test-src "$SDB" test-dst "$TDB" public sv
	compare_table test-src "$SDB" test-dst "$TDB" public nkey
	sluice_ok verify "$PG_PIPE"
	assert_not_contains "$SL_OUT" "not representable" "$1: the PostgreSQL target holds every value"
	compare_ch "$1"
	sluice_ok verify "$CH_PIPE"
	local n
	n=$(source_specials)
	((n > 0)) || fail "$1: the source holds no decimal NaN/Infinity (test did not exercise them)"
	assert_contains "$SL_OUT" "not representable: $n numeric NaN/Infinity value(s)" \
		"$1: verify counts the values ClickHouse holds as NULL"
}

# ------------------------------------------------------------------ snapshot ---
sluice_ok run --once "$PG_PIPE"
sluice_ok run --once "$CH_PIPE"
for c in n10 n38 n76 narr; do
	assert_contains "$SL_ERR" "column $c of $CDB.sv holds numeric NaN/Infinity" \
		"snapshot: a warning names ClickHouse column $c"
done
assert_eq "Nullable(Decimal(10, 2))" "$(ch_sql "SELECT type FROM system.columns WHERE database = '$CDB' AND table = 'sv' AND name = 'n10'")" \
	"a NOT NULL numeric is Nullable in ClickHouse (NaN/Infinity land as NULL)"
check_both "snapshot"

# ----------------------------------------------------------------------- CDC ---
src_sql "$SDB" <<'SQL'
INSERT INTO sv VALUES
  (5, 'NaN', 'NaN', 'NaN', 'Infinity', '{NaN,NaN}', '-Infinity', 'Infinity',
      'infinity', 'infinity', '-infinity'),
  (6, '-1.00', '1e-10', '-1e30', '1e-300', '{0.01,NaN}', '-0', 'NaN', '0001-01-01', '0001-01-01 00:00:00', NULL);
UPDATE sv SET n10 = 'NaN', n38 = 'NaN', narr = '{NaN}' WHERE id = 3;   -- finite to special
UPDATE sv SET n10 = '7.25', n38 = '1', n76 = '2', nu = '3' WHERE id = 1; -- special to finite
UPDATE sv SET f8 = 'Infinity', d = '-infinity' WHERE id = 4;
DELETE FROM sv WHERE id = 2;
UPDATE nkey SET v = 'changed' WHERE k = 2;
INSERT INTO nkey VALUES ('NaN', 'not a number');
SQL
sluice_ok run --once "$PG_PIPE"
sluice_ok run --once "$CH_PIPE"
check_both "CDC"
assert_eq 1 "$(dst_sql "$TDB" "SELECT count(*) FROM nkey WHERE k = 'NaN'")" \
	"a numeric key NaN reaches the PostgreSQL target as a key"

# ------------------------------------------------- a special in a ClickHouse key ---
KEY_PIPE=$TMP/special_key.yaml
pipeline_file "$KEY_PIPE" it_special_key "$SDB" "clickhouse:$CDB" "source.tables: { include: [public.nkey] }"
src_sql "$SDB" "DELETE FROM nkey WHERE k = 'NaN'"
sluice_ok run --once "$KEY_PIPE"
assert_eq "Decimal(10, 2)" "$(ch_sql "SELECT type FROM system.columns WHERE database = '$CDB' AND table = 'nkey' AND name = 'k'")" \
	"a numeric key column is not Nullable in ClickHouse"
src_sql "$SDB" "INSERT INTO nkey VALUES ('NaN', 'not a number')"
sluice run --once "$KEY_PIPE"
# a NaN key stops the ClickHouse pipeline, naming the table, the column and why
assert_sluice_error nonzero "$CDB.nkey" "column k holds numeric NaN" "not Nullable"
assert_not_contains "$SL_ERR" "stored as NULL" "no warning claims the key's NaN was stored as NULL"
src_sql "$SDB" "DELETE FROM nkey WHERE k = 'NaN'"

# ------------------------------------------------------- the checks can fail ---
dst_sql "$TDB" "UPDATE sv SET n38 = 0 WHERE id = 5"
sluice verify "$PG_PIPE"
((SL_RC == 3)) || { sluice_dump; fail "verify must fail when a PostgreSQL target value changed (rc $SL_RC)"; }
assert_contains "$SL_OUT" "DIFF public.sv" "verify names the changed table"
ch_sql "INSERT INTO $CDB.sv SELECT id, n10, toDecimal128(5, 10), n76, nu, narr, f4, f8, d, ts, tstz, _sluice_version + 1, 0 FROM $CDB.sv FINAL WHERE id = 5"
sluice verify "$CH_PIPE"
((SL_RC == 3)) || { sluice_dump; fail "verify must fail when a ClickHouse value changed (rc $SL_RC)"; }
sluice_ok reset "$PG_PIPE"
sluice_ok reset "$CH_PIPE"
sluice_ok reset "$KEY_PIPE"
pass
