// An admin's action enqueues exactly the job it needs, over the web's own pool: a retry the step its
// run needs next (deliver-run or export-run), a resume or start a plan-windows job for that
// connection alone, a historical request a plan-windows job for that request alone. The handler of
// such a job plans and sends only what it names; the every-minute tick does the sweep. Without
// pg-boss's schema (no worker has ever started) an action's enqueue is a logged no-op.
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as resumeRoute } from '@/app/api/v1/connections/[id]/resume/route';
import { POST as historicalCreateRoute } from '@/app/api/v1/connections/[id]/historical-requests/route';
import { POST as retryRoute } from '@/app/api/v1/runs/[id]/retry/route';
import { closeDatabase } from '@/db/client';
import { connections, exportFiles, exportRuns, historicalRequests } from '@/db/schema';
import * as planWindows from '@/jobs/queues/plan-windows';
import type { QueueContext } from '@/jobs/queues/context';
import type { RouteHandler } from '@/lib/auth/with-auth';
import { logger } from '@/lib/logger';
import { createBoss, ensureQueues, tryEnqueue } from '@/lib/queues';
import { createAccount, createPrograms, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let bare: TestDatabase;
let boss: PgBoss;
let cookie: string;
const PROGRAM = 77;
const DAY = 86_400_000;

beforeAll(async () => {
  [t, bare] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  useTestEnv(t);
  boss = createBoss(t.url);
  await boss.start();
  await ensureQueues(boss);
  await createPrograms(t.db, [{ id: PROGRAM, name: 'Seventy-seven' }]);
  cookie = await sessionCookie(await createAccount(t.db, { role: 'firstup_super_admin' }));
});

afterAll(async () => {
  await boss?.stop({ graceful: false, wait: true }).catch(() => undefined);
  await closeDatabase();
  await Promise.all([t?.drop(), bare?.drop()]);
});

/** Every job waiting on any of the product's queues, fetched (and completed) as a worker would. */
async function fetchAll(): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const queue of ['plan-windows', 'export-run', 'deliver-run', 'notify', 'webhook-deliver']) {
    const jobs = await boss.fetch(queue, { batchSize: 50 });
    if (!jobs.length) continue;
    await boss.complete(
      queue,
      jobs.map((j) => j.id),
    );
    out[queue] = jobs.map((j) => j.data);
  }
  return out;
}

async function call<P extends Record<string, string>>(handler: RouteHandler<P>, path: string, params: P, json?: unknown) {
  const res = await handler(request('POST', `${path}?program=${PROGRAM}`, { cookie, json }), { params: Promise.resolve(params) });
  return { status: res.status, body: (await res.json()) as { data: Record<string, unknown> } };
}

const ctx = (): QueueContext => ({ database: t, log: logger(), shutdown: new AbortController().signal });

async function connection(over: Partial<typeof connections.$inferInsert> = {}) {
  const [c] = await t.db
    .insert(connections)
    .values({ programId: PROGRAM, kind: 'sftp', frequency: 'daily', startDate: new Date('2099-01-01T00:00:00Z'), ...over })
    .returning();
  return c;
}

async function run(connectionId: string, day: number, over: Partial<typeof exportRuns.$inferInsert> = {}) {
  const [r] = await t.db
    .insert(exportRuns)
    .values({
      connectionId,
      programId: PROGRAM,
      exportType: 'incremental',
      windowStart: new Date(Date.UTC(2026, 10, day)),
      windowEnd: new Date(Date.UTC(2026, 10, day + 1)),
      status: 'generated',
      ...over,
    })
    .returning();
  return r;
}

describe('tryEnqueue', () => {
  it('queues the job with its payload, which a worker fetches', async () => {
    await tryEnqueue(t, 'plan-windows', { reason: 'resume', connectionId: '00000000-0000-4000-8000-000000000001' });
    await tryEnqueue(t, 'notify', { reason: 'connection created' });
    expect(await fetchAll()).toEqual({
      'plan-windows': [{ reason: 'resume', connectionId: '00000000-0000-4000-8000-000000000001' }],
      notify: [{ reason: 'connection created' }],
    });
  });

  it('does not throw when pg-boss was never installed in the database, and queues nothing there', async () => {
    await expect(tryEnqueue(bare, 'export-run', { runId: '00000000-0000-4000-8000-000000000001' })).resolves.toBeNull();
    const [row] = await bare.sql<{ n: number }[]>`select count(*)::int as n from information_schema.schemata where schema_name = 'pgboss'`;
    expect(row.n).toBe(0);
  });
});

