// POST /api/v1/webhooks/{id}/test – send a signed webhook.test message now (one attempt, 10 s at most) and answer how the receiver responded
import { findConnection } from '@/db/queries/connections';
import { AppError } from '@/lib/http/errors';
import { withAuth } from '@/lib/auth/with-auth';
import { pathId } from '@/lib/management/lookups';
import { now } from '@/lib/clock';
import {
  attemptWebhookDelivery,
  findWebhookDelivery,
  queueWebhookMessage,
  testBody,
  webhookDeliveryJson,
  webhookEndpointOf,
} from '@/lib/webhooks';

export const POST = withAuth(
  async (req, { db, database, params, program }) => {
    const programId = program;
    const endpoint = await webhookEndpointOf(db, programId, pathId(params, 'Webhook'));
    const connection = await findConnection(db, { programId, id: endpoint.connectionId });
    if (!connection) throw new AppError('not_found', 'Webhook not found.');
    const message = await queueWebhookMessage(db, endpoint, testBody(now(), connection, endpoint.id));
    await attemptWebhookDelivery(database, message.id, { force: true, once: true });
    const sent = await findWebhookDelivery(db, { programId, id: message.id });
    return Response.json({ data: webhookDeliveryJson(sent ?? message) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);
