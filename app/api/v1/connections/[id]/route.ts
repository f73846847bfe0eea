// GET /api/v1/connections/{id} – one connection; PATCH – edit a stopped one (frequency, start date, contacts, name); DELETE – delete it, keeping its history
import { deleteConnection, editConnection } from '@/lib/connections/lifecycle';
import { editConnectionSchema } from '@/lib/connections/schemas';
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/http/with-auth';
import { connectionOf, idParam, programOf } from '@/lib/management/program';
import { oneConnectionJson } from '@/lib/management/views';

type Params = { id: string };

export const GET = withAuth<Params>(
  async (req, { actor, db, params }) => {
    const programId = await programOf(req, actor, db);
    const connection = await connectionOf(db, programId, params.id);
    return Response.json({ data: await oneConnectionJson(db, connection) });
  },
  { permission: 'connections.read', scope: 'data_exports.read' },
);

export const PATCH = withAuth<Params>(
  async (req, { actor, db, database, params }) => {
    const input = await parseJson(req, editConnectionSchema);
    const programId = await programOf(req, actor, db);
    const current = await connectionOf(db, programId, params.id);
    // Forms send the whole schedule back: an unchanged start date is not a change (nor checked for age again).
    if (input.start_date && input.start_date.getTime() === current.startDate.getTime()) delete input.start_date;
    const updated = await editConnection(database, actor, programId, current.id, input);
    return Response.json({ data: await oneConnectionJson(db, updated) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage' },
);

export const DELETE = withAuth<Params>(
  async (req, { actor, db, database, params }) => {
    const programId = await programOf(req, actor, db);
    const deleted = await deleteConnection(database, actor, programId, idParam(params.id, 'Connection'));
    return Response.json({ data: await oneConnectionJson(db, deleted) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage' },
);
