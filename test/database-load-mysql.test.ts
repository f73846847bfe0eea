// Loading runs into a customer's MariaDB / MySQL, each window exactly once: tables made from the
// typed export schema, users merged by updated_at, the `_dde_loads` row in the transaction of the
// rows, and the faults: a second worker at the same time, a table locked by the customer, the
// connection killed mid-load, a revoked privilege, a customer's own column and index.
import type { RowDataPacket } from 'mysql2/promise';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoadError } from '@/lib/destinations/database/errors';
import { loadRun, openTarget, readLoadedTables } from '@/lib/destinations/database/load';
import { SCHEMA_VERSION } from '@/lib/destinations/database/tables';
import { fileSchema } from '@/lib/exports/schema';
import { windowsOf } from '@/lib/windows';
import { createCustomerMysqlDatabase, customerMysqlOrSkip, type CustomerMysqlDatabase } from './helpers/customer-databases';
import { exportWindow, manifestOf, opener, loadSuite, type ExportedWindow } from './helpers/load-runs';

const { server, skip } = await customerMysqlOrSkip('the MariaDB load tests');

const PROGRAM = 2702;
const until = new Date('2026-11-20T00:00:00Z');
const spans = windowsOf({ frequency: 'every_4_hours', startDate: new Date(until.getTime() - 86_400_000), endDate: until });

