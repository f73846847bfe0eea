// GET /api/v1/connections/{id}/stats – rows, bytes and lag (finish − window end) per finished incremental run of the last N days, failed and empty ones included
import { listRunStats } from '@/db/queries/runs';
import { now } from '@/lib/clock';
import { env } from '@/lib/env';
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';
import { connectionOf } from '@/lib/management/lookups';
import { LAG_TARGET_SECONDS, type Stats } from '@/lib/management/responses';
import { statsQuery } from '@/lib/management/schemas';
import { isCatchUp } from '@/lib/scheduling/next-delivery';

export const GET = withAuth(
  async (req, { db, params, program }) => {
    const { days } = parseQuery(req, statsQuery);
    const connection = await connectionOf(db, program, params);
    const to = now();
    const since = new Date(to.getTime() - days * 86_400_000);
    const stats = await listRunStats(db, { programId: program, connectionId: connection.id, since });
    const body: Stats = {
      data: stats.map((s) => ({
        window_start: s.windowStart.toISOString(),
        window_end: s.windowEnd.toISOString(),
        status: s.status,
        rows: s.rows,
        bytes: s.bytes,
        // A failed window was never delivered: it has no lag (not a lag of 0).
        lag_seconds: s.status === 'failed' ? null : Math.max(0, Math.round((s.finishedAt.getTime() - s.windowEnd.getTime()) / 1000)),
        finished_at: s.finishedAt.toISOString(),
        catch_up: isCatchUp(s.windowEnd, s.plannedAt, env().settleMinutes * 60_000),
      })),
      range: { from: since.toISOString(), to: to.toISOString() },
      lag_target_seconds: LAG_TARGET_SECONDS,
    };
    return Response.json(body);
  },
  { permission: 'connections.read', scope: 'data_exports.read', program: 'required' },
);
