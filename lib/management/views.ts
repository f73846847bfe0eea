// The management API's JSON: connections, runs, historical requests and Activity Log entries as
// the pages and API clients read them (snake_case, never a secret). Assembled here so every
// route answers a connection or a run in exactly one shape: the one its schema in
// lib/management/responses.ts describes (each view is typed from it).
import type { DbOrTx } from '@/db/client';
import {
  listDeliveriesOfRuns,
  listFilesOfRuns,
  listRunsOfRequests,
  listDeliveryTimings,
  listLastFinishedRuns,
  type LastDelivery,
} from '@/db/queries/runs';
import type {
  AuditEntry,
  Connection as ConnectionRow,
  Delivery,
  ExportFile,
  ExportRun,
  HistoricalRequest as HistoricalRequestRow,
} from '@/db/schema';
import { now } from '@/lib/clock';
import { destinationFor } from '@/lib/destinations';
import { env } from '@/lib/env';
import {
  CATCH_UP_SLACK_MS,
  nextDelivery,
  nextWindowOf,
  PLANNER_TICK_MS,
  RECENT_LAGS,
  type DeliveryTimings,
} from '@/lib/scheduling/next-delivery';
import { expiredFileOf } from '@/lib/runs/retry';
import { historicalProgressOf, runProgressOf } from './progress';
import type { ActivityEntry, Connection, HistoricalMonth, HistoricalProgress, HistoricalRequest, Run } from './responses';

const iso = (d: Date) => d.toISOString();
const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * The next window the planner has not written yet — after an edit of the schedule, the first window
 * of the new one; null once the connection is stopped, ended or deleted.
 */
export function nextWindow(c: ConnectionRow): { start: Date; end: Date } | null {
  if (c.deletedAt || c.status === 'stopped' || c.status === 'ended') return null;
  return nextWindowOf(c) ?? null;
}

const settleMs = () => env().settleMinutes * 60_000;

export function connectionJson(
  c: ConnectionRow,
  last: LastDelivery | undefined,
  timings: DeliveryTimings = { recentLagsMs: [] },
): Connection {
  const next = nextWindow(c);
  const delivery = nextDelivery(c, timings, { now: now(), settleMs: settleMs() });
  return {
    id: c.id,
    program_id: c.programId,
    kind: c.kind,
    name: c.name,
    status: c.status,
    pause_mode: c.pauseMode,
    frequency: c.frequency,
    format: c.format,
    start_date: iso(c.startDate),
    end_date: isoOrNull(c.endDate),
    contact_emails: c.contactEmails,
    sftp:
      c.kind === 'sftp'
        ? {
            host: c.sftpHost ?? '',
            port: c.sftpPort ?? 22,
            folder: c.sftpFolder ?? '',
            username: c.sftpUsername ?? '',
            auth_method: c.authMethod,
            host_key_fingerprint: c.hostKeyFingerprint,
            pgp_key: c.pgpKeyFingerprint
              ? { fingerprint: c.pgpKeyFingerprint, user_ids: c.pgpKeyUserIds ?? [], expires_at: isoOrNull(c.pgpKeyExpiresAt) }
              : null,
          }
        : null,
    destination: { pushes: destinationFor(c.kind).pushes, label: destinationFor(c.kind).describe(c), settings: c.destination ?? null },
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
    deleted_at: isoOrNull(c.deletedAt),
    last_tested_at: isoOrNull(c.lastTestedAt),
    planned_through: isoOrNull(c.plannedThrough),
    last_delivery: last ? { run_id: last.runId, status: last.status, finished_at: iso(last.finishedAt) } : null,
    next_window: next ? { start: iso(next.start), end: iso(next.end) } : null,
    next_delivery: delivery
      ? {
          window_start: iso(delivery.window.start),
          window_end: iso(delivery.window.end),
          expected_at: iso(delivery.expectedAt),
          lag_seconds: Math.round(delivery.lagMs / 1000),
          lag_from_history: delivery.fromHistory,
          in_flight: delivery.inFlight,
        }
      : null,
  };
}

