// Credential rotation: while an SFTP connection is stopped, its password or private key (and
// passphrase) can be replaced. The connection test runs again with the new secret before anything
// is saved; the pinned host key stays unless the admin accepts a changed one explicitly. The
// destination (host, port, folder, username) never changes, the run history stays, and the
// Activity Log records who replaced what — never the secret itself.
import type { Database } from '@/db/client';
import { findConnection } from '@/db/queries/connections';
import type { Connection } from '@/db/schema';
import type { Actor } from '@/lib/auth/actor';
import { now } from '@/lib/clock';
import { encryptSecret } from '@/lib/crypto';
import { AppError } from '@/lib/http/errors';
import { sftpDestinationOf } from '@/lib/describe-connection';
import { transition } from './lifecycle';
import type { ReplaceCredentialsInput } from './schemas';
import type { DestinationCheck } from './sftp-check';

export const CREDENTIALS_REPLACED = 'connection.credentials_replaced';

/** Why the connection's credentials cannot be replaced now, or null. */
function refusal(c: Connection): AppError | null {
  if (c.kind !== 'sftp') return new AppError('conflict', 'This is an API connection: it has no SFTP credentials to replace.');
  if (c.status !== 'stopped')
    return new AppError(
      'conflict',
      `Stop the connection before replacing its credentials; they can change only while it is stopped (it is ${c.status}).`,
    );
  return null;
}

/**
 * Replaces a stopped SFTP connection's credentials. Rule: only while stopped; only after the
 * connection test passes with the new secret against the pinned host key, or against a new key
 * the input accepts explicitly; host, port, folder and username stay. Nothing changes on a refusal.
 */
export async function replaceCredentials(
  database: Database,
  actor: Actor,
  programId: number,
  id: string,
  input: ReplaceCredentialsInput,
  check: DestinationCheck,
): Promise<Connection> {
  const current = await findConnection(database.db, { programId, id });
  if (!current) throw new AppError('not_found', 'Connection not found.');
  const refused = refusal(current);
  if (refused) throw refused;

  const pinned = current.hostKeyFingerprint;
  const expected = input.host_key_fingerprint ?? pinned;
  if (!expected) throw new AppError('validation_failed', 'Run "Test connection" and confirm the host key first.');
  const keyChanged = expected !== pinned;
  if (keyChanged && input.accept_changed_host_key !== true) {
    const message = `The host key ${expected} is not the pinned key ${pinned ?? '(none)'}. If the server’s key was replaced, confirm the new key with accept_changed_host_key: true.`;
    throw new AppError('validation_failed', message, { fields: [{ path: 'accept_changed_host_key', message }] });
  }

  // The test talks to the server, so it runs outside the transaction; the row is checked again below.
  await check({ ...sftpDestinationOf(current), auth: input.auth, host_key_fingerprint: expected });

  return transition(
    database,
    actor,
    programId,
    id,
    CREDENTIALS_REPLACED,
    (row) => {
      const late = refusal(row);
      if (late) throw late;
      if (row.hostKeyFingerprint !== pinned)
        throw new AppError('conflict', 'The connection’s host key was changed by someone else meanwhile; test the connection again.');
      return {
        authMethod: input.auth.method,
        secretCiphertext: encryptSecret(input.auth, id),
        hostKeyFingerprint: expected,
        lastTestedAt: now(),
      };
    },
    { auth_method: input.auth.method, host_key_changed: keyChanged },
  );
}
