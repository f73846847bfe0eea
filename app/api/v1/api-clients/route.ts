// GET /api/v1/api-clients – a program's API clients (Brand Super Admins read them too); POST – create one (its secret is shown once)
import { createApiClientSchema } from '@/lib/auth/api-access-schemas';
import { createApiClient, listApiClients, viewApiClient } from '@/lib/auth/api-clients';
import { requireProgram } from '@/lib/auth/actor';
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';

export const dynamic = 'force-dynamic';

export const GET = withAuth(
  async (_req, { db, program }) => {
    const clients = await listApiClients(db, { programId: program });
    return Response.json({ data: clients.map(viewApiClient) }, { headers: { 'cache-control': 'no-store' } });
  },
  { permission: 'api_access.read', sessionOnly: true, program: 'required' },
);

export const POST = withAuth(
  async (req, { actor, database }) => {
    const input = await parseJson(req, createApiClientSchema);
    requireProgram(actor, input.program_id);
    const { client, clientSecret } = await createApiClient(database, {
      programId: input.program_id,
      name: input.name,
      scopes: input.scopes,
      connectionIds: input.connection_ids,
      allowNoConnection: false,
      author: { accountId: actor.accountId, label: actor.label },
    });
    return Response.json(
      { data: { ...viewApiClient(client), client_secret: clientSecret } },
      { status: 201, headers: { 'cache-control': 'no-store' } },
    );
  },
  { permission: 'api_access.manage', sessionOnly: true },
);
