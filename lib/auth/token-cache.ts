// Resolved bearer tokens, kept briefly in this process so a busy API client costs one query per
// request (its data) instead of two or three (token with owner, memberships, data).
//
// Bounds: an entry lives at most TOKEN_CACHE_TTL_MS and never past the token's expires_at.
// Revoking a token, a client or an account's token through this process forgets it at once;
// a revocation made by another process (another web copy, the CLI) takes effect within
// TOKEN_CACHE_TTL_MS. Only tokens that resolved are cached; unknown tokens always hit the database.
import type { Db } from '@/db/client';
import { now } from '@/lib/clock';
import type { TokenActor } from './actor';
import { hashToken, resolveBearerToken } from './tokens';

export const TOKEN_CACHE_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;

type Entry = { actor: TokenActor; cachedAt: number; expiresAt: number | null };
const entries = new Map<string, Entry>();

/** resolveBearerToken with a short in-process cache (see the bounds above). */
export async function resolveBearerTokenCached(db: Db, token: string): Promise<TokenActor | null> {
  if (token.length < 16 || token.length > 512) return null;
  const key = hashToken(token);
  const at = now().getTime();
  const hit = entries.get(key);
  if (hit) {
    // A clock moved backwards (tests) counts as stale, like an old entry.
    const fresh = at >= hit.cachedAt && at - hit.cachedAt < TOKEN_CACHE_TTL_MS;
    if (fresh && (hit.expiresAt === null || at < hit.expiresAt)) return hit.actor;
    entries.delete(key);
  }
  const resolved = await resolveBearerToken(db, key);
  if (!resolved) return null;
  const { actor, expiresAt } = resolved;
  if (entries.size >= MAX_ENTRIES) {
    // Maps iterate in insertion order: drop the oldest entry.
    const oldest = entries.keys().next().value;
    if (oldest !== undefined) entries.delete(oldest);
  }
  entries.set(key, { actor, cachedAt: at, expiresAt: expiresAt ? expiresAt.getTime() : null });
  return actor;
}

/** Forgets cached tokens: one token, every token of an API client, or every token of an account. */
export function forgetCachedTokens(match: { tokenId?: string; apiClientId?: string; accountId?: string }): void {
  for (const [key, { actor }] of entries) {
    if (
      (match.tokenId && actor.tokenId === match.tokenId) ||
      (match.apiClientId && actor.apiClientId === match.apiClientId) ||
      (match.accountId && actor.accountId === match.accountId)
    ) {
      entries.delete(key);
    }
  }
}

/** Empties the cache (tests). */
export function clearTokenCache(): void {
  entries.clear();
}
