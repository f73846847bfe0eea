// S3-compatible storage (AWS S3, Ceph RGW, MinIO, R2…): each key is an object under
// `<bucket>/<prefix>`. A write streams into a multipart upload (parts of `partSize`, at most
// `queueSize` in flight, so memory stays flat whatever the file's size); the object exists only
// once the upload completes, and a failed or aborted upload is aborted (no parts left behind).
// Each write and each rename is checked with a HEAD before it resolves, so a caller never goes on
// with an object that is not there. Transient errors (network, 5xx, throttling) are retried by the
// SDK's standard retry strategy, `maxAttempts` times per request.
import { createHash, createHmac } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  assertValidKey,
  assertValidPrefix,
  StorageNotFoundError,
  type ByteRange,
  type PresignOptions,
  type Storage,
  type StoredObject,
} from './types';

export type S3StorageConfig = {
  bucket: string;
  /** '' or a folder inside the bucket, without leading slash; '/' is appended when missing. */
  prefix: string;
  region: string;
  /** Custom endpoint (MinIO, Ceph, R2…); AWS's own when undefined. */
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Explicit keys; when undefined the SDK's default chain (instance role, profile…) is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** 'when_required' for servers that do not understand the SDK's default checksums (Ceph Pacific). */
  checksums?: 'when_supported' | 'when_required';
  /** Attempts per request, transient errors retried (default 5). */
  maxAttempts?: number;
  /** Multipart part size in bytes (default 8 MiB, minimum 5 MiB). */
  partSize?: number;
  /** Parts uploaded at once (default 4). */
  queueSize?: number;
  /** Downloads redirect to presigned URLs (downloadRedirect answers one). */
  presign?: boolean;
};

/** CopyObject's limit; larger objects are copied part by part. */
const SINGLE_COPY_LIMIT = 5 * 1024 ** 3;
const COPY_PART_BYTES = 512 * 1024 ** 2;

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(err) === 404;
}

