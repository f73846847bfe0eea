// Amazon S3 and S3-compatible buckets (GCS through its XML API with HMAC keys, R2, MinIO, Ceph) as a
// destination. Each file goes to its lake key (s3-settings.ts `lakeKey`): data files, their sidecars
// beside them, the manifest last as the completion marker. A file up to PART_BYTES is one PutObject;
// a larger one is a multipart upload whose parts are sent first and which becomes visible only when
// completed. The write that makes an object visible (the PutObject, the CompleteMultipartUpload) runs
// inside the attempt's fence, so a worker that lost its claim publishes nothing. Keys are
// deterministic: a retry overwrites the same objects, never a second copy. A failed upload is
// aborted at once; an attempt first aborts the unfinished uploads an earlier (killed) attempt left
// under the run's keys. Every object carries its sha256 in its metadata (x-amz-meta-sha256).
//
// Authentication: an access key (encrypted at rest), or role assumption (STS AssumeRole with the
// connection's own external id, DDE's base credentials from the standard AWS variables or the
// instance role). The outbound policy (lib/net/outbound-policy.ts) applies to every address the
// client connects to.
import { blocks, objectContentType } from './objects';
import { createHash, randomBytes } from 'node:crypto';
import dns from 'node:dns';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type ServerSideEncryption,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { Connection } from '@/db/schema';
import type { ConnectionSecret } from '@/lib/crypto';
import { describeDestinationSettings } from '@/lib/describe-connection';
import { DeliveryAbortedError, DeliveryError, type DeliveredFile, type DeliveryErrorCode, type DeliveryFile } from '@/lib/delivery';
import { env } from '@/lib/env';
import { outboundRefusal, OutboundRefusedError } from '@/lib/net/outbound-policy';
import { lakeKey, s3EndpointOf, s3SettingsSchema, type S3Settings } from './s3-settings';
import type { DestinationTestReport, DestinationTestStep, PushedDestination } from './types';

/** Files up to this size are one PutObject; larger ones a multipart upload of parts this size. */
export const PART_BYTES = 16 * 1024 * 1024;
const PARTS_IN_FLIGHT = 4;

export type S3Timeouts = { connectionTimeoutMs: number; requestTimeoutMs: number; maxAttempts: number };
const DEFAULT_TIMEOUTS: S3Timeouts = { connectionTimeoutMs: 10_000, requestTimeoutMs: 120_000, maxAttempts: 4 };

/** The settings of a saved S3 connection, validated again (a row is trusted no more than input). */
export function s3SettingsOf(c: Pick<Connection, 'destination'>): S3Settings {
  const parsed = s3SettingsSchema.safeParse(c.destination ?? {});
  if (!parsed.success) {
    throw new DeliveryError('unknown', `The connection's S3 settings are not valid: ${parsed.error.issues[0]?.message ?? 'unreadable'}.`, {
      retryable: false,
    });
  }
  return parsed.data;
}

/** s3://bucket/prefix as DDE names it. */
export const s3Url = (s: Pick<S3Settings, 'bucket' | 'prefix'>) => `s3://${s.bucket}/${s.prefix ? `${s.prefix}/` : ''}`;

// ---------------------------------------------------------------------------------------------
// The client: outbound policy on every connection, credentials, timeouts

function policyLookup(port: number): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list = addresses as dns.LookupAddress[];
      for (const a of list) {
        const refused = outboundRefusal(a.address, port);
        if (refused) return callback(refused, '', 4);
      }
      if (list.length === 0) return callback(Object.assign(new Error(`${hostname} did not resolve`), { code: 'ENOTFOUND' }), '', 4);
      if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      callback(null, list[0].address, list[0].family);
    });
  };
}

/** Refuses an endpoint whose host is an IP literal outside the policy (such a host is connected to without a lookup). */
function checkLiteralEndpoint(endpoint: string | undefined): void {
  if (!endpoint) return;
  const u = new URL(endpoint);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  if (net.isIP(host)) {
    const refused = outboundRefusal(host, port);
    if (refused) throw refused;
  }
}

