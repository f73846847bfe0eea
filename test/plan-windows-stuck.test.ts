// A planner tick left active by a jobs process that was killed mid-tick must not hold the next
// ticks back: pg-boss would only expire it minutes later, and until then no window would be planned
// by any process. Also: a database whose plan-windows queue an earlier version made as a singleton
// queue gets the current options at start-up.
import type PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBoss, enqueue, ensureQueues } from '@/lib/queues';
import { registerQueues } from '@/jobs/queues';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
const bosses: PgBoss[] = [];
let stopWorkers: (() => Promise<void>) | undefined;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await stopWorkers?.().catch(() => undefined);
  for (const b of bosses) await b.stop({ graceful: false, wait: true }).catch(() => undefined);
  await t?.drop();
});

async function stateOf(jobId: string): Promise<string | undefined> {
  const [row] = await t.sql<{ state: string }[]>`select state::text from pgboss.job where id = ${jobId}`;
  return row?.state;
}

describe('plan-windows after a jobs process died mid-tick', () => {
  it('the next tick runs at once, on a queue an earlier version made as a singleton too', async () => {
    // The "dead" process: an older version's queue, and a tick it fetched (active) and never finished.
    const dead = createBoss(t.url);
    bosses.push(dead);
    await dead.start();
    await dead.createQueue('plan-windows', { name: 'plan-windows', policy: 'singleton', retryLimit: 0, expireInSeconds: 120 });
    const stuckId = await enqueue(t, 'plan-windows', { reason: 'tick of the killed process' });
    const [fetched] = await dead.fetch('plan-windows');
    expect(fetched.id).toBe(stuckId);
    await dead.stop({ graceful: false, wait: true });

    // A new jobs process starts on the same database, as jobs/index.ts starts one.
    const boss = createBoss(t.url);
    bosses.push(boss);
    await boss.start();
    await ensureQueues(boss);
    expect((await boss.getQueue('plan-windows'))?.policy).toBe('standard');
    stopWorkers = await registerQueues(boss, t, { pollingIntervalSeconds: 0.5 });
    const nextId = await enqueue(t, 'plan-windows', { reason: 'worker started' });

    let state: string | undefined;
    for (let i = 0; i < 100 && state !== 'completed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      state = await stateOf(nextId!);
    }
    expect(state).toBe('completed');
    // The killed process's tick is still active: nothing waited for pg-boss to expire it.
    expect(await stateOf(stuckId!)).toBe('active');
  });
});
