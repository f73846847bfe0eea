// Credential rotation of the kinds beside SFTP, through the same endpoint and the same rules
// (lib/connections/credentials.ts), against real servers: a PostgreSQL and a MariaDB user's password
// changed by the customer, a second S3 access key on Ceph RGW, a renewed Azure SAS token on Azurite.
// While the connection is active the request is refused; a secret that fails the destination's own
// set-up test, or one sent in another kind's field, is refused naming it and changes nothing (row,
// Activity Log); the right one is saved encrypted, the Activity Log says so without the secret, and
// the destination works with what was stored (PostgreSQL: the next window loads with it).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  BlobServiceClient,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as credentialsRoute } from '@/app/api/v1/connections/[id]/credentials/route';
import { POST as createRoute } from '@/app/api/v1/connections/route';
import { POST as startRoute } from '@/app/api/v1/connections/[id]/start/route';
import { POST as stopRoute } from '@/app/api/v1/connections/[id]/stop/route';
import { closeDatabase } from '@/db/client';
import { auditLog, connections, exportRuns, type Account } from '@/db/schema';
import type { RouteHandler } from '@/lib/auth/with-auth';
import { resetClock, setClock } from '@/lib/clock';
import { decryptSecret } from '@/lib/crypto';
import { pushedDestinationFor } from '@/lib/destinations';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { executeExportRun } from '@/lib/runs/export-run';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { setStorage } from '@/lib/storage';
import { checkAnswer } from './helpers/api-answers';
import { createAccount, createPrograms, request, sessionCookie, useTestEnv } from './helpers/auth';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type TestAzurite } from './helpers/azurite';
import {
  createCustomerMysqlDatabase,
  createCustomerPgDatabase,
  customerMysqlOrSkip,
  startCustomerPostgres,
  type CustomerPostgres,
} from './helpers/customer-databases';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { rgwSkipReason, rgwUnavailable, startRgw, type TestRgw } from './helpers/rgw';

const execFileAsync = promisify(execFile);
const PROGRAM = 72;
const until = new Date('2026-11-20T00:00:00Z');
let t: TestDatabase;
let dataDir: string;
let cookie: string;
type Json = Record<string, unknown>;
const { server: mysqlServer, skip: skipMysql } = await customerMysqlOrSkip('the MariaDB rotation test');
const skipRgw = process.env.TEST_S3_ENDPOINT ? rgwUnavailable() : rgwSkipReason();
if (skipRgw) console.warn(`credential-rotation-destinations: S3 skipped, ${skipRgw}`);

async function call<P extends Record<string, string>>(handler: RouteHandler<P>, method: string, url: string, json?: unknown, params?: P) {
  const res = await handler(request(method, url, { cookie, json }), { params: Promise.resolve((params ?? {}) as P) });
  await checkAnswer(method, url, res);
  return { status: res.status, body: (await res.json()) as Json };
}
const create = async (json: Json) => {
  const r = await call(createRoute, 'POST', `/api/v1/connections?program=${PROGRAM}`, json);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return (r.body.data as Json).id as string;
};
const rotate = (id: string, json: unknown) =>
  call(credentialsRoute, 'POST', `/api/v1/connections/${id}/credentials?program=${PROGRAM}`, json, { id });
const lifecycle = (id: string, handler: RouteHandler<{ id: string }>, action: string) =>
  call(handler, 'POST', `/api/v1/connections/${id}/${action}?program=${PROGRAM}`, undefined, { id });
const errorOf = (r: { body: Json }) =>
  r.body.error as {
    code: string;
    message: string;
    details?: { fields?: { path: string; message: string }[]; test?: { steps: { step: string; status: string }[] } };
  };

const rowOf = async (id: string) => (await t.db.select().from(connections).where(eq(connections.id, id)))[0];
/** The connection row and the size of the Activity Log, to show a refusal changed nothing. */
async function snapshot(id: string) {
  const [audit] = await t.db.select({ n: sql<number>`count(*)::int` }).from(auditLog);
  return { row: await rowOf(id), audit: audit.n };
}
async function rotations(id: string) {
  return t.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.targetId, id), eq(auditLog.action, 'connection.credentials_replaced')));
}

