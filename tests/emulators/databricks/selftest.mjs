// Self-test of the Databricks emulator: starts it and proves the checks it exists for. Exit 0 when
// every check passes.
//
// Usage: node tests/emulators/databricks/selftest.mjs
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(new URL('../../oracles/package.json', import.meta.url));
const { DuckDBInstance } = require('@duckdb/node-api');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dbx-selftest-'));
const children = [];
let failures = 0;
let passes = 0;
const logs = [];
function check(name, ok, detail) {
  if (ok) { passes++; console.log(`ok   ${name}`); } else { failures++; console.log(`FAIL ${name}${detail === undefined ? '' : `\n     ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`}`); }
}
process.on('exit', () => { for (const c of children) c.kill('SIGTERM'); fs.rmSync(tmp, { recursive: true, force: true }); });
const freePort = () => new Promise((resolve) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); }); });
function start(args, name) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(c);
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${err}`)), 60000);
    c.stdout.on('data', (d) => { if (String(d).includes('ready')) { clearTimeout(timer); resolve(c); } });
    c.stderr.on('data', (d) => { err += d; logs.push(...String(d).split('\n').filter(Boolean)); });
    c.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited ${code}: ${err}`)); });
  });
}

const PAT = 'dapi-selftest-token';
const WH = '0123456789abcdef';
const port = await freePort();
const BASE = `http://127.0.0.1:${port}`;
await start([path.join(here, 'server.mjs'), '--port', String(port), '--token', PAT, '--client-id', 'sp-id', '--client-secret', 'sp-secret',
  '--warehouse-id', WH, '--catalog', 'main', '--volume', 'stage.vol', '--files', path.join(tmp, 'files'), '--chunk-rows', '3'], 'emulator');

