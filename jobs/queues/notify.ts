// notify: send one message from the outbox (SMTP, or an .eml file without SMTP_URL). Also sweeps
// anything left pending (a lost job, a crash between commit and send).
import { z } from 'zod';
import { sendPendingNotification, sendPendingNotifications } from '@/lib/notify';
import { parsePayload, type QueueContext } from './context';

export const queue = 'notify';
/** The sweep (each minute, and when the web nudges it): messages recorded by the web (e.g. "connection active"). */
export const cron = '* * * * *';
const payloadSchema = z.object({ notificationId: z.uuid().optional() });

export async function handle(ctx: QueueContext, data: unknown): Promise<void> {
  const payload = parsePayload(ctx, queue, payloadSchema, data ?? {});
  if (!payload) return;
  if (!payload.notificationId) {
    await sendPendingNotifications(ctx.database, { limit: 200 });
    return;
  }
  const result = await sendPendingNotification(ctx.database, payload.notificationId);
  // Let pg-boss retry with backoff while the message is still pending.
  if (result.retryable && result.status === 'pending') throw new Error(`notification not sent yet: ${result.error ?? 'SMTP error'}`);
}
