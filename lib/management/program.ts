// Which program a management API request is about: `?program=<id>` (or `program_id` in a create
// body, as the first clients sent it), else the caller's only program. Programs the caller cannot
// see, and programs that do not exist, are answered alike: 404.
import { z } from 'zod';
import type { Db } from '@/db/client';
import { findConnection } from '@/db/queries/connections';
import type { Connection } from '@/db/schema';
import { resolveProgram, type Actor } from '@/lib/auth/actor';
import { AppError } from '@/lib/http/errors';

const programParam = z.coerce
  .number({ error: 'program must be a program id (a number).' })
  .int('program must be a program id (a whole number).')
  .positive('program must be a program id (a positive number).')
  .max(Number.MAX_SAFE_INTEGER);

function field(path: string, message: string): AppError {
  return new AppError('validation_failed', `Invalid query: ${path}: ${message}`, { fields: [{ path, message }] });
}

/** The program of `req`: checked against the caller's programs (404) and, for callers who see all, against the database. */
export async function programOf(req: Request, actor: Actor, db: Db, fromBody?: number): Promise<number> {
  const raw = new URL(req.url).searchParams.get('program');
  let requested: number | undefined = fromBody;
  if (raw !== null && raw !== '') {
    const parsed = programParam.safeParse(raw);
    if (!parsed.success) throw field('program', parsed.error.issues[0]?.message ?? 'invalid');
    if (fromBody !== undefined && fromBody !== parsed.data)
      throw field('program', `?program=${parsed.data} and program_id ${fromBody} disagree.`);
    requested = parsed.data;
  }
  return resolveProgram(db, actor, requested);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path id: anything that is not a UUID names nothing (404, never a database error). */
export function idParam(value: string | string[] | undefined, what: string): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw new AppError('not_found', `${what} not found.`);
  return value.toLowerCase();
}

/** The (not deleted) connection `id` of the program, or 404. */
export async function connectionOf(db: Db, programId: number, id: string | string[] | undefined): Promise<Connection> {
  const connection = await findConnection(db, { programId, id: idParam(id, 'Connection') });
  if (!connection) throw new AppError('not_found', 'Connection not found.');
  return connection;
}
