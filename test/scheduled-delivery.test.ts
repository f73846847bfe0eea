// The scheduled path end to end: planner → export → SFTP delivery → event history and email, and the
// jobs faults of docs/reliability.md (two workers, kill -9, pause immediately, SIGTERM, retries, expiry).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '@/db/client';
import { connections, deliveries, exportFiles, exportRuns, notifications, type Connection } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { createConnection, pauseConnection, resumeConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { sftpSetupCheck } from '@/lib/connections/sftp-check';
import { startSftpSink, type SftpSink } from '@/scripts/dev/sftp-sink';
import { testConnection } from '@/lib/delivery';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { expireFiles } from '@/lib/runs/expire';
import { executeExportRun } from '@/lib/runs/export-run';
import { recoverStaleRuns } from '@/lib/runs/recovery';
import { retryRun } from '@/lib/runs/retry';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { setStorage } from '@/lib/storage';
import { AppError } from '@/lib/http/errors';
import { useTestEnv, OPS_ADMIN } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { sshdSkipReason, startSshd, type TestSshd } from './helpers/sshd';

let t: TestDatabase;
let dataDir: string;
const skipSshd = sshdSkipReason();
const admin = OPS_ADMIN;
const until = new Date('2026-11-20T00:00:00Z');
const PROGRAM = 61;

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-sched-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined, DDE_DELIVERY_MAX_ATTEMPTS: '2' });
  setStorage(undefined);
  await seedProgram(t, { programId: PROGRAM, users: 80, campaigns: 6, events: 6000, days: 1, seed: 3, until });
  setClock(new Date(until.getTime() + 10 * 60_000));
}, 120_000);
afterAll(async () => {
  resetClock();
  await t?.drop();
});

async function sinkConnection(sink: SftpSink, folder = 'inbox'): Promise<Connection> {
  mkdirSync(path.join(sink.rootDir, folder), { recursive: true });
  const input = createConnectionSchema.parse({
    kind: 'sftp',
    frequency: 'every_4_hours',
    start_date: new Date(until.getTime() - 8 * 3_600_000).toISOString(),
    contact_emails: ['data-team@customer.example'],
    host: '127.0.0.1',
    port: sink.port,
    folder,
    username: sink.username,
    auth: { method: 'password', password: 'sink-password' },
    host_key_fingerprint: sink.hostKeyFingerprint,
  });
  return createConnection(t, admin, PROGRAM, input, sftpSetupCheck());
}

async function runsOf(connectionId: string) {
  return t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, connectionId)).orderBy(exportRuns.windowStart);
}

