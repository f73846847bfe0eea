// Reports for every connection, as its contacts see them in the outbox: SFTP every run and API
// failures only by default, every run / failures only / daily digest on request, a failed export
// reported to both kinds with its error class and what to do, a failure after a manual retry
// reported again, and the auto-pause after N consecutive failed windows (contacts and Firstup
// Super Admins told why, Activity Log, connection.paused, Resume).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as settingsRoute, PATCH as patchSettingsRoute } from '@/app/api/v1/connections/[id]/notification-settings/route';
import { closeDatabase } from '@/db/client';
import { auditLog, connections, exportRuns, notifications, webhookDeliveries, type Account, type Connection } from '@/db/schema';
import type { UserActor } from '@/lib/auth/actor';
import { resetClock, setClock } from '@/lib/clock';
import { createConnection, resumeConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { DeliveryError, type DeliverFilesInput, type DeliveryResult } from '@/lib/delivery';
import { onRunFailed, sendDailyDigests } from '@/lib/notify';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { executeExportRun } from '@/lib/runs/export-run';
import { retryRun } from '@/lib/runs/retry';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { getStorage, setStorage, type Storage } from '@/lib/storage';
import { createWebhookEndpoint } from '@/lib/webhooks';
import { createAccount, createPrograms, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { resetEnv } from '@/lib/env';
import { resetOutboundPolicy } from '@/lib/net/outbound-policy';

/** The operator's allow list for outbound connections (DDE_OUTBOUND_ALLOWED_NETWORKS). */
function allowNetworks(list: string | undefined) {
  resetEnv({ DDE_OUTBOUND_ALLOWED_NETWORKS: list });
  resetOutboundPolicy();
}

let t: TestDatabase;
let dataDir: string;
let admin: Account;
let adminActor: UserActor;
let cookie: string;
const PROGRAM = 81;
const until = new Date('2026-11-20T00:00:00Z');
const FINGERPRINT = `SHA256:${'A'.repeat(43)}`;

const deliverOk = async (input: DeliverFilesInput): Promise<DeliveryResult> => ({
  files: [],
  bytes: 0,
  durationMs: 1,
  hostKeyFingerprint: input.pinnedFingerprint,
});
const deliverRefused = async (): Promise<DeliveryResult> => {
  throw new DeliveryError('auth_failed', 'All configured authentication methods failed.', { retryable: false });
};

async function sftpConnection(name: string, over: Record<string, unknown> = {}): Promise<Connection> {
  const input = createConnectionSchema.parse({
    kind: 'sftp',
    name,
    frequency: 'every_4_hours',
    start_date: new Date(until.getTime() - 2 * 86_400_000).toISOString(),
    contact_emails: ['sftp-team@customer.example'],
    host: '127.0.0.1',
    port: 2222,
    folder: 'inbox',
    username: 'dde',
    auth: { method: 'password', password: 'hunter2-sftp-secret' },
    host_key_fingerprint: FINGERPRINT,
    ...over,
  });
  return createConnection(t, adminActor, PROGRAM, input, async () => undefined);
}

async function apiConnection(name: string): Promise<Connection> {
  const input = createConnectionSchema.parse({
    kind: 'api',
    name,
    frequency: 'every_4_hours',
    start_date: new Date(until.getTime() - 2 * 86_400_000).toISOString(),
    contact_emails: ['api-team@customer.example'],
  });
  return createConnection(t, adminActor, PROGRAM, input);
}

async function runsOf(c: Connection) {
  return t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, c.id)).orderBy(asc(exportRuns.windowStart));
}

async function mailOf(c: Connection, kind?: string) {
  return t.db
    .select()
    .from(notifications)
    .where(and(eq(notifications.connectionId, c.id), kind ? eq(notifications.kind, kind) : undefined))
    .orderBy(asc(notifications.createdAt));
}

async function settings(c: Connection, json?: unknown) {
  const url = `/api/v1/connections/${c.id}/notification-settings?program=${PROGRAM}`;
  const handler = json === undefined ? settingsRoute : patchSettingsRoute;
  const res = await handler(request(json === undefined ? 'GET' : 'PATCH', url, { cookie, json }), {
    params: Promise.resolve({ id: c.id }),
  });
  return { status: res.status, body: (await res.json()) as { data: Record<string, unknown>; error?: { message: string } } };
}

/** Exports a SFTP run and delivers it with `deliver`. */
async function runSftp(runId: string, deliver: typeof deliverOk) {
  expect((await executeExportRun(t, runId)).status).toBe('generated');
  return executeDelivery(t, runId, { deliver });
}

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-reports-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined });
  setStorage(undefined);
  allowNetworks('127.0.0.1/32');
  await seedProgram(t, { programId: PROGRAM, users: 40, campaigns: 4, events: 1500, days: 2, seed: 9, until });
  await createPrograms(t.db, [{ id: PROGRAM + 1, name: 'Another program' }]);
  admin = await createAccount(t.db, { role: 'firstup_super_admin', programIds: [PROGRAM], email: 'ops-lead@firstup.example' });
  await createAccount(t.db, { role: 'firstup_super_admin', programIds: [PROGRAM + 1], email: 'other-program-admin@firstup.example' });
  adminActor = {
    kind: 'user',
    accountId: admin.id,
    email: admin.email,
    name: null,
    role: 'firstup_super_admin',
    mustChangePassword: false,
    programs: 'all',
    label: admin.email,
  };
  cookie = await sessionCookie(admin);
  setClock(new Date(until.getTime() + 10 * 60_000));
}, 120_000);

