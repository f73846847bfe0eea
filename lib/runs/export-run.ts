// Executes the export step of a run: claim it from the ledger (planned → generating), generate its
// files once into storage, and move it on: SFTP → generated (then delivered), API → available,
// no rows → empty. Safe under at-least-once job delivery: only one worker can claim a run, and a
// run handed back (pause immediately, shutdown, crash) returns to "planned".
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Database } from '@/db/client';
import {
  cancelRunExport,
  claimRunForExport,
  failRunExport,
  finishRunExport,
  handBackRunExport,
  recordExportProgress,
} from '@/db/queries/run-ledger';
import { generateRun, isExportAborted, runKeyPrefix, RunBusyError } from '@/lib/exports';
import { getStorage } from '@/lib/storage';
import type { ExportProgress } from '@/lib/exports';
import { recordAudit } from '@/db/queries/audit';
import { env } from '@/lib/env';
import { childLogger } from '@/lib/logger';
import { onRunFailed, onRunFinished } from '@/lib/notify';
import { observeExport, startTimer } from '@/lib/metrics';
import { throttledProgress } from './progress';
import { watchRun } from './watch';

export type ExportRunOutcome =
  | { status: 'generated' | 'available' | 'empty'; runId: string; rows: number; files: number }
  | { status: 'skipped'; runId: string; why: string }
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

  const watch = watchRun(
    database,
    { id: run.id, connectionId: run.connectionId, historicalRequestId: run.historicalRequestId },
    { outer: opts.signal, pollMs: opts.watchPollMs },
  );
  try {
    await removeTemporaries(run.programId, run.id);
    // The rows written so far, for the event history (about once a second).
    const progress = throttledProgress((rowsWritten: number) => recordExportProgress(db, run.id, { attempt: run.attempt, rowsWritten }));
    const result = await generateRun(database, run.id, {
      signal: watch.signal,
      onProgress: (p) => {
        progress.report(p.runRows);
        opts.onProgress?.(p);
      },
    }).finally(progress.stop);
    const status = result.empty ? 'empty' : run.kind === 'api' ? 'available' : 'generated';
    const finished = await finishRunExport(db, run.id, status);
    if (!finished.ok) log.warn({ refusal: finished }, 'export step done, but the run had moved on');
    log.info({ status, rows: result.rowsTotal, files: result.filesCount }, 'export step done');
    if (status !== 'generated') await onRunFinished(database, run.id);
    observeExport(elapsed, status, result);
    return { status, runId, rows: result.rowsTotal, files: result.filesCount };
  } catch (err) {
    if (isExportAborted(err) || watch.signal.aborted) {
      const why = watch.reason();
      const back = why === 'cancelled' ? await cancelRunExport(db, run.id) : await handBackRunExport(db, run.id);
      log.info({ why, handedBack: back.ok }, 'export step aborted; run handed back');
      return { status: why === 'cancelled' ? 'cancelled' : 'requeued', runId, why };
    }
    if (err instanceof RunBusyError) {
      // Another worker holds the run's lock (a duplicate job): it will finish the run.
      return { status: 'skipped', runId, why: 'another worker is generating it' };
    }
    const message = (err as Error).message ?? String(err);
    // The ledger counts the attempts (DDE_EXPORT_MAX_ATTEMPTS); the queue only carries the retry, and
    // a planned run whose job is gone is sent again by the planner's tick.
    const last = run.attempt >= env().exportMaxAttempts;
    await failRunExport(db, run.id, { message, final: last });
    log.error({ err: message, attempt: run.attempt }, last ? 'export failed for good' : 'export failed; will retry');
    if (last) await onRunFailed(database, run.id);
    observeExport(elapsed, last ? 'failed' : 'retry');
    if (last) return { status: 'failed', runId, error: message };
    throw err;
  } finally {
    await watch.finish();
  }
}

/** A worker killed mid-export leaves temporary objects (never final names); the next attempt clears them. */
async function removeTemporaries(programId: number, runId: string): Promise<void> {
  const storage = getStorage();
  const keys = await storage.list(runKeyPrefix(programId, runId)).catch(() => [] as string[]);
  await Promise.all(keys.filter((k) => (k.split('/').pop() ?? '').startsWith('.')).map((k) => storage.delete(k).catch(() => undefined)));
  // A put cut short by the kill leaves the local backend's partial file, which list() does not show.
  const dir = storage.localPath(runKeyPrefix(programId, runId).replace(/\/$/, ''));
  const hidden = dir ? (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith('.')) : [];
  await Promise.all(hidden.map((n) => rm(path.join(dir!, n), { force: true }).catch(() => undefined)));
}
