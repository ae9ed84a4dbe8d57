#!/usr/bin/env bash
# The README's MariaDB claims on character sets, zero dates and MariaDB's own types, through the
# snapshot and through the binlog, checked against MariaDB's own SQL:
# - utf8mb4, utf8mb3, ascii, latin1 (cp1252: '€', '‰', 'Ÿ', and the five bytes cp1252 leaves
#   undefined) and binary columns, in several collations each (the binlog names a column's
#   collation by number: _nopad_, _uca1400_ and plain ones), CHAR/VARCHAR/TEXT/ENUM/SET: the
#   target holds what MariaDB's CONVERT(col USING utf8mb4) (HEX for binary) says, row by row;
# - columns in other character sets (greek, sjis, cp1251, latin2, utf16, utf32, ucs2, also in
#   collations whose numbers lie among the supported ones') are skipped with a warning naming
#   them, and stay absent on the target after the binlog changed them;
# - zero dates ('0000-00-00', a zero month, a zero day; DATE, DATETIME, TIMESTAMP) become NULL
#   with a warning, other dates keep their value;
# - MariaDB's UUID / INET4 / INET6 columns are skipped with a warning naming them (also in the
#   binlog), the table's other columns arrive.
# The target's column types are the README's mapping (text, text[] for SET, bytea).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require