describe('scheduled delivery to a real OpenSSH server', () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    if (!skipSshd) sshd = await startSshd();
  });
  afterAll(async () => sshd?.stop());

  it.skipIf(skipSshd)('delivers every closed window: data files, sidecars that sha256sum verifies, and the manifest', async () => {
    const report = await testConnection({
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      auth: { method: 'private_key', privateKey: sshd.privateKey },
      folder: 'drop',
    });
    expect(report.ok).toBe(false); // the folder does not exist yet: set-up says so
    expect(report.error?.code).toBe('folder_missing');
    spawnSync('install', ['-d', '-o', String(sshd.uid), '-g', String(sshd.gid), path.join(sshd.rootDir, 'drop')]);
    const input = createConnectionSchema.parse({
      kind: 'sftp',
      frequency: 'every_4_hours',
      start_date: new Date(until.getTime() - 8 * 3_600_000).toISOString(),
      contact_emails: ['data-team@customer.example'],
      host: sshd.host,
      port: sshd.port,
      folder: 'drop',
      username: sshd.username,
      auth: { method: 'private_key', private_key: sshd.privateKey },
      host_key_fingerprint: sshd.hostKeyFingerprint,
    });
    const c = await createConnection(t, admin, PROGRAM, input, sftpSetupCheck());
    expect(c.secretCiphertext).not.toContain('PRIVATE KEY');

    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const runs = await runsOf(c.id);
    expect(runs.map((r) => r.windowStart.toISOString())).toEqual(['2026-11-19T16:00:00.000Z', '2026-11-19T20:00:00.000Z']);
    for (const r of runs) {
      expect((await executeExportRun(t, r.id)).status).toBe('generated');
      expect((await executeDelivery(t, r.id)).status).toBe('delivered');
    }
    const folder = path.join(sshd.rootDir, 'drop');
    const names = readdirSync(folder).sort();
    const files = await t.db.select().from(exportFiles).where(eq(exportFiles.programId, PROGRAM));
    const expected = files
      .filter((f) => runs.some((r) => r.id === f.runId))
      .flatMap((f) => (f.fileType === 'manifest' ? [f.name, `${f.name}.sig`] : [f.name, `${f.name}.sha256`]))
      .sort();
    expect(names).toEqual(expected);
    expect(names.some((n) => n.includes('-activity-incremental.gz'))).toBe(true);
    expect(names.filter((n) => n.includes('manifest') && n.endsWith('.json'))).toHaveLength(2);
    const check = spawnSync('sha256sum', ['-c', ...names.filter((n) => n.endsWith('.sha256'))], { cwd: folder, encoding: 'utf8' });
    expect(check.status).toBe(0);
    expect(check.stdout).not.toContain('FAILED');
    const manifest = JSON.parse(
      readFileSync(
        path.join(
          folder,
          names.find((n) => n.includes('manifest'))!,
        ),
        'utf8',
      ),
    );
    expect(manifest.connection_id).toBe(c.id);

    const history = await t.db.select().from(deliveries).where(eq(deliveries.connectionId, c.id));
    expect(history.map((d) => [d.status, d.attempt])).toEqual([
      ['succeeded', 1],
      ['succeeded', 1],
    ]);
    const mail = await t.db.select().from(notifications).where(eq(notifications.connectionId, c.id)).orderBy(notifications.createdAt);
    expect(mail.map((m) => [m.kind, m.subject.split(':')[0]])).toEqual([
      ['connection_active', 'DDE SFTP connection active'],
      ['delivery_report', 'DDE delivery succeeded'],
      ['delivery_report', 'DDE delivery succeeded'],
    ]);
    expect(mail[1].to).toEqual(['data-team@customer.example']);
  });

  it.skipIf(skipSshd)('refuses a set-up whose host key is not the one the admin confirmed, and saves nothing', async () => {
    const input = createConnectionSchema.parse({
      kind: 'sftp',
      frequency: 'daily',
      start_date: until.toISOString(),
      contact_emails: ['x@y.co'],
      host: sshd.host,
      port: sshd.port,
      folder: '.',
      username: sshd.username,
      auth: { method: 'private_key', private_key: sshd.privateKey },
      host_key_fingerprint: 'SHA256:' + 'A'.repeat(43),
    });
    const before = (await t.db.select().from(connections)).length;
    const err = await createConnection(t, admin, PROGRAM, input, sftpSetupCheck()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toMatch(/host key/i);
    expect(await t.db.select().from(connections)).toHaveLength(before);
  });
});

