// Connection lifecycle rules (docs/architecture.md, "The ledgers and their lifecycles"):
//   active ⇄ pausing → paused → active (resume); any → stopped → active (start); ended after the end date;
//   deleted connections keep their history.
// This module judges an admin's request and answers a refusal with a message; the change itself,
// with its Activity Log entry (who and when), is written by the connections writer
// (db/queries/connections.ts), which locks the row so two admins clicking at once cannot interleave.
import { randomUUID } from 'node:crypto';
import type { Database, DbOrTx } from '@/db/client';
import {
  changeConnection,
  externalIdInUse,
  insertConnection,
  pauseConnection as pauseConnectionRow,
  settlePausingConnection,
  type AuditDetails,
  type ConnectionActor,
  type ConnectionChange,
  type PauseMode,
} from '@/db/queries/connections';
import type { Connection } from '@/db/schema';
import type { Actor } from '@/lib/auth/actor';
import { now } from '@/lib/clock';
import { encryptSecret, type ConnectionSecret } from '@/lib/crypto';
import { pushedDestinationFor, testAzure, testS3 } from '@/lib/destinations';
import { testDatabase } from '@/lib/destinations/database/destination';
import { isIssuedExternalId } from '@/lib/destinations/s3-external-id';
import { sasExpiry, type AzureSettings } from '@/lib/destinations/azure-settings';
import type { S3Settings } from '@/lib/destinations/s3-settings';
import { enforceExpensiveLimit } from '@/lib/http/rate-limit';
import {
  composeConnectionActive,
  composeStorageConnectionActive,
  connectionPageUrl,
  describeSftpDestination,
  recordNotification,
} from '@/lib/notify';
import { AppError } from '@/lib/http/errors';
import { connectionDisplayName, sftpDestinationOf } from '@/lib/describe-connection';
import type { CreateConnectionInput, EditConnectionInput } from './schemas';

function actorIds(actor: Actor): ConnectionActor {
  return { actorId: actor.accountId, actorLabel: actor.label };
}

/** A start date may lie a little in the past (the planner catches up); older data is a historical request. */
export const MAX_START_DATE_AGE_DAYS = 31;

function checkStartDate(start: Date) {
  const oldest = now().getTime() - MAX_START_DATE_AGE_DAYS * 86_400_000;
  if (start.getTime() < oldest) {
    throw new AppError(
      'validation_failed',
      `The start date can be at most ${MAX_START_DATE_AGE_DAYS} days in the past. For older data, submit a historical data request.`,
      {
        fields: [{ path: 'start_date', message: `At most ${MAX_START_DATE_AGE_DAYS} days in the past.` }],
      },
    );
  }
}

export type SftpCheck = (input: Extract<CreateConnectionInput, { kind: 'sftp' }>) => Promise<void>;

/** The set-up test of a cloud destination: resolves when every step passes, else throws the 422 naming the step. */
export type DestinationCheck = (
  input:
    | { kind: 's3'; settings: S3Settings; secret: ConnectionSecret | null }
    | { kind: 'azure_blob'; settings: AzureSettings; secret: ConnectionSecret },
) => Promise<void>;

/** The real set-up test, spending the caller's connection-test budget first. */
export function destinationSetupCheck(budget?: Actor): DestinationCheck {
  return async (input) => {
    if (budget) await enforceExpensiveLimit('connection_test', budget);
    const report = input.kind === 's3' ? await testS3(input) : await testAzure(input);
    if (report.ok) return;
    const failed = report.steps.find((s) => s.status === 'failed');
    const path =
      failed?.step === 'credentials'
        ? input.kind === 's3' && input.settings.auth === 'role'
          ? 'destination.role_arn'
          : 'credentials'
        : input.kind === 's3'
          ? 'destination.bucket'
          : 'destination.container';
    throw new AppError(
      'validation_failed',
      `The connection test failed at "${failed?.label ?? 'connect'}": ${report.error?.message ?? 'unknown error'}`,
      {
        test: report,
        fields: [{ path, message: report.error?.message ?? 'Connection test failed.' }],
      },
    );
  };
}

