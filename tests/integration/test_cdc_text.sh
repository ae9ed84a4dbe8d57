#!/usr/bin/env bash
# Change capture in pgoutput's text mode (a column the stream cannot send in binary -- interval,
# inet, timetz, a range -- switches the whole stream to text): every other column keeps its Arrow
# type (text values parsed, edge values of every type), ranges arrive as the snapshot's JSON
# object, inet as the snapshot's text; into PostgreSQL and into ClickHouse (whose typed columns
# refuse a shape that turned to text). Inserts, updates, a key change, deletes, a keyless table;
# `sluice verify` and an independent comparison of the rows.
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

PIPE=$TMP/txt.yaml
pipeline_file "$PIPE" it_txt "$SDB" "$TDB"
sluice_ok run --once "$PIPE"

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
assert_eq "$(src_sql "$SDB" "SELECT string_agg(id::text, ',' ORDER BY id) FROM t")" \
	"$(ch_sql "SELECT arrayStringConcat(groupArray(toString(id)), ',') FROM (SELECT id FROM $CDB.t FINAL WHERE _sluice_deleted = 0 ORDER BY id)")" \
	"ClickHouse holds the source's keys"
# ranges: the JSON object the snapshot writes, also for rows CDC wrote (same spelling)
assert_eq "$(src_sql "$SDB" "SELECT json_build_object('lower', lower(r4), 'upper', upper(r4), 'lower_inclusive', lower_inc(r4), 'upper_inclusive', upper_inc(r4)) || '|' || json_build_object('lower', lower(rtz), 'upper', upper(rtz), 'lower_inclusive', lower_inc(rtz), 'upper_inclusive', upper_inc(rtz)) FROM t WHERE id = 2")" \
	"$(ch_sql "SELECT concat(r4, '|', rtz) FROM $CDB.t FINAL WHERE id = 2")" "ranges written by CDC read as the snapshot's JSON"
pass
