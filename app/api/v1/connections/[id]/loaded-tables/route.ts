// GET /api/v1/connections/{id}/loaded-tables – a database connection's loads per table, read from the customer's _dde_loads
import { now } from '@/lib/clock';
import { withAuth } from '@/lib/auth/with-auth';
import { connectionOf } from '@/lib/management/lookups';
import { loadedTablesOf } from '@/lib/management/loaded-tables';

export const GET = withAuth(
  async (_req, { db, params, program }) => {
    const connection = await connectionOf(db, program, params);
    const read = await loadedTablesOf(connection);
    return Response.json({ ...read, read_at: now().toISOString() });
  },
  { permission: 'connections.read', scope: 'data_exports.read', program: 'required' },
);
