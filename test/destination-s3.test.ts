// The S3 destination against a real Ceph RGW (test/helpers/rgw.ts): set-up through the management
// API (the test writes, reads back and deletes a probe, each failure its own message), delivery of
// real runs into the lake layout with the manifest last and the sha256 in each object's metadata,
// SSE-KMS with RGW's testing key backend, role assumption through RGW's STS, and the faults: a
// throttling 503 SlowDown (an in-process proxy), the bucket removed mid-run, the access key revoked,
// a worker killed mid-upload (its multipart upload left behind) — each retried and delivered once,
// no unfinished multipart upload left. RGW (Ceph 16, Pacific) does not evaluate a trust policy's
// sts:ExternalId condition (AssumeRole answers an error for such a policy) nor SSE-S3 (AES256 is
// accepted and ignored): the tests say what they prove instead.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as createRoute } from '@/app/api/v1/connections/route';
import { closeDatabase } from '@/db/client';
import { connections, deliveries, exportFiles, exportRuns, type Account } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { decryptSecret } from '@/lib/crypto';
import { PART_BYTES, s3Destination } from '@/lib/destinations/s3';
import { issueExternalId } from '@/lib/destinations/s3-external-id';
import { lakeKey } from '@/lib/destinations/s3-settings';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { executeExportRun } from '@/lib/runs/export-run';
import { retryRun } from '@/lib/runs/retry';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { setStorage } from '@/lib/storage';
import { OPS_ADMIN, createAccount, createPrograms, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { RGW_KMS_KEY_ID, rgwSkipReason, rgwUnavailable, startRgw, type TestRgw } from './helpers/rgw';

const execFileAsync = promisify(execFile);
// Its own RGW with STS (startRgw): a server named by TEST_S3_ENDPOINT is not used here.
const skip = process.env.TEST_S3_ENDPOINT ? rgwUnavailable() : rgwSkipReason();
if (skip) console.warn(`destination-s3: skipped, ${skip}`);

const PROGRAM = 83;
const until = new Date('2026-11-20T00:00:00Z');
let t: TestDatabase;
let dataDir: string;
let rgw: TestRgw;
let s3: S3Client;
let cookie: string;
type Json = Record<string, unknown>;

const admin = (...args: string[]) => execFileAsync('/usr/bin/radosgw-admin', ['-c', path.join(rgw.dir, 'ceph.conf'), ...args]);

async function createUser(uid: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const accessKeyId = `K${uid.toUpperCase().replace(/[^A-Z0-9]/g, '')}${Date.now()}`.slice(0, 20);
  const secretAccessKey = `secret-${uid}-${Date.now()}`;
  await admin('user', 'create', `--uid=${uid}`, `--display-name=${uid}`, `--access-key=${accessKeyId}`, `--secret-key=${secretAccessKey}`);
  return { accessKeyId, secretAccessKey };
}

function body(over: { destination?: Json; credentials?: Json | null; name?: string } = {}): Json {
  return {
    kind: 's3',
    name: over.name ?? 'Lake',
    frequency: 'every_4_hours',
    start_date: new Date(until.getTime() - 12 * 3_600_000).toISOString(),
    contact_emails: ['data@customer.example'],
    destination: {
      provider: 's3_compatible',
      bucket: 'missing',
      prefix: 'dde/exports',
      region: rgw.region,
      endpoint: rgw.endpoint,
      path_style: true,
      auth: 'access_key',
      ...over.destination,
    },
    credentials:
      over.credentials === undefined ? { access_key_id: rgw.accessKeyId, secret_access_key: rgw.secretAccessKey } : over.credentials,
  };
}

async function create(json: Json): Promise<{ status: number; body: Json }> {
  const res = await createRoute(request('POST', `/api/v1/connections?program=${PROGRAM}`, { cookie, json }), {
    params: Promise.resolve({}),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

const errorOf = (r: { body: Json }) =>
  r.body.error as { code: string; message: string; details?: { test?: { steps: { step: string; status: string }[] } } };

async function runsOf(connectionId: string) {
  return t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, connectionId)).orderBy(asc(exportRuns.windowStart));
}

async function exported(connectionId: string, index: number) {
  const run = (await runsOf(connectionId))[index];
  if (run.status === 'planned') expect((await executeExportRun(t, run.id)).status).toBe('generated');
  return run;
}

async function listKeys(bucket: string, prefix = ''): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

async function openUploads(bucket: string): Promise<number> {
  const res = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return res.Uploads?.length ?? 0;
}

async function objectBytes(bucket: string, key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

/** The keys a run's files must have in the lake layout. */
async function expectedKeys(runId: string, prefix: string): Promise<string[]> {
  const [run] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, runId));
  const files = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, runId));
  const keys: string[] = [];
  for (const f of files) {
    const kind = f.fileType === 'manifest' ? ('manifest' as const) : ('data' as const);
    keys.push(lakeKey(prefix, run, { name: f.name, fileType: f.fileType, kind }));
    if (kind === 'data') keys.push(lakeKey(prefix, run, { name: `${f.name}.sha256`, fileType: f.fileType, kind: 'sidecar' }));
    // The manifest's detached signature sits beside it.
    if (f.signature) keys.push(lakeKey(prefix, run, { name: `${f.name}.sig`, fileType: 'manifest', kind: 'sidecar' }));
  }
  return keys.sort();
}

