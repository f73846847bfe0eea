// kill -9 of a worker in the middle of an S3 multipart upload, against a real Ceph RGW
// (test/helpers/rgw.ts): a worker process (test/helpers/run-step.ts, executeDelivery as the jobs
// worker runs it) delivers a run whose activity file is larger than a part. An in-process proxy in
// front of RGW lets the upload's first part through and holds the next one, so the upload is
// observably in progress (ListMultipartUploads lists it, ListParts its stored part) for as long as
// the test needs; then the worker gets SIGKILL. The run is handed back (its worker is dead, so its
// heartbeat is past any age), the next attempt aborts the leftover upload and delivers: one copy of
// each object with the recorded bytes, no unfinished multipart upload, the attempts ledger says
// aborted then delivered.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase } from '@/db/client';
import { deliveries, exportFiles, exportRuns } from '@/db/schema';
import { createConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { PART_BYTES } from '@/lib/destinations/s3';
import { lakeKey } from '@/lib/destinations/s3-settings';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { executeExportRun } from '@/lib/runs/export-run';
import { recoverStaleRuns } from '@/lib/runs/recovery';
import { planWindows } from '@/lib/scheduling/planner';
import { setStorage } from '@/lib/storage';
import { OPS_ADMIN, createPrograms, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { obtainRgw, rgwSkipReason, type TestRgw } from './helpers/rgw';

const skip = rgwSkipReason();
if (skip) console.warn(`destination-s3-kill: skipped, ${skip}`);

const PROGRAM = 2684;
/** Events in the run's window: an activity file of a few parts (about 37 B a row gzipped). */
const EVENTS = 700_000;
const WORKER_APP = 'dde-s3-kill-worker';
let t: TestDatabase;
let dataDir: string;
let rgw: TestRgw;
let s3: S3Client;

beforeAll(async () => {
  if (skip) return;
  rgw = await obtainRgw();
  s3 = rgw.client();
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-s3-kill-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined });
  setStorage(undefined);
  await createPrograms(t.db, [{ id: PROGRAM, name: 'Lake (kill -9)' }]);
}, 180_000);

