// Folders: one per run that has files — its window, export type, files with sizes and checksums —
// and the whole folder as one streamed zip: each data file followed by its .sha256 sidecar, the
// manifest last (the order a consumer watching a folder expects). The .gz, .xlsx and .parquet files are
// stored as they are (already compressed); sidecars and the manifest are deflated. Nothing is held
// in memory: entries are opened one at a time as the zip is read.
import { Readable } from 'node:stream';
import { ZipArchive } from 'archiver';
import type { Db } from '@/db/client';
import { findConnection } from '@/db/queries/connections';
import { listRunFolders } from '@/db/queries/export-files';
import { findRun, listFilesOfRuns } from '@/db/queries/runs';
import type { ExportType } from '@/db/schema/enums';
import type { ExportFile } from '@/db/schema/exports';
import { now } from '@/lib/clock';
import { sidecarContent, sidecarName, signatureName, windowStamp } from '@/lib/exports';
import { AppError } from '@/lib/http/errors';
import { toWebStream } from '@/lib/http/streams';
import { childLogger } from '@/lib/logger';
import { getStorage, type Storage } from '@/lib/storage';
import { pageOf } from '@/lib/http/page';
import type { PageOf } from '@/lib/http/schemas';
import { folderCursor } from './cursor';
import { attachment } from './download';
import { downloadLink, expiredError, isExpired } from './files';
import { apiLink, type LinkBase } from './links';
import type { FolderView } from './schemas';

/** `<programID>-<mm-dd-yyyy-hh>-<export type>`: the window start, as in the file names. */
export function folderName(file: Pick<ExportFile, 'programId' | 'windowStart' | 'exportType'>): string {
  return `${file.programId}-${windowStamp(file.windowStart)}-${file.exportType}`;
}

/** Data files by name, the manifest last. */
function inFolderOrder(files: ExportFile[]): ExportFile[] {
  return [...files].sort((a, b) => Number(a.fileType === 'manifest') - Number(b.fileType === 'manifest') || a.name.localeCompare(b.name));
}

function folderView(runId: string, connectionId: string | null, files: ExportFile[], base: LinkBase, at: Date): FolderView {
  const ordered = inFolderOrder(files);
  const first = ordered[0];
  const expiresAt = ordered.reduce((min, f) => (f.expiresAt < min ? f.expiresAt : min), first.expiresAt);
  const createdAt = ordered.reduce((max, f) => (f.createdAt > max ? f.createdAt : max), first.createdAt);
  return {
    run_id: runId,
    program_id: first.programId,
    connection_id: connectionId,
    name: folderName(first),
    export_type: first.exportType,
    window_start: first.windowStart.toISOString(),
    window_end: first.windowEnd.toISOString(),
    created_at: createdAt.toISOString(),
    expires_at: expiresAt.toISOString(),
    expired: ordered.some((f) => isExpired(f, at)),
    file_count: ordered.length,
    total_rows: ordered.filter((f) => f.fileType !== 'manifest').reduce((n, f) => n + f.rows, 0),
    total_bytes: ordered.reduce((n, f) => n + f.bytes, 0),
    files: ordered.map((f) => {
      const expired = isExpired(f, at);
      return {
        id: f.id,
        name: f.name,
        file_type: f.fileType,
        rows: f.rows,
        bytes: f.bytes,
        sha256: f.sha256,
        format: f.format,
        compression: f.compression,
        expired,
        download_url: expired ? null : downloadLink(f, base, at).url,
        signature: f.fileType === 'manifest' ? f.signature : null,
      };
    }),
    archive_url: apiLink(base, `/api/v1/folders/${runId}/archive`),
  };
}

/**
 * A page of a program's folders, newest first: all of them, or one connection's (filtered in the
 * query, so every page is full). A connection the program does not have (another program's, a
 * deleted one, none at all) is "not found", never an empty list that looks like "no folders yet".
 * `onlyConnections` (an API client's own, ctx.clientFeeds) narrows both: any other connection is
 * "not found" alike, and folders of no connection are never listed.
 */
