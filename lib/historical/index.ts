// Historical data requests: a one-off backfill of up to 24 months before the request, split into
// calendar-month chunks that run as export runs of type "historical" and are delivered like any
// run. Progress (chunks done / total, rows so far) is kept on the request for the UI.
import { z } from 'zod';
import type { Database } from '@/db/client';
import { recordAudit } from '@/db/queries/audit';
import { findConnection } from '@/db/queries/connections';
import {
  countRowsPerWindow,
  insertHistoricalRequest,
  lockHistoricalRequest,
  markHistoricalRequestCancelled,
  markHistoricalRequestRunning,
} from '@/db/queries/historical';
import { cancelRequestRuns, planHistoricalRuns } from '@/db/queries/run-ledger';
import type { HistoricalRequest } from '@/db/schema';
import type { Actor } from '@/lib/auth/actor';
import { now } from '@/lib/clock';
import { windowRowCountSql } from '@/lib/exports/sql';
import { AppError } from '@/lib/http/errors';
import { monthlyChunks } from '@/lib/windows';
import { rangeEndOf, rangeStartOf } from '@/lib/windows/days';
import { isRangeError, resolveHistoricalRange } from './range';

export { earliestHistoryStart, MAX_HISTORY_MONTHS } from './range';

const dayOrInstant = z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
  error: 'must be a date (YYYY-MM-DD) or an ISO 8601 date-time',
});

export const createHistoricalRequestSchema = z
  .object({
    from: dayOrInstant.transform(rangeStartOf).describe('The first day exported (from its 00:00 UTC), or an exact instant.'),
    to: dayOrInstant
      .transform(rangeEndOf)
      .optional()
      .describe(
        'The last day exported, included whole (up to the next day’s 00:00 UTC), or an exact instant (not included); at the latest yesterday. Without it: up to the connection’s start date (where its scheduled exports begin), or up to today’s 00:00 UTC when the connection starts later.',
      ),
  })
  .strict();
export type CreateHistoricalRequestInput = z.infer<typeof createHistoricalRequestSchema>;

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
  const range = resolveHistoricalRange(input, { at: now(), connectionStart: connection.startDate });
  if (isRangeError(range)) {
    throw new AppError('validation_failed', range.message, { fields: [{ path: range.field, message: range.message }] });
  }
  const { chunks, end: to } = range;
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
    // What each month holds now: the request's progress is weighted by it until the month is exported.
    const expected = chunks.length ? await countRowsPerWindow(tx, windowRowCountSql(request.programId, chunks)) : new Map<number, number>();
    const planned = await planHistoricalRuns(
      tx,
      requestId,
      chunks.map((c, i) => ({
        connectionId: request.connectionId,
        programId: request.programId,
        windowStart: c.start,
        windowEnd: c.end,
        rowsExpected: expected.get(i) ?? null,
      })),
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
