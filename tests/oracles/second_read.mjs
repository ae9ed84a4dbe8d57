// A second, independent reader for Parquet files sluice wrote: arrow-rs's Parquet reader compiled
// to WebAssembly (parquet-wasm, its Arrow output read by apache-arrow), against DuckDB's reader
// on the same files. Every column of every file must decode in both; per column the row count
// and the NULLs must agree row by row, and the values too where both readers hand them over in a
// form with one spelling: booleans, integers, floats, strings (JSON included) and bytes. Other
// types (decimals, dates, times, timestamps, lists) are compared by NULLs only here; their
// values are checked against the source by DuckDB in the test that calls this.
//
// Usage: node second_read.mjs FILE.parquet...
// Prints "COLUMNS ROWS" checked; exit 1 with the first differences otherwise.
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { readParquet } from 'parquet-wasm';
import { tableFromIPC } from 'apache-arrow';

const files = process.argv.slice(2);
let failures = 0;
const fail = (msg) => {
  if (failures++ < 20) console.error(msg);
};
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run("SET TimeZone = 'UTC'");
const hex = (u8) => Array.from(u8, (x) => x.toString(16).padStart(2, '0').toUpperCase()).join('');
const exact = (t) => /^(BOOLEAN|U?(TINY|SMALL|BIG)?INT(EGER)?|UINTEGER|HUGEINT|FLOAT|DOUBLE|VARCHAR|JSON|BLOB)$/.test(t);
let columns = 0, rows = 0;
for (const file of files) {
  const desc = (await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).getRowObjectsJson();
  const sel = desc.map(({ column_name: c, column_type: t }) =>
    t === 'BLOB' ? `hex("${c}") AS "${c}"` : t === 'JSON' ? `CAST("${c}" AS VARCHAR) AS "${c}"` : `"${c}"`);
  const duck = (await con.runAndReadAll(
    `SELECT ${sel.join(', ')} FROM read_parquet('${file}', file_row_number = true) ORDER BY file_row_number`,
  )).getRowObjectsJson();
  const table = tableFromIPC(readParquet(readFileSync(file)).intoIPCStream());
  if (table.numRows !== duck.length) fail(`${file}: parquet-wasm ${table.numRows} rows, DuckDB ${duck.length}`);
  for (const { column_name: c, column_type: t } of desc) {
    const col = table.getChild(c);
    if (!col) {
      fail(`${file}: column ${c} missing in parquet-wasm`);
      continue;
    }
    columns++;
    for (let i = 0; i < Math.min(table.numRows, duck.length); i++) {
      // NULL-ness from the validity bitmap: apache-arrow's get() turns some values (timestamps
      // at the int64 extremes) into numbers it cannot hold
      const an = !col.isValid(i), b = duck[i][c], bn = b === null || b === undefined;
      if (an !== bn) {
        fail(`${file}: ${c} row ${i}: parquet-wasm ${an ? 'NULL' : 'a value'}, DuckDB ${bn ? 'NULL' : 'a value'}`);
        continue;
      }
      if (an || !exact(t)) continue;
      const a = col.get(i);
      let x;
      if (t === 'BLOB') x = hex(a);
      else if (t === 'BOOLEAN') x = a ? 'true' : 'false';
      else if (t === 'FLOAT' || t === 'DOUBLE') x = Number(a);
      else x = String(a);
      let y = t === 'BOOLEAN' ? (b ? 'true' : 'false') : t === 'FLOAT' || t === 'DOUBLE' ? Number(b) : String(b);
      if (t === 'FLOAT' && typeof y === 'number') y = Math.fround(y);
      if (typeof b === 'string' && (t === 'FLOAT' || t === 'DOUBLE')) y = Number(b); // NaN, inf as text
      const same = typeof x === 'number' ? (Number.isNaN(x) && Number.isNaN(y)) || Object.is(x, y) || x === y : x === y;
      if (!same) fail(`${file}: ${c} (${t}) row ${i}: parquet-wasm ${JSON.stringify(String(x))}, DuckDB ${JSON.stringify(String(y))}`);
    }
  }
  rows += duck.length;
}
if (failures) process.exit(1);
console.log(`${columns} ${rows}`);
