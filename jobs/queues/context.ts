// What every queue handler gets: pg-boss (to enqueue the next step), the database, a logger, and
// a signal that fires when the worker is shutting down (in-flight work hands its run back). The
// handler gets its payload already parsed by its queue's schema (see ./index.ts).
import type PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Database } from '@/db/client';
import { send, sendMany, type QueueName, type QueuePayloads } from '@/jobs/boss';

export type QueueContext = {
  boss: PgBoss;
  database: Database;
  log: Logger;
  shutdown: AbortSignal;
};

/** One queue: its name, the schema of its payload, its schedule, and its handler of a parsed payload. */
export type QueueModule<S extends z.ZodType = z.ZodType> = {
  queue: QueueName;
  payloadSchema: S;
  cron?: string;
  // Method syntax: the registry holds modules of different payloads side by side.
  handle(ctx: QueueContext, payload: z.output<S>): Promise<void>;
};

/** A bad payload is logged and dropped, never retried forever (docs/conventions.md, jobs). */
export function parsePayload<S extends z.ZodType>(ctx: QueueContext, queue: string, schema: S, data: unknown): z.infer<S> | undefined {
  const r = schema.safeParse(data);
  if (!r.success) {
    ctx.log.error({ queue, issues: r.error.issues.map((i) => i.message) }, 'dropping a job with a bad payload');
    return undefined;
  }
  return r.data;
}

/** Jobs per insert statement when many runs are enqueued at once (a burst of windows closing together). */
const ENQUEUE_BATCH = 500;

async function enqueueMany<Q extends 'export-run' | 'deliver-run'>(
  boss: PgBoss,
  queue: Q,
  runIds: string[],
  data: (runId: string) => QueuePayloads[Q],
  dedupe: boolean,
): Promise<void> {
  const job = (runId: string) => ({ data: data(runId), ...(dedupe ? { singletonKey: runId, singletonSeconds: 300 } : {}) });
  if (runIds.length === 1) {
    const { data: payload, ...options } = job(runIds[0]);
    await send(boss, queue, payload, options);
    return;
  }
  // One statement per batch instead of one per run: a thousand windows closing at one boundary
  // are queued in a few round trips, and the first workers start on them meanwhile.
  for (let i = 0; i < runIds.length; i += ENQUEUE_BATCH) await sendMany(boss, queue, runIds.slice(i, i + ENQUEUE_BATCH).map(job));
}

export async function enqueueExports(boss: PgBoss, runIds: string[], opts: { dedupe?: boolean } = {}): Promise<void> {
  await enqueueMany(boss, 'export-run', runIds, (runId) => ({ runId }), opts.dedupe ?? false);
}

export async function enqueueDeliveries(
  boss: PgBoss,
  runIds: string[],
  opts: { dedupe?: boolean; trigger?: 'schedule' | 'manual' } = {},
): Promise<void> {
  const trigger = opts.trigger ?? 'schedule';
  await enqueueMany(boss, 'deliver-run', runIds, (runId) => ({ runId, trigger }), opts.dedupe ?? false);
}
