#!/usr/bin/env bash
# Change capture in pgoutput's text mode (a column the stream cannot send in binary -- interval,
# inet, timetz, a range -- switches the whole stream to text): every other column keeps its Arrow
# type (text values parsed, edge values of every type), ranges arrive as the snapshot's JSON
# object, inet as the snapshot's text; into PostgreSQL and into ClickHouse (whose typed columns
# refuse a shape that turned to text). Inserts, updates, a key change, deletes, a keyless table.
# Besides `sluice verify` (which shares sluice's type code), every case is compared by the
# servers' own SQL: PostgreSQL source vs PostgreSQL target with compare_table (format_type of
# every column, primary key, md5 of the rows' text) after the snapshot and after CDC; ClickHouse
# column by column and row by row (FINAL, live rows): ClickHouse renders its stored value,
# PostgreSQL renders the source value the way the README's ClickHouse type table says it is
# held (18.16's fallbacks), and the md5 of both must be equal; the ClickHouse column types are
# that table's, written out below.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_txt_src
TDB=it_txt_dst
CDB=it_txt_ch
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE t (
  id int PRIMARY KEY, iv interval, ip inet, n numeric(12,2), big bigint, ts timestamptz, tsn timestamp,
  d date, tm time, arr int[], narr numeric(10,2)[], tsarr timestamptz[], m money, f4 real, f8 float8,
  b bytea, u uuid, j jsonb, js json, txt text, bo bool, ipa inet[], iva interval[], nu numeric,
  tz timetz, lsn pg_lsn, o oid, sm smallint, tarr text[], barr bytea[], darr date[], vc varchar(10), ch char(4),
  r4 int4range, rn numrange, rtz tstzrange, rts tsrange, rd daterange);
CREATE TABLE k (a int, b text);
ALTER TABLE k REPLICA IDENTITY FULL;
INSERT INTO t VALUES (1, '1 day 02:00:00', '10.0.0.1', 12.34, 42, '2024-01-01 00:00:00+00', '2024-01-01 12:00:00',
  '2024-02-29', '12:34:56.789', '{1,NULL,3}', '{1.00,NULL}', '{"2024-01-01 00:00:00+00",infinity}', '12.34', 1.5, 0.1,
  '\x00ff', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 1}', '{"b" : 2}', 'text', true, '{10.0.0.1,::1/128}',
  '{"1 day","-1 mon"}', 123.4500, '12:00:00+05:30', '16/B374D848', 7, -32768, '{a,"b c",NULL,"NULL"}', ARRAY['\x01'::bytea, NULL],
  '{2024-01-01,infinity}', 'vc', 'ab', '[1,10)', '[1.50,2.25]', '[2024-01-01 10:00:00.5+00,infinity)',
  '("2024-01-01 10:00","2024-02-01")', '[2024-01-01,)');
INSERT INTO k VALUES (1, 'a'), (1, 'a'), (2, NULL);
SQL

# ------------------------------------------- ClickHouse renderers and expectations ---
# How ClickHouse holds each value, rendered by PostgreSQL: lib.sh's ch_renderers (functions in
# schema chk of the source database, as in test_ch_types.sh; sluice replicates tables only), in
# the settings of sluice's source sessions ($CH_PG_SET): dates / timestamps / times as 18.16's
# String fallbacks ('YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC, a time on 1970-01-01),
# arrays as ClickHouse prints them, floats by their bits, ranges as the README's JSON object;
# money as Int64 cents, pg_lsn as UInt64 (below).
ch_renderers "$SDB"

# `ch_chk_table PG-TABLE CH-TABLE [KEY-COLUMN]` (none: keyless), then `ch_chk_col NAME
# CLICKHOUSE-TYPE [CH-EXPR [PG-EXPR]]` per source column (lib.sh): the README's ClickHouse type of
# the column's Arrow type, Nullable unless a key column, with 18.16's fallbacks; CH-EXPR renders
# the stored value in ClickHouse (default toString({})), PG-EXPR the source value as ClickHouse
# should hold it (default {}::text).
F32='toString(reinterpretAsUInt32(reinterpretAsString({})))'
F64='toString(reinterpretAsUInt64(reinterpretAsString({})))'
OUT='CASE WHEN {} IS NOT NULL THEN concat({}) END' # char(n) with its padding
S='Nullable(String)'

