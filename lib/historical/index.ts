// Historical data requests: a one-off backfill of up to 24 months before the request, split into
// calendar-month chunks that run as export runs of type "historical" and are delivered like any
// run. Progress (chunks done / total, rows so far) is kept on the request for the UI.
import { z } from 'zod';
import type { Database } from '@/db/client';
import { recordAudit } from '@/db/queries/audit';
import { findConnection } from '@/db/queries/connections';
import {
  insertHistoricalRequest,
  lockHistoricalRequest,
  markHistoricalRequestCancelled,
  markHistoricalRequestRunning,
} from '@/db/queries/historical';
import { cancelRequestRuns, planHistoricalRuns } from '@/db/queries/run-ledger';
import type { HistoricalRequest } from '@/db/schema';
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

/** Recomputes progress from the request's runs (db/queries/historical). */
export { refreshHistoricalProgress } from '@/db/queries/historical';

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
    const request = await insertHistoricalRequest(tx, {
      connectionId,
      programId,
      rangeStart: input.from,
      rangeEnd: to,
      chunksTotal: chunks.length,
      requestedBy: actor.accountId,
    });
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
    const request = await lockHistoricalRequest(tx, { id: requestId });
    // Only a pending request is planned, once: a second planner that read it as pending before the
    // first committed finds it running here and leaves its chunks (one may be exporting already) alone.
    if (!request || request.status !== 'pending') return [];
    const chunks = monthlyChunks(request.rangeStart, request.rangeEnd);
    const planned = await planHistoricalRuns(
      tx,
      requestId,
      chunks.map((c) => ({ connectionId: request.connectionId, programId: request.programId, windowStart: c.start, windowEnd: c.end })),
    );
    await markHistoricalRequestRunning(tx, requestId, chunks.length);
    return planned;
  });
}

/** Cancels a request: chunks not yet started are cancelled; running ones stop within seconds. */
export async function cancelHistoricalRequest(
  database: Database,
  actor: Actor,
  programId: number,
  requestId: string,
): Promise<HistoricalRequest> {
  return database.db.transaction(async (tx) => {
    const request = await lockHistoricalRequest(tx, { id: requestId, programId });
    if (!request) throw new AppError('not_found', 'Historical data request not found.');
    if (request.status === 'completed' || request.status === 'cancelled' || request.status === 'failed') {
      throw new AppError(
        'conflict',
        `This request has already ${request.status === 'completed' ? 'completed' : request.status === 'failed' ? 'finished (with failures)' : 'been cancelled'}.`,
      );
    }
    await cancelRequestRuns(tx, requestId);
    const updated = await markHistoricalRequestCancelled(tx, requestId);
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
