// Loading runs into a customer's PostgreSQL — a server other than DDE's own — each window exactly
// once: tables made from the typed export schema, users and campaigns merged by updated_at, the
// `_dde_loads` row in the transaction of the rows, and the faults: a second worker at the same time,
// a lock held by the customer, the connection killed mid-load, a revoked privilege, a customer's own
// column and index, a file changed in storage, an older table missing a column.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadRun, openTarget, readLoadedTables } from '@/lib/destinations/database/load';
import { LoadError } from '@/lib/destinations/database/errors';
import { SCHEMA_VERSION } from '@/lib/destinations/database/tables';
import { fileSchema } from '@/lib/exports/schema';
import { windowsOf } from '@/lib/windows';
import {
  createCustomerPgDatabase,
  startCustomerPostgres,
  type CustomerDatabase,
  type CustomerPostgres,
} from './helpers/customer-databases';
import { exportWindow, manifestOf, opener, loadSuite, type ExportedWindow } from './helpers/load-runs';

const PROGRAM = 2701;
const until = new Date('2026-11-20T00:00:00Z');
const spans = windowsOf({ frequency: 'every_4_hours', startDate: new Date(until.getTime() - 86_400_000), endDate: until });
const suite = loadSuite({
  seed: { programId: PROGRAM, users: 60, campaigns: 5, events: 3000, days: 1, seed: 27, until },
  start: spans[0].start,
  windows: spans,
  tmp: 'dde-dbload-',
});
let server: CustomerPostgres;
beforeAll(async () => {
  server = await startCustomerPostgres();
});
afterAll(async () => server?.stop());

let c: CustomerDatabase;
beforeEach(async () => {
  c = await createCustomerPgDatabase(server);
});
afterEach(async () => c?.drop());

const load = (w: ExportedWindow, over: Parameters<CustomerDatabase['settings']>[0] = {}, password = c.password, options = {}) =>
  suite.load(w, c.settings(over), password, options);

async function sourceCount(table: 'activity_events', w: ExportedWindow): Promise<number> {
  const [r] = await suite.t.sql<{ n: string }[]>`select count(*) as n from ${suite.t.sql(table)} where program_id = ${PROGRAM}
    and ingested_at >= ${w.window.windowStart.toISOString()} and ingested_at < ${w.window.windowEnd.toISOString()}`;
  return Number(r.n);
}
const loadInput = (w: ExportedWindow) => ({
  settings: c.settings(),
  password: c.password,
  window: w.window,
  files: w.files,
  open: opener(suite.storage),
});
const count = async (sql: string) => Number((await c.sql.unsafe<{ n: string }[]>(sql))[0].n);

