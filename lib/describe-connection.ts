// How a connection is named and where it delivers, in one place: the pages, the emails, the
// webhooks' bodies, the Activity Log and the run history say it the same way. Types only below it,
// so every folder of lib may use it, and client-safe (the pages import it).
import type { Connection } from '@/db/schema';
import type { DeliveryDestination } from '@/lib/delivery';

export type SftpDestinationLabel = { host: string; port: number; username: string; folder: string };

/** "user@host:port, folder /exports" — how DDE names an SFTP destination. */
export function describeSftpDestination(d: SftpDestinationLabel): string {
  return `${d.username}@${d.host}:${d.port}, folder ${d.folder}`;
}

/** Where a connection delivers: its SFTP destination, or "Export API". */
export function destinationLabel(c: { kind: Connection['kind']; sftp: SftpDestinationLabel | null }): string {
  return c.kind === 'sftp' && c.sftp ? describeSftpDestination(c.sftp) : 'Export API';
}

/** The connection's name, or what it is when it has none ("SFTP sftp.example.com", "API connection"). */
export function connectionDisplayName(c: Pick<Connection, 'name' | 'kind' | 'sftpHost'>): string {
  return c.name ?? (c.kind === 'sftp' ? `SFTP ${c.sftpHost ?? ''}`.trim() : 'API connection');
}

/** An SFTP connection's destination (its SFTP fields are set for every SFTP connection). */
export function sftpDestinationOf(c: Pick<Connection, 'sftpHost' | 'sftpPort' | 'sftpUsername' | 'sftpFolder'>): DeliveryDestination {
  return { host: c.sftpHost!, port: c.sftpPort!, username: c.sftpUsername!, folder: c.sftpFolder! };
}
