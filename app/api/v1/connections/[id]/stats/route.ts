// GET /api/v1/connections/{id}/stats – rows, bytes and lag (finish − window end) per incremental run of the last N days
import { listRunStats } from '@/db/queries/runs';
import { now } from '@/lib/clock';
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/http/with-auth';
import { connectionOf } from '@/lib/management/lookups';
import type { StatPoint } from '@/lib/management/responses';
import { statsQuery } from '@/lib/management/schemas';

export const GET = withAuth(
  async (req, { db, params, program }) => {
    const { days } = parseQuery(req, statsQuery);
    const connection = await connectionOf(db, program, params);
    const since = new Date(now().getTime() - days * 86_400_000);
    const stats = await listRunStats(db, { programId: program, connectionId: connection.id, since });
    return Response.json({
      data: stats.map((s): StatPoint => ({
        window_start: s.windowStart.toISOString(),
        window_end: s.windowEnd.toISOString(),
        rows: s.rows,
        bytes: s.bytes,
        lag_seconds: Math.max(0, Math.round((s.finishedAt.getTime() - s.windowEnd.getTime()) / 1000)),
      })),
    });
  },
  { permission: 'connections.read', scope: 'data_exports.read', program: 'required' },
);
