// deliver-run: upload a generated run to its SFTP destination; schedule the retry after a
// retryable failure; queue the delivery report.
import { executeDelivery } from '@/lib/runs/deliver-run';
import { enqueue, type QueueData } from '@/lib/queues';
import type { QueueContext } from './context';

export const queue = 'deliver-run';

export async function handle(ctx: QueueContext, payload: QueueData<'deliver-run'>): Promise<void> {
  const outcome = await executeDelivery(ctx.database, payload.runId, { signal: ctx.shutdown, trigger: payload.trigger });
  if (outcome.status === 'retry') {
    await enqueue(ctx.database, 'deliver-run', { runId: payload.runId, trigger: 'schedule' }, { afterSeconds: outcome.retryInSeconds });
  }
  // Handed back because this worker is stopping: another worker takes it over now, not at a later sweep.
  if (outcome.status === 'requeued' && outcome.why === 'shutdown') await enqueue(ctx.database, 'deliver-run', payload);
  if ((outcome.status === 'delivered' || outcome.status === 'failed') && outcome.notificationId) {
    await enqueue(ctx.database, 'notify', { notificationId: outcome.notificationId });
  }
}
