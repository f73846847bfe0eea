// Parquet files from a COPY of typed rows (RowShape `typed`, PostgreSQL's binary format). Rows are
// decoded straight from the COPY bytes into Arrow column buffers — text stays UTF-8 bytes, never a
// JavaScript string — a record batch at a time, and handed to the Parquet writer (parquet-wasm, the
// Rust parquet crate compiled to WebAssembly), which closes a row group whenever it holds
// ROW_GROUP_BYTES or ROW_GROUP_ROWS and streams it out. Memory is bounded by one batch, one open row
// group and the encoded output on its way to storage, whatever the window's size (see
// bench/export.ts --format=parquet). Columns, types and nullability come from lib/exports/schema.ts;
// the key-value metadata carries the schema version.
import type { Readable } from 'node:stream';
import * as arrow from 'apache-arrow';
import type * as ParquetWasm from 'parquet-wasm/node';
import type { Storage } from '@/lib/storage';
import { SCHEMA_VERSION, type DataFileType } from './columns';
import { hashingStream } from './encode';
import { ExportAbortedError } from './errors';
import { fileSchema, type TypedColumn, type ValueKind } from './schema';

/** The codec inside the files (bench/RESULTS.md: smaller than snappy at about the same speed here). */
export const PARQUET_COMPRESSION = 'zstd' as const;
/** A row group closes at this many bytes of encoded data… */
export const ROW_GROUP_BYTES = 64 * 1024 * 1024;
/** …or this many rows, whichever comes first. */
export const ROW_GROUP_ROWS = 1_048_576;
/** Rows decoded into one Arrow record batch before the writer sees them. */
const BATCH_ROWS = 16_384;
/** A batch is handed over early past this many decoded bytes (long text). */
const BATCH_BYTES = 8 * 1024 * 1024;
/** COPY messages (one a row) read ahead of the decoder before the COPY is paused. */
const QUEUED_CHUNKS = 4096;
/** Rows per file before the next part starts (`…-part-002.parquet`); tests lower it. */
export const DEFAULT_PARQUET_ROWS_PER_PART = 100_000_000;
/** Key-value metadata keys every file carries. */
export const PARQUET_METADATA_KEYS = { schemaVersion: 'dde.schema_version', fileType: 'dde.file_type' } as const;

const CREATED_BY = 'DDE (parquet-wasm)';
/** PostgreSQL's epoch (2000-01-01) in Unix microseconds and days. */
const PG_EPOCH_MICROS = 946_684_800_000_000n;
const PG_EPOCH_DAYS = 10_957;
const PG_EPOCH_HI = Number(PG_EPOCH_MICROS >> 32n);
const PG_EPOCH_LO = Number(PG_EPOCH_MICROS & 0xffffffffn);
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

// ------------------------------------------------------------------ column buffers

class Bits {
  bytes: Uint8Array;
  constructor(capacity: number) {
    this.bytes = new Uint8Array((capacity + 7) >> 3);
  }
  set(i: number) {
    this.bytes[i >> 3] |= 1 << (i & 7);
  }
  grow(capacity: number) {
    const next = new Uint8Array((capacity + 7) >> 3);
    next.set(this.bytes);
    this.bytes = next;
  }
}

/** Values up to this many bytes are copied byte by byte rather than through a subarray view. */
const SHORT_COPY = 64;

/** A big-endian int32 at `pos` (Buffer's readInt32BE without its bounds checks: callers check lengths). */
function int32At(src: Uint8Array, pos: number): number {
  return (src[pos] << 24) | (src[pos + 1] << 16) | (src[pos + 2] << 8) | src[pos + 3];
}

/** Growable UTF-8 bytes and int32 offsets: an Arrow Utf8 column without validity. */
class Utf8Buffer {
  data = new Uint8Array(64 * 1024);
  used = 0;
  offsets: Int32Array;
  constructor(capacity: number) {
    this.offsets = new Int32Array(capacity + 1);
  }
  push(index: number, src: Buffer, pos: number, len: number) {
    if (this.used + len > this.data.length) {
      let size = this.data.length * 2;
      while (this.used + len > size) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.data.subarray(0, this.used));
      this.data = next;
    }
    if (len <= SHORT_COPY) {
      // Most values are short (ids, names): a byte loop beats making a view to copy from.
      const data = this.data;
      let at = this.used;
      for (let i = pos, end = pos + len; i < end; i++) data[at++] = src[i];
    } else this.data.set(src.subarray(pos, pos + len), this.used);
    this.used += len;
    this.offsets[index + 1] = this.used;
  }
  empty(index: number) {
    this.offsets[index + 1] = this.used;
  }
  ensure(capacity: number) {
    if (capacity + 1 > this.offsets.length) {
      const next = new Int32Array(Math.max(capacity + 1, this.offsets.length * 2));
      next.set(this.offsets);
      this.offsets = next;
    }
  }
}