const schedule = {
  frequency: 'every_4_hours',
  start_date: new Date(until.getTime() - 8 * 3_600_000).toISOString(),
  contact_emails: ['data@customer.example'],
};

/** The refusals every kind shares: active → 409; then, once stopped, a failing secret → 422 naming `field` with the steps; nothing changed. */
async function expectRefusals(id: string, good: Json, bad: Json, field: string, failure: RegExp) {
  const active = await rotate(id, good);
  expect(active.status).toBe(409);
  expect(errorOf(active).message).toBe(
    'Stop the connection before replacing its credentials; they can change only while it is stopped (it is active).',
  );
  expect((await lifecycle(id, stopRoute, 'stop')).status).toBe(200);
  const before = await snapshot(id);
  const failed = await rotate(id, bad);
  expect(failed.status).toBe(422);
  expect(errorOf(failed).message).toMatch(failure);
  expect(errorOf(failed).details?.fields?.[0].path).toBe(field);
  expect(errorOf(failed).details?.test?.steps.some((s) => s.status === 'failed')).toBe(true);
  // An SFTP field for this kind: refused naming it, before any test.
  const wrongField = await rotate(id, { auth: { method: 'password', password: 'x' } });
  expect(wrongField.status).toBe(422);
  if (field !== 'auth') expect(errorOf(wrongField).details?.fields?.[0].path).toBe('auth');
  expect(await snapshot(id)).toEqual(before);
}

/** The good secret: 200, stored encrypted, one Activity Log entry without it, still stopped. */
async function expectRotated(id: string, good: Json, secretText: string) {
  const before = await rowOf(id);
  const ok = await rotate(id, good);
  expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  expect((ok.body.data as Json).status).toBe('stopped');
  expect(JSON.stringify(ok.body)).not.toContain(secretText);
  const after = await rowOf(id);
  expect(after.secretCiphertext).not.toBe(before.secretCiphertext);
  expect(JSON.stringify(decryptSecret(after.secretCiphertext!, id))).toContain(secretText);
  const entries = await rotations(id);
  expect(entries).toHaveLength(1);
  expect(JSON.stringify(entries[0])).not.toContain(secretText);
  return after;
}

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-rotation-dest-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined, DDE_OUTBOUND_ALLOWED_NETWORKS: '127.0.0.1/32' });
  setStorage(undefined);
  await createPrograms(t.db, [{ id: PROGRAM, name: 'Rotation of destinations' }]);
  await seedProgram(t, { programId: PROGRAM, users: 20, campaigns: 3, events: 800, days: 1, seed: 6, until });
  setClock(new Date(until.getTime() + 10 * 60_000));
  const firstup: Account = await createAccount(t.db, { role: 'firstup_super_admin' });
  cookie = await sessionCookie(firstup);
}, 120_000);

