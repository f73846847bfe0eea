// A connection in admins' words: its frequency, name and destination as the pages show them.
import { connectionDisplayName, destinationLabel } from '@/lib/describe-connection';
import type { Connection } from '@/lib/management/responses';

export const FREQUENCIES: { value: Connection['frequency']; label: string }[] = [
  { value: 'every_4_hours', label: 'Every 4 hours' },
  { value: 'daily', label: 'Daily' },
  { value: 'weekly', label: 'Weekly' },
  { value: 'monthly', label: 'Monthly' },
];
export const frequencyLabel = (f: string) => FREQUENCIES.find((x) => x.value === f)?.label ?? f;

/** The connection's name, or what it is (lib/describe-connection.ts, as the emails say it). */
export function connectionName(c: Pick<Connection, 'name' | 'kind' | 'sftp'>): string {
  return connectionDisplayName({ name: c.name || null, kind: c.kind, sftpHost: c.sftp?.host ?? null });
}

const KIND_LABELS: Record<string, string> = {
  sftp: 'SFTP',
  api: 'Export API',
  s3: 'S3 bucket',
  azure_blob: 'Azure Blob Storage',
  postgres: 'PostgreSQL',
  mysql: 'MySQL',
};

/** How the pages name a connection's kind of destination ("SFTP", "S3 bucket", "Export API"). */
export function kindLabel(kind: string): string {
  return KIND_LABELS[kind] ?? kind;
}

/** Where it delivers: "user@host:port, folder /exports", "s3://bucket/prefix" or "Export API". */
export function destination(c: Pick<Connection, 'kind' | 'sftp' | 'destination'>): string {
  return destinationLabel(c);
}

/**
 * The secret a stopped connection's "Replace credentials" replaces, in words ("password", "SAS
 * token"), or null: an API connection has none, a role-assuming S3 connection stores none.
 */
export function replaceableSecret(c: Pick<Connection, 'kind' | 'destination'>): string | null {
  const auth = (c.destination.settings as { auth?: string } | null)?.auth;
  switch (c.kind) {
    case 'sftp':
      return 'password or private key';
    case 'postgres':
    case 'mysql':
      return 'password';
    case 's3':
      return auth === 'role' ? null : 'access key';
    case 'azure_blob':
      return auth === 'sas' ? 'SAS token' : 'account key';
    default:
      return null;
  }
}
