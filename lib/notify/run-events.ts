// What happens when a run finishes or fails, for the people and pipelines watching its connection:
// the contacts' report (as the connection chose: every run, failures only, or a daily digest), the
// webhooks (files.ready, delivery.failed), and the auto-pause after N consecutive failed windows
// (the contacts and the program's Firstup Super Admins are told why; connection.paused is sent).
// Each occurrence is recorded once (keyed by the run and the moment it finished), so a handler that
// runs twice sends nothing twice, while a run that fails again after a manual retry is reported again.
import type { Database, DbOrTx } from '@/db/client';
import { listProgramSuperAdminEmails } from '@/db/queries/auth';
import {
  AUTO_PAUSE_ACTION,
  findLastAutoPauseAt,
  findLatestPauseOrResume,
  listDigestConnections,
  pauseConnection,
  SYSTEM_ACTOR,
} from '@/db/queries/connections';
import { findLastNotificationAt } from '@/db/queries/notifications';
import {
  countDeliveryAttempts,
  findRunWithConnection,
  listFinishedWindowStatuses,
  listRunFiles,
  listRunsFinishedBetween,
} from '@/db/queries/runs';
import { kindPushes, type Connection, type ExportRun, type ReportMode } from '@/db/schema';
import { now } from '@/lib/clock';
import { connectionDisplayName } from '@/lib/describe-connection';
import { destinationFor } from '@/lib/destinations';
import { pgpDeliveredName } from '@/lib/delivery/pgp';
import { env } from '@/lib/env';
import { childLogger } from '@/lib/logger';
import { tryEnqueue } from '@/lib/queues';
import { connectionPausedBody, deliveryFailedBody, filesReadyBody, queueWebhookEvent, type PauseInfo } from '@/lib/webhooks';
import {
  composeConnectionPaused,
  composeDailyDigest,
  composeDeliveryReport,
  isRetryableRunError,
  runErrorAdvice,
  runErrorCodeOf,
  runErrorTitle,
  type DigestRun,
} from './compose';
import { recordNotification } from './outbox';

/** The kind's default when the connection has not chosen: every run where DDE delivers, failures only where files are collected. */
export function reportModeOf(c: Pick<Connection, 'kind' | 'reportMode'>): ReportMode {
  return c.reportMode ?? (kindPushes(c.kind) ? 'every_run' : 'failures_only');
}

export function destinationLabelOf(c: Connection): string {
  const destination = destinationFor(c.kind);
  return destination.pushes ? destination.describe(c) : 'Export API (files collected by your pipeline)';
}

export function connectionPageUrl(c: Pick<Connection, 'id'>): string {
  return `${new URL(env().nextAuthUrl).origin}/configure/insights/recurring-data-connections/${c.id}`;
}

export type RunEventResult = { notificationId?: string; webhookDeliveryIds: string[]; autoPaused: boolean };

/** A run was delivered (SFTP), made available (API) or found empty: report it and send files.ready. */
export async function onRunFinished(database: Database, runId: string): Promise<RunEventResult> {
  return settle(database, runId);
}

/** A run failed for good (its delivery, or its export): report it, send delivery.failed, maybe auto-pause. */
export async function onRunFailed(database: Database, runId: string): Promise<RunEventResult> {
  return settle(database, runId);
}

/** Never throws: telling people must never undo or block the run's own outcome. */
async function settle(database: Database, runId: string): Promise<RunEventResult> {
  try {
    return await settleRun(database, runId);
  } catch (err) {
    childLogger({ module: 'notify', runId }).error({ err: (err as Error).message }, 'could not record the run’s report or webhooks');
    return { webhookDeliveryIds: [], autoPaused: false };
  }
}

