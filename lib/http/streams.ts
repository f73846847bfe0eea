// Node streams as response bodies. Pull-based, so a slow client slows the reader (nothing is
// buffered beyond one chunk), and a client that goes away destroys the source.
import type { Readable } from 'node:stream';

/** A web ReadableStream over any async-iterable Node stream (fs streams, archiver). */
export function toWebStream(
  source: Readable | (AsyncIterable<Buffer | string> & { destroy?: (err?: Error) => void }),
): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await iterator.next();
        if (done) controller.close();
        else
          controller.enqueue(
            typeof value === 'string' ? Buffer.from(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
          );
      } catch (err) {
        controller.error(err);
      }
    },
    async cancel() {
      source.destroy?.();
      await iterator.return?.().catch(() => undefined);
    },
  });
}
