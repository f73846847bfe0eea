// The queue contract: every queue the product uses, defined once — its name, the schema of its
// payload, its pg-boss options, its workers per jobs process and its schedule. The web, lib and the
// jobs all enqueue through ./enqueue.ts (typed by these schemas); the jobs worker registers a handler
// per queue (jobs/queues/<queue>.ts) and parses each job with the same schema before the handler.
import type PgBoss from 'pg-boss';
import { z } from 'zod';
import { env, type Env } from '@/lib/env';

type QueueOptions = Omit<PgBoss.Queue, 'name'>;

type QueueDefinition<S extends z.ZodType> = {
  payload: S;
  /** pg-boss options (explicit: its defaults differ between docs and code), set on the queue when a jobs process starts. */
  options: QueueOptions | ((e: Env) => QueueOptions);
  /** Handlers one jobs process runs at once (pg-boss hands each job to one worker across all processes). */
  workers: (e: Env) => number;
  /** Cron (UTC) on which pg-boss sends the queue a job with the empty payload. */
  cron?: string;
};

const define = <S extends z.ZodType>(d: QueueDefinition<S>) => d;

const runPayload = z.object({ runId: z.uuid() });

export const QUEUES = {
  // Every minute: plan closed windows, start pending historical requests, recover runs of dead
  // workers and re-send due runs. An admin's action asks for one connection or one historical
  // request only (jobs/queues/plan-windows.ts). Not a singleton queue: a tick left active by a
  // worker killed mid-tick would hold every later tick back until pg-boss expired it. Ticks may run
  // side by side in several processes: planning is insert-or-ignore, claims are atomic.
  'plan-windows': define({
    payload: z.object({
      /** Who asked (logs). */
      reason: z.string().optional(),
      /** Plan this connection and send its due runs, nothing else (resume, start, a new connection). */
      connectionId: z.uuid().optional(),
      /** Plan this historical request's months and send their exports, nothing else. */
      historicalRequestId: z.uuid().optional(),
    }),
    options: { retryLimit: 0, expireInSeconds: 600, policy: 'standard' },
    workers: () => 1,
    cron: '* * * * *',
  }),
  // Generate a run's files; SFTP runs go on to deliver-run. A failed attempt throws, and pg-boss
  // sends the next one with backoff: as many as the run ledger counts (DDE_EXPORT_MAX_ATTEMPTS,
  // lib/runs/export-run.ts), whose last failure fails the run.
  'export-run': define({
    payload: runPayload,
    options: (e) => ({ retryLimit: e.exportMaxAttempts - 1, retryDelay: 30, retryBackoff: true, expireInSeconds: 3600 }),
    workers: (e) => e.exportWorkers,
  }),
  // Upload a generated run to its SFTP server. Delivery retries are ours (the deliveries table,
  // DDE_DELIVERY_MAX_ATTEMPTS, backoff), not pg-boss's.
  'deliver-run': define({
    payload: runPayload.extend({ trigger: z.enum(['schedule', 'manual']).default('schedule') }),
    options: { retryLimit: 0, expireInSeconds: 3600 },
    workers: (e) => e.deliveryWorkers,
  }),
  // Send one message from the outbox; without one (each minute, and when asked), sweep the pending ones.
  notify: define({
    payload: z.object({ notificationId: z.uuid().optional(), reason: z.string().optional() }),
    options: { retryLimit: 5, retryDelay: 60, retryBackoff: true, expireInSeconds: 300 },
    workers: () => 1,
    cron: '* * * * *',
  }),
  // Hourly: delete the bytes of files past retention.
  'expire-files': define({
    payload: z.object({}),
    options: { retryLimit: 2, retryDelay: 60, expireInSeconds: 1800, policy: 'singleton' },
    workers: () => 1,
    cron: '7 * * * *',
  }),
  // Daily: test every active SFTP connection, OpenPGP key expiry notices, the daily digests.
  'connection-health': define({
    payload: z.object({}),
    options: { retryLimit: 2, retryDelay: 300, expireInSeconds: 1800, policy: 'singleton' },
    workers: () => 1,
    cron: '17 6 * * *',
  }),
  // One attempt of one webhook message; without one (each minute), a sweep of due messages. Webhook
  // retries are ours (webhook_deliveries, backoff).
  'webhook-deliver': define({
    payload: z.object({ deliveryId: z.uuid().optional() }),
    options: { retryLimit: 0, expireInSeconds: 1800 },
    workers: () => 2,
    cron: '* * * * *',
  }),
};

export type QueueName = keyof typeof QUEUES;
export const QUEUE_NAMES = Object.keys(QUEUES) as QueueName[];

/** The pg-boss options of `queue` under configuration `e`. */
export function queueOptions(queue: QueueName, e: Env = env()): QueueOptions {
  const { options } = QUEUES[queue];
  return typeof options === 'function' ? options(e) : options;
}

/** What a job of `Q` is sent with (defaults may be left out). */
export type QueuePayload<Q extends QueueName> = z.input<(typeof QUEUES)[Q]['payload']>;
/** What a handler of `Q` gets: the payload parsed by its schema, defaults applied. */
export type QueueData<Q extends QueueName> = z.output<(typeof QUEUES)[Q]['payload']>;
