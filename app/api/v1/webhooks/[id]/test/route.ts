// POST /api/v1/webhooks/{id}/test – send a signed webhook.test message now (one attempt, 10 s at most) and answer how the receiver responded
import { findConnection } from '@/db/queries/connections';
import { AppError } from '@/lib/http/errors';
import { withAuth } from '@/lib/http/with-auth';
import { programOf } from '@/lib/management/program';
import { now } from '@/lib/clock';
import {
  attemptWebhookDelivery,
  findWebhookDelivery,
  queueWebhookMessage,
  testBody,
  webhookDeliveryJson,
  webhookEndpointOf,
} from '@/lib/webhooks';

export const POST = withAuth<{ id: string }>(
  async (req, { actor, db, database, params }) => {
    const programId = await programOf(req, actor, db);
    const endpoint = await webhookEndpointOf(db, programId, params.id);
    const connection = await findConnection(db, { programId, id: endpoint.connectionId });
    if (!connection) throw new AppError('not_found', 'Webhook not found.');
    const message = await queueWebhookMessage(db, endpoint, testBody(now(), connection, endpoint.id));
    await attemptWebhookDelivery(database, message.id, { force: true, once: true });
    const sent = await findWebhookDelivery(db, { programId, id: message.id });
    return Response.json({ data: webhookDeliveryJson(sent ?? message) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage' },
);
