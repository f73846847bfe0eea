// Webhook endpoints of a connection and the messages sent to them (each message's delivery log).
import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { accounts } from './auth';
import { connections } from './connections';
import { WEBHOOK_DELIVERY_STATUSES, WEBHOOK_EVENTS } from './enums';
export { WEBHOOK_DELIVERY_STATUSES, WEBHOOK_EVENTS, type WebhookDeliveryStatus, type WebhookEvent } from './enums';
import { programs } from './source';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    programId: bigint('program_id', { mode: 'number' })
      .notNull()
      .references(() => programs.id),
    connectionId: uuid('connection_id')
      .notNull()
      .references(() => connections.id),
    url: text('url').notNull(),
    events: text('events', { enum: WEBHOOK_EVENTS }).array().notNull(),
    description: text('description'),
    /** The signing secret (whsec_…), encrypted like SFTP secrets; associated data = "webhook:" + id. */
    secretCiphertext: text('secret_ciphertext').notNull(),
    disabledAt: ts('disabled_at'),
    createdBy: uuid('created_by').references(() => accounts.id),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    deletedAt: ts('deleted_at'),
  },
  (t) => [index('webhook_endpoints_connection_idx').on(t.connectionId), index('webhook_endpoints_program_idx').on(t.programId)],
);
export type WebhookEndpoint = typeof webhookEndpoints.$inferSelect;

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    /** Also the message's webhook-id: a redelivery is a new message with its own id. */
    id: uuid('id').primaryKey().defaultRandom(),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id),
    programId: bigint('program_id', { mode: 'number' })
      .notNull()
      .references(() => programs.id),
    connectionId: uuid('connection_id')
      .notNull()
      .references(() => connections.id),
    event: text('event').notNull(),
    /** The exact JSON body that is signed and sent, byte for byte on every attempt (never a secret). */
    payload: text('payload').notNull(),
    /** What caused it: a run, a pause, a test, or the delivery it redelivers. */
    runId: uuid('run_id'),
    redeliveryOf: uuid('redelivery_of'),
    /** One message per endpoint and occurrence (handlers run at least once): event, run and when it finished. */
    dedupeKey: text('dedupe_key'),
    status: text('status', { enum: WEBHOOK_DELIVERY_STATUSES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at'),
    /** A sending attempt holds the row until then (a worker that died mid-attempt releases it). */
    lockedUntil: ts('locked_until'),
    lastStatusCode: integer('last_status_code'),
    lastLatencyMs: integer('last_latency_ms'),
    lastError: text('last_error'),
    lastAttemptAt: ts('last_attempt_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt),
    uniqueIndex('webhook_deliveries_dedupe_unique').on(t.endpointId, t.dedupeKey),
    index('webhook_deliveries_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`status in ('pending', 'sending')`),
  ],
);
export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;
