// The process and server faults of a database load: the worker killed with SIGKILL in the middle of
// a window's transaction (PostgreSQL and MariaDB), and the customer's PostgreSQL server restarted
// while a load waits inside its transaction. In each case nothing of the window is visible until a
// later attempt loads it, and then every event is there once with one `_dde_loads` row per type.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded, type EmbeddedServer } from '@/db/embedded';
import { LoadError } from '@/lib/destinations/database/errors';
import { loadRun, openTarget } from '@/lib/destinations/database/load';
import type { DatabaseSettings } from '@/lib/destinations/database/settings';
import { databaseSettingsSchema } from '@/lib/destinations/database/settings';
import { windowsOf } from '@/lib/windows';
import {
  createCustomerMysqlDatabase,
  createCustomerPgDatabase,
  customerMysqlOrSkip,
  startCustomerPostgres,
  type CustomerPostgres,
} from './helpers/customer-databases';
import { opener, loadSuite, type ExportedWindow } from './helpers/load-runs';

const PROGRAM = 2703;
const until = new Date('2026-11-20T00:00:00Z');
const [span] = windowsOf({ frequency: 'daily', startDate: new Date(until.getTime() - 86_400_000), endDate: until });
const suite = loadSuite({
  seed: { programId: PROGRAM, users: 40, campaigns: 4, events: 4000, days: 1, seed: 29, until },
  start: span.start,
  windows: [span],
  tmp: 'dde-dbfault-',
});
const { server: mysqlServer, skip: skipMysql } = await customerMysqlOrSkip('the MariaDB kill -9 test');
let w: ExportedWindow;
beforeAll(() => {
  w = suite.windows[0];
  expect(w.files.map((f) => f.fileType).sort()).toEqual(['activity', 'campaign', 'user']);
});
const activityRows = () => w.files.find((f) => f.fileType === 'activity')!.rows;

/** A worker process loading `w`; resolves with its exit signal or code. */
function startWorker(settings: DatabaseSettings, password: string) {
  const input = path.join(suite.root, `worker-${Date.now()}.json`);
  writeFileSync(input, JSON.stringify({ settings, password, window: w.window, files: w.files, storageRoot: suite.root }));
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/load-worker.ts', input], {
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? String(code))));
  return { child, exited, output: () => output };
}

async function until_<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a worker killed with SIGKILL mid-load', () => {
  let server: CustomerPostgres;
  beforeAll(async () => {
    server = await startCustomerPostgres();
  });
  afterAll(async () => server?.stop());

  it('PostgreSQL: the window is not there until a later attempt loads it, once', async () => {
    const c = await createCustomerPgDatabase(server);
    try {
      const tg = await openTarget(c.settings(), c.password);
      await tg.ensureTables();
      await tg.close();
      // The customer's lock keeps the worker inside its transaction (users and campaigns done,
      // activity's rows staged) until it is killed.
      const held = await c.sql.reserve();
      await held`begin`;
      await held`lock table dde.activity in share mode`;
      const worker = startWorker(c.settings(), c.password);
      await until_('the worker to wait on the lock', async () => {
        const rows =
          await c.sql`select pid from pg_stat_activity where datname = ${c.name} and application_name = 'dde' and wait_event_type = 'Lock'`;
        return rows[0]?.pid as number | undefined;
      });
      expect(worker.output()).toContain('LOADED campaign loaded');
      worker.child.kill('SIGKILL');
      expect(await worker.exited).toBe('SIGKILL');
      await held`rollback`;
      held.release();
      // The server notices the dead client and rolls its transaction back.
      await until_('the dead worker’s session to end', async () => {
        const rows = await c.sql`select 1 from pg_stat_activity where datname = ${c.name} and application_name = 'dde'`;
        return rows.length === 0 ? true : undefined;
      });
      const n = async (q: string) => Number((await c.sql.unsafe<{ n: string }[]>(q))[0].n);
      expect(await n('select count(*) as n from dde.activity')).toBe(0);
      expect(await n(`select count(*) as n from dde._dde_loads where file_type = 'activity'`)).toBe(0);
      // Users and campaigns had committed in their own transactions: the retry skips them.
      const retry = await loadRun({
        settings: c.settings(),
        password: c.password,
        window: w.window,
        files: w.files,
        open: opener(suite.storage),
      });
      expect(retry.files.map((f) => `${f.fileType} ${f.status}`)).toEqual([
        'user already_loaded',
        'campaign already_loaded',
        'activity loaded',
      ]);
      expect(await n('select count(*) as n from dde.activity')).toBe(activityRows());
      expect(await n('select count(distinct event_id) as n from dde.activity')).toBe(activityRows());
      expect(await n('select count(*) as n from dde._dde_loads')).toBe(3);
    } finally {
      await c.drop();
    }
  });

  it.skipIf(!!skipMysql)('MariaDB: the window is not there until a later attempt loads it, once', async () => {
    const c = await createCustomerMysqlDatabase(mysqlServer!);
    try {
      const tg = await openTarget(c.settings(), c.password);
      await tg.ensureTables();
      await tg.close();
      await c.conn.query('lock tables activity write');
      const worker = startWorker(c.settings(), c.password);
      await until_('the worker to wait on the table', async () => {
        const [rows] = await c.conn.query<RowDataPacket[]>(
          "select id from information_schema.processlist where db = database() and info like 'insert into `activity`%'",
        );
        return rows[0]?.id as number | undefined;
      });
      worker.child.kill('SIGKILL');
      expect(await worker.exited).toBe('SIGKILL');
      await c.conn.query('unlock tables');
      const n = async (q: string) => Number(((await c.conn.query<RowDataPacket[]>(q))[0][0] as { n: string }).n);
      await until_('the dead worker’s session to end', async () =>
        (await n('select count(*) as n from information_schema.processlist where db = database() and id <> connection_id()')) === 0
          ? true
          : undefined,
      );
      expect(await n('select count(*) as n from activity')).toBe(0);
      expect(await n(`select count(*) as n from _dde_loads where file_type = 'activity'`)).toBe(0);
      const retry = await loadRun({
        settings: c.settings(),
        password: c.password,
        window: w.window,
        files: w.files,
        open: opener(suite.storage),
      });
      expect(retry.files.map((f) => `${f.fileType} ${f.status}`)).toEqual([
        'user already_loaded',
        'campaign already_loaded',
        'activity loaded',
      ]);
      expect(await n('select count(*) as n from activity')).toBe(activityRows());
      expect(await n('select count(distinct event_id) as n from activity')).toBe(activityRows());
      expect(await n('select count(*) as n from _dde_loads')).toBe(3);
    } finally {
      await c.drop();
    }
  });
});

