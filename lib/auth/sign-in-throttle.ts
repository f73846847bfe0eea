// Throttling of password sign-in and of the OAuth token endpoint, held in PostgreSQL so that it
// holds across every web process (rate-limiter-flexible's Postgres store, table rate_limits).
//
// Sign-in:
//   - per account (by email, known or not, so the answer reveals nothing): after 10 failed attempts
//     within 15 minutes the account is locked for 15 minutes — every attempt, even with the right
//     password, is refused without running bcrypt;
//   - per client IP: 30 attempts a minute (a flood of bcrypt runs cannot saturate the process) and
//     100 failures within 15 minutes (password spraying across accounts).
// Token endpoint (client credentials):
//   - per client IP before the credentials are read or checked: 60 requests a minute;
//   - failed client authentications per IP: 20 within 15 minutes, then that IP is refused for
//     15 minutes. Failures never spend the API client's own budget, so knowing a client id is not
//     enough to lock the real integration out.
import { createHash } from 'node:crypto';
import { RateLimiterRes, type RateLimiterPostgres } from 'rate-limiter-flexible';
import { getDatabase, type Sql } from '@/db/client';
import { pgRateLimiter, retryAfterSeconds } from '@/lib/http/rate-limit';

export const SIGN_IN_LIMITS = {
  accountFailures: 10,
  accountWindowSeconds: 15 * 60,
  accountLockSeconds: 15 * 60,
  ipAttemptsPerMinute: 30,
  ipFailures: 100,
  ipFailureWindowSeconds: 15 * 60,
} as const;

export const TOKEN_ENDPOINT_LIMITS = {
  ipRequestsPerMinute: 60,
  ipFailures: 20,
  ipFailureWindowSeconds: 15 * 60,
  ipLockSeconds: 15 * 60,
} as const;

