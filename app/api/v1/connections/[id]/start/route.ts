// POST /api/v1/connections/{id}/start – start a stopped connection again (409 unless stopped)
import { startConnection } from '@/lib/connections/lifecycle';
import { withAuth } from '@/lib/auth/with-auth';
import { pathId } from '@/lib/management/lookups';
import { oneConnectionJson } from '@/lib/management/views';
import { tryEnqueue } from '@/lib/queues';

export const POST = withAuth(
  async (_req, { actor, db, database, params, program }) => {
    const updated = await startConnection(database, actor, program, pathId(params, 'Connection'));
    await tryEnqueue(database, 'plan-windows', { reason: 'start', connectionId: updated.id });
    return Response.json({ data: await oneConnectionJson(db, updated) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);
