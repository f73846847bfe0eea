// Many runs queued at once (a burst of windows closing at one boundary) go in a few insert
// statements instead of one send per run: the jobs keep the order they were given (first in, first
// out, as one send after another) and carry the queue's retry options. The sweep's re-send
// (unlessQueued) leaves out a run whose job is still waiting, and only that: a run whose earlier job
// already ran gets a new one at once.
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBoss, enqueueRuns, ensureQueues, orderedIds, queueOptions } from '@/lib/queues';
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

describe('enqueueRuns with many runs', () => {
  it('queues every run once, fetched in the order given, with the queue’s retry options', async () => {
    const ids = Array.from({ length: 1203 }, (_, i) => runId(i + 1)).reverse(); // more than one insert batch
    await enqueueRuns(t, 'export-run', ids);
    const jobs = await fetchAll('export-run');
    expect(jobs.map((j) => j.data.runId)).toEqual(ids);
    const [job] = await t.sql<{ retry_limit: number; retry_backoff: boolean }[]>`
      select retry_limit, retry_backoff from pgboss.job where id = ${jobs[0].id}
      union all select retry_limit, retry_backoff from pgboss.archive where id = ${jobs[0].id}`;
    expect(job).toEqual({ retry_limit: queueOptions('export-run').retryLimit, retry_backoff: true });
  });

  it('carries the trigger of a delivery, and deduplicates against jobs already queued', async () => {
    await enqueueRuns(t, 'deliver-run', [runId(1)], { unlessQueued: true });
    await enqueueRuns(t, 'deliver-run', [runId(1), runId(2), runId(3)], { unlessQueued: true, trigger: 'manual' });
    const jobs = await fetchAll('deliver-run');
    expect(jobs.map((j) => j.data)).toEqual([
      { runId: runId(1), trigger: 'schedule' },
      { runId: runId(2), trigger: 'manual' },
      { runId: runId(3), trigger: 'manual' },
    ]);
  });

  it('sends a run again once its earlier job has run (no time slot holds the re-send back)', async () => {
    await enqueueRuns(t, 'export-run', [runId(7)], { unlessQueued: true });
    expect((await fetchAll('export-run')).map((j) => j.data.runId)).toEqual([runId(7)]); // fetched and completed
    await enqueueRuns(t, 'export-run', [runId(7)], { unlessQueued: true });
    expect((await fetchAll('export-run')).map((j) => j.data.runId)).toEqual([runId(7)]);
  });

  it('leaves out a run whose job waits for its retry (pg-boss backoff), and sends every run without unlessQueued', async () => {
    await enqueueRuns(t, 'export-run', [runId(8)]);
    const [job] = await boss.fetch('export-run');
    await boss.fail('export-run', job.id, new Error('attempt 1 failed')); // retry state, after its delay
    const [{ state }] = await t.sql<{ state: string }[]>`select state::text from pgboss.job where id = ${job.id}`;
    expect(state).toBe('retry');
    await enqueueRuns(t, 'export-run', [runId(8), runId(9)], { unlessQueued: true });
    await enqueueRuns(t, 'export-run', [runId(9)]);
    const queued = await t.sql<{ run: string; n: number }[]>`
      select data->>'runId' as run, count(*)::int as n from pgboss.job
      where name = 'export-run' and state < 'active' group by 1 order by 1`;
    expect(queued).toEqual([
      { run: runId(8), n: 1 },
      { run: runId(9), n: 2 },
    ]);
  });
});