/** A refusal because of too many attempts; `retryAfterSeconds` until the next one may be made. */
export class TooManyAttemptsError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many attempts. Try again in ${minutesOf(retryAfterSeconds)} minute${minutesOf(retryAfterSeconds) === 1 ? '' : 's'}.`);
    this.name = 'TooManyAttemptsError';
  }

  get minutes(): number {
    return minutesOf(this.retryAfterSeconds);
  }
}

export function minutesOf(seconds: number): number {
  return Math.max(1, Math.ceil(seconds / 60));
}

/** The sign-in error code next-auth passes to the page: `TooManyAttempts-<minutes>`. */
export function tooManyAttemptsCode(err: TooManyAttemptsError): string {
  return `TooManyAttempts-${err.minutes}`;
}

type HeaderSource = Headers | Record<string, string | string[] | undefined> | undefined;

function header(h: HeaderSource, name: string): string | undefined {
  if (!h) return undefined;
  if (h instanceof Headers) return h.get(name) ?? undefined;
  const v = h[name] ?? h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The client's IP address: the last X-Forwarded-For entry, which is the address the nearest proxy
 * saw — the load balancer's view of the client, or, with no proxy in front, the socket's address
 * that Next.js records there when the client sent no such header. (Entries before it are whatever
 * the client chose to send.) Else X-Real-IP, else "unknown". A client talking to `next start`
 * directly can still choose the header and so escape the per-IP budget; the per-account lock holds
 * whatever it says.
 */
export function clientIp(headers: HeaderSource): string {
  const forwarded = header(headers, 'x-forwarded-for')
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .pop();
  const ip = forwarded || header(headers, 'x-real-ip')?.trim();
  return ip && ip.length <= 64 ? ip : 'unknown';
}

function emailKey(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase(), 'utf8').digest('hex');
}

type Limiters = {
  accountFailures: RateLimiterPostgres;
  ipAttempts: RateLimiterPostgres;
  ipFailures: RateLimiterPostgres;
  tokenIpRequests: RateLimiterPostgres;
  tokenIpFailures: RateLimiterPostgres;
};

const perPool = new WeakMap<Sql, Limiters>();

function limiters(sql: Sql = getDatabase().sql): Limiters {
  let l = perPool.get(sql);
  if (!l) {
    l = {
      accountFailures: pgRateLimiter(sql, {
        keyPrefix: 'signin_account_fail',
        points: SIGN_IN_LIMITS.accountFailures,
        durationSeconds: SIGN_IN_LIMITS.accountWindowSeconds,
      }),
      ipAttempts: pgRateLimiter(sql, { keyPrefix: 'signin_ip', points: SIGN_IN_LIMITS.ipAttemptsPerMinute, durationSeconds: 60 }),
      ipFailures: pgRateLimiter(sql, {
        keyPrefix: 'signin_ip_fail',
        points: SIGN_IN_LIMITS.ipFailures,
        durationSeconds: SIGN_IN_LIMITS.ipFailureWindowSeconds,
      }),
      tokenIpRequests: pgRateLimiter(sql, {
        keyPrefix: 'oauth_ip',
        points: TOKEN_ENDPOINT_LIMITS.ipRequestsPerMinute,
        durationSeconds: 60,
      }),
      tokenIpFailures: pgRateLimiter(sql, {
        keyPrefix: 'oauth_ip_fail',
        points: TOKEN_ENDPOINT_LIMITS.ipFailures,
        durationSeconds: TOKEN_ENDPOINT_LIMITS.ipFailureWindowSeconds,
      }),
    };
    perPool.set(sql, l);
  }
  return l;
}

/** Milliseconds until `key` is below `points` again, or 0 when it is. */
async function lockedFor(limiter: RateLimiterPostgres, key: string, points: number): Promise<number> {
  const r = await limiter.get(key);
  return r && r.consumedPoints >= points ? r.msBeforeNext : 0;
}

/** Consumes one point; resolves to the refusal when the budget is spent. */
async function spend(limiter: RateLimiterPostgres, key: string): Promise<RateLimiterRes | null> {
  try {
    await limiter.consume(key);
    return null;
  } catch (err) {
    if (err instanceof RateLimiterRes) return err;
    throw err;
  }
}

/**
 * Before a password is checked: refuses (TooManyAttemptsError) a locked account or IP, and counts
 * the attempt against the IP's per-minute budget. Without `count` it only looks (the sign-in
 * route's early 429), spending nothing.
 */
export async function checkSignInAllowed(params: { email: string; ip: string; count?: boolean }, sql?: Sql): Promise<void> {
  const l = limiters(sql);
  const waits = await Promise.all([
    lockedFor(l.accountFailures, emailKey(params.email), SIGN_IN_LIMITS.accountFailures),
    lockedFor(l.ipFailures, params.ip, SIGN_IN_LIMITS.ipFailures),
    params.count ? Promise.resolve(0) : lockedFor(l.ipAttempts, params.ip, SIGN_IN_LIMITS.ipAttemptsPerMinute),
  ]);
  const wait = Math.max(...waits);
  if (wait > 0) throw new TooManyAttemptsError(Math.ceil(wait / 1000));
  if (params.count) {
    const refused = await spend(l.ipAttempts, params.ip);
    if (refused) throw new TooManyAttemptsError(retryAfterSeconds(refused));
  }
}

/** A wrong password (or unknown email): counts against the account and the IP; the 10th locks the account. */
export async function recordSignInFailure(params: { email: string; ip: string }, sql?: Sql): Promise<void> {
  const l = limiters(sql);
  const key = emailKey(params.email);
  const refused = await spend(l.accountFailures, key);
  const consumed = refused ? refused.consumedPoints : ((await l.accountFailures.get(key))?.consumedPoints ?? 0);
  if (consumed >= SIGN_IN_LIMITS.accountFailures) await l.accountFailures.block(key, SIGN_IN_LIMITS.accountLockSeconds);
  await spend(l.ipFailures, params.ip);
}

/** A successful sign-in forgets the account's failures. */
export async function clearSignInFailures(email: string, sql?: Sql): Promise<void> {
  await limiters(sql).accountFailures.delete(emailKey(email));
}

/** The token endpoint, before reading the body: the IP's request budget and its failure lock. */
export async function checkTokenRequestAllowed(ip: string, sql?: Sql): Promise<void> {
  const l = limiters(sql);
  const wait = await lockedFor(l.tokenIpFailures, ip, TOKEN_ENDPOINT_LIMITS.ipFailures);
  if (wait > 0) throw new TooManyAttemptsError(Math.ceil(wait / 1000));
  const refused = await spend(l.tokenIpRequests, ip);
  if (refused) throw new TooManyAttemptsError(retryAfterSeconds(refused));
}

/** A failed client authentication at the token endpoint: counts against the IP only. */
export async function recordTokenFailure(ip: string, sql?: Sql): Promise<void> {
  const l = limiters(sql);
  const refused = await spend(l.tokenIpFailures, ip);
  const consumed = refused ? refused.consumedPoints : ((await l.tokenIpFailures.get(ip))?.consumedPoints ?? 0);
  if (consumed >= TOKEN_ENDPOINT_LIMITS.ipFailures) await l.tokenIpFailures.block(ip, TOKEN_ENDPOINT_LIMITS.ipLockSeconds);
}
