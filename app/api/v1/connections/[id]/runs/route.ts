// GET /api/v1/connections/{id}/runs – the event history: a connection's runs newest window first, with files, delivery attempts and whether Retry is offered
import { listRuns } from '@/db/queries/runs';
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/http/with-auth';
import { connectionOf, programOf } from '@/lib/management/program';
import { decodeCursor, pageOf, listRunsQuery } from '@/lib/management/schemas';
import { runsJson } from '@/lib/management/views';

export const GET = withAuth<{ id: string }>(
  async (req, { actor, db, params }) => {
    const q = parseQuery(req, listRunsQuery);
    const programId = await programOf(req, actor, db);
    const connection = await connectionOf(db, programId, params.id);
    const runs = await listRuns(db, {
      programId,
      connectionId: connection.id,
      statuses: q.status,
      fileType: q.file_type,
      exportType: q.export_type,
      from: q.from,
      to: q.to,
      afterId: q.cursor ? decodeCursor('run', q.cursor) : undefined,
      limit: q.limit + 1,
    });
    const { page, next } = pageOf(runs, q.limit, 'run');
    return Response.json({ data: await runsJson(db, programId, page, new Map([[connection.id, connection]])), next_cursor: next });
  },
  { permission: 'connections.read', scope: 'data_exports.read' },
);
