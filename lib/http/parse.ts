// Request bodies and query strings, validated with zod. Bad input is refused with a clear status
// before any work is done: 415 (not JSON), 413 (over 1 MB), 400 (malformed JSON), 422 (field paths).
import type { z } from 'zod';
import { AppError, validationError } from './errors';

export const MAX_BODY_BYTES = 1024 * 1024;
const MAX_DEPTH = 64;

/**
 * The body, read chunk by chunk and abandoned as soon as it passes `limit` bytes (a declared
 * Content-Length or a chunked body alike): 413, or the error `refuse` makes (the token endpoint's OAuth shape).
 */
export async function readCappedBody(req: Request, limit: number, refuse: (limit: number) => Error = tooLarge): Promise<Buffer> {
  const declared = req.headers.get('content-length');
  if (declared && Number(declared) > limit) throw refuse(limit);
  if (!req.body) return Buffer.alloc(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw refuse(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function tooLarge(limit: number): AppError {
  return new AppError('payload_too_large', `The request body is larger than ${Math.round(limit / 1024)} KB.`);
}

/** The JSON body of `req`, validated by `schema`. */
export async function parseJson<S extends z.ZodType>(req: Request, schema: S, opts: { maxBytes?: number } = {}): Promise<z.infer<S>> {
  const type = (req.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new AppError('unsupported_media_type', 'Send the request body as JSON with "Content-Type: application/json".');
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(await readCappedBody(req, opts.maxBytes ?? MAX_BODY_BYTES));
  if (text.trim() === '') throw new AppError('bad_request', 'The request body is empty; a JSON object is expected.');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new AppError('bad_request', 'The request body is not valid JSON.');
  }
  const nul = pathOfNul(data);
  if (nul !== null) throw nulError(nul, 'request body');
  // Async: some fields are checked with asynchronous parsers (an OpenPGP key).
  const result = await schema.safeParseAsync(data);
  if (!result.success) throw validationError(result.error, 'request body', data);
  return result.data;
}

/** PostgreSQL text cannot hold NUL: refuse it at the boundary (422) instead of failing at the database (500). */
function pathOfNul(value: unknown, path: string[] = []): string | null {
  if (path.length > MAX_DEPTH) throw new AppError('validation_failed', `Invalid input: nested more than ${MAX_DEPTH} levels deep.`);
  if (typeof value === 'string') return value.includes('\u0000') ? path.join('.') || '(root)' : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = pathOfNul(value[i], [...path, String(i)]);
      if (found !== null) return found;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\u0000')) return [...path, k.replace(/\u0000/g, '\\0')].join('.');
      const found = pathOfNul(v, [...path, k]);
      if (found !== null) return found;
    }
  }
  return null;
}

function nulError(path: string, what: string): AppError {
  const message = 'must not contain NUL characters';
  return new AppError('validation_failed', `Invalid ${what}: ${path}: ${message}`, { fields: [{ path, message }] });
}

/** The query string of `url` as an object (repeated keys become arrays), validated by `schema`. */
export function parseQuery<S extends z.ZodType>(url: string | URL | Request, schema: S): z.infer<S> {
  const u = url instanceof Request ? new URL(url.url) : typeof url === 'string' ? new URL(url, 'http://localhost') : url;
  const raw: Record<string, string | string[]> = {};
  for (const key of new Set(u.searchParams.keys())) {
    const all = u.searchParams.getAll(key);
    raw[key] = all.length > 1 ? all : all[0];
  }
  const nul = pathOfNul(raw);
  if (nul !== null) throw nulError(nul, 'query');
  const result = schema.safeParse(raw);
  if (!result.success) throw validationError(result.error, 'query', raw);
  return result.data;
}
