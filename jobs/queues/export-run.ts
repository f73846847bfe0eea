// export-run: generate a run's files; SFTP runs continue to deliver-run.
import { executeExportRun } from '@/lib/runs/export-run';
import { enqueue, enqueueRuns, type QueueData } from '@/lib/queues';
import type { QueueContext } from './context';

export const queue = 'export-run';

export async function handle(ctx: QueueContext, payload: QueueData<'export-run'>): Promise<void> {
  const outcome = await executeExportRun(ctx.database, payload.runId, { signal: ctx.shutdown });
  if (outcome.status === 'generated') await enqueueRuns(ctx.database, 'deliver-run', [outcome.runId]);
  // Held back by an open transaction: look again shortly (sooner at first, then every 15 s).
  if (outcome.status === 'waiting')
    await enqueue(ctx.database, 'export-run', { runId: outcome.runId }, { afterSeconds: outcome.waitedSeconds < 60 ? 3 : 15 });
  // Handed back because this worker is stopping: another worker takes it over now, not at a later sweep.
  if (outcome.status === 'requeued' && outcome.why === 'shutdown') await enqueue(ctx.database, 'export-run', { runId: outcome.runId });
}
