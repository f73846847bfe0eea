// The management API's answers, one zod schema per shape: the source of the server's views
// (lib/management/views.ts is typed from them), of the OpenAPI document (operations.ts names them),
// and of the pages' types (components import the z.infer types below). Client-safe: zod and the
// column value lists only, never the database or the server's modules.
import { z } from 'zod';
import {
  CONNECTION_KINDS,
  CONNECTION_STATUSES,
  DELIVERY_STATUSES,
  EXPORT_TYPES,
  FORMATS,
  FREQUENCIES,
  HISTORICAL_STATUSES,
  RUN_STATUSES,
} from '@/db/schema/enums';
import { dataSchema, exportFileFieldsSchema, instantSchema as instant, listSchema, pageSchema } from '@/lib/http/schemas';
import { reconciliationWindowSchema } from '@/lib/export-api/schemas';
import { runStatusDoc } from '@/lib/runs/vocabulary';

/** An OpenPGP public key as the admin confirms it (never the key itself: it is long and adds nothing to check). */
export const pgpKeySchema = z.object({
  fingerprint: z.string().describe('The primary key’s fingerprint as `gpg --fingerprint` shows it, in groups of four.'),
  user_ids: z.array(z.string()).describe('The key’s user IDs, e.g. "Data Team <data@example.com>".'),
  expires_at: instant.nullable().describe('When the key (or its encryption subkey) expires; null when it never does.'),
});
export type PgpKey = z.infer<typeof pgpKeySchema>;

export const connectionSchema = z.object({
  id: z.uuid(),
  program_id: z.number().int(),
  kind: z.enum(CONNECTION_KINDS),
  name: z.string().nullable(),
  status: z.enum(CONNECTION_STATUSES),
  pause_mode: z.enum(['after_transfer', 'immediately']).nullable(),
  frequency: z.enum(FREQUENCIES),
  format: z.enum(FORMATS),
  start_date: instant,
  end_date: instant.nullable(),
  contact_emails: z.array(z.string()),
  sftp: z
    .object({
      host: z.string(),
      port: z.number().int(),
      folder: z.string(),
      username: z.string(),
      auth_method: z.enum(['password', 'private_key']).nullable(),
      host_key_fingerprint: z.string().nullable(),
      pgp_key: pgpKeySchema
        .nullable()
        .describe('The OpenPGP key the data files are encrypted to (delivered as <name>.pgp); null: delivered as they are.'),
    })
    .nullable()
    .describe('The SFTP destination (never the password or key); null for API connections.'),
  destination: z
    .object({
      pushes: z.boolean().describe('Whether DDE delivers the files (true) or a pipeline collects them through the export API (false).'),
      label: z
        .string()
        .describe('Where the files go, as DDE names it: "user@host:port, folder /exports", "s3://bucket/prefix", "Export API".'),
      settings: z
        .record(z.string(), z.unknown())
        .nullable()
        .describe("A cloud or database destination's settings (never its secret); null for SFTP (see sftp) and API connections."),
    })
    .describe('Where the connection delivers, for every kind.'),
  created_at: instant,
  updated_at: instant,
  deleted_at: instant.nullable(),
  last_tested_at: instant.nullable(),
  planned_through: instant.nullable().describe('Every window ending at or before this instant has a run.'),
  last_delivery: z.object({ run_id: z.uuid(), status: z.enum(RUN_STATUSES).describe(runStatusDoc()), finished_at: instant }).nullable(),
  next_window: z
    .object({ start: instant, end: instant })
    .nullable()
    .describe(
      'The next window not yet planned — after an edit of the schedule, the first window of the new one (planning goes on from planned_through); null when stopped or ended.',
    ),
  next_delivery: z
    .object({
      window_start: instant,
      window_end: instant,
      expected_at: instant.describe('When its files are expected: the window’s end plus lag_seconds, never in the past.'),
      lag_seconds: z
        .number()
        .int()
        .describe(
          'The lag the estimate used: the median of the recent live windows’ (window end → delivered or available), at least the settle delay (DDE_SETTLE_MINUTES) plus a minute.',
        ),
      lag_from_history: z.boolean().describe('False while no live window has been delivered yet (the settle delay and a minute are used).'),
      in_flight: z.boolean().describe('True when the window is already planned and being exported or delivered.'),
    })
    .nullable()
    .describe('The next files of this connection: which window and when they are expected; null unless active.'),
});
export type Connection = z.infer<typeof connectionSchema>;

