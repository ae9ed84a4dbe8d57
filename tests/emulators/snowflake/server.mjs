// A strict local emulator of the Snowflake SQL API v2 for sluice's tests: key-pair JWT
// authentication, the request/response shapes of /api/v2/statements, multi-statement requests,
// asynchronous execution, request-id resubmission, and the closed set of statements in
// TEMPLATES.md, executed on DuckDB. Every check carries the URL of the documentation page it
// follows; "docs silent" marks a behaviour chosen where the pages say nothing.
//
// node server.mjs --port P --account ACCT --user USER --public-key FILE.pem --role ROLE
//   --warehouse WH --database DB --s3-endpoint http://127.0.0.1:PORT [--region us-east-1]
//   [--azure-endpoint http://127.0.0.1:PORT] (Azurite: blobs at <endpoint>/<account>/<container>/...)
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import {
  SfError, compileError, splitStatements, matchTemplate, parseLocation, translate, tableRefsIn, columnIdents,
  duckType, duckIdent, duckString, showIdent, typeFromDuck, parseType, typeText, infoSchemaType, DDL, MACROS,
} from './sql.mjs';
import { signS3 } from './sigv4.mjs';

const require = createRequire(new URL('../../oracles/package.json', import.meta.url));
const { DuckDBInstance } = require('@duckdb/node-api');

// ------------------------------------------------------------------------------------------------
// Command line
const argv = process.argv.slice(2);
const opt = {};
for (let i = 0; i < argv.length; i += 2) {
  if (!argv[i].startsWith('--') || argv[i + 1] === undefined) { console.error(`bad argument ${argv[i]}`); process.exit(2); }
  opt[argv[i].slice(2)] = argv[i + 1];
}
for (const k of ['port', 'account', 'user', 'public-key', 'role', 'warehouse', 'database', 's3-endpoint']) {
  if (!opt[k]) { console.error(`missing --${k}`); process.exit(2); }
}
// https://docs.snowflake.com/en/user-guide/key-pair-auth: an account locator in the JWT leaves out
// any region (xy12345.us-east-1 -> XY12345).
const cfg = {
  port: Number(opt.port), account: opt.account.split('.')[0].toUpperCase(), user: opt.user.toUpperCase(), role: opt.role,
  warehouse: opt.warehouse, database: opt.database, s3: opt['s3-endpoint'].replace(/\/$/, ''), region: opt.region ?? 'us-east-1',
  azure: opt['azure-endpoint']?.replace(/\/$/, ''),
  // rows per result partition (Snowflake cuts by size; a small number makes clients fetch
  // partitions: https://docs.snowflake.com/en/developer-guide/sql-api/handling-responses)
  partitionRows: Number(opt['partition-rows'] ?? 1000),
};
// The registered key (ALTER USER ... SET RSA_PUBLIC_KEY) and its fingerprint: SHA-256 of the DER
// SubjectPublicKeyInfo, base64, prefixed SHA256:
// (https://docs.snowflake.com/en/user-guide/key-pair-auth).
const publicKey = crypto.createPublicKey(fs.readFileSync(opt['public-key']));
const fingerprint = 'SHA256:' + crypto.createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64');

// ------------------------------------------------------------------------------------------------
// Emulator state
const grants = { warehouseUsage: true, createSchema: true, integrations: new Map(), stages: new Map() };
const faults = { status429: 0, status503: 0, status408: 0, drop: 0, async: 0 };
const fired = { status429: 0, status503: 0, status408: 0, drop: 0, async: 0 };
let clockSkew = 0;
const stats = { requests: 0, executed: 0, statements: 0, auth_failures: 0, deduplicated: 0, duplicate_request_ids_without_retry: 0 };
const log = [];
const handles = new Map(); // statement handle -> { state, status, body, ... }
const byRequestId = new Map(); // requestId -> { h, text }
const loadHistory = new Map(); // `${tableId} ${url} ${etag}` -> load time (ms)
const tableIds = new Map(); // `${schema}\0${physical name}` -> stable table id (follows renames)
const declared = new Map(); // same key -> Map(column -> declared Snowflake type text)
let idSeq = 0;
let sessionSeq = 0;
const tkey = (schema, name) => `${schema}\0${name}`;
const tableId = (schema, name) => { const k = tkey(schema, name); if (!tableIds.has(k)) tableIds.set(k, ++idSeq); return tableIds.get(k); };
const TMP_PREFIX = '_EMUTMP_';
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-emulator-'));

const instance = await DuckDBInstance.create(':memory:');
const admin = await instance.connect();
await admin.run("SET GLOBAL TimeZone = 'UTC'");
await admin.run(`ATTACH ':memory:' AS ${duckIdent(cfg.database)}`);
// Every Snowflake database has the schema PUBLIC.
await admin.run(`CREATE SCHEMA ${duckIdent(cfg.database)}."PUBLIC"`);
for (const m of MACROS) await admin.run(m);
const DBQ = duckIdent(cfg.database);

const rowsOf = async (con, sql) => (await con.runAndReadAll(sql)).getRows();

// ------------------------------------------------------------------------------------------------
// Authentication (https://docs.snowflake.com/en/developer-guide/sql-api/authenticating,
// https://docs.snowflake.com/en/user-guide/key-pair-auth). Returns null or the 401 body.
function authenticate(req) {
  const id = crypto.randomUUID();
  const bad = (why, detail) => ({ code: '390144', message: `JWT token is invalid. [${id}] [${why}] ${detail}` });
  const type = req.headers['x-snowflake-authorization-token-type'];
  // https://docs.snowflake.com/en/developer-guide/sql-api/authenticating: without
  // X-Snowflake-Authorization-Token-Type the token is taken for an OAuth token (the newer page says
  // Snowflake inspects the token; the emulator requires the header).
  if (type !== 'KEYPAIR_JWT') return { code: '390303', message: `Invalid OAuth access token. [${id}] [token_type] X-Snowflake-Authorization-Token-Type is ${type === undefined ? 'missing' : JSON.stringify(type)}, not KEYPAIR_JWT` };
  const m = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(req.headers.authorization ?? '');
  if (!m) return bad('format', 'Authorization is not "Bearer <header>.<payload>.<signature>"');
  let header; let claims;
  try { header = JSON.parse(Buffer.from(m[1], 'base64url')); claims = JSON.parse(Buffer.from(m[2], 'base64url')); } catch { return bad('format', 'header or payload is not base64url JSON'); }
  // https://docs.snowflake.com/en/user-guide/key-pair-auth: the JWT is signed with RS256.
  if (header.alg !== 'RS256' || (header.typ !== undefined && header.typ !== 'JWT')) return bad('alg', `header ${JSON.stringify(header)} is not {"alg":"RS256","typ":"JWT"}`);
  // https://docs.snowflake.com/en/user-guide/key-pair-auth: iss = ACCOUNT.USER.SHA256:fingerprint,
  // sub = ACCOUNT.USER, both upper case.
  const iss = String(claims.iss ?? '');
  const at = iss.indexOf('.SHA256:');
  const [acct, ...userParts] = (at < 0 ? iss : iss.slice(0, at)).split('.');
  if (at < 0) return bad('issuer', `iss ${JSON.stringify(iss)} is not ACCOUNT.USER.SHA256:<fingerprint>`);
  if (acct !== cfg.account) return bad('account', `iss account ${JSON.stringify(acct)} is not ${cfg.account}`);
  if (userParts.join('.') !== cfg.user) return bad('user', `iss user ${JSON.stringify(userParts.join('.'))} is not ${cfg.user}`);
  if (iss.slice(at + 1) !== fingerprint) return bad('fingerprint', `iss fingerprint ${iss.slice(at + 1)} is not the registered key's ${fingerprint}`);
  if (claims.sub !== `${cfg.account}.${cfg.user}`) return bad('subject', `sub ${JSON.stringify(claims.sub)} is not ${cfg.account}.${cfg.user}`);
  if (!crypto.verify('RSA-SHA256', Buffer.from(`${m[1]}.${m[2]}`), publicKey, Buffer.from(m[3], 'base64url'))) return bad('signature', 'the signature does not verify with the registered public key');
  // https://docs.snowflake.com/en/user-guide/key-pair-auth: iat the issue time, exp at most one
  // hour after it. Docs silent on the tolerated clock difference: the emulator accepts an iat up to
  // 60 s ahead of its clock.
  const now = Date.now() / 1000 + clockSkew;
  if (!Number.isInteger(claims.iat) || !Number.isInteger(claims.exp)) return bad('claims', 'iat and exp must be integers (seconds since the epoch)');
  if (claims.exp <= now) return bad('expired', `exp ${claims.exp} is not after now ${Math.floor(now)}`);
  if (claims.iat > now + 60) return bad('issue_time', `iat ${claims.iat} is in the future (now ${Math.floor(now)})`);
  if (claims.exp - claims.iat > 3600) return bad('lifetime', `exp - iat = ${claims.exp - claims.iat} s exceeds 3600 s`);
  return null;
}

