// OpenPGP key replacement: while an SFTP connection is stopped, its OpenPGP key can be replaced by
// the customer's renewed or new key (before the old one expires), or a first key given to a
// connection delivered unencrypted so far. The key is read and confirmed as at set-up; deliveries
// encrypt to the new key from the next attempt; the Activity Log records both fingerprints — the
// armored key itself stays out of it, as at set-up.
import { and, eq, isNull } from 'drizzle-orm';
import type { Database } from '@/db/client';
import { recordAudit } from '@/db/queries/audit';
import { findConnection } from '@/db/queries/connections';
import { connections, type Connection } from '@/db/schema';
import type { Actor } from '@/lib/auth/actor';
import { now } from '@/lib/clock';
import { AppError } from '@/lib/http/errors';
import { auditable } from './lifecycle';
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
export async function replacePgpKey(
  database: Database,
  actor: Actor,
  programId: number,
  id: string,
  input: ReplacePgpKeyInput,
): Promise<Connection> {
  const current = await findConnection(database.db, { programId, id });
  if (!current) throw new AppError('not_found', 'Connection not found.');
  const refused = refusal(current);
  if (refused) throw refused;

  return database.db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(connections)
      .where(and(eq(connections.programId, programId), eq(connections.id, id), isNull(connections.deletedAt)))
      .for('update');
    if (!row) throw new AppError('not_found', 'Connection not found.');
    const late = refusal(row);
    if (late) throw late;
    const key = input.pgp_public_key;
    const [updated] = await tx
      .update(connections)
      .set({
        pgpPublicKey: key.armored,
        pgpKeyFingerprint: key.fingerprint,
        pgpKeyUserIds: key.userIds,
        pgpKeyExpiresAt: key.expiresAt,
        updatedAt: now(),
      })
      .where(eq(connections.id, id))
      .returning();
    await recordAudit(tx, {
      programId,
      actorId: actor.accountId,
      actorLabel: actor.label,
      action: PGP_KEY_REPLACED,
      targetType: 'connection',
      targetId: id,
      before: auditable(row),
      after: auditable(updated),
      details: { previous_fingerprint: row.pgpKeyFingerprint, fingerprint: key.fingerprint },
    });
    return updated;
  });
}
