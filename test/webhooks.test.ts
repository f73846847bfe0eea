// Signed webhooks against real HTTP receivers on 127.0.0.1: the management routes, a files.ready
// from a real run verified with the standardwebhooks package, retries with backoff (a receiver
// that fails three times, one that never answers, one that redirects), the 24-hour limit, the
// outbound policy, and the Activity Log.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as pauseRoute } from '@/app/api/v1/connections/[id]/pause/route';
import { GET as listRoute, POST as createRoute } from '@/app/api/v1/connections/[id]/webhooks/route';
import { POST as redeliverRoute } from '@/app/api/v1/webhooks/[id]/deliveries/[delivery_id]/redeliver/route';
import { GET as logRoute } from '@/app/api/v1/webhooks/[id]/deliveries/route';
import { DELETE as deleteRoute, GET as getRoute, PATCH as patchRoute } from '@/app/api/v1/webhooks/[id]/route';
import { POST as testRoute } from '@/app/api/v1/webhooks/[id]/test/route';
import { closeDatabase } from '@/db/client';
import { auditLog, webhookDeliveries, webhookEndpoints, type Account, type Connection } from '@/db/schema';
import type { UserActor } from '@/lib/auth/actor';
import { createConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import type { RouteHandler } from '@/lib/auth/with-auth';
import { executeExportRun } from '@/lib/runs/export-run';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { setStorage } from '@/lib/storage';
import { attemptWebhookDelivery, RETRY_WINDOW_MS, WEBHOOK_TIMEOUT_MS } from '@/lib/webhooks';
import { createAccount, request, sessionCookie, useTestEnv } from './helpers/auth';
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
let dataDir: string;
let firstup: Account;
let brand: Account;
let cookie: string;
let brandCookie: string;
let api: Connection;
const PROGRAM = 71;
const receivers: WebhookReceiver[] = [];

type Json = Record<string, unknown>;
async function call<P extends Record<string, string>>(
  handler: RouteHandler<P>,
  method: string,
  url: string,
  params: P,
  json?: unknown,
  c = cookie,
): Promise<{ status: number; body: Json }> {
  const withProgram = `${url}${url.includes('?') ? '&' : '?'}program=${PROGRAM}`;
  const res = await handler(request(method, withProgram, { cookie: c, json }), { params: Promise.resolve(params) });
  return { status: res.status, body: (await res.json()) as Json };
}
const data = <T = Json>(r: { body: Json }) => r.body.data as T;

async function receiver(answer?: Parameters<typeof startWebhookReceiver>[0]) {
  const r = await startWebhookReceiver(answer);
  receivers.push(r);
  return r;
}

/** Adds an endpoint through the API and hands its secret to the receiver (as a customer would paste it). */
async function addEndpoint(r: WebhookReceiver, events?: string[]): Promise<{ id: string; secret: string }> {
  const res = await call(
    createRoute,
    'POST',
    `/api/v1/connections/${api.id}/webhooks`,
    { id: api.id },
    { url: r.url, ...(events ? { events } : {}) },
  );
  expect(res.status).toBe(201);
  const d = data<{ id: string; secret: string }>(res);
  r.secret = d.secret;
  return d;
}

async function messagesOf(endpointId: string) {
  return t.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpointId)).orderBy(webhookDeliveries.createdAt);
}

/** "Time passes" for a message without moving the clock (signatures carry the real time). */
async function makeDue(id: string, ageMs = 0) {
  await t.db
    .update(webhookDeliveries)
    .set({ nextAttemptAt: sql`now() - interval '1 second'`, createdAt: sql`now() - make_interval(secs => ${ageMs / 1000})` })
    .where(eq(webhookDeliveries.id, id));
}

const actor = (a: Account): UserActor => ({
  kind: 'user',
  accountId: a.id,
  email: a.email,
  name: null,
  role: a.role,
  mustChangePassword: false,
  programs: 'all',
  label: a.email,
});

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-webhooks-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined });
  setStorage(undefined);
  // The receivers listen on 127.0.0.1: the operator allows exactly that address (127.0.0.2 stays refused).
  allowNetworks('127.0.0.1/32');
  const until = new Date();
  await seedProgram(t, { programId: PROGRAM, users: 30, campaigns: 3, events: 600, days: 1, seed: 5, until });
  firstup = await createAccount(t.db, { role: 'firstup_super_admin' });
  brand = await createAccount(t.db, { role: 'brand_super_admin', programIds: [PROGRAM] });
  cookie = await sessionCookie(firstup);
  brandCookie = await sessionCookie(brand);
  const fourHours = 4 * 3_600_000;
  const start = new Date(Math.floor(until.getTime() / fourHours) * fourHours - 2 * fourHours);
  api = await createConnection(
    t,
    actor(firstup),
    PROGRAM,
    createConnectionSchema.parse({
      kind: 'api',
      name: 'Warehouse feed',
      frequency: 'every_4_hours',
      start_date: start.toISOString(),
      contact_emails: ['data@customer.example'],
    }),
  );
}, 120_000);

