// Fencing, with real processes: a worker process stopped with SIGSTOP at a named step of its run
// (it stops itself there: DDE_TEST_FREEZE_AT), the run recovered and finished by another process,
// then the stopped worker resumed with SIGCONT. What was published — objects, sidecars, manifest,
// recorded sha256, the customer's SFTP files — is unchanged byte for byte; the resumed worker stops
// quietly (an info line naming the run's new claim), spends no attempt and leaves nothing behind.
// On local storage and on a real S3 server (Ceph RGW) for the export; against a real sshd for the
// delivery. No sleeps as synchronization: the parent waits for the child's state in /proc.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections, deliveries, exportFiles, exportRuns, type ExportRun } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { createConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { sftpSetupCheck } from '@/lib/connections/sftp-check';
import { resetEnv } from '@/lib/env';
import { sidecarContent } from '@/lib/exports';
import type { FreezeStep } from '@/lib/freeze-point';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { executeExportRun } from '@/lib/runs/export-run';
import { recoverStaleRuns } from '@/lib/runs/recovery';
import { seedProgram } from '@/lib/seed';
import { LocalStorage, S3Storage, setStorage, type Storage } from '@/lib/storage';
import { OPS_ADMIN, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { obtainRgw, rgwSkipReason, type TestRgw } from './helpers/rgw';
import { sshdSkipReason, startSshd, type TestSshd } from './helpers/sshd';

const PROGRAM = 2323;
const until = new Date('2026-11-20T00:00:00Z');
const ENCRYPTION_KEY = randomBytes(32).toString('hex');
const EXPORT_STEPS: FreezeStep[] = ['export:claimed', 'export:copy', 'export:uploaded', 'export:publish'];
const skipS3 = rgwSkipReason();
const skipSshd = sshdSkipReason();
if (skipS3) console.warn(`fencing-freeze: S3 cases skipped, ${skipS3}`);
if (skipSshd) console.warn(`fencing-freeze: SFTP case skipped, ${skipSshd}`);

let t: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-fence-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, DDE_ENCRYPTION_KEY: ENCRYPTION_KEY, SMTP_URL: undefined });
  await seedProgram(t, { programId: PROGRAM, users: 60, campaigns: 5, events: 4000, days: 1, seed: 23, until });
}, 120_000);
afterAll(async () => {
  setStorage(undefined);
  resetEnv();
  await t?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}

/** The process's state letter from /proc/<pid>/stat ('T' when stopped), or null once it is gone. */
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

type Worker = { child: ChildProcess; output: () => string; exited: Promise<number | null> };

/** A worker process running one step of a run, stopping itself at `freezeAt`. */
function startWorker(step: 'export' | 'deliver', runId: string, freezeAt: FreezeStep, extraEnv: Record<string, string>): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/run-step.ts', step, runId], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: t.url,
      DDE_DATA_DIR: dataDir,
      NEXTAUTH_SECRET: 'x'.repeat(32),
      DDE_ENCRYPTION_KEY: ENCRYPTION_KEY,
      DDE_DEMO: 'false',
      LOG_LEVEL: 'info',
      DDE_TEST_FREEZE_AT: freezeAt,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Waits until the worker has stopped itself (state T); fails when it exits instead. */
async function untilStopped(w: Worker): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const state = procState(w.child.pid!);
    if (state === 'T') return;
    if (state === null || w.child.exitCode !== null) throw new Error(`the worker exited before it stopped:\n${w.output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the worker never stopped:\n${w.output()}`);
}

