// Accounts, programs, session cookies and API tokens for tests of signed-in and token-authenticated routes.
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { encode } from 'next-auth/jwt';
import type { Db } from '@/db/client';
import { insertAccount } from '@/db/queries/auth';
import { accounts, programs, type Account, type Role } from '@/db/schema';
import { hashPassword } from '@/lib/auth/passwords';
import { env, resetEnv } from '@/lib/env';
import type { UserActor } from '@/lib/auth/actor';
import type { TestDatabase } from './db';

/** A Firstup Super Admin of every program, acting without an account row (the lifecycle and run tests' operator). */
export const OPS_ADMIN: UserActor = {
  kind: 'user',
  accountId: null as unknown as string,
  email: 'ops@firstup.example',
  name: null,
  role: 'firstup_super_admin',
  mustChangePassword: false,
  programs: 'all',
  label: 'ops@firstup.example',
};

export const TEST_SECRET = 'test-nextauth-secret-0123456789abcdef0123456789';

/** Points the process configuration (and so getDb()) at a test database. */
export function useTestEnv(t: TestDatabase, extra: Record<string, string | undefined> = {}): void {
  resetEnv({
    DATABASE_URL: t.url,
    NEXTAUTH_SECRET: TEST_SECRET,
    NEXTAUTH_URL: 'http://localhost:3000',
    DDE_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'silent',
    ...extra,
  });
}

export async function createPrograms(db: Db, list: { id: number; name: string }[]): Promise<void> {
  await db.insert(programs).values(list).onConflictDoNothing();
}

let seq = 0;

export async function createAccount(
  db: Db,
  params: { role: Role; programIds?: number[]; email?: string; password?: string; disabled?: boolean },
): Promise<Account & { password: string }> {
  const password = params.password ?? 'correct horse battery staple';
  const account = await insertAccount(db, {
    email: params.email ?? `user${++seq}-${randomBytes(3).toString('hex')}@example.com`,
    role: params.role,
    passwordHash: await hashPassword(password),
    mustChangePassword: false,
    programIds: params.programIds ?? [],
  });
  if (params.disabled) {
    await db.update(accounts).set({ disabledAt: new Date() }).where(eq(accounts.id, account.id));
  }
  return { ...account, password };
}

/** A session cookie as next-auth would set it after sign-in. */
export async function sessionCookie(account: Pick<Account, 'id' | 'email' | 'role'>, opts: { maxAge?: number } = {}): Promise<string> {
  const token = await encode({
    token: { sub: account.id, email: account.email, role: account.role },
    secret: env().nextAuthSecret,
    maxAge: opts.maxAge,
  });
  return `next-auth.session-token=${token}`;
}

/** A Request as a route handler receives it. */
export function request(
  method: string,
  path: string,
  opts: { cookie?: string; token?: string; authorization?: string; json?: unknown; body?: string; headers?: Record<string, string> } = {},
): Request {
  const headers = new Headers(opts.headers);
  if (opts.cookie) headers.set('cookie', opts.cookie);
  // A browser sends its page's Origin with every write; cookie-authenticated writes without one are refused.
  if (opts.cookie && !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase()) && !headers.has('origin')) {
    headers.set('origin', 'http://localhost:3000');
  }
  if (opts.token) headers.set('authorization', `Bearer ${opts.token}`);
  if (opts.authorization) headers.set('authorization', opts.authorization);
  let body: string | undefined = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  return new Request(`http://localhost:3000${path}`, { method, headers, body });
}

export const noParams = { params: Promise.resolve({}) };
