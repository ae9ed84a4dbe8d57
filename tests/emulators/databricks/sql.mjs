// The statements sluice sends to Databricks (TEMPLATES.md): lexing, the closed set of templates
// as whole-statement regular expressions, and their translation to DuckDB. Identifiers follow
// https://docs.databricks.com/sql/language-manual/sql-ref-identifiers.html (backticks, a
// backtick doubled inside); names of catalogs, schemas, tables and volumes are lower case in
// Unity Catalog (https://docs.databricks.com/aws/sql/language-manual/sql-ref-names).

export class DbError extends Error {
  // error_code: the Statement Execution API's own enum
  // (https://docs.databricks.com/api/statement-execution/v1/statement-execution/object.md);
  // sqlState: the SQLSTATE of the error condition.
  constructor(message, sqlState = '42000', errorCode = 'BAD_REQUEST') { super(message); this.sqlState = sqlState; this.errorCode = errorCode; }
}
const parseError = (why) => new DbError(`[PARSE_SYNTAX_ERROR] Syntax error (emulator: ${why}). SQLSTATE: 42601`, '42601');

export function lex(text) {
  const toks = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const start = i;
    if (/\s/.test(c)) { while (i < text.length && /\s/.test(text[i])) i++; toks.push({ t: 'ws', raw: text.slice(start, i) }); continue; }
    if (c === '`') {
      i++;
      for (;;) {
        if (i >= text.length) throw parseError('unterminated identifier');
        if (text[i] === '`') { if (text[i + 1] === '`') { i += 2; continue; } i++; break; }
        i++;
      }
      const raw = text.slice(start, i);
      if (raw.length === 2) throw parseError('empty identifier');
      toks.push({ t: 'qid', raw, value: raw.slice(1, -1).replace(/``/g, '`') });
      continue;
    }
    if (c === "'") {
      // https://docs.databricks.com/sql/language-manual/data-types/string-type.html: a backslash
      // escapes the next character; TEMPLATES.md: sluice doubles quotes and backslashes
      i++;
      let v = '';
      for (;;) {
        if (i >= text.length) throw parseError('unterminated string literal');
        if (text[i] === '\\') { v += text[i + 1]; i += 2; continue; }
        if (text[i] === "'") { if (text[i + 1] === "'") { v += "'"; i += 2; continue; } i++; break; }
        v += text[i++];
      }
      toks.push({ t: 'str', raw: text.slice(start, i), value: v });
      continue;
    }
    if (c === ':' && /[A-Za-z_]/.test(text[i + 1] ?? '')) { i++; while (i < text.length && /[A-Za-z0-9_]/.test(text[i])) i++; toks.push({ t: 'param', raw: text.slice(start, i), value: text.slice(start + 1, i) }); continue; }
    if (/[0-9]/.test(c)) { while (i < text.length && /[0-9]/.test(text[i])) i++; toks.push({ t: 'num', raw: text.slice(start, i) }); continue; }
    if (/[A-Za-z_]/.test(c)) { while (i < text.length && /[A-Za-z0-9_]/.test(text[i])) i++; toks.push({ t: 'word', raw: text.slice(start, i) }); continue; }
    if ((c === '-' && text[i + 1] === '-') || (c === '/' && text[i + 1] === '*')) throw parseError('comments are not used by sluice');
    if (c === ';') throw parseError('one statement per request (sluice never sends ";")');
    i++;
    toks.push({ t: 'punct', raw: c });
  }
  return toks;
}
export const duckIdent = (s) => `"${s.replace(/"/g, '""')}"`;
export const duckString = (s) => `'${s.replace(/'/g, "''")}'`;
export const showIdent = (s) => `\`${s.replace(/`/g, '``')}\``;

