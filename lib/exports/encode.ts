// Encoders: turn a COPY row stream into one stored file in a single pass — batch rows, gzip
// (zlib in the libuv thread pool, so compression overlaps with reading rows), count and hash the
// compressed bytes, write them to storage. Memory is bounded by a few batch buffers: reading
// pauses whenever gzip is behind.
import { createHash } from 'node:crypto';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { constants as zc, createGzip } from 'node:zlib';
import type { Storage } from '@/lib/storage';

/** Rows are copied into batches of this size before gzip sees them: one thread-pool task per batch, not per row. */
const BATCH_BYTES = 512 * 1024;
/**
 * Level 6 (the `gzip -6` reference); memLevel 9 is faster and compresses slightly better
 * than zlib's default 8 with this data. The output must never be bigger than `gzip -6`'s.
 */
export const GZIP_OPTIONS = { level: 6, memLevel: 9, strategy: zc.Z_DEFAULT_STRATEGY, chunkSize: 256 * 1024 } as const;
const PROGRESS_EVERY = 65_536;

export type WrittenFile = { rows: number; bytes: number; sha256: string; uncompressedBytes: number };

/** Counts and hashes what flows through: the stored bytes, so sha256 is the file's checksum. */
export function hashingStream() {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  return { stream, result: () => ({ bytes, sha256: hash.digest('hex') }) };
}

/**
 * Writes `header` then every row of `rows` to `key`, gzipped (or as is when `compress` is false),
 * hashing the stored bytes. Resolves when the object is stored; rejects (and stores nothing) when
 * the rows stream errors — which is how a cancelled COPY shows up.
 */
export async function writeRowsToStorage(opts: {
  rows: Readable;
  header: string | null;
  storage: Storage;
  key: string;
  compress: boolean;
  signal?: AbortSignal;
  onRows?: (rows: number) => void;
}): Promise<WrittenFile> {
  const { rows: source, storage, key } = opts;
  const encoder = opts.compress ? createGzip(GZIP_OPTIONS) : new PassThrough({ highWaterMark: 1 << 20 });
  const hashing = hashingStream();
  const output = pipeline(encoder, hashing.stream, () => undefined);
  const stored = storage.put(key, output, { signal: opts.signal });
  // If storing fails (disk full, abort), stop consuming rows at once. The rows stream itself is
  // left alone: destroying a postgres.js COPY stream would stall its connection; the caller
  // cancels the COPY instead.
  let failPump: (err: unknown) => void = () => undefined;
  let storeError: unknown;
  stored.catch((err) => {
    storeError = err;
    failPump(err);
  });

  let rows = 0;
  let uncompressedBytes = 0;
  let stopped = false;
  const pumped = new Promise<void>((resolve, reject) => {
    failPump = (err) => {
      stopped = true;
      reject(err);
    };
    let batch = Buffer.allocUnsafe(BATCH_BYTES);
    let used = 0;
    const write = (chunk: Buffer) => {
      uncompressedBytes += chunk.length;
      if (!encoder.write(chunk) && !source.isPaused()) {
        source.pause();
        encoder.once('drain', () => source.resume());
      }
    };
    const flush = () => {
      if (used === 0) return;
      const full = batch.subarray(0, used);
      // zlib keeps a reference to the chunk until it is compressed: a new buffer each time.
      batch = Buffer.allocUnsafe(BATCH_BYTES);
      used = 0;
      write(full);
    };
    if (opts.header) write(Buffer.from(opts.header, 'utf8'));
    source.on('data', (row: Buffer) => {
      if (stopped) return;
      rows++;
      if (used + row.length > BATCH_BYTES) {
        flush();
        if (row.length > BATCH_BYTES) return write(Buffer.from(row));
      }
      row.copy(batch, used);
      used += row.length;
      if (rows % PROGRESS_EVERY === 0) opts.onRows?.(rows);
    });
    source.once('end', () => {
      if (stopped) return;
      flush();
      encoder.end();
      resolve();
    });
    source.once('error', (err) => {
      encoder.destroy(err);
      reject(err);
    });
  });

  try {
    await pumped;
  } catch (err) {
    encoder.destroy();
    await stored.catch(() => undefined);
    throw storeError ?? err;
  }
  await stored;
  opts.onRows?.(rows);
  return { rows, uncompressedBytes, ...hashing.result() };
}
