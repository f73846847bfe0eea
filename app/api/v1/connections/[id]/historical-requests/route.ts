// GET /api/v1/connections/{id}/historical-requests – a connection's historical data requests; POST – request up to 24 months of history
import { listHistoricalRequests } from '@/db/queries/historical';
import { createHistoricalRequest, createHistoricalRequestSchema } from '@/lib/historical';
import { parseJson } from '@/lib/http/parse';
import { enforceExpensiveLimit } from '@/lib/http/rate-limit';
import { withAuth } from '@/lib/http/with-auth';
import { connectionOf, idParam, programOf } from '@/lib/management/program';
import { historicalRequestJson } from '@/lib/management/views';
import { nudgeWorker } from '@/jobs/nudge';

export const GET = withAuth<{ id: string }>(
  async (req, { actor, db, params }) => {
    const programId = await programOf(req, actor, db);
    const connection = await connectionOf(db, programId, params.id);
    const list = await listHistoricalRequests(db, { programId, connectionId: connection.id });
    return Response.json({ data: list.map(historicalRequestJson) });
  },
  { permission: 'connections.read', scope: 'data_exports.read' },
);

export const POST = withAuth<{ id: string }>(
  async (req, { actor, db, database, params }) => {
    const input = await parseJson(req, createHistoricalRequestSchema);
    await enforceExpensiveLimit('historical_request', actor);
    const programId = await programOf(req, actor, db);
    const request = await createHistoricalRequest(database, actor, programId, idParam(params.id, 'Connection'), input);
    await nudgeWorker(database, { reason: 'historical request' });
    return Response.json({ data: historicalRequestJson(request) }, { status: 201 });
  },
  { permission: 'historical.write', scope: 'data_exports.manage' },
);
