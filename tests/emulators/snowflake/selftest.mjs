// Self-test of the Snowflake emulator: starts s3rver and the emulator with a fresh RSA key pair and
// proves the checks the emulator exists for. Exit 0 when every check passes.
//
// Usage: node tests/emulators/snowflake/selftest.mjs
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { signS3 } from './sigv4.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(new URL('../../oracles/package.json', import.meta.url));
const { DuckDBInstance } = require('@duckdb/node-api');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-selftest-'));
const children = [];
let failures = 0;
const logs = []; // the children's stderr, shown when a check fails
let passes = 0;
function check(name, ok, detail) {
  if (ok) { passes++; console.log(`ok   ${name}`); } else { failures++; console.log(`FAIL ${name}${detail === undefined ? '' : `\n     ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`}`); }
}
function cleanup() { for (const c of children) c.kill('SIGTERM'); fs.rmSync(tmp, { recursive: true, force: true }); }
process.on('exit', cleanup);

const freePort = () => new Promise((resolve) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); }); });
function start(args, name) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(c);
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${err}`)), 60000);
    c.stdout.on('data', (d) => { if (String(d).includes('ready')) { clearTimeout(timer); resolve(c); } });
    c.stderr.on('data', (d) => { err += d; logs.push(...String(d).split('\n').filter(Boolean).map((l) => `[${name}] ${l}`)); });
    c.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited ${code}: ${err}`)); });
  });
}

// ---------------------------------------------------------------------------------------------
const ACCOUNT = 'myorg-acct1';
const USER = 'sluice';
const ROLE = 'SLUICE_ROLE';
const WH = 'SLUICE_WH';
const DB = 'SLUICE_DB';
const BUCKET = 'stage';
const REGION = 'us-east-1';
const keys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherKeys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const pubFile = path.join(tmp, 'key.pem');
fs.writeFileSync(pubFile, keys.publicKey.export({ type: 'spki', format: 'pem' }));
const fp = (k) => 'SHA256:' + crypto.createHash('sha256').update(k.export({ type: 'spki', format: 'der' })).digest('base64');
const A = ACCOUNT.toUpperCase();
const U = USER.toUpperCase();

function jwt({ key = keys.privateKey, iss = `${A}.${U}.${fp(keys.publicKey)}`, sub = `${A}.${U}`, iat, exp } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${enc({ alg: 'RS256', typ: 'JWT' })}.${enc({ iss, sub, iat: iat ?? now, exp: exp ?? now + 3000 })}`;
  return `${head}.${crypto.sign('RSA-SHA256', Buffer.from(head), key).toString('base64url')}`;
}

const s3Port = await freePort();
const sfPort = await freePort();
const S3 = `http://127.0.0.1:${s3Port}`;
const BASE = `http://127.0.0.1:${sfPort}`;
fs.mkdirSync(path.join(tmp, 's3'));
await start([path.join(here, '../../oracles/s3rver.mjs'), String(s3Port), path.join(tmp, 's3'), BUCKET], 's3rver');
await start([path.join(here, 'server.mjs'), '--port', String(sfPort), '--account', ACCOUNT, '--user', USER, '--public-key', pubFile,
  '--role', ROLE, '--warehouse', WH, '--database', DB, '--s3-endpoint', S3, '--region', REGION], 'emulator');

const headersFor = (token) => ({
  Authorization: `Bearer ${token ?? jwt()}`, 'X-Snowflake-Authorization-Token-Type': 'KEYPAIR_JWT',
  'Content-Type': 'application/json', Accept: 'application/json', 'User-Agent': 'sluice-selftest/1.0',
});
async function api(statement, { count, query = '', headers, body = {}, requestId = crypto.randomUUID() } = {}) {
  const b = { statement, timeout: 60, database: DB, schema: 'PUBLIC', warehouse: WH, role: ROLE, ...body };
  if (count !== undefined) b.parameters = { MULTI_STATEMENT_COUNT: String(count) };
  const res = await fetch(`${BASE}/api/v2/statements?requestId=${requestId}${query}`, { method: 'POST', headers: headers ?? headersFor(), body: JSON.stringify(b) });
  return { status: res.status, headers: res.headers, body: await res.json().catch(() => null), requestId };
}
const multi = (stmts) => api(stmts.join(';\n'), { count: stmts.length });
const get = async (url) => { const res = await fetch(`${BASE}${url}`, { headers: headersFor() }); return { status: res.status, body: await res.json() }; };
const control = async (p, body) => (await fetch(`${BASE}/_emulator/${p}`, body === undefined ? {} : { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) })).json();
const oracle = async (sql) => (await control('query', sql)).rows;
// R4 answers in no particular order: sort by the first column (numbers)
const sorted = (r) => { if (r.body?.data) r.body.data.sort((a, b) => Number(a[0]) - Number(b[0])); return r; };
const show = (r) => JSON.stringify({ status: r.status, code: r.body?.code, message: r.body?.message, data: r.body?.data });

