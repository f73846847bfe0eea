// Executes the export step of a run: claim it from the ledger (planned → generating), generate its
// files once into storage, and move it on: SFTP → generated (then delivered), API → available,
// no rows → empty. Safe under at-least-once job delivery: only one worker can claim a run, and a
// run handed back (pause immediately, shutdown, crash) returns to "planned".
// Fenced: the claim answers the attempt's token (the run's claim counter); every later transition
// of the attempt passes it, its files go to a folder of its own, and its publish is refused once the
// run was recovered and claimed again while this worker was stopped. Such a worker stops quietly
// (an info line naming the run's new claim), spends no attempt and removes only its own files.
import type { Database } from '@/db/client';
import { cancelRunExport, claimRunForExport, failRunExport, handBackRunExport, recordExportProgress } from '@/db/queries/run-ledger';
import { ClaimLostError, generateRun, isExportAborted, RunBusyError } from '@/lib/exports';
import { getStorage } from '@/lib/storage';
import { freezePoint } from '@/lib/freeze-point';
import type { ExportProgress } from '@/lib/exports';
import { recordAudit } from '@/db/queries/audit';
import { findRunClaim } from '@/db/queries/runs';
import { env } from '@/lib/env';
import { childLogger } from '@/lib/logger';
import { onRunFailed, onRunFinished } from '@/lib/notify';
import { observeExport, startTimer } from '@/lib/metrics';
import { sweepAttemptObjects } from './attempt-objects';
import { throttledProgress } from './progress';
import { watchRun } from './watch';

export type ExportRunOutcome =
  | { status: 'generated' | 'available' | 'empty'; runId: string; rows: number; files: number }
  | { status: 'skipped'; runId: string; why: string }
  /** The run was recovered and claimed again while this attempt worked (the worker was stopped): its new owner finishes it. */
  | { status: 'superseded'; runId: string; claim: number; ownerClaim: number | null }
  /** A transaction that may still commit rows into the window is open: try again in a few seconds. */
  | { status: 'waiting'; runId: string; waitedSeconds: number }
  | { status: 'requeued' | 'cancelled'; runId: string; why: string }
  | { status: 'failed'; runId: string; error: string };

