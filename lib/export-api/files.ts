// Export files through the API, one API connection's feed at a time: the file of the connection's
// newest closed window, a newest-first page, one by id — each with a signed download link. Only
// available files (not expired) are listed; asking for an expired one by id answers 410 with when
// it expired.
import type { Db } from '@/db/client';
import { findFeedFile, findLatestExportFile, findWindowFiles, listExportFiles } from '@/db/queries/export-files';
import type { ExportFile, ExportType } from '@/db/schema/exports';
import { now } from '@/lib/clock';
import { windowAt, type Schedule, type Window } from '@/lib/windows';
import { env } from '@/lib/env';
import { AppError } from '@/lib/http/errors';
import { pageOf } from '@/lib/http/page';
import type { PageOf } from '@/lib/http/schemas';
import { fileCursor } from './cursor';
import type { FeedConnection } from './feed';
import type { LinkBase } from './links';
import {
  API_FILE_TYPES,
  type ApiFileType,
  type ExportFileView,
  type LatestFileResponse,
  type LatestWindow,
  type ListFilesQuery,
  type WindowStatus,
} from './schemas';
import { signDownload } from './signed-links';

const API_TYPE_OF: Record<string, ApiFileType> = Object.fromEntries(
  Object.entries(API_FILE_TYPES).map(([api, file]) => [file, api as ApiFileType]),
);

/** The signed download link of a file, valid for DDE_SIGNED_URL_TTL_SECONDS from `at`. */
export function downloadLink(
  file: Pick<ExportFile, 'id' | 'programId'>,
  base: LinkBase,
  at: Date,
): { url: string; expiresAt: Date; ttlSeconds: number } {
  const ttlSeconds = env().signedUrlTtlSeconds;
  const { token, expiresAt } = signDownload({ fileId: file.id, programId: file.programId, ttlSeconds, at });
  return { url: `${base.origin}/api/v1/downloads/${token}`, expiresAt, ttlSeconds };
}

export function exportFileView(file: ExportFile, connectionId: string, base: LinkBase, at: Date): ExportFileView {
  const link = downloadLink(file, base, at);
  return {
    id: file.id,
    program_id: file.programId,
    connection_id: connectionId,
    run_id: file.runId,
    name: file.name,
    type: API_TYPE_OF[file.fileType],
    file_type: file.fileType,
    export_type: file.exportType,
    part: file.part,
    window_start: file.windowStart.toISOString(),
    window_end: file.windowEnd.toISOString(),
    rows: file.rows,
    bytes: file.bytes,
    sha256: file.sha256,
    format: file.format,
    compression: file.compression,
    created_at: file.createdAt.toISOString(),
    expires_at: file.expiresAt.toISOString(),
    download_url: link.url,
    download_url_expires_at: link.expiresAt.toISOString(),
    presigned_url_ttl_seconds: link.ttlSeconds,
  };
}

/** True when a file's bytes are (or are about to be) gone: marked expired, or past expires_at. */
export function isExpired(file: Pick<ExportFile, 'expired' | 'expiresAt'>, at: Date): boolean {
  return file.expired || file.expiresAt.getTime() <= at.getTime();
}

/** 410 for an expired file, saying when it expired. */
export function expiredError(file: Pick<ExportFile, 'name' | 'expiresAt' | 'expiredAt'>): AppError {
  const when = (file.expiredAt && file.expiredAt < file.expiresAt ? file.expiredAt : file.expiresAt).toISOString();
  return new AppError('gone', `The export file ${file.name} expired at ${when}; its bytes have been deleted.`, {
    name: file.name,
    expired_at: when,
  });
}

/** The newest window of `schedule` that has closed (ended) by `at`, or undefined before the first one closes. */
export function newestClosedWindow(schedule: Schedule, at: Date): Window | undefined {
  const probe = Math.min(at.getTime(), schedule.endDate?.getTime() ?? Infinity) - 1;
  let w = windowAt(schedule, new Date(probe));
  if (w && w.end.getTime() > at.getTime()) w = windowAt(schedule, new Date(w.start.getTime() - 1));
  return w;
}

