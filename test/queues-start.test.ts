// Several jobs workers starting at the same moment on a new database all come up: they create the
// same pg-boss queues at once, which PostgreSQL can answer with a deadlock for one of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type PgBoss from 'pg-boss';
import { createBoss, ensureQueues, QUEUE_NAMES } from '@/jobs/boss';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
const bosses: PgBoss[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  for (const b of bosses) await b.stop({ graceful: false, wait: true }).catch(() => undefined);
  await t?.drop();
});

describe('workers starting together', () => {
  it('each creates the queues it needs, and every queue exists once', async () => {
    for (let i = 0; i < 4; i++) bosses.push(createBoss(t.url));
    await bosses[0].start(); // the schema itself is created once, under pg-boss's own lock
    await Promise.all(bosses.slice(1).map((b) => b.start()));
    const results = await Promise.allSettled(bosses.map((b) => ensureQueues(b)));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const names = (await t.sql<{ name: string }[]>`select name from pgboss.queue where name not like '\_\_pgboss%' order by name`).map(
      (r) => r.name,
    );
    expect(names).toEqual([...QUEUE_NAMES].sort());
  });
});
