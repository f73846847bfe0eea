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

const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The origin the caller used: X-Forwarded-Host / Host and X-Forwarded-Proto (a reverse proxy's),
 * else the request URL's. Next.js builds request URLs from its own listening address, not from the
 * Host header, so links made from req.url alone would point at the server's bind address.
 */
export function publicOrigin(req: Request): string {
  const url = new URL(req.url);
  const host = (req.headers.get('x-forwarded-host') ?? req.headers.get('host'))?.split(',')[0].trim();
  if (!host || !HOST.test(host)) return url.origin;
  const forwarded = req.headers.get('x-forwarded-proto')?.split(',')[0].trim();
  const proto = forwarded === 'https' || forwarded === 'http' ? forwarded : url.protocol.slice(0, -1);
  return `${proto}://${host}`;
}

export function linkBase(req: Request, program: number | undefined): LinkBase {
  return { origin: publicOrigin(req), program };
}

export function apiLink(base: LinkBase, path: string): string {
  return `${base.origin}${path}${base.program !== undefined ? `?program=${base.program}` : ''}`;
}
