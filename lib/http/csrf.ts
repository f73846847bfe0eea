// Cross-site request forgery: a cookie-authenticated write must come from this site's own pages.
// SameSite=Lax cookies cover browsers' cross-site form posts; this covers the rest. A missing or
// `null` Origin (sandboxed frames, privacy extensions, some redirects) is refused unless the browser
// itself vouches with `Sec-Fetch-Site: same-origin`. Bearer-token calls are not affected: a browser
// never attaches a token by itself.
import { env } from '@/lib/env';
import { AppError } from './errors';
import { forwardedHost } from './origin';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The origins a page of this site can have: the request's own, NEXTAUTH_URL's, and the Host header's. */
function allowedOrigins(req: Request): Set<string> {
  const allowed = new Set<string>();
  try {
    allowed.add(new URL(req.url).origin);
  } catch {
    /* no URL origin */
  }
  try {
    allowed.add(new URL(env().nextAuthUrl).origin);
  } catch {
    /* no configured origin */
  }
  // Both protocols: a proxy that ends TLS may not say so (X-Forwarded-Proto).
  const host = forwardedHost(req.headers);
  if (host) {
    allowed.add(`http://${host}`);
    allowed.add(`https://${host}`);
  }
  return allowed;
}

/** Refuses (403) a cookie-authenticated write that does not come from this site. */
export function checkSameOrigin(req: Request): void {
  if (SAFE_METHODS.has(req.method)) return;
  const origin = req.headers.get('origin');
  if (!origin || origin === 'null') {
    if (req.headers.get('sec-fetch-site') === 'same-origin') return;
    throw new AppError(
      'forbidden',
      'Cross-site request refused: a signed-in write must come from DDE’s own pages (the Origin header is missing). API clients use a bearer token.',
    );
  }
  if (!allowedOrigins(req).has(origin)) throw new AppError('forbidden', 'Cross-site request refused.');
}
