// plan-windows (cron, every minute, and when the web nudges it after an admin action): plan closed
// windows into the ledger, recover runs of dead workers, and (re)send jobs for every due run. A
// nudge naming a connection or run (resume, start, retry) sends that one's due runs at once, even
// when they were touched seconds ago.
import { env } from '@/lib/env';
import { now } from '@/lib/clock';
import { dueRuns, recoverStaleRuns } from '@/lib/runs/recovery';
import { planWindows } from '@/lib/scheduling/planner';
import { planHistoricalRequest } from '@/lib/historical';
import { z } from 'zod';
import { enqueueDeliveries, enqueueExports, type QueueContext } from './context';

export const queue = 'plan-windows';
export const cron = '* * * * *';

/** A nudge from the web (jobs/nudge.ts); the cron's own ticks carry nothing. */
export const payloadSchema = z.object({ reason: z.string().optional(), connectionId: z.uuid().optional(), runId: z.uuid().optional() });

export async function handle(ctx: QueueContext, nudge: z.output<typeof payloadSchema>): Promise<void> {
  const started = Date.now();
  const planned = await planWindows(ctx.database, { now: now(), settleMs: env().settleMinutes * 60_000 });
  await enqueueExports(ctx.boss, planned.newRunIds);
  // Historical requests submitted in the web start here (the web also nudges a tick when one is submitted).
  const pending = await ctx.database.sql<
    { id: string }[]
  >`select id from historical_requests where status = 'pending' order by created_at limit 50`;
  for (const r of pending) await enqueueExports(ctx.boss, await planHistoricalRequest(ctx.database, r.id));
  const recovered = await recoverStaleRuns(ctx.database, env().runStaleSeconds);
  const due = await dueRuns(ctx.database);
  const justPlanned = new Set(planned.newRunIds);
  const exportIds = [...new Set([...recovered.export, ...due.export])].filter((id) => !justPlanned.has(id));
  const deliveryIds = [...new Set([...recovered.delivery, ...due.delivery])];
  await enqueueExports(ctx.boss, exportIds, { dedupe: true });
  await enqueueDeliveries(ctx.boss, deliveryIds, { dedupe: true });
  let asked = 0;
  if (nudge.connectionId || nudge.runId) {
    // Claims are atomic, so a run that also has a job queued is still exported or delivered once.
    const runs = await dueRuns(ctx.database, { idleSeconds: 0, connectionId: nudge.connectionId, runId: nudge.runId });
    const sent = new Set([...justPlanned, ...exportIds, ...deliveryIds]);
    const exports = runs.export.filter((id) => !sent.has(id));
    const deliveries = runs.delivery.filter((id) => !sent.has(id));
    await enqueueExports(ctx.boss, exports);
    await enqueueDeliveries(ctx.boss, deliveries, { trigger: nudge.runId ? 'manual' : 'schedule' });
    asked = exports.length + deliveries.length;
  }
  if (asked || planned.runsPlanned || exportIds.length || deliveryIds.length || recovered.export.length || recovered.delivery.length) {
    ctx.log.info(
      {
        reason: nudge.reason,
        planned: planned.runsPlanned,
        ended: planned.ended,
        asked,
        resent: exportIds.length + deliveryIds.length,
        recovered: recovered.export.length + recovered.delivery.length,
        ms: Date.now() - started,
      },
      'planner tick',
    );
  }
}
