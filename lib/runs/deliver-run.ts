// Executes the delivery step of a run of any kind DDE delivers to (lib/destinations): claim it
// (generated → delivering), hand its files (data files, then their .sha256 sidecars, the manifest
// last) to the connection's destination, and record the attempt in `deliveries` (the event history). Retryable failures come back with a backoff;
// after the last attempt, or on a non-retryable error, the run is failed and the contacts get one
// email. Pause immediately / stop / delete abort the upload and hand the run back.
// A connection with an OpenPGP key gets its data files encrypted on the way (`<name>.pgp`); their
// sidecars and the manifest are then made from the bytes each attempt actually sent.
// Fenced: the claim answers the attempt's token (the run's claim counter), which its attempt record,
// outcome and heartbeat compare; each write onto the customer's final names (the manifest's too)
// happens while the attempt holds its run's row under that claim (holdRunClaim, the `fence` every
// destination is given). A worker stopped
// while its run was recovered and delivered again renames nothing, spends no attempt and says so.
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import type { Database } from '@/db/client';
import {
  cancelRunDelivery,
  claimRunForDelivery,
  failRunDelivery,
  handBackRunDelivery,
  holdRunClaim,
  markRunDelivered,
  recordDeliveryAttempt,
  recordDeliveryProgress,
  scheduleDeliveryRetry,
} from '@/db/queries/run-ledger';
import { findRunClaim, findRunWithConnection, listRunFiles } from '@/db/queries/runs';
import type { ExportFile } from '@/db/schema';
import { decryptSecret, SecretDecryptionError, type ConnectionSecret } from '@/lib/crypto';
import {
  DeliveryError,
  isDeliveryAborted,
  type DeliveredFile,
  type DeliveryFile,
  type DeliveryProgress,
  type DeliverFilesInput,
  type DeliveryResult,
} from '@/lib/delivery';
import { pgpDeliveredName, pgpManifest, PgpKeyError, readRecipientKey, type PgpDigests, type RecipientKey } from '@/lib/delivery/pgp';
import { env } from '@/lib/env';
import { ClaimLostError, sidecarContent, sidecarName, signatureName, signManifest } from '@/lib/exports';
import { childLogger } from '@/lib/logger';
import { observeDelivery } from '@/lib/metrics';
import { pushedDestinationFor, sftpDestination, type PushedDestination } from '@/lib/destinations';
import { onRunFailed, onRunFinished } from '@/lib/notify';
import { getStorage, type Storage } from '@/lib/storage';
import { throttledProgress } from './progress';
import { watchRun } from './watch';

export type DeliverRunOutcome =
  | { status: 'delivered'; runId: string; deliveryId: string; bytes: number; files: number; notificationId?: string }
  | { status: 'retry'; runId: string; deliveryId: string; retryInSeconds: number; error: DeliveryError }
  | { status: 'failed'; runId: string; deliveryId?: string; error: { code: string; message: string }; notificationId?: string }
  | { status: 'requeued'; runId: string; why: string }
  | { status: 'skipped'; runId: string; why: string }
  /** The run was recovered and claimed again while this attempt worked (the worker was stopped): its new owner delivers it. */
  | { status: 'superseded'; runId: string; claim: number; ownerClaim: number | null };

export type DeliverRunOptions = {
  signal?: AbortSignal;
  trigger?: 'schedule' | 'manual';
  maxAttempts?: number;
  storage?: Storage;
  /** Tests pass shorter timeouts. */
  timeouts?: DeliverFilesInput['timeouts'];
  /** Tests: the SFTP transfer in place of the real client. */
  deliver?: (input: DeliverFilesInput) => Promise<DeliveryResult>;
  /** Tests: a destination in place of the connection kind's. */
  destination?: PushedDestination;
  watchPollMs?: number;
};

