#!/usr/bin/env bash
# Every type of the spec's MySQL table, with edge values, through the snapshot (text protocol)
# and through the binlog (row images): unsigned maxima, 65-digit decimals, zero and negative
# TIME, microsecond DATETIME/TIMESTAMP, YEAR, BIT, 4-byte UTF-8, empty SET, ENUM, JSON, binary
# types, NULLs; a spatial column is skipped with a warning. The same rows inserted before the
# snapshot (ids < 100) and after it (ids >= 100) must land identically; `sluice verify` compares
# every value with the source; the PostgreSQL column types follow the spec's target table.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require

SDB=test_mytypes
TDB=it_mytypes_dst
my_fresh_db "$SDB"
fresh_db test-dst "$TDB"
my_sql "$SDB" <<'SQL'
CREATE TABLE t (
  id int PRIMARY KEY,
  i8 tinyint, u8 tinyint unsigned, i16 smallint, u16 smallint unsigned,
  i24 mediumint, u24 mediumint unsigned, i32 int, u32 int unsigned,
  i64 bigint, u64 bigint unsigned,
  f32 float, f64 double,
  d10 decimal(10,2), d38 decimal(38,10), d65 decimal(65,30), d65i decimal(65,0),
  c char(10), vc varchar(300), tx text, mt mediumtext,
  en enum('small','medium','large'), st set('a','b','c','d'),
  js json,
  bn binary(4), vb varbinary(20), bl blob,
  b1 bit(1), b4 bit(4), b64 bit(64),
  dt date, tm0 time, tm3 time(3), tm6 time(6),
  dtm datetime(6), ts timestamp(6) NULL DEFAULT NULL, yr year,
  geo point NULL
);
-- generated columns (virtual: not stored, still in the row images) and latin1 text (cp1252 in
-- the binlog, converted to UTF-8), BINARY padding
CREATE TABLE g (id int PRIMARY KEY, a int, b int AS (a * 2) VIRTUAL, c int AS (a + 1) PERSISTENT);
CREATE TABLE l (id int PRIMARY KEY, s varchar(20) CHARACTER SET latin1, c char(5) CHARACTER SET latin1, b binary(4));
INSERT INTO g (id, a) VALUES (1, 10), (2, 20);
INSERT INTO l VALUES (1, 'café €', 'é', 'a');
SQL

