// The management API as the OpenAPI document describes it: the request schemas the handlers
// validate with, and response schemas matching lib/management/views.ts.
import { z } from 'zod';
import {
  CONNECTION_STATUSES,
  DELIVERY_STATUSES,
  EXPORT_TYPES,
  FILE_TYPES,
  FORMATS,
  FREQUENCIES,
  HISTORICAL_STATUSES,
  RUN_STATUSES,
} from '@/db/schema';
import { createConnectionSchema, editConnectionSchema, pauseConnectionSchema } from '@/lib/connections/schemas';
import { errorResponseSchema } from '@/lib/export-api/schemas';
import { createHistoricalRequestSchema } from '@/lib/historical';
import type { ApiOperation, ApiResponse } from '@/lib/http/openapi';
import { activityQuery, listRunsQuery, statsQuery, testConnectionBody } from './schemas';

const instant = z.string().describe('ISO 8601 date-time (UTC)');
const program = z.object({
  program: z.number().int().positive().optional().describe('The program; required when the caller can see more than one.'),
});
const withProgram = <S extends z.ZodObject>(s: S) => s.extend(program.shape);
const idParams = z.object({ id: z.uuid() });

export const connectionSchema = z.object({
  id: z.uuid(),
  program_id: z.number().int(),
  kind: z.enum(['sftp', 'api']),
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
    })
    .nullable()
    .describe('The SFTP destination (never the password or key); null for API connections.'),
  created_at: instant,
  updated_at: instant,
  deleted_at: instant.nullable(),
  last_tested_at: instant.nullable(),
  planned_through: instant.nullable().describe('Every window ending at or before this instant has a run.'),
  last_delivery: z.object({ run_id: z.uuid(), status: z.enum(RUN_STATUSES), finished_at: instant }).nullable(),
  next_window: z
    .object({ start: instant, end: instant })
    .nullable()
    .describe('The next window not yet planned; null when stopped or ended.'),
});

const runFileSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  file_type: z.enum(FILE_TYPES),
  part: z.number().int(),
  rows: z.number().int(),
  bytes: z.number().int(),
  sha256: z.string(),
  format: z.string(),
  compression: z.string(),
  expires_at: instant,
  expired: z.boolean(),
});

const deliveryAttemptSchema = z.object({
  id: z.uuid(),
  attempt: z.number().int(),
  status: z.enum(DELIVERY_STATUSES),
  trigger: z.enum(['schedule', 'manual']),
  destination: z.string(),
  error_code: z.string().nullable(),
  error_message: z.string().nullable(),
  retryable: z.boolean().nullable(),
  bytes: z.number().int(),
  files: z.number().int(),
  started_at: instant,
  finished_at: instant.nullable(),
});

export const runSchema = z.object({
  id: z.uuid(),
  connection_id: z.uuid(),
  export_type: z.enum(EXPORT_TYPES),
  historical_request_id: z.uuid().nullable(),
  window_start: instant,
  window_end: instant,
  status: z.enum(RUN_STATUSES),
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
  retry: z
    .object({ allowed: z.boolean(), reason: z.string().nullable() })
    .describe('Whether POST /runs/{id}/retry would be accepted, and why not.'),
});

export const historicalRequestSchema = z.object({
  id: z.uuid(),
  connection_id: z.uuid(),
  range_start: instant,
  range_end: instant,
  status: z.enum(HISTORICAL_STATUSES),
  chunks_total: z.number().int(),
  chunks_done: z.number().int(),
  rows_exported: z.number().int(),
  error: z.string().nullable(),
  created_at: instant,
  updated_at: instant,
  finished_at: instant.nullable(),
});

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

const testReportSchema = z.object({
  ok: z.boolean(),
  hostKeyFingerprint: z.string().optional(),
  steps: z.array(
    z.object({
      step: z.string(),
      label: z.string(),
      status: z.enum(['ok', 'failed', 'skipped']),
      durationMs: z.number().optional(),
      detail: z.string().optional(),
      error: z.object({ code: z.string(), retryable: z.boolean(), message: z.string() }).optional(),
    }),
  ),
  error: z.object({ code: z.string(), retryable: z.boolean(), message: z.string() }).optional(),
});

const page = <S extends z.ZodType>(item: S) => z.object({ data: z.array(item), next_cursor: z.string().nullable() });

