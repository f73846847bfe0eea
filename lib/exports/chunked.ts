// One gzipped CSV/JSON Lines file from several COPY streams at once. The window's rows are cut, in
// file order, into slices of about `sliceRows` rows (the sort key of every sliceRows-th row, read
// from the table's (program, time, id) index, bounds them). Up to `streams` slices are exported at
// the same time, each by its own COPY into its own gzip member, and the members are written to
// storage in slice order: a concatenation of gzip members is one valid .gz (RFC 1952), and the rows
// come out exactly in the order one COPY would give. The first slice carries the header.
//
// Memory stays flat: the slice at the head of the file streams straight to storage (with
// backpressure); a slice ahead of it keeps its compressed member in memory until its turn, and no
// slice starts more than `streams` + 1 slices past the head. A window smaller than one slice is one
// COPY over the whole window, as before. Each slice's COPY reserves a connection only while it runs.
import { PassThrough, type Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Sql } from '@/db/client';
import type { Storage } from '@/lib/storage';
import { openCopy, type CopySession } from './copy';
import { GZIP_OPTIONS, hashingStream, pumpRows, type WrittenFile } from './encode';
import { ExportAbortedError } from './errors';
import { boundarySql, copySql, type KeyBound, type SelectOptions } from './sql';

/** Slices exported at the same time. Two keep both cores busy on a 2-core machine (see bench:export). */
export const DEFAULT_EXPORT_STREAMS = 2;
/** Rows per slice: a few MB of gzip held at most per slice ahead of the head. */
export const DEFAULT_SLICE_ROWS = 131_072;
/**
 * PostgreSQL sorts each slice's rows (it has no cheaper plan for the joins in file order); with
 * the default 4 MB that sort spills to disk. A slice's sort fits in this (about 40 MB for
 * activity rows), so it runs in memory — bounded per COPY whatever the window's size.
 */
export const SLICE_WORK_MEM = '64MB';

export type ChunkedFileInput = {
  sql: Sql;
  /** Where cancels run (a connection the caller holds); default the pool. */
  controlSql?: Sql;
  select: Omit<SelectOptions, 'range'>;
  header: string | null;
  storage: Storage;
  key: string;
  /** Gzip each slice (csv/jsonl); false stores the rows as they are. */
  compress: boolean;
  streams?: number;
  sliceRows?: number;
  /** work_mem of each slice's COPY (default SLICE_WORK_MEM; null: the server's setting). */
  workMem?: string | null;
  signal?: AbortSignal;
  /** Rows written so far. */
  onRows?: (rows: number) => void;
  /** Every COPY session while it runs, so an abort can cancel them all. */
  sessions: Set<CopySession>;
};

const noop = () => undefined;

