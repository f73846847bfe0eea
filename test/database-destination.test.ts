// Database connections on the destination seam, end to end: set up through the connection schema
// (a pasted URL split into fields, the set-up test before anything is saved), the scheduled path
// (planner → export → deliver-run) loads each window into the customer's PostgreSQL or MariaDB, the
// event history names the destination as `postgres://host:5432/db · schema dde`, and delivering a
// run again loads nothing twice. The password is stored encrypted and never answered.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections, deliveries, exportRuns } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { createConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { describeDestination } from '@/lib/destinations';
import { AppError } from '@/lib/http/errors';
import { connectionJson } from '@/lib/management/views';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { executeExportRun } from '@/lib/runs/export-run';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { setStorage } from '@/lib/storage';
import { OPS_ADMIN, useTestEnv } from './helpers/auth';
import {
  createCustomerMysqlDatabase,
  createCustomerPgDatabase,
  customerMysql,
  startCustomerPostgres,
  type CustomerMysql,
  type CustomerPostgres,
} from './helpers/customer-databases';
import { createTestDatabase, type TestDatabase } from './helpers/db';

const PROGRAM = 2705;
const until = new Date('2026-11-20T00:00:00Z');
let t: TestDatabase;
let dataDir: string;
let pg: CustomerPostgres;
const mysqlServer = await customerMysql();
const skipMysql = 'skip' in mysqlServer ? mysqlServer.skip : null;
if (skipMysql) console.warn(`Skipping the MariaDB destination test: ${skipMysql}`);

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-dbdest-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined });
  setStorage(undefined);
  await seedProgram(t, { programId: PROGRAM, users: 50, campaigns: 5, events: 2400, days: 1, seed: 33, until });
  setClock(new Date(until.getTime() + 10 * 60_000));
  pg = await startCustomerPostgres();
}, 180_000);
afterAll(async () => {
  resetClock();
  await pg?.stop();
  await t?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const base = {
  frequency: 'every_4_hours',
  start_date: new Date(until.getTime() - 8 * 3_600_000).toISOString(),
  contact_emails: ['data@customer.example'],
};

/** Plans the connection's windows, exports and delivers each; returns the runs in window order. */
async function runSchedule(connectionId: string) {
  await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
  const runs = await t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, connectionId)).orderBy(exportRuns.windowStart);
  expect(runs).toHaveLength(2);
  for (const r of runs) {
    const exported = await executeExportRun(t, r.id);
    expect(exported.status).toBe('generated');
    const delivered = await executeDelivery(t, r.id);
    expect(delivered.status).toBe('delivered');
  }
  return t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, connectionId)).orderBy(exportRuns.windowStart);
}

