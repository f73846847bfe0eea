// Request budgets for the Export API: a token bucket per caller, held in this process's memory.
// The bucket belongs to the API client (all its tokens share it) or to the account (its session and
// its personal tokens share it), so minting more tokens does not buy more requests. It holds a
// minute's worth of requests (DDE_API_RATE_LIMIT_PER_MINUTE, default 600) and refills continuously.
// Each web process keeps its own buckets: behind a load balancer with N copies a caller can make up
// to N × the limit. Over budget → 429 with Retry-After (seconds until one request is available).
// Routes spend it with withAuth's `rateLimit` option.
import type { Actor } from '@/lib/auth/actor';
import { now } from '@/lib/clock';
import { env } from '@/lib/env';
import { AppError } from './errors';

type Bucket = { tokens: number; at: number };

/** Buckets above this count are pruned of the full (idle) ones. */
const PRUNE_ABOVE = 50_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(readonly perMinute: number) {
    this.perMs = perMinute / 60_000;
  }

  /** Takes one request from `key`'s bucket at `atMs`: ok, or how many seconds until one is available. */
  take(key: string, atMs: number): { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number } {
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
      return { ok: true, remaining: Math.floor(b.tokens) };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000)) };
  }

  private prune(atMs: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + (atMs - b.at) * this.perMs >= this.perMinute) this.buckets.delete(key);
    }
  }
}

let configured: RateLimiter | null | undefined;

/** The process's Export API limiter, or null when the limit is off (DDE_API_RATE_LIMIT_PER_MINUTE=0). */
export function apiRateLimiter(): RateLimiter | null {
  if (configured === undefined) {
    const perMinute = env().apiRateLimitPerMinute;
    configured = perMinute > 0 ? new RateLimiter(perMinute) : null;
  }
  return configured;
}

/** Tests replace the limiter (null: off; undefined: back to the configured one). */
export function setApiRateLimiter(limiter: RateLimiter | null | undefined): void {
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

/** Spends one request of `key`'s budget, or throws 429 rate_limited with Retry-After. */
export function enforceRateLimit(key: string, limiter: RateLimiter | null = apiRateLimiter()): void {
  if (!limiter) return;
  const r = limiter.take(key, now().getTime());
  if (!r.ok) {
    throw new AppError(
      'rate_limited',
      `Too many requests: the limit is ${limiter.perMinute} per minute. Retry in ${r.retryAfterSeconds} s.`,
      { limit_per_minute: limiter.perMinute, retry_after_seconds: r.retryAfterSeconds },
      { 'retry-after': String(r.retryAfterSeconds) },
    );
  }
}
