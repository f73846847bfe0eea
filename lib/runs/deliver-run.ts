// Executes the delivery step of an SFTP run: claim it (generated → delivering), upload its files
// (data files, then their .sha256 sidecars, the manifest last) with the pinned host key, and record
// the attempt in `deliveries` (the event history). Retryable failures come back with a backoff;
// after the last attempt, or on a non-retryable error, the run is failed and the contacts get one
// email. Pause immediately / stop / delete abort the upload and hand the run back.
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { and, asc, eq } from 'drizzle-orm';
import type { Database } from '@/db/client';
import { connections, deliveries, exportFiles, exportRuns, type ExportFile } from '@/db/schema';
import { now } from '@/lib/clock';
import { decryptSecret } from '@/lib/crypto';
import {
  deliverFiles as realDeliverFiles,
  DeliveryError,
  isDeliveryAborted,
  type DeliveryFile,
  type DeliverFilesInput,
  type DeliveryResult,
} from '@/lib/delivery';
import { env } from '@/lib/env';
import { sidecarContent, sidecarName } from '@/lib/exports';
import { childLogger } from '@/lib/logger';
import { observeDelivery } from '@/lib/metrics';
import { composeDeliveryReport, describeSftpDestination, recordNotification, type DeliveryReportInput } from '@/lib/notify';
import { getStorage, type Storage } from '@/lib/storage';
import { watchRun } from './watch';
import { connectionDisplayName, sftpDestinationOf } from '@/lib/connections/describe';

export type DeliverRunOutcome =
  | { status: 'delivered'; runId: string; deliveryId: string; bytes: number; files: number; notificationId?: string }
  | { status: 'retry'; runId: string; deliveryId: string; retryInSeconds: number; error: DeliveryError }
  | { status: 'failed'; runId: string; deliveryId?: string; error: { code: string; message: string }; notificationId?: string }
  | { status: 'requeued'; runId: string; why: string }
  | { status: 'skipped'; runId: string; why: string };

export type DeliverRunOptions = {
  signal?: AbortSignal;
  trigger?: 'schedule' | 'manual';
  maxAttempts?: number;
  storage?: Storage;
  /** Tests pass shorter timeouts. */
  timeouts?: DeliverFilesInput['timeouts'];
  deliver?: (input: DeliverFilesInput) => Promise<DeliveryResult>;
  watchPollMs?: number;
};

/** Backoff before retry `attempt + 1`: 30 s, 1, 2, 4, 8 min … capped at 15 min. */
export function deliveryBackoffSeconds(attempt: number): number {
  return Math.min(30 * 2 ** Math.max(0, attempt - 1), 900);
}

/** The run's files in delivery form: each data file with its sidecar, the manifest last. */
export function deliveryFilesOf(files: ExportFile[], storage: Storage): DeliveryFile[] {
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
  const out: DeliveryFile[] = [];
  const data = files.filter((f) => f.fileType !== 'manifest');
  for (const f of data) out.push({ name: f.name, size: f.bytes, sha256: f.sha256, kind: 'data', ...sourceOf(f.storageKey) });
  for (const f of data) {
    const content = Buffer.from(sidecarContent(f.sha256, f.name));
    out.push({
      name: sidecarName(f.name),
      size: content.length,
      sha256: createHash('sha256').update(content).digest('hex'),
      kind: 'sidecar',
      open: () => Readable.from([content]),
    });
  }
  for (const f of files.filter((x) => x.fileType === 'manifest'))
    out.push({ name: f.name, size: f.bytes, sha256: f.sha256, kind: 'manifest', ...sourceOf(f.storageKey) });
  return out;
}

