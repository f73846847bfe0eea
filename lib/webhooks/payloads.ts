// The bodies DDE sends, as Standard Webhooks suggests: { type, timestamp, data }. They name the
// connection, run, window and files; never a password, key, token or signing secret.
import type { Connection, ExportFile, ExportRun } from '@/db/schema';
import { connectionDisplayName } from '@/lib/describe-connection';
import { API_FILE_TYPES } from '@/lib/export-api/schemas';

export type WebhookBody = { type: string; timestamp: string; data: Record<string, unknown> };

const API_TYPE_OF = Object.fromEntries(Object.entries(API_FILE_TYPES).map(([api, file]) => [file, api])) as Record<string, string>;

function connectionPart(c: Pick<Connection, 'id' | 'programId' | 'kind' | 'name' | 'sftpHost'>) {
  return { id: c.id, program_id: c.programId, kind: c.kind, name: connectionDisplayName(c) };
}

function runPart(r: ExportRun) {
  return { id: r.id, export_type: r.exportType, status: r.status, historical_request_id: r.historicalRequestId };
}

const windowPart = (r: ExportRun) => ({ start: r.windowStart.toISOString(), end: r.windowEnd.toISOString() });

/**
 * files.ready: a run's files are on the SFTP server (SFTP) or collectable from the export API (API).
 * Sent for an empty window too (its files are the manifest alone, rows 0), with the window's place in
 * its sequence and the manifest's detached signature, so a webhook-driven pipeline sees every window.
 */
export function filesReadyBody(at: Date, c: Connection, r: ExportRun, files: ExportFile[], baseUrl: string): WebhookBody {
  const origin = new URL(baseUrl).origin;
  return {
    type: 'files.ready',
    timestamp: at.toISOString(),
    data: {
      connection: connectionPart(c),
      run: runPart(r),
      window: windowPart(r),
      export_type: r.exportType,
      sequence: r.sequence,
      empty: files.every((f) => f.fileType === 'manifest'),
      manifest_signature: files.find((f) => f.fileType === 'manifest')?.signature ?? null,
      files: files.map((f) => ({
        name: f.name,
        type: f.fileType,
        rows: f.rows,
        bytes: f.bytes,
        sha256: f.sha256,
        ...(f.fileType === 'manifest' ? { signature: f.signature } : {}),
        ...(c.kind === 'api' && API_TYPE_OF[f.fileType]
          ? { metadata_url: `${origin}/api/v1/data_exports/${API_TYPE_OF[f.fileType]}/${f.id}` }
          : {}),
      })),
    },
  };
}

export type FailureInfo = { errorClass: string; title: string; message: string; whatToDo: string; retryable: boolean; attempts: number };

/** delivery.failed: a run failed for good (its export or its delivery), with what to do about it. */
export function deliveryFailedBody(at: Date, c: Connection, r: ExportRun, f: FailureInfo, retryPossibleUntil?: Date): WebhookBody {
  return {
    type: 'delivery.failed',
    timestamp: at.toISOString(),
    data: {
      connection: connectionPart(c),
      run: runPart(r),
      window: windowPart(r),
      export_type: r.exportType,
      error: { class: f.errorClass, title: f.title, message: f.message, retryable: f.retryable },
      attempts: f.attempts,
      what_to_do: f.whatToDo,
      retry_possible_until: retryPossibleUntil?.toISOString() ?? null,
    },
  };
}

export type PauseInfo = { pausedBy: string; reason: string; consecutiveFailedWindows?: number };

/** connection.paused: who or what paused the connection, and why. */
export function connectionPausedBody(at: Date, c: Connection, p: PauseInfo): WebhookBody {
  return {
    type: 'connection.paused',
    timestamp: at.toISOString(),
    data: {
      connection: connectionPart(c),
      paused_by: p.pausedBy,
      reason: p.reason,
      ...(p.consecutiveFailedWindows !== undefined ? { consecutive_failed_windows: p.consecutiveFailedWindows } : {}),
      paused_at: at.toISOString(),
    },
  };
}

/** webhook.test: what "Send test" sends, so a receiver can check its signature verification. */
export function testBody(at: Date, c: Connection, endpointId: string): WebhookBody {
  return {
    type: 'webhook.test',
    timestamp: at.toISOString(),
    data: {
      connection: connectionPart(c),
      endpoint_id: endpointId,
      message: 'A test message from DDE. Verify its signature with your secret.',
    },
  };
}
