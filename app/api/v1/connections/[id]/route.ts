// GET /api/v1/connections/{id} – one connection; PATCH – edit a stopped one (frequency, start date, contacts, name); DELETE – delete it, keeping its history
import { deleteConnection, editConnection } from '@/lib/connections/lifecycle';
import { editConnectionSchema } from '@/lib/connections/schemas';
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';
import { connectionOf, pathId } from '@/lib/management/lookups';
import { oneConnectionJson } from '@/lib/management/views';

export const GET = withAuth(
  async (_req, { db, params, program }) => {
    const connection = await connectionOf(db, program, params);
    return Response.json({ data: await oneConnectionJson(db, connection) });
  },
  { permission: 'connections.read', scope: 'data_exports.read', program: 'required' },
);

export const PATCH = withAuth(
  async (req, { actor, db, database, params, program }) => {
    const input = await parseJson(req, editConnectionSchema);
    const current = await connectionOf(db, program, params);
    // Forms send the whole schedule back: an unchanged start date is not a change (nor checked for age again).
    if (input.start_date && input.start_date.getTime() === current.startDate.getTime()) delete input.start_date;
    const updated = await editConnection(database, actor, program, current.id, input);
    return Response.json({ data: await oneConnectionJson(db, updated) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);

export const DELETE = withAuth(
  async (_req, { actor, db, database, params, program }) => {
    const deleted = await deleteConnection(database, actor, program, pathId(params, 'Connection'));
    return Response.json({ data: await oneConnectionJson(db, deleted) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);
