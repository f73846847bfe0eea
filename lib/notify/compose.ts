// The emails DDE sends to a connection's contacts, as plain text: the delivery report of a run
// (SFTP delivered, API files available, a delivery or an export that failed), the daily digest,
// "SFTP connection active" (or "cloud storage connection active") after a successful set-up test, a credential's
// expiry ahead (an Azure SAS token), "connection issue" and "connection
// active again" from the daily check, and "connection paused" after repeated failures.
// Rule: they name hosts, users, folders and files, never a password, key, token or signing secret.
import { RETRYABLE, type DeliveryErrorCode } from '@/lib/delivery/errors';

export type ComposedEmail = { subject: string; text: string };

// Every email names an SFTP destination as lib/describe-connection.ts does.
export { describeSftpDestination, type SftpDestinationLabel } from '@/lib/describe-connection';

const ERROR_TITLES: Record<DeliveryErrorCode, string> = {
  auth_failed: 'sign-in rejected',
  host_key_mismatch: 'server identity changed',
  dns: 'host name not found',
  refused: 'connection refused',
  timeout: 'server not responding',
  permission_denied: 'permission denied',
  folder_missing: 'destination folder missing',
  no_space: 'server storage full',
  wrong_region: 'bucket in another region',
  throttled: 'storage service throttling',
  unknown: 'delivery error',
};

const ADVICE: Record<DeliveryErrorCode, string> = {
  auth_failed: 'The SFTP server rejected the username, password or key. Ask its administrator whether the account or key changed.',
  host_key_mismatch:
    'The server presented a different host key than the one confirmed at set-up, so nothing was sent. If the server was rebuilt or its key ' +
    'rotated on purpose: on the connection page, Stop the connection, Replace credentials, test and trust the new key, then Start it ' +
    'and retry the failed runs (the connection keeps its history). Otherwise treat it as a security incident.',
  dns: 'The host name did not resolve. Check the host name and your DNS.',
  refused: 'Nothing accepted the connection on that host and port. Check that the SFTP server is running and that its firewall admits DDE.',
  timeout: 'The server stopped responding. Check the server and the network between it and DDE.',
  permission_denied: 'The SFTP user may not write to the destination folder. Grant write access.',
  folder_missing: 'The destination folder does not exist on the server. Create it (or restore it).',
  no_space: "The server's disk is full or the user's quota is exceeded. Free some space.",
  wrong_region: 'The bucket is in another region than the one set up. Set the connection up again with the bucket’s region.',
  throttled: 'The storage service asked DDE to slow down; the delivery is retried with a growing pause.',
  unknown: 'If it keeps happening, contact support with the time of this message.',
};

export function errorTitle(code: DeliveryErrorCode): string {
  return ERROR_TITLES[code];
}

/** A run's failure as emails and webhooks describe it: delivery errors, or its export (file generation) failing. */
export type RunErrorCode = DeliveryErrorCode | 'export_failed';

const EXPORT_FAILED_ADVICE =
  'DDE could not generate the files of this window (it tried 3 times). Nothing was delivered and no data is lost: the window stays ' +
  'in the event history. Retry it from there; if it fails again, contact support with the time of this message.';

export function runErrorTitle(code: RunErrorCode): string {
  return code === 'export_failed' ? 'files could not be generated' : ERROR_TITLES[code];
}

/** What to do about a failed run, in one or two sentences. */
export function runErrorAdvice(code: RunErrorCode): string {
  return code === 'export_failed' ? EXPORT_FAILED_ADVICE : ADVICE[code];
}

export function isRetryableRunError(code: RunErrorCode): boolean {
  return code === 'export_failed' ? true : RETRYABLE[code];
}

/** A stored error code as a RunErrorCode (anything unknown is "unknown"). */
export function runErrorCodeOf(code: string | null | undefined): RunErrorCode {
  return code === 'export_failed' || (code && code in ERROR_TITLES) ? (code as RunErrorCode) : 'unknown';
}

