// DELETE /api/v1/api-clients/{client_id} – revoke an API client and every token issued to it
import { apiClientIdParamsSchema } from '@/lib/auth/api-access-schemas';
import { revokeApiClient, viewApiClient } from '@/lib/auth/api-clients';
import { parsePathParams } from '@/lib/export-api/params';
import { programQuerySchema } from '@/lib/export-api/schemas';
import { AppError } from '@/lib/http/errors';
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/http/with-auth';
import { resolveProgram } from '@/lib/auth/actor';

export const dynamic = 'force-dynamic';

export const DELETE = withAuth(
  async (req, { actor, database, params }) => {
    const { client_id: idOrClientId } = parsePathParams(
      params,
      apiClientIdParamsSchema,
      () => new AppError('not_found', 'API client not found.'),
    );
    const query = parseQuery(req, programQuerySchema);
    const programId = await resolveProgram(database.db, actor, query.program);
    const client = await revokeApiClient(database, { programId, idOrClientId, author: { accountId: actor.accountId, label: actor.label } });
    return Response.json({ data: viewApiClient(client) }, { headers: { 'cache-control': 'no-store' } });
  },
  { permission: 'api_access.manage', sessionOnly: true },
);
