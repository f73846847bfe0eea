// Builds the SELECT (and the COPY around it) that produces one export file's rows, fully formatted
// by PostgreSQL. COPY cannot take bind parameters, so the few values are inlined as literals after
// strict validation (integers, ISO instants, hex keys); nothing user-typed reaches this text.
import type { Window } from '@/lib/windows';
import { FILE_SPECS, type Column, type DataFileType } from './columns';
import { valueKind } from './schema';

/**
 * `csv`: one text field per column. `json`: one row_to_json object per row (JSON Lines, xlsx).
 * `typed`: each column as its typed schema's value (lib/exports/schema.ts) in PostgreSQL's binary
 * COPY format — text, int8, boolean, timestamptz (whole seconds), date, text[] or int8[] — for
 * Parquet files and database destinations.
 */
export type RowShape = 'csv' | 'json' | 'typed';

export type SelectOptions = {
  fileType: DataFileType;
  shape: RowShape;
  programId: number;
  window: Window;
  /** The Generated At value, ISO 8601 UTC with seconds. */
  generatedAt: string;
  /** The program's pseudonym key when anonymization is on; null otherwise. */
  pseudonymKey: string | null;
  /**
   * A slice of the window's rows in file order (see sortKey): rows whose key is ≥ `from` and <
   * `to`; an open end is the window's own bound. Slices with adjacent bounds never overlap and
   * together hold exactly the window's rows, in the same order.
   */
  range?: KeyRange;
};

/** A position in a file's order: the sort key's values as PostgreSQL prints them (time::text, id::text). */
export type KeyBound = { time: string; id: string };
export type KeyRange = { from?: KeyBound; to?: KeyBound };

const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** A SQL string literal. Refuses characters that could matter if standard_conforming_strings were off. */
export function literal(value: string): string {
  if (/[\\\u0000]/.test(value)) throw new Error('refusing to inline a value with a backslash or NUL byte');
  return `'${value.replace(/'/g, "''")}'`;
}

/** timestamptz::text (ISO DateStyle, any time zone): digits, '-', ':', '.', ' ', '+'. */
const PG_TIMESTAMP = /^\d{4,}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/;

function bound(b: KeyBound): string {
  if (!PG_TIMESTAMP.test(b.time)) throw new Error(`unexpected sort key time ${JSON.stringify(b.time)}`);
  if (!/^\d{1,19}$/.test(b.id)) throw new Error(`unexpected sort key id ${JSON.stringify(b.id)}`);
  return `(${literal(b.time)}::timestamptz, ${b.id})`;
}

/** The columns a file is ordered by — its selection time, then its id — as `[time, id]` expressions. */
export function sortKey(fileType: DataFileType): [string, string] {
  const parts = FILE_SPECS[fileType].orderBy.split(',').map((s) => s.trim());
  if (parts.length !== 2 || parts[0] !== FILE_SPECS[fileType].timeColumn) throw new Error(`unexpected order of ${fileType} files`);
  return [parts[0], parts[1]];
}

function instant(d: Date): string {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new Error('window bounds must be valid dates');
  return `${literal(d.toISOString())}::timestamptz`;
}