afterAll(async () => {
  for (const r of receivers) await r.close();
  allowNetworks(undefined);
  await closeDatabase();
  await t?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('webhook endpoints through the management API', () => {
  it('creates an endpoint with 201 and a whsec_ secret shown once, stored encrypted, listed without it', async () => {
    const r = await receiver();
    const res = await call(
      createRoute,
      'POST',
      `/api/v1/connections/${api.id}/webhooks`,
      { id: api.id },
      { url: r.url, events: ['files.ready'] },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const d = data<{ id: string; url: string; events: string[]; secret: string }>(res);
    expect(Object.keys(d).sort()).toEqual(['events', 'id', 'secret', 'url']);
    expect(d.url).toBe(r.url);
    expect(d.events).toEqual(['files.ready']);
    expect(d.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const [row] = await t.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, d.id));
    expect(row.secretCiphertext).not.toContain(d.secret.slice(6));
    const list = await call(listRoute, 'GET', `/api/v1/connections/${api.id}/webhooks`, { id: api.id });
    expect(JSON.stringify(list.body)).not.toContain(d.secret.slice(6));
    expect(data<{ id: string; enabled: boolean }[]>(list).map((e) => [e.id, e.enabled])).toEqual([[d.id, true]]);
    const one = await call(getRoute, 'GET', `/api/v1/webhooks/${d.id}`, { id: d.id });
    expect(JSON.stringify(one.body)).not.toContain(d.secret.slice(6));
    const [entry] = await t.db.select().from(auditLog).where(eq(auditLog.targetId, d.id));
    expect(entry).toMatchObject({ action: 'webhook.created', actorLabel: firstup.email, targetType: 'webhook' });
    expect(JSON.stringify(entry)).not.toContain(d.secret.slice(6));
    await call(deleteRoute, 'DELETE', `/api/v1/webhooks/${d.id}`, { id: d.id });
  });

  it('refuses bad URLs, unknown events, internal addresses and read-only admins, changing nothing', async () => {
    const before = await t.db.select().from(webhookEndpoints);
    const post = (json: unknown, c?: string) =>
      call(createRoute, 'POST', `/api/v1/connections/${api.id}/webhooks`, { id: api.id }, json, c);
    const cases: [unknown, number, RegExp][] = [
      [{ url: 'ftp://example.com/x' }, 422, /http/],
      [{ url: 'not a url' }, 422, /http/],
      [{ url: 'http://127.0.0.1:9/x', events: ['files.gone'] }, 422, /Events are/],
      [{ url: 'http://127.0.0.2:9/x' }, 422, /rule "loopback"/],
      [{ url: 'http://10.1.2.3/x' }, 422, /rule "private"/],
      [{ url: 'http://169.254.169.254/latest/meta-data' }, 422, /rule "metadata"/],
      [{ url: 'http://[::1]:9/x' }, 422, /loopback/],
      [{ url: 'http://user:pw@127.0.0.1:9/x' }, 422, /user name or password/],
      [{ url: 'http://127.0.0.1:9/x', extra: 1 }, 422, /extra|Unrecognized/i],
    ];
    for (const [json, status, message] of cases) {
      const res = await post(json);
      expect(res.status, JSON.stringify(json)).toBe(status);
      expect((res.body.error as { message: string }).message).toMatch(message);
    }
    const denied = await post({ url: 'http://127.0.0.1:9/x' }, brandCookie);
    expect(denied.status).toBe(403);
    const otherConnection = await call(
      createRoute,
      'POST',
      `/api/v1/connections/00000000-0000-4000-8000-000000000000/webhooks`,
      { id: '00000000-0000-4000-8000-000000000000' },
      { url: 'http://127.0.0.1:9/x' },
    );
    expect(otherConnection.status).toBe(404);
    expect(await t.db.select().from(webhookEndpoints)).toEqual(before);
  });

  it('changes and deletes an endpoint, each change in the Activity Log', async () => {
    const r = await receiver();
    const { id } = await addEndpoint(r);
    const patched = await call(patchRoute, 'PATCH', `/api/v1/webhooks/${id}`, { id }, { events: ['delivery.failed'], enabled: false });
    expect(patched.status).toBe(200);
    expect(data(patched)).toMatchObject({ events: ['delivery.failed'], enabled: false });
    expect((await call(patchRoute, 'PATCH', `/api/v1/webhooks/${id}`, { id }, {})).status).toBe(422);
    expect((await call(patchRoute, 'PATCH', `/api/v1/webhooks/${id}`, { id }, { url: 'http://192.168.1.5/x' })).status).toBe(422);
    expect((await call(patchRoute, 'PATCH', `/api/v1/webhooks/${id}`, { id }, { enabled: true }, brandCookie)).status).toBe(403);
    // A reader without write access sees the origin only; the writer sees the URL in full.
    const full = (data(await call(getRoute, 'GET', `/api/v1/webhooks/${id}`, { id })) as { url: string }).url;
    const masked = (data(await call(getRoute, 'GET', `/api/v1/webhooks/${id}`, { id }, undefined, brandCookie)) as { url: string }).url;
    expect(full).toBe(r.url);
    expect(masked).toBe(`${new URL(r.url).origin}/…`);
    const details = (await t.db.select().from(auditLog).where(eq(auditLog.targetId, id))).map((e) => JSON.stringify(e));
    expect(details.join('\n')).not.toContain(new URL(r.url).pathname);
    expect((await call(deleteRoute, 'DELETE', `/api/v1/webhooks/${id}`, { id })).status).toBe(200);
    expect((await call(getRoute, 'GET', `/api/v1/webhooks/${id}`, { id })).status).toBe(404);
    const actions = (await t.db.select().from(auditLog).where(eq(auditLog.targetId, id)).orderBy(auditLog.id)).map((e) => e.action);
    expect(actions).toEqual(['webhook.created', 'webhook.updated', 'webhook.deleted']);
  });
});

describe('sending webhooks', () => {
  let printed = false;
  it('sends files.ready for a run that became available, signed so the package verifies it, with every file and its metadata URL', async () => {
    const r = await receiver();
    const { id, secret } = await addEndpoint(r, ['files.ready', 'delivery.failed']);
    const planned = await planWindows(t, { now: new Date(), settleMs: 0 });
    expect(planned.newRunIds.length).toBeGreaterThan(0);
    const runId = planned.newRunIds[0];
    expect((await executeExportRun(t, runId)).status).toBe('available');
    const [message] = await messagesOf(id);
    expect(message).toMatchObject({ event: 'files.ready', status: 'pending', runId });
    const outcome = await attemptWebhookDelivery(t, message.id);
    expect(outcome).toMatchObject({ status: 'succeeded', statusCode: 200, attempts: 1 });
    expect(r.received).toHaveLength(1);
    const got = r.received[0];
    expect(got.verified).toBe(true);
    expect(got.headers['webhook-id']).toBe(message.id);
    expect(got.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    const body = JSON.parse(got.body) as {
      type: string;
      data: { connection: Json; run: Json; window: Json; export_type: string; files: Json[] };
    };
    expect(body.type).toBe('files.ready');
    expect(body.data.connection).toMatchObject({ id: api.id, kind: 'api', name: 'Warehouse feed', program_id: PROGRAM });
    expect(body.data.run).toMatchObject({ id: runId, export_type: 'incremental' });
    expect(body.data.export_type).toBe('incremental');
    const files = body.data.files as { name: string; type: string; rows: number; bytes: number; sha256: string; metadata_url?: string }[];
    for (const f of files) {
      expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(f.bytes).toBeGreaterThan(0);
      if (f.type !== 'manifest')
        expect(f.metadata_url).toMatch(
          new RegExp(`^http://localhost:3000/api/v1/data_exports/(users|campaigns|activities)/[0-9a-f-]{36}$`),
        );
    }
    expect(got.body).not.toContain(secret.slice(6));
    // A tampered body does not verify: the signature covers it.
    const { Webhook } = await import('standardwebhooks');
    expect(() => new Webhook(secret).verify(got.body.replace('files.ready', 'files.gone'), got.headers)).toThrow();
    const log = await call(logRoute, 'GET', `/api/v1/webhooks/${id}/deliveries`, { id });
    expect(data<Json[]>(log)[0]).toMatchObject({
      id: message.id,
      event: 'files.ready',
      status: 'succeeded',
      attempts: 1,
      response_code: 200,
    });
    expect(typeof data<Json[]>(log)[0].latency_ms).toBe('number');
    if (!printed) {
      printed = true;
      console.log(
        `RESULT files.ready as received:\n${JSON.stringify(got.headers, ['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type'])}\n${got.body}`,
      );
    }
  });

  it('retries a receiver that fails the first 3 attempts with growing delays, then succeeds on the 4th', async () => {
    const r = await receiver((n) => (n <= 4 ? 503 : 200)); // the test message, then the first 3 attempts of the redelivery
    const { id } = await addEndpoint(r);
    const res = await call(testRoute, 'POST', `/api/v1/webhooks/${id}/test`, { id });
    expect(data(res)).toMatchObject({ event: 'webhook.test', status: 'failed', response_code: 503 });
    // The test button is one attempt; an event message is retried.
    const redo = await call(redeliverRoute, 'POST', `/api/v1/webhooks/${id}/deliveries/${data<Json>(res).id as string}/redeliver`, {
      id,
      delivery_id: data<Json>(res).id as string,
    });
    expect(redo.status).toBe(202);
    const messageId = data<{ id: string }>(redo).id;
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const o = await attemptWebhookDelivery(t, messageId);
      expect(o.status).toBe('retry');
      if (o.status === 'retry') delays.push(o.retryInMs);
      expect(await attemptWebhookDelivery(t, messageId)).toMatchObject({ status: 'skipped' }); // not due yet
      await makeDue(messageId);
    }
    expect(delays).toEqual([30_000, 60_000, 120_000]);
    const last = await attemptWebhookDelivery(t, messageId);
    expect(last).toMatchObject({ status: 'succeeded', attempts: 4 });
    expect(r.received.map((x) => x.verified)).toEqual([true, true, true, true, true]);
    // The same message id and body on every attempt of one message.
    expect(new Set(r.received.slice(1).map((x) => x.headers['webhook-id']))).toEqual(new Set([messageId]));
    expect(new Set(r.received.slice(1).map((x) => x.body)).size).toBe(1);
    const log = data<Json[]>(await call(logRoute, 'GET', `/api/v1/webhooks/${id}/deliveries`, { id }));
    expect(log.map((l) => [l.event, l.status, l.attempts, l.response_code])).toEqual([
      ['webhook.test', 'succeeded', 4, 200],
      ['webhook.test', 'failed', 1, 503],
    ]);
    const audit = await t.db.select().from(auditLog).where(eq(auditLog.action, 'webhook.redelivered'));
    expect(audit).toHaveLength(1);
  });

  it('gives up on a receiver that never answers after 10 s per attempt and 24 hours of retries', async () => {
    expect(WEBHOOK_TIMEOUT_MS).toBe(10_000);
    const r = await receiver(() => 'hang');
    const { id } = await addEndpoint(r);
    await call(pauseRoute, 'POST', `/api/v1/connections/${api.id}/pause`, { id: api.id }, { mode: 'after_transfer' });
    const [message] = (await messagesOf(id)).filter((m) => m.event === 'connection.paused');
    expect(JSON.parse(message.payload)).toMatchObject({ type: 'connection.paused', data: { paused_by: firstup.email } });
    const started = Date.now();
    const first = await attemptWebhookDelivery(t, message.id);
    const took = Date.now() - started;
    expect(first).toMatchObject({ status: 'retry', statusCode: null, error: 'No answer within 10 s.' });
    expect(took).toBeGreaterThanOrEqual(9_500);
    expect(took).toBeLessThan(12_000);
    expect(r.received).toHaveLength(1);
    // Nearly 24 hours later the last retry is still made; after that the message fails for good.
    await makeDue(message.id, RETRY_WINDOW_MS - 60_000);
    const penultimate = await attemptWebhookDelivery(t, message.id, { timeoutMs: 300 });
    expect(penultimate.status).toBe('retry');
    if (penultimate.status === 'retry') expect(penultimate.retryInMs).toBeLessThanOrEqual(60_000);
    await makeDue(message.id, RETRY_WINDOW_MS + 1_000);
    expect(await attemptWebhookDelivery(t, message.id, { timeoutMs: 300 })).toMatchObject({ status: 'failed', attempts: 3 });
    const [row] = await t.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, message.id));
    expect(row).toMatchObject({ status: 'failed', attempts: 3, lastStatusCode: null });
    expect(await attemptWebhookDelivery(t, message.id)).toMatchObject({ status: 'skipped' });
  }, 30_000);

  it('never follows a redirect: the 302 is a failed attempt and the other server hears nothing', async () => {
    const elsewhere = await receiver();
    const r = await receiver(() => ({ redirect: elsewhere.url }));
    const { id } = await addEndpoint(r);
    const res = await call(testRoute, 'POST', `/api/v1/webhooks/${id}/test`, { id });
    expect(data(res)).toMatchObject({ status: 'failed', response_code: 302 });
    expect(String(data<Json>(res).error)).toMatch(/does not follow redirects/);
    expect(elsewhere.received).toHaveLength(0);
  });

  it('refuses to send to an address outside the policy at send time, before any packet, without retrying', async () => {
    const r = await receiver();
    const { id } = await addEndpoint(r);
    // The URL was allowed when saved; then the operator narrowed the allowed networks.
    allowNetworks(undefined);
    try {
      const res = await call(testRoute, 'POST', `/api/v1/webhooks/${id}/test`, { id });
      expect(data(res)).toMatchObject({ status: 'failed', attempts: 1, response_code: null });
      expect(String(data<Json>(res).error)).toMatch(/rule "loopback"/);
      expect(r.received).toHaveLength(0);
    } finally {
      allowNetworks('127.0.0.1/32');
    }
  });
});