export async function pageFolders(
  db: Db,
  params: {
    programId: number;
    limit: number;
    cursor?: string;
    includeExpired: boolean;
    connectionId?: string;
    exportType?: ExportType;
    base: LinkBase;
    onlyConnections?: readonly string[];
  },
): Promise<PageOf<FolderView>> {
  const at = now();
  const after = params.cursor ? folderCursor.decode(params.cursor) : undefined;
  const only = params.onlyConnections;
  if (
    params.connectionId &&
    ((only && !only.includes(params.connectionId)) || !(await findConnection(db, { programId: params.programId, id: params.connectionId })))
  ) {
    throw new AppError('not_found', `Connection ${params.connectionId} was not found.`);
  }
  if (only && only.length === 0) return { data: [], has_more: false, next_cursor: null };
  const runs = await listRunFolders(db, {
    programId: params.programId,
    at,
    limit: params.limit + 1,
    after,
    includeExpired: params.includeExpired,
    connectionId: params.connectionId,
    connectionIds: only,
    exportType: params.exportType,
  });
  const page = pageOf(runs, params.limit, folderCursor, (r) => r.position);
  const files = await listFilesOfRuns(db, { programId: params.programId, runIds: page.rows.map((r) => r.runId) });
  const byRun = new Map<string, ExportFile[]>();
  for (const f of files) byRun.set(f.runId, [...(byRun.get(f.runId) ?? []), f]);
  return {
    data: page.rows.filter((r) => byRun.has(r.runId)).map((r) => folderView(r.runId, r.connectionId, byRun.get(r.runId)!, params.base, at)),
    has_more: page.has_more,
    next_cursor: page.next_cursor,
  };
}

/** A stream that opens its source only when first read, so a zip's entries do not all hold files open. */
function opened(open: () => Promise<Readable>): Readable {
  return Readable.from(
    (async function* () {
      const source = await open();
      for await (const chunk of source) yield chunk as Buffer;
    })(),
  );
}

type ZipEntry = { name: string; store: boolean; date: Date; open: () => Promise<Readable> };

/** The entries of a run's zip, in order; 404 without files, 410 once any of them has expired or lost its bytes. */
async function archiveEntries(storage: Storage, files: ExportFile[], at: Date): Promise<ZipEntry[]> {
  const entries: ZipEntry[] = [];
  for (const f of inFolderOrder(files)) {
    if (isExpired(f, at)) throw expiredError(f);
    if (!(await storage.stat(f.storageKey))) throw expiredError({ ...f, expiredAt: at });
    const compressed = f.compression === 'gzip' || f.format === 'xlsx' || f.format === 'parquet';
    // The manifest's signature just before it, from its record.
    const signature = f.fileType === 'manifest' ? f.signature : null;
    if (signature)
      entries.push({
        name: signatureName(f.name),
        store: false,
        date: f.createdAt,
        open: async () => Readable.from([Buffer.from(signature)]),
      });
    entries.push({ name: f.name, store: compressed, date: f.createdAt, open: () => storage.get(f.storageKey) });
    if (f.fileType === 'manifest') continue;
    // A sidecar's content is a function of the checksum and name: built here, not read from storage.
    entries.push({
      name: sidecarName(f.name),
      store: false,
      date: f.createdAt,
      open: async () => Readable.from([Buffer.from(sidecarContent(f.sha256, f.name))]),
    });
  }
  return entries;
}

/**
 * The zip of one run of a program, as a streamed response. With `onlyConnections` (an API client's
 * own), a run of any other connection is "not found", as a run that does not exist.
 */
export async function folderArchive(
  db: Db,
  params: { programId: number; runId: string; onlyConnections?: readonly string[] },
): Promise<Response> {
  const notFound = () => new AppError('not_found', `Folder ${params.runId} was not found.`);
  if (params.onlyConnections) {
    const run = await findRun(db, { programId: params.programId, id: params.runId });
    if (!run?.connectionId || !params.onlyConnections.includes(run.connectionId)) throw notFound();
  }
  const files = await listFilesOfRuns(db, { programId: params.programId, runIds: [params.runId] });
  if (files.length === 0) throw notFound();
  const storage = getStorage();
  const entries = await archiveEntries(storage, files, now());
  const zip = new ZipArchive({ zlib: { level: 6 } });
  const log = childLogger({ module: 'export-api', runId: params.runId });
  zip.on('warning', (err) => log.warn({ err: { message: err.message, code: err.code } }, 'zip warning'));
  zip.on('error', (err) => log.error({ err: { message: err.message, code: err.code } }, 'zip failed'));
  for (const e of entries) zip.append(opened(e.open), { name: e.name, store: e.store, date: e.date });
  void zip.finalize().catch(() => undefined);
  return new Response(toWebStream(zip as unknown as Readable), {
    status: 200,
    headers: {
      'content-type': 'application/zip',
      'content-disposition': attachment(`${folderName(files[0])}.zip`),
      'cache-control': 'private, no-store',
      'x-content-type-options': 'nosniff',
    },
  });
}