const connectionResponse = z.object({ data: connectionSchema });
const connectionListResponse = z.object({ data: z.array(connectionSchema) });
const runResponse = z.object({ data: runSchema });
const runPageResponse = page(runSchema);
const retryResponse = z.object({ data: z.object({ next: z.enum(['deliver', 'export']) }) });
const statsResponse = z.object({
  data: z.array(
    z.object({
      window_start: instant,
      window_end: instant,
      rows: z.number().int(),
      bytes: z.number().int(),
      lag_seconds: z.number().int(),
    }),
  ),
});
const historicalResponse = z.object({ data: historicalRequestSchema });
const historicalListResponse = z.object({ data: z.array(historicalRequestSchema) });
const activityPageResponse = page(activityEntrySchema);
const testReportResponse = z.object({ data: testReportSchema });
const configResponse = z.object({
  data: z.object({
    egress_info: z.string().nullable(),
    retention_days: z.number().int(),
    max_history_months: z.number().int(),
    signed_url_ttl_seconds: z.number().int(),
  }),
});

/** Every schema a management response names, by its component name. */
export const MANAGEMENT_API_COMPONENTS = {
  Connection: connectionSchema,
  ConnectionResponse: connectionResponse,
  ConnectionListResponse: connectionListResponse,
  Run: runSchema,
  RunResponse: runResponse,
  RunPage: runPageResponse,
  RetryResponse: retryResponse,
  ConnectionStatsResponse: statsResponse,
  HistoricalRequest: historicalRequestSchema,
  HistoricalRequestResponse: historicalResponse,
  HistoricalRequestListResponse: historicalListResponse,
  ActivityEntry: activityEntrySchema,
  ActivityPage: activityPageResponse,
  ConnectionTestResponse: testReportResponse,
  ConfigResponse: configResponse,
};

const ERRORS: Record<number, string> = {
  401: 'No token or session.',
  403: 'The token lacks the scope, or the account the permission (Brand Super Admins are read-only).',
  404: 'No such resource in the program (other programs’ resources are not found either).',
  409: 'The resource is not in a state that allows this.',
  410: 'The run’s files have expired.',
  422: 'Invalid input; details.fields names each field.',
};
const errors = (...statuses: number[]): Record<number, ApiResponse> =>
  Object.fromEntries(statuses.map((s) => [s, { description: ERRORS[s], schema: errorResponseSchema }]));

const TAG = 'Management';
const READ = {
  tag: TAG,
  security: ['bearer', 'session'],
  scope: 'data_exports.read',
  permission: 'connections.read',
} as const satisfies Partial<ApiOperation>;
const WRITE = {
  tag: TAG,
  security: ['bearer', 'session'],
  scope: 'data_exports.manage',
  permission: 'connections.write',
} as const satisfies Partial<ApiOperation>;
const json = (schema: z.ZodType) => ({ schema, type: 'application/json' as const });

const lifecycle = (action: 'resume' | 'stop' | 'start', summary: string): ApiOperation => ({
  ...WRITE,
  method: 'post',
  path: `/api/v1/connections/{id}/${action}`,
  operationId: `${action}Connection`,
  summary,
  params: idParams,
  query: program,
  responses: { 200: { description: 'The connection.', schema: connectionResponse }, ...errors(401, 403, 404, 409) },
});