// ------------------------------------------------------------------------------------------------
// Results in the jsonv2 format
// (https://docs.snowflake.com/en/developer-guide/sql-api/handling-responses): every value a string,
// NULL as null.
function rowType(c) {
  const base = { name: c.name, database: '', schema: '', table: '', nullable: c.nullable ?? true, byteLength: null, length: null, precision: null, scale: null, collation: null };
  const t = c.type;
  switch (t.base) {
    case 'NUMBER': return { ...base, type: 'fixed', precision: t.p, scale: t.s };
    case 'FLOAT': return { ...base, type: 'real' };
    case 'VARCHAR': return { ...base, type: 'text', length: 16777216, byteLength: 16777216 };
    case 'BINARY': return { ...base, type: 'binary', length: 8388608, byteLength: 8388608 };
    case 'TIME': case 'TIMESTAMP_NTZ': case 'TIMESTAMP_TZ': return { ...base, type: t.base.toLowerCase(), precision: 0, scale: t.s };
    default: return { ...base, type: t.base.toLowerCase() };
  }
}
const nanosText = (n) => { const neg = n < 0n; const a = neg ? -n : n; return `${neg ? '-' : ''}${a / 1000000000n}.${String(a % 1000000000n).padStart(9, '0')}`; };
// https://docs.snowflake.com/en/developer-guide/sql-api/handling-responses: NUMBER decimal text,
// FLOAT text, BOOLEAN "true"/"false", DATE days since the epoch, TIME seconds since midnight and
// TIMESTAMP_NTZ seconds since the epoch with 9 fractional digits, TIMESTAMP_TZ the same, a space
// and the offset in minutes plus 1440, BINARY hex, VARIANT JSON text.
function jsonv2(v, t) {
  if (v === null || v === undefined) return null;
  switch (t.base) {
    case 'NUMBER': return v.toString();
    // (a negative zero keeps its sign: a FLOAT is an IEEE double; JavaScript's String(-0) is "0")
    case 'FLOAT': return Number.isNaN(v) ? 'NaN' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : Object.is(v, -0) ? '-0' : String(v);
    case 'BOOLEAN': return v ? 'true' : 'false';
    case 'DATE': return String(v.days);
    case 'TIME': case 'TIMESTAMP_NTZ': return nanosText(v.nanos ?? v.micros * 1000n);
    case 'TIMESTAMP_TZ': return `${nanosText(v.nanos ?? v.micros * 1000n)} 1440`; // the session is UTC
    case 'BINARY': return Buffer.from(v.bytes).toString('hex').toUpperCase();
    default: return String(v);
  }
}
function resultSet(h, r, nullable) {
  const data = r.rows.map((row) => row.map((v, i) => {
    const s = jsonv2(v, r.cols[i].type);
    // https://docs.snowflake.com/en/developer-guide/sql-api/reference: nullable=false gives "null"
    return s === null && nullable === false ? 'null' : s;
  }));
  // https://docs.snowflake.com/en/developer-guide/sql-api/handling-responses: a large result comes
  // in partitions; the first is in this response, the others are fetched with ?partition=N
  const parts = [];
  for (let i = 0; i < data.length || parts.length === 0; i += cfg.partitionRows) parts.push(data.slice(i, i + cfg.partitionRows));
  h.parts = parts;
  const body = {
    resultSetMetaData: {
      numRows: data.length, format: 'jsonv2',
      partitionInfo: parts.map((p) => ({ rowCount: p.length, uncompressedSize: Buffer.byteLength(JSON.stringify(p)) })),
      rowType: r.cols.map(rowType),
    },
    data: parts[0], code: '090001', statementStatusUrl: statusUrl(h), requestId: h.requestId, sqlState: '00000',
    statementHandle: h.handle, message: 'Statement executed successfully.', createdOn: h.createdOn,
  };
  if (r.stats) body.stats = r.stats;
  return body;
}
const statusUrl = (h) => `/api/v2/statements/${h.handle}?requestId=${h.requestId}`;
const failure = (h, e) => ({ code: e.code, message: e.message, sqlState: e.sqlState, statementHandle: h.handle, createdOn: h.createdOn, statementStatusUrl: statusUrl(h) });
const TEXT = { base: 'VARCHAR' };
const COUNT = { base: 'NUMBER', p: 19, s: 0 };
const statusResult = (msg) => ({ cols: [{ name: 'status', type: TEXT, nullable: false }], rows: [[msg]] });
const OK = 'Statement executed successfully.';

// DuckDB errors as the Snowflake errors they stand for.
function sfError(e) {
  if (e instanceof SfError) return e;
  const msg = String(e.message ?? e);
  let m;
  if ((m = /Could not convert string "([^"]*)" to (DECIMAL|INT|BIGINT|DOUBLE)/.exec(msg))) return new SfError('100038', '22018', `Numeric value '${m[1]}' is not recognized`);
  if ((m = /Malformed JSON[^\n]*/.exec(msg))) return new SfError('100069', '22P02', `Error parsing JSON: ${m[0]}`);
  if (/NOT NULL constraint failed/.test(msg)) return new SfError('100072', '22000', 'NULL result in a non-nullable column');
  if ((m = /Referenced column "([^"]*)" not found|does not have a column named "([^"]*)"/.exec(msg))) {
    return new SfError('000904', '42000', `SQL compilation error: error line 1 at position 0\ninvalid identifier '${showIdent(m[1] ?? m[2])}'`);
  }
  if (/out of range|Overflow|overflow/.test(msg)) return new SfError('100046', '22003', `Number out of representable range (emulator: ${msg.split('\n')[0]})`);
  if (/Conversion Error/.test(msg)) return new SfError('100037', '22018', `Value conversion failed (emulator: ${msg.split('\n')[0]})`);
  if (/interrupted/i.test(msg)) return new SfError('000604', '57014', 'SQL execution canceled');
  return new SfError('000603', 'XX000', `SQL execution internal error (emulator, DuckDB said: ${msg.split('\n')[0]})`);
}

// One explicit transaction at a time (see BEGIN): resolves to its release function.
let txnTail = Promise.resolve();
function txnLock() {
  let release;
  const held = new Promise((r) => { release = r; });
  const ready = txnTail.then(() => release);
  txnTail = txnTail.then(() => held);
  return ready;
}

