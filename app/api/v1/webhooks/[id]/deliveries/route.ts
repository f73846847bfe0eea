// GET /api/v1/webhooks/{id}/deliveries – the endpoint's delivery log, newest first (status, attempts, response code, latency, body)
import { z } from 'zod';
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';
import { pathId } from '@/lib/management/lookups';
import { listWebhookDeliveries, webhookDeliveryJson, webhookEndpointOf } from '@/lib/webhooks';

const querySchema = z.object({
  program: z.string().optional(),
  limit: z.coerce
    .number({ error: 'limit must be a number.' })
    .int('limit must be a whole number.')
    .min(1, 'limit is at least 1.')
    .max(200, 'limit is at most 200.')
    .default(50),
});

export const GET = withAuth(
  async (req, { db, params, program }) => {
    const { limit } = parseQuery(req, querySchema);
    const programId = program;
    const endpoint = await webhookEndpointOf(db, programId, pathId(params, 'Webhook'));
    const list = await listWebhookDeliveries(db, { programId, endpointId: endpoint.id, limit });
    return Response.json({ data: list.map(webhookDeliveryJson) });
  },
  { permission: 'connections.read', scope: 'data_exports.read', program: 'required' },
);
