// The management API as the OpenAPI document describes it: the request schemas the handlers
// validate with, and the response schemas of lib/management/responses.ts.
import { z } from 'zod';
import { createConnectionSchema, editConnectionSchema, pauseConnectionSchema, replaceCredentialsSchema } from '@/lib/connections/schemas';
import { createHistoricalRequestSchema } from '@/lib/historical';
import type { ApiOperation, ApiResponse } from '@/lib/http/openapi';
import { programQuery as program, withProgram } from '@/lib/http/params';
import { errorResponseSchema } from '@/lib/http/schemas';
import {
  activityEntrySchema,
  activityPageResponse,
  configResponse,
  connectionListResponse,
  connectionResponse,
  connectionSchema,
  historicalListResponse,
  historicalRequestSchema,
  historicalResponse,
  retryResponse,
  runPageResponse,
  runResponse,
  runSchema,
  statsResponse,
  testReportResponse,
} from './responses';
import { activityQuery, idParams, listRunsQuery, statsQuery, testConnectionBody } from './schemas';

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
    method: 'patch',
    path: '/api/v1/connections/{id}',
    operationId: 'updateConnection',
    summary: 'Edit a stopped connection',
    description: `Only while the connection is stopped; the fields are ${Object.keys(editConnectionSchema.shape).join(', ')}. The destination and kind cannot change: delete and recreate instead.`,
    params: idParams,
    query: program,
    body: json(editConnectionSchema),
    responses: { 200: { description: 'The edited connection.', schema: connectionResponse }, ...errors(401, 403, 404, 409, 422) },
  },
  {
    ...WRITE,
    method: 'post',
    path: '/api/v1/connections/{id}/credentials',
    operationId: 'replaceConnectionCredentials',
    summary: 'Replace a stopped SFTP connection’s password or private key',
    description:
      'Only while the connection is stopped (409 otherwise). The connection test runs again with the new secret against the pinned host key — or against host_key_fingerprint when the server’s key was replaced, which needs accept_changed_host_key: true — and the secret is saved (encrypted) only when it passes; otherwise 422 with details.test. Host, port, folder and username stay; the run history stays; the Activity Log records connection.credentials_replaced without the secret.',
    params: idParams,
    query: program,
    body: json(replaceCredentialsSchema),
    responses: {
      200: { description: 'The connection with its new credentials (never shown).', schema: connectionResponse },
      ...errors(401, 403, 404, 409, 422),
    },
  },
  {
    ...WRITE,
    method: 'delete',
    path: '/api/v1/connections/{id}',
    operationId: 'deleteConnection',
    summary: 'Delete a connection (its history is kept)',
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
