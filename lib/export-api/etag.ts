// Cheap polling: the Export API's JSON answers carry an ETag computed over their stable content —
// ids, checksums, windows and statuses, not the signed download links that change every request —
// so `If-None-Match` with the last ETag answers 304 without a body while nothing has changed.
import { createHash } from 'node:crypto';

/** Fields that differ on every request for the same content. */
const VOLATILE = new Set(['download_url', 'download_url_expires_at', 'archive_url']);

/** The ETag of an answer: a hash of its JSON without the volatile fields. */
export function etagOf(body: unknown): string {
  const stable = JSON.stringify(body, (key, value: unknown) => (VOLATILE.has(key) ? undefined : value));
  return `"${createHash('sha256').update(stable).digest('base64url').slice(0, 32)}"`;
}

/** True when If-None-Match names `etag` (or is `*`); weak and strong forms compare alike. */
export function matchesIfNoneMatch(req: Request, etag: string): boolean {
  const header = req.headers.get('if-none-match');
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => bare(t) === bare(etag));
}

/** `body` as JSON with its ETag, or 304 Not Modified when the request's If-None-Match names it. */
export function jsonWithEtag(req: Request, body: unknown): Response {
  const etag = etagOf(body);
  const headers = { 'cache-control': 'no-store', etag };
  if (matchesIfNoneMatch(req, etag)) return new Response(null, { status: 304, headers });
  return Response.json(body, { headers });
}
