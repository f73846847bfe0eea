// Security review findings on sign-in and sessions, as an attacker (or the locked-out user) sees
// them: online guessing locked out per account and per IP across processes, one-time passwords that
// expire and that cannot reach the API, a password change that ends every other session and
// revokes personal tokens, single sign-on that needs a verified email and the bound subject, no
// open redirect, and no cookie-authenticated write without an Origin.
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as changePasswordRoute } from '@/app/api/account/password/route';
import { GET as listConnectionsRoute } from '@/app/api/v1/connections/route';
import { GET as listTokensRoute, POST as createTokenRoute } from '@/app/api/v1/tokens/route';
import { GET as latestRoute } from '@/pages/api/v1/data_exports/[type]/latest';
import { closeDatabase, createDb, type Database } from '@/db/client';
import { updateAccountPassword } from '@/db/queries/auth';
import { accounts, apiTokens } from '@/db/schema';
import { safeCallbackPath } from '@/lib/auth/callback-url';
import { authOptions, authorizeCredentials, oidcSignInDecision } from '@/lib/auth/options';
import { hashPassword } from '@/lib/auth/passwords';
import { precheckCredentialsSignIn } from '@/lib/auth/sign-in-route';
import { checkSignInAllowed, recordSignInFailure, SIGN_IN_LIMITS, TooManyAttemptsError } from '@/lib/auth/sign-in-throttle';
import { clearTokenCache } from '@/lib/auth/token-cache';
import { createApiToken } from '@/lib/auth/tokens';
import { createAccount, createPrograms, noParams, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let second: Database;

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  // A second pool on the same database stands for a second web process.
  second = createDb(t.url, { max: 2 });
  await createPrograms(t.db, [{ id: 701, name: 'Security Program' }]);
});
afterAll(async () => {
  await second?.sql.end({ timeout: 5 });
  await closeDatabase();
  await t?.drop();
});

let ipSeq = 0;
/** A fresh client address per test, so the per-IP budgets of one test do not touch another. */
const freshIp = () => `198.51.100.${++ipSeq}`;
// What a load balancer sends: whatever the client claimed first, then the address it saw.
const fromIp = (ip: string) => ({ headers: { 'x-forwarded-for': `192.0.2.1, ${ip}` } });

function signInPost(email: string, password: string, ip: string): Request {
  return new Request('http://localhost:3000/api/auth/callback/credentials', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
    body: new URLSearchParams({ email, password, csrfToken: 'x', json: 'true' }).toString(),
  });
}

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

