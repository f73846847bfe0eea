// deliver-run: upload a generated run to its SFTP destination; schedule the retry after a
// retryable failure; queue the delivery report.
import { z } from 'zod';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { send, sendAfter } from '@/jobs/boss';
import type { QueueContext } from './context';

export const queue = 'deliver-run';
export const payloadSchema = z.object({ runId: z.uuid(), trigger: z.enum(['schedule', 'manual']).default('schedule') });

export async function handle(ctx: QueueContext, payload: z.output<typeof payloadSchema>): Promise<void> {
  const outcome = await executeDelivery(ctx.database, payload.runId, { signal: ctx.shutdown, trigger: payload.trigger });
  if (outcome.status === 'retry') {
    await sendAfter(ctx.boss, 'deliver-run', { runId: payload.runId, trigger: 'schedule' }, outcome.retryInSeconds);
  }
  if ((outcome.status === 'delivered' || outcome.status === 'failed') && outcome.notificationId) {
    await send(ctx.boss, 'notify', { notificationId: outcome.notificationId });
  }
}