/** A cloud destination's settings and secret as given at set-up (or to its test). */
export type CloudDestinationInput =
  | { kind: 's3'; destination: S3Settings; credentials?: { access_key_id: string; secret_access_key: string } | null }
  | {
      kind: 'azure_blob';
      destination: Omit<AzureSettings, 'sas_expires_at'>;
      credentials: { account_key: string } | { sas_token: string };
    };

/**
 * What the set-up test and the saved row need from a cloud destination's input: its settings (an
 * Azure SAS token's expiry read from the token) and its secret. A role-assuming S3 destination must
 * carry an external id DDE issued and no other connection uses (else 422 on destination.external_id):
 * no program can make DDE assume another customer's role.
 */
export async function prepareCloudDestination(database: Database, input: CloudDestinationInput): Promise<Parameters<DestinationCheck>[0]> {
  if (input.kind === 's3') {
    const settings = input.destination;
    if (settings.auth === 'role') {
      const externalId = settings.external_id ?? '';
      const problem = !isIssuedExternalId(externalId)
        ? 'This external id was not issued by DDE: ask for one with POST /api/v1/connections/external-id and put it in the role’s trust policy.'
        : (await externalIdInUse(database.db, externalId))
          ? 'This external id belongs to another connection: ask for a new one.'
          : null;
      if (problem) throw new AppError('validation_failed', problem, { fields: [{ path: 'destination.external_id', message: problem }] });
    }
    const secret: ConnectionSecret | null = input.credentials
      ? { method: 'access_key', accessKeyId: input.credentials.access_key_id, secretAccessKey: input.credentials.secret_access_key }
      : null;
    return { kind: 's3', settings, secret };
  }
  const secret: ConnectionSecret =
    'sas_token' in input.credentials
      ? { method: 'sas', sasToken: input.credentials.sas_token.replace(/^\?/, '') }
      : { method: 'account_key', accountKey: input.credentials.account_key };
  const expires = secret.method === 'sas' ? sasExpiry(secret.sasToken) : null;
  const settings: AzureSettings = { ...input.destination, sas_expires_at: expires ? expires.toISOString() : null };
  return { kind: 'azure_blob', settings, secret };
}

/**
 * Creates a connection. An SFTP connection is saved only after `checkSftp` (the set-up test, with
 * the confirmed host key pinned) passes; its secret is encrypted with the new connection's id.
 */