/** ISO 8601 UTC with seconds, as every timestamp in the files. */
export const sqlTimestamp = (expr: string) => `to_char((${expr}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;

/** HMAC-SHA256(key, id as decimal text), hex, first 32 characters — must equal pseudonymize() in Node. */
export const sqlPseudonym = (expr: string, key: string) => `left(encode(hmac((${expr})::text, ${literal(key)}, 'sha256'), 'hex'), 32)`;

function columnExpr(col: Column, o: SelectOptions): string {
  const json = o.shape === 'json';
  const anonymize = o.pseudonymKey !== null;
  switch (col.kind) {
    case 'text':
      // '' would come out of COPY as a quoted "" (to tell it from null); the contract says empty = null.
      return `nullif(${col.expr}, '')`;
    case 'pii':
      return anonymize ? 'null::text' : `nullif(${col.expr}, '')`;
    case 'id':
      return json ? `(${col.expr})::text` : col.expr;
    case 'user_id':
      if (anonymize) return sqlPseudonym(col.expr, o.pseudonymKey!);
      return json ? `(${col.expr})::text` : col.expr;
    case 'int':
      return col.expr;
    case 'bool':
      // boolean::text is 'true'/'false'; COPY alone would write t/f.
      return json ? col.expr : `(${col.expr})::text`;
    case 'timestamp':
      return sqlTimestamp(col.expr);
    case 'date':
      return `to_char(${col.expr}, 'YYYY-MM-DD')`;
    case 'json':
      return json ? col.expr : `(${col.expr})::text`;
    case 'literal':
      if (!ISO_SECONDS.test(o.generatedAt)) throw new Error(`generatedAt must be ISO 8601 UTC with seconds, got ${o.generatedAt}`);
      return `${literal(o.generatedAt)}::text`;
  }
}

/** A whole-second instant, truncated in UTC as the text formats are (never rounded up). */
const typedInstant = (expr: string) => `(date_trunc('second', (${expr}) at time zone 'UTC') at time zone 'UTC')`;

/** A column as its typed value (RowShape `typed`): what the typed schema says it is. */
function typedExpr(col: Column, o: SelectOptions): string {
  const anonymize = o.pseudonymKey !== null;
  const kind = valueKind(col);
  const expr = col.typed?.expr ?? col.expr;
  if (col.kind === 'pii' && anonymize) {
    return kind === 'date' ? 'null::date' : 'null::text';
  }
  switch (kind) {
    case 'string':
      if (col.kind === 'id') return `(${expr})::text`;
      if (col.kind === 'user_id') return anonymize ? sqlPseudonym(expr, o.pseudonymKey!) : `(${expr})::text`;
      return `nullif(${expr}, '')`;
    case 'int64':
      return `(${expr})::int8`;
    case 'boolean':
      return `(${expr})::boolean`;
    case 'timestamp':
      if (col.kind === 'literal') {
        if (!ISO_SECONDS.test(o.generatedAt)) throw new Error(`generatedAt must be ISO 8601 UTC with seconds, got ${o.generatedAt}`);
        return `${literal(o.generatedAt)}::timestamptz`;
      }
      return typedInstant(expr);
    case 'date':
      return `(${expr})::date`;
    // The json expression's elements, in order, as a PostgreSQL array.
    case 'string_list':
      return `array(select t.v from json_array_elements_text(${expr}) with ordinality as t(v, i) order by t.i)`;
    case 'int64_list':
      return `array(select t.v::int8 from json_array_elements_text(${expr}) with ordinality as t(v, i) order by t.i)`;
  }
}

/** The SELECT of one file's rows, in file order (by selection time, then id). */
export function selectSql(o: SelectOptions): string {
  if (!Number.isSafeInteger(o.programId)) throw new Error('programId must be an integer');
  if (o.pseudonymKey !== null && !/^[0-9A-Za-z_-]{16,256}$/.test(o.pseudonymKey)) throw new Error('pseudonym key has an unexpected form');
  const spec = FILE_SPECS[o.fileType];
  const list = spec.columns.map((col) => `${o.shape === 'typed' ? typedExpr(col, o) : columnExpr(col, o)} as "${col.header}"`).join(', ');
  const select =
    (spec.with ? `with ${spec.with.replaceAll(':program', String(o.programId))} ` : '') +
    `select ${list} from ${spec.from} ` +
    `where ${whereClause(o)} ` +
    `order by ${spec.orderBy}`;
  return o.shape === 'json' ? `select row_to_json(r)::text from (${select}) r` : select;
}

function whereClause(o: SelectOptions): string {
  const spec = FILE_SPECS[o.fileType];
  let where = `${spec.programColumn} = ${o.programId} and ${spec.timeColumn} >= ${instant(o.window.start)} and ${spec.timeColumn} < ${instant(o.window.end)}`;
  if (o.range?.from || o.range?.to) {
    const key = `(${sortKey(o.fileType).join(', ')})`;
    if (o.range.from) where += ` and ${key} >= ${bound(o.range.from)}`;
    if (o.range.to) where += ` and ${key} < ${bound(o.range.to)}`;
  }
  return where;
}

/**
 * The sort key of the row `offset` rows past `o.range.from` (or the window's start) in file order,
 * or no row when fewer remain: the next slice's lower bound. Reads only the selected table, which
 * its (program, time, id) index answers without touching the joins.
 */
export function boundarySql(o: SelectOptions, offset: number): string {
  if (!Number.isSafeInteger(offset) || offset < 1) throw new Error('offset must be a positive integer');
  if (!Number.isSafeInteger(o.programId)) throw new Error('programId must be an integer');
  const spec = FILE_SPECS[o.fileType];
  const table = spec.from.split(/\s+left join\s+/i)[0];
  if (!/^[a-z_]+ [a-z]$/.test(table)) throw new Error(`unexpected table of ${o.fileType} files`);
  const [time, id] = sortKey(o.fileType);
  return (
    `select (${time})::text as time, (${id})::text as id from ${table} ` +
    `where ${whereClause({ ...o, range: { from: o.range?.from } })} order by ${spec.orderBy} offset ${offset} limit 1`
  );
}

/**
 * How many rows the source holds for a file's window: a count of the selected table alone (the
 * joins add columns, never rows), asked apart from the COPY, so a reconciliation can hold the
 * source's own number against the rows the files got.
 */
export function countSql(o: Pick<SelectOptions, 'fileType' | 'programId' | 'window'>): string {
  if (!Number.isSafeInteger(o.programId)) throw new Error('programId must be an integer');
  const spec = FILE_SPECS[o.fileType];
  const table = spec.from.split(/\s+left join\s+/i)[0];
  if (!/^[a-z_]+ [a-z]$/.test(table)) throw new Error(`unexpected table of ${o.fileType} files`);
  const where = whereClause({ ...o, shape: 'csv', generatedAt: '1970-01-01T00:00:00Z', pseudonymKey: null });
  return `select count(*)::int8::text as n from ${table} where ${where}`;
}

/**
 * The COPY statement that streams a file's rows. CSV rows are RFC 4180 as PostgreSQL writes them
 * (quoted only when a field holds a comma, quote, CR or LF). JSON rows use a quote and delimiter
 * byte that JSON text never contains (it escapes every control character), so each line is the
 * object verbatim.
 */
export function copySql(o: SelectOptions): string {
  const options =
    o.shape === 'csv' ? '(format csv)' : o.shape === 'typed' ? '(format binary)' : "(format csv, quote e'\\x01', delimiter e'\\x02')";
  return `copy (${selectSql(o)}) to stdout with ${options}`;
}

/**
 * How many rows each window's files would hold if exported now — the selected tables only, counted
 * by their (program, time, id) indexes, as the export selects them — one row `(i, rows)` per window
 * in the order given. An estimate of a month's work before it is exported (rows that arrive or change
 * later move the actual count).
 */
export function windowRowCountSql(programId: number, windows: Window[]): string {
  if (!Number.isSafeInteger(programId)) throw new Error('programId must be an integer');
  const values = windows.map((w, i) => `(${i}, ${instant(w.start)}, ${instant(w.end)})`).join(', ');
  const counts = Object.values(FILE_SPECS).map((spec) => {
    const table = spec.from.split(/\s+left join\s+/i)[0];
    if (!/^[a-z_]+ [a-z]$/.test(table)) throw new Error(`unexpected table of ${spec.fileType} files`);
    return `(select count(*) from ${table} where ${spec.programColumn} = ${programId} and ${spec.timeColumn} >= w.s and ${spec.timeColumn} < w.e)`;
  });
  return `select w.i, (${counts.join(' + ')})::bigint as rows from (values ${values}) as w(i, s, e) order by w.i`;
}
