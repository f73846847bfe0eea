// A `COPY … TO STDOUT` on a connection of its own, as a stream of rows (PostgreSQL sends one
// CopyData message per row and postgres.js pushes each as one Buffer), with a cancel that works
// mid-stream. postgres.js' query.cancel() is a no-op once the COPY stream has been handed out,
// so cancelling goes through pg_cancel_backend, and pg_terminate_backend if the connection does
// not come back. Never destroy `rows` yourself: a destroyed COPY stream stalls its connection.
import type { Readable } from 'node:stream';
import type { Sql } from '@/db/client';

export type CopySession = {
  /** Rows as Buffers, each ending in '\n'. Errors when the COPY fails or is cancelled. */
  rows: Readable;
  /** Stops the COPY if it is still running and waits (bounded) until the connection is usable again. */
  cancel(): Promise<void>;
  /** Returns the connection to the pool. Call once, after the rows ended or cancel() returned. */
  release(): void;
};

const SETTLE_MS = 1500;

function within<T>(p: Promise<T>, ms: number): Promise<boolean> {
  return Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref()),
  ]);
}

/**
 * Starts `copyText` on a connection reserved from `sql`. Cancelling runs on `control` (default:
 * the pool) — pass a connection you already hold so a cancel never waits for a free one.
 * `workMem` sets the connection's work_mem for this COPY (reset before the connection goes back).
 */
export async function openCopy(sql: Sql, copyText: string, control: Sql = sql, opts: { workMem?: string } = {}): Promise<CopySession> {
  const conn = await sql.reserve();
  let pid: number;
  let rows: Readable;
  const workMem = opts.workMem;
  if (workMem !== undefined && !/^\d{1,7}(kB|MB)$/.test(workMem)) throw new Error(`unexpected work_mem ${workMem}`);
  try {
    [{ pid }] = workMem
      ? await conn<{ pid: number }[]>`select pg_backend_pid() as pid, set_config('work_mem', ${workMem}, false)`
      : await conn<{ pid: number }[]>`select pg_backend_pid() as pid`;
    rows = (await conn.unsafe(copyText).readable()) as Readable;
  } catch (err) {
    if (workMem)
      await conn
        .unsafe('reset work_mem')
        .catch(() => undefined)
        .finally(() => conn.release());
    else conn.release();
    throw err;
  }
  let ended = false;
  rows.once('end', () => (ended = true));
  // postgres.js destroys the stream (→ 'close') only once the server's ReadyForQuery has arrived
  // after an error, so 'close' means the connection is idle again. (A query sent to test it
  // would be refused with COPY_IN_PROGRESS while the COPY is still streaming.)
  const closed = new Promise<void>((resolve) => (rows.destroyed ? resolve() : rows.once('close', () => resolve())));
  let released = false;
  let cancelling: Promise<void> | undefined;

  const stop = async () => {
    if (ended) return;
    // Keep reading so the connection sees the server's error. Other code may still pause or
    // unpipe the stream while we wait, so keep resuming it.
    rows.removeAllListeners('data');
    rows.unpipe();
    rows.on('data', () => undefined);
    rows.on('error', () => undefined);
    rows.resume();
    const keepFlowing = setInterval(() => rows.resume(), 20);
    try {
      await control`select pg_cancel_backend(${pid})`.catch(() => undefined);
      if (await within(closed, SETTLE_MS)) return;
      // The server did not react: close the connection on its side; the pool reconnects later.
      await control`select pg_terminate_backend(${pid})`.catch(() => undefined);
      await within(closed, SETTLE_MS);
    } finally {
      clearInterval(keepFlowing);
    }
  };

  return {
    rows,
    cancel() {
      cancelling ??= stop();
      return cancelling;
    },
    release() {
      if (released) return;
      released = true;
      // postgres.js pauses the connection's socket when the stream's buffer is full and resumes it
      // only from the stream's read(). When the last rows arrive while the buffer is full, the
      // stream ends with the socket still paused, and the next query on this connection would
      // never see its answer. read() on the ended stream's implementation resumes the socket.
      (rows as Readable & { _read(size: number): void })._read(0);
      if (workMem)
        void conn
          .unsafe('reset work_mem')
          .catch(() => undefined)
          .finally(() => conn.release());
      else conn.release();
    },
  };
}