function utc(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function windowLabel(w: { start: Date; end: Date }): string {
  return `${utc(w.start)} – ${utc(w.end)}`;
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function footer(detailsUrl?: string): string[] {
  return [
    '',
    ...(detailsUrl ? [`Event history: ${detailsUrl}`, ''] : []),
    '— DDE (Direct Data Export). You receive this as a contact of this connection.',
  ];
}

export type DeliveryReportInput = {
  connectionName: string;
  destination: string;
  exportType: 'incremental' | 'historical';
  window: { start: Date; end: Date };
  files: { name: string; rows: number; bytes: number }[];
  outcome:
    | { status: 'delivered'; finishedAt: Date }
    | { status: 'available'; finishedAt: Date }
    | { status: 'failed'; errorCode: RunErrorCode; errorMessage: string; attempts: number; retryPossibleUntil?: Date };
  detailsUrl?: string;
};

/** One report per run: what was (or was to be) delivered, and whether it arrived. */
export function composeDeliveryReport(input: DeliveryReportInput): ComposedEmail {
  const rows = input.files.reduce((n, f) => n + f.rows, 0);
  const bytes = input.files.reduce((n, f) => n + f.bytes, 0);
  const what = `${input.exportType} export, window ${windowLabel(input.window)}`;
  const fileLines = input.files.length
    ? input.files.map((f) => `  - ${f.name}: ${count(f.rows)} rows, ${formatBytes(f.bytes)}`)
    : ['  (no data in this window)'];
  const summary = [
    `Connection: ${input.connectionName}`,
    `Destination: ${input.destination}`,
    `Export: ${what}`,
    `Files (${input.files.length}; ${count(rows)} rows, ${formatBytes(bytes)}):`,
    ...fileLines,
  ];
  if (input.outcome.status === 'available') {
    return {
      subject: `DDE files ready: ${input.connectionName} (${utc(input.window.start)})`,
      text: [
        `The files of the ${what} are ready to collect from the export API since ${utc(input.outcome.finishedAt)}.`,
        'Each file lists its SHA-256; the manifest marks the set complete.',
        '',
        ...summary,
        ...footer(input.detailsUrl),
      ].join('\n'),
    };
  }
  if (input.outcome.status === 'delivered') {
    return {
      subject: `DDE delivery succeeded: ${input.connectionName} (${utc(input.window.start)})`,
      text: [
        `The files of the ${what} were delivered at ${utc(input.outcome.finishedAt)}.`,
        'Each data file has a .sha256 beside it; the manifest, delivered last, marks the set complete.',
        '',
        ...summary,
        ...footer(input.detailsUrl),
      ].join('\n'),
    };
  }
  const o = input.outcome;
  const exportFailed = o.errorCode === 'export_failed';
  return {
    subject: exportFailed
      ? `DDE export failed (${runErrorTitle(o.errorCode)}): ${input.connectionName} (${utc(input.window.start)})`
      : `DDE delivery failed (${runErrorTitle(o.errorCode)}): ${input.connectionName} (${utc(input.window.start)})`,
    text: [
      exportFailed
        ? `The files of the ${what} could not be generated after ${o.attempts} attempt${o.attempts === 1 ? '' : 's'}.`
        : `The files of the ${what} could not be delivered after ${o.attempts} attempt${o.attempts === 1 ? '' : 's'}.`,
      '',
      `Error: ${o.errorCode} — ${o.errorMessage}`,
      '',
      runErrorAdvice(o.errorCode),
      ...(exportFailed
        ? []
        : [
            isRetryableRunError(o.errorCode)
              ? 'DDE retried automatically with increasing delays before giving up.'
              : 'DDE does not retry this kind of error automatically: it needs a change on the server or in the connection.',
          ]),
      ...(o.retryPossibleUntil
        ? ['', `The delivery can be retried from the event history until ${utc(o.retryPossibleUntil)}, while its files are kept.`]
        : []),
      '',
      ...summary,
      ...footer(input.detailsUrl),
    ].join('\n'),
  };
}

export type ConnectionActiveInput = {
  connectionName: string;
  destination: string;
  hostKeyFingerprint: string;
  /** Set when the data files are encrypted to the customer's OpenPGP key. */
  pgpKeyFingerprint?: string | null;
  frequency?: string;
  startDate?: Date;
  detailsUrl?: string;
};

/** After a successful set-up test: the connection will deliver, to this server (identified by its key). */
export function composeConnectionActive(input: ConnectionActiveInput): ComposedEmail {
  return {
    subject: `DDE SFTP connection active: ${input.connectionName}`,
    text: [
      `The SFTP connection "${input.connectionName}" passed its connection test and is active.`,
      '',
      `Destination: ${input.destination}`,
      `Server host key: ${input.hostKeyFingerprint}`,
      ...(input.pgpKeyFingerprint ? [`Files encrypted to OpenPGP key: ${input.pgpKeyFingerprint} (delivered as <name>.pgp)`] : []),
      ...(input.frequency ? [`Frequency: ${input.frequency.replace(/_/g, ' ')}`] : []),
      ...(input.startDate ? [`First window starts: ${utc(input.startDate)}`] : []),
      '',
      "DDE will only deliver to a server presenting this host key. If the server's key changes, deliveries stop and you will be told.",
      ...footer(input.detailsUrl),
    ].join('\n'),
  };
}

export type StorageConnectionActiveInput = {
  connectionName: string;
  /** "Amazon S3", "Azure Blob Storage"… */
  service: string;
  destination: string;
  /** How DDE signs in, never the secret: "role arn:aws:iam::…:role/x with external id dde-…", "access key AKIA…", "SAS token, expires …". */
  signIn: string;
  encryption?: string | null;
  /** Where one file of a window goes, e.g. "dde/incremental/activity/dt=2026-11-28/<file>". */
  layoutExample: string;
  frequency?: string;
  startDate?: Date;
  detailsUrl?: string;
};

/** After a cloud storage destination passed its set-up test (probe written, read back, deleted): the connection will deliver there. */
export function composeStorageConnectionActive(input: StorageConnectionActiveInput): ComposedEmail {
  return {
    subject: `DDE cloud storage connection active: ${input.connectionName}`,
    text: [
      `The ${input.service} connection "${input.connectionName}" passed its set-up test (a test object was written, read back and deleted) and is active.`,
      '',
      `Destination: ${input.destination}`,
      `DDE signs in with: ${input.signIn}`,
      ...(input.encryption ? [`Server-side encryption: ${input.encryption}`] : []),
      ...(input.frequency ? [`Frequency: ${input.frequency.replace(/_/g, ' ')}`] : []),
      ...(input.startDate ? [`First window starts: ${utc(input.startDate)}`] : []),
      '',
      'Each window’s files go under one prefix per file type in date partitions, each with its .sha256 sidecar, and the manifest last as the completion marker, e.g.:',
      `  ${input.layoutExample}`,
      'A retried window overwrites the same objects: there are never two copies of a window.',
      ...footer(input.detailsUrl),
    ].join('\n'),
  };
}

export type CredentialExpiryInput = {
  connectionName: string;
  destination: string;
  /** What expires: "SAS token". */
  credential: string;
  expiresAt: Date;
  checkedAt: Date;
  detailsUrl?: string;
};

/** From the daily check: the credential DDE delivers with (an Azure SAS token) expires within days. */
export function composeCredentialExpiry(input: CredentialExpiryInput): ComposedEmail {
  const days = Math.max(1, Math.ceil((input.expiresAt.getTime() - input.checkedAt.getTime()) / 86_400_000));
  const when = utc(input.expiresAt);
  return {
    subject: `DDE ${input.credential} expires on ${when.slice(0, 10)}: ${input.connectionName}`,
    text: [
      `The ${input.credential} that DDE delivers the files of the connection "${input.connectionName}" with expires at ${when} (in ${days} day${days === 1 ? '' : 's'}).`,
      'From then on, deliveries to this connection fail until it has a new one.',
      '',
      `Destination: ${input.destination}`,
      '',
      `To keep the files coming, issue a new ${input.credential} (with the create, write, read and delete permissions on the container) and send it to Firstup, whose Super Admin stops the connection, replaces its credentials and starts it again: no window is missed.`,
      ...footer(input.detailsUrl),
    ].join('\n'),
  };
}

export type ConnectionIssueInput = {
  connectionName: string;
  destination: string;
  checkedAt: Date;
  error: { code: DeliveryErrorCode; message: string };
  detailsUrl?: string;
};

/** From the daily check, after a "connection issue": the destination passes its test again. */
export function composeConnectionRecovered(input: {
  connectionName: string;
  destination: string;
  checkedAt: Date;
  detailsUrl?: string;
}): ComposedEmail {
  return {
    subject: `DDE connection active again: ${input.connectionName}`,
    text: [
      `The daily check of the SFTP connection "${input.connectionName}" passed at ${utc(input.checkedAt)}: the server answers again.`,
      'Deliveries to this destination work again. Windows that failed meanwhile can be retried from the event history.',
      '',
      `Destination: ${input.destination}`,
      ...footer(input.detailsUrl),
    ].join('\n'),
  };
}

export type ConnectionPausedInput = {
  connectionName: string;
  destination: string;
  pausedAt: Date;
  failedWindows: number;
  lastError?: { code: RunErrorCode; message: string };
  detailsUrl?: string;
};

/** After N consecutive failed windows the connection paused itself: why, and how to resume. */
export function composeConnectionPaused(input: ConnectionPausedInput): ComposedEmail {
  return {
    subject: `DDE connection paused after ${input.failedWindows} failed windows: ${input.connectionName}`,
    text: [
      `The connection "${input.connectionName}" paused itself at ${utc(input.pausedAt)} because its last ${input.failedWindows} windows failed in a row.`,
      'Nothing is lost: every window missed while paused is exported after the connection is resumed.',
      '',
      `Destination: ${input.destination}`,
      ...(input.lastError
        ? [`Last error: ${input.lastError.code} — ${input.lastError.message}`, '', runErrorAdvice(input.lastError.code)]
        : []),
      '',
      'Fix the cause, then press Resume on the connection page (a Firstup Super Admin can). The failed windows can be retried from the event history.',
      ...footer(input.detailsUrl),
    ].join('\n'),
  };
}

export type DigestRun = {
  exportType: 'incremental' | 'historical';
  window: { start: Date; end: Date };
  status: 'delivered' | 'available' | 'failed';
  rows: number;
  bytes: number;
  errorCode?: RunErrorCode;
};

/** The daily digest: every run that finished in the last day, failures first. */
export function composeDailyDigest(input: {
  connectionName: string;
  destination: string;
  day: { start: Date; end: Date };
  runs: DigestRun[];
  detailsUrl?: string;
}): ComposedEmail {
  const failed = input.runs.filter((r) => r.status === 'failed');
  const ok = input.runs.filter((r) => r.status !== 'failed');
  const line = (r: DigestRun) =>
    `  - ${r.exportType} window ${windowLabel(r.window)}: ${
      r.status === 'failed'
        ? `FAILED (${runErrorTitle(r.errorCode ?? 'unknown')})`
        : `${r.status}, ${count(r.rows)} rows, ${formatBytes(r.bytes)}`
    }`;
  return {
    subject: `DDE daily digest: ${input.connectionName}: ${ok.length} ok, ${failed.length} failed`,
    text: [
      `What happened on the connection "${input.connectionName}" between ${utc(input.day.start)} and ${utc(input.day.end)}.`,
      '',
      `Destination: ${input.destination}`,
      ...(input.runs.length === 0 ? ['', 'No run finished in this period.'] : []),
      ...(failed.length ? ['', `Failed (${failed.length}):`, ...failed.map(line)] : []),
      ...(ok.length ? ['', `Succeeded (${ok.length}):`, ...ok.map(line)] : []),
      ...(failed.length ? ['', 'Failed windows can be retried from the event history while their files are kept.'] : []),
      ...footer(input.detailsUrl),
    ].join('\n'),
  };
}

export type PgpKeyExpiryInput = {
  connectionName: string;
  fingerprint: string;
  userIds: string[];
  expiresAt: Date;
  checkedAt: Date;
  detailsUrl?: string;
};

/**
 * From the daily check, for a connection whose files are encrypted: its OpenPGP key expires within
 * days, or has expired (deliveries then fail until the connection has a valid key).
 */
export function composePgpKeyExpiry(input: PgpKeyExpiryInput): ComposedEmail {
  const expired = input.expiresAt.getTime() <= input.checkedAt.getTime();
  const days = Math.ceil((input.expiresAt.getTime() - input.checkedAt.getTime()) / 86_400_000);
  const when = utc(input.expiresAt);
  return {
    subject: expired
      ? `DDE OpenPGP key expired: ${input.connectionName}`
      : `DDE OpenPGP key expires on ${when.slice(0, 10)}: ${input.connectionName}`,
    text: [
      expired
        ? `The OpenPGP key that the files of the SFTP connection "${input.connectionName}" are encrypted to expired at ${when}.`
        : `The OpenPGP key that the files of the SFTP connection "${input.connectionName}" are encrypted to expires at ${when} (in ${days} day${days === 1 ? '' : 's'}).`,
      expired
        ? 'Deliveries to this connection fail until it has a key that is valid: DDE never encrypts to an expired key.'
        : 'From then on, deliveries to this connection fail until it has a key that is valid: DDE never encrypts to an expired key.',
      '',
      `Key: ${input.fingerprint}${input.userIds.length ? ` (${input.userIds.join(', ')})` : ''}`,
      '',
      "To keep the files coming, the key's owner extends its expiry (or makes a new key) and sends the public key to Firstup, whose Super Admin stops the connection, replaces its OpenPGP key with it and starts it again: no window is missed.",
      ...footer(input.detailsUrl),
    ].join('\n'),
  };
}

/** From the daily health check: the destination failed a test that a delivery would need. */
export function composeConnectionIssue(input: ConnectionIssueInput): ComposedEmail {
  return {
    subject: `DDE connection issue (${errorTitle(input.error.code)}): ${input.connectionName}`,
    text: [
      `The daily check of the SFTP connection "${input.connectionName}" failed at ${utc(input.checkedAt)}.`,
      'Deliveries to this destination will fail until it is fixed.',
      '',
      `Destination: ${input.destination}`,
      `Error: ${input.error.code} — ${input.error.message}`,
      '',
      ADVICE[input.error.code],
      ...footer(input.detailsUrl),
    ].join('\n'),
  };
}
