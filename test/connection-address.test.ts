// The server field of the management API takes what people paste — sftp://user@host:port/folder,
// https://host, host:port, [::1]:22 — by the same rule as the set-up form
// (lib/connections/server-address.ts); conflicting or unsupported addresses are a 422 naming the
// problem with nothing saved, and the outbound policy still judges the host the address names.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as createRoute } from '@/app/api/v1/connections/route';
import { POST as testRoute } from '@/app/api/v1/connections/test/route';
import { closeDatabase } from '@/db/client';
import { auditLog, connections } from '@/db/schema';
import { startSftpSink, type SftpSink } from '@/scripts/dev/sftp-sink';
import type { RouteHandler } from '@/lib/auth/with-auth';
import { checkAnswer } from './helpers/api-answers';
import { createAccount, createPrograms, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

const PROGRAM = 404;
const PASSWORD = 'sink-password-2';
let t: TestDatabase;
let sink: SftpSink;
let work: string;
let cookie: string;

type Json = Record<string, unknown>;
type Report = { ok: boolean; phase: string; hostKeyFingerprint?: string; steps: { step: string; status: string }[]; error?: Json };

async function post(handler: RouteHandler<Record<string, string>>, url: string, json: unknown) {
  const res = await handler(request('POST', url, { cookie, json }), { params: Promise.resolve({}) });
  await checkAnswer('POST', url, res);
  return { status: res.status, body: (await res.json()) as Json };
}
const errorOf = (r: { body: Json }) => r.body.error as { message: string; details?: { fields?: { path: string; message: string }[] } };
const create = (over: Json) =>
  post(createRoute, `/api/v1/connections?program=${PROGRAM}`, {
    kind: 'sftp',
    frequency: 'daily',
    start_date: `${new Date().toISOString().slice(0, 10)}T00:00:00Z`,
    contact_emails: ['ops@example.com'],
    auth: { method: 'password', password: PASSWORD },
    host_key_fingerprint: sink.hostKeyFingerprint,
    ...over,
  });
const testConnection = (json: Json) =>
  post(testRoute, '/api/v1/connections/test', { auth: { method: 'password', password: PASSWORD }, ...json });

async function counts() {
  const [c] = await t.db.select({ n: sql<number>`count(*)::int` }).from(connections);
  const [a] = await t.db.select({ n: sql<number>`count(*)::int` }).from(auditLog);
  return { connections: c.n, audit: a.n };
}

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  work = mkdtempSync(path.join(tmpdir(), 'dde-address-'));
  sink = await startSftpSink({ rootDir: path.join(work, 'sink'), username: 'dde', password: PASSWORD });
  mkdirSync(path.join(work, 'sink', 'exports'), { recursive: true });
  await createPrograms(t.db, [{ id: PROGRAM, name: 'Addresses' }]);
  cookie = await sessionCookie(await createAccount(t.db, { role: 'firstup_super_admin' }));
});

afterAll(async () => {
  await sink?.close();
  await closeDatabase();
  await t?.drop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a pasted server address', () => {
  it('is tested as the host, port, folder and user it names', async () => {
    const first = await testConnection({ host: `sftp://dde@127.0.0.1:${sink.port}/exports` });
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ ok: true, phase: 'host_key', hostKeyFingerprint: sink.hostKeyFingerprint });
    const second = await testConnection({
      host: `sftp://dde@127.0.0.1:${sink.port}/exports`,
      host_key_fingerprint: sink.hostKeyFingerprint,
    });
    const report = second.body.data as Report;
    expect(report).toMatchObject({ ok: true, phase: 'complete' });
    expect(report.steps.map((s) => s.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
  });

  it('saves a connection with the parts split out', async () => {
    const r = await create({ name: 'Pasted', host: `sftp://dde@127.0.0.1:${sink.port}/exports/` });
    expect(r.status).toBe(201);
    expect((r.body.data as { sftp: Json }).sftp).toMatchObject({ host: '127.0.0.1', port: sink.port, folder: '/exports', username: 'dde' });
    const agreeing = await create({
      name: 'Agreeing',
      host: `127.0.0.1:${sink.port}`,
      port: sink.port,
      folder: 'exports',
      username: 'dde',
    });
    expect(agreeing.status).toBe(201);
    expect((agreeing.body.data as { sftp: Json }).sftp).toMatchObject({ host: '127.0.0.1', port: sink.port, folder: 'exports' });
  });

  it('refuses a conflicting, unsupported or incomplete address with 422 naming the problem, and saves nothing', async () => {
    const before = await counts();
    const cases: [Json, string, RegExp][] = [
      [
        { host: `sftp://dde@127.0.0.1:${sink.port}/exports`, port: sink.port + 1 },
        'port',
        new RegExp(
          `^The server address says port ${sink.port} but the port field says ${sink.port + 1}: remove one, or make them the same\\.$`,
        ),
      ],
      [{ host: `sftp://127.0.0.1:${sink.port}/exports`, folder: '/elsewhere', username: 'dde' }, 'folder', /names the folder “\/exports”/],
      [{ host: `sftp://eve@127.0.0.1:${sink.port}/exports`, username: 'dde' }, 'username', /names the user “eve”/],
      [{ host: `ftp://127.0.0.1:${sink.port}/exports`, username: 'dde' }, 'host', /^ftp:\/\/ is not supported: DDE delivers over SFTP/],
      [{ host: `sftp://dde@127.0.0.1:${sink.port}/exports?passive=1` }, 'host', /has a query/],
      [{ host: `sftp://dde:${PASSWORD}@127.0.0.1:${sink.port}/exports` }, 'host', /^Leave the password out of the server address/],
      [{ host: `127.0.0.1:${sink.port}`, username: 'dde' }, 'folder', /^Enter the destination folder\.$/],
    ];
    for (const [over, field, message] of cases) {
      for (const r of [await create(over), await testConnection(over)]) {
        expect(r.status, JSON.stringify(over)).toBe(422);
        const fields = errorOf(r).details!.fields!;
        expect(fields.map((f) => f.path)).toEqual([field]);
        expect(fields[0].message).toMatch(message);
        expect(JSON.stringify(r.body)).not.toContain(PASSWORD);
      }
    }
    expect(await counts()).toEqual(before);
  });

  it('still meets the outbound policy for the host it names', async () => {
    for (const [host, address] of [
      ['sftp://dde@127.0.0.2:22', '127.0.0.2'],
      ['[::1]:2222', '::1'],
      ['https://127.0.0.3', '127.0.0.3'],
    ]) {
      const r = await testConnection({ host, username: 'dde', folder: 'exports', host_key_fingerprint: sink.hostKeyFingerprint });
      expect(r.status).toBe(200);
      const report = r.body.data as Report;
      expect(report.ok).toBe(false);
      expect(report.steps.find((s) => s.step === 'resolve')?.status).toBe('failed');
      expect(report.error).toMatchObject({ code: 'refused' });
      expect(report.error!.message).toMatch(new RegExp(`^DDE does not connect to ${address.replace(/\./g, '\\.')} \\(a loopback address`));
    }
    const before = await counts();
    const saved = await create({ host: 'sftp://dde@127.0.0.2/exports' });
    expect(saved.status).toBe(422);
    expect(errorOf(saved).message).toMatch(/DDE does not connect to 127\.0\.0\.2/);
    expect(await counts()).toEqual(before);
  });
});
