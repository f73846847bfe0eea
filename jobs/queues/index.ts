// Registers every queue's handler and schedule. One file per queue beside this one, exporting its
// handler; what the queue is (name, payload schema, options, workers, schedule) is defined once in
// lib/queues/definitions.ts. A job's payload is parsed here, once, before the handler sees it (a bad
// payload is logged and dropped).
// Shutdown: new jobs stop being fetched; in-flight handlers get a grace period to finish, then
// their runs are aborted and handed back to the ledger (and sent again for another worker).
import { setMaxListeners } from 'node:events';
import type PgBoss from 'pg-boss';
import type { Database } from '@/db/client';
import { DEFAULT_EXPORT_STREAMS } from '@/lib/exports/chunked';
import { env } from '@/lib/env';
import { logger } from '@/lib/logger';
import { QUEUE_NAMES, QUEUES, startWaker, type QueueName } from '@/lib/queues';
import { parsePayload, type QueueContext, type QueueHandler } from './context';
import * as connectionHealth from './connection-health';
import * as deliverRun from './deliver-run';
import * as expireFiles from './expire-files';
import * as exportRun from './export-run';
import * as notify from './notify';
import * as planWindows from './plan-windows';
import * as webhookDeliver from './webhook-deliver';

/** Every queue's handler (a queue without one, or a handler of another queue's payload, does not compile). */
export const HANDLERS: { [Q in QueueName]: QueueHandler<Q> } = {
  'plan-windows': planWindows,
  'export-run': exportRun,
  'deliver-run': deliverRun,
  notify,
  'expire-files': expireFiles,
  'connection-health': connectionHealth,
  'webhook-deliver': webhookDeliver,
};

export const GRACE_MS = 15_000;

/** One job: its payload parsed by the queue's schema (once, here), then the handler; a bad payload is logged and dropped. */
export async function runJob<Q extends QueueName>(ctx: QueueContext, handler: QueueHandler<Q>, data: unknown): Promise<void> {
  const payload = parsePayload(ctx, handler.queue, data ?? {});
  if (payload === undefined) return;
  await handler.handle(ctx, payload);
}

/**
 * Database connections the jobs process needs so its workers never queue for one: an export holds
 * its run lock and up to DEFAULT_EXPORT_STREAMS COPYs, a delivery one; plus the planner and the rest.
 */
export function jobsPoolSize(e = env()): number {
  return e.exportWorkers * (1 + DEFAULT_EXPORT_STREAMS) + e.deliveryWorkers + 4;
}

/**
 * How often an idle worker fetches on its own. Workers are woken when their queue has work
 * (lib/queues/wake.ts: NOTIFY from the job table, and one sweep per process every 30 s), and fetch
 * again at once after each job; their own polling is only the last resort.
 */
export const IDLE_POLL_SECONDS = 600;

export async function registerQueues(
  boss: PgBoss,
  database: Database,
  opts: { pollingIntervalSeconds?: number } = {},
): Promise<() => Promise<void>> {
  const shutdown = new AbortController();
  setMaxListeners(0, shutdown.signal); // every in-flight job listens to it
  const log = logger().child({ process: 'jobs' });
  const ctx: QueueContext = { database, log, shutdown: shutdown.signal };
  const inFlight = new Set<Promise<unknown>>();
  const workerIds: string[] = [];
  const waker = await startWaker(boss, database, { onError: (err) => log.warn({ err: err.message }, 'job wake-up listener failed') });
  const pollingIntervalSeconds = opts.pollingIntervalSeconds ?? IDLE_POLL_SECONDS;

  for (const name of QUEUE_NAMES) {
    const mod = HANDLERS[name] as QueueHandler<QueueName>;
    const { workers, cron } = QUEUES[name];
    for (let i = 0; i < workers(env()); i++) {
      let id = '';
      id = await boss.work(mod.queue, { batchSize: 1, pollingIntervalSeconds }, async (jobs) => {
        // This worker found work, so more may be waiting: the next idle worker of the queue looks too.
        waker.busy(mod.queue, id, true);
        try {
          for (const job of jobs) {
            if (shutdown.signal.aborted) throw new Error('worker shutting down');
            const p = runJob(ctx, mod, job.data).catch((err: Error) => {
              log.error({ queue: mod.queue, jobId: job.id, err: err.message }, 'job failed');
              throw err;
            });
            inFlight.add(p);
            try {
              await p;
            } finally {
              inFlight.delete(p);
            }
          }
        } finally {
          waker.busy(mod.queue, id, false);
        }
        // More may be waiting: fetch again at once instead of after the polling interval.
        if (jobs.length > 0) boss.notifyWorker(id);
      });
      workerIds.push(id);
      waker.add(mod.queue, id);
    }
    if (cron) await boss.schedule(name, cron, {}, { tz: 'UTC' });
  }

  return async () => {
    await waker.stop();
    for (const id of workerIds) await boss.offWork({ id }).catch(() => undefined);
    const all = Promise.allSettled([...inFlight]);
    const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), GRACE_MS).unref())]);
    if (timedOut) {
      log.warn({ jobs: inFlight.size }, 'grace period over: handing in-flight runs back');
      shutdown.abort();
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, 5_000).unref())]);
    }
  };
}