describe('loading into PostgreSQL', () => {
  it('creates the tables from the typed schema (keys, indexes, types) and loads a window with its _dde_loads rows', async () => {
    const w = suite.windows.find((x) => x.files.some((f) => f.fileType === 'activity') && x.files.some((f) => f.fileType === 'user'))!;
    const result = await load(w);
    expect(result.tables.created.sort()).toEqual(['_dde_loads', 'activity', 'campaigns', 'users']);
    expect(result.files.map((f) => f.fileType)).toEqual(
      w.files
        .map((f) => f.fileType)
        .sort((a, b) => ['user', 'campaign', 'activity'].indexOf(a) - ['user', 'campaign', 'activity'].indexOf(b)),
    );

    const cols = await c.sql<{ table_name: string; column_name: string; data_type: string; udt_name: string; is_nullable: string }[]>`
      select table_name, column_name, data_type, udt_name, is_nullable from information_schema.columns where table_schema = 'dde' order by table_name, ordinal_position`;
    const activityCols = cols.filter((x) => x.table_name === 'activity');
    expect(activityCols.map((x) => x.column_name)).toEqual(fileSchema('activity').columns.map((x) => x.name));
    const typeOf = (table: string, col: string) => cols.find((x) => x.table_name === table && x.column_name === col)!;
    expect(typeOf('activity', 'event_id').is_nullable).toBe('NO');
    expect(typeOf('activity', 'date').data_type).toBe('timestamp with time zone');
    expect(typeOf('activity', 'likes').data_type).toBe('bigint');
    expect(typeOf('campaigns', 'is_featured').data_type).toBe('boolean');
    expect(typeOf('campaigns', 'topic_subscriber_count').udt_name).toBe('_int8');
    expect(typeOf('campaigns', 'audiences').udt_name).toBe('_text');
    expect(typeOf('users', 'attribute_hire_date').data_type).toBe('date');
    const idx = await c.sql<
      { indexname: string; indexdef: string }[]
    >`select indexname, indexdef from pg_indexes where schemaname = 'dde' and tablename = 'activity' order by indexname`;
    expect(idx.map((i) => i.indexname)).toEqual(['activity_date_idx', 'activity_pkey', 'activity_user_id_idx']);

    const activity = w.files.find((f) => f.fileType === 'activity')!;
    expect(await count('select count(*) as n from dde.activity')).toBe(await sourceCount('activity_events', w));
    expect(await count('select count(*) as n from dde.activity')).toBe(activity.rows);
    // One row per file type: a type the window has no file of is recorded with 0 rows.
    const ledger = await c.sql<{ file_type: string; rows: string; sha256: string; schema_version: number; run_id: string }[]>`
      select file_type, rows, sha256, schema_version, run_id from dde._dde_loads order by file_type`;
    expect(ledger.map((l) => [l.file_type, Number(l.rows), l.sha256, l.schema_version, l.run_id])).toEqual(
      ['activity', 'campaign', 'user'].map((type) => {
        const f = w.files.find((x) => x.fileType === type);
        return [type, f?.rows ?? 0, f?.sha256 ?? '', SCHEMA_VERSION, w.window.runId];
      }),
    );
    // Values arrive typed: an event's time as the instant the file says, a campaign's lists as arrays.
    const [one] = await c.sql<
      { date: Date; likes: string; user_id: string }[]
    >`select date, likes, user_id from dde.activity order by event_id limit 1`;
    expect(one.date).toBeInstanceOf(Date);
    expect(['0', '1']).toContain(String(one.likes));
  });

  it('loads a window once: the same run again, and two workers at the same time, add nothing', async () => {
    const w = suite.windows.find((x) => x.files.some((f) => f.fileType === 'activity'))!;
    const rows = w.files.find((f) => f.fileType === 'activity')!.rows;
    const [a, b] = await Promise.all([load(w), load(w)]);
    const statuses = [...a.files, ...b.files]
      .filter((f) => f.fileType === 'activity')
      .map((f) => f.status)
      .sort();
    expect(statuses).toEqual(['already_loaded', 'loaded']);
    const again = await load(w);
    expect(again.files.every((f) => f.status === 'already_loaded')).toBe(true);
    expect(await count('select count(*) as n from dde.activity')).toBe(rows);
    expect(await count('select count(distinct event_id) as n from dde.activity')).toBe(rows);
    expect(await count(`select count(*) as n from dde._dde_loads where file_type = 'activity'`)).toBe(1);
  });

  it('merges users by updated_at: a newer version replaces the row, an older one never overwrites it', async () => {
    // The first window with users, then a newer version of one of them exported in a later window.
    const first = suite.windows.find((x) => x.files.some((f) => f.fileType === 'user'))!;
    await load(first);
    const [u] = await c.sql<
      { user_id: string; first_name: string; updated_at: Date }[]
    >`select user_id, first_name, updated_at from dde.users order by user_id limit 1`;
    // An update moves updated_at to the database's clock (a trigger); export the window that holds it.
    const [{ updated_at: newerText }] = await suite.t.sql<{ updated_at: string }[]>`
      update members set first_name = 'Renamed' where id = ${Number(u.user_id)} and program_id = ${PROGRAM} returning updated_at::text`;
    const newer = new Date(newerText);
    const span = { start: new Date(newer.getTime() - 3_600_000), end: new Date(newer.getTime() + 1) };
    const later = await exportWindow(suite.t, suite.storage, suite.connectionId, PROGRAM, span, 'historical');
    expect(later.files.find((f) => f.fileType === 'user')!.rows).toBe(1);
    await load(later);
    const [after] = await c.sql<
      { first_name: string; updated_at: Date }[]
    >`select first_name, updated_at from dde.users where user_id = ${u.user_id}`;
    expect(after.first_name).toBe('Renamed');
    expect(after.updated_at.getTime()).toBe(Math.floor(newer.getTime() / 1000) * 1000); // the files carry whole seconds
    // The first window loaded again under another key (a backfill of the same range): older, so ignored.
    const older = { ...first, window: { ...first.window, exportType: 'historical' as const, runId: 'backfill' } };
    const res = await load(older);
    expect(res.files.find((f) => f.fileType === 'user')!.status).toBe('loaded');
    const [still] = await c.sql<{ first_name: string }[]>`select first_name from dde.users where user_id = ${u.user_id}`;
    expect(still.first_name).toBe('Renamed');
    expect(await count('select count(*) as n from dde.users')).toBe(first.files.find((f) => f.fileType === 'user')!.rows);
  });

  it("keeps loading with the customer's own column and index, and adds a column the export gained (nullable, nothing dropped)", async () => {
    const [w1, w2] = suite.windows.filter((x) => x.files.some((f) => f.fileType === 'activity'));
    await load(w1);
    await c.sql.unsafe(`alter table dde.activity add column team_note text default 'ours', drop column ingested_at`);
    await c.sql.unsafe(`create index customer_platform_idx on dde.activity (platform, event_type)`);
    const res = await load(w2);
    expect(res.tables.addedColumns).toEqual(['activity.ingested_at']);
    const nulls = await count(`select count(*) as n from dde.activity where ingested_at is null`);
    expect(nulls).toBe(w1.files.find((f) => f.fileType === 'activity')!.rows); // w1's rows: the column came after them
    expect(await count(`select count(*) as n from dde.activity where team_note = 'ours'`)).toBe(
      await count('select count(*) as n from dde.activity'),
    );
    const col =
      await c.sql`select is_nullable from information_schema.columns where table_schema = 'dde' and table_name = 'activity' and column_name = 'ingested_at'`;
    expect(col[0].is_nullable).toBe('YES');
  });

  it('names an incompatible existing column and does not retry it', async () => {
    const w = suite.windows.find((x) => x.files.some((f) => f.fileType === 'activity'))!;
    await c.sql.unsafe(`create table dde.activity (event_id text primary key, likes boolean)`);
    const err = await load(w).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoadError);
    expect((err as LoadError).code).toBe('incompatible');
    expect((err as LoadError).retryable).toBe(false);
    expect((err as LoadError).message).toContain('dde.activity.likes is boolean');
    expect(await count(`select count(*) as n from dde.activity`)).toBe(0);
  });

  it('waits for a lock the customer holds, gives up retryably, and loads once after the lock is gone', async () => {
    const w = suite.windows.find((x) => x.files.some((f) => f.fileType === 'activity'))!;
    await openTarget(c.settings(), c.password).then(async (tg) => {
      await tg.ensureTables();
      await tg.close();
    });
    const locker = c.sql.reserve();
    const held = await locker;
    await held`begin`;
    await held`lock table dde.activity in exclusive mode`;
    const err = await load(w, {}, c.password, { lockTimeoutMs: 500 }).catch((e: unknown) => e);
    expect((err as LoadError).code).toBe('busy');
    expect((err as LoadError).retryable).toBe(true);
    await held`rollback`;
    held.release();
    // users and campaigns of the window went in before activity waited; activity was rolled back.
    expect(await count(`select count(*) as n from dde._dde_loads where file_type = 'activity'`)).toBe(0);
    await load(w);
    const rows = w.files.find((f) => f.fileType === 'activity')!.rows;
    expect(await count('select count(*) as n from dde.activity')).toBe(rows);
    expect(await count(`select count(*) as n from dde._dde_loads`)).toBe(3);
  });

  it('a connection killed mid-load (pg_terminate_backend) rolls back; the retry loads every event once', async () => {
    const w = suite.windows.find((x) => x.files.some((f) => f.fileType === 'activity'))!;
    await openTarget(c.settings(), c.password).then(async (tg) => {
      await tg.ensureTables();
      await tg.close();
    });
    // Hold the table so the load is caught inside its transaction, then kill its backend.
    const held = await c.sql.reserve();
    await held`begin`;
    await held`lock table dde.activity in share mode`;
    const loading = load(w).catch((e: unknown) => e);
    let pid: number | undefined;
    for (let i = 0; i < 200 && !pid; i++) {
      const rows = await c.sql<
        { pid: number }[]
      >`select pid from pg_stat_activity where datname = ${c.name} and application_name = 'dde' and wait_event_type = 'Lock'`;
      pid = rows[0]?.pid;
      if (!pid) await new Promise((r) => setTimeout(r, 50));
    }
    expect(pid).toBeDefined();
    await c.sql`select pg_terminate_backend(${pid!})`;
    const err = await loading;
    await held`rollback`;
    held.release();
    expect((err as LoadError).retryable).toBe(true);
    expect(['interrupted', 'connect']).toContain((err as LoadError).code);
    expect(await count(`select count(*) as n from dde.activity`)).toBe(0);
    expect(await count(`select count(*) as n from dde._dde_loads where file_type = 'activity'`)).toBe(0);
    await load(w);
    const rows = w.files.find((f) => f.fileType === 'activity')!.rows;
    expect(await count('select count(*) as n from dde.activity')).toBe(rows);
    expect(await count('select count(distinct event_id) as n from dde.activity')).toBe(rows);
  });

  it('a revoked privilege fails with the GRANT that fixes it, not retryable; after the grant the window loads once', async () => {
    const w = suite.windows.filter((x) => x.files.some((f) => f.fileType === 'activity'))[1];
    const role = `loader_${c.name.slice(-6)}`;
    await c.sql.unsafe(`create role ${role} login password 'loader-pw'`);
    await c.sql.unsafe(`grant usage, create on schema dde to ${role}`);
    const asLoader = { user: role };
    await load(suite.windows[0], asLoader, 'loader-pw');
    await c.sql.unsafe(`alter table dde.activity owner to postgres`);
    await c.sql.unsafe(`revoke all on dde.activity from ${role}`);
    const err = (await load(w, asLoader, 'loader-pw').catch((e: unknown) => e)) as LoadError;
    expect(err.code).toBe('privilege');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('permission denied for table activity');
    expect(err.fix).toBe(`GRANT SELECT, INSERT, UPDATE ON dde.activity TO ${role}`);
    await c.sql.unsafe(err.fix!);
    await load(w, asLoader, 'loader-pw');
    await load(w, asLoader, 'loader-pw');
    const rows = suite.windows[0].files.concat(w.files).filter((f) => f.fileType === 'activity');
    expect(await count('select count(*) as n from dde.activity')).toBe(rows.reduce((s, f) => s + f.rows, 0));
    await c.sql.unsafe(`drop owned by ${role} cascade`).catch(() => undefined);
  });

  it('a file whose stored bytes changed loads nothing and says so', async () => {
    const w = suite.windows.find((x) => x.files.some((f) => f.fileType === 'activity'))!;
    const activity = w.files.find((f) => f.fileType === 'activity')!;
    const copyKey = `tampered/${activity.name}`;
    const changed = gzipSync('Event ID\n1\n');
    writeFileSync(path.join(suite.root, 'tampered.gz'), changed);
    await suite.storage.put(
      copyKey,
      (async function* () {
        yield changed;
      })(),
    );
    const err = (await loadRun({
      settings: c.settings(),
      password: c.password,
      window: w.window,
      files: [{ ...activity, storageKey: copyKey }],
      open: opener(suite.storage),
    }).catch((e: unknown) => e)) as LoadError;
    expect(err.code).toBe('data');
    expect(err.retryable).toBe(false);
    expect(await count('select count(*) as n from dde.activity')).toBe(0);
    expect(await count('select count(*) as n from dde._dde_loads')).toBe(0);
  });

  it('an empty window (no files, rows 0) is recorded as loaded: one _dde_loads row per type with 0 rows, naming its manifest', async () => {
    const span = { start: until, end: new Date(until.getTime() + 4 * 3_600_000) };
    const empty = await exportWindow(suite.t, suite.storage, suite.connectionId, PROGRAM, span);
    expect(empty.files).toEqual([]);
    const manifest = await manifestOf(suite.t, suite.storage, empty.window.runId);
    expect(manifest.document).toMatchObject({ rows: 0, files: [] });
    // Before any load there is no ledger: the Loaded tables panel has nothing to show, and says so.
    expect(await readLoadedTables(c.settings(), c.password, suite.connectionId)).toEqual([]);
    const first = await loadRun({ ...loadInput(empty), manifest });
    expect(first.files).toEqual([]);
    expect(first.noRows.map((f) => `${f.fileType} ${f.table} ${f.rows} ${f.status}`)).toEqual([
      'user users 0 loaded',
      'campaign campaigns 0 loaded',
      'activity activity 0 loaded',
    ]);
    expect(first.tables.created.sort()).toEqual(['_dde_loads', 'activity', 'campaigns', 'users']);
    const ledger = await c.sql<{ file_type: string; rows: string; rows_applied: string; file_name: string; sha256: string }[]>`
      select file_type, rows, rows_applied, file_name, sha256 from dde._dde_loads
       where window_start = ${span.start} and export_type = 'incremental' order by file_type`;
    expect(ledger.map((l) => [l.file_type, Number(l.rows), Number(l.rows_applied), l.file_name, l.sha256])).toEqual(
      ['activity', 'campaign', 'user'].map((type) => [type, 0, 0, manifest.name, manifest.sha256]),
    );
    expect(await count('select count(*) as n from dde.activity')).toBe(0);
    // Again (a retry, a second worker): the rows are there, nothing changes.
    const again = await loadRun({ ...loadInput(empty), manifest });
    expect(again.noRows.map((f) => f.status)).toEqual(['already_loaded', 'already_loaded', 'already_loaded']);
    // The Loaded tables panel's reading: each table with the window, 0 rows.
    const tables = await readLoadedTables(c.settings(), c.password, suite.connectionId);
    expect(tables.map((x) => [x.tableName, x.rows, x.windows, x.last.rows, x.last.windowStart.toISOString(), x.last.exportType])).toEqual(
      ['users', 'campaigns', 'activity'].map((name) => [name, 0, 1, 0, span.start.toISOString(), 'incremental']),
    );
    expect(await count('select count(*) as n from dde._dde_loads')).toBe(3);
  });
});