// Parquet files written by DuckDB, staged in s3rver with a signed PUT.
const duck = await (await DuckDBInstance.create(':memory:')).connect();
async function stage(key, select) {
  const file = path.join(tmp, `${crypto.randomUUID()}.parquet`);
  await duck.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  const body = fs.readFileSync(file);
  const { url, headers } = signS3({ method: 'PUT', endpoint: S3, bucket: BUCKET, key, region: REGION, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', body });
  const res = await fetch(url, { method: 'PUT', headers, body });
  if (res.status !== 200) throw new Error(`PUT ${key}: ${res.status} ${await res.text()}`);
}
const T = (name) => `"${DB}"."S"."${name}"`;
const copy = (table, files, auth = "CREDENTIALS = (AWS_KEY_ID = 'S3RVER' AWS_SECRET_KEY = 'S3RVER')") =>
  `COPY INTO ${table} FROM 's3://${BUCKET}/sluice/' ${auth} FILES = (${files.map((f) => `'${f}'`).join(', ')}) FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE) MATCH_BY_COLUMN_NAME = CASE_SENSITIVE`;
const TMP_COLS = '"A" NUMBER(38,0), "B" VARCHAR, "_SLUICE_VERSION" NUMBER(20,0), "_SLUICE_DELETED" BOOLEAN, "_SLUICE_SEQ" NUMBER(20,0), "_SLUICE_UNCHANGED" VARCHAR, "_SLUICE_FROM_A" NUMBER(38,0)';
const temp = (n) => `CREATE TEMPORARY TABLE ${T(`_SLUICE_TMP_${n}`)} (${TMP_COLS})`;
// M1 for table T(A key, B), from temporary table n; bracketed: the variant with unchanged columns.
function m1(n, bracketed) {
  const sel = bracketed
    ? ['c."A"', 'IFF(SUBSTR(c."_SLUICE_UNCHANGED", 2, 1) = \'1\', o."B", c."B") AS "B"', 'c."_SLUICE_VERSION"', 'c."_SLUICE_DELETED"', 'IFF(c."_SLUICE_UNCHANGED" IS NOT NULL AND o."A" IS NULL, \'sluice: lost row\', NULL) AS "_SLUICE_LOST"']
    : ['c."A"', 'c."B"', 'c."_SLUICE_VERSION"', 'c."_SLUICE_DELETED"'];
  return `MERGE INTO ${T('T')} AS t USING (SELECT ${sel.join(', ')} FROM (SELECT * FROM ${T(`_SLUICE_TMP_${n}`)} QUALIFY ROW_NUMBER() OVER (PARTITION BY "A" ORDER BY "_SLUICE_VERSION" DESC, "_SLUICE_SEQ" DESC) = 1) AS c`
    + `${bracketed ? ` LEFT JOIN ${T('T')} AS o ON o."A" = c."_SLUICE_FROM_A" AND NOT o."_SLUICE_DELETED" WHERE c."_SLUICE_UNCHANGED" IS NULL OR o."A" IS NOT NULL OR SUBSTR(c."_SLUICE_UNCHANGED", 3, 1) <> 'L'` : ''}) AS s ON t."A" = s."A"`
    + `${bracketed ? ' WHEN MATCHED AND s."_SLUICE_LOST" IS NOT NULL THEN UPDATE SET "_SLUICE_VERSION" = CAST(s."_SLUICE_LOST" AS NUMBER(20,0))' : ''}`
    + ' WHEN MATCHED AND s."_SLUICE_DELETED" THEN UPDATE SET "_SLUICE_DELETED" = TRUE, "_SLUICE_VERSION" = s."_SLUICE_VERSION"'
    + ' WHEN MATCHED THEN UPDATE SET "A" = s."A", "B" = s."B", "_SLUICE_VERSION" = s."_SLUICE_VERSION", "_SLUICE_DELETED" = FALSE'
    + `${bracketed ? ' WHEN NOT MATCHED AND s."_SLUICE_LOST" IS NOT NULL THEN INSERT ("_SLUICE_VERSION") VALUES (CAST(s."_SLUICE_LOST" AS NUMBER(20,0)))' : ''}`
    + ' WHEN NOT MATCHED AND NOT s."_SLUICE_DELETED" THEN INSERT ("A", "B", "_SLUICE_VERSION", "_SLUICE_DELETED") VALUES (s."A", s."B", s."_SLUICE_VERSION", FALSE)';
}
const s1 = (pipeline, version) => `MERGE INTO ${T('_SLUICE_STATE')} AS t USING (SELECT '${pipeline}' AS "PIPELINE", 'e1' AS "EPOCH", 'pos\\\\1' AS "POSITION", ${version} AS "VERSION", 1700000000000000 AS "COMMIT_US", 1700000000000001 AS "APPLIED_US") AS s ON t."PIPELINE" = s."PIPELINE" WHEN MATCHED THEN UPDATE SET "EPOCH" = s."EPOCH", "POSITION" = s."POSITION", "VERSION" = s."VERSION", "COMMIT_US" = s."COMMIT_US", "APPLIED_US" = s."APPLIED_US" WHEN NOT MATCHED THEN INSERT ("PIPELINE", "EPOCH", "POSITION", "VERSION", "COMMIT_US", "APPLIED_US") VALUES (s."PIPELINE", s."EPOCH", s."POSITION", s."VERSION", s."COMMIT_US", s."APPLIED_US")`;
const r2 = (pipeline) => `SELECT "EPOCH", "POSITION", "VERSION", "COMMIT_US", "APPLIED_US" FROM ${T('_SLUICE_STATE')} WHERE "PIPELINE" = '${pipeline}'`;
const count = (t) => `SELECT COUNT(*) FROM ${T(t)}`;
const C1 = 'SELECT CURRENT_ACCOUNT(), CURRENT_USER(), CURRENT_ROLE(), CURRENT_WAREHOUSE(), CURRENT_DATABASE()';

// ---------------------------------------------------------------------------------------------
// Authentication
let r = await api(C1);
check('C1 with a good JWT: 200 and the session context', r.status === 200 && JSON.stringify(r.body.data) === JSON.stringify([[A, U, ROLE, WH, DB]])
  && r.body.code === '090001' && r.body.resultSetMetaData.format === 'jsonv2' && r.body.statementStatusUrl === `/api/v2/statements/${r.body.statementHandle}?requestId=${r.requestId}`, r.body);
const authCase = async (name, token, tag, headers) => {
  const x = await api(C1, { headers: headers ?? headersFor(token) });
  check(name, x.status === 401 && x.body.message.includes(tag), show(x));
};
await authCase('JWT signed by another key: 401 [signature]', jwt({ key: otherKeys.privateKey }), '[signature]');
await authCase('wrong fingerprint in iss: 401 [fingerprint]', jwt({ iss: `${A}.${U}.${fp(otherKeys.publicKey)}` }), '[fingerprint]');
const now = Math.floor(Date.now() / 1000);
await authCase('expired exp: 401 [expired]', jwt({ iat: now - 4000, exp: now - 10 }), '[expired]');
await authCase('exp more than an hour after iat: 401 [lifetime]', jwt({ iat: now, exp: now + 3601 }), '[lifetime]');
await authCase('wrong account in sub: 401 [subject]', jwt({ sub: `OTHERACCT.${U}` }), '[subject]');
await authCase('lower-case user in iss: 401 [user]', jwt({ iss: `${A}.${USER}.${fp(keys.publicKey)}` }), '[user]');
const noType = headersFor(); delete noType['X-Snowflake-Authorization-Token-Type'];
await authCase('missing X-Snowflake-Authorization-Token-Type: 401', null, 'token_type', noType);
await control('faults', { clock_skew_s: 7200 });
await authCase('emulator clock moved 2 h ahead: a fresh token is expired', jwt(), '[expired]');
await control('faults', { clock_skew_s: 0 });

// Request shape
r = await api(C1, { body: { sessionId: 'x' } });
check('unknown body field: 400', r.status === 400 && /sessionId/.test(r.body.message), show(r));
r = await api(C1, { query: '&pageSize=10' });
check('unknown query parameter: 400', r.status === 400, show(r));
r = await api(C1, { body: { parameters: { MULTI_STATEMENT_COUNT: '1', AUTOCOMMIT: 'false' } } });
check('unknown session parameter: 400', r.status === 400 && /AUTOCOMMIT/.test(r.body.message), show(r));
// fetch always sends a User-Agent, so this request goes through node:http.
r = await new Promise((resolve, reject) => {
  const h = headersFor(); delete h['User-Agent'];
  const req = http.request(`${BASE}/api/v2/statements?requestId=${crypto.randomUUID()}`, { method: 'POST', headers: h }, (res) => {
    let t = ''; res.on('data', (d) => { t += d; }); res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(t) }));
  });
  req.on('error', reject);
  req.end(JSON.stringify({ statement: C1, warehouse: WH, role: ROLE, database: DB }));
});
check('missing User-Agent: 400', r.status === 400 && /User-Agent/.test(r.body.message), show(r));
r = await api('SELECT 1');
check('unknown statement: 422 compilation error', r.status === 422 && r.body.code === '001003' && /no sluice template/.test(r.body.message) && r.body.statementHandle, show(r));
r = await api(`${C1};\n${C1}`);
check('two statements without MULTI_STATEMENT_COUNT: 422 000008', r.status === 422 && r.body.code === '000008' && /Actual statement count 2 did not match the desired statement count 1/.test(r.body.message), show(r));
r = await api(`${C1};\n${C1}`, { count: 3 });
check('MULTI_STATEMENT_COUNT 3 for 2 statements: 422 000008', r.status === 422 && r.body.code === '000008', show(r));
r = await api(C1, { body: { role: 'OTHER_ROLE' } });
check('role not granted: 422', r.status === 422 && r.body.code === '390189', show(r));
r = await api(C1, { body: { database: 'NOPE', warehouse: 'NOWH' } });
check('unknown database and warehouse: CURRENT_DATABASE() and CURRENT_WAREHOUSE() NULL', r.status === 200 && r.body.data[0][3] === null && r.body.data[0][4] === null, show(r));
r = await api(count('T').replace(`"${DB}"`, '"NOPE"'));
check('statement naming another database: 422 002003', r.status === 422 && r.body.code === '002003' && /does not exist or not authorized/.test(r.body.message), show(r));

