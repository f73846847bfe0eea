// POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver – send a logged message again (a new message with the same body; 202, sent by the worker)
import { z } from 'zod';
import { recordAudit } from '@/db/queries/audit';
import { AppError } from '@/lib/http/errors';
import { withAuth } from '@/lib/auth/with-auth';
import { parsePathParams, uuidParam } from '@/lib/http/params';
import {
  findWebhookDelivery,
  queueWebhookMessage,
  wakeWorker,
  webhookDeliveryJson,
  webhookEndpointOf,
  type WebhookBody,
} from '@/lib/webhooks';

const pathSchema = z.object({ id: uuidParam, delivery_id: uuidParam });

export const POST = withAuth(
  async (req, { actor, db, database, params, program }) => {
    const programId = program;
    const path = parsePathParams(params, pathSchema, { id: 'Webhook not found.', delivery_id: 'Webhook delivery not found.' });
    const endpoint = await webhookEndpointOf(db, programId, path.id);
    const original = await findWebhookDelivery(db, { programId, id: path.delivery_id });
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
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);
