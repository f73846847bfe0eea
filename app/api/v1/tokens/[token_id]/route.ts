// DELETE /api/v1/tokens/{token_id} – revoke one of your personal access tokens (it stops working at once)
import { tokenIdParamsSchema } from '@/lib/auth/api-access-schemas';
import { revokePersonalToken, viewPersonalToken } from '@/lib/auth/personal-tokens';
import { parsePathParams } from '@/lib/export-api/params';
import { AppError } from '@/lib/http/errors';
import { withAuth } from '@/lib/http/with-auth';

export const dynamic = 'force-dynamic';

export const DELETE = withAuth(
  async (_req, { actor, database, params }) => {
    if (actor.kind !== 'user') throw new AppError('forbidden', 'This route is for signed-in users, not API tokens.');
    const { token_id: id } = parsePathParams(params, tokenIdParamsSchema, () => new AppError('not_found', 'API token not found.'));
    const row = await revokePersonalToken(database, {
      accountId: actor.accountId,
      id,
      author: { accountId: actor.accountId, label: actor.label },
    });
    return Response.json({ data: viewPersonalToken(row) }, { headers: { 'cache-control': 'no-store' } });
  },
  { sessionOnly: true },
);
