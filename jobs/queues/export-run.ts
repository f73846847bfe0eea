// export-run: generate a run's files; SFTP runs continue to deliver-run.
import { z } from 'zod';
import { executeExportRun } from '@/lib/runs/export-run';
import { sendAfter } from '@/jobs/boss';
import { enqueueDeliveries, type QueueContext } from './context';

export const queue = 'export-run';
export const payloadSchema = z.object({ runId: z.uuid() });

export async function handle(ctx: QueueContext, payload: z.output<typeof payloadSchema>): Promise<void> {
  const outcome = await executeExportRun(ctx.database, payload.runId, { signal: ctx.shutdown });
  if (outcome.status === 'generated') await enqueueDeliveries(ctx.boss, [outcome.runId]);
  // Held back by an open transaction: look again shortly (sooner at first, then every 15 s).
  if (outcome.status === 'waiting') await sendAfter(ctx.boss, 'export-run', { runId: outcome.runId }, outcome.waitedSeconds < 60 ? 3 : 15);
}
