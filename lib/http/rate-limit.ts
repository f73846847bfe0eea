// Request budgets, shared by every web process through PostgreSQL (rate-limiter-flexible's
// RateLimiterPostgres over the app's own pool, table rate_limits).
//
// Export API: the bucket belongs to the API client (all its tokens share it) or to the account (its
// session and its personal tokens share it), so minting more tokens does not buy more requests. It
// holds DDE_API_RATE_LIMIT_PER_MINUTE requests (default 600) per minute window, whatever the number
// of web processes behind the load balancer. Over budget → 429 with Retry-After (seconds until the
// window ends). Every answer of a limited route says where the caller stands: RateLimit-Limit,
// RateLimit-Remaining and RateLimit-Reset (seconds until the budget is whole again), added by
// withAuth from what enforceRateLimit returns.
//
// The management API's expensive routes (test connection, historical requests) have their own,
// smaller per-account budgets (EXPENSIVE_LIMITS). Sign-in and the token endpoint use the same store
// (lib/auth/sign-in-throttle.ts).
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { getDatabase, type Sql } from '@/db/client';
import type { Actor } from '@/lib/auth/actor';
import { now } from '@/lib/clock';
import { env } from '@/lib/env';
import { AppError } from './errors';

/** `resetSeconds`: seconds until the budget is whole again (the window ends, or the bucket has refilled). */
export type TakeResult = { ok: true; remaining: number; resetSeconds: number } | { ok: false; retryAfterSeconds: number };

/** Where a caller stands after spending a request: the RateLimit-* headers. */
export type RateLimitState = { limit: number; remaining: number; resetSeconds: number };

/** The RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset headers of a state. */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    'ratelimit-limit': String(state.limit),
    'ratelimit-remaining': String(Math.max(0, state.remaining)),
    'ratelimit-reset': String(Math.max(0, state.resetSeconds)),
  };
}

/** A request budget: `take` spends one request of `key`'s budget. */
export interface Limiter {
  /** Requests per window. */
  readonly points: number;
  /** Window length in seconds. */
  readonly windowSeconds: number;
  take(key: string, atMs: number): TakeResult | Promise<TakeResult>;
}

/** Buckets above this count are pruned of the full (idle) ones. */
const PRUNE_ABOVE = 50_000;
type Bucket = { tokens: number; at: number };

/**
 * An in-memory token bucket (one process only), refilling continuously. Tests use it to drive the
 * limit with the test clock; production uses PgRateLimiter.
 */
export class RateLimiter implements Limiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  readonly points: number;
  readonly windowSeconds = 60;

  constructor(readonly perMinute: number) {
    this.points = perMinute;
    this.perMs = perMinute / 60_000;
  }

  take(key: string, atMs: number): TakeResult {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= PRUNE_ABOVE) this.prune(atMs);
      b = { tokens: this.perMinute, at: atMs };
      this.buckets.set(key, b);
    } else if (atMs > b.at) {
      b.tokens = Math.min(this.perMinute, b.tokens + (atMs - b.at) * this.perMs);
      b.at = atMs;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, remaining: Math.floor(b.tokens), resetSeconds: Math.ceil((this.perMinute - b.tokens) / this.perMs / 1000) };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000)) };
  }

  private prune(atMs: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + (atMs - b.at) * this.perMs >= this.perMinute) this.buckets.delete(key);
    }
  }
}

/**
 * rate-limiter-flexible's Postgres store talks to a `pg`-style client (`query({ text, values })` →
 * `{ rows, rowCount }`); this adapts the app's postgres.js pool to it.
 */
export function pgStoreClient(sql: Sql): {
  query: (q: { text: string; values?: unknown[] }) => Promise<{ rows: unknown[]; rowCount: number }>;
} {
  return {
    query: async (q) => {
      const rows = await sql.unsafe(q.text, (q.values ?? []) as never[]);
      return { rows: [...rows], rowCount: rows.count ?? rows.length };
    },
  };
}

export const RATE_LIMIT_TABLE = 'rate_limits';

/** A RateLimiterPostgres over `sql` (table created by the migrations). */
export function pgRateLimiter(
  sql: Sql,
  opts: { keyPrefix: string; points: number; durationSeconds: number; blockDurationSeconds?: number },
): RateLimiterPostgres {
  return new RateLimiterPostgres({
    storeClient: pgStoreClient(sql),
    storeType: 'pool',
    tableName: RATE_LIMIT_TABLE,
    tableCreated: true,
    keyPrefix: opts.keyPrefix,
    points: opts.points,
    duration: opts.durationSeconds,
    blockDuration: opts.blockDurationSeconds ?? 0,
  });
}