// ------------------------------------------------------------------------------------------------
// A session: one per request
// (https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements): own
// DuckDB connection, own transaction, own temporary tables; all of them end with the request.
class Session {
  constructor(ctx, h) { this.ctx = ctx; this.h = h; this.id = ++sessionSeq; this.temps = new Map(); this.inTxn = false; this.pendingLoads = []; this.releaseTxn = null; }
  endTxn() { if (this.releaseTxn) { this.releaseTxn(); this.releaseTxn = null; } }
  async open() { this.con = await instance.connect(); }
  async close() {
    // An open transaction at the end of the request is rolled back
    // (https://docs.snowflake.com/en/sql-reference/transactions: a session that ends with an open
    // transaction rolls it back).
    if (this.inTxn) { await this.con.run('ROLLBACK').catch(() => {}); this.inTxn = false; this.pendingLoads = []; }
    this.endTxn();
    for (const [k, phys] of this.temps) {
      const schema = k.split('\0')[0];
      await this.con.run(`DROP TABLE IF EXISTS ${DBQ}.${duckIdent(schema)}.${duckIdent(phys)}`).catch((e) => console.error(`drop temp: ${e.message}`));
      const pk = tkey(schema, phys);
      for (const key of loadHistory.keys()) if (key.startsWith(`${tableIds.get(pk)} `)) loadHistory.delete(key);
      tableIds.delete(pk); declared.delete(pk);
    }
    this.temps.clear();
    this.con.closeSync();
  }
  async schemaExists(schema) {
    return (await rowsOf(this.con, `SELECT 1 FROM duckdb_schemas() WHERE database_name = ${duckString(cfg.database)} AND schema_name = ${duckString(schema)}`)).length > 0;
  }
  async columns(schema, phys) {
    return (await rowsOf(this.con, `SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE database_name = ${duckString(cfg.database)} AND schema_name = ${duckString(schema)} AND table_name = ${duckString(phys)} ORDER BY column_index`))
      .map(([name, dt, nullable]) => ({ name, duck: dt, nullable, type: declaredType(schema, phys, name) ?? typeFromDuck(dt) }));
  }
  async tableExists(schema, phys) {
    // Exact comparison: Snowflake quoted names are case-sensitive, DuckDB's lookups are not.
    return (await rowsOf(this.con, `SELECT 1 FROM duckdb_tables() WHERE database_name = ${duckString(cfg.database)} AND schema_name = ${duckString(schema)} AND table_name = ${duckString(phys)}`)).length > 0;
  }
  // Resolves a three-part name: the database must be DB and visible to the role; a temporary
  // table of this session hides a permanent one of the same name.
  async resolve(ref, mustExist = true) {
    const full = `${showIdent(ref.db)}.${showIdent(ref.schema)}.${showIdent(ref.name)}`;
    if (!this.ctx.roleOk || ref.db !== cfg.database) throw new SfError('002003', '02000', `SQL compilation error:\nDatabase '${showIdent(ref.db)}' does not exist or not authorized.`);
    if (!(await this.schemaExists(ref.schema))) throw new SfError('002003', '02000', `SQL compilation error:\nSchema '${showIdent(ref.db)}.${showIdent(ref.schema)}' does not exist or not authorized.`);
    const temp = this.temps.get(tkey(ref.schema, ref.name));
    const phys = temp ?? ref.name;
    const exists = await this.tableExists(ref.schema, phys);
    if (mustExist && !exists) throw new SfError('002003', '42S02', `SQL compilation error:\nTable '${full}' does not exist or not authorized.`);
    return { ...ref, phys, full, exists, temp: !!temp, key: tkey(ref.schema, phys), sql: `${DBQ}.${duckIdent(ref.schema)}.${duckIdent(phys)}` };
  }
}
const declaredType = (schema, phys, col) => { const t = declared.get(tkey(schema, phys))?.get(col); return t ? parseType(t) : null; };

// Resolves every table of a DML/query statement and checks that each quoted column name is spelled
// exactly as a column of those tables or an alias of the statement
// (https://docs.snowflake.com/en/sql-reference/identifiers-syntax: quoted identifiers are
// case-sensitive; DuckDB would match them regardless of case).
async function prepare(session, text) {
  const map = new Map();
  const names = new Set();
  for (const ref of tableRefsIn(text)) {
    const k = `${ref.db}\0${ref.schema}\0${ref.name}`;
    if (!map.has(k)) {
      const r = await session.resolve(ref);
      map.set(k, r);
      for (const c of await session.columns(r.schema, r.phys)) names.add(c.name);
    }
  }
  const idents = columnIdents(text);
  for (const { name, alias } of idents) if (alias) names.add(name);
  for (const { name } of idents) {
    if (names.has(name)) continue;
    const other = [...names].find((n) => n.toLowerCase() === name.toLowerCase());
    if (other !== undefined) throw new SfError('000904', '42000', `SQL compilation error: error line 1 at position 0\ninvalid identifier '${showIdent(name)}' (emulator: a column ${duckIdent(other)} exists; quoted names are case-sensitive)`);
  }
  const sql = translate(text, (ref) => map.get(`${ref.db}\0${ref.schema}\0${ref.name}`).sql);
  return { sql, tables: [...map.values()] };
}

// ------------------------------------------------------------------------------------------------
// Statement execution, one template at a time. Returns { cols, rows, stats? } with rows of DuckDB
// values (or strings), converted to jsonv2 by resultSet().
async function runStatement(s, plan) {
  const ctx = s.ctx;
  if (s.h.canceled) throw new SfError('000604', '57014', 'SQL execution canceled');
  stats.statements++;
  if (plan.kind === 'C1') {
    return {
      cols: ['CURRENT_ACCOUNT()', 'CURRENT_USER()', 'CURRENT_ROLE()', 'CURRENT_WAREHOUSE()', 'CURRENT_DATABASE()'].map((name) => ({ name, type: TEXT })),
      rows: [[cfg.account, cfg.user, ctx.role, ctx.warehouseOk ? cfg.warehouse : null, ctx.databaseOk ? cfg.database : null]],
    };
  }
  // Docs silent on which statements can run without a warehouse; the emulator requires one for
  // everything but C1 (sluice always names its warehouse).
  if (!ctx.warehouseOk) throw new SfError('000606', '57P03', "No active warehouse selected in the current session.  Select an active warehouse with the 'use warehouse' command.\n");
  // https://docs.snowflake.com/en/sql-reference/transactions: a DDL statement commits the open
  // transaction implicitly. Sluice must never rely on that, so the emulator refuses DDL inside
  // BEGIN ... COMMIT.
  if (DDL.has(plan.kind) && s.inTxn) throw new SfError('999001', '25000', `emulator: DDL statement (${plan.kind}) inside an explicit transaction; Snowflake would commit the open transaction implicitly, which sluice must not rely on`);
  switch (plan.kind) {
    case 'BEGIN':
      if (s.inTxn) throw new SfError('999002', '25000', 'emulator: BEGIN while a transaction is already open');
      // https://docs.snowflake.com/en/sql-reference/transactions (resource locking): UPDATE,
      // DELETE and MERGE lock what they change and a second transaction's DML waits for the
      // first to end. The emulator's transactions each update the state table, so it runs one at
      // a time: BEGIN waits for the open one (DuckDB would fail the second with a conflict).
      s.releaseTxn = await txnLock();
      await s.con.run('BEGIN TRANSACTION'); s.inTxn = true; return statusResult(OK);
    case 'COMMIT':
      if (s.inTxn) { await s.con.run('COMMIT'); s.inTxn = false; commitLoads(s); }
      s.endTxn();
      return statusResult(OK);
    case 'ROLLBACK':
      if (s.inTxn) { await s.con.run('ROLLBACK'); s.inTxn = false; s.pendingLoads = []; }
      s.endTxn();
      return statusResult(OK);
    case 'D1': return createSchema(s, plan);
    case 'D2': return createTable(s, plan);
    case 'D3': return createTemp(s, plan);
    case 'D4': return addColumn(s, plan);
    case 'D5': return alterType(s, plan);
    case 'D6': return truncate(s, plan);
    case 'D7': return rename(s, plan);
    case 'D8': return renameColumn(s, plan);
    case 'R3': return describe(s, plan);
    case 'L1': return copyInto(s, plan);
    case 'M1': case 'S1': case 'S0': return merge(s, plan);
    default: return dmlOrQuery(s, plan);
  }
}

async function createSchema(s, plan) {
  if (!s.ctx.roleOk || plan.db !== cfg.database) throw new SfError('002003', '02000', `SQL compilation error:\nDatabase '${showIdent(plan.db)}' does not exist or not authorized.`);
  // Docs silent on the order of the privilege and existence checks; the emulator checks the
  // CREATE SCHEMA privilege first, so a revoked privilege fails even when the schema exists.
  if (!grants.createSchema) throw new SfError('003001', '42501', `SQL access control error:\nInsufficient privileges to operate on database '${showIdent(plan.db)}'`);
  if (await s.schemaExists(plan.schema)) return statusResult(`${showIdent(plan.schema)} already exists, statement succeeded.`);
  await s.con.run(`CREATE SCHEMA ${DBQ}.${duckIdent(plan.schema)}`);
  return statusResult(`Schema ${showIdent(plan.schema)} successfully created.`);
}

