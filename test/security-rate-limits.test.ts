// Limits that hold across web processes (each "process" here is its own database pool or its own
// cache), and the token endpoint as an attacker who knows a client id sees it: refused per IP before
// any credential is checked, failures counted apart from the client's budget, the body capped
// however it is sent.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as tokenRoute } from '@/app/api/oauth/token/route';
import { closeDatabase, createDb, getDatabase, type Database } from '@/db/client';
import { apiTokens, rateLimits } from '@/db/schema';
import { createApiClient } from '@/lib/auth/api-clients';
import { TOKEN_ENDPOINT_LIMITS } from '@/lib/auth/sign-in-throttle';
import { TokenCache } from '@/lib/auth/token-cache';
import { createApiToken } from '@/lib/auth/tokens';
import { resetClock, setClock } from '@/lib/clock';
import { LeasedRateLimiter, PgRateLimiter, RateLimiter, setApiRateLimiter } from '@/lib/http/rate-limit';
import { createPrograms, noParams, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let second: Database;
const PROGRAM = 702;

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  second = createDb(t.url, { max: 2 });
  await createPrograms(t.db, [{ id: PROGRAM, name: 'Limits Program' }]);
});
afterAll(async () => {
  await second?.sql.end({ timeout: 5 });
  await closeDatabase();
  await t?.drop();
});

describe('the export API limit across web processes (finding: N processes allowed N× the limit)', () => {
  it('is one budget for two processes on one database', async () => {
    const processA = new PgRateLimiter(t.sql, 'api_test', 5, 60);
    const processB = new PgRateLimiter(second.sql, 'api_test', 5, 60);
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await (i % 2 ? processB : processA).take('client:abc'));
    expect(answers.slice(0, 5).every((a) => a.ok)).toBe(true);
    expect(answers[5]).toMatchObject({ ok: false });
    expect((answers[5] as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThan(0);
    expect((answers[5] as { retryAfterSeconds: number }).retryAfterSeconds).toBeLessThanOrEqual(60);
    // Another caller has its own budget, in either process.
    expect(await processB.take('client:other')).toMatchObject({ ok: true, remaining: 4 });
    const [row] = await t.db.select().from(rateLimits).where(eq(rateLimits.key, 'api_test:client:abc'));
    expect(row.points).toBe(6);
  });

  it('many concurrent requests through both pools never let more than the limit through', async () => {
    const a = new PgRateLimiter(t.sql, 'api_race', 20, 60);
    const b = new PgRateLimiter(second.sql, 'api_race', 20, 60);
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).take('account:race')));
    expect(results.filter((r) => r.ok).length).toBe(20);
  });
});

describe('the export API limit taken in leases (one database write per lease, not per request)', () => {
  it('counts down exactly for one process, and writes far fewer times than it answers', async () => {
    const limiter = new LeasedRateLimiter(new PgRateLimiter(t.sql, 'api_lease', 600, 60));
    const remaining: number[] = [];
    for (let i = 0; i < 200; i++) {
      const r = await limiter.take('client:lease', Date.now());
      expect(r.ok).toBe(true);
      remaining.push((r as { remaining: number }).remaining);
    }
    expect(remaining).toEqual(Array.from({ length: 200 }, (_, i) => 599 - i));
    const [row] = await t.db.select().from(rateLimits).where(eq(rateLimits.key, 'api_lease:client:lease'));
    // 200 answered; the store counted them and at most one lease's unused rest.
    expect(row.points).toBeGreaterThanOrEqual(200);
    expect(row.points).toBeLessThan(200 + limiter.maxLease);
  });

  it('never lets more than the limit through two processes, however the requests interleave', async () => {
    const a = new LeasedRateLimiter(new PgRateLimiter(t.sql, 'api_lease_race', 50, 60));
    const b = new LeasedRateLimiter(new PgRateLimiter(second.sql, 'api_lease_race', 50, 60));
    const results = await Promise.all(Array.from({ length: 150 }, (_, i) => (i % 3 ? a : b).take('account:lease', Date.now())));
    expect(results.filter((r) => r.ok).length).toBe(50);
    const refused = results.find((r) => !r.ok) as { retryAfterSeconds: number };
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it('gives the last free requests of a window out one by one rather than losing them to a big lease', async () => {
    const store = new PgRateLimiter(t.sql, 'api_lease_tail', 30, 60);
    const other = new PgRateLimiter(second.sql, 'api_lease_tail', 30, 60);
    const limiter = new LeasedRateLimiter(store);
    expect(await limiter.take('client:tail', Date.now())).toMatchObject({ ok: true, remaining: 29 });
    // Another process spends all but two of the rest meanwhile.
    expect((await other.takeMany('client:tail', 27)).granted).toBe(27);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await limiter.take('client:tail', Date.now())).ok);
    expect(answers).toEqual([true, true, false, false]);
  });
});

