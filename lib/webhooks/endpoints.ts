// A connection's webhook endpoints: create (the secret shown once), list, change, delete. Every
// change goes to the Activity Log (never the secret). Program scope in every query: another
// program's endpoint is "not found".
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Database, DbOrTx } from '@/db/client';
import { recordAudit } from '@/db/queries/audit';
import { changeWebhookEndpoint, findWebhookEndpoint, insertWebhookEndpoint, listWebhookEndpoints } from '@/db/queries/webhook-endpoints';
import { WEBHOOK_EVENTS, type Connection, type WebhookDelivery, type WebhookEndpoint } from '@/db/schema';
import type { Actor } from '@/lib/auth/actor';
import { now } from '@/lib/clock';
import { AppError } from '@/lib/http/errors';
import { limitParam, programQuery, uuidParam } from '@/lib/http/params';
import { assertOutboundAllowed } from './outbound';
import { encryptWebhookSecret, generateWebhookSecret } from './secret';

/** At most this many endpoints per connection. */
export const MAX_ENDPOINTS_PER_CONNECTION = 10;

const urlSchema = z
  .string({ error: 'Enter the URL DDE posts to.' })
  .trim()
  .min(1, 'Enter the URL DDE posts to.')
  .max(2000, 'The URL is too long (at most 2,000 characters).')
  .refine((v) => /^https?:\/\//i.test(v), 'Enter an http:// or https:// URL.');
const eventsSchema = z
  .array(z.enum(WEBHOOK_EVENTS, { error: `Events are ${WEBHOOK_EVENTS.join(', ')}.` }), { error: 'Choose at least one event.' })
  .min(1, 'Choose at least one event.')
  .transform((l) => [...new Set(l)]);

export const createWebhookSchema = z
  .object({
    url: urlSchema,
    events: eventsSchema.default([...WEBHOOK_EVENTS]),
    description: z.string().trim().max(200, 'At most 200 characters.').optional(),
  })
  .strict();
export type CreateWebhookInput = z.infer<typeof createWebhookSchema>;

export const updateWebhookSchema = z
  .object({
    url: urlSchema.optional(),
    events: eventsSchema.optional(),
    description: z.string().trim().max(200, 'At most 200 characters.').nullable().optional(),
    enabled: z.boolean({ error: 'enabled must be true or false.' }).optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'Send at least one of url, events, description, enabled.');
export type UpdateWebhookInput = z.infer<typeof updateWebhookSchema>;

/** The query of an endpoint's delivery log: how many messages, newest first (and the program). */
export const deliveryListQuery = programQuery.extend({ limit: limitParam(200, 50, 'Messages') });

/** The path of a redelivery: the endpoint and its logged message. */
export const redeliverParams = z.object({ id: uuidParam, delivery_id: uuidParam });

/** What the API and pages show of an endpoint: never the secret. */
/**
 * A webhook URL as callers without write access and the Activity Log see it: the origin, with the
 * path and query (often a capability: chat and automation hooks) masked.
 */
export function maskWebhookUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname && u.pathname !== '/' ? '/…' : ''}${u.search ? '?…' : ''}`;
  } catch {
    return '…';
  }
}

/** A webhook as the API answers it: its URL in full only for `fullUrl` (callers who may change it). */
export function webhookJson(e: WebhookEndpoint, last?: WebhookDelivery, opts: { fullUrl?: boolean } = { fullUrl: true }) {
  return {
    id: e.id,
    connection_id: e.connectionId,
    url: opts.fullUrl ? e.url : maskWebhookUrl(e.url),
    events: e.events,
    description: e.description,
    enabled: e.disabledAt === null,
    created_at: e.createdAt,
    updated_at: e.updatedAt,
    last_delivery: last
      ? { id: last.id, event: last.event, status: last.status, status_code: last.lastStatusCode, at: last.lastAttemptAt ?? last.createdAt }
      : null,
  };
}

export function webhookDeliveryJson(d: WebhookDelivery) {
  return {
    id: d.id,
    endpoint_id: d.endpointId,
    event: d.event,
    status: d.status,
    attempts: d.attempts,
    response_code: d.lastStatusCode,
    latency_ms: d.lastLatencyMs,
    error: d.lastError,
    run_id: d.runId,
    redelivery_of: d.redeliveryOf,
    created_at: d.createdAt,
    last_attempt_at: d.lastAttemptAt,
    next_attempt_at: d.status === 'pending' ? d.nextAttemptAt : null,
    finished_at: d.finishedAt,
    payload: JSON.parse(d.payload) as unknown,
  };
}

function auditable(e: WebhookEndpoint) {
  return {
    connection_id: e.connectionId,
    url: maskWebhookUrl(e.url),
    events: e.events,
    description: e.description,
    enabled: e.disabledAt === null,
  };
}

export { listWebhookEndpoints };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The (not deleted) endpoint of the program, or 404. */
export async function webhookEndpointOf(db: DbOrTx, programId: number, id: unknown): Promise<WebhookEndpoint> {
  if (typeof id !== 'string' || !UUID.test(id)) throw new AppError('not_found', 'Webhook not found.');
  const row = await findWebhookEndpoint(db, { programId, id: id.toLowerCase() });
  if (!row) throw new AppError('not_found', 'Webhook not found.');
  return row;
}

const who = (actor: Actor) => ({ actorId: actor.accountId, actorLabel: actor.label });

/** Creates an endpoint; the answer holds the secret, which is never shown again. */
export async function createWebhookEndpoint(
  database: Database,
  actor: Actor,
  connection: Connection,
  input: CreateWebhookInput,
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  await assertOutboundAllowed(input.url);
  const id = randomUUID();
  const secret = generateWebhookSecret();
  return database.db.transaction(async (tx) => {
    const existing = await listWebhookEndpoints(tx, { programId: connection.programId, connectionId: connection.id });
    if (existing.length >= MAX_ENDPOINTS_PER_CONNECTION)
      throw new AppError('conflict', `A connection can have at most ${MAX_ENDPOINTS_PER_CONNECTION} webhooks; delete one first.`);
    const endpoint = await insertWebhookEndpoint(tx, {
      id,
      programId: connection.programId,
      connectionId: connection.id,
      url: input.url,
      events: input.events,
      description: input.description || null,
      secretCiphertext: encryptWebhookSecret(secret, id),
      createdBy: actor.accountId,
      createdAt: now(),
      updatedAt: now(),
    });
    await recordAudit(tx, {
      programId: connection.programId,
      ...who(actor),
      action: 'webhook.created',
      targetType: 'webhook',
      targetId: id,
      after: auditable(endpoint),
      details: { connection_id: connection.id },
    });
    return { endpoint, secret };
  });
}

export async function updateWebhookEndpoint(
  database: Database,
  actor: Actor,
  programId: number,
  id: string,
  input: UpdateWebhookInput,
): Promise<WebhookEndpoint> {
  if (input.url) await assertOutboundAllowed(input.url);
  return database.db.transaction(async (tx) => {
    const current = await webhookEndpointOf(tx, programId, id);
    const updated = await changeWebhookEndpoint(tx, current.id, {
      ...(input.url !== undefined ? { url: input.url } : {}),
      ...(input.events !== undefined ? { events: input.events } : {}),
      ...(input.description !== undefined ? { description: input.description || null } : {}),
      ...(input.enabled !== undefined ? { disabledAt: input.enabled ? null : (current.disabledAt ?? now()) } : {}),
      updatedAt: now(),
    });
    await recordAudit(tx, {
      programId,
      ...who(actor),
      action: 'webhook.updated',
      targetType: 'webhook',
      targetId: current.id,
      before: auditable(current),
      after: auditable(updated),
      details: { connection_id: current.connectionId },
    });
    return updated;
  });
}

/** Deletes an endpoint: nothing more is sent to it (pending messages fail); its log is kept. */
export async function deleteWebhookEndpoint(database: Database, actor: Actor, programId: number, id: string): Promise<WebhookEndpoint> {
  return database.db.transaction(async (tx) => {
    const current = await webhookEndpointOf(tx, programId, id);
    const deleted = await changeWebhookEndpoint(tx, current.id, { deletedAt: now(), updatedAt: now() });
    await recordAudit(tx, {
      programId,
      ...who(actor),
      action: 'webhook.deleted',
      targetType: 'webhook',
      targetId: current.id,
      before: auditable(current),
      details: { connection_id: current.connectionId },
    });
    return deleted;
  });
}
