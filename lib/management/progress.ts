// The live progress of a run as the management API shows it: rows written while it is exported,
// bytes uploaded of the total while it is delivered, and the time left at the attempt's average
// rate. Read from what the worker wrote through the run ledger (about once a second).
import type { Delivery, ExportRun, HistoricalRequest as HistoricalRequestRow } from '@/db/schema';
import type { HistoricalProgress, RunProgress } from './responses';

const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * Seconds left for `done` of `total` bytes at the average rate between `startedAt` and
 * `updatedAt`, counted from `updatedAt`; null when no rate is known yet.
 */
export function etaSeconds(p: { done: number; total: number | null; startedAt: Date; updatedAt: Date | null }): number | null {
  if (p.total === null || p.updatedAt === null || p.done <= 0) return null;
  if (p.done >= p.total) return 0;
  const elapsed = (p.updatedAt.getTime() - p.startedAt.getTime()) / 1000;
  if (elapsed <= 0) return null;
  return Math.ceil((p.total - p.done) / (p.done / elapsed));
}

/** The progress of a run in flight (generating, delivering), or null; `attempts` are its delivery attempts. */
export function runProgressOf(run: ExportRun, attempts: Delivery[]): RunProgress | null {
  if (run.status === 'generating') {
    return {
      step: 'export',
      rows_written: run.rowsWritten,
      bytes_done: null,
      bytes_total: null,
      started_at: null,
      updated_at: isoOrNull(run.progressAt),
      eta_seconds: null,
    };
  }
  if (run.status !== 'delivering') return null;
  const running = attempts.findLast((d) => d.status === 'running');
  if (!running) return null;
  return {
    step: 'delivery',
    rows_written: run.rowsTotal,
    bytes_done: running.bytesDone,
    bytes_total: running.bytesTotal,
    started_at: running.startedAt.toISOString(),
    updated_at: isoOrNull(running.progressAt),
    eta_seconds: etaSeconds({
      done: running.bytesDone,
      total: running.bytesTotal,
      startedAt: running.startedAt,
      updatedAt: running.progressAt,
    }),
  };
}

const FINISHED = new Set<ExportRun['status']>(['delivered', 'available', 'empty', 'failed', 'cancelled']);

/** Seconds to do `left` units at the rate `done` units took `elapsedMs`; 0 when nothing is left, null when no rate is known. */
function secondsFor(left: number, done: number, elapsedMs: number | null): number | null {
  if (left <= 0) return 0;
  if (done <= 0 || elapsedMs === null || elapsedMs <= 0) return null;
  return left / (done / (elapsedMs / 1000));
}

/**
 * How far a historical request has got, weighted by the work of its months rather than their number:
 * each month weighs one unit (planning, an empty manifest) plus its rows for the export and, where
 * DDE delivers (`pushes`), its rows once more for the upload. A month not exported yet weighs the rows
 * its window held when it was planned (rows_expected); once exported, its actual rows. The export's
 * share is the rows written; the upload's, the bytes acknowledged of the attempt's total. So 22 empty
 * months done of 24 are a few percent while the two months with data are still being exported.
 *
 * The time left is the export still to do at the export's rate so far (since the first month
 * started) plus the upload still to do at the upload's rate so far (since the first upload of a month
 * with rows began: its attempt's start, or its export's end for a month already delivered), counted from the latest report; every stamp is the database's. Null while a step
 * that still has work has no rate yet (no bytes acknowledged): an export's speed says nothing of a
 * slow network. `attempts`: the delivery attempts of the request's delivering months.
 */
export function historicalProgressOf(
  request: Pick<HistoricalRequestRow, 'status'>,
  runs: ExportRun[],
  attempts: Delivery[],
  pushes: boolean,
): HistoricalProgress {
  const work = { export: 0, exported: 0, upload: 0, uploaded: 0 };
  let rowsExported = 0;
  let rowsExpected = 0;
  let bytesUploaded = 0;
  let bytesToUpload = 0;
  let firstStart: number | null = null;
  let firstUpload: number | null = null;
  let latest: number | null = null;
  const min = (a: number | null, d: Date | null) => (d === null ? a : a === null ? d.getTime() : Math.min(a, d.getTime()));
  const seen = (d: Date | null) => {
    if (d) latest = latest === null ? d.getTime() : Math.max(latest, d.getTime());
  };
  for (const run of runs) {
    const finished = FINISHED.has(run.status);
    const exported = run.status !== 'planned' && run.status !== 'generating';
    const rows = exported ? run.rowsTotal : Math.max(run.rowsExpected ?? 0, run.rowsWritten);
    const written = exported ? run.rowsTotal : run.status === 'generating' ? Math.min(run.rowsWritten, rows) : 0;
    work.export += 1 + rows;
    work.exported += exported ? 1 + rows : written;
    if (pushes) {
      work.upload += rows;
      if (exported) bytesToUpload += run.bytesTotal;
      if (finished) {
        if (rows > 0) firstUpload = min(firstUpload, run.generatedAt);
        work.uploaded += rows;
        if (run.status === 'delivered') bytesUploaded += run.bytesTotal;
      } else if (run.status === 'delivering') {
        const attempt = attempts.findLast((d) => d.runId === run.id && d.status === 'running');
        if (attempt) firstUpload = min(firstUpload, attempt.startedAt);
        if (attempt?.bytesTotal) {
          const share = Math.min(1, attempt.bytesDone / attempt.bytesTotal);
          work.uploaded += rows * share;
          bytesUploaded += Math.round(run.bytesTotal * share);
          seen(attempt.progressAt);
        }
      }
    }
    rowsExported += written;
    rowsExpected += rows;
    firstStart = min(firstStart, run.startedAt);
    for (const d of [run.startedAt, run.progressAt, run.generatedAt, run.finishedAt]) seen(d);
  }
  const total = work.export + work.upload;
  const done = work.exported + work.uploaded;
  const open = request.status === 'pending' || request.status === 'running';
  const fraction = request.status === 'completed' ? 1 : total > 0 ? done / total : 0;
  let eta: number | null = null;
  if (open && latest !== null) {
    const since = (first: number | null) => (first === null ? null : latest! - first);
    const exporting = secondsFor(work.export - work.exported, work.exported, since(firstStart));
    const uploading = secondsFor(work.upload - work.uploaded, work.uploaded, since(firstUpload));
    if (exporting !== null && uploading !== null && done > 0) eta = Math.ceil(exporting + uploading);
  }
  return {
    percent: Math.min(100, Math.floor(fraction * 100)),
    rows_exported: rowsExported,
    rows_expected: rowsExpected,
    bytes_uploaded: pushes ? bytesUploaded : null,
    bytes_to_upload: pushes ? bytesToUpload : null,
    eta_seconds: eta,
  };
}