// Setup: schema and tables, one multi-statement request
r = await multi([
  `CREATE SCHEMA IF NOT EXISTS "${DB}"."S"`,
  `CREATE TABLE IF NOT EXISTS ${T('T')} ("A" NUMBER(38,0) NOT NULL, "B" VARCHAR, "_SLUICE_VERSION" NUMBER(20,0), "_SLUICE_DELETED" BOOLEAN, PRIMARY KEY ("A"))`,
  `CREATE TABLE IF NOT EXISTS ${T('K')} ("A" NUMBER(38,0), "B" VARCHAR, "_SLUICE_VERSION" NUMBER(20,0), "_SLUICE_DELETED" BOOLEAN, "_SLUICE_ROW" NUMBER(38,0) IDENTITY)`,
  `CREATE TABLE IF NOT EXISTS ${T('_SLUICE_STATE')} ("PIPELINE" VARCHAR NOT NULL, "EPOCH" VARCHAR, "POSITION" VARCHAR, "VERSION" NUMBER(20,0), "COMMIT_US" NUMBER(20,0), "APPLIED_US" NUMBER(20,0), PRIMARY KEY ("PIPELINE"))`,
  `CREATE TABLE IF NOT EXISTS ${T('V')} ("A" NUMBER(38,0) NOT NULL, "J" VARIANT, "F" FLOAT, "D" DATE, "TM" TIME(9), "TS" TIMESTAMP_NTZ(6), "TZ" TIMESTAMP_TZ(3), "BIN" BINARY, "_SLUICE_VERSION" NUMBER(20,0), "_SLUICE_DELETED" BOOLEAN, PRIMARY KEY ("A"))`,
]);
check('multi-statement DDL: 200, five statement handles', r.status === 200 && r.body.statementHandles?.length === 5 && r.body.data[0][0] === 'Multiple statements executed successfully.', show(r));
if (r.status === 200) {
  const child = await get(`/api/v2/statements/${r.body.statementHandles[1]}`);
  check('GET a child handle: that statement\'s result', child.status === 200 && child.body.data[0][0] === 'Table T successfully created.', child.body);
}
r = await api(`CREATE SCHEMA IF NOT EXISTS "${DB}"."S"`);
check('CREATE SCHEMA IF NOT EXISTS again: already exists, succeeded', r.status === 200 && r.body.data[0][0] === 'S already exists, statement succeeded.', show(r));
r = await api(count('t'));
check('quoted names are case-sensitive: "t" is not "T"', r.status === 422 && r.body.code === '002003', show(r));
r = await multi(['BEGIN', temp(1), 'COMMIT']);
check('DDL between BEGIN and COMMIT: 422', r.status === 422 && r.body.code === '999001' && /line 2/.test(r.body.message), show(r));
r = await api(`SELECT "COLUMN_NAME", "DATA_TYPE", "NUMERIC_PRECISION", "NUMERIC_SCALE" FROM "${DB}"."INFORMATION_SCHEMA"."COLUMNS" WHERE "TABLE_SCHEMA" = 'S' AND "TABLE_NAME" = 'V' ORDER BY "ORDINAL_POSITION"`);
check('R3 information schema: Snowflake DATA_TYPE names', r.status === 200 && JSON.stringify(r.body.data) === JSON.stringify([
  ['A', 'NUMBER', '38', '0'], ['J', 'VARIANT', null, null], ['F', 'FLOAT', null, null], ['D', 'DATE', null, null], ['TM', 'TIME', null, null],
  ['TS', 'TIMESTAMP_NTZ', null, null], ['TZ', 'TIMESTAMP_TZ', null, null], ['BIN', 'BINARY', null, null], ['_SLUICE_VERSION', 'NUMBER', '20', '0'], ['_SLUICE_DELETED', 'BOOLEAN', null, null]]), show(r));

