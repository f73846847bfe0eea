// Historical data requests of a connection, as the connection's detail page lists them. Every
// query names the program.
import { and, desc, eq } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { historicalRequests, type HistoricalRequest } from '@/db/schema';

/** A connection's historical data requests, newest first. */
export async function listHistoricalRequests(db: DbOrTx, p: { programId: number; connectionId: string }): Promise<HistoricalRequest[]> {
  return db
    .select()
    .from(historicalRequests)
    .where(and(eq(historicalRequests.programId, p.programId), eq(historicalRequests.connectionId, p.connectionId)))
    .orderBy(desc(historicalRequests.createdAt), desc(historicalRequests.id));
}