/** Seconds until a refused caller may try again (at least 1). */
export function retryAfterSeconds(res: RateLimiterRes): number {
  return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
}

/** A budget of `points` requests per `windowSeconds` per key, shared by every process on the database. */
export class PgRateLimiter implements Limiter {
  private readonly rl: RateLimiterPostgres;

  constructor(
    sql: Sql,
    readonly keyPrefix: string,
    readonly points: number,
    readonly windowSeconds: number,
  ) {
    this.rl = pgRateLimiter(sql, { keyPrefix, points, durationSeconds: windowSeconds });
  }

  async take(key: string): Promise<TakeResult> {
    const r = await this.takeMany(key, 1);
    return r.granted > 0
      ? { ok: true, remaining: r.remaining, resetSeconds: r.resetSeconds }
      : { ok: false, retryAfterSeconds: r.retryAfterSeconds };
  }

  /**
   * Spends up to `n` requests of `key`'s budget in one statement. The store adds `n` to the
   * window's count atomically, so the requests that were still free before this call (at most `n`)
   * belong to this caller alone: `granted` of them, 0 when the budget was already spent.
   */
  async takeMany(key: string, n: number): Promise<{ granted: number; remaining: number; resetSeconds: number; retryAfterSeconds: number }> {
    let res: RateLimiterRes;
    try {
      res = await this.rl.consume(key.slice(0, 200), n);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      res = err;
    }
    const before = res.consumedPoints - n;
    const granted = Math.max(0, Math.min(n, this.points - before));
    return {
      granted,
      remaining: Math.max(0, this.points - res.consumedPoints),
      resetSeconds: Math.max(0, Math.ceil(res.msBeforeNext / 1000)),
      retryAfterSeconds: retryAfterSeconds(res),
    };
  }
}

type Lease = { left: number; remaining: number; endsAt: number };

/**
 * The export API's budget as web processes spend it: requests are taken from PostgreSQL in small
 * leases (up to `maxLease` at a time, an eighth of what was left at most, one when little is left),
 * so a busy caller costs one database write per lease instead of one per request. A lease belongs
 * to one process and ends with its window; what a process leased but did not use is not handed
 * back, so with P processes a caller can meet 429 up to P × (maxLease − 1) requests early in a
 * window, and never gets more than the limit through.
 */
export class LeasedRateLimiter implements Limiter {
  private readonly leases = new Map<string, Lease>();
  private readonly pending = new Map<string, Promise<unknown>>();
  readonly points: number;
  readonly windowSeconds: number;

  constructor(
    private readonly store: PgRateLimiter,
    readonly maxLease = 16,
  ) {
    this.points = store.points;
    this.windowSeconds = store.windowSeconds;
  }

  async take(key: string, atMs: number): Promise<TakeResult> {
    for (;;) {
      const lease = this.leases.get(key);
      const live = lease && atMs < lease.endsAt ? lease : undefined;
      if (live && live.left > 0) {
        live.left -= 1;
        return { ok: true, remaining: live.remaining + live.left, resetSeconds: Math.max(0, Math.ceil((live.endsAt - atMs) / 1000)) };
      }
      const inFlight = this.pending.get(key);
      if (inFlight) {
        await inFlight;
        continue;
      }
      const size = live ? Math.max(1, Math.min(this.maxLease, Math.floor(live.remaining / 8))) : 1;
      const leasing = this.store.takeMany(key, size);
      this.pending.set(key, leasing);
      try {
        const r = await leasing;
        if (r.granted === 0) {
          this.leases.set(key, { left: 0, remaining: 0, endsAt: atMs + r.retryAfterSeconds * 1000 });
          return { ok: false, retryAfterSeconds: r.retryAfterSeconds };
        }
        if (this.leases.size >= PRUNE_ABOVE) this.prune(atMs);
        const left = r.granted - 1;
        this.leases.set(key, { left, remaining: r.remaining, endsAt: atMs + r.resetSeconds * 1000 });
        return { ok: true, remaining: r.remaining + left, resetSeconds: r.resetSeconds };
      } finally {
        this.pending.delete(key);
      }
    }
  }

  private prune(atMs: number): void {
    for (const [key, l] of this.leases) if (atMs >= l.endsAt) this.leases.delete(key);
  }
}

/** One limiter per database pool and name (pools are per process; tests make one per database). */
const perPool = new WeakMap<Sql, Map<string, PgRateLimiter>>();

