// Path parameters of the Export API. A path that names nothing that can exist (an unknown type, an
// id that is not an id) is "not found" (404), like an id of another program; never 422 or 500.
import type { z } from 'zod';
import { AppError } from '@/lib/http/errors';
import type { RouteParams } from '@/lib/http/with-auth';

const NOT_FOUND: Record<string, (value: string) => string> = {
  type: (v) => `There is no export type "${v}": the types are users, campaigns and activities.`,
  file_id: (v) => `Export file ${v} was not found.`,
  run_id: (v) => `Folder ${v} was not found.`,
};

/** The path parameters validated by `schema`; 404 (or `invalid`'s error) when they cannot name anything. */
export function parsePathParams<S extends z.ZodObject>(params: RouteParams, schema: S, invalid?: () => AppError): z.infer<S> {
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  if (invalid) throw invalid();
  const field = String(result.error.issues[0]?.path[0] ?? '');
  const raw = params[field];
  const value = (Array.isArray(raw) ? raw.join('/') : (raw ?? '')).slice(0, 80);
  throw new AppError('not_found', NOT_FOUND[field]?.(value) ?? 'Not found.');
}
