// plan-windows (cron, every minute): plan closed windows into the ledger, recover runs of dead
// workers, and (re)send jobs for every due run.
import { env } from '@/lib/env';
import { now } from '@/lib/clock';
import { dueRuns, recoverStaleRuns } from '@/lib/runs/recovery';
import { planWindows } from '@/lib/scheduling/planner';
import { planHistoricalRequest } from '@/lib/historical';
import { enqueueDeliveries, enqueueExports, type QueueContext } from './context';

export const queue = 'plan-windows';
export const cron = '* * * * *';

export async function handle(ctx: QueueContext): Promise<void> {
  const started = Date.now();
  const planned = await planWindows(ctx.database, { now: now(), settleMs: env().settleMinutes * 60_000 });
  await enqueueExports(ctx.boss, planned.newRunIds);
  // Historical requests submitted in the web start here (the web also nudges a tick when one is submitted).
  const pending = await ctx.database.sql<{ id: string }[]>`select id from historical_requests where status = 'pending' order by created_at limit 50`;
  for (const r of pending) await enqueueExports(ctx.boss, await planHistoricalRequest(ctx.database, r.id));
  const recovered = await recoverStaleRuns(ctx.database, env().runStaleSeconds);
  const due = await dueRuns(ctx.database);
  const exportIds = [...new Set([...recovered.export, ...due.export])].filter((id) => !planned.newRunIds.includes(id));
  const deliveryIds = [...new Set([...recovered.delivery, ...due.delivery])];
  await enqueueExports(ctx.boss, exportIds, { dedupe: true });
  await enqueueDeliveries(ctx.boss, deliveryIds, { dedupe: true });
  if (planned.runsPlanned || exportIds.length || deliveryIds.length || recovered.export.length || recovered.delivery.length) {
    ctx.log.info(
      { planned: planned.runsPlanned, ended: planned.ended, resent: exportIds.length + deliveryIds.length, recovered: recovered.export.length + recovered.delivery.length, ms: Date.now() - started },
      'planner tick',
    );
  }
}