ch_chk_table t t id
ch_chk_col id Int32
ch_chk_col iv "$S"
ch_chk_col ip "$S"
ch_chk_col n 'Nullable(Decimal(12, 2))'
ch_chk_col big 'Nullable(Int64)'
ch_chk_col ts "$S" - 'chk.tstz({})'
ch_chk_col tsn "$S" - 'chk.ts({})'
ch_chk_col d "$S" - 'chk.d({})'
ch_chk_col tm "$S" - 'chk.time({})'
ch_chk_col arr 'Array(Nullable(Int32))' - 'chk.arr({}::text[])'
ch_chk_col narr 'Array(Nullable(Decimal(10, 2)))' - 'chk.arr({}::text[])'
ch_chk_col tsarr 'Array(Nullable(String))' - 'chk.qarr(chk.tstz_arr({}))'
ch_chk_col m 'Nullable(Int64)' - '({}::numeric * 100)::bigint::text'
ch_chk_col f4 'Nullable(Float32)' "$F32" 'chk.f4({})'
ch_chk_col f8 'Nullable(Float64)' "$F64" 'chk.f8({})'
ch_chk_col b "$S" - '{}'
ch_chk_col u "$S"
ch_chk_col j "$S"
ch_chk_col js "$S"
ch_chk_col txt "$S"
ch_chk_col bo 'Nullable(UInt8)' - '{}::int::text'
ch_chk_col ipa 'Array(Nullable(String))' - 'chk.qarr({}::text[])'
ch_chk_col iva 'Array(Nullable(String))' - 'chk.qarr({}::text[])'
ch_chk_col nu "$S"
ch_chk_col tz "$S"
ch_chk_col lsn 'Nullable(UInt64)' - "({} - '0/0')::text"
ch_chk_col o 'Nullable(UInt32)'
ch_chk_col sm 'Nullable(Int16)'
ch_chk_col tarr 'Array(Nullable(String))' - 'chk.qarr({})'
ch_chk_col barr 'Array(Nullable(String))' 'toString(arrayMap(x -> hex(x), {}))' 'chk.qarr(chk.hex_arr({}))'
ch_chk_col darr 'Array(Nullable(String))' - 'chk.qarr(chk.d_arr({}))'
ch_chk_col vc "$S"
ch_chk_col ch "$S" - "$OUT"
ch_chk_col r4 "$S" - 'chk.range({})'
ch_chk_col rn "$S" - 'chk.range({})'
ch_chk_col rtz "$S" - 'chk.range({})'
ch_chk_col rts "$S" - 'chk.range({})'
ch_chk_col rd "$S" - 'chk.range({})'

ch_chk_table k k
ch_chk_col a 'Nullable(Int32)'
ch_chk_col b "$S"

