// How a connection is named and where it delivers, in one place: the pages, the emails, the
// webhooks' bodies, the Activity Log and the run history say it the same way. Types only below it,
// so every folder of lib may use it, and client-safe (the pages import it). Each destination kind's
// `describe` (lib/destinations) answers with these.
import type { Connection } from '@/db/schema';
import type { DeliveryDestination } from '@/lib/delivery';

export type SftpDestinationLabel = { host: string; port: number; username: string; folder: string };

/** "user@host:port, folder /exports" — how DDE names an SFTP destination. */
export function describeSftpDestination(d: SftpDestinationLabel): string {
  return `${d.username}@${d.host}:${d.port}, folder ${d.folder}`;
}

/** The settings a cloud destination's label is made of (the rest of its settings are not needed here). */
type CloudLabel = {
  provider?: unknown;
  bucket?: unknown;
  prefix?: unknown;
  endpoint?: unknown;
  account?: unknown;
  container?: unknown;
  host?: unknown;
  port?: unknown;
  database?: unknown;
  schema?: unknown;
};

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const withPrefix = (base: string, prefix: unknown) => (str(prefix) ? `${base}/${str(prefix)}` : base);

/**
 * A destination kept in the `destination` settings, as DDE names it: "s3://bucket/prefix",
 * "gs://bucket/prefix", "s3://bucket/prefix at https://endpoint", "https://account.blob.core.windows.net/container/prefix",
 * "postgres://host:5432/db · schema dde".
 */
export function describeDestinationSettings(kind: string, settings: CloudLabel | null | undefined): string {
  const s = settings ?? {};
  if (kind === 'postgres' || kind === 'mysql') {
    // "postgres://host:5432/db · schema dde", "mysql://host:3306/db": never the user or password.
    const host = str(s.host).includes(':') && !str(s.host).startsWith('[') ? `[${str(s.host)}]` : str(s.host);
    const base = `${kind}://${host}:${typeof s.port === 'number' ? s.port : ''}/${str(s.database)}`;
    return kind === 'postgres' && str(s.schema) ? `${base} · schema ${str(s.schema)}` : base;
  }
  if (kind === 's3') {
    const scheme = s.provider === 'gcs' ? 'gs' : 's3';
    const url = withPrefix(`${scheme}://${str(s.bucket)}`, s.prefix);
    return s.provider === 's3_compatible' && str(s.endpoint) ? `${url} at ${str(s.endpoint)}` : url;
  }
  if (kind === 'azure_blob') {
    const base = str(s.endpoint) ? str(s.endpoint).replace(/\/+$/, '') : `https://${str(s.account)}.blob.core.windows.net`;
    return withPrefix(`${base}/${str(s.container)}`, s.prefix);
  }
  return kind;
}

/** Where a connection delivers: its SFTP or cloud destination, or "Export API". */
export function destinationLabel(c: {
  kind: Connection['kind'];
  sftp: SftpDestinationLabel | null;
  destination?: { label: string } | null;
}): string {
  if (c.kind === 'api') return 'Export API';
  if (c.sftp) return describeSftpDestination(c.sftp);
  return c.destination?.label ?? c.kind;
}

const KIND_NAMES: Partial<Record<string, string>> = {
  sftp: 'SFTP',
  api: 'API connection',
  s3: 'S3',
  azure_blob: 'Azure Blob',
  postgres: 'PostgreSQL',
  mysql: 'MySQL',
};

/** The connection's name, or what it is when it has none ("SFTP sftp.example.com", "API connection", "S3 s3://bucket/prefix"). */
export function connectionDisplayName(
  c: Pick<Connection, 'name' | 'kind' | 'sftpHost'> & { destination?: Connection['destination'] },
): string {
  if (c.name) return c.name;
  if (c.kind === 'api') return 'API connection';
  if (c.kind === 'sftp') return `SFTP ${c.sftpHost ?? ''}`.trim();
  return `${KIND_NAMES[c.kind] ?? c.kind} ${c.destination ? describeDestinationSettings(c.kind, c.destination) : ''}`.trim();
}

/** An SFTP connection's destination (its SFTP fields are set for every SFTP connection). */
export function sftpDestinationOf(c: Pick<Connection, 'sftpHost' | 'sftpPort' | 'sftpUsername' | 'sftpFolder'>): DeliveryDestination {
  return { host: c.sftpHost!, port: c.sftpPort!, username: c.sftpUsername!, folder: c.sftpFolder! };
}

/** Where any connection delivers, from its row: the label the run history records and the emails say. */
export function describeConnectionDestination(
  c: Pick<Connection, 'kind' | 'sftpHost' | 'sftpPort' | 'sftpUsername' | 'sftpFolder' | 'destination'>,
): string {
  if (c.kind === 'api') return 'Export API';
  if (c.kind === 'sftp') return describeSftpDestination(sftpDestinationOf(c));
  return describeDestinationSettings(c.kind, c.destination);
}
