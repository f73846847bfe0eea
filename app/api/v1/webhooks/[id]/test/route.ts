// POST /api/v1/webhooks/{id}/test – send a signed webhook.test message now (one attempt, 10 s at most) and answer how the receiver responded
import { withAuth } from '@/lib/auth/with-auth';
import { pathId } from '@/lib/management/lookups';
import { sendTestMessage, webhookDeliveryJson } from '@/lib/webhooks';

export const POST = withAuth(
  async (req, { actor, database, params, program }) => {
    const sent = await sendTestMessage(database, { programId: program, endpointId: pathId(params, 'Webhook'), budget: actor });
    return Response.json({ data: webhookDeliveryJson(sent) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);
