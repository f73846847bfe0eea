// Security headers (finding: no Content-Security-Policy, frame-ancestors, nosniff, Referrer-Policy or
// HSTS): what next.config.js makes Next.js send with every page, API answer and static file.
import { describe, expect, it } from 'vitest';
// @ts-expect-error next.config.js is plain JavaScript, without types
import nextConfig from '../next.config.js';

type Rule = { source: string; has?: { type: string; key: string; value?: string }[]; headers: { key: string; value: string }[] };

async function rules(): Promise<Rule[]> {
  return (await (nextConfig as { headers: () => Promise<Rule[]> }).headers()) as Rule[];
}

/** The headers a request gets, applying the rules as Next.js does (every matching rule adds its headers). */
async function headersFor(requestHeaders: Record<string, string>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rule of await rules()) {
    expect(rule.source).toBe('/:path*');
    const matches = (rule.has ?? []).every((h) => h.type === 'header' && requestHeaders[h.key] === h.value);
    if (matches) for (const h of rule.headers) out[h.key.toLowerCase()] = h.value;
  }
  return out;
}

describe('security headers', () => {
  it('sends a CSP that forbids framing, other origins’ scripts, plugins and <base>, with nosniff and a Referrer-Policy', async () => {
    const h = await headersFor({});
    const csp = Object.fromEntries(
      h['content-security-policy'].split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values.join(' ')];
      }),
    );
    expect(csp).toMatchObject({
      'default-src': "'self'",
      'frame-ancestors': "'none'",
      'object-src': "'none'",
      'base-uri': "'self'",
      'form-action': "'self'",
      'connect-src': "'self'",
    });
    // Inline scripts are Next.js's own bootstrap (see next.config.js); nothing from another origin, no eval in production.
    expect(csp['script-src']).toBe("'self' 'unsafe-inline'");
    expect(h['x-content-type-options']).toBe('nosniff');
    expect(h['x-frame-options']).toBe('DENY');
    expect(h['referrer-policy']).toBe('strict-origin-when-cross-origin');
    expect(h['strict-transport-security']).toBeUndefined();
  });

  it('adds HSTS only when the site is reached over https', async () => {
    expect((await headersFor({ 'x-forwarded-proto': 'http' }))['strict-transport-security']).toBeUndefined();
    expect((await headersFor({ 'x-forwarded-proto': 'https' }))['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });
});
