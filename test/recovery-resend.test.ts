// A run handed back or recovered from a dead worker gets its job again at once: another worker
// picks it up within seconds, whatever was sent for it before (a job the dead worker held, a send in
// the same minute). Nothing waits for a later planner tick or for a deduplication window to pass.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections, exportRuns } from '@/db/schema';
import * as exportRun from '@/jobs/queues/export-run';
import { registerQueues } from '@/jobs/queues';
import { logger } from '@/lib/logger';
import { createBoss, enqueue, ensureQueues } from '@/lib/queues';
import { createPrograms, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let boss: PgBoss;
let stopWorkers: (() => Promise<void>) | undefined;
let dataDir: string;
let connectionId: string;
const PROGRAM = 91;
const STALE_SECONDS = 5;

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'dde-resend-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, DDE_RUN_STALE_SECONDS: String(STALE_SECONDS) });
  await createPrograms(t.db, [{ id: PROGRAM, name: 'Resend' }]);
  // Starts in the future: no planner tick plans windows of its own for it.
  const [c] = await t.db
    .insert(connections)
    .values({ programId: PROGRAM, kind: 'api', frequency: 'daily', startDate: new Date('2099-01-01T00:00:00Z') })
    .returning();
  connectionId = c.id;
  boss = createBoss(t.url);
  await boss.start();
  await ensureQueues(boss);
}, 60_000);

afterAll(async () => {
  await stopWorkers?.().catch(() => undefined);
  await boss?.stop({ graceful: false, wait: true }).catch(() => undefined);
  await t?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function newRun(day: number, status: 'planned' | 'generating') {
  const [run] = await t.db
    .insert(exportRuns)
    .values({
      connectionId,
      programId: PROGRAM,
      exportType: 'historical',
      windowStart: new Date(Date.UTC(2026, 9, day)),
      windowEnd: new Date(Date.UTC(2026, 9, day + 1)),
      status,
      ...(status === 'generating' ? { attempt: 1, startedAt: new Date() } : {}),
    })
    .returning();
  return run;
}

/** Seconds until the run's export is done (the worker claimed it and finished), or the status it is stuck in. */
async function doneWithin(runId: string, seconds: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const [r] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, runId));
    if (r.status === 'empty' || r.status === 'available') return (Date.now() - started) / 1000;
    if (Date.now() - started > seconds * 1000) throw new Error(`run still ${r.status} after ${seconds} s`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function exportJobsOf(runId: string): Promise<{ state: string }[]> {
  return t.sql<
    { state: string }[]
  >`select state::text from pgboss.job where name = 'export-run' and data->>'runId' = ${runId} order by created_on`;
}

describe('recovery re-sends', () => {
  it('a run recovered from a dead worker is exported within seconds of the tick that recovers it', async () => {
    // The dead worker: it fetched the run's job (sent under the run's key in this time slot, as the
    // sweep's re-sends once were), claimed the run, and was killed: no heartbeat since.
    const run = await newRun(1, 'generating');
    await boss.send('export-run', { runId: run.id }, { singletonKey: run.id, singletonSeconds: 300 });
    const [held] = await boss.fetch('export-run');
    expect(held.data).toEqual({ runId: run.id });
    await t.sql`update export_runs set updated_at = now() - make_interval(secs => ${STALE_SECONDS + 5}) where id = ${run.id}`;

    stopWorkers ??= await registerQueues(boss, t);
    await enqueue(t, 'plan-windows', { reason: 'tick' });
    const seconds = await doneWithin(run.id, 20);
    expect(seconds).toBeLessThan(20);
    // One new job, sent by the recovery (done, or finishing); the dead worker's is still active
    // (pg-boss would expire it in an hour).
    const states = (await exportJobsOf(run.id)).map((j) => j.state);
    expect(states).toHaveLength(2);
    expect(states[0]).toBe('active');
    expect(states[1]).toMatch(/^(active|completed)$/);
  }, 60_000);

  it('a run handed back by a stopping worker is taken over by another worker within seconds', async () => {
    const run = await newRun(3, 'planned');
    // The stopping worker: its shutdown signal has fired, so its export hands the run back at once.
    const stopping = new AbortController();
    stopping.abort();
    await exportRun.handle({ database: t, log: logger(), shutdown: stopping.signal }, { runId: run.id });
    stopWorkers ??= await registerQueues(boss, t);
    // A running worker takes it over: the handed-back run's job was sent again (the sweep would wait until it has been idle for 30 s).
    const seconds = await doneWithin(run.id, 20);
    expect(seconds).toBeLessThan(20);
    const [done] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, run.id));
    expect(done.attempt).toBe(1); // the handed-back attempt was not counted
    expect(await exportJobsOf(run.id)).toHaveLength(1); // the re-send (the stopping worker's was called directly)
  }, 60_000);
});