/** RFC 3986 encoding of a URI path segment or query value, as SigV4 wants it. */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export class S3Storage implements Storage {
  readonly description: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  private readonly config: S3StorageConfig;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(config: S3StorageConfig) {
    this.config = config;
    this.bucket = config.bucket;
    const p = config.prefix.replace(/^\/+/, '');
    this.prefix = p === '' || p.endsWith('/') ? p : `${p}/`;
    if (this.prefix) assertValidPrefix(this.prefix);
    this.partSize = Math.max(5 * 1024 ** 2, config.partSize ?? 8 * 1024 ** 2);
    this.queueSize = Math.max(1, config.queueSize ?? 4);
    this.description = `s3://${this.bucket}/${this.prefix}${config.endpoint ? ` at ${config.endpoint}` : ''}`;
    const checksum = config.checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
    this.client = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle ?? false,
      credentials: config.credentials,
      maxAttempts: config.maxAttempts ?? 5,
      retryMode: 'standard',
      requestChecksumCalculation: checksum,
      responseChecksumValidation: checksum,
    });
  }

  /** The object key of a storage key. */
  objectKey(key: string): string {
    assertValidKey(key);
    return this.prefix + key;
  }

  localPath(): undefined {
    return undefined;
  }

  async put(key: string, body: Readable | AsyncIterable<Buffer | string>, opts: { signal?: AbortSignal } = {}): Promise<{ bytes: number }> {
    const Key = this.objectKey(key);
    opts.signal?.throwIfAborted();
    let bytes = 0;
    const source = body instanceof Readable ? body : Readable.from(body);
    const counted = new Transform({
      highWaterMark: 1 << 20,
      transform(chunk: Buffer | string, _enc, cb) {
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        bytes += b.length;
        cb(null, b);
      },
    });
    source.once('error', (err) => counted.destroy(err));
    source.pipe(counted);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body: counted },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    const onAbort = () => {
      counted.destroy(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
      void upload.abort().catch(() => undefined);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
    } catch (err) {
      source.unpipe(counted);
      counted.destroy();
      opts.signal?.throwIfAborted();
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    // CompleteMultipartUpload's answer cannot be trusted everywhere (Ceph leaves its ETag empty):
    // the object must be there with every byte before the write counts as done.
    const stored = await this.stat(key);
    if (!stored || stored.size !== bytes) {
      throw new Error(
        `S3 write of ${Key} did not complete: ${stored ? `${stored.size} of ${bytes} bytes stored` : 'no object after upload'}`,
      );
    }
    return { bytes };
  }

  async get(key: string, range: ByteRange = {}): Promise<Readable> {
    const Key = this.objectKey(key);
    let Range: string | undefined;
    if (range.start !== undefined || range.end !== undefined) Range = `bytes=${range.start ?? 0}-${range.end ?? ''}`;
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range }));
      return res.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new StorageNotFoundError(key);
      throw err;
    }
  }

  async stat(key: string): Promise<StoredObject | null> {
    const Key = this.objectKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { key, size: res.ContentLength ?? 0, modifiedAt: res.LastModified ?? new Date(0) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  /** Server-side copy then delete (S3 has no rename); the copy is checked before the source goes. */
  async rename(from: string, to: string): Promise<void> {
    const source = await this.stat(from);
    if (!source) throw new StorageNotFoundError(from);
    const Key = this.objectKey(to);
    const CopySource = `${this.bucket}/${this.objectKey(from).split('/').map(uriEncode).join('/')}`;
    if (source.size <= SINGLE_COPY_LIMIT) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key, CopySource }));
    } else {
      await this.copyInParts(CopySource, Key, source.size);
    }
    const copied = await this.stat(to);
    if (!copied || copied.size !== source.size) throw new Error(`S3 copy of ${this.objectKey(from)} to ${Key} did not complete`);
    await this.delete(from);
  }

  private async copyInParts(CopySource: string, Key: string, size: number): Promise<void> {
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }));
    try {
      const parts: { ETag?: string; PartNumber: number }[] = [];
      for (let start = 0, n = 1; start < size; start += COPY_PART_BYTES, n++) {
        const end = Math.min(size, start + COPY_PART_BYTES) - 1;
        const res = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key,
            UploadId,
            PartNumber: n,
            CopySource,
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        parts.push({ ETag: res.CopyPartResult?.ETag, PartNumber: n });
      }
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => undefined);
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const out: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken }),
      );
      for (const o of res.Contents ?? []) if (o.Key) out.push(o.Key.slice(this.prefix.length));
      ContinuationToken = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (ContinuationToken);
    return out.sort();
  }

  async downloadRedirect(key: string, opts: PresignOptions): Promise<string | null> {
    return this.config.presign ? this.presignedGet(key, opts) : null;
  }

  /**
   * A presigned GET URL (SigV4, query-string auth) valid for `expiresIn` seconds, that makes S3
   * answer with the given Content-Disposition and Content-Type.
   */
  async presignedGet(key: string, opts: PresignOptions): Promise<string> {
    const creds = await this.client.config.credentials();
    const region = this.config.region;
    const endpoint = new URL(this.config.endpoint ?? `https://s3.${region}.amazonaws.com`);
    const objectPath = this.objectKey(key).split('/').map(uriEncode).join('/');
    const pathStyle = this.config.forcePathStyle === true;
    const host = pathStyle ? endpoint.host : `${this.bucket}.${endpoint.host}`;
    const basePath = endpoint.pathname.replace(/\/+$/, '');
    const canonicalUri = pathStyle ? `${basePath}/${uriEncode(this.bucket)}/${objectPath}` : `${basePath}/${objectPath}`;
    const at = opts.now ?? new Date();
    const amzDate = at
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const day = amzDate.slice(0, 8);
    const scope = `${day}/${region}/s3/aws4_request`;
    const query: Record<string, string> = {
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': `${creds.accessKeyId}/${scope}`,
      'X-Amz-Date': amzDate,
      'X-Amz-Expires': String(Math.max(1, Math.min(604_800, Math.round(opts.expiresIn)))),
      'X-Amz-SignedHeaders': 'host',
    };
    if (creds.sessionToken) query['X-Amz-Security-Token'] = creds.sessionToken;
    if (opts.contentDisposition) query['response-content-disposition'] = opts.contentDisposition;
    if (opts.contentType) query['response-content-type'] = opts.contentType;
    const canonicalQuery = Object.keys(query)
      .sort()
      .map((k) => `${uriEncode(k)}=${uriEncode(query[k])}`)
      .join('&');
    const canonicalRequest = ['GET', canonicalUri, canonicalQuery, `host:${host}\n`, 'host', 'UNSIGNED-PAYLOAD'].join('\n');
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
    const hmac = (k: Buffer | string, v: string) => createHmac('sha256', k).update(v).digest();
    const signingKey = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, day), region), 's3'), 'aws4_request');
    const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
    return `${endpoint.protocol}//${host}${canonicalUri}?${canonicalQuery}&X-Amz-Signature=${signature}`;
  }

  /**
   * The start-up check: the bucket is reachable with these credentials, and an object can be
   * written, read and deleted. Throws an Error whose message names the variable to fix.
   */
  async check(opts: { timeoutMs?: number } = {}): Promise<void> {
    const signal = AbortSignal.timeout(opts.timeoutMs ?? 15_000);
    const probeKey = `.dde-startup-check-${process.pid}-${Date.now()}`;
    const where = `bucket "${this.bucket}"${this.config.endpoint ? ` at ${this.config.endpoint}` : ''}`;
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, MaxKeys: 1 }), { abortSignal: signal });
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + probeKey, Body: 'ok' }), {
        abortSignal: signal,
      });
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + probeKey }), { abortSignal: signal });
    } catch (err) {
      throw new Error(explainS3Error(err, where), { cause: err });
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}