// ---------------------------------------------------------------------------------------------
// Types (https://docs.databricks.com/sql/language-manual/sql-ref-datatypes.html)
const SCALAR = 'TINYINT|SMALLINT|INT|BIGINT|DECIMAL\\(\\d+,\\d+\\)|FLOAT|DOUBLE|BOOLEAN|DATE|TIMESTAMP_NTZ|TIMESTAMP|STRING|BINARY';
export const TYPE = `(?:ARRAY<)*(?:${SCALAR})>*`;
export function parseType(text) {
  const m = /^ARRAY<(.*)>$/.exec(text);
  if (m) return { base: 'ARRAY', elem: parseType(m[1]) };
  const d = /^DECIMAL\((\d+),(\d+)\)$/.exec(text);
  if (d) {
    const p = +d[1]; const s = +d[2];
    // DECIMAL(p,s): 1 <= p <= 38, 0 <= s <= p
    if (p < 1 || p > 38 || s > p) throw new DbError(`[DATATYPE_MISMATCH] DECIMAL(${p},${s}) is out of range (precision 1 to 38, scale 0 to precision). SQLSTATE: 42K09`, '42K09');
    return { base: 'DECIMAL', p, s };
  }
  if (!new RegExp(`^(?:${SCALAR})$`).test(text)) throw parseError(`unknown type ${text}`);
  return { base: text };
}
// https://docs.databricks.com/aws/en/tables/features/type-widening: the changes type widening
// allows (integers to decimals with room for their digits; a decimal's precision grows by at
// least as much as its scale)
export function widens(from, to) {
  if (from.base === 'ARRAY' && to.base === 'ARRAY') return typeText(from.elem) === typeText(to.elem) || widens(from.elem, to.elem);
  const ints = ['TINYINT', 'SMALLINT', 'INT', 'BIGINT'];
  const rf = ints.indexOf(from.base); const rt = ints.indexOf(to.base);
  if (rf >= 0 && rt >= 0) return rt > rf;
  if (rf >= 0 && to.base === 'DOUBLE') return rf < 3;
  if (rf >= 0 && to.base === 'DECIMAL') return to.p - to.s >= (rf < 3 ? 10 : 20);
  if (from.base === 'DECIMAL' && to.base === 'DECIMAL') return to.s >= from.s && to.p - from.p >= to.s - from.s;
  if (from.base === 'FLOAT') return to.base === 'DOUBLE';
  return from.base === 'DATE' && to.base === 'TIMESTAMP_NTZ';
}
export const typeText = (t) => (t.base === 'ARRAY' ? `ARRAY<${typeText(t.elem)}>` : t.base === 'DECIMAL' ? `DECIMAL(${t.p},${t.s})` : t.base);
export function duckType(t) {
  switch (t.base) {
    case 'ARRAY': return `${duckType(t.elem)}[]`;
    case 'DECIMAL': return `DECIMAL(${t.p},${t.s})`;
    case 'INT': return 'INTEGER';
    case 'STRING': return 'VARCHAR';
    case 'BINARY': return 'BLOB';
    case 'TIMESTAMP_NTZ': return 'TIMESTAMP';
    case 'TIMESTAMP': return 'TIMESTAMPTZ';
    default: return t.base; // TINYINT SMALLINT BIGINT FLOAT DOUBLE BOOLEAN DATE
  }
}
// The type names of the result manifest (ColumnInfo.type_name: LONG, SHORT, BYTE for the
// integers; https://docs.databricks.com/api/statement-execution/v1/statement-execution/object.md)
export function typeName(t) {
  return { TINYINT: 'BYTE', SMALLINT: 'SHORT', BIGINT: 'LONG', TIMESTAMP_NTZ: 'TIMESTAMP_NTZ' }[t.base] ?? t.base;
}

