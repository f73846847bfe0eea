// Opaque pagination cursors: a base64url wrapper around a list position (created_at to the
// microsecond, id). A position names a place in the newest-first order, not an offset, so files
// arriving between two page requests (always newer) never shift or repeat what follows.
import type { ListPosition } from '@/db/queries/export-files';
import { AppError } from '@/lib/http/errors';

const INSTANT = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeCursor(p: ListPosition): string {
  return Buffer.from(`v1|${p.createdAt}|${p.id}`, 'utf8').toString('base64url');
}

function invalid(field = 'cursor'): AppError {
  const message = 'is not a cursor this API issued: pass next_cursor from the previous page unchanged';
  return new AppError('validation_failed', `Invalid query: ${field}: ${message}`, { fields: [{ path: field, message }] });
}

/** The position a cursor names; 422 for anything this API did not issue. */
export function decodeCursor(cursor: string, field = 'cursor'): ListPosition {
  if (!/^[A-Za-z0-9_-]{1,300}$/.test(cursor)) throw invalid(field);
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (parts.length !== 3 || parts[0] !== 'v1') throw invalid(field);
  const [, createdAt, id] = parts;
  const m = INSTANT.exec(createdAt);
  if (!m || !GUID.test(id)) throw invalid(field);
  // A real calendar instant (no 2026-02-31), in a range PostgreSQL and Date agree on.
  const year = Number(m[1]);
  const ms = Date.parse(createdAt.slice(0, 23) + 'Z');
  if (year < 1970 || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== createdAt.slice(0, 19)) throw invalid(field);
  return { createdAt, id: id.toLowerCase() };
}