/** Recovers the run once its stopped worker's heartbeat is a second old (the sweep of a planner tick). */
async function recover(runId: string, kind: 'export' | 'delivery'): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const recovered = await recoverStaleRuns(t, 1);
    if (recovered[kind].includes(runId)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${runId} was never recovered`);
}

/** Resumes the worker and answers its outcome (the last line it prints). */
async function resume(w: Worker): Promise<{ status: string; claim?: number; ownerClaim?: number }> {
  w.child.kill('SIGCONT');
  const code = await w.exited;
  expect(code, w.output()).toBe(0);
  const line = w
    .output()
    .split('\n')
    .find((l) => l.startsWith('OUTCOME '));
  expect(line, w.output()).toBeDefined();
  return JSON.parse(line!.slice('OUTCOME '.length));
}

async function runRow(runId: string): Promise<ExportRun> {
  const [r] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, runId));
  return r;
}

/** Everything a customer can see of a published run: its records, their objects' bytes, sidecars and the manifest. */
async function published(storage: Storage, runId: string) {
  const records = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, runId)).orderBy(exportFiles.name);
  const objects: Record<string, string> = {};
  for (const r of records) {
    const bytes = await readAll(await storage.get(r.storageKey));
    expect(sha256(bytes), r.name).toBe(r.sha256);
    expect(bytes.length, r.name).toBe(r.bytes);
    objects[r.storageKey] = bytes.toString('base64');
    if (r.fileType !== 'manifest') {
      const sidecar = await readAll(await storage.get(`${r.storageKey}.sha256`));
      expect(sidecar.toString()).toBe(sidecarContent(r.sha256, r.name));
      objects[`${r.storageKey}.sha256`] = sidecar.toString('base64');
    } else {
      const manifest = JSON.parse(bytes.toString()) as { files: { name: string; sha256: string }[] };
      for (const f of manifest.files) expect(records.find((x) => x.name === f.name)?.sha256).toBe(f.sha256);
    }
  }
  return {
    records: records.map((r) => ({ id: r.id, key: r.storageKey, sha256: r.sha256, bytes: r.bytes, rows: r.rows })),
    objects,
    // Every object stored for the run: the published ones only, nothing of another attempt.
    stored: await storage.list(`${PROGRAM}/${runId}/`),
  };
}

/** Every file under a local folder, hidden ones and partial uploads included. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

let windowSeq = 0;
async function apiRun(): Promise<string> {
  const [c] = await t.db
    .insert(connections)
    .values({ programId: PROGRAM, kind: 'api', frequency: 'daily', startDate: new Date('2026-11-01T00:00:00Z'), format: 'csv' })
    .returning();
  windowSeq++;
  const [run] = await t.db
    .insert(exportRuns)
    .values({
      connectionId: c.id,
      programId: PROGRAM,
      exportType: 'historical',
      windowStart: new Date(until.getTime() - 2 * 86_400_000 + windowSeq * 1000),
      windowEnd: until,
    })
    .returning();
  return run.id;
}

/**
 * The export fault: a worker stops at `step`, another process recovers and publishes the run, the
 * worker resumes. The published run is what the second process published, byte for byte.
 */
async function frozenExport(storage: Storage, step: FreezeStep, storageEnv: Record<string, string>) {
  const runId = await apiRun();
  const worker = startWorker('export', runId, step, storageEnv);
  try {
    await untilStopped(worker);
    expect((await runRow(runId)).status).toBe('generating');
    await recover(runId, 'export');

    const outcome = await executeExportRun(t, runId);
    expect(outcome.status).toBe('available');
    const before = await published(storage, runId);
    expect(before.records.length).toBeGreaterThanOrEqual(3);
    const owner = await runRow(runId);
    expect(owner.claim).toBe(2);

    const resumed = await resume(worker);
    expect(resumed).toMatchObject({ status: 'superseded', claim: 1, ownerClaim: 2 });
    const info = worker
      .output()
      .split('\n')
      .filter((l) => l.includes('claimed again'))
      .map((l) => JSON.parse(l) as { level: number; runId: string; ownerClaim: number });
    expect(info).toEqual([expect.objectContaining({ level: 30, runId, ownerClaim: 2 })]);
    expect(worker.output()).not.toMatch(/"level":50/); // no error line

    const after = await published(storage, runId);
    expect(after).toEqual(before);
    expect(after.stored.sort()).toEqual(Object.keys(before.objects).sort());
    const settled = await runRow(runId);
    expect({ status: settled.status, attempt: settled.attempt, claim: settled.claim, errorCode: settled.errorCode }).toEqual({
      status: 'available',
      attempt: 1,
      claim: 2,
      errorCode: null,
    });
    return { runId, before };
  } finally {
    if (worker.child.exitCode === null) {
      worker.child.kill('SIGKILL');
      worker.child.kill('SIGCONT');
    }
  }
}

describe('an export worker stopped mid-run, on local storage', () => {
  let storage: LocalStorage;
  beforeAll(() => {
    storage = new LocalStorage(path.join(dataDir, 'exports'));
    setStorage(storage);
  });

  for (const step of EXPORT_STEPS) {
    it(`stopped at ${step}: the files another worker published stay as they are`, async () => {
      const { runId } = await frozenExport(storage, step, { DDE_STORAGE_URL: `file://${storage.root}` });
      // Nothing of the stopped attempt is left on disk, not even a partial file.
      const records = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, runId));
      const runDir = path.join(storage.root, String(PROGRAM), runId);
      expect(filesUnder(runDir)).toEqual(
        records
          .flatMap((r) => (r.fileType === 'manifest' ? [r.storageKey] : [r.storageKey, `${r.storageKey}.sha256`]))
          .map((k) => path.relative(runDir, path.join(storage.root, k)))
          .sort(),
      );
    }, 120_000);
  }
});

