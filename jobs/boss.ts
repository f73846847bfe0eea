// pg-boss set-up shared by the worker and by code that enqueues work (web routes, CLI, tests), and
// the one typed way to enqueue: send(boss, queue, payload) takes the payload its queue's schema
// accepts, so a wrong payload is a type error (the worker parses it once more before the handler).
import { randomBytes } from 'node:crypto';
import PgBoss from 'pg-boss';
import type { z } from 'zod';
// Types only (erased at run time): the web can enqueue without loading the handlers.
import type * as connectionHealth from './queues/connection-health';
import type * as deliverRun from './queues/deliver-run';
import type * as expireFiles from './queues/expire-files';
import type * as exportRun from './queues/export-run';
import type * as notify from './queues/notify';
import type * as planWindows from './queues/plan-windows';
import type * as webhookDeliver from './queues/webhook-deliver';

/** Every queue the product uses, with explicit retry options (pg-boss defaults differ between docs and code). */
export const QUEUE_OPTIONS = {
  // Not a singleton queue: a tick left active by a worker killed mid-tick would hold every later
  // tick back until pg-boss expired it (minutes without planning). Ticks may run side by side in
  // several processes: planning is insert-or-ignore, re-sent jobs are deduplicated, claims atomic.
  'plan-windows': { retryLimit: 0, expireInSeconds: 600, policy: 'standard' },
  'export-run': { retryLimit: 5, retryDelay: 30, retryBackoff: true, expireInSeconds: 3600 },
  'deliver-run': { retryLimit: 0, expireInSeconds: 3600 }, // delivery retries are ours (deliveries table, backoff)
  notify: { retryLimit: 5, retryDelay: 60, retryBackoff: true, expireInSeconds: 300 },
  'expire-files': { retryLimit: 2, retryDelay: 60, expireInSeconds: 1800, policy: 'singleton' },
  'connection-health': { retryLimit: 2, retryDelay: 300, expireInSeconds: 1800, policy: 'singleton' },
  'webhook-deliver': { retryLimit: 0, expireInSeconds: 1800 }, // webhook retries are ours (webhook_deliveries, backoff)
} as const satisfies Record<string, Omit<PgBoss.Queue, 'name'>>;

export type QueueName = keyof typeof QUEUE_OPTIONS;
export const QUEUE_NAMES = Object.keys(QUEUE_OPTIONS) as QueueName[];

/** What each queue's job carries: the input of the payload schema its module exports. */
export type QueuePayloads = {
  'plan-windows': z.input<typeof planWindows.payloadSchema>;
  'export-run': z.input<typeof exportRun.payloadSchema>;
  'deliver-run': z.input<typeof deliverRun.payloadSchema>;
  notify: z.input<typeof notify.payloadSchema>;
  'expire-files': z.input<typeof expireFiles.payloadSchema>;
  'connection-health': z.input<typeof connectionHealth.payloadSchema>;
  'webhook-deliver': z.input<typeof webhookDeliver.payloadSchema>;
};
// Every queue has a payload type, and nothing else does.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const everyQueueHasAPayload: Same<keyof QueuePayloads, QueueName> = true;
void everyQueueHasAPayload;

/** Enqueues a job on `queue` with its pg-boss options (singletonKey, startAfter, …). The job's id, or null when a singleton dropped it. */
export async function send<Q extends QueueName>(
  boss: PgBoss,
  queue: Q,
  payload: QueuePayloads[Q],
  options: PgBoss.SendOptions = {},
): Promise<string | null> {
  return boss.send(queue, payload as object, options);
}

/**
 * Enqueues many jobs on `queue` in one statement (pg-boss insert: the queue's retry and expiry
 * options apply, as with send). A job whose singletonKey is taken in its slot is dropped, as send drops it.
 */
export async function sendMany<Q extends QueueName>(
  boss: PgBoss,
  queue: Q,
  jobs: { data: QueuePayloads[Q]; singletonKey?: string; singletonSeconds?: number }[],
): Promise<void> {
  if (jobs.length === 0) return;
  // pg-boss fetches by priority, creation time, then id; the jobs of one insert share their creation
  // time, so ids that sort in list order keep them first in, first out, as one send after another does.
  const ids = orderedIds(jobs.length);
  await boss.insert(jobs.map((j, i) => ({ id: ids[i], name: queue, ...j, data: j.data as object })));
}

/** `n` random UUIDs that sort (as PostgreSQL compares uuid) in the order given: time, then index, then random bits. */
export function orderedIds(n: number): string[] {
  const time = Date.now().toString(16).padStart(12, '0');
  return Array.from({ length: n }, (_, i) => {
    const hex = time + i.toString(16).padStart(8, '0') + randomBytes(6).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  });
}

/** Enqueues a job that becomes available after `seconds`. */
export async function sendAfter<Q extends QueueName>(
  boss: PgBoss,
  queue: Q,
  payload: QueuePayloads[Q],
  seconds: number,
  options: PgBoss.SendOptions = {},
): Promise<string | null> {
  return boss.sendAfter(queue, payload as object, options, seconds);
}

export function createBoss(connectionString: string): PgBoss {
  return new PgBoss({ connectionString, schema: 'pgboss', max: 8, application_name: 'dde-jobs' });
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

/** Creates the queues and the fetch-order index (idempotent). */
export async function ensureQueues(boss: PgBoss): Promise<void> {
  // Workers starting together create the same queues at once, and pg-boss's create_queue can then
  // deadlock (PostgreSQL picks one to fail): the loser looks again after a short pause.
  for (let attempt = 1; ; attempt++) {
    try {
      const existing = new Map((await boss.getQueues()).map((q) => [q.name, q]));
      for (const name of QUEUE_NAMES) {
        const options: PgBoss.Queue = { name, ...QUEUE_OPTIONS[name] };
        const found = existing.get(name);
        if (!found) await boss.createQueue(name, options);
        // A queue made by an earlier version with other options (e.g. plan-windows as a singleton) takes these.
        else if ((found.policy ?? 'standard') !== (options.policy ?? 'standard') || found.expireInSeconds !== options.expireInSeconds)
          await boss.updateQueue(name, options);
      }
      await ensureFetchOrderIndex(boss);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      const racing = code === '40P01' || code === '23505' || /deadlock detected|duplicate key/.test((err as Error).message);
      if (!racing || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt + Math.floor(Math.random() * 200)));
    }
  }
}
