// Many runs queued at once (a burst of windows closing at one boundary) go in a few insert
// statements instead of one send per run: the jobs keep the order they were given (first in, first
// out, as one send after another), carry the queue's retry options, and a deduplicated batch drops
// a run whose job is already queued in its slot, as send does.
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBoss, ensureQueues, orderedIds, QUEUE_OPTIONS } from '@/jobs/boss';
import { enqueueDeliveries, enqueueExports } from '@/jobs/queues/context';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let boss: PgBoss;

beforeAll(async () => {
  t = await createTestDatabase();
  boss = createBoss(t.url);
  await boss.start();
  await ensureQueues(boss);
});

afterAll(async () => {
  await boss?.stop({ graceful: false, wait: true }).catch(() => undefined);
  await t?.drop();
});

const runId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

async function fetchAll(queue: string) {
  const out: PgBoss.Job<{ runId: string; trigger?: string }>[] = [];
  for (;;) {
    // One at a time, as the workers fetch (batchSize 1): the order is pg-boss's fetch order.
    const jobs = await boss.fetch<{ runId: string; trigger?: string }>(queue);
    if (!jobs.length) return out;
    await boss.complete(queue, jobs[0].id);
    out.push(jobs[0]);
  }
}

describe('orderedIds', () => {
  it('gives distinct UUIDs that sort in the order given', () => {
    const ids = orderedIds(1200);
    expect(new Set(ids).size).toBe(1200);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('enqueueExports / enqueueDeliveries with many runs', () => {
  it('queues every run once, fetched in the order given, with the queue’s retry options', async () => {
    const ids = Array.from({ length: 1203 }, (_, i) => runId(i + 1)).reverse(); // more than one insert batch
    await enqueueExports(boss, ids);
    const jobs = await fetchAll('export-run');
    expect(jobs.map((j) => j.data.runId)).toEqual(ids);
    const [job] = await t.sql<{ retry_limit: number; retry_backoff: boolean }[]>`
      select retry_limit, retry_backoff from pgboss.job where id = ${jobs[0].id}
      union all select retry_limit, retry_backoff from pgboss.archive where id = ${jobs[0].id}`;
    expect(job).toEqual({ retry_limit: QUEUE_OPTIONS['export-run'].retryLimit, retry_backoff: true });
  });

  it('carries the trigger of a delivery, and deduplicates against jobs already queued', async () => {
    await enqueueDeliveries(boss, [runId(1)], { dedupe: true });
    await enqueueDeliveries(boss, [runId(1), runId(2), runId(3)], { dedupe: true, trigger: 'manual' });
    const jobs = await fetchAll('deliver-run');
    expect(jobs.map((j) => j.data)).toEqual([
      { runId: runId(1), trigger: 'schedule' },
      { runId: runId(2), trigger: 'manual' },
      { runId: runId(3), trigger: 'manual' },
    ]);
  });
});
