// export-run: generate a run's files; SFTP runs continue to deliver-run.
import { executeExportRun } from '@/lib/runs/export-run';
import { enqueueDeliveries, parsePayload, runPayloadSchema, type QueueContext } from './context';

export const queue = 'export-run';

export async function handle(ctx: QueueContext, data: unknown): Promise<void> {
  const payload = parsePayload(ctx, queue, runPayloadSchema, data);
  if (!payload) return;
  const outcome = await executeExportRun(ctx.database, payload.runId, { signal: ctx.shutdown });
  if (outcome.status === 'generated') await enqueueDeliveries(ctx.boss, [outcome.runId]);
}
