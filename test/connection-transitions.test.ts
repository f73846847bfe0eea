// The connections writer's system transitions, as the Activity Log and the runs show them: the
// auto-pause after failed windows is the admin's "pause after transfer" (the run in flight is
// delivered, then the connection settles to paused, each step in the Activity Log); the planner's
// ending of a connection at its end date is in the Activity Log once, however many planners run;
// the daily check's verdict flipping between failing and passing is in the Activity Log.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimRunForExport, finishRunExport } from '@/db/queries/run-ledger';
import { auditLog, connections, exportRuns, type Connection } from '@/db/schema';
import { createConnection, pauseConnection, settlePausing } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { DeliveryError, type DeliverFilesInput, type DeliveryResult } from '@/lib/delivery';
import { resetEnv } from '@/lib/env';
import { resetOutboundPolicy } from '@/lib/net/outbound-policy';
import { checkConnections, updateNotificationSettings } from '@/lib/notify';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { executeExportRun } from '@/lib/runs/export-run';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { setStorage } from '@/lib/storage';
import { OPS_ADMIN, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let dataDir: string;
const admin = OPS_ADMIN;
const PROGRAM = 83;
const until = new Date('2026-11-20T00:00:00Z');
const FINGERPRINT = `SHA256:${'B'.repeat(43)}`;

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
  return createConnection(t, admin, PROGRAM, input, async () => undefined);
}

const rowOf = async (id: string) => (await t.db.select().from(connections).where(eq(connections.id, id)))[0];
const runsOf = (c: Connection) =>
  t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, c.id)).orderBy(asc(exportRuns.windowStart));
