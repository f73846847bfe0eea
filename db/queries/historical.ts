// Historical data requests: the list the connection's detail page shows, and every write of
// `historical_requests` (stamped with the database's clock, like the run ledger's). Every list
// names the program.
import { and, asc, desc, eq, sql } from 'drizzle-orm';
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

/** A new request, pending until the worker splits it into chunks. */
export async function insertHistoricalRequest(
  db: DbOrTx,
  v: { connectionId: string; programId: number; rangeStart: Date; rangeEnd: Date; chunksTotal: number; requestedBy: string | null },
): Promise<HistoricalRequest> {
  const [request] = await db.insert(historicalRequests).values(v).returning();
  return request;
}

/** The request, locked for the rest of the transaction (of the program, when given). */
export async function lockHistoricalRequest(db: DbOrTx, p: { id: string; programId?: number }): Promise<HistoricalRequest | undefined> {
  const [request] = await db
    .select()
    .from(historicalRequests)
    .where(and(eq(historicalRequests.id, p.id), p.programId === undefined ? undefined : eq(historicalRequests.programId, p.programId)))
    .for('update');
  return request;
}

/** Its chunks are in the ledger: the request is running. */
export async function markHistoricalRequestRunning(db: DbOrTx, requestId: string, chunksTotal: number): Promise<void> {
  await db
    .update(historicalRequests)
    .set({ status: 'running', chunksTotal, updatedAt: sql`now()` })
    .where(eq(historicalRequests.id, requestId));
}

/** A failed chunk was retried: a failed request runs again (and completes once every chunk is delivered). */
export async function reopenHistoricalRequest(db: DbOrTx, requestId: string): Promise<void> {
  await db
    .update(historicalRequests)
    .set({ status: 'running', error: null, finishedAt: null, updatedAt: sql`now()` })
    .where(and(eq(historicalRequests.id, requestId), eq(historicalRequests.status, 'failed')));
}

export async function markHistoricalRequestCancelled(db: DbOrTx, requestId: string): Promise<HistoricalRequest> {
  const [updated] = await db
    .update(historicalRequests)
    .set({ status: 'cancelled', updatedAt: sql`now()`, finishedAt: sql`now()` })
    .where(eq(historicalRequests.id, requestId))
    .returning();
  return updated;
}

/** Recomputes progress from the request's runs; completes the request when every chunk has finished. */
export async function refreshHistoricalProgress(db: DbOrTx, requestId: string): Promise<void> {
  await db.execute(sql`
    update historical_requests h set
      chunks_done = s.done,
      rows_exported = s.rows,
      status = case when h.status = 'running' and s.done >= h.chunks_total then (case when s.failed > 0 then 'failed' else 'completed' end) else h.status end,
      error = case when s.failed > 0 then s.failed || ' of ' || h.chunks_total || ' months failed; see the event history' else h.error end,
      finished_at = case when h.status = 'running' and s.done >= h.chunks_total then now() else h.finished_at end,
      updated_at = now()
    from (
      select count(*) filter (where status in ('delivered', 'available', 'empty', 'failed'))::int as done,
             count(*) filter (where status = 'failed')::int as failed,
             coalesce(sum(rows_total), 0)::bigint as rows
      from export_runs where historical_request_id = ${requestId}
    ) s
    where h.id = ${requestId}`);
}

/** Requests not started yet, oldest first (the tick's backstop; the web asks for each one as it is submitted). */
export async function listPendingHistoricalRequestIds(db: DbOrTx, p: { limit: number }): Promise<string[]> {
  const rows = await db
    .select({ id: historicalRequests.id })
    .from(historicalRequests)
    .where(eq(historicalRequests.status, 'pending'))
    .orderBy(asc(historicalRequests.createdAt))
    .limit(p.limit);
  return rows.map((r) => r.id);
}

/**
 * The rows each window holds in the source now, by the window's index: `statement` is the counting
 * SELECT of lib/exports/sql.ts (windowRowCountSql), which knows the export's tables and time columns
 * and answers `(i, rows)` per window.
 */
export async function countRowsPerWindow(db: DbOrTx, statement: string): Promise<Map<number, number>> {
  const counted = await db.execute<{ i: number; rows: string }>(sql.raw(statement));
  return new Map(Array.from(counted, (r) => [Number(r.i), Number(r.rows)]));
}
