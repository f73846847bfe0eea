// Historical data requests: a one-off backfill of up to 24 months before the request, split into
// calendar-month chunks that run as export runs of type "historical" and are delivered like any
// run. Progress (chunks done / total, rows so far) is kept on the request for the UI.
import { and, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database, DbOrTx } from '@/db/client';
import { recordAudit } from '@/db/queries/audit';
import { findConnection } from '@/db/queries/connections';
import { exportRuns, historicalRequests, type HistoricalRequest } from '@/db/schema';
import type { Actor } from '@/lib/auth/actor';
import { now } from '@/lib/clock';
import { AppError } from '@/lib/http/errors';
import { monthlyChunks } from '@/lib/windows';

export const MAX_HISTORY_MONTHS = 24;

const day = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })], { error: 'must be a date (YYYY-MM-DD) or an ISO 8601 date-time' })
  .transform((v) => new Date(v.length === 10 ? `${v}T00:00:00Z` : v));

export const createHistoricalRequestSchema = z
  .object({
    from: day,
    /** Defaults to the connection's start date, where its incremental exports begin. */
    to: day.optional(),
  })
  .strict();
export type CreateHistoricalRequestInput = z.infer<typeof createHistoricalRequestSchema>;

/** The earliest instant a request made at `at` may reach: the same day 24 months earlier (00:00 UTC). */
export function earliestHistoryStart(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - MAX_HISTORY_MONTHS, at.getUTCDate()));
}

/** Validates the range and records the request (pending); the worker splits it into chunks. */
export async function createHistoricalRequest(
  database: Database,
  actor: Actor,
  programId: number,
  connectionId: string,
  input: CreateHistoricalRequestInput,
): Promise<HistoricalRequest> {
  const connection = await findConnection(database.db, { programId, id: connectionId });
  if (!connection) throw new AppError('not_found', 'Connection not found.');
  const at = now();
  const to = input.to ?? connection.startDate;
  const earliest = earliestHistoryStart(at);
  const field = (path: string, message: string) => new AppError('validation_failed', message, { fields: [{ path, message }] });
  if (input.from.getTime() < earliest.getTime()) {
    throw field(
      'from',
      `Historical data requests reach back at most ${MAX_HISTORY_MONTHS} months: the earliest start is ${earliest.toISOString().slice(0, 10)}.`,
    );
  }
  if (to.getTime() > at.getTime()) throw field('to', 'The end of a historical data request cannot be in the future.');
  if (input.from.getTime() >= to.getTime()) {
    throw field(
      'from',
      `The start must be before the end (${to.toISOString().slice(0, 10)}${input.to ? '' : ', the connection’s start date'}).`,
    );
  }
  const chunks = monthlyChunks(input.from, to);
  return database.db.transaction(async (tx) => {
    const [request] = await tx
      .insert(historicalRequests)
      .values({ connectionId, programId, rangeStart: input.from, rangeEnd: to, chunksTotal: chunks.length, requestedBy: actor.accountId })
      .returning();
    await recordAudit(tx, {
      programId,
      actorId: actor.accountId,
      actorLabel: actor.label,
      action: 'historical_request.created',
      targetType: 'historical_request',
      targetId: request.id,
      after: { connection_id: connectionId, from: input.from.toISOString(), to: to.toISOString(), chunks: chunks.length },
    });
    return request;
  });
}

/**
 * Writes the request's monthly chunks into the ledger as historical runs (idempotent). A chunk that
 * an earlier request exported is exported again for this one, unless it is being worked on now.
 * Returns the ids of runs ready to export.
 */
export async function planHistoricalRequest(database: Database, requestId: string): Promise<string[]> {
  return database.db.transaction(async (tx) => {
    const [request] = await tx.select().from(historicalRequests).where(eq(historicalRequests.id, requestId)).for('update');
    if (!request || request.status === 'cancelled' || request.status === 'completed') return [];
    const chunks = monthlyChunks(request.rangeStart, request.rangeEnd);
    const rows = chunks.map((c) => ({
      connection_id: request.connectionId,
      program_id: request.programId,
      window_start: c.start.toISOString(),
      window_end: c.end.toISOString(),
    }));
    const planned = await tx.execute<{ id: string }>(sql`
      insert into export_runs (connection_id, program_id, export_type, window_start, window_end, historical_request_id)
      select connection_id, program_id, 'historical', window_start, window_end, ${requestId}::uuid
      from json_to_recordset(${JSON.stringify(rows)}::json)
        as r(connection_id uuid, program_id bigint, window_start timestamptz, window_end timestamptz)
      on conflict (connection_id, export_type, window_start) do update
        set historical_request_id = excluded.historical_request_id, window_end = excluded.window_end,
            status = 'planned', attempt = 0, error_code = null, error_message = null, updated_at = now()
        where export_runs.status not in ('generating', 'delivering') or export_runs.historical_request_id = excluded.historical_request_id
      returning id, status`);
    await tx
      .update(historicalRequests)
      .set({ status: 'running', chunksTotal: chunks.length, updatedAt: now() })
      .where(eq(historicalRequests.id, requestId));
    return (planned as unknown as { id: string; status: string }[]).filter((r) => r.status === 'planned').map((r) => r.id);
  });
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

/** Cancels a request: chunks not yet started are cancelled; running ones stop within seconds. */
export async function cancelHistoricalRequest(
  database: Database,
  actor: Actor,
  programId: number,
  requestId: string,
): Promise<HistoricalRequest> {
  return database.db.transaction(async (tx) => {
    const [request] = await tx
      .select()
      .from(historicalRequests)
      .where(and(eq(historicalRequests.programId, programId), eq(historicalRequests.id, requestId)))
      .for('update');
    if (!request) throw new AppError('not_found', 'Historical data request not found.');
    if (request.status === 'completed' || request.status === 'cancelled' || request.status === 'failed') {
      throw new AppError(
        'conflict',
        `This request has already ${request.status === 'completed' ? 'completed' : request.status === 'failed' ? 'finished (with failures)' : 'been cancelled'}.`,
      );
    }
    await tx
      .update(exportRuns)
      .set({ status: 'cancelled', updatedAt: now(), finishedAt: now() })
      .where(and(eq(exportRuns.historicalRequestId, requestId), inArray(exportRuns.status, ['planned', 'generated'])));
    const [updated] = await tx
      .update(historicalRequests)
      .set({ status: 'cancelled', updatedAt: now(), finishedAt: now() })
      .where(eq(historicalRequests.id, requestId))
      .returning();
    await recordAudit(tx, {
      programId,
      actorId: actor.accountId,
      actorLabel: actor.label,
      action: 'historical_request.cancelled',
      targetType: 'historical_request',
      targetId: requestId,
      details: { connection_id: request.connectionId },
    });
    return updated;
  });
}
