// Credential rotation, one path for every kind that keeps a secret: while a connection is stopped,
// its secret can be replaced — an SFTP password or private key (and passphrase), a database
// password, an S3 access key, an Azure account key or SAS token. The destination's own set-up test
// runs again with the new secret before anything is saved (SFTP: against the pinned host key, which
// stays unless the admin accepts a changed one explicitly); a failed test changes nothing. The
// destination itself never changes, the run history stays, and the Activity Log records who
// replaced what — never the secret itself.
import type { Database } from '@/db/client';
import { findConnection, type ConnectionChange } from '@/db/queries/connections';
import type { Connection } from '@/db/schema';
import type { Actor } from '@/lib/auth/actor';
import { now } from '@/lib/clock';
import { encryptSecret, type ConnectionSecret } from '@/lib/crypto';
import { sasExpiry, type AzureSettings } from '@/lib/destinations/azure-settings';
import { pushedDestinationFor } from '@/lib/destinations';
import { AppError } from '@/lib/http/errors';
import { enforceExpensiveLimit } from '@/lib/http/rate-limit';
import { sftpDestinationOf } from '@/lib/describe-connection';
import { transition } from './lifecycle';
import type { ReplaceCredentialsInput } from './schemas';
import { sftpSetupCheck, type DestinationCheck } from './sftp-check';

export const CREDENTIALS_REPLACED = 'connection.credentials_replaced';

/** The field of the request that carries a kind's new secret. */
export const SECRET_FIELD = {
  sftp: 'auth',
  postgres: 'password',
  mysql: 'password',
  s3: 'credentials',
  azure_blob: 'credentials',
} as const satisfies Partial<Record<Connection['kind'], keyof ReplaceCredentialsInput>>;
type SecretKind = keyof typeof SECRET_FIELD;
const keepsSecret = (kind: Connection['kind']): kind is SecretKind => kind in SECRET_FIELD;

/** Why the connection's credentials cannot be replaced now, or null. */
function refusal(c: Connection): AppError | null {
  if (!keepsSecret(c.kind)) return new AppError('conflict', 'This is an API connection: it has no credentials to replace.');
  if (c.kind === 's3' && (c.destination as { auth?: string } | null)?.auth === 'role')
    return new AppError(
      'conflict',
      'This connection assumes a role and stores no access key: there are no credentials to replace (change the role’s policies in AWS instead).',
    );
  if (c.status !== 'stopped')
    return new AppError(
      'conflict',
      `Stop the connection before replacing its credentials; they can change only while it is stopped (it is ${c.status}).`,
    );
  return null;
}

const invalid = (path: string, message: string) => new AppError('validation_failed', message, { fields: [{ path, message }] });

/**
 * The new secret from the request, as the connection's kind stores it, and the settings that go
 * with it (an Azure SAS token's expiry, read from the token). Refuses, naming the field, a secret of
 * another kind or one that does not fit the connection's authentication.
 */
function newSecretOf(
  c: Connection & { kind: SecretKind },
  input: ReplaceCredentialsInput,
): { secret: ConnectionSecret; destination?: AzureSettings } {
  const field = SECRET_FIELD[c.kind];
  for (const other of ['auth', 'password', 'credentials'] as const)
    if (other !== field && input[other] !== undefined)
      throw invalid(
        other,
        `A ${c.kind === 'azure_blob' ? 'Azure Blob' : c.kind} connection takes its new secret in ${field}, not ${other}.`,
      );
  const given = input[field];
  if (given === undefined)
    throw invalid(
      field,
      `Enter the new ${c.kind === 'sftp' ? 'password or private key' : field === 'password' ? 'password' : 'credentials'} (${field}).`,
    );
  if (c.kind !== 'sftp' && (input.host_key_fingerprint !== undefined || input.accept_changed_host_key !== undefined))
    throw invalid('host_key_fingerprint', 'Only an SFTP connection has a host key.');
  switch (c.kind) {
    case 'sftp':
      return { secret: input.auth! };
    case 'postgres':
    case 'mysql':
      return { secret: { method: 'password', password: input.password! } };
    case 's3': {
      const k = input.credentials!;
      if (!('access_key_id' in k))
        throw invalid('credentials', 'Enter the access key id and secret access key (access_key_id, secret_access_key).');
      return { secret: { method: 'access_key', accessKeyId: k.access_key_id, secretAccessKey: k.secret_access_key } };
    }
    case 'azure_blob': {
      const settings = c.destination as AzureSettings;
      const k = input.credentials!;
      if (settings.auth === 'sas') {
        if (!('sas_token' in k)) throw invalid('credentials', 'This connection signs in with a SAS token: enter the new one (sas_token).');
        const token = k.sas_token.replace(/^\?/, '');
        const expires = sasExpiry(token);
        return {
          secret: { method: 'sas', sasToken: token },
          destination: { ...settings, sas_expires_at: expires ? expires.toISOString() : null },
        };
      }
      if (!('account_key' in k))
        throw invalid('credentials', 'This connection signs in with an account key: enter the new one (account_key).');
      return { secret: { method: 'account_key', accountKey: k.account_key } };
    }
  }
}

