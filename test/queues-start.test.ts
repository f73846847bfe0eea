// Several jobs workers starting at the same moment on a new database all come up: they create the
// same pg-boss queues at once, which PostgreSQL can answer with a deadlock for one of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type PgBoss from 'pg-boss';
import { createBoss, enqueueMany, ensureQueues, FETCH_ORDER_INDEX, QUEUE_NAMES } from '@/lib/queues';
// pg-boss's SQL statements (a CommonJS module of the package, no types): the fetch the workers run.
// @ts-expect-error no declaration file
import plans from 'pg-boss/src/plans.js';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
const bosses: PgBoss[] = [];
/** What the bosses reported while the tests ran (as the jobs process logs them); the database's drop
 * at the end terminates any session a stopped boss's pool still holds, which is not an error of ours. */
const errors: unknown[] = [];
let tornDown = false;
function boss(): PgBoss {
  const b = createBoss(t.url);
  b.on('error', (err) => {
    if (!tornDown) errors.push(err);
  });
  return b;
}

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  tornDown = true;
  for (const b of bosses) await b.stop({ graceful: false, wait: true }).catch(() => undefined);
  await t?.drop();
});

describe('workers starting together', () => {
  it('each creates the queues it needs, and every queue exists once', async () => {
    for (let i = 0; i < 4; i++) bosses.push(boss());
    await bosses[0].start(); // the schema itself is created once, under pg-boss's own lock
    await Promise.all(bosses.slice(1).map((b) => b.start()));
    const results = await Promise.allSettled(bosses.map((b) => ensureQueues(b)));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const names = (await t.sql<{ name: string }[]>`select name from pgboss.queue where name not like '\_\_pgboss%' order by name`).map(
      (r) => r.name,
    );
    expect(names).toEqual([...QUEUE_NAMES].sort());
    expect(errors).toEqual([]);
  });
});

describe('fetching from a queue with many jobs waiting', () => {
  it('uses the fetch-order index on every queue (a new queue too) and still hands jobs out first in, first out', async () => {
    const boss = bosses[0];
    await boss.createQueue('a-queue-made-later'); // after the index: its partition gets one as well
    const [{ n }] = await t.sql<{ n: number }[]>`
      select count(*)::int as n from pg_inherits i join pg_index x on x.indrelid = i.inhrelid
      where i.inhparent = 'pgboss.job'::regclass and x.indexrelid in (
        select inhrelid from pg_inherits where inhparent = ${`pgboss.${FETCH_ORDER_INDEX}`}::regclass)`;
    const [{ queues }] = await t.sql<{ queues: number }[]>`select count(*)::int as queues from pgboss.queue`;
    expect(n).toBe(queues);

    const ids = Array.from({ length: 1000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    await enqueueMany(
      t,
      'export-run',
      ids.map((runId) => ({ runId })),
    );
    const first = await boss.fetch<{ runId: string }>('export-run', { batchSize: 3 });
    expect(first.map((j) => j.data.runId)).toEqual(ids.slice(0, 3));
    // The plan of pg-boss's own fetch statement (from its SQL module) with 997 jobs waiting: an index
    // scan in fetch order that stops at the first free job.
    const fetchSql = (plans.fetchNextJob('pgboss') as (o: { priority: boolean }) => string)({ priority: true });
    const plan = (await t.sql.unsafe<{ 'QUERY PLAN': string }[]>(`explain ${fetchSql}`, ['export-run', 1]))
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    // The waiting jobs are read in fetch order straight from the index: no sort above the scan.
    expect(plan).toMatch(/LockRows[^\n]*\n\s*->\s+Index Scan using \S*name_priority_created_on_id_idx/);
  });
});
