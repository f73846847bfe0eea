// Sessions: the signed-in account behind a request's session cookie (route handlers) or behind the
// current page request (server components, through getServerSession).
import { getServerSession } from 'next-auth';
import { decode, encode } from 'next-auth/jwt';
import type { Db } from '@/db/client';
import type { Account } from '@/db/schema/auth';
import { env } from '@/lib/env';
import { loadUserActor, type UserActor } from './actor';
import { authOptions, SESSION_MAX_AGE_SECONDS, sessionCookieName } from './options';

/** Cookie header → name/value pairs (values URL-decoded when they can be). */
export function parseCookies(header: string | null): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const name = part.slice(0, i).trim();
    const raw = part.slice(i + 1).trim();
    let value = raw;
    try {
      value = decodeURIComponent(raw);
    } catch {
      /* keep the raw value */
    }
    if (name && !out.has(name)) out.set(name, value);
  }
  return out;
}

/** The session JWT from the cookies: one cookie, or chunks `<name>.0`, `<name>.1`, … for large sessions. */
export function sessionTokenFromCookies(cookies: Map<string, string>, name = sessionCookieName()): string | null {
  const whole = cookies.get(name);
  if (whole) return whole;
  const chunks: string[] = [];
  for (let i = 0; cookies.has(`${name}.${i}`); i++) chunks.push(cookies.get(`${name}.${i}`)!);
  return chunks.length ? chunks.join('') : null;
}

/** The account signed in by the request's session cookie, or null (no cookie, bad or expired JWT, disabled account). */
export async function actorFromSessionCookie(db: Db, cookieHeader: string | null): Promise<UserActor | null> {
  const token = sessionTokenFromCookies(parseCookies(cookieHeader));
  if (!token) return null;
  let accountId: string | undefined;
  let sessionVersion = 0;
  try {
    const payload = await decode({ token, secret: env().nextAuthSecret });
    accountId = typeof payload?.sub === 'string' ? payload.sub : undefined;
    sessionVersion = typeof payload?.sv === 'number' ? payload.sv : 0;
  } catch {
    return null;
  }
  return accountId ? loadUserActor(db, accountId, { sessionVersion }) : null;
}

/**
 * A fresh session cookie for `account` at its current session version: after a password change the
 * session that made it stays signed in while every other one ends.
 */
export async function sessionCookieFor(account: Pick<Account, 'id' | 'email' | 'name' | 'role' | 'sessionVersion'>): Promise<string> {
  const e = env();
  const token = await encode({
    token: { sub: account.id, email: account.email, name: account.name, role: account.role, sv: account.sessionVersion },
    secret: e.nextAuthSecret,
    maxAge: SESSION_MAX_AGE_SECONDS,
  });
  const secure = e.nextAuthUrl.startsWith('https://');
  return `${sessionCookieName()}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${SESSION_MAX_AGE_SECONDS}${secure ? '; Secure' : ''}`;
}

/**
 * The signed-in account of the current page request (server components and server actions). Reads
 * the request's cookies first, which also makes every page that asks render per request.
 */
export async function getSessionActor(db: () => Db): Promise<UserActor | null> {
  const session = await getServerSession(authOptions());
  const id = session?.user?.id;
  return id ? loadUserActor(db(), id, { sessionVersion: session.sessionVersion ?? 0 }) : null;
}
