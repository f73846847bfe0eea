// OpenPGP key replacement: while an SFTP connection is stopped, its OpenPGP key can be replaced by
// the customer's renewed or new key (before the old one expires), or a first key given to a
// connection delivered unencrypted so far. The key is read and confirmed as at set-up; deliveries
// encrypt to the new key from the next attempt; the Activity Log records both fingerprints — the
// armored key itself stays out of it, as at set-up.
import type { Database } from '@/db/client';
import type { Connection } from '@/db/schema';
import type { Actor } from '@/lib/auth/actor';
import { AppError } from '@/lib/http/errors';
import { transition } from './lifecycle';
import type { ReplacePgpKeyInput } from './schemas';

export const PGP_KEY_REPLACED = 'connection.pgp_key_replaced';

/** Why the connection's OpenPGP key cannot be replaced now, or null. */
function refusal(c: Connection): AppError | null {
  if (c.kind !== 'sftp') return new AppError('conflict', 'This is an API connection: its files are not encrypted with OpenPGP.');
  if (c.status !== 'stopped')
    return new AppError(
      'conflict',
      `Stop the connection before replacing its OpenPGP key; the key can change only while it is stopped (it is ${c.status}).`,
    );
  return null;
}

/**
 * Sets a stopped SFTP connection's OpenPGP key (replacing the one it had, if any). Rule: only while
 * stopped; the key is a usable public key whose fingerprint the admin confirmed (the schema checks
 * both). Nothing changes on a refusal.
 */
export function replacePgpKey(
  database: Database,
  actor: Actor,
  programId: number,
  id: string,
  input: ReplacePgpKeyInput,
): Promise<Connection> {
  const key = input.pgp_public_key;
  return transition(
    database,
    actor,
    programId,
    id,
    PGP_KEY_REPLACED,
    (c) => {
      const refused = refusal(c);
      if (refused) throw refused;
      return { pgpPublicKey: key.armored, pgpKeyFingerprint: key.fingerprint, pgpKeyUserIds: key.userIds, pgpKeyExpiresAt: key.expiresAt };
    },
    (before: Connection) => ({ previous_fingerprint: before.pgpKeyFingerprint, fingerprint: key.fingerprint }),
  );
}