// COPY from s3rver, load history
await stage('sluice/snap-1.parquet', `SELECT a::DECIMAL(38,0) AS "A", 'b' || a AS "B", 0::DECIMAL(20,0) AS "_SLUICE_VERSION", false AS "_SLUICE_DELETED", 'x' AS "EXTRA" FROM (VALUES (1), (2), (3), (7), (7)) v(a)`);
r = await api(copy(T('T'), ['snap-1.parquet']));
check('COPY of a staged Parquet file: LOADED, 5 rows', r.status === 200 && JSON.stringify(r.body.data) === JSON.stringify([[`s3://${BUCKET}/sluice/snap-1.parquet`, 'LOADED', '5', '5', '1', '0', null, null, null, null]]), show(r));
r = await api(count('T'));
check('R1 COUNT(*) after the COPY: 5', r.status === 200 && r.body.data[0][0] === '5' && r.body.resultSetMetaData.rowType[0].name === 'COUNT(*)', show(r));
r = await api(copy(T('T'), ['snap-1.parquet']));
check('second COPY of the same file: 0 files processed (load history)', r.status === 200 && JSON.stringify(r.body.data) === '[["Copy executed with 0 files processed."]]', show(r));
r = await api(copy(T('T'), ['snap-1.parquet'], "CREDENTIALS = (AWS_KEY_ID = 'S3RVER' AWS_SECRET_KEY = 'wrong')"));
check('COPY with wrong credentials: 422 stage error', r.status === 422 && r.body.code === '091003', show(r));
r = await api(copy(T('T'), ['missing.parquet']));
check('COPY of a missing file: 422', r.status === 422 && r.body.code === '091016', show(r));
r = await api(copy(T('T'), ['snap-1.parquet'], 'STORAGE_INTEGRATION = "S3_INT"'));
check('COPY with an unregistered storage integration: 422', r.status === 422 && r.body.code === '002003', show(r));
await control('config', { integrations: { S3_INT: { key_id: 'S3RVER', secret: 'S3RVER' } } });
await stage('sluice/k-1.parquet', `SELECT a::DECIMAL(38,0) AS "A", 'k' || a AS "B", 3::DECIMAL(20,0) AS "_SLUICE_VERSION", false AS "_SLUICE_DELETED", a::DECIMAL(20,0) AS "_SLUICE_SEQ" FROM range(1, 4) v(a)`);
r = await api(copy(T('K'), ['k-1.parquet'], 'STORAGE_INTEGRATION = "S3_INT"'));
check('COPY with a registered storage integration: loaded', r.status === 200 && r.body.data[0][3] === '3', show(r));
await stage('sluice/nn.parquet', 'SELECT \'x\' AS "B"');
r = await api(copy(T('T'), ['nn.parquet']));
check('COPY of a file without the NOT NULL key column: 422 100072', r.status === 422 && r.body.code === '100072', show(r));

