// Reads a Parquet file sluice wrote with two independent readers, DuckDB (@duckdb/node-api) and
// arrow-rs compiled to WebAssembly (parquet-wasm, its Arrow output read by apache-arrow), and
// compares every value with the expected text (one JSON object per row, written by the
// program that made the file from the same numbers).
//
// Usage: node check_parquet.mjs FILE.parquet EXPECTED.jsonl [CODEC]
// With CODEC (UNCOMPRESSED, SNAPPY, ZSTD) every column chunk must say it was compressed so.
// Exit 0 when both readers agree with every expected value; otherwise the first differences.
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { readParquet } from 'parquet-wasm';
import { tableFromIPC } from 'apache-arrow';

const [file, expectedPath, codec] = process.argv.slice(2);
const expected = readFileSync(expectedPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const columns = Object.keys(expected[0]);
let failures = 0;
function fail(msg) {
  if (failures++ < 20) console.error(msg);
}

// The type each column must have in DuckDB: the mapping tests/tools/pqgen.c's fields should
// get (formats/parquet.h).
const duckTypes = {
  rid: 'BIGINT', b: 'BOOLEAN', i8: 'TINYINT', i16: 'SMALLINT', i32: 'INTEGER', i64: 'BIGINT',
  u8: 'UTINYINT', u16: 'USMALLINT', u32: 'UINTEGER', u64: 'UBIGINT', f32: 'FLOAT', f64: 'DOUBLE',
  d5: 'DECIMAL(5,2)', d15: 'DECIMAL(15,3)', d30: 'DECIMAL(30,10)', d50: 'VARCHAR', dt: 'DATE',
  t: 'TIME', ts: 'TIMESTAMP', tstz: 'TIMESTAMP WITH TIME ZONE', tsms: 'TIMESTAMP',
  tsns: 'TIMESTAMP_NS', iv: 'BIGINT', s: 'VARCHAR', j: 'JSON', bin: 'BLOB', fx: 'BLOB',
  li: 'INTEGER[]', ls: 'VARCHAR[]',
};
// DuckDB expressions giving each column as the expected text.
const duckExpr = (c) => {
  switch (duckTypes[c]) {
    case 'DATE': return `CAST(date_diff('day', DATE '1970-01-01', "${c}") AS VARCHAR)`;
    case 'TIME': return `CAST(epoch_us(DATE '1970-01-01' + "${c}") AS VARCHAR)`;
    case 'TIMESTAMP': case 'TIMESTAMP WITH TIME ZONE':
      return `CAST(${c === 'tsms' ? 'epoch_ms' : 'epoch_us'}("${c}") AS VARCHAR)`;
    case 'TIMESTAMP_NS': return `CAST(epoch_ns("${c}") AS VARCHAR)`;
    case 'BLOB': return `hex("${c}")`;
    default: return `CAST("${c}" AS VARCHAR)`;
  }
};

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run("SET TimeZone = 'UTC'");
const desc = (await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).getRowObjectsJson();
for (const { column_name: name, column_type: type } of desc) {
  if (!(name in duckTypes)) fail(`duckdb: unexpected column ${name}`);
  else if (duckTypes[name] !== type) fail(`duckdb: column ${name} is ${type}, expected ${duckTypes[name]}`);
}
// What DuckDB's reader saw of the file's metadata (parquet_metadata): codecs and encodings.
const meta = (await con.runAndReadAll(
  `SELECT path_in_schema AS p, compression AS c, encodings AS e FROM parquet_metadata('${file}')`,
)).getRowObjectsJson();
if (codec) for (const m of meta) if (m.c !== codec) fail(`metadata: ${m.p} compressed ${m.c}, expected ${codec}`);
const sEnc = meta.filter((m) => m.p === 's').map((m) => m.e);
if (!sEnc.some((e) => e.includes('RLE_DICTIONARY'))) fail(`metadata: column s never dictionary-encoded: ${sEnc}`);
const rows = (await con.runAndReadAll(
  `SELECT ${columns.map((c) => `${duckExpr(c)} AS "${c}"`).join(', ')} FROM read_parquet('${file}') AS t ORDER BY t.rid`,
)).getRowObjectsJson();
if (rows.length !== expected.length) fail(`duckdb: ${rows.length} rows, expected ${expected.length}`);
for (let i = 0; i < Math.min(rows.length, expected.length); i++)
  for (const c of columns)
    if (rows[i][c] !== expected[i][c])
      fail(`duckdb: row ${i} column ${c}: ${JSON.stringify(rows[i][c])}, expected ${JSON.stringify(expected[i][c])}`);

// The second reader: arrow-rs's Parquet reader. Values to the expected text in JavaScript.
const table = tableFromIPC(readParquet(readFileSync(file)).intoIPCStream());
const hex = (u8) => Array.from(u8, (x) => x.toString(16).padStart(2, '0').toUpperCase()).join('');
const text = (c, v) => {
  if (v === null || v === undefined) return null;
  switch (c) {
    case 'b': return v ? 'true' : 'false';
    case 'f32': case 'f64':
      return Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf'
        : Number.isInteger(v) ? v.toFixed(1) : String(v);
    case 'dt': return String(Math.round(Number(v) / 86400000)); // arrow-js: ms since the epoch
    case 'bin': case 'fx': return hex(v);
    case 'li': case 'ls': // get(k) sees the element's validity; toArray() would not
      return `[${Array.from({ length: v.length }, (_, k) => v.get(k)).map((e) => (e === null ? 'NULL' : String(e))).join(', ')}]`;
    default: return String(v);
  }
};
// the columns whose JavaScript values have one plain text form
const second = ['rid', 'b', 'i8', 'i16', 'i32', 'i64', 'u8', 'u16', 'u32', 'u64', 'f32', 'f64',
  'd50', 'dt', 's', 'j', 'bin', 'fx', 'li', 'ls', 'iv'];
if (table.numRows !== expected.length) fail(`parquet-wasm: ${table.numRows} rows, expected ${expected.length}`);
for (const c of second) {
  const col = table.getChild(c);
  if (!col) { fail(`parquet-wasm: no column ${c}`); continue; }
  for (let i = 0; i < Math.min(table.numRows, expected.length); i++) {
    const got = text(c, col.get(i));
    if (got !== expected[i][c])
      fail(`parquet-wasm: row ${i} column ${c}: ${JSON.stringify(got)}, expected ${JSON.stringify(expected[i][c])}`);
  }
}
if (failures) {
  console.error(`${failures} difference(s)`);
  process.exit(1);
}
console.log(`ok: ${expected.length} rows x ${columns.length} columns read back by DuckDB and parquet-wasm`);