async function settleRun(database: Database, runId: string): Promise<RunEventResult> {
  const { db } = database;
  const log = childLogger({ module: 'notify', runId });
  const result: RunEventResult = { webhookDeliveryIds: [], autoPaused: false };
  const row = await findRunWithConnection(db, runId);
  if (!row) return result;
  const { run, connection } = row;
  if (!['delivered', 'available', 'empty', 'failed'].includes(run.status)) return result;
  const occurrence = `${run.id}:${(run.finishedAt ?? run.updatedAt).toISOString()}`;
  const files = await listRunFiles(db, run);
  const dataFiles = files.filter((f) => f.fileType !== 'manifest');
  const mode = reportModeOf(connection);
  const contacts = connection.contactEmails;
  const base = {
    connectionName: connectionDisplayName(connection),
    destination: destinationLabelOf(connection),
    exportType: run.exportType,
    window: { start: run.windowStart, end: run.windowEnd },
    // Named as in the customer's folder: encrypted files arrive as <name>.pgp.
    files: dataFiles.map((f) => ({ name: connection.pgpPublicKey ? pgpDeliveredName(f.name) : f.name, rows: f.rows, bytes: f.bytes })),
    detailsUrl: connectionPageUrl(connection),
  };
  const at = now();

  {
    if (run.status === 'failed') {
      const code = runErrorCodeOf(run.errorCode);
      const attempts = code === 'export_failed' ? run.attempt : await countDeliveryAttempts(db, run.id);
      const message = run.errorMessage ?? 'The run failed.';
      const retryPossibleUntil = files.reduce<Date | undefined>((min, f) => (!min || f.expiresAt < min ? f.expiresAt : min), undefined);
      if (mode !== 'daily_digest' && contacts.length) {
        const email = composeDeliveryReport({
          ...base,
          outcome: { status: 'failed', errorCode: code, errorMessage: message, attempts, retryPossibleUntil },
        });
        const note = await recordNotification(db, {
          kind: 'delivery_report',
          to: contacts,
          subject: email.subject,
          body: email.text,
          programId: run.programId,
          connectionId: connection.id,
          runId: run.id,
          dedupeKey: `report:${occurrence}`,
        });
        if (note.created) result.notificationId = note.id;
      }
      const body = deliveryFailedBody(
        at,
        connection,
        run,
        {
          errorClass: code,
          title: runErrorTitle(code),
          message,
          whatToDo: runErrorAdvice(code),
          retryable: isRetryableRunError(code),
          attempts,
        },
        retryPossibleUntil,
      );
      result.webhookDeliveryIds.push(
        ...(await queueWebhookEvent(db, {
          programId: run.programId,
          connectionId: connection.id,
          body,
          runId: run.id,
          dedupeKey: `delivery.failed:${occurrence}`,
        })),
      );
      const paused = await autoPauseIfDue(database, connection, run);
      if (paused) {
        result.autoPaused = true;
        result.webhookDeliveryIds.push(...paused.webhookDeliveryIds);
      }
    } else {
      if (mode === 'every_run' && contacts.length && run.status !== 'empty') {
        const finishedAt = run.finishedAt ?? at;
        const email = composeDeliveryReport({
          ...base,
          outcome: run.status === 'available' ? { status: 'available', finishedAt } : { status: 'delivered', finishedAt },
        });
        const note = await recordNotification(db, {
          kind: 'delivery_report',
          to: contacts,
          subject: email.subject,
          body: email.text,
          programId: run.programId,
          connectionId: connection.id,
          runId: run.id,
          dedupeKey: `report:${occurrence}`,
        });
        if (note.created) result.notificationId = note.id;
      }
      const body = filesReadyBody(at, connection, run, files, env().nextAuthUrl);
      result.webhookDeliveryIds.push(
        ...(await queueWebhookEvent(db, {
          programId: run.programId,
          connectionId: connection.id,
          body,
          runId: run.id,
          dedupeKey: `files.ready:${occurrence}`,
        })),
      );
    }
  }
  log.debug({ webhooks: result.webhookDeliveryIds.length, notified: Boolean(result.notificationId) }, 'run reported');
  // Sent within seconds; a lost job is left to the every-minute sweeps.
  for (const deliveryId of result.webhookDeliveryIds) await tryEnqueue(database, 'webhook-deliver', { deliveryId });
  if (result.notificationId || result.autoPaused) await tryEnqueue(database, 'notify', {});
  return result;
}

/** How many windows in a row failed, newest first, counting only windows finished since the last auto-pause. */
export async function consecutiveFailedWindows(db: DbOrTx, connectionId: string, limit: number): Promise<number> {
  const since = await findLastAutoPauseAt(db, connectionId);
  const statuses = await listFinishedWindowStatuses(db, { connectionId, since, limit });
  let n = 0;
  for (const status of statuses) {
    if (status !== 'failed') break;
    n++;
  }
  return n;
}

/**
 * Pauses an active connection whose last `autoPauseAfter` windows all failed (0 = never). It is the
 * admin's "pause after transfer" (db/queries/connections.ts › pauseConnection): the runs being
 * exported or delivered now finish and are delivered first, nothing new starts. Recorded in the
 * Activity Log as done by the system.
 */
