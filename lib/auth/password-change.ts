// A signed-in account changes its own password (POST /api/account/password): the current one
// checked, the new one judged by the password rules, every other session ended and the account's
// personal tokens revoked in the same transaction as the Activity Log entry.
import { z } from 'zod';
import type { Db } from '@/db/client';
import { findAccountById, updateAccountPassword } from '@/db/queries/auth';
import { recordAudit } from '@/db/queries/audit';
import { hashPassword, passwordProblem, verifyPassword } from '@/lib/auth/passwords';
import { sessionCookieFor } from '@/lib/auth/session';
import { checkSignInAllowed, clearSignInFailures, recordSignInFailure, TooManyAttemptsError } from '@/lib/auth/sign-in-throttle';
import { forgetCachedTokens } from '@/lib/auth/token-cache';
import { AppError } from '@/lib/http/errors';

export const changePasswordSchema = z
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
export type ChangePasswordInput = z.infer<typeof changePasswordSchema>;

/** Runs a throttle check, answering its refusal as 429 with Retry-After. */
async function tooMany(check: () => Promise<void>): Promise<void> {
  try {
    await check();
  } catch (err) {
    if (!(err instanceof TooManyAttemptsError)) throw err;
    throw new AppError(
      'rate_limited',
      err.message,
      { retry_after_seconds: err.retryAfterSeconds },
      { 'retry-after': String(err.retryAfterSeconds) },
    );
  }
}

/**
 * Changes the account's password. Answers the session cookie this request continues with (at the
 * account's new session version: every other session has ended) and how many personal tokens were revoked.
 */
export async function changeOwnPassword(
  db: Db,
  accountId: string,
  input: ChangePasswordInput,
  from: { ip: string } = { ip: 'unknown' },
): Promise<{ cookie: string; personalTokensRevoked: number }> {
  const account = await findAccountById(db, accountId);
  if (!account) throw new AppError('not_found', 'Account not found.');
  if (!account.passwordHash) throw new AppError('conflict', 'This account signs in with single sign-on and has no password here.');
  // A wrong current password counts in the sign-in throttle like a wrong sign-in (a session in the
  // wrong hands cannot guess it faster than sign-in could); a locked account is refused unchecked.
  const attempt = { email: account.email, ip: from.ip };
  await tooMany(() => checkSignInAllowed({ ...attempt, count: true }));
  if (!(await verifyPassword(input.current_password, account.passwordHash))) {
    await recordSignInFailure(attempt);
    throw new AppError('validation_failed', 'Invalid request body: current_password: The current password is incorrect.', {
      fields: [{ path: 'current_password', message: 'The current password is incorrect.' }],
    });
  }
  await clearSignInFailures(account.email);
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
  const cookie = await sessionCookieFor({ ...account, sessionVersion: changed.sessionVersion });
  return { cookie, personalTokensRevoked: changed.revokedTokens };
}
