// GET /api/v1/webhooks/{id} – one webhook endpoint; PATCH – change its URL, events, description or enabled; DELETE – delete it (its log is kept)
import { parseJson } from '@/lib/http/parse';
import { can } from '@/lib/auth/permissions';
import { withAuth } from '@/lib/auth/with-auth';
import { pathId } from '@/lib/management/lookups';
import { deleteWebhookEndpoint, updateWebhookEndpoint, updateWebhookSchema, webhookEndpointOf, webhookJson } from '@/lib/webhooks';

export const GET = withAuth(
  async (req, { actor, db, params, program }) => {
    const programId = program;
    return Response.json({
      data: webhookJson(await webhookEndpointOf(db, programId, pathId(params, 'Webhook')), undefined, {
        fullUrl: can(actor, 'connections.write'),
      }),
    });
  },
  { permission: 'connections.read', scope: 'data_exports.read', program: 'required' },
);

export const PATCH = withAuth(
  async (req, { actor, db, database, params, program }) => {
    const input = await parseJson(req, updateWebhookSchema);
    const programId = program;
    const current = await webhookEndpointOf(db, programId, pathId(params, 'Webhook'));
    return Response.json({ data: webhookJson(await updateWebhookEndpoint(database, actor, programId, current.id, input)) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);

export const DELETE = withAuth(
  async (req, { actor, db, database, params, program }) => {
    const programId = program;
    const current = await webhookEndpointOf(db, programId, pathId(params, 'Webhook'));
    return Response.json({ data: webhookJson(await deleteWebhookEndpoint(database, actor, programId, current.id)) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);
