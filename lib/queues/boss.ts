// pg-boss itself: the jobs worker's own instance (createBoss), the queues and the fetch-order index
// it makes at start-up (ensureQueues), and the enqueue-only instance every process sends jobs
// through (senderBoss: over the caller's own postgres.js pool — no connections of its own, no
// supervision, no schedules, no migrations).
import PgBoss from 'pg-boss';
import type { Database } from '@/db/client';
import { QUEUE_NAMES, queueOptions } from './definitions';
import { ensureWakeTrigger } from './wake';

/** The jobs worker's pg-boss (its own pool): it fetches, supervises and schedules. */
export function createBoss(connectionString: string): PgBoss {
  return new PgBoss({ connectionString, schema: 'pgboss', max: 8, application_name: 'dde-jobs' });
}

const senders = new WeakMap<Database, PgBoss>();

/** pg-boss's database adapter over postgres.js: JSON payloads are sent as text, dates as ISO strings. */
function adapter(database: Database): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[] = []) {
      const params = values.map((v) => (v instanceof Date ? v.toISOString() : v !== null && typeof v === 'object' ? JSON.stringify(v) : v));
      const rows = await database.sql.unsafe(text, params as never[]);
      return { rows: [...rows] };
    },
  };
}

/** The enqueue-only pg-boss of `database`, made on first use (one per database). */
export function senderBoss(database: Database): PgBoss {
  let boss = senders.get(database);
  if (!boss) {
    boss = new PgBoss({ db: adapter(database), schema: 'pgboss', supervise: false, schedule: false, migrate: false });
    senders.set(database, boss);
  }
  return boss;
}

/**
 * pg-boss (10) fetches a queue's next job in priority, creation-time and id order, but its index on
 * waiting jobs is by start time: every fetch sorts all the queue's waiting jobs, about 1.2 ms per
 * fetch with a thousand waiting (a burst of windows closing together) against 0.04 ms with an index
 * in fetch order, which PostgreSQL also builds on each queue's partition, new ones included.
 */
export const FETCH_ORDER_INDEX = 'job_fetch_order';

async function ensureFetchOrderIndex(boss: PgBoss): Promise<void> {
  const db = boss.getDb();
  const found = await db.executeSql(`select 1 from pg_indexes where schemaname = 'pgboss' and tablename = 'job' and indexname = $1`, [
    FETCH_ORDER_INDEX,
  ]);
  if (found.rows.length > 0) return;
  // Processes starting together would build the same index at once, and all but one fail on the
  // catalog's unique name: one at a time (a transaction-scoped advisory lock), each looking again
  // once it holds the lock, when the one before has committed.
  await db.executeSql(
    `do $$ begin
       perform pg_advisory_xact_lock(hashtext('dde:${FETCH_ORDER_INDEX}'));
       if not exists (select 1 from pg_indexes where schemaname = 'pgboss' and tablename = 'job' and indexname = '${FETCH_ORDER_INDEX}') then
         create index ${FETCH_ORDER_INDEX} on pgboss.job (name, priority desc, created_on, id) where state < 'active';
       end if;
     end $$`,
    [],
  );
}

/** True when a queue made earlier (by an older version) has options other than its definition's. */
function optionsDiffer(found: PgBoss.Queue, wanted: PgBoss.Queue): boolean {
  if ((found.policy ?? 'standard') !== (wanted.policy ?? 'standard')) return true;
  const keys = ['retryLimit', 'retryDelay', 'retryBackoff', 'expireInSeconds'] as const;
  return keys.some((k) => wanted[k] !== undefined && found[k] !== wanted[k]);
}

/** Creates the queues with their definitions' options, the fetch-order index and the wake-up trigger (idempotent). */
export async function ensureQueues(boss: PgBoss): Promise<void> {
  // Workers starting together create the same queues at once, and pg-boss's create_queue can then
  // deadlock (PostgreSQL picks one to fail): the loser looks again after a short pause.
  for (let attempt = 1; ; attempt++) {
    try {
      const existing = new Map((await boss.getQueues()).map((q) => [q.name, q]));
      for (const name of QUEUE_NAMES) {
        const options: PgBoss.Queue = { name, ...queueOptions(name) };
        const found = existing.get(name);
        if (!found) await boss.createQueue(name, options);
        // A queue made by an earlier version with other options (e.g. plan-windows as a singleton) takes these.
        else if (optionsDiffer(found, options)) await boss.updateQueue(name, options);
      }
      await ensureFetchOrderIndex(boss);
      await ensureWakeTrigger(boss);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      const racing = code === '40P01' || code === '23505' || /deadlock detected|duplicate key/.test((err as Error).message);
      if (!racing || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt + Math.floor(Math.random() * 200)));
    }
  }
}
