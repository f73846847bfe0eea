// POST /api/v1/runs/{id}/retry – retry a failed run: deliver its files again, or export again (410 once its files expired, 409 unless failed)
import { retryRun } from '@/lib/runs/retry';
import { withAuth } from '@/lib/auth/with-auth';
import { pathId } from '@/lib/management/lookups';
import { tryEnqueue } from '@/lib/queues';

export const POST = withAuth(
  async (_req, { actor, database, params, program }) => {
    const runId = pathId(params, 'Run');
    const { next } = await retryRun(database, actor, program, runId);
    // Exactly the step the run needs next, now (the every-minute sweep sends it should this job be lost).
    if (next === 'deliver') await tryEnqueue(database, 'deliver-run', { runId, trigger: 'manual' });
    else await tryEnqueue(database, 'export-run', { runId });
    return Response.json({ data: { next } });
  },
  { permission: 'deliveries.retry', scope: 'data_exports.manage', program: 'required' },
);