/** Backoff before retry `attempt + 1`: 30 s, 1, 2, 4, 8 min … capped at 15 min. */
export function deliveryBackoffSeconds(attempt: number): number {
  return Math.min(30 * 2 ** Math.max(0, attempt - 1), 900);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/**
 * The run's files in delivery form: each data file with its sidecar, the manifest last. With the
 * connection's OpenPGP key, each data file is encrypted on the way and delivered as `<name>.pgp`;
 * its sidecar (`<name>.pgp.sha256`) and the manifest are made when their turn comes, from the
 * encrypted bytes of this very attempt (every attempt encrypts anew, so the bytes differ).
 */
export function deliveryFilesOf(
  files: ExportFile[],
  storage: Storage,
  recipient?: RecipientKey | null,
  signer?: (bytes: Buffer) => Promise<string>,
): DeliveryFile[] {
  const sourceOf = (key: string) => {
    const localPath = storage.localPath(key);
    if (localPath) return { localPath };
    // Remote backends: a stream that fills once the object is opened.
    return {
      open: () => {
        const out = new PassThrough();
        storage.get(key).then(
          (s) => s.on('error', (e) => out.destroy(e)).pipe(out),
          (e: Error) => out.destroy(e),
        );
        return out;
      },
    };
  };
  const data = files.filter((f) => f.fileType !== 'manifest');
  if (recipient) return encryptedDeliveryFiles(files, data, storage, recipient, sourceOf, signer);
  const out: DeliveryFile[] = [];
  for (const f of data)
    out.push({ name: f.name, size: f.bytes, sha256: f.sha256, kind: 'data', fileType: f.fileType, ...sourceOf(f.storageKey) });
  for (const f of data) {
    const content = Buffer.from(sidecarContent(f.sha256, f.name));
    out.push({
      name: sidecarName(f.name),
      size: content.length,
      sha256: createHash('sha256').update(content).digest('hex'),
      kind: 'sidecar',
      fileType: f.fileType,
      open: () => Readable.from([content]),
    });
  }
  const manifests = files.filter((x) => x.fileType === 'manifest');
  // The manifest's detached signature goes just before it (the manifest stays the completion marker).
  for (const f of manifests) if (f.signature) out.push(contentFile(signatureName(f.name), Buffer.from(f.signature)));
  for (const f of manifests)
    out.push({ name: f.name, size: f.bytes, sha256: f.sha256, kind: 'manifest', fileType: 'manifest', ...sourceOf(f.storageKey) });
  return out;
}

function contentFile(name: string, content: Buffer): DeliveryFile {
  return {
    name,
    size: content.length,
    sha256: createHash('sha256').update(content).digest('hex'),
    kind: 'sidecar',
    fileType: 'manifest',
    open: () => Readable.from([content]),
  };
}

function encryptedDeliveryFiles(
  files: ExportFile[],
  data: ExportFile[],
  storage: Storage,
  recipient: RecipientKey,
  sourceOf: (key: string) => Pick<DeliveryFile, 'localPath' | 'open'>,
  signer?: (bytes: Buffer) => Promise<string>,
): DeliveryFile[] {
  const digestsOf = (delivered: ReadonlyMap<string, DeliveredFile>, name: string): PgpDigests | undefined => {
    const d = delivered.get(name);
    return d?.sha256 && d.plaintext
      ? { deliveredSha256: d.sha256, deliveredBytes: d.bytes, plaintextSha256: d.plaintext.sha256, plaintextBytes: d.plaintext.bytes }
      : undefined;
  };
  const out: DeliveryFile[] = data.map((f) => ({
    name: pgpDeliveredName(f.name),
    size: f.bytes,
    sha256: f.sha256,
    kind: 'data',
    encryptTo: recipient,
    ...sourceOf(f.storageKey),
  }));
  for (const f of data) {
    const name = pgpDeliveredName(f.name);
    out.push({
      name: sidecarName(name),
      size: sidecarContent('0'.repeat(64), name).length,
      sha256: '',
      kind: 'sidecar',
      build: (delivered) => {
        const digests = digestsOf(delivered, name);
        if (!digests) throw new Error(`${name} was not delivered in this attempt`);
        return Buffer.from(sidecarContent(digests.deliveredSha256, name));
      },
    });
  }
  for (const f of files.filter((x) => x.fileType === 'manifest')) {
    // The delivered manifest describes this attempt's bytes, so it is signed as delivered (the same
    // document is built for the signature and for the manifest itself).
    const build = async (delivered: ReadonlyMap<string, DeliveredFile>) =>
      pgpManifest(await readAll(await storage.get(f.storageKey)), (n) => digestsOf(delivered, n), recipient.fingerprint);
    if (signer && f.signature)
      out.push({
        name: signatureName(f.name),
        size: f.signature.length,
        sha256: '',
        kind: 'sidecar',
        build: async (delivered) => Buffer.from(await signer(await build(delivered))),
      });
    out.push({ name: f.name, size: f.bytes, sha256: '', kind: 'manifest', build });
  }
  return out;
}

export async function executeDelivery(database: Database, runId: string, opts: DeliverRunOptions = {}): Promise<DeliverRunOutcome> {
  const { db } = database;
  const log = childLogger({ module: 'runs', runId });
  const storage = opts.storage ?? getStorage();
  const maxAttempts = opts.maxAttempts ?? env().deliveryMaxAttempts;

  const claimed = await claimRunForDelivery(db, runId);
  if (!claimed.ok) return { status: 'skipped', runId, why: 'not waiting for delivery, or its connection is not active' };
  const { claim } = claimed;

  const { run, connection } = (await findRunWithConnection(db, runId))!;
  const files = await listRunFiles(db, run);
  const destination =
    opts.destination ?? (opts.deliver ? sftpDestination({ deliver: opts.deliver }) : pushedDestinationFor(connection.kind));
  const destinationLabel = destination.describe(connection);
  const recorded = await recordDeliveryAttempt(db, runId, { destination: destinationLabel, trigger: opts.trigger ?? 'schedule', claim });
  if (!recorded.ok) return { status: 'skipped', runId, why: 'the run moved on before its delivery started' };
  const { delivery } = recorded;
  const { attempt } = delivery;
  const startedAt = new Date(); // for the duration metric (wall time, not the application clock)

  /** The attempt lost its claim: no failure, no attempt spent (recovery aborted its record); nothing renamed. */
  const superseded = async (ownerClaim: number | null): Promise<DeliverRunOutcome> => {
    const now = await findRunClaim(database.sql, runId);
    const owner = now ? now.claim : ownerClaim;
    log.info(
      { claim, ownerClaim: owner, status: now?.status, deliveryId: delivery.id },
      'delivery attempt stopped: the run was claimed again by another worker while this one was stopped; nothing was renamed into place',
    );
    return { status: 'superseded', runId, claim, ownerClaim: owner };
  };
  const claimMovedTo = async (): Promise<number | null> => {
    const now = await findRunClaim(database.sql, runId);
    return now && now.claim !== claim ? now.claim : null;
  };
  /** The fence around each rename onto a final name: the run's row held under this attempt's claim. */
  const fence = <T>(rename: () => Promise<T>): Promise<T> =>
    db.transaction(async (tx) => {
      const held = await holdRunClaim(tx, runId, claim);
      if (!held.ok) throw new ClaimLostError(runId, claim, held.reason === 'claim_lost' ? held.claim : null);
      return rename();
    });

  const failRun = async (code: string, message: string, retryable: boolean) => {
    await failRunDelivery(db, runId, delivery.id, { code, message, retryable }, claim);
    observeDelivery('failed', startedAt, { errorClass: code });
    const { notificationId } = await onRunFailed(database, runId);
    return { status: 'failed' as const, runId, deliveryId: delivery.id, error: { code, message }, notificationId };
  };

  if (files.length === 0 || files.some((f) => f.expired)) {
    return failRun('unknown', 'The files of this run are no longer stored (expired); nothing was delivered.', false);
  }

  // The key is checked again at every delivery: one that expired since set-up is a person's job.
  let recipient: RecipientKey | null = null;
  if (connection.pgpPublicKey) {
    try {
      recipient = await readRecipientKey(connection.pgpPublicKey);
    } catch (err) {
      const why = err instanceof PgpKeyError ? err.message : 'The OpenPGP key could not be read.';
      return failRun(
        'unknown',
        `The connection's OpenPGP key can no longer be used, so nothing was delivered: ${why} Set the connection up again with the customer's current key.`,
        false,
      );
    }
  }

  let secret: ConnectionSecret | null = null;
  if (connection.secretCiphertext) {
    try {
      secret = decryptSecret(connection.secretCiphertext, connection.id);
    } catch (err) {
      const why = err instanceof SecretDecryptionError ? ` ${err.message}` : '';
      return failRun(
        'auth_failed',
        `DDE cannot use the stored ${destination.secretLabel}; nothing was delivered.${why} Stop the connection and replace its credentials.`,
        false,
      );
    }
  }

  const watch = watchRun(
    database,
    { id: runId, connectionId: connection.id, historicalRequestId: run.historicalRequestId, claim },
    { outer: opts.signal, pollMs: opts.watchPollMs },
  );
  try {
    // The bytes uploaded so far, for the event history (about once a second). The total is the
    // stored files' size; an OpenPGP-encrypted file is a few bytes longer, so done stops at the total.
    const progress = throttledProgress((p: DeliveryProgress) =>
      recordDeliveryProgress(db, runId, delivery.id, { bytesDone: Math.min(p.bytes, p.totalBytes), bytesTotal: p.totalBytes }),
    );
    const result = await destination
      .deliver({
        connection,
        secret,
        files: deliveryFilesOf(files, storage, recipient, (bytes) => signManifest(db, bytes)),
        run: { id: runId, exportType: run.exportType, windowStart: run.windowStart, windowEnd: run.windowEnd, claim },
        signal: watch.signal,
        timeouts: opts.timeouts,
        onProgress: progress.report,
        fence,
      })
      .finally(progress.stop);
    const empty = files.every((f) => f.fileType === 'manifest');
    const done = await markRunDelivered(db, runId, delivery.id, { files: result.files.length, bytes: result.bytes, empty }, claim);
    if (!done.ok && done.reason === 'claim_lost') return await superseded(done.claim);
    if (!done.ok) log.warn({ refusal: done }, 'delivered, but the run had moved on');
    const { notificationId } = await onRunFinished(database, runId);
    log.info({ attempt, files: result.files.length, bytes: result.bytes }, 'delivered');
    observeDelivery('delivered', startedAt, { windowEnd: run.windowEnd, kind: connection.kind });
    return { status: 'delivered', runId, deliveryId: delivery.id, bytes: result.bytes, files: result.files.length, notificationId };
  } catch (err) {
    if (err instanceof ClaimLostError) return await superseded(err.currentClaim);
    if (watch.reason() === 'superseded') return await superseded(watch.ownerClaim());
    if (isDeliveryAborted(err) || watch.signal.aborted) {
      const why = watch.reason();
      const message =
        why === 'paused'
          ? 'Aborted: the connection was paused immediately.'
          : why === 'cancelled'
            ? 'Aborted: the historical request was cancelled.'
            : 'Aborted: the worker was stopping; the delivery was handed back.';
      const back =
        why === 'cancelled'
          ? await cancelRunDelivery(db, runId, delivery.id, message, claim)
          : await handBackRunDelivery(db, runId, delivery.id, message, claim);
      if (!back.ok && back.reason === 'claim_lost') return await superseded(back.claim);
      if (back.ok)
        log.info({ why, to: back.to }, why === 'cancelled' ? 'delivery aborted; run cancelled' : 'delivery aborted; run handed back');
      else log.info({ why, refusal: back }, 'delivery aborted; the run had already moved on');
      return { status: 'requeued', runId, why };
    }
    // An error of a worker whose claim moved on (its uploads removed by the new owner) is not the run's.
    const movedTo = await claimMovedTo().catch(() => null);
    if (movedTo !== null) return await superseded(movedTo);
    const error = destination.classify(err);
    if (error.retryable && attempt < maxAttempts) {
      const retryInSeconds = deliveryBackoffSeconds(attempt);
      const retried = await scheduleDeliveryRetry(
        db,
        runId,
        delivery.id,
        { code: error.code, message: error.message, retryInSeconds },
        claim,
      );
      if (!retried.ok && retried.reason === 'claim_lost') return await superseded(retried.claim);
      log.warn({ attempt, code: error.code, retryInSeconds }, 'delivery failed; will retry');
      observeDelivery('retry', startedAt, { errorClass: error.code });
      return { status: 'retry', runId, deliveryId: delivery.id, retryInSeconds, error };
    }
    log.warn({ attempt, code: error.code }, 'delivery failed for good');
    return await failRun(error.code, error.message, error.retryable);
  } finally {
    await watch.finish();
  }
}
