# The MySQL / MariaDB type corpus (sourced by test_my_types.sh and test_files_types.sh): table t
# with a column of every type sluice maps, and rows of edge values.
# my_corpus_ddl: the CREATE TABLE statement.
my_corpus_ddl() {
	cat <<'SQL'
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
SQL
}

# rows ID-OFFSET: INSERT statements of the corpus rows, ids offset by ID-OFFSET.
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