export async function executeDelivery(database: Database, runId: string, opts: DeliverRunOptions = {}): Promise<DeliverRunOutcome> {
  const { db, sql } = database;
  const log = childLogger({ module: 'runs', runId });
  const storage = opts.storage ?? getStorage();
  const maxAttempts = opts.maxAttempts ?? env().deliveryMaxAttempts;
  const deliver = opts.deliver ?? realDeliverFiles;

  const [claimed] = await sql<{ id: string }[]>`
    update export_runs r set status = 'delivering', next_attempt_at = null, updated_at = now()
    from connections c
    where r.id = ${runId} and c.id = r.connection_id and r.status = 'generated'
      and c.kind = 'sftp' and c.status = 'active' and c.deleted_at is null
    returning r.id`;
  if (!claimed) return { status: 'skipped', runId, why: 'not waiting for delivery, or its connection is not active' };

  const [{ run, connection }] = await db
    .select({ run: exportRuns, connection: connections })
    .from(exportRuns)
    .innerJoin(connections, eq(connections.id, exportRuns.connectionId))
    .where(eq(exportRuns.id, runId));
  const files = await db
    .select()
    .from(exportFiles)
    .where(and(eq(exportFiles.runId, runId), eq(exportFiles.programId, run.programId)))
    .orderBy(asc(exportFiles.fileType), asc(exportFiles.part));
  const destination = sftpDestinationOf(connection);
  const destinationLabel = describeSftpDestination(destination);
  const [{ n: previous }] = await sql<
    { n: number }[]
  >`select count(*)::int as n from deliveries where run_id = ${runId} and status <> 'aborted'`;
  const attempt = previous + 1;
  const [delivery] = await db
    .insert(deliveries)
    .values({
      runId,
      connectionId: connection.id,
      programId: run.programId,
      destination: destinationLabel,
      attempt,
      trigger: opts.trigger ?? 'schedule',
      status: 'running',
      startedAt: now(),
    })
    .returning();

  const reportFiles = files.filter((f) => f.fileType !== 'manifest').map((f) => ({ name: f.name, rows: f.rows, bytes: f.bytes }));
  const connectionName = connectionDisplayName(connection);
  /** Records the run's one delivery report for the contacts; the id when newly recorded (to send now). */
  const report = async (outcome: DeliveryReportInput['outcome']): Promise<string | undefined> => {
    if (!connection.contactEmails.length) return undefined;
    const email = composeDeliveryReport({
      connectionName,
      destination: destinationLabel,
      exportType: run.exportType,
      window: { start: run.windowStart, end: run.windowEnd },
      files: reportFiles,
      outcome,
    });
    const note = await recordNotification(
      database,
      {
        kind: 'delivery_report',
        to: connection.contactEmails,
        subject: email.subject,
        body: email.text,
        programId: run.programId,
        connectionId: connection.id,
        runId,
      },
      { skipIfExists: true },
    );
    return note.created ? note.id : undefined;
  };
  const failRun = async (code: string, message: string, retryable: boolean) => {
    await db
      .update(deliveries)
      .set({ status: 'failed', errorCode: code as never, errorMessage: message, retryable, finishedAt: now() })
      .where(eq(deliveries.id, delivery.id));
    await sql`update export_runs set status = 'failed', error_code = ${code}, error_message = ${message}, finished_at = now(), updated_at = now() where id = ${runId}`;
    observeDelivery('failed', delivery.startedAt ?? now(), { errorClass: code });
    const expiresAt = files.reduce<Date | undefined>((min, f) => (!min || f.expiresAt < min ? f.expiresAt : min), undefined);
    const notificationId = await report({
      status: 'failed',
      errorCode: code as never,
      errorMessage: message,
      attempts: attempt,
      retryPossibleUntil: expiresAt,
    });
    return { status: 'failed' as const, runId, deliveryId: delivery.id, error: { code, message }, notificationId };
  };

  if (files.length === 0 || files.some((f) => f.expired)) {
    return failRun('unknown', 'The files of this run are no longer stored (expired); nothing was delivered.', false);
  }

  const watch = watchRun(
    database,
    { id: runId, connectionId: connection.id, historicalRequestId: run.historicalRequestId },
    { outer: opts.signal, pollMs: opts.watchPollMs },
  );
  try {
    const auth = decryptSecret(connection.secretCiphertext!, connection.id);
    const result = await deliver({
      destination,
      auth,
      pinnedFingerprint: connection.hostKeyFingerprint!,
      files: deliveryFilesOf(files, storage),
      signal: watch.signal,
      timeouts: opts.timeouts,
    });
    const finishedAt = now();
    await db
      .update(deliveries)
      .set({ status: 'succeeded', files: result.files.length, bytes: result.bytes, finishedAt })
      .where(eq(deliveries.id, delivery.id));
    await sql`update export_runs set status = 'delivered', error_code = null, error_message = null, finished_at = now(), updated_at = now() where id = ${runId}`;
    const notificationId = await report({ status: 'delivered', finishedAt });
    log.info({ attempt, files: result.files.length, bytes: result.bytes }, 'delivered');
    observeDelivery('delivered', delivery.startedAt ?? finishedAt, { windowEnd: run.windowEnd });
    return { status: 'delivered', runId, deliveryId: delivery.id, bytes: result.bytes, files: result.files.length, notificationId };
  } catch (err) {
    if (isDeliveryAborted(err) || watch.signal.aborted) {
      const why = watch.reason();
      await db
        .update(deliveries)
        .set({
          status: 'aborted',
          errorMessage:
            why === 'paused'
              ? 'Aborted: the connection was paused immediately.'
              : why === 'cancelled'
                ? 'Aborted: the historical request was cancelled.'
                : 'Aborted: the worker was stopping; the delivery was handed back.',
          finishedAt: now(),
        })
        .where(eq(deliveries.id, delivery.id));
      await sql`update export_runs set status = ${why === 'cancelled' ? 'cancelled' : 'generated'}, updated_at = now() where id = ${runId}`;
      log.info({ why }, 'delivery aborted; run handed back');
      return { status: 'requeued', runId, why };
    }
    const error = err instanceof DeliveryError ? err : new DeliveryError('unknown', (err as Error).message ?? String(err));
    if (error.retryable && attempt < maxAttempts) {
      const retryInSeconds = deliveryBackoffSeconds(attempt);
      await db
        .update(deliveries)
        .set({ status: 'failed', errorCode: error.code, errorMessage: error.message, retryable: true, finishedAt: now() })
        .where(eq(deliveries.id, delivery.id));
      await sql`
        update export_runs set status = 'generated', error_code = ${error.code}, error_message = ${error.message},
          next_attempt_at = now() + make_interval(secs => ${retryInSeconds}), updated_at = now()
        where id = ${runId}`;
      log.warn({ attempt, code: error.code, retryInSeconds }, 'delivery failed; will retry');
      observeDelivery('retry', delivery.startedAt ?? now(), { errorClass: error.code });
      return { status: 'retry', runId, deliveryId: delivery.id, retryInSeconds, error };
    }
    log.warn({ attempt, code: error.code }, 'delivery failed for good');
    return await failRun(error.code, error.message, error.retryable);
  } finally {
    await watch.finish();
  }
}
