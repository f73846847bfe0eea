// The web's nudge: an admin action sends a plan-windows (and notify) job over the web's own pool,
// which a worker then fetches; without pg-boss's schema (no worker has ever started) it is a logged no-op.
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBoss, ensureQueues } from '@/jobs/boss';
import { nudgeWorker } from '@/jobs/nudge';
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

describe('nudgeWorker', () => {
  it('queues a plan-windows job that a worker fetches, with the reason as its data', async () => {
    await nudgeWorker(t, 'resume');
    const jobs = await boss.fetch('plan-windows', { batchSize: 5 });
    expect(jobs.map((j) => j.data)).toEqual([{ reason: 'resume' }]);
    expect(await boss.fetch('notify', { batchSize: 5 })).toEqual([]);
    // plan-windows is a singleton queue: the next one is handed out once this one is done.
    await boss.complete('plan-windows', jobs.map((j) => j.id));
  });

  it('queues one job per named queue', async () => {
    await nudgeWorker(t, 'connection created', ['plan-windows', 'notify']);
    expect((await boss.fetch('plan-windows', { batchSize: 5 })).map((j) => j.data)).toEqual([{ reason: 'connection created' }]);
    expect((await boss.fetch('notify', { batchSize: 5 })).map((j) => j.data)).toEqual([{ reason: 'connection created' }]);
  });

  it('does not throw when pg-boss was never installed in the database, and queues nothing there', async () => {
    await expect(nudgeWorker(bare, 'retry')).resolves.toBeUndefined();
    const [row] = await bare.sql<{ n: number }[]>`select count(*)::int as n from information_schema.schemata where schema_name = 'pgboss'`;
    expect(row.n).toBe(0);
  });
});
