// "Pause after transfer" lets the current transfer job be completed before pausing: a run caught
// while its files are being generated, or while they are being uploaded, is delivered to the real
// OpenSSH server, and only then is the connection paused; a run that had not started waits for resume.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections, exportRuns, type Connection } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { createConnection, pauseConnection, resumeConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { sftpSetupCheck } from '@/lib/connections/sftp-check';
import { deliverFiles } from '@/lib/delivery';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { executeExportRun } from '@/lib/runs/export-run';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { setStorage } from '@/lib/storage';
import { useTestEnv, OPS_ADMIN } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { sshdSkipReason, startSshd, type TestSshd } from './helpers/sshd';

let t: TestDatabase;
const skipSshd = sshdSkipReason();
const admin = OPS_ADMIN;
const until = new Date('2026-11-20T00:00:00Z');
const PROGRAM = 62;
let sshd: TestSshd;

beforeAll(async () => {
  t = await createTestDatabase();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-pause-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined });
  setStorage(undefined);
  await seedProgram(t, { programId: PROGRAM, users: 80, campaigns: 6, events: 6000, days: 1, seed: 5, until });
  setClock(new Date(until.getTime() + 10 * 60_000));
  if (!skipSshd) sshd = await startSshd();
}, 120_000);
afterAll(async () => {
  resetClock();
  await sshd?.stop();
  await t?.drop();
});

async function sftpConnection(folder: string): Promise<Connection> {
  spawnSync('install', ['-d', '-o', String(sshd.uid), '-g', String(sshd.gid), path.join(sshd.rootDir, folder)]);
  const input = createConnectionSchema.parse({
    kind: 'sftp',
    frequency: 'every_4_hours',
    start_date: new Date(until.getTime() - 8 * 3_600_000).toISOString(),
    contact_emails: ['data-team@customer.example'],
    host: sshd.host,
    port: sshd.port,
    folder,
    username: sshd.username,
    auth: { method: 'private_key', private_key: sshd.privateKey },
    host_key_fingerprint: sshd.hostKeyFingerprint,
  });
  return createConnection(t, admin, PROGRAM, input, sftpSetupCheck());
}

const statusOf = async (id: string) => (await t.db.select().from(connections).where(eq(connections.id, id)))[0].status;
const runsOf = (connectionId: string) =>
  t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, connectionId)).orderBy(exportRuns.windowStart);

/** The delivered folder verifies with sha256sum and holds one manifest, with its signature, per delivered run. */
function verifyFolder(folder: string, manifests: number) {
  const dir = path.join(sshd.rootDir, folder);
  const names = readdirSync(dir);
  expect(names.filter((n) => n.startsWith('.'))).toEqual([]);
  expect(names.filter((n) => /-manifest-.*\.json$/.test(n))).toHaveLength(manifests);
  expect(names.filter((n) => /-manifest-.*\.json\.sig$/.test(n))).toHaveLength(manifests);
  const check = spawnSync('sha256sum', ['-c', ...names.filter((n) => n.endsWith('.sha256'))], { cwd: dir, encoding: 'utf8' });
  expect(check.status).toBe(0);
}

describe('pause after transfer against a real OpenSSH server', () => {
  it.skipIf(skipSshd)('finishes a run caught mid-export — generated, then delivered — and then pauses', async () => {
    const c = await sftpConnection('mid-export');
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const [first, second] = await runsOf(c.id);

    let pausing: Promise<Connection> | undefined;
    const exported = await executeExportRun(t, first.id, {
      onProgress: () => {
        pausing ??= pauseConnection(t, admin, PROGRAM, c.id, 'after_transfer');
      },
    });
    expect(pausing).toBeDefined();
    expect((await pausing!).status).toBe('pausing');
    expect(exported.status).toBe('generated');
    // The transfer is not over: its files still have to reach the server.
    expect(await statusOf(c.id)).toBe('pausing');

    // A run that had not started waits for resume.
    expect((await executeExportRun(t, second.id)).status).toBe('skipped');
    expect((await executeDelivery(t, first.id)).status).toBe('delivered');
    expect(await statusOf(c.id)).toBe('paused');
    verifyFolder('mid-export', 1);
    expect((await runsOf(c.id)).map((r) => r.status)).toEqual(['delivered', 'planned']);

    await resumeConnection(t, admin, PROGRAM, c.id);
    expect((await executeExportRun(t, second.id)).status).toBe('generated');
    expect((await executeDelivery(t, second.id)).status).toBe('delivered');
    verifyFolder('mid-export', 2);
  });

  it.skipIf(skipSshd)('finishes a run caught mid-upload, and leaves a generated run that had not started uploading', async () => {
    const c = await sftpConnection('mid-upload');
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const [first, second] = await runsOf(c.id);
    expect((await executeExportRun(t, first.id)).status).toBe('generated');
    expect((await executeExportRun(t, second.id)).status).toBe('generated');

    let pausing: Promise<Connection> | undefined;
    let pausedMidUpload = false;
    const delivered = await executeDelivery(t, first.id, {
      deliver: (input) =>
        deliverFiles({
          ...input,
          onProgress: (p) => {
            if (pausing || p.bytes === 0) return;
            pausedMidUpload = p.bytes < p.totalBytes;
            pausing = pauseConnection(t, admin, PROGRAM, c.id, 'after_transfer');
          },
        }),
    });
    expect(pausedMidUpload).toBe(true);
    expect((await pausing!).status).toBe('pausing');
    expect(delivered.status).toBe('delivered');
    expect(await statusOf(c.id)).toBe('paused');
    verifyFolder('mid-upload', 1);

    // The second run was generated but its upload had not begun: it waits for resume.
    expect((await executeDelivery(t, second.id)).status).toBe('skipped');
    expect((await runsOf(c.id)).map((r) => r.status)).toEqual(['delivered', 'generated']);
    await resumeConnection(t, admin, PROGRAM, c.id);
    expect((await executeDelivery(t, second.id)).status).toBe('delivered');
    verifyFolder('mid-upload', 2);
  });
});
