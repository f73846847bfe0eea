// The planner: writes every closed window of every active connection into the export_runs ledger.
// The ledger is unique on (connection, export type, window start) and inserts are insert-or-ignore,
// so any number of planners (workers, machines) produce one run per window. Catch-up comes from the
// ledger cursor (connections.planned_through), not from cron, so windows missed while the worker
// was down or the connection paused are planned on the next tick.
// One query per batch of connections, not per connection (PERFORMANCE.md: 10,000 connections ≤ 10 s).
import { sql as sqlText } from 'drizzle-orm';
import type { Database } from '@/db/client';
import { planIncrementalRuns, type PlannedWindow } from '@/db/queries/run-ledger';
import type { Frequency } from '@/db/schema';
import { windowsEndingIn } from '@/lib/windows';

export type PlanOptions = {
  now: Date;
  /** A window is planned once it has been closed this long (late-arriving rows settle). */
  settleMs: number;
  batchSize?: number;
  /** Per connection per tick; the rest follows on the next tick. */
  maxWindowsPerConnection?: number;
};

export type PlanResult = { connections: number; runsPlanned: number; newRunIds: string[]; ended: number };

type Row = {
  id: string;
  program_id: number;
  frequency: Frequency;
  start_date: string;
  end_date: string | null;
  planned_through: string | null;
};

export async function planWindows(database: Database, o: PlanOptions): Promise<PlanResult> {
  const { sql } = database;
  const batchSize = o.batchSize ?? 1000;
  const perConnection = o.maxWindowsPerConnection ?? 500;
  const until = new Date(o.now.getTime() - o.settleMs);
  const result: PlanResult = { connections: 0, runsPlanned: 0, newRunIds: [], ended: 0 };
  let afterId = '00000000-0000-0000-0000-000000000000';

  for (;;) {
    const batch = await sql<Row[]>`
      select id, program_id, frequency, start_date, end_date, planned_through
      from connections
      where status = 'active' and deleted_at is null and id > ${afterId}
        and start_date < ${until.toISOString()}::timestamptz
        and (planned_through is null or planned_through < least(${until.toISOString()}::timestamptz, coalesce(end_date, 'infinity')))
      order by id
      limit ${batchSize}`;
    if (batch.length === 0) break;
    afterId = batch[batch.length - 1].id;
    result.connections += batch.length;

    const runs: PlannedWindow[] = [];
    const cursors: { id: string; through: Date }[] = [];
    for (const c of batch) {
      const startDate = new Date(c.start_date);
      const through = c.planned_through ? new Date(c.planned_through) : null;
      // After an edit (frequency or start date), planning continues from where it stopped, so
      // windows stay contiguous and never overlap what was already exported.
      const effectiveStart = through && through > startDate ? through : startDate;
      const windows = windowsEndingIn(
        { frequency: c.frequency, startDate: effectiveStart, endDate: c.end_date ? new Date(c.end_date) : null },
        null,
        until,
        perConnection,
      );
      if (windows.length === 0) continue;
      for (const w of windows) runs.push({ connectionId: c.id, programId: c.program_id, windowStart: w.start, windowEnd: w.end });
      cursors.push({ id: c.id, through: windows[windows.length - 1].end });
    }
    if (runs.length === 0) continue;

    await database.db.transaction(async (tx) => {
      const inserted = await planIncrementalRuns(tx, runs);
      result.newRunIds.push(...inserted);
      result.runsPlanned += inserted.length;
      // The cursor only moves forward, whichever planner gets here first.
      const ended = await tx.execute<{ id: string; status: string }>(sqlText`
        update connections c set
          planned_through = greatest(c.planned_through, v.through),
          status = case when c.end_date is not null and greatest(c.planned_through, v.through) >= c.end_date and c.status = 'active' then 'ended' else c.status end,
          updated_at = now()
        from json_to_recordset(${JSON.stringify(cursors)}::json) as v(id uuid, through timestamptz)
        where c.id = v.id
        returning c.id, c.status`);
      result.ended += [...ended].filter((e) => e.status === 'ended').length;
    });
  }
  return result;
}