export const runFileSchema = exportFileFieldsSchema.extend({
  part: z.number().int(),
  expires_at: instant,
  expired: z.boolean(),
});

export const deliveryAttemptSchema = z.object({
  id: z.uuid(),
  attempt: z.number().int(),
  status: z.enum(DELIVERY_STATUSES),
  trigger: z.enum(['schedule', 'manual']),
  destination: z.string(),
  error_code: z.string().nullable(),
  error_message: z.string().nullable(),
  retryable: z.boolean().nullable().describe('Whether the failure is worth retrying; null while running or after success.'),
  bytes: z.number().int(),
  files: z.number().int(),
  started_at: instant,
  finished_at: instant.nullable(),
});

export const runProgressSchema = z
  .object({
    step: z.enum(['export', 'delivery']),
    rows_written: z.number().int().describe('Rows written to the files so far (export); the run’s rows (delivery).'),
    bytes_done: z.number().int().nullable().describe('Bytes the SFTP server has acknowledged so far; null while exporting.'),
    bytes_total: z
      .number()
      .int()
      .nullable()
      .describe('Bytes to upload (data files, checksum sidecars, manifest); null while exporting or still connecting.'),
    started_at: instant.nullable().describe('When the running delivery attempt started; null while exporting.'),
    updated_at: instant
      .nullable()
      .describe('When the worker last reported progress (at most about once a second); null before its first report.'),
    eta_seconds: z
      .number()
      .int()
      .nullable()
      .describe('Seconds left at the attempt’s average rate, counted from updated_at; null when not known (exporting, nothing sent yet).'),
  })
  .describe('How far a run being exported or delivered has got.');
export type RunProgress = z.infer<typeof runProgressSchema>;

export const runSchema = z.object({
  id: z.uuid(),
  connection_id: z.uuid(),
  export_type: z.enum(EXPORT_TYPES),
  historical_request_id: z.uuid().nullable(),
  window_start: instant,
  window_end: instant,
  status: z.enum(RUN_STATUSES).describe(runStatusDoc()),
  automated: z.boolean().describe('True for scheduled (incremental) runs, false for historical ones.'),
  attempt: z.number().int(),
  rows_total: z.number().int(),
  bytes_total: z.number().int(),
  files_count: z.number().int(),
  error_code: z.string().nullable(),
  error_message: z.string().nullable(),
  next_attempt_at: instant.nullable(),
  created_at: instant,
  started_at: instant.nullable(),
  generated_at: instant.nullable(),
  finished_at: instant.nullable(),
  destination: z.string().nullable(),
  files: z.array(runFileSchema),
  deliveries: z.array(deliveryAttemptSchema),
  progress: runProgressSchema.nullable().describe('While the run is generating or delivering; null otherwise.'),
  retry: z
    .object({ allowed: z.boolean(), reason: z.string().nullable() })
    .describe('Whether POST /runs/{id}/retry would be accepted, and why not.'),
});
export type Run = z.infer<typeof runSchema>;

export const STAT_STATUSES = ['delivered', 'available', 'empty', 'failed'] as const;

export const statPointSchema = z.object({
  window_start: instant,
  window_end: instant,
  status: z.enum(STAT_STATUSES).describe(runStatusDoc(STAT_STATUSES)),
  rows: z.number().int(),
  bytes: z.number().int(),
  lag_seconds: z
    .number()
    .int()
    .nullable()
    .describe('From the window’s end to its delivery (SFTP) or availability (API); null for a failed window, which was never delivered.'),
  finished_at: instant,
  catch_up: z
    .boolean()
    .describe(
      'True when the window was exported as a catch-up — planned long after it closed (a start date in the past, a resume, a worker that was down) — so its lag is not the live delivery lag.',
    ),
});
export type StatPoint = z.infer<typeof statPointSchema>;

export const historicalMonthSchema = z.object({
  run_id: z.uuid(),
  window_start: instant,
  window_end: instant,
  status: z.enum(RUN_STATUSES).describe(runStatusDoc()),
  progress: runProgressSchema.nullable(),
});
export type HistoricalMonth = z.infer<typeof historicalMonthSchema>;