describe('sign-in throttling (finding: no throttle or lockout on the credentials callback)', () => {
  it('after 10 failed attempts refuses even the right password, with "try again in 15 minutes" and 429', async () => {
    const a = await createAccount(t.db, { role: 'brand_super_admin' });
    const ip = freshIp();
    for (let i = 0; i < SIGN_IN_LIMITS.accountFailures; i++) {
      expect(await authorizeCredentials({ email: a.email, password: `wrong guess ${i}` }, fromIp(ip))).toBeNull();
    }
    // From another address too: the lock is the account's.
    await expect(authorizeCredentials({ email: a.email, password: a.password }, fromIp(freshIp()))).rejects.toThrow('TooManyAttempts-15');
    const { signInErrorMessage } = await import('@/components/sign-in/messages');
    expect(signInErrorMessage('TooManyAttempts-15')).toBe('Too many attempts. Try again in 15 minutes.');

    // The sign-in API answers 429 before next-auth or bcrypt run, with what the page shows.
    const checked = await precheckCredentialsSignIn(signInPost(a.email.toUpperCase(), a.password, freshIp()), 'req-1');
    expect('response' in checked).toBe(true);
    const res = (checked as { response: Response }).response;
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(14 * 60);
    const body = await json(res);
    expect(new URL(body.url as string).searchParams.get('error')).toBe('TooManyAttempts-15');
    expect(body.error).toEqual({ code: 'rate_limited', message: 'Too many attempts. Try again in 15 minutes.' });

    // Nothing was recorded as a sign-in.
    const [row] = await t.db.select().from(accounts).where(eq(accounts.id, a.id));
    expect(row.lastSignInAt).toBeNull();
    // Another account is not affected.
    const b = await createAccount(t.db, { role: 'brand_super_admin' });
    expect(await authorizeCredentials({ email: b.email, password: b.password }, fromIp(ip))).toMatchObject({ id: b.id });
  });

  it('holds across web processes: failures through two database pools add up, and both refuse', async () => {
    const a = await createAccount(t.db, { role: 'brand_super_admin' });
    const ip = freshIp();
    for (let i = 0; i < 5; i++) await recordSignInFailure({ email: a.email, ip }, t.sql);
    for (let i = 0; i < 5; i++) await recordSignInFailure({ email: a.email, ip }, second.sql);
    for (const pool of [t.sql, second.sql]) {
      const err = await checkSignInAllowed({ email: a.email, ip: freshIp() }, pool).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TooManyAttemptsError);
      expect((err as TooManyAttemptsError).minutes).toBe(15);
    }
  });

  it('forgets the failures once the right password gets in before the limit', async () => {
    const a = await createAccount(t.db, { role: 'brand_super_admin' });
    const ip = freshIp();
    for (let i = 0; i < 9; i++) await recordSignInFailure({ email: a.email, ip });
    expect(await authorizeCredentials({ email: a.email, password: a.password }, fromIp(ip))).toMatchObject({ id: a.id });
    for (let i = 0; i < 9; i++) await recordSignInFailure({ email: a.email, ip });
    expect(await authorizeCredentials({ email: a.email, password: a.password }, fromIp(ip))).toMatchObject({ id: a.id });
  });

  it('limits attempts per client IP, whatever the accounts tried (no bcrypt flood, no spraying)', async () => {
    const ip = freshIp();
    for (let i = 0; i < SIGN_IN_LIMITS.ipAttemptsPerMinute; i++)
      await checkSignInAllowed({ email: `spray${i}@example.com`, ip, count: true });
    const a = await createAccount(t.db, { role: 'brand_super_admin' });
    await expect(authorizeCredentials({ email: a.email, password: a.password }, fromIp(ip))).rejects.toThrow(/^TooManyAttempts-1$/);
    // The same account from another address still signs in.
    expect(await authorizeCredentials({ email: a.email, password: a.password }, fromIp(freshIp()))).toMatchObject({ id: a.id });
  });
});

describe('one-time passwords (finding: they never expire)', () => {
  async function oneTimeAccount(ageHours: number) {
    const a = await createAccount(t.db, { role: 'brand_super_admin' });
    await t.db
      .update(accounts)
      .set({ mustChangePassword: true, passwordChangedAt: new Date(Date.now() - ageHours * 3_600_000) })
      .where(eq(accounts.id, a.id));
    return a;
  }

  it('refuses a one-time password older than 24 hours, with a sentence saying so', async () => {
    const old = await oneTimeAccount(25);
    await expect(authorizeCredentials({ email: old.email, password: old.password }, fromIp(freshIp()))).rejects.toThrow(
      'OneTimePasswordExpired',
    );
    const { signInErrorMessage } = await import('@/components/sign-in/messages');
    expect(signInErrorMessage('OneTimePasswordExpired')).toBe(
      'Your one-time password has expired. Ask a Firstup Super Admin for a new one.',
    );
    const fresh = await oneTimeAccount(23);
    expect(await authorizeCredentials({ email: fresh.email, password: fresh.password }, fromIp(freshIp()))).toMatchObject({ id: fresh.id });
  });

  it('follows DDE_ONE_TIME_PASSWORD_TTL_HOURS', async () => {
    useTestEnv(t, { DDE_ONE_TIME_PASSWORD_TTL_HOURS: '1' });
    try {
      const a = await oneTimeAccount(2);
      await expect(authorizeCredentials({ email: a.email, password: a.password }, fromIp(freshIp()))).rejects.toThrow(
        'OneTimePasswordExpired',
      );
    } finally {
      useTestEnv(t, { DDE_ONE_TIME_PASSWORD_TTL_HOURS: undefined });
    }
  });
});

