// deliver-run: upload a generated run to its SFTP destination; schedule the retry after a
// retryable failure; queue the delivery report.
import { z } from 'zod';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { parsePayload, type QueueContext } from './context';

export const queue = 'deliver-run';
const payloadSchema = z.object({ runId: z.uuid(), trigger: z.enum(['schedule', 'manual']).default('schedule') });

export async function handle(ctx: QueueContext, data: unknown): Promise<void> {
  const payload = parsePayload(ctx, queue, payloadSchema, data);
  if (!payload) return;
  const outcome = await executeDelivery(ctx.database, payload.runId, { signal: ctx.shutdown, trigger: payload.trigger });
  if (outcome.status === 'retry') {
    await ctx.boss.sendAfter('deliver-run', { runId: payload.runId, trigger: 'schedule' }, {}, outcome.retryInSeconds);
  }
  if ((outcome.status === 'delivered' || outcome.status === 'failed') && outcome.notificationId) {
    await ctx.boss.send('notify', { notificationId: outcome.notificationId });
  }
}
