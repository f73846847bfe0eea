// DELETE /api/v1/api-clients/{client_id} – revoke an API client and every token issued to it
import { apiClientIdParamsSchema } from '@/lib/auth/api-access-schemas';
import { revokeApiClient, viewApiClient } from '@/lib/auth/api-clients';
import { parsePathParams } from '@/lib/http/params';
import { withAuth } from '@/lib/auth/with-auth';

export const dynamic = 'force-dynamic';

export const DELETE = withAuth(
  async (_req, { actor, database, params, program }) => {
    const { client_id: idOrClientId } = parsePathParams(params, apiClientIdParamsSchema, 'API client not found.');
    const client = await revokeApiClient(database, {
      programId: program,
      idOrClientId,
      author: { accountId: actor.accountId, label: actor.label },
    });
    return Response.json({ data: viewApiClient(client) }, { headers: { 'cache-control': 'no-store' } });
  },
  { permission: 'api_access.manage', sessionOnly: true, program: 'required' },
);