const auth = (t = PAT) => ({ Authorization: `Bearer ${t}` });
async function sql(statement, { token, parameters, wait = '10s', extra = {} } = {}) {
  const res = await fetch(`${BASE}/api/2.0/sql/statements`, {
    method: 'POST', headers: { ...auth(token), 'Content-Type': 'application/json' },
    body: JSON.stringify({ statement, warehouse_id: WH, catalog: 'main', wait_timeout: wait, ...(parameters ? { parameters } : {}), ...extra }),
  });
  return { status: res.status, headers: res.headers, body: await res.json().catch(() => null) };
}
const state = (r) => r.body?.status?.state;
const rows = (r) => r.body?.result?.data_array;
const show = (r) => JSON.stringify({ status: r.status, body: r.body });
const control = async (p, body) => (await fetch(`${BASE}/_emulator/${p}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) })).json();
const T = (n) => `\`main\`.\`stage\`.\`${n}\``;
const VOL = '/Volumes/main/stage/vol';
const duck = await (await DuckDBInstance.create(':memory:')).connect();
async function put(rel, select) {
  const file = path.join(tmp, `${crypto.randomUUID()}.parquet`);
  await duck.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  const res = await fetch(`${BASE}/api/2.0/fs/files${VOL}/${rel}`, { method: 'PUT', headers: { ...auth(), 'Content-Type': 'application/octet-stream' }, body: fs.readFileSync(file) });
  return res.status;
}

// ---- authentication
let r = await sql('SELECT current_user(), current_catalog()');
check('PAT: 200 SUCCEEDED with the user and catalog', r.status === 200 && state(r) === 'SUCCEEDED' && JSON.stringify(rows(r)) === '[["sluice@example.com","main"]]', show(r));
r = await sql('SELECT current_user(), current_catalog()', { token: 'wrong' });
check('a wrong token: 401 UNAUTHENTICATED', r.status === 401 && r.body.error_code === 'UNAUTHENTICATED', show(r));
const tok = async (id, secret, body = 'grant_type=client_credentials&scope=all-apis') => {
  const res = await fetch(`${BASE}/oidc/v1/token`, { method: 'POST', headers: { Authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`, 'Content-Type': 'application/x-www-form-urlencoded' }, body });
  return { status: res.status, body: await res.json() };
};
let t = await tok('sp-id', 'sp-secret');
check('OAuth M2M: an access token for an hour', t.status === 200 && t.body.token_type === 'Bearer' && t.body.expires_in === 3600 && t.body.scope === 'all-apis', t);
r = await sql('SELECT current_user(), current_catalog()', { token: t.body.access_token });
check('the OAuth token signs a statement in as the service principal', state(r) === 'SUCCEEDED' && rows(r)[0][0] === 'sp-id', show(r));
t = await tok('sp-id', 'nope');
check('a wrong client secret: 401 invalid_client', t.status === 401 && t.body.error === 'invalid_client', t);
t = await tok('sp-id', 'sp-secret', 'grant_type=client_credentials&scope=sql');
check('a scope other than all-apis: 400 invalid_scope', t.status === 400 && t.body.error === 'invalid_scope', t);

// ---- request checks
r = await sql('SELECT current_user(), current_catalog()', { extra: { warehouse_id: 'nope' } });
check('an unknown warehouse: 404 RESOURCE_DOES_NOT_EXIST', r.status === 404 && r.body.error_code === 'RESOURCE_DOES_NOT_EXIST', show(r));
r = await sql('SELECT current_user(), current_catalog()', { wait: '3s' });
check('wait_timeout 3s: 400 (0s or 5s to 50s)', r.status === 400 && r.body.error_code === 'INVALID_PARAMETER_VALUE', show(r));
r = await sql('SELECT current_user(), current_catalog()', { extra: { bogus: 1 } });
check('an undocumented field: 400', r.status === 400, show(r));
r = await sql('SELECT 1');
check('a statement not in TEMPLATES.md: 200 FAILED with PARSE_SYNTAX_ERROR, SQLSTATE 42601', state(r) === 'FAILED' && r.body.status.sql_state === '42601' && /PARSE_SYNTAX_ERROR/.test(r.body.status.error.message), show(r));
r = await sql('SELECT current_user(), current_catalog(); SELECT current_user(), current_catalog()');
check('two statements in one request: FAILED', state(r) === 'FAILED', show(r));

// ---- DDL and loads
r = await sql(`CREATE TABLE IF NOT EXISTS ${T('t')} (\`id\` INT NOT NULL, \`name\` STRING, \`tags\` ARRAY<STRING>, \`_sluice_version\` DECIMAL(20,0), \`_sluice_seq\` BIGINT, \`_sluice_deleted\` BOOLEAN)`);
check('D2 CREATE TABLE: SUCCEEDED', state(r) === 'SUCCEEDED', show(r));
r = await sql(`CREATE TABLE IF NOT EXISTS ${'`main`.`stage`.`T2`'} (\`id\` INT)`);
check('an upper-case table name: FAILED (Unity Catalog stores names lower case)', state(r) === 'FAILED', show(r));
r = await sql(`CREATE TABLE IF NOT EXISTS ${T('t3')} (\`A\` INT, \`a\` INT)`);
check('two columns differing only in case: FAILED COLUMN_ALREADY_EXISTS', state(r) === 'FAILED' && /COLUMN_ALREADY_EXISTS/.test(r.body.status.error.message), show(r));
check('a Parquet file PUT into the volume: 204', await put('snap/a.parquet', "SELECT i::INT AS id, 'n' || i AS name, ['x', 'y'] AS tags, 0::DECIMAL(20,0) AS _sluice_version, 0::BIGINT AS _sluice_seq, false AS _sluice_deleted FROM range(1, 8) v(i)") === 204);
const copy = `COPY INTO ${T('t')} FROM '${VOL}/snap/' FILEFORMAT = PARQUET FILES = ('a.parquet')`;
r = await sql(copy);
check('L1 COPY INTO: 7 rows', state(r) === 'SUCCEEDED' && JSON.stringify(rows(r)) === '[["7","7","0"]]' && r.body.manifest.schema.columns[0].type_name === 'LONG', show(r));
r = await sql(copy);
check('the same COPY again loads nothing (load history)', JSON.stringify(rows(r)) === '[["0","0","0"]]', show(r));
await put('snap/bad.parquet', "SELECT 'x' AS id");
r = await sql(`COPY INTO ${T('t')} FROM '${VOL}/snap/' FILEFORMAT = PARQUET FILES = ('bad.parquet')`);
check('a file whose column type does not fit: FAILED', state(r) === 'FAILED', show(r));
r = await sql(`COPY INTO ${T('t')} FROM '${VOL}/snap/' FILEFORMAT = PARQUET FILES = ('missing.parquet')`);
check('a missing file: FAILED PATH_NOT_FOUND', state(r) === 'FAILED' && /PATH_NOT_FOUND/.test(r.body.status.error.message), show(r));

// ---- results in chunks (3 rows each)
r = await sql(`SELECT \`id\`, \`name\`, \`tags\` FROM ${T('t')} WHERE NOT \`_sluice_deleted\``);
check('R4: the manifest counts 3 chunks of 7 rows', state(r) === 'SUCCEEDED' && r.body.manifest.total_chunk_count === 3 && r.body.manifest.total_row_count === 7 && rows(r).length === 3 && r.body.result.next_chunk_index === 1, show(r));
const c2 = await (await fetch(`${BASE}${r.body.result.next_chunk_internal_link}`, { headers: auth() })).json();
check('the next chunk by its internal link', c2.chunk_index === 1 && c2.row_offset === 3 && c2.data_array.length === 3, c2);
check('values are strings; an ARRAY as JSON text', typeof rows(r)[0][0] === 'string' && rows(r)[0][2] === '["x","y"]', rows(r));

// ---- MERGE: the latest change per key wins, the version guard makes a replay change nothing
await put('chg/c1.parquet', "SELECT * FROM (VALUES (2::INT, 'two', ['z'], 10::DECIMAL(20,0), 1::BIGINT, false), (3, NULL, NULL, 10, 2, true), (9, 'nine', NULL, 10, 3, false), (2, 'TWO', NULL, 11, 1, false)) v(id, name, tags, _sluice_version, _sluice_seq, _sluice_deleted)");
const merge = (file) => `MERGE INTO ${T('t')} AS t USING (SELECT * FROM read_files('${VOL}/chg/${file}', format => 'parquet') QUALIFY row_number() OVER (PARTITION BY \`id\` ORDER BY \`_sluice_version\` DESC, \`_sluice_seq\` DESC) = 1) AS s ON t.\`id\` = s.\`id\` WHEN MATCHED AND (s.\`_sluice_version\` > t.\`_sluice_version\` OR (s.\`_sluice_version\` = t.\`_sluice_version\` AND s.\`_sluice_seq\` > t.\`_sluice_seq\`)) AND s.\`_sluice_deleted\` THEN UPDATE SET \`_sluice_deleted\` = true, \`_sluice_version\` = s.\`_sluice_version\`, \`_sluice_seq\` = s.\`_sluice_seq\` WHEN MATCHED AND (s.\`_sluice_version\` > t.\`_sluice_version\` OR (s.\`_sluice_version\` = t.\`_sluice_version\` AND s.\`_sluice_seq\` > t.\`_sluice_seq\`)) THEN UPDATE SET \`id\` = s.\`id\`, \`name\` = s.\`name\`, \`tags\` = s.\`tags\`, \`_sluice_version\` = s.\`_sluice_version\`, \`_sluice_seq\` = s.\`_sluice_seq\`, \`_sluice_deleted\` = false WHEN NOT MATCHED AND NOT s.\`_sluice_deleted\` THEN INSERT (\`id\`, \`name\`, \`tags\`, \`_sluice_version\`, \`_sluice_seq\`, \`_sluice_deleted\`) VALUES (s.\`id\`, s.\`name\`, s.\`tags\`, s.\`_sluice_version\`, s.\`_sluice_seq\`, false)`;
r = await sql(merge('c1.parquet'));
check('M1: 2 updated (one a delete), 1 inserted', state(r) === 'SUCCEEDED' && JSON.stringify(rows(r)) === '[["3","2","0","1"]]', show(r));
r = await sql(merge('c1.parquet'));
check('M1 replayed: nothing changes (version guard)', JSON.stringify(rows(r)) === '[["0","0","0","0"]]', show(r));
const live = async () => rows(await sql(`SELECT \`id\`, \`name\`, \`tags\` FROM ${T('t')} WHERE NOT \`_sluice_deleted\``)) ?? [];
r = await fetch(`${BASE}/_emulator/query`, { method: 'POST', body: 'SELECT id, name FROM uc_main.stage.t WHERE NOT _sluice_deleted ORDER BY id' }).then((x) => x.json());
check('after the MERGE: 2 is TWO, 3 deleted, 9 inserted', JSON.stringify(r.rows) === JSON.stringify([['1', 'n1'], ['2', 'TWO'], ['4', 'n4'], ['5', 'n5'], ['6', 'n6'], ['7', 'n7'], ['9', 'nine']]), r);
void live;
// a merge source with two rows for one key (no QUALIFY would have left it so): refused
const noq = merge('c1.parquet').replace(' QUALIFY row_number() OVER (PARTITION BY `id` ORDER BY `_sluice_version` DESC, `_sluice_seq` DESC) = 1', '');
r = await sql(noq);
check('a MERGE without QUALIFY: not a template (FAILED)', state(r) === 'FAILED', show(r));

// ---- MERGE of changes that left columns unchanged: those taken from the row; no row: an error
const G = '(s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`))';
const LOST = "raise_error('sluice: a change left columns unchanged, and the row it changed is not in the table')";
const U = (n) => `CASE WHEN substr(s.\`_sluice_unchanged\`, ${n}, 1) = '1' THEN t.`;
const mergeU = (file) => `MERGE INTO ${T('t')} AS t USING (SELECT * FROM read_files('${VOL}/chg/${file}', format => 'parquet') QUALIFY row_number() OVER (PARTITION BY \`id\` ORDER BY \`_sluice_version\` DESC, \`_sluice_seq\` DESC) = 1) AS s ON t.\`id\` = s.\`id\` WHEN MATCHED AND ${G} AND s.\`_sluice_deleted\` THEN UPDATE SET \`_sluice_deleted\` = true, \`_sluice_version\` = s.\`_sluice_version\`, \`_sluice_seq\` = s.\`_sluice_seq\` WHEN MATCHED AND ${G} AND t.\`_sluice_deleted\` AND s.\`_sluice_unchanged\` IS NOT NULL AND substr(s.\`_sluice_unchanged\`, 4, 1) <> 'L' THEN UPDATE SET \`_sluice_version\` = ${LOST} WHEN NOT MATCHED AND s.\`_sluice_unchanged\` IS NOT NULL AND substr(s.\`_sluice_unchanged\`, 4, 1) <> 'L' THEN INSERT (\`_sluice_version\`) VALUES (${LOST}) WHEN MATCHED AND ${G} THEN UPDATE SET \`id\` = s.\`id\`, \`name\` = ${U(2)}\`name\` ELSE s.\`name\` END, \`tags\` = ${U(3)}\`tags\` ELSE s.\`tags\` END, \`_sluice_version\` = s.\`_sluice_version\`, \`_sluice_seq\` = s.\`_sluice_seq\`, \`_sluice_deleted\` = false WHEN NOT MATCHED AND NOT s.\`_sluice_deleted\` AND s.\`_sluice_unchanged\` IS NULL THEN INSERT (\`id\`, \`name\`, \`tags\`, \`_sluice_version\`, \`_sluice_seq\`, \`_sluice_deleted\`) VALUES (s.\`id\`, s.\`name\`, s.\`tags\`, s.\`_sluice_version\`, s.\`_sluice_seq\`, false)`;
const chg = (v) => `SELECT * FROM (VALUES ${v}) v(id, name, tags, _sluice_version, _sluice_seq, _sluice_deleted, _sluice_unchanged)`;
await put('chg/u1.parquet', chg("(2::INT, NULL::VARCHAR, ['u'], 20::DECIMAL(20,0), 1::BIGINT, false, '010'), (4, 'four', NULL, 20, 2, false, NULL::VARCHAR)"));
r = await sql(mergeU('u1.parquet'));
check('M1 with an unchanged column: the row keeps its value, the others change', state(r) === 'SUCCEEDED' && JSON.stringify(rows(r)) === '[["2","2","0","0"]]', show(r));
r = await fetch(`${BASE}/_emulator/query`, { method: 'POST', body: "SELECT name, array_to_string(tags, ',') FROM uc_main.stage.t WHERE id IN (2, 4) ORDER BY id" }).then((x) => x.json());
check('after it: 2 is still TWO with tags u; 4 is four', JSON.stringify(r.rows) === JSON.stringify([['TWO', 'u'], ['four', null]]), r);
await put('chg/u2.parquet', chg("(2::INT, 'late'::VARCHAR, NULL::VARCHAR[], 21::DECIMAL(20,0), 1::BIGINT, false, NULL::VARCHAR), (50, NULL, NULL, 21, 2, false, '010')"));
r = await sql(mergeU('u2.parquet'));
check('an unchanged column whose row is missing: FAILED with the raised message, SQLSTATE P0001', state(r) === 'FAILED' && r.body.status.sql_state === 'P0001' && /USER_RAISED_EXCEPTION.*not in the table/.test(r.body.status.error.message), show(r));
r = await fetch(`${BASE}/_emulator/query`, { method: 'POST', body: 'SELECT name FROM uc_main.stage.t WHERE id = 2' }).then((x) => x.json());
check('the failed MERGE changed nothing', JSON.stringify(r.rows) === '[["TWO"]]', r);
await put('chg/u3.parquet', chg("(2::INT, 'late'::VARCHAR, NULL::VARCHAR[], 21::DECIMAL(20,0), 1::BIGINT, false, NULL::VARCHAR), (50, NULL, NULL, 21, 2, false, '010L')"));
r = await sql(mergeU('u3.parquet'));
check("the same row marked 'L' (may miss its row): skipped, the rest applied", state(r) === 'SUCCEEDED' && JSON.stringify(rows(r)) === '[["1","1","0","0"]]', show(r));

// ---- K1: a keyless table's inserts, each (version, seq) once
await put('chg/k1.parquet', "SELECT * FROM (VALUES (20::INT, 'a', NULL::VARCHAR[], 30::DECIMAL(20,0), 0::BIGINT, false), (20, 'a', NULL, 30, 1, false), (21, 'b', NULL, 31, 0, false)) v(id, name, tags, _sluice_version, _sluice_seq, _sluice_deleted)");
const k1 = (file) => `MERGE INTO ${T('t')} AS t USING (SELECT * FROM read_files('${VOL}/chg/${file}', format => 'parquet')) AS s ON t.\`_sluice_version\` = s.\`_sluice_version\` AND t.\`_sluice_seq\` = s.\`_sluice_seq\` WHEN NOT MATCHED THEN INSERT (\`id\`, \`name\`, \`tags\`, \`_sluice_version\`, \`_sluice_seq\`, \`_sluice_deleted\`) VALUES (s.\`id\`, s.\`name\`, s.\`tags\`, s.\`_sluice_version\`, s.\`_sluice_seq\`, false)`;
r = await sql(k1('k1.parquet'));
check('K1: three rows inserted, two of them equal', state(r) === 'SUCCEEDED' && JSON.stringify(rows(r)) === '[["3","0","0","3"]]', show(r));
await put('chg/k2.parquet', "SELECT * FROM (VALUES (21::INT, 'b', NULL::VARCHAR[], 31::DECIMAL(20,0), 0::BIGINT, false), (22, 'c', NULL, 31, 1, false)) v(id, name, tags, _sluice_version, _sluice_seq, _sluice_deleted)");
r = await sql(k1('k2.parquet'));
check('K1 of a replayed group in another file: only the row not there yet', state(r) === 'SUCCEEDED' && JSON.stringify(rows(r)) === '[["1","0","0","1"]]', show(r));
r = await fetch(`${BASE}/_emulator/query`, { method: 'POST', body: 'SELECT count(*) FROM uc_main.stage.t WHERE id >= 20' }).then((x) => x.json());
check('after both: 4 rows', JSON.stringify(r.rows) === '[["4"]]', r);

// ---- the state row, with named parameters
const s1 = `MERGE INTO ${T('_sluice_state')} AS t USING (SELECT :pipeline AS \`pipeline\`, :epoch AS \`epoch\`, :position AS \`position\`, CAST(:version AS DECIMAL(20,0)) AS \`version\`, CAST(:commit_us AS BIGINT) AS \`commit_us\`, CAST(:applied_us AS BIGINT) AS \`applied_us\`) AS s ON t.\`pipeline\` = s.\`pipeline\` WHEN MATCHED AND (t.\`epoch\` <> s.\`epoch\` OR t.\`version\` <= s.\`version\`) THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *`;
await sql(`CREATE TABLE IF NOT EXISTS ${T('_sluice_state')} (\`pipeline\` STRING NOT NULL, \`epoch\` STRING, \`position\` STRING, \`version\` DECIMAL(20,0), \`commit_us\` BIGINT, \`applied_us\` BIGINT)`);
const params = (v) => [{ name: 'pipeline', value: 'p1' }, { name: 'epoch', value: 'e1' }, { name: 'position', value: "0/1'2" }, { name: 'version', value: String(v) }, { name: 'commit_us', value: '1' }, { name: 'applied_us', value: '2' }];
r = await sql(s1, { parameters: params(5) });
check('S1 with named parameters: SUCCEEDED', state(r) === 'SUCCEEDED', show(r));
r = await sql(s1, { parameters: params(4) });
check('S1 with an older version (a stale agent) leaves the row', state(r) === 'SUCCEEDED' && JSON.stringify(rows(r)) === '[["0","0","0","0"]]', show(r));
r = await sql(s1, { parameters: params(6).slice(1) });
check('an unbound parameter: FAILED UNBOUND_SQL_PARAMETER', state(r) === 'FAILED' && /UNBOUND_SQL_PARAMETER/.test(r.body.status.error.message), show(r));
r = await sql(`SELECT \`epoch\`, \`position\`, \`version\`, \`commit_us\`, \`applied_us\` FROM ${T('_sluice_state')} WHERE \`pipeline\` = :pipeline`, { parameters: [{ name: 'pipeline', value: 'p1' }] });
check('R2 reads the state back (a quote in a value kept)', JSON.stringify(rows(r)) === JSON.stringify([['e1', "0/1'2", '5', '1', '2']]), show(r));

// ---- asynchronous statements, polling, cancel
await control('faults', { slow: 1 });
r = await sql(`SELECT count(*) FROM ${T('t')}`, { wait: '0s' });
check('wait_timeout 0s: PENDING or RUNNING at once, with an id', ['PENDING', 'RUNNING'].includes(state(r)) && r.body.statement_id, show(r));
let g;
for (let i = 0; i < 50; i++) { g = await (await fetch(`${BASE}/api/2.0/sql/statements/${r.body.statement_id}`, { headers: auth() })).json(); if (g.status.state === 'SUCCEEDED') break; await new Promise((x) => { setTimeout(x, 100); }); }
check('polled until SUCCEEDED with its result', g.status.state === 'SUCCEEDED' && g.result.data_array[0][0] === '12', g);
await control('faults', { slow: 1 });
r = await sql(`SELECT count(*) FROM ${T('t')}`, { wait: '0s' });
await fetch(`${BASE}/api/2.0/sql/statements/${r.body.statement_id}/cancel`, { method: 'POST', headers: auth() });
g = await (await fetch(`${BASE}/api/2.0/sql/statements/${r.body.statement_id}`, { headers: auth() })).json();
check('cancel: CANCELED', g.status.state === 'CANCELED', g);

// ---- faults, privileges, the Files API
await control('faults', { status429: 1 });
r = await sql('SELECT current_user(), current_catalog()');
check('429 fault: 429 with Retry-After', r.status === 429 && r.headers.get('retry-after') === '1', show(r));
await control('faults', { status503: 1 });
r = await sql('SELECT current_user(), current_catalog()');
check('503 fault: 503 TEMPORARILY_UNAVAILABLE', r.status === 503, show(r));
await control('faults', { drop: 1 });
let dropped = false;
try { await sql('SELECT current_user(), current_catalog()'); } catch { dropped = true; }
check('drop fault: the connection closes without an answer', dropped);
await control('config', { grants: { modify: false } });
r = await sql(copy.replace('a.parquet', 'b.parquet'));
check('MODIFY revoked: FAILED INSUFFICIENT_PERMISSIONS, SQLSTATE 42501', state(r) === 'FAILED' && r.body.status.sql_state === '42501', show(r));
await control('config', { grants: { modify: true, writeVolume: false } });
const denied = await fetch(`${BASE}/api/2.0/fs/files${VOL}/x.bin`, { method: 'PUT', headers: { ...auth(), 'Content-Type': 'application/octet-stream' }, body: 'x' });
check('WRITE VOLUME revoked: PUT 403 PERMISSION_DENIED', denied.status === 403 && (await denied.json()).error_code === 'PERMISSION_DENIED');
await control('config', { grants: { writeVolume: true } });
let f = await fetch(`${BASE}/api/2.0/fs/files/Volumes/main/stage/nope/x.bin`, { method: 'PUT', headers: { ...auth(), 'Content-Type': 'application/octet-stream' }, body: 'x' });
check('a PUT into a volume that does not exist: 404', f.status === 404);
f = await fetch(`${BASE}/api/2.0/fs/files${VOL}/snap/a.parquet?overwrite=false`, { method: 'PUT', headers: { ...auth(), 'Content-Type': 'application/octet-stream' }, body: 'x' });
check('overwrite=false on an existing file: 409 ALREADY_EXISTS', f.status === 409);
f = await fetch(`${BASE}/api/2.0/fs/directories${VOL}/snap/`, { headers: auth() });
const listing = await f.json();
check('directory listing names the files', f.status === 200 && listing.contents.map((e) => e.name).join(',') === 'a.parquet,bad.parquet', listing);
f = await fetch(`${BASE}/api/2.0/fs/files${VOL}/snap/bad.parquet`, { method: 'DELETE', headers: auth() });
const h = await fetch(`${BASE}/api/2.0/fs/files${VOL}/snap/bad.parquet`, { method: 'HEAD', headers: auth() });
check('DELETE, then HEAD: 404', f.status === 204 && h.status === 404);

console.log(`${passes} passed, ${failures} failed`);
if (failures) { console.log(logs.join('\n')); process.exit(1); }
process.exit(0);
