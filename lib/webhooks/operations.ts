// The webhook and notification-settings routes as the OpenAPI document describes them (joined in
// lib/api-document.ts).
import { z } from 'zod';
import type { ApiOperation, ApiResponse } from '@/lib/http/openapi';
import { idParams, programQuery as program } from '@/lib/http/params';
import { errorResponseSchema } from '@/lib/http/schemas';
import { notificationSettingsSchema } from './settings-input';
import { createWebhookSchema, deliveryListQuery, redeliverParams, updateWebhookSchema } from './endpoints';
import {
  webhookSchema,
  createdSchema,
  webhookDeliverySchema,
  webhookResponse,
  webhookListResponse,
  deliveryResponse,
  deliveryListResponse,
  settingsResponse,
} from './responses';

export const WEBHOOK_API_COMPONENTS = {
  Webhook: webhookSchema,
  WebhookResponse: webhookResponse,
  WebhookListResponse: webhookListResponse,
  WebhookCreatedResponse: createdSchema,
  WebhookDelivery: webhookDeliverySchema,
  WebhookDeliveryResponse: deliveryResponse,
  WebhookDeliveryListResponse: deliveryListResponse,
  NotificationSettingsResponse: settingsResponse,
};

const ERRORS: Record<number, string> = {
  401: 'No token or session.',
  403: 'The token lacks the scope, or the account the permission (Brand Super Admins are read-only).',
  404: 'No such resource in the program.',
  409: 'The connection has as many webhooks as allowed.',
  422: 'Invalid input (or a URL DDE may not send to); details.fields names each field.',
};
const errors = (...statuses: number[]): Record<number, ApiResponse> =>
  Object.fromEntries(statuses.map((s) => [s, { description: ERRORS[s], schema: errorResponseSchema }]));
const READ = {
  tag: 'Webhooks',
  security: ['bearer', 'session'],
  scope: 'data_exports.read',
  permission: 'connections.read',
} as const satisfies Partial<ApiOperation>;
const WRITE = {
  tag: 'Webhooks',
  security: ['bearer', 'session'],
  scope: 'data_exports.manage',
  permission: 'connections.write',
} as const satisfies Partial<ApiOperation>;
const json = (schema: z.ZodType) => ({ schema, type: 'application/json' as const });

export const WEBHOOK_API_OPERATIONS: ApiOperation[] = [
  {
    ...READ,
    method: 'get',
    path: '/api/v1/connections/{id}/webhooks',
    operationId: 'listWebhooks',
    summary: 'The connection’s webhook endpoints',
    params: idParams,
    query: program,
    responses: { 200: { description: 'The endpoints (never their secrets).', schema: webhookListResponse }, ...errors(401, 403, 404) },
  },
  {
    ...WRITE,
    method: 'post',
    path: '/api/v1/connections/{id}/webhooks',
    operationId: 'createWebhook',
    summary: 'Add a webhook endpoint',
    description:
      'Messages are signed as Standard Webhooks specifies (webhook-id, webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>") ' +
      'with the secret answered here once. Events: files.ready, delivery.failed, connection.paused. Retried with exponential backoff for 24 hours on network ' +
      'errors and non-2xx answers; 10 s timeout; redirects are not followed.',
    params: idParams,
    query: program,
    body: json(createWebhookSchema),
    responses: { 201: { description: 'The endpoint with its secret.', schema: createdSchema }, ...errors(401, 403, 404, 409, 422) },
  },
  {
    ...READ,
    method: 'get',
    path: '/api/v1/webhooks/{id}',
    operationId: 'getWebhook',
    summary: 'One webhook endpoint',
    params: idParams,
    query: program,
    responses: { 200: { description: 'The endpoint.', schema: webhookResponse }, ...errors(401, 403, 404) },
  },
  {
    ...WRITE,
    method: 'patch',
    path: '/api/v1/webhooks/{id}',
    operationId: 'updateWebhook',
    summary: 'Change a webhook endpoint’s URL, events, description or whether it is enabled',
    params: idParams,
    query: program,
    body: json(updateWebhookSchema),
    responses: { 200: { description: 'The changed endpoint.', schema: webhookResponse }, ...errors(401, 403, 404, 422) },
  },
  {
    ...WRITE,
    method: 'delete',
    path: '/api/v1/webhooks/{id}',
    operationId: 'deleteWebhook',
    summary: 'Delete a webhook endpoint (its delivery log is kept)',
    params: idParams,
    query: program,
    responses: { 200: { description: 'The deleted endpoint.', schema: webhookResponse }, ...errors(401, 403, 404) },
  },
  {
    ...WRITE,
    method: 'post',
    path: '/api/v1/webhooks/{id}/test',
    operationId: 'testWebhook',
    summary: 'Send a signed webhook.test message now (one attempt)',
    params: idParams,
    query: program,
    responses: { 200: { description: 'How the receiver answered.', schema: deliveryResponse }, ...errors(401, 403, 404) },
  },
  {
    ...READ,
    method: 'get',
    path: '/api/v1/webhooks/{id}/deliveries',
    operationId: 'listWebhookDeliveries',
    summary: 'The endpoint’s delivery log, newest first',
    params: idParams,
    query: deliveryListQuery,
    responses: {
      200: { description: 'Messages with status, attempts, response code and latency.', schema: deliveryListResponse },
      ...errors(401, 403, 404, 422),
    },
  },
  {
    ...WRITE,
    method: 'post',
    path: '/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver',
    operationId: 'redeliverWebhook',
    summary: 'Send a logged message again (a new message with the same body)',
    params: redeliverParams,
    query: program,
    responses: { 202: { description: 'The new message, sent by the worker.', schema: deliveryResponse }, ...errors(401, 403, 404) },
  },
  {
    ...READ,
    method: 'get',
    path: '/api/v1/connections/{id}/notification-settings',
    operationId: 'getNotificationSettings',
    summary: 'Reports, auto-pause and the daily check of a connection',
    params: idParams,
    query: program,
    responses: {
      200: { description: 'The settings and why the connection paused itself, if it did.', schema: settingsResponse },
      ...errors(401, 403, 404),
    },
  },
  {
    ...WRITE,
    method: 'patch',
    path: '/api/v1/connections/{id}/notification-settings',
    operationId: 'updateNotificationSettings',
    summary: 'Change the report mode or the auto-pause threshold (in any status)',
    params: idParams,
    query: program,
    body: json(notificationSettingsSchema),
    responses: { 200: { description: 'The changed settings.', schema: settingsResponse }, ...errors(401, 403, 404, 422) },
  },
];