beforeAll(async () => {
  if (skip) return;
  rgw = await startRgw({ sts: true });
  s3 = rgw.client();
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-s3-dest-'));
  // Role assumption: RGW's own STS.
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined, DDE_STS_ENDPOINT: rgw.endpoint });
  setStorage(undefined);
  await createPrograms(t.db, [{ id: PROGRAM, name: 'Lake' }]);
  await seedProgram(t, { programId: PROGRAM, users: 30, campaigns: 3, events: 3000, days: 1, seed: 9, until });
  setClock(new Date(until.getTime() + 10 * 60_000));
  const firstup: Account = await createAccount(t.db, { role: 'firstup_super_admin' });
  cookie = await sessionCookie(firstup);
}, 180_000);

afterAll(async () => {
  resetClock();
  s3?.destroy();
  await rgw?.stop();
  await closeDatabase();
  await t?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe.skipIf(!!skip)('S3 destination against Ceph RGW', () => {
  let bucket: string;
  let connectionId: string;

  it('refuses a set-up whose test fails, each failure with its own message, and saves nothing', async () => {
    bucket = await rgw.createBucket('dde-lake');
    const before = (await t.db.select().from(connections)).length;

    const unknown = await create(body({ destination: { bucket: 'no-such-bucket-here' } }));
    expect(unknown.status).toBe(422);
    expect(errorOf(unknown).message).toBe(
      `The connection test failed at "Write a test object": The bucket "no-such-bucket-here" does not exist at ${rgw.endpoint}. Check the bucket name (or create the bucket).`,
    );

    // RGW with STS enabled answers a wrong secret and an unknown key alike with 403 AccessDenied (AWS
    // says SignatureDoesNotMatch / InvalidAccessKeyId: lib/destinations/s3.test.ts has those messages).
    const badSecret = await create(
      body({ destination: { bucket }, credentials: { access_key_id: rgw.accessKeyId, secret_access_key: 'wrong' } }),
    );
    expect(errorOf(badSecret).message).toContain(`PutObject denied on s3://${bucket}/dde/exports/`);
    const badKey = await create(body({ destination: { bucket }, credentials: { access_key_id: 'NOSUCHKEY', secret_access_key: 'x' } }));
    expect(errorOf(badKey).message).toContain(`PutObject denied on s3://${bucket}/dde/exports/`);

    const other = await createUser('dde-stranger');
    const denied = await create(
      body({ destination: { bucket }, credentials: { access_key_id: other.accessKeyId, secret_access_key: other.secretAccessKey } }),
    );
    expect(errorOf(denied).message).toBe(
      `The connection test failed at "Write a test object": PutObject denied on s3://${bucket}/dde/exports/ — add s3:PutObject on arn:aws:s3:::${bucket}/dde/exports/* to the access key's policy.`,
    );

    // Nothing listens on port 1: refused, retryable by nature, a set-up refused all the same.
    const unreachable = await create(body({ destination: { bucket, endpoint: 'http://127.0.0.1:1' } }));
    expect(errorOf(unreachable).message).toContain('http://127.0.0.1:1 refused the connection');

    // The outbound policy: 127.0.0.2 is not an allowed destination (only 127.0.0.1 is, for tests); no packet is sent.
    const internal = await create(body({ destination: { bucket, endpoint: `http://127.0.0.2:${new URL(rgw.endpoint).port}` } }));
    expect(errorOf(internal).message).toMatch(/not an allowed destination/);
    expect(errorOf(internal).details?.test?.steps.find((s) => s.step === 'credentials')?.status).toBe('failed');

    const badInput = await create(body({ destination: { bucket: 'Bad_Bucket', sse: 'aws:kms' } }));
    expect(badInput.status).toBe(422);
    expect(JSON.stringify(badInput.body)).toContain('The bucket name is 3 to 63 lowercase letters');
    expect(JSON.stringify(badInput.body)).toContain('Server-side encryption with KMS needs the key id or ARN.');

    expect((await t.db.select().from(connections)).length).toBe(before);
    expect(await listKeys(bucket)).toEqual([]); // every probe was deleted
  });

  it('sets up with an access key (stored encrypted, never answered), and delivers a run into the lake layout, manifest last', async () => {
    const created = await create(body({ destination: { bucket, sse: 'aws:kms', kms_key_id: RGW_KMS_KEY_ID } }));
    expect(created.status).toBe(201);
    const data = created.body.data as Json;
    connectionId = data.id as string;
    expect(data.destination).toMatchObject({ pushes: true, label: `s3://${bucket}/dde/exports at ${rgw.endpoint}` });
    expect(JSON.stringify(created.body)).not.toContain(rgw.secretAccessKey);
    const [row] = await t.db.select().from(connections).where(eq(connections.id, connectionId));
    expect(JSON.stringify(row.destination)).not.toContain(rgw.secretAccessKey);
    expect(decryptSecret(row.secretCiphertext!, connectionId)).toEqual({
      method: 'access_key',
      accessKeyId: rgw.accessKeyId,
      secretAccessKey: rgw.secretAccessKey,
    });

    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const run = await exported(connectionId, 0);
    const outcome = await executeDelivery(t, run.id);
    expect(outcome.status).toBe('delivered');
    const keys = await listKeys(bucket);
    expect(keys).toEqual(await expectedKeys(run.id, 'dde/exports'));
    console.log(`destination-s3: s3://${bucket}/ after the first delivery:\n  ${keys.join('\n  ')}`);
    expect(keys.some((k) => /^dde\/exports\/incremental\/activity\/dt=\d{4}-\d{2}-\d{2}\/\d+-.*-activity-incremental\.gz$/.test(k))).toBe(
      true,
    );
    expect(keys.some((k) => k.startsWith('dde/exports/incremental/manifest/dt='))).toBe(true);

    // Each object: the bytes recorded, its sha256 in the metadata, its sidecar right, encrypted with the KMS key.
    const files = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, run.id));
    for (const f of files) {
      const key = lakeKey('dde/exports', run, {
        name: f.name,
        fileType: f.fileType,
        kind: f.fileType === 'manifest' ? 'manifest' : 'data',
      });
      const bytes = await objectBytes(bucket, key);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(head.Metadata?.sha256).toBe(f.sha256);
      expect(head.ServerSideEncryption).toBe('aws:kms');
      if (f.fileType !== 'manifest') expect((await objectBytes(bucket, `${key}.sha256`)).toString()).toBe(`${f.sha256}  ${f.name}\n`);
    }
    // The manifest was written last: its LastModified is not before any other object's.
    const listed = (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? [];
    const manifest = listed.find((o) => o.Key!.includes('/manifest/'))!;
    expect(listed.every((o) => o.LastModified!.getTime() <= manifest.LastModified!.getTime())).toBe(true);

    const [attempt] = await t.db.select().from(deliveries).where(eq(deliveries.runId, run.id));
    expect(attempt.destination).toBe(`s3://${bucket}/dde/exports at ${rgw.endpoint}`);
  });

  it('a throttling 503 SlowDown is retried: the run is delivered once, no second copy, nothing unfinished', async () => {
    // An in-process proxy in front of RGW answers the first three PUTs with 503 SlowDown.
    let slowDowns = 0;
    const target = new URL(rgw.endpoint);
    const proxy = http.createServer((req, res) => {
      if (req.method === 'PUT' && slowDowns < 3) {
        slowDowns++;
        req.resume();
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
        );
        return;
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
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const throttledBucket = await rgw.createBucket('dde-throttle');
      const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      slowDowns = 3; // the set-up test goes through untouched
      const created = await create(body({ name: 'Throttled', destination: { bucket: throttledBucket, endpoint, prefix: '' } }));
      expect(created.status).toBe(201);
      const id = (created.body.data as Json).id as string;
      await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000, connectionId: id });
      const run = await exported(id, 0);
      slowDowns = 0;
      expect((await executeDelivery(t, run.id)).status).toBe('delivered');
      expect(slowDowns).toBe(3);
      expect(await listKeys(throttledBucket)).toEqual(await expectedKeys(run.id, ''));
      expect(await openUploads(throttledBucket)).toBe(0);
    } finally {
      proxy.close();
    }
  });

  it('the bucket removed mid-run: the run fails naming the bucket; recreated and retried, delivered once', async () => {
    const run = await exported(connectionId, 1);
    for (const key of await listKeys(bucket)) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    const failed = await executeDelivery(t, run.id);
    expect(failed.status).toBe('failed');
    expect(failed.status === 'failed' && failed.error).toEqual({
      code: 'folder_missing',
      message: `The bucket "${bucket}" does not exist at ${rgw.endpoint}. Check the bucket name (or create the bucket).`,
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    expect((await retryRun(t, OPS_ADMIN, PROGRAM, run.id)).next).toBe('deliver');
    expect((await executeDelivery(t, run.id)).status).toBe('delivered');
    // Delivered again on purpose: the same keys are overwritten, never a second copy.
    expect(await listKeys(bucket)).toEqual(await expectedKeys(run.id, 'dde/exports'));
    expect(await openUploads(bucket)).toBe(0);
  });

  it('the access key revoked: the run fails for good naming the permission (RGW answers AccessDenied); restored and retried, delivered once', async () => {
    const user = await createUser('dde-revoked');
    const ownBucket = `dde-revoked-${Date.now()}`;
    const own = rgw.client();
    const { S3Client: Client } = await import('@aws-sdk/client-s3');
    const asUser = new Client({
      endpoint: rgw.endpoint,
      region: rgw.region,
      forcePathStyle: true,
      credentials: user,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    await asUser.send(new CreateBucketCommand({ Bucket: ownBucket }));
    own.destroy();
    const created = await create(
      body({
        name: 'Revoked',
        destination: { bucket: ownBucket },
        credentials: { access_key_id: user.accessKeyId, secret_access_key: user.secretAccessKey },
      }),
    );
    expect(created.status).toBe(201);
    const id = (created.body.data as Json).id as string;
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000, connectionId: id });
    const run = await exported(id, 0);
    await admin('key', 'rm', `--uid=dde-revoked`, `--access-key=${user.accessKeyId}`);
    const failed = await executeDelivery(t, run.id);
    expect(failed.status === 'failed' && failed.error.code).toBe('permission_denied');
    expect(failed.status === 'failed' && failed.error.message).toContain(`denied on s3://${ownBucket}/dde/exports/`);
    await admin('key', 'create', '--uid=dde-revoked', `--access-key=${user.accessKeyId}`, `--secret-key=${user.secretAccessKey}`);
    await retryRun(t, OPS_ADMIN, PROGRAM, run.id);
    expect((await executeDelivery(t, run.id)).status).toBe('delivered');
    const listed = (await asUser.send(new ListObjectsV2Command({ Bucket: ownBucket }))).Contents?.map((o) => o.Key!).sort();
    expect(listed).toEqual(await expectedKeys(run.id, 'dde/exports'));
    asUser.destroy();
  });

  it('a worker killed mid-upload leaves a multipart upload: the next attempt aborts it and delivers one copy', async () => {
    const run = await exported(connectionId, 2);
    const [file] = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, run.id)).orderBy(asc(exportFiles.name));
    const key = lakeKey('dde/exports', run, { name: file.name, fileType: file.fileType, kind: 'data' });
    const left = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: left.UploadId, PartNumber: 1, Body: Buffer.alloc(5 * 1024 * 1024, 1) }),
    );
    expect(await openUploads(bucket)).toBe(1);
    expect((await executeDelivery(t, run.id)).status).toBe('delivered');
    expect(await openUploads(bucket)).toBe(0);
    const copies = (await listKeys(bucket)).filter((k) => k === key);
    expect(copies).toEqual([key]);
    expect(
      createHash('sha256')
        .update(await objectBytes(bucket, key))
        .digest('hex'),
    ).toBe(file.sha256);
  });

  it('a file larger than a part goes up as a multipart upload, visible only once complete, with its sha256', async () => {
    const big = randomBytes(PART_BYTES * 2 + 12345);
    const sha256 = createHash('sha256').update(big).digest('hex');
    const file = path.join(dataDir, '83-11-19-2026-00-activity-incremental.gz');
    writeFileSync(file, big);
    const [c] = await t.db.select().from(connections).where(eq(connections.id, connectionId));
    const run = { id: 'r', exportType: 'incremental' as const, windowStart: new Date('2026-11-19T00:00:00Z'), windowEnd: until, claim: 1 };
    let published = 0;
    const result = await s3Destination().deliver({
      connection: c,
      secret: decryptSecret(c.secretCiphertext!, c.id),
      files: [{ name: path.basename(file), size: big.length, sha256, kind: 'data', fileType: 'activity', localPath: file }],
      run,
      signal: new AbortController().signal,
      fence: async (publish) => {
        published++;
        return publish();
      },
    });
    expect(result.bytes).toBe(big.length);
    const key = 'dde/exports/incremental/activity/dt=2026-11-19/83-11-19-2026-00-activity-incremental.gz';
    expect(
      createHash('sha256')
        .update(await objectBytes(bucket, key))
        .digest('hex'),
    ).toBe(sha256);
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).Metadata?.sha256).toBe(sha256);
    expect(published).toBe(2); // the clean-up of leftovers and the completion, each under the claim
    expect(await openUploads(bucket)).toBe(0);
  });

  it('assumes a role through STS with the connection’s external id (RGW does not evaluate the external id condition)', async () => {
    await admin('caps', 'add', '--uid=dde-test', '--caps=roles=*');
    const roleName = `dde-delivery-${Date.now()}`;
    await admin(
      'role',
      'create',
      `--role-name=${roleName}`,
      '--path=/',
      `--assume-role-policy-doc=${JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ['arn:aws:iam:::user/dde-test'] }, Action: ['sts:AssumeRole'] }] })}`,
    );
    await admin(
      'role-policy',
      'put',
      `--role-name=${roleName}`,
      '--policy-name=deliver',
      `--policy-doc=${JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::*'] }] })}`,
    );
    const roleBucket = await rgw.createBucket('dde-role');
    // DDE's own base credentials come from the standard variables; STS is RGW's.
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: rgw.accessKeyId,
      AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey,
    });
    try {
      const forged = await create(
        body({
          name: 'Forged',
          destination: {
            provider: 'aws',
            bucket: roleBucket,
            auth: 'role',
            role_arn: `arn:aws:iam:::role/${roleName}`,
            external_id: 'dde-000000000000000000000000-0000000000000000',
          },
          credentials: null,
        }),
      );
      expect(errorOf(forged).message).toContain('This external id was not issued by DDE');
      const externalId = issueExternalId();
      const created = await create(
        body({
          name: 'Role',
          destination: {
            provider: 'aws',
            bucket: roleBucket,
            auth: 'role',
            role_arn: `arn:aws:iam:::role/${roleName}`,
            external_id: externalId,
          },
          credentials: null,
        }),
      );
      expect(created.status).toBe(201);
      const id = (created.body.data as Json).id as string;
      const [row] = await t.db.select().from(connections).where(eq(connections.id, id));
      expect(row.secretCiphertext).toBeNull();
      const again = await create(
        body({
          name: 'Copy',
          destination: {
            provider: 'aws',
            bucket: roleBucket,
            auth: 'role',
            role_arn: `arn:aws:iam:::role/${roleName}`,
            external_id: externalId,
          },
          credentials: null,
        }),
      );
      expect(errorOf(again).message).toBe('This external id belongs to another connection: ask for a new one.');
      await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000, connectionId: id });
      const run = await exported(id, 0);
      expect((await executeDelivery(t, run.id)).status).toBe('delivered');
      expect(await listKeys(roleBucket)).toEqual(await expectedKeys(run.id, 'dde/exports'));
    } finally {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });
});