export async function executeExportRun(
  database: Database,
  runId: string,
  opts: { signal?: AbortSignal; onProgress?: (p: ExportProgress) => void; watchPollMs?: number } = {},
): Promise<ExportRunOutcome> {
  const { db } = database;
  const log = childLogger({ module: 'runs', runId });
  const elapsed = startTimer();
  const maxWaitSeconds = env().openTransactionWaitSeconds;
  const claim = await claimRunForExport(db, runId, { maxWaitSeconds });
  if (!claim.ok && claim.reason === 'waiting') {
    if (claim.waitedSeconds >= 60) {
      log.warn(
        { waitedSeconds: Math.round(claim.waitedSeconds) },
        'export waits for an open transaction that may still commit rows into its window',
      );
    }
    return { status: 'waiting', runId, waitedSeconds: claim.waitedSeconds };
  }
  if (!claim.ok) return { status: 'skipped', runId, why: 'not planned, or its connection is not active' };
  const { run } = claim;
  freezePoint('export:claimed');
  if (claim.waitedPastBound) {
    log.warn({ maxWaitSeconds }, 'export goes ahead although a transaction older than its window is still open');
    await recordAudit(db, {
      programId: run.programId,
      actorId: null,
      actorLabel: 'DDE',
      action: 'run.open_transaction_wait_exceeded',
      targetType: 'export_run',
      targetId: run.id,
      details: {
        connection_id: run.connectionId,
        waited_seconds: maxWaitSeconds,
        message: `A database transaction that started before this window closed was still open after ${Math.round(maxWaitSeconds / 60)} minutes; the window was exported without waiting longer. Rows that transaction commits later into this window are not in its files.`,
      },
    });
  }

  const storage = getStorage();
  const attempts = { programId: run.programId, runId: run.id };
  /** The attempt lost its claim: no failure, no attempt spent; its own files go, the owner's stay. */
  const superseded = async (ownerClaim: number | null): Promise<ExportRunOutcome> => {
    await sweepAttemptObjects(database, storage, attempts, { only: run.claim });
    const now = await findRunClaim(database.sql, run.id);
    log.info(
      { claim: run.claim, ownerClaim: now ? now.claim : ownerClaim, ownerAttempt: now?.attempt, status: now?.status },
      'export attempt stopped: the run was claimed again by another worker while this one was stopped; nothing of this attempt was published',
    );
    return { status: 'superseded', runId, claim: run.claim, ownerClaim: now ? now.claim : ownerClaim };
  };
  /** The run's claim now, when it is no longer this attempt's (else null). */
  const claimMovedTo = async (): Promise<number | null> => {
    const now = await findRunClaim(database.sql, run.id);
    return now && now.claim !== run.claim ? now.claim : null;
  };

  const watch = watchRun(
    database,
    { id: run.id, connectionId: run.connectionId, historicalRequestId: run.historicalRequestId, claim: run.claim },
    { outer: opts.signal, pollMs: opts.watchPollMs },
  );
  try {
    // Leftovers of earlier attempts (a worker killed mid-export) that no record points at.
    await sweepAttemptObjects(database, storage, attempts, { below: run.claim });
    // The rows written so far, for the event history (about once a second).
    const progress = throttledProgress((rowsWritten: number) =>
      recordExportProgress(db, run.id, { attempt: run.attempt, rowsWritten, claim: run.claim }),
    );
    const result = await generateRun(database, run.id, {
      signal: watch.signal,
      publish: { claim: run.claim, kind: run.kind },
      onProgress: (p) => {
        if (p.runRows > 0) freezePoint('export:copy');
        progress.report(p.runRows);
        opts.onProgress?.(p);
      },
    }).finally(progress.stop);
    const status = result.publishedAs!;
    log.info({ status, rows: result.rowsTotal, files: result.filesCount, claim: run.claim }, 'export step done');
    // Published: what earlier attempts left behind goes (never what a record points at).
    await sweepAttemptObjects(database, storage, attempts, { below: run.claim });
    if (status !== 'generated') await onRunFinished(database, run.id);
    observeExport(elapsed, status, result);
    return { status, runId, rows: result.rowsTotal, files: result.filesCount };
  } catch (err) {
    if (err instanceof ClaimLostError) return await superseded(err.currentClaim);
    if (watch.reason() === 'superseded') return await superseded(watch.ownerClaim());
    if (isExportAborted(err) || watch.signal.aborted) {
      const why = watch.reason();
      const back = why === 'cancelled' ? await cancelRunExport(db, run.id, run.claim) : await handBackRunExport(db, run.id, run.claim);
      if (!back.ok && back.reason === 'claim_lost') return await superseded(back.claim);
      if (back.ok)
        log.info({ why, to: back.to }, why === 'cancelled' ? 'export step aborted; run cancelled' : 'export step aborted; run handed back');
      else log.info({ why, refusal: back }, 'export step aborted; the run had already moved on');
      return { status: why === 'cancelled' ? 'cancelled' : 'requeued', runId, why };
    }
    if (err instanceof RunBusyError) {
      // Another worker holds the run's lock (a duplicate job): it will finish the run.
      return { status: 'skipped', runId, why: 'another worker is generating it' };
    }
    // An error of a worker whose claim moved on (its files removed by the new owner) is not the run's.
    const movedTo = await claimMovedTo().catch(() => null);
    if (movedTo !== null) return await superseded(movedTo);
    const message = (err as Error).message ?? String(err);
    // The ledger counts the attempts (DDE_EXPORT_MAX_ATTEMPTS); the export-run queue retries exactly
    // that often (lib/queues/definitions.ts), and a planned run whose job is gone is sent again by the planner's tick.
    const last = run.attempt >= env().exportMaxAttempts;
    const failed = await failRunExport(db, run.id, { message, final: last, claim: run.claim });
    if (!failed.ok && failed.reason === 'claim_lost') return await superseded(failed.claim);
    await sweepAttemptObjects(database, storage, attempts, { only: run.claim });
    log.error({ err: message, attempt: run.attempt }, last ? 'export failed for good' : 'export failed; will retry');
    if (last) await onRunFailed(database, run.id);
    observeExport(elapsed, last ? 'failed' : 'retry');
    if (last) return { status: 'failed', runId, error: message };
    throw err;
  } finally {
    await watch.finish();
  }
}
