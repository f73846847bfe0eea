// GET /api/v1/runs/{id} – one run of the event history, with its files, delivery attempts and whether Retry is offered
import { findConnection } from '@/db/queries/connections';
import { findRun } from '@/db/queries/runs';
import { AppError } from '@/lib/http/errors';
import { withAuth } from '@/lib/auth/with-auth';
import { pathId } from '@/lib/management/lookups';
import { runsJson } from '@/lib/management/views';

export const GET = withAuth(
  async (_req, { db, params, program }) => {
    const run = await findRun(db, { programId: program, id: pathId(params, 'Run') });
    if (!run) throw new AppError('not_found', 'Run not found.');
    const connection = await findConnection(db, { programId: program, id: run.connectionId, includeDeleted: true });
    const [data] = await runsJson(db, program, [run], new Map(connection ? [[connection.id, connection]] : []));
    return Response.json({ data });
  },
  { permission: 'connections.read', scope: 'data_exports.read', program: 'required' },
);
