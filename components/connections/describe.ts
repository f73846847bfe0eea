// A connection in admins' words: its frequency, name and destination as the pages show them.
import type { Connection } from '@/lib/management/responses';

export const FREQUENCIES: { value: Connection['frequency']; label: string }[] = [
  { value: 'every_4_hours', label: 'Every 4 hours' },
  { value: 'daily', label: 'Daily' },
  { value: 'weekly', label: 'Weekly' },
  { value: 'monthly', label: 'Monthly' },
];
export const frequencyLabel = (f: string) => FREQUENCIES.find((x) => x.value === f)?.label ?? f;

export function connectionName(c: Pick<Connection, 'name' | 'kind'>): string {
  return c.name || (c.kind === 'api' ? 'API connection' : 'SFTP connection');
}

export function destination(c: Connection): string {
  if (c.kind === 'api' || !c.sftp) return 'Export API';
  return `sftp://${c.sftp.host}${c.sftp.port && c.sftp.port !== 22 ? `:${c.sftp.port}` : ''}/${c.sftp.folder.replace(/^\/+/, '')}`;
}