function handlerFor(endpoint: string | undefined, t: S3Timeouts) {
  const port = endpoint ? Number(new URL(endpoint).port) || (endpoint.startsWith('https:') ? 443 : 80) : 443;
  return {
    httpAgent: new http.Agent({ keepAlive: true, lookup: policyLookup(port) }),
    httpsAgent: new https.Agent({ keepAlive: true, lookup: policyLookup(port) }),
    connectionTimeout: t.connectionTimeoutMs,
    requestTimeout: t.requestTimeoutMs,
  };
}

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

/** DDE's own credentials for AssumeRole come from the SDK's default chain (AWS_* variables, instance role). */
async function assumeRole(s: S3Settings, t: S3Timeouts, signal?: AbortSignal): Promise<Credentials> {
  const endpoint = env().stsEndpoint;
  const sts = new STSClient({
    region: s.region,
    requestHandler: handlerFor(endpoint, t),
    maxAttempts: t.maxAttempts,
    ...(endpoint ? { endpoint } : {}),
  });
  try {
    const res = await sts.send(
      new AssumeRoleCommand({
        RoleArn: s.role_arn!,
        ExternalId: s.external_id!,
        RoleSessionName: `dde-${randomBytes(4).toString('hex')}`,
        DurationSeconds: 3600,
      }),
      { abortSignal: signal },
    );
    const c = res.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole answered without credentials');
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
  } catch (err) {
    throw classifyS3Error(err, { settings: s, operation: 'AssumeRole' });
  } finally {
    sts.destroy();
  }
}

