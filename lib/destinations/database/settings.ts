// A database destination's settings: what the admin types (or pastes as one connection URL) and how
// the destination is described on pages (`postgres://host:5432/db · schema dde`). The password is
// not here: it is the connection's secret, encrypted at rest like an SFTP password.
import { z } from 'zod';
import { describeDestinationSettings } from '@/lib/describe-connection';
import { TABLE_PREFIX_PATTERN, type Dialect } from './tables';

export const DATABASE_ENGINES = ['postgres', 'mysql'] as const;
export const TLS_MODES = ['disable', 'require', 'verify-full'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
const identifier = (what: string) =>
  z
    .string()
    .trim()
    .min(1, `${what} is required`)
    .regex(IDENT, `${what} must be a plain identifier (letters, digits, _; up to 63 characters)`);

export const databaseSettingsSchema = z
  .object({
    engine: z.enum(DATABASE_ENGINES),
    host: z
      .string()
      .trim()
      .min(1, 'Host is required')
      .max(253)
      .regex(/^[A-Za-z0-9.\-:[\]]+$/, 'Host must be a host name or an IP address'),
    port: z.number().int().min(1).max(65535),
    database: identifier('Database'),
    /** PostgreSQL only: the schema the tables live in. MySQL's schema is its database. */
    schema: identifier('Schema').nullable().default(null),
    user: z.string().trim().min(1, 'User is required').max(128),
    tls: z.enum(TLS_MODES).default('require'),
    /** PEM CA certificate(s) for verify-full; null: the system's trusted CAs. */
    ca_certificate: z.string().max(65536).nullable().default(null),
    /** '' or e.g. 'dde_': prepended to activity, users and campaigns. */
    table_prefix: z
      .string()
      .regex(
        new RegExp(`^(|${TABLE_PREFIX_PATTERN.source.slice(1, -1)})$`),
        'Table prefix must be lowercase letters, digits and _ (e.g. dde_)',
      )
      .default(''),
  })
  .transform((s) => ({ ...s, schema: s.engine === 'postgres' ? (s.schema ?? 'public') : null }));
export type DatabaseSettings = z.output<typeof databaseSettingsSchema>;

export function defaultPort(engine: Dialect): number {
  return engine === 'postgres' ? 5432 : 3306;
}

/** `postgres://host:5432/db · schema dde`, `mysql://host:3306/db` (lib/describe-connection.ts says it for every kind). */
export function describeDatabaseDestination(s: Pick<DatabaseSettings, 'engine' | 'host' | 'port' | 'database' | 'schema'>): string {
  return describeDestinationSettings(s.engine, s);
}

export type ParsedDatabaseUrl = Partial<Pick<DatabaseSettings, 'engine' | 'host' | 'port' | 'database' | 'schema' | 'user' | 'tls'>> & {
  password?: string;
};

export class DatabaseUrlError extends Error {}

/**
 * A pasted connection URL split into the form's fields: `postgres://user:pass@host:5432/db?sslmode=require&schema=dde`,
 * `postgresql://…`, `mysql://…`, `mariadb://…`. A part the URL does not name stays undefined.
 */
export function parseDatabaseUrl(text: string): ParsedDatabaseUrl {
  const raw = text.trim();
  const m = /^([a-z]+):\/\//i.exec(raw);
  if (!m) throw new DatabaseUrlError(`“${raw}” is not a connection URL (it should start with postgres:// or mysql://)`);
  const scheme = m[1].toLowerCase();
  const engine =
    scheme === 'postgres' || scheme === 'postgresql' ? 'postgres' : scheme === 'mysql' || scheme === 'mariadb' ? 'mysql' : null;
  if (!engine) throw new DatabaseUrlError(`“${m[1]}://” is not a database URL scheme DDE loads into (postgres://, mysql://)`);
  let url: URL;
  try {
    url = new URL(`http://${raw.slice(m[0].length)}`);
  } catch {
    throw new DatabaseUrlError(`“${raw}” is not a valid connection URL`);
  }
  const out: ParsedDatabaseUrl = { engine };
  if (url.hostname) out.host = url.hostname.replace(/^\[|\]$/g, '');
  if (url.port) out.port = Number(url.port);
  const db = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (db) out.database = db;
  if (url.username) out.user = decodeURIComponent(url.username);
  if (url.password) out.password = decodeURIComponent(url.password);
  const schema = url.searchParams.get('schema') ?? url.searchParams.get('currentSchema');
  if (schema && engine === 'postgres') out.schema = schema;
  const sslmode = (url.searchParams.get('sslmode') ?? url.searchParams.get('ssl-mode') ?? '').toLowerCase();
  if (sslmode === 'disable' || sslmode === 'disabled') out.tls = 'disable';
  else if (sslmode === 'verify-full' || sslmode === 'verify_identity') out.tls = 'verify-full';
  else if (sslmode) out.tls = 'require';
  return out;
}
