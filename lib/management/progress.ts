// The live progress of a run as the management API shows it: rows written while it is exported,
// bytes uploaded of the total while it is delivered, and the time left at the attempt's average
// rate. Read from what the worker wrote through the run ledger (about once a second).
import type { Delivery, ExportRun } from '@/db/schema';
import type { RunProgress } from './responses';

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
