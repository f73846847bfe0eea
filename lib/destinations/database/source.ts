// The rows a database load reads: a run's exported CSV file in storage, exactly the bytes the
// export API serves and SFTP delivers, so a table holds what the files say (pseudonyms included).
// The stored (gzipped) bytes are hashed as they stream and compared with the sha256 recorded when
// the file was exported; the load commits only when they match. The header line is read first: it
// names the file's columns (an older file may lack a column added since), mapped to the typed
// schema's snake_case names. Memory is a few chunks, whatever the file's size.
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { DataFileType } from '@/lib/exports/columns';
import type { TypedColumn } from '@/lib/exports/schema';
import { LoadError } from './errors';
import { tableSpec } from './tables';

/** One data file of a run, as the run's export recorded it. */
export type LoadFile = {
  fileType: DataFileType;
  name: string;
  storageKey: string;
  rows: number;
  bytes: number;
  sha256: string;
  format: string;
  compression: string;
};

export type OpenSource = (storageKey: string) => Promise<Readable>;

export type CsvSource = {
  /** The file's columns in file order, typed. */
  columns: TypedColumn[];
  /** The CSV bytes after the header line. */
  body: Readable;
  /** Resolves once every stored byte was read; rejects when the checksum or size differs. */
  verified: Promise<void>;
  /** Stops reading (a failed load). */
  close: () => void;
};

/**
 * Opens a stored csv.gz, reads its header and returns the rest as a stream. The header must name
 * columns of the file type's schema, in any subset (older files): an unknown one is a data error.
 */
export async function openCsvSource(file: LoadFile, open: OpenSource): Promise<CsvSource> {
  if (file.format !== 'csv' || file.compression !== 'gzip')
    throw new LoadError('data', `${file.name} is ${file.format}/${file.compression}; database loads read gzipped CSV files`);
  const stored = await open(file.storageKey);
  const hash = createHash('sha256');
  let bytes = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  let settle!: { resolve: () => void; reject: (e: unknown) => void };
  const verified = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  verified.catch(() => undefined); // observed by the caller; never an unhandled rejection
  pipeline(stored, hashing, gunzip).then(
    () => {
      const sha = hash.digest('hex');
      if (sha !== file.sha256 || bytes !== file.bytes)
        settle.reject(
          new LoadError(
            'data',
            `${file.name} in storage does not match its record (sha256 ${sha.slice(0, 12)}…, ${bytes} bytes; recorded ${file.sha256.slice(0, 12)}…, ${file.bytes} bytes); nothing of it was loaded`,
          ),
        );
      else settle.resolve();
    },
    (err) =>
      settle.reject(new LoadError('data', `${file.name} could not be read from storage: ${(err as Error).message}`, { retryable: true })),
  );

  // The header line: column names never need quoting (docs/export-files.md).
  const iterator = gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  let nl = -1;
  while (nl < 0) {
    const next = await iterator.next();
    if (next.done) break;
    head = Buffer.concat([head, next.value]);
    nl = head.indexOf(0x0a);
    if (head.length > 1 << 20) break;
  }
  if (nl < 0) {
    stored.destroy();
    throw new LoadError('data', `${file.name} has no header line`);
  }
  const headers = head.subarray(0, nl).toString('utf8').replace(/\r$/, '').split(',');
  const rest = head.subarray(nl + 1);
  let columns: TypedColumn[];
  try {
    columns = columnsOfHeaders(file.fileType, headers, file.name);
  } catch (err) {
    stored.destroy();
    throw err;
  }
  async function* remaining() {
    if (rest.length) yield rest;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { columns, body: Readable.from(remaining(), { objectMode: false }), verified, close: () => stored.destroy() };
}

export function columnsOfHeaders(fileType: DataFileType, headers: string[], fileName: string): TypedColumn[] {
  const spec = tableSpec(fileType);
  const byHeader = new Map(spec.columns.map((c) => [c.header, c]));
  const out: TypedColumn[] = [];
  for (const h of headers) {
    const col = byHeader.get(h);
    if (!col) throw new LoadError('data', `${fileName} has a column “${h}” that the ${fileType} schema does not know`);
    out.push(col);
  }
  if (!out.some((c) => c.name === spec.primaryKey)) throw new LoadError('data', `${fileName} has no ${spec.primaryKey} column`);
  return out;
}
