// Which program an Export API request is about, and the links its answers carry.
import type { Db } from '@/db/client';
import { findExistingProgramIds } from '@/db/queries/auth';
import { requireProgram, type Actor } from '@/lib/auth/actor';
import { AppError } from '@/lib/http/errors';

/**
 * The one program a request reads: `?program=` when given (404 for a program the caller cannot
 * see, or that does not exist), else the caller's only program. Callers that reach several
 * programs must say which (422).
 */
export async function resolveExportProgram(db: Db, actor: Actor, requested: number | undefined): Promise<number> {
  if (requested === undefined) {
    if (actor.programs !== 'all' && actor.programs.length === 1) return actor.programs[0];
    const message = actor.programs !== 'all' && actor.programs.length === 0 ? 'this caller has no programs' : 'this caller reaches more than one program; say which with ?program=<id>';
    throw new AppError('validation_failed', `Invalid query: program: ${message}`, { fields: [{ path: 'program', message }] });
  }
  requireProgram(actor, requested);
  // Callers that see every program learn about a missing one the same way (404).
  if (actor.programs === 'all' && (await findExistingProgramIds(db, [requested])).length === 0) {
    throw new AppError('not_found', `Program ${requested} was not found.`);
  }
  return requested;
}

/** Builds the absolute links in an answer: same origin as the request, `?program=` kept when it was given. */
export type LinkBase = { origin: string; program?: number };

export function linkBase(req: Request, program: number | undefined): LinkBase {
  return { origin: new URL(req.url).origin, program };
}

export function apiLink(base: LinkBase, path: string): string {
  return `${base.origin}${path}${base.program !== undefined ? `?program=${base.program}` : ''}`;
}
