// GET /api/v1/connections – list a program's connections; POST – create one (SFTP after its set-up test passes, or API)
import { z } from 'zod';
import { listConnections } from '@/db/queries/connections';
import { createConnection, viewConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { sftpSetupCheck } from '@/lib/connections/sftp-check';
import { validationError } from '@/lib/http/errors';
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/http/with-auth';
import { programOf } from '@/lib/management/program';
import { connectionJson, connectionsJson } from '@/lib/management/views';
import { nudgeWorker } from '@/jobs/nudge';

export const GET = withAuth(
  async (req, { actor, db }) => {
    const programId = await programOf(req, actor, db);
    const list = await listConnections(db, { programId });
    return Response.json({ data: await connectionsJson(db, programId, list) });
  },
  { permission: 'connections.read', scope: 'data_exports.read' },
);

// program_id in the body is still accepted (the first clients sent it); ?program= is the rule.
const bodySchema = z.looseObject({
  program_id: z.number({ error: 'program_id must be a program id (a number).' }).int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});

export const POST = withAuth(
  async (req, { actor, db, database }) => {
    const { program_id: bodyProgramId, ...fields } = await parseJson(req, bodySchema);
    const parsed = createConnectionSchema.safeParse(fields);
    if (!parsed.success) throw validationError(parsed.error, 'request body');
    const programId = await programOf(req, actor, db, bodyProgramId);
    const connection = await createConnection(
      database,
      actor,
      programId,
      parsed.data,
      parsed.data.kind === 'sftp' ? sftpSetupCheck(undefined, { coarse: actor.kind === 'token' }) : undefined,
    );
    await nudgeWorker(database, { reason: 'connection created', connectionId: connection.id }, { notify: true });
    // `connection` (camelCase) is the answer's first shape, kept for the clients that read it.
    // A connection made a moment ago has no last delivery yet.
    return Response.json({ data: connectionJson(connection, undefined), connection: viewConnection(connection) }, { status: 201 });
  },
  { permission: 'connections.write', scope: 'data_exports.manage' },
);
