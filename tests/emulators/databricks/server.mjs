// A strict local emulator of the Databricks workspace APIs sluice uses, for its tests: the SQL
// Statement Execution API 2.0, the Files API on Unity Catalog volumes, the SQL Warehouses API
// (get, start) and OAuth machine-to-machine tokens, each checked as its documentation page says
// (the page is cited beside each check; "docs silent" marks a behaviour chosen where the pages
// say nothing). Statements must be sluice's own (TEMPLATES.md) and run on DuckDB; volume files
// live in a local directory.
//
// node server.mjs --port P --token PAT --client-id ID --client-secret SECRET --warehouse-id W
//   --catalog C --volume SCHEMA.VOLUME --files DIR [--chunk-rows N]
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import {
  DbError, matchTemplate, translate, duckIdent, duckString, duckType, typeText, typeName, parseType, showIdent, volumePath, DDL, widens,
} from './sql.mjs';

const require = createRequire(new URL('../../oracles/package.json', import.meta.url));
const { DuckDBInstance } = require('@duckdb/node-api');

const argv = process.argv.slice(2);
const opt = {};
for (let i = 0; i < argv.length; i += 2) {
  if (!argv[i].startsWith('--') || argv[i + 1] === undefined) { console.error(`bad argument ${argv[i]}`); process.exit(2); }
  opt[argv[i].slice(2)] = argv[i + 1];
}
for (const k of ['port', 'token', 'client-id', 'client-secret', 'warehouse-id', 'catalog', 'volume', 'files']) {
  if (!opt[k]) { console.error(`missing --${k}`); process.exit(2); }
}
const cfg = {
  port: Number(opt.port), pat: opt.token, clientId: opt['client-id'], clientSecret: opt['client-secret'],
  warehouse: opt['warehouse-id'], catalog: opt.catalog, files: path.resolve(opt.files),
  chunkRows: Number(opt['chunk-rows'] ?? 1000),
};
const [volSchema, volName] = opt.volume.split('.');

// ------------------------------------------------------------------------------------------------
// State
const volumes = new Set([`${cfg.catalog}.${volSchema}.${volName}`]);
const mapped = new Set(); // tables made with column mapping mode 'name'
const widening = new Set(); // tables made with delta.enableTypeWidening
const grants = { useCatalog: true, createSchema: true, createTable: true, modify: true, readVolume: true, writeVolume: true };
const faults = { status429: 0, status503: 0, drop: 0, lost_answer: 0, slow: 0, stop_warehouse: 0 };
const fired = { status429: 0, status503: 0, drop: 0, lost_answer: 0, slow: 0 };
const stats = { requests: 0, statements: 0, executed: 0, auth_failures: 0, tokens_issued: 0, file_puts: 0 };
const log = [];
const tokens = new Map(); // OAuth access token -> expiry (ms)
const statements = new Map(); // statement_id -> record
const declared = new Map(); // `${schema}.${table}` -> Map(column -> type)
const loaded = new Map(); // `${schema}.${table}` -> Set of loaded file paths (COPY INTO)
const warehouse = { id: cfg.warehouse, name: 'sluice-test', state: 'RUNNING' };
fs.mkdirSync(path.join(cfg.files, cfg.catalog, volSchema, volName), { recursive: true });

const instance = await DuckDBInstance.create(':memory:');
const admin = await instance.connect();
await admin.run("SET GLOBAL TimeZone = 'UTC'");
// the catalog under another name in DuckDB (which reserves some, main among them)
const DB = `uc_${cfg.catalog}`;
await admin.run(`ATTACH ':memory:' AS ${duckIdent(DB)}`);
// A Unity Catalog catalog has the schema default (and information_schema)
// (https://docs.databricks.com/aws/en/data-governance/unity-catalog/get-started).
for (const s of new Set(['default', volSchema])) await admin.run(`CREATE SCHEMA ${duckIdent(DB)}.${duckIdent(s)}`);
const rowsOf = async (con, sql) => (await con.runAndReadAll(sql)).getRows();
let running = Promise.resolve(); // one statement at a time
const serial = (fn) => { const p = running.then(fn, fn); running = p.catch(() => {}); return p; };

// ------------------------------------------------------------------------------------------------
// HTTP helpers. Errors of the REST APIs: {"error_code": "...", "message": "..."}
// (https://docs.databricks.com/api/account/errors).
function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', ...(text ? { 'Content-Length': Buffer.byteLength(text) } : {}), ...headers });
  res.end(text);
}
const restError = (res, status, code, message) => send(res, status, { error_code: code, message });
const readBody = (req) => new Promise((resolve, reject) => { const parts = []; req.on('data', (d) => parts.push(d)); req.on('end', () => resolve(Buffer.concat(parts))); req.on('error', reject); });

// Authentication: a personal access token, or an OAuth token this emulator issued, as a Bearer
// token (https://docs.databricks.com/aws/en/dev-tools/rest-api,
// https://docs.databricks.com/aws/en/dev-tools/auth/oauth-m2m). Returns the principal or null.
function principal(req) {
  const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  if (!m) return null;
  if (m[1] === cfg.pat) return 'sluice@example.com';
  const exp = tokens.get(m[1]);
  if (exp !== undefined && exp > Date.now()) return cfg.clientId;
  return null;
}

