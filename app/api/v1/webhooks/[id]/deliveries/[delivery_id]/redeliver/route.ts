// POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver – send a logged message again (a new message with the same body; 202, sent by the worker)
import { withAuth } from '@/lib/auth/with-auth';
import { parsePathParams } from '@/lib/http/params';
import { redeliverMessage, redeliverParams, webhookDeliveryJson } from '@/lib/webhooks';

export const POST = withAuth(
  async (req, { actor, database, params, program }) => {
    const path = parsePathParams(params, redeliverParams, { id: 'Webhook not found.', delivery_id: 'Webhook delivery not found.' });
    const message = await redeliverMessage(database, actor, { programId: program, endpointId: path.id, deliveryId: path.delivery_id });
    return Response.json({ data: webhookDeliveryJson(message) }, { status: 202 });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);
