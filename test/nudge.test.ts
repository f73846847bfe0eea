// The web's nudge: an admin action sends one plan-windows job over the web's own pool, which a
// worker then fetches; without pg-boss's schema (no worker has ever started) it is a logged no-op.
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBoss, ensureQueues } from '@/jobs/boss';
import { nudgePlanner } from '@/jobs/nudge';
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

describe('nudgePlanner', () => {
  it('queues a plan-windows job that a worker fetches, with the reason as its data', async () => {
    await nudgePlanner(t, 'resume');
    const jobs = await boss.fetch('plan-windows', { batchSize: 5 });
    expect(jobs.map((j) => j.data)).toEqual([{ reason: 'resume' }]);
  });

  it('does not throw when pg-boss was never installed in the database, and queues nothing there', async () => {
    await expect(nudgePlanner(bare, 'retry')).resolves.toBeUndefined();
    const [row] = await bare.sql<{ n: number }[]>`select count(*)::int as n from information_schema.schemata where schema_name = 'pgboss'`;
    expect(row.n).toBe(0);
  });
});
