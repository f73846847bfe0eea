// What every queue handler gets: pg-boss (to enqueue the next step), the database, a logger, and
// a signal that fires when the worker is shutting down (in-flight work hands its run back).
import type PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Database } from '@/db/client';

export type QueueContext = {
  boss: PgBoss;
  database: Database;
  log: Logger;
  shutdown: AbortSignal;
};

export const runPayloadSchema = z.object({ runId: z.uuid() });
export type RunPayload = z.infer<typeof runPayloadSchema>;

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
    await boss.send('export-run', { runId }, opts.dedupe ? { singletonKey: runId, singletonSeconds: 300 } : {});
  }
}

export async function enqueueDeliveries(
  boss: PgBoss,
  runIds: string[],
  opts: { dedupe?: boolean; trigger?: 'schedule' | 'manual' } = {},
): Promise<void> {
  for (const runId of runIds) {
    await boss.send(
      'deliver-run',
      { runId, trigger: opts.trigger ?? 'schedule' },
      opts.dedupe ? { singletonKey: runId, singletonSeconds: 300 } : {},
    );
  }
}
