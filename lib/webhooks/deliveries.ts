// Webhook messages and their delivery log. A message is recorded (one per subscribed endpoint and
// occurrence), then sent by the jobs worker: each attempt claims the row for a short while (two
// workers never send the same attempt; a worker that died releases it), posts the signed body, and
// records status, response code and latency. Network errors, timeouts and non-2xx answers are
// retried with exponential backoff until 24 hours after the message was recorded, then it fails.
// A refused address (outbound policy) fails at once: retrying cannot change the answer.
import { and, desc, eq, inArray, isNull, lte, or, sql } from 'drizzle-orm';
import type { Database, DbOrTx } from '@/db/client';
import { webhookDeliveries, webhookEndpoints, type WebhookDelivery, type WebhookEndpoint } from '@/db/schema';
import { now } from '@/lib/clock';
import { childLogger } from '@/lib/logger';
import type { WebhookBody } from './payloads';
import { decryptWebhookSecret } from './secret';
import { postWebhook, WEBHOOK_TIMEOUT_MS } from './send';
import { signWebhook } from './sign';

/** Messages are retried for this long after they were recorded. */
export const RETRY_WINDOW_MS = 24 * 3_600_000;
/** An attempt holds its row this long (the 10 s timeout plus margin). */
const CLAIM_MS = WEBHOOK_TIMEOUT_MS + 20_000;

/** Delay before attempt `attempt + 1`: 30 s, 1, 2, 4 … minutes, capped at 4 hours. */
export function webhookBackoffMs(attempt: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, attempt - 1), 4 * 3_600_000);
}

/**
 * Records `body` for every endpoint of the connection subscribed to its event (not deleted, not
 * disabled). With a dedupe key, an occurrence already recorded for an endpoint is not recorded
 * again. Returns the ids of the messages to send now.
 */
export async function queueWebhookEvent(
  db: DbOrTx,
  p: { programId: number; connectionId: string; body: WebhookBody; runId?: string | null; dedupeKey?: string },
): Promise<string[]> {
  const endpoints = await db
    .select({ id: webhookEndpoints.id })
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.programId, p.programId),
        eq(webhookEndpoints.connectionId, p.connectionId),
        isNull(webhookEndpoints.deletedAt),
        isNull(webhookEndpoints.disabledAt),
        sql`${p.body.type} = any(${webhookEndpoints.events})`,
      ),
    );
  if (endpoints.length === 0) return [];
  const at = now();
  const rows = await db
    .insert(webhookDeliveries)
    .values(
      endpoints.map((e) => ({
        endpointId: e.id,
        programId: p.programId,
        connectionId: p.connectionId,
        event: p.body.type,
        payload: JSON.stringify(p.body),
        runId: p.runId ?? null,
        dedupeKey: p.dedupeKey ?? null,
        nextAttemptAt: at,
        createdAt: at,
      })),
    )
    .onConflictDoNothing()
    .returning({ id: webhookDeliveries.id });
  return rows.map((r) => r.id);
}

/** Records one message for one endpoint (tests, redeliveries), whatever its subscriptions. */
export async function queueWebhookMessage(
  db: DbOrTx,
  endpoint: WebhookEndpoint,
  body: WebhookBody,
  extra: { runId?: string | null; redeliveryOf?: string } = {},
): Promise<WebhookDelivery> {
  const at = now();
  const [row] = await db
    .insert(webhookDeliveries)
    .values({
      endpointId: endpoint.id,
      programId: endpoint.programId,
      connectionId: endpoint.connectionId,
      event: body.type,
      payload: JSON.stringify(body),
      runId: extra.runId ?? null,
      redeliveryOf: extra.redeliveryOf ?? null,
      nextAttemptAt: at,
      createdAt: at,
    })
    .returning();
  return row;
}

export type AttemptOutcome =
  | { status: 'succeeded'; statusCode: number; latencyMs: number; attempts: number }
  | { status: 'retry'; retryInMs: number; attempts: number; error: string; statusCode: number | null }
  | { status: 'failed'; attempts: number; error: string; statusCode: number | null }
  | { status: 'skipped'; why: string };

/**
 * Makes one attempt of a due message. Not due, already finished, or held by another worker →
 * skipped. The body sent is the stored payload, byte for byte the same on every attempt; the
 * signature is made for each attempt (its timestamp is the attempt's).
 */