describe('a session that must change its password (finding: enforced only on pages)', () => {
  it('answers 403 password_change_required everywhere but the password change, and mints no token', async () => {
    const a = await createAccount(t.db, { role: 'firstup_super_admin' });
    await t.db.update(accounts).set({ mustChangePassword: true }).where(eq(accounts.id, a.id));
    const cookie = await sessionCookie(a);

    const mint = await createTokenRoute(request('POST', '/api/v1/tokens', { cookie, json: { name: 'sneaky' } }), noParams);
    expect(mint.status).toBe(403);
    const err = (await json(mint)).error as { code: string; message: string };
    expect(err).toMatchObject({
      code: 'password_change_required',
      message: 'Choose a new password first: this session signed in with a one-time password.',
    });
    expect(await t.db.select().from(apiTokens).where(eq(apiTokens.accountId, a.id))).toEqual([]);
    expect((await listConnectionsRoute(request('GET', '/api/v1/connections?program=701', { cookie }), noParams)).status).toBe(403);
    expect((await listTokensRoute(request('GET', '/api/v1/tokens', { cookie }), noParams)).status).toBe(403);

    const changed = await changePasswordRoute(
      request('POST', '/api/account/password', { cookie, json: { current_password: a.password, new_password: 'my own new password' } }),
      noParams,
    );
    expect(changed.status).toBe(200);
    const fresh = changed.headers.get('set-cookie')!.split(';')[0];
    expect(fresh).toMatch(/^next-auth\.session-token=/);
    expect((await listTokensRoute(request('GET', '/api/v1/tokens', { cookie: fresh }), noParams)).status).toBe(200);
  });
});

describe('a password change (finding: current_password checked without a throttle)', () => {
  it('counts each wrong current password in the sign-in throttle: the tenth locks the account, the right one is refused too', async () => {
    const a = await createAccount(t.db, { role: 'firstup_super_admin' });
    const cookie = await sessionCookie(a);
    const change = (current: string) =>
      changePasswordRoute(
        request('POST', '/api/account/password', {
          cookie,
          json: { current_password: current, new_password: 'a guessed new password' },
          headers: { 'x-forwarded-for': freshIp() },
        }),
        noParams,
      );
    for (let i = 0; i < SIGN_IN_LIMITS.accountFailures; i++) expect((await change(`guess number ${i}`)).status).toBe(422);
    const locked = await change(a.password);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(60);
    // The same lock holds for signing in, from any address.
    await expect(checkSignInAllowed({ email: a.email, ip: freshIp() })).rejects.toThrow(TooManyAttemptsError);
    const [row] = await t.db.select().from(accounts).where(eq(accounts.id, a.id));
    expect(row.passwordHash).toBe(a.passwordHash);
  });
});

