// What the two dialects (postgres.ts, mysql.ts) share, written once: the `_dde_loads` ledger's
// columns and the values of its row, the TLS options a driver is given, the comparison of the
// customer's existing tables with the tables the export needs, and a ledger row as read back. Each
// dialect file keeps only what its server says differently (its queries, staging and merge).
import { isIP } from 'node:net';
import type { TypedColumn } from '@/lib/exports/schema';
import { LoadError } from './errors';
import type { DatabaseSettings } from './settings';
import type { LoadFile } from './source';
import {
  columnType,
  compatibleType,
  LOAD_ORDER,
  LOADS_TABLE,
  quoteIdent,
  SCHEMA_VERSION,
  tableName,
  tableSpec,
  type Dialect,
} from './tables';
import type { LoadedTable, LoadRecord, LoadWindow } from './target';

/** The ledger's columns in both dialects' words; its key is (connection, export type, window start, file type). */
const LEDGER_COLUMNS: readonly { name: string; postgres: string; mysql: string }[] = [
  { name: 'connection_id', postgres: 'text not null', mysql: 'varchar(64) not null' },
  { name: 'run_id', postgres: 'text not null', mysql: 'varchar(64) not null' },
  { name: 'export_type', postgres: 'text not null', mysql: 'varchar(16) not null' },
  { name: 'window_start', postgres: 'timestamptz not null', mysql: 'datetime(6) not null' },
  { name: 'window_end', postgres: 'timestamptz not null', mysql: 'datetime(6) not null' },
  { name: 'file_type', postgres: 'text not null', mysql: 'varchar(16) not null' },
  { name: 'table_name', postgres: 'text not null', mysql: 'varchar(64) not null' },
  { name: 'file_name', postgres: 'text not null', mysql: 'varchar(255) not null' },
  { name: 'rows', postgres: 'bigint not null', mysql: 'bigint not null' },
  { name: 'rows_applied', postgres: 'bigint not null', mysql: 'bigint not null' },
  { name: 'sha256', postgres: 'text not null', mysql: 'char(64) not null' },
  { name: 'schema_version', postgres: 'integer not null', mysql: 'int not null' },
  { name: 'loaded_at', postgres: 'timestamptz not null default now()', mysql: 'datetime(6) not null default current_timestamp(6)' },
];
const LEDGER_KEY = ['connection_id', 'export_type', 'window_start', 'file_type'];

/** The column list of `create table _dde_loads (…)` in a dialect. */
export function ledgerColumnsDdl(dialect: Dialect): string {
  const q = (n: string) => quoteIdent(dialect, n);
  return [...LEDGER_COLUMNS.map((c) => `${q(c.name)} ${c[dialect]}`), `primary key (${LEDGER_KEY.map(q).join(', ')})`].join(',\n  ');
}

/** The columns a load's ledger row names on insert (loaded_at takes the server's clock). */
export function ledgerInsertColumns(dialect: Dialect): string {
  return LEDGER_COLUMNS.filter((c) => c.name !== 'loaded_at')
    .map((c) => quoteIdent(dialect, c.name))
    .join(', ');
}

/** What a ledger row records of a file: the data file itself, or the manifest that says the window has no rows of a type. */
export type LedgerEntry = Pick<LoadFile, 'fileType' | 'name' | 'rows' | 'sha256'>;

/**
 * The values of a ledger row, in ledgerInsertColumns' order, rows_applied 0 (set once the rows are
 * in); `instant` writes a window bound as the driver takes it.
 */
export function ledgerValues(
  window: LoadWindow,
  entry: LedgerEntry,
  table: string,
  instant: (d: Date) => string | Date,
): (string | number | Date)[] {
  return [
    window.connectionId,
    window.runId,
    window.exportType,
    instant(window.windowStart),
    instant(window.windowEnd),
    entry.fileType,
    table,
    entry.name,
    entry.rows,
    0,
    entry.sha256,
    SCHEMA_VERSION,
  ];
}

/** A ledger row as the driver returns it (PostgreSQL's dates, MySQL's ISO strings) → a LoadRecord. */
export function loadRecord(r: Record<string, unknown>): LoadRecord {
  return {
    runId: String(r.run_id),
    exportType: String(r.export_type),
    windowStart: new Date(r.window_start as string | Date),
    windowEnd: new Date(r.window_end as string | Date),
    fileType: String(r.file_type),
    tableName: String(r.table_name),
    rows: Number(r.rows),
    applied: Number(r.rows_applied),
    sha256: String(r.sha256),
    schemaVersion: Number(r.schema_version),
    loadedAt: new Date(r.loaded_at as string | Date),
  };
}

