// POST /api/v1/connections/{id}/pgp-key – replace a stopped SFTP connection's OpenPGP key (or give it one), confirmed by its fingerprint
import { replacePgpKey } from '@/lib/connections/pgp-key';
import { replacePgpKeySchema } from '@/lib/connections/schemas';
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';
import { pathId } from '@/lib/management/lookups';
import { oneConnectionJson } from '@/lib/management/views';

export const POST = withAuth(
  async (req, { actor, db, database, params, program }) => {
    const id = pathId(params, 'Connection');
    const input = await parseJson(req, replacePgpKeySchema);
    const updated = await replacePgpKey(database, actor, program, id, input);
    return Response.json({ data: await oneConnectionJson(db, updated) });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'required' },
);