export const MANAGEMENT_API_OPERATIONS: ApiOperation[] = [
  {
    ...READ,
    method: 'get',
    path: '/api/v1/connections',
    operationId: 'listConnections',
    summary: 'List the program’s connections',
    query: program,
    responses: { 200: { description: 'The connections, oldest first.', schema: connectionListResponse }, ...errors(401, 403, 404, 422) },
  },
  {
    ...WRITE,
    method: 'post',
    path: '/api/v1/connections',
    operationId: 'createConnection',
    summary: 'Create a connection',
    description:
      'An SFTP connection is saved only after its connection test passes with the confirmed host key; otherwise 422 with details.test (the test report).',
    query: program,
    body: json(createConnectionSchema),
    responses: { 201: { description: 'The new connection.', schema: connectionResponse }, ...errors(401, 403, 404, 422) },
  },
  {
    ...WRITE,
    method: 'post',
    path: '/api/v1/connections/test',
    operationId: 'testConnection',
    summary: 'Test an SFTP destination step by step',
    description: 'A failing server is reported with ok: false (200); only bad input is an error.',
    query: program,
    body: json(testConnectionBody),
    responses: {
      200: { description: 'The test report, with the host key fingerprint to confirm.', schema: testReportResponse },
      ...errors(401, 403, 422),
    },
  },
  {
    ...READ,
    method: 'get',
    path: '/api/v1/connections/{id}',
    operationId: 'getConnection',
    summary: 'One connection',
    params: idParams,
    query: program,
    responses: { 200: { description: 'The connection.', schema: connectionResponse }, ...errors(401, 403, 404, 422) },
  },
  {
    ...WRITE,
    method: 'delete',
    path: '/api/v1/connections/{id}',
    operationId: 'deleteConnection',
    summary: 'Delete a connection (its history is kept)',
    description: `Editing (PATCH with ${Object.keys(editConnectionSchema.shape).join(', ')}) is allowed only while the connection is stopped.`,
    params: idParams,
    query: program,
    responses: { 200: { description: 'The deleted connection.', schema: connectionResponse }, ...errors(401, 403, 404) },
  },
  {
    ...WRITE,
    method: 'post',
    path: '/api/v1/connections/{id}/pause',
    operationId: 'pauseConnection',
    summary: 'Pause after the current transfer, or immediately',
    params: idParams,
    query: program,
    body: json(pauseConnectionSchema),
    responses: {
      200: { description: 'The connection (pausing or paused).', schema: connectionResponse },
      ...errors(401, 403, 404, 409, 422),
    },
  },
  lifecycle('resume', 'Resume a paused connection'),
  lifecycle('stop', 'Stop a connection (then it can be edited)'),
  lifecycle('start', 'Start a stopped connection'),
  {
    ...READ,
    method: 'get',
    path: '/api/v1/connections/{id}/runs',
    operationId: 'listRuns',
    summary: 'Event history: runs newest window first',
    params: idParams,
    query: withProgram(listRunsQuery),
    responses: {
      200: { description: 'A page of runs; pass next_cursor as cursor for the next.', schema: runPageResponse },
      ...errors(401, 403, 404, 422),
    },
  },
  {
    ...READ,
    method: 'get',
    path: '/api/v1/connections/{id}/stats',
    operationId: 'getConnectionStats',
    summary: 'Rows, bytes and delivery lag per incremental run',
    params: idParams,
    query: withProgram(statsQuery),
    responses: {
      200: { description: 'One point per finished incremental run, oldest first.', schema: statsResponse },
      ...errors(401, 403, 404, 422),
    },
  },
  {
    ...READ,
    method: 'get',
    path: '/api/v1/connections/{id}/historical-requests',
    operationId: 'listHistoricalRequests',
    summary: 'A connection’s historical data requests',
    params: idParams,
    query: program,
    responses: { 200: { description: 'Newest first.', schema: historicalListResponse }, ...errors(401, 403, 404) },
  },
  {
    ...WRITE,
    permission: 'historical.write',
    method: 'post',
    path: '/api/v1/connections/{id}/historical-requests',
    operationId: 'createHistoricalRequest',
    summary: 'Request up to 24 months of history',
    params: idParams,
    query: program,
    body: json(createHistoricalRequestSchema),
    responses: {
      201: {
        description: 'The pending request; the worker starts it within seconds (at the latest at the next minute’s planner tick).',
        schema: historicalResponse,
      },
      ...errors(401, 403, 404, 422),
    },
  },
  {
    ...WRITE,
    permission: 'historical.write',
    method: 'post',
    path: '/api/v1/historical-requests/{id}/cancel',
    operationId: 'cancelHistoricalRequest',
    summary: 'Cancel a historical data request',
    params: idParams,
    query: program,
    responses: { 200: { description: 'The cancelled request.', schema: historicalResponse }, ...errors(401, 403, 404, 409) },
  },
  {
    ...READ,
    method: 'get',
    path: '/api/v1/runs/{id}',
    operationId: 'getRun',
    summary: 'One run with its files and delivery attempts',
    params: idParams,
    query: program,
    responses: { 200: { description: 'The run.', schema: runResponse }, ...errors(401, 403, 404) },
  },
  {
    ...WRITE,
    permission: 'deliveries.retry',
    method: 'post',
    path: '/api/v1/runs/{id}/retry',
    operationId: 'retryRun',
    summary: 'Retry a failed run',
    description:
      'Delivers the files again (next: deliver) or exports again (next: export); the worker picks it up within seconds (at the latest at the next minute’s planner tick).',
    params: idParams,
    query: program,
    responses: { 200: { description: 'What happens next.', schema: retryResponse }, ...errors(401, 403, 404, 409, 410) },
  },
  {
    ...READ,
    scope: 'data_exports.manage',
    permission: 'activity_log.read',
    method: 'get',
    path: '/api/v1/activity-log',
    operationId: 'listActivity',
    summary: 'The Activity Log, or failed deliveries (kind=delivery_errors)',
    query: withProgram(activityQuery),
    responses: { 200: { description: 'A page of entries, newest first.', schema: activityPageResponse }, ...errors(401, 403, 404, 422) },
  },
  {
    tag: TAG,
    security: ['bearer', 'session'],
    method: 'get',
    path: '/api/v1/config',
    operationId: 'getConfig',
    summary: 'Installation settings the pages show',
    responses: { 200: { description: 'Egress information, retention and limits.', schema: configResponse }, ...errors(401) },
  },
];
