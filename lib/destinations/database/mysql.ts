// Loads into a customer's MySQL 8 or MariaDB 10.6+. As in PostgreSQL, one file of one window is one
// transaction that starts with its `_dde_loads` row (a concurrent load of the same window waits for
// ours on that row, then finds it); the rows go in batched multi-row INSERTs into a temporary table
// (made before the transaction: MySQL commits implicitly around most DDL), then one INSERT … SELECT
// … ON DUPLICATE KEY UPDATE moves them (activity: an event already there is kept; users and
// campaigns: a newer updated_at wins, assigned last so every other column compares the old one).
// Timestamps are stored as DATETIME(6) in UTC; lists as JSON.
import { parse } from 'csv-parse';
import mysql from 'mysql2/promise';
import type { TypedColumn } from '@/lib/exports/schema';
import { resolveAllowed } from './address';
import {
  compareTables,
  ledgerColumnsDdl,
  ledgerInsertColumns,
  ledgerValues,
  loadedTables,
  loadedTablesSql,
  loadRecord,
  tlsOptions,
  type ExistingColumns,
  type LedgerEntry,
  type TablesFound,
} from './dialect';
import { classifyMysqlError, LoadError, type ErrorContext } from './errors';
import type { DatabaseSettings } from './settings';
import { openCsvSource, type LoadFile, type OpenSource } from './source';
import { columnType, LOAD_ORDER, LOADS_TABLE, MERGE_COLUMN, quoteIdent, tableName, tableSpec, type TableSpec } from './tables';
import type { DatabaseTarget, Fence, LoadedFile, LoadedTable, LoadRecord, LoadWindow, TableChanges, TargetOptions } from './target';

const q = (name: string) => quoteIdent('mysql', name);

export async function connectMysql(settings: DatabaseSettings, password: string): Promise<mysql.Connection> {
  const address = await resolveAllowed(settings.host, settings.port);
  const tls = tlsOptions(settings);
  const conn = await mysql.createConnection({
    host: address,
    port: settings.port,
    user: settings.user,
    password,
    database: settings.database,
    ssl: tls === false ? undefined : tls,
    connectTimeout: 15_000,
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    charset: 'utf8mb4',
    // Affected rows count changed rows, not matched ones (an unchanged duplicate counts 0).
    flags: ['-FOUND_ROWS'],
  });
  conn.on('error', () => undefined); // a lost connection surfaces on the next query
  await conn.query("set session time_zone = '+00:00'");
  return conn;
}

/** `2026-11-28T08:15:02Z` → `2026-11-28 08:15:02` (UTC, as DATETIME stores it). */
const toDatetime = (v: string) => v.replace('T', ' ').replace(/Z$/, '');
const toUtcString = (d: Date) => d.toISOString().replace('T', ' ').replace(/Z$/, '');

export class MysqlTarget implements DatabaseTarget {
  readonly dialect = 'mysql' as const;
  private readonly ctx: ErrorContext;
  private readonly lockTimeoutMs: number;
  private readonly batchRows: number;

  constructor(
    private readonly conn: mysql.Connection,
    private readonly settings: DatabaseSettings,
    opts: TargetOptions = {},
  ) {
    this.ctx = { user: settings.user, database: settings.database, schema: null };
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 30_000;
    this.batchRows = opts.batchRows ?? 500;
  }

  static async open(settings: DatabaseSettings, password: string, opts: TargetOptions = {}): Promise<MysqlTarget> {
    const ctx = { user: settings.user, database: settings.database, schema: null };
    try {
      const conn = await connectMysql(settings, password);
      const seconds = Math.max(1, Math.ceil((opts.lockTimeoutMs ?? 30_000) / 1000));
      await conn.query(`set session innodb_lock_wait_timeout = ${seconds}, session lock_wait_timeout = ${seconds}`);
      return new MysqlTarget(conn, settings, opts);
    } catch (err) {
      throw classifyMysqlError(err, ctx);
    }
  }