describe('delivery faults (in-process SFTP server)', () => {
  let sink: SftpSink;
  beforeAll(async () => {
    sink = await startSftpSink({
      rootDir: mkdtempSync(path.join(os.tmpdir(), 'dde-sink-')),
      username: 'customer',
      password: 'sink-password',
    });
  });
  afterAll(async () => sink?.close());

  it('retries a retryable failure with backoff, fails after the last attempt with one email, and can be retried by hand while its files exist', async () => {
    const c = await sinkConnection(sink, 'retry');
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const [run] = await runsOf(c.id);
    await executeExportRun(t, run.id);
    sink.faults.diskFullAfterBytes = 1024;
    const first = await executeDelivery(t, run.id);
    expect(first.status).toBe('retry');
    expect(first.status === 'retry' && first.retryInSeconds).toBe(30);
    const second = await executeDelivery(t, run.id);
    expect(second.status).toBe('failed');
    const history = await t.db.select().from(deliveries).where(eq(deliveries.runId, run.id)).orderBy(deliveries.attempt);
    expect(history.map((d) => [d.attempt, d.status, d.errorCode, d.retryable])).toEqual([
      [1, 'failed', 'no_space', true],
      [2, 'failed', 'no_space', true],
    ]);
    const mail = await t.db.select().from(notifications).where(eq(notifications.runId, run.id));
    expect(mail).toHaveLength(1);
    expect(mail[0].subject).toMatch(/^DDE delivery failed/);
    expect(readdirSync(path.join(sink.rootDir, 'retry')).filter((n) => !n.startsWith('.'))).toEqual([]);

    sink.faults.diskFullAfterBytes = undefined;
    expect(await retryRun(t, admin, PROGRAM, run.id)).toEqual({ next: 'deliver' });
    const third = await executeDelivery(t, run.id, { trigger: 'manual' });
    expect(third.status).toBe('delivered');
    const [latest] = await t.db
      .select()
      .from(deliveries)
      .where(and(eq(deliveries.runId, run.id), eq(deliveries.attempt, 3)));
    expect([latest.status, latest.trigger]).toEqual(['succeeded', 'manual']);
  });

  it('refuses a manual retry once the files have expired, and expiry deletes the bytes but keeps the records', async () => {
    const c = await sinkConnection(sink, 'expiry');
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const [run] = await runsOf(c.id);
    await executeExportRun(t, run.id);
    sink.faults.readOnly = true;
    expect((await executeDelivery(t, run.id)).status).toBe('failed'); // permission_denied is not retried
    sink.faults.readOnly = false;
    const files = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, run.id));
    const onDisk = files.map((f) => path.join(dataDir, 'exports', f.storageKey));
    expect(onDisk.every((f) => existsSync(f))).toBe(true);

    setClock(new Date(until.getTime() + 8 * 86_400_000));
    try {
      expect(await expireFiles(t)).toBeGreaterThanOrEqual(files.length);
      expect(onDisk.some((f) => existsSync(f))).toBe(false);
      const after = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, run.id));
      expect(after.every((f) => f.expired)).toBe(true);
      const err = await retryRun(t, admin, PROGRAM, run.id).catch((e: unknown) => e);
      expect((err as AppError).status).toBe(410);
      expect((err as AppError).message).toMatch(/^The files of this run expired on \d{4}-\d{2}-\d{2}; it can no longer be retried/);
    } finally {
      setClock(new Date(until.getTime() + 10 * 60_000));
    }
  });

  it('pause immediately aborts a stalled upload within seconds, leaves no file under a final name, and the window is delivered after resume', async () => {
    const c = await sinkConnection(sink, 'pause');
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const [run] = await runsOf(c.id);
    await executeExportRun(t, run.id);
    sink.faults.stallWritesAfterBytes = 4096;
    const delivering = executeDelivery(t, run.id, { watchPollMs: 200 });
    await new Promise((r) => setTimeout(r, 1500));
    const pausedAt = Date.now();
    await pauseConnection(t, admin, PROGRAM, c.id, 'immediately');
    const outcome = await delivering;
    const abortSeconds = (Date.now() - pausedAt) / 1000;
    expect(outcome.status).toBe('requeued');
    expect(abortSeconds).toBeLessThan(5);
    expect(readdirSync(path.join(sink.rootDir, 'pause')).filter((n) => !n.startsWith('.'))).toEqual([]);
    const [back] = await runsOf(c.id);
    expect(back.status).toBe('generated');

    sink.faults.stallWritesAfterBytes = undefined;
    expect((await executeDelivery(t, run.id)).status).toBe('skipped'); // still paused: nothing new starts
    await resumeConnection(t, admin, PROGRAM, c.id);
    expect((await executeDelivery(t, run.id)).status).toBe('delivered');
    const history = await t.db.select().from(deliveries).where(eq(deliveries.runId, run.id)).orderBy(deliveries.startedAt);
    expect(history.map((d) => d.status)).toEqual(['aborted', 'succeeded']);
  });

  it('two workers given the same run produce exactly one file set and one delivery', async () => {
    const c = await sinkConnection(sink, 'twice');
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const [run] = await runsOf(c.id);
    const other = createDb(t.url, { max: 3 });
    try {
      const outcomes = await Promise.all([executeExportRun(t, run.id), executeExportRun(other, run.id)]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(['generated', 'skipped']);
      const deliveriesOut = await Promise.all([executeDelivery(t, run.id), executeDelivery(other, run.id)]);
      expect(deliveriesOut.map((o) => o.status).sort()).toEqual(['delivered', 'skipped']);
    } finally {
      await other.sql.end();
    }
    const files = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, run.id));
    const names = readdirSync(path.join(sink.rootDir, 'twice')).sort();
    expect(names).toEqual(
      files.flatMap((f) => (f.fileType === 'manifest' ? [f.name, `${f.name}.sig`] : [f.name, `${f.name}.sha256`])).sort(),
    );
    expect(await t.db.select().from(deliveries).where(eq(deliveries.runId, run.id))).toHaveLength(1);
  });
});

