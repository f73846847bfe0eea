// What every queue handler gets: the database (to work and to enqueue the next step through
// lib/queues), a logger, and a signal that fires when the worker is shutting down (in-flight work
// hands its run back). The handler gets its payload already parsed by its queue's schema (./index.ts).
import type { Logger } from 'pino';
import type { Database } from '@/db/client';
import { QUEUES, type QueueData, type QueueName } from '@/lib/queues';

export type QueueContext = {
  database: Database;
  log: Logger;
  shutdown: AbortSignal;
};

/** One queue's handler (its name, payload, options and schedule are in lib/queues/definitions.ts). */
export type QueueHandler<Q extends QueueName> = {
  queue: Q;
  // Method syntax: the registry holds handlers of different payloads side by side.
  handle(ctx: QueueContext, payload: QueueData<Q>): Promise<void>;
};

/** A bad payload is logged and dropped, never retried forever (docs/conventions.md, jobs). */
export function parsePayload<Q extends QueueName>(ctx: QueueContext, queue: Q, data: unknown): QueueData<Q> | undefined {
  const r = QUEUES[queue].payload.safeParse(data);
  if (!r.success) {
    ctx.log.error({ queue, issues: r.error.issues.map((i) => i.message) }, 'dropping a job with a bad payload');
    return undefined;
  }
  return r.data as QueueData<Q>;
}
