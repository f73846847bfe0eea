// The set-up test of a database destination, step by step: connect and sign in, find the schema,
// check the tables (missing ones will be created; existing ones must hold the export's values),
// check the privileges the loads need, and run a probe of a load that is rolled back (PostgreSQL:
// the tables, a temporary table and a ledger row in one transaction that is rolled back; MySQL, whose
// DDL commits: a probe table created and dropped, then rows in the existing tables rolled back).
// Each failure says what to grant or fix, and whether trying again later can help.
import { randomBytes } from 'node:crypto';
import type mysql from 'mysql2/promise';
import type postgres from 'postgres';
import { describeTablesFound } from './dialect';
import { classifyMysqlError, classifyPostgresError, LoadError } from './errors';
import { MysqlTarget } from './mysql';
import { applyDdl, PostgresTarget } from './postgres';
import type { DatabaseSettings } from './settings';
import { LOAD_ORDER, LOADS_TABLE, MERGE_COLUMN, tableName, tableSpec } from './tables';
import type { TargetOptions } from './target';

export const DATABASE_TEST_STEPS = ['connect', 'schema', 'tables', 'privileges', 'probe'] as const;
export type DatabaseTestStep = (typeof DATABASE_TEST_STEPS)[number];

const LABELS: Record<DatabaseTestStep, string> = {
  connect: 'Connect and sign in',
  schema: 'Find the schema',
  tables: 'Check the tables',
  privileges: 'Check the privileges loads need',
  probe: 'Probe a load (rolled back)',
};

export type DatabaseTestStepResult = {
  step: DatabaseTestStep;
  label: string;
  status: 'ok' | 'failed' | 'skipped';
  durationMs?: number;
  detail?: string;
  error?: LoadError;
};
export type DatabaseTestReport = { ok: boolean; steps: DatabaseTestStepResult[]; error?: LoadError };

export async function testDatabaseDestination(
  settings: DatabaseSettings,
  password: string,
  opts: TargetOptions = {},
): Promise<DatabaseTestReport> {
  const steps: DatabaseTestStepResult[] = [];
  let failed: LoadError | undefined;
  const run = async (step: DatabaseTestStep, work: () => Promise<string | undefined>) => {
    if (failed) {
      steps.push({ step, label: LABELS[step], status: 'skipped' });
      return;
    }
    const started = Date.now();
    try {
      const detail = await work();
      steps.push({ step, label: LABELS[step], status: 'ok', durationMs: Date.now() - started, ...(detail ? { detail } : {}) });
    } catch (err) {
      const ctx = { user: settings.user, database: settings.database, schema: settings.schema };
      failed = settings.engine === 'postgres' ? classifyPostgresError(err, ctx) : classifyMysqlError(err, ctx);
      steps.push({ step, label: LABELS[step], status: 'failed', durationMs: Date.now() - started, error: failed });
    }
  };

  let target: PostgresTarget | MysqlTarget | undefined;
  await run('connect', async () => {
    target =
      settings.engine === 'postgres'
        ? await PostgresTarget.open(settings, password, opts)
        : await MysqlTarget.open(settings, password, opts);
    return settings.engine === 'postgres'
      ? String((await (target as PostgresTarget).session`show server_version`)[0].server_version)
      : String(((await (target as MysqlTarget).session.query('select version() as v'))[0] as mysql.RowDataPacket[])[0].v);
  });
  try {
    if (settings.engine === 'postgres') await postgresSteps(run, target as PostgresTarget | undefined, settings);
    else await mysqlSteps(run, target as MysqlTarget | undefined, settings);
  } finally {
    await target?.close();
  }
  return { ok: !failed, steps, ...(failed ? { error: failed } : {}) };
}

type Run = (step: DatabaseTestStep, work: () => Promise<string | undefined>) => Promise<void>;