// MERGE: nondeterministic (two source rows for one key) and a good apply
await stage('sluice/chg-dup.parquet', `SELECT 7::DECIMAL(38,0) AS "A", NULL::VARCHAR AS "B", 10::DECIMAL(20,0) AS "_SLUICE_VERSION", false AS "_SLUICE_DELETED", 1::DECIMAL(20,0) AS "_SLUICE_SEQ", '01' AS "_SLUICE_UNCHANGED", 7::DECIMAL(38,0) AS "_SLUICE_FROM_A"`);
r = await multi([temp(1), 'BEGIN', copy(T('_SLUICE_TMP_1'), ['chg-dup.parquet']), m1(1, true), s1('p1', 10), 'COMMIT']);
check('MERGE whose source has two rows for one key: 422 100090', r.status === 422 && r.body.code === '100090' && /Duplicate row detected during DML action/.test(r.body.message), show(r));
r = await api(r2('p1'));
check('the failed apply was rolled back (no state row)', r.status === 200 && r.body.data.length === 0, show(r));
await stage('sluice/chg-1.parquet', `SELECT * FROM (VALUES (1::DECIMAL(38,0), 'one', 11::DECIMAL(20,0), false, 1::DECIMAL(20,0)), (1, 'uno', 12, false, 2), (4, 'four', 11, false, 3), (2, NULL, 11, true, 4), (3, 'three', 11, false, 5))
  v("A", "B", "_SLUICE_VERSION", "_SLUICE_DELETED", "_SLUICE_SEQ")`);
