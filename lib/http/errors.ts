// One error type for the whole product. Codes map to HTTP statuses in one place; every error
// response has the same JSON shape: { error: { code, message, details? }, request_id }.
import { ZodError } from 'zod';
import type { ErrorResponse } from './schemas';

export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  password_change_required: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  validation_failed: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    public readonly details?: unknown,
    /** Extra response headers (e.g. Retry-After on 429). */
    public readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/**
 * The fields whose bad value a message repeats as it was typed: plain settings people type or pick.
 * Any other value (a server address, which may carry a password; a URL, which may carry a token; a
 * key) is never echoed.
 */
const ECHOED_FIELDS = new Set([
  'name',
  'frequency',
  'format',
  'start_date',
  'end_date',
  'range_start',
  'range_end',
  'from',
  'to',
  'port',
  'kind',
  'status',
  'export_type',
  'file_type',
  'type',
  'report_mode',
  'auto_pause_after',
  'program',
  'connection',
  'limit',
  'days',
  'role',
  'scope',
  'action',
  'target_type',
  'events',
  'include_expired',
  // A cloud destination's names and choices (never its endpoint, a URL that may carry a token).
  'bucket',
  'region',
  'prefix',
  'container',
  'account',
  'provider',
  'sse',
  'storage_class',
]);

/** A field path in people's words: "contact_emails.1" → "Contact emails", "auth.private_key" → "Private key". */
export function fieldLabel(path: (string | number | symbol)[]): string | null {
  const name = [...path].reverse().find((p) => typeof p === 'string' && !/^\d+$/.test(p));
  if (typeof name !== 'string') return null;
  const words = name
    .replace(/_/g, ' ')
    .replace(/\bapi\b/gi, 'API')
    .replace(/\bsftp\b/gi, 'SFTP')
    .replace(/\bpgp\b/gi, 'OpenPGP');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** What `raw` holds at `path`. */
function at(raw: unknown, path: PropertyKey[]): unknown {
  let v = raw;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** The value a person typed, quoted as the message repeats it; null when it is not a short text or number, or may be secret. */
function typedValue(raw: unknown, path: PropertyKey[]): string | null {
  const input = at(raw, path);
  if (typeof input !== 'string' && typeof input !== 'number') return null;
  const name = [...path].reverse().find((p) => typeof p === 'string' && !/^\d+$/.test(p));
  if (typeof name !== 'string' || !ECHOED_FIELDS.has(name)) return null;
  const text = String(input);
  if (text.trim().length === 0) return null;
  return `“${text.length > 60 ? `${text.slice(0, 60)}…` : text}”`;
}

/**
 * zod failures as a 422 that names each field. The message says the first problem as a person reads
 * it: the field's name and, given the `raw` input, the value as it was typed ("Frequency: … (you
 * entered “hourly”)."); `details.fields` keeps each problem under its API path for the forms.
 */
export function validationError(err: ZodError, what = 'request', raw?: unknown): AppError {
  const fields = err.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
  const first = err.issues[0];
  if (!first) return new AppError('validation_failed', `Invalid ${what}.`, { fields });
  const label = fieldLabel(first.path);
  const value = typedValue(raw, first.path);
  const said = value && !first.message.includes(value) ? `${first.message.replace(/\.$/, '')} (you entered ${value}).` : first.message;
  return new AppError('validation_failed', label ? `${label}: ${said}` : `Invalid ${what}: ${said}`, { fields });
}

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof ZodError) return validationError(err);
  return new AppError('internal', 'Something went wrong on our side. The request id identifies it in our logs.');
}

/** The error answer: the one JSON shape (lib/http/schemas.ts), the request id in body and header. */
export function errorResponse(err: AppError, requestId: string): Response {
  const body: ErrorResponse = { error: { code: err.code, message: err.message }, request_id: requestId };
  if (err.details !== undefined) body.error.details = err.details;
  return Response.json(body, {
    status: err.status,
    headers: { 'x-request-id': requestId, 'cache-control': 'no-store', ...(err.headers ?? {}) },
  });
}