describe('a PostgreSQL connection', () => {
  it('is set up from a pasted URL, loads each scheduled window, and names its destination in the event history', async () => {
    const c = await createCustomerPgDatabase(pg);
    try {
      const input = createConnectionSchema.parse({
        kind: 'postgres',
        ...base,
        url: `postgres://postgres@${pg.host}:${pg.port}/${c.name}?sslmode=disable&schema=dde`,
        password: c.password || 'trusted',
      });
      const conn = await createConnection(t, OPS_ADMIN, PROGRAM, input);
      const label = `postgres://${pg.host}:${pg.port}/${c.name} · schema dde`;
      expect(describeDestination(conn)).toBe(label);
      expect(conn.destination).toMatchObject({
        engine: 'postgres',
        host: pg.host,
        database: c.name,
        schema: 'dde',
        user: 'postgres',
        tls: 'disable',
      });
      expect(JSON.stringify(conn.destination)).not.toContain('trusted');
      expect(conn.secretCiphertext).not.toContain('trusted');
      expect(JSON.stringify(connectionJson(conn, undefined))).not.toMatch(/trusted|secret_ciphertext/);

      const runs = await runSchedule(conn.id);
      expect(runs.map((r) => r.status)).toEqual(['delivered', 'delivered']);
      const history = await t.db.select().from(deliveries).where(eq(deliveries.runId, runs[0].id));
      expect(history.map((d) => [d.status, d.destination])).toEqual([['succeeded', label]]);
      const rowsExported = runs.reduce((s, r) => s + Number(r.rowsTotal), 0);
      const [{ n: events }] = await c.sql<{ n: number }[]>`select count(*)::int as n from dde.activity`;
      const [{ n: users }] = await c.sql<{ n: number }[]>`select count(*)::int as n from dde.users`;
      const [{ n: camps }] = await c.sql<{ n: number }[]>`select count(*)::int as n from dde.campaigns`;
      const [{ n: loaded }] = await c.sql<{ n: number }[]>`select sum(rows)::int as n from dde._dde_loads where connection_id = ${conn.id}`;
      expect(loaded).toBe(rowsExported);
      expect(events + users + camps).toBeLessThanOrEqual(rowsExported);
      expect(events).toBeGreaterThan(0);

      // Delivered again (an admin's retry of a delivered run is refused; a second delivery of the
      // same files, as after a lost acknowledgement, finds the _dde_loads rows and adds nothing).
      await t.sql`update export_runs set status = 'generated' where id = ${runs[1].id}`;
      expect((await executeDelivery(t, runs[1].id)).status).toBe('delivered');
      const [{ n: again }] = await c.sql<{ n: number }[]>`select count(*)::int as n from dde.activity`;
      expect(again).toBe(events);
    } finally {
      await c.drop();
    }
  });

  it('refuses the set-up when the test fails, naming the step and the fix, and saves nothing', async () => {
    const c = await createCustomerPgDatabase(pg);
    try {
      const before = await t.db.select().from(connections);
      const input = createConnectionSchema.parse({
        kind: 'postgres',
        ...base,
        host: pg.host,
        port: pg.port,
        database: c.name,
        schema: 'missing_schema',
        user: 'postgres',
        tls: 'disable',
        password: c.password || 'trusted',
      });
      const err = (await createConnection(t, OPS_ADMIN, PROGRAM, input).catch((e: unknown) => e)) as AppError;
      expect(err).toBeInstanceOf(AppError);
      expect(err.message).toBe(
        'The database test failed at "Find the schema": schema missing_schema does not exist — CREATE SCHEMA missing_schema AUTHORIZATION postgres',
      );
      expect(await t.db.select().from(connections)).toHaveLength(before.length);
    } finally {
      await c.drop();
    }
  });

  it('bad input names the field and the value', () => {
    const wrongScheme = createConnectionSchema.safeParse({ kind: 'postgres', ...base, url: 'mysql://db.example.com/x', password: 'p' });
    expect(wrongScheme.success).toBe(false);
    expect(wrongScheme.error!.issues[0]).toMatchObject({ path: ['url'], message: 'The URL is for mysql, but the connection is postgres.' });
    const disagree = createConnectionSchema.safeParse({
      kind: 'postgres',
      ...base,
      url: 'postgres://u@db.example.com:5432/sales',
      database: 'other',
      password: 'p',
    });
    expect(disagree.error!.issues[0]).toMatchObject({
      path: ['database'],
      message: 'The URL says database sales; the database field says otherwise.',
    });
    const noPassword = createConnectionSchema.safeParse({ kind: 'postgres', ...base, url: 'postgres://u@db.example.com/sales' });
    expect(noPassword.error!.issues[0]).toMatchObject({ path: ['password'], message: 'Enter the password.' });
    const xlsx = createConnectionSchema.safeParse({ kind: 'mysql', ...base, url: 'mysql://u:p@db.example.com/sales', format: 'xlsx' });
    expect(xlsx.error!.issues[0]).toMatchObject({ path: ['format'] });
  });
});

describe.skipIf(!!skipMysql)('a MariaDB connection', () => {
  it('loads each scheduled window once and names its destination', async () => {
    const c = await createCustomerMysqlDatabase(mysqlServer as CustomerMysql);
    const server = mysqlServer as CustomerMysql;
    const user = `loader_${c.name.slice(-6)}`;
    try {
      await c.conn.query(`create user '${user}'@'%' identified by 'loader-pw'`);
      await c.conn.query(`grant all on ${c.name}.* to '${user}'@'%'`);
      const input = createConnectionSchema.parse({
        kind: 'mysql',
        ...base,
        url: `mysql://${user}:loader-pw@${server.host}:${server.port}/${c.name}?ssl-mode=disabled`,
      });
      const conn = await createConnection(t, OPS_ADMIN, PROGRAM, input);
      expect(describeDestination(conn)).toBe(`mysql://${server.host}:${server.port}/${c.name}`);
      const runs = await runSchedule(conn.id);
      expect(runs.map((r) => r.status)).toEqual(['delivered', 'delivered']);
      const [[loads]] = await c.conn.query<RowDataPacket[]>('select sum(`rows`) as n, count(*) as k from _dde_loads');
      expect(Number(loads.n)).toBe(runs.reduce((s, r) => s + Number(r.rowsTotal), 0));
      const [[dup]] = await c.conn.query<RowDataPacket[]>('select count(*) - count(distinct event_id) as d from activity');
      expect(Number(dup.d)).toBe(0);
    } finally {
      await c.conn.query(`drop user if exists '${user}'@'%'`);
      await c.drop();
    }
  });
});
