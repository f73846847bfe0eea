// Manual retry of a failed run from the event history: allowed while its files exist (7 days by
// default); afterwards it is refused with the date the files expired. Retrying a failed chunk of a
// historical request reopens the request, which completes once every chunk has been delivered.
import type { Database } from '@/db/client';
import { recordAudit } from '@/db/queries/audit';
import { reopenHistoricalRequest } from '@/db/queries/historical';
import { retryFailedRun } from '@/db/queries/run-ledger';
import { listRunFiles, lockRun } from '@/db/queries/runs';
import type { ExportFile, ExportRun } from '@/db/schema';
import type { Actor } from '@/lib/auth/actor';
import { now } from '@/lib/clock';
import { AppError } from '@/lib/http/errors';

/**
 * The file whose expiry keeps a generated run from being retried (its files would be delivered
 * again), or undefined. A run without files is exported again, so nothing blocks it.
 */
export function expiredFileOf(run: Pick<ExportRun, 'generatedAt'>, files: ExportFile[], at: Date): ExportFile | undefined {
  if (run.generatedAt === null || files.length === 0) return undefined;
  return files.find((f) => f.expired || f.expiresAt.getTime() <= at.getTime());
}

/** Puts a failed run back: generated (to deliver again) or planned (its export failed). Returns the next step. */
export async function retryRun(
  database: Database,
  actor: Actor,
  programId: number,
  runId: string,
): Promise<{ next: 'deliver' | 'export' }> {
  return database.db.transaction(async (tx) => {
    const run = await lockRun(tx, { programId, id: runId });
    if (!run) throw new AppError('not_found', 'Run not found.');
    if (run.status !== 'failed') throw new AppError('conflict', `Only a failed run can be retried; this one is ${run.status}.`);
    const files = await listRunFiles(tx, run);
    const generated = run.generatedAt !== null && files.length > 0;
    const expired = expiredFileOf(run, files, now());
    if (expired) {
      throw new AppError(
        'gone',
        `The files of this run expired on ${expired.expiresAt.toISOString().slice(0, 10)}; it can no longer be retried. Submit a historical data request for that period instead.`,
      );
    }
    const next = generated ? 'deliver' : 'export';
    const moved = await retryFailedRun(tx, runId, generated ? 'generated' : 'planned');
    if (!moved.ok) throw new AppError('conflict', 'This run changed while it was being retried; reload and try again.');
    if (run.historicalRequestId) await reopenHistoricalRequest(tx, run.historicalRequestId);
    await recordAudit(tx, {
      programId,
      actorId: actor.accountId,
      actorLabel: actor.label,
      action: 'delivery.retried',
      targetType: 'export_run',
      targetId: runId,
      details: {
        connection_id: run.connectionId,
        previous_error: run.errorCode ? { code: run.errorCode, message: run.errorMessage } : null,
        next,
      },
    });
    return { next };
  });
}
