// A session opened with a one-time password may do nothing but choose a new password (or sign
// out): every other route answers 403 password_change_required, so such a session cannot, say,
// mint an API token that would outlive the password change.
import { AppError } from '@/lib/http/errors';
import type { Actor } from './actor';

/** Routes such a session may still call (sign-out is next-auth's own route, outside withAuth). */
export const PASSWORD_CHANGE_ROUTES = new Set(['/api/account/password']);

export function requirePasswordChanged(actor: Actor, req: Request): void {
  if (actor.kind !== 'user' || !actor.mustChangePassword) return;
  let path = '';
  try {
    path = new URL(req.url).pathname.replace(/\/+$/, '');
  } catch {
    /* no path: refused below */
  }
  if (PASSWORD_CHANGE_ROUTES.has(path)) return;
  throw new AppError('password_change_required', 'Choose a new password first: this session signed in with a one-time password.', {
    change_password_url: '/account/password',
  });
}
