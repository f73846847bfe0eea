// The messages an admin sends by hand from the webhook panel: a signed webhook.test now (one
// attempt, answered with how the receiver responded), and a logged message again (a new message
// with the same body, recorded with its Activity Log entry and sent by the worker).
import type { Database, Db } from '@/db/client';
import { findConnection } from '@/db/queries/connections';
import { recordAudit } from '@/db/queries/audit';
import type { WebhookDelivery } from '@/db/schema';
import type { Actor } from '@/lib/auth/actor';
import { now } from '@/lib/clock';
import { AppError } from '@/lib/http/errors';
import { enforceExpensiveLimit } from '@/lib/http/rate-limit';
import { tryEnqueue } from '@/lib/queues';
import { attemptWebhookDelivery, findWebhookDelivery, queueWebhookMessage } from './deliveries';
import { webhookEndpointOf } from './endpoints';
import { testBody, type WebhookBody } from './payloads';

/** Sends a webhook.test message to the endpoint now (one attempt, 10 s at most); answers the logged message after it. */
export async function sendTestMessage(
  database: Database,
  p: { programId: number; endpointId: string; budget?: Actor },
): Promise<WebhookDelivery> {
  const db: Db = database.db;
  const endpoint = await webhookEndpointOf(db, p.programId, p.endpointId);
  const connection = await findConnection(db, { programId: p.programId, id: endpoint.connectionId });
  if (!connection) throw new AppError('not_found', 'Webhook not found.');
  // An outbound POST sent at once: it spends the caller's budget (429 with Retry-After once spent).
  if (p.budget) await enforceExpensiveLimit('webhook_send', p.budget);
  const message = await queueWebhookMessage(db, endpoint, testBody(now(), connection, endpoint.id));
  await attemptWebhookDelivery(database, message.id, { force: true, once: true });
  return (await findWebhookDelivery(db, { programId: p.programId, id: message.id })) ?? message;
}

/** Records a logged message of the endpoint again (same body, a new message id) and wakes the worker to send it. */
export async function redeliverMessage(
  database: Database,
  actor: Actor,
  p: { programId: number; endpointId: string; deliveryId: string },
): Promise<WebhookDelivery> {
  const db: Db = database.db;
  const endpoint = await webhookEndpointOf(db, p.programId, p.endpointId);
  const original = await findWebhookDelivery(db, { programId: p.programId, id: p.deliveryId });
  if (!original || original.endpointId !== endpoint.id) throw new AppError('not_found', 'Webhook delivery not found.');
  await enforceExpensiveLimit('webhook_send', actor);
  const message = await db.transaction(async (tx) => {
    const m = await queueWebhookMessage(tx, endpoint, JSON.parse(original.payload) as WebhookBody, {
      runId: original.runId,
      redeliveryOf: original.id,
    });
    await recordAudit(tx, {
      programId: p.programId,
      actorId: actor.accountId,
      actorLabel: actor.label,
      action: 'webhook.redelivered',
      targetType: 'webhook',
      targetId: endpoint.id,
      details: { connection_id: endpoint.connectionId, delivery_id: original.id, new_delivery_id: m.id, event: original.event },
    });
    return m;
  });
  await tryEnqueue(database, 'webhook-deliver', { deliveryId: message.id });
  return message;
}
