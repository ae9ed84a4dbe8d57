-- The PostgreSQL type corpus shared by test_types.sh (PostgreSQL target) and test_ch_types.sh
-- (ClickHouse target): every type of the spec's type table with its edge values. Each test adds
-- rows of its own after loading this file.
SET client_min_messages = warning;
CREATE EXTENSION citext;               -- superuser, in the source database only
SET ROLE sluice;                       -- everything else belongs to the pipeline's user
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'it''s "meh"', 'ünï ✓');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TYPE addr AS (street text, zip integer, tags text[]);

CREATE TABLE all_types (
  id            integer PRIMARY KEY,
  c_bool        boolean,
  c_int2        smallint,
  c_int4        integer,
  c_int8        bigint,
  c_money       money,
  c_float4      real,
  c_float8      double precision,
  c_num_10_2    numeric(10,2),
  c_num_38_10   numeric(38,10),
  c_num_76_20   numeric(76,20),
  c_num_1000    numeric(1000,0),
  c_num         numeric,
  c_oid         oid,
  c_lsn         pg_lsn,
  c_date        date,
  c_time        time,
  c_time3       time(3),
  c_ts          timestamp,
  c_ts0         timestamp(0),
  c_tstz        timestamptz,
  c_timetz      timetz,
  c_interval    interval,
  c_char        char(5),
  c_varchar     varchar(20),
  c_text        text,
  c_name        name,
  c_qchar       "char",
  c_bit         bit(8),
  c_varbit      varbit(16),
  c_uuid        uuid,
  c_enum        mood,
  c_inet        inet,
  c_cidr        cidr,
  c_macaddr     macaddr,
  c_macaddr8    macaddr8,
  c_tsvector    tsvector,
  c_bytea       bytea,
  c_json        json,
  c_jsonb       jsonb,
  c_xml         xml,
  c_int4_arr    integer[],
  c_text_arr    text[],
  c_num_arr     numeric(10,2)[],
  c_tstz_arr    timestamptz[],
  c_uuid_arr    uuid[],
  c_bool_arr    boolean[],
  c_date_arr    date[],
  c_int4range   int4range,
  c_int8range   int8range,
  c_numrange    numrange,
  c_tsrange     tsrange,
  c_tstzrange   tstzrange,
  c_daterange   daterange,
  c_domain      posint,
  c_composite   addr,
  c_citext      citext,
  c_point       point,
  c_not_null    text NOT NULL DEFAULT 'x'
);

-- Row 1: ordinary values.
INSERT INTO all_types VALUES (1,
  true, 0, 1, 42, '12.34', 1.5, 3.141592653589793,
  12345678.90, '1234567890123456789012345678.0123456789',
  '12345678901234567890123456789012345678901234567890123456.12345678901234567890',
  repeat('9', 1000)::numeric, '123.4500',
  12345, '16/B374D848',
  '2024-02-29', '12:34:56.789', '12:34:56.789', '2024-01-01 12:34:56.123456', '2024-01-01 12:34:56',
  '2024-06-01 12:00:00.000001+02', '12:34:56.5+05:30', '1 year 2 months 3 days 04:05:06.789',
  'ab', 'varchar', 'plain text', 'a_name', 'a', B'10101010', B'1', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  'happy', '192.168.1.5/24', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05',
  'a fat cat:1A sat:2B,3 on:4C mat', '\x000102ff00',
  '{"a": 1,  "b": [1,2, {"c": null}], "a": 2}', '{"a": 1, "b": [1, 2, {"c": null}], "n": 1.50}',
  '<a b="1">text &amp; more</a>',
  '{1,2,3}', '{a,NULL,"with,comma","quote\"s","",NULL}', '{1.00,-2.50,NULL}',
  '{"2024-01-01 00:00:00+00",infinity,-infinity}', '{00000000-0000-0000-0000-000000000000,NULL}',
  '{t,f,NULL}', '{2024-01-01,infinity,-infinity,"4713-01-01 BC"}',
  '[1,10)', '[-9223372036854775808,9223372036854775807)', '[1.5,2.5]',
  '[2024-01-01,2024-12-31 23:59:59.999999)', '["2024-01-01 00:00:00+00","2024-01-02 00:00:00+00")',
  '[2024-01-01,2024-02-01)',
  1, ROW('Main "St", 5', 12345, '{a,b}'), 'MiXeD Case', '(1,2)', 'r1');