afterAll(async () => {
  resetClock();
  setStorage(undefined);
  allowNetworks(undefined);
  await closeDatabase();
  await t?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('reports for every connection', () => {
  it('reports every SFTP run and only failed API runs by default; an API connection can ask for every run', async () => {
    const sftp = await sftpConnection('Warehouse SFTP');
    const api = await apiConnection('Warehouse API');
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const [s1] = await runsOf(sftp);
    expect((await runSftp(s1.id, deliverOk)).status).toBe('delivered');
    const sftpMail = await mailOf(sftp, 'delivery_report');
    expect(sftpMail.map((m) => m.subject)).toEqual([
      `DDE delivery succeeded: Warehouse SFTP (${s1.windowStart.toISOString().slice(0, 16).replace('T', ' ')} UTC)`,
    ]);
    expect(sftpMail[0].body).not.toContain('hunter2-sftp-secret');

    const [a1, a2] = await runsOf(api);
    expect((await executeExportRun(t, a1.id)).status).toBe('available');
    expect(await mailOf(api, 'delivery_report')).toEqual([]);
    expect((await settings(api)).body.data).toMatchObject({
      report_mode: 'failures_only',
      report_mode_is_default: true,
      auto_pause_after: 5,
    });

    const changed = await settings(api, { report_mode: 'every_run' });
    expect(changed.status).toBe(200);
    expect(changed.body.data).toMatchObject({ report_mode: 'every_run', report_mode_is_default: false });
    expect((await settings(api, { report_mode: 'sometimes' })).status).toBe(422);
    expect((await settings(api, { auto_pause_after: -1 })).status).toBe(422);
    const [entry] = await t.db.select().from(auditLog).where(eq(auditLog.action, 'connection.notifications_changed'));
    expect(entry).toMatchObject({ targetId: api.id, before: { report_mode: 'failures_only' }, after: { report_mode: 'every_run' } });

    expect((await executeExportRun(t, a2.id)).status).toBe('available');
    const [ready] = await mailOf(api, 'delivery_report');
    expect(ready.to).toEqual(['api-team@customer.example']);
    expect(ready.subject).toMatch(/^DDE files ready: Warehouse API \(/);
    expect(ready.body).toContain('are ready to collect from the export API');
    expect(ready.body).toContain('Destination: Export API');
    expect(ready.body).toMatch(/81-11-1\d-2026-\d\d-activity-incremental\.gz: [\d,]+ rows/);
  });

  it('reports a run whose export fails to an API connection, with the error class and what to do, and sends delivery.failed', async () => {
    const api = await apiConnection('Failing API');
    const hook = await createWebhookEndpoint(t, adminActor, api, { url: 'http://127.0.0.1:9/hooks', events: ['delivery.failed'] });
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const [run] = await runsOf(api);
    const real = getStorage();
    const broken = Object.create(real, {
      put: { value: async () => Promise.reject(new Error('storage quota exceeded')) },
    }) as Storage;
    setStorage(broken);
    try {
      for (let i = 1; i < 3; i++) await expect(executeExportRun(t, run.id)).rejects.toThrow('storage quota exceeded');
      expect((await executeExportRun(t, run.id)).status).toBe('failed');
    } finally {
      setStorage(undefined);
    }
    const [report] = await mailOf(api, 'delivery_report');
    expect(report.subject).toMatch(/^DDE export failed \(files could not be generated\): Failing API \(/);
    expect(report.body).toContain('could not be generated after 3 attempts');
    expect(report.body).toContain('Error: export_failed — storage quota exceeded');
    expect(report.body).toContain('Retry it from there');
    const [message] = await t.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, hook.endpoint.id));
    const body = JSON.parse(message.payload) as { type: string; data: Record<string, unknown> };
    expect(body.type).toBe('delivery.failed');
    expect(body.data).toMatchObject({
      error: { class: 'export_failed', title: 'files could not be generated', message: 'storage quota exceeded', retryable: true },
      attempts: 3,
      what_to_do: expect.stringContaining('Retry it from there') as unknown,
    });
    expect(message.payload).not.toContain(hook.secret.slice(6));
  });

  it('reports a failure again when the run fails again after a manual retry, but never twice for one failure', async () => {
    const sftp = await sftpConnection('Retried SFTP');
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const [run] = await runsOf(sftp);
    expect((await runSftp(run.id, deliverRefused)).status).toBe('failed');
    await onRunFailed(t, run.id); // a handler that runs twice
    expect(await mailOf(sftp, 'delivery_report')).toHaveLength(1);
    await retryRun(t, adminActor, PROGRAM, run.id);
    expect((await executeDelivery(t, run.id, { deliver: deliverRefused })).status).toBe('failed');
    const reports = await mailOf(sftp, 'delivery_report');
    expect(reports).toHaveLength(2);
    expect(reports[0].subject).toBe(reports[1].subject);
    expect(reports[1].subject).toMatch(/^DDE delivery failed \(sign-in rejected\): Retried SFTP/);
    expect(reports[1].body).toContain('The SFTP server rejected the username, password or key.');
  });

  it('sends a daily digest instead of a report per run when the connection chose it', async () => {
    const sftp = await sftpConnection('Digest SFTP');
    expect((await settings(sftp, { report_mode: 'daily_digest' })).status).toBe(200);
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const [r1, r2] = await runsOf(sftp);
    expect((await runSftp(r1.id, deliverOk)).status).toBe('delivered');
    expect((await runSftp(r2.id, deliverRefused)).status).toBe('failed');
    expect(await mailOf(sftp, 'delivery_report')).toEqual([]);
    resetClock(); // the digest covers the last day by the clock the runs finished by
    try {
      expect(await sendDailyDigests(t)).toBe(1);
      expect(await sendDailyDigests(t)).toBe(0);
    } finally {
      setClock(new Date(until.getTime() + 10 * 60_000));
    }
    const [digest] = await mailOf(sftp, 'delivery_digest');
    expect(digest.subject).toBe('DDE daily digest: Digest SFTP: 1 ok, 1 failed');
    expect(digest.body).toContain('Failed (1):');
    expect(digest.body).toContain('FAILED (sign-in rejected)');
    expect(digest.body).toContain('Succeeded (1):');
  });
});

describe('auto-pause after consecutive failed windows', () => {
  it('pauses after 5 failed windows in a row, tells contacts and the program’s Firstup Super Admins why, and starts counting again after Resume', async () => {
    const sftp = await sftpConnection('Dead server');
    const hook = await createWebhookEndpoint(t, adminActor, sftp, { url: 'http://127.0.0.1:9/hooks', events: ['connection.paused'] });
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const runs = await runsOf(sftp);
    expect(runs.length).toBeGreaterThanOrEqual(7);
    // A success, then failures: only the failures in a row count.
    expect((await runSftp(runs[0].id, deliverOk)).status).toBe('delivered');
    for (const r of runs.slice(1, 5)) expect((await runSftp(r.id, deliverRefused)).status).toBe('failed');
    const status = async () => (await t.db.select().from(connections).where(eq(connections.id, sftp.id)))[0].status;
    expect(await status()).toBe('active');
    expect((await settings(sftp)).body.data).toMatchObject({ consecutive_failed_windows: 4, auto_paused: null });

    expect((await runSftp(runs[5].id, deliverRefused)).status).toBe('failed');
    expect(await status()).toBe('paused');
    const [pausedMail] = await mailOf(sftp, 'connection_paused');
    expect(pausedMail.to.sort()).toEqual(['ops-lead@firstup.example', 'sftp-team@customer.example']);
    expect(pausedMail.subject).toBe('DDE connection paused after 5 failed windows: Dead server');
    expect(pausedMail.body).toContain('because its last 5 windows failed in a row');
    expect(pausedMail.body).toContain('Last error: auth_failed — All configured authentication methods failed.');
    expect(pausedMail.body).toContain('press Resume on the connection page');
    expect(pausedMail.body).not.toContain('hunter2-sftp-secret');
    const [entry] = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, sftp.id), eq(auditLog.action, 'connection.auto_paused')));
    expect(entry).toMatchObject({ actorLabel: 'system', details: { consecutive_failed_windows: 5, last_error: { code: 'auth_failed' } } });
    const shown = (await settings(sftp)).body.data.auto_paused as { reason: string };
    expect(shown.reason).toBe('The last 5 windows failed in a row (last error: sign-in rejected).');
    const [message] = await t.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, hook.endpoint.id));
    expect(JSON.parse(message.payload)).toMatchObject({
      type: 'connection.paused',
      data: { paused_by: 'system (auto-pause)', consecutive_failed_windows: 5, reason: shown.reason },
    });

    await resumeConnection(t, adminActor, PROGRAM, sftp.id);
    expect((await settings(sftp)).body.data).toMatchObject({ auto_paused: null, consecutive_failed_windows: 0 });
    expect((await runSftp(runs[6].id, deliverRefused)).status).toBe('failed');
    expect(await status()).toBe('active');
    expect(await mailOf(sftp, 'connection_paused')).toHaveLength(1);
  });

  it('never pauses a connection whose threshold is 0', async () => {
    const sftp = await sftpConnection('Never pause');
    expect((await settings(sftp, { auto_pause_after: 0 })).status).toBe(200);
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    for (const r of (await runsOf(sftp)).slice(0, 6)) expect((await runSftp(r.id, deliverRefused)).status).toBe('failed');
    const [c] = await t.db.select().from(connections).where(eq(connections.id, sftp.id));
    expect(c.status).toBe('active');
    expect(await mailOf(sftp, 'connection_paused')).toEqual([]);
  });
});
