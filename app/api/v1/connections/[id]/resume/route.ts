// POST /api/v1/connections/{id}/resume – resume a paused connection; missed windows are exported after (409 unless paused)
import { resumeConnection } from '@/lib/connections/lifecycle';
import { withAuth } from '@/lib/auth/with-auth';
import { pathId } from '@/lib/management/lookups';
import { oneConnectionJson } from '@/lib/management/views';
import { tryEnqueue } from '@/lib/queues';

export const POST = withAuth(
  async (_req, { actor, db, database, params, program }) => {
    const updated = await resumeConnection(database, actor, program, pathId(params, 'Connection'));
    await tryEnqueue(database, 'plan-windows', { reason: 'resume', connectionId: updated.id });
    return Response.json({ data: await oneConnectionJson(db, updated) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);