describe('a password change or reset (finding: ends no other session, revokes no token)', () => {
  it('ends the other sessions and revokes personal tokens; the session that changed it continues', async () => {
    const a = await createAccount(t.db, { role: 'firstup_super_admin' });
    const here = await sessionCookie(a);
    const elsewhere = await sessionCookie(a);
    const { token } = await createApiToken(t.db, { kind: 'personal', accountId: a.id, scopes: ['data_exports.read'], name: 'laptop' });
    const latest = (tok: string) =>
      latestRoute(request('GET', '/api/v1/data_exports/activities/latest?program=701', { token: tok }), {
        params: Promise.resolve({ type: 'activities' }),
      });
    expect((await latest(token)).status).not.toBe(401);

    const res = await changePasswordRoute(
      request('POST', '/api/account/password', {
        cookie: here,
        json: { current_password: a.password, new_password: 'a changed password' },
      }),
      noParams,
    );
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ ok: true, personal_tokens_revoked: 1 });
    const continued = res.headers.get('set-cookie')!.split(';')[0];

    const other = await listTokensRoute(request('GET', '/api/v1/tokens', { cookie: elsewhere }), noParams);
    expect(other.status).toBe(401);
    expect((await listTokensRoute(request('GET', '/api/v1/tokens', { cookie: here }), noParams)).status).toBe(401);
    expect((await listTokensRoute(request('GET', '/api/v1/tokens', { cookie: continued }), noParams)).status).toBe(200);
    clearTokenCache();
    const revoked = await latest(token);
    expect(revoked.status).toBe(401);
    expect(((await json(revoked)).error as { message: string }).message).toBe('The API token is invalid, expired or revoked.');
  });

  it('a reset (as `dde users reset-password` makes it) ends every session and revokes personal tokens', async () => {
    const a = await createAccount(t.db, { role: 'brand_super_admin', programIds: [701] });
    const cookie = await sessionCookie(a);
    await createApiToken(t.db, { kind: 'personal', accountId: a.id, scopes: ['data_exports.read'], name: 'ci' });
    expect((await listTokensRoute(request('GET', '/api/v1/tokens', { cookie }), noParams)).status).toBe(200);
    await updateAccountPassword(t.db, { accountId: a.id, passwordHash: await hashPassword('reset one-time pw'), mustChange: true });
    expect((await listTokensRoute(request('GET', '/api/v1/tokens', { cookie }), noParams)).status).toBe(401);
    const live = await t.db
      .select()
      .from(apiTokens)
      .where(and(eq(apiTokens.accountId, a.id), isNull(apiTokens.revokedAt)));
    expect(live).toEqual([]);
  });
});

describe('single sign-on (finding: links by email without email_verified or the subject)', () => {
  const oidcEnv = { OIDC_ISSUER: 'https://id.example.com', OIDC_CLIENT_ID: 'dde', OIDC_CLIENT_SECRET: 'secret' };

  it('refuses an email the IdP has not verified, and links nothing', async () => {
    useTestEnv(t, oidcEnv);
    const a = await createAccount(t.db, { role: 'brand_super_admin' });
    expect(await oidcSignInDecision({ sub: 'idp-1', email: a.email, email_verified: false })).toBe('/sign-in?error=EmailNotVerified');
    expect(await oidcSignInDecision({ sub: 'idp-1', email: a.email })).toBe('/sign-in?error=EmailNotVerified');
    const [row] = await t.db.select().from(accounts).where(eq(accounts.id, a.id));
    expect(row).toMatchObject({ oidcSubject: null, lastSignInAt: null });
    const { signInErrorMessage } = await import('@/components/sign-in/messages');
    expect(signInErrorMessage('EmailNotVerified')).toContain('has not verified your email address');
  });

  it('binds the subject on the first link and refuses a different subject for the same account afterwards', async () => {
    useTestEnv(t, oidcEnv);
    const a = await createAccount(t.db, { role: 'brand_super_admin' });
    expect(await oidcSignInDecision({ sub: 'idp-first', email: a.email, email_verified: true })).toBe(true);
    expect((await t.db.select().from(accounts).where(eq(accounts.id, a.id)))[0].oidcSubject).toBe('idp-first');
    expect(await oidcSignInDecision({ sub: 'idp-first', email: a.email, email_verified: true })).toBe(true);

    const before = (await t.db.select().from(accounts).where(eq(accounts.id, a.id)))[0];
    expect(await oidcSignInDecision({ sub: 'idp-attacker', email: a.email, email_verified: true })).toBe(
      '/sign-in?error=SsoSubjectMismatch',
    );
    const after = (await t.db.select().from(accounts).where(eq(accounts.id, a.id)))[0];
    expect(after).toEqual(before);

    // Nor can a subject bound to one account sign in to another.
    const b = await createAccount(t.db, { role: 'brand_super_admin' });
    expect(await oidcSignInDecision({ sub: 'idp-first', email: b.email, email_verified: true })).toBe('/sign-in?error=SsoSubjectMismatch');
    // The callback next-auth calls gives the same answer.
    const decision = await authOptions().callbacks!.signIn!({
      user: { id: 'idp-attacker', email: a.email },
      account: { provider: 'oidc', type: 'oauth', providerAccountId: 'idp-attacker' },
      profile: { sub: 'idp-attacker', email: a.email, email_verified: true } as never,
    });
    expect(decision).toBe('/sign-in?error=SsoSubjectMismatch');
  });
});