/** The tests a rotation runs before saving: SFTP's (with the host key), and every other kind's own set-up test. */
export type RotationChecks = {
  sftp: DestinationCheck;
  /** The destination's set-up test of the connection as it would be saved (new secret, new settings); throws the 422 naming the step. */
  destination: (connection: Connection, secret: ConnectionSecret, field: string) => Promise<void>;
};

/**
 * The real tests, each spending the caller's connection-test budget (like "Test connection") only
 * when it runs; API tokens get SFTP's coarse failure text.
 */
export function rotationChecks(actor: Actor): RotationChecks {
  const sftp = sftpSetupCheck(undefined, { coarse: actor.kind === 'token' });
  return {
    sftp: async (destination) => {
      await enforceExpensiveLimit('connection_test', actor);
      await sftp(destination);
    },
    destination: async (connection, secret, field) => {
      await enforceExpensiveLimit('connection_test', actor);
      const report = await pushedDestinationFor(connection.kind).test({ connection, secret });
      if (report.ok) return;
      const failed = report.steps.find((s) => s.status === 'failed');
      const message = report.error?.message ?? 'The connection test failed.';
      throw new AppError('validation_failed', `The connection test failed at "${failed?.label ?? 'connect'}": ${message}`, {
        test: report,
        fields: [{ path: field, message }],
      });
    },
  };
}

/**
 * Replaces a stopped connection's secret. Rule: only while stopped; only after the destination's
 * test passes with the new secret (SFTP: against the pinned host key, or a new key the input accepts
 * explicitly); the destination's settings stay (an Azure SAS token's expiry is read from the new
 * token). Nothing changes on a refusal.
 */
export async function replaceCredentials(
  database: Database,
  actor: Actor,
  programId: number,
  id: string,
  input: ReplaceCredentialsInput,
  checks: RotationChecks,
): Promise<Connection> {
  const current = await findConnection(database.db, { programId, id });
  if (!current) throw new AppError('not_found', 'Connection not found.');
  const refused = refusal(current);
  if (refused) throw refused;
  const c = current as Connection & { kind: SecretKind };
  const { secret, destination } = newSecretOf(c, input);

  let change: ConnectionChange = {};
  let details: Record<string, unknown> = {};
  const pinned = current.hostKeyFingerprint;
  if (c.kind === 'sftp') {
    const expected = input.host_key_fingerprint ?? pinned;
    if (!expected) throw new AppError('validation_failed', 'Run "Test connection" and confirm the host key first.');
    const keyChanged = expected !== pinned;
    if (keyChanged && input.accept_changed_host_key !== true) {
      const message = `The host key ${expected} is not the pinned key ${pinned ?? '(none)'}. If the server’s key was replaced, confirm the new key with accept_changed_host_key: true.`;
      throw new AppError('validation_failed', message, { fields: [{ path: 'accept_changed_host_key', message }] });
    }
    // The test talks to the server, so it runs outside the transaction; the row is checked again below.
    await checks.sftp({ ...sftpDestinationOf(current), auth: input.auth!, host_key_fingerprint: expected });
    change = { authMethod: input.auth!.method, hostKeyFingerprint: expected };
    details = { auth_method: input.auth!.method, host_key_changed: keyChanged };
  } else {
    await checks.destination({ ...current, ...(destination ? { destination } : {}) }, secret, SECRET_FIELD[c.kind]);
    change = destination ? { destination } : {};
    details = {
      secret: secret.method,
      ...(destination?.sas_expires_at !== undefined ? { sas_expires_at: destination.sas_expires_at } : {}),
    };
  }

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
      return { ...change, secretCiphertext: encryptSecret(secret, id), lastTestedAt: now() };
    },
    details,
  );
}