function sharedLimiter(name: string, points: number, windowSeconds: number, sql: Sql = getDatabase().sql): PgRateLimiter {
  let byName = perPool.get(sql);
  if (!byName) perPool.set(sql, (byName = new Map()));
  const key = `${name}:${points}:${windowSeconds}`;
  let l = byName.get(key);
  if (!l) byName.set(key, (l = new PgRateLimiter(sql, name, points, windowSeconds)));
  return l;
}

let configured: Limiter | null | undefined;
const leasedByStore = new WeakMap<PgRateLimiter, LeasedRateLimiter>();

/** The Export API limiter, or null when the limit is off (DDE_API_RATE_LIMIT_PER_MINUTE=0). */
export function apiRateLimiter(): Limiter | null {
  if (configured !== undefined) return configured;
  const perMinute = env().apiRateLimitPerMinute;
  if (perMinute <= 0) return null;
  const store = sharedLimiter('api', perMinute, 60);
  let leased = leasedByStore.get(store);
  if (!leased) leasedByStore.set(store, (leased = new LeasedRateLimiter(store)));
  return leased;
}

/** Tests replace the limiter (null: off; undefined: back to the configured one). */
export function setApiRateLimiter(limiter: Limiter | null | undefined): void {
  configured = limiter;
}

/** Whose budget a request spends: the API client's, else the account's, else the token's own. */
export function rateLimitKey(actor: Actor): string {
  if (actor.kind === 'token') {
    if (actor.apiClientId) return `client:${actor.apiClientId}`;
    if (actor.accountId) return `account:${actor.accountId}`;
    return `token:${actor.tokenId}`;
  }
  return `account:${actor.accountId}`;
}

function per(l: Limiter): string {
  if (l.windowSeconds === 60) return 'per minute';
  if (l.windowSeconds === 3600) return 'per hour';
  return `per ${l.windowSeconds} s`;
}

/**
 * Spends one request of `key`'s budget and returns where the caller stands (undefined when the
 * limit is off), or throws 429 rate_limited with Retry-After and the RateLimit-* headers.
 */
export async function enforceRateLimit(
  key: string,
  limiter: Limiter | null = apiRateLimiter(),
  what = 'requests',
): Promise<RateLimitState | undefined> {
  if (!limiter) return undefined;
  const r = await limiter.take(key, now().getTime());
  if (!r.ok) {
    throw new AppError(
      'rate_limited',
      `Too many ${what}: the limit is ${limiter.points} ${per(limiter)}. Retry in ${r.retryAfterSeconds} s.`,
      { limit: limiter.points, window_seconds: limiter.windowSeconds, retry_after_seconds: r.retryAfterSeconds },
      {
        'retry-after': String(r.retryAfterSeconds),
        ...rateLimitHeaders({ limit: limiter.points, remaining: 0, resetSeconds: r.retryAfterSeconds }),
      },
    );
  }
  return { limit: limiter.points, remaining: r.remaining, resetSeconds: r.resetSeconds };
}

/** Per-account budgets of the management API's expensive routes. */
export const EXPENSIVE_LIMITS = {
  /** "Test connection": outbound SSH with long timeouts. */
  connection_test: { points: () => env().connectionTestsPerMinute, windowSeconds: 60, what: 'connection tests' },
  /** A webhook's test message (an outbound POST of up to 10 s, sent at once) and a logged message sent anew. */
  webhook_send: { points: () => env().connectionTestsPerMinute, windowSeconds: 60, what: 'webhook tests and redeliveries' },
  /** Historical requests: up to 24 months of re-exports each. */
  historical_request: { points: () => 20, windowSeconds: 3600, what: 'historical requests' },
} as const satisfies Record<string, { points: () => number; windowSeconds: number; what: string }>;
export type ExpensiveRoute = keyof typeof EXPENSIVE_LIMITS;

const expensiveOverrides = new Map<ExpensiveRoute, Limiter | null>();

/** Tests replace an expensive route's limiter (null: off; undefined: back to the default). */
export function setExpensiveLimiter(route: ExpensiveRoute, limiter: Limiter | null | undefined): void {
  if (limiter === undefined) expensiveOverrides.delete(route);
  else expensiveOverrides.set(route, limiter);
}

/** Spends one of the caller's `route` budget (per account, or per API client), or throws 429. */
export async function enforceExpensiveLimit(route: ExpensiveRoute, actor: Actor): Promise<void> {
  const spec = EXPENSIVE_LIMITS[route];
  const limiter = expensiveOverrides.has(route) ? expensiveOverrides.get(route)! : sharedLimiter(route, spec.points(), spec.windowSeconds);
  await enforceRateLimit(rateLimitKey(actor), limiter, spec.what);
}
