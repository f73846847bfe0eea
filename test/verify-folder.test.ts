// What the customer can prove: an SFTP connection delivers several windows (one of them empty) to a
// real OpenSSH sshd, with a key rotation between them; `dde verify` on the folder the server
// received passes against the published keys (GET /api/v1/signing-keys). Then, each on a copy of the
// folder: one window's files removed, one byte corrupted, a window delivered twice, a manifest forged
// without the key — each is named and the command exits non-zero.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as signingKeysRoute } from '@/app/api/v1/signing-keys/route';
import { exportRuns } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { createConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { sftpSetupCheck } from '@/lib/connections/sftp-check';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { executeExportRun } from '@/lib/runs/export-run';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { setStorage } from '@/lib/storage';
import { OPS_ADMIN, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { call } from './helpers/export-api';
import { sshdSkipReason, startSshd, type TestSshd } from './helpers/sshd';

const skip = sshdSkipReason();
if (skip) console.warn(`Skipping the dde verify tests: ${skip}`);

const PROGRAM = 77;
// Events only in the first day; the windows after it are empty.
const seededUntil = new Date('2026-11-20T00:00:00Z');
const ENCRYPTION_KEY = 'cd'.repeat(32);

function cli(args: string[], t: TestDatabase): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], {
      env: {
        ...process.env,
        DATABASE_URL: t.url,
        NEXTAUTH_SECRET: 'cli-test-secret-0123456789abcdef0123456789',
        DDE_ENCRYPTION_KEY: ENCRYPTION_KEY,
        LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(!!skip)('dde verify on what a real sshd received', () => {
  let t: TestDatabase;
  let dataDir: string;
  let work: string;
  let sshd: TestSshd;
  let received: string;
  let keysFile: string;
  let manifests: string[];

  beforeAll(async () => {
    t = await createTestDatabase();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-verify-'));
    work = mkdtempSync(path.join(os.tmpdir(), 'dde-verify-work-'));
    useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined, DDE_ENCRYPTION_KEY: ENCRYPTION_KEY });
    setStorage(undefined);
    await seedProgram(t, { programId: PROGRAM, users: 60, campaigns: 5, events: 3000, days: 1, seed: 11, until: seededUntil });
    sshd = await startSshd();
    received = path.join(sshd.rootDir, 'drop');
    spawnSync('install', ['-d', '-o', String(sshd.uid), '-g', String(sshd.gid), received]);
    const input = createConnectionSchema.parse({
      kind: 'sftp',
      frequency: 'every_4_hours',
      start_date: new Date(seededUntil.getTime() - 8 * 3_600_000).toISOString(),
      contact_emails: ['data-team@customer.example'],
      host: sshd.host,
      port: sshd.port,
      folder: 'drop',
      username: sshd.username,
      auth: { method: 'private_key', private_key: sshd.privateKey },
      host_key_fingerprint: sshd.hostKeyFingerprint,
    });
    const connection = await createConnection(t, OPS_ADMIN, PROGRAM, input, sftpSetupCheck());
    const deliverAll = async () => {
      const runs = await t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, connection.id)).orderBy(exportRuns.windowStart);
      for (const r of runs.filter((x) => x.status === 'planned')) {
        expect((await executeExportRun(t, r.id)).status).toBe('generated');
        expect((await executeDelivery(t, r.id)).status).toBe('delivered');
      }
    };
    // Two windows with data, then a key rotation, then an empty window.
    let at = new Date(seededUntil.getTime() + 10 * 60_000);
    setClock(at);
    await planWindows(t, { now: at, settleMs: 5 * 60_000 });
    await deliverAll();
    const rotated = await cli(['keys', 'rotate'], t);
    expect(rotated.stderr).toBe('');
    expect(rotated.stdout).toMatch(/^Added signing key ed25519-[0-9a-f]{24}; it signs new manifests from now on\. 2 keys published\.\n$/);
    at = new Date(seededUntil.getTime() + 4 * 3_600_000 + 10 * 60_000);
    setClock(at);
    await planWindows(t, { now: at, settleMs: 5 * 60_000 });
    await deliverAll();
    const runs = await t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, connection.id)).orderBy(exportRuns.windowStart);
    expect(runs.map((r) => [r.sequence, r.status, r.filesCount])).toEqual([
      [1, 'delivered', 3],
      [2, 'delivered', 3],
      [3, 'empty', 0],
    ]);

    // The keys as a receiver gets them: the public JWKS route.
    const res = await call(signingKeysRoute, new Request('http://dde.test/api/v1/signing-keys'));
    expect(res.status).toBe(200);
    const jwks = (await res.json()) as { keys: { kid: string; kty: string; crv: string; x: string; d?: string }[] };
    expect(jwks.keys).toHaveLength(2);
    expect(jwks.keys.every((k) => k.kty === 'OKP' && k.crv === 'Ed25519' && /^[\w-]{43}$/.test(k.x) && k.d === undefined)).toBe(true);
    keysFile = path.join(work, 'keys.json');
    writeFileSync(keysFile, JSON.stringify(jwks));
    manifests = readdirSync(received)
      .filter((n) => n.endsWith('.json'))
      .sort();
  }, 240_000);
  afterAll(async () => {
    resetClock();
    await sshd?.stop();
    await t?.drop();
    for (const d of [dataDir, work]) if (d) rmSync(d, { recursive: true, force: true });
  });

  /** A copy of what the server received, to break. */
  function copyOfReceived(name: string): string {
    const dir = path.join(work, name);
    cpSync(received, dir, { recursive: true });
    return dir;
  }

  it('passes on the received folder: three signed manifests in sequence (one empty window), every file and row', async () => {
    expect(readdirSync(received).filter((n) => n.startsWith(`${PROGRAM}-11-20-2026-00`))).toEqual([
      `${PROGRAM}-11-20-2026-00-manifest-incremental.json`,
      `${PROGRAM}-11-20-2026-00-manifest-incremental.json.sig`,
    ]);
    const empty = JSON.parse(readFileSync(path.join(received, `${PROGRAM}-11-20-2026-00-manifest-incremental.json`), 'utf8'));
    expect(empty).toMatchObject({ sequence: 3, rows: 0, files: [], previous_window_end: '2026-11-20T00:00:00Z' });
    const r = await cli(['verify', received, '--keys', keysFile], t);
    console.log(`dde verify on the received folder (exit ${r.code}):\n${r.stdout}${r.stderr}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^1 +2026-11-19T16:00:00Z → 2026-11-19T20:00:00Z +3 +[\d,]+ +ok \(ed25519-/m);
    expect(r.stdout).toMatch(/^3 +2026-11-20T00:00:00Z → 2026-11-20T04:00:00Z +0 +0 +ok \(ed25519-/m);
    expect(r.stdout).toMatch(/3 manifests, [\d,]+ rows: everything verified\.\n$/);
    // Windows 1 and 2 were signed with the first key, window 3 with the rotated one: both published.
    const kids = [...r.stdout.matchAll(/ok \((ed25519-[0-9a-f]+)\)/g)].map((m) => m[1]);
    expect(new Set(kids).size).toBe(2);
  });

  it('names a window whose files were removed', async () => {
    const dir = copyOfReceived('removed');
    for (const n of readdirSync(dir).filter((x) => x.startsWith(`${PROGRAM}-11-19-2026-20-`))) unlinkSync(path.join(dir, n));
    const r = await cli(['verify', dir, '--keys', keysFile], t);
    console.log(`dde verify, one window removed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `FAILED  missing window: sequence 2 of the incremental windows of connection ${JSON.parse(readFileSync(path.join(received, manifests[0]), 'utf8')).connection_id}, the window from 2026-11-19T20:00:00Z`,
    );
  });

  it('names a file with one byte corrupted', async () => {
    const dir = copyOfReceived('corrupt');
    const name = `${PROGRAM}-11-19-2026-16-activity-incremental.gz`;
    const bytes = readFileSync(path.join(dir, name));
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    writeFileSync(path.join(dir, name), bytes);
    const r = await cli(['verify', dir, '--keys', keysFile], t);
    console.log(`dde verify, one byte corrupted (exit ${r.code}):\n${r.stdout}${r.stderr}`);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(`FAILED  ${PROGRAM}-11-19-2026-16-manifest-incremental\\.json: ${name}: sha256 [0-9a-f]{12}… differs from the manifest's`),
    );
  });

  it('names a window delivered twice, and the events it holds twice', async () => {
    const dir = copyOfReceived('twice');
    cpSync(received, path.join(dir, 'again'), {
      recursive: true,
      filter: (src) => src === received || path.basename(src).startsWith(`${PROGRAM}-11-19-2026-16-`),
    });
    const r = await cli(['verify', dir, '--keys', keysFile], t);
    console.log(`dde verify, a window twice (exit ${r.code}):\n${r.stdout.split('\n').slice(0, 14).join('\n')}\n…`);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(
        `FAILED  window delivered twice: sequence 1 of the incremental windows of connection [0-9a-f-]+ \\(${PROGRAM}-11-19-2026-16-manifest-incremental\\.json, again/${PROGRAM}-11-19-2026-16-manifest-incremental\\.json\\)`,
      ),
    );
    expect(r.stdout).toMatch(new RegExp(`FAILED  event \\d+ is in 2 files: ${PROGRAM}-11-19-2026-16-activity-incremental\\.gz, again/`));
  });

  it('names a manifest forged without the key', async () => {
    const dir = copyOfReceived('forged');
    const name = `${PROGRAM}-11-19-2026-20-manifest-incremental.json`;
    const doc = JSON.parse(readFileSync(path.join(dir, name), 'utf8'));
    doc.files = doc.files.filter((f: { type: string }) => f.type !== 'campaign');
    unlinkSync(path.join(dir, `${PROGRAM}-11-19-2026-20-campaign-incremental.gz`));
    writeFileSync(path.join(dir, name), JSON.stringify(doc, null, 2) + '\n');
    const r = await cli(['verify', dir, '--keys', keysFile], t);
    console.log(`dde verify, a forged manifest (exit ${r.code}):\n${r.stdout}${r.stderr}`);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`FAILED  ${name}: signature: the signature does not match the manifest`);
  });

  it('refuses to run without keys, naming the flag (exit 2)', async () => {
    const r = await cli(['verify', received], t);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('dde: --keys: is required: the signing keys URL (/api/v1/signing-keys) or a JWKS file\n');
  });
});