rows() { # ID-OFFSET
	local o=$1
	cat <<SQL
INSERT INTO t VALUES
 ($((o+1)), -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
  -9223372036854775808, 18446744073709551615,
  3.40282e38, 1.7976931348623157e308,
  -99999999.99, 9999999999999999999999999999.9999999999,
  -99999999999999999999999999999999999.999999999999999999999999999999,
  99999999999999999999999999999999999999999999999999999999999999999,
  'chars', 'Grüße 🎉 𝄞 ✓', REPEAT('long text ', 200), '', 'large', 'a,c', '{"k": [1, 2.5, "x"], "n": null, "b": true}',
  X'00FF0001', X'DEADBEEF', X'000102',
  b'1', b'0101', b'1111111111111111111111111111111111111111111111111111111111111111',
  '2024-02-29', '-838:59:59', '838:59:59.999', '-00:00:01.000001',
  '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07.999999', 2155, POINT(1, 2)),
 ($((o+2)), 127, 0, 32767, 0, 8388607, 0, 2147483647, 0,
  9223372036854775807, 0,
  -1.17549e-38, -4.9e-324,
  0.01, -0.0000000001, 0.000000000000000000000000000001, -1,
  '', '', NULL, NULL, 'small', '', '[]',
  X'00000000', X'', X'',
  b'0', b'0000', b'0',
  '1000-01-01', '00:00:00', '-12:30:00.5', '123:45:06.000007',
  '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000000', 1901, NULL),
 ($((o+3)), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 ($((o+4)), 0, 1, 0, 1, 0, 1, 0, 1, 0, 9223372036854775808,
  0.1, 0.1, 0, 0, 0, 0, 'x', 'tab	and
newline', 'quote '' and \\\\ backslash', 'm', 'medium', 'a,b,c,d', '{"z": 1, "a": {"nested": [{}]}}',
  X'61000000', X'00', X'FF',
  b'1', b'1000', b'1000000000000000000000000000000000000000000000000000000000000000',
  '9999-12-31', '-00:00:00', '00:00:00.001', '-838:59:59.000000',
  '9999-12-31 23:59:59.999999', '2000-01-01 00:00:00.000001', 0, NULL);
SQL
}

my_sql "$SDB" < <(rows 0)
PIPE=$TMP/types.yaml
{
	echo "name: it_mytypes"
	echo "source: { type: mysql, url: '$(my_url)$SDB', password: '\${SL_MY_PASSWORD}' }"
	echo "target: { type: postgres, url: 'postgres://sluice@127.0.0.1:$(port_of test-dst)/$TDB', password: '\${SL_PG_PASSWORD}' }"
	echo "snapshot: { parallelism: 2 }"
	echo "state: { url: 'sqlite://$TMP/types.state.db' }"
} >"$PIPE"
sluice_ok run --once "$PIPE"
assert_contains "$SL_ERR" "geo" "the spatial column is named in a warning"
assert_contains "$SL_ERR" "skipped" "the spatial column is skipped"

# the same rows through the binlog, then updates of every column through the binlog
my_sql "$SDB" < <(rows 100)
# a 12 MB value through the binlog (one row event bigger than a default client packet)
my_sql "$SDB" -e "INSERT INTO t (id, mt) VALUES (500, REPEAT('é', 6000000))"
my_sql "$SDB" -e "INSERT INTO g (id, a) VALUES (3, 30); UPDATE g SET a = 11 WHERE id = 1;
  INSERT INTO l VALUES (2, 'naïve ™ œ', 'ü', 'ab'); UPDATE l SET s = CONCAT(s, '!') WHERE id = 1"
my_sql "$SDB" -e "UPDATE t SET u64 = u64 - 1, d65 = -d65, st = '', tm6 = '-01:02:03.4', js = '{\"u\": \"é\"}' WHERE id IN (1, 101)"
sluice_ok run --once "$PIPE"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "ok " "verify compared the table"
assert_not_contains "$SL_OUT" "DIFF" "verify: every value equals the source's"

q() { dst_sql "$TDB" "$1"; }
# snapshot rows (1..4) and binlog rows (101..104) are identical, column by column
diff_rows=$(q "SELECT count(*) FROM $SDB.t a JOIN $SDB.t b ON b.id = a.id + 100
  WHERE a.id > 1 AND (to_jsonb(a) - 'id') IS DISTINCT FROM (to_jsonb(b) - 'id')")
assert_eq 0 "$diff_rows" "snapshot and binlog give identical values for identical rows"
assert_eq 9 "$(q "SELECT count(*) FROM $SDB.t")" "all rows arrived"
assert_eq "12000000 6000000" "$(q "SELECT octet_length(mt) || ' ' || length(mt) FROM $SDB.t WHERE id = 500")" \
	"a 12 MB MEDIUMTEXT value arrives whole"

# types on the target, per the spec's PostgreSQL target table
types=$(q "SELECT string_agg(column_name || ':' || data_type, ' ' ORDER BY ordinal_position)
  FROM information_schema.columns WHERE table_schema = '$SDB' AND table_name = 't'")
for want in i8:smallint u8:smallint u16:integer u32:bigint u64:numeric f32:real f64:'double precision' \
	d65:numeric js:jsonb st:ARRAY bn:bytea b4:text tm0:interval tm6:text dt:date \
	dtm:'timestamp without time zone' ts:'timestamp with time zone' yr:integer en:text; do
	assert_contains "$types" "$want" "target type $want"
done
assert_not_contains "$types" "geo:" "the spatial column is not on the target"

# values MariaDB prints the same way PostgreSQL does
for col in u64 i64 u32 i32 d65 d65i d38 d10 vc c tx dt; do
	a=$(my_sql "$SDB" -e "SELECT COALESCE(CAST($col AS CHAR), 'NULL') FROM t ORDER BY id" | md5sum)
	b=$(q "COPY (SELECT COALESCE($col::text, 'NULL') FROM $SDB.t ORDER BY id) TO STDOUT" | md5sum)
	assert_eq "$a" "$b" "column $col prints the same on both sides"
done
assert_eq "0101" "$(q "SELECT b4 FROM $SDB.t WHERE id = 101")" "BIT(4) b'0101' is the bit string 0101"
assert_eq "{a,b,c,d}" "$(q "SELECT st::text FROM $SDB.t WHERE id = 104")" "SET 'a,b,c,d' is an array"
assert_eq "{}" "$(q "SELECT st::text FROM $SDB.t WHERE id = 102")" "empty SET is an empty array"
assert_eq "-838:59:59" "$(q "SELECT tm0::text FROM $SDB.t WHERE id = 101")" "TIME -838:59:59 as an interval"
assert_eq "123:45:06.000007" "$(q "SELECT tm6 FROM $SDB.t WHERE id = 102")" "TIME(6) keeps microseconds as text"
assert_eq "-01:02:03.400000" "$(q "SELECT tm6 FROM $SDB.t WHERE id = 101")" "TIME(6) updated through the binlog"
assert_eq "-12:30:00.5" "$(q "SELECT tm3::text FROM $SDB.t WHERE id = 102")" "TIME(3) -12:30:00.5"
assert_eq "2024-02-29 23:59:59.999999" "$(q "SELECT dtm::text FROM $SDB.t WHERE id = 101")" "DATETIME(6) microseconds"
assert_eq "Grüße 🎉 𝄞 ✓" "$(q "SELECT vc FROM $SDB.t WHERE id = 101")" "4-byte UTF-8"
assert_eq "1 11 22 12|2 20 40 21|3 30 60 31" "$(q "SELECT string_agg(concat_ws(' ', id, a, b, c), '|' ORDER BY id) FROM $SDB.g")" \
	"generated columns (virtual and stored) arrive with their values"
assert_eq "café €!|naïve ™ œ" "$(q "SELECT string_agg(s, '|' ORDER BY id) FROM $SDB.l")" "latin1 (cp1252) text through snapshot and binlog"
assert_eq "\\x61620000" "$(q "SELECT b FROM $SDB.l WHERE id = 2")" "BINARY(4) keeps its zero padding from the binlog"
pass
