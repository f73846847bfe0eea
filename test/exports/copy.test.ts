// openCopy returns its connection to the pool ready for the next query, however the COPY stream was
// read. postgres.js pauses the socket when the stream's buffer is full and resumes it only when the
// stream asks for more; a COPY whose last rows arrive while the buffer is full ends with the socket
// paused, and the next query on that connection would never see its answer.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Database } from '@/db/client';
import { openCopy } from '@/lib/exports/copy';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

let t: TestDatabase;
let one: Database;

beforeAll(async () => {
  t = await createTestDatabase();
  one = createDb(t.url, { max: 1 }); // every query goes through the COPY's connection
});
afterAll(async () => {
  await one?.sql.end({ timeout: 5 });
  await t?.drop();
});

/** A consumer slower than the server: the stream's buffer fills while rows keep arriving. */
function slowSink() {
  let bytes = 0;
  return {
    bytes: () => bytes,
    stream: new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        setTimeout(done, 1);
      },
    }),
  };
}

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))]);

describe('openCopy', () => {
  it('after a COPY read by a slow consumer, the next query on the same connection is answered', async () => {
    for (let round = 0; round < 5; round++) {
      const session = await openCopy(one.sql, `copy (select g, repeat('x', 900) from generate_series(1, 60) g) to stdout`);
      const sink = slowSink();
      await pipeline(session.rows, sink.stream);
      session.release();
      expect(sink.bytes()).toBeGreaterThan(60 * 900);
      const [row] = await within(one.sql<{ n: number }[]>`select ${round}::int as n`, 5_000);
      expect(row.n).toBe(round);
    }
  });
});