describe('callbackUrl (finding: /sign-in?callbackUrl=/%09/evil.com redirects off-site)', () => {
  const origin = 'http://localhost:3000';

  it('accepts only values that parse to this site, as a browser parses them', () => {
    // What Next.js hands the page for ?callbackUrl=/%09/evil.com, and the raw form.
    expect(safeCallbackPath('/\t/evil.com', origin)).toBe('/');
    expect(safeCallbackPath(decodeURIComponent('/%09/evil.com'), origin)).toBe('/');
    expect(safeCallbackPath('/\n/evil.com', origin)).toBe('/');
    expect(safeCallbackPath('//evil.com', origin)).toBe('/');
    expect(safeCallbackPath('/\\evil.com', origin)).toBe('/');
    expect(safeCallbackPath('https://evil.com/configure', origin)).toBe('/');
    expect(safeCallbackPath('javascript:alert(1)', origin)).toBe('/');
    expect(safeCallbackPath('/.//evil.com', origin)).toBe('/');
    expect(safeCallbackPath('http://user:pw@localhost:3000/', origin)).toBe('/');
    expect(safeCallbackPath('/configure/connections?program=701#runs', origin)).toBe('/configure/connections?program=701#runs');
    expect(safeCallbackPath('http://localhost:3000/account/password', origin)).toBe('/account/password');
    expect(safeCallbackPath(['/configure', '//evil.com'], origin)).toBe('/configure');
  });

  it('holds for next-auth’s own redirects too', async () => {
    const redirect = authOptions().callbacks!.redirect!;
    expect(await redirect({ url: 'http://localhost:3000/\t/evil.com', baseUrl: origin })).toBe('http://localhost:3000//evil.com');
    expect(await redirect({ url: '/\t/evil.com', baseUrl: origin })).toBe(origin);
    expect(await redirect({ url: 'https://evil.com', baseUrl: origin })).toBe(origin);
    expect(await redirect({ url: '/configure', baseUrl: origin })).toBe('http://localhost:3000/configure');
  });
});

describe('cookie-authenticated writes without an Origin (finding: a missing or null Origin was let through)', () => {
  it('refuses them with 403 and changes nothing, unless the browser says Sec-Fetch-Site: same-origin', async () => {
    const a = await createAccount(t.db, { role: 'firstup_super_admin' });
    const cookie = await sessionCookie(a);
    const mint = (headers: Record<string, string>) =>
      createTokenRoute(
        new Request('http://localhost:3000/api/v1/tokens', {
          method: 'POST',
          headers: { cookie, 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ name: 'csrf' }),
        }),
        noParams,
      );
    const refused: Record<string, string>[] = [
      {},
      { origin: 'null' },
      { origin: 'null', 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of refused) {
      const res = await mint(headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(((await json(res)).error as { message: string }).message).toMatch(/^Cross-site request refused/);
    }
    expect(await t.db.select().from(apiTokens).where(eq(apiTokens.accountId, a.id))).toEqual([]);
    expect((await mint({ 'sec-fetch-site': 'same-origin' })).status).toBe(201);
    expect((await mint({ origin: 'http://localhost:3000' })).status).toBe(201);
  });
});
