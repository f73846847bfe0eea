// An Activity Log entry's fields and values as the forms show them: "Frequency: Every 4 hours → Daily",
// contact emails as a list, dates as dates, settings by their option names — never column names or
// stored codes. Keys come camelCased (a connection's row) or snake_cased (an entry's details).
import { frequencyLabel } from '@/components/connections/describe';
import { dateStr, dt } from '@/components/ui/formatters';
import { humanize, statusWord } from '@/components/ui/primitives';

const FIELD_NAMES: Record<string, string> = {
  name: 'Name',
  status: 'Status',
  pause_mode: 'Pause',
  frequency: 'Frequency',
  start_date: 'Start date',
  end_date: 'End date',
  contact_emails: 'Contact emails',
  format: 'File format',
  sftp_host: 'Server host',
  sftp_port: 'Port',
  sftp_folder: 'Destination folder',
  sftp_username: 'Username',
  auth_method: 'Authentication',
  host_key_fingerprint: 'Host key fingerprint',
  pgp_key_fingerprint: 'OpenPGP key fingerprint',
  pgp_key_user_ids: 'OpenPGP key user IDs',
  pgp_key_expires_at: 'OpenPGP key expires',
  previous_fingerprint: 'Previous fingerprint',
  last_tested_at: 'Last tested',
  report_mode: 'Delivery reports',
  auto_pause_after: 'Pause after failed windows',
  health_status: 'Daily check',
  created_at: 'Created',
  deleted_at: 'Deleted',
  range_start: 'From',
  range_end: 'To',
  error_code: 'Error',
  error_message: 'Message',
  waited_seconds: 'Waited',
  run_id: 'Run',
  connection_id: 'Connection',
  url: 'URL',
  events: 'Events',
  enabled: 'Enabled',
};

const OPTION_WORDS: Record<string, Record<string, string>> = {
  format: { csv: 'CSV (gzip)', jsonl: 'JSON Lines (gzip)', xlsx: 'Excel (.xlsx)', parquet: 'Parquet (.parquet)' },
  auth_method: { password: 'Password', private_key: 'Private key (PEM)' },
  pause_mode: { after_transfer: 'After the transfer in progress', immediately: 'Immediately' },
  report_mode: { every_run: 'Every run', failures_only: 'Failures only', daily_digest: 'A daily digest' },
  kind: { sftp: 'SFTP', api: 'Export API' },
};

/** "contactEmails" and "contact_emails" alike → "contact_emails". */
export const snake = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

/** A field's name as the forms label it: "Contact emails", "Start date". */
export function fieldName(key: string): string {
  const k = snake(key);
  return FIELD_NAMES[k] ?? humanize(k);
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** A value as the form that set it shows it; arrays (contact emails) as a list. */
export function fieldValue(key: string, value: unknown): string {
  const k = snake(key);
  if (value === null || value === undefined || value === '') return k === 'report_mode' ? 'Default' : '—';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map((v) => fieldValue(k, v)).join(', ');
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (typeof value === 'number') return k === 'waited_seconds' ? `${Math.round(value / 60)} min` : value.toLocaleString('en-US');
  if (typeof value === 'string') {
    if (k === 'frequency') return frequencyLabel(value);
    if (k === 'status') return statusWord(value);
    if (k === 'error_code') return humanize(value);
    if (OPTION_WORDS[k]?.[value]) return OPTION_WORDS[k][value];
    if (ISO.test(value)) return k.endsWith('_date') ? dateStr(value) : dt(value);
    return value;
  }
  return JSON.stringify(value);
}

/** What the filter and the entries call each action ("Exported before a slow write finished", not its code). */
export const ACTION_TITLES: Record<string, string> = {
  'run.open_transaction_wait_exceeded': 'Exported before a slow write finished',
  'delivery.failed': 'Delivery failed',
  'delivery.retried': 'Delivery retried',
  'api_client.created': 'API client added',
  'api_client.revoked': 'API client revoked',
  'api_token.created': 'Personal token added',
  'api_token.revoked': 'Personal token revoked',
};

export const actionTitle = (action: string) => ACTION_TITLES[action] ?? humanize(action);