describe.skipIf(!!skip)('loading into MariaDB / MySQL', () => {
  const suite = loadSuite({
    seed: { programId: PROGRAM, users: 60, campaigns: 5, events: 3000, days: 1, seed: 28, until },
    start: spans[0].start,
    windows: spans,
    tmp: 'dde-dbload-my-',
  });

  let c: CustomerMysqlDatabase;
  beforeEach(async () => {
    c = await createCustomerMysqlDatabase(server!);
  });
  afterEach(async () => c?.drop());

  const load = (w: ExportedWindow, over: Parameters<CustomerMysqlDatabase['settings']>[0] = {}, password = c.password, options = {}) =>
    suite.load(w, c.settings(over), password, { batchRows: 200, ...options });
  const count = async (q: string) => Number(((await c.conn.query<RowDataPacket[]>(q))[0][0] as { n: string }).n);
  const withActivity = () => suite.windows.filter((x) => x.files.some((f) => f.fileType === 'activity'));
  const activityRows = (w: ExportedWindow) => w.files.find((f) => f.fileType === 'activity')!.rows;

  it('creates the tables from the typed schema and loads a window with its _dde_loads rows', async () => {
    const w = suite.windows.find((x) => x.files.some((f) => f.fileType === 'activity') && x.files.some((f) => f.fileType === 'user'))!;
    const result = await load(w);
    expect(result.tables.created.sort()).toEqual(['_dde_loads', 'activity', 'campaigns', 'users']);
    const [cols] = await c.conn.query<RowDataPacket[]>(
      'select table_name as t, column_name as c, data_type as d, is_nullable as n from information_schema.columns where table_schema = database() order by table_name, ordinal_position',
    );
    expect(cols.filter((x) => x.t === 'activity').map((x) => x.c)).toEqual(fileSchema('activity').columns.map((x) => x.name));
    const col = (tb: string, cn: string) => cols.find((x) => x.t === tb && x.c === cn)!;
    expect(col('activity', 'event_id')).toMatchObject({ d: 'varchar', n: 'NO' });
    expect(col('activity', 'date').d).toBe('datetime');
    expect(col('campaigns', 'is_featured').d).toBe('tinyint');
    const [idx] = await c.conn.query<RowDataPacket[]>(
      "select distinct index_name as i from information_schema.statistics where table_schema = database() and table_name = 'activity' order by index_name",
    );
    expect(idx.map((i) => i.i)).toEqual(['activity_date_idx', 'activity_user_id_idx', 'PRIMARY']);
    expect(await count('select count(*) as n from activity')).toBe(activityRows(w));
    const [ledger] = await c.conn.query<RowDataPacket[]>(
      'select file_type, `rows`, sha256, schema_version from _dde_loads order by file_type',
    );
    // One row per file type: a type the window has no file of is recorded with 0 rows.
    expect(ledger.map((l) => [l.file_type, Number(l.rows), l.sha256, Number(l.schema_version)])).toEqual(
      ['activity', 'campaign', 'user'].map((type) => {
        const f = w.files.find((x) => x.fileType === type);
        return [type, f?.rows ?? 0, f?.sha256 ?? '', SCHEMA_VERSION];
      }),
    );
    // Instants are stored in UTC as the file says them; lists as JSON.
    const [[ev]] = await c.conn.query<RowDataPacket[]>('select date, ingested_at from activity order by ingested_at limit 1');
    expect(new Date(`${String(ev.ingested_at).replace(' ', 'T')}Z`).getTime()).toBeGreaterThanOrEqual(w.window.windowStart.getTime());
    const [[camp]] = await c.conn.query<RowDataPacket[]>('select json_valid(audiences) as ok from campaigns limit 1');
    if (camp) expect(Number(camp.ok)).toBe(1);
  });

  it('loads a window once: the same run again, and two workers at the same time, add nothing', async () => {
    const w = withActivity()[0];
    const [a, b] = await Promise.all([load(w), load(w)]);
    expect(
      [...a.files, ...b.files]
        .filter((f) => f.fileType === 'activity')
        .map((f) => f.status)
        .sort(),
    ).toEqual(['already_loaded', 'loaded']);
    const again = await load(w);
    expect(again.files.every((f) => f.status === 'already_loaded')).toBe(true);
    expect(await count('select count(*) as n from activity')).toBe(activityRows(w));
    expect(await count('select count(distinct event_id) as n from activity')).toBe(activityRows(w));
    expect(await count(`select count(*) as n from _dde_loads where file_type = 'activity'`)).toBe(1);
  });

  it('merges users by updated_at: a newer version replaces the row, an older one never overwrites it', async () => {
    const first = suite.windows.find((x) => x.files.some((f) => f.fileType === 'user'))!;
    await load(first);
    const [[u]] = await c.conn.query<RowDataPacket[]>('select user_id, first_name from users order by user_id limit 1');
    const [{ updated_at: newerText }] = await suite.t.sql<{ updated_at: string }[]>`
      update members set first_name = 'Renamed' where id = ${Number(u.user_id)} and program_id = ${PROGRAM} returning updated_at::text`;
    const newer = new Date(newerText);
    const later = await exportWindow(
      suite.t,
      suite.storage,
      suite.connectionId,
      PROGRAM,
      { start: new Date(newer.getTime() - 3_600_000), end: new Date(newer.getTime() + 1) },
      'historical',
    );
    await load(later);
    const [[after]] = await c.conn.query<RowDataPacket[]>('select first_name, updated_at from users where user_id = ?', [u.user_id]);
    expect(after.first_name).toBe('Renamed');
    await load({ ...first, window: { ...first.window, exportType: 'historical', runId: 'backfill' } });
    const [[still]] = await c.conn.query<RowDataPacket[]>('select first_name, updated_at from users where user_id = ?', [u.user_id]);
    expect(still).toEqual(after);
    expect(await count('select count(*) as n from users')).toBe(first.files.find((f) => f.fileType === 'user')!.rows);
  });

  it("keeps loading with the customer's own column and index, and adds a column the export gained", async () => {
    const [w1, w2] = withActivity();
    await load(w1);
    await c.conn.query(
      `alter table activity add column team_note varchar(20) default 'ours', drop column ingested_at, add index customer_platform_idx (platform(20), event_type(20))`,
    );
    const res = await load(w2);
    expect(res.tables.addedColumns).toEqual(['activity.ingested_at']);
    expect(await count('select count(*) as n from activity where ingested_at is null')).toBe(activityRows(w1));
    expect(await count(`select count(*) as n from activity where team_note = 'ours'`)).toBe(activityRows(w1) + activityRows(w2));
  });

  it('names an incompatible existing column and does not retry it', async () => {
    await c.conn.query('create table activity (event_id varchar(191) primary key, likes date)');
    const err = (await load(withActivity()[0]).catch((e: unknown) => e)) as LoadError;
    expect(err).toBeInstanceOf(LoadError);
    expect(err.code).toBe('incompatible');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`${c.name}.activity.likes is date`);
  });

  it('a table locked by the customer: the load gives up retryably and loads once after the lock is gone', async () => {
    const w = withActivity()[0];
    const tg = await openTarget(c.settings(), c.password);
    await tg.ensureTables();
    await tg.close();
    await c.conn.query('lock tables activity write');
    const err = (await load(w, {}, c.password, { lockTimeoutMs: 1000 }).catch((e: unknown) => e)) as LoadError;
    await c.conn.query('unlock tables');
    expect(err.code).toBe('busy');
    expect(err.retryable).toBe(true);
    expect(await count(`select count(*) as n from _dde_loads where file_type = 'activity'`)).toBe(0);
    await load(w);
    expect(await count('select count(*) as n from activity')).toBe(activityRows(w));
    expect(await count('select count(*) as n from _dde_loads')).toBe(3);
  });

  it('the connection killed mid-load rolls back; the retry loads every event once', async () => {
    const w = withActivity()[0];
    const tg = await openTarget(c.settings(), c.password);
    await tg.ensureTables();
    await tg.close();
    // Hold the table so the load waits inside its transaction, then kill its connection.
    await c.conn.query('lock tables activity write');
    const loading = load(w).catch((e: unknown) => e);
    const [[me]] = await c.conn.query<RowDataPacket[]>('select connection_id() as id');
    let id: number | undefined;
    for (let i = 0; i < 200 && !id; i++) {
      const [rows] = await c.conn.query<RowDataPacket[]>(
        "select id from information_schema.processlist where db = database() and id <> ? and info like 'insert into `activity`%'",
        [me.id],
      );
      id = rows[0]?.id as number | undefined;
      if (!id) await new Promise((r) => setTimeout(r, 50));
    }
    expect(id).toBeDefined();
    await c.conn.query(`kill ${Number(id)}`);
    const err = (await loading) as LoadError;
    await c.conn.query('unlock tables');
    expect(err.retryable).toBe(true);
    expect(await count('select count(*) as n from activity')).toBe(0);
    expect(await count(`select count(*) as n from _dde_loads where file_type = 'activity'`)).toBe(0);
    await load(w);
    expect(await count('select count(*) as n from activity')).toBe(activityRows(w));
    expect(await count('select count(distinct event_id) as n from activity')).toBe(activityRows(w));
  });

  it('a revoked privilege fails with the GRANT that fixes it, not retryable; after the grant the window loads once', async () => {
    const [w1, w2] = withActivity();
    const user = `loader_${c.name.slice(-6)}`;
    await c.conn.query(`create user '${user}'@'%' identified by 'loader-pw'`);
    await c.conn.query(`grant all on ${c.name}.* to '${user}'@'%'`);
    try {
      await load(w1, { user }, 'loader-pw');
      await c.conn.query(`revoke insert on ${c.name}.* from '${user}'@'%'`);
      await c.conn.query(`grant insert on ${c.name}._dde_loads to '${user}'@'%'`);
      const err = (await load(w2, { user }, 'loader-pw').catch((e: unknown) => e)) as LoadError;
      expect(err.code).toBe('privilege');
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/INSERT command denied/);
      expect(err.fix).toMatch(new RegExp(`^GRANT INSERT ON ${c.name}\\.(dde_stage_\\w+|\\*|users|activity) TO '${user}'@'`));
      await c.conn.query(`grant insert on ${c.name}.* to '${user}'@'%'`);
      await load(w2, { user }, 'loader-pw');
      await load(w2, { user }, 'loader-pw');
      expect(await count('select count(*) as n from activity')).toBe(activityRows(w1) + activityRows(w2));
    } finally {
      await c.conn.query(`drop user if exists '${user}'@'%'`);
    }
  });

  it('an empty window (no files, rows 0) is recorded as loaded: one _dde_loads row per type with 0 rows, naming its manifest', async () => {
    const span = { start: until, end: new Date(until.getTime() + 4 * 3_600_000) };
    const empty = await exportWindow(suite.t, suite.storage, suite.connectionId, PROGRAM, span);
    expect(empty.files).toEqual([]);
    const manifest = await manifestOf(suite.t, suite.storage, empty.window.runId);
    expect(manifest.document).toMatchObject({ rows: 0, files: [] });
    const input = { settings: c.settings(), password: c.password, window: empty.window, files: [], open: opener(suite.storage), manifest };
    // Before any load there is no ledger: the Loaded tables panel has nothing to show, and says so.
    expect(await readLoadedTables(c.settings(), c.password, suite.connectionId)).toEqual([]);
    const first = await loadRun(input);
    expect(first.noRows.map((f) => `${f.fileType} ${f.table} ${f.rows} ${f.status}`)).toEqual([
      'user users 0 loaded',
      'campaign campaigns 0 loaded',
      'activity activity 0 loaded',
    ]);
    const [ledger] = await c.conn.query<RowDataPacket[]>(
      'select file_type, `rows`, rows_applied, file_name, sha256, window_start from _dde_loads order by file_type',
    );
    expect(ledger.map((l) => [l.file_type, Number(l.rows), Number(l.rows_applied), l.file_name, l.sha256])).toEqual(
      ['activity', 'campaign', 'user'].map((type) => [type, 0, 0, manifest.name, manifest.sha256]),
    );
    expect(String(ledger[0].window_start)).toBe('2026-11-20 00:00:00.000000');
    const again = await loadRun(input);
    expect(again.noRows.map((f) => f.status)).toEqual(['already_loaded', 'already_loaded', 'already_loaded']);
    // The Loaded tables panel's reading: each table with the window, 0 rows.
    const tables = await readLoadedTables(c.settings(), c.password, suite.connectionId);
    expect(tables.map((x) => [x.tableName, x.rows, x.windows, x.last.rows, x.last.windowStart.toISOString(), x.last.exportType])).toEqual(
      ['users', 'campaigns', 'activity'].map((name) => [name, 0, 1, 0, span.start.toISOString(), 'incremental']),
    );
    expect(await count('select count(*) as n from _dde_loads')).toBe(3);
    expect(await count('select count(*) as n from activity')).toBe(0);
  });
});