/** Growable int64 values in little-endian 32-bit halves (no BigInt per value). */
class Int64Buffer {
  words: Int32Array;
  constructor(capacity: number) {
    this.words = new Int32Array(capacity * 2);
  }
  ensure(capacity: number) {
    if (capacity * 2 > this.words.length) {
      const next = new Int32Array(Math.max(capacity * 2, this.words.length * 2));
      next.set(this.words);
      this.words = next;
    }
  }
  /** A big-endian int64 from `src` at `pos`, plus `addHi:addLo`. */
  push(index: number, src: Buffer, pos: number, addHi = 0, addLo = 0) {
    let hi = int32At(src, pos);
    let lo = (int32At(src, pos + 4) >>> 0) + addLo;
    if (lo > 0xffffffff) {
      lo -= 0x100000000;
      hi += 1;
    }
    hi += addHi;
    this.words[index * 2] = lo | 0;
    this.words[index * 2 + 1] = hi;
  }
  values(length: number): BigInt64Array {
    return new BigInt64Array(this.words.buffer, 0, length);
  }
}

type ColumnBuffer = {
  /** Appends the field at `pos` (`len` bytes; -1 = null). */
  push(row: number, src: Buffer, pos: number, len: number): void;
  /** Bytes held, to bound a batch. */
  bytes(): number;
  finish(length: number): arrow.Data;
};

function validityOf(bits: Bits, nulls: number): Uint8Array | undefined {
  return nulls > 0 ? bits.bytes : undefined;
}

function nullInNotNull(col: TypedColumn): Error {
  return new Error(`column ${col.name} is not nullable but a row has no value`);
}

function primitiveBuffer(col: TypedColumn, capacity: number): ColumnBuffer {
  const valid = new Bits(capacity);
  let nulls = 0;
  let cap = capacity;
  const fit = (row: number) => {
    if (row < cap) return;
    cap = Math.max(cap * 2, row + 1);
    valid.grow(cap);
    grow(cap);
  };
  const onNull = (row: number) => {
    if (!col.nullable) throw nullInNotNull(col);
    fit(row);
    nulls++;
  };
  let grow: (capacity: number) => void = () => undefined;
  switch (col.kind) {
    case 'string': {
      const buf = new Utf8Buffer(capacity);
      grow = (c) => buf.ensure(c);
      return {
        push(row, src, pos, len) {
          if (len < 0) {
            onNull(row);
            buf.empty(row);
            return;
          }
          fit(row);
          valid.set(row);
          buf.push(row, src, pos, len);
        },
        bytes: () => buf.used + cap * 4,
        finish(length) {
          const data = arrow.makeData({
            type: new arrow.Utf8(),
            length,
            nullCount: nulls,
            nullBitmap: validityOf(valid, nulls),
            valueOffsets: buf.offsets.subarray(0, length + 1),
            data: buf.data.subarray(0, buf.used),
          });
          return data;
        },
      };
    }
    case 'int64':
    case 'timestamp': {
      const buf = new Int64Buffer(capacity);
      grow = (c) => buf.ensure(c);
      const ts = col.kind === 'timestamp';
      return {
        push(row, src, pos, len) {
          if (len < 0) return onNull(row);
          fit(row);
          valid.set(row);
          if (ts) buf.push(row, src, pos, PG_EPOCH_HI, PG_EPOCH_LO);
          else buf.push(row, src, pos);
        },
        bytes: () => cap * 8,
        finish(length) {
          const common = { length, nullCount: nulls, nullBitmap: validityOf(valid, nulls), data: buf.values(length) };
          return ts
            ? arrow.makeData({ type: new arrow.TimestampMicrosecond('UTC'), ...common })
            : arrow.makeData({ type: new arrow.Int64(), ...common });
        },
      };
    }
    case 'date': {
      let days = new Int32Array(capacity);
      grow = (c) => {
        const next = new Int32Array(c);
        next.set(days);
        days = next;
      };
      return {
        push(row, src, pos, len) {
          if (len < 0) return onNull(row);
          fit(row);
          valid.set(row);
          days[row] = src.readInt32BE(pos) + PG_EPOCH_DAYS;
        },
        bytes: () => cap * 4,
        finish(length) {
          return arrow.makeData({
            type: new arrow.DateDay(),
            length,
            nullCount: nulls,
            nullBitmap: validityOf(valid, nulls),
            data: days.subarray(0, length),
          });
        },
      };
    }
    case 'boolean': {
      const values = new Bits(capacity);
      grow = (c) => values.grow(c);
      return {
        push(row, src, pos, len) {
          if (len < 0) return onNull(row);
          fit(row);
          valid.set(row);
          if (src[pos] !== 0) values.set(row);
        },
        bytes: () => cap / 4,
        finish(length) {
          return arrow.makeData({
            type: new arrow.Bool(),
            length,
            nullCount: nulls,
            nullBitmap: validityOf(valid, nulls),
            data: values.bytes,
          });
        },
      };
    }
    case 'string_list':
    case 'int64_list':
      return listBuffer(col, capacity);
  }
  throw new Error(`unexpected column kind ${String(col.kind)}`);
}

