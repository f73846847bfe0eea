// A destination: where DDE puts a connection's files, as one interface for every kind. The run
// ledger, retries, reports, webhooks, the auto-pause, pause/stop/resume, the event history and the
// daily check talk to this interface only (lib/runs/deliver-run.ts, lib/notify/connection-health.ts);
// a kind is one entry of the registry (./index.ts) and nothing else asks which kind it is.
//
//   pushes     whether DDE delivers (generated → delivering → delivered) or the customer's pipeline
//              collects the files through the export API (available); KIND_PUSHES in db/schema/enums.ts
//   describe   "user@host:port, folder /x", "s3://bucket/prefix": pages, emails, webhooks, run history
//   test       the set-up test, step by step, with the secret not yet saved
//   deliver    a run's files (data files, sidecars, the manifest last), each write that makes a file
//              visible under its final name done inside `fence` (docs/reliability.md, "Fencing")
//   classify   any failure → a DeliveryError: a fixed code, retryable or not, a message a person can act on
//   check      the daily check of a saved connection: its verdict, and warnings (an expiring SAS token)
import type { Connection, ConnectionKind } from '@/db/schema';
import type { ConnectionSecret } from '@/lib/crypto';
import type { DeliveredFile, DeliveryError, DeliveryErrorCode, DeliveryFile, DeliveryProgress, StepError } from '@/lib/delivery';

/** The run whose files are delivered: where they go in a lake layout, and the attempt's fencing token. */
export type DeliveryRun = {
  id: string;
  exportType: 'incremental' | 'historical';
  windowStart: Date;
  windowEnd: Date;
  /** The attempt's claim (fencing token): leftovers of attempts with a lower claim may be removed. */
  claim: number;
};

export type DestinationDeliverInput = {
  connection: Connection;
  /** The connection's secret, decrypted (null when the kind needs none, e.g. role assumption). */
  secret: ConnectionSecret | null;
  /** Data files, then their sidecars, the manifest last (the completion marker). */
  files: DeliveryFile[];
  run: DeliveryRun;
  /** Pause immediately, stop, delete, shutdown: abort and throw DeliveryAbortedError. */
  signal: AbortSignal;
  onProgress?: (p: DeliveryProgress) => void;
  /**
   * Runs `publish` (the write that makes a file visible under its final name) while the attempt holds
   * its run under its claim; throws ClaimLostError once the claim moved on (nothing is written then).
   */
  fence: <T>(publish: () => Promise<T>) => Promise<T>;
  /** Tests pass shorter timeouts (each kind reads what it knows). */
  timeouts?: Record<string, number>;
};

export type DestinationDeliverResult = { files: DeliveredFile[]; bytes: number; durationMs: number };

export type DestinationTestStep = {
  step: string;
  label: string;
  status: 'ok' | 'failed' | 'skipped';
  durationMs?: number;
  detail?: string;
  error?: StepError;
};

export type DestinationTestReport = {
  ok: boolean;
  steps: DestinationTestStep[];
  /** The first failure, when any. */
  error?: StepError;
  /** Things that work today but need a person soon (a SAS token expiring). */
  warnings?: string[];
};

export type DestinationVerdict =
  { ok: true; warnings?: string[] } | { ok: false; code: DeliveryErrorCode; message: string; warnings?: string[] };

/** A kind whose files the customer's pipeline collects through the export API. */
export type PulledDestination = {
  readonly kind: ConnectionKind;
  readonly pushes: false;
  describe(c: Connection): string;
};

/** A kind DDE delivers to. */
export type PushedDestination = {
  readonly kind: ConnectionKind;
  readonly pushes: true;
  /** How DDE names the destination ("s3://bucket/prefix"). */
  describe(c: Connection): string;
  /** What its secret is, in a message about it ("password or key", "access key"). */
  readonly secretLabel: string;
  /** The set-up (or re-)test of a saved connection's destination with its secret. */
  test(input: {
    connection: Connection;
    secret: ConnectionSecret | null;
    signal?: AbortSignal;
    timeouts?: Record<string, number>;
  }): Promise<DestinationTestReport>;
  deliver(input: DestinationDeliverInput): Promise<DestinationDeliverResult>;
  /** Any error met while delivering → a classified DeliveryError (one that is already classified is returned as it is). */
  classify(err: unknown): DeliveryError;
  /**
   * What the "connection active" email says beyond where it delivers: the service, how DDE signs in
   * (never the secret), the encryption and where one file of a window goes. A kind without it sends
   * none from here (SFTP sends its own, with the host key to recognise the server by).
   */
  activeEmail?(c: Connection): { service: string; signIn: string; encryption?: string | null; layoutExample: string };
  /** A credential with an end date (an Azure SAS token): the daily check tells the contacts once, `noticeDays` before. */
  expiringCredential?(c: Connection): { credential: string; expiresAt: Date; noticeDays: number } | null;
  /** The daily check: the test's verdict plus the kind's warnings. */
  check(input: {
    connection: Connection;
    secret: ConnectionSecret | null;
    signal?: AbortSignal;
    timeouts?: Record<string, number>;
  }): Promise<DestinationVerdict>;
};

export type Destination = PulledDestination | PushedDestination;
