// GET /api/v1/webhooks/{id}/deliveries – the endpoint's delivery log, newest first (status, attempts, response code, latency, body)
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';
import { pathId } from '@/lib/management/lookups';
import { deliveryListQuery, listWebhookDeliveries, webhookDeliveryJson, webhookEndpointOf } from '@/lib/webhooks';

export const GET = withAuth(
  async (req, { db, params, program }) => {
    const { limit } = parseQuery(req, deliveryListQuery);
    const endpoint = await webhookEndpointOf(db, program, pathId(params, 'Webhook'));
    const list = await listWebhookDeliveries(db, { programId: program, endpointId: endpoint.id, limit });
    return Response.json({ data: list.map(webhookDeliveryJson) });
  },
  { permission: 'connections.read', scope: 'data_exports.read', program: 'required' },
);