-- Row 2: minimums, NaN, -infinity, BC.
INSERT INTO all_types VALUES (2,
  false, -32768, -2147483648, -9223372036854775808, '-92233720368547758.08', 'NaN', 'NaN',
  -99999999.99, '-9999999999999999999999999999.9999999999',
  ('-' || repeat('9', 56) || '.' || repeat('9', 20))::numeric,
  ('-' || repeat('1', 1000))::numeric, 'NaN',
  0, '0/0',
  '-infinity', '00:00:00', '00:00:00', '-infinity', '-infinity',
  '-infinity', '00:00:00-15:59', '-178000000 years',
  '', '', '', '', '\200', B'00000000', B'', '00000000-0000-0000-0000-000000000000',
  'sad', '::1', '2001:db8::/32', '00:00:00:00:00:00', '00:00:00:00:00:00:00:00',
  '', '\x',
  '"str"', '"str"', 'plain text, no element',
  '{}', '{}', '{}', '{}', '{}', '{}', '{}',
  'empty', 'empty', 'empty', 'empty', 'empty', 'empty',
  2147483647, ROW(NULL, NULL, NULL), '', '(0,0)', 'r2');

-- Row 3: maximums, infinity.
INSERT INTO all_types VALUES (3,
  true, 32767, 2147483647, 9223372036854775807, '92233720368547758.07', 'Infinity', 'Infinity',
  99999999.99, '9999999999999999999999999999.9999999999',
  (repeat('9', 56) || '.' || repeat('9', 20))::numeric,
  ('1' || repeat('0', 999))::numeric, 'Infinity',
  4294967295, 'FFFFFFFF/FFFFFFFF',
  'infinity', '24:00:00', '23:59:59.999', 'infinity', 'infinity',
  'infinity', '24:00:00+15:59', '178000000 years',
  'abcde', repeat('x', 20), repeat('long ', 1000), repeat('n', 63), 'Z', B'11111111', B'1010101010101010',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  'it''s "meh"', '2001:db8::1/64', '0.0.0.0/0', 'ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff:ff:ff',
  to_tsvector('english', 'The quick brown foxes jumped over the lazy dogs'),
  decode(repeat('00ff', 5000), 'hex'),
  'null', 'null', '<?xml version="1.0"?><root><x/></root>',
  '{-2147483648,2147483647,0}', '{"😀","𝄞 music","back\\slash"}', '{99999999.99,-99999999.99}',
  '{"1970-01-01 00:00:00+00","0001-01-01 00:00:00+00 BC"}', '{ffffffff-ffff-ffff-ffff-ffffffffffff}',
  '{NULL}', '{NULL,5874897-12-31}',
  '(,)', '(,)', '(,)', '(,)', '(,)', '(,)',
  5, ROW('', 0, '{}'), 'ÄÖÜ straße', '(-1.5,1e300)', 'r3');

-- Row 4: the -0s, BC and far future dates, microseconds, multibyte and control characters.
INSERT INTO all_types VALUES (4,
  false, -1, -1, -1, '0', '-Infinity', '-Infinity',
  -0.01, '0.0000000001', '0.00000000000000000001', 0, '-Infinity',
  1, '0/1',
  '4713-01-01 BC', '23:59:59.999999', '00:00:00.001', '4713-01-01 00:00:00 BC', '4713-01-01 00:00:00 BC',
  '4713-01-01 00:00:00+00 BC', '23:59:59.999999+00', '-1 year -2 mons +3 days -04:05:06.000001',
  'é😀', 'ü𝄞😀', E'quote '' " backslash \\ newline\n tab\t cr\r end', 'Ünïcödé 😀', '\', B'00000001', B'0',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12',
  'ünï ✓', '10.0.0.1', '192.168.0.0/16', '08:00:2b:01:02:03', '08:00:2b:ff:fe:01:02:03',
  $$'it''s' 'a\\b':1 'x y':2$$, '\x00',
  '{"u": "\u00e9 😀", "esc": "a\"b\\c\nd"}', '{"u": "\u00e9 😀", "esc": "a\"b\\c\nd", "big": 1e400}',
  'a &lt; b',
  '{NULL,1}', '{"line\nbreak","tab\there","{}",NULL}', '{0.00}',
  '{"2000-01-01 00:00:00.5-08",NULL}', '{}', '{t}', '{}',
  '(,5]', '[5,)', '(0,1)', '[-infinity,infinity]', '[-infinity,infinity]', '[-infinity,infinity)',
  42, ROW(E'multi\nline', -1, '{NULL,"x y"}'), 'MIXED case', '(0,-0)', 'r4');

