// notify: send one message from the outbox (SMTP, or an .eml file without SMTP_URL). Without one
// (each minute, and when the web asks: e.g. "connection active"), sweep anything left pending (a
// lost job, a crash between commit and send).
import { sendPendingNotification, sendPendingNotifications } from '@/lib/notify';
import type { QueueData } from '@/lib/queues';
import type { QueueContext } from './context';

export const queue = 'notify';

export async function handle(ctx: QueueContext, payload: QueueData<'notify'>): Promise<void> {
  if (!payload.notificationId) {
    await sendPendingNotifications(ctx.database, { limit: 200 });
    return;
  }
  const result = await sendPendingNotification(ctx.database, payload.notificationId);
  // Let pg-boss retry with backoff while the message is still pending.
  if (result.retryable && result.status === 'pending') throw new Error(`notification not sent yet: ${result.error ?? 'SMTP error'}`);
}