// POST /oidc/v1/token: grant_type=client_credentials&scope=all-apis, the client id and secret in
// HTTP Basic (https://docs.databricks.com/aws/en/dev-tools/auth/oauth-m2m); the answer's
// access_token, token_type, expires_in (one hour), scope. Docs silent on a refused client: the
// OAuth 2.0 form (RFC 6749 §5.2), 401 invalid_client.
async function token(req, res) {
  const body = (await readBody(req)).toString('utf8');
  const form = new URLSearchParams(body);
  if (!/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) return send(res, 400, { error: 'invalid_request', error_description: 'the body must be application/x-www-form-urlencoded' });
  if (form.get('grant_type') !== 'client_credentials') return send(res, 400, { error: 'unsupported_grant_type', error_description: `grant_type ${form.get('grant_type')}` });
  if (form.get('scope') !== 'all-apis') return send(res, 400, { error: 'invalid_scope', error_description: `scope must be all-apis, not ${form.get('scope')}` });
  const m = /^Basic (\S+)$/.exec(req.headers.authorization ?? '');
  const [id, secret] = m ? Buffer.from(m[1], 'base64').toString('utf8').split(':') : [];
  if (id !== cfg.clientId || secret !== cfg.clientSecret) { stats.auth_failures++; return send(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' }); }
  const t = crypto.randomBytes(24).toString('hex');
  tokens.set(t, Date.now() + 3600 * 1000);
  stats.tokens_issued++;
  return send(res, 200, { access_token: t, token_type: 'Bearer', expires_in: 3600, scope: 'all-apis' });
}

// ------------------------------------------------------------------------------------------------
// Files API (https://docs.databricks.com/api/files/v2/upload-file.md,
// https://docs.databricks.com/api/azure/workspace/files, list-directory-contents.md): paths in
// registered volumes only; PUT overwrite defaults to true.
function localPath(p) {
  const v = volumePath(p);
  if (!volumes.has(`${v.catalog}.${v.schema}.${v.volume}`)) return { missing: `Volume ${v.catalog}.${v.schema}.${v.volume} does not exist` };
  if (v.rel.split('/').some((x) => x === '..' || x === '.')) return { missing: 'path components . and .. are not allowed' };
  return { file: path.join(cfg.files, v.catalog, v.schema, v.volume, v.rel) };
}
async function files(req, res, url, kind) {
  const p = decodeURIComponent(url.pathname.slice(`/api/2.0/fs/${kind}`.length));
  let lp;
  try { lp = localPath(p); } catch (e) { return restError(res, 400, 'INVALID_PARAMETER_VALUE', e.message); }
  if (lp.missing) return restError(res, 404, 'NOT_FOUND', lp.missing);
  const write = req.method === 'PUT' || req.method === 'DELETE';
  // https://docs.databricks.com/en/volumes/privileges.html: READ VOLUME to read and list,
  // WRITE VOLUME (with READ VOLUME) to create, change and delete. Docs silent on the body: the
  // REST form, 403 PERMISSION_DENIED.
  if (!grants.readVolume || (write && !grants.writeVolume)) return restError(res, 403, 'PERMISSION_DENIED', `User does not have ${write ? 'WRITE VOLUME' : 'READ VOLUME'} on Volume '${cfg.catalog}.${volSchema}.${volName}'.`);
  const f = lp.file;
  if (kind === 'files') {
    if (req.method === 'PUT') {
      const body = await readBody(req);
      if (!/^application\/octet-stream/.test(req.headers['content-type'] ?? '')) return restError(res, 400, 'INVALID_PARAMETER_VALUE', 'Content-Type must be application/octet-stream');
      const ow = url.searchParams.get('overwrite');
      if (ow !== null && ow !== 'true' && ow !== 'false') return restError(res, 400, 'INVALID_PARAMETER_VALUE', `overwrite must be true or false, not ${ow}`);
      // Docs silent on an existing file with overwrite=false: 409 ALREADY_EXISTS, as the
      // REST errors map conflicts (https://docs.databricks.com/api/account/errors).
      if (ow === 'false' && fs.existsSync(f)) return restError(res, 409, 'ALREADY_EXISTS', `The file ${p} already exists.`);
      if (body.length > 5 * 1024 ** 3) return restError(res, 400, 'INVALID_PARAMETER_VALUE', 'files are at most 5 GiB');
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, body);
      stats.file_puts++;
      // success has no body; docs silent on the status: 204
      return send(res, 204);
    }
    if (!fs.existsSync(f) || fs.statSync(f).isDirectory()) return restError(res, 404, 'NOT_FOUND', `The file ${p} does not exist.`);
    if (req.method === 'DELETE') { fs.rmSync(f); return send(res, 204); }
    const st = fs.statSync(f);
    const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': st.size, 'Last-Modified': st.mtime.toUTCString() };
    if (req.method === 'HEAD') { res.writeHead(200, headers); return res.end(); }
    if (req.method === 'GET') { res.writeHead(200, headers); return res.end(fs.readFileSync(f)); }
  } else {
    if (req.method === 'PUT') { fs.mkdirSync(f, { recursive: true }); return send(res, 204); }
    if (!fs.existsSync(f) || !fs.statSync(f).isDirectory()) return restError(res, 404, 'NOT_FOUND', `The directory ${p} does not exist.`);
    if (req.method === 'HEAD') { res.writeHead(200); return res.end(); }
    if (req.method === 'DELETE') {
      if (fs.readdirSync(f).length) return restError(res, 400, 'INVALID_PARAMETER_VALUE', `The directory ${p} is not empty.`);
      fs.rmdirSync(f); return send(res, 204);
    }
    if (req.method === 'GET') {
      // page_size at most 1000; page_token from the previous page
      const size = Math.min(Number(url.searchParams.get('page_size') ?? 1000), 1000);
      const names = fs.readdirSync(f).sort();
      const start = Number(url.searchParams.get('page_token') ?? 0);
      const page = names.slice(start, start + size);
      const contents = page.map((n) => {
        const st = fs.statSync(path.join(f, n));
        return { path: `${p.replace(/\/$/, '')}/${n}`, is_directory: st.isDirectory(), ...(st.isDirectory() ? {} : { file_size: st.size }), last_modified: Math.floor(st.mtimeMs), name: n };
      });
      return send(res, 200, { contents, ...(start + size < names.length ? { next_page_token: String(start + size) } : {}) });
    }
  }
  return restError(res, 405, 'BAD_REQUEST', `${req.method} is not an operation of /api/2.0/fs/${kind}`);
}

// ------------------------------------------------------------------------------------------------
// Statements. A record: { id, state, plan, params, error, sqlState, result: { columns, rows } }.
const BODY_FIELDS = ['statement', 'warehouse_id', 'catalog', 'schema', 'parameters', 'wait_timeout', 'on_wait_timeout', 'disposition', 'format', 'byte_limit', 'row_limit'];
const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

function statementResponse(st) {
  const out = { statement_id: st.id, status: { state: st.state } };
  if (st.state === 'FAILED') { out.status.error = { error_code: st.errorCode, message: st.error }; out.status.sql_state = st.sqlState; }
  if (st.state === 'SUCCEEDED') {
    const { columns, rows } = st.result;
    const n = Math.max(1, Math.ceil(rows.length / cfg.chunkRows));
    // https://docs.databricks.com/api/statement-execution/v1/statement-execution/object.md:
    // the manifest (schema, chunks) and the first chunk inline
    out.manifest = {
      format: 'JSON_ARRAY',
      schema: { column_count: columns.length, columns: columns.map((c, i) => ({ name: c.name, position: i, type_name: typeName(c.type), type_text: typeText(c.type), ...(c.type.base === 'DECIMAL' ? { type_precision: c.type.p, type_scale: c.type.s } : {}) })) },
      total_chunk_count: n,
      chunks: Array.from({ length: n }, (_, i) => ({ chunk_index: i, row_offset: i * cfg.chunkRows, row_count: Math.min(cfg.chunkRows, rows.length - i * cfg.chunkRows) })),
      total_row_count: rows.length, truncated: false,
    };
    out.result = chunk(st, 0);
  }
  return out;
}
function chunk(st, i) {
  const rows = st.result.rows.slice(i * cfg.chunkRows, (i + 1) * cfg.chunkRows);
  const n = Math.max(1, Math.ceil(st.result.rows.length / cfg.chunkRows));
  const r = { chunk_index: i, row_offset: i * cfg.chunkRows, row_count: rows.length, data_array: rows };
  if (i + 1 < n) { r.next_chunk_index = i + 1; r.next_chunk_internal_link = `/api/2.0/sql/statements/${st.id}/result/chunks/${i + 1}`; }
  return r;
}

async function postStatement(req, res, body, who) {
  const entry = { text: typeof body?.statement === 'string' ? body.statement : null, parameters: body?.parameters ?? null, state: null };
  log.push(entry);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return restError(res, 400, 'INVALID_PARAMETER_VALUE', 'the body is not a JSON object');
  // https://docs.databricks.com/api/statement-execution/v1/execute-statement.md: the fields
  const unknown = Object.keys(body).filter((k) => !BODY_FIELDS.includes(k));
  if (unknown.length) return restError(res, 400, 'INVALID_PARAMETER_VALUE', `unknown field(s): ${unknown.join(', ')}`);
  if (typeof body.statement !== 'string' || !body.statement) return restError(res, 400, 'INVALID_PARAMETER_VALUE', 'statement is required');
  if (typeof body.warehouse_id !== 'string') return restError(res, 400, 'INVALID_PARAMETER_VALUE', 'warehouse_id is required');
  // Docs silent on an unknown warehouse: 404 RESOURCE_DOES_NOT_EXIST, as the REST errors map it
  if (body.warehouse_id !== warehouse.id) return restError(res, 404, 'RESOURCE_DOES_NOT_EXIST', `SQL warehouse ${body.warehouse_id} does not exist.`);
  // wait_timeout: 0s, or 5s to 50s; default 10s
  const wt = body.wait_timeout ?? '10s';
  const wm = /^(\d+)s$/.exec(wt);
  if (!wm || !(Number(wm[1]) === 0 || (Number(wm[1]) >= 5 && Number(wm[1]) <= 50))) return restError(res, 400, 'INVALID_PARAMETER_VALUE', `wait_timeout must be 0s or 5s to 50s, not ${JSON.stringify(wt)}`);
  if (body.on_wait_timeout !== undefined && !['CONTINUE', 'CANCEL'].includes(body.on_wait_timeout)) return restError(res, 400, 'INVALID_PARAMETER_VALUE', 'on_wait_timeout is CONTINUE or CANCEL');
  // sluice reads results inline as JSON arrays (TEMPLATES.md); the rest is not emulated
  if ((body.disposition ?? 'INLINE') !== 'INLINE' || (body.format ?? 'JSON_ARRAY') !== 'JSON_ARRAY') return restError(res, 400, 'INVALID_PARAMETER_VALUE', 'emulator: only disposition INLINE with format JSON_ARRAY is emulated');
  if (body.catalog !== undefined && typeof body.catalog !== 'string') return restError(res, 400, 'INVALID_PARAMETER_VALUE', 'catalog must be a string');
  // parameters: [{name, value, type}], value a string or absent (NULL), type a SQL type or absent
  // (STRING) (https://docs.databricks.com/aws/en/sql/language-manual/sql-ref-parameter-marker)
  const params = new Map();
  for (const p of body.parameters ?? []) {
    if (typeof p?.name !== 'string' || (p.value !== undefined && p.value !== null && typeof p.value !== 'string')) return restError(res, 400, 'INVALID_PARAMETER_VALUE', 'each parameter has a name and a string value');
    const extra = Object.keys(p).filter((k) => !['name', 'value', 'type'].includes(k));
    if (extra.length) return restError(res, 400, 'INVALID_PARAMETER_VALUE', `unknown parameter field(s): ${extra.join(', ')}`);
    params.set(p.name, p);
  }
  stats.statements++;
  const st = { id: crypto.randomUUID(), state: 'PENDING', text: body.statement, params, catalog: body.catalog, schema: body.schema, principal: who };
  statements.set(st.id, st);
  st.done = run(st);
  const secs = Number(wm[1]);
  if (secs > 0) {
    await Promise.race([st.done, sleep(secs * 1000)]);
    if (!isTerminal(st) && body.on_wait_timeout === 'CANCEL') cancel(st);
  }
  entry.state = st.state;
  // lost_answer: the statement ran (or runs on), and the connection closes before its answer:
  // the client cannot tell it from a drop before it ran, and sends it again
  if (faults.lost_answer > 0) { faults.lost_answer--; fired.lost_answer++; await st.done; req.socket.destroy(); return; }
  return send(res, 200, statementResponse(st));
}
const isTerminal = (st) => ['SUCCEEDED', 'FAILED', 'CANCELED', 'CLOSED'].includes(st.state);
function cancel(st) { if (!isTerminal(st)) { st.canceled = true; st.state = 'CANCELED'; } }

async function run(st) {
  // a stopped warehouse is started by a statement sent to it (docs silent: the emulator starts
  // it, and the statement stays PENDING meanwhile)
  if (warehouse.state !== 'RUNNING') { warehouse.state = 'STARTING'; await sleep(500); warehouse.state = 'RUNNING'; }
  if (faults.slow > 0) { faults.slow--; fired.slow++; await sleep(1500); }
  return serial(async () => {
    if (st.canceled) return;
    st.state = 'RUNNING';
    stats.executed++;
    const con = await instance.connect();
    try {
      const r = await execute(con, st);
      if (!st.canceled) { st.result = r; st.state = 'SUCCEEDED'; }
    } catch (e) {
      if (st.canceled) return;
      const de = e instanceof DbError ? e : new DbError(`${e.message.split('\n')[0]} (emulator: DuckDB said it)`, 'XX000', 'INTERNAL_ERROR');
      Object.assign(st, { state: 'FAILED', error: de.message, sqlState: de.sqlState, errorCode: de.errorCode });
      console.error(`[emulator] FAILED ${de.sqlState}: ${de.message}`);
    } finally { con.closeSync(); }
  });
}

// ------------------------------------------------------------------------------------------------
// Executing sluice's templates
const STRING = { base: 'STRING' };
const privilege = (ok, what, on) => { if (!ok) throw new DbError(`[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\nUser does not have ${what} on ${on}. SQLSTATE: 42501`, '42501'); };
const tkey = (t) => `${t.schema}.${t.name}`;
async function tableExists(con, t) {
  return t.catalog === cfg.catalog && (await rowsOf(con, `SELECT 1 FROM duckdb_tables() WHERE database_name = ${duckString(DB)} AND schema_name = ${duckString(t.schema)} AND table_name = ${duckString(t.name)}`)).length > 0;
}
async function needTable(con, t) {
  if (t.catalog !== cfg.catalog) throw new DbError(`[NO_SUCH_CATALOG_EXCEPTION] Catalog '${t.catalog}' was not found. SQLSTATE: 42704`, '42704');
  privilege(grants.useCatalog, 'USE CATALOG', `Catalog '${t.catalog}'`);
  if (!(await tableExists(con, t))) throw new DbError(`[TABLE_OR_VIEW_NOT_FOUND] The table or view ${showIdent(t.catalog)}.${showIdent(t.schema)}.${showIdent(t.name)} cannot be found. SQLSTATE: 42P01`, '42P01');
}
const qualified = (c, s, n) => { if (c !== cfg.catalog) throw new DbError(`[NO_SUCH_CATALOG_EXCEPTION] Catalog '${c}' was not found. SQLSTATE: 42704`, '42704'); return `${duckIdent(DB)}.${duckIdent(s)}.${duckIdent(n)}`; };
// the parameter as a DuckDB literal of its type
function literal(st, name) {
  const p = st.params.get(name);
  if (!p) throw new DbError(`[UNBOUND_SQL_PARAMETER] Found the unbound parameter: ${name}. SQLSTATE: 42P02`, '42P02');
  if (p.value === undefined || p.value === null) return 'NULL';
  return p.type && p.type !== 'STRING' ? `CAST(${duckString(p.value)} AS ${duckType(parseType(p.type))})` : duckString(p.value);
}
// a value rendered as JSON_ARRAY renders it: a string, or null
// (https://docs.databricks.com/api/statement-execution/v1/execute-statement.md, format). Docs
// silent on the text of each type: the emulator's choices are listed in TEMPLATES.md.
// Dates and timestamps from their numbers: DuckDB's own text says "infinity" and "(BC)", while
// Databricks' DATE and TIMESTAMP hold every day and microsecond of their 32- and 64-bit ranges
// (https://docs.databricks.com/aws/en/sql/language-manual/data-types/timestamp-type: up to
// +294247-01-10; date-type: up to +5881580-07-11). Years outside 0000-9999 in ISO 8601's
// expanded form, a sign and at least six digits (the pages do not show one; sluice reads both).
function isoDate(days) {
  // civil from days (proleptic Gregorian, year 0 = 1 BC)
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const yy = y >= 0 && y <= 9999 ? String(y).padStart(4, '0') : (y < 0 ? '-' : '+') + String(Math.abs(y)).padStart(6, '0');
  return `${yy}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}
function isoStamp(us) {
  const day = 86400000000n;
  let days = us / day; let rest = us % day;
  if (rest < 0n) { rest += day; days -= 1n; }
  const s = rest / 1000000n; const f = rest % 1000000n;
  const hh = String(s / 3600n).padStart(2, '0'); const mi = String((s / 60n) % 60n).padStart(2, '0'); const ss = String(s % 60n).padStart(2, '0');
  return `${isoDate(Number(days))}T${hh}:${mi}:${ss}${f ? `.${String(f).padStart(6, '0')}` : ''}`;
}

// An array's element inside its JSON text: numbers and booleans bare (integers and decimals in
// all their digits), everything else as the JSON string of its scalar text (binary in base64).
function renderElem(x, t) {
  if (x === null || x === undefined) return 'null';
  if (['TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'DECIMAL'].includes(t.base)) return x.toString();
  if (t.base === 'FLOAT' || t.base === 'DOUBLE') {
    const n = Number(x);
    if (!Number.isFinite(n)) return JSON.stringify(String(n));
    return Object.is(n, -0) ? '-0.0' : String(n);
  }
  if (t.base === 'BOOLEAN') return x ? 'true' : 'false';
  if (t.base === 'ARRAY') return render(x, t);
  return JSON.stringify(render(x, t));
}

function render(v, t) {
  if (v === null || v === undefined) return null;
  if (t.base === 'ARRAY') return `[${v.items.map((x) => renderElem(x, t.elem)).join(',')}]`;
  if (t.base === 'BINARY') return Buffer.from(v.bytes ?? v).toString('base64');
  if (t.base === 'TIMESTAMP_NTZ' || t.base === 'TIMESTAMP') return isoStamp(BigInt(v.micros));
  if (t.base === 'DATE') return isoDate(v.days);
  if ((t.base === 'FLOAT' || t.base === 'DOUBLE') && Object.is(v, -0)) return '-0.0'; // JS says "0"
  return v.toString();
}

async function execute(con, st) {
  const plan = matchTemplate(st.text);
  const cat = cfg.catalog;
  const resolve = (c, s, n) => qualified(c, s, n);
  const sql = () => translate(st.text, { resolve, param: (n) => literal(st, n), file: (p) => { const lp = localPath(p); if (lp.missing) throw new DbError(`[PATH_NOT_FOUND] ${lp.missing}`, '42K03'); return lp.file; } });
  switch (plan.kind) {
    case 'C1':
      privilege(grants.useCatalog, 'USE CATALOG', `Catalog '${st.catalog ?? cat}'`);
      return { columns: [{ name: 'current_user()', type: STRING }, { name: 'current_catalog()', type: STRING }], rows: [[st.principal ?? 'sluice@example.com', st.catalog ?? 'hive_metastore']] };
    case 'D1':
      if (plan.catalog !== cat) throw new DbError(`[NO_SUCH_CATALOG_EXCEPTION] Catalog '${plan.catalog}' was not found. SQLSTATE: 42704`, '42704');
      if ((await rowsOf(con, `SELECT 1 FROM duckdb_schemas() WHERE database_name = ${duckString(DB)} AND schema_name = ${duckString(plan.schema)}`)).length === 0) {
        privilege(grants.createSchema, 'CREATE SCHEMA', `Catalog '${cat}'`);
        await con.run(`CREATE SCHEMA ${duckIdent(DB)}.${duckIdent(plan.schema)}`);
      }
      return { columns: [], rows: [] };
    case 'D5': {
      // https://docs.databricks.com/aws/en/sql/language-manual/sql-ref-syntax-ddl-drop-schema:
      // without CASCADE a schema that holds tables is not dropped (SCHEMA_NOT_EMPTY)
      if (plan.catalog !== cat) throw new DbError(`[NO_SUCH_CATALOG_EXCEPTION] Catalog '${plan.catalog}' was not found. SQLSTATE: 42704`, '42704');
      const held = await rowsOf(con, `SELECT 1 FROM duckdb_tables() WHERE database_name = ${duckString(DB)} AND schema_name = ${duckString(plan.schema)}`);
      if (held.length) throw new DbError(`[SCHEMA_NOT_EMPTY] Cannot drop a schema \`${plan.schema}\` because it contains objects. SQLSTATE: 2BP01`, '2BP01');
      await con.run(`DROP SCHEMA IF EXISTS ${duckIdent(DB)}.${duckIdent(plan.schema)}`);
      return { columns: [], rows: [] };
    }
    case 'D8': {
      // https://docs.databricks.com/aws/en/tables/features/type-widening: ALTER COLUMN ... TYPE
      // on a table with delta.enableTypeWidening, to a type the rules allow
      const t = plan.table;
      await needTable(con, t);
      privilege(grants.modify, 'MODIFY', `Table '${t.catalog}.${t.schema}.${t.name}'`);
      const d = declared.get(tkey(t));
      const have = d.get(plan.col);
      if (!have) throw new DbError(`[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column with name ${showIdent(plan.col)} cannot be resolved. SQLSTATE: 42703`, '42703');
      if (!widening.has(tkey(t)) || !widens(have, plan.type)) throw new DbError(`[DELTA_UNSUPPORTED_ALTER_TABLE_CHANGE_COL_OP] ALTER TABLE ALTER COLUMN is not supported for changing column ${showIdent(plan.col)} from ${typeText(have)} to ${typeText(plan.type)}. SQLSTATE: 0AKDC`, '0AKDC');
      await con.run(`ALTER TABLE ${qualified(t.catalog, t.schema, t.name)} ALTER COLUMN ${duckIdent(plan.col)} TYPE ${duckType(plan.type)}`);
      d.set(plan.col, plan.type);
      return { columns: [], rows: [] };
    }
    case 'D2': {
      const t = plan.table;
      if (t.catalog !== cat) throw new DbError(`[NO_SUCH_CATALOG_EXCEPTION] Catalog '${t.catalog}' was not found. SQLSTATE: 42704`, '42704');
      if (await tableExists(con, t)) return { columns: [], rows: [] };
      privilege(grants.createTable, 'CREATE TABLE', `Schema '${t.catalog}.${t.schema}'`);
      await con.run(`CREATE TABLE ${qualified(t.catalog, t.schema, t.name)} (${plan.cols.map((c) => `${duckIdent(c.name)} ${duckType(c.type)}${c.notNull ? ' NOT NULL' : ''}`).join(', ')})`);
      declared.set(tkey(t), new Map(plan.cols.map((c) => [c.name, c.type])));
      if (plan.mapping) { mapped.add(tkey(t)); widening.add(tkey(t)); }
      return { columns: [], rows: [] };
    }
    case 'D6': {
      // https://docs.databricks.com/aws/en/sql/language-manual/sql-ref-syntax-ddl-alter-table:
      // RENAME TO; a Unity Catalog table is renamed within its schema (moving it to another
      // schema is not a rename)
      const t = plan.table; const to = plan.to;
      await needTable(con, t);
      privilege(grants.modify, 'MODIFY', `Table '${t.catalog}.${t.schema}.${t.name}'`);
      if (to.catalog !== t.catalog || to.schema !== t.schema) throw new DbError(`[UC_COMMAND_NOT_SUPPORTED] Renaming a table to another schema or catalog is not supported in Unity Catalog. SQLSTATE: 0AKUC`, '0AKUC');
      if (await tableExists(con, to)) throw new DbError(`[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create table or view ${showIdent(to.catalog)}.${showIdent(to.schema)}.${showIdent(to.name)} because it already exists. SQLSTATE: 42P07`, '42P07');
      await con.run(`ALTER TABLE ${qualified(t.catalog, t.schema, t.name)} RENAME TO ${duckIdent(to.name)}`);
      declared.set(tkey(to), declared.get(tkey(t))); declared.delete(tkey(t));
      if (mapped.delete(tkey(t))) mapped.add(tkey(to));
      if (widening.delete(tkey(t))) widening.add(tkey(to));
      return { columns: [], rows: [] };
    }
    case 'D7': {
      // https://docs.databricks.com/aws/en/delta/column-mapping: RENAME COLUMN needs the
      // table's column mapping mode 'name' (delta.columnMapping.mode)
      const t = plan.table;
      await needTable(con, t);
      privilege(grants.modify, 'MODIFY', `Table '${t.catalog}.${t.schema}.${t.name}'`);
      if (!mapped.has(tkey(t))) throw new DbError(`[DELTA_UNSUPPORTED_RENAME_COLUMN] Column rename is not supported for your Delta table: enable column mapping ('delta.columnMapping.mode' = 'name'). SQLSTATE: 0AKDC`, '0AKDC');
      const d = declared.get(tkey(t));
      const have = [...d.keys()];
      if (!have.includes(plan.from)) throw new DbError(`[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column with name ${showIdent(plan.from)} cannot be resolved. SQLSTATE: 42703`, '42703');
      if (have.some((n) => n.toLowerCase() === plan.to.toLowerCase())) throw new DbError(`[FIELDS_ALREADY_EXISTS] Cannot rename column, because ${showIdent(plan.to)} already exists. SQLSTATE: 42710`, '42710');
      await con.run(`ALTER TABLE ${qualified(t.catalog, t.schema, t.name)} RENAME COLUMN ${duckIdent(plan.from)} TO ${duckIdent(plan.to)}`);
      declared.set(tkey(t), new Map([...d].map(([n, ty]) => [n === plan.from ? plan.to : n, ty])));
      return { columns: [], rows: [] };
    }
    case 'D3': {
      const t = plan.table;
      await needTable(con, t);
      privilege(grants.modify, 'MODIFY', `Table '${t.catalog}.${t.schema}.${t.name}'`);
      const have = [...declared.get(tkey(t)).keys()].map((n) => n.toLowerCase());
      for (const c of plan.cols) if (have.includes(c.name.toLowerCase())) throw new DbError(`[FIELDS_ALREADY_EXISTS] Cannot add column ${showIdent(c.name)}, because it already exists. SQLSTATE: 42710`, '42710');
      // https://docs.databricks.com/aws/en/sql/language-manual/sql-ref-syntax-ddl-alter-table-manage-column:
      // added columns are NULL in the existing rows; NOT NULL cannot be added
      for (const c of plan.cols) { await con.run(`ALTER TABLE ${qualified(t.catalog, t.schema, t.name)} ADD COLUMN ${duckIdent(c.name)} ${duckType(c.type)}`); declared.get(tkey(t)).set(c.name, c.type); }
      return { columns: [], rows: [] };
    }
    case 'L1': return copyInto(con, plan, st);
    case 'D4': {
      // https://docs.databricks.com/aws/en/sql/language-manual/sql-ref-syntax-ddl-truncate-table
      const t = plan.table;
      await needTable(con, t);
      privilege(grants.modify, 'MODIFY', `Table '${t.catalog}.${t.schema}.${t.name}'`);
      await con.run(`DELETE FROM ${qualified(t.catalog, t.schema, t.name)}`);
      return { columns: [], rows: [] };
    }
    case 'M1': case 'K1': case 'T1': case 'S1': {
      const t = plan.table;
      await needTable(con, t);
      privilege(grants.modify, 'MODIFY', `Table '${t.catalog}.${t.schema}.${t.name}'`);
      const q = sql();
      const before = Number((await rowsOf(con, `SELECT count(*) FROM ${qualified(t.catalog, t.schema, t.name)}`))[0][0]);
      if (plan.kind === 'M1') {
        // https://docs.databricks.com/aws/en/sql/language-manual/delta-merge-into: two source rows
        // for one target row that an UPDATE matches fail the MERGE
        // (DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE, SQLSTATE 21506)
        const src = q.slice(q.indexOf(' USING ') + 7, q.lastIndexOf(') AS s ON ') + 1);
        const keys = plan.keys.map((k) => `s.${duckIdent(k)}`).join(', ');
        const dup = await rowsOf(con, `SELECT count(*) FROM ${src} AS s GROUP BY ${keys} HAVING count(*) > 1 LIMIT 1`);
        if (dup.length) throw new DbError('[DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE] Cannot perform Merge as multiple source rows matched and attempted to modify the same target row in the Delta table in possibly conflicting ways. SQLSTATE: 21506', '21506');
      }
      // A clause whose action is raise_error fails the statement when a row takes it (as in
      // Databricks). DuckDB computes a clause's THEN values for rows other clauses take, so
      // such clauses are checked here first, by a query per clause, and left out of the MERGE.
      const RAISE = / WHEN (NOT )?MATCHED AND ((?:(?! THEN ).)*) THEN (?:UPDATE SET "_sluice_version" = error\(('(?:[^']|'')*')\)|INSERT \("_sluice_version"\) VALUES \(error\(('(?:[^']|'')*')\)\))/g;
      const raises = [...q.matchAll(RAISE)];
      let lazy = q;
      if (raises.length) {
        const src = q.slice(q.indexOf(' USING ') + 7, q.lastIndexOf(') AS s ON ') + 1);
        const on = q.slice(q.lastIndexOf(') AS s ON ') + 10, q.indexOf(' WHEN '));
        const tq = q.slice(q.indexOf('MERGE INTO ') + 11, q.indexOf(' AS t USING '));
        const heads = [...q.matchAll(/ WHEN (NOT )?MATCHED(?: AND ((?:(?! THEN ).)*))? THEN /g)];
        for (const { 0: all, 1: not, 2: raw, 3: m1, 4: m2, index } of raises) {
          // a row takes the first clause whose condition holds
          const earlier = heads.filter((h) => h.index < index && !h[1] === !not)
            .map((h) => ` AND NOT coalesce((${h[2] ?? 'true'}), false)`).join('');
          const cond = `(${raw})${earlier}`;
          const hit = not
            ? `SELECT count(*) FROM ${src} AS s WHERE NOT EXISTS (SELECT 1 FROM ${tq} AS t WHERE ${on}) AND ${cond}`
            : `SELECT count(*) FROM ${src} AS s JOIN ${tq} AS t ON ${on} WHERE ${cond}`;
          if (Number((await rowsOf(con, hit))[0][0]) > 0) {
            const msg = (m1 ?? m2).slice(1, -1).replaceAll("''", "'");
            throw new DbError(`[USER_RAISED_EXCEPTION] ${msg} SQLSTATE: P0001`, 'P0001');
          }
        }
        lazy = q.replace(RAISE, '');
      }
      let n;
      try { n = Number((await rowsOf(con, lazy))[0][0]); } catch (e) {
        const m = /Invalid Input Error: (sluice: .*)/.exec(e.message);
        // raise_error: [USER_RAISED_EXCEPTION] <message> SQLSTATE: P0001
        if (m) throw new DbError(`[USER_RAISED_EXCEPTION] ${m[1]} SQLSTATE: P0001`, 'P0001');
        throw e;
      }
      const after = Number((await rowsOf(con, `SELECT count(*) FROM ${qualified(t.catalog, t.schema, t.name)}`))[0][0]);
      const L = { base: 'BIGINT' };
      if (plan.kind === 'T1') return { columns: [{ name: 'num_affected_rows', type: L }], rows: [[String(n)]] };
      // MERGE's result: num_affected_rows, num_updated_rows, num_deleted_rows, num_inserted_rows
      // (Delta's MergeIntoCommand output; the Databricks pages do not list them)
      const ins = after - before;
      return { columns: ['num_affected_rows', 'num_updated_rows', 'num_deleted_rows', 'num_inserted_rows'].map((name) => ({ name, type: L })), rows: [[String(n), String(n - ins), '0', String(ins)]] };
    }
    case 'R1': case 'R2': case 'R4': {
      const t = plan.table;
      await needTable(con, t);
      const d = declared.get(tkey(t));
      const res = await con.runAndReadAll(sql());
      const names = res.columnNames();
      const types = names.map((n) => d.get(n) ?? (plan.kind === 'R1' ? { base: 'BIGINT' } : STRING));
      return { columns: names.map((name, i) => ({ name, type: types[i] })), rows: res.getRows().map((row) => row.map((v, i) => render(v, types[i]))) };
    }
    case 'R3': {
      // https://docs.databricks.com/aws/sql/language-manual/information-schema/columns:
      // full_data_type as declared (lower case), in ordinal_position order
      const s = literal(st, 'schema').slice(1, -1); const n = literal(st, 'table').slice(1, -1);
      const d = declared.get(`${s}.${n}`);
      return { columns: [{ name: 'column_name', type: STRING }, { name: 'full_data_type', type: STRING }], rows: d ? [...d].map(([c, t]) => [c, typeText(t).toLowerCase()]) : [] };
    }
    default: throw new DbError(`emulator: ${plan.kind} not executed`, 'XX000', 'INTERNAL_ERROR');
  }
}

