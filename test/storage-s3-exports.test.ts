// A scheduled run end to end with its files in a real S3 server (Ceph RGW): the export streams into
// the bucket (nothing on local disk), the files show in the API only once complete, downloads come
// from S3 with Range, Content-Length and the sha256 ETag (or redirect to a presigned URL), the
// folder zip and the SFTP delivery read from S3, and expiry deletes the objects and keeps the records.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as foldersRoute } from '@/pages/api/v1/folders/index';
import { GET as archiveRoute } from '@/pages/api/v1/folders/[run_id]/archive';
import { exportFiles, exportRuns, type Connection, type ExportFile } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { createConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { sftpSetupCheck } from '@/lib/connections/sftp-check';
import { startSftpSink, type SftpSink } from '@/scripts/dev/sftp-sink';
import { GET as downloadRoute, HEAD as downloadHeadRoute } from '@/pages/api/v1/downloads/[signed]';
import { signDownload } from '@/lib/export-api/signed-links';
import { folderListResponseSchema } from '@/lib/export-api/schemas';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { expireFiles } from '@/lib/runs/expire';
import { executeExportRun } from '@/lib/runs/export-run';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { S3Storage, setStorage, type S3StorageConfig } from '@/lib/storage';
import { createApiToken } from '@/lib/auth/tokens';
import { createAccount, request, useTestEnv, OPS_ADMIN } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { call } from './helpers/export-api';
import { rgwSkipReason, obtainRgw, type TestRgw } from './helpers/rgw';

const skip = rgwSkipReason();
if (skip) console.warn(`storage-s3-exports: skipped, ${skip}`);

const PROGRAM = 7301;
const until = new Date('2026-11-20T00:00:00Z');
const admin = OPS_ADMIN;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let t: TestDatabase;
let rgw: TestRgw;
let bucket: string;
let s3: S3Client;
let dataDir: string;
let sink: SftpSink;
let token: string;
const stores: S3Storage[] = [];

function s3Storage(over: Partial<S3StorageConfig> = {}): S3Storage {
  const s = new S3Storage({
    bucket,
    prefix: 'dde/exports',
    region: rgw.region,
    endpoint: rgw.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
    checksums: 'when_required',
    ...over,
  });
  stores.push(s);
  return s;
}

async function objectKeys(): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

async function filesOfRun(runId: string): Promise<ExportFile[]> {
  return t.db.select().from(exportFiles).where(eq(exportFiles.runId, runId));
}

function download(file: ExportFile, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> {
  const { token: signed } = signDownload({ fileId: file.id, programId: file.programId });
  return call(method === 'HEAD' ? downloadHeadRoute : downloadRoute, request(method, `/api/v1/downloads/${signed}`, { headers }), {
    signed,
  });
}

async function sftpConnection(folder: string): Promise<Connection> {
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

describe.skipIf(!!skip)('export runs with their files in a real S3 server (Ceph RGW)', () => {
  let connection: Connection;
  let runIds: string[];

  beforeAll(async () => {
    [t, rgw] = await Promise.all([createTestDatabase(), obtainRgw()]);
    bucket = await rgw.createBucket('dde-exports');
    s3 = rgw.client();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-s3-exports-'));
    useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined });
    setStorage(s3Storage());
    await seedProgram(t, { programId: PROGRAM, users: 80, campaigns: 6, events: 6000, days: 1, seed: 5, until });
    setClock(new Date(until.getTime() + 10 * 60_000));
    sink = await startSftpSink({ rootDir: path.join(dataDir, 'sftp'), username: 'customer', password: 'sink-password' });
    // Folders of an SFTP connection are read by the program's admins (an API client reads only its own feed).
    const firstup = await createAccount(t.db, { role: 'firstup_super_admin' });
    token = (await createApiToken(t.db, { kind: 'personal', accountId: firstup.id, scopes: ['data_exports.read'] })).token;
    connection = await sftpConnection('inbox');
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    runIds = (await t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, connection.id)).orderBy(exportRuns.windowStart)).map(
      (r) => r.id,
    );
  }, 120_000);

  afterAll(async () => {
    resetClock();
    setStorage(undefined);
    await sink?.close();
    for (const s of stores) s.destroy();
    s3?.destroy();
    await rgw?.stop();
    await t?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows no file of a run whose objects are not all complete, and its retry ends with exactly one complete set in the bucket', async () => {
    const [runId] = runIds;
    // The manifest — the last object to be published — cannot be written: the run must not show.
    class ManifestFails extends S3Storage {
      override async rename(from: string, to: string): Promise<void> {
        if (to.includes('-manifest-'))
          throw Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'InternalError' });
        return super.rename(from, to);
      }
    }
    const failing = new ManifestFails({
      bucket,
      prefix: 'dde/exports',
      region: rgw.region,
      endpoint: rgw.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
      checksums: 'when_required',
    });
    stores.push(failing);
    setStorage(failing);
    await expect(executeExportRun(t, runId)).rejects.toThrow(/internal error/);
    const [failed] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, runId));
    expect(failed.status).toBe('planned');
    expect(await filesOfRun(runId)).toEqual([]);
    // The run's folder is not listed (an SFTP connection's files are in Folders, not in an API feed).
    const listed = await call(foldersRoute, request('GET', `/api/v1/folders?program=${PROGRAM}`, { token }));
    expect(folderListResponseSchema.parse(await listed.json()).data).toEqual([]);

    setStorage(s3Storage());
    for (const id of runIds) expect((await executeExportRun(t, id)).status).toBe('generated');
    const files = (await Promise.all(runIds.map(filesOfRun))).flat();
    // Exactly one set per run in the bucket: data files, sidecars, manifests — no temporaries, no leftovers.
    const expected = files
      .flatMap((f) => (f.fileType === 'manifest' ? [f.storageKey] : [f.storageKey, `${f.storageKey}.sha256`]))
      .map((k) => `dde/exports/${k}`)
      .sort();
    expect(await objectKeys()).toEqual(expected);
    // Nothing of the export went to the local disk.
    expect(existsSync(path.join(dataDir, 'exports'))).toBe(false);
    const page = folderListResponseSchema.parse(
      await (await call(foldersRoute, request('GET', `/api/v1/folders?program=${PROGRAM}`, { token }))).json(),
    );
    expect(page.data.map((f) => f.run_id).sort()).toEqual([...runIds].sort());
  });

  it('serves downloads from S3 with Content-Length, the sha256 ETag, ranges, HEAD and 304', async () => {
    const files = await filesOfRun(runIds[0]);
    for (const f of files) {
      const res = await download(f);
      expect(res.status).toBe(200);
      const body = Buffer.from(await res.arrayBuffer());
      expect(sha256(body)).toBe(f.sha256);
      expect(res.headers.get('content-length')).toBe(String(f.bytes));
      expect(res.headers.get('etag')).toBe(`"${f.sha256}"`);
    }
    const activity = files.find((f) => f.fileType === 'activity')!;
    const whole = Buffer.from(await (await download(activity)).arrayBuffer());
    const mid = Math.floor(activity.bytes / 2);
    const first = await download(activity, { range: `bytes=0-${mid - 1}` });
    const second = await download(activity, { range: `bytes=${mid}-` });
    expect([first.status, second.status]).toEqual([206, 206]);
    expect(second.headers.get('content-range')).toBe(`bytes ${mid}-${activity.bytes - 1}/${activity.bytes}`);
    expect(first.headers.get('content-length')).toBe(String(mid));
    const joined = Buffer.concat([Buffer.from(await first.arrayBuffer()), Buffer.from(await second.arrayBuffer())]);
    expect(joined.equals(whole)).toBe(true);
    const suffix = await download(activity, { range: 'bytes=-100' });
    expect(Buffer.from(await suffix.arrayBuffer()).equals(whole.subarray(whole.length - 100))).toBe(true);
    const head = await download(activity, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(activity.bytes));
    expect((await download(activity, { 'if-none-match': `"${activity.sha256}"` })).status).toBe(304);
    expect((await download(activity, { range: `bytes=${activity.bytes}-` })).status).toBe(416);
  });

  it('redirects a signed link to a short-lived presigned S3 URL when DDE_S3_PRESIGN is on', async () => {
    setStorage(s3Storage({ presign: true }));
    try {
      const [activity] = (await filesOfRun(runIds[0])).filter((f) => f.fileType === 'activity');
      const res = await download(activity);
      expect(res.status).toBe(302);
      const location = res.headers.get('location')!;
      expect(location.startsWith(`${rgw.endpoint}/${bucket}/dde/exports/`)).toBe(true);
      expect(location).toMatch(/X-Amz-Expires=60&/);
      const direct = await fetch(location);
      expect(direct.status).toBe(200);
      expect(sha256(Buffer.from(await direct.arrayBuffer()))).toBe(activity.sha256);
      expect(direct.headers.get('content-disposition')).toContain(activity.name);
    } finally {
      setStorage(s3Storage());
    }
  });

  it('streams the folder zip from S3: every entry unzips to the recorded bytes and sha256sum -c passes', async () => {
    const folders = folderListResponseSchema.parse(
      await (await call(foldersRoute, request('GET', `/api/v1/folders?program=${PROGRAM}`, { token }))).json(),
    );
    expect(folders.data.map((f) => f.run_id).sort()).toEqual([...runIds].sort());
    const files = await filesOfRun(runIds[1]);
    const res = await call(archiveRoute, request('GET', `/api/v1/folders/${runIds[1]}/archive?program=${PROGRAM}`, { token }), {
      run_id: runIds[1],
    });
    expect(res.status).toBe(200);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dde-s3-zip-'));
    try {
      writeFileSync(path.join(dir, 'folder.zip'), Buffer.from(await res.arrayBuffer()));
      expect(spawnSync('unzip', ['-q', 'folder.zip', '-d', 'out'], { cwd: dir }).status).toBe(0);
      const out = path.join(dir, 'out');
      expect(readdirSync(out).sort()).toEqual(
        files.flatMap((f) => (f.fileType === 'manifest' ? [f.name, `${f.name}.sig`] : [f.name, `${f.name}.sha256`])).sort(),
      );
      for (const f of files) expect(sha256(readFileSync(path.join(out, f.name))), f.name).toBe(f.sha256);
      const check = spawnSync('sh', ['-c', 'sha256sum -c *.sha256'], { cwd: out, encoding: 'utf8' });
      expect(check.status, check.stdout + check.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('delivers over SFTP from S3: the files land with their checksums', async () => {
    for (const id of runIds) expect((await executeDelivery(t, id)).status).toBe('delivered');
    const folder = path.join(sink.rootDir, 'inbox');
    const files = (await Promise.all(runIds.map(filesOfRun))).flat();
    const names = readdirSync(folder).sort();
    expect(names).toEqual(
      files.flatMap((f) => (f.fileType === 'manifest' ? [f.name, `${f.name}.sig`] : [f.name, `${f.name}.sha256`])).sort(),
    );
    for (const f of files) expect(sha256(readFileSync(path.join(folder, f.name)))).toBe(f.sha256);
    const check = spawnSync('sh', ['-c', 'sha256sum -c *.sha256'], { cwd: folder, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });

  it('answers 410 for a file whose object is gone, and expiry deletes every object but keeps the records', async () => {
    const [activity] = (await filesOfRun(runIds[0])).filter((f) => f.fileType === 'activity');
    await s3Storage().delete(activity.storageKey);
    expect((await download(activity)).status).toBe(410);

    setClock(new Date(until.getTime() + 8 * 86_400_000));
    const before = (await Promise.all(runIds.map(filesOfRun))).flat();
    expect(await expireFiles(t)).toBe(before.length);
    expect(await objectKeys()).toEqual([]);
    const after = (await Promise.all(runIds.map(filesOfRun))).flat();
    expect(after).toHaveLength(before.length);
    expect(after.every((f) => f.expired)).toBe(true);
    const [manifest] = after.filter((f) => f.fileType === 'manifest');
    expect((await download(manifest)).status).toBe(410);
  });
});
