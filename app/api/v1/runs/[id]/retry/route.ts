// POST /api/v1/runs/{id}/retry – retry a failed run: deliver its files again, or export again (410 once its files expired, 409 unless failed)
import { retryRun } from '@/lib/runs/retry';
import { withAuth } from '@/lib/auth/with-auth';
import { pathId } from '@/lib/management/lookups';
import { nudgeWorker } from '@/jobs/nudge';

export const POST = withAuth(
  async (_req, { actor, database, params, program }) => {
    const runId = pathId(params, 'Run');
    const { next } = await retryRun(database, actor, program, runId);
    await nudgeWorker(database, { reason: 'retry', runId });
    return Response.json({ data: { next } });
  },
  { permission: 'deliveries.retry', scope: 'data_exports.manage', program: 'required' },
);
