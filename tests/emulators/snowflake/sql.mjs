// The SQL side of the Snowflake emulator: lexing Snowflake text, splitting a multi-statement
// request, matching each statement against the closed set of templates in TEMPLATES.md, and
// translating what DuckDB can run. No I/O here; server.mjs executes the plans.

// A Snowflake error as the SQL API reports it (QueryFailureStatus: code, sqlState, message).
export class SfError extends Error {
  constructor(code, sqlState, message) { super(message); this.code = code; this.sqlState = sqlState; }
}
export const compileError = (why) => new SfError('001003', '42000',
  `SQL compilation error:\nsyntax error line 1 at position 0 unexpected statement (emulator: no sluice template matches: ${why})`);

// ---------------------------------------------------------------------------------------------
// Lexing. Quoted identifiers double an inner quote; single-quoted strings double a quote or use
// backslash escapes (https://docs.snowflake.com/en/sql-reference/identifiers-syntax,
// https://docs.snowflake.com/en/sql-reference/data-types-text).
export function lex(text) {
  const toks = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const start = i;
    if (/\s/.test(c)) { while (i < text.length && /\s/.test(text[i])) i++; toks.push({ t: 'ws', raw: text.slice(start, i) }); continue; }
    if (c === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw compileError('unterminated quoted identifier');
        if (text[i] === '"') { if (text[i + 1] === '"') { i += 2; continue; } i++; break; }
        i++;
      }
      const raw = text.slice(start, i);
      if (raw.length === 2) throw compileError('empty quoted identifier');
      toks.push({ t: 'qid', raw, value: raw.slice(1, -1).replace(/""/g, '"') });
      continue;
    }
    if (c === "'") {
      i++;
      for (;;) {
        if (i >= text.length) throw compileError('unterminated string literal');
        if (text[i] === '\\') { i += 2; continue; }
        if (text[i] === "'") { if (text[i + 1] === "'") { i += 2; continue; } i++; break; }
        i++;
      }
      const raw = text.slice(start, i);
      toks.push({ t: 'str', raw, value: decodeString(raw) });
      continue;
    }
    if (/[0-9]/.test(c)) { while (i < text.length && /[0-9]/.test(text[i])) i++; toks.push({ t: 'num', raw: text.slice(start, i) }); continue; }
    if (/[A-Za-z_]/.test(c)) { while (i < text.length && /[A-Za-z0-9_$]/.test(text[i])) i++; toks.push({ t: 'word', raw: text.slice(start, i) }); continue; }
    if ((c === '-' && text[i + 1] === '-') || (c === '/' && text[i + 1] === '*')) throw compileError('comments are not used by sluice');
    i++;
    toks.push({ t: 'punct', raw: c });
  }
  return toks;
}

// Escape sequences of single-quoted string constants
// (https://docs.snowflake.com/en/sql-reference/data-types-text): '' and \' are a quote, \\ a
// backslash, \n \t \r \b \f \0, \ooo octal, \xhh hex, \uhhhh; a backslash before any other
// character is dropped.
export function decodeString(raw) {
  const s = raw.slice(1, -1);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "'" && s[i + 1] === "'") { out += "'"; i++; continue; }
    if (c !== '\\') { out += c; continue; }
    const n = s[++i];
    const simple = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', 0: '\0' };
    if (/[0-7]/.test(n) && /^[0-7]{3}$/.test(s.slice(i, i + 3))) { out += String.fromCharCode(parseInt(s.slice(i, i + 3), 8)); i += 2; } else if (n in simple) out += simple[n];
    else if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) { out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16)); i += 2; } else if (n === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 1, i + 5))) { out += String.fromCharCode(parseInt(s.slice(i + 1, i + 5), 16)); i += 4; } else out += n;
  }
  return out;
}
export const duckString = (v) => `'${v.replace(/'/g, "''")}'`;
export const duckIdent = (v) => `"${v.replace(/"/g, '""')}"`;
// How Snowflake prints a name in a message: plain when it is a folded (upper-case) identifier.
export const showIdent = (v) => (/^[A-Z_][A-Z0-9_$]*$/.test(v) ? v : duckIdent(v));

// Splits the statement field at ';' outside literals and quoted identifiers
// (https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements). Sluice
// joins statements with ';\n' and sends no trailing ';' (TEMPLATES.md), which is checked here.
export function splitStatements(text) {
  const toks = lex(text);
  const parts = [];
  let cur = '';
  for (const t of toks) {
    if (t.t === 'punct' && t.raw === ';') { parts.push(cur); cur = ''; } else cur += t.raw;
  }
  parts.push(cur);
  parts.forEach((p, i) => {
    const body = i === 0 ? p : p.replace(/^\n/, '');
    if (p.trim() === '') throw compileError(`statement ${i + 1} is empty (trailing or doubled ';')`);
    if (i > 0 && !p.startsWith('\n')) throw compileError(`statement ${i + 1} is not joined with ';\\n'`);
    if (body !== body.trim()) throw compileError(`statement ${i + 1} has leading or trailing white space`);
  });
  return parts.map((p, i) => (i === 0 ? p : p.slice(1)));
}

