// Encoders: turn a COPY row stream into gzip in a single pass — batch rows and gzip them (zlib in
// the libuv thread pool, so compression overlaps with reading rows); hash and count the stored
// bytes. Memory is bounded by a few batch buffers: reading pauses whenever gzip is behind.
// chunked.ts puts several of these side by side into one file.
import { createHash } from 'node:crypto';
import { Transform, type Readable, type Writable } from 'node:stream';
import { constants as zc } from 'node:zlib';

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
 * Feeds `header` then every row of `source` into `encoder` (gzip, or a pass-through), in batches,
 * pausing the rows whenever the encoder is behind, and ends the encoder after the last row.
 * Resolves with the counts when the rows ended; rejects when the rows stream errors — which is how
 * a cancelled COPY shows up — or when stop() is called. The rows stream itself is never destroyed:
 * destroying a postgres.js COPY stream would stall its connection; the caller cancels the COPY.
 */
export function pumpRows(opts: {
  rows: Readable;
  encoder: Writable;
  header: string | null;
  /** Rows since the last call; every PROGRESS_EVERY rows and once at the end. */
  onProgress?: (rows: number) => void;
}): { done: Promise<{ rows: number; uncompressedBytes: number }>; stop: (err: unknown) => void } {
  const { rows: source, encoder } = opts;
  let rows = 0;
  let reported = 0;
  let uncompressedBytes = 0;
  let stopped = false;
  let stop: (err: unknown) => void = () => undefined;
  const done = new Promise<{ rows: number; uncompressedBytes: number }>((resolve, reject) => {
    stop = (err) => {
      if (stopped) return;
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
      if (rows - reported === PROGRESS_EVERY) {
        opts.onProgress?.(PROGRESS_EVERY);
        reported = rows;
      }
    });
    source.once('end', () => {
      if (stopped) return;
      stopped = true;
      flush();
      encoder.end();
      if (rows > reported) opts.onProgress?.(rows - reported);
      resolve({ rows, uncompressedBytes });
    });
    source.once('error', (err) => {
      if (stopped) return;
      stopped = true;
      reject(err);
    });
  });
  return { done, stop };
}
