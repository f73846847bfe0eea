// Serving a signed download link: the stored bytes, streamed, with Content-Length, ETag (the
// file's SHA-256), Range requests (one range → 206; unsatisfiable → 416; several → the whole file,
// as RFC 9110 allows) and Content-Disposition. A link past its expiry → 403 saying so; a forged one
// → 403; a file that has expired → 410 saying when.
import type { Db } from '@/db/client';
import { findExportFile } from '@/db/queries/export-files';
import type { ExportFile } from '@/db/schema/exports';
import { now } from '@/lib/clock';
import { AppError } from '@/lib/http/errors';
import { toWebStream } from '@/lib/http/streams';
import { getStorage } from '@/lib/storage';
import { expiredError, isExpired } from './files';
import { verifyDownload } from './signed-links';

/** Life of the presigned object-store URL a signed link redirects to (DDE_S3_PRESIGN=true). */
const PRESIGNED_SECONDS = 60;

export type RangeRequest = { kind: 'whole' } | { kind: 'part'; start: number; end: number } | { kind: 'unsatisfiable' };

/** One `Range: bytes=…` against a size. Anything this server does not serve as a part means the whole file. */
export function parseRange(header: string | null, size: number): RangeRequest {
  if (!header) return { kind: 'whole' };
  const m = /^\s*bytes\s*=\s*(\d{0,16})\s*-\s*(\d{0,16})\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'whole' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'part', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? Infinity : Number(m[2]);
  if (end < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'part', start, end: Math.min(end, size - 1) };
}

export function contentTypeOf(file: Pick<ExportFile, 'format' | 'compression'>): string {
  if (file.compression === 'gzip') return 'application/gzip';
  if (file.format === 'xlsx') return 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  if (file.format === 'parquet') return 'application/vnd.apache.parquet';
  if (file.format === 'json') return 'application/json';
  if (file.format === 'jsonl') return 'application/jsonl';
  return 'text/csv; charset=utf-8';
}

export function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

function etagMatches(header: string | null, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '');
    return v === '*' || v === etag;
  });
}

/** The file a signed link grants, or the error its holder gets (403 expired/forged, 404, 410). */
export async function fileForLink(db: Db, signed: string): Promise<ExportFile> {
  const at = now();
  const check = verifyDownload(signed, at);
  if (!check.ok) {
    if (check.reason === 'expired') {
      throw new AppError(
        'forbidden',
        `This download link expired at ${check.expiredAt.toISOString()}. Ask the API for the file again to get a new link.`,
        { link_expired_at: check.expiredAt.toISOString() },
      );
    }
    throw new AppError('forbidden', 'This download link is not valid. Use the download_url the API returned, unchanged.');
  }
  const file = await findExportFile(db, { programId: check.link.programId, id: check.link.fileId });
  if (!file) throw new AppError('not_found', 'The export file of this link was not found.');
  if (isExpired(file, at)) throw expiredError(file);
  return file;
}

/** The response to GET (or HEAD) of a signed link. */
export async function serveDownload(db: Db, req: Request, signed: string): Promise<Response> {
  const file = await fileForLink(db, signed);
  const storage = getStorage();
  const stored = await storage.stat(file.storageKey);
  if (!stored) throw expiredError({ ...file, expiredAt: now() });
  // DDE_S3_PRESIGN=true: the bytes come straight from the object store, through a short-lived URL.
  const redirect = await storage.downloadRedirect?.(file.storageKey, {
    expiresIn: PRESIGNED_SECONDS,
    contentDisposition: attachment(file.name),
    contentType: contentTypeOf(file),
  });
  if (redirect) return new Response(null, { status: 302, headers: { location: redirect, 'cache-control': 'private, no-store' } });
  const size = stored.size;
  const etag = `"${file.sha256}"`;
  const headers = new Headers({
    'content-type': contentTypeOf(file),
    'content-disposition': attachment(file.name),
    etag,
    'accept-ranges': 'bytes',
    'cache-control': 'private, no-cache',
    'last-modified': file.createdAt.toUTCString(),
    'x-content-type-options': 'nosniff',
  });
  if (etagMatches(req.headers.get('if-none-match'), etag)) return new Response(null, { status: 304, headers });

  const ifRange = req.headers.get('if-range');
  const range = ifRange && ifRange.trim() !== etag ? ({ kind: 'whole' } as const) : parseRange(req.headers.get('range'), size);
  if (range.kind === 'unsatisfiable') {
    throw new AppError(
      'range_not_satisfiable',
      `The requested range is not satisfiable: the file is ${size} bytes.`,
      { size },
      {
        'content-range': `bytes */${size}`,
      },
    );
  }
  const head = req.method === 'HEAD';
  if (range.kind === 'part') {
    headers.set('content-range', `bytes ${range.start}-${range.end}/${size}`);
    headers.set('content-length', String(range.end - range.start + 1));
    const body = head ? null : toWebStream(await storage.get(file.storageKey, { start: range.start, end: range.end }));
    return new Response(body, { status: 206, headers });
  }
  headers.set('content-length', String(size));
  const body = head || size === 0 ? null : toWebStream(await storage.get(file.storageKey));
  return new Response(body, { status: 200, headers });
}
