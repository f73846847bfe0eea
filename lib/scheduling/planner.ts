// The planner: writes every closed window of every active connection into the export_runs ledger.
// The ledger is unique on (connection, export type, window start) and inserts are insert-or-ignore,
// so any number of planners (workers, machines) produce one run per window. Catch-up comes from the
// ledger cursor (connections.planned_through), not from cron, so windows missed while the worker
// was down or the connection paused are planned on the next tick.
// One query per batch of connections, not per connection (docs/performance.md: one tick ≤ 10 s at 100,000 connections).
import type { Database } from '@/db/client';
import { advancePlanningCursors, listConnectionsToPlan } from '@/db/queries/connections';
import { planIncrementalRuns, type PlannedWindow } from '@/db/queries/run-ledger';
import { windowsEndingIn } from '@/lib/windows';
import { plannedSchedule } from './next-delivery';

export type PlanOptions = {
  now: Date;
  /** A window is planned once it has been closed this long (late-arriving rows settle). */
  settleMs: number;
  batchSize?: number;
  /** Batches written at once, each in its own transaction (default 2: the database works while the next batch is read and computed). */
  parallel?: number;
  /** Per connection per tick; the rest follows on the next tick. */
  maxWindowsPerConnection?: number;
  /** Plan this connection only (an admin's resume or start), not every connection. */
  connectionId?: string;
};

export type PlanResult = { connections: number; runsPlanned: number; newRunIds: string[]; ended: number };

export async function planWindows(database: Database, o: PlanOptions): Promise<PlanResult> {
  const { sql } = database;
  const batchSize = o.batchSize ?? 2000;
  const perConnection = o.maxWindowsPerConnection ?? 500;
  const until = new Date(o.now.getTime() - o.settleMs);
  const result: PlanResult = { connections: 0, runsPlanned: 0, newRunIds: [], ended: 0 };
  let afterId = '00000000-0000-0000-0000-000000000000';
  // Writes of consecutive batches overlap (they touch disjoint connections and windows); the
  // connection list is still read in one order, one query per batch.
  const parallel = Math.max(1, o.parallel ?? 2);
  const writing = new Set<Promise<void>>();
  let failed: unknown;

  for (;;) {
    if (failed) break;
    const batch = await listConnectionsToPlan(sql, { afterId, until, limit: batchSize, connectionId: o.connectionId });
    if (batch.length === 0) break;
    afterId = batch[batch.length - 1].id;
    result.connections += batch.length;

    const runs: PlannedWindow[] = [];
    const cursors: { id: string; through: Date }[] = [];
    /** The connections whose cursor reaches their end date now: they end (the writer's guard decides). */
    const ending: string[] = [];
    for (const c of batch) {
      // After an edit (frequency or start date), planning continues from where it stopped, so
      // windows stay contiguous and never overlap what was already exported (next-delivery.ts).
      const schedule = plannedSchedule({
        frequency: c.frequency,
        startDate: new Date(c.start_date),
        endDate: c.end_date ? new Date(c.end_date) : null,
        plannedThrough: c.planned_through ? new Date(c.planned_through) : null,
      });
      const windows = windowsEndingIn(schedule, null, until, perConnection);
      if (windows.length === 0) continue;
      for (const w of windows) runs.push({ connectionId: c.id, programId: c.program_id, windowStart: w.start, windowEnd: w.end });
      const last = windows[windows.length - 1].end;
      cursors.push({ id: c.id, through: last });
      if (c.end_date && last.getTime() >= new Date(c.end_date).getTime()) ending.push(c.id);
    }
    if (runs.length === 0) continue;

    const write: Promise<void> = database.db
      .transaction(async (tx) => {
        const inserted = await planIncrementalRuns(tx, runs);
        result.newRunIds.push(...inserted);
        result.runsPlanned += inserted.length;
        // The cursor only moves forward, whichever planner gets here first; a connection past its
        // end date ends, with its Activity Log entry.
        result.ended += (await advancePlanningCursors(tx, cursors, ending)).length;
      })
      .then(
        () => undefined,
        (err: unknown) => {
          failed ??= err;
        },
      )
      .finally(() => writing.delete(write));
    writing.add(write);
    if (writing.size >= parallel) await Promise.race(writing);
  }
  await Promise.all(writing);
  if (failed) throw failed;
  return result;
}
