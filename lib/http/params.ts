// The parameters every API route shares, one schema each: the program a request is about
// (`?program=`), page size (`limit`), page position (`cursor`), and path ids. Path parameters that
// cannot name anything (an id that is not an id, an unknown type) are "not found" (404), like an id
// of another program; never 422 or 500. Client-safe: zod only.
import { z } from 'zod';
import { AppError } from './errors';
import type { RouteParams } from '@/lib/auth/with-auth';

const PROGRAM_ID = 'must be a program id (a positive whole number)';

/** A program id in a JSON body. */
export const programIdSchema = z
  .number({ error: PROGRAM_ID })
  .int(PROGRAM_ID)
  .positive(PROGRAM_ID)
  .max(Number.MAX_SAFE_INTEGER, PROGRAM_ID);

/** `?program=<id>`: which program a request is about. withAuth({ program }) resolves it. */
export const programParam = z.coerce
  .number({ error: PROGRAM_ID })
  .int(PROGRAM_ID)
  .positive(PROGRAM_ID)
  .max(Number.MAX_SAFE_INTEGER, PROGRAM_ID)
  .optional()
  .describe('The program. Needed only when the token or account reaches more than one program.');

export const programQuery = z.object({ program: programParam });

/** `schema` plus the `program` parameter. */
export const withProgram = <S extends z.ZodObject>(schema: S) => schema.extend(programQuery.shape);

/** `limit`: items per page, from 1 to `max`. */
export function limitParam(max: number, fallback: number, items = 'Items') {
  const message = `must be a whole number from 1 to ${max}`;
  return z.coerce
    .number({ error: message })
    .int(message)
    .min(1, message)
    .max(max, message)
    .default(fallback)
    .describe(`${items} per page, 1–${max} (default ${fallback}).`);
}

/** `cursor`: the next_cursor of the previous page, passed unchanged. */
export const cursorParam = z.string().max(300).optional().describe('next_cursor of the previous page.');

/** A path id: a UUID, lower-cased. */
export const uuidParam = z.guid().transform((v) => v.toLowerCase());

/** The `{id}` of a path. */
export const idParams = z.object({ id: uuidParam.describe('The id.') });

/** What a path names when it names nothing: one message for the whole path, or one per parameter. */
export type NotFound<K extends string> = string | { [F in K]?: string | ((value: string) => string) };

/** The path parameters validated by `schema`; 404 with `notFound`'s message when they cannot name anything. */
export function parsePathParams<S extends z.ZodObject>(
  params: RouteParams,
  schema: S,
  notFound: NotFound<keyof z.infer<S> & string>,
): z.infer<S> {
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  const field = String(result.error.issues[0]?.path[0] ?? '');
  const raw = params[field];
  const value = (Array.isArray(raw) ? raw.join('/') : (raw ?? '')).slice(0, 80);
  const message =
    typeof notFound === 'string' ? notFound : (notFound as Record<string, string | ((v: string) => string) | undefined>)[field];
  throw new AppError('not_found', typeof message === 'function' ? message(value) : (message ?? 'Not found.'));
}
