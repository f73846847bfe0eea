// POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver – send a logged message again (a new message with the same body; 202, sent by the worker)
import { recordAudit } from '@/db/queries/audit';
import { AppError } from '@/lib/http/errors';
import { withAuth } from '@/lib/http/with-auth';
import { programOf } from '@/lib/management/program';
import {
  findWebhookDelivery,
  queueWebhookMessage,
  wakeWorker,
  webhookDeliveryJson,
  webhookEndpointOf,
  type WebhookBody,
} from '@/lib/webhooks';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const POST = withAuth<{ id: string; delivery_id: string }>(
  async (req, { actor, db, database, params }) => {
    const programId = await programOf(req, actor, db);
    const endpoint = await webhookEndpointOf(db, programId, params.id);
    const original = UUID.test(params.delivery_id)
      ? await findWebhookDelivery(db, { programId, id: params.delivery_id.toLowerCase() })
      : undefined;
    if (!original || original.endpointId !== endpoint.id) throw new AppError('not_found', 'Webhook delivery not found.');
    const message = await db.transaction(async (tx) => {
      const m = await queueWebhookMessage(tx, endpoint, JSON.parse(original.payload) as WebhookBody, {
        runId: original.runId,
        redeliveryOf: original.id,
      });
      await recordAudit(tx, {
        programId,
        actorId: actor.accountId,
        actorLabel: actor.label,
        action: 'webhook.redelivered',
        targetType: 'webhook',
        targetId: endpoint.id,
        details: { connection_id: endpoint.connectionId, delivery_id: original.id, new_delivery_id: m.id, event: original.event },
      });
      return m;
    });
    await wakeWorker(database, { webhookDeliveryIds: [message.id] });
    return Response.json({ data: webhookDeliveryJson(message) }, { status: 202 });
  },
  { permission: 'connections.write', scope: 'data_exports.manage' },
);