describe("the customer's PostgreSQL restarted mid-load", () => {
  let dir: string;
  let server: EmbeddedServer;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'dde-restart-pg-'));
    server = await startEmbedded({ dir: path.join(dir, 'pg'), password: 'customer', logFile: path.join(dir, 'postgres.log') });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the load fails retryably, the server keeps nothing of it, and the next attempt loads the window once', async () => {
    const admin = postgres(server.url('postgres'), { max: 1, onnotice: () => undefined });
    await admin`create database customer`;
    await admin.end();
    const settings = databaseSettingsSchema.parse({
      engine: 'postgres',
      host: '127.0.0.1',
      port: server.port,
      database: 'customer',
      schema: 'public',
      user: 'postgres',
      tls: 'disable',
    });
    const tg = await openTarget(settings, 'customer');
    await tg.ensureTables();
    await tg.close();
    const dba = postgres(server.url('customer'), { max: 2, onnotice: () => undefined });
    const held = await dba.reserve();
    await held`begin`;
    await held`lock table activity in share mode`;
    const loading = loadRun({ settings, password: 'customer', window: w.window, files: w.files, open: opener(suite.storage) }).catch(
      (e: unknown) => e,
    );
    await until_('the load to wait on the lock', async () => {
      const rows = await dba`select 1 from pg_stat_activity where application_name = 'dde' and wait_event_type = 'Lock'`;
      return rows.length ? true : undefined;
    });
    held.release();
    await dba.end({ timeout: 0 }).catch(() => undefined);
    // Restart: a fast shutdown ends every session, ours mid-transaction.
    await server.stop();
    server = await startEmbedded({
      dir: path.join(dir, 'pg'),
      password: 'customer',
      port: server.port,
      logFile: path.join(dir, 'postgres.log'),
    });
    const err = (await loading) as LoadError;
    expect(err).toBeInstanceOf(LoadError);
    expect(err.retryable).toBe(true);
    expect(['interrupted', 'connect']).toContain(err.code);

    const after = postgres(server.url('customer'), { max: 1, onnotice: () => undefined });
    try {
      const n = async (q: string) => Number((await after.unsafe<{ n: string }[]>(q))[0].n);
      expect(await n('select count(*) as n from activity')).toBe(0);
      expect(await n(`select count(*) as n from _dde_loads where file_type = 'activity'`)).toBe(0);
      await loadRun({ settings, password: 'customer', window: w.window, files: w.files, open: opener(suite.storage) });
      await loadRun({ settings, password: 'customer', window: w.window, files: w.files, open: opener(suite.storage) });
      expect(await n('select count(*) as n from activity')).toBe(activityRows());
      expect(await n('select count(distinct event_id) as n from activity')).toBe(activityRows());
      expect(await n('select count(*) as n from _dde_loads')).toBe(3);
    } finally {
      await after.end();
    }
  });
});
