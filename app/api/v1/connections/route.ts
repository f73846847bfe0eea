// GET /api/v1/connections – list a program's connections; POST – create one (SFTP after its set-up test passes, or API)
import { listConnections } from '@/db/queries/connections';
import { createConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { sftpSetupCheck } from '@/lib/connections/sftp-check';
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';
import { connectionJson, connectionsJson } from '@/lib/management/views';
import { tryEnqueue } from '@/lib/queues';

export const GET = withAuth(
  async (_req, { db, program }) => {
    const list = await listConnections(db, { programId: program });
    return Response.json({ data: await connectionsJson(db, program, list) });
  },
  { permission: 'connections.read', scope: 'data_exports.read', program: 'required' },
);

export const POST = withAuth(
  async (req, { actor, database, program }) => {
    const input = await parseJson(req, createConnectionSchema);
    const connection = await createConnection(
      database,
      actor,
      program,
      input,
      input.kind === 'sftp' ? sftpSetupCheck(undefined, { coarse: actor.kind === 'token', budget: actor }) : undefined,
    );
    await tryEnqueue(database, 'plan-windows', { reason: 'connection created', connectionId: connection.id });
    await tryEnqueue(database, 'notify', { reason: 'connection created' }); // its "connection active" email
    // A connection made a moment ago has no last delivery yet.
    return Response.json({ data: connectionJson(connection, undefined) }, { status: 201 });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);
