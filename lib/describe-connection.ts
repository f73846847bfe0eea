// How a connection is named and where an SFTP connection delivers, for emails, reports, webhooks and the
// Activity Log. Types only below it, so every folder of lib may use it.
import type { Connection } from '@/db/schema';
import type { DeliveryDestination } from '@/lib/delivery';

/** The connection's name, or what it is when it has none ("SFTP sftp.example.com", "API connection"). */
export function connectionDisplayName(c: Pick<Connection, 'name' | 'kind' | 'sftpHost'>): string {
  return c.name ?? (c.kind === 'sftp' ? `SFTP ${c.sftpHost ?? ''}`.trim() : 'API connection');
}

/** An SFTP connection's destination (its SFTP fields are set for every SFTP connection). */
export function sftpDestinationOf(c: Pick<Connection, 'sftpHost' | 'sftpPort' | 'sftpUsername' | 'sftpFolder'>): DeliveryDestination {
  return { host: c.sftpHost!, port: c.sftpPort!, username: c.sftpUsername!, folder: c.sftpFolder! };
}