export const historicalProgressSchema = z
  .object({
    percent: z
      .number()
      .int()
      .describe(
        'How much of the work is done, 0–100, weighted by each month’s rows (exported, and uploaded where DDE delivers) rather than by the number of months: empty months weigh little.',
      ),
    rows_exported: z.number().int().describe('Rows written to files so far, the months being exported included.'),
    rows_expected: z
      .number()
      .int()
      .describe(
        'Rows the request is expected to export: the months exported so far as they were, the others as their windows held when planned.',
      ),
    bytes_uploaded: z
      .number()
      .int()
      .nullable()
      .describe('Bytes the destination has acknowledged so far; null where files are collected (Export API).'),
    bytes_to_upload: z
      .number()
      .int()
      .nullable()
      .describe('Bytes of the months exported so far (months not exported yet add theirs later); null where files are collected.'),
    eta_seconds: z
      .number()
      .int()
      .nullable()
      .describe('Seconds left at the average rate since the first month started; null when not known yet or the request is not running.'),
  })
  .describe('A historical request’s progress, weighted by rows and bytes, with the time left.');
export type HistoricalProgress = z.infer<typeof historicalProgressSchema>;

export const historicalRequestSchema = z.object({
  id: z.uuid(),
  connection_id: z.uuid(),
  range_start: instant,
  range_end: instant,
  status: z.enum(HISTORICAL_STATUSES),
  chunks_total: z.number().int(),
  chunks_done: z.number().int(),
  rows_exported: z.number().int(),
  months_in_progress: z.array(historicalMonthSchema).describe('The months being exported or delivered now, with their progress.'),
  progress: historicalProgressSchema
    .nullable()
    .describe('Weighted progress and time left; null in answers that do not read the months (create, cancel).'),
  error: z.string().nullable(),
  created_at: instant,
  updated_at: instant,
  finished_at: instant.nullable(),
});
export type HistoricalRequest = z.infer<typeof historicalRequestSchema>;

export const activityEntrySchema = z.object({
  id: z.string(),
  at: instant,
  actor: z.string().describe('An email, an API client, or "system".'),
  action: z.string(),
  target_type: z.string(),
  target_id: z.string().nullable(),
  target_name: z.string().optional(),
  connection_id: z
    .string()
    .nullable()
    .describe('The connection the entry is about: the target itself, or the connection of a retried run or a historical request.'),
  before: z.unknown(),
  after: z.unknown(),
  details: z.unknown(),
});
export type ActivityEntry = z.infer<typeof activityEntrySchema>;

const stepError = z.object({ code: z.string(), retryable: z.boolean(), message: z.string() });

export const testReportSchema = z.object({
  ok: z.boolean(),
  hostKeyFingerprint: z.string().optional(),
  phase: z
    .enum(['host_key', 'complete'])
    .describe(
      'host_key: only the server’s key was fetched (no credential sent); confirm it and test again. complete: signed in and checked the folder.',
    ),
  steps: z.array(
    z.object({
      step: z.string(),
      label: z.string(),
      status: z.enum(['ok', 'failed', 'skipped']),
      durationMs: z.number().optional(),
      detail: z.string().optional(),
      error: stepError.optional(),
    }),
  ),
  error: stepError.optional(),
});
export type TestReport = z.infer<typeof testReportSchema>;

/** A cloud destination's set-up test (POST /api/v1/connections/destination-test, and details.test of a refused create). */
export const destinationTestReportSchema = z.object({
  ok: z.boolean(),
  steps: z
    .array(
      z.object({
        step: z.string().describe('credentials, write, read, encryption (S3), delete.'),
        label: z.string(),
        status: z.enum(['ok', 'failed', 'skipped']),
        durationMs: z.number().optional(),
        detail: z.string().optional(),
        error: stepError.optional(),
      }),
    )
    .describe('Each step in order; the steps after a failed one are skipped.'),
  error: stepError.optional().describe('The first failure: its code, whether retrying can help, and what to do.'),
  warnings: z.array(z.string()).optional().describe('What works today but needs a person soon (a SAS token expiring within 14 days).'),
});
export type DestinationTestReport = z.infer<typeof destinationTestReportSchema>;

/** An external id DDE issued for a role-assuming S3 connection, with the trust policy that names it. */
export const externalIdSchema = z.object({
  external_id: z
    .string()
    .describe(
      'Put it in the role’s trust policy (sts:ExternalId) and send it as destination.external_id when creating the connection; one connection only.',
    ),
  principal_arn: z
    .string()
    .nullable()
    .describe(
      'The IAM principal DDE assumes roles as (DDE_AWS_PRINCIPAL_ARN); null when the operator has not set it, and the policy shows a placeholder.',
    ),
  trust_policy: z
    .record(z.string(), z.unknown())
    .describe('The role’s trust policy to paste: that principal may assume the role with this external id only.'),
});
export type ExternalId = z.infer<typeof externalIdSchema>;