  private wrap<T>(work: () => Promise<T>): Promise<T> {
    return work().catch((err: unknown) => {
      throw classifyMysqlError(err, this.ctx);
    });
  }

  private name(spec: Pick<TableSpec, 'baseName'>): string {
    return tableName(spec, this.settings.table_prefix);
  }

  async inspectTables(): Promise<TablesFound> {
    const names = LOAD_ORDER.map((t) => this.name(tableSpec(t)));
    const [rows] = await this.conn.query<mysql.RowDataPacket[]>(
      'select table_name as t, column_name as c, data_type as d from information_schema.columns where table_schema = database() and table_name in (?)',
      [[...names, LOADS_TABLE]],
    );
    const existing: ExistingColumns = new Map();
    for (const r of rows) {
      const cols = existing.get(String(r.t)) ?? new Map<string, { name: string; text: string }>();
      cols.set(String(r.c), { name: String(r.d), text: String(r.d) });
      existing.set(String(r.t), cols);
    }
    return compareTables('mysql', existing, this.settings.table_prefix, this.settings.database);
  }

  ensureTables(): Promise<TableChanges> {
    return this.wrap(async () => {
      const first = await this.inspectTables();
      if (!first.missingTables.length && !first.missingColumns.length && !first.loadsMissing) return { created: [], addedColumns: [] };
      const seconds = Math.max(1, Math.ceil(this.lockTimeoutMs / 1000));
      const [[lock]] = await this.conn.query<mysql.RowDataPacket[]>('select get_lock(concat(?, database()), ?) as ok', [
        'dde-tables:',
        seconds,
      ]);
      if (Number(lock.ok) !== 1) throw new LoadError('busy', 'Another load is changing the tables; will try again');
      try {
        return await this.applyDdl();
      } finally {
        await this.conn.query('select release_lock(concat(?, database()))', ['dde-tables:']);
      }
    });
  }

  private async applyDdl(): Promise<TableChanges> {
    const created: string[] = [];
    const addedColumns: string[] = [];
    const [tables] = await this.conn.query<mysql.RowDataPacket[]>(
      'select table_name as t from information_schema.tables where table_schema = database()',
    );
    const existing = new Set(tables.map((r) => String(r.t)));
    if (!existing.has(LOADS_TABLE)) {
      await this.conn.query(`create table if not exists ${q(LOADS_TABLE)} (${ledgerColumnsDdl('mysql')}) default charset = utf8mb4`);
      created.push(LOADS_TABLE);
    }
    for (const spec of LOAD_ORDER.map(tableSpec)) {
      const name = this.name(spec);
      const keyed = new Set([spec.primaryKey, ...spec.indexes.map((i) => i.column)]);
      if (!existing.has(name)) {
        const cols = spec.columns.map(
          (c) =>
            `${q(c.name)} ${columnType('mysql', c.kind, { key: keyed.has(c.name) })}${c.name === spec.primaryKey ? ' not null' : ' null'}`,
        );
        const keys = [
          `primary key (${q(spec.primaryKey)})`,
          ...spec.indexes.map((i) => `key ${q(`${name}_${i.suffix}`)} (${q(i.column)})`),
        ];
        await this.conn.query(
          `create table if not exists ${q(name)} (\n  ${[...cols, ...keys].join(',\n  ')}\n) default charset = utf8mb4`,
        );
        created.push(name);
        continue;
      }
      const [have] = await this.conn.query<mysql.RowDataPacket[]>(
        'select column_name as c from information_schema.columns where table_schema = database() and table_name = ?',
        [name],
      );
      const names = new Set(have.map((r) => String(r.c)));
      for (const c of spec.columns) {
        if (names.has(c.name)) continue;
        await this.conn.query(`alter table ${q(name)} add column ${q(c.name)} ${columnType('mysql', c.kind)} null`);
        addedColumns.push(`${name}.${c.name}`);
      }
    }
    return { created, addedColumns };
  }