/** Connections of one program as JSON, with each one's last finished run and when its next files are expected. */
export async function connectionsJson(db: DbOrTx, programId: number, list: ConnectionRow[]): Promise<Connection[]> {
  const connectionIds = list.map((c) => c.id);
  const [last, timings] = await Promise.all([
    listLastFinishedRuns(db, { programId, connectionIds }),
    listDeliveryTimings(db, {
      programId,
      connectionIds: list.filter((c) => c.status === 'active' && !c.deletedAt).map((c) => c.id),
      liveWithinMs: settleMs() + PLANNER_TICK_MS + CATCH_UP_SLACK_MS,
      limit: RECENT_LAGS,
      since: new Date(now().getTime() - 30 * 86_400_000),
    }),
  ]);
  const byConnection = new Map(last.map((l) => [l.connectionId, l]));
  return list.map((c) =>
    connectionJson(c, byConnection.get(c.id), {
      recentLagsMs: timings.lags.get(c.id) ?? [],
      oldestUnfinished: timings.unfinished.get(c.id) ?? null,
    }),
  );
}

export async function oneConnectionJson(db: DbOrTx, c: ConnectionRow): Promise<Connection> {
  const [json] = await connectionsJson(db, c.programId, [c]);
  return json;
}

/** Whether the event history offers "Retry" for a run, and why not when it does not (the rules of retryRun). */
export function retryOf(run: ExportRun, files: ExportFile[], at: Date = now()): { allowed: boolean; reason: string | null } {
  if (run.status !== 'failed') return { allowed: false, reason: `Only failed runs can be retried; this one is ${run.status}.` };
  const expired = expiredFileOf(run, files, at);
  if (expired) return { allowed: false, reason: `Files expired on ${expired.expiresAt.toISOString().slice(0, 10)}` };
  return { allowed: true, reason: null };
}

function destinationOf(connection: ConnectionRow | undefined, attempts: Delivery[]): string | null {
  const latest = attempts.at(-1);
  if (latest) return latest.destination;
  if (!connection) return null;
  return destinationFor(connection.kind).describe(connection);
}

export function runJson(run: ExportRun, files: ExportFile[], attempts: Delivery[], connection: ConnectionRow | undefined): Run {
  return {
    id: run.id,
    connection_id: run.connectionId,
    export_type: run.exportType,
    historical_request_id: run.historicalRequestId,
    window_start: iso(run.windowStart),
    window_end: iso(run.windowEnd),
    status: run.status,
    automated: run.exportType === 'incremental',
    attempt: run.attempt,
    rows_total: run.rowsTotal,
    bytes_total: run.bytesTotal,
    files_count: run.filesCount,
    error_code: run.errorCode,
    error_message: run.errorMessage,
    next_attempt_at: isoOrNull(run.nextAttemptAt),
    created_at: iso(run.createdAt),
    started_at: isoOrNull(run.startedAt),
    generated_at: isoOrNull(run.generatedAt),
    finished_at: isoOrNull(run.finishedAt),
    destination: destinationOf(connection, attempts),
    files: files.map((f) => ({
      id: f.id,
      name: f.name,
      file_type: f.fileType,
      part: f.part,
      rows: f.rows,
      bytes: f.bytes,
      sha256: f.sha256,
      format: f.format,
      compression: f.compression,
      expires_at: iso(f.expiresAt),
      expired: f.expired || f.expiresAt.getTime() <= now().getTime(),
    })),
    deliveries: attempts.map((d) => ({
      id: d.id,
      attempt: d.attempt,
      status: d.status,
      trigger: d.trigger,
      destination: d.destination,
      error_code: d.errorCode,
      error_message: d.errorMessage,
      retryable: d.retryable,
      bytes: d.bytes,
      files: d.files,
      started_at: iso(d.startedAt),
      finished_at: isoOrNull(d.finishedAt),
    })),
    progress: runProgressOf(run, attempts),
    retry: retryOf(run, files),
  };
}

