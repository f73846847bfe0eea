// The daily connection check: every active connection DDE delivers to is tested by its destination
// (lib/destinations `check`: for SFTP sign-in, pinned host key, destination folder) on its own — a secret that cannot be decrypted or a server that is gone is
// that connection's verdict, never a reason to skip the others. Only changes are reported: one
// "connection issue" when a connection starts failing, one "connection active again" when it
// passes again (the last verdict is kept on the connection). A connection whose files are encrypted
// also has its OpenPGP key's expiry looked at: its contacts are told once when it is PGP_KEY_NOTICE_DAYS
// away, and once more when it has expired; a destination's credential with an end date (an Azure SAS
// token) likewise, once, before it expires.
import type { Database } from '@/db/client';
import { listConnectionsToCheck, recordConnectionHealth } from '@/db/queries/connections';
import type { Connection } from '@/db/schema';
import { now } from '@/lib/clock';
import { connectionDisplayName } from '@/lib/describe-connection';
import { decryptSecret, SecretDecryptionError, type ConnectionSecret } from '@/lib/crypto';
import type { ConnectionTestReport, TestConnectionInput } from '@/lib/delivery';
import type { DeliveryErrorCode } from '@/lib/delivery/errors';
import { pushedDestinationFor, sftpDestination, type PushedDestination } from '@/lib/destinations';
import { childLogger } from '@/lib/logger';
import { composeConnectionIssue, composeConnectionRecovered, composeCredentialExpiry, composePgpKeyExpiry } from './compose';
import { recordNotification } from './outbox';
import { connectionPageUrl } from './run-events';

export type HealthVerdict = {
  connectionId: string;
  ok: boolean;
  code?: DeliveryErrorCode;
  reported?: 'issue' | 'recovered';
  notificationId?: string;
  /** What works today but needs a person soon (a SAS token about to expire), as the destination's check says it. */
  warnings?: string[];
  /** This check told the contacts that the credential DDE delivers with (a SAS token) expires soon. */
  credential?: { reported: 'expiring'; notificationId: string };
  /** This check told the contacts that the connection's OpenPGP key expires soon, or has expired. */
  pgpKey?: { reported: 'expiring' | 'expired'; notificationId: string };
};

/** How many days before an OpenPGP key expires the daily check tells the connection's contacts. */
export const PGP_KEY_NOTICE_DAYS = 14;

export type HealthCheckOptions = {
  signal?: AbortSignal;
  /** Tests pass shorter timeouts. */
  timeouts?: TestConnectionInput['timeouts'];
  /** Tests: the SFTP connection test in place of the real one. */
  test?: (input: TestConnectionInput) => Promise<ConnectionTestReport>;
};

function destinationOf(c: Connection, opts: HealthCheckOptions): PushedDestination {
  return opts.test && c.kind === 'sftp' ? sftpDestination({ test: opts.test }) : pushedDestinationFor(c.kind);
}

async function verdictOf(
  c: Connection,
  opts: HealthCheckOptions,
): Promise<{ ok: true; warnings?: string[] } | { ok: false; code: DeliveryErrorCode; message: string; warnings?: string[] }> {
  const destination = destinationOf(c, opts);
  let secret: ConnectionSecret | null = null;
  if (c.secretCiphertext) {
    try {
      secret = decryptSecret(c.secretCiphertext, c.id);
    } catch (err) {
      const message =
        err instanceof SecretDecryptionError
          ? `DDE cannot use the stored ${destination.secretLabel}: ${err.message}`
          : `DDE cannot use the stored ${destination.secretLabel}.`;
      return { ok: false, code: 'auth_failed', message };
    }
  }
  return destination.check({ connection: c, secret, signal: opts.signal, timeouts: opts.timeouts });
}

/** Checks every active connection DDE delivers to, each on its own; returns each one's verdict. */
export async function checkConnections(database: Database, opts: HealthCheckOptions = {}): Promise<HealthVerdict[]> {
  const { db } = database;
  const list = await listConnectionsToCheck(db);
  const out: HealthVerdict[] = [];
  for (const c of list) {
    if (opts.signal?.aborted) break;
    const log = childLogger({ module: 'connection-health', connectionId: c.id });
    try {
      out.push(await checkOne(database, c, opts));
    } catch (err) {
      // Whatever went wrong with this one, the next connection is still checked.
      log.error({ err: (err as Error).message }, 'connection check failed unexpectedly');
      out.push({ connectionId: c.id, ok: false, code: 'unknown' });
    }
  }
  return out;
}