  loadFile(window: LoadWindow, file: LoadFile, open: OpenSource, fence?: Fence): Promise<LoadedFile> {
    const spec = tableSpec(file.fileType);
    const table = this.name(spec);
    return this.wrap(async () => {
      const conn = this.conn;
      const stage = `dde_stage_${file.fileType}`;
      await conn.query(`drop temporary table if exists ${q(stage)}`);
      await conn.beginTransaction();
      let source: Awaited<ReturnType<typeof openCsvSource>> | null = null;
      try {
        try {
          await conn.query(
            `insert into ${q(LOADS_TABLE)} (${ledgerInsertColumns('mysql')}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            ledgerValues(window, file, table, toUtcString),
          );
        } catch (err) {
          if ((err as { errno?: number }).errno === 1062) {
            await conn.rollback();
            return { fileType: file.fileType, table, rows: file.rows, applied: 0, status: 'already_loaded' as const };
          }
          throw err;
        }
        source = await openCsvSource(file, open);
        const cols = source.columns;
        // A temporary table is not DDL that commits (MySQL 8, MariaDB), but keep it free of keys: rows only.
        await conn.query(
          `create temporary table ${q(stage)} (${cols.map((c) => `${q(c.name)} ${columnType('mysql', c.kind)}`).join(', ')})`,
        );
        const names = cols.map((c) => q(c.name)).join(', ');
        const convert = cols.map(converter);
        const parser = source.body.pipe(parse({ bom: false, relax_quotes: false }));
        let staged = 0;
        let batch: unknown[][] = [];
        const flush = async () => {
          if (!batch.length) return;
          await conn.query(`insert into ${q(stage)} (${names}) values ?`, [batch]);
          batch = [];
        };
        for await (const record of parser as AsyncIterable<string[]>) {
          if (record.length !== cols.length)
            throw new LoadError('data', `${file.name}: row ${staged + 1} has ${record.length} fields, the header ${cols.length}`);
          batch.push(record.map((v, i) => convert[i](v)));
          staged++;
          if (batch.length >= this.batchRows) await flush();
        }
        await flush();
        await source.verified;
        if (staged !== file.rows)
          throw new LoadError('data', `${file.name} has ${staged} rows; its export recorded ${file.rows}. Nothing of it was loaded`);

        let update: string;
        if (spec.mode === 'append') {
          update = `${q(table)}.${q(spec.primaryKey)} = ${q(table)}.${q(spec.primaryKey)}`;
        } else if (cols.some((c) => c.name === MERGE_COLUMN)) {
          // The table's own columns are qualified: the SELECT's columns have the same names.
          const own = (name: string) => `${q(table)}.${q(name)}`;
          const m = q(MERGE_COLUMN);
          const newer = `(${own(MERGE_COLUMN)} is null or values(${m}) > ${own(MERGE_COLUMN)})`;
          const others = cols.filter((c) => c.name !== spec.primaryKey && c.name !== MERGE_COLUMN);
          // updated_at last: MySQL assigns left to right, so the others still compare the old value.
          update = [
            ...others.map((c) => `${own(c.name)} = if(${newer}, values(${q(c.name)}), ${own(c.name)})`),
            `${own(MERGE_COLUMN)} = if(${newer}, values(${m}), ${own(MERGE_COLUMN)})`,
          ].join(', ');
        } else {
          update = `${q(table)}.${q(spec.primaryKey)} = ${q(table)}.${q(spec.primaryKey)}`;
        }
        const [res] = await conn.query<mysql.ResultSetHeader>(
          `insert into ${q(table)} (${names}) select ${names} from ${q(stage)} on duplicate key update ${update}`,
        );
        const duplicates = Number(/Duplicates:\s*(\d+)/.exec(res.info ?? '')?.[1] ?? 0);
        const inserted = staged - duplicates;
        const applied = inserted + Math.max(0, (res.affectedRows - inserted) / 2);
        await conn.query(
          `update ${q(LOADS_TABLE)} set rows_applied = ? where connection_id = ? and export_type = ? and window_start = ? and file_type = ?`,
          [applied, window.connectionId, window.exportType, toUtcString(window.windowStart), file.fileType],
        );
        await (fence ? fence(() => conn.commit()) : conn.commit());
        return { fileType: file.fileType, table, rows: file.rows, applied, status: 'loaded' as const };
      } catch (err) {
        source?.close();
        await conn.rollback().catch(() => undefined);
        throw err;
      } finally {
        await conn.query(`drop temporary table if exists ${q(stage)}`).catch(() => undefined);
      }
    });
  }

  recordNoRows(window: LoadWindow, entries: LedgerEntry[], fence?: Fence): Promise<LoadedFile[]> {
    return this.wrap(async () => {
      const conn = this.conn;
      await conn.beginTransaction();
      try {
        const out: LoadedFile[] = [];
        for (const entry of entries) {
          const table = this.name(tableSpec(entry.fileType));
          // A row already there (an earlier attempt) is left as it is: 0 rows affected.
          const [res] = await conn.query<mysql.ResultSetHeader>(
            `insert into ${q(LOADS_TABLE)} (${ledgerInsertColumns('mysql')}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             on duplicate key update connection_id = connection_id`,
            ledgerValues(window, entry, table, toUtcString),
          );
          out.push({ fileType: entry.fileType, table, rows: 0, applied: 0, status: res.affectedRows === 1 ? 'loaded' : 'already_loaded' });
        }
        await (fence ? fence(() => conn.commit()) : conn.commit());
        return out;
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        throw err;
      }
    });
  }

  loadedTables(connectionId: string): Promise<LoadedTable[]> {
    return this.wrap(async () => {
      const iso = (c: string) => `concat(replace(${c}, ' ', 'T'), 'Z') as ${c}`;
      try {
        // DATETIME columns in UTC, answered as ISO instants.
        const [rows] = await this.conn.query<mysql.RowDataPacket[]>(
          `select file_type, table_name, export_type, ${iso('window_start')}, ${iso('window_end')}, \`rows\`, ${iso('loaded_at')}, total_rows, windows
             from (${loadedTablesSql('mysql', q(LOADS_TABLE), '?')}) y`,
          [connectionId],
        );
        return loadedTables(rows);
      } catch (err) {
        if ((err as { errno?: number }).errno === 1146) return []; // no ledger yet: nothing loaded
        throw err;
      }
    });
  }

  recentLoads(connectionId: string, limit: number): Promise<LoadRecord[]> {
    return this.wrap(async () => {
      const [rows] = await this.conn.query<mysql.RowDataPacket[]>(
        `select run_id, export_type, concat(replace(window_start, ' ', 'T'), 'Z') as window_start, concat(replace(window_end, ' ', 'T'), 'Z') as window_end,
                file_type, table_name, \`rows\`, rows_applied, sha256, schema_version, concat(replace(loaded_at, ' ', 'T'), 'Z') as loaded_at
           from ${q(LOADS_TABLE)} where connection_id = ? order by loaded_at desc, window_start desc limit ?`,
        [connectionId, limit],
      );
      return rows.map((r) => loadRecord(r));
    });
  }

  async close(): Promise<void> {
    await this.conn.end().catch(() => this.conn.destroy());
  }

  get session(): mysql.Connection {
    return this.conn;
  }
}

/** A CSV field as MySQL takes it: empty is null, instants without T/Z, booleans 1/0. */
function converter(c: TypedColumn): (v: string) => string | number | null {
  switch (c.kind) {
    case 'timestamp':
      return (v) => (v === '' ? null : toDatetime(v));
    case 'boolean':
      return (v) => (v === '' ? null : v === 'true' ? 1 : 0);
    default:
      return (v) => (v === '' ? null : v);
  }
}
