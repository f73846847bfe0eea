// POST /api/v1/connections/pgp-key – read an OpenPGP public key as set-up will: its fingerprint and user IDs
// for the admin to confirm, or 422 naming what is wrong with it (private, unreadable, revoked, expired, cannot encrypt)
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';
import type { PgpKey } from '@/lib/management/responses';
import { pgpKeyBody } from '@/lib/management/schemas';

export const POST = withAuth(
  // Nothing is stored: no program is needed; one named is still checked (program: 'optional').
  async (req) => {
    const { public_key: key } = await parseJson(req, pgpKeyBody);
    const answer: PgpKey = { fingerprint: key.fingerprint, user_ids: key.userIds, expires_at: key.expiresAt?.toISOString() ?? null };
    return Response.json({ data: answer });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'optional' },
);