async function clientFor(s: S3Settings, secret: ConnectionSecret | null, t: S3Timeouts, signal?: AbortSignal): Promise<S3Client> {
  const endpoint = s3EndpointOf(s);
  try {
    checkLiteralEndpoint(endpoint);
  } catch (err) {
    throw classifyS3Error(err, { settings: s, operation: 'connect' });
  }
  let credentials: Credentials;
  if (s.auth === 'role') credentials = await assumeRole(s, t, signal);
  else if (secret?.method === 'access_key') credentials = { accessKeyId: secret.accessKeyId, secretAccessKey: secret.secretAccessKey };
  else throw new DeliveryError('auth_failed', 'The connection has no stored access key; replace its credentials.', { retryable: false });
  return new S3Client({
    region: s.region,
    endpoint,
    forcePathStyle: s.path_style || s.provider === 's3_compatible' ? s.path_style : false,
    credentials,
    maxAttempts: t.maxAttempts,
    requestHandler: handlerFor(endpoint, t),
    // Servers other than AWS's may not understand the SDK's default checksums on streamed bodies.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

// ---------------------------------------------------------------------------------------------
// Failures → a code, retryable or not, and what to do

type ErrorContext = { settings: S3Settings; operation: string; key?: string };

function errFacts(err: unknown): { name: string; status?: number; code?: string; message: string; region?: string } {
  const e = (err ?? {}) as {
    name?: string;
    Code?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    $response?: { headers?: Record<string, string> };
    Region?: string;
  };
  return {
    name: e.Code ?? e.name ?? 'Error',
    status: e.$metadata?.httpStatusCode,
    code: typeof e.code === 'string' ? e.code : undefined,
    message: typeof e.message === 'string' ? e.message : String(err),
    region: e.Region ?? e.$response?.headers?.['x-amz-bucket-region'],
  };
}

const NETWORK_DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME']);
const NETWORK_REFUSED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const NETWORK_LOST = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'socket hang up']);

/** What permission an operation needs, for a "denied" message. */
const PERMISSION: Record<string, string> = {
  PutObject: 's3:PutObject',
  CompleteMultipartUpload: 's3:PutObject',
  CreateMultipartUpload: 's3:PutObject',
  UploadPart: 's3:PutObject',
  AbortMultipartUpload: 's3:AbortMultipartUpload',
  ListMultipartUploads: 's3:ListBucketMultipartUploads',
  GetObject: 's3:GetObject',
  DeleteObject: 's3:DeleteObject',
};

/** Any error met talking to an S3 server → a DeliveryError with a fixed code and a message a person can act on. */
export function classifyS3Error(err: unknown, ctx: ErrorContext): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const s = ctx.settings;
  const where = s3Url(s);
  const server = s3EndpointOf(s) ?? `Amazon S3 (${s.region})`;
  const f = errFacts(err);
  const detail = `${f.name}${f.status ? ` ${f.status}` : ''}: ${f.message}`.slice(0, 300);
  const make = (code: DeliveryErrorCode, message: string, retryable?: boolean) =>
    new DeliveryError(code, message, { detail, cause: err, ...(retryable === undefined ? {} : { retryable }) });

  if (err instanceof OutboundRefusedError || (err as { name?: string })?.name === 'OutboundRefusedError') {
    return make('refused', `${(err as Error).message} (the endpoint ${server} is not an allowed destination).`, false);
  }
  if (ctx.operation === 'AssumeRole') {
    if (f.status === 403 || f.name === 'AccessDenied')
      return make(
        'auth_failed',
        `DDE could not assume the role ${s.role_arn}: access denied. Check that the role's trust policy names DDE's account and the external id ${s.external_id}.`,
        false,
      );
    if (f.name === 'CredentialsProviderError')
      return make(
        'auth_failed',
        'DDE has no AWS credentials of its own to assume the role with (set AWS_* variables or an instance role).',
        false,
      );
  }
  switch (f.name) {
    case 'NoSuchBucket':
      return make('folder_missing', `The bucket "${s.bucket}" does not exist at ${server}. Check the bucket name (or create the bucket).`);
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException':
      return make(
        'wrong_region',
        `The bucket "${s.bucket}" is not in ${s.region}${f.region ? `; it is in ${f.region}` : ''}. Set the connection up with the bucket's region.`,
      );
    case 'InvalidAccessKeyId':
      return make('auth_failed', `${server} does not know the access key. Check the access key id, or whether it was deleted.`);
    case 'SignatureDoesNotMatch':
      return make('auth_failed', `${server} rejected the secret access key for the access key id. Check the secret.`);
    case 'ExpiredToken':
    case 'TokenRefreshRequired':
      return make('auth_failed', 'The temporary credentials expired during the delivery; the attempt will be retried with new ones.', true);
    case 'AccessDenied':
    case 'AllAccessDisabled': {
      const permission = PERMISSION[ctx.operation] ?? `s3:${ctx.operation}`;
      const on = `arn:aws:s3:::${s.bucket}/${s.prefix ? `${s.prefix}/` : ''}*`;
      return make(
        'permission_denied',
        `${ctx.operation} denied on ${where} — add ${permission} on ${on} to the ${s.auth === 'role' ? "role's" : "access key's"} policy` +
          (s.sse === 'aws:kms' ? ', and kms:GenerateDataKey on the KMS key' : '') +
          '.',
      );
    }
    case 'SlowDown':
    case 'Throttling':
    case 'ThrottlingException':
    case 'RequestLimitExceeded':
    case 'ServiceUnavailable':
      return make('throttled', `${server} asked DDE to slow down (${f.name}); the attempt will be retried later.`);
    case 'KMS.NotFoundException':
    case 'KMS.DisabledException':
    case 'KMSInvalidStateException':
      return make(
        'permission_denied',
        `The KMS key ${s.kms_key_id} cannot be used for encryption (${f.name}). Check the key id and that it is enabled.`,
      );
    case 'InvalidStorageClass':
      return make('unknown', `${server} does not accept the storage class ${s.storage_class}. Choose another one.`, false);
    case 'TimeoutError':
    case 'RequestTimeout':
      return make('timeout', `${server} stopped responding during ${ctx.operation}; the attempt will be retried.`);
  }
  if (f.code && NETWORK_DNS.has(f.code))
    return make('dns', `The endpoint host of ${server} could not be resolved (DNS). Check the endpoint.`);
  if (f.code && NETWORK_REFUSED.has(f.code))
    return make(
      'refused',
      `${server} refused the connection (nothing listening there, or a firewall). Check the endpoint; the attempt will be retried.`,
    );
  if (f.code === 'ETIMEDOUT' || /timed? ?out/i.test(f.message))
    return make('timeout', `${server} stopped responding during ${ctx.operation}; the attempt will be retried.`);
  if ((f.code && NETWORK_LOST.has(f.code)) || /socket hang up/i.test(f.message))
    return make('unknown', `The connection to ${server} was lost during ${ctx.operation}; the attempt will be retried.`, true);
  if (f.status === 404)
    return make('folder_missing', `The bucket "${s.bucket}" was not found at ${server}. Check the bucket name and the endpoint.`);
  if (f.status === 403)
    return make(
      'permission_denied',
      `${server} denied ${ctx.operation} on ${where} (${f.name}). Check the credentials' policy for this bucket and prefix.`,
    );
  if (f.status === 301 || f.status === 307)
    return make(
      'wrong_region',
      `The bucket "${s.bucket}" is not in ${s.region}${f.region ? `; it is in ${f.region}` : ''}. Set the connection up with the bucket's region.`,
    );
  if (f.status === 400 && ctx.operation !== 'GetObject' && s.sse !== 'none')
    return make(
      'unknown',
      `${server} refused ${ctx.operation} with the encryption setting ${s.sse} (${f.name}). Check that the bucket supports it.`,
      false,
    );
  if (f.status && f.status >= 500)
    return make('unknown', `${server} failed ${ctx.operation} (${f.status} ${f.name}); the attempt will be retried.`, true);
  return make('unknown', `The delivery to ${where} failed during ${ctx.operation}: ${detail}`);
}

