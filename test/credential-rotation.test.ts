// Credential rotation against a real OpenSSH sshd: while a connection is stopped, a Firstup Super
// Admin replaces its password or private key; the connection test runs again with the new secret,
// a changed host key needs an explicit confirmation, deliveries then use the new secret, the run
// history stays, and the Activity Log records the change without the secret. Refusals (not stopped,
// a Brand Super Admin, a failing test, an unconfirmed key) change nothing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as credentialsRoute } from '@/app/api/v1/connections/[id]/credentials/route';
import { PATCH as patchRoute } from '@/app/api/v1/connections/[id]/route';
import { POST as startRoute } from '@/app/api/v1/connections/[id]/start/route';
import { POST as stopRoute } from '@/app/api/v1/connections/[id]/stop/route';
import { GET as activityRoute } from '@/app/api/v1/activity-log/route';
import { POST as createRoute } from '@/app/api/v1/connections/route';
import { POST as testRoute } from '@/app/api/v1/connections/test/route';
import { closeDatabase } from '@/db/client';
import { auditLog, connections, deliveries, exportRuns, type Account } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { decryptSecret } from '@/lib/crypto';
import { generateEd25519KeyPair } from '@/scripts/dev/sftp-sink';
import type { RouteHandler } from '@/lib/auth/with-auth';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { executeExportRun } from '@/lib/runs/export-run';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { setStorage } from '@/lib/storage';
import { checkAnswer } from './helpers/api-answers';
import { createAccount, createPrograms, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { sshdSkipReason, startSshd, type TestSshd } from './helpers/sshd';

const skipSshd = sshdSkipReason();
// Password sign-in needs the harness's own system user, which only a root run creates (test/helpers/sshd.ts).
const skipPassword = skipSshd ?? (process.getuid?.() === 0 ? null : 'password sign-in to the test sshd needs a root run');

const PROGRAM = 71;
const until = new Date('2026-11-20T00:00:00Z');
let t: TestDatabase;
let dataDir: string;
let sshd: TestSshd;
let firstupCookie: string;
let brandCookie: string;
let connectionId: string;

type Json = Record<string, unknown>;
async function call<P extends Record<string, string>>(
  handler: RouteHandler<P>,
  method: string,
  url: string,
  opts: { json?: unknown; cookie?: string; params?: P } = {},
): Promise<{ status: number; body: Json }> {
  const res = await handler(request(method, url, { cookie: opts.cookie ?? firstupCookie, json: opts.json }), {
    params: Promise.resolve((opts.params ?? { id: connectionId }) as P),
  });
  await checkAnswer(method, url, res);
  return { status: res.status, body: (await res.json()) as Json };
}
const rotate = (json: unknown, cookie?: string) =>
  call(credentialsRoute, 'POST', `/api/v1/connections/${connectionId}/credentials?program=${PROGRAM}`, { json, cookie });
const lifecycle = (handler: RouteHandler<{ id: string }>, action: string) =>
  call(handler, 'POST', `/api/v1/connections/${connectionId}/${action}?program=${PROGRAM}`);
const errorOf = (r: { body: Json }) =>
  r.body.error as { code: string; message: string; details?: { fields?: { path: string }[]; test?: Json } };

async function row() {
  const [c] = await t.db.select().from(connections).where(eq(connections.id, connectionId));
  return c;
}

/** The connection row and its Activity Log, to check that a refusal changed nothing. */
async function snapshot() {
  const [audit] = await t.db.select({ n: sql<number>`count(*)::int` }).from(auditLog);
  return { row: await row(), audit: audit.n };
}

async function runsOf() {
  return t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, connectionId)).orderBy(asc(exportRuns.windowStart));
}

/** Exports and delivers one planned window to the sshd; returns the delivery outcome. */
async function deliverWindow(index: number) {
  const run = (await runsOf())[index];
  expect((await executeExportRun(t, run.id)).status).toBe('generated');
  return executeDelivery(t, run.id);
}

