// What the object-storage destinations (S3, Azure Blob) share: the content type an object is stored
// with, from the file's contract name, and the source cut into fixed-size blocks for multipart or
// block uploads.

/** The Content-Type of a delivered object, from its name as the file contract gives it. */
export function objectContentType(name: string): string {
  if (name.endsWith('.json')) return 'application/json';
  if (name.endsWith('.sha256') || name.endsWith('.sig')) return 'text/plain; charset=utf-8';
  if (name.endsWith('.gz')) return 'application/gzip';
  if (name.endsWith('.xlsx')) return 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  if (name.endsWith('.parquet')) return 'application/vnd.apache.parquet';
  return 'application/octet-stream';
}

/** Yields the source in blocks of exactly `size` bytes (the last one shorter). */
export async function* blocks(source: AsyncIterable<Buffer | string>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    let b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    while (b.length > 0) {
      const take = Math.min(size - length, b.length);
      pending.push(b.subarray(0, take));
      length += take;
      b = b.subarray(take);
      if (length === size) {
        yield Buffer.concat(pending, length);
        pending = [];
        length = 0;
      }
    }
  }
  if (length > 0) yield Buffer.concat(pending, length);
}
