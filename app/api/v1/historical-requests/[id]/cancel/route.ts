// POST /api/v1/historical-requests/{id}/cancel – cancel a historical data request; months not yet started are dropped (409 once finished)
import { cancelHistoricalRequest } from '@/lib/historical';
import { withAuth } from '@/lib/http/with-auth';
import { idParam, programOf } from '@/lib/management/program';
import { historicalRequestJson } from '@/lib/management/views';

export const POST = withAuth<{ id: string }>(
  async (req, { actor, db, database, params }) => {
    const programId = await programOf(req, actor, db);
    const cancelled = await cancelHistoricalRequest(database, actor, programId, idParam(params.id, 'Historical data request'));
    return Response.json({ data: historicalRequestJson(cancelled) });
  },
  { permission: 'historical.write', scope: 'data_exports.manage' },
);