export async function createConnection(
  database: Database,
  actor: Actor,
  programId: number,
  input: CreateConnectionInput,
  checkSftp?: SftpCheck,
  checkDestination: DestinationCheck = destinationSetupCheck(actor),
): Promise<Connection> {
  checkStartDate(input.start_date);
  const id = randomUUID();
  const base = {
    id,
    programId,
    kind: input.kind,
    name: input.name ?? null,
    status: 'active' as const,
    frequency: input.frequency,
    startDate: input.start_date,
    endDate: input.end_date ?? null,
    contactEmails: input.contact_emails,
    format: input.format,
    createdBy: actor.accountId,
  };
  let values: Parameters<typeof insertConnection>[1] = base;
  if (input.kind === 'sftp') {
    if (!checkSftp) throw new Error('createConnection: an SFTP connection needs its set-up check');
    await checkSftp(input);
    values = {
      ...base,
      sftpHost: input.host,
      sftpPort: input.port,
      sftpFolder: input.folder,
      sftpUsername: input.username,
      authMethod: input.auth.method,
      secretCiphertext: encryptSecret(input.auth, id),
      hostKeyFingerprint: input.host_key_fingerprint,
      ...(input.pgp_public_key
        ? {
            pgpPublicKey: input.pgp_public_key.armored,
            pgpKeyFingerprint: input.pgp_public_key.fingerprint,
            pgpKeyUserIds: input.pgp_public_key.userIds,
            pgpKeyExpiresAt: input.pgp_public_key.expiresAt,
          }
        : {}),
      lastTestedAt: now(),
    };
  } else if (input.kind === 'postgres' || input.kind === 'mysql') {
    // The set-up test runs first (connect, privileges, a probe rolled back); a failure saves nothing.
    const report = await testDatabase(input.settings, input.password);
    if (!report.ok) {
      const failed = report.steps.find((s) => s.status === 'failed');
      throw new AppError(
        'validation_failed',
        `The database test failed at "${failed?.label ?? 'connect'}": ${report.error?.message ?? 'unknown error'}`,
        {
          test: report,
          fields: [
            {
              path: failed?.step === 'connect' ? 'host' : failed?.step === 'schema' ? 'schema' : 'user',
              message: report.error?.message ?? 'The database test failed.',
            },
          ],
        },
      );
    }
    values = {
      ...base,
      destination: input.settings,
      authMethod: 'password',
      secretCiphertext: encryptSecret({ method: 'password', password: input.password }, id),
      lastTestedAt: now(),
    };
  }
  if (input.kind === 's3' || input.kind === 'azure_blob') {
    // The set-up test runs first (write, read back, delete a probe); a failure saves nothing.
    const prepared = await prepareCloudDestination(database, input);
    await checkDestination(prepared);
    values = {
      ...base,
      destination: prepared.settings,
      secretCiphertext: prepared.secret ? encryptSecret(prepared.secret, id) : null,
      lastTestedAt: now(),
    };
  }
  return database.db.transaction(async (tx) => {
    const created = await insertConnection(tx, values, actorIds(actor));
    if (created.kind === 'sftp' && created.contactEmails.length) {
      // The set-up test passed: tell the contacts the connection is live (sent by the notify sweep).
      const email = composeConnectionActive({
        connectionName: connectionDisplayName(created),
        destination: describeSftpDestination(sftpDestinationOf(created)),
        hostKeyFingerprint: created.hostKeyFingerprint!,
        pgpKeyFingerprint: created.pgpKeyFingerprint,
        frequency: created.frequency,
        startDate: created.startDate,
      });
      await recordNotification(tx, {
        kind: 'connection_active',
        to: created.contactEmails,
        subject: email.subject,
        body: email.text,
        programId,
        connectionId: id,
      });
    } else if (created.kind !== 'sftp' && created.kind !== 'api' && created.contactEmails.length) {
      // A cloud destination passed its set-up test: the same news, with how DDE signs in and where files go.
      const destination = pushedDestinationFor(created.kind);
      const facts = destination.activeEmail?.(created);
      if (facts) {
        const email = composeStorageConnectionActive({
          connectionName: connectionDisplayName(created),
          destination: destination.describe(created),
          ...facts,
          frequency: created.frequency,
          startDate: created.startDate,
          detailsUrl: connectionPageUrl(created),
        });
        await recordNotification(tx, {
          kind: 'connection_active',
          to: created.contactEmails,
          subject: email.subject,
          body: email.text,
          programId,
          connectionId: id,
        });
      }
    }
    return created;
  });
}

/** What a change may write (a pause is its own transition: pauseConnection). */
export type Change = ConnectionChange;

/**
 * Every other change of a connection: the row locked, `decide` judges it as it is now (throwing the
 * refusal, or returning the fields to write), the row written, and the Activity Log entry with the
 * row before and after and `details` (or what `details` makes of the row before).
 */
export async function transition(
  database: Database,
  actor: Actor,
  programId: number,
  id: string,
  action: string,
  decide: (c: Connection) => Change,
  details?: AuditDetails | ((before: Connection) => AuditDetails),
): Promise<Connection> {
  const updated = await changeConnection(database.db, { programId, id, action, by: actorIds(actor), at: now(), decide, details });
  if (!updated) throw new AppError('not_found', 'Connection not found.');
  return updated;
}

const conflict = (message: string) => new AppError('conflict', message);