/**
 * A one-dimensional PostgreSQL array (binary: ndim, has-null flag, element type, then for one
 * dimension its length and lower bound, then each element's length and bytes) as an Arrow list.
 */
function listBuffer(col: TypedColumn, capacity: number): ColumnBuffer {
  const strings = col.kind === 'string_list';
  let offsets = new Int32Array(capacity + 1);
  let cap = capacity;
  let items = 0;
  let itemCap = capacity;
  const itemValid = new Bits(itemCap);
  let itemNulls = 0;
  const text = new Utf8Buffer(itemCap);
  const ints = new Int64Buffer(itemCap);
  const fitItem = (i: number) => {
    if (i < itemCap) return;
    itemCap = Math.max(itemCap * 2, i + 1);
    itemValid.grow(itemCap);
    if (strings) text.ensure(itemCap);
    else ints.ensure(itemCap);
  };
  return {
    push(row, src, pos, len) {
      if (row + 1 >= cap) {
        cap = Math.max(cap * 2, row + 2);
        const next = new Int32Array(cap + 1);
        next.set(offsets);
        offsets = next;
      }
      if (len < 0) throw nullInNotNull(col);
      const ndim = src.readInt32BE(pos);
      if (ndim > 1) throw new Error(`column ${col.name}: a ${ndim}-dimensional array`);
      if (ndim === 1) {
        const n = src.readInt32BE(pos + 12);
        let p = pos + 20;
        for (let k = 0; k < n; k++) {
          const l = src.readInt32BE(p);
          p += 4;
          fitItem(items);
          if (l < 0) {
            itemNulls++;
            if (strings) text.empty(items);
          } else {
            itemValid.set(items);
            if (strings) text.push(items, src, p, l);
            else ints.push(items, src, p);
            p += l;
          }
          items++;
        }
      }
      offsets[row + 1] = items;
    },
    bytes: () => cap * 4 + (strings ? text.used : items * 8),
    finish(length) {
      const child = strings
        ? arrow.makeData({
            type: new arrow.Utf8(),
            length: items,
            nullCount: itemNulls,
            nullBitmap: validityOf(itemValid, itemNulls),
            valueOffsets: text.offsets.subarray(0, items + 1),
            data: text.data.subarray(0, text.used),
          })
        : arrow.makeData({
            type: new arrow.Int64(),
            length: items,
            nullCount: itemNulls,
            nullBitmap: validityOf(itemValid, itemNulls),
            data: ints.values(items),
          });
      const type = new arrow.List(new arrow.Field('element', child.type, true));
      return arrow.makeData({ type, length, nullCount: 0, valueOffsets: offsets.subarray(0, length + 1), child });
    },
  };
}

const ARROW_TYPES: Record<ValueKind, () => arrow.DataType> = {
  string: () => new arrow.Utf8(),
  int64: () => new arrow.Int64(),
  boolean: () => new arrow.Bool(),
  timestamp: () => new arrow.TimestampMicrosecond('UTC'),
  date: () => new arrow.DateDay(),
  string_list: () => new arrow.List(new arrow.Field('element', new arrow.Utf8(), true)),
  int64_list: () => new arrow.List(new arrow.Field('element', new arrow.Int64(), true)),
};

