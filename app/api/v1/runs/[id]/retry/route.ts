// POST /api/v1/runs/{id}/retry – retry a failed run: deliver its files again, or export again (410 once its files expired, 409 unless failed)
import { retryRun } from '@/lib/runs/retry';
import { withAuth } from '@/lib/http/with-auth';
import { idParam, programOf } from '@/lib/management/program';
import { nudgeWorker } from '@/jobs/nudge';

export const POST = withAuth<{ id: string }>(
  async (req, { actor, db, database, params }) => {
    const programId = await programOf(req, actor, db);
    const runId = idParam(params.id, 'Run');
    const { next } = await retryRun(database, actor, programId, runId);
    await nudgeWorker(database, { reason: 'retry', runId });
    return Response.json({ data: { next } });
  },
  { permission: 'deliveries.retry', scope: 'data_exports.manage' },
);
