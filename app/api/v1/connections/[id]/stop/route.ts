// POST /api/v1/connections/{id}/stop – stop a connection so that it can be edited (409 when already stopped)
import { stopConnection } from '@/lib/connections/lifecycle';
import { withAuth } from '@/lib/auth/with-auth';
import { pathId } from '@/lib/management/lookups';
import { oneConnectionJson } from '@/lib/management/views';

export const POST = withAuth(
  async (_req, { actor, db, database, params, program }) => {
    const updated = await stopConnection(database, actor, program, pathId(params, 'Connection'));
    return Response.json({ data: await oneConnectionJson(db, updated) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);