// ---------------------------------------------------------------------------------------------
// Types: the closed set of TEMPLATES.md.
const TYPE = 'NUMBER\\(\\d+,\\d+\\)|FLOAT|VARCHAR|BOOLEAN|DATE|TIME\\(\\d+\\)|TIMESTAMP_NTZ\\(\\d+\\)|TIMESTAMP_TZ\\(\\d+\\)|BINARY|VARIANT';

// Parses a declared type into { base, p, s } after checking its range: NUMBER precision 1..38,
// scale 0..precision (https://docs.snowflake.com/en/sql-reference/data-types-numeric); TIME and
// TIMESTAMP fractional precision 0..9 (https://docs.snowflake.com/en/sql-reference/data-types-datetime).
export function parseType(text) {
  let m = /^NUMBER\((\d+),(\d+)\)$/.exec(text);
  if (m) {
    const p = +m[1]; const s = +m[2];
    if (p < 1 || p > 38 || s > p) throw new SfError('002040', '42601', `SQL compilation error:\nNUMBER(${p},${s}): precision must be 1..38 and scale 0..precision.`);
    return { base: 'NUMBER', p, s };
  }
  m = /^(TIME|TIMESTAMP_NTZ|TIMESTAMP_TZ)\((\d+)\)$/.exec(text);
  if (m) {
    if (+m[2] > 9) throw new SfError('002040', '42601', `SQL compilation error:\n${text}: fractional seconds precision must be 0..9.`);
    return { base: m[1], s: +m[2] };
  }
  if (['FLOAT', 'VARCHAR', 'BOOLEAN', 'DATE', 'BINARY', 'VARIANT'].includes(text)) return { base: text };
  throw compileError(`type ${text} is not in the template set`);
}
export const typeText = (t) => (t.base === 'NUMBER' ? `NUMBER(${t.p},${t.s})` : t.s !== undefined ? `${t.base}(${t.s})` : t.base);

// DuckDB type for a declared Snowflake type. TIME(p)/TIMESTAMP_NTZ(p) with p > 6 need DuckDB's
// nanosecond types; TIMESTAMP_TZ is kept to microseconds and its offset is not stored.
export function duckType(t) {
  switch (t.base) {
    case 'NUMBER': return `DECIMAL(${t.p},${t.s})`;
    case 'FLOAT': return 'DOUBLE';
    case 'VARCHAR': return 'VARCHAR';
    case 'BOOLEAN': return 'BOOLEAN';
    case 'DATE': return 'DATE';
    case 'TIME': return t.s > 6 ? 'TIME_NS' : 'TIME';
    case 'TIMESTAMP_NTZ': return t.s > 6 ? 'TIMESTAMP_NS' : 'TIMESTAMP';
    case 'TIMESTAMP_TZ': return 'TIMESTAMPTZ';
    case 'BINARY': return 'BLOB';
    case 'VARIANT': return 'JSON';
    default: throw new Error(`no DuckDB type for ${t.base}`);
  }
}

// Snowflake type of a DuckDB column type (for results and INFORMATION_SCHEMA).
export function typeFromDuck(d) {
  let m = /^DECIMAL\((\d+),(\d+)\)$/.exec(d);
  if (m) return { base: 'NUMBER', p: +m[1], s: +m[2] };
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/.test(d)) return { base: 'NUMBER', p: 38, s: 0 };
  if (d === 'DOUBLE' || d === 'FLOAT') return { base: 'FLOAT' };
  if (d === 'VARCHAR') return { base: 'VARCHAR' };
  if (d === 'BOOLEAN') return { base: 'BOOLEAN' };
  if (d === 'DATE') return { base: 'DATE' };
  if (d === 'TIME') return { base: 'TIME', s: 6 };
  if (d === 'TIME_NS') return { base: 'TIME', s: 9 };
  if (d === 'TIMESTAMP_NS') return { base: 'TIMESTAMP_NTZ', s: 9 };
  if (/^TIMESTAMP(_S|_MS)?$/.test(d)) return { base: 'TIMESTAMP_NTZ', s: 6 };
  if (d === 'TIMESTAMP WITH TIME ZONE' || d === 'TIMESTAMPTZ') return { base: 'TIMESTAMP_TZ', s: 6 };
  if (d === 'BLOB') return { base: 'BINARY' };
  if (d === 'JSON') return { base: 'VARIANT' };
  return { base: 'VARCHAR' };
}
// DATA_TYPE as Snowflake's INFORMATION_SCHEMA.COLUMNS spells it
// (https://docs.snowflake.com/en/sql-reference/info-schema/columns): VARCHAR is TEXT.
export const infoSchemaType = (t) => (t.base === 'VARCHAR' ? 'TEXT' : t.base);

