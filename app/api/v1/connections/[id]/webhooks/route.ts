// GET /api/v1/connections/{id}/webhooks – the connection's webhook endpoints; POST – add one (201 with its signing secret, shown once)
import { parseJson } from '@/lib/http/parse';
import { can } from '@/lib/auth/permissions';
import { withAuth } from '@/lib/auth/with-auth';
import { connectionOf } from '@/lib/management/lookups';
import { createWebhookEndpoint, createWebhookSchema, deliveriesOfEndpoints, listWebhookEndpoints, webhookJson } from '@/lib/webhooks';

export const GET = withAuth(
  async (req, { actor, db, params, program }) => {
    const programId = program;
    const connection = await connectionOf(db, programId, params);
    const list = await listWebhookEndpoints(db, { programId, connectionId: connection.id });
    const latest = new Map<string, Awaited<ReturnType<typeof deliveriesOfEndpoints>>[number]>();
    for (const d of await deliveriesOfEndpoints(
      db,
      programId,
      list.map((e) => e.id),
    )) {
      const cur = latest.get(d.endpointId);
      if (!cur || cur.createdAt < d.createdAt) latest.set(d.endpointId, d);
    }
    return Response.json({ data: list.map((e) => webhookJson(e, latest.get(e.id), { fullUrl: can(actor, 'connections.write') })) });
  },
  { permission: 'connections.read', scope: 'data_exports.read', program: 'required' },
);

export const POST = withAuth(
  async (req, { actor, db, database, params, program }) => {
    const input = await parseJson(req, createWebhookSchema);
    const programId = program;
    const connection = await connectionOf(db, programId, params);
    const { endpoint, secret } = await createWebhookEndpoint(database, actor, connection, input);
    // The only answer that holds the secret: it is never shown again.
    return Response.json({ data: { id: endpoint.id, url: endpoint.url, events: endpoint.events, secret } }, { status: 201 });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);
