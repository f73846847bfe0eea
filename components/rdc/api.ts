// The management API as the pages see it: typed shapes, one fetch helper that unwraps {data} and
// turns {error:{code,message,details}} into an ApiError the forms can show next to their fields.

export type ConnectionStatus = 'active' | 'pausing' | 'paused' | 'stopped' | 'ended';
export type Frequency = 'every_4_hours' | 'daily' | 'weekly' | 'monthly';

export type Connection = {
  id: string;
  program_id: number;
  kind: 'sftp' | 'api';
  name: string | null;
  status: ConnectionStatus;
  pause_mode: string | null;
  frequency: Frequency;
  format: string | null;
  start_date: string;
  end_date: string | null;
  contact_emails: string[];
  sftp: { host: string; port: number; folder: string; username: string; auth_method: string; host_key_fingerprint: string | null } | null;
  created_at: string;
  updated_at: string;
  last_tested_at: string | null;
  planned_through: string | null;
  last_delivery: { run_id: string; status: string; finished_at: string | null } | null;
  next_window: { start: string; end: string } | null;
};

export type TestStep = {
  step: string;
  label: string;
  status: 'ok' | 'failed' | 'skipped';
  detail?: string;
  error?: { code: string; message: string };
};
export type TestResult = {
  ok: boolean;
  hostKeyFingerprint?: string;
  steps: TestStep[];
  error?: { code?: string; message?: string } | string;
};

export type RunFile = {
  id: string;
  name: string;
  file_type: string;
  rows: number;
  bytes: number;
  sha256: string;
  format: string;
  expires_at: string | null;
  expired: boolean;
};
export type Delivery = {
  id: string;
  attempt: number;
  status: string;
  trigger: string;
  error_code: string | null;
  error_message: string | null;
  retryable: boolean;
  bytes: number | null;
  files: number | null;
  started_at: string | null;
  finished_at: string | null;
};
export type Run = {
  id: string;
  export_type: string;
  window_start: string;
  window_end: string;
  status: string;
  automated: boolean;
  rows_total: number | null;
  bytes_total: number | null;
  files_count: number | null;
  error_code: string | null;
  error_message: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  destination: string | null;
  files: RunFile[];
  deliveries: Delivery[];
  retry: { allowed: boolean; reason: string | null };
};
export type StatPoint = { window_start: string; window_end: string; rows: number; bytes: number; lag_seconds: number | null };
export type HistoricalRequest = {
  id: string;
  range_start: string;
  range_end: string;
  status: string;
  chunks_total: number;
  chunks_done: number;
  rows_exported: number;
  error: string | null;
  created_at: string;
  finished_at: string | null;
};
export type ActivityEntry = {
  id: string;
  at: string;
  actor: string | { label?: string; email?: string; name?: string } | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  target_name?: string | null;
  connection_id: string | null;
  before: unknown;
  after: unknown;
  details: unknown;
};
export type AppConfig = { egress_info: unknown; retention_days: number; max_history_months: number; signed_url_ttl_seconds: number };
export type FolderFile = {
  id: string;
  name: string;
  file_type: string;
  rows: number;
  bytes: number;
  sha256: string;
  format: string;
  compression?: string;
  expired: boolean;
  download_url: string | null;
};
export type Folder = {
  run_id: string;
  program_id: number;
  connection_id: string | null;
  name: string;
  export_type: string;
  window_start: string;
  window_end: string;
  created_at: string;
  expires_at: string;
  expired: boolean;
  file_count: number;
  total_rows: number;
  total_bytes: number;
  files: FolderFile[];
  archive_url: string;
};
export type ApiClient = {
  id: string;
  client_id: string;
  name: string;
  program_id: number;
  scopes: string[];
  status: 'active' | 'revoked';
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
};
export type PersonalToken = {
  id: string;
  name: string | null;
  token_prefix: string;
  scopes: string[];
  status: 'active' | 'expired' | 'revoked';
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
};

export type FieldError = { path: string; message: string };

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
    const err = (json as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
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

export type Page<T> = { data: T[]; next_cursor: string | null };
