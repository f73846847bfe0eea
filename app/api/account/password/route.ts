// POST /api/account/password – the signed-in account changes its own password (replacing a one-time password)
import { changeOwnPassword, changePasswordSchema } from '@/lib/auth/password-change';
import { clientIp } from '@/lib/auth/sign-in-throttle';
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';

export const POST = withAuth(
  async (req, { actor, db }) => {
    const input = await parseJson(req, changePasswordSchema);
    const changed = await changeOwnPassword(db, actor.accountId, input, { ip: clientIp(req.headers) });
    // Every other session of the account has ended; this one continues with a cookie at the new version.
    return Response.json(
      { ok: true, personal_tokens_revoked: changed.personalTokensRevoked },
      { headers: { 'set-cookie': changed.cookie } },
    );
  },
  { sessionOnly: true },
);
