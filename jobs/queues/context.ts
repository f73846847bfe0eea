// What every queue handler gets: pg-boss (to enqueue the next step), the database, a logger, and
// a signal that fires when the worker is shutting down (in-flight work hands its run back). The
// handler gets its payload already parsed by its queue's schema (see ./index.ts).
import type PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Database } from '@/db/client';
import { send, type QueueName } from '@/jobs/boss';

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

/** A bad payload is logged and dropped, never retried forever (CONVENTIONS 8). */
export function parsePayload<S extends z.ZodType>(ctx: QueueContext, queue: string, schema: S, data: unknown): z.infer<S> | undefined {
  const r = schema.safeParse(data);
  if (!r.success) {
    ctx.log.error({ queue, issues: r.error.issues.map((i) => i.message) }, 'dropping a job with a bad payload');
    return undefined;
  }
  return r.data;
}

export async function enqueueExports(boss: PgBoss, runIds: string[], opts: { dedupe?: boolean } = {}): Promise<void> {
  for (const runId of runIds) {
    await send(boss, 'export-run', { runId }, opts.dedupe ? { singletonKey: runId, singletonSeconds: 300 } : {});
  }
}

export async function enqueueDeliveries(
  boss: PgBoss,
  runIds: string[],
  opts: { dedupe?: boolean; trigger?: 'schedule' | 'manual' } = {},
): Promise<void> {
  for (const runId of runIds) {
    await send(
      boss,
      'deliver-run',
      { runId, trigger: opts.trigger ?? 'schedule' },
      opts.dedupe ? { singletonKey: runId, singletonSeconds: 300 } : {},
    );
  }
}
