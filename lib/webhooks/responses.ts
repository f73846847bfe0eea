// The answers of the webhook and notification-settings routes, one schema per shape: the source of
// the OpenAPI document (./operations.ts) and of the page's types (client-safe: zod and enums only).
import { z } from 'zod';
import { REPORT_MODES, WEBHOOK_DELIVERY_STATUSES, WEBHOOK_EVENTS } from '@/db/schema/enums';
import { dataSchema, instantSchema as instant, listSchema } from '@/lib/http/schemas';

export const webhookSchema = z.object({
  id: z.uuid(),
  connection_id: z.uuid(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  description: z.string().nullable(),
  enabled: z.boolean(),
  created_at: instant,
  updated_at: instant,
  last_delivery: z
    .object({
      id: z.uuid(),
      event: z.string(),
      status: z.enum(WEBHOOK_DELIVERY_STATUSES),
      status_code: z.number().int().nullable(),
      at: instant,
    })
    .nullable(),
});
export const createdSchema = dataSchema(
  z.object({
    id: z.uuid(),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENTS)),
    secret: z.string().describe('The signing secret (whsec_…), shown only in this answer.'),
  }),
);
export const webhookDeliverySchema = z.object({
  id: z.uuid().describe('Also the message’s webhook-id header.'),
  endpoint_id: z.uuid(),
  event: z.string(),
  status: z.enum(WEBHOOK_DELIVERY_STATUSES),
  attempts: z.number().int(),
  response_code: z.number().int().nullable(),
  latency_ms: z.number().int().nullable(),
  error: z.string().nullable(),
  run_id: z.uuid().nullable(),
  redelivery_of: z.uuid().nullable(),
  created_at: instant,
  last_attempt_at: instant.nullable(),
  next_attempt_at: instant.nullable(),
  finished_at: instant.nullable(),
  payload: z.record(z.string(), z.unknown()).describe('The body sent: { type, timestamp, data }.'),
});
export const settingsSchema = z.object({
  connection_id: z.uuid(),
  report_mode: z.enum(REPORT_MODES),
  report_mode_is_default: z.boolean(),
  auto_pause_after: z.number().int(),
  consecutive_failed_windows: z.number().int(),
  health: z.object({ status: z.string().nullable(), last_checked_at: instant.nullable() }).nullable(),
  auto_paused: z.object({ at: instant, reason: z.string() }).nullable(),
});

export const webhookResponse = dataSchema(webhookSchema);
export const webhookListResponse = listSchema(webhookSchema);
export const deliveryResponse = dataSchema(webhookDeliverySchema);
export const deliveryListResponse = listSchema(webhookDeliverySchema);
export const settingsResponse = dataSchema(settingsSchema);

export type Webhook = z.infer<typeof webhookSchema>;
export type NotificationSettings = z.infer<typeof settingsSchema>;