// COPY INTO <table> FROM '<volume dir>/' FILEFORMAT = PARQUET FILES = (...)
// (https://docs.databricks.com/aws/en/sql/language-manual/delta-copy-into): files already loaded
// into the table are skipped, even if changed since; Parquet columns match the table's by name.
// Docs silent on file columns the table lacks: the emulator refuses them (sluice stages exactly
// the table's columns, TEMPLATES.md).
async function copyInto(con, plan, st) {
  const t = plan.table;
  await needTable(con, t);
  privilege(grants.modify, 'MODIFY', `Table '${t.catalog}.${t.schema}.${t.name}'`);
  const d = declared.get(tkey(t));
  let inserted = 0;
  const done = loaded.get(tkey(t)) ?? new Set();
  const now = [];
  for (const rel of plan.files) {
    const p = plan.from + rel;
    if (done.has(p)) continue;
    const lp = localPath(p);
    if (lp.missing) throw new DbError(`[PATH_NOT_FOUND] ${lp.missing}`, '42K03');
    privilege(grants.readVolume, 'READ VOLUME', `Volume '${cfg.catalog}.${volSchema}.${volName}'`);
    if (!fs.existsSync(lp.file)) throw new DbError(`[PATH_NOT_FOUND] Path does not exist: ${p}. SQLSTATE: 42K03`, '42K03');
    const src = `read_parquet(${duckString(lp.file)})`;
    const desc = await rowsOf(con, `DESCRIBE SELECT * FROM ${src}`);
    const byLower = new Map([...d.keys()].map((n) => [n.toLowerCase(), n]));
    for (const [name, type] of desc) {
      const col = byLower.get(String(name).toLowerCase());
      if (!col) throw new DbError(`[COPY_INTO_SCHEMA_MISMATCH] emulator: the file's column ${showIdent(String(name))} is not in the table. SQLSTATE: 42KD9`, '42KD9');
      const want = duckType(d.get(col));
      if (!compatible(String(type), want)) throw new DbError(`[DELTA_FAILED_TO_MERGE_FIELDS] Failed to merge fields '${col}' and '${name}': the file has ${type}, the table ${typeText(d.get(col))}. SQLSTATE: 22005`, '22005');
    }
    const cols = desc.map(([name]) => duckIdent(byLower.get(String(name).toLowerCase())));
    const n = Number((await rowsOf(con, `INSERT INTO ${qualified(t.catalog, t.schema, t.name)} (${cols.join(', ')}) SELECT * FROM ${src}`))[0][0]);
    inserted += n;
    now.push(p);
  }
  for (const p of now) done.add(p);
  loaded.set(tkey(t), done);
  const L = { base: 'BIGINT' };
  return { columns: ['num_affected_rows', 'num_inserted_rows', 'num_skipped_corrupt_files'].map((name) => ({ name, type: L })), rows: [[String(inserted), String(inserted), '0']] };
}
// A Parquet column DuckDB reads as `have` loads into a column of DuckDB type `want`: the same
// type, or a narrower integer or decimal of the same kind.
function compatible(have, want) {
  if (have === want) return true;
  const ints = ['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT'];
  if (ints.includes(have) && ints.includes(want)) return ints.indexOf(have) <= ints.indexOf(want);
  if (have === 'FLOAT' && want === 'DOUBLE') return true;
  if (/^TIMESTAMP(_MS|_S)?$/.test(have) && want === 'TIMESTAMP') return true;
  return false;
}