async function autoPauseIfDue(
  database: Database,
  connection: Connection,
  run: ExportRun,
): Promise<{ webhookDeliveryIds: string[] } | null> {
  const n = connection.autoPauseAfter;
  if (n <= 0 || run.exportType !== 'incremental' || connection.status !== 'active') return null;
  if ((await consecutiveFailedWindows(database.db, connection.id, n)) < n) return null;
  const code = runErrorCodeOf(run.errorCode);
  const reason = `The last ${n} windows failed in a row (last error: ${runErrorTitle(code)}).`;
  return database.db.transaction(async (tx) => {
    const at = now();
    const pause = await pauseConnection(tx, {
      programId: connection.programId,
      id: connection.id,
      mode: 'after_transfer',
      action: AUTO_PAUSE_ACTION,
      by: SYSTEM_ACTOR,
      at,
      details: {
        reason,
        consecutive_failed_windows: n,
        last_error: { code, message: run.errorMessage },
        run_id: run.id,
      },
    });
    // Someone else paused, stopped or deleted it meanwhile.
    if (!pause.ok) return null;
    const { connection: paused, entry } = pause;
    const to = [...new Set([...connection.contactEmails, ...(await listProgramSuperAdminEmails(tx, connection.programId))])];
    if (to.length) {
      const email = composeConnectionPaused({
        connectionName: connectionDisplayName(connection),
        destination: destinationLabelOf(connection),
        pausedAt: at,
        failedWindows: n,
        lastError: { code, message: run.errorMessage ?? '' },
        detailsUrl: connectionPageUrl(connection),
      });
      await recordNotification(tx, {
        kind: 'connection_paused',
        to,
        subject: email.subject,
        body: email.text,
        programId: connection.programId,
        connectionId: connection.id,
        runId: run.id,
        dedupeKey: `paused:${connection.id}:${entry.id}`,
      });
    }
    const ids = await queueWebhookEvent(tx, {
      programId: connection.programId,
      connectionId: connection.id,
      body: connectionPausedBody(at, paused, { pausedBy: 'system (auto-pause)', reason, consecutiveFailedWindows: n }),
      dedupeKey: `connection.paused:${entry.id}`,
    });
    childLogger({ module: 'notify', connectionId: connection.id }).warn({ failedWindows: n }, 'connection paused itself');
    return { webhookDeliveryIds: ids };
  });
}

/** A connection paused by an admin (or API client): connection.paused to its webhooks. */
export async function onConnectionPaused(database: Database, connection: Connection, pause: PauseInfo): Promise<void> {
  const ids = await queueWebhookEvent(database.db, {
    programId: connection.programId,
    connectionId: connection.id,
    body: connectionPausedBody(now(), connection, pause),
  });
  for (const deliveryId of ids) await tryEnqueue(database, 'webhook-deliver', { deliveryId });
}

/** Why the connection is paused, when it paused itself (its latest pause or resume was the auto-pause). */
export async function autoPauseReason(db: DbOrTx, c: Connection): Promise<{ at: Date; reason: string; details: unknown } | null> {
  if (c.status !== 'paused' && c.status !== 'pausing') return null;
  const last = await findLatestPauseOrResume(db, c);
  if (!last || last.action !== AUTO_PAUSE_ACTION) return null;
  const details = (last.details ?? {}) as { reason?: string };
  return { at: last.at, reason: details.reason ?? 'Repeated failures.', details: last.details };
}

/**
 * The daily digest of every connection that chose it: the runs finished since its last digest (at
 * most a day), one email per connection and day; nothing when no run finished.
 */
export async function sendDailyDigests(database: Database, opts: { signal?: AbortSignal } = {}): Promise<number> {
  const { db } = database;
  const at = now();
  const list = await listDigestConnections(db);
  let sent = 0;
  for (const c of list) {
    if (opts.signal?.aborted) break;
    try {
      if (!c.contactEmails.length) continue;
      const last = await findLastNotificationAt(db, { connectionId: c.id, kind: 'delivery_digest' });
      const dayAgo = new Date(at.getTime() - 86_400_000);
      if (last && last.getTime() > at.getTime() - 20 * 3_600_000) continue;
      const start = last && last > dayAgo ? last : dayAgo;
      const runs = await listRunsFinishedBetween(db, { connectionId: c.id, from: start, to: at });
      if (runs.length === 0) continue;
      const email = composeDailyDigest({
        connectionName: connectionDisplayName(c),
        destination: destinationLabelOf(c),
        day: { start, end: at },
        runs: runs.map((r): DigestRun => ({
          exportType: r.exportType,
          window: { start: r.windowStart, end: r.windowEnd },
          status: r.status as DigestRun['status'],
          rows: r.rowsTotal,
          bytes: r.bytesTotal,
          errorCode: r.status === 'failed' ? runErrorCodeOf(r.errorCode) : undefined,
        })),
        detailsUrl: connectionPageUrl(c),
      });
      const note = await recordNotification(db, {
        kind: 'delivery_digest',
        to: c.contactEmails,
        subject: email.subject,
        body: email.text,
        programId: c.programId,
        connectionId: c.id,
        dedupeKey: `digest:${c.id}:${at.toISOString().slice(0, 10)}`,
      });
      if (note.created) sent++;
    } catch (err) {
      childLogger({ module: 'notify', connectionId: c.id }).error({ err: (err as Error).message }, 'daily digest not recorded');
    }
  }
  return sent;
}
