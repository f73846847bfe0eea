// POST /api/v1/connections/{id}/start – start a stopped connection again (409 unless stopped)
import { startConnection } from '@/lib/connections/lifecycle';
import { withAuth } from '@/lib/http/with-auth';
import { idParam, programOf } from '@/lib/management/program';
import { oneConnectionJson } from '@/lib/management/views';
import { nudgeWorker } from '@/jobs/nudge';

export const POST = withAuth<{ id: string }>(
  async (req, { actor, db, database, params }) => {
    const programId = await programOf(req, actor, db);
    const updated = await startConnection(database, actor, programId, idParam(params.id, 'Connection'));
    await nudgeWorker(database, { reason: 'start', connectionId: updated.id });
    return Response.json({ data: await oneConnectionJson(db, updated) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage' },
);
