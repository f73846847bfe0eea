// Webhooks are sent by the jobs worker through pg-boss: a run that finishes wakes the
// webhook-deliver queue, a worker posts the signed message, and a failed attempt schedules the
// next one with its backoff as a delayed pg-boss job.
import type PgBoss from 'pg-boss';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { programs, webhookDeliveries, type Connection } from '@/db/schema';
import { createBoss, ensureQueues, tryEnqueue } from '@/lib/queues';
import type { QueueContext } from '@/jobs/queues/context';
import * as webhookDeliver from '@/jobs/queues/webhook-deliver';
import { runJob } from '@/jobs/queues';
import { createConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { logger } from '@/lib/logger';
import { createWebhookEndpoint, queueWebhookEvent, testBody } from '@/lib/webhooks';
import { useTestEnv, OPS_ADMIN } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver';
import { resetEnv } from '@/lib/env';
import { resetOutboundPolicy } from '@/lib/net/outbound-policy';

/** The operator's allow list for outbound connections (DDE_OUTBOUND_ALLOWED_NETWORKS). */
function allowNetworks(list: string | undefined) {
  resetEnv({ DDE_OUTBOUND_ALLOWED_NETWORKS: list });
  resetOutboundPolicy();
}

let t: TestDatabase;
let boss: PgBoss;
let receiver: WebhookReceiver;
let api: Connection;
const shutdown = new AbortController();
const PROGRAM = 95;
const admin = OPS_ADMIN;

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  allowNetworks('127.0.0.1/32');
  await t.db.insert(programs).values({ id: PROGRAM, name: 'Worker program' });
  api = await createConnection(
    t,
    admin,
    PROGRAM,
    createConnectionSchema.parse({
      kind: 'api',
      frequency: 'daily',
      start_date: new Date().toISOString(),
      contact_emails: ['a@customer.example'],
    }),
  );
  receiver = await startWebhookReceiver((n) => (n === 2 ? 500 : 200));
  boss = createBoss(t.url);
  await boss.start();
  await ensureQueues(boss);
  const ctx: QueueContext = { database: t, log: logger(), shutdown: shutdown.signal };
  await boss.work(webhookDeliver.queue, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async (jobs) => {
    for (const job of jobs) await runJob(ctx, webhookDeliver, job.data);
  });
}, 120_000);

afterAll(async () => {
  shutdown.abort();
  await boss?.stop({ graceful: false, wait: true }).catch(() => undefined);
  await receiver?.close();
  allowNetworks(undefined);
  await t?.drop();
});

async function until<T>(f: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('the webhook-deliver queue', () => {
  it('sends a message as soon as it is recorded, and schedules the retry of a failed attempt as a delayed job', async () => {
    const { endpoint, secret } = await createWebhookEndpoint(t, admin, api, { url: receiver.url, events: ['connection.paused'] });
    receiver.secret = secret;
    const body = { ...testBody(new Date(), api, endpoint.id), type: 'connection.paused' };
    const [first] = await queueWebhookEvent(t.db, { programId: PROGRAM, connectionId: api.id, body });
    await tryEnqueue(t, 'webhook-deliver', { deliveryId: first });
    const sent = await until(async () => {
      const [row] = await t.db
        .select()
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.id, first), eq(webhookDeliveries.status, 'succeeded')));
      return row;
    });
    expect(sent).toMatchObject({ attempts: 1, lastStatusCode: 200 });
    expect(receiver.received[0].verified).toBe(true);

    const [second] = await queueWebhookEvent(t.db, { programId: PROGRAM, connectionId: api.id, body });
    await tryEnqueue(t, 'webhook-deliver', { deliveryId: second });
    const failed = await until(async () => {
      const [row] = await t.db
        .select()
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.id, second), eq(webhookDeliveries.attempts, 1)));
      return row?.status === 'pending' ? row : undefined;
    });
    expect(failed.lastStatusCode).toBe(500);
    const jobs = await until(async () => {
      const rows = await t.sql<{ start_after: string; created_on: string }[]>`
        select start_after, created_on from pgboss.job where name = 'webhook-deliver' and data->>'deliveryId' = ${second} and state = 'created'`;
      return rows.length ? rows : undefined;
    });
    const delay = (new Date(jobs[0].start_after).getTime() - new Date(jobs[0].created_on).getTime()) / 1000;
    expect(delay).toBeGreaterThanOrEqual(29);
    expect(delay).toBeLessThanOrEqual(31);
  });
});
