// POST /api/v1/historical-requests/{id}/cancel – cancel a historical data request; months not yet started are dropped (409 once finished)
import { cancelHistoricalRequest } from '@/lib/historical';
import { withAuth } from '@/lib/auth/with-auth';
import { pathId } from '@/lib/management/lookups';
import { historicalRequestJson } from '@/lib/management/views';

export const POST = withAuth(
  async (_req, { actor, database, params, program }) => {
    const cancelled = await cancelHistoricalRequest(database, actor, program, pathId(params, 'Historical data request'));
    return Response.json({ data: historicalRequestJson(cancelled) });
  },
  { permission: 'historical.write', scope: 'data_exports.manage', program: 'required' },
);