/** The Arrow schema of a file type: the typed schema's names, types and nullability, and the metadata. */
export function arrowSchema(fileType: DataFileType): arrow.Schema {
  const fields = fileSchema(fileType).columns.map((c) => new arrow.Field(c.name, ARROW_TYPES[c.kind](), c.nullable));
  return new arrow.Schema(fields, parquetMetadata(fileType));
}

export function parquetMetadata(fileType: DataFileType): Map<string, string> {
  return new Map([
    [PARQUET_METADATA_KEYS.schemaVersion, String(SCHEMA_VERSION)],
    [PARQUET_METADATA_KEYS.fileType, fileType],
  ]);
}

// ------------------------------------------------------------------ COPY (binary) → record batches

/**
 * Reads tuples of a binary COPY into column buffers, a batch at a time. The COPY stream is paused
 * while a batch is handed over, so rows wait in PostgreSQL, not here.
 */
class TupleReader {
  private pending: Buffer | null = null;
  private headerRead = false;
  private ended = false;
  private failure: unknown = null;
  private wake: (() => void) | null = null;
  private chunks: Buffer[] = [];
  private readonly width: number;

  constructor(
    private readonly rows: Readable,
    private readonly columns: TypedColumn[],
  ) {
    this.width = columns.length;
    rows.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      if (this.chunks.length >= QUEUED_CHUNKS) rows.pause();
      this.notify();
    });
    rows.once('end', () => {
      this.ended = true;
      this.notify();
    });
    rows.once('error', (err) => {
      this.failure = err;
      this.notify();
    });
  }

  private notify() {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private nextChunk(): Promise<Buffer | null> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        if (this.failure) return reject(this.failure instanceof Error ? this.failure : new Error(String(this.failure)));
        const c = this.chunks.shift();
        if (c) return resolve(c);
        if (this.ended) return resolve(null);
        this.wake = attempt;
        if (this.rows.isPaused()) this.rows.resume();
      };
      attempt();
    });
  }

  /** Fills a batch of at most `maxRows` rows (and about BATCH_BYTES); null when the COPY has no more rows. */
  async batch(maxRows: number): Promise<{ rows: number; data: arrow.Data[] } | null> {
    const buffers = this.columns.map((c) => primitiveBuffer(c, Math.min(maxRows, BATCH_ROWS)));
    let row = 0;
    let done = false;
    const full = () => row >= maxRows || ((row & 1023) === 0 && buffers.reduce((n, b) => n + b.bytes(), 0) >= BATCH_BYTES);
    while (!done && !(row > 0 && full())) {
      const chunk = await this.nextChunk();
      if (chunk === null) {
        if (this.pending && this.pending.length > 0) throw new Error('the COPY ended inside a row');
        break;
      }
      let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
      this.pending = null;
      let pos = 0;
      if (!this.headerRead) {
        if (buf.length < 19) {
          this.pending = buf;
          continue;
        }
        if (!buf.subarray(0, 11).equals(COPY_SIGNATURE)) throw new Error('not a binary COPY stream');
        pos = 19 + buf.readInt32BE(15);
        this.headerRead = true;
      }
      for (;;) {
        if (buf.length - pos < 2) break;
        const fields = buf.readInt16BE(pos);
        if (fields === -1) {
          done = true;
          pos += 2;
          break;
        }
        if (fields !== this.width) throw new Error(`a COPY row has ${fields} fields, expected ${this.width}`);
        // Check the whole tuple is here before decoding any of it.
        let p = pos + 2;
        let complete = true;
        for (let f = 0; f < fields; f++) {
          if (buf.length - p < 4) {
            complete = false;
            break;
          }
          const len = int32At(buf, p);
          p += 4 + (len > 0 ? len : 0);
          if (p > buf.length) {
            complete = false;
            break;
          }
        }
        if (!complete) break;
        p = pos + 2;
        for (let f = 0; f < fields; f++) {
          const len = int32At(buf, p);
          p += 4;
          buffers[f].push(row, buf, p, len);
          if (len > 0) p += len;
        }
        pos = p;
        row++;
        if (full()) break;
      }
      if (pos < buf.length) {
        // The rest of this chunk belongs to the next batch (or completes with the next chunk).
        buf = buf.subarray(pos);
        if (row > 0 && full()) this.chunks.unshift(buf);
        else this.pending = Buffer.from(buf);
      }
    }
    if (row === 0) return null;
    return { rows: row, data: buffers.map((b) => b.finish(row)) };
  }
}

