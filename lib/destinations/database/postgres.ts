// Loads into a customer's PostgreSQL (13+). One file of one window is one transaction: the
// `_dde_loads` row is inserted first (a second worker's insert of the same window waits for ours and
// then finds it; after a rollback it goes ahead), the file's rows stream with COPY FROM STDIN into a
// temporary table, one INSERT … ON CONFLICT moves them into the table (activity: an event already
// there is kept; users and campaigns: a newer updated_at wins), and the commit makes rows and ledger
// row visible together. Table changes (create, add column) happen before, in a transaction of their
// own under an advisory lock, and only when something is missing.
import { pipeline } from 'node:stream/promises';
import postgres from 'postgres';
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
import { classifyPostgresError, LoadError, type ErrorContext } from './errors';
import type { DatabaseSettings } from './settings';
import { openCsvSource, type LoadFile, type OpenSource } from './source';
import { columnType, LOAD_ORDER, LOADS_TABLE, MERGE_COLUMN, quoteIdent, tableName, tableSpec, type TableSpec } from './tables';
import type { DatabaseTarget, Fence, LoadedFile, LoadedTable, LoadRecord, LoadWindow, TableChanges, TargetOptions } from './target';

const q = (name: string) => quoteIdent('postgres', name);

type Sql = postgres.Sql;

export async function connectPostgres(settings: DatabaseSettings, password: string): Promise<Sql> {
  const address = await resolveAllowed(settings.host, settings.port);
  const sql = postgres({
    host: address,
    port: settings.port,
    database: settings.database,
    username: settings.user,
    password,
    ssl: tlsOptions(settings),
    max: 1,
    connect_timeout: 15,
    idle_timeout: 30,
    prepare: false,
    onnotice: () => undefined,
    connection: { application_name: 'dde' },
  });
  return sql;
}

export class PostgresTarget implements DatabaseTarget {
  readonly dialect = 'postgres' as const;
  private readonly schema: string;
  private readonly ctx: ErrorContext;
  private readonly lockTimeoutMs: number;

  constructor(
    private readonly sql: Sql,
    private readonly settings: DatabaseSettings,
    opts: TargetOptions = {},
  ) {
    this.schema = settings.schema ?? 'public';
    this.ctx = { user: settings.user, database: settings.database, schema: this.schema };
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 30_000;
  }

  static async open(settings: DatabaseSettings, password: string, opts: TargetOptions = {}): Promise<PostgresTarget> {
    const ctx = { user: settings.user, database: settings.database, schema: settings.schema };
    const sql = await connectPostgres(settings, password);
    try {
      await sql`select 1`;
    } catch (err) {
      await sql.end({ timeout: 0 }).catch(() => undefined);
      throw classifyPostgresError(err, ctx);
    }
    return new PostgresTarget(sql, settings, opts);
  }

  private table(spec: Pick<TableSpec, 'baseName'>): string {
    return `${q(this.schema)}.${q(tableName(spec, this.settings.table_prefix))}`;
  }

  /**
   * One transaction on the target's one connection. On any failure the connection is ended rather
   * than sent a ROLLBACK: the server rolls back a transaction whose session ends, and a statement
   * sent on a connection the server has just closed (a terminated backend, a restart) would race with
   * the driver's own clean-up. The target is unusable afterwards; loads open a new one.
   */
  private async inTransaction<T>(work: (tx: postgres.ReservedSql) => Promise<T>, fence?: Fence): Promise<T> {
    const tx = await this.sql.reserve();
    try {
      await tx.unsafe('begin');
      await tx.unsafe(`set local lock_timeout = ${Math.round(this.lockTimeoutMs)}`);
      const out = await work(tx);
      const commit = () => tx.unsafe('commit');
      await (fence ? fence(commit) : commit());
      tx.release();
      return out;
    } catch (err) {
      await this.sql.end({ timeout: 0 }).catch(() => undefined);
      throw err;
    }
  }

  private wrap<T>(work: () => Promise<T>): Promise<T> {
    return work().catch((err: unknown) => {
      throw classifyPostgresError(err, this.ctx);
    });
  }

  /** What is missing or wrong in the customer's schema, without changing anything. */
  async inspectTables(): Promise<TablesFound> {
    const names = LOAD_ORDER.map((t) => tableName(tableSpec(t), this.settings.table_prefix));
    // pg_catalog, not information_schema: the latter hides tables the user lacks privileges on,
    // which would make a table with a revoked privilege look missing.
    const rows = await this.sql<{ table_name: string; column_name: string; type_name: string; type_text: string }[]>`
      select c.relname as table_name, a.attname as column_name, t.typname as type_name, format_type(a.atttypid, a.atttypmod) as type_text
        from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace join pg_type t on t.oid = a.atttypid
       where n.nspname = ${this.schema} and c.relname in ${this.sql([...names, LOADS_TABLE])} and c.relkind in ('r', 'p')
         and a.attnum > 0 and not a.attisdropped`;
    const existing: ExistingColumns = new Map();
    for (const r of rows) {
      const cols = existing.get(r.table_name) ?? new Map<string, { name: string; text: string }>();
      cols.set(r.column_name, { name: r.type_name, text: r.type_text });
      existing.set(r.table_name, cols);
    }
    return compareTables('postgres', existing, this.settings.table_prefix, this.schema);
  }