async function checkOne(database: Database, c: Connection, opts: HealthCheckOptions): Promise<HealthVerdict> {
  const { db } = database;
  const v = await verdictOf(c, opts);
  const checkedAt = now();
  const status = v.ok ? 'ok' : v.code;
  const wasFailing = c.healthStatus !== null && c.healthStatus !== 'ok';
  await recordConnectionHealth(db, { id: c.id, status, checkedAt });
  const verdict: HealthVerdict = { connectionId: c.id, ok: v.ok, ...(v.ok ? {} : { code: v.code }) };
  if (v.warnings?.length) {
    verdict.warnings = v.warnings;
    childLogger({ module: 'connection-health', connectionId: c.id }).warn(
      { warnings: v.warnings },
      'connection check: needs attention soon',
    );
  }
  const destination = destinationOf(c, opts).describe(c);
  const base = { connectionName: connectionDisplayName(c), destination, checkedAt, detailsUrl: connectionPageUrl(c) };
  let email;
  if (!v.ok && !wasFailing) {
    email = { kind: 'connection_issue' as const, ...composeConnectionIssue({ ...base, error: { code: v.code, message: v.message } }) };
    verdict.reported = 'issue';
    childLogger({ module: 'connection-health', connectionId: c.id }).warn({ code: v.code }, 'connection check failed');
  } else if (v.ok && wasFailing) {
    email = { kind: 'connection_recovered' as const, ...composeConnectionRecovered(base) };
    verdict.reported = 'recovered';
  }
  if (email && c.contactEmails.length) {
    const note = await recordNotification(db, {
      kind: email.kind,
      to: c.contactEmails,
      subject: email.subject,
      body: email.text,
      programId: c.programId,
      connectionId: c.id,
      dedupeKey: `health:${c.id}:${email.kind}:${checkedAt.toISOString()}`,
    });
    verdict.notificationId = note.id;
  }
  const credential = await reportCredentialExpiry(database, c, destinationOf(c, opts), checkedAt);
  if (credential) verdict.credential = credential;
  const pgpKey = await reportPgpKeyExpiry(database, c, checkedAt);
  if (pgpKey) verdict.pgpKey = pgpKey;
  return verdict;
}

/**
 * One message when the destination's credential (an Azure SAS token) is within its notice days of
 * expiring, once per credential and expiry. Once it has expired the check itself fails, and the
 * "connection issue" message says so.
 */
async function reportCredentialExpiry(
  database: Database,
  c: Connection,
  destination: PushedDestination,
  checkedAt: Date,
): Promise<HealthVerdict['credential']> {
  const expiring = destination.expiringCredential?.(c);
  if (!expiring || c.contactEmails.length === 0) return undefined;
  const left = expiring.expiresAt.getTime() - checkedAt.getTime();
  if (left <= 0 || left > expiring.noticeDays * 86_400_000) return undefined;
  const email = composeCredentialExpiry({
    connectionName: connectionDisplayName(c),
    destination: destination.describe(c),
    credential: expiring.credential,
    expiresAt: expiring.expiresAt,
    checkedAt,
    detailsUrl: connectionPageUrl(c),
  });
  const note = await recordNotification(database.db, {
    kind: 'credential_expiring',
    to: c.contactEmails,
    subject: email.subject,
    body: email.text,
    programId: c.programId,
    connectionId: c.id,
    dedupeKey: `credential:${c.id}:${expiring.expiresAt.toISOString()}:expiring`,
  });
  return note.created ? { reported: 'expiring', notificationId: note.id } : undefined;
}

/** One message when the key is PGP_KEY_NOTICE_DAYS from expiring, one when it has expired (each once per key and expiry). */
async function reportPgpKeyExpiry(database: Database, c: Connection, checkedAt: Date): Promise<HealthVerdict['pgpKey']> {
  const expiresAt = c.pgpKeyExpiresAt;
  if (!expiresAt || !c.pgpKeyFingerprint || c.contactEmails.length === 0) return undefined;
  const left = expiresAt.getTime() - checkedAt.getTime();
  if (left > PGP_KEY_NOTICE_DAYS * 86_400_000) return undefined;
  const reported = left <= 0 ? ('expired' as const) : ('expiring' as const);
  const email = composePgpKeyExpiry({
    connectionName: connectionDisplayName(c),
    fingerprint: c.pgpKeyFingerprint,
    userIds: c.pgpKeyUserIds ?? [],
    expiresAt,
    checkedAt,
    detailsUrl: connectionPageUrl(c),
  });
  const note = await recordNotification(database.db, {
    kind: 'pgp_key_expiring',
    to: c.contactEmails,
    subject: email.subject,
    body: email.text,
    programId: c.programId,
    connectionId: c.id,
    dedupeKey: `pgp-key:${c.id}:${c.pgpKeyFingerprint}:${expiresAt.toISOString()}:${reported}`,
  });
  return note.created ? { reported, notificationId: note.id } : undefined;
}
