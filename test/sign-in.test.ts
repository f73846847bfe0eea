// Sign-in with email and password, the first admin, and the health endpoint.
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { POST as changePasswordRoute } from '@/app/api/account/password/route';
import { GET as healthRoute } from '@/app/api/health/route';
import { closeDatabase } from '@/db/client';
import { accounts, apiTokens, auditLog, programMemberships } from '@/db/schema';
import { ensureInitialAdmin } from '@/lib/auth/initial-admin';
import { authOptions, authorizeCredentials } from '@/lib/auth/options';
import { verifyPassword } from '@/lib/auth/passwords';
import pkg from '@/package.json';
import { createApiToken } from '@/lib/auth/tokens';
import { createAccount, noParams, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
});
afterAll(async () => {
  await closeDatabase();
  await t?.drop();
});

describe('signing in with email and password', () => {
  it('signs in with the right password, whatever the case of the email, and records the time', async () => {
    const a = await createAccount(t.db, { role: 'brand_super_admin', email: 'Jane.Doe@Example.com' });
    const user = await authorizeCredentials({ email: '  jane.doe@EXAMPLE.com ', password: a.password });
    expect(user).toMatchObject({ id: a.id, email: 'Jane.Doe@Example.com', role: 'brand_super_admin' });
    const [row] = await t.db.select().from(accounts).where(eq(accounts.id, a.id));
    expect(row.lastSignInAt).toBeInstanceOf(Date);
  });

  it('refuses a wrong password and an unknown email alike', async () => {
    const a = await createAccount(t.db, { role: 'firstup_super_admin' });
    expect(await authorizeCredentials({ email: a.email, password: 'wrong password!!' })).toBeNull();
    expect(await authorizeCredentials({ email: 'nobody@example.com', password: 'whatever it is' })).toBeNull();
    expect(await authorizeCredentials({ email: '', password: '' })).toBeNull();
  });

  it('refuses a disabled account with its own error, even with the right password', async () => {
    const a = await createAccount(t.db, { role: 'firstup_super_admin', disabled: true });
    await expect(authorizeCredentials({ email: a.email, password: a.password })).rejects.toThrow('AccountDisabled');
  });

  it('refuses a password on an account that signs in only with single sign-on', async () => {
    const [a] = await t.db
      .insert(accounts)
      .values({ email: 'sso-only@example.com', role: 'firstup_super_admin', passwordHash: null })
      .returning();
    expect(await authorizeCredentials({ email: a.email, password: 'anything at all' })).toBeNull();
  });
});

describe('changing one’s own password', () => {
  it('replaces a one-time password and records it in the Activity Log', async () => {
    const a = await createAccount(t.db, { role: 'brand_super_admin' });
    await t.db.update(accounts).set({ mustChangePassword: true }).where(eq(accounts.id, a.id));
    const res = await changePasswordRoute(
      request('POST', '/api/account/password', {
        cookie: await sessionCookie(a),
        json: { current_password: a.password, new_password: 'a brand new password' },
      }),
      noParams,
    );
    expect(res.status).toBe(200);
    const [row] = await t.db.select().from(accounts).where(eq(accounts.id, a.id));
    expect(row.mustChangePassword).toBe(false);
    expect(await verifyPassword('a brand new password', row.passwordHash)).toBe(true);
    const [entry] = await t.db.select().from(auditLog).where(eq(auditLog.targetId, a.id));
    expect(entry).toMatchObject({ action: 'account.password_changed', actorId: a.id, programId: null });
    expect(JSON.stringify(entry)).not.toContain('a brand new password');
  });

  it('refuses a wrong current password, a short new one, and API tokens', async () => {
    const a = await createAccount(t.db, { role: 'firstup_super_admin' });
    const cookie = await sessionCookie(a);
    const wrong = await changePasswordRoute(
      request('POST', '/api/account/password', { cookie, json: { current_password: 'nope', new_password: 'a brand new password' } }),
      noParams,
    );
    expect(wrong.status).toBe(422);
    expect(((await wrong.json()) as { error: { details: { fields: { path: string }[] } } }).error.details.fields[0].path).toBe(
      'current_password',
    );
    const short = await changePasswordRoute(
      request('POST', '/api/account/password', { cookie, json: { current_password: a.password, new_password: 'short' } }),
      noParams,
    );
    expect(short.status).toBe(422);
    const { token } = await createApiToken(t.db, { kind: 'personal', accountId: a.id, scopes: ['data_exports.manage'] });
    const viaToken = await changePasswordRoute(
      request('POST', '/api/account/password', { token, json: { current_password: a.password, new_password: 'a brand new password' } }),
      noParams,
    );
    expect(viaToken.status).toBe(403);
    const [row] = await t.db.select().from(accounts).where(eq(accounts.id, a.id));
    expect(await verifyPassword(a.password, row.passwordHash)).toBe(true);
  });
});