  ensureTables(): Promise<TableChanges> {
    return this.wrap(async () => {
      const first = await this.inspectTables();
      if (!first.missingTables.length && !first.missingColumns.length && !first.loadsMissing) return { created: [], addedColumns: [] };
      return this.inTransaction(async (tx) => {
        await tx`select pg_advisory_xact_lock(hashtext(${'dde-tables:' + this.schema}))`;
        return applyDdl(tx, this.schema, this.settings.table_prefix);
      });
    });
  }

  loadFile(window: LoadWindow, file: LoadFile, open: OpenSource, fence?: Fence): Promise<LoadedFile> {
    const spec = tableSpec(file.fileType);
    const table = tableName(spec, this.settings.table_prefix);
    return this.wrap(async () => {
      const result = await this.inTransaction(async (tx) => {
        // The ledger row first: a concurrent load of the same window waits here for ours to end.
        const claimed = await tx.unsafe(
          `insert into ${q(this.schema)}.${q(LOADS_TABLE)} (${ledgerInsertColumns('postgres')})
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           on conflict do nothing returning 1`,
          ledgerValues(window, file, table, (d) => d),
        );
        if (claimed.length === 0) return { status: 'already_loaded' as const, applied: 0 };

        const source = await openCsvSource(file, open);
        try {
          const stage = `dde_stage_${file.fileType}`;
          const cols = source.columns;
          const stageCols = cols.map((c) => `${q(c.name)} ${stageType(c)}`).join(', ');
          await tx.unsafe(`create temporary table ${q(stage)} (${stageCols}) on commit drop`);
          const names = cols.map((c) => q(c.name)).join(', ');
          const copy = await tx.unsafe(`copy ${q(stage)} (${names}) from stdin (format csv)`).writable();
          await pipeline(source.body, copy);
          await source.verified;

          const target = this.table(spec);
          const exprs = cols.map((c) => castFromStage(c)).join(', ');
          let insert: string;
          if (spec.mode === 'append') {
            insert = `insert into ${target} (${names}) select ${exprs} from ${q(stage)} on conflict (${q(spec.primaryKey)}) do nothing returning 1`;
          } else {
            const sets = cols
              .filter((c) => c.name !== spec.primaryKey)
              .map((c) => `${q(c.name)} = excluded.${q(c.name)}`)
              .join(', ');
            const m = q(MERGE_COLUMN);
            const hasMerge = cols.some((c) => c.name === MERGE_COLUMN);
            // Within a file an id appears once; distinct on keeps one statement valid even if not.
            insert =
              `insert into ${target} as t (${names}) select distinct on (${q(spec.primaryKey)}) ${exprs} from ${q(stage)} ` +
              `order by ${q(spec.primaryKey)}${hasMerge ? `, ${m} desc nulls last` : ''} ` +
              `on conflict (${q(spec.primaryKey)}) do update set ${sets} ` +
              (hasMerge ? `where t.${m} is null or excluded.${m} > t.${m} ` : 'where false ') +
              'returning 1';
          }
          const [counts] = await tx.unsafe<{ staged: string; applied: string }[]>(
            `with ins as (${insert}) select (select count(*) from ${q(stage)}) as staged, (select count(*) from ins) as applied`,
          );
          const staged = Number(counts.staged);
          if (staged !== file.rows)
            throw new LoadError('data', `${file.name} has ${staged} rows; its export recorded ${file.rows}. Nothing of it was loaded`);
          await tx.unsafe(
            `update ${q(this.schema)}.${q(LOADS_TABLE)} set rows_applied = $1
              where connection_id = $2 and export_type = $3 and window_start = $4 and file_type = $5`,
            [Number(counts.applied), window.connectionId, window.exportType, window.windowStart, file.fileType],
          );
          return { status: 'loaded' as const, applied: Number(counts.applied) };
        } catch (err) {
          source.close();
          throw err;
        }
      }, fence);
      return { fileType: file.fileType, table, rows: file.rows, ...result };
    });
  }

