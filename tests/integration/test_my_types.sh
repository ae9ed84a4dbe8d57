#!/usr/bin/env bash
# Every type of the README's MySQL type table, with edge values, through the snapshot (text
# protocol) and through the binlog (row images): unsigned maxima, 65-digit decimals, zero and
# negative TIME, microsecond DATETIME/TIMESTAMP, YEAR, BIT, 4-byte UTF-8, empty SET, ENUM, JSON,
# binary types, NULLs, generated columns, latin1 text; a spatial column is skipped with a
# warning. Checked against MariaDB itself, not against sluice:
# - the target's column types (format_type) are the README's mapping, written out below;
# - every column of every table, row by row (ordered by key): MariaDB renders its value with its
#   own SQL (CAST, HEX, BIN, CONVERT, MD5 ...), PostgreSQL renders the target's value, and the
#   md5 of both renderings must be equal; JSON is compared as PostgreSQL's jsonb text of
#   MariaDB's document, floats as the float8 PostgreSQL parses from MariaDB's shortest digits;
# after the snapshot, after the same rows arrive through the binlog (and a 12 MB value), and
# after updates that change every column (values to NULL and back, a key change, deletes).
# The same rows inserted before the snapshot (ids < 100) and after it (ids >= 100) must also
# land identically; `sluice verify` must agree.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname -- "${BASH_SOURCE[0]}")/my_type_corpus.sh"
my_require

SDB=test_mytypes
TDB=it_mytypes_dst
my_fresh_db "$SDB"
fresh_db test-dst "$TDB"
my_corpus_ddl | my_sql "$SDB"
my_sql "$SDB" <<'SQL'
-- generated columns (virtual: not stored, still in the row images) and latin1 text (cp1252 in
-- the binlog, converted to UTF-8), BINARY padding
CREATE TABLE g (id int PRIMARY KEY, a int, b int AS (a * 2) VIRTUAL, c int AS (a + 1) PERSISTENT);
CREATE TABLE l (id int PRIMARY KEY, s varchar(20) CHARACTER SET latin1, c char(5) CHARACTER SET latin1, b binary(4));
INSERT INTO g (id, a) VALUES (1, 10), (2, 20);
INSERT INTO l VALUES (1, 'café €', 'é', 'a');
SQL


# ------------------------------------------------------------ expectations ---
# `my_chk_table NAME`, then per column: `my_chk_col NAME PG-TYPE MY-EXPR PG-EXPR [NORM]` (lib.sh).
# PG-TYPE is the README's mapping (format_type on the target). MY-EXPR renders the MariaDB value
# as text with MariaDB's SQL (session time_zone +00:00), PG-EXPR renders the target value as text
# ({} is the column); NORM, when given, is a PostgreSQL expression applied to MariaDB's text ({} =
# that text) before hashing: PostgreSQL's parser normalises what has no common spelling (jsonb
# key order and spacing, float digits). "-" means the default (CAST({} AS CHAR) / {}::text).
HEXB='LOWER(HEX({}))' PGHEX="encode({}, 'hex')"
F8='({})::float8::text'
# TIME(3): MariaDB writes 3 digits, PostgreSQL's interval drops trailing zeros
TRIMF="IF({} LIKE '%.%', TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST({} AS CHAR))), CAST({} AS CHAR))"
US="to_char({}, 'YYYY-MM-DD HH24:MI:SS.US')"
# a SET: its members and their count ('' is none), a text[] the same
MYSET="CONCAT({}, '#', IF({} = '', 0, LENGTH({}) - LENGTH(REPLACE({}, ',', '')) + 1))"
PGSET="array_to_string({}, ',') || '#' || cardinality({})"