// ------------------------------------------------------------------------------------------------
// The server
const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://x');
    const p = url.pathname;
    if (p.startsWith('/_emulator/')) return control(req, res, url);
    stats.requests++;
    // injected faults, on the APIs (not the token endpoint)
    if (p.startsWith('/api/')) {
      if (faults.drop > 0) { faults.drop--; fired.drop++; req.socket.destroy(); return; }
      // 429 with Retry-After and 503 (the SDK reads Retry-After as seconds on both)
      if (faults.status429 > 0) { faults.status429--; fired.status429++; return send(res, 429, { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'Too many requests' }, { 'Retry-After': '1' }); }
      if (faults.status503 > 0) { faults.status503--; fired.status503++; return send(res, 503, { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'Service unavailable' }); }
    }
    if (req.method === 'POST' && p === '/oidc/v1/token') return token(req, res);
    const who = principal(req);
    if (!who) { stats.auth_failures++; return restError(res, 401, 'UNAUTHENTICATED', 'Invalid access token.'); }
    if (p.startsWith('/api/2.0/fs/files/')) return files(req, res, url, 'files');
    if (p.startsWith('/api/2.0/fs/directories/')) return files(req, res, url, 'directories');
    if (req.method === 'POST' && p === '/api/2.0/sql/statements') {
      if (!/^application\/json/.test(req.headers['content-type'] ?? '')) return restError(res, 400, 'INVALID_PARAMETER_VALUE', 'Content-Type must be application/json');
      let body = null;
      try { body = JSON.parse((await readBody(req)).toString('utf8')); } catch { /* reported below */ }
      return postStatement(req, res, body, who);
    }
    let m = /^\/api\/2\.0\/sql\/statements\/([^/]+)(\/cancel|\/result\/chunks\/(\d+))?$/.exec(p);
    if (m) {
      const st = statements.get(m[1]);
      if (!st) return restError(res, 404, 'NOT_FOUND', `Statement ${m[1]} not found.`);
      if (m[2] === '/cancel' && req.method === 'POST') { cancel(st); return send(res, 200, {}); }
      if (m[3] !== undefined && req.method === 'GET') {
        if (st.state !== 'SUCCEEDED') return restError(res, 400, 'INVALID_STATE', `Statement ${st.id} is ${st.state}.`);
        const i = Number(m[3]);
        if (i >= Math.max(1, Math.ceil(st.result.rows.length / cfg.chunkRows))) return restError(res, 404, 'NOT_FOUND', `No chunk ${i}.`);
        return send(res, 200, chunk(st, i));
      }
      if (!m[2] && req.method === 'GET') return send(res, 200, statementResponse(st));
    }
    // https://docs.databricks.com/api/warehouses/v1/get-warehouse.md, start-warehouse.md
    m = /^\/api\/2\.0\/sql\/warehouses\/([^/]+)(\/start)?$/.exec(p);
    if (m) {
      if (m[1] !== warehouse.id) return restError(res, 404, 'RESOURCE_DOES_NOT_EXIST', `SQL warehouse ${m[1]} does not exist.`);
      if (m[2] && req.method === 'POST') { if (warehouse.state !== 'RUNNING') { warehouse.state = 'STARTING'; setTimeout(() => { warehouse.state = 'RUNNING'; }, 500); } return send(res, 200, {}); }
      if (!m[2] && req.method === 'GET') return send(res, 200, { id: warehouse.id, name: warehouse.name, state: warehouse.state, warehouse_type: 'PRO', enable_serverless_compute: true });
    }
    return restError(res, 404, 'ENDPOINT_NOT_FOUND', `No API found for '${req.method} ${p}'`);
  } catch (e) {
    console.error(e);
    if (!res.headersSent) restError(res, 500, 'INTERNAL_ERROR', e.message);
  }
});

