// GET /api/v1/tokens – your personal access tokens; POST – create one acting with your access (the token is shown once)
import { createPersonalTokenSchema } from '@/lib/auth/api-access-schemas';
import { createPersonalToken, listPersonalTokens, viewPersonalToken } from '@/lib/auth/personal-tokens';
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';

export const dynamic = 'force-dynamic';

export const GET = withAuth(
  async (_req, { actor, db }) => {
    const tokens = await listPersonalTokens(db, { accountId: actor.accountId });
    return Response.json({ data: tokens.map((t) => viewPersonalToken(t)) }, { headers: { 'cache-control': 'no-store' } });
  },
  { sessionOnly: true },
);

export const POST = withAuth(
  async (req, { actor, database }) => {
    const input = await parseJson(req, createPersonalTokenSchema);
    const { token, row } = await createPersonalToken(database, {
      accountId: actor.accountId,
      role: actor.role,
      name: input.name,
      scopes: input.scopes,
      expiresInDays: input.expires_in_days,
      author: { accountId: actor.accountId, label: actor.label },
    });
    return Response.json({ data: { ...viewPersonalToken(row), token } }, { status: 201, headers: { 'cache-control': 'no-store' } });
  },
  { sessionOnly: true },
);