await stage('sluice/chg-2.parquet', `SELECT 3::DECIMAL(38,0) AS "A", NULL::VARCHAR AS "B", 13::DECIMAL(20,0) AS "_SLUICE_VERSION", false AS "_SLUICE_DELETED", 1::DECIMAL(20,0) AS "_SLUICE_SEQ", '01' AS "_SLUICE_UNCHANGED", 3::DECIMAL(38,0) AS "_SLUICE_FROM_A"`);
await stage('sluice/chg-lost.parquet', `SELECT 99::DECIMAL(38,0) AS "A", NULL::VARCHAR AS "B", 14::DECIMAL(20,0) AS "_SLUICE_VERSION", false AS "_SLUICE_DELETED", 1::DECIMAL(20,0) AS "_SLUICE_SEQ", '01' AS "_SLUICE_UNCHANGED", 99::DECIMAL(38,0) AS "_SLUICE_FROM_A"`);
r = await multi([temp(5), 'BEGIN', copy(T('_SLUICE_TMP_5'), ['chg-lost.parquet']), m1(5, true), s1('p1', 14), 'COMMIT']);
check('bracketed M1 with a change whose unchanged columns have no row: 422 naming the sluice message', r.status === 422 && r.body.code === '100038' && /sluice: lost row/.test(r.body.message), show(r));
await stage('sluice/chg-lenient.parquet', `SELECT 98::DECIMAL(38,0) AS "A", NULL::VARCHAR AS "B", 14::DECIMAL(20,0) AS "_SLUICE_VERSION", false AS "_SLUICE_DELETED", 1::DECIMAL(20,0) AS "_SLUICE_SEQ", '01L' AS "_SLUICE_UNCHANGED", 98::DECIMAL(38,0) AS "_SLUICE_FROM_A"`);
r = await multi([temp(9), 'BEGIN', copy(T('_SLUICE_TMP_9'), ['chg-lenient.parquet']), m1(9, true), 'COMMIT']);
check('bracketed M1: the same change marked lenient (\'L\' after the bits) is skipped', r.status === 200, show(r));
r = await oracle(`SELECT COUNT(*) FROM "${DB}"."S"."T" WHERE "A" = 98`);
check('... and inserts nothing', JSON.stringify(r) === '[["0"]]', r);
r = await multi([temp(2), 'BEGIN', copy(T('_SLUICE_TMP_2'), ['chg-1.parquet']), m1(2, false), s1('p1', 12), 'COMMIT']);
check('apply group (D3, BEGIN, L1, M1, S1, COMMIT): 200', r.status === 200 && r.body.statementHandles?.length === 6, show(r));
if (r.status === 200) {
  const mr = await get(`/api/v2/statements/${r.body.statementHandles[3]}`);
  check('M1 result: 1 inserted, 3 updated', JSON.stringify(mr.body.data) === '[["1","3"]]' && mr.body.resultSetMetaData.rowType.map((c) => c.name).join('|') === 'number of rows inserted|number of rows updated', mr.body);
}
r = sorted(await api(`SELECT "A", "B", "_SLUICE_VERSION", "_SLUICE_DELETED" FROM ${T('T')} WHERE NOT "_SLUICE_DELETED"`));
check('R4 after the apply: latest change per key wins, deletes soft', r.status === 200 && JSON.stringify(r.body.data) === JSON.stringify([['1', 'uno', '12', 'false'], ['3', 'three', '11', 'false'], ['4', 'four', '11', 'false'], ['7', 'b7', '0', 'false'], ['7', 'b7', '0', 'false']]), show(r));
r = await multi([temp(6), 'BEGIN', copy(T('_SLUICE_TMP_6'), ['chg-2.parquet']), m1(6, true), 'COMMIT']);
check('bracketed M1 apply: 200', r.status === 200, show(r));
r = sorted(await api(`SELECT "A", "B", "_SLUICE_VERSION" FROM ${T('T')} WHERE NOT "_SLUICE_DELETED"`));
check('bracketed M1: the unchanged column is taken from the current row', r.status === 200 && JSON.stringify(r.body.data[1]) === JSON.stringify(['3', 'three', '13']), show(r));
r = await api(r2('p1'));
check('R2 state row written in the same transaction (backslash escape decoded)', r.status === 200 && JSON.stringify(r.body.data) === JSON.stringify([['e1', 'pos\\1', '12', '1700000000000000', '1700000000000001']]), show(r));
r = await api(m1(2, false));
check('temporary tables vanish at the end of their request', r.status === 422 && r.body.code === '002003', show(r));

// Values in jsonv2; PARSE_JSON
await stage('sluice/v-1.parquet', `SELECT 1::DECIMAL(38,0) AS "A", '{"k": [1, 2]}' AS "J", 1.5::DOUBLE AS "F", DATE '1970-01-03' AS "D", TIME_NS '00:00:01.123456789' AS "TM", TIMESTAMP '1969-12-31 23:59:59.5' AS "TS", TIMESTAMPTZ '2020-01-01 00:00:00+02' AS "TZ", '\\xAB\\x01'::BLOB AS "BIN", 0::DECIMAL(20,0) AS "_SLUICE_VERSION", false AS "_SLUICE_DELETED"`);
const vTemp = `CREATE TEMPORARY TABLE ${T('_SLUICE_TMP_3')} ("A" NUMBER(38,0), "J" VARCHAR, "F" FLOAT, "D" DATE, "TM" TIME(9), "TS" TIMESTAMP_NTZ(6), "TZ" TIMESTAMP_TZ(3), "BIN" BINARY, "_SLUICE_VERSION" NUMBER(20,0), "_SLUICE_DELETED" BOOLEAN)`;
const l2 = `INSERT INTO ${T('V')} ("A", "J", "F", "D", "TM", "TS", "TZ", "BIN", "_SLUICE_VERSION", "_SLUICE_DELETED") SELECT c."A", PARSE_JSON(c."J"), c."F", c."D", c."TM", c."TS", c."TZ", c."BIN", c."_SLUICE_VERSION", c."_SLUICE_DELETED" FROM ${T('_SLUICE_TMP_3')} AS c`;
r = await multi([vTemp, copy(T('_SLUICE_TMP_3'), ['v-1.parquet']), l2]);
check('L2 (VARIANT snapshot through a temporary table): 200', r.status === 200, show(r));
r = sorted(await api(`SELECT "A", "J", "F", "D", "TM", "TS", "TZ", "BIN" FROM ${T('V')} WHERE NOT "_SLUICE_DELETED"`));
check('jsonv2 values: NUMBER, VARIANT, FLOAT, DATE, TIME, TIMESTAMP_NTZ, TIMESTAMP_TZ, BINARY', r.status === 200
  && JSON.stringify(r.body.data) === JSON.stringify([['1', '{"k":[1,2]}', '1.5', '2', '1.123456789', '-0.500000000', '1577829600.000000000 1440', 'AB01']]), show(r));
