// GET /api/v1/connections/{id}/historical-requests – a connection's historical data requests (with the months in flight and the progress weighted by rows and bytes); POST – request up to 24 months of history
import { listHistoricalRequests } from '@/db/queries/historical';
import { kindPushes } from '@/db/schema';
import { createHistoricalRequest, createHistoricalRequestSchema } from '@/lib/historical';
import { parseJson } from '@/lib/http/parse';
import { enforceExpensiveLimit } from '@/lib/http/rate-limit';
import { withAuth } from '@/lib/auth/with-auth';
import { connectionOf, pathId } from '@/lib/management/lookups';
import { historicalRequestJson, historicalRequestsJson } from '@/lib/management/views';
import { tryEnqueue } from '@/lib/queues';

export const GET = withAuth(
  async (_req, { db, params, program }) => {
    const connection = await connectionOf(db, program, params);
    const list = await listHistoricalRequests(db, { programId: program, connectionId: connection.id });
    return Response.json({ data: await historicalRequestsJson(db, program, list, kindPushes(connection.kind)) });
  },
  { permission: 'connections.read', scope: 'data_exports.read', program: 'required' },
);

export const POST = withAuth(
  async (req, { actor, database, params, program }) => {
    const input = await parseJson(req, createHistoricalRequestSchema);
    await enforceExpensiveLimit('historical_request', actor);
    const request = await createHistoricalRequest(database, actor, program, pathId(params, 'Connection'), input);
    await tryEnqueue(database, 'plan-windows', { reason: 'historical request', historicalRequestId: request.id });
    return Response.json({ data: historicalRequestJson(request) }, { status: 201 });
  },
  { permission: 'historical.write', scope: 'data_exports.manage', program: 'required' },
);
