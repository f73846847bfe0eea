// POST /api/account/password – the signed-in account changes its own password (replacing a one-time password)
import { z } from 'zod';
import { findAccountById, updateAccountPassword } from '@/db/queries/auth';
import { recordAudit } from '@/db/queries/audit';
import { hashPassword, passwordProblem, verifyPassword } from '@/lib/auth/passwords';
import { sessionCookieFor } from '@/lib/auth/session';
import { forgetCachedTokens } from '@/lib/auth/token-cache';
import { AppError } from '@/lib/http/errors';
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';

const changePasswordSchema = z
  .object({
    current_password: z.string({ error: 'Enter your current password.' }).min(1, 'Enter your current password.').max(1000),
    new_password: z.string({ error: 'Enter a new password.' }).max(1000),
  })
  .strict()
  .superRefine((v, ctx) => {
    const problem = passwordProblem(v.new_password);
    if (problem) ctx.addIssue({ code: 'custom', path: ['new_password'], message: `The new password ${problem}.` });
    else if (v.new_password === v.current_password)
      ctx.addIssue({ code: 'custom', path: ['new_password'], message: 'The new password must differ from the current one.' });
  });

export const POST = withAuth(
  async (req, { actor, db }) => {
    const input = await parseJson(req, changePasswordSchema);
    const account = await findAccountById(db, actor.accountId);
    if (!account) throw new AppError('not_found', 'Account not found.');
    if (!account.passwordHash) throw new AppError('conflict', 'This account signs in with single sign-on and has no password here.');
    if (!(await verifyPassword(input.current_password, account.passwordHash))) {
      throw new AppError('validation_failed', 'Invalid request body: current_password: The current password is incorrect.', {
        fields: [{ path: 'current_password', message: 'The current password is incorrect.' }],
      });
    }
    const passwordHash = await hashPassword(input.new_password);
    const changed = await db.transaction(async (tx) => {
      const result = await updateAccountPassword(tx, { accountId: account.id, passwordHash, mustChange: false });
      await recordAudit(tx, {
        programId: null,
        actorId: account.id,
        actorLabel: account.email,
        action: 'account.password_changed',
        targetType: 'account',
        targetId: account.id,
        after: { other_sessions_ended: true, personal_tokens_revoked: result.revokedTokens },
      });
      return result;
    });
    forgetCachedTokens({ accountId: account.id });
    // Every other session of the account has ended; this one continues with a cookie at the new version.
    const cookie = await sessionCookieFor({ ...account, sessionVersion: changed.sessionVersion });
    return Response.json({ ok: true, personal_tokens_revoked: changed.revokedTokens }, { headers: { 'set-cookie': cookie } });
  },
  { sessionOnly: true },
);