describe('a manual retry', () => {
  it('of a failed delivery sends deliver-run for that run (manual), and nothing else', async () => {
    const c = await connection();
    const failed = await run(c.id, 1, { status: 'failed', generatedAt: new Date(), errorCode: 'timeout', errorMessage: 'Timed out' });
    await t.db.insert(exportFiles).values({
      runId: failed.id,
      programId: PROGRAM,
      fileType: 'activity',
      exportType: 'incremental',
      name: 'a.csv.gz',
      storageKey: `${PROGRAM}/${failed.id}/a.csv.gz`,
      windowStart: failed.windowStart,
      windowEnd: failed.windowEnd,
      rows: 1,
      bytes: 10,
      sha256: '0'.repeat(64),
      format: 'csv',
      compression: 'gzip',
      expiresAt: new Date(Date.now() + 7 * DAY),
    });
    const res = await call(retryRoute, `/api/v1/runs/${failed.id}/retry`, { id: failed.id });
    expect(res).toMatchObject({ status: 200, body: { data: { next: 'deliver' } } });
    expect(await fetchAll()).toEqual({ 'deliver-run': [{ runId: failed.id, trigger: 'manual' }] });
  });

  it('of a failed export sends export-run for that run, and nothing else', async () => {
    const c = await connection();
    const failed = await run(c.id, 2, { status: 'failed', errorCode: 'export_failed', errorMessage: 'No space' });
    const res = await call(retryRoute, `/api/v1/runs/${failed.id}/retry`, { id: failed.id });
    expect(res).toMatchObject({ status: 200, body: { data: { next: 'export' } } });
    expect(await fetchAll()).toEqual({ 'export-run': [{ runId: failed.id }] });
  });
});

describe('a resume', () => {
  it('asks for its connection only; that job plans and sends its runs at once, and no other connection’s', async () => {
    // Both connections have a closed window to plan and a run waiting for delivery, touched just now.
    const start = new Date(Date.now() - 3 * DAY);
    const resumed = await connection({ kind: 'api', startDate: start, status: 'paused' });
    const other = await connection({ kind: 'api', startDate: start });
    const waiting = await run(resumed.id, 1, { status: 'planned', exportType: 'historical' });
    const untouched = await run(other.id, 1, { status: 'planned', exportType: 'historical' });

    const res = await call(resumeRoute, `/api/v1/connections/${resumed.id}/resume`, { id: resumed.id });
    expect(res.status).toBe(200);
    const asked = await fetchAll();
    expect(asked).toEqual({ 'plan-windows': [{ reason: 'resume', connectionId: resumed.id }] });

    await planWindows.handle(ctx(), asked['plan-windows'][0] as { connectionId: string });
    const runsOf = async (id: string) =>
      (await t.sql<{ id: string }[]>`select id from export_runs where connection_id = ${id}`).map((r) => r.id);
    const resumedRuns = await runsOf(resumed.id);
    expect(resumedRuns.length).toBeGreaterThan(1); // its closed windows, planned now
    expect(await runsOf(other.id)).toEqual([untouched.id]); // left to the every-minute tick
    const sent = await fetchAll();
    expect(Object.keys(sent)).toEqual(['export-run']);
    expect((sent['export-run'] as { runId: string }[]).map((j) => j.runId).sort()).toEqual([...resumedRuns].sort());
    expect(resumedRuns).toContain(waiting.id);
  });

  it('the every-minute tick leaves a run touched seconds ago for later (its job was just sent)', async () => {
    const c = await connection({ kind: 'sftp' });
    await run(c.id, 20);
    await planWindows.handle(ctx(), {});
    const sent = await fetchAll();
    expect(sent['deliver-run'] ?? []).toEqual([]);
  });
});

describe('a historical request', () => {
  it('asks for that request only; that job plans its months and sends their exports', async () => {
    const c = await connection({ kind: 'api', startDate: new Date('2099-01-01T00:00:00Z') });
    const now = new Date();
    const month = (back: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1)).toISOString().slice(0, 10);
    const path = `/api/v1/connections/${c.id}/historical-requests`;
    const res = await call(historicalCreateRoute, path, { id: c.id }, { from: month(3), to: month(1) });
    expect(res.status).toBe(201);
    const requestId = res.body.data.id as string;
    const asked = await fetchAll();
    expect(asked).toEqual({ 'plan-windows': [{ reason: 'historical request', historicalRequestId: requestId }] });

    await planWindows.handle(ctx(), asked['plan-windows'][0] as { historicalRequestId: string });
    const chunks = (await t.sql<{ id: string }[]>`select id from export_runs where historical_request_id = ${requestId}`).map((r) => r.id);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    const sent = await fetchAll();
    expect(Object.keys(sent)).toEqual(['export-run']);
    expect((sent['export-run'] as { runId: string }[]).map((j) => j.runId).sort()).toEqual([...chunks].sort());
    const [request] = await t.db.select().from(historicalRequests);
    expect(request.status).toBe('running');
  });
});
