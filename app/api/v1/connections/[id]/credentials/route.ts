// POST /api/v1/connections/{id}/credentials – replace a stopped connection's secret (SFTP password or private key, database password, S3 access key, Azure account key or SAS token), after the destination's test passes with it
import { replaceCredentials, rotationChecks } from '@/lib/connections/credentials';
import { replaceCredentialsSchema } from '@/lib/connections/schemas';
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';
import { pathId } from '@/lib/management/lookups';
import { oneConnectionJson } from '@/lib/management/views';

export const POST = withAuth(
  async (req, { actor, db, database, params, program }) => {
    const id = pathId(params, 'Connection');
    const input = await parseJson(req, replaceCredentialsSchema);
    const updated = await replaceCredentials(database, actor, program, id, input, rotationChecks(actor));
    return Response.json({ data: await oneConnectionJson(db, updated) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);