-- Row 5: -0 floats, subnormals, extremes of precision, far future.
INSERT INTO all_types VALUES (5,
  true, 1, 1, 1, '0.01', '-0', '-0',
  0, 0, 0, -1, '-0.000',
  2, '0/FFFFFFFF',
  '5874897-12-31', '00:00:00.000001', '12:00:00', '200000-12-31 23:59:59.999999', '0001-01-01 00:00:00',
  '200000-12-31 23:59:59.999999+00', '00:00:00+00', '1 mon -1 day 00:00:00.000001',
  ' a ', ' ', ' ', ' ', ' ', B'01111110', B'0000000000000001',
  '12345678-1234-5678-1234-567812345678',
  'ok', '0.0.0.0', '::/0', '01:02:03:04:05:06', '01:02:03:04:05:06:07:08',
  'single', '\x5c78',
  '[]', '[]', '',
  '{0}', '{""}', '{-0.01}', '{}', '{}', '{}', '{1970-01-01}',
  '[1,2)', '[0,1)', '[1.000,)', '[2024-01-01,)', '(,"2024-01-01 00:00:00+00"]', '(,2024-01-01)',
  1, ROW(NULL, 7, NULL), 'x', '(0,0)', 'r5');

-- Row 6: more floats and numerics.
INSERT INTO all_types VALUES (6,
  false, 2, 2, 2, '-0.01', 3.4028235e38, 1.7976931348623157e308,
  0.5, 1.5, 1.5, 1, '1e-1000',
  3, '0/10',
  '1970-01-01', '12:00:00', '12:00:00', '1999-12-31 23:59:59.999999', '1999-12-31 23:59:59',
  '1999-12-31 23:59:59.999999-12', '12:00:00-07', '00:00:00',
  'x', 'y', 'z', 'n', 'y', B'10000000', B'11',
  '12345678-1234-5678-1234-567812345679',
  'happy', '255.255.255.255/32', '255.255.255.255/32', '01:02:03:04:05:07', '01:02:03:04:05:06:07:09',
  'z', '\xdeadbeef',
  '{"nested": {"deep": [[1], [2, [3]]]}}', '{"nested": {"deep": [[1], [2, [3]]]}}', '<x/>',
  '{5}', '{b}', '{5.5}', '{"2024-01-01 00:00:00+00"}', '{}', '{f}', '{}',
  '[-5,-1]', '[-1,0]', '[-1.5,-0.5)', '(2024-01-01,2024-01-02]', '["2024-01-01 00:00:00+00",infinity)', '[2024-01-01,infinity)',
  2, ROW('s', 1, '{}'), 'y', '(1,1)', 'r6');

INSERT INTO all_types (id, c_float4, c_float8, c_num) VALUES
  (7, 1e-45, 4.9e-324, ('9' || repeat('0', 130000))::numeric),
  (8, 1.17549435e-38, 2.2250738585072014e-308, ('0.' || repeat('0', 16000) || '1')::numeric),
  (9, 0.1, 0.1, 0.1);

-- Row 100: NULL in every nullable column.
INSERT INTO all_types (id) VALUES (100);

-- Odd identifiers in a non-public schema.
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."Mixed Table" (
  "ID"            integer PRIMARY KEY,
  "Weird ""col""" text,
  "with space"    integer,
  "UPPER"         mood,
  "ünïcode"       text,
  "select"        boolean
);
INSERT INTO "Odd Schema"."Mixed Table" VALUES
  (1, 'a', 1, 'ok', 'ü', true), (2, 'b"c', NULL, 'sad', NULL, false), (3, NULL, 3, NULL, '😀', NULL);

-- Composite primary key whose column order differs from the table's.
CREATE TABLE composite_pk (a integer, b text, c timestamptz, v numeric, PRIMARY KEY (b, a));
INSERT INTO composite_pk
  SELECT i % 7, 'k' || (i / 7), '2024-01-01'::timestamptz + i * interval '1 minute', i / 3.0
  FROM generate_series(1, 500) i;

-- No key at all, with duplicate rows.
CREATE TABLE keyless (x integer, y text);
INSERT INTO keyless SELECT i % 10, 'dup' FROM generate_series(1, 100) i;
INSERT INTO keyless VALUES (NULL, NULL), (NULL, NULL);