describe('the initial Firstup Super Admin', () => {
  beforeEach(async () => {
    await t.db.delete(programMemberships);
    await t.db.delete(auditLog);
    await t.db.delete(apiTokens);
    await t.db.execute(sql`delete from accounts`);
  });

  it('is created once with a generated one-time password that must be changed, then never again', async () => {
    useTestEnv(t, { DDE_INITIAL_ADMIN_EMAIL: 'owner@example.com', DDE_INITIAL_ADMIN_PASSWORD: undefined });
    const created = await ensureInitialAdmin(t);
    expect(created).toMatchObject({ email: 'owner@example.com', generated: true });
    expect(created!.password).toMatch(/^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$/);
    const [row] = await t.db.select().from(accounts);
    expect(row).toMatchObject({ email: 'owner@example.com', role: 'firstup_super_admin', mustChangePassword: true });
    expect(await verifyPassword(created!.password, row.passwordHash)).toBe(true);

    expect(await ensureInitialAdmin(t)).toBeNull();
    expect(await ensureInitialAdmin(t.db)).toBeNull();
    const [{ n }] = await t.db.select({ n: sql<number>`count(*)::int` }).from(accounts);
    expect(n).toBe(1);
  });

  it('uses the configured password, which need not be changed', async () => {
    useTestEnv(t, { DDE_INITIAL_ADMIN_EMAIL: 'owner@example.com', DDE_INITIAL_ADMIN_PASSWORD: 'a configured password' });
    expect(await ensureInitialAdmin(t)).toEqual({ email: 'owner@example.com', password: 'a configured password', generated: false });
    const [row] = await t.db.select().from(accounts);
    expect(row.mustChangePassword).toBe(false);
  });

  it('is created exactly once when several processes start together', async () => {
    useTestEnv(t, { DDE_INITIAL_ADMIN_EMAIL: 'owner@example.com', DDE_INITIAL_ADMIN_PASSWORD: undefined });
    const results = await Promise.all([ensureInitialAdmin(t), ensureInitialAdmin(t), ensureInitialAdmin(t)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const [{ n }] = await t.db.select({ n: sql<number>`count(*)::int` }).from(accounts);
    expect(n).toBe(1);
  });

  it('is not created when a Firstup Super Admin already exists', async () => {
    useTestEnv(t, { DDE_INITIAL_ADMIN_EMAIL: 'owner@example.com' });
    await createAccount(t.db, { role: 'firstup_super_admin', email: 'someone@example.com' });
    expect(await ensureInitialAdmin(t)).toBeNull();
  });

  it('refuses to take over an existing Brand Super Admin account with the same email', async () => {
    useTestEnv(t, { DDE_INITIAL_ADMIN_EMAIL: 'owner@example.com' });
    await createAccount(t.db, { role: 'brand_super_admin', email: 'OWNER@example.com' });
    await expect(ensureInitialAdmin(t)).rejects.toThrow(/belongs to an existing brand_super_admin account/);
  });
});

describe('GET /api/health', () => {
  it('answers 200 with the version when the database answers', async () => {
    useTestEnv(t);
    const res = await healthRoute(request('GET', '/api/health'), noParams);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', db: 'ok', version: pkg.version });
  });

  it('answers 503 with a reason, quickly, when the database is down', async () => {
    await closeDatabase();
    useTestEnv(t, { DATABASE_URL: 'postgres://dde:secret-pw@127.0.0.1:1/dde' });
    const started = Date.now();
    const res = await healthRoute(request('GET', '/api/health'), noParams);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(res.status).toBe(503);
    const json = (await res.json()) as { status: string; db: string; reason: string };
    expect(json).toMatchObject({ status: 'error', db: 'unreachable' });
    // A fixed reason for anyone: the driver's error (address, user) goes to the log only.
    expect(json.reason).toBe('database unavailable');
    expect(JSON.stringify(json)).not.toContain('secret-pw');
    expect(JSON.stringify(json)).not.toContain('127.0.0.1');
    await closeDatabase();
    useTestEnv(t);
  });
});

describe('single sign-on (OIDC)', () => {
  const oidcEnv = {
    OIDC_ISSUER: 'https://id.example.com/',
    OIDC_CLIENT_ID: 'dde',
    OIDC_CLIENT_SECRET: 'oidc-client-secret',
    OIDC_NAME: 'Example SSO',
  };

  it('is offered only when configured, with the issuer’s discovery document', async () => {
    useTestEnv(t);
    expect(authOptions().providers.map((p) => p.id)).toEqual(['credentials']);
    useTestEnv(t, oidcEnv);
    const oidc = authOptions().providers.find((p) => p.id === 'oidc') as unknown as { type: string; wellKnown: string; name: string };
    expect(oidc).toMatchObject({
      type: 'oauth',
      name: 'Example SSO',
      wellKnown: 'https://id.example.com/.well-known/openid-configuration',
    });
  });

  it('signs in an existing account by email, and refuses an unknown one with a clear error', async () => {
    useTestEnv(t, oidcEnv);
    const a = await createAccount(t.db, { role: 'brand_super_admin', email: 'SSO.User@example.com' });
    const { callbacks } = authOptions();
    const account = { provider: 'oidc', type: 'oauth', providerAccountId: 'sub-1' } as const;
    const known = await callbacks!.signIn!({
      user: { id: 'sub-1', email: 'sso.user@example.com' },
      account,
      profile: { sub: 'sub-1', email: 'sso.user@example.com', email_verified: true } as never,
    });
    expect(known).toBe(true);
    const unknown = await callbacks!.signIn!({
      user: { id: 'sub-2', email: 'stranger@example.com' },
      account,
      profile: { sub: 'sub-2', email: 'stranger@example.com', email_verified: true } as never,
    });
    expect(unknown).toBe('/sign-in?error=NoAccount');
    const token = await callbacks!.jwt!({
      token: { sub: 'sub-1' },
      user: { id: 'sub-1', email: 'sso.user@example.com' },
      account,
      trigger: 'signIn',
    });
    expect(token).toMatchObject({ sub: a.id, role: 'brand_super_admin' });
    const [row] = await t.db.select().from(accounts).where(eq(accounts.id, a.id));
    expect(row.oidcSubject).toBe('sub-1');
  });
});
