// plan-windows. The cron's tick (every minute, and once when a worker starts): plan closed windows
// into the ledger, start pending historical requests, recover runs of dead workers (their jobs sent
// again at once) and re-send due runs whose job was lost. An admin's action asks for less: one
// connection (resume, start, a new connection: plan it and send its due runs now, even those
// touched seconds ago) or one historical request (plan its months and send their exports).
import { listPendingHistoricalRequestIds } from '@/db/queries/historical';
import { env } from '@/lib/env';
import { now } from '@/lib/clock';
import { planHistoricalRequest } from '@/lib/historical';
import { enqueueRuns, type QueueData } from '@/lib/queues';
import { dueRuns, recoverStaleRuns } from '@/lib/runs/recovery';
import { planWindows } from '@/lib/scheduling/planner';
import type { QueueContext } from './context';

export const queue = 'plan-windows';

export async function handle(ctx: QueueContext, ask: QueueData<'plan-windows'>): Promise<void> {
  if (ask.historicalRequestId) return planRequest(ctx, ask.historicalRequestId, ask.reason);
  if (ask.connectionId) return planConnection(ctx, ask.connectionId, ask.reason);
  return tick(ctx, ask.reason);
}

async function tick(ctx: QueueContext, reason: string | undefined): Promise<void> {
  const { database } = ctx;
  const started = Date.now();
  const planned = await planWindows(database, { now: now(), settleMs: env().settleMinutes * 60_000 });
  await enqueueRuns(database, 'export-run', planned.newRunIds);
  // Historical requests not started yet (the web asks for each one as it is submitted; this is the backstop).
  const pending = await listPendingHistoricalRequestIds(database.db, { limit: 50 });
  for (const id of pending) await enqueueRuns(database, 'export-run', await planHistoricalRequest(database, id));
  // A recovered run gets its job again now, whatever was sent for it before.
  const recovered = await recoverStaleRuns(database, env().runStaleSeconds);
  await enqueueRuns(database, 'export-run', recovered.export);
  await enqueueRuns(database, 'deliver-run', recovered.delivery);
  // Due runs idle for a while whose job was lost (or never sent): sent again unless one is still waiting.
  const due = await dueRuns(database);
  const sent = new Set([...planned.newRunIds, ...recovered.export, ...recovered.delivery]);
  const resend = { export: due.export.filter((id) => !sent.has(id)), delivery: due.delivery.filter((id) => !sent.has(id)) };
  await enqueueRuns(database, 'export-run', resend.export, { unlessQueued: true });
  await enqueueRuns(database, 'deliver-run', resend.delivery, { unlessQueued: true });
  const recoveredCount = recovered.export.length + recovered.delivery.length;
  if (planned.runsPlanned || resend.export.length || resend.delivery.length || recoveredCount) {
    ctx.log.info(
      {
        reason,
        planned: planned.runsPlanned,
        ended: planned.ended,
        resent: resend.export.length + resend.delivery.length,
        recovered: recoveredCount,
        ms: Date.now() - started,
      },
      'planner tick',
    );
  }
}

async function planConnection(ctx: QueueContext, connectionId: string, reason: string | undefined): Promise<void> {
  const { database } = ctx;
  const planned = await planWindows(database, { now: now(), settleMs: env().settleMinutes * 60_000, connectionId });
  // Claims are atomic, so a run that also has a job queued is still exported or delivered once.
  const due = await dueRuns(database, { idleSeconds: 0, connectionId });
  const exports = [...new Set([...planned.newRunIds, ...due.export])];
  await enqueueRuns(database, 'export-run', exports);
  await enqueueRuns(database, 'deliver-run', due.delivery);
  ctx.log.info(
    { reason, connectionId, planned: planned.runsPlanned, exports: exports.length, deliveries: due.delivery.length },
    'connection planned',
  );
}

async function planRequest(ctx: QueueContext, requestId: string, reason: string | undefined): Promise<void> {
  const runIds = await planHistoricalRequest(ctx.database, requestId);
  await enqueueRuns(ctx.database, 'export-run', runIds);
  ctx.log.info({ reason, historicalRequestId: requestId, exports: runIds.length }, 'historical request planned');
}
