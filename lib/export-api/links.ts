// The links an Export API answer carries: absolute, on the origin the caller used, keeping ?program= when it was given.

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