afterAll(async () => {
  resetClock();
  await closeDatabase();
  await t?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('a PostgreSQL connection', () => {
  let pg: CustomerPostgres;
  beforeAll(async () => {
    pg = await startCustomerPostgres();
  });
  afterAll(async () => pg?.stop());

  it('gets the customer’s new password only after the set-up test passes with it; the next window loads with it', async () => {
    const c = await createCustomerPgDatabase(pg);
    const role = `loader_${c.name.slice(-6)}`;
    try {
      await c.sql.unsafe(`create role ${role} login password 'old-password'`);
      await c.sql.unsafe(`grant usage, create on schema dde to ${role}`);
      await c.sql.unsafe(`grant temporary on database ${c.name} to ${role}`);
      const id = await create({
        kind: 'postgres',
        name: 'Rotating warehouse',
        ...schedule,
        host: pg.host,
        port: pg.port,
        database: c.name,
        schema: 'dde',
        user: role,
        password: 'old-password',
        tls: 'disable',
      });
      // The customer changes the password; the machine's PostgreSQL may trust local sign-ins, so the
      // role is also made unable to sign in with the old one by name: a wrong password must fail.
      await c.sql.unsafe(`alter role ${role} password 'new-password'`);
      const trusting =
        !pg.embedded &&
        (await pushedDestinationFor('postgres').test({ connection: await rowOf(id), secret: { method: 'password', password: 'wrong' } }))
          .ok;
      if (trusting) {
        // Under trust every password signs in; a role that may not log in is what fails the test instead.
        await c.sql.unsafe(`alter role ${role} nologin`);
      }
      await expectRefusals(
        id,
        { password: 'new-password' },
        { password: 'wrong-password' },
        'password',
        /^The connection test failed at "Connect and sign in": /,
      );
      if (trusting) await c.sql.unsafe(`alter role ${role} login`);
      await expectRotated(id, { password: 'new-password' }, 'new-password');

      // Started again, the next window loads into the customer's tables with the new password.
      expect((await lifecycle(id, startRoute, 'start')).status).toBe(200);
      await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
      const [run] = await t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, id)).orderBy(asc(exportRuns.windowStart));
      expect((await executeExportRun(t, run.id)).status).toBe('generated');
      expect((await executeDelivery(t, run.id)).status).toBe('delivered');
      const [{ n }] = await c.sql<{ n: number }[]>`select count(*)::int as n from dde._dde_loads where connection_id = ${id}`;
      expect(n).toBe(3);
    } finally {
      await c.sql.unsafe(`drop owned by ${role} cascade`).catch(() => undefined);
      await c.drop();
      const s = (await import('postgres')).default(pg.url, { max: 1, onnotice: () => undefined });
      await s.unsafe(`drop role if exists ${role}`).catch(() => undefined);
      await s.end();
    }
  });
});

describe.skipIf(!!skipMysql)('a MariaDB connection', () => {
  it('gets the user’s new password only after the set-up test passes with it', async () => {
    const c = await createCustomerMysqlDatabase(mysqlServer!);
    const user = `loader_${c.name.slice(-6)}`;
    try {
      await c.conn.query(`create user '${user}'@'%' identified by 'old-password'`);
      await c.conn.query(`grant all on ${c.name}.* to '${user}'@'%'`);
      const id = await create({
        kind: 'mysql',
        name: 'Rotating MariaDB',
        ...schedule,
        url: `mysql://${user}:old-password@${mysqlServer!.host}:${mysqlServer!.port}/${c.name}?ssl-mode=disabled`,
      });
      await c.conn.query(`alter user '${user}'@'%' identified by 'new-password'`);
      await expectRefusals(id, { password: 'new-password' }, { password: 'old-password' }, 'password', /Authentication failed/);
      const row = await expectRotated(id, { password: 'new-password' }, 'new-password');
      expect((await pushedDestinationFor('mysql').check({ connection: row, secret: decryptSecret(row.secretCiphertext!, id) })).ok).toBe(
        true,
      );
    } finally {
      await c.conn.query(`drop user if exists '${user}'@'%'`);
      await c.drop();
    }
  });
});

