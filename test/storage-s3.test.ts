// The S3 storage backend against a real S3 server (Ceph's RADOS Gateway, test/helpers/rgw.ts):
// streamed multipart writes with flat memory, atomic objects (a failed or aborted write leaves
// nothing, not even parts), ranges, rename, paged listing, presigned links, transient network
// errors retried, and a start-up check that names the variable to fix.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import { HeadObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@/lib/env';
import { S3Storage, storageFromConfig, StorageKeyError, StorageNotFoundError, type S3StorageConfig } from '@/lib/storage';
import { rgwSkipReason, obtainRgw, type TestRgw } from './helpers/rgw';

const skip = rgwSkipReason();
if (skip) console.warn(`storage-s3: skipped, ${skip}`);

let rgw: TestRgw;
let bucket: string;
let s3: S3Client;
const stores: S3Storage[] = [];

function storageWith(over: Partial<S3StorageConfig> = {}): S3Storage {
  const s = new S3Storage({
    bucket,
    prefix: 'exports',
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

async function openUploads(): Promise<number> {
  const res = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return res.Uploads?.length ?? 0;
}

/** `total` pseudo-random bytes in 1 MiB chunks, hashed as they are made; nothing is kept. */
function generated(total: number) {
  const hash = createHash('sha256');
  const chunk = randomBytes(1 << 20);
  let sent = 0;
  const body = Readable.from(
    (function* () {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        // Each chunk differs (counter in front) so a misplaced part would change the checksum.
        const c = Buffer.from(chunk.subarray(0, n));
        c.writeUInt32BE(sent / (1 << 20), 0);
        hash.update(c);
        sent += n;
        yield c;
      }
    })(),
  );
  return { body, sha256: () => hash.digest('hex') };
}

describe.skipIf(!!skip)('S3 storage against a real Ceph RGW', () => {
  beforeAll(async () => {
    rgw = await obtainRgw();
    bucket = await rgw.createBucket('dde-storage');
    s3 = rgw.client();
    console.log(`storage-s3: RGW at ${rgw.endpoint}${rgw.startupMs ? `, started in ${(rgw.startupMs / 1000).toFixed(1)} s` : ' (reused)'}`);
  }, 120_000);
  afterAll(async () => {
    for (const s of stores) s.destroy();
    s3?.destroy();
    await rgw?.stop();
  });

  it('writes, stats, reads ranges, renames, lists and deletes under its prefix', async () => {
    const storage = storageWith();
    const { bytes } = await storage.put('p/r/file.txt', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    expect(bytes).toBe(11);
    expect((await storage.stat('p/r/file.txt'))?.size).toBe(11);
    expect(await text(await storage.get('p/r/file.txt'))).toBe('hello world');
    expect(await text(await storage.get('p/r/file.txt', { start: 6, end: 8 }))).toBe('wor');
    expect(await text(await storage.get('p/r/file.txt', { start: 6 }))).toBe('world');
    await storage.rename('p/r/file.txt', 'p/r/final.txt');
    expect(await storage.stat('p/r/file.txt')).toBeNull();
    expect(await storage.list('p/')).toEqual(['p/r/final.txt']);
    expect(await storage.list('p/r/fin')).toEqual(['p/r/final.txt']);
    expect(await storage.list('')).toEqual(['p/r/final.txt']);
    // The object lives under the configured prefix in the bucket.
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'exports/p/r/final.txt' }));
    expect(head.ContentLength).toBe(11);
    await storage.delete('p/r/final.txt');
    await storage.delete('p/r/final.txt'); // absent: not an error
    expect(await storage.list('')).toEqual([]);
    await expect(storage.get('p/r/final.txt')).rejects.toBeInstanceOf(StorageNotFoundError);
    await expect(storage.rename('p/r/none.txt', 'p/r/x.txt')).rejects.toBeInstanceOf(StorageNotFoundError);
    expect(() => storage.objectKey('../etc/passwd')).toThrow(StorageKeyError);
    expect(storage.localPath()).toBeUndefined();
  });

  it('streams a large object into a multipart upload with flat memory and exact bytes', async () => {
    const storage = storageWith({ prefix: 'big' });
    const total = 512 * 1024 * 1024;
    const source = generated(total);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const { bytes } = await storage.put('one/large.bin', source.body);
    clearInterval(sampler);
    expect(bytes).toBe(total);
    // A multipart object: its ETag ends in the part count.
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big/one/large.bin' }));
    expect(head.ContentLength).toBe(total);
    expect(head.ETag).toMatch(/-\d+"$/);
    // At most queueSize × partSize (4 × 8 MiB) in flight, plus stream and socket buffers and what
    // the garbage collector has not returned yet (more of it on a loaded machine, and on Node 24,
    // whose collector returns memory later: 165 MiB seen there for a 256 MiB object). The object is
    // large enough that holding it would show: growth stays under half of the 512 MiB, never the whole file.
    expect((peak - before) / 1024 / 1024).toBeLessThan(256);
    const hash = createHash('sha256');
    for await (const c of await storage.get('one/large.bin')) hash.update(c as Buffer);
    expect(hash.digest('hex')).toBe(source.sha256());
    // A range across a part boundary (parts are 8 MiB).
    const range = await buffer(await storage.get('one/large.bin', { start: 8 * 1024 * 1024 - 10, end: 8 * 1024 * 1024 + 9 }));
    expect(range.length).toBe(20);
    await storage.delete('one/large.bin');
  }, 120_000);

  it('leaves neither an object nor open upload parts when the source fails midway; the old object stays', async () => {
    const storage = storageWith({ prefix: 'fail' });
    await storage.put('k.txt', Readable.from(['old']));
    async function* failing() {
      for (let i = 0; i < 20; i++) yield randomBytes(1 << 20); // past the first part: a multipart upload is open
      throw new Error('source broke');
    }
    await expect(storage.put('k.txt', failing())).rejects.toThrow('source broke');
    expect(await text(await storage.get('k.txt'))).toBe('old');
    await expect.poll(openUploads, { timeout: 10_000 }).toBe(0);
    expect(await storage.list('')).toEqual(['k.txt']);
  });

  it('stops and cleans up when the write is aborted', async () => {
    const storage = storageWith({ prefix: 'abort' });
    const controller = new AbortController();
    async function* slow() {
      for (let i = 0; i < 12; i++) yield randomBytes(1 << 20);
      controller.abort();
      await new Promise((r) => setTimeout(r, 50));
      yield Buffer.from('second');
    }
    await expect(storage.put('a/b.txt', slow(), { signal: controller.signal })).rejects.toThrow();
    expect(await storage.list('')).toEqual([]);
    await expect.poll(openUploads, { timeout: 10_000 }).toBe(0);
    // An already aborted signal writes nothing.
    await expect(storage.put('a/c.txt', Readable.from(['x']), { signal: AbortSignal.abort() })).rejects.toThrow();
    expect(await storage.list('')).toEqual([]);
  });

  it('lists past one page (continuation tokens) in key order', async () => {
    const storage = storageWith({ prefix: 'many' });
    const keys = Array.from({ length: 1010 }, (_, i) => `f/${String(i).padStart(5, '0')}.txt`);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => storage.put(k, Readable.from(['x']))));
    const listed = await storage.list('f/');
    expect(listed.length).toBe(1010);
    expect(listed).toEqual(keys);
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => storage.delete(k)));
  }, 120_000);

  it('answers presigned URLs S3 serves directly, with the filename; a changed or expired URL is refused', async () => {
    const storage = storageWith({ prefix: 'signed', presign: true });
    await storage.put('r/a file+x.csv.gz', Readable.from(['presigned bytes']));
    const url = await storage.downloadRedirect('r/a file+x.csv.gz', {
      expiresIn: 60,
      contentDisposition: 'attachment; filename="a file+x.csv.gz"',
      contentType: 'application/gzip',
    });
    expect(url).toMatch(/X-Amz-Signature=[0-9a-f]{64}$/);
    expect(url).not.toContain(rgw.secretAccessKey);
    const ok = await fetch(url!);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('presigned bytes');
    expect(ok.headers.get('content-disposition')).toBe('attachment; filename="a file+x.csv.gz"');
    expect(ok.headers.get('content-type')).toBe('application/gzip');
    const ranged = await fetch(url!, { headers: { range: 'bytes=0-8' } });
    expect(ranged.status).toBe(206);
    expect(await ranged.text()).toBe('presigned');
    const forged = await fetch(url!.replace('signed/r/', 'signed/s/'));
    expect(forged.status).toBe(403);
    const old = await storage.presignedGet('r/a file+x.csv.gz', { expiresIn: 60, now: new Date(Date.now() - 120_000) });
    expect((await fetch(old)).status).toBe(403);
    // Without DDE_S3_PRESIGN downloads stream through the web process.
    expect(await storageWith({ prefix: 'signed' }).downloadRedirect('r/a file+x.csv.gz', { expiresIn: 60 })).toBeNull();
  });

  it('retries transient network errors: connections cut mid-request still end in complete objects', async () => {
    // A proxy in front of RGW that cuts every third connection after a few kilobytes.
    const target = new URL(rgw.endpoint);
    let accepted = 0;
    let cut = 0;
    const proxy = net.createServer((client) => {
      const n = ++accepted;
      const upstream = net.connect(Number(target.port), target.hostname);
      let seen = 0;
      client.on('data', (d: Buffer) => {
        seen += d.length;
        if (n % 3 === 1 && seen > 4096) {
          cut++;
          client.destroy();
          upstream.destroy();
          return;
        }
        upstream.write(d);
      });
      upstream.on('data', (d) => client.write(d));
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const port = (proxy.address() as net.AddressInfo).port;
      const storage = storageWith({ prefix: 'flaky', endpoint: `http://127.0.0.1:${port}`, maxAttempts: 8 });
      const source = generated(40 * 1024 * 1024);
      const { bytes } = await storage.put('r/data.bin', source.body);
      expect(bytes).toBe(40 * 1024 * 1024);
      expect(cut).toBeGreaterThan(0);
      const direct = storageWith({ prefix: 'flaky' });
      const hash = createHash('sha256');
      for await (const c of await direct.get('r/data.bin')) hash.update(c as Buffer);
      expect(hash.digest('hex')).toBe(source.sha256());
      await storage.rename('r/data.bin', 'r/final.bin');
      expect((await direct.stat('r/final.bin'))?.size).toBe(40 * 1024 * 1024);
    } finally {
      proxy.close();
    }
  }, 120_000);

  describe('start-up check', () => {
    /** The configured storage of a set of variables, as web and jobs build it. */
    function fromEnv(vars: Record<string, string>): S3Storage {
      const e = parseEnv({
        DDE_DATA_DIR: '/tmp/dde-s3-env-test',
        NEXTAUTH_SECRET: 'x'.repeat(40),
        DDE_ENCRYPTION_KEY: 'a'.repeat(64),
        DATABASE_URL: 'postgres://u:p@127.0.0.1:5/db',
        DDE_STORAGE_URL: `s3://${bucket}/checks`,
        DDE_S3_ENDPOINT: rgw.endpoint,
        DDE_S3_FORCE_PATH_STYLE: 'true',
        DDE_S3_CHECKSUMS: 'when_required',
        AWS_ACCESS_KEY_ID: rgw.accessKeyId,
        AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey,
        ...vars,
      });
      const s = storageFromConfig(e.storage) as S3Storage;
      stores.push(s);
      return s;
    }

    it('passes with good settings and leaves no probe object behind', async () => {
      const s = fromEnv({});
      expect(s.description).toBe(`s3://${bucket}/checks/ at ${rgw.endpoint}`);
      await s.check();
      expect(await s.list('')).toEqual([]);
    });

    it('names AWS_SECRET_ACCESS_KEY for a wrong secret, without showing it', async () => {
      const err = await fromEnv({ AWS_SECRET_ACCESS_KEY: 'wrong-secret-value' })
        .check()
        .catch((e: Error) => e);
      expect((err as Error).message).toMatch(/AWS_SECRET_ACCESS_KEY/);
      expect((err as Error).message).not.toContain('wrong-secret-value');
    });

    it('names AWS_ACCESS_KEY_ID for an unknown key', async () => {
      await expect(fromEnv({ AWS_ACCESS_KEY_ID: 'NOSUCHKEY0000' }).check()).rejects.toThrow(/AWS_ACCESS_KEY_ID/);
    });

    it('names DDE_STORAGE_URL for a bucket that does not exist', async () => {
      await expect(fromEnv({ DDE_STORAGE_URL: 's3://no-such-bucket-dde/x' }).check()).rejects.toThrow(
        /bucket "no-such-bucket-dde".*does not exist.*DDE_STORAGE_URL/,
      );
    });

    it('stops the jobs worker at start-up, naming the variable, before it touches the database', () => {
      const res = spawnSync(process.execPath, ['--import', 'tsx', 'jobs/index.ts'], {
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          NODE_ENV: 'test',
          PATH: process.env.PATH,
          DATABASE_URL: 'postgres://nobody:x@127.0.0.2:9/none',
          NEXTAUTH_SECRET: 'x'.repeat(40),
          DDE_ENCRYPTION_KEY: 'a'.repeat(64),
          LOG_LEVEL: 'silent',
          DDE_STORAGE_URL: `s3://${bucket}/jobs`,
          DDE_S3_ENDPOINT: rgw.endpoint,
          DDE_S3_FORCE_PATH_STYLE: 'true',
          DDE_S3_CHECKSUMS: 'when_required',
          AWS_ACCESS_KEY_ID: rgw.accessKeyId,
          AWS_SECRET_ACCESS_KEY: 'not-the-secret',
        },
      });
      expect(res.status).toBe(1);
      expect(res.stderr).toMatch(/jobs worker failed to start: S3 storage: .*Check AWS_SECRET_ACCESS_KEY\./);
      expect(res.stderr + res.stdout).not.toContain('not-the-secret');
    });

    it('names DDE_S3_ENDPOINT for an endpoint nothing answers on', async () => {
      const closed = await new Promise<number>((resolve) => {
        const srv = net.createServer();
        srv.listen(0, '127.0.0.1', () => {
          const { port } = srv.address() as net.AddressInfo;
          srv.close(() => resolve(port));
        });
      });
      const s = fromEnv({ DDE_S3_ENDPOINT: `http://127.0.0.1:${closed}` });
      await expect(s.check()).rejects.toThrow(/cannot reach.*DDE_S3_ENDPOINT/);
    }, 60_000);
  });
});