describe.skipIf(!!skipS3)('an export worker stopped mid-run, on a real S3 server', () => {
  let rgw: TestRgw;
  let storage: S3Storage;
  let storageEnv: Record<string, string>;
  beforeAll(async () => {
    rgw = await obtainRgw();
    const bucket = await rgw.createBucket('dde-fence');
    storage = new S3Storage({
      bucket,
      prefix: 'dde/exports',
      region: rgw.region,
      endpoint: rgw.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
      checksums: 'when_required',
    });
    setStorage(storage);
    storageEnv = {
      DDE_STORAGE_URL: `s3://${bucket}/dde/exports`,
      DDE_S3_ENDPOINT: rgw.endpoint,
      DDE_S3_FORCE_PATH_STYLE: 'true',
      DDE_S3_CHECKSUMS: 'when_required',
      AWS_REGION: rgw.region,
      AWS_ACCESS_KEY_ID: rgw.accessKeyId,
      AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey,
    };
  }, 180_000);
  afterAll(async () => {
    setStorage(undefined);
    storage?.destroy();
    await rgw?.stop();
  });

  for (const step of EXPORT_STEPS) {
    it(`stopped at ${step}: the objects another worker published stay as they are`, async () => {
      await frozenExport(storage, step, storageEnv);
    }, 120_000);
  }
});

describe.skipIf(!!skipSshd)('a delivery worker stopped before its rename, against a real sshd', () => {
  let sshd: TestSshd;
  let storage: LocalStorage;
  beforeAll(async () => {
    sshd = await startSshd();
    storage = new LocalStorage(path.join(dataDir, 'exports'));
    setStorage(storage);
    setClock(new Date(until.getTime() + 10 * 60_000)); // the connection's start date is recent
  }, 60_000);
  afterAll(async () => {
    resetClock();
    await sshd?.stop();
  });

  it('renames nothing onto the customer’s files and writes no manifest once another worker delivered the run', async () => {
    spawnSync('install', ['-d', '-o', String(sshd.uid), '-g', String(sshd.gid), path.join(sshd.rootDir, 'fenced')]);
    const input = createConnectionSchema.parse({
      kind: 'sftp',
      frequency: 'every_4_hours',
      start_date: '2026-11-01T00:00:00Z',
      contact_emails: ['data-team@customer.example'],
      host: sshd.host,
      port: sshd.port,
      folder: 'fenced',
      username: sshd.username,
      auth: { method: 'private_key', private_key: sshd.privateKey },
      host_key_fingerprint: sshd.hostKeyFingerprint,
    });
    const c = await createConnection(t, OPS_ADMIN, PROGRAM, input, sftpSetupCheck());
    const [run] = await t.db
      .insert(exportRuns)
      .values({
        connectionId: c.id,
        programId: PROGRAM,
        exportType: 'historical',
        windowStart: new Date('2026-11-18T00:00:00Z'),
        windowEnd: until,
      })
      .returning();
    expect((await executeExportRun(t, run.id)).status).toBe('generated');
    const exported = (await runRow(run.id)).claim;

    const worker = startWorker('deliver', run.id, 'delivery:rename', { DDE_STORAGE_URL: `file://${storage.root}` });
    try {
      await untilStopped(worker);
      const folder = path.join(sshd.rootDir, 'fenced');
      // The stopped worker's first file sits under its temporary name; nothing is final yet.
      expect(readdirSync(folder).filter((n) => !n.startsWith('.'))).toEqual([]);
      await recover(run.id, 'delivery');

      const delivered = await executeDelivery(t, run.id);
      expect(delivered.status).toBe('delivered');
      const snapshot = () =>
        readdirSync(folder)
          .filter((n) => !n.startsWith('.'))
          .sort()
          .map((name) => {
            const s = statSync(path.join(folder, name));
            return { name, ino: s.ino, mtimeMs: s.mtimeMs, sha256: sha256(readFileSync(path.join(folder, name))) };
          });
      const before = snapshot();
      const records = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, run.id));
      expect(before.map((f) => f.name)).toEqual(
        records.flatMap((r) => (r.fileType === 'manifest' ? [r.name, `${r.name}.sig`] : [r.name, `${r.name}.sha256`])).sort(),
      );
      const check = spawnSync('sha256sum', ['-c', ...before.filter((f) => f.name.endsWith('.sha256')).map((f) => f.name)], { cwd: folder });
      expect(check.status, String(check.stdout)).toBe(0);

      const resumed = await resume(worker);
      expect(resumed).toMatchObject({ status: 'superseded', claim: exported + 1, ownerClaim: exported + 2 });
      expect(worker.output()).toMatch(/delivery attempt stopped: the run was claimed again/);
      // The same files, the same inodes (nothing renamed onto them), no temporary left behind.
      expect(snapshot()).toEqual(before);
      expect(readdirSync(folder).filter((n) => n.startsWith('.'))).toEqual([]);
      const settled = await runRow(run.id);
      expect({ status: settled.status, claim: settled.claim }).toEqual({ status: 'delivered', claim: exported + 2 });
      const attempts = await t.db.select().from(deliveries).where(eq(deliveries.runId, run.id)).orderBy(deliveries.startedAt);
      expect(attempts.map((d) => [d.attempt, d.status])).toEqual([
        [1, 'aborted'],
        [1, 'succeeded'],
      ]);
    } finally {
      if (worker.child.exitCode === null) {
        worker.child.kill('SIGKILL');
        worker.child.kill('SIGCONT');
      }
    }
  }, 120_000);
});