function windowOf(w: Window, status: WindowStatus): LatestWindow {
  return { start: w.start.toISOString(), end: w.end.toISOString(), status };
}

/**
 * `latest`: the file of a type of the connection's newest closed window — never an older window's.
 * When that window had no rows of the type, `data` is null and the window says `empty`; while it is
 * not exported yet (no run yet, planned, generating, within the settle delay) it says `pending`.
 * With `export_type=historical`: the connection's newest historical file.
 */
export async function latestExportFile(
  db: Db,
  params: { programId: number; feed: FeedConnection | null; type: ApiFileType; exportType?: ExportType; base: LinkBase },
): Promise<LatestFileResponse> {
  const at = now();
  const { feed } = params;
  if (!feed) return { data: null, window: null };
  const fileType = API_FILE_TYPES[params.type];
  if (params.exportType === 'historical') {
    const file = await findLatestExportFile(db, {
      programId: params.programId,
      connectionId: feed.id,
      fileType,
      exportType: 'historical',
      at,
    });
    if (!file) return { data: null, window: null };
    return {
      data: exportFileView(file, feed.id, params.base, at),
      window: windowOf({ start: file.windowStart, end: file.windowEnd }, 'available'),
    };
  }
  const window = newestClosedWindow(feed, at);
  if (!window) return { data: null, window: null };
  const run = await findWindowFiles(db, { connectionId: feed.id, windowStart: window.start, fileType, at });
  if (!run) return { data: null, window: windowOf(window, 'pending') };
  if (run.available) return { data: exportFileView(run.available, feed.id, params.base, at), window: windowOf(window, 'available') };
  if (run.expired) return { data: null, window: windowOf(window, 'expired') };
  switch (run.status) {
    case 'planned':
    case 'generating':
      return { data: null, window: windowOf(window, 'pending') };
    case 'failed':
    case 'cancelled':
      return { data: null, window: windowOf(window, 'failed') };
    default:
      // empty, or exported without a file of this type (no rows of it in the window).
      return { data: null, window: windowOf(window, 'empty') };
  }
}

/** A page of the connection's available files of a type, newest first, and the cursor of the next (older) page. */
export async function pageExportFiles(
  db: Db,
  params: { programId: number; feed: FeedConnection | null; type: ApiFileType; query: ListFilesQuery; base: LinkBase },
): Promise<PageOf<ExportFileView>> {
  const { query, feed } = params;
  if (!feed) return { data: [], has_more: false, next_cursor: null };
  const after = query.cursor ? fileCursor.decode(query.cursor) : undefined;
  const at = now();
  const rows = await listExportFiles(db, {
    programId: params.programId,
    connectionId: feed.id,
    fileType: API_FILE_TYPES[params.type],
    at,
    limit: query.limit + 1,
    after,
    since: query.since,
    until: query.until,
    exportType: query.export_type,
  });
  const page = pageOf(rows, query.limit, fileCursor, (f) => f.position);
  return {
    data: page.rows.map((f) => exportFileView(f, feed.id, params.base, at)),
    has_more: page.has_more,
    next_cursor: page.next_cursor,
  };
}

/** One file of a type of the connection by id: 404 when the feed has no such file of that type, 410 when it expired. */
export async function getExportFile(
  db: Db,
  params: { programId: number; feed: FeedConnection | null; type: ApiFileType; fileId: string; base: LinkBase },
): Promise<ExportFileView> {
  const { feed } = params;
  const file = feed ? await findFeedFile(db, { programId: params.programId, connectionId: feed.id, id: params.fileId }) : undefined;
  if (!feed || !file || file.fileType !== API_FILE_TYPES[params.type])
    throw new AppError('not_found', `Export file ${params.fileId} was not found.`);
  const at = now();
  if (isExpired(file, at)) throw expiredError(file);
  return exportFileView(file, feed.id, params.base, at);
}