-- A dropped column between live ones.
CREATE TABLE dropped_col (id integer PRIMARY KEY, gone text, kept text, n integer);
ALTER TABLE dropped_col DROP COLUMN gone;
INSERT INTO dropped_col SELECT i, 'k' || i, i FROM generate_series(1, 100) i;

-- TOAST: 1 MB of hex text (random, so it is stored out of line) and 512 KiB of random bytes.
CREATE TABLE toasted (id integer PRIMARY KEY, body text, blob bytea);
INSERT INTO toasted
  SELECT 1, string_agg(md5(random()::text), ''), decode(string_agg(md5(random()::text), ''), 'hex')
  FROM generate_series(1, 32768);
INSERT INTO toasted
  SELECT 2, string_agg(md5(random()::text) || chr(9731), ''), NULL FROM generate_series(1, 10000);
INSERT INTO toasted VALUES (3, 'short', '\x01');

-- Partitioned table with a default partition and a primary key.
CREATE TABLE events (id integer, created date, payload text, PRIMARY KEY (id, created))
  PARTITION BY RANGE (created);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_default PARTITION OF events DEFAULT;
INSERT INTO events
  SELECT i, '2022-07-01'::date + (i % 1000), 'payload ' || i FROM generate_series(1, 3000) i;

CREATE TABLE empty_t (id integer PRIMARY KEY, v text);

-- Types defined in another schema, nested domains, a user-defined range, a composite of an enum
-- and a range, arrays of text-read types, a generated column, typmod variants.
CREATE TYPE "Odd Schema"."Color" AS ENUM ('red', 'Green', 'blue blue');
CREATE TYPE floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
CREATE DOMAIN smallpos AS posint CHECK (VALUE < 100);
CREATE DOMAIN nn_text AS text NOT NULL;
CREATE TYPE pair AS (c "Odd Schema"."Color", r int4range, w numeric(5,2));
CREATE TABLE extras (
  id int PRIMARY KEY,
  a_interval interval[],
  a_inet inet[],
  a_enum "Odd Schema"."Color"[],
  a_varchar varchar(10)[],
  a_jsonb jsonb[],
  a_bytea bytea[],
  a_int8 int8[],
  a_float8 float8[],
  a_numeric numeric[],
  a_domain posint[],
  a_text text[],
  n_negscale numeric(5,-2),
  d_nested smallpos,
  d_nn nn_text,
  fr floatrange,
  cp pair,
  cp_arr pair[],
  gen int GENERATED ALWAYS AS (id * 2) STORED,
  bpc bpchar,
  vc varchar,
  ts3 timestamptz(3),
  it_ym interval year to month,
  it_s interval second(2)
);
INSERT INTO extras (id, a_interval, a_inet, a_enum, a_varchar, a_jsonb, a_bytea, a_int8, a_float8,
  a_numeric, a_domain, a_text, n_negscale, d_nested, d_nn, fr, cp, cp_arr, bpc, vc, ts3, it_ym, it_s) VALUES
 (1, '{"1 day","-1 mon 2 days"}', '{10.0.0.1,::1/128}', '{red,"blue blue",NULL}', '{"a b",""}',
  ARRAY['{"a":1}'::jsonb, 'null', NULL], ARRAY['\x00'::bytea, '\x', NULL],
  '{-9223372036854775808,9223372036854775807}', '{NaN,Infinity,-0,1e-320}', '{NaN,1.2300,-0}', '{1,2}',
  '{"{x}","a\\b"}', 12300, 99, 'nn', '[1.5,Infinity)', ROW('Green', '[1,5)', 1.50),
  ARRAY[ROW('red', 'empty', NULL)::pair, NULL],
  'x   ', 'unlimited   ', '2024-01-01 00:00:00.123+00', '1 year 3 mons', '1.25 seconds'),
 (2, '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', -99900, 1, '', 'empty',
  ROW(NULL, NULL, NULL), '{}', '', '', 'infinity', '-1 mon', '-0.01'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'x', NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL);

-- Big enough for several 1 MiB chunks.
CREATE TABLE big (id integer PRIMARY KEY, v text, n numeric(12,2), ts timestamptz);
INSERT INTO big
  SELECT i, md5(i::text), i / 100.0, '2024-01-01'::timestamptz + i * interval '1 second'
  FROM generate_series(1, 50000) i;

RESET ROLE;
ANALYZE;
