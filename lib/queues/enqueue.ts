// The one way to enqueue a job, for the web, lib and the jobs alike: enqueue(database, queue,
// payload) takes the payload its queue's schema accepts (a wrong one is a type error; the worker
// parses it once more before the handler) and sends it over the caller's own database pool, with
// the queue's options. Many runs at once go in a few insert statements (enqueueRuns).
import { randomBytes } from 'node:crypto';
import type { Database } from '@/db/client';
import { logger } from '@/lib/logger';
import { senderBoss } from './boss';
import type { QueueName, QueuePayload } from './definitions';

export type EnqueueOptions = {
  /** The job becomes available after this many seconds. */
  afterSeconds?: number;
  /** With singletonSeconds: a job whose key is already taken in its time slot is dropped. */
  singletonKey?: string;
  singletonSeconds?: number;
};

/** Enqueues one job on `queue`. The job's id, or null when its singleton key dropped it. */
export async function enqueue<Q extends QueueName>(
  database: Database,
  queue: Q,
  payload: QueuePayload<Q>,
  options: EnqueueOptions = {},
): Promise<string | null> {
  const { afterSeconds, ...rest } = options;
  return senderBoss(database).send(queue, payload as object, {
    ...rest,
    ...(afterSeconds === undefined ? {} : { startAfter: afterSeconds }),
  });
}

/**
 * Enqueues a job for work that the jobs' every-minute sweep would also find (an admin's action, a
 * message just recorded): the job only makes it happen within seconds. Never throws: a failure is
 * logged, and the work happens at the sweep. Without pg-boss in the database (no jobs worker ever
 * started there) nothing is queued.
 */
export async function tryEnqueue<Q extends QueueName>(database: Database, queue: Q, payload: QueuePayload<Q>): Promise<string | null> {
  try {
    return await enqueue(database, queue, payload);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const noBoss = code === '42P01' || code === '3F000';
    logger()[noBoss ? 'debug' : 'warn'](
      { queue, err: (err as Error).message },
      'could not enqueue a job for the jobs worker; its every-minute sweep does the work',
    );
    return null;
  }
}

/** Jobs per insert statement when many are enqueued at once (a burst of windows closing together). */
const ENQUEUE_BATCH = 500;

/**
 * Enqueues many jobs on `queue`, ENQUEUE_BATCH per statement (pg-boss insert: the queue's options
 * apply, as with enqueue): a thousand windows closing at one boundary are queued in a few round
 * trips, and the first workers start on them meanwhile. They are fetched in the order given.
 */
export async function enqueueMany<Q extends QueueName>(database: Database, queue: Q, payloads: QueuePayload<Q>[]): Promise<void> {
  if (payloads.length === 0) return;
  // pg-boss fetches by priority, creation time, then id; the jobs of one insert share their creation
  // time, so ids that sort in list order keep them first in, first out, as one send after another does.
  const ids = orderedIds(payloads.length);
  const boss = senderBoss(database);
  for (let i = 0; i < payloads.length; i += ENQUEUE_BATCH) {
    await boss.insert(payloads.slice(i, i + ENQUEUE_BATCH).map((data, j) => ({ id: ids[i + j], name: queue, data: data as object })));
  }
}

/** `n` random UUIDs that sort (as PostgreSQL compares uuid) in the order given: time, then index, then random bits. */
export function orderedIds(n: number): string[] {
  const time = Date.now().toString(16).padStart(12, '0');
  return Array.from({ length: n }, (_, i) => {
    const hex = time + i.toString(16).padStart(8, '0') + randomBytes(6).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  });
}

/**
 * Enqueues the export or delivery of each run. `unlessQueued` (the every-minute sweep of due runs)
 * leaves out a run that already has a job of this queue waiting (or waiting for its retry): the
 * sweep re-sends lost jobs without piling up copies of queued ones. Every other send — a run just
 * planned, recovered from a dead worker, handed back, retried by an admin — is never dropped.
 */
export async function enqueueRuns(
  database: Database,
  queue: 'export-run' | 'deliver-run',
  runIds: string[],
  opts: { unlessQueued?: boolean; trigger?: 'schedule' | 'manual' } = {},
): Promise<void> {
  let ids = runIds;
  if (opts.unlessQueued && ids.length > 0) {
    const rows = await database.sql<{ id: string }[]>`
      select u.id from unnest(${ids}::text[]) with ordinality as u(id, i)
      where u.id not in (
        select j.data ->> 'runId' from pgboss.job j
        where j.name = ${queue} and j.state < 'active' and j.data ->> 'runId' is not null)
      order by u.i`;
    ids = rows.map((r) => r.id);
  }
  if (queue === 'export-run')
    await enqueueMany(
      database,
      queue,
      ids.map((runId) => ({ runId })),
    );
  else
    await enqueueMany(
      database,
      queue,
      ids.map((runId) => ({ runId, trigger: opts.trigger ?? 'schedule' })),
    );
}
