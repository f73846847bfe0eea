// The web's nudge: an admin action sends a plan-windows (and notify) job over the web's own pool,
// which a worker then fetches; the tick it triggers sends the named run's or connection's due runs
// at once, where the every-minute sweep waits until a run has been idle for 30 s. Without pg-boss's
// schema (no worker has ever started) a nudge is a logged no-op.
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections, exportRuns, programs } from '@/db/schema';
import { createBoss, ensureQueues } from '@/jobs/boss';
import { nudgeWorker } from '@/jobs/nudge';
import * as planWindows from '@/jobs/queues/plan-windows';
import { logger } from '@/lib/logger';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let bare: TestDatabase;
let boss: PgBoss;

beforeAll(async () => {
  [t, bare] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  boss = createBoss(t.url);
  await boss.start();
  await ensureQueues(boss);
});

afterAll(async () => {
  await boss?.stop({ graceful: false, wait: true }).catch(() => undefined);
  await Promise.all([t?.drop(), bare?.drop()]);
});

async function fetchAll(queue: string) {
  const jobs = await boss.fetch(queue, { batchSize: 50 });
  if (jobs.length)
    await boss.complete(
      queue,
      jobs.map((j) => j.id),
    );
  return jobs.map((j) => j.data);
}

describe('nudgeWorker', () => {
  it('queues a plan-windows job that a worker fetches, with the nudge as its data', async () => {
    await nudgeWorker(t, { reason: 'resume', connectionId: '00000000-0000-4000-8000-000000000001' });
    expect(await fetchAll('plan-windows')).toEqual([{ reason: 'resume', connectionId: '00000000-0000-4000-8000-000000000001' }]);
    expect(await fetchAll('notify')).toEqual([]);
  });

  it('also wakes the notify sweep when asked', async () => {
    await nudgeWorker(t, { reason: 'connection created' }, { notify: true });
    expect(await fetchAll('plan-windows')).toEqual([{ reason: 'connection created' }]);
    expect(await fetchAll('notify')).toEqual([{ reason: 'connection created' }]);
  });

  it('does not throw when pg-boss was never installed in the database, and queues nothing there', async () => {
    await expect(nudgeWorker(bare, { reason: 'retry' })).resolves.toBeUndefined();
    const [row] = await bare.sql<{ n: number }[]>`select count(*)::int as n from information_schema.schemata where schema_name = 'pgboss'`;
    expect(row.n).toBe(0);
  });
});

describe('the planner tick a nudge triggers', () => {
  it('sends a run retried seconds ago at once, which the plain sweep leaves for later', async () => {
    await t.db.insert(programs).values({ id: 77, name: 'Seventy-seven' });
    // Starts in the future: the planner plans nothing of its own for it.
    const [c] = await t.db
      .insert(connections)
      .values({ programId: 77, kind: 'sftp', frequency: 'daily', startDate: new Date('2099-01-01T00:00:00Z') })
      .returning();
    const [run] = await t.db
      .insert(exportRuns)
      .values({
        connectionId: c.id,
        programId: 77,
        exportType: 'incremental',
        windowStart: new Date('2026-11-01T00:00:00Z'),
        windowEnd: new Date('2026-11-02T00:00:00Z'),
        status: 'generated',
      })
      .returning();
    const ctx = { boss, database: t, log: logger(), shutdown: new AbortController().signal };

    await planWindows.handle(ctx, {});
    expect(await fetchAll('deliver-run')).toEqual([]);

    await planWindows.handle(ctx, { reason: 'retry', runId: run.id });
    expect(await fetchAll('deliver-run')).toEqual([{ runId: run.id, trigger: 'manual' }]);

    await planWindows.handle(ctx, { reason: 'resume', connectionId: c.id });
    expect(await fetchAll('deliver-run')).toEqual([{ runId: run.id, trigger: 'schedule' }]);
  });
});
