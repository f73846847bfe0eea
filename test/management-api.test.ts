// The management API as the pages and API clients use it: every route's promise for a Firstup Super
// Admin, read-only Brand Super Admins refused on every write with nothing changed, other programs'
// rows not found, bad input answered 422 with field paths, and the event history paged by keyset.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as activityRoute } from '@/app/api/v1/activity-log/route';
import { GET as configRoute } from '@/app/api/v1/config/route';
import { POST as pauseRoute } from '@/app/api/v1/connections/[id]/pause/route';
import { POST as resumeRoute } from '@/app/api/v1/connections/[id]/resume/route';
import { DELETE as deleteRoute, GET as getRoute, PATCH as patchRoute } from '@/app/api/v1/connections/[id]/route';
import { GET as runsRoute } from '@/app/api/v1/connections/[id]/runs/route';
import { POST as startRoute } from '@/app/api/v1/connections/[id]/start/route';
import { GET as statsRoute } from '@/app/api/v1/connections/[id]/stats/route';
import { POST as stopRoute } from '@/app/api/v1/connections/[id]/stop/route';
import { GET as historicalListRoute, POST as historicalCreateRoute } from '@/app/api/v1/connections/[id]/historical-requests/route';
import { GET as listRoute, POST as createRoute } from '@/app/api/v1/connections/route';
import { POST as testRoute } from '@/app/api/v1/connections/test/route';
import { POST as cancelRoute } from '@/app/api/v1/historical-requests/[id]/cancel/route';
import { GET as openapiRoute } from '@/app/api/v1/openapi.json/route';
import { POST as retryRoute } from '@/app/api/v1/runs/[id]/retry/route';
import { GET as runRoute } from '@/app/api/v1/runs/[id]/route';
import { closeDatabase } from '@/db/client';
import { apiClients, connections, deliveries, exportFiles, exportRuns, type Account } from '@/db/schema';
import { createApiToken } from '@/lib/auth/tokens';
import { startSftpSink, type SftpSink } from '@/scripts/dev/sftp-sink';
import type { RouteHandler } from '@/lib/auth/with-auth';
import { MANAGEMENT_API_OPERATIONS } from '@/lib/management/operations';
import { checkAnswer } from './helpers/api-answers';
import { createAccount, createPrograms, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let firstup: Account;
let brand: Account;
let firstupCookie: string;
let brandCookie: string;
let sink: SftpSink;
let work: string;
const PASSWORD = 'sink-password-1';

type Json = Record<string, unknown>;
type Call = { method: string; path: string; params?: Record<string, string>; json?: unknown; cookie?: string };

/** Calls a route as a client would, and checks the answer against the API's schemas (helpers/api-answers.ts). */
async function call<P extends Record<string, string>>(handler: RouteHandler<P>, c: Call): Promise<{ status: number; body: Json }> {
  const res = await handler(request(c.method, c.path, { cookie: c.cookie ?? firstupCookie, json: c.json }), {
    params: Promise.resolve((c.params ?? {}) as P),
  });
  await checkAnswer(c.method, c.path, res);
  const body = (await res.json()) as Json;
  return { status: res.status, body };
}
const data = <T = Json>(r: { body: Json }) => r.body.data as T;
const fieldPaths = (r: { body: Json }) =>
  ((r.body.error as { details?: { fields?: { path: string }[] } }).details?.fields ?? []).map((f) => f.path);

const today = `${new Date().toISOString().slice(0, 10)}T00:00:00Z`;
const apiBody = (name: string) => ({ kind: 'api', name, frequency: 'daily', start_date: today, contact_emails: ['data@example.com'] });
const sftpBody = (over: Json = {}) => ({
  kind: 'sftp',
  name: 'Warehouse SFTP',
  frequency: 'every_4_hours',
  start_date: today,
  contact_emails: ['ops@example.com'],
  host: sink.host,
  port: sink.port,
  folder: '/',
  username: 'dde',
  auth: { method: 'password', password: PASSWORD },
  host_key_fingerprint: sink.hostKeyFingerprint,
  ...over,
});

let apiConn: Json;
let sftpConn: Json;
let otherConn: Json;

/** Every row of the tables a write route could touch, so "nothing changed" is checked exactly. */
async function snapshot() {
  const tables = ['connections', 'export_runs', 'export_files', 'deliveries', 'historical_requests', 'audit_log', 'notifications'];
  const out: Record<string, string> = {};
  for (const table of tables) {
    const rows = await t.db.execute<{ h: string | null; n: number }>(
      sql.raw(`select md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h, count(*)::int as n from ${table} x`),
    );
    const [row] = rows as unknown as { h: string; n: number }[];
    out[table] = `${row.n}:${row.h}`;
  }
  return out;
}

const DAY = 86_400_000;
const runIds: Record<string, string> = {};

async function seedRuns(connectionId: string) {
  const base = Date.UTC(2026, 9, 1);
  // Seven delivered daily windows (for paging and stats), then a failed run with expired files, a failed run with fresh files.
  for (let i = 0; i < 7; i++) {
    const start = new Date(base + i * DAY);
    const end = new Date(start.getTime() + DAY);
    await t.db.insert(exportRuns).values({
      connectionId,
      programId: 101,
      exportType: 'incremental',
      windowStart: start,
      windowEnd: end,
      status: 'delivered',
      rowsTotal: 100 + i,
      bytesTotal: 1000 + i,
      filesCount: 1,
      startedAt: end,
      generatedAt: end,
      finishedAt: new Date(end.getTime() + 600_000),
      createdAt: end,
    });
  }
  const now = Date.now();
  const [expired] = await t.db
    .insert(exportRuns)
    .values({
      connectionId,
      programId: 101,
      exportType: 'historical',
      windowStart: new Date(base - 40 * DAY),
      windowEnd: new Date(base - 39 * DAY),
      status: 'failed',
      errorCode: 'auth_failed',
      errorMessage: 'Sign-in rejected',
      generatedAt: new Date(base - 39 * DAY),
      finishedAt: new Date(base - 39 * DAY),
    })
    .returning();
  await t.db.insert(exportFiles).values({
    runId: expired.id,
    programId: 101,
    fileType: 'user',
    exportType: 'historical',
    name: 'users_old.csv.gz',
    storageKey: 'k/old',
    windowStart: expired.windowStart,
    windowEnd: expired.windowEnd,
    rows: 1,
    bytes: 10,
    sha256: 'a'.repeat(64),
    format: 'csv',
    compression: 'gzip',
    expiresAt: new Date('2026-11-20T00:00:00Z'),
    expired: true,
  });
  const [fresh] = await t.db
    .insert(exportRuns)
    .values({
      connectionId,
      programId: 101,
      exportType: 'incremental',
      windowStart: new Date(now - 2 * DAY),
      windowEnd: new Date(now - DAY),
      status: 'failed',
      errorCode: 'timeout',
      errorMessage: 'Timed out',
      generatedAt: new Date(now - DAY),
      finishedAt: new Date(now - DAY + 60_000),
    })
    .returning();
  await t.db.insert(exportFiles).values({
    runId: fresh.id,
    programId: 101,
    fileType: 'activity',
    exportType: 'incremental',
    name: 'activity_fresh.csv.gz',
    storageKey: 'k/fresh',
    windowStart: fresh.windowStart,
    windowEnd: fresh.windowEnd,
    rows: 5,
    bytes: 50,
    sha256: 'b'.repeat(64),
    format: 'csv',
    compression: 'gzip',
    expiresAt: new Date(now + 5 * DAY),
  });
  await t.db.insert(deliveries).values({
    runId: fresh.id,
    connectionId,
    programId: 101,
    destination: 'dde@127.0.0.1:22, folder /',
    attempt: 1,
    status: 'failed',
    errorCode: 'timeout',
    errorMessage: 'Timed out',
    retryable: true,
    startedAt: new Date(now - DAY),
    finishedAt: new Date(now - DAY + 60_000),
  });
  const [recent] = await t.db
    .insert(exportRuns)
    .values({
      connectionId,
      programId: 101,
      exportType: 'incremental',
      windowStart: new Date(now - 3 * DAY),
      windowEnd: new Date(now - 2 * DAY),
      status: 'delivered',
      rowsTotal: 42,
      bytesTotal: 4200,
      filesCount: 1,
      finishedAt: new Date(now - 2 * DAY + 90_000),
    })
    .returning();
  runIds.expired = expired.id;
  runIds.fresh = fresh.id;
  runIds.recent = recent.id;
}

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t, { DDE_EGRESS_INFO: 'Outbound from 203.0.113.7' });
  work = mkdtempSync(path.join(tmpdir(), 'dde-mgmt-'));
  sink = await startSftpSink({ rootDir: path.join(work, 'sink'), username: 'dde', password: PASSWORD });
  await createPrograms(t.db, [
    { id: 101, name: 'Acme' },
    { id: 202, name: 'Globex' },
  ]);
  firstup = await createAccount(t.db, { role: 'firstup_super_admin' });
  brand = await createAccount(t.db, { role: 'brand_super_admin', programIds: [101] });
  firstupCookie = await sessionCookie(firstup);
  brandCookie = await sessionCookie(brand);
  const a = await call(createRoute, { method: 'POST', path: '/api/v1/connections?program=101', json: apiBody('Nightly API') });
  expect(a.status).toBe(201);
  apiConn = data(a);
  const o = await call(createRoute, { method: 'POST', path: '/api/v1/connections?program=202', json: apiBody('Globex API') });
  otherConn = data(o);
  await seedRuns(apiConn.id as string);
}, 30_000);

