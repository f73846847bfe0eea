// Rows a management route names by path id, within the request's program (ctx.program): other
// programs' rows, deleted rows and rows that never existed are answered alike: 404.
import type { Db } from '@/db/client';
import { findConnection } from '@/db/queries/connections';
import type { Connection } from '@/db/schema';
import { AppError } from '@/lib/http/errors';
import { idParams, parsePathParams } from '@/lib/http/params';
import type { RouteParams } from '@/lib/auth/with-auth';

/** The `{id}` of a management path; 404 "<what> not found." when it is not an id. */
export function pathId(params: RouteParams, what: string): string {
  return parsePathParams(params, idParams, `${what} not found.`).id;
}

/** The (not deleted) connection `{id}` of the program, or 404. */
export async function connectionOf(db: Db, programId: number, params: RouteParams): Promise<Connection> {
  const connection = await findConnection(db, { programId, id: pathId(params, 'Connection') });
  if (!connection) throw new AppError('not_found', 'Connection not found.');
  return connection;
}