const columnDefs = (cols, seq) => cols.map((c) => `${duckIdent(c.name)} ${duckType(c.type)}${c.notNull ? ' NOT NULL' : ''}${c.identity ? ` DEFAULT nextval(${duckString(seq)})` : ''}`).join(', ');
let sequences = 0;
async function createTable(s, plan) {
  const r = await s.resolve(plan.table, false);
  if (r.exists) return statusResult(`${showIdent(plan.table.name)} already exists, statement succeeded.`);
  // IDENTITY: a DuckDB sequence gives each inserted row the next number
  const seq = `${DBQ}.${duckIdent(r.schema)}.sf_identity_${++sequences}`;
  if (plan.cols.some((c) => c.identity)) await s.con.run(`CREATE SEQUENCE ${seq}`);
  // https://docs.snowflake.com/en/sql-reference/constraints-overview: Snowflake enforces NOT NULL
  // but not PRIMARY KEY, so the key is not given to DuckDB (which would enforce it).
  await s.con.run(`CREATE TABLE ${r.sql} (${columnDefs(plan.cols, seq)})`).catch((e) => { throw caseClash(e, r.full); });
  tableId(r.schema, r.phys);
  declared.set(r.key, new Map(plan.cols.map((c) => [c.name, typeText(c.type)])));
  return statusResult(`Table ${showIdent(plan.table.name)} successfully created.`);
}
const caseClash = (e, full) => (/already exists/.test(e.message)
  ? new SfError('999003', '42710', `emulator limitation: ${full} differs only in letter case from an existing name (DuckDB names are case-insensitive)`) : sfError(e));

async function createTemp(s, plan) {
  const r = await s.resolve(plan.table, false);
  if (r.temp) throw new SfError('002002', '42710', `SQL compilation error:\nObject '${r.full}' already exists.`);
  const phys = `${TMP_PREFIX}${s.id}_${plan.table.name}`;
  await s.con.run(`CREATE TABLE ${DBQ}.${duckIdent(plan.table.schema)}.${duckIdent(phys)} (${columnDefs(plan.cols)})`);
  s.temps.set(tkey(plan.table.schema, plan.table.name), phys);
  tableId(plan.table.schema, phys);
  declared.set(tkey(plan.table.schema, phys), new Map(plan.cols.map((c) => [c.name, typeText(c.type)])));
  return statusResult(`Table ${showIdent(plan.table.name)} successfully created.`);
}

async function addColumn(s, plan) {
  const r = await s.resolve(plan.table);
  const cols = await s.columns(r.schema, r.phys);
  if (cols.some((c) => c.name === plan.col)) throw new SfError('002028', '42601', `SQL compilation error:\nambiguous column name '${showIdent(plan.col)}'`);
  await s.con.run(`ALTER TABLE ${r.sql} ADD COLUMN ${duckIdent(plan.col)} ${duckType(plan.type)}`).catch((e) => { throw caseClash(e, `${r.full}.${plan.col}`); });
  declared.get(r.key)?.set(plan.col, typeText(plan.type));
  return statusResult(OK);
}

// https://docs.snowflake.com/en/sql-reference/sql/alter-table-column: SET DATA TYPE may change a
// NUMBER's precision but not its scale, and only between NUMBER types.
async function alterType(s, plan) {
  const r = await s.resolve(plan.table);
  const col = (await s.columns(r.schema, r.phys)).find((c) => c.name === plan.col);
  if (!col) throw new SfError('000904', '42000', `SQL compilation error: error line 1 at position 0\ninvalid identifier '${showIdent(plan.col)}'`);
  const from = col.type;
  const refuse = (why) => new SfError('002108', '42601', `SQL compilation error: cannot change column ${showIdent(plan.col)} from type ${typeText(from)} to ${typeText(plan.type)} because ${why}.`);
  if (from.base !== 'NUMBER') throw refuse('the column is not a NUMBER');
  if (from.s !== plan.type.s) throw refuse('changing the scale of a number is not supported');
  await s.con.run(`ALTER TABLE ${r.sql} ALTER COLUMN ${duckIdent(plan.col)} SET DATA TYPE ${duckType(plan.type)}`);
  declared.get(r.key)?.set(plan.col, typeText(plan.type));
  return statusResult(OK);
}

// https://docs.snowflake.com/en/sql-reference/sql/truncate-table: TRUNCATE TABLE also deletes the
// table's load metadata.
async function truncate(s, plan) {
  const r = await s.resolve(plan.table);
  await s.con.run(`DELETE FROM ${r.sql}`);
  const id = tableId(r.schema, r.phys);
  for (const k of loadHistory.keys()) if (k.startsWith(`${id} `)) loadHistory.delete(k);
  return statusResult(OK);
}

// https://docs.snowflake.com/en/sql-reference/sql/alter-table: RENAME COLUMN col TO new_col; the
// column must exist and the new name must not.
async function renameColumn(s, plan) {
  const r = await s.resolve(plan.table);
  const cols = (await s.columns(r.schema, r.phys)).map((c) => c.name);
  if (!cols.includes(plan.col)) throw new SfError('000904', '42000', `SQL compilation error: error line 1 at position 0\ninvalid identifier '${showIdent(plan.col)}'`);
  if (cols.includes(plan.to)) throw new SfError('002028', '42601', `SQL compilation error:\nambiguous column name '${showIdent(plan.to)}'`);
  await s.con.run(`ALTER TABLE ${r.sql} RENAME COLUMN ${duckIdent(plan.col)} TO ${duckIdent(plan.to)}`).catch((e) => { throw caseClash(e, `${r.full}.${plan.to}`); });
  const d = declared.get(r.key);
  if (d?.has(plan.col)) { d.set(plan.to, d.get(plan.col)); d.delete(plan.col); }
  return statusResult(OK);
}

async function rename(s, plan) {
  const r = await s.resolve(plan.table);
  if (r.temp) throw new SfError('999004', '0A000', 'emulator: renaming a temporary table is not emulated');
  const to = await s.resolve(plan.to, false);
  if (to.exists) throw new SfError('002002', '42710', `SQL compilation error:\nObject '${to.full}' already exists.`);
  if (r.schema === to.schema) {
    await s.con.run(`ALTER TABLE ${r.sql} RENAME TO ${duckIdent(to.name)}`).catch((e) => { throw caseClash(e, to.full); });
  } else {
    // DuckDB renames only within a schema: move the table by copy in one DuckDB transaction.
    const cols = await s.columns(r.schema, r.phys);
    const defs = cols.map((c) => `${duckIdent(c.name)} ${c.duck}${c.nullable ? '' : ' NOT NULL'}`).join(', ');
    await s.con.run('BEGIN TRANSACTION');
    try {
      await s.con.run(`CREATE TABLE ${to.sql} (${defs})`);
      await s.con.run(`INSERT INTO ${to.sql} SELECT * FROM ${r.sql}`);
      await s.con.run(`DROP TABLE ${r.sql}`);
      await s.con.run('COMMIT');
    } catch (e) { await s.con.run('ROLLBACK').catch(() => {}); throw caseClash(e, to.full); }
  }
  // The table keeps its identity (and so its load metadata and declared types).
  for (const m of [tableIds, declared]) { if (m.has(r.key)) { m.set(to.key, m.get(r.key)); m.delete(r.key); } }
  return statusResult(OK);
}

