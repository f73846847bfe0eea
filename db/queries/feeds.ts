// Feeds: the API connections of a program, and which of them each API client reads
// (api_client_connections). SFTP connections are in no feed; deleted connections neither.
import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { apiClientConnections, connections, type Connection } from '@/db/schema';

export type FeedConnection = Pick<Connection, 'id' | 'programId' | 'name' | 'frequency' | 'startDate' | 'endDate' | 'status' | 'createdAt'>;

const feedColumns = {
  id: connections.id,
  programId: connections.programId,
  name: connections.name,
  frequency: connections.frequency,
  startDate: connections.startDate,
  endDate: connections.endDate,
  status: connections.status,
  createdAt: connections.createdAt,
};

/** The API connections of a program (not deleted), oldest first. */
export async function listApiConnections(db: DbOrTx, programId: number): Promise<FeedConnection[]> {
  return db
    .select(feedColumns)
    .from(connections)
    .where(and(eq(connections.programId, programId), eq(connections.kind, 'api'), isNull(connections.deletedAt)))
    .orderBy(asc(connections.createdAt), asc(connections.id));
}

/** The API connections (not deleted) an API client reads, oldest first. */
export async function listClientFeedConnections(db: DbOrTx, params: { clientId: string; programId: number }): Promise<FeedConnection[]> {
  return db
    .select(feedColumns)
    .from(apiClientConnections)
    .innerJoin(connections, eq(connections.id, apiClientConnections.connectionId))
    .where(
      and(
        eq(apiClientConnections.clientId, params.clientId),
        eq(connections.programId, params.programId),
        eq(connections.kind, 'api'),
        isNull(connections.deletedAt),
      ),
    )
    .orderBy(asc(connections.createdAt), asc(connections.id));
}

/** The connection ids each of these clients reads (every client id is a key). */
export async function clientConnectionIds(db: DbOrTx, clientIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(clientIds.map((id) => [id, []]));
  if (clientIds.length === 0) return out;
  const rows = await db
    .select({ clientId: apiClientConnections.clientId, connectionId: apiClientConnections.connectionId })
    .from(apiClientConnections)
    .where(inArray(apiClientConnections.clientId, clientIds))
    .orderBy(asc(apiClientConnections.createdAt), asc(apiClientConnections.connectionId));
  for (const r of rows) out.get(r.clientId)?.push(r.connectionId);
  return out;
}

export async function insertClientConnections(db: DbOrTx, params: { clientId: string; connectionIds: string[] }): Promise<void> {
  if (params.connectionIds.length === 0) return;
  await db
    .insert(apiClientConnections)
    .values(params.connectionIds.map((connectionId) => ({ clientId: params.clientId, connectionId })))
    .onConflictDoNothing();
}
