// Resolved bearer tokens, kept briefly in this process so a busy API client costs one query per
// request (its data) instead of two or three (token with owner, memberships, data).
//
// Bounds: an entry lives at most TOKEN_CACHE_TTL_MS and never past the token's expires_at.
// Revoking a token, a client or an account's token through this process forgets it at once;
// a revocation made by another process (another web copy behind the load balancer, the CLI, a
// password change handled elsewhere) takes effect within TOKEN_CACHE_TTL_MS everywhere, since no
// process trusts its cache longer than that: the database is the one shared truth. Only tokens
// that resolved are cached; unknown tokens always hit the database.
import type { Db } from '@/db/client';
import { now } from '@/lib/clock';
import type { TokenActor } from './actor';
import { hashToken, resolveBearerToken } from './tokens';

export const TOKEN_CACHE_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;

type Entry = { actor: TokenActor; cachedAt: number; expiresAt: number | null };

/** One process's cache (the module keeps one; tests make a second to stand for another process). */
export class TokenCache {
  private readonly entries = new Map<string, Entry>();

  /** resolveBearerToken with a short in-process cache (see the bounds above). */
  async resolve(db: Db, token: string): Promise<TokenActor | null> {
    if (token.length < 16 || token.length > 512) return null;
    const key = hashToken(token);
    const at = now().getTime();
    const hit = this.entries.get(key);
    if (hit) {
      // A clock moved backwards (tests) counts as stale, like an old entry.
      const fresh = at >= hit.cachedAt && at - hit.cachedAt < TOKEN_CACHE_TTL_MS;
      if (fresh && (hit.expiresAt === null || at < hit.expiresAt)) return hit.actor;
      this.entries.delete(key);
    }
    const resolved = await resolveBearerToken(db, key);
    if (!resolved) return null;
    const { actor, expiresAt } = resolved;
    if (this.entries.size >= MAX_ENTRIES) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { actor, cachedAt: at, expiresAt: expiresAt ? expiresAt.getTime() : null });
    return actor;
  }

  /** Forgets cached tokens: one token, every token of an API client, or every token of an account. */
  forget(match: { tokenId?: string; apiClientId?: string; accountId?: string }): void {
    for (const [key, { actor }] of this.entries) {
      if (
        (match.tokenId && actor.tokenId === match.tokenId) ||
        (match.apiClientId && actor.apiClientId === match.apiClientId) ||
        (match.accountId && actor.accountId === match.accountId)
      ) {
        this.entries.delete(key);
      }
    }
  }

  clear(): void {
    this.entries.clear();
  }
}

const processCache = new TokenCache();

/** resolveBearerToken with this process's short cache. */
export async function resolveBearerTokenCached(db: Db, token: string): Promise<TokenActor | null> {
  return processCache.resolve(db, token);
}

/** Forgets cached tokens: one token, every token of an API client, or every token of an account. */
export function forgetCachedTokens(match: { tokenId?: string; apiClientId?: string; accountId?: string }): void {
  processCache.forget(match);
}

/** Empties the cache (tests). */
export function clearTokenCache(): void {
  processCache.clear();
}
