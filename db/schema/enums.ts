// The values of the schema's enumerated text columns, in a module of their own (no drizzle, no
// database) so the API's response schemas — and the pages importing their types — can name them.
export const ROLES = ['firstup_super_admin', 'brand_super_admin'] as const;
export type Role = (typeof ROLES)[number];
export const SCOPES = ['data_exports.read', 'data_exports.manage'] as const;
export type Scope = (typeof SCOPES)[number];

export const CONNECTION_KINDS = ['sftp', 'api', 'postgres', 'mysql', 's3', 'azure_blob'] as const;
export type ConnectionKind = (typeof CONNECTION_KINDS)[number];
/**
 * Whether DDE pushes a kind's runs to a destination (generated → delivering → delivered) or leaves
 * them for the customer's pipeline to collect through the export API (available). The one answer
 * the run ledger, recovery, the daily check and the pages ask (lib/destinations reads it too).
 */
export const KIND_PUSHES = { sftp: true, api: false, postgres: true, mysql: true, s3: true, azure_blob: true } as const satisfies Record<
  ConnectionKind,
  boolean
>;
/** The kinds DDE delivers to (KIND_PUSHES). */
export const PUSHED_KINDS = CONNECTION_KINDS.filter((k) => KIND_PUSHES[k]);
export const kindPushes = (kind: ConnectionKind): boolean => KIND_PUSHES[kind];
export const CONNECTION_STATUSES = ['active', 'pausing', 'paused', 'stopped', 'ended'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];
export const FREQUENCIES = ['every_4_hours', 'daily', 'weekly', 'monthly'] as const;
export type Frequency = (typeof FREQUENCIES)[number];
export const FORMATS = ['csv', 'jsonl', 'xlsx', 'parquet'] as const;
export type ExportFormat = (typeof FORMATS)[number];
/** A file's format: a connection's data format, or json (the manifest). */
export const FILE_FORMATS = [...FORMATS, 'json'] as const;
export const COMPRESSIONS = ['gzip', 'none', 'zstd'] as const;
export const HISTORICAL_STATUSES = ['pending', 'running', 'completed', 'cancelled', 'failed'] as const;
export type HistoricalStatus = (typeof HISTORICAL_STATUSES)[number];

export const EXPORT_TYPES = ['incremental', 'historical'] as const;
export type ExportType = (typeof EXPORT_TYPES)[number];
export const RUN_STATUSES = [
  'planned',
  'generating',
  'generated',
  'delivering',
  'delivered',
  'available',
  'empty',
  'failed',
  'cancelled',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FILE_TYPES = ['user', 'campaign', 'activity', 'manifest'] as const;
export type FileType = (typeof FILE_TYPES)[number];
export const DELIVERY_STATUSES = ['running', 'succeeded', 'failed', 'aborted'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const REPORT_MODES = ['every_run', 'failures_only', 'daily_digest'] as const;
export type ReportMode = (typeof REPORT_MODES)[number];
export const WEBHOOK_EVENTS = ['files.ready', 'delivery.failed', 'connection.paused'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'sending', 'succeeded', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];