async function postgresSteps(run: Run, target: PostgresTarget | undefined, s: DatabaseSettings) {
  const schema = s.schema ?? 'public';
  const user = s.user;
  const sql = () => target!.session;
  await run('schema', async () => {
    const [row] = await sql()<{ n: number }[]>`select count(*)::int as n from pg_namespace where nspname = ${schema}`;
    if (!row.n)
      throw new LoadError('not_found', `schema ${schema} does not exist`, { fix: `CREATE SCHEMA ${schema} AUTHORIZATION ${user}` });
    return `schema ${schema}`;
  });
  let missing: string[] = [];
  await run('tables', async () => {
    const found = describeTablesFound(await target!.inspectTables());
    missing = found.missing;
    return found.detail;
  });
  await run('privileges', async () => {
    const [p] = await sql()<{ usage: boolean; create: boolean; temp: boolean }[]>`
      select has_schema_privilege(${schema}, 'USAGE') as usage, has_schema_privilege(${schema}, 'CREATE') as create,
             has_database_privilege(current_database(), 'TEMPORARY') as temp`;
    if (!p.usage)
      throw new LoadError('privilege', `permission denied for schema ${schema}`, { fix: `GRANT USAGE ON SCHEMA ${schema} TO ${user}` });
    if (missing.length && !p.create)
      throw new LoadError('privilege', `permission denied for schema ${schema} (DDE creates ${missing.join(', ')})`, {
        fix: `GRANT CREATE ON SCHEMA ${schema} TO ${user}`,
      });
    if (!p.temp)
      throw new LoadError('privilege', `permission denied to create temporary tables in database ${s.database}`, {
        fix: `GRANT TEMPORARY ON DATABASE ${s.database} TO ${user}`,
      });
    for (const name of [...LOAD_ORDER.map((t) => tableName(tableSpec(t), s.table_prefix)), LOADS_TABLE]) {
      if (missing.includes(name)) continue;
      // has_table_privilege with a list answers whether any is held: ask for each.
      const [t] = await sql()<{ ok: boolean }[]>`
        select bool_and(has_table_privilege(${`"${schema}"."${name}"`}, x)) as ok from unnest(array['SELECT', 'INSERT', 'UPDATE']) x`;
      if (!t.ok)
        throw new LoadError('privilege', `permission denied for table ${name}`, {
          fix: `GRANT SELECT, INSERT, UPDATE ON ${schema}.${name} TO ${user}`,
        });
    }
    return missing.length ? `usage, create and temporary on ${schema}` : `select, insert and update on the tables`;
  });
  await run('probe', async () => {
    const probe = await sql().reserve();
    try {
      await probe.unsafe('begin');
      await probe.unsafe(`set local lock_timeout = 10000`);
      await applyDdl(probe as unknown as postgres.Sql, schema, s.table_prefix);
      await probe.unsafe('create temporary table dde_probe (id text) on commit drop');
      const id = `dde-probe-${randomBytes(4).toString('hex')}`;
      for (const type of LOAD_ORDER) {
        const spec = tableSpec(type);
        const cols = [spec.primaryKey, ...(spec.mode === 'merge' ? [MERGE_COLUMN] : [])];
        const t = `"${schema}"."${tableName(spec, s.table_prefix)}"`;
        await probe.unsafe(
          `insert into ${t} (${cols.map((c) => `"${c}"`).join(', ')}) values ($1${spec.mode === 'merge' ? ', now()' : ''})
           on conflict ("${spec.primaryKey}") do update set "${spec.primaryKey}" = excluded."${spec.primaryKey}"`,
          [id],
        );
      }
      await probe.unsafe(
        `insert into "${schema}"."${LOADS_TABLE}" (connection_id, run_id, export_type, window_start, window_end, file_type, table_name, file_name, rows, rows_applied, sha256, schema_version)
         values ($1, $1, 'incremental', now(), now(), 'activity', 'activity', 'probe', 0, 0, '', 0)`,
        [id],
      );
      return 'created, inserted and updated, then rolled back: nothing was kept';
    } finally {
      await probe.unsafe('rollback').catch(() => undefined);
      probe.release();
    }
  });
}

async function mysqlSteps(run: Run, target: MysqlTarget | undefined, s: DatabaseSettings) {
  const conn = () => target!.session;
  await run('schema', async () => `database ${s.database}`);
  let missing: string[] = [];
  await run('tables', async () => {
    const found = describeTablesFound(await target!.inspectTables());
    missing = found.missing;
    return found.detail;
  });
  await run('privileges', async () => {
    // MySQL commits DDL at once, so the privileges to make tables are tried on a probe table that is dropped.
    const probe = `_dde_probe_${randomBytes(4).toString('hex')}`;
    await conn().query(`create table \`${probe}\` (id varchar(64) primary key, updated_at datetime(6), key (updated_at))`);
    try {
      await conn().query(`alter table \`${probe}\` add column note text null`);
      await conn().query(
        `insert into \`${probe}\` (id, updated_at) values ('p', now(6)) on duplicate key update updated_at = values(updated_at)`,
      );
      await conn().query(`update \`${probe}\` set note = 'x'`);
      await conn().query('create temporary table dde_probe_temp (id text)');
      await conn().query('drop temporary table dde_probe_temp');
    } finally {
      await conn()
        .query(`drop table if exists \`${probe}\``)
        .catch(() => undefined);
    }
    return 'create, alter, insert, update and temporary tables';
  });
  await run('probe', async () => {
    const existing = [...LOAD_ORDER.map((t) => tableSpec(t)).filter((spec) => !missing.includes(tableName(spec, s.table_prefix)))];
    if (!existing.length) return 'the tables are created at the first load';
    await conn().beginTransaction();
    try {
      for (const spec of existing) {
        const cols = [spec.primaryKey, ...(spec.mode === 'merge' ? [MERGE_COLUMN] : [])];
        await conn().query(
          `insert into \`${tableName(spec, s.table_prefix)}\` (${cols.map((c) => `\`${c}\``).join(', ')}) values (?${spec.mode === 'merge' ? ', now(6)' : ''})
           on duplicate key update \`${spec.primaryKey}\` = values(\`${spec.primaryKey}\`)`,
          [`dde-probe-${randomBytes(4).toString('hex')}`],
        );
      }
      return 'inserted into the existing tables, then rolled back: nothing was kept';
    } finally {
      await conn()
        .rollback()
        .catch(() => undefined);
    }
  });
}