describe('worker processes', () => {
  const BIG_PROGRAM = 62;
  let bigConnection: Connection;
  beforeAll(async () => {
    // One window big enough that its export takes a few seconds.
    await seedProgram(t, {
      programId: BIG_PROGRAM,
      users: 200,
      campaigns: 10,
      events: 400_000,
      days: 1,
      seed: 9,
      until: new Date('2026-11-19T04:00:00Z'),
      lateFraction: 0,
    });
    const input = createConnectionSchema.parse({
      kind: 'api',
      frequency: 'daily',
      start_date: '2026-11-18T00:00:00Z',
      contact_emails: ['ops@customer.example'],
    });
    setClock(new Date('2026-11-19T00:00:00Z'));
    bigConnection = await createConnection(t, admin, BIG_PROGRAM, input);
    setClock(new Date(until.getTime() + 10 * 60_000));
  }, 120_000);

  const childEnv = () => ({
    ...process.env,
    TEST_RUN_DATABASE_URL: t.url,
    DATABASE_URL: t.url,
    DDE_DATA_DIR: dataDir,
    NEXTAUTH_SECRET: 'x'.repeat(32),
    DDE_ENCRYPTION_KEY: 'ab'.repeat(32),
    LOG_LEVEL: 'warn',
  });

  async function freshRun(windowStart: string, windowEnd: string) {
    const [run] = await t.db
      .insert(exportRuns)
      .values({
        connectionId: bigConnection.id,
        programId: BIG_PROGRAM,
        exportType: 'historical',
        windowStart: new Date(windowStart),
        windowEnd: new Date(windowEnd),
      })
      .returning();
    return run;
  }

  async function waitForStatus(runId: string, status: string, ms = 30_000) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const [r] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, runId));
      if (r.status === status) return r;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`run ${runId} never reached ${status}`);
  }

  it('kill -9 of a worker mid-export: the run is recovered and completes, with one file set and no partial file', async () => {
    const run = await freshRun('2026-11-18T00:00:00Z', '2026-11-20T00:00:00Z');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/run-export.ts', run.id], { env: childEnv(), stdio: 'ignore' });
    await waitForStatus(run.id, 'generating');
    await new Promise((r) => setTimeout(r, 700));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect((await t.db.select().from(exportRuns).where(eq(exportRuns.id, run.id)))[0].status).toBe('generating');

    await new Promise((r) => setTimeout(r, 2100));
    const recovered = await recoverStaleRuns(t, 2);
    expect(recovered.export).toContain(run.id);
    const outcome = await executeExportRun(t, run.id);
    expect(outcome.status).toBe('available');
    const files = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, run.id));
    expect(files.find((f) => f.fileType === 'activity')!.rows).toBe(400_000);
    const runDir = path.dirname(path.join(dataDir, 'exports', files[0].storageKey));
    const onDisk = readdirSync(runDir).sort();
    expect(onDisk).toEqual(files.flatMap((f) => (f.fileType === 'manifest' ? [f.name] : [f.name, `${f.name}.sha256`])).sort());
  }, 90_000);

  it('SIGTERM: the jobs worker finishes or hands back its in-flight export within the grace period and exits', async () => {
    const run = await freshRun('2026-11-16T00:00:00Z', '2026-11-20T00:00:00Z');
    const boss = new PgBoss({ connectionString: t.url, schema: 'pgboss' });
    const worker = spawn(process.execPath, ['--import', 'tsx', 'jobs/index.ts'], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    worker.stdout!.on('data', (d) => (output += d));
    worker.stderr!.on('data', (d) => (output += d));
    try {
      await boss.start();
      const deadline = Date.now() + 30_000;
      while (!(await boss.getQueue('export-run')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      await boss.send('export-run', { runId: run.id });
      await waitForStatus(run.id, 'generating');
      const termAt = Date.now();
      worker.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => worker.once('exit', r));
      expect(code, output).toBe(0);
      expect(Date.now() - termAt).toBeLessThan(30_000);
      const [after] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, run.id));
      expect(['available', 'planned']).toContain(after.status);
    } finally {
      if (worker.exitCode === null) worker.kill('SIGKILL');
      await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
    }
  }, 90_000);
});
