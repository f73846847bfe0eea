// What an API client reaches: the API connection(s) it was created for (api_client_connections),
// in its one program. lib/auth/with-auth.ts resolves them for every request a client makes, answers
// a client 404 on every route that is not its feed, and hands the feed routes this list: the one
// place a client's reach is decided. Sessions and personal tokens reach every connection of their
// programs their role allows (null here).
import type { Db } from '@/db/client';
import { listClientFeedConnections, type FeedConnection } from '@/db/queries/feeds';
import { now } from '@/lib/clock';
import type { Actor, TokenActor } from './actor';

/** True for a client-credentials token: it reads its own connections' files and nothing else. */
export function isApiClient(actor: Actor): actor is TokenActor & { tokenKind: 'client' } {
  return actor.kind === 'token' && actor.tokenKind === 'client';
}

/**
 * An API client's feeds, kept briefly in this process (like resolved tokens, lib/auth/token-cache.ts)
 * so a polling client costs no extra query: a client's connections are fixed at its creation, and a
 * deleted connection leaves its feeds within FEED_CACHE_TTL_MS everywhere.
 */
export const FEED_CACHE_TTL_MS = 5_000;
const MAX_CACHED = 10_000;
const clientFeeds = new Map<string, { feeds: FeedConnection[]; at: number }>();

async function cachedClientFeeds(db: Db, clientId: string, programId: number): Promise<FeedConnection[]> {
  const key = `${clientId}:${programId}`;
  const at = now().getTime();
  const hit = clientFeeds.get(key);
  if (hit && at >= hit.at && at - hit.at < FEED_CACHE_TTL_MS) return hit.feeds;
  const feeds = await listClientFeedConnections(db, { clientId, programId });
  if (clientFeeds.size >= MAX_CACHED) clientFeeds.delete(clientFeeds.keys().next().value!);
  clientFeeds.set(key, { feeds, at });
  return feeds;
}

/**
 * The connections of `programId` an API client reads (none without a program, or for a token of
 * no client); null for every other caller.
 */
export async function clientFeedsOf(db: Db, actor: Actor, programId: number | undefined): Promise<FeedConnection[] | null> {
  if (!isApiClient(actor)) return null;
  if (programId === undefined || !actor.apiClientId) return [];
  return cachedClientFeeds(db, actor.apiClientId, programId);
}