// ------------------------------------------------------------------ writing files

export type WrittenParquetPart = { index: number; key: string; rows: number; bytes: number; sha256: string };

type Pw = typeof ParquetWasm;
let loaded: Promise<Pw> | undefined;
/** The writer's module, loaded (and its WebAssembly compiled) on the first Parquet file only. */
function parquetWasm(): Promise<Pw> {
  loaded ??= import('parquet-wasm/node');
  return loaded;
}

function writerProperties(pw: Pw, fileType: DataFileType): ParquetWasm.WriterProperties {
  return new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression.ZSTD)
    .setMaxRowGroupSize(ROW_GROUP_ROWS)
    .setMaxRowGroupBytes(ROW_GROUP_BYTES)
    .setCreatedBy(CREATED_BY)
    .setKeyValueMetadata(parquetMetadata(fileType))
    .build();
}

/** One record batch as the writer's own (WebAssembly) record batch. */
function toWasmBatch(pw: Pw, schema: arrow.Schema, rows: number, data: arrow.Data[]): ParquetWasm.RecordBatch {
  const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length: rows, nullCount: 0, children: data });
  const batch = new arrow.RecordBatch(schema, struct);
  const ipc = arrow.tableToIPC(new arrow.Table([batch]), 'stream');
  const table = pw.Table.fromIPCStream(ipc);
  try {
    const batches = table.recordBatches();
    if (batches.length !== 1) throw new Error(`expected one record batch, got ${batches.length}`);
    return batches[0];
  } finally {
    table.free();
  }
}

/**
 * Writes the rows of a typed COPY as Parquet files: one, or several parts of `rowsPerPart` rows for
 * a huge window. Each part streams to `keyForPart(index)` as it is encoded. A COPY without rows
 * writes no file and returns no part.
 */
export async function writeParquetParts(opts: {
  rows: Readable;
  fileType: DataFileType;
  storage: Storage;
  keyForPart: (index: number) => string;
  rowsPerPart?: number;
  signal?: AbortSignal;
  /** Rows written so far. */
  onRows?: (rows: number) => void;
}): Promise<WrittenParquetPart[]> {
  const pw = await parquetWasm();
  const schema = arrowSchema(opts.fileType);
  const reader = new TupleReader(opts.rows, fileSchema(opts.fileType).columns);
  const rowsPerPart = Math.max(1, Math.floor(opts.rowsPerPart ?? DEFAULT_PARQUET_ROWS_PER_PART));
  const parts: WrittenParquetPart[] = [];
  let total = 0;
  // A part is opened only once it has a first batch: a window ending on a part's last row adds no empty part.
  let opening = await reader.batch(Math.min(BATCH_ROWS, rowsPerPart));
  while (opening) {
    if (opts.signal?.aborted) throw new ExportAbortedError();
    const index = parts.length + 1;
    const key = opts.keyForPart(index);
    let partRows = 0;
    let first: typeof opening | null = opening;
    const source = new ReadableStream<ParquetWasm.RecordBatch>(
      {
        async pull(controller) {
          try {
            if (opts.signal?.aborted) throw new ExportAbortedError();
            const left = rowsPerPart - partRows;
            const next = first ?? (left > 0 ? await reader.batch(Math.min(BATCH_ROWS, left)) : null);
            first = null;
            if (!next) return controller.close();
            partRows += next.rows;
            controller.enqueue(toWasmBatch(pw, schema, next.rows, next.data));
            total += next.rows;
            opts.onRows?.(total);
          } catch (err) {
            controller.error(err);
          }
        },
      },
      { highWaterMark: 0 },
    );
    const hashing = hashingStream();
    const out = hashing.stream;
    out.on('error', () => undefined);
    const stored = opts.storage.put(key, out, { signal: opts.signal });
    try {
      const encoded = (await pw.transformParquetStream(source, writerProperties(pw, opts.fileType))) as ReadableStream<Uint8Array>;
      for await (const chunk of encoded as unknown as AsyncIterable<Uint8Array>) {
        if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', resolve));
      }
      out.end();
      await stored;
    } catch (err) {
      out.destroy(err instanceof Error ? err : new Error(String(err)));
      await stored.catch(() => undefined);
      throw err;
    }
    parts.push({ index, key, rows: partRows, ...hashing.result() });
    opening = await reader.batch(Math.min(BATCH_ROWS, rowsPerPart));
  }
  return parts;
}
