// notify: send one message from the outbox (SMTP, or an .eml file without SMTP_URL). Also sweeps
// anything left pending (a lost job, a crash between commit and send).
import { z } from 'zod';
import { sendPendingNotification, sendPendingNotifications } from '@/lib/notify';
import type { QueueContext } from './context';

export const queue = 'notify';
/** The sweep (each minute, and when the web nudges it): messages recorded by the web (e.g. "connection active"). */
export const cron = '* * * * *';
/** One message to send, or (without one) the sweep; `reason` says who asked for the sweep (logs). */
export const payloadSchema = z.object({ notificationId: z.uuid().optional(), reason: z.string().optional() });

export async function handle(ctx: QueueContext, payload: z.output<typeof payloadSchema>): Promise<void> {
  if (!payload.notificationId) {
    await sendPendingNotifications(ctx.database, { limit: 200 });
    return;
  }
  const result = await sendPendingNotification(ctx.database, payload.notificationId);
  // Let pg-boss retry with backoff while the message is still pending.
  if (result.retryable && result.status === 'pending') throw new Error(`notification not sent yet: ${result.error ?? 'SMTP error'}`);
}