/** A start-up failure in words that name the variable to fix (never the secret itself). */
export function explainS3Error(err: unknown, where: string): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  const name = e.name ?? '';
  const status = statusOf(err);
  const code = e.code ?? e.cause?.code ?? '';
  if (name === 'NoSuchBucket' || (status === 404 && !name.startsWith('NoSuchKey')))
    return `S3 storage: the ${where} does not exist. Check the bucket in DDE_STORAGE_URL.`;
  if (name === 'InvalidAccessKeyId') return `S3 storage: the ${where} does not know this access key. Check AWS_ACCESS_KEY_ID.`;
  if (name === 'SignatureDoesNotMatch') return `S3 storage: the ${where} refused the signature. Check AWS_SECRET_ACCESS_KEY.`;
  if (name === 'AccessDenied' || status === 403)
    return `S3 storage: access to the ${where} was denied (${name || status}). Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and that they may list, read, write and delete objects in the bucket of DDE_STORAGE_URL.`;
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301)
    return `S3 storage: the ${where} is in another region (${name || status}). Check AWS_REGION.`;
  if (name === 'TimeoutError' || name === 'AbortError')
    return `S3 storage: the ${where} did not answer in time. Check DDE_S3_ENDPOINT (or the network to S3).`;
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|ETIMEDOUT|EAI_AGAIN/.test(`${code} ${e.message ?? ''}`))
    return `S3 storage: cannot reach the ${where} (${code || e.message}). Check DDE_S3_ENDPOINT.`;
  if (status === 411 || name === 'MissingContentLength')
    return `S3 storage: the ${where} does not accept the SDK's checksums (${name || status}). Set DDE_S3_CHECKSUMS=when_required.`;
  return `S3 storage: the ${where} failed the start-up check: ${name || status || ''} ${e.message ?? String(err)}. Check DDE_STORAGE_URL, DDE_S3_ENDPOINT and the AWS_* variables.`;
}