describe.skipIf(!!skipRgw)('an S3 connection (Ceph RGW)', () => {
  let rgw: TestRgw;
  beforeAll(async () => {
    rgw = await startRgw();
  }, 120_000);
  afterAll(async () => rgw?.stop());

  it('gets a second access key only after the set-up test writes, reads and deletes a probe with it', async () => {
    const bucket = await rgw.createBucket('rotate');
    const id = await create({
      kind: 's3',
      name: 'Rotating lake',
      ...schedule,
      destination: {
        provider: 's3_compatible',
        bucket,
        prefix: 'dde',
        region: rgw.region,
        endpoint: rgw.endpoint,
        path_style: true,
        auth: 'access_key',
      },
      credentials: { access_key_id: rgw.accessKeyId, secret_access_key: rgw.secretAccessKey },
    });
    // The customer issues a second key for the same user (the first is revoked once DDE has the new one).
    const accessKeyId = `DDEROT${randomBytes(5).toString('hex').toUpperCase()}`;
    const secretAccessKey = randomBytes(24).toString('base64url');
    await execFileAsync('/usr/bin/radosgw-admin', [
      '-c',
      path.join(rgw.dir, 'ceph.conf'),
      'key',
      'create',
      '--uid=dde-test',
      '--key-type=s3',
      `--access-key=${accessKeyId}`,
      `--secret-key=${secretAccessKey}`,
    ]);
    const good = { credentials: { access_key_id: accessKeyId, secret_access_key: secretAccessKey } };
    await expectRefusals(
      id,
      good,
      { credentials: { access_key_id: accessKeyId, secret_access_key: 'not-the-secret' } },
      'credentials',
      /^The connection test failed at /,
    );
    // An Azure-shaped secret for an S3 connection: named.
    const azureShaped = await rotate(id, { credentials: { account_key: 'x' } });
    expect(azureShaped.status).toBe(422);
    expect(errorOf(azureShaped).details?.fields?.[0].path).toBe('credentials');
    const row = await expectRotated(id, good, secretAccessKey);
    expect((await pushedDestinationFor('s3').check({ connection: row, secret: decryptSecret(row.secretCiphertext!, id) })).ok).toBe(true);
  }, 120_000);
});

describe('an Azure Blob connection (Azurite)', () => {
  let azurite: TestAzurite;
  const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);
  const sas = (expiresOn: Date) =>
    generateBlobSASQueryParameters(
      {
        containerName: 'rotate',
        permissions: ContainerSASPermissions.parse('racwdl'),
        startsOn: new Date(Date.now() - 3_600_000),
        expiresOn,
      },
      credential,
    ).toString();
  beforeAll(async () => {
    azurite = await startAzurite();
    await new BlobServiceClient(azurite.endpoint, credential).getContainerClient('rotate').create();
  });
  afterAll(async () => azurite?.stop());

  it('gets a renewed SAS token only after the set-up test passes with it, and its new expiry', async () => {
    const soon = new Date(Date.now() + 5 * 86_400_000);
    const id = await create({
      kind: 'azure_blob',
      name: 'Rotating Azure lake',
      ...schedule,
      destination: { account: AZURITE_ACCOUNT, container: 'rotate', prefix: 'dde', endpoint: azurite.endpoint, auth: 'sas' },
      credentials: { sas_token: sas(soon) },
    });
    const renewed = new Date(Date.now() + 90 * 86_400_000);
    const token = sas(renewed);
    await expectRefusals(
      id,
      { credentials: { sas_token: token } },
      { credentials: { sas_token: sas(new Date(Date.now() - 60_000)) } },
      'credentials',
      /The SAS token expired at /,
    );
    // An account key for a connection that signs in with a SAS token: named, nothing tested.
    const keyForSas = await rotate(id, { credentials: { account_key: AZURITE_KEY } });
    expect(keyForSas.status).toBe(422);
    expect(errorOf(keyForSas).message).toBe('This connection signs in with a SAS token: enter the new one (sas_token).');
    const before = (await rowOf(id)).destination as { sas_expires_at: string };
    const row = await expectRotated(id, { credentials: { sas_token: token } }, token);
    const after = row.destination as { sas_expires_at: string; container: string };
    expect(Date.parse(before.sas_expires_at)).toBe(Math.floor(soon.getTime() / 1000) * 1000);
    expect(Date.parse(after.sas_expires_at)).toBe(Math.floor(renewed.getTime() / 1000) * 1000);
    expect(after.container).toBe('rotate');
    const check = await pushedDestinationFor('azure_blob').check({ connection: row, secret: decryptSecret(row.secretCiphertext!, id) });
    expect(check).toEqual({ ok: true });
  });
});