SDB=test_mycs
TDB=it_mycs_dst
my_fresh_db "$SDB"
fresh_db test-dst "$TDB"
my_sql "$SDB" <<'SQL'
CREATE TABLE cs (
  id int PRIMARY KEY,
  u4 varchar(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci,
  u4nb varchar(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  u4n5 varchar(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_nopad_ci,
  u4uc text CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_ai_ci,
  u3 varchar(40) CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci,
  u3nu char(12) CHARACTER SET utf8mb3 COLLATE utf8mb3_unicode_nopad_ci,
  u3uc varchar(40) CHARACTER SET utf8mb3 COLLATE utf8mb3_uca1400_as_cs,
  a varchar(40) CHARACTER SET ascii COLLATE ascii_general_ci,
  anb varchar(40) CHARACTER SET ascii COLLATE ascii_nopad_bin,
  l1 varchar(40) CHARACTER SET latin1 COLLATE latin1_swedish_ci,
  l1nb text CHARACTER SET latin1 COLLATE latin1_nopad_bin,
  l1g char(8) CHARACTER SET latin1 COLLATE latin1_german1_ci,
  l1e enum('café', '€uro', 'plain') CHARACTER SET latin1,
  l1s set('é', '€', 'x') CHARACTER SET latin1,
  u4e enum('ünï', '✓', '🎉') CHARACTER SET utf8mb4,
  bi varbinary(12),
  bc binary(4),
  bb blob,
  -- other character sets: skipped
  gr varchar(10) CHARACTER SET greek,
  sj varchar(10) CHARACTER SET sjis,
  cy varchar(10) CHARACTER SET cp1251,
  l2 varchar(10) CHARACTER SET latin2 COLLATE latin2_nopad_bin,
  u16 varchar(10) CHARACTER SET utf16 COLLATE utf16_nopad_bin,
  u16le varchar(10) CHARACTER SET utf16le COLLATE utf16le_general_nopad_ci,
  u16uc varchar(10) CHARACTER SET utf16 COLLATE utf16_uca1400_ai_ci,
  u32 varchar(10) CHARACTER SET utf32,
  ucs varchar(10) CHARACTER SET ucs2 COLLATE ucs2_uca1400_ai_ci,
  ar varchar(10) CHARACTER SET cp1256 COLLATE cp1256_general_nopad_ci
);
CREATE TABLE z (id int PRIMARY KEY, d date, dtm datetime, dtm6 datetime(6), ts timestamp NULL DEFAULT NULL);
CREATE TABLE ui (id int PRIMARY KEY, u uuid, v varchar(10), i4 inet4, i6 inet6);
SQL
SKIPPED="gr sj cy l2 u16 u16le u16uc u32 ucs ar"

cs_rows() { # ID-OFFSET
	local o=$1
	cat <<SQL
INSERT INTO cs VALUES
 ($((o+1)), 'Grüße 🎉 𝄞', 'nopad 🎉 ', 'ü520 ✓', 'uca 𝄞 ß', 'mb3 ✓ ü', 'mb3 pad', 'ⅰⅱⅲ €',
  'plain ~ ascii', 'nopad ', 'café € ‰ ™ œ Ÿ', CONCAT(_latin1'raw ', _latin1 X'80818D8F909D9EFF'), 'ß€',
  '€uro', 'é,€', '🎉', X'00FF80', X'61', X'0001FEFF',
  'αβγ', 'ｱｲｳ', 'жук', 'čšž', 'utf16 ✓', 'le ✓', 'uca ✓', 'u32 🎉', 'ucs2 ✓', 'عربي'),
 ($((o+2)), '', '', '', '', '', '', '', '', '', '', '', '', 'café', '', 'ünï', X'', X'00000000', X'',
  '', '', '', '', '', '', '', '', '', ''),
 ($((o+3)), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SQL
}
z_rows() { # ID-OFFSET
	local o=$1
	cat <<SQL
SET SESSION sql_mode = '';
INSERT INTO z VALUES
 ($((o+1)), '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00.000000', '0000-00-00 00:00:00'),
 ($((o+2)), '2024-00-15', '2024-00-15 10:00:00', '2024-05-00 01:02:03.456789', '2024-05-06 07:08:09'),
 ($((o+3)), '2024-05-00', '2024-05-06 00:00:00', '2024-00-00 00:00:00.5', NULL),
 ($((o+4)), '2024-05-06', '1000-01-01 00:00:00', '9999-12-31 23:59:59.999999', '1970-01-01 00:00:01'),
 ($((o+5)), NULL, NULL, NULL, NULL);
SQL
}
ui_rows() { # ID-OFFSET
	local o=$1
	cat <<SQL
INSERT INTO ui VALUES
 ($((o+1)), '123e4567-e89b-12d3-a456-426655440000', 'one', '10.1.2.3', '2001:db8::1'),
 ($((o+2)), NULL, 'two', NULL, '::ffff:1.2.3.4');
SQL
}

# ------------------------------------------------------------ expectations ---
# As in test_my_types.sh (lib.sh: my_chk_table, my_chk_col, my_check_values): MY-EXPR renders
# the MariaDB value as utf8mb4 text with MariaDB's own SQL, PG-EXPR the target's value ({} is
# the column); the md5 of both must be equal row by row.
U8='CONVERT({} USING utf8mb4)'
HEXB='LOWER(HEX({}))' PGHEX="encode({}, 'hex')"
MYSET="CONCAT(CONVERT({} USING utf8mb4), '#', IF({} = '', 0, LENGTH({}) - LENGTH(REPLACE({}, ',', '')) + 1))"
PGSET="array_to_string({}, ',') || '#' || cardinality({})"
# a zero date (zero month or day) is NULL on the target; others their value
ZD="IF(MONTH({}) = 0 OR DAYOFMONTH({}) = 0, NULL, CAST({} AS CHAR))"
US="to_char({}, 'YYYY-MM-DD HH24:MI:SS.US')"

my_chk_table cs
my_chk_col id integer "$U8"
for c in u4 u4nb u4n5 u4uc u3 u3nu u3uc a anb l1 l1nb l1g l1e; do my_chk_col "$c" text "$U8"; done
my_chk_col l1s 'text[]' "$MYSET" "$PGSET"
my_chk_col u4e text "$U8"
my_chk_col bi bytea "$HEXB" "$PGHEX"
my_chk_col bc bytea "$HEXB" "$PGHEX"
my_chk_col bb bytea "$HEXB" "$PGHEX"

my_chk_table z
my_chk_col id integer "$U8"
my_chk_col d date "$ZD" "to_char({}, 'YYYY-MM-DD')"
my_chk_col dtm 'timestamp without time zone' "$ZD" "to_char({}, 'YYYY-MM-DD HH24:MI:SS')"
my_chk_col dtm6 'timestamp without time zone' "$ZD" "$US"
my_chk_col ts 'timestamp with time zone' "$ZD" "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"

my_chk_table ui
my_chk_col id integer "$U8"
my_chk_col v text "$U8"

check_types() { my_check_types "$SDB" "$TDB" "$1" "skipped columns absent"; } # WHAT
check_values() { my_check_values "$SDB" "$TDB" "$1"; }                       # WHAT

# A warning names each skipped column as its table's column and says it is skipped.
check_skip_warnings() { # WHAT STDERR
	local c line
	for c in $SKIPPED; do
		line=$(grep -F "column $SDB.cs.$c " <<<"$2" || true)
		assert_contains "$line" "skipped" "$1: a warning says column cs.$c (another character set) is skipped"
	done
	for c in u i4 i6; do
		line=$(grep -F "column $SDB.ui.$c " <<<"$2" || true)
		assert_contains "$line" "skipped" "$1: a warning says MariaDB's own-type column ui.$c is skipped"
	done
}

# ---------------------------------------------------------------- snapshot ---
{ cs_rows 0; z_rows 0; ui_rows 0; } | my_sql "$SDB"
# the rows are what the checks below assume: MariaDB stored the zero dates and the cp1252 text
assert_eq "3" "$(my_sql "$SDB" -e "SELECT count(*) FROM z WHERE MONTH(d) = 0 OR DAYOFMONTH(d) = 0")" "MariaDB holds zero dates"
assert_eq "café € ‰ ™ œ Ÿ" "$(my_sql "$SDB" -e "SELECT CONVERT(l1 USING utf8mb4) FROM cs WHERE id = 1")" "MariaDB holds the cp1252 text"
PIPE=$TMP/cs.yaml
{
	echo "name: it_mycs"
	echo "source: { type: mysql, url: '$(my_url)$SDB', password: '\${SL_MY_PASSWORD}' }"
	echo "target: { type: postgres, url: 'postgres://sluice@127.0.0.1:$(port_of test-dst)/$TDB', password: '\${SL_PG_PASSWORD}' }"
	echo "state: { url: 'sqlite://$TMP/cs.state.db' }"
} >"$PIPE"
sluice_ok run --once "$PIPE"
check_skip_warnings "snapshot" "$SL_ERR"
assert_contains "$(grep -F 'zero dates' <<<"$SL_ERR" || true)" "$SDB.z." "snapshot: a warning says table z holds zero dates written as NULL"
check_types "snapshot"
check_values "snapshot"
assert_eq "4" "$(dst_sql "$TDB" "SELECT count(*) FROM $SDB.z WHERE d IS NULL")" "snapshot: the three zero dates (and the NULL) are NULL"
log "snapshot: ok"

# ---------------------------------------------------------------- binlog ---
{ cs_rows 100; z_rows 100; ui_rows 100; } | my_sql "$SDB"
my_sql "$SDB" <<'SQL'
SET SESSION sql_mode = '';
UPDATE cs SET u4 = 'neu ✓', u4nb = 'x', u4n5 = 'y', u4uc = 'z', u3 = 'ä', u3nu = 'ö', u3uc = 'ü', a = 'A', anb = 'B',
  l1 = 'Š€ž', l1nb = _latin1 X'8081', l1g = 'ÿ', l1e = 'plain', l1s = 'x,€', u4e = '✓', bi = X'FF', bc = X'FFFFFFFF',
  bb = X'0A0B', gr = 'ω', sj = 'ｴ', cy = 'я', l2 = 'ř', u16 = 'x', u16le = 'y', u16uc = 'z', u32 = 'w', ucs = 'v', ar = 'ب'
  WHERE id IN (2, 103);
DELETE FROM cs WHERE id = 3;
UPDATE z SET d = '0000-00-00', dtm = '2024-01-00 00:00:00', dtm6 = '2024-01-02 03:04:05.6', ts = '0000-00-00 00:00:00' WHERE id = 4;
UPDATE z SET d = '2024-06-07', dtm = '2024-06-07 08:09:10' WHERE id = 1;
UPDATE ui SET u = UUID(), i4 = '192.168.0.1', i6 = '::1', v = 'upd' WHERE id IN (1, 102);
SQL
sluice_ok run --once "$PIPE"
CDC_ERR=$SL_ERR
assert_contains "$(grep -F 'zero dates' <<<"$CDC_ERR" || true)" "$SDB.z." "binlog: a warning says table z holds zero dates written as NULL"
check_types "binlog"
check_values "binlog"
assert_eq "4" "$(dst_sql "$TDB" "SELECT count(*) FROM $SDB.z WHERE id > 100 AND d IS NULL")" "binlog: the three zero dates (and the NULL) are NULL"
assert_eq "" "$(dst_sql "$TDB" "SELECT string_agg(d::text || dtm::text, ',') FROM $SDB.z WHERE id = 4")" "binlog: an update to zero dates writes NULL"
sluice_ok verify "$PIPE"
assert_not_contains "$SL_OUT" "DIFF" "verify agrees"
pass