await stage('sluice/v-bad.parquet', `SELECT 2::DECIMAL(38,0) AS "A", '{not json' AS "J"`);
r = await multi([vTemp, copy(T('_SLUICE_TMP_3'), ['v-bad.parquet']), l2]);
check('PARSE_JSON of invalid JSON: 422 100069', r.status === 422 && r.body.code === '100069', show(r));

// Asynchronous execution and cancel
r = await api(count('T'), { query: '&async=true' });
check('async=true: 202 with code 333334', r.status === 202 && r.body.code === '333334' && r.body.statementHandle, show(r));
let polled = await get(r.body.statementStatusUrl);
check('poll while running: 202', polled.status === 202, polled);
for (let i = 0; i < 50 && polled.status === 202; i++) { await new Promise((ok) => setTimeout(ok, 100)); polled = await get(r.body.statementStatusUrl); }
check('poll after it finished: 200 with the result', polled.status === 200 && polled.body.data[0][0] === '6', polled.body);
r = await api(count('T'), { query: '&async=true' });
const cancel = await fetch(`${BASE}/api/v2/statements/${r.body.statementHandle}/cancel`, { method: 'POST', headers: headersFor() });
const cbody = await cancel.json();
check('cancel a running statement: 200', cancel.status === 200 && cbody.message === 'successfully canceled', cbody);
await new Promise((ok) => setTimeout(ok, 1300));
polled = await get(r.body.statementStatusUrl);
check('a canceled statement: 422 000604', polled.status === 422 && polled.body.code === '000604', polled.body);
polled = await get(`/api/v2/statements/${crypto.randomUUID()}`);
check('unknown handle: 404', polled.status === 404, polled.body);

// Faults: 429 then success; dropped connection and resubmission
await control('faults', { status429: 1 });
r = await api(C1);
check('429 fault: 429 with Retry-After', r.status === 429 && r.headers.get('retry-after') === '1', show(r));
r = await api(C1);
check('after the 429: 200', r.status === 200, show(r));
await control('faults', { drop: 1 });
const dropStmts = [temp(4), copy(T('_SLUICE_TMP_4'), ['k-1.parquet']),
  `INSERT INTO ${T('K')} ("A", "B", "_SLUICE_VERSION", "_SLUICE_DELETED") SELECT c."A", c."B", c."_SLUICE_VERSION", FALSE FROM ${T('_SLUICE_TMP_4')} AS c WHERE NOT c."_SLUICE_DELETED"`];
const before = await control('stats');
const rid = crypto.randomUUID();
let dropped = false;
try { await api(dropStmts.join(';\n'), { count: 3, requestId: rid }); } catch { dropped = true; }
check('drop fault: the connection closes without an answer', dropped);
r = await api(dropStmts.join(';\n'), { count: 3, requestId: rid, query: '&retry=true' });
const after = await control('stats');
check('resubmission with the same requestId and retry=true: 200, first result', r.status === 200 && r.body.statementHandles?.length === 3, show(r));
check('... and the request ran once', after.executed === before.executed + 1 && after.deduplicated === before.deduplicated + 1, { before, after });
r = await api(count('K'));
check('... so K has 3 + 3 rows, not 3 + 6', r.body.data?.[0]?.[0] === '6', show(r));
r = await api(count('K'), { requestId: rid, query: '&retry=true' });
check('retry=true with a reused requestId for another statement: 400', r.status === 400, show(r));

