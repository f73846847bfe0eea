// DELETE /api/v1/tokens/{token_id} – revoke one of your personal access tokens (it stops working at once)
import { tokenIdParamsSchema } from '@/lib/auth/api-access-schemas';
import { revokePersonalToken, viewPersonalToken } from '@/lib/auth/personal-tokens';
import { parsePathParams } from '@/lib/http/params';
import { withAuth } from '@/lib/auth/with-auth';

export const dynamic = 'force-dynamic';

export const DELETE = withAuth(
  async (_req, { actor, database, params }) => {
    const { token_id: id } = parsePathParams(params, tokenIdParamsSchema, 'API token not found.');
    const row = await revokePersonalToken(database, {
      accountId: actor.accountId,
      id,
      author: { accountId: actor.accountId, label: actor.label },
    });
    return Response.json({ data: viewPersonalToken(row) }, { headers: { 'cache-control': 'no-store' } });
  },
  { sessionOnly: true },
);
