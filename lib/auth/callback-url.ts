// Where sign-in may send the browser afterwards: only pages of this site. The value is parsed the
// way a browser parses it (tabs and newlines dropped, backslashes as slashes), so `/%09/evil.com`
// — which a browser turns into `//evil.com` — is refused rather than trusted for its leading slash.

/** The absolute URL `value` points to when it is on `origin`'s site, else null. */
export function safeCallbackUrl(value: string | null | undefined, origin: string): string | null {
  if (!value || value.length > 2000) return null;
  let base: URL;
  let target: URL;
  try {
    base = new URL(origin);
    target = new URL(value, base);
  } catch {
    return null;
  }
  if (target.origin !== base.origin) return null;
  if (target.username || target.password) return null;
  return target.href;
}

/** The path (with query and fragment) to go to after sign-in: `value` when it stays on this site, else `/`. */
export function safeCallbackPath(value: string | string[] | undefined, origin: string): string {
  const v = Array.isArray(value) ? value[0] : value;
  const href = safeCallbackUrl(v, origin);
  if (!href) return '/';
  const u = new URL(href);
  const path = `${u.pathname}${u.search}${u.hash}`;
  // A path starting with two slashes would be read as another host when used as a relative URL.
  return path.startsWith('//') ? '/' : path;
}
