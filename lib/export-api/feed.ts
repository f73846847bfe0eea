// Each API connection is its own feed: the Export API answers one connection's files at a time.
// An API client reads the connection(s) it was created for (api_client_connections); personal
// tokens and sessions reach every API connection of the program. SFTP connections are in no feed.
import type { Db } from '@/db/client';
import { listApiConnections, type FeedConnection } from '@/db/queries/feeds';
import { AppError } from '@/lib/http/errors';

export type { FeedConnection };

/**
 * What every export API read route (pages/api/v1/data_exports, folders) enforces, as withAuth's
 * options: the download permission, the read scope, the request budget, the program, and an API
 * client answered for its own connections only.
 */
export const EXPORT_API_GATE = {
  permission: 'exports.download',
  scope: 'data_exports.read',
  rateLimit: true,
  program: 'required',
  clientFeed: true,
} as const;

/**
 * What a request may read, as lib/auth/with-auth.ts resolved it: the program, and an API client's
 * own connections (null for every other caller).
 */
export type FeedScope = { programId: number; clientFeeds: readonly FeedConnection[] | null };

/** The API connections of the program the caller reads: an API client's own, else all of them. */
export async function reachableFeeds(db: Db, scope: FeedScope): Promise<readonly FeedConnection[]> {
  return scope.clientFeeds ?? listApiConnections(db, scope.programId);
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
export async function resolveFeed(db: Db, scope: FeedScope, requested: string | undefined): Promise<FeedConnection | null> {
  const feeds = await reachableFeeds(db, scope);
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
