// The set-up test of a database destination against real servers: every step passes and the probe
// keeps nothing; each failure names what to grant or fix and whether trying again can help.
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseDestination } from '@/lib/destinations/database/setup-test';
import {
  createCustomerMysqlDatabase,
  createCustomerPgDatabase,
  customerMysql,
  startCustomerPostgres,
  type CustomerMysql,
  type CustomerPostgres,
} from './helpers/customer-databases';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { useTestEnv } from './helpers/auth';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t, { DDE_OUTBOUND_ALLOWED_NETWORKS: '127.0.0.1/32' });
});
afterAll(async () => t?.drop());

const summary = (r: Awaited<ReturnType<typeof testDatabaseDestination>>) => r.steps.map((s) => `${s.step}:${s.status}`).join(' ');

describe('PostgreSQL set-up test', () => {
  let server: CustomerPostgres;
  beforeAll(async () => {
    server = await startCustomerPostgres();
  });
  afterAll(async () => server?.stop());

  it('passes every step and keeps nothing of its probe', async () => {
    const c = await createCustomerPgDatabase(server);
    try {
      const report = await testDatabaseDestination(c.settings(), c.password);
      expect(summary(report)).toBe('connect:ok schema:ok tables:ok privileges:ok probe:ok');
      expect(report.steps.find((s) => s.step === 'tables')!.detail).toBe('will create users, campaigns, activity, _dde_loads');
      const tables = await c.sql`select table_name from information_schema.tables where table_schema = 'dde'`;
      expect(tables).toHaveLength(0);
    } finally {
      await c.drop();
    }
  });

  it('a user without CREATE on the schema is told the GRANT; a missing schema the CREATE SCHEMA; neither is retried', async () => {
    const c = await createCustomerPgDatabase(server);
    const role = `loader_${c.name.slice(-6)}`;
    try {
      await c.sql.unsafe(`create role ${role} login password 'pw'`);
      await c.sql.unsafe(`grant usage on schema dde to ${role}`);
      const report = await testDatabaseDestination(c.settings({ user: role }), 'pw');
      expect(summary(report)).toBe('connect:ok schema:ok tables:ok privileges:failed probe:skipped');
      expect(report.error!.message).toBe(
        `permission denied for schema dde (DDE creates users, campaigns, activity, _dde_loads) — GRANT CREATE ON SCHEMA dde TO ${role}`,
      );
      expect(report.error!.retryable).toBe(false);
      await c.sql.unsafe(report.error!.fix!);
      expect((await testDatabaseDestination(c.settings({ user: role }), 'pw')).ok).toBe(true);

      const noSchema = await testDatabaseDestination(c.settings({ schema: 'warehouse' }), c.password);
      expect(summary(noSchema)).toBe('connect:ok schema:failed tables:skipped privileges:skipped probe:skipped');
      expect(noSchema.error!.fix).toMatch(/^CREATE SCHEMA warehouse AUTHORIZATION /);
      expect(noSchema.error!.retryable).toBe(false);
    } finally {
      await c.sql.unsafe(`drop owned by ${role} cascade`).catch(() => undefined);
      await c.drop();
      const s = (await import('postgres')).default(server.url, { max: 1, onnotice: () => undefined });
      await s.unsafe(`drop role if exists ${role}`).catch(() => undefined);
      await s.end();
    }
  });

  it('names an existing column that cannot hold the export’s values', async () => {
    const c = await createCustomerPgDatabase(server);
    try {
      await c.sql.unsafe('create table dde.users (user_id text primary key, updated_at date)');
      const report = await testDatabaseDestination(c.settings(), c.password);
      expect(summary(report)).toBe('connect:ok schema:ok tables:failed privileges:skipped probe:skipped');
      expect(report.error!.code).toBe('incompatible');
      expect(report.error!.message).toContain('dde.users.updated_at is date');
      expect(report.error!.retryable).toBe(false);
    } finally {
      await c.drop();
    }
  });

  it('a server that refuses the connection is retryable; an address the outbound policy refuses is not', async () => {
    const c = await createCustomerPgDatabase(server);
    try {
      const refused = await testDatabaseDestination(c.settings({ port: 1 }), c.password);
      expect(summary(refused)).toBe('connect:failed schema:skipped tables:skipped privileges:skipped probe:skipped');
      expect(refused.error!.code).toBe('connect');
      expect(refused.error!.retryable).toBe(true);
      const policy = await testDatabaseDestination(c.settings({ host: '127.0.0.2' }), c.password);
      expect(policy.error!.code).toBe('refused');
      expect(policy.error!.retryable).toBe(false);
      expect(policy.error!.message).toContain('DDE does not connect to 127.0.0.2');
    } finally {
      await c.drop();
    }
  });
});

const mysqlServer = await customerMysql();
const skipMysql = 'skip' in mysqlServer ? mysqlServer.skip : null;
if (skipMysql) console.warn(`Skipping the MariaDB set-up tests: ${skipMysql}`);

describe.skipIf(!!skipMysql)('MariaDB / MySQL set-up test', () => {
  it('passes every step and keeps nothing; a wrong password and a missing privilege are named and not retried', async () => {
    const c = await createCustomerMysqlDatabase(mysqlServer as CustomerMysql);
    const user = `loader_${c.name.slice(-6)}`;
    try {
      const ok = await testDatabaseDestination(c.settings(), c.password);
      expect(summary(ok)).toBe('connect:ok schema:ok tables:ok privileges:ok probe:ok');
      const [tables] = await c.conn.query<RowDataPacket[]>(
        'select table_name from information_schema.tables where table_schema = database()',
      );
      expect(tables).toHaveLength(0);

      await c.conn.query(`create user '${user}'@'%' identified by 'right-pw'`);
      await c.conn.query(`grant select, insert, update on ${c.name}.* to '${user}'@'%'`);
      const wrong = await testDatabaseDestination(c.settings({ user }), 'wrong-pw');
      expect(wrong.error!.code).toBe('auth');
      expect(wrong.error!.retryable).toBe(false);
      expect(wrong.error!.message).not.toContain('wrong-pw');

      const denied = await testDatabaseDestination(c.settings({ user }), 'right-pw');
      expect(summary(denied)).toBe('connect:ok schema:ok tables:ok privileges:failed probe:skipped');
      expect(denied.error!.code).toBe('privilege');
      expect(denied.error!.message).toMatch(/^CREATE command denied to user/);
      expect(denied.error!.fix).toMatch(new RegExp(`^GRANT CREATE ON ${c.name}\\.\\S+ TO '${user}'@'`));
      await c.conn.query(`grant all on ${c.name}.* to '${user}'@'%'`);
      expect((await testDatabaseDestination(c.settings({ user }), 'right-pw')).ok).toBe(true);
    } finally {
      await c.conn.query(`drop user if exists '${user}'@'%'`);
      await c.drop();
    }
  });
});
