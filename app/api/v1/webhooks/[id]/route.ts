// GET /api/v1/webhooks/{id} – one webhook endpoint; PATCH – change its URL, events, description or enabled; DELETE – delete it (its log is kept)
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/http/with-auth';
import { programOf } from '@/lib/management/program';
import { deleteWebhookEndpoint, updateWebhookEndpoint, updateWebhookSchema, webhookEndpointOf, webhookJson } from '@/lib/webhooks';

type Params = { id: string };

export const GET = withAuth<Params>(
  async (req, { actor, db, params }) => {
    const programId = await programOf(req, actor, db);
    return Response.json({ data: webhookJson(await webhookEndpointOf(db, programId, params.id)) });
  },
  { permission: 'connections.read', scope: 'data_exports.read' },
);

export const PATCH = withAuth<Params>(
  async (req, { actor, db, database, params }) => {
    const input = await parseJson(req, updateWebhookSchema);
    const programId = await programOf(req, actor, db);
    const current = await webhookEndpointOf(db, programId, params.id);
    return Response.json({ data: webhookJson(await updateWebhookEndpoint(database, actor, programId, current.id, input)) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage' },
);

export const DELETE = withAuth<Params>(
  async (req, { actor, db, database, params }) => {
    const programId = await programOf(req, actor, db);
    const current = await webhookEndpointOf(db, programId, params.id);
    return Response.json({ data: webhookJson(await deleteWebhookEndpoint(database, actor, programId, current.id)) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage' },
);
