// Opaque pagination cursors, one format for every list of both APIs: base64url of
// "<kind>|<position…>", where a position is the sort key of the last item shown (an id, a serial,
// or a creation instant and id). A position names a place in the list's order, not an offset, so
// items arriving between two page requests never shift or repeat what follows. A cursor of another
// list, or anything this API did not issue, is refused with 422 on the `cursor` field.
import { AppError } from './errors';

/** Encodes a position as cursor parts and back; `decode` returns null for parts it did not make. */
export type PositionCodec<T> = { encode: (position: T) => string[]; decode: (parts: string[]) => T | null };

export type CursorCodec<T> = { encode: (position: T) => string; decode: (cursor: string, field?: string) => T };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INSTANT = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function invalid(field: string): AppError {
  const message = 'is not a cursor this API issued: pass next_cursor from the previous page unchanged';
  return new AppError('validation_failed', `Invalid query: ${field}: ${message}`, { fields: [{ path: field, message }] });
}

/** The cursor codec of one list (`kind` tells lists apart, so one list's cursor is refused by another). */
export function cursorCodec<T>(kind: string, position: PositionCodec<T>): CursorCodec<T> {
  return {
    encode: (p) => Buffer.from([kind, ...position.encode(p)].join('|'), 'utf8').toString('base64url'),
    decode: (cursor, field = 'cursor') => {
      if (!/^[A-Za-z0-9_-]{1,300}$/.test(cursor)) throw invalid(field);
      const [k, ...parts] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
      const decoded = k === kind ? position.decode(parts) : null;
      if (decoded === null) throw invalid(field);
      return decoded;
    },
  };
}

/** A UUID position (lists ordered by id). */
export const uuidPosition: PositionCodec<string> = {
  encode: (id) => [id],
  decode: (parts) => (parts.length === 1 && UUID.test(parts[0]) ? parts[0].toLowerCase() : null),
};

/** A serial (bigint id) position. */
export const serialPosition: PositionCodec<number> = {
  encode: (id) => [String(id)],
  decode: (parts) => (parts.length === 1 && /^\d{1,15}$/.test(parts[0]) ? Number(parts[0]) : null),
};

/** A (created_at to the microsecond, id) position: lists ordered newest first by creation. */
export type InstantPosition = { createdAt: string; id: string };

export const instantPosition: PositionCodec<InstantPosition> = {
  encode: (p) => [p.createdAt, p.id],
  decode: (parts) => {
    if (parts.length !== 2) return null;
    const [createdAt, id] = parts;
    const m = INSTANT.exec(createdAt);
    if (!m || !UUID.test(id)) return null;
    // A real calendar instant (no 2026-02-31), in a range PostgreSQL and Date agree on.
    const ms = Date.parse(createdAt.slice(0, 23) + 'Z');
    if (Number(m[1]) < 1970 || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== createdAt.slice(0, 19)) return null;
    return { createdAt, id: id.toLowerCase() };
  },
};
