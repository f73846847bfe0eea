// GET /api/v1/connections/{id}/runs – the event history: a connection's runs newest window first, with files, delivery attempts and whether Retry is offered
import { listRuns } from '@/db/queries/runs';
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';
import { pageOf } from '@/lib/http/page';
import { runCursor } from '@/lib/management/cursors';
import { connectionOf } from '@/lib/management/lookups';
import { listRunsQuery } from '@/lib/management/schemas';
import { runsJson } from '@/lib/management/views';

export const GET = withAuth(
  async (req, { db, params, program }) => {
    const q = parseQuery(req, listRunsQuery);
    const connection = await connectionOf(db, program, params);
    const runs = await listRuns(db, {
      programId: program,
      connectionId: connection.id,
      statuses: q.status,
      fileType: q.file_type,
      exportType: q.export_type,
      from: q.from,
      to: q.to,
      afterId: q.cursor ? runCursor.decode(q.cursor) : undefined,
      limit: q.limit + 1,
    });
    const page = pageOf(runs, q.limit, runCursor, (r) => r.id);
    const data = await runsJson(db, program, page.rows, new Map([[connection.id, connection]]));
    return Response.json({ data, has_more: page.has_more, next_cursor: page.next_cursor });
  },
  { permission: 'connections.read', scope: 'data_exports.read', program: 'required' },
);