// ---------------------------------------------------------------------------------------------
// Templates (TEMPLATES.md): exact spacing and keyword case.
const QI = '`(?:[^`]|``)+`';
const STR = "'(?:[^'\\\\]|''|\\\\[\\s\\S])*'";
const P = ':[a-z_]+';
const TBL = `${QI}\\.${QI}\\.${QI}`;
const L = (item) => `(?:${item})(?:, (?:${item}))*`;
const AND = (item) => `(?:${item})(?: AND (?:${item}))*`;
const GUARD = '\\(s\\.`_sluice_version` > t\\.`_sluice_version` OR \\(s\\.`_sluice_version` = t\\.`_sluice_version` AND s\\.`_sluice_seq` > t\\.`_sluice_seq`\\)\\)';
const SETV = `${QI} = (?:s\\.${QI}|CASE WHEN substr\\(s\\.\`_sluice_unchanged\`, \\d+, 1\\) = '1' THEN t\\.${QI} ELSE s\\.${QI} END|false)`;
const LOST = ` WHEN MATCHED AND ${GUARD} AND t\\.\`_sluice_deleted\` AND s\\.\`_sluice_unchanged\` IS NOT NULL AND substr\\(s\\.\`_sluice_unchanged\`, \\d+, 1\\) <> 'L' THEN UPDATE SET \`_sluice_version\` = raise_error\\('sluice: a change left columns unchanged, and the row it changed is not in the table'\\) WHEN NOT MATCHED AND s\\.\`_sluice_unchanged\` IS NOT NULL AND substr\\(s\\.\`_sluice_unchanged\`, \\d+, 1\\) <> 'L' THEN INSERT \\(\`_sluice_version\`\\) VALUES \\(raise_error\\('sluice: a change left columns unchanged, and the row it changed is not in the table'\\)\\)`;
const re = (s) => new RegExp(`^${s}$`);
const TEMPLATES = {
  C1: re('SELECT current_user\\(\\), current_catalog\\(\\)'),
  D1: re(`CREATE SCHEMA IF NOT EXISTS (${QI})\\.(${QI})`),
  D5: re(`DROP SCHEMA IF EXISTS (${QI})\\.(${QI})`),
  D2: re(`CREATE TABLE IF NOT EXISTS (${TBL}) \\((${L(`${QI} ${TYPE}(?: NOT NULL)?`)})\\)( TBLPROPERTIES \\('delta\\.columnMapping\\.mode' = 'name', 'delta\\.enableTypeWidening' = 'true'\\))?`),
  D3: re(`ALTER TABLE (${TBL}) ADD COLUMNS \\((${L(`${QI} ${TYPE}`)})\\)`),
  D6: re(`ALTER TABLE (${TBL}) RENAME TO (${TBL})`),
  D7: re(`ALTER TABLE (${TBL}) RENAME COLUMN (${QI}) TO (${QI})`),
  D8: re(`ALTER TABLE (${TBL}) ALTER COLUMN (${QI}) TYPE (${TYPE})`),
  R1: re(`SELECT count\\(\\*\\) FROM (${TBL})`),
  R2: re(`SELECT \`epoch\`, \`position\`, \`version\`, \`commit_us\`, \`applied_us\` FROM (${TBL}) WHERE \`pipeline\` = (${P})`),
  R3: re(`SELECT column_name, full_data_type FROM (${QI})\\.information_schema\\.columns WHERE table_schema = (${P}) AND table_name = (${P}) ORDER BY ordinal_position`),
  R4: re(`SELECT (${L(QI)}) FROM (${TBL}) WHERE NOT \`_sluice_deleted\``),
  L1: re(`COPY INTO (${TBL}) FROM (${STR}) FILEFORMAT = PARQUET FILES = \\((${L(STR)})\\)`),
  M1: re(`MERGE INTO (${TBL}) AS t USING \\(SELECT \\* FROM read_files\\((${STR}), format => 'parquet'\\) QUALIFY row_number\\(\\) OVER \\(PARTITION BY (${L(QI)}) ORDER BY \`_sluice_version\` DESC, \`_sluice_seq\` DESC\\) = 1\\) AS s ON (${AND(`t\\.${QI} = s\\.${QI}`)}) WHEN MATCHED AND ${GUARD} AND s\\.\`_sluice_deleted\` THEN UPDATE SET \`_sluice_deleted\` = true, \`_sluice_version\` = s\\.\`_sluice_version\`, \`_sluice_seq\` = s\\.\`_sluice_seq\`(${LOST})? WHEN MATCHED AND ${GUARD} THEN UPDATE SET (${L(SETV)}) WHEN NOT MATCHED AND NOT s\\.\`_sluice_deleted\`( AND s\\.\`_sluice_unchanged\` IS NULL)? THEN INSERT \\((${L(QI)})\\) VALUES \\((${L(`s\\.${QI}|false`)})\\)`),
  K1: re(`MERGE INTO (${TBL}) AS t USING \\(SELECT \\* FROM read_files\\((${STR}), format => 'parquet'\\)\\) AS s ON t\\.\`_sluice_version\` = s\\.\`_sluice_version\` AND t\\.\`_sluice_seq\` = s\\.\`_sluice_seq\` WHEN NOT MATCHED THEN INSERT \\((${L(QI)})\\) VALUES \\((${L(`s\\.${QI}|false`)})\\)`),
  T1: re(`UPDATE (${TBL}) SET \`_sluice_deleted\` = true, \`_sluice_version\` = CAST\\((${P}) AS DECIMAL\\(20,0\\)\\), \`_sluice_seq\` = -1 WHERE NOT \`_sluice_deleted\` AND \`_sluice_version\` <= CAST\\((${P}) AS DECIMAL\\(20,0\\)\\)`),
  D4: re(`TRUNCATE TABLE (${TBL})`),
  S1: re(`MERGE INTO (${TBL}) AS t USING \\(SELECT :pipeline AS \`pipeline\`, :epoch AS \`epoch\`, :position AS \`position\`, CAST\\(:version AS DECIMAL\\(20,0\\)\\) AS \`version\`, CAST\\(:commit_us AS BIGINT\\) AS \`commit_us\`, CAST\\(:applied_us AS BIGINT\\) AS \`applied_us\`\\) AS s ON t\\.\`pipeline\` = s\\.\`pipeline\` WHEN MATCHED AND \\(t\\.\`epoch\` <> s\\.\`epoch\` OR t\\.\`version\` <= s\\.\`version\`\\) THEN UPDATE SET \\* WHEN NOT MATCHED THEN INSERT \\*`),
};
export const DDL = new Set(['D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'D7', 'D8']);

export function items(list, sep = ', ') {
  const out = [];
  let cur = '';
  let depth = 0;
  for (const t of lex(list)) {
    if (t.t === 'punct' && (t.raw === '(' || t.raw === '<')) depth++;
    if (t.t === 'punct' && (t.raw === ')' || t.raw === '>')) depth--;
    cur += t.raw;
    if (depth === 0 && cur.endsWith(sep)) { out.push(cur.slice(0, -sep.length)); cur = ''; }
  }
  if (cur) out.push(cur);
  return out;
}
const qids = (s) => lex(s).filter((t) => t.t === 'qid').map((t) => t.value);
export const tableRef = (raw) => { const q = qids(raw); return { catalog: q[0], schema: q[1], name: q[2] }; };
const need = (cond, why) => { if (!cond) throw parseError(why); };
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
// UC object names are stored lower case; sluice sends them so
const lower = (ref) => need(Object.values(ref).every((n) => n === n.toLowerCase()), `object names must be lower case (Unity Catalog stores them so): ${Object.values(ref).map(showIdent).join('.')}`);

// A /Volumes path: /Volumes/<catalog>/<schema>/<volume>/<path>
// (https://docs.databricks.com/api/files/v2/upload-file.md)
export function volumePath(p) {
  const m = /^\/Volumes\/([^/]+)\/([^/]+)\/([^/]+)\/(.*)$/.exec(p);
  if (!m) throw new DbError(`[INVALID_PARAMETER_VALUE] ${p} is not a path in a volume (/Volumes/<catalog>/<schema>/<volume>/...)`, '42000');
  return { catalog: m[1], schema: m[2], volume: m[3], rel: m[4] };
}

export function matchTemplate(text) {
  let kind = null; let m = null;
  for (const [k, r] of Object.entries(TEMPLATES)) { m = r.exec(text); if (m) { kind = k; break; } }
  if (!kind) throw parseError(`no sluice template matches ${JSON.stringify(text.length > 140 ? text.slice(0, 140) + '…' : text)}`);
  const plan = { kind, text };
  switch (kind) {
    case 'D1': plan.catalog = qids(m[1])[0]; plan.schema = qids(m[2])[0]; need(plan.schema === plan.schema.toLowerCase(), 'schema names are lower case'); break;
    case 'D5': plan.catalog = qids(m[1])[0]; plan.schema = qids(m[2])[0]; need(plan.schema.startsWith('_sluice_probe_'), 'sluice drops only the schemas its check made (_sluice_probe_*)'); break;
    case 'D6': plan.table = tableRef(m[1]); plan.to = tableRef(m[2]); lower(plan.to); break;
    case 'D7': plan.table = tableRef(m[1]); plan.from = qids(m[2])[0]; plan.to = qids(m[3])[0]; break;
    case 'D8': plan.table = tableRef(m[1]); plan.col = qids(m[2])[0]; plan.type = parseType(m[3]); break;
    case 'D2': case 'D3': {
      plan.table = tableRef(m[1]); lower(plan.table);
      plan.mapping = kind === 'D2' && m[3] !== undefined;
      plan.cols = items(m[2]).map((it) => { const c = /^(`(?:[^`]|``)+`) (\S+?)( NOT NULL)?$/.exec(it); return { name: qids(c[1])[0], type: parseType(c[2]), notNull: !!c[3] }; });
      // Delta column names are case-insensitive: two that differ only in case are one
      // (https://learn.microsoft.com/de-de/azure/databricks/delta/schema-validation)
      const low = plan.cols.map((c) => c.name.toLowerCase());
      if (new Set(low).size !== low.length) throw new DbError('[COLUMN_ALREADY_EXISTS] The column already exists (names differing only in case are the same column). SQLSTATE: 42711', '42711');
      break;
    }
    case 'R1': case 'R4': plan.table = tableRef(m[m.length - 1]); if (kind === 'R4') plan.cols = qids(m[1]); break;
    case 'R2': plan.table = tableRef(m[1]); break;
    case 'R3': plan.catalog = qids(m[1])[0]; break;
    case 'L1': {
      plan.table = tableRef(m[1]); lower(plan.table);
      plan.from = lex(m[2])[0].value;
      need(plan.from.endsWith('/'), 'COPY INTO reads a directory: FROM ends with /');
      plan.files = items(m[3]).map((s) => lex(s)[0].value);
      // https://docs.databricks.com/aws/en/sql/language-manual/delta-copy-into: at most 1000 FILES
      if (plan.files.length > 1000) throw new DbError('[COPY_INTO_FILES_LIMIT] FILES lists more than 1000 files', '54000');
      for (const f of plan.files) need(f !== '' && !f.startsWith('/'), `file ${JSON.stringify(f)} is not relative to FROM`);
      break;
    }
    case 'M1': {
      plan.table = tableRef(m[1]); plan.file = lex(m[2])[0].value;
      const part = qids(m[3]);
      const on = items(m[4], ' AND ').map(qids);
      need(on.every(([a, b]) => a === b), 'ON compares t.`k` with s.`k`');
      plan.keys = on.map(([a]) => a);
      need(same(part, plan.keys), 'PARTITION BY lists the ON keys in order');
      const set = items(m[6]);
      need(set.length >= 3 && same(set.slice(-3), ['`_sluice_version` = s.`_sluice_version`', '`_sluice_seq` = s.`_sluice_seq`', '`_sluice_deleted` = false']), 'UPDATE SET ends with `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq`, `_sluice_deleted` = false');
      for (const it of set.slice(0, -3)) { const q = qids(it).filter((x) => x !== '_sluice_unchanged'); need(q.every((x) => x === q[0]), `UPDATE SET item ${it} mixes columns`); }
      const unchanged = set.some((it) => it.includes('CASE WHEN'));
      need(unchanged === (m[5] !== undefined) && unchanged === (m[7] !== undefined), 'the unchanged-column parts (CASE WHEN, the raise_error clauses, `_sluice_unchanged` IS NULL) appear together');
      const cols = qids(m[8]); const vals = items(m[9]);
      need(cols.length === vals.length && same(cols.slice(-3), ['_sluice_version', '_sluice_seq', '_sluice_deleted']) && vals[vals.length - 1] === 'false', 'INSERT ends with `_sluice_version`, `_sluice_seq`, `_sluice_deleted` and VALUES with s.`_sluice_version`, s.`_sluice_seq`, false');
      vals.slice(0, -1).forEach((v, i) => need(qids(v)[0] === cols[i], `INSERT value ${i + 1} is not s.${showIdent(cols[i])}`));
      plan.cols = cols.slice(0, -3);
      need(same(set.slice(0, -3).map((it) => qids(it)[0]), plan.cols), 'UPDATE SET and INSERT list the same columns');
      break;
    }
    case 'K1': {
      plan.table = tableRef(m[1]); plan.file = lex(m[2])[0].value;
      const cols = qids(m[3]); const vals = items(m[4]);
      need(cols.length === vals.length && same(cols.slice(-3), ['_sluice_version', '_sluice_seq', '_sluice_deleted']) && vals[vals.length - 1] === 'false', 'INSERT ends with `_sluice_version`, `_sluice_seq`, `_sluice_deleted` and VALUES with s.`_sluice_version`, s.`_sluice_seq`, false');
      vals.slice(0, -1).forEach((v, i) => need(qids(v)[0] === cols[i], `INSERT value ${i + 1} is not s.${showIdent(cols[i])}`));
      plan.cols = cols.slice(0, -3);
      break;
    }
    case 'T1': plan.table = tableRef(m[1]); need(m[2] === m[3], 'T1 compares with the version it sets'); break;
    case 'D4': plan.table = tableRef(m[1]); break;
    case 'S1': plan.table = tableRef(m[1]); break;
    default: break;
  }
  return plan;
}

// Translation to DuckDB: identifiers double-quoted, three-part names through resolve, named
// parameters as typed literals, read_files as read_parquet of the volume's local file, and
// Databricks functions as the emulator's macros.
export function translate(text, { resolve, param, file }) {
  const toks = lex(text);
  let out = '';
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    const at = (k) => toks[i + k] ?? {};
    if (t.t === 'qid' && at(1).raw === '.' && at(2).t === 'qid' && at(3).raw === '.' && at(4).t === 'qid') { out += resolve(t.value, at(2).value, at(4).value); i += 4; } else if (t.t === 'qid') out += duckIdent(t.value);
    else if (t.t === 'str') out += duckString(t.value);
    else if (t.t === 'param') out += param(t.value);
    else if (t.t === 'word' && t.raw === 'read_files' && at(1).raw === '(') {
      // read_files('<path>', format => 'parquet')
      out += `read_parquet(${duckString(file(at(2).value))})`;
      let depth = 0;
      for (i += 1; i < toks.length; i++) { if (toks[i].raw === '(') depth++; if (toks[i].raw === ')' && --depth === 0) break; }
    } else if (t.t === 'word' && t.raw === 'raise_error' && at(1).raw === '(') out += 'error';
    else if (t.t === 'word' && /^(INT|STRING|BINARY|TIMESTAMP_NTZ)$/.test(t.raw) && toks[i - 1]?.raw !== '.') out += duckType({ base: t.raw });
    else out += t.raw;
  }
  return out;
}
