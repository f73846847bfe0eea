// POST /api/v1/connections/{id}/pause – pause after the current transfer or immediately (409 unless active or pausing)
import { pauseConnection } from '@/lib/connections/lifecycle';
import { pauseConnectionSchema } from '@/lib/connections/schemas';
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';
import { pathId } from '@/lib/management/lookups';
import { oneConnectionJson } from '@/lib/management/views';
import { onConnectionPaused } from '@/lib/notify';

export const POST = withAuth(
  async (req, { actor, db, database, params, program }) => {
    const { mode } = await parseJson(req, pauseConnectionSchema);
    const updated = await pauseConnection(database, actor, program, pathId(params, 'Connection'), mode);
    await onConnectionPaused(database, updated, { pausedBy: actor.label, reason: `Paused by ${actor.label} (${mode.replace('_', ' ')}).` });
    return Response.json({ data: await oneConnectionJson(db, updated) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);