export const appConfigSchema = z.object({
  egress_info: z.string().nullable(),
  retention_days: z.number().int(),
  max_history_months: z.number().int(),
  signed_url_ttl_seconds: z.number().int(),
});
export type AppConfig = z.infer<typeof appConfigSchema>;

/** How a window's manifest signature checked out on the server, against the published keys. */
export const SIGNATURE_STATES = ['verified', 'invalid', 'unsigned', 'expired', 'unavailable', 'pending'] as const;
/** What can be wrong with a window, each named in its `problems`. */
export const COMPLETENESS_PROBLEMS = ['sequence_gap', 'time_gap', 'not_delivered', 'rows_differ', 'signature'] as const;

export const completenessWindowSchema = reconciliationWindowSchema
  .extend({
    delivered: z
      .boolean()
      .describe(
        'True once the window reached its destination: delivered (or, for an API connection, published in the feed); an empty one too.',
      ),
    signature_state: z
      .enum(SIGNATURE_STATES)
      .describe(
        'The manifest’s Ed25519 signature checked against the manifest’s stored bytes and the published keys: verified, invalid ' +
          '(it does not match, or names an unknown key), unsigned, expired (the bytes are gone, nothing left to check), ' +
          'unavailable (storage did not answer), pending (not exported yet).',
      ),
    signature_key: z.string().nullable().describe('The key id the manifest is signed with.'),
    problems: z
      .array(z.object({ code: z.enum(COMPLETENESS_PROBLEMS), message: z.string() }))
      .describe(
        'Each gap or fault of the window, named: missing sequence numbers or time before it, not delivered, rows the source held that differ from the files, a bad signature. Empty when the window is whole.',
      ),
  })
  .describe('One window of the connection as the Completeness table shows it.');
export type CompletenessWindow = z.infer<typeof completenessWindowSchema>;
export const completenessResponse = pageSchema(completenessWindowSchema);

export const connectionResponse = dataSchema(connectionSchema);
export const connectionListResponse = listSchema(connectionSchema);
export const runResponse = dataSchema(runSchema);
export const runPageResponse = pageSchema(runSchema);
export const retryResponse = dataSchema(z.object({ next: z.enum(['deliver', 'export']) }));
/** The delivery target the lag chart draws: a window's files delivered within an hour of its end. */
export const LAG_TARGET_SECONDS = 3600;

export const statsResponse = z.object({
  data: z.array(statPointSchema),
  range: z.object({ from: instant, to: instant }).describe('The span the points were read for: windows ending in it.'),
  lag_target_seconds: z.number().int().describe('The delivery target: files delivered this long after the window closes at most.'),
});
export type Stats = z.infer<typeof statsResponse>;

/** One table of a database connection as the customer's `_dde_loads` records its loads. */
export const loadedTableSchema = z.object({
  table: z.string().describe('The table in the customer’s database (with the connection’s prefix).'),
  file_type: z.enum(['user', 'campaign', 'activity']),
  rows: z.number().int().describe('Rows of every window loaded into it (the files’ rows; a window without rows of this type counts 0).'),
  windows: z.number().int().describe('Windows recorded in _dde_loads for it (scheduled and historical each count).'),
  last_window: z.object({ start: instant, end: instant, export_type: z.enum(EXPORT_TYPES) }).describe('The window of the newest load.'),
  last_rows: z.number().int().describe('Rows of the newest load.'),
  last_loaded_at: instant.describe('When the newest load committed (the customer’s server’s clock).'),
});
export type LoadedTable = z.infer<typeof loadedTableSchema>;
export const loadedTablesResponse = z.object({
  data: z.array(loadedTableSchema).describe('Users, campaigns, activity: those with at least one load.'),
  read_at: instant.describe('When DDE read _dde_loads.'),
  error: z
    .string()
    .nullable()
    .describe('Why _dde_loads could not be read (the database unreachable, a password refused); data is then empty.'),
});
export type LoadedTables = z.infer<typeof loadedTablesResponse>;
export const historicalResponse = dataSchema(historicalRequestSchema);
export const historicalListResponse = listSchema(historicalRequestSchema);
export const activityPageResponse = pageSchema(activityEntrySchema);
export const testReportResponse = dataSchema(testReportSchema);
export const pgpKeyResponse = dataSchema(pgpKeySchema);
export const destinationTestReportResponse = dataSchema(destinationTestReportSchema);
export const externalIdResponse = dataSchema(externalIdSchema);
export const configResponse = dataSchema(appConfigSchema);
