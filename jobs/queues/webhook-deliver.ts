// webhook-deliver: one attempt of one webhook message (then the next attempt is scheduled with
// backoff), and each minute a sweep of due messages (retries whose job was lost, messages recorded
// while no worker ran). A receiver that hangs holds one worker for at most 10 s.
import { attemptWebhookDelivery, dueWebhookDeliveries } from '@/lib/webhooks';
import { enqueue, type QueueData } from '@/lib/queues';
import type { QueueContext } from './context';

export const queue = 'webhook-deliver';

export async function handle(ctx: QueueContext, payload: QueueData<'webhook-deliver'>): Promise<void> {
  const ids = payload.deliveryId ? [payload.deliveryId] : await dueWebhookDeliveries(ctx.database.db, 100);
  const next = [...ids];
  // A few at a time, so receivers that hang do not hold the sweep for long.
  const worker = async () => {
    for (let id = next.shift(); id && !ctx.shutdown.aborted; id = next.shift()) {
      const outcome = await attemptWebhookDelivery(ctx.database, id, { signal: ctx.shutdown });
      if (outcome.status === 'retry') {
        await enqueue(
          ctx.database,
          queue,
          { deliveryId: id },
          { afterSeconds: Math.ceil(outcome.retryInMs / 1000), singletonKey: `${id}:${outcome.attempts}` },
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, ids.length) }, worker));
}
