// POST /api/v1/connections/{id}/stop – stop a connection so that it can be edited (409 when already stopped)
import { stopConnection } from '@/lib/connections/lifecycle';
import { withAuth } from '@/lib/http/with-auth';
import { idParam, programOf } from '@/lib/management/program';
import { oneConnectionJson } from '@/lib/management/views';

export const POST = withAuth<{ id: string }>(
  async (req, { actor, db, database, params }) => {
    const programId = await programOf(req, actor, db);
    const updated = await stopConnection(database, actor, programId, idParam(params.id, 'Connection'));
    return Response.json({ data: await oneConnectionJson(db, updated) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage' },
);