// R3: INFORMATION_SCHEMA.COLUMNS from DuckDB's, DATA_TYPE as Snowflake spells it
// (https://docs.snowflake.com/en/sql-reference/info-schema/columns).
async function describe(s, plan) {
  if (!s.ctx.roleOk || plan.db !== cfg.database) throw new SfError('002003', '02000', `SQL compilation error:\nDatabase '${showIdent(plan.db)}' does not exist or not authorized.`);
  const phys = s.temps.get(tkey(plan.schemaName, plan.tableName)) ?? plan.tableName;
  const rows = phys.startsWith(TMP_PREFIX) && !s.temps.has(tkey(plan.schemaName, plan.tableName)) ? [] : await rowsOf(s.con,
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = ${duckString(cfg.database)} AND table_schema = ${duckString(plan.schemaName)} AND table_name = ${duckString(phys)} ORDER BY ordinal_position`);
  const NUM = { base: 'NUMBER', p: 9, s: 0 };
  return {
    cols: [{ name: 'COLUMN_NAME', type: TEXT, nullable: false }, { name: 'DATA_TYPE', type: TEXT, nullable: false }, { name: 'NUMERIC_PRECISION', type: NUM }, { name: 'NUMERIC_SCALE', type: NUM }],
    rows: rows.map(([name, dt]) => {
      const t = declaredType(plan.schemaName, phys, name) ?? typeFromDuck(dt);
      return [name, infoSchemaType(t), t.base === 'NUMBER' ? t.p : null, t.base === 'NUMBER' ? t.s : null];
    }),
  };
}

// A VARCHAR value stored into a VARIANT column becomes a JSON string in Snowflake, where DuckDB
// would parse it; TEMPLATES.md has sluice wrap such values in PARSE_JSON, so a value without it
// is refused rather than given either meaning.
async function checkVariants(s, plan, target) {
  if (!plan.values) return;
  for (const c of await s.columns(target.schema, target.phys)) {
    const v = plan.values.get(c.name);
    if (c.type.base === 'VARIANT' && v !== undefined && !v.includes('PARSE_JSON(')) {
      throw new SfError('999006', '22000', `emulator: VARIANT column ${duckIdent(c.name)} receives ${v} without PARSE_JSON; Snowflake would store the text as a JSON string`);
    }
  }
}

// R1, R2, R4, L2, K1, T1: translated and run; INSERT and UPDATE report Snowflake's counts.
async function dmlOrQuery(s, plan) {
  const { sql, tables } = await prepare(s, plan.text);
  await checkVariants(s, plan, tables[0]);
  if (plan.kind === 'K2' || plan.kind === 'K3') {
    // every column of the staged deletes is compared: a row differing in one is another row
    const from = await s.resolve(plan.from);
    const staged = (await s.columns(from.schema, from.phys)).map((c) => c.name).filter((n) => !n.startsWith('_SLUICE_'));
    if (staged.join('\0') !== plan.cols.join('\0')) throw new SfError('999007', '22000', `emulator: ${plan.kind} compares ${plan.cols.join(', ')} but the staged deletes have ${staged.join(', ')}`);
  }
  if (plan.kind === 'L2' || plan.kind === 'K1' || plan.kind === 'T1' || plan.kind === 'S2' || plan.kind === 'K2') {
    const n = Number((await rowsOf(s.con, sql))[0][0]);
    if (plan.kind === 'T1' || plan.kind === 'S2' || plan.kind === 'K2') {
      return { cols: [{ name: 'number of rows updated', type: COUNT, nullable: false }, { name: 'number of multi-joined rows updated', type: COUNT, nullable: false }], rows: [[n, 0]], stats: { numRowsUpdated: n, numDmlDuplicates: 0 } };
    }
    return { cols: [{ name: 'number of rows inserted', type: COUNT, nullable: false }], rows: [[n]], stats: { numRowsInserted: n } };
  }
  const res = await s.con.runAndReadAll(sql);
  if (plan.kind === 'R1') return { cols: [{ name: 'COUNT(*)', type: { base: 'NUMBER', p: 18, s: 0 }, nullable: false }], rows: res.getRows() };
  const t = tables[0];
  const tcols = new Map((await s.columns(t.schema, t.phys)).map((c) => [c.name, c]));
  return {
    cols: res.columnNames().map((name, i) => ({ name, type: tcols.get(name)?.type ?? typeFromDuck(res.columnType(i).alias ?? res.columnType(i).toString()), nullable: tcols.get(name)?.nullable ?? true })),
    rows: res.getRows(),
  };
}

// https://docs.snowflake.com/en/sql-reference/sql/merge +
// https://docs.snowflake.com/en/sql-reference/parameters (ERROR_ON_NONDETERMINISTIC_MERGE, default
// TRUE): a target row joined with more than one source row while a WHEN MATCHED clause updates or
// deletes is an error, "Duplicate row detected during DML action". The emulator also refuses a
// source with two rows for one join key that match no target row (Snowflake would insert both;
// sluice's dedup must prevent it); that second case is stricter than Snowflake.
async function merge(s, plan) {
  const { sql, tables } = await prepare(s, plan.text);
  const target = tables[0];
  await checkVariants(s, plan, target);
  const src = sql.slice(sql.indexOf(' USING ') + 7, sql.lastIndexOf(') AS s ON ') + 1);
  const onAt = sql.lastIndexOf(') AS s ON ') + 10;
  const on = sql.slice(onAt, sql.indexOf(' WHEN ', onAt));
  const keys = plan.keys.map((k) => `s.${duckIdent(k)}`).join(', ');
  const dupTarget = await rowsOf(s.con, `SELECT ${keys}, COUNT(*) FROM ${target.sql} AS t JOIN ${src} AS s ON ${on} GROUP BY t.rowid, ${keys} HAVING COUNT(*) > 1 LIMIT 1`);
  const dupSource = dupTarget.length ? dupTarget : await rowsOf(s.con, `SELECT ${keys}, COUNT(*) FROM ${src} AS s GROUP BY ${keys} HAVING COUNT(*) > 1 LIMIT 1`);
  if (dupSource.length) {
    const vals = dupSource[0].slice(0, -1).map((v) => (v === null ? 'NULL' : JSON.stringify(v.toString()))).join(', ');
    throw new SfError('100090', '42P18', `Duplicate row detected during DML action\nRow Values: [${vals}]${dupTarget.length ? '' : ' (emulator: two source rows share this join key; no target row matches it)'}`);
  }
  const actions = await rowsOf(s.con, `${sql} RETURNING merge_action`);
  const ins = actions.filter(([a]) => a === 'INSERT').length;
  const upd = actions.filter(([a]) => a === 'UPDATE').length;
  // https://docs.snowflake.com/en/sql-reference/sql/merge: one output column per kind of action the
  // statement has (no DELETE in the templates).
  return {
    cols: [{ name: 'number of rows inserted', type: COUNT, nullable: false }, { name: 'number of rows updated', type: COUNT, nullable: false }],
    rows: [[ins, upd]], stats: { numRowsInserted: ins, numRowsUpdated: upd, numRowsDeleted: 0, numDmlDuplicates: 0 },
  };
}

// ------------------------------------------------------------------------------------------------
// COPY INTO <table> FROM 's3://bucket/prefix/' ... FILES = (...)
// (https://docs.snowflake.com/en/sql-reference/sql/copy-into-table).
const loadKey = (id, url, etag) => `${id} ${url} ${etag}`;
// https://docs.snowflake.com/en/user-guide/data-load-considerations-load: load metadata expires
// after 64 days.
const LOAD_TTL_MS = 64 * 24 * 3600 * 1000;
function commitLoads(s) { for (const k of s.pendingLoads) loadHistory.set(k, Date.now() + clockSkew * 1000); s.pendingLoads = []; }

async function copyInto(s, plan) {
  const r = await s.resolve(plan.table);
  let cred = plan.credentials;
  if (plan.stage) {
    // @name resolves in the session's database and schema (https://docs.snowflake.com/en/sql-reference/name-resolution)
    const parts = [...[s.ctx.database, s.ctx.schema].slice(0, 3 - plan.stage.length), ...plan.stage];
    const st = grants.stages.get(parts.join('.'));
    if (!st || parts.length !== 3) throw new SfError('002003', '02000', `SQL compilation error:\nStage '${parts.map(showIdent).join('.')}' does not exist or not authorized.`);
    plan.location = parseLocation(st.url);
    cred = { keyId: st.key_id, secret: st.secret, token: st.token ?? null, sas: st.sas };
  }
  if (plan.integration !== undefined) {
    const integ = grants.integrations.get(plan.integration);
    if (!integ) throw new SfError('002003', '02000', `SQL compilation error:\nIntegration '${showIdent(plan.integration)}' does not exist or not authorized.`);
    if (integ.allowed_locations && !integ.allowed_locations.some((l) => plan.location.url.startsWith(l))) {
      throw new SfError('003144', '42501', `SQL compilation error:\nLocation '${plan.location.url}' is not allowed by integration '${showIdent(plan.integration)}'.`);
    }
    cred = { keyId: integ.key_id, secret: integ.secret, token: integ.token ?? null, sas: integ.sas };
  }
  const id = tableId(r.schema, r.phys);
  const now = Date.now() + clockSkew * 1000;
  const tcols = await s.columns(r.schema, r.phys);
  const tableCols = tcols.map((c) => c.name);
  const todo = [];
  for (const rel of plan.files) {
    const url = plan.location.url + rel;
    let httpUrl, headers = {};
    if (plan.location.kind === 's3') {
      ({ url: httpUrl, headers } = signS3({ method: 'GET', endpoint: cfg.s3, bucket: plan.location.bucket, key: plan.location.prefix + rel, region: cfg.region, accessKeyId: cred.keyId, secretAccessKey: cred.secret, sessionToken: cred.token }));
    } else {
      // Azure: the blob fetched with the SAS token as its query (Azurite checks its signature)
      if (!cfg.azure) throw new SfError('091003', '22000', 'Failure using stage area. Cause: [emulator started without --azure-endpoint]');
      const blob = (plan.location.prefix + rel).split('/').map(encodeURIComponent).join('/');
      httpUrl = `${cfg.azure}/${plan.location.account}/${plan.location.container}/${blob}?${cred.sas}`;
      headers = { 'x-ms-version': '2020-10-02' };
    }
    let res;
    try { res = await fetch(httpUrl, { headers }); } catch (e) { throw new SfError('091003', '22000', `Failure using stage area. Cause: [${e.message}]`); }
    const bytes = Buffer.from(await res.arrayBuffer());
    // Docs silent on the exact texts; these follow Snowflake's stage errors.
    if (res.status === 404) throw new SfError('091016', '22000', `Remote file '${url}' was not found. If you are running a copy command, please make sure files are not deleted when they are being loaded or files are not being loaded into two different tables concurrently with auto purge option.`);
    if (res.status !== 200) throw new SfError('091003', '22000', `Failure using stage area. Cause: [${res.status === 403 ? 'Access Denied' : 'Error'} (Status Code: ${res.status}; Error Code: ${/<Code>([^<]*)<\/Code>/.exec(bytes.toString())?.[1] ?? 'unknown'})]`);
    const etag = res.headers.get('etag') ?? crypto.createHash('md5').update(bytes).digest('hex');
    const k = loadKey(id, url, etag);
    // https://docs.snowflake.com/en/user-guide/data-load-considerations-load: a file already loaded
    // into this table (same name, same ETag, within 64 days) is skipped unless FORCE = TRUE.
    if ((loadHistory.has(k) && now - loadHistory.get(k) < LOAD_TTL_MS) || s.pendingLoads.includes(k)) continue;
    todo.push({ url, k, bytes, file: path.join(workDir, `${crypto.randomUUID()}.parquet`) });
  }
  if (todo.length === 0) return statusResult('Copy executed with 0 files processed.');
  const own = !s.inTxn; // outside BEGIN ... COMMIT the COPY is its own transaction
  const out = [];
  try {
    if (own) await s.con.run('BEGIN TRANSACTION');
    for (const f of todo) {
      fs.writeFileSync(f.file, f.bytes);
      const src = `read_parquet(${duckString(f.file)})`;
      let desc;
      try { desc = await rowsOf(s.con, `DESCRIBE SELECT * FROM ${src}`); } catch (e) { throw new SfError('100152', '22000', `Error parsing the parquet file: ${e.message.split('\n')[0]} File '${f.url}'`); }
      const fileCols = desc.map((row) => row[0]);
      for (const c of tcols) {
        const fc = desc.find((row) => row[0] === c.name);
        if (c.type.base === 'VARIANT' && fc && fc[1] === 'VARCHAR') throw new SfError('999006', '22000', `emulator: COPY of a Parquet string column into VARIANT column ${duckIdent(c.name)}; Snowflake would store the text as a JSON string (TEMPLATES.md loads VARIANT through a temporary table and PARSE_JSON)`);
      }
      const parsed = Number((await rowsOf(s.con, `SELECT COUNT(*) FROM ${src}`))[0][0]);
      // https://docs.snowflake.com/en/sql-reference/sql/copy-into-table, MATCH_BY_COLUMN_NAME =
      // CASE_SENSITIVE: file and table columns match by exact name; file columns matching no table
      // column are ignored; table columns missing from the file load NULL (a NOT NULL one then
      // fails); a file matching no column loads NULL rows.
      const match = tableCols.filter((c) => fileCols.includes(c));
      const list = (match.length ? match : [tableCols[0]]).map(duckIdent).join(', ');
      const sel = match.length ? list : 'NULL';
      const n = Number((await rowsOf(s.con, `INSERT INTO ${r.sql} (${list}) SELECT ${sel} FROM ${src}`))[0][0]);
      out.push([f.url, 'LOADED', parsed, n, 1, 0, null, null, null, null]);
    }
    if (own) await s.con.run('COMMIT');
  } catch (e) {
    if (own) await s.con.run('ROLLBACK').catch(() => {});
    throw sfError(e);
  } finally {
    for (const f of todo) fs.rmSync(f.file, { force: true });
  }
  s.pendingLoads.push(...todo.map((f) => f.k));
  if (own) commitLoads(s);
  const N = { base: 'NUMBER', p: 19, s: 0 };
  return {
    cols: [['file', TEXT], ['status', TEXT], ['rows_parsed', N], ['rows_loaded', N], ['error_limit', N], ['errors_seen', N], ['first_error', TEXT], ['first_error_line', N], ['first_error_character', N], ['first_error_column_name', TEXT]].map(([name, type]) => ({ name, type })),
    rows: out,
  };
}

// ------------------------------------------------------------------------------------------------
// Running a request: one statement, or several in order
// (https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements); the first
// failure stops the request and the session's end rolls back an open transaction.
async function execute(h, ctx) {
  stats.executed++;
  const s = new Session(ctx, h);
  h.session = s;
  await s.open();
  try {
    if (!ctx.multi) {
      const r = await runStatement(s, ctx.plans[0]).catch((e) => { throw sfError(e); });
      Object.assign(h, { status: 200, body: resultSet(h, r, ctx.nullable) });
    } else {
      const children = [];
      for (const [i, plan] of ctx.plans.entries()) {
        const c = { handle: crypto.randomUUID(), requestId: h.requestId, createdOn: Date.now(), state: 'done' };
        handles.set(c.handle, c);
        children.push(c.handle);
        try {
          const r = await runStatement(s, plan);
          Object.assign(c, { status: 200, body: resultSet(c, r, ctx.nullable) });
        } catch (e0) {
          const e = sfError(e0);
          Object.assign(c, { status: 422, body: failure(c, e) });
          // Docs example of a failing multi-statement request: the message names the line the
          // failing statement starts on.
          throw new SfError(e.code, e.sqlState, `Uncaught exception of type 'STATEMENT_ERROR' on line ${ctx.lines[i]} at position 0 : ${e.message}`);
        }
      }
      const body = resultSet(h, { cols: [{ name: 'multiple statement execution', type: TEXT, nullable: false }], rows: [['Multiple statements executed successfully.']] }, ctx.nullable);
      body.statementHandles = children;
      Object.assign(h, { status: 200, body });
    }
  } catch (e) {
    Object.assign(h, { status: 422, body: failure(h, sfError(e)) });
  } finally {
    await s.close().catch((e) => console.error(`session close: ${e.message}`));
    h.session = null;
    h.state = 'done';
  }
}

// ------------------------------------------------------------------------------------------------
// HTTP
function send(res, status, body, headers = {}) {
  if (res.destroyed) return;
  if (status >= 400 && body?.code !== undefined) console.error(`${status} ${body.code}: ${String(body.message).replace(/\n/g, ' ')}`);
  const text = body === undefined ? '' : JSON.stringify(body);
  // the emulator's clock (moved by clock_skew_s) in the Date header, as a server's own clock
  // would be (RFC 9110 section 6.6.1)
  const date = new Date(Date.now() + clockSkew * 1000).toUTCString();
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), Date: date, ...headers });
  res.end(text);
}
const readBody = (req) => new Promise((resolve, reject) => { const parts = []; req.on('data', (d) => parts.push(d)); req.on('end', () => resolve(Buffer.concat(parts).toString('utf8'))); req.on('error', reject); });
const badRequest = (message, code = '390000') => ({ status: 400, body: { code, message } });
const queryStatus = (h) => ({
  code: '333334', message: 'Asynchronous execution in progress. Use provided query id to perform query monitoring and management.',
  statementHandle: h.handle, statementStatusUrl: statusUrl(h), requestId: h.requestId, sqlState: '00000', createdOn: h.createdOn,
});
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const BODY_FIELDS = ['statement', 'timeout', 'database', 'schema', 'warehouse', 'role', 'bindings', 'parameters'];
// https://docs.snowflake.com/en/developer-guide/sql-api/reference, "parameters": the session
// parameters a request may set.
const PARAMS = ['BINARY_OUTPUT_FORMAT', 'CLIENT_RESULT_CHUNK_SIZE', 'DATE_OUTPUT_FORMAT', 'MULTI_STATEMENT_COUNT', 'QUERY_TAG', 'ROWS_PER_RESULTSET',
  'TIMESTAMP_LTZ_OUTPUT_FORMAT', 'TIMESTAMP_NTZ_OUTPUT_FORMAT', 'TIMESTAMP_OUTPUT_FORMAT', 'TIMESTAMP_TZ_OUTPUT_FORMAT', 'TIMEZONE', 'TIME_OUTPUT_FORMAT', 'USE_CACHED_RESULT'];

// Headers and query parameters common to all operations
// (https://docs.snowflake.com/en/developer-guide/sql-api/reference, "Request headers for all
// operations"). Returns null or { status, body }.
function checkCommon(req, url, allowedQuery, isPost) {
  for (const k of url.searchParams.keys()) if (!allowedQuery.includes(k)) return badRequest(`Unknown query parameter '${k}' (allowed: ${allowedQuery.join(', ')})`);
  const rid = url.searchParams.get('requestId');
  if (rid !== null && !UUID.test(rid)) return badRequest(`requestId '${rid}' is not a UUID`);
  for (const k of ['async', 'nullable', 'retry']) {
    const v = url.searchParams.get(k);
    if (v !== null && v !== 'true' && v !== 'false') return badRequest(`query parameter ${k} must be true or false, not '${v}'`);
  }
  const authFail = authenticate(req);
  if (authFail) { stats.auth_failures++; return { status: 401, body: authFail }; }
  if (!req.headers['user-agent']) return badRequest('The User-Agent header is required', '391903');
  if (!/(^|,)\s*application\/json\s*(;|,|$)/.test(req.headers.accept ?? '')) return badRequest(`Accept must be application/json, not ${JSON.stringify(req.headers.accept ?? null)}`);
  if (isPost && !/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) return { status: 415, body: { code: '390000', message: `Content-Type must be application/json, not ${JSON.stringify(req.headers['content-type'] ?? null)}` } };
  return null;
}

async function postStatements(req, res, url) {
  stats.requests++;
  const raw = await readBody(req);
  let body = null;
  try { body = JSON.parse(raw); } catch { /* reported below */ }
  const entry = { requestId: url.searchParams.get('requestId'), retry: url.searchParams.get('retry') === 'true', text: typeof body?.statement === 'string' ? body.statement : null, status: null };
  log.push(entry);
  const reply = (status, b, headers) => { entry.status = status; send(res, status, b, headers); };
  for (const [k, status] of [['status429', 429], ['status503', 503]]) {
    if (faults[k] > 0) { faults[k]--; fired[k]++; return reply(status, { code: String(status), message: status === 429 ? 'Too many requests' : 'Service Unavailable' }, status === 429 ? { 'Retry-After': '1' } : {}); }
  }
  const common = checkCommon(req, url, ['requestId', 'async', 'nullable', 'retry'], true);
  if (common) return reply(common.status, common.body);
  // https://docs.snowflake.com/en/developer-guide/sql-api/reference, "Body of the POST request":
  // the fields a request may have.
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return reply(400, { code: '390000', message: 'The request body is not a JSON object' });
  const unknown = Object.keys(body).filter((k) => !BODY_FIELDS.includes(k));
  if (unknown.length) return reply(400, { code: '390000', message: `Unrecognized field(s) in the request body: ${unknown.join(', ')}` });
  if (typeof body.statement !== 'string' || body.statement === '') return reply(400, { code: '390000', message: 'statement is required and must be a string' });
  for (const k of ['database', 'schema', 'warehouse', 'role']) if (body[k] !== undefined && typeof body[k] !== 'string') return reply(400, { code: '390000', message: `${k} must be a string` });
  if (body.timeout !== undefined && !(Number.isInteger(body.timeout) && body.timeout >= 0 && body.timeout <= 604800)) return reply(400, { code: '390000', message: 'timeout must be an integer from 0 to 604800' });
  // TEMPLATES.md: sluice uses no bind variables.
  if (body.bindings !== undefined) return reply(400, { code: '390000', message: 'emulator: bindings are not used by sluice (TEMPLATES.md)' });
  const params = {};
  if (body.parameters !== undefined) {
    if (typeof body.parameters !== 'object' || body.parameters === null || Array.isArray(body.parameters)) return reply(400, { code: '390000', message: 'parameters must be an object' });
    for (const [k, v] of Object.entries(body.parameters)) {
      if (!PARAMS.includes(k.toUpperCase())) return reply(400, { code: '390000', message: `Unsupported session parameter '${k}' (allowed: ${PARAMS.join(', ')})` });
      params[k.toUpperCase()] = v;
    }
  }
  const want = params.MULTI_STATEMENT_COUNT === undefined ? 1 : Number(params.MULTI_STATEMENT_COUNT);
  if (!Number.isInteger(want) || want < 0) return reply(400, { code: '390000', message: `MULTI_STATEMENT_COUNT must be a non-negative integer, not ${JSON.stringify(params.MULTI_STATEMENT_COUNT)}` });
  const text = body.statement;
  const rid = entry.requestId ?? crypto.randomUUID();

  // https://docs.snowflake.com/en/developer-guide/sql-api/submitting-requests, "Resubmitting a
  // request": with the same requestId and retry=true a statement that already executed successfully
  // is not executed again; the first result is returned.
  const prev = entry.requestId ? byRequestId.get(entry.requestId) : undefined;
  if (prev) {
    if (entry.retry) {
      if (prev.text !== text) return reply(400, { code: '390000', message: `emulator: requestId ${rid} was first used for a different statement` });
      if (prev.h.state !== 'done') return reply(202, queryStatus(prev.h));
      if (prev.h.status === 200) { stats.deduplicated++; return reply(200, prev.h.body); }
    } else {
      // Docs silent on a reused requestId without retry=true: executed again, and counted.
      stats.duplicate_request_ids_without_retry++;
      console.error(`warning: requestId ${rid} reused without retry=true; executing again`);
    }
  }
  const h = { handle: crypto.randomUUID(), requestId: rid, createdOn: Date.now(), state: 'running' };
  handles.set(h.handle, h);
  byRequestId.set(rid, { h, text });
  const fail = (e) => { Object.assign(h, { state: 'done', status: 422, body: failure(h, e) }); return reply(422, h.body); };

  if (faults.status408 > 0) {
    // A statement that exceeded its timeout: 408 with a QueryStatus, the statement canceled.
    faults.status408--; fired.status408++;
    Object.assign(h, { state: 'done', status: 408, body: { code: '000630', message: `Statement reached its statement or warehouse timeout of ${body.timeout ?? 0} second(s) and was canceled.`, sqlState: '57014', statementHandle: h.handle, statementStatusUrl: statusUrl(h), createdOn: h.createdOn } });
    return reply(408, h.body);
  }
  // Context: role, warehouse, database
  // (https://docs.snowflake.com/en/developer-guide/sql-api/submitting-requests: the values are
  // case-sensitive; without them the user's defaults apply; docs silent on this user's defaults:
  // the emulator's user has none, so an omitted role is PUBLIC, which sees neither DB nor WH).
  const role = body.role ?? 'PUBLIC';
  if (role !== cfg.role && role !== 'PUBLIC') {
    return fail(new SfError('390189', '08004', `Role '${role}' specified in the connect string is not granted to this user. Contact your local system administrator, or attempt to login with another role, e.g. PUBLIC.`));
  }
  const roleOk = role === cfg.role;
  const ctx = {
    role, roleOk, nullable: url.searchParams.get('nullable') !== 'false',
    warehouseOk: roleOk && body.warehouse === cfg.warehouse && grants.warehouseUsage,
    databaseOk: roleOk && body.database === cfg.database,
    database: body.database, schema: body.schema, // what an unqualified name resolves in
  };
  if (params.TIMEZONE !== undefined && !/^(UTC|Etc\/UTC)$/i.test(String(params.TIMEZONE))) return fail(new SfError('999005', '0A000', 'emulator: only TIMEZONE = UTC is emulated'));
  // https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements:
  // MULTI_STATEMENT_COUNT is the number of statements (0: any number); without it the request must
  // hold exactly one.
  let pieces;
  try { pieces = splitStatements(text); } catch (e) { return fail(e); }
  if (want !== 0 && want !== pieces.length) return fail(new SfError('000008', '0A000', `Actual statement count ${pieces.length} did not match the desired statement count ${want}.`));
  try { ctx.plans = pieces.map((p) => matchTemplate(p)); } catch (e) { return fail(e); }
  ctx.multi = want !== 1;
  ctx.lines = [];
  for (let i = 0, at = 0; i < pieces.length; at += pieces[i].length + 2, i++) ctx.lines.push(1 + (text.slice(0, at).match(/\n/g) ?? []).length);
  // https://docs.snowflake.com/en/developer-guide/sql-api/reference, "statement": a
  // single-statement request cannot hold BEGIN, COMMIT, ROLLBACK or CREATE TEMPORARY TABLE; those
  // are for multi-statement requests
  // (https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements). Docs
  // silent on the error code.
  if (!ctx.multi && ['BEGIN', 'COMMIT', 'ROLLBACK', 'D3'].includes(ctx.plans[0].kind)) {
    return fail(new SfError('391911', '0A000', `Unsupported statement type in a single-statement request: ${ctx.plans[0].kind === 'D3' ? 'CREATE TEMPORARY TABLE' : ctx.plans[0].kind} (use a multi-statement request)`));
  }
  // https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements: executing
  // multiple statements requires a warehouse in the session.
  if (want !== 1 && !ctx.warehouseOk) return fail(new SfError('000606', '57P03', "No active warehouse selected in the current session.  Select an active warehouse with the 'use warehouse' command.\n"));

  // https://docs.snowflake.com/en/developer-guide/sql-api/reference: async=true returns 202 with
  // the handle at once; the emulator also answers 202 when the "async" fault is set, and then takes
  // about a second to execute.
  const isAsync = url.searchParams.get('async') === 'true' || (faults.async > 0 && (faults.async--, fired.async++, true));
  if (isAsync) {
    reply(202, queryStatus(h));
    setTimeout(() => { if (h.canceled) { Object.assign(h, { state: 'done', status: 422, body: failure(h, new SfError('000604', '57014', 'SQL execution canceled')) }); return; } execute(h, ctx).catch((e) => console.error(e)); }, 1000);
    return;
  }
  await execute(h, ctx);
  if (faults.drop > 0) {
    // The statement ran; the answer is lost with the connection.
    faults.drop--; fired.drop++;
    entry.status = h.status; entry.dropped = true;
    req.socket.destroy();
    return;
  }
  reply(h.status, h.body);
}

async function getStatement(req, res, url, handle) {
  const common = checkCommon(req, url, ['requestId', 'partition'], false);
  if (common) return send(res, common.status, common.body);
  const h = handles.get(handle);
  if (!h) return send(res, 404, { code: '000709', message: `Statement ${handle} not found`, sqlState: '02000', statementHandle: handle });
  if (h.state !== 'done') return send(res, 202, queryStatus(h));
  const partition = url.searchParams.get('partition');
  if (partition !== null && partition !== '0') {
    const p = Number(partition);
    if (!h.parts || !Number.isInteger(p) || p < 0 || p >= h.parts.length) return send(res, 400, { code: '390000', message: `partition ${partition} does not exist` });
    // a later partition's response holds its rows only (handling-responses)
    return send(res, 200, { data: h.parts[p] });
  }
  send(res, h.status, h.body);
}

async function cancelStatement(req, res, url, handle) {
  await readBody(req);
  const common = checkCommon(req, url, ['requestId'], false);
  if (common) return send(res, common.status, common.body);
  const h = handles.get(handle);
  if (!h) return send(res, 404, { code: '000709', message: `Statement ${handle} not found`, sqlState: '02000', statementHandle: handle });
  if (h.state !== 'done') { h.canceled = true; h.session?.con?.interrupt(); }
  send(res, 200, { code: '000000', sqlState: '00000', message: 'successfully canceled', statementHandle: h.handle, statementStatusUrl: statusUrl(h) });
}

// ------------------------------------------------------------------------------------------------
// Control API for the tests (no authentication).
async function control(req, res, url) {
  const p = url.pathname;
  const json = async () => { const t = await readBody(req); try { return JSON.parse(t || '{}'); } catch { return null; } };
  if (req.method === 'POST' && p === '/_emulator/faults') {
    const b = await json();
    if (!b) return send(res, 400, { error: 'body is not JSON' });
    for (const k of Object.keys(b)) if (!(k in faults) && k !== 'clock_skew_s') return send(res, 400, { error: `unknown fault ${k}` });
    for (const k of Object.keys(faults)) if (b[k] !== undefined) faults[k] += Number(b[k]);
    if (b.clock_skew_s !== undefined) clockSkew = Number(b.clock_skew_s);
    return send(res, 200, { faults, clock_skew_s: clockSkew });
  }
  if (req.method === 'POST' && p === '/_emulator/config') {
    const b = await json();
    if (!b) return send(res, 400, { error: 'body is not JSON' });
    if (b.warehouse_usage !== undefined) grants.warehouseUsage = !!b.warehouse_usage;
    if (b.create_schema !== undefined) grants.createSchema = !!b.create_schema;
    for (const [name, v] of Object.entries(b.integrations ?? {})) grants.integrations.set(name, v);
    // named stages, "DB.SCHEMA.NAME" -> { url, key_id, secret } or { url, sas } (CREATE STAGE ... URL
    // = '...' CREDENTIALS = (...), done by an administrator: not one of sluice's statements)
    for (const [name, v] of Object.entries(b.stages ?? {})) grants.stages.set(name, v);
    return send(res, 200, { warehouse_usage: grants.warehouseUsage, create_schema: grants.createSchema, integrations: [...grants.integrations.keys()], stages: [...grants.stages.keys()] });
  }
  if (req.method === 'POST' && p === '/_emulator/query') {
    const sql = await readBody(req);
    const con = await instance.connect();
    try {
      const r = await con.runAndReadAll(sql);
      const rows = r.getRowsJson().map((row) => row.map((v) => (v === null ? null : typeof v === 'object' ? JSON.stringify(v) : String(v))));
      return send(res, 200, { columns: r.columnNames(), rows });
    } catch (e) { return send(res, 400, { error: e.message }); } finally { con.closeSync(); }
  }
  if (req.method === 'GET' && p === '/_emulator/log') return send(res, 200, { statements: log });
  if (req.method === 'GET' && p === '/_emulator/stats') return send(res, 200, { ...stats, faults: { pending: faults, fired }, clock_skew_s: clockSkew });
  return send(res, 404, { error: `no control endpoint ${req.method} ${p}` });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  try {
    if (url.pathname.startsWith('/_emulator/')) return await control(req, res, url);
    if (url.pathname === '/api/v2/statements' || url.pathname === '/api/v2/statements/') {
      if (req.method !== 'POST') return send(res, 405, { code: '390000', message: `${req.method} is not allowed here` });
      return await postStatements(req, res, url);
    }
    let m = /^\/api\/v2\/statements\/([^/]+)$/.exec(url.pathname);
    if (m) { if (req.method !== 'GET') return send(res, 405, { code: '390000', message: `${req.method} is not allowed here` }); return await getStatement(req, res, url, m[1]); }
    m = /^\/api\/v2\/statements\/([^/]+)\/cancel$/.exec(url.pathname);
    if (m) { if (req.method !== 'POST') return send(res, 405, { code: '390000', message: `${req.method} is not allowed here` }); return await cancelStatement(req, res, url, m[1]); }
    send(res, 404, { code: '390000', message: `no such endpoint ${url.pathname}` });
  } catch (e) {
    console.error(e);
    send(res, 500, { code: '000603', message: `emulator internal error: ${e.message}` });
  }
});
server.listen(cfg.port, '127.0.0.1', () => console.log('ready'));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { fs.rmSync(workDir, { recursive: true, force: true }); process.exit(0); });