/** Why a connection in this state cannot be paused (in this mode). */
const pauseRefusals: Partial<Record<Connection['status'], string>> = {
  paused: 'The connection is already paused.',
  stopped: 'The connection is stopped; start it instead of pausing it.',
  ended: 'The connection has ended (its end date has passed).',
  pausing: 'The connection is already pausing after the current transfer.',
};

/**
 * Pause. After transfer: work already running finishes and is delivered, nothing new starts
 * ("pausing" until it has). Immediately: running exports and uploads are aborted within seconds and
 * their runs go back to the ledger; every window missed while paused is exported after resume.
 * The auto-pause after repeated failed windows is the same transition (lib/notify/run-events.ts).
 */
export async function pauseConnection(database: Database, actor: Actor, programId: number, id: string, mode: PauseMode) {
  const paused = await pauseConnectionRow(database.db, {
    programId,
    id,
    mode,
    action: `connection.paused_${mode}`,
    by: actorIds(actor),
    at: now(),
    details: { mode },
  });
  if (paused.ok) return paused.connection;
  if (paused.reason === 'not_found') throw new AppError('not_found', 'Connection not found.');
  throw conflict(pauseRefusals[paused.from] ?? `The connection cannot be paused; it is ${paused.from}.`);
}

/** Resume: the planner then exports every window missed while paused. */
export function resumeConnection(database: Database, actor: Actor, programId: number, id: string) {
  return transition(database, actor, programId, id, 'connection.resumed', (c) => {
    if (c.status !== 'paused' && c.status !== 'pausing')
      throw conflict(`Only a paused connection can be resumed; this one is ${c.status}.`);
    return { status: 'active', pauseMode: null };
  });
}

/** Stop: nothing new starts (running work finishes); while stopped, the schedule and contacts can be edited. */
export function stopConnection(database: Database, actor: Actor, programId: number, id: string) {
  return transition(database, actor, programId, id, 'connection.stopped', (c) => {
    if (c.status === 'stopped') throw conflict('The connection is already stopped.');
    return { status: 'stopped', pauseMode: null };
  });
}

export function startConnection(database: Database, actor: Actor, programId: number, id: string) {
  return transition(database, actor, programId, id, 'connection.started', (c) => {
    if (c.status !== 'stopped') throw conflict(`Only a stopped connection can be started; this one is ${c.status}.`);
    if (c.endDate && c.endDate.getTime() <= now().getTime()) throw conflict('The end date has passed; create a new connection instead.');
    return { status: 'active' };
  });
}

/** Only frequency, start date and contact emails (and the display name) change, and only while stopped. */
export function editConnection(database: Database, actor: Actor, programId: number, id: string, input: EditConnectionInput) {
  if (input.start_date) checkStartDate(input.start_date);
  return transition(database, actor, programId, id, 'connection.edited', (c) => {
    if (c.status !== 'stopped')
      throw conflict(
        'Stop the connection before editing it; frequency, start date and contact emails can change only while it is stopped.',
      );
    const change: Change = {};
    if (input.frequency) change.frequency = input.frequency;
    if (input.start_date) {
      if (c.endDate && input.start_date.getTime() >= c.endDate.getTime()) {
        throw new AppError('validation_failed', 'The start date must be before the end date.', {
          fields: [{ path: 'start_date', message: 'Must be before the end date.' }],
        });
      }
      change.startDate = input.start_date;
    }
    if (input.contact_emails) change.contactEmails = input.contact_emails;
    if (input.name !== undefined) change.name = input.name || null;
    return change;
  });
}

/** Delete: the connection disappears from the list and stops for good; its history is kept. */
export function deleteConnection(database: Database, actor: Actor, programId: number, id: string) {
  return transition(database, actor, programId, id, 'connection.deleted', () => ({ status: 'stopped', pauseMode: null, deletedAt: now() }));
}

/**
 * A pausing connection becomes paused once the transfer it was in has finished (see
 * settlePausingConnection). Called by the worker after each step.
 */
export async function settlePausing(db: DbOrTx, connectionId: string): Promise<void> {
  await settlePausingConnection(db, connectionId);
}