// ---------------------------------------------------------------------------------------------
// Templates. Each is a whole-statement regular expression (exact spacing and keyword case, as
// TEMPLATES.md fixes them); lists are captured whole and re-parsed item by item.
const QI = '"(?:[^"]|"")+"';
const STR = "'(?:[^'\\\\]|''|\\\\[\\s\\S])*'";
const TBL = `${QI}\\.${QI}\\.${QI}`;
const TMP = `${QI}\\.${QI}\\."_SLUICE_TMP_\\d+"`;
const L = (item) => `(?:${item})(?:, (?:${item}))*`;
const AND = (item) => `(?:${item})(?: AND (?:${item}))*`;
const VAL = (a) => `${a}\\.${QI}|PARSE_JSON\\(${a}\\.${QI}\\)`;
const SEL = `(?:${VAL('c')})(?: AS ${QI})?|IFF\\(SUBSTR\\(c\\."_SLUICE_UNCHANGED", \\d+, 1\\) = '1', o\\.${QI}, (?:${VAL('c')})\\) AS ${QI}|IFF\\(c\\."_SLUICE_UNCHANGED" IS NOT NULL AND o\\.${QI} IS NULL, ${STR}, NULL\\) AS "_SLUICE_LOST"`;
const LENIENT = ` WHERE c\\."_SLUICE_UNCHANGED" IS NULL OR o\\.${QI} IS NOT NULL OR SUBSTR\\(c\\."_SLUICE_UNCHANGED", \\d+, 1\\) <> 'L'`;
const LOST_UPD = ' WHEN MATCHED AND s\\."_SLUICE_LOST" IS NOT NULL THEN UPDATE SET "_SLUICE_VERSION" = CAST\\(s\\."_SLUICE_LOST" AS NUMBER\\(20,0\\)\\)';
const LOST_INS = ' WHEN NOT MATCHED AND s\\."_SLUICE_LOST" IS NOT NULL THEN INSERT \\("_SLUICE_VERSION"\\) VALUES \\(CAST\\(s\\."_SLUICE_LOST" AS NUMBER\\(20,0\\)\\)\\)';
// K2/K3's subquery: the live rows the staged deletes take, equal value for value
const KM = `SELECT r\\."_SLUICE_ROW" AS "_SLUICE_R", d\\."_SLUICE_V" FROM (${TBL}) AS r JOIN \\(SELECT (${L(`c\\.${QI}`)}), COUNT\\(\\*\\) AS "_SLUICE_N", MAX\\(c\\."_SLUICE_VERSION"\\) AS "_SLUICE_V" FROM (${TMP}) AS c WHERE c\\."_SLUICE_DELETED" GROUP BY (${L(`c\\.${QI}`)})\\) AS d ON (${AND(`EQUAL_NULL\\(r\\.${QI}, (?:d\\.${QI}|PARSE_JSON\\(d\\.${QI}\\))\\)`)}) WHERE NOT r\\."_SLUICE_DELETED" QUALIFY ROW_NUMBER\\(\\) OVER \\(PARTITION BY (${L(`d\\.${QI}`)}) ORDER BY r\\."_SLUICE_ROW"\\) <= d\\."_SLUICE_N"`;
const STATE_COLS = '"PIPELINE", "EPOCH", "POSITION", "VERSION", "COMMIT_US", "APPLIED_US"';
const re = (s) => new RegExp(`^${s}$`);

