// POST /api/v1/connections/{id}/credentials – replace a stopped SFTP connection's password or private key, after the connection test passes with it
import { replaceCredentials } from '@/lib/connections/credentials';
import { replaceCredentialsSchema } from '@/lib/connections/schemas';
import { sftpSetupCheck } from '@/lib/connections/sftp-check';
import { parseJson } from '@/lib/http/parse';
import { enforceExpensiveLimit } from '@/lib/http/rate-limit';
import { withAuth } from '@/lib/auth/with-auth';
import { pathId } from '@/lib/management/lookups';
import { oneConnectionJson } from '@/lib/management/views';

export const POST = withAuth(
  async (req, { actor, db, database, params, program }) => {
    const id = pathId(params, 'Connection');
    const input = await parseJson(req, replaceCredentialsSchema);
    const test = sftpSetupCheck(undefined, { coarse: actor.kind === 'token' });
    const updated = await replaceCredentials(database, actor, program, id, input, async (destination) => {
      // The test connects to the server, like "Test connection", and spends the same budget (only when it runs).
      await enforceExpensiveLimit('connection_test', actor);
      await test(destination);
    });
    return Response.json({ data: await oneConnectionJson(db, updated) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);