async function control(req, res, url) {
  const p = url.pathname;
  const json = async () => { try { return JSON.parse((await readBody(req)).toString('utf8') || '{}'); } catch { return null; } };
  if (req.method === 'POST' && p === '/_emulator/faults') {
    const b = await json();
    for (const k of Object.keys(b ?? {})) if (!(k in faults)) return send(res, 400, { error: `unknown fault ${k}` });
    for (const k of Object.keys(faults)) if (b[k] !== undefined) faults[k] += Number(b[k]);
    if (faults.stop_warehouse > 0) { faults.stop_warehouse = 0; warehouse.state = 'STOPPED'; }
    return send(res, 200, { faults, warehouse: warehouse.state });
  }
  if (req.method === 'POST' && p === '/_emulator/config') {
    const b = await json();
    for (const [k, v] of Object.entries(b?.grants ?? {})) { if (!(k in grants)) return send(res, 400, { error: `unknown grant ${k}` }); grants[k] = !!v; }
    for (const v of b?.volumes ?? []) { volumes.add(v); const [c, s, n] = v.split('.'); fs.mkdirSync(path.join(cfg.files, c, s, n), { recursive: true }); }
    return send(res, 200, { grants, volumes: [...volumes] });
  }
  if (req.method === 'POST' && p === '/_emulator/query') {
    const sqlText = (await readBody(req)).toString('utf8');
    const con = await instance.connect();
    try {
      const r = await con.runAndReadAll(sqlText);
      return send(res, 200, { columns: r.columnNames(), rows: r.getRowsJson().map((row) => row.map((v) => (v === null ? null : typeof v === 'object' ? JSON.stringify(v) : String(v)))) });
    } catch (e) { return send(res, 400, { error: e.message }); } finally { con.closeSync(); }
  }
  if (req.method === 'GET' && p === '/_emulator/log') return send(res, 200, { statements: log });
  if (req.method === 'GET' && p === '/_emulator/stats') return send(res, 200, { ...stats, faults: { pending: faults, fired }, warehouse: warehouse.state });
  return send(res, 404, { error: 'unknown control path' });
}

server.listen(cfg.port, '127.0.0.1', () => console.log(`ready on http://127.0.0.1:${cfg.port}`));
process.on('SIGTERM', () => process.exit(0));
// DDL is executed like the rest: Delta commits each statement on its own (no multi-statement
// transactions on a SQL warehouse), so the set is kept only for the documentation.
void DDL;