/**
 * The Loaded tables summary, one statement in both dialects (window functions: PostgreSQL, MySQL 8,
 * MariaDB 10.2+): per file type the newest row, with the totals of its rows and windows. `ledger`
 * is the qualified, quoted `_dde_loads`, `param` the driver's placeholder for the connection id.
 */
export function loadedTablesSql(dialect: Dialect, ledger: string, param: string): string {
  const q = (n: string) => quoteIdent(dialect, n);
  return `select file_type, table_name, export_type, window_start, window_end, ${q('rows')}, loaded_at, total_rows, windows
      from (select file_type, table_name, export_type, window_start, window_end, ${q('rows')}, loaded_at,
                   sum(${q('rows')}) over (partition by file_type) as total_rows, count(*) over (partition by file_type) as windows,
                   row_number() over (partition by file_type order by loaded_at desc, window_start desc) as newest
              from ${ledger} where connection_id = ${param}) x
     where newest = 1`;
}

/** A row of loadedTablesSql → a LoadedTable, in load order (users, campaigns, activity). */
export function loadedTables(rows: Record<string, unknown>[]): LoadedTable[] {
  const order = (t: unknown) => LOAD_ORDER.indexOf(String(t) as (typeof LOAD_ORDER)[number]);
  return [...rows]
    .sort((a, b) => order(a.file_type) - order(b.file_type))
    .map((r) => ({
      fileType: String(r.file_type),
      tableName: String(r.table_name),
      rows: Number(r.total_rows),
      windows: Number(r.windows),
      last: {
        exportType: String(r.export_type),
        windowStart: new Date(r.window_start as string | Date),
        windowEnd: new Date(r.window_end as string | Date),
        rows: Number(r.rows),
        loadedAt: new Date(r.loaded_at as string | Date),
      },
    }));
}

/**
 * TLS as both drivers take it (false: none). `require` encrypts without checking the certificate
 * (the host name still goes out for SNI); `verify-full` checks it against the host name typed, with
 * the connection's CA when given.
 */
export function tlsOptions(settings: DatabaseSettings): false | { rejectUnauthorized: boolean; servername?: string; ca?: string } {
  if (settings.tls === 'disable') return false;
  const bare = settings.host.replace(/^\[|\]$/g, '');
  if (settings.tls === 'require') return { rejectUnauthorized: false, ...(isIP(bare) ? {} : { servername: bare }) };
  return { rejectUnauthorized: true, servername: bare, ...(settings.ca_certificate ? { ca: settings.ca_certificate } : {}) };
}

/** The customer's existing columns: table → column → its type as the server names it (`name`) and prints it (`text`). */
export type ExistingColumns = Map<string, Map<string, { name: string; text: string }>>;

export type TablesFound = {
  missingTables: string[];
  missingColumns: { table: string; column: TypedColumn }[];
  loadsMissing: boolean;
};

/**
 * The export's tables against what exists: tables to create, columns to add, and an existing column
 * that cannot hold the export's values, refused naming it with the statement that fixes it.
 * `qualifier` is where the tables live as a person names them (PostgreSQL's schema, MySQL's database).
 */
export function compareTables(dialect: Dialect, existing: ExistingColumns, prefix: string, qualifier: string): TablesFound {
  const missingTables: string[] = [];
  const missingColumns: { table: string; column: TypedColumn }[] = [];
  for (const spec of LOAD_ORDER.map(tableSpec)) {
    const name = tableName(spec, prefix);
    const columns = existing.get(name);
    if (!columns) {
      missingTables.push(name);
      continue;
    }
    for (const col of spec.columns) {
      const type = columns.get(col.name);
      if (type === undefined) missingColumns.push({ table: name, column: col });
      else if (!compatibleType(dialect, col.kind, type.name))
        throw new LoadError(
          'incompatible',
          `Column ${qualifier}.${name}.${col.name} is ${type.text}, which cannot hold the export's ${col.kind} values`,
          {
            fix:
              dialect === 'postgres'
                ? `ALTER TABLE ${qualifier}.${name} ALTER COLUMN ${col.name} TYPE ${columnType('postgres', col.kind)}`
                : `ALTER TABLE ${name} MODIFY ${col.name} ${columnType('mysql', col.kind, { key: col.name === spec.primaryKey })}`,
          },
        );
    }
  }
  return { missingTables, missingColumns, loadsMissing: !existing.has(LOADS_TABLE) };
}

/** The set-up test's words for what compareTables found: "will create …; will add …", or "all tables exist". */
export function describeTablesFound(found: TablesFound): { missing: string[]; detail: string } {
  const missing = [...found.missingTables, ...(found.loadsMissing ? [LOADS_TABLE] : [])];
  const added = found.missingColumns.map((m) => `${m.table}.${m.column.name}`);
  const detail = [
    missing.length ? `will create ${missing.join(', ')}` : 'all tables exist',
    added.length ? `will add ${added.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return { missing, detail };
}
