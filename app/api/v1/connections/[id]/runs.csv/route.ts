// GET /api/v1/connections/{id}/runs.csv – the connection's event history with the page's filters, as a streamed CSV download
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';
import { runsCsv } from '@/lib/management/csv';
import { connectionOf } from '@/lib/management/lookups';
import { runsCsvQuery } from '@/lib/management/schemas';

export const dynamic = 'force-dynamic';

export const GET = withAuth(
  async (req, { db, params, program, log }) => {
    const q = parseQuery(req, runsCsvQuery);
    const connection = await connectionOf(db, program, params);
    return runsCsv(db, program, connection, q, log);
  },
  { permission: 'connections.read', scope: 'data_exports.read', program: 'required' },
);