export async function attemptWebhookDelivery(
  database: Database,
  id: string,
  opts: { timeoutMs?: number; signal?: AbortSignal; force?: boolean; once?: boolean } = {},
): Promise<AttemptOutcome> {
  const { db } = database;
  const at = now();
  const [claimed] = await db
    .update(webhookDeliveries)
    .set({ status: 'sending', lockedUntil: new Date(at.getTime() + CLAIM_MS) })
    .where(
      and(
        eq(webhookDeliveries.id, id),
        or(
          and(eq(webhookDeliveries.status, 'pending'), opts.force ? undefined : lte(webhookDeliveries.nextAttemptAt, at)),
          and(eq(webhookDeliveries.status, 'sending'), lte(webhookDeliveries.lockedUntil, at)),
        ),
      ),
    )
    .returning();
  if (!claimed) return { status: 'skipped', why: 'not due, finished, or another worker is sending it' };
  const log = childLogger({ module: 'webhooks', webhookDeliveryId: id, endpointId: claimed.endpointId });
  const [endpoint] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, claimed.endpointId));
  const attempts = claimed.attempts + 1;
  const finish = async (status: 'succeeded' | 'failed', fields: Partial<WebhookDelivery>) => {
    await db
      .update(webhookDeliveries)
      .set({ status, attempts, lockedUntil: null, nextAttemptAt: null, lastAttemptAt: at, finishedAt: now(), ...fields })
      .where(eq(webhookDeliveries.id, id));
  };
  if (!endpoint || endpoint.deletedAt) {
    const error = 'The endpoint was deleted; nothing was sent.';
    await finish('failed', { lastError: error, attempts: claimed.attempts });
    return { status: 'failed', attempts: claimed.attempts, error, statusCode: null };
  }
  const body = claimed.payload;
  let result;
  try {
    const secret = decryptWebhookSecret(endpoint.secretCiphertext, endpoint.id);
    result = await postWebhook(endpoint.url, body, signWebhook(secret, claimed.id, at, body), {
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
    });
  } catch (err) {
    // A secret that cannot be decrypted: retrying will not help (the message names no part of it).
    const error = `The endpoint's signing secret cannot be used: ${(err as Error).message}`;
    await finish('failed', { lastError: error });
    log.error({ attempts }, 'webhook not sent: unusable secret');
    return { status: 'failed', attempts, error, statusCode: null };
  }
  if (result.ok) {
    await finish('succeeded', { lastStatusCode: result.statusCode, lastLatencyMs: result.latencyMs, lastError: null });
    log.info({ attempts, statusCode: result.statusCode, latencyMs: result.latencyMs }, 'webhook delivered');
    return { status: 'succeeded', statusCode: result.statusCode, latencyMs: result.latencyMs, attempts };
  }
  const retryInMs = webhookBackoffMs(attempts);
  const next = new Date(at.getTime() + retryInMs);
  const deadline = claimed.createdAt.getTime() + RETRY_WINDOW_MS;
  if (result.refused || opts.once || at.getTime() >= deadline) {
    await finish('failed', { lastStatusCode: result.statusCode, lastLatencyMs: result.latencyMs, lastError: result.error });
    log.warn({ attempts, error: result.error }, 'webhook failed for good');
    return { status: 'failed', attempts, error: result.error, statusCode: result.statusCode };
  }
  // The last retry is made at the end of the window rather than skipped.
  const nextAt = next.getTime() > deadline ? new Date(deadline) : next;
  await db
    .update(webhookDeliveries)
    .set({
      status: 'pending',
      attempts,
      lockedUntil: null,
      nextAttemptAt: nextAt,
      lastAttemptAt: at,
      lastStatusCode: result.statusCode,
      lastLatencyMs: result.latencyMs,
      lastError: result.error,
    })
    .where(eq(webhookDeliveries.id, id));
  log.warn({ attempts, error: result.error, retryInMs: nextAt.getTime() - at.getTime() }, 'webhook attempt failed; will retry');
  return { status: 'retry', retryInMs: nextAt.getTime() - at.getTime(), attempts, error: result.error, statusCode: result.statusCode };
}

/** Messages due now (pending past their time, or held by a worker that died), oldest first. */
export async function dueWebhookDeliveries(db: DbOrTx, limit = 100): Promise<string[]> {
  const at = now();
  const rows = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      or(
        and(eq(webhookDeliveries.status, 'pending'), lte(webhookDeliveries.nextAttemptAt, at)),
        and(eq(webhookDeliveries.status, 'sending'), lte(webhookDeliveries.lockedUntil, at)),
      ),
    )
    .orderBy(webhookDeliveries.nextAttemptAt)
    .limit(limit);
  return rows.map((r) => r.id);
}

/** An endpoint's delivery log, newest first. */
export async function listWebhookDeliveries(
  db: DbOrTx,
  p: { programId: number; endpointId: string; limit?: number },
): Promise<WebhookDelivery[]> {
  return db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.programId, p.programId), eq(webhookDeliveries.endpointId, p.endpointId)))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(p.limit ?? 50);
}

export async function findWebhookDelivery(db: DbOrTx, p: { programId: number; id: string }): Promise<WebhookDelivery | undefined> {
  const [row] = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.programId, p.programId), eq(webhookDeliveries.id, p.id)));
  return row;
}

export async function deliveriesOfEndpoints(db: DbOrTx, programId: number, endpointIds: string[]): Promise<WebhookDelivery[]> {
  if (endpointIds.length === 0) return [];
  return db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.programId, programId), inArray(webhookDeliveries.endpointId, endpointIds)));
}