my_chk_table t
my_chk_col id integer
my_chk_col i8 smallint
my_chk_col u8 smallint
my_chk_col i16 smallint
my_chk_col u16 integer
my_chk_col i24 integer
my_chk_col u24 bigint
my_chk_col i32 integer
my_chk_col u32 bigint
my_chk_col i64 bigint
my_chk_col u64 numeric
my_chk_col f32 real 'CAST(CAST({} AS DOUBLE) AS CHAR)' '{}::float8::text' "$F8"
my_chk_col f64 'double precision' - - "$F8"
my_chk_col d10 'numeric(10,2)'
my_chk_col d38 'numeric(38,10)'
my_chk_col d65 'numeric(65,30)'
my_chk_col d65i 'numeric(65,0)'
my_chk_col c text '{}' '{}'
my_chk_col vc text '{}' '{}'
my_chk_col tx text '{}' '{}'
my_chk_col mt text 'MD5({})' 'md5({})' # the 12 MB value: its digest
my_chk_col en text - '{}'
my_chk_col st 'text[]' "$MYSET" "$PGSET"
my_chk_col js jsonb '{}' - '({})::jsonb::text'
my_chk_col bn bytea "$HEXB" "$PGHEX"
my_chk_col vb bytea "$HEXB" "$PGHEX"
my_chk_col bl bytea "$HEXB" "$PGHEX"
my_chk_col b1 text "LPAD(BIN({}), 1, '0')" '{}'
my_chk_col b4 text "LPAD(BIN({}), 4, '0')" '{}'
my_chk_col b64 text "LPAD(BIN({}), 64, '0')" '{}'
my_chk_col dt date - "to_char({}, 'YYYY-MM-DD')"
my_chk_col tm0 interval # IntervalStyle postgres: hours unbounded (-838:59:59)
my_chk_col tm3 interval "$TRIMF"
my_chk_col tm6 text - '{}'
my_chk_col dtm 'timestamp without time zone' - "$US"
my_chk_col ts 'timestamp with time zone' - "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
my_chk_col yr integer 'CAST(CAST({} AS UNSIGNED) AS CHAR)'
# geo: skipped (spatial), absent on the target

my_chk_table g
my_chk_col id integer
my_chk_col a integer
my_chk_col b integer
my_chk_col c integer

my_chk_table l
my_chk_col id integer
my_chk_col s text 'CONVERT({} USING utf8mb4)' '{}'
my_chk_col c text 'CONVERT({} USING utf8mb4)' '{}'
my_chk_col b bytea "$HEXB" "$PGHEX"

MY_CHK_PG_SET="SET IntervalStyle = postgres; SET DateStyle = ISO; SET extra_float_digits = 1;"

# check_types / check_values WHAT: lib.sh's my_check_types / my_check_values on this test's
# databases; the skipped spatial column is absent.
check_types() { my_check_types "$SDB" "$TDB" "$1" "README's MySQL mapping"; }
check_values() { my_check_values "$SDB" "$TDB" "$1"; }

# ---------------------------------------------------------------- snapshot ---
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
assert_contains "$(grep 'geo' <<<"$SL_ERR" || true)" "skipped" "a warning names the skipped spatial column geo"
check_types "snapshot"
check_values "snapshot"
log "snapshot: types and values equal MariaDB's"

# ------------------------------------------------- the same rows via the binlog ---
my_sql "$SDB" < <(rows 100)
# a 12 MB value through the binlog (one row event bigger than a default client packet)
my_sql "$SDB" -e "INSERT INTO t (id, mt) VALUES (500, REPEAT('é', 6000000))"
my_sql "$SDB" -e "INSERT INTO g (id, a) VALUES (3, 30); UPDATE g SET a = 11 WHERE id = 1;
  INSERT INTO l VALUES (2, 'naïve ™ œ', 'ü', 'ab'); UPDATE l SET s = CONCAT(s, '!') WHERE id = 1"
my_sql "$SDB" -e "UPDATE t SET u64 = u64 - 1, d65 = -d65, st = '', tm6 = '-01:02:03.4', js = '{\"u\": \"é\"}' WHERE id IN (1, 101)"
sluice_ok run --once "$PIPE"
check_types "binlog inserts"
check_values "binlog inserts"

