// The pages' API client: one fetch helper that adds ?program=, and turns
// {error:{code,message,details}} into an ApiError the forms can show next to their fields. The
// answers' types are the z.infer types of the API's response schemas (lib/management/responses.ts,
// lib/export-api/schemas.ts, lib/auth/api-access-schemas.ts).

import type { ErrorResponse, FieldError } from '@/lib/http/schemas';

export type { FieldError };

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly details: unknown,
  ) {
    super(message);
  }
  /** Field-level messages of a 422, keyed by the field path ("host", "auth.password", "contact_emails.0"). */
  get fields(): Record<string, string> {
    const out: Record<string, string> = {};
    const list = (this.details as { fields?: FieldError[] } | null)?.fields;
    if (Array.isArray(list)) for (const f of list) if (f && typeof f.path === 'string' && !(f.path in out)) out[f.path] = f.message;
    return out;
  }
}

/** `path` plus `?program=…` (and any query), as every management call needs. */
export function apiUrl(path: string, program: number, query: Record<string, string | number | undefined | null> = {}): string {
  const q = new URLSearchParams({ program: String(program) });
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  return `${path}?${q.toString()}`;
}

export async function api<T>(
  path: string,
  program: number,
  init: { method?: string; body?: unknown; query?: Record<string, string | number | undefined | null> } = {},
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(apiUrl(path, program, init.query), {
      method: init.method ?? 'GET',
      headers: init.body !== undefined ? { 'content-type': 'application/json' } : undefined,
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError('The server could not be reached. Check your connection and try again.', 0, 'network', null);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const err = (json as Partial<ErrorResponse> | null)?.error;
    const fallback =
      res.status === 404
        ? 'Not found.'
        : res.status === 403
          ? 'Your role cannot do this.'
          : res.status === 401
            ? 'Your session has ended. Sign in again.'
            : `The server answered ${res.status}.`;
    throw new ApiError(err?.message ?? fallback, res.status, err?.code ?? String(res.status), err?.details ?? null);
  }
  return json as T;
}

export type { PageOf as Page } from '@/lib/http/schemas';
