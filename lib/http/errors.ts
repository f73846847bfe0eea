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

/** zod failures as a 422 that names each field. */
export function validationError(err: ZodError, what = 'request'): AppError {
  const fields = err.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
  const first = fields[0];
  const summary = first ? `${first.path}: ${first.message}` : 'invalid input';
  return new AppError('validation_failed', `Invalid ${what}: ${summary}`, { fields });
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
