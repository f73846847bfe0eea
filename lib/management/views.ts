// The management API's JSON: connections, runs, historical requests and Activity Log entries as
// the pages and API clients read them (snake_case, never a secret). Assembled here so every
// route answers a connection or a run in exactly one shape.
import type { DbOrTx } from '@/db/client';
import { listLastFinishedRuns, listDeliveriesOfRuns, listFilesOfRuns, type LastDelivery } from '@/db/queries/runs';
import type { AuditEntry, Connection, Delivery, ExportFile, ExportRun, HistoricalRequest } from '@/db/schema';
import { now } from '@/lib/clock';
import { describeSftpDestination } from '@/lib/notify';
import { windowsEndingIn } from '@/lib/windows';
import { expiredFileOf } from '@/lib/runs/retry';

export type ConnectionJson = {
  id: string;
  program_id: number;
  kind: Connection['kind'];
  name: string | null;
  status: Connection['status'];
  pause_mode: Connection['pauseMode'];
  frequency: Connection['frequency'];
  format: Connection['format'];
  start_date: Date;
  end_date: Date | null;
  contact_emails: string[];
  sftp: {
    host: string;
    port: number;
    folder: string;
    username: string;
    auth_method: Connection['authMethod'];
    host_key_fingerprint: string | null;
  } | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
  last_tested_at: Date | null;
  planned_through: Date | null;
  last_delivery: { run_id: string; status: ExportRun['status']; finished_at: Date } | null;
  next_window: { start: Date; end: Date } | null;
};

const FAR_FUTURE = new Date(8.64e15);

/** The next window the planner has not written yet; null once the connection is stopped, ended or deleted. */
export function nextWindow(c: Connection): { start: Date; end: Date } | null {
  if (c.deletedAt || c.status === 'stopped' || c.status === 'ended') return null;
  const [w] = windowsEndingIn({ frequency: c.frequency, startDate: c.startDate, endDate: c.endDate }, c.plannedThrough, FAR_FUTURE, 1);
  return w ?? null;
}

export function connectionJson(c: Connection, last: LastDelivery | undefined): ConnectionJson {
  return {
    id: c.id,
    program_id: c.programId,
    kind: c.kind,
    name: c.name,
    status: c.status,
    pause_mode: c.pauseMode,
    frequency: c.frequency,
    format: c.format,
    start_date: c.startDate,
    end_date: c.endDate,
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
          }
        : null,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    deleted_at: c.deletedAt,
    last_tested_at: c.lastTestedAt,
    planned_through: c.plannedThrough,
    last_delivery: last ? { run_id: last.runId, status: last.status, finished_at: last.finishedAt } : null,
    next_window: nextWindow(c),
  };
}

/** Connections of one program as JSON, with each one's last finished run. */
export async function connectionsJson(db: DbOrTx, programId: number, list: Connection[]): Promise<ConnectionJson[]> {
  const last = await listLastFinishedRuns(db, { programId, connectionIds: list.map((c) => c.id) });
  const byConnection = new Map(last.map((l) => [l.connectionId, l]));
  return list.map((c) => connectionJson(c, byConnection.get(c.id)));
}

export async function oneConnectionJson(db: DbOrTx, c: Connection): Promise<ConnectionJson> {
  const [json] = await connectionsJson(db, c.programId, [c]);
  return json;
}

export type RunJson = ReturnType<typeof runJson>;

/** Whether the event history offers "Retry" for a run, and why not when it does not (the rules of retryRun). */
export function retryOf(run: ExportRun, files: ExportFile[], at: Date = now()): { allowed: boolean; reason: string | null } {
  if (run.status !== 'failed') return { allowed: false, reason: `Only failed runs can be retried; this one is ${run.status}.` };
  const expired = expiredFileOf(run, files, at);
  if (expired) return { allowed: false, reason: `Files expired on ${expired.expiresAt.toISOString().slice(0, 10)}` };
  return { allowed: true, reason: null };
}

function destinationOf(connection: Connection | undefined, attempts: Delivery[]): string | null {
  const latest = attempts.at(-1);
  if (latest) return latest.destination;
  if (!connection) return null;
  if (connection.kind === 'api') return 'Export API';
  return describeSftpDestination({
    host: connection.sftpHost ?? '',
    port: connection.sftpPort ?? 22,
    username: connection.sftpUsername ?? '',
    folder: connection.sftpFolder ?? '',
  });
}

export function runJson(run: ExportRun, files: ExportFile[], attempts: Delivery[], connection: Connection | undefined) {
  return {
    id: run.id,
    connection_id: run.connectionId,
    export_type: run.exportType,
    historical_request_id: run.historicalRequestId,
    window_start: run.windowStart,
    window_end: run.windowEnd,
    status: run.status,
    automated: run.exportType === 'incremental',
    attempt: run.attempt,
    rows_total: run.rowsTotal,
    bytes_total: run.bytesTotal,
    files_count: run.filesCount,
    error_code: run.errorCode,
    error_message: run.errorMessage,
    next_attempt_at: run.nextAttemptAt,
    created_at: run.createdAt,
    started_at: run.startedAt,
    generated_at: run.generatedAt,
    finished_at: run.finishedAt,
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
      expires_at: f.expiresAt,
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
      started_at: d.startedAt,
      finished_at: d.finishedAt,
    })),
    retry: retryOf(run, files),
  };
}

/** Runs of one program as JSON, with their files and delivery attempts (two queries for the page). */
export async function runsJson(db: DbOrTx, programId: number, runs: ExportRun[], connections: Map<string, Connection>): Promise<RunJson[]> {
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

export function historicalRequestJson(h: HistoricalRequest) {
  return {
    id: h.id,
    connection_id: h.connectionId,
    range_start: h.rangeStart,
    range_end: h.rangeEnd,
    status: h.status,
    chunks_total: h.chunksTotal,
    chunks_done: h.chunksDone,
    rows_exported: h.rowsExported,
    error: h.error,
    created_at: h.createdAt,
    updated_at: h.updatedAt,
    finished_at: h.finishedAt,
  };
}

export type ActivityEntryJson = {
  id: string;
  at: Date;
  actor: string;
  action: string;
  target_type: string;
  target_id: string | null;
  target_name?: string;
  /** The connection the entry is about: the target itself, or the connection of a run or historical request. */
  connection_id: string | null;
  before: unknown;
  after: unknown;
  details: unknown;
};

export function auditEntryJson(e: AuditEntry, connectionId: string | null, targetName?: string): ActivityEntryJson {
  return {
    id: String(e.id),
    at: e.at,
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
export function failedDeliveryJson(d: Delivery, targetName?: string): ActivityEntryJson {
  return {
    id: d.id,
    at: d.finishedAt ?? d.startedAt,
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
