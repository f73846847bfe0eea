// Idle workers do not poll: they fetch when their queue has work (lib/queues/wake.ts). A job sent to
// a jobs process whose workers fetched nothing and now wait (their own polling is every
// IDLE_POLL_SECONDS, ten minutes) is still run — woken by the job table's notification; a job that
// may only start later is run once its time comes; and with the notification gone (the trigger off,
// as while the listener's connection is down) the process's sweep still finds the work.
import PgBoss from 'pg-boss';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IDLE_POLL_SECONDS, registerQueues } from '@/jobs/queues';
import { createBoss, enqueue, enqueueMany, ensureQueues, parseWake, startWaker, WAKE_CHANNEL } from '@/lib/queues';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let boss: PgBoss;
let stop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  t = await createTestDatabase();
  boss = createBoss(t.url);
  await boss.start();
  await ensureQueues(boss);
});

afterEach(async () => {
  await stop?.();
  stop = undefined;
  await t.sql`alter table pgboss.job enable trigger dde_job_ready`;
});

afterAll(async () => {
  await boss?.stop({ graceful: false, wait: true }).catch(() => undefined);
  await t?.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The job's state once it leaves 'created' (completed jobs may already be archived), or its last state after `seconds`. */
async function stateWithin(id: string, seconds: number): Promise<string> {
  const until = Date.now() + seconds * 1000;
  let state = 'missing';
  while (Date.now() < until) {
    const [row] = await t.sql<{ state: string }[]>`
      select state::text from pgboss.job where id = ${id} union all select state::text from pgboss.archive where id = ${id}`;
    state = row?.state ?? 'missing';
    if (state === 'completed' || state === 'failed') return state;
    await sleep(100);
  }
  return state;
}

describe('idle workers wake on new work', () => {
  it('a job sent to an idle jobs process is run (the workers’ own next fetch is minutes away)', async () => {
    expect(IDLE_POLL_SECONDS).toBeGreaterThanOrEqual(60);
    stop = await registerQueues(boss, t);
    await sleep(1500); // every worker has made its first fetch, found nothing, and waits
    const id = await enqueue(t, 'expire-files', {});
    expect(await stateWithin(id!, 30)).toBe('completed');
  });

  it('a batch sent at once to idle workers is run whole (one notification; each worker that finds a job wakes the next)', async () => {
    stop = await registerQueues(boss, t);
    await sleep(1500);
    await enqueueMany(
      t,
      'webhook-deliver',
      Array.from({ length: 8 }, () => ({})),
    );
    const ids = (
      await t.sql<{ id: string }[]>`
        select id from pgboss.job where name = 'webhook-deliver' union all select id from pgboss.archive where name = 'webhook-deliver'`
    ).map((r) => r.id);
    expect(ids.length).toBeGreaterThanOrEqual(8);
    for (const id of ids) expect(await stateWithin(id, 30)).toBe('completed');
  });

  it('a job that may start later is run once its start comes', async () => {
    stop = await registerQueues(boss, t);
    await sleep(1500);
    const id = await enqueue(t, 'expire-files', {}, { afterSeconds: 2 });
    expect(await stateWithin(id!, 30)).toBe('completed');
    // Not before its start: fetched about two seconds after it was sent (the database's own clock).
    const [row] = await t.sql<{ waited: number }[]>`
      select extract(epoch from started_on - created_on)::float8 as waited from pgboss.job where id = ${id}
      union all select extract(epoch from started_on - created_on)::float8 from pgboss.archive where id = ${id}`;
    expect(row.waited).toBeGreaterThanOrEqual(1.9);
  });

  it('without the notification, the process’s sweep still finds the work', async () => {
    await t.sql`alter table pgboss.job disable trigger dde_job_ready`;
    const ran: string[] = [];
    const waker = await startWaker(boss, t, { sweepSeconds: 1 });
    const workerId = await boss.work('expire-files', { batchSize: 1, pollingIntervalSeconds: IDLE_POLL_SECONDS }, async (jobs) => {
      ran.push(...jobs.map((j) => j.id));
    });
    waker.add('expire-files', workerId);
    stop = async () => {
      await waker.stop();
      await boss.offWork({ id: workerId });
    };
    await sleep(1500);
    const id = await enqueue(t, 'expire-files', {});
    expect(await stateWithin(id!, 30)).toBe('completed');
    expect(ran).toEqual([id]);
  });

  it('the notification names the queue and how long until the job may start', async () => {
    const heard: string[] = [];
    const listener = await t.sql.listen(WAKE_CHANNEL, (p) => heard.push(p));
    try {
      await enqueue(t, 'expire-files', {}, { afterSeconds: 30 });
      const until = Date.now() + 10_000;
      while (heard.length === 0 && Date.now() < until) await sleep(50);
      const wake = parseWake(heard[0]);
      expect(wake?.queue).toBe('expire-files');
      expect(wake!.inMs).toBeGreaterThan(25_000);
      expect(wake!.inMs).toBeLessThanOrEqual(30_000);
    } finally {
      await listener.unlisten();
      await t.sql`delete from pgboss.job where name = 'expire-files' and state < 'active'`;
    }
  });
});
