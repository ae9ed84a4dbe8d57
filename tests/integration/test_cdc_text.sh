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
# How ClickHouse holds each value, rendered by PostgreSQL (functions in schema chk of the source
# database, as in test_ch_types.sh; sluice replicates tables only), in the settings of sluice's
# source sessions (DateStyle ISO, IntervalStyle iso_8601, TimeZone UTC, extra_float_digits 3):
# dates / timestamps / times as 18.16's String fallbacks ('YYYY-MM-DD', 'YYYY-MM-DD
# HH:MM:SS.ffffff' in UTC, a time on 1970-01-01), arrays as ClickHouse prints them, floats by
# their bits, ranges as the README's JSON object, money as Int64 cents, pg_lsn as UInt64.
src_sql "$SDB" <<'SQL'
SET client_min_messages = warning;
CREATE SCHEMA chk;
CREATE FUNCTION chk.year(y int) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT CASE WHEN y < 0 THEN '-' ELSE '' END || lpad(abs(y)::text, greatest(4, length(abs(y)::text)), '0') $$;
CREATE FUNCTION chk.d(d date) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT CASE WHEN isfinite(d) THEN
      chk.year(extract(year FROM d)::int + CASE WHEN extract(year FROM d) < 0 THEN 1 ELSE 0 END)
      || '-' || lpad(extract(month FROM d)::text, 2, '0') || '-' || lpad(extract(day FROM d)::text, 2, '0')
    ELSE d::text END $$;
CREATE FUNCTION chk.ts(t timestamp) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT CASE WHEN isfinite(t) THEN chk.d(t::date) || to_char(t, ' HH24:MI:SS.US') ELSE t::text END $$;
CREATE FUNCTION chk.tstz(t timestamptz) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT chk.ts(t AT TIME ZONE 'UTC') $$;
CREATE FUNCTION chk.time(t time) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT chk.ts('1970-01-01'::timestamp + t) $$;
CREATE FUNCTION chk.q(s text) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT '''' || replace(replace(replace(replace(replace(replace(replace(s,
    '\', '\\'), '''', '\'''), E'\b', '\b'), E'\f', '\f'), E'\n', '\n'), E'\r', '\r'), E'\t', '\t') || '''' $$;
CREATE FUNCTION chk.arr(a text[]) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT '[' || coalesce(string_agg(coalesce(e, 'NULL'), ',' ORDER BY i), '') || ']'
    FROM unnest(a) WITH ORDINALITY u(e, i) $$;
CREATE FUNCTION chk.qarr(a text[]) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT chk.arr(ARRAY(SELECT chk.q(e) FROM unnest(a) WITH ORDINALITY u(e, i) ORDER BY i)) $$;
CREATE FUNCTION chk.f4(x real) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT ('x00000000' || encode(float4send(x), 'hex'))::bit(64)::bigint::text $$;
CREATE FUNCTION chk.f8(x float8) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT (('x' || encode(float8send(x), 'hex'))::bit(64)::bigint::numeric
          + CASE WHEN float8send(x) >= '\x80' THEN 18446744073709551616 ELSE 0 END)::text $$;
CREATE FUNCTION chk.range(r anyrange) RETURNS text STABLE STRICT LANGUAGE sql AS $$
  SELECT CASE WHEN isempty(r) THEN '{"empty":true}'
    ELSE json_build_object('lower', lower(r), 'upper', upper(r), 'lower_inclusive', lower_inc(r),
                           'upper_inclusive', upper_inc(r))::text END $$;
CREATE FUNCTION chk.d_arr(a date[]) RETURNS text[] STABLE LANGUAGE sql AS $$
  SELECT ARRAY(SELECT chk.d(e) FROM unnest(a) WITH ORDINALITY u(e, i) ORDER BY i) $$;
CREATE FUNCTION chk.tstz_arr(a timestamptz[]) RETURNS text[] STABLE LANGUAGE sql AS $$
  SELECT ARRAY(SELECT chk.tstz(e) FROM unnest(a) WITH ORDINALITY u(e, i) ORDER BY i) $$;
CREATE FUNCTION chk.hex_arr(a bytea[]) RETURNS text[] STABLE LANGUAGE sql AS $$
  SELECT ARRAY(SELECT upper(encode(e, 'hex')) FROM unnest(a) WITH ORDINALITY u(e, i) ORDER BY i) $$;
SQL
PG_SET="SET DateStyle = ISO; SET IntervalStyle = iso_8601; SET TimeZone = 'UTC'; SET extra_float_digits = 3;"