/** Writes the file to `key` and returns its rows, bytes and sha256 (over the stored bytes). Stores nothing on failure. */
export async function writeChunkedFile(input: ChunkedFileInput): Promise<WrittenFile> {
  const streams = Math.max(1, Math.floor(input.streams ?? DEFAULT_EXPORT_STREAMS));
  const sliceRows = Math.max(1, Math.floor(input.sliceRows ?? DEFAULT_SLICE_ROWS));
  const ahead = streams + 1;
  const { sql, select, signal } = input;

  const hashing = hashingStream();
  const out = hashing.stream;
  // Its errors reach the storage's put (which reads it) and this function through `fail`; a put that
  // failed before reading it must not leave the destroy below as an uncaught 'error' event.
  out.on('error', noop);
  const stored = input.storage.put(input.key, out, { signal });

  let failure: unknown;
  let failed = false;
  let rejectFailed: (err: unknown) => void = noop;
  const failedP = new Promise<never>((_, reject) => (rejectFailed = reject));
  failedP.catch(noop);
  const waiters = new Set<() => void>();
  const wake = () => {
    const ws = [...waiters];
    waiters.clear();
    for (const w of ws) w();
  };
  const fail = (err: unknown) => {
    if (failed) return;
    failed = true;
    failure = err;
    rejectFailed(err);
    wake();
    for (const s of input.sessions) void s.cancel();
  };
  stored.catch(fail);

  // ---- slice bounds: lower(j) is slice j's first key (undefined: the window's start; null: no slice j)
  const lowers: Promise<KeyBound | null | undefined>[] = [Promise.resolve(undefined)];
  const lower = (j: number): Promise<KeyBound | null | undefined> => {
    while (lowers.length <= j) {
      const p = lowers[lowers.length - 1].then(async (from) => {
        if (from === null) return null;
        const [row] = await sql.unsafe<{ time: string; id: string }[]>(boundarySql({ ...select, range: { from } }, sliceRows));
        return row ? { time: row.time, id: row.id } : null;
      });
      p.catch(noop);
      lowers.push(p);
    }
    return lowers[j];
  };

  // ---- members in slice order
  let head = 0;
  const pending = new Map<number, Buffer[]>();
  const ended = new Set<number>();
  const emit = (j: number, buf: Buffer): boolean => {
    if (failed) return true;
    if (j === head) return out.write(buf);
    const q = pending.get(j);
    if (q) q.push(buf);
    else pending.set(j, [buf]);
    return true;
  };
  const endSlice = (j: number) => {
    ended.add(j);
    while (ended.has(head)) {
      ended.delete(head);
      head++;
      const q = pending.get(head);
      if (q) {
        pending.delete(head);
        if (!failed) for (const b of q) out.write(b);
      }
    }
    wake();
  };

  let rows = 0;
  let uncompressedBytes = 0;
  const progress = (n: number) => {
    rows += n;
    input.onRows?.(rows);
  };

  const exportSlice = async (j: number, from: KeyBound | undefined, to: KeyBound | undefined) => {
    const session = await openCopy(sql, copySql({ ...select, range: from || to ? { from, to } : undefined }), input.controlSql, {
      workMem: input.workMem === null ? undefined : (input.workMem ?? SLICE_WORK_MEM),
    });
    input.sessions.add(session);
    const encoder: Transform = input.compress ? createGzip(GZIP_OPTIONS) : new PassThrough({ highWaterMark: 1 << 20 });
    try {
      // An abort or failure that came while the COPY was starting found no session to cancel.
      if (failed) throw failure;
      if (signal?.aborted) throw new ExportAbortedError();
      const flushed = new Promise<void>((resolve, reject) => {
        encoder.on('data', (buf: Buffer) => {
          if (!emit(j, buf)) {
            encoder.pause();
            out.once('drain', () => encoder.resume());
          }
        });
        encoder.once('end', resolve);
        encoder.once('error', reject);
      });
      const pump = pumpRows({ rows: session.rows, encoder, header: j === 0 ? input.header : null, onProgress: progress });
      const counted = await Promise.race([pump.done, failedP]);
      await Promise.race([flushed, failedP]);
      uncompressedBytes += counted.uncompressedBytes;
      endSlice(j);
    } catch (err) {
      encoder.destroy();
      await session.cancel();
      throw err;
    } finally {
      session.release();
      input.sessions.delete(session);
    }
  };

  let next = 0;
  const worker = async () => {
    for (;;) {
      if (failed) return;
      const j = next++;
      while (!failed && j >= head + ahead) await new Promise<void>((r) => waiters.add(r));
      if (failed) return;
      const from = await Promise.race([lower(j), failedP]);
      if (from === null) return;
      const to = await Promise.race([lower(j + 1), failedP]);
      await exportSlice(j, from, to ?? undefined);
    }
  };

  await Promise.all(Array.from({ length: streams }, () => worker().catch(fail)));
  if (!failed) out.end();
  else out.destroy(failure instanceof Error ? failure : new Error(String(failure)));
  try {
    await stored;
  } catch (err) {
    throw failed ? failure : err;
  }
  if (failed) throw failure;
  return { rows, uncompressedBytes, ...hashing.result() };
}
