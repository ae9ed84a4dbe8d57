// Runs one SQL statement in DuckDB (an in-memory database; read_parquet reads the files) and
// prints its rows, values joined by '|' (NULL as nothing), as psql -At does.
//
// Usage: node duckdb_sql.mjs "SQL"
import { DuckDBInstance } from '@duckdb/node-api';

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run("SET TimeZone = 'UTC'");
const rows = (await con.runAndReadAll(process.argv[2])).getRowsJson();
for (const r of rows) console.log(r.map((v) => (v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v))).join('|'));