describe('the token cache across web processes', () => {
  it('sees a revocation made by another process within 5 seconds', async () => {
    const { client } = await createApiClient(getDatabase(), {
      programId: PROGRAM,
      name: 'cache',
      scopes: ['data_exports.read'],
      author: { accountId: null, label: 'test' },
    });
    const { token, row } = await createApiToken(t.db, {
      kind: 'client',
      apiClientId: client.id,
      programId: PROGRAM,
      scopes: ['data_exports.read'],
    });
    const processA = new TokenCache();
    const processB = new TokenCache();
    setClock(new Date('2031-06-01T00:00:00Z'));
    try {
      expect(await processA.resolve(t.db, token)).toMatchObject({ tokenId: row.id });
      expect(await processB.resolve(second.db, token)).toMatchObject({ tokenId: row.id });
      // Process A revokes it (and forgets it at once); process B still has it cached, for at most 5 s.
      await t.db.update(apiTokens).set({ revokedAt: new Date() }).where(eq(apiTokens.id, row.id));
      processA.forget({ tokenId: row.id });
      expect(await processA.resolve(t.db, token)).toBeNull();
      setClock(new Date('2031-06-01T00:00:04.900Z'));
      expect(await processB.resolve(second.db, token)).not.toBeNull();
      setClock(new Date('2031-06-01T00:00:05.000Z'));
      expect(await processB.resolve(second.db, token)).toBeNull();
    } finally {
      resetClock();
    }
  });
});

describe('the token endpoint (finding: a client id was enough to lock the integration out)', () => {
  function tokenRequest(body: string | ReadableStream<Uint8Array>, ip: string, headers: Record<string, string> = {}): Request {
    return new Request('http://localhost:3000/api/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip, ...headers },
      body,
      ...(typeof body === 'string' ? {} : { duplex: 'half' }),
    } as RequestInit);
  }
  const form = (clientId: string, secret: string) =>
    new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }).toString();

  it('counts failures per IP, apart from the client’s budget: the real integration still gets its token', async () => {
    // The client's own budget is tiny, so spending it on failures would show at once.
    setApiRateLimiter(new RateLimiter(2));
    try {
      const { client, clientSecret } = await createApiClient(getDatabase(), {
        programId: PROGRAM,
        name: 'warehouse',
        scopes: ['data_exports.read'],
        author: { accountId: null, label: 'test' },
      });
      const attacker = '203.0.113.66';
      for (let i = 0; i < TOKEN_ENDPOINT_LIMITS.ipFailures; i++) {
        const res = await tokenRoute(tokenRequest(form(client.clientId, `guess-${i}`), attacker), noParams);
        expect(res.status).toBe(401);
      }
      // The attacker's address is now refused before any credential is checked — even the right secret.
      const locked = await tokenRoute(tokenRequest(form(client.clientId, clientSecret), attacker), noParams);
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(14 * 60);
      expect(await locked.json()).toMatchObject({
        error: 'rate_limited',
        error_description: expect.stringMatching(/^Too many token requests from this address/),
      });
      // The integration, from its own address, is untouched.
      const real = await tokenRoute(tokenRequest(form(client.clientId, clientSecret), '203.0.113.10'), noParams);
      expect(real.status).toBe(200);
      expect(await real.json()).toMatchObject({ token_type: 'Bearer' });
      const issued = await t.db.select().from(apiTokens).where(eq(apiTokens.apiClientId, client.id));
      expect(issued).toHaveLength(1);
    } finally {
      setApiRateLimiter(undefined);
    }
  });

  it('limits requests per IP before reading the body', async () => {
    const ip = '203.0.113.77';
    for (let i = 0; i < TOKEN_ENDPOINT_LIMITS.ipRequestsPerMinute; i++) {
      // A malformed request (not a failed authentication): only the per-IP request budget applies.
      expect((await tokenRoute(tokenRequest('grant_type=password&client_id=a&client_secret=b', ip), noParams)).status).toBe(400);
    }
    const refused = await tokenRoute(tokenRequest('grant_type=password&client_id=a&client_secret=b', ip), noParams);
    expect(refused.status).toBe(429);
  });

  it('caps the body sent chunked (no Content-Length) and stops reading it', async () => {
    let pulled = 0;
    const chunk = new TextEncoder().encode('a'.repeat(4096));
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        if (pulled > 10_000) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const res = await tokenRoute(tokenRequest(endless, '203.0.113.88'), noParams);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: 'invalid_request',
      error_description: 'The request body is too large (at most 16 KB).',
    });
    expect(pulled).toBeLessThan(20);
    const declared = await tokenRoute(tokenRequest('x', '203.0.113.89', { 'content-length': String(1024 * 1024) }), noParams);
    expect(declared.status).toBe(400);
  });
});