describe('storage settings', () => {
  it('refuses malformed storage settings by name', () => {
    const base = {
      DDE_DATA_DIR: '/tmp/dde-s3-env-test',
      NEXTAUTH_SECRET: 'x'.repeat(40),
      DDE_ENCRYPTION_KEY: 'a'.repeat(64),
      DDE_EMBEDDED_PG_PASSWORD: 'p',
    };
    expect(() => parseEnv({ ...base, DDE_STORAGE_URL: 'ftp://x' })).toThrow(/DDE_STORAGE_URL: must be file:\/\/<folder> or s3:\/\//);
    expect(() => parseEnv({ ...base, DDE_STORAGE_URL: 's3://' })).toThrow(/DDE_STORAGE_URL: has no valid bucket name/);
    expect(() => parseEnv({ ...base, DDE_STORAGE_URL: 's3://b/x', AWS_ACCESS_KEY_ID: 'k' })).toThrow(
      /AWS_ACCESS_KEY_ID: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together/,
    );
    expect(() => parseEnv({ ...base, DDE_S3_ENDPOINT: 'not a url' })).toThrow(/DDE_S3_ENDPOINT/);
    expect(() => parseEnv({ ...base, DDE_S3_PRESIGN: 'yes' })).toThrow(/DDE_S3_PRESIGN/);
    expect(parseEnv(base).storage).toEqual({ kind: 'local', root: '/tmp/dde-s3-env-test/exports' });
    expect(parseEnv({ ...base, DDE_STORAGE_URL: 'file:///srv/dde%20files' }).storage).toEqual({ kind: 'local', root: '/srv/dde files' });
    expect(parseEnv({ ...base, DDE_STORAGE_URL: 's3://my-bucket/a/b/' }).storage).toMatchObject({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: 'a/b/',
      region: 'us-east-1',
      forcePathStyle: false,
      presign: false,
      credentials: undefined,
    });
  });
});
