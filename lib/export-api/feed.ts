// Each API connection is its own feed: the Export API answers one connection's files at a time.
// An API client reads the connection(s) it was created for (api_client_connections); personal
// tokens and sessions reach every API connection of the program. SFTP connections are in no feed.
import type { Db } from '@/db/client';
import { listApiConnections, listClientFeedConnections, type FeedConnection } from '@/db/queries/feeds';
import type { Actor } from '@/lib/auth/actor';
import { now } from '@/lib/clock';
import { AppError } from '@/lib/http/errors';

export type { FeedConnection };

/**
 * An API client's feeds, kept briefly in this process (like resolved tokens, lib/auth/token-cache.ts)
 * so a polling client costs no extra query: a client's connections are fixed at its creation, and a
 * deleted connection leaves its feeds within FEED_CACHE_TTL_MS everywhere.
 */
export const FEED_CACHE_TTL_MS = 5_000;
const MAX_CACHED = 10_000;
const clientFeeds = new Map<string, { feeds: FeedConnection[]; at: number }>();

/** Tests: forget every cached client feed. */
export function clearFeedCache(): void {
  clientFeeds.clear();
}

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

/** The API connections of `programId` the caller reads. */
export async function reachableFeeds(db: Db, actor: Actor, programId: number): Promise<FeedConnection[]> {
  if (actor.kind === 'token' && actor.apiClientId) return cachedClientFeeds(db, actor.apiClientId, programId);
  return listApiConnections(db, programId);
}

/** How a connection is named in messages: its name and id. */
export function feedLabel(c: Pick<FeedConnection, 'id' | 'name'>): string {
  return c.name ? `"${c.name}" (${c.id})` : c.id;
}

/**
 * The one feed a request reads: the connection `?connection=` names (404 when the caller does not
 * reach it, whatever the reason), else the caller's only API connection; 422 naming the choices
 * when there are several. Null when the caller reads no API connection of the program: an empty feed.
 */
export async function resolveFeed(db: Db, actor: Actor, programId: number, requested: string | undefined): Promise<FeedConnection | null> {
  const feeds = await reachableFeeds(db, actor, programId);
  if (requested !== undefined) {
    const found = feeds.find((f) => f.id === requested);
    if (!found) throw new AppError('not_found', `API connection ${requested} was not found.`);
    return found;
  }
  if (feeds.length === 1) return feeds[0];
  if (feeds.length === 0) return null;
  const message = `this caller reads ${feeds.length} API connections; say which with ?connection=<id>: ${feeds.map(feedLabel).join(', ')}`;
  throw new AppError('validation_failed', `Invalid query: connection: ${message}`, {
    fields: [{ path: 'connection', message }],
    connections: feeds.map((f) => ({ id: f.id, name: f.name, frequency: f.frequency })),
  });
}
