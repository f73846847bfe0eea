// "Test connection" and SFTP set-up as an attacker with connections.write (or a data_exports.manage
// token) sees them: internal addresses refused by the outbound policy with the rule named, API
// tokens given coarse text only, no credential sent before the admin confirms the host key, and
// the expensive management routes (test connection, historical requests) limited per account.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { POST as historicalCreateRoute } from '@/app/api/v1/connections/[id]/historical-requests/route';
import { POST as createRoute } from '@/app/api/v1/connections/route';
import { POST as testRoute } from '@/app/api/v1/connections/test/route';
import { closeDatabase } from '@/db/client';
import { connections, historicalRequests, webhookDeliveries, webhookEndpoints, type Account } from '@/db/schema';
import { encryptWebhookSecret } from '@/lib/webhooks/secret';
import { POST as webhookTestRoute } from '@/app/api/v1/webhooks/[id]/test/route';
import { createApiToken } from '@/lib/auth/tokens';
import { publicKeyLineFingerprint } from '@/lib/delivery/fingerprint';
import { generateEd25519KeyPair, startSftpSink, type SftpSink } from '@/scripts/dev/sftp-sink';
import { COARSE_CONNECT_FAILURE } from '@/lib/delivery/test-connection';
import { resetEnv } from '@/lib/env';
import { PgRateLimiter, setExpensiveLimiter } from '@/lib/http/rate-limit';
import type { RouteHandler } from '@/lib/auth/with-auth';
import { createAccount, createPrograms, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let sink: SftpSink;
let work: string;
let admin: Account;
let cookie: string;
let manageToken: string;
const PASSWORD = 'sink-password-1';
const PROGRAM = 703;

/** An SSH server that records every authentication attempt and accepts none. */
type Recorder = { port: number; fingerprint: string; attempts: string[]; close: () => Promise<void> };
async function startRecorder(): Promise<Recorder> {
  const key = generateEd25519KeyPair();
  const attempts: string[] = [];
  const server = new ssh2.Server({ hostKeys: [key.private] }, (client) => {
    client.on('authentication', (ctx) => {
      attempts.push(ctx.method);
      ctx.reject(['password']);
    });
    client.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    fingerprint: publicKeyLineFingerprint(key.public),
    attempts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port on 127.0.0.1 with nothing listening. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

type Json = Record<string, unknown>;
type Step = { step: string; status: string; detail?: string; durationMs?: number; error?: { code: string; message: string } };
type Report = { ok: boolean; phase: string; hostKeyFingerprint?: string; steps: Step[]; error?: { code: string; message: string } };

async function post<P extends Record<string, string>>(
  handler: RouteHandler<P>,
  p: string,
  body: unknown,
  auth: { cookie?: string; token?: string },
  params: Json = {},
) {
  const res = await handler(request('POST', p, { ...auth, json: body }), { params: Promise.resolve(params as P) });
  return { status: res.status, body: (await res.json()) as Json };
}
const test = (body: Json, auth: { cookie?: string; token?: string } = { cookie }) =>
  post(testRoute, '/api/v1/connections/test', body, auth);
const reportOf = (r: { body: Json }) => r.body.data as Report;
const step = (r: Report, name: string) => r.steps.find((s) => s.step === name)!;
const dest = (over: Json = {}): Json => ({
  host: sink.host,
  port: sink.port,
  username: 'dde',
  folder: '/',
  auth: { method: 'password', password: PASSWORD },
  ...over,
});

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  work = mkdtempSync(path.join(tmpdir(), 'dde-security-sftp-'));
  sink = await startSftpSink({ rootDir: path.join(work, 'sink'), username: 'dde', password: PASSWORD });
  await createPrograms(t.db, [{ id: PROGRAM, name: 'Policy Program' }]);
  admin = await createAccount(t.db, { role: 'firstup_super_admin' });
  cookie = await sessionCookie(admin);
  // The per-account budget of connection tests is exercised on its own below.
  setExpensiveLimiter('connection_test', null);
  manageToken = (await createApiToken(t.db, { kind: 'personal', accountId: admin.id, scopes: ['data_exports.manage'], name: 'ops' })).token;
}, 60_000);
afterAll(async () => {
  setExpensiveLimiter('connection_test', undefined);
  await sink?.close();
  await closeDatabase();
  await t?.drop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('Test connection in two steps (finding: the password was sent before the host key was confirmed)', () => {
  it('without a fingerprint connects, shows the host key and sends no credential', async () => {
    const rec = await startRecorder();
    try {
      const first = await test(dest({ port: rec.port }));
      expect(first.status).toBe(200);
      const r = reportOf(first);
      expect(r).toMatchObject({ ok: true, phase: 'host_key', hostKeyFingerprint: rec.fingerprint });
      expect(r.steps.map((s) => [s.step, s.status])).toEqual([
        ['resolve', 'ok'],
        ['connect', 'ok'],
        ['handshake', 'ok'],
        ['authenticate', 'skipped'],
        ['folder_exists', 'skipped'],
        ['folder_writable', 'skipped'],
      ]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(rec.attempts).toEqual([]);

      // Once confirmed, the second step signs in (this server refuses everyone).
      const second = reportOf(await test(dest({ port: rec.port, host_key_fingerprint: rec.fingerprint })));
      expect(second).toMatchObject({ ok: false, phase: 'complete', error: { code: 'auth_failed' } });
      expect(rec.attempts).toContain('password');
    } finally {
      await rec.close();
    }
  });

  it('with the confirmed fingerprint runs every step against a good server', async () => {
    const r = reportOf(await test(dest({ host_key_fingerprint: sink.hostKeyFingerprint })));
    expect(r).toMatchObject({ ok: true, phase: 'complete', hostKeyFingerprint: sink.hostKeyFingerprint });
    expect(step(r, 'folder_writable').status).toBe('ok');
  });

  it('with a different fingerprint stops at the handshake and sends nothing', async () => {
    const rec = await startRecorder();
    try {
      const r = reportOf(await test(dest({ port: rec.port, host_key_fingerprint: sink.hostKeyFingerprint })));
      expect(r).toMatchObject({ ok: false, error: { code: 'host_key_mismatch' } });
      expect(rec.attempts).toEqual([]);
    } finally {
      await rec.close();
    }
  });
});

describe('the outbound policy (finding: the host field reached loopback, private and metadata addresses)', () => {
  it('refuses a loopback address outside the allow list, naming the rule, before connecting', async () => {
    const r = reportOf(await test(dest({ host: '127.0.0.2', host_key_fingerprint: sink.hostKeyFingerprint })));
    expect(r.ok).toBe(false);
    expect(step(r, 'resolve').status).toBe('failed');
    expect(step(r, 'connect').status).toBe('skipped');
    expect(r.error).toMatchObject({ code: 'refused', retryable: false });
    expect(r.error!.message).toBe(
      'DDE does not connect to 127.0.0.2 (a loopback address (this machine), 127.0.0.0/8; rule "loopback"). An operator can allow it with DDE_OUTBOUND_ALLOWED_NETWORKS.',
    );
  });

  it('refuses a name that resolves to loopback, and the allowed server once the allow list is empty', async () => {
    const saved = process.env.DDE_OUTBOUND_ALLOWED_NETWORKS;
    useTestEnv(t, { DDE_OUTBOUND_ALLOWED_NETWORKS: '' });
    try {
      const byName = reportOf(await test(dest({ host: 'localhost' })));
      expect(byName.error?.message).toMatch(
        /rule "loopback"\)\. An operator can allow it with DDE_OUTBOUND_ALLOWED_NETWORKS\. \(localhost resolves to (127\.0\.0\.1|::1)\)$/,
      );
      const direct = reportOf(await test(dest()));
      expect(direct.error?.message).toContain('DDE does not connect to 127.0.0.1');
    } finally {
      useTestEnv(t, { DDE_OUTBOUND_ALLOWED_NETWORKS: saved });
    }
  });

  it('refuses to save a connection to a refused address, and saves nothing', async () => {
    const before = await t.db.select({ n: sql<number>`count(*)::int` }).from(connections);
    const res = await post(
      createRoute,
      `/api/v1/connections?program=${PROGRAM}`,
      {
        kind: 'sftp',
        name: 'Internal',
        frequency: 'daily',
        start_date: `${new Date().toISOString().slice(0, 10)}T00:00:00Z`,
        contact_emails: ['ops@example.com'],
        ...dest({ host: '127.0.0.2', host_key_fingerprint: sink.hostKeyFingerprint }),
      },
      { cookie },
    );
    expect(res.status).toBe(422);
    expect((res.body.error as { message: string }).message).toContain('rule "loopback"');
    expect(await t.db.select({ n: sql<number>`count(*)::int` }).from(connections)).toEqual(before);
  });

  it('gives API tokens one coarse answer: refused, closed and non-SSH ports look alike', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      sockets.add(s);
      s.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const targets = [
        dest({ host: '127.0.0.2' }),
        dest({ port: await closedPort() }),
        dest({ port: (silent.address() as AddressInfo).port }),
        dest({ host: '127.0.0.2', host_key_fingerprint: sink.hostKeyFingerprint }),
      ];
      for (const target of targets) {
        const res = await test(target, { token: manageToken });
        expect(res.status).toBe(200);
        const r = reportOf(res);
        expect(r).toEqual({
          ok: false,
          phase: target.host_key_fingerprint ? 'complete' : 'host_key',
          steps: [
            { step: 'resolve', label: 'Resolve the host name', status: 'skipped' },
            {
              step: 'connect',
              label: 'Open a TCP connection',
              status: 'failed',
              error: { code: 'unknown', retryable: true, message: COARSE_CONNECT_FAILURE },
            },
            { step: 'handshake', label: 'SSH handshake and host key', status: 'skipped' },
            { step: 'authenticate', label: 'Sign in', status: 'skipped' },
            { step: 'folder_exists', label: 'Destination folder exists', status: 'skipped' },
            { step: 'folder_writable', label: 'Destination folder is writable', status: 'skipped' },
          ],
          error: { code: 'unknown', retryable: true, message: COARSE_CONNECT_FAILURE },
        });
      }
      // A signed-in admin still sees what went wrong.
      const admins = reportOf(await test(dest({ host: '127.0.0.2' })));
      expect(admins.error?.message).toContain('rule "loopback"');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('limits on the expensive management routes (finding: fired without bound)', () => {
  it('refuses the 11th connection test in a minute per account with 429, other accounts unaffected', async () => {
    setExpensiveLimiter('connection_test', undefined);
    onTestFinished(() => setExpensiveLimiter('connection_test', null));
    const a = await createAccount(t.db, { role: 'firstup_super_admin' });
    const mine = await sessionCookie(a);
    for (let i = 0; i < 10; i++) expect((await test(dest({ host: '127.0.0.2' }), { cookie: mine })).status).toBe(200);
    const refused = await test(dest({ host: '127.0.0.2' }), { cookie: mine });
    expect(refused.status).toBe(429);
    expect((refused.body.error as { code: string; message: string }).message).toMatch(
      /^Too many connection tests: the limit is 10 per minute\. Retry in \d+ s\.$/,
    );
    const b = await createAccount(t.db, { role: 'firstup_super_admin' });
    expect((await test(dest({ host: '127.0.0.2' }), { cookie: await sessionCookie(b) })).status).toBe(200);
  });

  it('takes its budget from DDE_CONNECTION_TESTS_PER_MINUTE: with 3, the 4th test in a minute is refused', async () => {
    setExpensiveLimiter('connection_test', undefined);
    resetEnv({ DDE_CONNECTION_TESTS_PER_MINUTE: '3' });
    onTestFinished(() => {
      resetEnv({ DDE_CONNECTION_TESTS_PER_MINUTE: undefined });
      setExpensiveLimiter('connection_test', null);
    });
    const a = await createAccount(t.db, { role: 'firstup_super_admin' });
    const mine = await sessionCookie(a);
    for (let i = 0; i < 3; i++) expect((await test(dest({ host: '127.0.0.2' }), { cookie: mine })).status).toBe(200);
    const refused = await test(dest({ host: '127.0.0.2' }), { cookie: mine });
    expect(refused.status).toBe(429);
    expect((refused.body.error as { message: string }).message).toMatch(/^Too many connection tests: the limit is 3 per minute\./);
  });

  it('spends the connection-test budget on the SFTP set-up check of a new connection: 429 once spent, nothing created', async () => {
    setExpensiveLimiter('connection_test', new PgRateLimiter(t.sql, 'connection_test_create', 1, 60));
    onTestFinished(() => setExpensiveLimiter('connection_test', null));
    const create = () =>
      post(
        createRoute,
        `/api/v1/connections?program=${PROGRAM}`,
        {
          kind: 'sftp',
          name: 'Budget',
          frequency: 'daily',
          start_date: `${new Date().toISOString().slice(0, 10)}T00:00:00Z`,
          contact_emails: ['a@example.com'],
          ...dest({ host: '127.0.0.2', host_key_fingerprint: `SHA256:${'A'.repeat(43)}` }),
        },
        { cookie },
      );
    const count = async () => (await t.db.select({ n: sql<number>`count(*)::int` }).from(connections))[0].n;
    const before = await count();
    expect((await create()).status).toBe(422);
    const refused = await create();
    expect(refused.status).toBe(429);
    expect((refused.body.error as { message: string }).message).toMatch(/^Too many connection tests: the limit is 1 per minute\./);
    expect(await count()).toBe(before);
  });

  it('spends a budget on webhook tests (an outbound POST sent at once): 429 once spent, nothing sent', async () => {
    setExpensiveLimiter('webhook_send', new PgRateLimiter(t.sql, 'webhook_send_test', 1, 60));
    onTestFinished(() => setExpensiveLimiter('webhook_send', undefined));
    const [conn] = await t.db
      .insert(connections)
      .values({ programId: PROGRAM, kind: 'api', frequency: 'daily', startDate: new Date() })
      .returning();
    const id = crypto.randomUUID();
    await t.db.insert(webhookEndpoints).values({
      id,
      programId: PROGRAM,
      connectionId: conn.id,
      url: 'http://127.0.0.2:9/hook',
      events: ['files.ready'],
      secretCiphertext: encryptWebhookSecret('whsec_budget', id),
    });
    const send = () => post(webhookTestRoute, `/api/v1/webhooks/${id}/test?program=${PROGRAM}`, {}, { cookie }, { id });
    const first = await send();
    expect(first.status).toBe(200);
    const refused = await send();
    expect(refused.status).toBe(429);
    expect((refused.body.error as { message: string }).message).toMatch(
      /^Too many webhook tests and redeliveries: the limit is 1 per minute\./,
    );
    const messages = await t.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, id));
    expect(messages).toHaveLength(1);
  });

  it('refuses historical requests over the account’s budget with 429, and creates none', async () => {
    setExpensiveLimiter('historical_request', new PgRateLimiter(t.sql, 'historical_request_test', 2, 3600));
    try {
      const created = await post(
        createRoute,
        `/api/v1/connections?program=${PROGRAM}`,
        {
          kind: 'api',
          name: 'Pipeline',
          frequency: 'daily',
          start_date: `${new Date().toISOString().slice(0, 10)}T00:00:00Z`,
          contact_emails: ['data@example.com'],
        },
        { cookie },
      );
      expect(created.status).toBe(201);
      const id = (created.body.data as { id: string }).id;
      const url = `/api/v1/connections/${id}/historical-requests?program=${PROGRAM}`;
      const from = new Date(Date.now() - 60 * 86_400_000).toISOString().slice(0, 10);
      const ask = () => post(historicalCreateRoute, url, { from }, { cookie }, { id });
      const first = await ask();
      expect(first.status).toBe(201);
      const cancelled = (first.body.data as { id: string }).id;
      await t.db.update(historicalRequests).set({ status: 'cancelled' }).where(eq(historicalRequests.id, cancelled));
      expect((await ask()).status).not.toBe(429);
      const count = async () => (await t.db.select({ n: sql<number>`count(*)::int` }).from(historicalRequests))[0].n;
      const before = await count();
      const refused = await ask();
      expect(refused.status).toBe(429);
      expect((refused.body.error as { message: string }).message).toMatch(
        /^Too many historical requests: the limit is 2 per hour\. Retry in \d+ s\.$/,
      );
      expect(await count()).toBe(before);
    } finally {
      setExpensiveLimiter('historical_request', undefined);
    }
  });
});
