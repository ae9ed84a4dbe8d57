// DuckDB writes a Parquet file (an independent writer) and the text of its values, for
// sluice's reader (formats/parquet, through tests/tools/pqdump) to be compared with.
//
// Usage: node duckdb_write.mjs OUT.parquet OUT.jsonl CODEC ROWS
import { writeFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const [out, expectedPath, codec, rows] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run("SET TimeZone = 'UTC'");
// every 11th value of each column NULL (offset by the column), the rest from the row number
const n = (k, expr) => `CASE WHEN (i + ${k}) % 11 = 0 THEN NULL ELSE ${expr} END`;
await con.run(`CREATE TABLE t AS SELECT
  i::BIGINT AS rid,
  ${n(1, 'i % 3 = 0')} AS b,
  ${n(2, '(i % 256 - 128)::TINYINT')} AS i8,
  ${n(3, '(i * 7 % 65536 - 32768)::SMALLINT')} AS i16,
  ${n(4, '(i * 104729 % 4294967296 - 2147483648)::INTEGER')} AS i32,
  ${n(5, '((hash(i) // 2)::BIGINT - 4611686018427387904)')} AS i64,
  ${n(6, '(i % 256)::UTINYINT')} AS u8,
  ${n(7, '(i * 13 % 65536)::USMALLINT')} AS u16,
  ${n(8, '(i * 2654435761 % 4294967296)::UINTEGER')} AS u32,
  ${n(9, 'hash(i)::UBIGINT')} AS u64,
  ${n(10, '(i / 7.0 - 100)::FLOAT')} AS f32,
  ${n(0, '(i / 3.0 - 1000)::DOUBLE')} AS f64,
  ${n(1, '((i % 20000 - 10000) / 100)::DECIMAL(5,2)')} AS d5,
  ${n(2, '((hash(i) % 1000000000000000)::DECIMAL(18,0) / 1000 - 400000000000)::DECIMAL(15,3)')} AS d15,
  ${n(3, '((hash(i) % 100000000000000000)::DECIMAL(38,0) * 1000 / 7 - 1000000000)::DECIMAL(30,10)')} AS d30,
  ${n(4, "DATE '1970-01-01' + (i * 37 % 100000 - 50000)::INTEGER")} AS dt,
  ${n(5, "TIME '00:00:00' + to_microseconds(i * 7919 * 1000 % 86400000000)")} AS t,
  ${n(6, "TIMESTAMP '1900-01-01' + to_microseconds((hash(i) % 7000000000000000)::BIGINT)")} AS ts,
  ${n(7, "TIMESTAMPTZ '2000-01-01 00:00:00+00' + to_microseconds(i * 1000003)")} AS tstz,
  ${n(8, "repeat(chr(97 + (i % 26)::INTEGER), (i % 5)::INTEGER) || CASE WHEN i % 4 = 0 THEN i::VARCHAR ELSE '' END")} AS s,
  ${n(9, "from_hex(lpad(to_hex(i), ((i % 4) * 2)::INTEGER, '0'))")} AS bin,
  ${n(10, '[i::INTEGER, NULL, (i * 2)::INTEGER][1:(i % 4)::INTEGER]')} AS li,
  ${n(0, "CASE WHEN i % 5 = 0 THEN [] ELSE ['x' || i::VARCHAR, NULL] END")} AS ls
FROM range(${Number(rows)}) r(i)`);
await con.run(`COPY t TO '${out}' (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE 2000)`);
const { duckExpr } = await import('./text.mjs');
const cols = (await con.runAndReadAll('DESCRIBE t')).getRowObjectsJson();
const sql = `SELECT ${cols.map(({ column_name: c, column_type: ty }) => `${duckExpr(c, ty)} AS "${c}"`).join(', ')} FROM t AS x ORDER BY x.rid`;
const lines = (await con.runAndReadAll(sql)).getRowObjectsJson().map((r) => JSON.stringify(r));
writeFileSync(expectedPath, lines.join('\n') + '\n');