/** Runs of one program as JSON, with their files and delivery attempts (two queries for the page). */
export async function runsJson(db: DbOrTx, programId: number, runs: ExportRun[], connections: Map<string, ConnectionRow>): Promise<Run[]> {
  const runIds = runs.map((r) => r.id);
  const [files, attempts] = await Promise.all([
    listFilesOfRuns(db, { programId, runIds }),
    listDeliveriesOfRuns(db, { programId, runIds }),
  ]);
  const group = <T extends { runId: string }>(rows: T[]) => {
    const m = new Map<string, T[]>();
    for (const r of rows) m.set(r.runId, [...(m.get(r.runId) ?? []), r]);
    return m;
  };
  const filesByRun = group(files);
  const attemptsByRun = group(attempts);
  return runs.map((r) => runJson(r, filesByRun.get(r.id) ?? [], attemptsByRun.get(r.id) ?? [], connections.get(r.connectionId)));
}

/** A historical request's month being exported or delivered, with its progress. */
export function historicalMonthJson(run: ExportRun, attempts: Delivery[]): HistoricalMonth {
  return {
    run_id: run.id,
    window_start: iso(run.windowStart),
    window_end: iso(run.windowEnd),
    status: run.status,
    progress: runProgressOf(run, attempts),
  };
}

/** `inProgress`: its months being exported or delivered now (historicalMonthJson); `progress`: its weighted progress (historicalProgressOf). */
export function historicalRequestJson(
  h: HistoricalRequestRow,
  inProgress: HistoricalMonth[] = [],
  progress: HistoricalProgress | null = null,
): HistoricalRequest {
  return {
    id: h.id,
    connection_id: h.connectionId,
    range_start: iso(h.rangeStart),
    range_end: iso(h.rangeEnd),
    status: h.status,
    chunks_total: h.chunksTotal,
    chunks_done: h.chunksDone,
    rows_exported: h.rowsExported,
    months_in_progress: inProgress,
    progress,
    error: h.error,
    created_at: iso(h.createdAt),
    updated_at: iso(h.updatedAt),
    finished_at: isoOrNull(h.finishedAt),
  };
}

/**
 * Historical requests of one connection as JSON: each with its progress weighted by its months' rows
 * and bytes (and the time left), the open ones with their months in flight now. `pushes`: whether DDE
 * delivers the connection's files (the upload is part of the work).
 */
export async function historicalRequestsJson(
  db: DbOrTx,
  programId: number,
  list: HistoricalRequestRow[],
  pushes: boolean,
): Promise<HistoricalRequest[]> {
  const runs = await listRunsOfRequests(db, { programId, requestIds: list.map((h) => h.id) });
  const attempts = await listDeliveriesOfRuns(db, { programId, runIds: runs.filter((r) => r.status === 'delivering').map((r) => r.id) });
  return list.map((h) => {
    const months = runs.filter((r) => r.historicalRequestId === h.id);
    const open = h.status === 'pending' || h.status === 'running';
    const inFlight = open ? months.filter((r) => r.status === 'generating' || r.status === 'delivering') : [];
    return historicalRequestJson(
      h,
      inFlight.map((r) =>
        historicalMonthJson(
          r,
          attempts.filter((d) => d.runId === r.id),
        ),
      ),
      historicalProgressOf(h, months, attempts, pushes),
    );
  });
}

export function auditEntryJson(e: AuditEntry, connectionId: string | null, targetName?: string): ActivityEntry {
  return {
    id: String(e.id),
    at: iso(e.at),
    actor: e.actorLabel,
    action: e.action,
    target_type: e.targetType,
    target_id: e.targetId,
    ...(targetName !== undefined ? { target_name: targetName } : {}),
    connection_id: connectionId,
    before: e.before,
    after: e.after,
    details: e.details,
  };
}

/** A failed delivery attempt as an Activity Log entry ("delivery.failed", by the system). */
export function failedDeliveryJson(d: Delivery, targetName?: string): ActivityEntry {
  return {
    id: d.id,
    at: iso(d.finishedAt ?? d.startedAt),
    actor: 'system',
    action: 'delivery.failed',
    target_type: 'connection',
    target_id: d.connectionId,
    ...(targetName !== undefined ? { target_name: targetName } : {}),
    connection_id: d.connectionId,
    before: null,
    after: null,
    details: {
      error_code: d.errorCode,
      error_message: d.errorMessage,
      attempt: d.attempt,
      run_id: d.runId,
      destination: d.destination,
      retryable: d.retryable,
    },
  };
}