  recordNoRows(window: LoadWindow, entries: LedgerEntry[], fence?: Fence): Promise<LoadedFile[]> {
    return this.wrap(async () => {
      const recorded = await this.inTransaction(async (tx) => {
        const out: LoadedFile[] = [];
        for (const entry of entries) {
          const table = tableName(tableSpec(entry.fileType), this.settings.table_prefix);
          const claimed = await tx.unsafe(
            `insert into ${q(this.schema)}.${q(LOADS_TABLE)} (${ledgerInsertColumns('postgres')})
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             on conflict do nothing returning 1`,
            ledgerValues(window, entry, table, (d) => d),
          );
          out.push({ fileType: entry.fileType, table, rows: 0, applied: 0, status: claimed.length ? 'loaded' : 'already_loaded' });
        }
        return out;
      }, fence);
      return recorded;
    });
  }

  loadedTables(connectionId: string): Promise<LoadedTable[]> {
    return this.wrap(async () => {
      try {
        const rows = await this.sql.unsafe<Record<string, unknown>[]>(
          loadedTablesSql('postgres', `${q(this.schema)}.${q(LOADS_TABLE)}`, '$1'),
          [connectionId],
        );
        return loadedTables(rows);
      } catch (err) {
        if ((err as { code?: string }).code === '42P01') return []; // no ledger yet: nothing loaded
        throw err;
      }
    });
  }

  recentLoads(connectionId: string, limit: number): Promise<LoadRecord[]> {
    return this.wrap(async () => {
      const rows = await this.sql.unsafe<Record<string, unknown>[]>(
        `select run_id, export_type, window_start, window_end, file_type, table_name, rows, rows_applied, sha256, schema_version, loaded_at
           from ${q(this.schema)}.${q(LOADS_TABLE)} where connection_id = $1 order by loaded_at desc, window_start desc limit $2`,
        [connectionId, limit],
      );
      return rows.map(loadRecord);
    });
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 }).catch(() => undefined);
  }

  /** The server's session, for the set-up test. */
  get session(): Sql {
    return this.sql;
  }
}

/** The staging column's type: the table's, except lists, which arrive as JSON arrays. */
function stageType(c: TypedColumn): string {
  return c.kind === 'string_list' || c.kind === 'int64_list' ? 'jsonb' : columnType('postgres', c.kind);
}

function castFromStage(c: TypedColumn): string {
  const col = q(c.name);
  if (c.kind === 'string_list') return `case when ${col} is null then null else array(select jsonb_array_elements_text(${col})) end`;
  if (c.kind === 'int64_list')
    return `case when ${col} is null then null else array(select (jsonb_array_elements_text(${col}))::bigint) end`;
  return col;
}

/** Creates what is missing (tables with their key and indexes, the ledger, added columns), in the caller's transaction. */
export async function applyDdl(tx: postgres.Sql, schema: string, prefix: string): Promise<TableChanges> {
  const created: string[] = [];
  const addedColumns: string[] = [];
  const existing = new Set(
    (
      await tx<{ table_name: string }[]>`
        select c.relname as table_name from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = ${schema} and c.relkind in ('r', 'p')`
    ).map((r) => r.table_name),
  );
  const s = q(schema);
  if (!existing.has(LOADS_TABLE)) {
    await tx.unsafe(`create table if not exists ${s}.${q(LOADS_TABLE)} (${ledgerColumnsDdl('postgres')})`);
    created.push(LOADS_TABLE);
  }
  for (const spec of LOAD_ORDER.map(tableSpec)) {
    const name = tableName(spec, prefix);
    if (!existing.has(name)) {
      const cols = spec.columns
        .map((c) => `${q(c.name)} ${columnType('postgres', c.kind)}${c.name === spec.primaryKey ? ' not null' : ''}`)
        .join(',\n  ');
      await tx.unsafe(`create table if not exists ${s}.${q(name)} (\n  ${cols},\n  primary key (${q(spec.primaryKey)})\n)`);
      for (const idx of spec.indexes)
        await tx.unsafe(`create index if not exists ${q(`${name}_${idx.suffix}`)} on ${s}.${q(name)} (${q(idx.column)})`);
      created.push(name);
      continue;
    }
    const have = new Set(
      (
        await tx<{ column_name: string }[]>`
          select a.attname as column_name from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = ${schema} and c.relname = ${name} and a.attnum > 0 and not a.attisdropped`
      ).map((r) => r.column_name),
    );
    for (const c of spec.columns) {
      if (have.has(c.name)) continue;
      // Additive only: a new export column arrives nullable; nothing is dropped or retyped.
      await tx.unsafe(`alter table ${s}.${q(name)} add column if not exists ${q(c.name)} ${columnType('postgres', c.kind)}`);
      addedColumns.push(`${name}.${c.name}`);
    }
  }
  return { created, addedColumns };
}
