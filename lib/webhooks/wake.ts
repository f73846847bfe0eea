// Wakes the jobs worker for messages just recorded: a `webhook-deliver` job per webhook message
// and a `notify` sweep for emails, sent through pg-boss over the caller's own pool (lib/pool-boss.ts,
// as the web's nudge does). Never throws: the every-minute sweeps send whatever a lost wake-up left behind.
import type { Database } from '@/db/client';
import { logger } from '@/lib/logger';
import { poolBoss } from '@/lib/pool-boss';

export const WEBHOOK_QUEUE = 'webhook-deliver';

export async function wakeWorker(database: Database, p: { webhookDeliveryIds?: string[]; notify?: boolean }): Promise<void> {
  const jobs: [string, object][] = (p.webhookDeliveryIds ?? []).map((id) => [WEBHOOK_QUEUE, { deliveryId: id }]);
  if (p.notify) jobs.push(['notify', {}]);
  for (const [queue, data] of jobs) {
    try {
      await poolBoss(database).send(queue, data);
    } catch (err) {
      logger().debug({ queue, err: (err as Error).message }, 'could not wake the jobs worker; its sweep sends the message');
    }
  }
}