# check_ch_types WHAT: every table's columns in system.columns, in order, with the expected types
# and the metadata columns.
check_ch_types() {
	local ti i want have
	for ti in "${!CH_TBL_PG[@]}"; do
		want=
		for i in "${!CH_C_NAME[@]}"; do
			((CH_C_T[i] == ti)) && want+="${CH_C_NAME[i]}	${CH_C_TYPE[i]}"$'\n'
		done
		want+=$'_sluice_version\tUInt64\n_sluice_deleted\tUInt8'
		[[ -n ${CH_TBL_KEY[ti]} ]] ||
			want+=$'\n_sluice_origin\tUInt64\n_sluice_seq\tUInt64\n_sluice_hash\tUInt64\n_sluice_del_seq\tUInt64'
		have=$(ch_sql "SELECT name, type FROM system.columns
		  WHERE database = $(ch_lit "$CDB") AND table = $(ch_lit "${CH_TBL_CH[ti]}")")
		assert_eq "$want" "$have" "$1: ClickHouse columns and types of ${CH_TBL_CH[ti]} (README's ClickHouse mapping)"
	done
}

# check_ch_values WHAT: every column of every table, row by row (a keyless table: its sorted rows
# as a whole, duplicates counted); a differing column is named with its first differing keys and
# both renderings of the first; all of them, then fail.
check_ch_values() {
	local what=$1 ti i f a b e bad=() keys key
	for ti in "${!CH_TBL_PG[@]}"; do
		a=$(pg_rows "$SDB" "$ti")
		b=$(ch_rows "$CDB" "$ti")
		ASSERTS=$((ASSERTS + 1))
		if [[ -z ${CH_TBL_KEY[ti]} ]]; then
			[[ $a == "$b" ]] && continue
			printf -- '--- %s: %s: rows differ (< PostgreSQL, > ClickHouse):\n' "$what" "${CH_TBL_CH[ti]}" >&2
			diff <(echo "$a") <(echo "$b") >&2 || true
			bad+=("${CH_TBL_CH[ti]}")
			continue
		fi
		if [[ $(cut -f1 <<<"$a") != "$(cut -f1 <<<"$b")" ]]; then
			printf -- '--- %s: %s: rows (keys) differ (< PostgreSQL, > ClickHouse):\n' "$what" "${CH_TBL_CH[ti]}" >&2
			diff <(cut -f1 <<<"$a") <(cut -f1 <<<"$b") >&2 || true
			bad+=("${CH_TBL_CH[ti]}:rows")
		fi
		f=1
		for i in "${!CH_C_NAME[@]}"; do
			((CH_C_T[i] == ti)) || continue
			f=$((f + 1))
			ASSERTS=$((ASSERTS + 1))
			[[ $(cut -f1,$f <<<"$a") != "$(cut -f1,$f <<<"$b")" ]] || continue
			bad+=("${CH_TBL_CH[ti]}.${CH_C_NAME[i]}")
			keys=$(diff <(cut -f1,$f <<<"$a") <(cut -f1,$f <<<"$b") | sed -n 's/^[<>] \([^\t]*\)\t.*/\1/p' |
				LC_ALL=C sort -u | head -n 8 | tr '\n' ' ' || true)
			printf -- '--- %s: %s.%s differs for key(s): %s\n' "$what" "${CH_TBL_CH[ti]}" "${CH_C_NAME[i]}" "$keys" >&2
			key=${keys%% *}
			[[ -n $key ]] || continue
			printf '    PostgreSQL renders: %s\n' "$(src_sql "$SDB" <<<"$CH_PG_SET SELECT coalesce(left($(pg_col_expr "$i")::text, 300), 'NULL') FROM ${CH_TBL_PG[ti]} WHERE $(pg_row_key "$ti") = $(sql_lit "$key")")" >&2
			e="ifNull(substring($(ch_col_expr "$i"), 1, 300), 'NULL')"
			printf '    ClickHouse holds:   %s\n' "$(ch_sql "SELECT $e FROM $(ch_tbl_from "$CDB" "$ti") AND $(ch_row_key "$ti") = $(ch_lit "$key")")" >&2
		done
	done
	((${#bad[@]} == 0)) || fail "$what: values differ in ClickHouse: ${bad[*]}"
}

PIPE=$TMP/txt.yaml
pipeline_file "$PIPE" it_txt "$SDB" "$TDB"
sluice_ok run --once "$PIPE"
compare_table test-src "$SDB" test-dst "$TDB" public t
compare_table test-src "$SDB" test-dst "$TDB" public k
log "PG -> PG snapshot: ok"

src_sql "$SDB" <<'SQL'
INSERT INTO t VALUES
 (2, '-178000000 years', '::1', -9999999999.99, -9223372036854775808, '4713-01-01 00:00:00+00 BC', '-infinity',
  '4713-01-01 BC', '24:00:00', '{}', '{}', '{}', '-92233720368547758.08', 'NaN', '-Infinity',
  '\x', '00000000-0000-0000-0000-000000000000', 'null', '[]', '', false, '{}', '{}', 'NaN',
  '00:00:00-15:59', '0/0', 0, 32767, '{}', '{}', '{}', '', '', 'empty', '(,5]', '(,)', '["0010-01-01 00:00 BC",)', '[0010-01-01 BC,2020-01-01)'),
 (3, '1 mon -1 day 00:00:00.000001', '2001:db8::1/64', 9999999999.99, 9223372036854775807, 'infinity', '200000-12-31 23:59:59.999999',
  '5874897-12-31', '00:00:00.000001', '{-2147483648,2147483647}', '{99999999.99,-0.01}', '{"0001-01-01 00:00:00+00 BC",NULL}',
  '92233720368547758.07', '-0', '4.9e-324', decode(repeat('00ff', 300), 'hex'), 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
  '{"u": "\u00e9 😀", "esc": "a\"b\\c\nd"}', '{"x":[1,2,{"y":null}]}', E'tab\t nl\n bs\\ q''"', NULL, '{NULL,"::ffff:1.2.3.4"}',
  '{"P1Y","-00:00:01"}', '-1e-30', '24:00:00+15:59', 'FFFFFFFF/FFFFFFFF', 4294967295, 0,
  E'{"q\\"s","back\\\\slash","{}","",NULL}', ARRAY['\x5c78'::bytea, '\x'], '{"4713-01-01 BC",-infinity,NULL}', 'ünï😀', 'é',
  NULL, '[-1e-30,1e30)', '[2024-01-01 10:00:00+05:30,2024-01-01 10:00:00.000001+00]', NULL, 'empty'),
 (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (5, '00:00:00', '0.0.0.0/0', 0.01, 1, '1999-12-31 23:59:59.999999-12', '1969-12-31 23:59:59.999999', '1970-01-01', '00:00:00',
  '{0}', '{0.00}', '{"1970-01-01 00:00:00.5+00"}', '0', '3.4028235e38', '1.7976931348623157e308', '\x00',
  '12345678-1234-5678-1234-567812345678', '"s"', '1', ' a ', true, '{0.0.0.0}', '{PT0S}', '0.000', '00:00:00+00', '0/1', 1, 1,
  '{" "}', '{"\\x00"}', '{1970-01-01}', 'x', 'abcd', '[0,1)', '(0,0.1)', '[-infinity,"2000-01-01 00:00+00")', '[,)', '[infinity,infinity]');
UPDATE t SET n = n + 1, iv = iv + interval '1 hour', ip = '192.168.0.1', ts = ts + interval '1 s' WHERE id = 1;
UPDATE t SET id = 10 WHERE id = 5;
DELETE FROM t WHERE id = 4;
INSERT INTO k VALUES (3, 'x y');
DELETE FROM k WHERE b IS NULL;
UPDATE k SET b = 'b' WHERE ctid = (SELECT min(ctid) FROM k WHERE a = 1);
SQL
sluice_ok run --once "$PIPE"
assert_contains "$SL_ERR" "text values" "the stream ran in text mode"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "all tables equal" "verify after text-mode CDC"
compare_table test-src "$SDB" test-dst "$TDB" public t
compare_table test-src "$SDB" test-dst "$TDB" public k
log "PG -> PG text mode: ok"

# ---- ClickHouse
ch_fresh_db "$CDB"
CPIPE=$TMP/txt_ch.yaml
src_sql "$SDB" "DELETE FROM t WHERE id = 1"   # before the second slot: the snapshot sees it gone
pipeline_file "$CPIPE" it_txt_ch "$SDB" "clickhouse:$CDB"
sluice_ok run --once "$CPIPE"
check_ch_types "ClickHouse snapshot"
check_ch_values "ClickHouse snapshot"
cols=$(ch_sql "SELECT name, type FROM system.columns WHERE database = '$CDB' AND table = 't' FORMAT CSV")
for want in '"id","Int32"' '"n","Nullable(Decimal(12, 2))"' '"big","Nullable(Int64)"' '"arr","Array(Nullable(Int32))"' \
	'"f8","Nullable(Float64)"' '"iv","Nullable(String)"' '"r4","Nullable(String)"'; do
	assert_contains "$cols" "$want" "ClickHouse column types ($want)"
done
src_sql "$SDB" <<'SQL'
INSERT INTO t SELECT id + 100, iv, ip, n, big, ts, tsn, d, tm, arr, narr, tsarr, m, f4, f8, b, u, j, js, txt, bo, ipa, iva, nu, tz, lsn, o, sm, tarr, barr, darr, vc, ch, r4, rn, rtz, rts, rd FROM t;
UPDATE t SET r4 = '[7,8)', rtz = '[2030-01-01 00:00+00,2031-01-01 00:00+00)' WHERE id = 2;
UPDATE t SET iv = iv + interval '1 day', n = -n, ip = '10.9.8.7' WHERE id IN (2, 3);
UPDATE t SET id = 20 WHERE id = 10;
DELETE FROM t WHERE id = 104;
SQL
sluice_ok run --once "$CPIPE"
assert_contains "$SL_ERR" "text values" "the ClickHouse stream ran in text mode"
sluice_ok verify "$CPIPE"
assert_contains "$SL_OUT" "all tables equal" "ClickHouse verify after text-mode CDC"
check_ch_types "ClickHouse text-mode CDC"
check_ch_values "ClickHouse text-mode CDC"
assert_eq "$(src_sql "$SDB" "SELECT string_agg(id::text, ',' ORDER BY id) FROM t")" \
	"$(ch_sql "SELECT arrayStringConcat(groupArray(toString(id)), ',') FROM (SELECT id FROM $CDB.t FINAL WHERE _sluice_deleted = 0 ORDER BY id)")" \
	"ClickHouse holds the source's keys"
# ranges: the JSON object the snapshot writes, also for rows CDC wrote (same spelling)
assert_eq "$(src_sql "$SDB" "SELECT json_build_object('lower', lower(r4), 'upper', upper(r4), 'lower_inclusive', lower_inc(r4), 'upper_inclusive', upper_inc(r4)) || '|' || json_build_object('lower', lower(rtz), 'upper', upper(rtz), 'lower_inclusive', lower_inc(rtz), 'upper_inclusive', upper_inc(rtz)) FROM t WHERE id = 2")" \
	"$(ch_sql "SELECT concat(r4, '|', rtz) FROM $CDB.t FINAL WHERE id = 2")" "ranges written by CDC read as the snapshot's JSON"
pass
