// POST /api/v1/connections/{id}/resume – resume a paused connection; missed windows are exported after (409 unless paused)
import { resumeConnection } from '@/lib/connections/lifecycle';
import { withAuth } from '@/lib/http/with-auth';
import { idParam, programOf } from '@/lib/management/program';
import { oneConnectionJson } from '@/lib/management/views';
import { nudgeWorker } from '@/jobs/nudge';

export const POST = withAuth<{ id: string }>(
  async (req, { actor, db, database, params }) => {
    const programId = await programOf(req, actor, db);
    const updated = await resumeConnection(database, actor, programId, idParam(params.id, 'Connection'));
    await nudgeWorker(database, { reason: 'resume', connectionId: updated.id });
    return Response.json({ data: await oneConnectionJson(db, updated) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage' },
);