// Keyless deletes (K3 check, K2 mark): K holds (1,k1) (2,k2) (3,k3) twice each, rows numbered by IDENTITY
const KTMP = '"A" NUMBER(38,0), "B" VARCHAR, "_SLUICE_VERSION" NUMBER(20,0), "_SLUICE_SEQ" NUMBER(20,0), "_SLUICE_DELETED" BOOLEAN';
const km = (n) => `SELECT r."_SLUICE_ROW" AS "_SLUICE_R", d."_SLUICE_V" FROM ${T('K')} AS r JOIN (SELECT c."A", c."B", COUNT(*) AS "_SLUICE_N", MAX(c."_SLUICE_VERSION") AS "_SLUICE_V" FROM ${T(`_SLUICE_TMP_${n}`)} AS c WHERE c."_SLUICE_DELETED" GROUP BY c."A", c."B") AS d ON EQUAL_NULL(r."A", d."A") AND EQUAL_NULL(r."B", d."B") WHERE NOT r."_SLUICE_DELETED" QUALIFY ROW_NUMBER() OVER (PARTITION BY d."A", d."B" ORDER BY r."_SLUICE_ROW") <= d."_SLUICE_N"`;
const k3 = (n, want) => `SELECT CAST(IFF(COUNT(DISTINCT "_SLUICE_R") = ${want}, '0', 'sluice: a delete found no equal live row') AS NUMBER(1,0)) FROM (${km(n)})`;
const k2 = (n) => `UPDATE ${T('K')} AS t SET "_SLUICE_DELETED" = TRUE, "_SLUICE_VERSION" = z."_SLUICE_V" FROM (${km(n)}) AS z WHERE t."_SLUICE_ROW" = z."_SLUICE_R"`;
r = await oracle(`SELECT COUNT(DISTINCT "_SLUICE_ROW") FROM "${DB}"."S"."K"`);
check('IDENTITY numbers every row, COPY and INSERT alike', JSON.stringify(r) === '[["6"]]', r);
// one of the two (1,k1), both (2,k2), and (2,NULL) which K does not have
await stage('sluice/kdel-1.parquet', `SELECT * FROM (VALUES (1::DECIMAL(38,0), 'k1', 20::DECIMAL(20,0), 1::DECIMAL(20,0), true), (2, 'k2', 20, 2, true), (2, 'k2', 21, 1, true)) v("A", "B", "_SLUICE_VERSION", "_SLUICE_SEQ", "_SLUICE_DELETED")`);
await stage('sluice/kdel-2.parquet', `SELECT 2::DECIMAL(38,0) AS "A", NULL::VARCHAR AS "B", 22::DECIMAL(20,0) AS "_SLUICE_VERSION", 1::DECIMAL(20,0) AS "_SLUICE_SEQ", true AS "_SLUICE_DELETED"`);
r = await multi([`CREATE TEMPORARY TABLE ${T('_SLUICE_TMP_7')} (${KTMP})`, copy(T('_SLUICE_TMP_7'), ['kdel-2.parquet']), 'BEGIN', k3(7, 1), k2(7), 'COMMIT']);
check('K3: a delete that finds no equal live row (NULL is not k2) fails the request', r.status === 422 && /sluice: a delete found no equal live row/.test(r.body.message), show(r));
r = await multi([`CREATE TEMPORARY TABLE ${T('_SLUICE_TMP_8')} (${KTMP})`, copy(T('_SLUICE_TMP_8'), ['kdel-1.parquet']), 'BEGIN', k3(8, 3), k2(8), 'COMMIT']);
check('K3 + K2: three deletes, three rows found: 200', r.status === 200, show(r));
if (r.status === 200) {
  const kr = await get(`/api/v2/statements/${r.body.statementHandles[4]}`);
  check('K2 result: 3 rows updated', kr.body.data?.[0]?.[0] === '3', kr.body);
}
r = await oracle(`SELECT "A", "B", COUNT(*), MAX("_SLUICE_VERSION") FROM "${DB}"."S"."K" WHERE "_SLUICE_DELETED" GROUP BY "A", "B" ORDER BY "A"`);
check('K2 marked one (1,k1) and both (2,k2), with the latest delete\'s version', JSON.stringify(r) === JSON.stringify([['1', 'k1', '1', '20'], ['2', 'k2', '2', '21']]), r);
r = await oracle(`SELECT "A", COUNT(*) FROM "${DB}"."S"."K" WHERE NOT "_SLUICE_DELETED" GROUP BY "A" ORDER BY "A"`);
check('... leaving one (1,k1) and both (3,k3) live', JSON.stringify(r) === JSON.stringify([['1', '1'], ['3', '2']]), r);

// Privileges
await control('config', { warehouse_usage: false });
r = await api(C1);
check('warehouse usage revoked: CURRENT_WAREHOUSE() NULL', r.status === 200 && r.body.data[0][3] === null, show(r));
r = await api(count('T'));
check('warehouse usage revoked: 422 000606', r.status === 422 && r.body.code === '000606', show(r));
await control('config', { warehouse_usage: true, create_schema: false });
r = await api(`CREATE SCHEMA IF NOT EXISTS "${DB}"."S2"`);
check('CREATE SCHEMA privilege revoked: 422 003001', r.status === 422 && r.body.code === '003001', show(r));
await control('config', { create_schema: true });

// Control API
const lg = await control('log');
check('log lists every POST with requestId, retry, text and status', lg.statements.length > 40 && lg.statements.some((e) => e.retry && e.requestId === rid && e.status === 200) && lg.statements.some((e) => e.status === 429), lg.statements.slice(-3));
const st = await control('stats');
check('stats count requests, executions and auth failures', st.requests === lg.statements.length && st.auth_failures >= 8 && st.faults.fired.status429 === 1 && st.faults.fired.drop === 1, st);
const rows = await oracle(`SELECT COUNT(*) FROM "${DB}"."S"."T" WHERE "_SLUICE_DELETED"`);
check('oracle query bypasses the templates', JSON.stringify(rows) === '[["1"]]', rows);

r = await (async () => { await control('faults', { status503: 1 }); return api(C1); })();
check('503 fault: 503', r.status === 503, show(r));

if (failures) console.log(`--- emulator and s3rver stderr ---\n${logs.join('\n')}`);
console.log(`${passes} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