const TEMPLATES = {
  C1: re('SELECT CURRENT_ACCOUNT\\(\\), CURRENT_USER\\(\\), CURRENT_ROLE\\(\\), CURRENT_WAREHOUSE\\(\\), CURRENT_DATABASE\\(\\)'),
  D1: re(`CREATE SCHEMA IF NOT EXISTS (${QI})\\.(${QI})`),
  D2: re(`CREATE TABLE IF NOT EXISTS (${TBL}) \\((${L(`${QI} (?:${TYPE})(?: NOT NULL| IDENTITY)?`)})(?:, PRIMARY KEY \\((${L(QI)})\\))?\\)`),
  D3: re(`CREATE TEMPORARY TABLE (${QI}\\.${QI}\\.(?:"_SLUICE_TMP_\\d+"|"_SLUICE_PROBE")) \\((${L(`${QI} (?:${TYPE})`)})\\)`),
  D4: re(`ALTER TABLE (${TBL}) ADD COLUMN (${QI}) (${TYPE})`),
  D5: re(`ALTER TABLE (${TBL}) ALTER COLUMN (${QI}) SET DATA TYPE (NUMBER\\(\\d+,\\d+\\))`),
  D6: re(`TRUNCATE TABLE (${TBL})`),
  D7: re(`ALTER TABLE (${TBL}) RENAME TO (${TBL})`),
  D8: re(`ALTER TABLE (${TBL}) RENAME COLUMN (${QI}) TO (${QI})`),
  R1: re(`SELECT COUNT\\(\\*\\) FROM (${TBL})`),
  R2: re(`SELECT "EPOCH", "POSITION", "VERSION", "COMMIT_US", "APPLIED_US" FROM (${QI}\\.${QI}\\."_SLUICE_STATE") WHERE "PIPELINE" = (${STR})`),
  R3: re(`SELECT "COLUMN_NAME", "DATA_TYPE", "NUMERIC_PRECISION", "NUMERIC_SCALE" FROM (${QI})\\."INFORMATION_SCHEMA"\\."COLUMNS" WHERE "TABLE_SCHEMA" = (${STR}) AND "TABLE_NAME" = (${STR}) ORDER BY "ORDINAL_POSITION"`),
  R4: re(`SELECT (${L(QI)}) FROM (${TBL}) WHERE NOT "_SLUICE_DELETED"`),
  L1: re(`COPY INTO (${TBL}) FROM (${STR}|@${QI}(?:\\.${QI}){0,2})(?: CREDENTIALS = \\((?:AWS_KEY_ID = (${STR}) AWS_SECRET_KEY = (${STR})(?: AWS_TOKEN = (${STR}))?|AZURE_SAS_TOKEN = (${STR}))\\)| STORAGE_INTEGRATION = (${QI}))? FILES = \\((${L(STR)})\\) FILE_FORMAT = \\(TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE\\) MATCH_BY_COLUMN_NAME = CASE_SENSITIVE`),
  L2: re(`INSERT INTO (${TBL}) \\((${L(QI)})\\) SELECT (${L(VAL('c'))}) FROM (${TMP}) AS c`),
  K1: re(`INSERT INTO (${TBL}) \\((${L(QI)})\\) SELECT (${L(`${VAL('c')}|FALSE`)}) FROM (${TMP}) AS c WHERE NOT c\\."_SLUICE_DELETED"`),
  K2: re(`UPDATE (${TBL}) AS t SET "_SLUICE_DELETED" = TRUE, "_SLUICE_VERSION" = z\\."_SLUICE_V" FROM \\(${KM}\\) AS z WHERE t\\."_SLUICE_ROW" = z\\."_SLUICE_R"`),
  K3: re(`SELECT CAST\\(IFF\\(COUNT\\(DISTINCT "_SLUICE_R"\\) = (\\d+), '0', 'sluice: a delete found no equal live row'\\) AS NUMBER\\(1,0\\)\\) FROM \\(${KM}\\)`),
  T1: re(`UPDATE (${TBL}) SET "_SLUICE_DELETED" = TRUE, "_SLUICE_VERSION" = (\\d+) WHERE NOT "_SLUICE_DELETED"`),
  M1: re(`MERGE INTO (${TBL}) AS t USING \\(SELECT (${L(SEL)}) FROM \\(SELECT \\* FROM (${TMP}) QUALIFY ROW_NUMBER\\(\\) OVER \\(PARTITION BY (${L(QI)}) ORDER BY "_SLUICE_VERSION" DESC, "_SLUICE_SEQ" DESC\\) = 1\\) AS c(?: LEFT JOIN (${TBL}) AS o ON (${AND(`o\\.${QI} = c\\.${QI}`)}) AND NOT o\\."_SLUICE_DELETED"${LENIENT})?\\) AS s ON (${AND(`t\\.${QI} = s\\.${QI}`)})(${LOST_UPD})? WHEN MATCHED AND s\\."_SLUICE_DELETED" THEN UPDATE SET "_SLUICE_DELETED" = TRUE, "_SLUICE_VERSION" = s\\."_SLUICE_VERSION" WHEN MATCHED THEN UPDATE SET (${L(`${QI} = (?:s\\.${QI}|FALSE)`)})(${LOST_INS})? WHEN NOT MATCHED AND NOT s\\."_SLUICE_DELETED" THEN INSERT \\((${L(QI)})\\) VALUES \\((${L(`s\\.${QI}|FALSE`)})\\)`),
  S1: re(`MERGE INTO (${QI}\\.${QI}\\."_SLUICE_STATE") AS t USING \\(SELECT (${STR}) AS "PIPELINE", (${STR}) AS "EPOCH", (${STR}) AS "POSITION", (\\d+) AS "VERSION", (-?\\d+) AS "COMMIT_US", (-?\\d+) AS "APPLIED_US"\\) AS s ON t\\."PIPELINE" = s\\."PIPELINE" WHEN MATCHED THEN UPDATE SET "EPOCH" = s\\."EPOCH", "POSITION" = s\\."POSITION", "VERSION" = s\\."VERSION", "COMMIT_US" = s\\."COMMIT_US", "APPLIED_US" = s\\."APPLIED_US" WHEN NOT MATCHED THEN INSERT \\(${STATE_COLS}\\) VALUES \\(s\\."PIPELINE", s\\."EPOCH", s\\."POSITION", s\\."VERSION", s\\."COMMIT_US", s\\."APPLIED_US"\\)`),
  S4: re(`SELECT CAST\\(IFF\\(COUNT\\(\\*\\) = \\d+, '0', 'sluice: staged rows are missing'\\) AS NUMBER\\(1,0\\)\\) FROM (${QI}\\.${QI}\\.(?:"_SLUICE_TMP_\\d+"|"_SLUICE_PROBE"))`),
  S0: re(`MERGE INTO (${QI}\\.${QI}\\."_SLUICE_STATE") AS t USING \\(SELECT (${STR}) AS "PIPELINE"\\) AS s ON t\\."PIPELINE" = s\\."PIPELINE" WHEN NOT MATCHED THEN INSERT \\("PIPELINE"\\) VALUES \\(s\\."PIPELINE"\\)`),
  S2: re(`UPDATE (${QI}\\.${QI}\\."_SLUICE_STATE") SET "EPOCH" = "EPOCH" WHERE "PIPELINE" = (${STR})`),
  S3: re(`SELECT CAST\\(IFF\\(COUNT\\(\\*\\) = [01], '0', (${STR})\\) AS NUMBER\\(1,0\\)\\) FROM (${QI}\\.${QI}\\."_SLUICE_STATE") WHERE "PIPELINE" = (${STR}) AND "EPOCH" = (${STR})(?: AND "VERSION" = \\d+)?`),
  BEGIN: /^BEGIN$/, COMMIT: /^COMMIT$/, ROLLBACK: /^ROLLBACK$/,
};
export const DDL = new Set(['D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'D7', 'D8']);

// Splits a captured list into its items (the separator is ', ' or ' AND ' outside quotes and
// parentheses).
function items(list, sep = ', ') {
  const out = [];
  let cur = '';
  let depth = 0;
  for (const t of lex(list)) {
    cur += t.raw;
    if (t.raw === '(') depth++;
    if (t.raw === ')') depth--;
    if (depth === 0 && t.t === 'ws' && cur.endsWith(sep)) { out.push(cur.slice(0, -sep.length)); cur = ''; }
  }
  out.push(cur);
  return out;
}
const ident = (raw) => lex(raw)[0].value;
// Every three-part name in a statement, in order of appearance.
export function tableRefsIn(text) {
  const toks = lex(text);
  const out = [];
  for (let i = 0; i + 4 < toks.length; i++) {
    if (toks[i].t === 'qid' && toks[i + 1].raw === '.' && toks[i + 2].t === 'qid' && toks[i + 3].raw === '.' && toks[i + 4].t === 'qid') {
      out.push({ db: toks[i].value, schema: toks[i + 2].value, name: toks[i + 4].value });
      i += 4;
    }
  }
  return out;
}
// The quoted identifiers of a statement that are not part of a three-part name, with whether
// each one follows AS (an alias it defines).
export function columnIdents(text) {
  const toks = lex(text).filter((t) => t.t !== 'ws');
  const out = [];
  for (let i = 0; i < toks.length; i++) {
    if (toks[i].t === 'qid' && toks[i + 1]?.raw === '.' && toks[i + 2]?.t === 'qid' && toks[i + 3]?.raw === '.' && toks[i + 4]?.t === 'qid') { i += 4; continue; }
    if (toks[i].t === 'qid') out.push({ name: toks[i].value, alias: toks[i - 1]?.raw === 'AS' });
  }
  return out;
}
// "DB"."S"."T" -> { db, schema, name }
export function tableRef(raw) {
  const q = lex(raw).filter((t) => t.t === 'qid');
  return { db: q[0].value, schema: q[1].value, name: q[2].value };
}
const qidsOf = (raw) => lex(raw).filter((t) => t.t === 'qid').map((t) => t.value);
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const need = (cond, why) => { if (!cond) throw compileError(why); };

// Matches one statement; returns a plan { kind, ...fields } or throws the compile error.
// An external location: s3://bucket/prefix/ or azure://account.blob.core.windows.net/container/prefix/
// (https://docs.snowflake.com/en/sql-reference/sql/create-stage, external stage parameters).
export function parseLocation(loc) {
  const s3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/((?:[^/]+\/)*)$/.exec(loc);
  if (s3) return { kind: 's3', url: loc, bucket: s3[1], prefix: s3[2] };
  const az = /^azure:\/\/([a-z0-9]{3,24})\.blob\.core\.windows\.net\/([a-z0-9][a-z0-9-]{1,61}[a-z0-9])\/((?:[^/]+\/)*)$/.exec(loc);
  if (az) return { kind: 'azure', url: loc, account: az[1], container: az[2], prefix: az[3] };
  throw compileError(`stage location ${JSON.stringify(loc)} is neither 's3://bucket/prefix/' nor 'azure://account.blob.core.windows.net/container/prefix/'`);
}

export function matchTemplate(text) {
  let kind = null;
  let m = null;
  for (const [k, r] of Object.entries(TEMPLATES)) { m = r.exec(text); if (m) { kind = k; break; } }
  if (!kind) throw compileError(JSON.stringify(text.length > 120 ? text.slice(0, 120) + '…' : text));
  const plan = { kind, text };
  switch (kind) {
    case 'D1': plan.db = ident(m[1]); plan.schema = ident(m[2]); break;
    case 'D2': case 'D3': {
      plan.table = tableRef(m[1]);
      plan.cols = items(m[2]).map((it) => {
        const c = /^("(?:[^"]|"")+") (\S+)( NOT NULL)?( IDENTITY)?$/.exec(it);
        return { name: ident(c[1]), type: parseType(c[2]), notNull: !!c[3], identity: !!c[4] };
      });
      // https://docs.snowflake.com/en/sql-reference/sql/create-table (AUTOINCREMENT | IDENTITY):
      // numeric columns only; TEMPLATES.md: only a keyless table's "_SLUICE_ROW" NUMBER(38,0).
      for (const c of plan.cols.filter((x) => x.identity)) {
        need(c.name === '_SLUICE_ROW' && typeText(c.type) === 'NUMBER(38,0)', `IDENTITY on ${duckIdent(c.name)}: only "_SLUICE_ROW" NUMBER(38,0) is one`);
      }
      plan.pk = m[3] ? qidsOf(m[3]) : [];
      const names = plan.cols.map((c) => c.name);
      need(new Set(names).size === names.length, 'duplicate column name');
      need(plan.pk.every((k) => names.includes(k)), 'PRIMARY KEY names a column the table does not have');
      // TEMPLATES.md: NOT NULL only on key columns, and on all of them.
      need(same(plan.cols.filter((c) => c.notNull).map((c) => c.name), names.filter((n) => plan.pk.includes(n))),
        'NOT NULL must be on exactly the PRIMARY KEY columns');
      break;
    }
    case 'D4': plan.table = tableRef(m[1]); plan.col = ident(m[2]); plan.type = parseType(m[3]); break;
    case 'D5': plan.table = tableRef(m[1]); plan.col = ident(m[2]); plan.type = parseType(m[3]); break;
    case 'D6': case 'R1': plan.table = tableRef(m[1]); break;
    case 'D7': plan.table = tableRef(m[1]); plan.to = tableRef(m[2]); break;
    case 'D8': plan.table = tableRef(m[1]); plan.col = ident(m[2]); plan.to = ident(m[3]); break;
    case 'R2': plan.table = tableRef(m[1]); plan.pipeline = lex(m[2])[0].value; break;
    case 'R3': plan.db = ident(m[1]); plan.schemaName = lex(m[2])[0].value; plan.tableName = lex(m[3])[0].value; break;
    case 'R4': plan.table = tableRef(m[2]); plan.cols = qidsOf(m[1]); break;
    case 'L1': {
      plan.table = tableRef(m[1]);
      // https://docs.snowflake.com/en/sql-reference/sql/copy-into-table: FROM a named stage
      // (@[db.][schema.]stage, which carries its own access: no CREDENTIALS or
      // STORAGE_INTEGRATION) or an external location ('s3://bucket/path/' with AWS_KEY_ID,
      // AWS_SECRET_KEY[, AWS_TOKEN]; 'azure://account.blob.core.windows.net/container/path/'
      // with AZURE_SAS_TOKEN; either with STORAGE_INTEGRATION instead).
      if (m[2].startsWith('@')) {
        need(!m[3] && !m[6] && !m[7], 'COPY from a named stage takes no CREDENTIALS or STORAGE_INTEGRATION');
        plan.stage = qidsOf(m[2]);
      } else {
        plan.location = parseLocation(lex(m[2])[0].value);
        need(m[3] || m[6] || m[7], 'COPY from an external location needs CREDENTIALS or STORAGE_INTEGRATION');
        if (m[7]) plan.integration = ident(m[7]);
        else if (m[6]) { need(plan.location.kind === 'azure', 'AZURE_SAS_TOKEN is for an azure:// location'); plan.credentials = { sas: lex(m[6])[0].value }; }
        else { need(plan.location.kind === 's3', 'AWS_KEY_ID is for an s3:// location'); plan.credentials = { keyId: lex(m[3])[0].value, secret: lex(m[4])[0].value, token: m[5] ? lex(m[5])[0].value : null }; }
      }
      plan.files = items(m[8]).map((s) => lex(s)[0].value);
      // https://docs.snowflake.com/en/user-guide/data-load-considerations-load: the FILES parameter
      // takes at most 1,000 files.
      if (plan.files.length > 1000) throw new SfError('001003', '42000', `SQL compilation error:\nFILES lists ${plan.files.length} files; at most 1000 are allowed.`);
      for (const f of plan.files) need(f !== '' && !f.startsWith('/'), `file name ${JSON.stringify(f)} is not relative to the location`);
      break;
    }
    case 'L2': {
      plan.table = tableRef(m[1]); plan.from = tableRef(m[4]);
      const cols = qidsOf(m[2]);
      const sel = items(m[3]).map((it) => qidsOf(it)[0]);
      need(same(cols, sel), 'L2 selects other columns than it inserts');
      plan.values = new Map(cols.map((c, i) => [c, items(m[3])[i]]));
      break;
    }
    case 'K1': {
      plan.table = tableRef(m[1]); plan.from = tableRef(m[4]);
      const cols = qidsOf(m[2]);
      const sel = items(m[3]);
      need(cols.length >= 2 && same(cols.slice(-2), ['_SLUICE_VERSION', '_SLUICE_DELETED']), 'K1 must end with "_SLUICE_VERSION", "_SLUICE_DELETED"');
      need(sel.length === cols.length && sel[sel.length - 1] === 'FALSE', 'K1 select list must match its column list and end with FALSE');
      sel.slice(0, -1).forEach((it, i) => need(qidsOf(it)[0] === cols[i] && it !== 'FALSE', `K1 select item ${i + 1} is not column ${cols[i]}`));
      plan.values = new Map(cols.map((c, i) => [c, sel[i]]));
      break;
    }
    case 'T1': plan.table = tableRef(m[1]); break;
    case 'K2': case 'K3': {
      // groups: K2's table or K3's count, then the subquery's table, select list, temporary
      // table, GROUP BY, ON, PARTITION BY
      if (plan.kind === 'K2') need(same(Object.values(tableRef(m[1])), Object.values(tableRef(m[2]))), 'K2 must read the rows of the table it updates');
      else plan.count = Number(m[1]);
      plan.table = tableRef(m[2]); plan.from = tableRef(m[4]);
      const sel = qidsOf(m[3]);
      const on = items(m[6], ' AND ');
      plan.cols = on.map((it) => qidsOf(it)[0]);
      need(same(sel, plan.cols) && same(qidsOf(m[5]), plan.cols) && same(qidsOf(m[7]), plan.cols),
        'the select list, GROUP BY, ON and PARTITION BY must name the same columns in the same order');
      on.forEach((it) => { const [a, b] = qidsOf(it); need(a === b, `ON item ${it} compares two columns`); });
      plan.values = new Map(on.map((it) => [qidsOf(it)[0], it]));
      break;
    }
    case 'M1': {
      plan.table = tableRef(m[1]); plan.from = tableRef(m[3]);
      const sel = items(m[2]);
      // The column each select item produces: its alias, else the column it reads.
      plan.values = new Map(sel.map((it) => { const q = qidsOf(it); return [/ AS "(?:[^"]|"")+"$/.test(it) ? q[q.length - 1] : q[0], it]; }));
      const partition = qidsOf(m[4]);
      const keys = items(m[7], ' AND ').map((it) => qidsOf(it));
      need(keys.every(([a, b]) => a === b), 'ON must compare t."K" with s."K"');
      plan.keys = keys.map(([a]) => a);
      need(same(partition, plan.keys), 'PARTITION BY must list the ON keys in order');
      const bracket = [m[5] !== undefined, sel.some((s) => s.endsWith('AS "_SLUICE_LOST"')), m[8] !== undefined, m[10] !== undefined];
      need(bracket.every((b) => b === bracket[0]), 'the bracketed M1 parts must appear together or not at all');
      if (m[5]) {
        need(same(Object.values(tableRef(m[5])), Object.values(plan.table)), 'LEFT JOIN must read the MERGE target');
        const joins = items(m[6], ' AND ').map((it) => qidsOf(it));
        need(same(joins.map(([a]) => a), plan.keys) && joins.every(([a, b]) => b === `_SLUICE_FROM_${a}`), 'LEFT JOIN must compare o."K" with c."_SLUICE_FROM_K" for every key');
        // the lenient filter reads the first key and the character after the columns' bits
        const lw = / OR o\.("(?:[^"]|"")+") IS NOT NULL OR SUBSTR\(c\."_SLUICE_UNCHANGED", (\d+), 1\) <> 'L'\) AS s ON /.exec(text);
        const nbits = [...plan.values.keys()].filter((k) => !k.startsWith('_SLUICE_')).length;
        need(lw && ident(lw[1]) === plan.keys[0] && Number(lw[2]) === nbits + 1, `the WHERE must test o.<first key> and SUBSTR(..., ${nbits + 1}, 1), the character after the bits`);
      }
      const set = items(m[9]);
      need(set.length >= 2 && set[set.length - 2] === '"_SLUICE_VERSION" = s."_SLUICE_VERSION"' && set[set.length - 1] === '"_SLUICE_DELETED" = FALSE',
        'WHEN MATCHED THEN UPDATE SET must end with "_SLUICE_VERSION" = s."_SLUICE_VERSION", "_SLUICE_DELETED" = FALSE');
      set.slice(0, -2).forEach((it) => { const [a, b] = qidsOf(it); need(a === b && !it.endsWith('FALSE'), `UPDATE SET item ${it} is not "X" = s."X"`); });
      const cols = qidsOf(m[11]);
      const vals = items(m[12]);
      need(cols.length >= 2 && same(cols.slice(-2), ['_SLUICE_VERSION', '_SLUICE_DELETED']) && vals.length === cols.length && vals[vals.length - 1] === 'FALSE',
        'INSERT must end with "_SLUICE_VERSION", "_SLUICE_DELETED" and VALUES with s."_SLUICE_VERSION", FALSE');
      vals.slice(0, -1).forEach((v, i) => need(qidsOf(v)[0] === cols[i], `INSERT value ${i + 1} is not s.${duckIdent(cols[i])}`));
      break;
    }
    case 'S1': case 'S0': plan.table = tableRef(m[1]); plan.keys = ['PIPELINE']; break;
    case 'S2': case 'S4': plan.table = tableRef(m[1]); break;
    case 'S3': plan.table = tableRef(m[2]); break;
    default: break;
  }
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Translation of a DML/query statement to DuckDB: every three-part name goes through `resolve`,
// string literals are re-encoded (Snowflake escapes decoded), types are mapped, and IFF and
// PARSE_JSON become the emulator's macros. Everything else in the templates is DuckDB syntax.
export function translate(text, resolve) {
  const toks = lex(text);
  let out = '';
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    const at = (k) => toks[i + k] ?? {};
    if (t.t === 'qid' && at(1).raw === '.' && at(2).t === 'qid' && at(3).raw === '.' && at(4).t === 'qid') {
      out += resolve({ db: t.value, schema: at(2).value, name: at(4).value });
      i += 4;
    } else if (t.t === 'qid') out += duckIdent(t.value);
    else if (t.t === 'str') out += duckString(t.value);
    else if (t.t === 'word' && t.raw === 'NUMBER' && at(1).raw === '(') {
      out += duckType(parseType(`NUMBER(${at(2).raw},${at(4).raw})`));
      i += 5;
    } else if (t.t === 'word' && t.raw === 'IFF' && at(1).raw === '(') out += 'sf_iff';
    else if (t.t === 'word' && t.raw === 'EQUAL_NULL' && at(1).raw === '(') out += 'sf_equal_null';
    else if (t.t === 'word' && t.raw === 'PARSE_JSON' && at(1).raw === '(') out += 'sf_parse_json';
    else out += t.raw;
  }
  return out;
}

// Macros installed in the DuckDB instance. IFF: a NULL condition takes the else branch. PARSE_JSON:
// invalid JSON is an error, an empty (or all blank) string is SQL NULL
// (https://docs.snowflake.com/en/sql-reference/functions/parse_json).
export const MACROS = [
  'CREATE MACRO sf_iff(c, a, b) AS CASE WHEN c THEN a ELSE b END',
  // https://docs.snowflake.com/en/sql-reference/functions/equal_null: NULL-safe equality
  'CREATE MACRO sf_equal_null(a, b) AS a IS NOT DISTINCT FROM b',
  "CREATE MACRO sf_parse_json(x) AS CASE WHEN trim(x) = '' THEN NULL ELSE json(x) END",
];