q() { dst_sql "$TDB" "$1"; }
# snapshot rows (2..4) and binlog rows (102..104) are identical, column by column
diff_rows=$(q "SELECT count(*) FROM $SDB.t a JOIN $SDB.t b ON b.id = a.id + 100
  WHERE a.id > 1 AND (to_jsonb(a) - 'id') IS DISTINCT FROM (to_jsonb(b) - 'id')")
assert_eq 0 "$diff_rows" "snapshot and binlog give identical values for identical rows"
assert_eq 9 "$(q "SELECT count(*) FROM $SDB.t")" "all rows arrived"
assert_eq "12000000 6000000" "$(q "SELECT octet_length(mt) || ' ' || length(mt) FROM $SDB.t WHERE id = 500")" \
	"a 12 MB MEDIUMTEXT value arrives whole"
# values written out independently of both servers (the README's examples)
assert_eq "0101" "$(q "SELECT b4 FROM $SDB.t WHERE id = 101")" "BIT(4) b'0101' is the bit string 0101"
assert_eq "{}" "$(q "SELECT st::text FROM $SDB.t WHERE id = 102")" "empty SET is an empty array"
assert_eq "-838:59:59" "$(q "SELECT tm0::text FROM $SDB.t WHERE id = 101")" "TIME -838:59:59 as an interval"
assert_eq "café €!|naïve ™ œ" "$(q "SELECT string_agg(s, '|' ORDER BY id) FROM $SDB.l")" "latin1 (cp1252) text through snapshot and binlog"
assert_eq "\\x61620000" "$(q "SELECT b FROM $SDB.l WHERE id = 2")" "BINARY(4) keeps its zero padding from the binlog"

# ---------------------------------------------- every column changed via the binlog ---
# rows 1 and 103 (NULLs) take new values in every column, rows 4 and 102 become NULL in every
# column, row 103 then changes its key, row 2 is deleted, row 105 inserted.
NEW="i8 = -1, u8 = 128, i16 = -1, u16 = 32768, i24 = -1, u24 = 8388608, i32 = -1, u32 = 2147483648,
  i64 = -1, u64 = 12345, f32 = 123.456, f64 = -2.2250738585072014e-308, d10 = 12345678.90,
  d38 = -1234567890123456789012345678.0123456789, d65 = 1.5, d65i = -12345678901234567890,
  c = 'ÿ€', vc = 'x', tx = 'new', mt = 'newm', en = 'medium', st = 'b,d', js = '{\"upd\": [true, false, 1e2]}',
  bn = X'01', vb = X'FF00', bl = X'00', b1 = b'0', b4 = b'1111', b64 = b'1', dt = '2000-02-29',
  tm0 = '-00:00:01', tm3 = '00:00:00.001', tm6 = '838:59:59.000000', dtm = '1970-01-01 00:00:00.5',
  ts = '2024-06-30 12:34:56.789012', yr = 1902, geo = POINT(3, 4)"
NULLS="i8 = NULL, u8 = NULL, i16 = NULL, u16 = NULL, i24 = NULL, u24 = NULL, i32 = NULL, u32 = NULL,
  i64 = NULL, u64 = NULL, f32 = NULL, f64 = NULL, d10 = NULL, d38 = NULL, d65 = NULL, d65i = NULL,
  c = NULL, vc = NULL, tx = NULL, mt = NULL, en = NULL, st = NULL, js = NULL, bn = NULL, vb = NULL,
  bl = NULL, b1 = NULL, b4 = NULL, b64 = NULL, dt = NULL, tm0 = NULL, tm3 = NULL, tm6 = NULL,
  dtm = NULL, ts = NULL, yr = NULL, geo = NULL"
my_sql "$SDB" -e "UPDATE t SET $NEW WHERE id IN (1, 103); UPDATE t SET $NULLS WHERE id IN (4, 102);
  UPDATE t SET id = 120 WHERE id = 103; DELETE FROM t WHERE id = 2;
  INSERT INTO t (id, i8, vc, js, dt) VALUES (105, 5, 'five', '{}', '2025-05-05');
  UPDATE g SET a = -5 WHERE id = 2; DELETE FROM g WHERE id = 3;
  UPDATE l SET s = 'Š€ž‰', c = 'ÿ', b = X'FFFFFFFF' WHERE id = 1"
sluice_ok run --once "$PIPE"
check_types "binlog updates"
check_values "binlog updates"
assert_eq "1 3 4 101 102 104 105 120 500" "$(q "SELECT string_agg(id::text, ' ' ORDER BY id) FROM $SDB.t")" \
	"the key change and the delete reached the target"

sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "ok " "verify compared the table"
assert_not_contains "$SL_OUT" "DIFF" "verify: every value equals the source's"
pass
