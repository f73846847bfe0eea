// The origin a caller used to reach DDE, the one way it is worked out: X-Forwarded-Host (else Host)
// and X-Forwarded-Proto, as a reverse proxy sets them. Next.js builds a request's URL from its own
// listening address, not from these headers, so links and checks made from req.url alone would name
// the server's bind address. Client-safe: no server imports.

/** A host (name, IPv4 or [IPv6]) with an optional port; anything else in the header is ignored. */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

type HeaderSource = { get(name: string): string | null };

/** The host the caller named (the first X-Forwarded-Host, else Host), or null when there is none or it is not a host. */
export function forwardedHost(headers: HeaderSource): string | null {
  const host = (headers.get('x-forwarded-host') ?? headers.get('host'))?.split(',')[0].trim();
  return host && HOST.test(host) ? host : null;
}

/** `proto://host` as the caller used it: the forwarded host, the forwarded protocol or `fallbackProto`; null without a host. */
export function forwardedOrigin(headers: HeaderSource, fallbackProto: 'http' | 'https'): string | null {
  const host = forwardedHost(headers);
  if (!host) return null;
  const forwarded = headers.get('x-forwarded-proto')?.split(',')[0].trim();
  const proto = forwarded === 'https' || forwarded === 'http' ? forwarded : fallbackProto;
  return `${proto}://${host}`;
}

/** The origin of `req` as the caller used it (links in answers point there); the request URL's without a usable host. */
export function publicOrigin(req: Request): string {
  const url = new URL(req.url);
  return forwardedOrigin(req.headers, url.protocol === 'https:' ? 'https' : 'http') ?? url.origin;
}