# `table PG-TABLE CH-TABLE [KEY-COLUMN]` (none: keyless), then `col NAME CLICKHOUSE-TYPE
# [CH-EXPR [PG-EXPR]]` per source column: the README's ClickHouse type of the column's Arrow
# type, Nullable unless a key column, with 18.16's fallbacks; CH-EXPR renders the stored value in
# ClickHouse (default toString({})), PG-EXPR the source value as ClickHouse should hold it
# (default {}::text).
shopt -u patsub_replacement 2>/dev/null || true
TBL_PG=() TBL_CH=() TBL_KEY=()
C_T=() C_NAME=() C_TYPE=() C_CH=() C_PG=()
table() {
	TBL_PG+=("$1")
	TBL_CH+=("$2")
	TBL_KEY+=("${3:-}")
}
col() {
	local chx=${3:--} pgx=${4:-}
	[[ $chx != - ]] || chx='toString({})'
	[[ -n $pgx ]] || pgx='{}::text'
	C_T+=($((${#TBL_PG[@]} - 1)))
	C_NAME+=("$1")
	C_TYPE+=("$2")
	C_CH+=("$chx")
	C_PG+=("$pgx")
}
F32='toString(reinterpretAsUInt32(reinterpretAsString({})))'
F64='toString(reinterpretAsUInt64(reinterpretAsString({})))'
OUT='CASE WHEN {} IS NOT NULL THEN concat({}) END' # char(n) with its padding
S='Nullable(String)'

table t t id
col id Int32
col iv "$S"
col ip "$S"
col n 'Nullable(Decimal(12, 2))'
col big 'Nullable(Int64)'
col ts "$S" - 'chk.tstz({})'
col tsn "$S" - 'chk.ts({})'
col d "$S" - 'chk.d({})'
col tm "$S" - 'chk.time({})'
col arr 'Array(Nullable(Int32))' - 'chk.arr({}::text[])'
col narr 'Array(Nullable(Decimal(10, 2)))' - 'chk.arr({}::text[])'
col tsarr 'Array(Nullable(String))' - 'chk.qarr(chk.tstz_arr({}))'
col m 'Nullable(Int64)' - '({}::numeric * 100)::bigint::text'
col f4 'Nullable(Float32)' "$F32" 'chk.f4({})'
col f8 'Nullable(Float64)' "$F64" 'chk.f8({})'
col b "$S" - '{}'
col u "$S"
col j "$S"
col js "$S"
col txt "$S"
col bo 'Nullable(UInt8)' - '{}::int::text'
col ipa 'Array(Nullable(String))' - 'chk.qarr({}::text[])'
col iva 'Array(Nullable(String))' - 'chk.qarr({}::text[])'
col nu "$S"
col tz "$S"
col lsn 'Nullable(UInt64)' - "({} - '0/0')::text"
col o 'Nullable(UInt32)'
col sm 'Nullable(Int16)'
col tarr 'Array(Nullable(String))' - 'chk.qarr({})'
col barr 'Array(Nullable(String))' 'toString(arrayMap(x -> hex(x), {}))' 'chk.qarr(chk.hex_arr({}))'
col darr 'Array(Nullable(String))' - 'chk.qarr(chk.d_arr({}))'
col vc "$S"
col ch "$S" - "$OUT"
col r4 "$S" - 'chk.range({})'
col rn "$S" - 'chk.range({})'
col rtz "$S" - 'chk.range({})'
col rts "$S" - 'chk.range({})'
col rd "$S" - 'chk.range({})'

table k k
col a 'Nullable(Int32)'
col b "$S"

# shellcheck disable=SC2016 # the backquotes are literal
chq() { printf '`%s`' "${1//\`/\\\`}"; }
ch_lit() { local s=${1//\\/\\\\}; printf "'%s'" "${s//\'/\\\'}"; }
ch_expr() { local q; q=$(chq "${C_NAME[$1]}"); printf '%s' "${C_CH[$1]//\{\}/$q}"; }
pg_expr() { local q; q=$(qident "${C_NAME[$1]}"); printf '%s' "${C_PG[$1]//\{\}/$q}"; }
ch_from() { printf '%s.%s FINAL WHERE _sluice_deleted = 0' "$(chq "$CDB")" "$(chq "${TBL_CH[$1]}")"; }
# the row's key as text on each side ('-' for a keyless table, whose rows are compared whole)
ch_key() { if [[ -n ${TBL_KEY[$1]} ]]; then echo "toString($(chq "${TBL_KEY[$1]}"))"; else echo "'-'"; fi; }
pg_key() { if [[ -n ${TBL_KEY[$1]} ]]; then echo "$(qident "${TBL_KEY[$1]}")::text"; else echo "'-'"; fi; }

# check_ch_types WHAT: every table's columns in system.columns, in order, with the expected types
# and the metadata columns.
check_ch_types() {
	local ti i want have
	for ti in "${!TBL_PG[@]}"; do
		want=
		for i in "${!C_NAME[@]}"; do
			((C_T[i] == ti)) && want+="${C_NAME[i]}	${C_TYPE[i]}"$'\n'
		done
		want+=$'_sluice_version\tUInt64\n_sluice_deleted\tUInt8'
		[[ -n ${TBL_KEY[ti]} ]] ||
			want+=$'\n_sluice_origin\tUInt64\n_sluice_seq\tUInt64\n_sluice_hash\tUInt64\n_sluice_del_seq\tUInt64'
		have=$(ch_sql "SELECT name, type FROM system.columns
		  WHERE database = $(ch_lit "$CDB") AND table = $(ch_lit "${TBL_CH[ti]}")")
		assert_eq "$want" "$have" "$1: ClickHouse columns and types of ${TBL_CH[ti]} (README's ClickHouse mapping)"
	done
}

# rows_ch / rows_pg TABLE-INDEX: one line per live row, "key<TAB>md5 of each column's rendering"
# (NULL: the word NULL), sorted.
rows_ch() {
	local ti=$1 i sel
	sel=$(ch_key "$ti")
	for i in "${!C_NAME[@]}"; do
		((C_T[i] == ti)) && sel+=", ifNull(lower(hex(MD5($(ch_expr "$i")))), 'NULL')"
	done
	ch_sql "SELECT $sel FROM $(ch_from "$ti")" | LC_ALL=C sort
}
rows_pg() {
	local ti=$1 i sel
	sel=$(pg_key "$ti")
	for i in "${!C_NAME[@]}"; do
		((C_T[i] == ti)) && sel+=", coalesce(md5($(pg_expr "$i")), 'NULL')"
	done
	src_sql "$SDB" <<<"$PG_SET COPY (SELECT $sel FROM ${TBL_PG[ti]}) TO STDOUT" | LC_ALL=C sort
}

# check_ch_values WHAT: every column of every table, row by row (a keyless table: its sorted rows
# as a whole, duplicates counted); a differing column is named with its first differing keys and
# both renderings of the first; all of them, then fail.
check_ch_values() {
	local what=$1 ti i f a b e bad=() keys key
	for ti in "${!TBL_PG[@]}"; do
		a=$(rows_pg "$ti")
		b=$(rows_ch "$ti")
		ASSERTS=$((ASSERTS + 1))
		if [[ -z ${TBL_KEY[ti]} ]]; then
			[[ $a == "$b" ]] && continue
			printf -- '--- %s: %s: rows differ (< PostgreSQL, > ClickHouse):\n' "$what" "${TBL_CH[ti]}" >&2
			diff <(echo "$a") <(echo "$b") >&2 || true
			bad+=("${TBL_CH[ti]}")
			continue
		fi
		if [[ $(cut -f1 <<<"$a") != "$(cut -f1 <<<"$b")" ]]; then
			printf -- '--- %s: %s: rows (keys) differ (< PostgreSQL, > ClickHouse):\n' "$what" "${TBL_CH[ti]}" >&2
			diff <(cut -f1 <<<"$a") <(cut -f1 <<<"$b") >&2 || true
			bad+=("${TBL_CH[ti]}:rows")
		fi
		f=1
		for i in "${!C_NAME[@]}"; do
			((C_T[i] == ti)) || continue
			f=$((f + 1))
			ASSERTS=$((ASSERTS + 1))
			[[ $(cut -f1,$f <<<"$a") != "$(cut -f1,$f <<<"$b")" ]] || continue
			bad+=("${TBL_CH[ti]}.${C_NAME[i]}")
			keys=$(diff <(cut -f1,$f <<<"$a") <(cut -f1,$f <<<"$b") | sed -n 's/^[<>] \([^\t]*\)\t.*/\1/p' |
				LC_ALL=C sort -u | head -n 8 | tr '\n' ' ' || true)
			printf -- '--- %s: %s.%s differs for key(s): %s\n' "$what" "${TBL_CH[ti]}" "${C_NAME[i]}" "$keys" >&2
			key=${keys%% *}
			[[ -n $key ]] || continue
			printf '    PostgreSQL renders: %s\n' "$(src_sql "$SDB" <<<"$PG_SET SELECT coalesce(left($(pg_expr "$i")::text, 300), 'NULL') FROM ${TBL_PG[ti]} WHERE $(pg_key "$ti") = $(sql_lit "$key")")" >&2
			e="ifNull(substring($(ch_expr "$i"), 1, 300), 'NULL')"
			printf '    ClickHouse holds:   %s\n' "$(ch_sql "SELECT $e FROM $(ch_from "$ti") AND $(ch_key "$ti") = $(ch_lit "$key")")" >&2
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