afterAll(async () => {
  await sink?.close();
  await closeDatabase();
  await t?.drop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('connections', () => {
  it('creates an SFTP connection after its set-up test passes, and never shows the secret', async () => {
    const r = await call(createRoute, { method: 'POST', path: '/api/v1/connections?program=101', json: sftpBody() });
    expect(r.status).toBe(201);
    sftpConn = data(r);
    expect(sftpConn).toMatchObject({
      program_id: 101,
      kind: 'sftp',
      status: 'active',
      frequency: 'every_4_hours',
      format: 'csv',
      sftp: {
        host: sink.host,
        port: sink.port,
        folder: '/',
        username: 'dde',
        auth_method: 'password',
        host_key_fingerprint: sink.hostKeyFingerprint,
      },
      last_delivery: null,
    });
    expect(sftpConn.last_tested_at).toBeTruthy();
    expect(JSON.stringify(r.body)).not.toContain(PASSWORD);
  });

  it('refuses an SFTP connection whose test fails with 422 and the test report, saving nothing', async () => {
    const before = await snapshot();
    const r = await call(createRoute, {
      method: 'POST',
      path: '/api/v1/connections?program=101',
      json: sftpBody({ auth: { method: 'password', password: 'wrong' } }),
    });
    expect(r.status).toBe(422);
    const details = (r.body.error as { details: { test: { ok: boolean; steps: { step: string; status: string }[] } } }).details;
    expect(details.test.ok).toBe(false);
    expect(details.test.steps.find((s) => s.step === 'authenticate')?.status).toBe('failed');
    expect(await snapshot()).toEqual(before);
  });

  it('lists the program’s connections with last delivery and next window', async () => {
    const r = await call(listRoute, { method: 'GET', path: '/api/v1/connections?program=101' });
    expect(r.status).toBe(200);
    const list = data<Json[]>(r);
    expect(list.map((c) => c.id)).toEqual([apiConn.id, sftpConn.id]);
    const api = list[0];
    expect(api).toMatchObject({ kind: 'api', sftp: null, name: 'Nightly API', contact_emails: ['data@example.com'] });
    expect(api.last_delivery).toMatchObject({ run_id: runIds.fresh, status: 'failed' });
    expect(api.next_window).toEqual({ start: today.replace('Z', '.000Z'), end: new Date(Date.parse(today) + DAY).toISOString() });
    expect(list.every((c) => !('secret_ciphertext' in c) && !('secretCiphertext' in c))).toBe(true);
  });

  it('asks which program when the account sees several, and answers 404 for programs that do not exist', async () => {
    const missing = await call(listRoute, { method: 'GET', path: '/api/v1/connections' });
    expect(missing.status).toBe(422);
    expect(fieldPaths(missing)).toEqual(['program']);
    expect((await call(listRoute, { method: 'GET', path: '/api/v1/connections?program=999' })).status).toBe(404);
    expect((await call(listRoute, { method: 'GET', path: '/api/v1/connections?program=abc' })).status).toBe(422);
    // A Brand Super Admin with one program needs no ?program=, and never sees another program.
    const own = await call(listRoute, { method: 'GET', path: '/api/v1/connections', cookie: brandCookie });
    expect(data<Json[]>(own).map((c) => c.id)).toEqual([apiConn.id, sftpConn.id]);
    expect((await call(listRoute, { method: 'GET', path: '/api/v1/connections?program=202', cookie: brandCookie })).status).toBe(404);
  });

  it('answers 422 with field paths for bad create input, never 500', async () => {
    const r = await call(createRoute, {
      method: 'POST',
      path: '/api/v1/connections?program=101',
      json: {
        kind: 'sftp',
        frequency: 'daily',
        start_date: today,
        contact_emails: ['x@example.com'],
        host: 'ftp://bad/',
        port: 70000,
        folder: '../up',
        username: '',
        auth: { method: 'telepathy' },
      },
    });
    expect(r.status).toBe(422);
    expect(fieldPaths(r)).toEqual(expect.arrayContaining(['host', 'port', 'folder', 'username', 'auth.method', 'host_key_fingerprint']));
    const kind = await call(createRoute, { method: 'POST', path: '/api/v1/connections?program=101', json: { kind: 'ftp' } });
    expect(kind.status).toBe(422);
  });

  it('shows one connection; another program’s connection, a deleted or malformed id is not found', async () => {
    const r = await call(getRoute, {
      method: 'GET',
      path: `/api/v1/connections/${apiConn.id}?program=101`,
      params: { id: apiConn.id as string },
    });
    expect(r.status).toBe(200);
    expect(data(r).id).toBe(apiConn.id);
    const other = { id: otherConn.id as string };
    for (const [handler, method] of [
      [getRoute, 'GET'],
      [patchRoute, 'PATCH'],
      [deleteRoute, 'DELETE'],
      [stopRoute, 'POST'],
      [runsRoute, 'GET'],
      [statsRoute, 'GET'],
      [historicalListRoute, 'GET'],
    ] as const) {
      const res = await call(handler as RouteHandler<{ id: string }>, {
        method,
        path: `/api/v1/connections/${other.id}?program=101`,
        params: other,
        json: method === 'PATCH' ? { name: 'x' } : undefined,
      });
      expect(res.status, `${method} ${handler.name}`).toBe(404);
    }
    expect((await call(getRoute, { method: 'GET', path: '/api/v1/connections/nope?program=101', params: { id: 'nope' } })).status).toBe(
      404,
    );
  });

  it('edits only a stopped connection, refuses immutable fields naming delete-and-recreate, then starts it again', async () => {
    const id = sftpConn.id as string;
    const p = { id };
    const url = `/api/v1/connections/${id}?program=101`;
    const active = await call(patchRoute, { method: 'PATCH', path: url, params: p, json: { frequency: 'daily' } });
    expect(active.status).toBe(409);
    const stopped = await call(stopRoute, { method: 'POST', path: url.replace('?', '/stop?'), params: p });
    expect(data(stopped)).toMatchObject({ status: 'stopped', next_window: null });
    expect((await call(stopRoute, { method: 'POST', path: url.replace('?', '/stop?'), params: p })).status).toBe(409);
    const immutable = await call(patchRoute, {
      method: 'PATCH',
      path: url,
      params: p,
      json: { host: 'elsewhere.example', frequency: 'daily' },
    });
    expect(immutable.status).toBe(422);
    expect(fieldPaths(immutable)).toEqual(['host']);
    expect((immutable.body.error as { message: string }).message).toMatch(/Delete this connection and create a new one/);
    const bad = await call(patchRoute, { method: 'PATCH', path: url, params: p, json: { frequency: 'hourly', contact_emails: ['nope'] } });
    expect(bad.status).toBe(422);
    expect(fieldPaths(bad)).toEqual(expect.arrayContaining(['frequency', 'contact_emails.0']));
    // The message names the field and the value as typed, not "contact_emails.1".
    const email = await call(patchRoute, {
      method: 'PATCH',
      path: url,
      params: p,
      json: { contact_emails: ['ok@example.com', 'data@exam_ple.com'] },
    });
    expect(email.status).toBe(422);
    expect((email.body.error as { message: string }).message).toBe('Contact emails: “data@exam_ple.com” is not a valid email address.');
    const frequency = await call(patchRoute, { method: 'PATCH', path: url, params: p, json: { frequency: 'hourly' } });
    expect((frequency.body.error as { message: string }).message).toMatch(/^Frequency: .* \(you entered “hourly”\)\.$/);
    const edited = await call(patchRoute, {
      method: 'PATCH',
      path: url,
      params: p,
      json: { frequency: 'daily', contact_emails: ['New@Example.com'], name: 'Renamed' },
    });
    expect(edited.status).toBe(200);
    expect(data(edited)).toMatchObject({ frequency: 'daily', contact_emails: ['new@example.com'], name: 'Renamed', status: 'stopped' });
    const started = await call(startRoute, { method: 'POST', path: url.replace('?', '/start?'), params: p });
    expect(data(started).status).toBe('active');
    expect((await call(startRoute, { method: 'POST', path: url.replace('?', '/start?'), params: p })).status).toBe(409);
  });

  it('pauses (after transfer or immediately) and resumes, 409 on the wrong state, 422 for a bad mode', async () => {
    const p = { id: sftpConn.id as string };
    const url = `/api/v1/connections/${p.id}/pause?program=101`;
    expect((await call(pauseRoute, { method: 'POST', path: url, params: p, json: { mode: 'later' } })).status).toBe(422);
    const paused = await call(pauseRoute, { method: 'POST', path: url, params: p, json: { mode: 'after_transfer' } });
    expect(data(paused)).toMatchObject({ status: 'paused', pause_mode: 'after_transfer' });
    expect((await call(pauseRoute, { method: 'POST', path: url, params: p, json: { mode: 'immediately' } })).status).toBe(409);
    const resumeUrl = `/api/v1/connections/${p.id}/resume?program=101`;
    const resumed = await call(resumeRoute, { method: 'POST', path: resumeUrl, params: p });
    expect(data(resumed)).toMatchObject({ status: 'active', pause_mode: null });
    expect((await call(resumeRoute, { method: 'POST', path: resumeUrl, params: p })).status).toBe(409);
    const now = await call(pauseRoute, { method: 'POST', path: url, params: p, json: { mode: 'immediately' } });
    expect(data(now)).toMatchObject({ status: 'paused', pause_mode: 'immediately' });
  });
});

describe('editing an older connection', () => {
  it('accepts the unchanged start date a form sends back, and still refuses moving it far into the past', async () => {
    const created = data(
      await call(createRoute, { method: 'POST', path: '/api/v1/connections?program=202', json: apiBody('Old schedule') }),
    );
    const id = created.id as string;
    const started = new Date(Date.parse(today) - 60 * DAY);
    await t.db.update(connections).set({ startDate: started }).where(eq(connections.id, id));
    const url = `/api/v1/connections/${id}?program=202`;
    await call(stopRoute, { method: 'POST', path: `/api/v1/connections/${id}/stop?program=202`, params: { id } });
    const same = await call(patchRoute, {
      method: 'PATCH',
      path: url,
      params: { id },
      json: { start_date: started.toISOString(), frequency: 'weekly' },
    });
    expect(same.status).toBe(200);
    expect(data(same)).toMatchObject({ frequency: 'weekly', start_date: started.toISOString() });
    const older = await call(patchRoute, {
      method: 'PATCH',
      path: url,
      params: { id },
      json: { start_date: new Date(started.getTime() - DAY).toISOString() },
    });
    expect(older.status).toBe(422);
    expect(fieldPaths(older)).toEqual(['start_date']);
  });
});

describe('API tokens', () => {
  it("lets a one-program account's personal token work without ?program=, and never reach another program", async () => {
    const { token } = await createApiToken(t.db, { kind: 'personal', accountId: brand.id, scopes: ['data_exports.manage'] });
    const list = await listRoute(request('GET', '/api/v1/connections', { token }), { params: Promise.resolve({}) });
    expect(list.status).toBe(200);
    const other = await listRoute(request('GET', '/api/v1/connections?program=202', { token }), { params: Promise.resolve({}) });
    expect(other.status).toBe(404);
  });

  it('answers an API client 404 on the management API, even one that holds data_exports.manage', async () => {
    const [client] = await t.db
      .insert(apiClients)
      .values({
        programId: 101,
        name: 'Acme warehouse',
        clientId: 'acme-mgmt',
        secretHash: 'x',
        scopes: ['data_exports.read', 'data_exports.manage'],
      })
      .returning();
    const { token } = await createApiToken(t.db, {
      kind: 'client',
      apiClientId: client.id,
      programId: 101,
      scopes: ['data_exports.manage'],
    });
    const list = await listRoute(request('GET', '/api/v1/connections', { token }), { params: Promise.resolve({}) });
    expect(list.status).toBe(404);
    const refused = await stopRoute(request('POST', `/api/v1/connections/${sftpConn.id}/stop`, { token }), {
      params: Promise.resolve({ id: sftpConn.id as string }),
    });
    expect(refused.status).toBe(404);
    const [row] = await t.db
      .select()
      .from(connections)
      .where(eq(connections.id, sftpConn.id as string));
    expect(row.status).not.toBe('stopped');
  });
});

describe('test connection', () => {
  it('reports each step and the host key for a reachable server', async () => {
    const r = await call(testRoute, {
      method: 'POST',
      path: '/api/v1/connections/test?program=101',
      json: { host: sink.host, port: sink.port, username: 'dde', folder: '/', auth: { method: 'password', password: PASSWORD } },
    });
    expect(r.status).toBe(200);
    expect(data(r)).toMatchObject({ ok: true, hostKeyFingerprint: sink.hostKeyFingerprint });
  });

  it('answers 200 with the failed step for a server fault, and 422 for bad input', async () => {
    const r = await call(testRoute, {
      method: 'POST',
      path: '/api/v1/connections/test',
      json: {
        host: sink.host,
        port: sink.port,
        username: 'dde',
        folder: '/',
        auth: { method: 'password', password: 'wrong' },
        host_key_fingerprint: sink.hostKeyFingerprint,
      },
    });
    expect(r.status).toBe(200);
    expect(data(r)).toMatchObject({ ok: false, error: { code: 'auth_failed' } });
    const bad = await call(testRoute, {
      method: 'POST',
      path: '/api/v1/connections/test',
      json: { host: '', port: 'x', username: 'dde', folder: '/', auth: {} },
    });
    expect(bad.status).toBe(422);
    expect(fieldPaths(bad)).toEqual(expect.arrayContaining(['host', 'port', 'auth.method']));
  });
});

describe('event history', () => {
  const runsOf = (query: string, cookie?: string) =>
    call(runsRoute, {
      method: 'GET',
      path: `/api/v1/connections/${apiConn.id}/runs?program=101${query}`,
      params: { id: apiConn.id as string },
      cookie,
    });

  it('pages through every run newest window first, without repeats or gaps', async () => {
    const seen: Json[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await runsOf(`&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      const page = data<Json[]>(r);
      expect(page.length).toBeLessThanOrEqual(3);
      seen.push(...page);
      cursor = r.body.next_cursor as string | null;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toHaveLength(10);
    expect(new Set(seen.map((r) => r.id)).size).toBe(10);
    const starts = seen.map((r) => Date.parse(r.window_start as string));
    expect([...starts].sort((a, b) => b - a)).toEqual(starts);
    expect(pages).toBe(4);
  });

  it('filters by status, export type and file type, and explains why a run cannot be retried', async () => {
    const failed = data<Json[]>(await runsOf('&status=failed'));
    expect(failed.map((r) => r.id).sort()).toEqual([runIds.expired, runIds.fresh].sort());
    const fresh = failed.find((r) => r.id === runIds.fresh)!;
    expect(fresh).toMatchObject({ automated: true, retry: { allowed: true, reason: null }, error_code: 'timeout' });
    expect(fresh.files).toEqual([expect.objectContaining({ name: 'activity_fresh.csv.gz', file_type: 'activity', expired: false })]);
    expect(fresh.deliveries).toEqual([expect.objectContaining({ attempt: 1, status: 'failed', trigger: 'schedule', retryable: true })]);
    const expired = failed.find((r) => r.id === runIds.expired)!;
    expect(expired).toMatchObject({
      automated: false,
      export_type: 'historical',
      retry: { allowed: false, reason: 'Files expired on 2026-11-20' },
    });
    expect(data<Json[]>(await runsOf('&export_type=historical')).map((r) => r.id)).toEqual([runIds.expired]);
    expect(data<Json[]>(await runsOf('&file_type=activity')).map((r) => r.id)).toEqual([runIds.fresh]);
    // Days are included whole at both ends: to=2026-10-05 includes the window of Oct 5; an exact instant is the exclusive end it says.
    const delivered = data<Json[]>(await runsOf('&status=delivered&from=2026-10-03&to=2026-10-05'));
    expect(delivered.map((r) => r.window_start)).toEqual([
      '2026-10-05T00:00:00.000Z',
      '2026-10-04T00:00:00.000Z',
      '2026-10-03T00:00:00.000Z',
    ]);
    const byInstant = data<Json[]>(await runsOf('&status=delivered&from=2026-10-03&to=2026-10-05T00:00:00Z'));
    expect(byInstant.map((r) => r.window_start)).toEqual(['2026-10-04T00:00:00.000Z', '2026-10-03T00:00:00.000Z']);
    expect(data<Json[]>(await runsOf('&status=delivered&from=2026-10-04&to=2026-10-04')).map((r) => r.window_start)).toEqual([
      '2026-10-04T00:00:00.000Z',
    ]);
    expect(delivered[0].retry).toEqual({ allowed: false, reason: 'Only failed runs can be retried; this one is delivered.' });
  });

  it('answers 422 with field paths for bad filters and cursors', async () => {
    const bad = await runsOf('&status=done&limit=500&file_type=pdf&from=yesterday');
    expect(bad.status).toBe(422);
    expect(fieldPaths(bad)).toEqual(expect.arrayContaining(['status.0', 'limit', 'file_type', 'from']));
    expect(fieldPaths(await runsOf('&cursor=not-a-cursor'))).toEqual(['cursor']);
    expect(fieldPaths(await runsOf('&from=0000-01-01&to=2026-02-31'))).toEqual(['from', 'to']);
  });

  it('shows one run; another program’s run is not found', async () => {
    const r = await call(runRoute, { method: 'GET', path: `/api/v1/runs/${runIds.fresh}?program=101`, params: { id: runIds.fresh } });
    expect(data(r)).toMatchObject({ id: runIds.fresh, destination: 'dde@127.0.0.1:22, folder /' });
    expect(
      (await call(runRoute, { method: 'GET', path: `/api/v1/runs/${runIds.fresh}?program=202`, params: { id: runIds.fresh } })).status,
    ).toBe(404);
  });

  it('retries a failed run whose files exist; refuses expired files with 410 and other runs with 409', async () => {
    const retry = (id: string) => call(retryRoute, { method: 'POST', path: `/api/v1/runs/${id}/retry?program=101`, params: { id } });
    expect((await retry(runIds.expired)).status).toBe(410);
    expect((await retry(runIds.recent)).status).toBe(409);
    const ok = await retry(runIds.fresh);
    expect(ok.status).toBe(200);
    expect(data(ok)).toEqual({ next: 'deliver' });
    expect((await retry(runIds.fresh)).status).toBe(409);
    expect(
      (await call(retryRoute, { method: 'POST', path: `/api/v1/runs/${runIds.expired}/retry?program=202`, params: { id: runIds.expired } }))
        .status,
    ).toBe(404);
  });

  it('gives rows, bytes and lag per incremental run of the last N days', async () => {
    const r = await call(statsRoute, {
      method: 'GET',
      path: `/api/v1/connections/${apiConn.id}/stats?program=101&days=30`,
      params: { id: apiConn.id as string },
    });
    expect(data(r)).toEqual([expect.objectContaining({ rows: 42, bytes: 4200, lag_seconds: 90 })]);
    const bad = await call(statsRoute, {
      method: 'GET',
      path: `/api/v1/connections/${apiConn.id}/stats?program=101&days=0`,
      params: { id: apiConn.id as string },
    });
    expect(fieldPaths(bad)).toEqual(['days']);
  });
});

describe('historical data requests', () => {
  it('creates, lists and cancels a request; refuses more than 24 months', async () => {
    const p = { id: apiConn.id as string };
    const url = `/api/v1/connections/${p.id}/historical-requests?program=101`;
    const from = new Date(Date.now() - 90 * DAY).toISOString().slice(0, 10);
    const created = await call(historicalCreateRoute, { method: 'POST', path: url, params: p, json: { from, to: today } });
    expect(created.status).toBe(201);
    expect(data(created)).toMatchObject({ connection_id: p.id, status: 'pending', chunks_done: 0 });
    const tooOld = await call(historicalCreateRoute, { method: 'POST', path: url, params: p, json: { from: '2020-01-01' } });
    expect(tooOld.status).toBe(422);
    expect((tooOld.body.error as { message: string }).message).toMatch(/24 months/);
    expect(
      fieldPaths(await call(historicalCreateRoute, { method: 'POST', path: url, params: p, json: { from: 'last year', extra: 1 } })),
    ).toEqual(expect.arrayContaining(['from']));
    const list = await call(historicalListRoute, { method: 'GET', path: url, params: p });
    expect(data<Json[]>(list).map((h) => h.id)).toEqual([data(created).id]);
    const id = data(created).id as string;
    const cancelled = await call(cancelRoute, {
      method: 'POST',
      path: `/api/v1/historical-requests/${id}/cancel?program=101`,
      params: { id },
    });
    expect(data(cancelled)).toMatchObject({ id, status: 'cancelled' });
    expect(
      (await call(cancelRoute, { method: 'POST', path: `/api/v1/historical-requests/${id}/cancel?program=101`, params: { id } })).status,
    ).toBe(409);
    expect(
      (await call(cancelRoute, { method: 'POST', path: `/api/v1/historical-requests/${id}/cancel?program=202`, params: { id } })).status,
    ).toBe(404);
  });
});

describe('activity log and configuration', () => {
  it('lists who changed what, filtered and paged, with connection names', async () => {
    const all = await call(activityRoute, { method: 'GET', path: '/api/v1/activity-log?program=101&limit=200' });
    const entries = data<Json[]>(all);
    expect(entries.length).toBeGreaterThan(5);
    const created = entries.find((e) => e.action === 'connection.created' && e.target_id === apiConn.id)!;
    expect(created).toMatchObject({ actor: firstup.email, target_type: 'connection', target_name: 'Nightly API' });
    // A retried run and a historical request are named by the connection they belong to.
    expect(entries.find((e) => e.action === 'delivery.retried')).toMatchObject({
      target_type: 'export_run',
      target_id: runIds.fresh,
      target_name: 'Nightly API',
      connection_id: apiConn.id,
    });
    for (const action of ['historical_request.created', 'historical_request.cancelled']) {
      expect(entries.find((e) => e.action === action)).toMatchObject({
        target_type: 'historical_request',
        target_name: 'Nightly API',
        connection_id: apiConn.id,
      });
    }
    const filtered = data<Json[]>(
      await call(activityRoute, { method: 'GET', path: '/api/v1/activity-log?program=101&action=connection.created' }),
    );
    expect(filtered.every((e) => e.action === 'connection.created')).toBe(true);
    expect(filtered).toHaveLength(2);
    const ids: unknown[] = [];
    let cursor: string | null = null;
    do {
      const r = await call(activityRoute, {
        method: 'GET',
        path: `/api/v1/activity-log?program=101&limit=4${cursor ? `&cursor=${cursor}` : ''}`,
      });
      ids.push(...data<Json[]>(r).map((e) => e.id));
      cursor = r.body.next_cursor as string | null;
    } while (cursor);
    expect(ids).toEqual(entries.map((e) => e.id));
    expect(fieldPaths(await call(activityRoute, { method: 'GET', path: '/api/v1/activity-log?program=101&kind=everything' }))).toEqual([
      'kind',
    ]);
  });

  it('lists failed deliveries in the same shape', async () => {
    const r = await call(activityRoute, {
      method: 'GET',
      path: '/api/v1/activity-log?program=101&kind=delivery_errors',
      cookie: brandCookie,
    });
    expect(r.status).toBe(200);
    expect(data<Json[]>(r)).toEqual([
      expect.objectContaining({
        action: 'delivery.failed',
        actor: 'system',
        target_id: apiConn.id,
        target_name: 'Nightly API',
        details: expect.objectContaining({ error_code: 'timeout', attempt: 1, run_id: runIds.fresh }),
      }),
    ]);
  });

  it('tells any signed-in user the installation’s settings', async () => {
    const r = await call(configRoute, { method: 'GET', path: '/api/v1/config', cookie: brandCookie });
    expect(data(r)).toMatchObject({ egress_info: 'Outbound from 203.0.113.7', max_history_months: 24 });
    expect(typeof data(r).retention_days).toBe('number');
    expect(typeof data(r).signed_url_ttl_seconds).toBe('number');
  });
});

describe('a Brand Super Admin (read only)', () => {
  it('reads, but is refused every write route with 403, and nothing changes', async () => {
    const id = apiConn.id as string;
    const p = { id };
    const reads = await call(runsRoute, { method: 'GET', path: `/api/v1/connections/${id}/runs`, params: p, cookie: brandCookie });
    expect(reads.status).toBe(200);
    const before = await snapshot();
    const writes: [RouteHandler<{ id: string }>, string, string, unknown?][] = [
      [createRoute as RouteHandler<{ id: string }>, 'POST', '/api/v1/connections', apiBody('Sneaky')],
      [
        testRoute as RouteHandler<{ id: string }>,
        'POST',
        '/api/v1/connections/test',
        { host: sink.host, port: sink.port, username: 'dde', folder: '/', auth: { method: 'password', password: PASSWORD } },
      ],
      [patchRoute, 'PATCH', `/api/v1/connections/${id}`, { name: 'x' }],
      [deleteRoute, 'DELETE', `/api/v1/connections/${id}`],
      [pauseRoute, 'POST', `/api/v1/connections/${id}/pause`, { mode: 'immediately' }],
      [resumeRoute, 'POST', `/api/v1/connections/${id}/resume`],
      [stopRoute, 'POST', `/api/v1/connections/${id}/stop`],
      [startRoute, 'POST', `/api/v1/connections/${id}/start`],
      [historicalCreateRoute, 'POST', `/api/v1/connections/${id}/historical-requests`, { from: today.slice(0, 10) }],
      [cancelRoute, 'POST', `/api/v1/historical-requests/${id}/cancel`],
      [retryRoute, 'POST', `/api/v1/runs/${runIds.expired}/retry`],
    ];
    for (const [handler, method, url, json] of writes) {
      const r = await call(handler, { method, path: `${url}?program=101`, params: p, json, cookie: brandCookie });
      expect(r.status, `${method} ${url}`).toBe(403);
      expect((r.body.error as { message: string }).message).toMatch(/read-only/);
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe('deleting a connection', () => {
  it('removes it from the list and answers 404 afterwards, keeping its history', async () => {
    const p = { id: apiConn.id as string };
    const url = `/api/v1/connections/${p.id}?program=101`;
    const deleted = await call(deleteRoute, { method: 'DELETE', path: url, params: p });
    expect(deleted.status).toBe(200);
    expect(data(deleted)).toMatchObject({ id: p.id, status: 'stopped', next_window: null });
    expect(data(deleted).deleted_at).toBeTruthy();
    expect((await call(getRoute, { method: 'GET', path: url, params: p })).status).toBe(404);
    expect((await call(deleteRoute, { method: 'DELETE', path: url, params: p })).status).toBe(404);
    const list = data<Json[]>(await call(listRoute, { method: 'GET', path: '/api/v1/connections?program=101' }));
    expect(list.map((c) => c.id)).toEqual([sftpConn.id]);
    const run = await call(runRoute, { method: 'GET', path: `/api/v1/runs/${runIds.recent}?program=101`, params: { id: runIds.recent } });
    expect(run.status).toBe(200);
  });
});

describe('hostile input', () => {
  it('never answers 500 to odd ids, queries or bodies', async () => {
    const odd = ['0', '-1', '1e999', 'NaN', "1' or '1'='1", '%00', '\u0000', '9'.repeat(40), '00000000-0000-0000-0000-000000000000'];
    const routes: [RouteHandler<{ id: string }>, string, string][] = [
      [getRoute, 'GET', '/api/v1/connections/ID'],
      [runsRoute, 'GET', '/api/v1/connections/ID/runs'],
      [statsRoute, 'GET', '/api/v1/connections/ID/stats'],
      [historicalListRoute, 'GET', '/api/v1/connections/ID/historical-requests'],
      [runRoute, 'GET', '/api/v1/runs/ID'],
      [retryRoute, 'POST', '/api/v1/runs/ID/retry'],
      [cancelRoute, 'POST', '/api/v1/historical-requests/ID/cancel'],
      [pauseRoute, 'POST', '/api/v1/connections/ID/pause'],
      [patchRoute, 'PATCH', '/api/v1/connections/ID'],
      [historicalCreateRoute, 'POST', '/api/v1/connections/ID/historical-requests'],
    ];
    for (const [handler, method, template] of routes) {
      for (const value of odd) {
        const id = value;
        const q = `?program=${encodeURIComponent(value)}&limit=${encodeURIComponent(value)}&cursor=${encodeURIComponent(value)}&days=${encodeURIComponent(value)}&from=${encodeURIComponent(value)}`;
        const body =
          method === 'GET' ? undefined : { mode: value, from: value, to: value, frequency: value, start_date: value, [value]: value };
        const res = await call(handler, { method, path: template.replace('ID', encodeURIComponent(id)) + q, params: { id }, json: body });
        expect(res.status, `${method} ${template} ${value}`).toBeLessThan(500);
        const ok = await call(handler, {
          method,
          path: `${template.replace('ID', encodeURIComponent(id))}?program=101`,
          params: { id },
          json: body,
        });
        expect(ok.status, `${method} ${template} id=${value}`).toBeLessThan(500);
      }
    }
    for (const value of odd) {
      const r = await call(activityRoute, {
        method: 'GET',
        path: `/api/v1/activity-log?program=101&cursor=${encodeURIComponent(value)}&action=${encodeURIComponent(value)}&target_type=${encodeURIComponent(value)}`,
      });
      expect(r.status, value).toBeLessThan(500);
    }
  });
});

describe('OpenAPI document', () => {
  it('describes every management route with the schemas the handlers validate with', async () => {
    const res = await openapiRoute(request('GET', '/api/v1/openapi.json'), { params: Promise.resolve({}) });
    const doc = (await res.json()) as {
      paths: Record<string, Record<string, { operationId: string; parameters: { name: string }[] }>>;
      components: { schemas: Record<string, unknown> };
    };
    for (const op of MANAGEMENT_API_OPERATIONS) expect(doc.paths[op.path]?.[op.method]?.operationId, op.path).toBe(op.operationId);
    expect(doc.paths['/api/v1/connections/{id}/runs'].get.parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(['id', 'program', 'status', 'file_type', 'export_type', 'from', 'to', 'limit', 'cursor']),
    );
    expect(doc.components.schemas).toHaveProperty('Run');
    expect(doc.components.schemas).toHaveProperty('Connection');
  });
});