/** Only these public keys may sign in from now on (an empty list: only the password). */
function authorizeKeys(...publicKeys: string[]) {
  writeFileSync(path.join(sshd.dir, 'authorized_keys'), publicKeys.map((k) => `${k}\n`).join(''), { mode: 0o644 });
}

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-rotation-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined });
  setStorage(undefined);
  await createPrograms(t.db, [{ id: PROGRAM, name: 'Rotation' }]);
  await seedProgram(t, { programId: PROGRAM, users: 20, campaigns: 3, events: 1500, days: 1, seed: 5, until });
  setClock(new Date(until.getTime() + 10 * 60_000));
  const firstup: Account = await createAccount(t.db, { role: 'firstup_super_admin' });
  const brand: Account = await createAccount(t.db, { role: 'brand_super_admin', programIds: [PROGRAM] });
  firstupCookie = await sessionCookie(firstup);
  brandCookie = await sessionCookie(brand);
  if (skipSshd) return;
  sshd = await startSshd();
  spawnSync('install', ['-d', '-o', String(sshd.uid), '-g', String(sshd.gid), path.join(sshd.rootDir, 'drop')]);
}, 120_000);

afterAll(async () => {
  resetClock();
  await sshd?.stop();
  await closeDatabase();
  await t?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe.skipIf(skipPassword)('replacing the credentials of a connection', () => {
  it('sets up a key-authenticated connection and delivers its first window', async () => {
    const created = await call(createRoute, 'POST', `/api/v1/connections?program=${PROGRAM}`, {
      params: {},
      json: {
        kind: 'sftp',
        name: 'Rotating warehouse',
        frequency: 'every_4_hours',
        start_date: new Date(until.getTime() - 12 * 3_600_000).toISOString(),
        contact_emails: ['data@customer.example'],
        host: sshd.host,
        port: sshd.port,
        folder: 'drop',
        username: sshd.username,
        auth: { method: 'private_key', private_key: sshd.privateKey },
        host_key_fingerprint: sshd.hostKeyFingerprint,
      },
    });
    expect(created.status).toBe(201);
    connectionId = (created.body.data as Json).id as string;
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    expect(await runsOf()).toHaveLength(3);
    expect((await deliverWindow(0)).status).toBe('delivered');
  });

  it('refuses a rotation while the connection is active with 409 naming the reason, and changes nothing', async () => {
    const before = await snapshot();
    const r = await rotate({ auth: { method: 'password', password: sshd.password } });
    expect(r.status).toBe(409);
    expect(errorOf(r).message).toBe(
      'Stop the connection before replacing its credentials; they can change only while it is stopped (it is active).',
    );
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a Brand Super Admin with 403, even while stopped, and changes nothing', async () => {
    expect((await lifecycle(stopRoute, 'stop')).status).toBe(200);
    const before = await snapshot();
    const r = await rotate({ auth: { method: 'password', password: sshd.password } }, brandCookie);
    expect(r.status).toBe(403);
    expect(errorOf(r).message).toMatch(/read-only/);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a secret the server rejects with 422 and the test report, and keeps the old one', async () => {
    const before = await snapshot();
    const r = await rotate({ auth: { method: 'password', password: 'not the password' } });
    expect(r.status).toBe(422);
    const report = errorOf(r).details!.test as { ok: boolean; steps: { step: string; status: string }[] };
    expect(report.ok).toBe(false);
    expect(report.steps.find((s) => s.step === 'authenticate')?.status).toBe('failed');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses bad input with field paths, and edits that try to change the destination or the secret', async () => {
    const before = await snapshot();
    const bad = await rotate({ auth: { method: 'private_key', private_key: 'nope' }, host: 'elsewhere.example' });
    expect(bad.status).toBe(422);
    expect(errorOf(bad).details!.fields!.map((f) => f.path)).toEqual(expect.arrayContaining(['auth.private_key']));
    const patch = await call(patchRoute, 'PATCH', `/api/v1/connections/${connectionId}?program=${PROGRAM}`, {
      json: { auth: { method: 'password', password: 'x' }, port: 2222 },
    });
    expect(patch.status).toBe(422);
    expect(errorOf(patch).details!.fields).toEqual([
      {
        path: 'auth',
        message:
          'auth cannot be edited here. Replace the credentials with POST /api/v1/connections/{id}/credentials while the connection is stopped.',
      },
      { path: 'port', message: 'port cannot be changed. Delete this connection and create a new one with the new port.' },
    ]);
    expect(await snapshot()).toEqual(before);
  });

  it('replaces the key with a password: tested first, stored encrypted, logged without the secret, and the next delivery uses it', async () => {
    const before = await row();
    const r = await rotate({ auth: { method: 'password', password: sshd.password } });
    expect(r.status).toBe(200);
    const view = r.body.data as { status: string; sftp: Json; last_tested_at: string };
    expect(view.status).toBe('stopped');
    expect(view.sftp).toMatchObject({
      host: sshd.host,
      port: sshd.port,
      folder: 'drop',
      username: sshd.username,
      auth_method: 'password',
      host_key_fingerprint: sshd.hostKeyFingerprint,
    });
    expect(JSON.stringify(r.body)).not.toContain(sshd.password!);

    const after = await row();
    expect([after.sftpHost, after.sftpPort, after.sftpFolder, after.sftpUsername]).toEqual([
      before.sftpHost,
      before.sftpPort,
      before.sftpFolder,
      before.sftpUsername,
    ]);
    expect(after.secretCiphertext).not.toBe(before.secretCiphertext);
    expect(after.secretCiphertext).not.toContain(sshd.password!);
    expect(decryptSecret(after.secretCiphertext!, connectionId)).toEqual({ method: 'password', password: sshd.password });

    const [entry] = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, connectionId), eq(auditLog.action, 'connection.credentials_replaced')));
    expect(entry.details).toEqual({ auth_method: 'password', host_key_changed: false });
    expect((entry.before as Json).authMethod).toBe('private_key');
    expect((entry.after as Json).authMethod).toBe('password');
    const stored = JSON.stringify(entry);
    for (const secret of [sshd.password!, sshd.privateKey, 'PRIVATE KEY', before.secretCiphertext!, after.secretCiphertext!])
      expect(stored).not.toContain(secret);
    const log = await call(activityRoute, 'GET', `/api/v1/activity-log?program=${PROGRAM}&action=connection.credentials_replaced`);
    expect((log.body.data as Json[]).map((e) => [e.action, e.target_id])).toEqual([['connection.credentials_replaced', connectionId]]);
    expect(JSON.stringify(log.body)).not.toContain(sshd.password!);

    // From now on only the password signs in: the old key is no longer authorized.
    authorizeKeys();
    const test = await call(testRoute, 'POST', '/api/v1/connections/test', {
      params: {},
      json: {
        host: sshd.host,
        port: sshd.port,
        username: sshd.username,
        folder: 'drop',
        auth: { method: 'password', password: sshd.password },
        host_key_fingerprint: sshd.hostKeyFingerprint,
      },
    });
    expect(test.body.data).toMatchObject({ ok: true, phase: 'complete' });
    expect((await lifecycle(startRoute, 'start')).status).toBe(200);
    expect((await deliverWindow(1)).status).toBe('delivered');

    // The history stays: the window delivered with the old key and the one delivered with the password.
    const history = await t.db.select().from(deliveries).where(eq(deliveries.connectionId, connectionId));
    expect(history.map((d) => d.status)).toEqual(['succeeded', 'succeeded']);
    expect((await runsOf()).map((run) => run.status)).toEqual(['delivered', 'delivered', 'planned']);
  });

  it('asks for an explicit confirmation when the server’s host key changed, and pins the new key once confirmed', async () => {
    expect((await lifecycle(stopRoute, 'stop')).status).toBe(200);
    const oldFingerprint = sshd.hostKeyFingerprint;
    const newFingerprint = await sshd.rotateHostKey();
    expect(newFingerprint).not.toBe(oldFingerprint);
    // A new key with a passphrase, authorized on the server.
    const key = generateEd25519KeyPair({ comment: 'rotated', passphrase: 'correct passphrase' });
    authorizeKeys(key.public);
    const auth = { method: 'private_key', private_key: key.private, passphrase: 'correct passphrase' };
    const before = await snapshot();

    // Against the pinned key, the test stops at the handshake and reports the key it saw.
    const pinned = await rotate({ auth });
    expect(pinned.status).toBe(422);
    const report = errorOf(pinned).details!.test as { hostKeyFingerprint: string; error: { code: string } };
    expect(report).toMatchObject({ hostKeyFingerprint: newFingerprint, error: { code: 'host_key_mismatch' } });

    // Naming the new key without confirming the change is refused before anything connects.
    const unconfirmed = await rotate({ auth, host_key_fingerprint: newFingerprint });
    expect(unconfirmed.status).toBe(422);
    expect(errorOf(unconfirmed).details!.fields!.map((f) => f.path)).toEqual(['accept_changed_host_key']);
    expect(errorOf(unconfirmed).message).toContain(`The host key ${newFingerprint} is not the pinned key ${oldFingerprint}.`);

    // A wrong passphrase fails the test.
    const wrong = await rotate({
      auth: { ...auth, passphrase: 'wrong passphrase' },
      host_key_fingerprint: newFingerprint,
      accept_changed_host_key: true,
    });
    expect(wrong.status).toBe(422);
    expect(await snapshot()).toEqual(before);

    const confirmed = await rotate({ auth, host_key_fingerprint: newFingerprint, accept_changed_host_key: true });
    expect(confirmed.status).toBe(200);
    expect((confirmed.body.data as { sftp: Json }).sftp).toMatchObject({
      auth_method: 'private_key',
      host_key_fingerprint: newFingerprint,
    });
    const entries = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, connectionId), eq(auditLog.action, 'connection.credentials_replaced')))
      .orderBy(asc(auditLog.id));
    expect(entries.map((e) => e.details)).toEqual([
      { auth_method: 'password', host_key_changed: false },
      { auth_method: 'private_key', host_key_changed: true },
    ]);
    expect([(entries[1].before as Json).hostKeyFingerprint, (entries[1].after as Json).hostKeyFingerprint]).toEqual([
      oldFingerprint,
      newFingerprint,
    ]);
    const stored = JSON.stringify(entries[1]);
    for (const secret of [key.private, 'correct passphrase', sshd.password!]) expect(stored).not.toContain(secret);

    expect((await lifecycle(startRoute, 'start')).status).toBe(200);
    expect((await deliverWindow(2)).status).toBe('delivered');
    expect((await runsOf()).map((run) => run.status)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('refuses an API connection’s rotation with 409', async () => {
    const api = await call(createRoute, 'POST', `/api/v1/connections?program=${PROGRAM}`, {
      params: {},
      json: { kind: 'api', frequency: 'daily', start_date: until.toISOString(), contact_emails: ['a@b.co'] },
    });
    const id = (api.body.data as Json).id as string;
    await call(stopRoute, 'POST', `/api/v1/connections/${id}/stop?program=${PROGRAM}`, { params: { id } });
    const r = await call(credentialsRoute, 'POST', `/api/v1/connections/${id}/credentials?program=${PROGRAM}`, {
      params: { id },
      json: { auth: { method: 'password', password: 'x' } },
    });
    expect(r.status).toBe(409);
    expect(errorOf(r).message).toBe('This is an API connection: it has no credentials to replace.');
  });
});