// ---------------------------------------------------------------------------------------------
// Writing objects

function encryptionOf(s: S3Settings): { ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string } {
  if (s.sse === 'none') return {};
  if (s.sse === 'aws:kms') return { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: s.kms_key_id! };
  return { ServerSideEncryption: 'AES256' };
}

function sourceOf(file: DeliveryFile): Readable | null {
  if (file.localPath) return createReadStream(file.localPath, { highWaterMark: 1024 * 1024 });
  if (file.open) return file.open();
  return null;
}

type PutContext = {
  client: S3Client;
  settings: S3Settings;
  key: string;
  signal: AbortSignal;
  fence: <T>(publish: () => Promise<T>) => Promise<T>;
  report: (bytes: number) => void;
};

function aborted(signal: AbortSignal, err?: unknown): boolean {
  return signal.aborted || (err as { name?: string })?.name === 'AbortError';
}

/** One file to its key: verified against its recorded sha256, visible only through the fence. */
async function putFile(ctx: PutContext, file: DeliveryFile, before: ReadonlyMap<string, DeliveredFile>): Promise<DeliveredFile> {
  const started = performance.now();
  const { client, settings, key, signal } = ctx;
  const common = {
    Bucket: settings.bucket,
    Key: key,
    ContentType: objectContentType(file.name),
    ...encryptionOf(settings),
    ...(settings.storage_class ? { StorageClass: settings.storage_class as StorageClass } : {}),
  };
  if (file.encryptTo) throw new DeliveryError('unknown', 'OpenPGP encryption is delivered to SFTP servers only.', { retryable: false });
  const built = file.build ? await file.build(before) : null;
  const source: AsyncIterable<Buffer | string> | null = built ? Readable.from([built]) : sourceOf(file);
  if (!source) throw new DeliveryError('unknown', `The export file ${file.name} has no content to deliver.`, { retryable: false });
  const hash = createHash('sha256');
  const expectedSize = built ? built.length : file.size;
  let sent = 0;
  let uploadId: string | undefined;
  let operation = 'PutObject';
  const readError = (err: unknown) =>
    new DeliveryError('unknown', `The export file ${file.name} could not be read from storage; the attempt will be retried.`, {
      detail: err instanceof Error ? err.message : String(err),
    });
  try {
    const it = blocks(source, PART_BYTES)[Symbol.asyncIterator]();
    const next = async () => {
      try {
        return await it.next();
      } catch (err) {
        throw readError(err);
      }
    };
    const first = await next();
    const firstBlock = first.done ? Buffer.alloc(0) : first.value;
    hash.update(firstBlock);
    const second = firstBlock.length < PART_BYTES ? { done: true as const, value: undefined } : await next();
    const check = (sha: string, bytes: number) => {
      if (bytes !== expectedSize || (!built && sha !== file.sha256.toLowerCase())) {
        throw new DeliveryError(
          'unknown',
          `The export file ${file.name} read from storage does not match its recorded size and SHA-256; it was not delivered.`,
        );
      }
    };
    if (second.done) {
      // One block: one PutObject, which is the write that makes it visible.
      const sha = hash.digest('hex');
      check(sha, firstBlock.length);
      await ctx.fence(() =>
        client.send(new PutObjectCommand({ ...common, Body: firstBlock, ContentLength: firstBlock.length, Metadata: { sha256: sha } }), {
          abortSignal: signal,
        }),
      );
      sent = firstBlock.length;
      ctx.report(sent);
      return { name: file.name, remotePath: key, bytes: sent, sha256: sha, durationMs: Math.round(performance.now() - started) };
    }
    // Several blocks: a multipart upload, completed (made visible) inside the fence.
    operation = 'CreateMultipartUpload';
    const sha256 = built ? undefined : file.sha256.toLowerCase();
    const created = await client.send(new CreateMultipartUploadCommand({ ...common, ...(sha256 ? { Metadata: { sha256 } } : {}) }), {
      abortSignal: signal,
    });
    uploadId = created.UploadId!;
    operation = 'UploadPart';
    const parts: { PartNumber: number; ETag: string }[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    let number = 0;
    const send = (body: Buffer) => {
      const partNumber = ++number;
      const p = client
        .send(
          new UploadPartCommand({
            Bucket: settings.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: body,
            ContentLength: body.length,
          }),
          {
            abortSignal: signal,
          },
        )
        .then((r) => {
          parts.push({ PartNumber: partNumber, ETag: r.ETag! });
          sent += body.length;
          ctx.report(sent);
        })
        .catch((err) => {
          failure ??= err;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };
    send(firstBlock);
    hash.update(second.value);
    send(second.value);
    for (;;) {
      while (inFlight.size >= PARTS_IN_FLIGHT && !failure) await Promise.race(inFlight);
      if (failure) break;
      const b = await next();
      if (b.done) break;
      hash.update(b.value);
      send(b.value);
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
    const sha = hash.digest('hex');
    check(sha, sent);
    operation = 'CompleteMultipartUpload';
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    await ctx.fence(() =>
      client.send(
        new CompleteMultipartUploadCommand({ Bucket: settings.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
        { abortSignal: signal },
      ),
    );
    uploadId = undefined;
    return { name: file.name, remotePath: key, bytes: sent, sha256: sha, durationMs: Math.round(performance.now() - started) };
  } catch (err) {
    if (uploadId) {
      // Never leave parts behind: abort without the attempt's signal, bounded.
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: settings.bucket, Key: key, UploadId: uploadId }), {
          abortSignal: AbortSignal.timeout(15_000),
        })
        .catch(() => undefined);
    }
    if (aborted(signal, err)) throw new DeliveryAbortedError();
    if (err instanceof DeliveryError) throw err;
    if ((err as { name?: string })?.name === 'ClaimLostError') throw err;
    throw classifyS3Error(err, { settings, operation, key });
  }
}

/** Aborts the unfinished multipart uploads under `keys` that earlier attempts left (a killed worker's). */
async function abortLeftovers(client: S3Client, s: S3Settings, keys: Set<string>, signal: AbortSignal): Promise<number> {
  const prefixes = new Set([...keys].map((k) => k.slice(0, k.lastIndexOf('/') + 1)));
  let aborted = 0;
  for (const prefix of prefixes) {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await client.send(
        new ListMultipartUploadsCommand({ Bucket: s.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        { abortSignal: signal },
      );
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !keys.has(u.Key)) continue;
        await client.send(new AbortMultipartUploadCommand({ Bucket: s.bucket, Key: u.Key, UploadId: u.UploadId }), { abortSignal: signal });
        aborted++;
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }
  return aborted;
}

// ---------------------------------------------------------------------------------------------
// The set-up test: write a probe, read it back (and its encryption), delete it

const STEP_LABELS = {
  credentials: 'Credentials',
  write: 'Write a test object',
  read: 'Read it back',
  encryption: 'Encryption as set up',
  delete: 'Delete the test object',
} as const;

export async function testS3(input: {
  settings: S3Settings;
  secret: ConnectionSecret | null;
  signal?: AbortSignal;
  timeouts?: Partial<S3Timeouts>;
}): Promise<DestinationTestReport> {
  const s = input.settings;
  const t = { ...DEFAULT_TIMEOUTS, maxAttempts: 2, ...input.timeouts };
  const signal = input.signal ?? new AbortController().signal;
  const steps: DestinationTestStep[] = Object.entries(STEP_LABELS).map(([step, label]) => ({ step, label, status: 'skipped' as const }));
  const at = (step: keyof typeof STEP_LABELS) => steps.find((x) => x.step === step)!;
  let clock = performance.now();
  const lap = () => {
    const now = performance.now();
    const d = Math.round(now - clock);
    clock = now;
    return d;
  };
  const pass = (step: keyof typeof STEP_LABELS, detail?: string) => Object.assign(at(step), { status: 'ok', durationMs: lap(), detail });
  const fail = (step: keyof typeof STEP_LABELS, err: DeliveryError) => {
    Object.assign(at(step), {
      status: 'failed',
      durationMs: lap(),
      error: { code: err.code, retryable: err.retryable, message: err.message },
    });
    return { ok: false, steps, error: at(step).error } satisfies DestinationTestReport;
  };
  let client: S3Client;
  try {
    client = await clientFor(s, input.secret, t, signal);
    pass('credentials', s.auth === 'role' ? `assumed ${s.role_arn}` : 'access key');
  } catch (err) {
    return fail('credentials', classifyS3Error(err, { settings: s, operation: 'connect' }));
  }
  const key = `${s.prefix ? `${s.prefix}/` : ''}.dde-write-test-${randomBytes(6).toString('hex')}`;
  const body = Buffer.from('DDE write test. This object is removed right away.\n');
  let written = false;
  try {
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: s.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ...encryptionOf(s),
          ...(s.storage_class ? { StorageClass: s.storage_class as StorageClass } : {}),
        }),
        { abortSignal: signal },
      );
      written = true;
      pass('write', `s3://${s.bucket}/${key}`);
    } catch (err) {
      return fail('write', classifyS3Error(err, { settings: s, operation: 'PutObject', key }));
    }
    let encryption: string | undefined;
    try {
      const got = await client.send(new GetObjectCommand({ Bucket: s.bucket, Key: key }), { abortSignal: signal });
      const back = Buffer.from(await got.Body!.transformToByteArray());
      encryption = got.ServerSideEncryption;
      if (!back.equals(body))
        throw new DeliveryError('unknown', 'The test object read back differs from what was written.', { retryable: false });
      pass('read');
    } catch (err) {
      return fail('read', classifyS3Error(err, { settings: s, operation: 'GetObject', key }));
    }
    if (s.sse === 'none') pass('encryption', encryption ? `the bucket encrypts by default (${encryption})` : 'none asked');
    else if (encryption === s.sse) pass('encryption', s.sse === 'aws:kms' ? `aws:kms with ${s.kms_key_id}` : s.sse);
    else
      return fail(
        'encryption',
        new DeliveryError(
          'unknown',
          `The server stored the test object ${encryption ? `with ${encryption}` : 'unencrypted'} instead of ${s.sse}; it does not honour the encryption setting.`,
          { retryable: false },
        ),
      );
    try {
      await client.send(new DeleteObjectCommand({ Bucket: s.bucket, Key: key }), { abortSignal: signal });
      written = false;
      pass('delete');
    } catch (err) {
      return fail('delete', classifyS3Error(err, { settings: s, operation: 'DeleteObject', key }));
    }
    return { ok: true, steps };
  } finally {
    if (written) await client.send(new DeleteObjectCommand({ Bucket: s.bucket, Key: key })).catch(() => undefined);
    client.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// The destination

export function s3Destination(): PushedDestination {
  return {
    kind: 's3',
    pushes: true,
    secretLabel: 'access key',
    describe: (c) => describeDestinationSettings('s3', c.destination),
    activeEmail(c) {
      const s = s3SettingsOf(c);
      return {
        service: s.provider === 'aws' ? 'Amazon S3' : s.provider === 'gcs' ? 'Google Cloud Storage' : 'S3-compatible storage',
        signIn: s.auth === 'role' ? `the role ${s.role_arn} with the external id ${s.external_id}` : 'an access key (stored encrypted)',
        encryption: s.sse === 'aws:kms' ? `SSE-KMS with the key ${s.kms_key_id}` : s.sse === 'AES256' ? 'SSE-S3 (AES256)' : null,
        layoutExample: lakeKey(s.prefix, { exportType: 'incremental', windowStart: c.startDate }, { name: '<file>', fileType: 'activity' }),
      };
    },
    test: ({ connection, secret, signal, timeouts }) => testS3({ settings: s3SettingsOf(connection), secret, signal, timeouts }),
    async check({ connection, secret, signal, timeouts }) {
      let report: DestinationTestReport;
      try {
        report = await testS3({ settings: s3SettingsOf(connection), secret, signal, timeouts });
      } catch (err) {
        if (err instanceof DeliveryError) return { ok: false, code: err.code, message: err.message };
        throw err;
      }
      if (report.ok) return { ok: true };
      return { ok: false, code: report.error?.code ?? 'unknown', message: report.error?.message ?? 'The test failed.' };
    },
    async deliver(input) {
      const started = performance.now();
      const s = s3SettingsOf(input.connection);
      const t = { ...DEFAULT_TIMEOUTS, ...input.timeouts };
      const client = await clientFor(s, input.secret, t, input.signal);
      const totalBytes = input.files.reduce((n, f) => n + f.size, 0);
      const keys = new Map(input.files.map((f) => [f.name, lakeKey(s.prefix, input.run, f)]));
      const delivered: DeliveredFile[] = [];
      const byName = new Map<string, DeliveredFile>();
      let done = 0;
      try {
        // An earlier attempt killed mid-upload left parts behind: abort them, under the claim.
        try {
          await input.fence(() => abortLeftovers(client, s, new Set(keys.values()), input.signal));
        } catch (err) {
          if ((err as { name?: string })?.name === 'ClaimLostError') throw err;
          if (aborted(input.signal, err)) throw new DeliveryAbortedError();
          const e = classifyS3Error(err, { settings: s, operation: 'ListMultipartUploads' });
          // A policy without the listing permission still delivers: only the clean-up is skipped.
          if (e.code !== 'permission_denied') throw e;
        }
        const ordered = [
          ...input.files.filter((f) => f.kind === 'data'),
          ...input.files.filter((f) => f.kind === 'sidecar'),
          ...input.files.filter((f) => f.kind !== 'data' && f.kind !== 'sidecar'),
        ];
        for (const file of ordered) {
          if (input.signal.aborted) throw new DeliveryAbortedError();
          const base = done;
          const report = (bytes: number) => {
            try {
              input.onProgress?.({ file: file.name, fileBytes: bytes, fileSize: file.size, bytes: base + bytes, totalBytes });
            } catch {
              // A progress listener must not break a delivery.
            }
          };
          const d = await putFile(
            { client, settings: s, key: keys.get(file.name)!, signal: input.signal, fence: input.fence, report },
            file,
            byName,
          );
          done += d.bytes;
          delivered.push(d);
          byName.set(d.name, d);
        }
        return { files: delivered, bytes: done, durationMs: Math.round(performance.now() - started) };
      } finally {
        client.destroy();
      }
    },
    classify: (err) =>
      err instanceof DeliveryError
        ? err
        : new DeliveryError('unknown', `The delivery to cloud storage failed: ${err instanceof Error ? err.message : String(err)}`, {
            cause: err,
          }),
  };
}