const entriesOf = async (c: Connection) =>
  (await t.db.select().from(auditLog).where(eq(auditLog.targetId, c.id)).orderBy(asc(auditLog.id))).map((e) => ({
    action: e.action,
    by: e.actorLabel,
    before: e.before,
    after: e.after,
  }));

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-transitions-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined });
  resetEnv({ DDE_OUTBOUND_ALLOWED_NETWORKS: '127.0.0.1/32' });
  resetOutboundPolicy();
  setStorage(undefined);
  await seedProgram(t, { programId: PROGRAM, users: 40, campaigns: 4, events: 1500, days: 2, seed: 11, until });
}, 120_000);
afterAll(async () => {
  setStorage(undefined);
  await t?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('one pause with one behaviour', () => {
  it('auto-pauses like an admin pausing after transfer: the run in flight is delivered first, then the connection is paused', async () => {
    const c = await sftpConnection('Failing server');
    await updateNotificationSettings(t, admin, PROGRAM, c.id, { auto_pause_after: 2 });
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const runs = await runsOf(c);
    expect(runs.length).toBeGreaterThanOrEqual(4);
    // The oldest window is being exported (its files written, the step not yet finished) while the
    // two after it fail for good.
    const inFlight = runs[0];
    expect((await executeExportRun(t, inFlight.id)).status).toBe('generated');
    await t.db.update(exportRuns).set({ status: 'generating' }).where(eq(exportRuns.id, inFlight.id));
    for (const r of runs.slice(1, 3)) {
      expect((await executeExportRun(t, r.id)).status).toBe('generated');
      expect((await executeDelivery(t, r.id, { deliver: deliverRefused })).status).toBe('failed');
    }
    const pausing = await rowOf(c.id);
    expect([pausing.status, pausing.pauseMode]).toEqual(['pausing', 'after_transfer']);
    expect((await t.db.select().from(exportRuns).where(eq(exportRuns.id, inFlight.id)))[0].finishBeforePause).toBe(true);

    // Nothing new starts while pausing; the run in flight finishes and is delivered.
    expect((await executeExportRun(t, runs[3].id)).status).toBe('skipped');
    await settlePausing(t.db, c.id);
    expect((await rowOf(c.id)).status).toBe('pausing');
    expect((await finishRunExport(t.db, inFlight.id, 'generated')).ok).toBe(true);
    expect((await executeDelivery(t, inFlight.id, { deliver: deliverOk })).status).toBe('delivered');
    await settlePausing(t.db, c.id);
    await settlePausing(t.db, c.id);
    expect((await rowOf(c.id)).status).toBe('paused');

    const log = (await entriesOf(c)).filter((e) => e.action !== 'connection.notifications_changed');
    expect(log.map((e) => [e.action, e.by])).toEqual([
      ['connection.created', 'ops@firstup.example'],
      ['connection.auto_paused', 'system'],
      ['connection.pause_completed', 'system'],
    ]);
    expect(log[1]).toMatchObject({ before: { status: 'active' }, after: { status: 'pausing', pauseMode: 'after_transfer' } });
    expect(log[2]).toMatchObject({ before: { status: 'pausing' }, after: { status: 'paused' } });
  });

  it('marks the same runs whether an admin or the auto-pause pauses after transfer', async () => {
    const c = await sftpConnection('Paused by hand');
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const [inFlight, waiting] = await runsOf(c);
    expect((await claimRunForExport(t.db, inFlight.id)).ok).toBe(true);
    const paused = await pauseConnection(t, admin, PROGRAM, c.id, 'after_transfer');
    expect([paused.status, paused.pauseMode]).toEqual(['pausing', 'after_transfer']);
    const marks = await t.db
      .select({ id: exportRuns.id, finishBeforePause: exportRuns.finishBeforePause })
      .from(exportRuns)
      .where(and(eq(exportRuns.connectionId, c.id), eq(exportRuns.finishBeforePause, true)));
    expect(marks.map((m) => m.id)).toEqual([inFlight.id]);
    expect(marks.map((m) => m.id)).not.toContain(waiting.id);
  });
});

describe('the planner ending a connection', () => {
  it('ends a connection at its end date with one Activity Log entry by the system, however many planners run', async () => {
    const c = await sftpConnection('Ends soon', {
      frequency: 'daily',
      start_date: new Date(until.getTime() - 2 * 86_400_000).toISOString(),
      end_date: new Date(until.getTime() - 86_400_000 + 6 * 3_600_000).toISOString(),
    });
    const tick = { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 };
    const results = await Promise.all([planWindows(t, tick), planWindows(t, tick), planWindows(t, tick)]);
    expect(results.reduce((n, r) => n + r.ended, 0)).toBe(1);
    expect((await rowOf(c.id)).status).toBe('ended');
    await planWindows(t, tick);
    const ended = (await entriesOf(c)).filter((e) => e.action === 'connection.ended');
    expect(ended).toEqual([{ action: 'connection.ended', by: 'system', before: { status: 'active' }, after: { status: 'ended' } }]);
  });
});

describe('the daily check', () => {
  it('writes the Activity Log when a connection starts failing and when it passes again, not on every check', async () => {
    const c = await sftpConnection('Checked daily');
    const refused = async () => ({ ok: false as const, error: { code: 'auth_failed', message: 'Permission denied.' } });
    const passes = async () => ({ ok: true as const });
    const only = (verdicts: { connectionId: string }[]) => verdicts.filter((v) => v.connectionId === c.id);
    type Test = NonNullable<Parameters<typeof checkConnections>[1]>['test'];
    for (const test of [passes, refused, refused, passes, passes]) {
      expect(only(await checkConnections(t, { test: test as unknown as Test }))).toHaveLength(1);
    }
    expect((await rowOf(c.id)).healthStatus).toBe('ok');
    const health = (await entriesOf(c)).filter((e) => e.action === 'connection.health_changed');
    expect(health).toEqual([
      { action: 'connection.health_changed', by: 'system', before: { health_status: 'ok' }, after: { health_status: 'auth_failed' } },
      { action: 'connection.health_changed', by: 'system', before: { health_status: 'auth_failed' }, after: { health_status: 'ok' } },
    ]);
  });
});
