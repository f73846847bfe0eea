// The links an Export API answer carries: absolute, on the origin the caller used, keeping ?program= when it was given.

import { publicOrigin } from '@/lib/http/origin';

/** Builds the absolute links in an answer: same origin as the request, `?program=` kept when it was given. */
export type LinkBase = { origin: string; program?: number };

export function linkBase(req: Request, program: number | undefined): LinkBase {
  return { origin: publicOrigin(req), program };
}

export function apiLink(base: LinkBase, path: string): string {
  return `${base.origin}${path}${base.program !== undefined ? `?program=${base.program}` : ''}`;
}