afterAll(async () => {
  s3?.destroy();
  await rgw?.stop();
  await closeDatabase();
  await t?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Members, campaigns and `n` activity events ingested inside [start, end), made inside PostgreSQL. */
async function seedWindow(start: Date, end: Date, n: number): Promise<void> {
  const { sql } = t;
  await sql.unsafe(`
    insert into members (program_id, first_name, last_name, universal_identifier, updated_at)
    select ${PROGRAM}, 'First' || i, 'Last-' || (i * 7) % 1000, 'uid-' || i, '2026-01-01T00:00:00Z'
    from generate_series(1, 5000) i`);
  await sql.unsafe(`
    insert into campaigns (program_id, name, publish_at, subject_line, preview, updated_at)
    select ${PROGRAM}, 'Campaign ' || i, '2026-01-01T09:00:00Z', 'Subject ' || i, 'Preview of campaign ' || i, '2026-01-01T00:00:00Z'
    from generate_series(1, 100) i`);
  await sql`select setseed(0.26)`;
  await sql.unsafe(`
    insert into activity_events (program_id, content_id, user_id, event_type, platform, occurred_at, ingested_at, link_url)
    select ${PROGRAM}, c0 + (random() * 99)::int, m0 + (random() * 4999)::int, t.et,
           (array['web','ios','android','email','assistant'])[1 + (random() * 4)::int],
           ts - (random() * 3600) * interval '1 second', ts,
           case when t.et = 'link_click' then 'https://intranet.example.com/articles/' || (random() * 5000)::int || '?utm_source=email' end
    from (select min(id) as m0 from members where program_id = ${PROGRAM}) m,
         (select min(id) as c0 from campaigns where program_id = ${PROGRAM}) c,
         (select '${start.toISOString()}'::timestamptz + (i::float8 / ${n}) * ('${end.toISOString()}'::timestamptz - '${start.toISOString()}'::timestamptz) as ts,
                 (array['like','share','email_open','feed_click','email_click','impression','link_click','open'])[1 + (random() * 7)::int] as et
          from generate_series(0, ${n - 1}) i) t`);
  await sql.unsafe('analyze activity_events, members, campaigns');
}

/**
 * A proxy in front of RGW. While `hold` is on it forwards everything but an UploadPart of part 2 or
 * later, which it keeps unanswered (and counts); off, it forwards everything.
 */
async function startHoldingProxy(target: URL) {
  const state = { hold: true, held: 0 };
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const part = Number(query.get('partNumber'));
    if (state.hold && req.method === 'PUT' && query.has('uploadId') && part >= 2) {
      state.held++;
      req.resume();
      return; // never answered: the upload stays in progress
    }
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    state,
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Polls an observable state until `probe` answers (no fixed waits: each probe asks the servers). */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function uploadsOf(bucket: string) {
  return (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
}

async function listKeys(bucket: string): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

async function sha256Of(bucket: string, key: string): Promise<string> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of got.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

describe.skipIf(!!skip)('S3 destination: a worker killed with SIGKILL mid-upload', () => {
  it('leaves a multipart upload; the run is handed back, the next attempt aborts it and delivers one copy of each object', async () => {
    const bucket = await rgw.createBucket('dde-kill');
    const proxy = await startHoldingProxy(new URL(rgw.endpoint));
    try {
      proxy.state.hold = false; // the set-up test goes through untouched
      const hour = 3_600_000;
      const start = new Date(Math.floor(Date.now() / hour) * hour - 9 * hour);
      const connection = await createConnection(
        t,
        OPS_ADMIN,
        PROGRAM,
        createConnectionSchema.parse({
          kind: 's3',
          name: 'Lake',
          frequency: 'every_4_hours',
          start_date: start.toISOString(),
          contact_emails: ['data@customer.example'],
          destination: {
            provider: 's3_compatible',
            bucket,
            prefix: 'dde',
            region: rgw.region,
            endpoint: proxy.endpoint,
            path_style: true,
            auth: 'access_key',
          },
          credentials: { access_key_id: rgw.accessKeyId, secret_access_key: rgw.secretAccessKey },
        }),
      );
      await planWindows(t, { now: new Date(), settleMs: 5 * 60_000, connectionId: connection.id });
      const [planned] = await t.db
        .select()
        .from(exportRuns)
        .where(eq(exportRuns.connectionId, connection.id))
        .orderBy(asc(exportRuns.windowStart));
      await seedWindow(planned.windowStart, planned.windowEnd, EVENTS);
      expect((await executeExportRun(t, planned.id)).status).toBe('generated');
      const files = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, planned.id));
      const activity = files.find((f) => f.fileType === 'activity')!;
      expect(activity.rows).toBe(EVENTS);
      expect(activity.bytes).toBeGreaterThan(PART_BYTES); // a multipart upload
      const activityKey = lakeKey('dde', planned, { name: activity.name, fileType: 'activity', kind: 'data' });

      // The worker process delivers; the proxy holds part 2, so the upload stays in progress.
      proxy.state.hold = true;
      const worker = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/run-step.ts', 'deliver', planned.id], {
        // Its own application name: the test sees when PostgreSQL has ended its sessions.
        env: { ...process.env, LOG_LEVEL: 'silent', PGAPPNAME: WORKER_APP },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      worker.stdout!.on('data', (d) => (output += d));
      worker.stderr!.on('data', (d) => (output += d));
      const exited = new Promise<string>((resolve) => worker.once('exit', (code, signal) => resolve(signal ?? String(code))));
      const uploadId = await until('the worker’s multipart upload with its first part stored', async () => {
        if (worker.exitCode !== null) throw new Error(`the worker exited before it was killed: ${output}`);
        const upload = (await uploadsOf(bucket)).find((u) => u.Key === activityKey);
        if (!upload || proxy.state.held === 0) return undefined;
        const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: activityKey, UploadId: upload.UploadId }));
        return parts.Parts?.some((p) => p.PartNumber === 1) ? upload.UploadId : undefined;
      });
      worker.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      proxy.state.hold = false;

      // What the dead worker left: the run still delivering, the upload unfinished, the data file not visible.
      const [dead] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, planned.id));
      expect(dead.status).toBe('delivering');
      expect((await uploadsOf(bucket)).map((u) => u.UploadId)).toEqual([uploadId]);
      expect(await listKeys(bucket)).not.toContain(activityKey);

      // PostgreSQL ends the dead worker's sessions (and so any row lock they held, which the sweep
      // would skip); its heartbeat is then older than any age, and the sweep hands the run back.
      await until('the dead worker’s sessions to end', async () => {
        const [{ n }] = await t.sql<
          { n: number }[]
        >`select count(*)::int as n from pg_stat_activity where application_name = ${WORKER_APP}`;
        return n === 0 ? true : undefined;
      });
      expect((await recoverStaleRuns(t, 0)).delivery).toEqual([planned.id]);
      expect((await executeDelivery(t, planned.id)).status).toBe('delivered');

      // One copy of each object, the recorded bytes, nothing unfinished.
      const expected: string[] = [];
      for (const f of files) {
        const kind = f.fileType === 'manifest' ? ('manifest' as const) : ('data' as const);
        expected.push(lakeKey('dde', planned, { name: f.name, fileType: f.fileType, kind }));
        if (kind === 'data') expected.push(lakeKey('dde', planned, { name: `${f.name}.sha256`, fileType: f.fileType, kind: 'sidecar' }));
        if (f.signature) expected.push(lakeKey('dde', planned, { name: `${f.name}.sig`, fileType: 'manifest', kind: 'sidecar' }));
      }
      expect(await listKeys(bucket)).toEqual(expected.sort());
      expect(await uploadsOf(bucket)).toEqual([]);
      expect(await sha256Of(bucket, activityKey)).toBe(activity.sha256);
      expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: activityKey }))).Metadata?.sha256).toBe(activity.sha256);

      const attempts = await t.db.select().from(deliveries).where(eq(deliveries.runId, planned.id)).orderBy(asc(deliveries.startedAt));
      expect(attempts.map((a) => a.status)).toEqual(['aborted', 'succeeded']);
      const [after] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, planned.id));
      expect(after.status).toBe('delivered');
    } finally {
      await proxy.close();
    }
  }, 300_000);
});
