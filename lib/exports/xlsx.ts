// The xlsx encoder: JSON rows from COPY → exceljs' streaming WorkbookWriter → storage, hashed on
// the way. A sheet holds at most 1,048,576 rows, so a longer file continues in further parts.
// Known limit of the format: cells are XML 1.0 text, so control characters cannot be stored
// (exceljs drops them) and readers turn CR LF inside a cell into LF. csv and jsonl keep them.
import ExcelJS from 'exceljs';
import { PassThrough, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Storage } from '@/lib/storage';
import { hashingStream, type WrittenFile } from './encode';

/** Excel's sheet limit (1,048,576) minus the header row. */
export const XLSX_MAX_DATA_ROWS = 1_048_575;
const PROGRESS_EVERY = 16_384;
/** Sheet XML waiting to be compressed into the zip; above this, reading rows waits. */
const MAX_BACKLOG_BYTES = 8 << 20;

export type WrittenPart = WrittenFile & { index: number; key: string };

type OpenPart = {
  index: number;
  key: string;
  rows: number;
  workbook: ExcelJS.stream.xlsx.WorkbookWriter;
  sheet: ExcelJS.Worksheet;
  hashing: ReturnType<typeof hashingStream>;
  stored: Promise<{ bytes: number }>;
};

/** Turns one JSON object (row_to_json) into the cells of a row, in header order. Arrays stay JSON text, as in CSV. */
function cells(headers: string[], row: Record<string, unknown>): unknown[] {
  return headers.map((h) => {
    const v = row[h];
    return Array.isArray(v) ? JSON.stringify(v) : v;
  });
}

export async function writeXlsxParts(opts: {
  rows: Readable;
  headers: string[];
  sheetName: string;
  storage: Storage;
  /** The (temporary) key of part `index` (1-based). */
  keyForPart: (index: number) => string;
  maxRowsPerPart?: number;
  signal?: AbortSignal;
  onRows?: (rows: number) => void;
}): Promise<WrittenPart[]> {
  const maxRows = Math.min(opts.maxRowsPerPart ?? XLSX_MAX_DATA_ROWS, XLSX_MAX_DATA_ROWS);
  const done: WrittenPart[] = [];
  let current: OpenPart | undefined;
  let total = 0;

  const open = (index: number): OpenPart => {
    const key = opts.keyForPart(index);
    const hashing = hashingStream();
    const stored = opts.storage.put(key, hashing.stream, { signal: opts.signal });
    stored.catch(() => undefined); // observed in close()/cleanup
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
      stream: hashing.stream,
      useStyles: false,
      useSharedStrings: false,
      zip: { zlib: { level: 6 } },
    } as ConstructorParameters<typeof ExcelJS.stream.xlsx.WorkbookWriter>[0]);
    // Fixed metadata: the same rows give the same bytes.
    workbook.creator = 'DDE';
    workbook.created = new Date(0);
    workbook.modified = new Date(0);
    const sheet = workbook.addWorksheet(opts.sheetName);
    sheet.addRow(opts.headers).commit();
    return { index, key, rows: 0, workbook, sheet, hashing, stored };
  };

  const close = async (p: OpenPart) => {
    p.sheet.commit();
    await p.workbook.commit();
    await p.stored;
    done.push({ index: p.index, key: p.key, rows: p.rows, uncompressedBytes: 0, ...p.hashing.result() });
  };

  // Iterate a pass-through, not the COPY stream itself: leaving a for-await early destroys what it
  // iterates, and a destroyed COPY stream would stall its connection (see copy.ts).
  const lines = opts.rows.pipe(new PassThrough({ highWaterMark: 1 << 20 }));
  const forwardError = (err: Error) => lines.destroy(err); // pipe() does not carry errors
  opts.rows.once('error', forwardError);
  const decoder = new StringDecoder('utf8');
  const addRow = (line: string) => {
    current!.sheet.addRow(cells(opts.headers, JSON.parse(line) as Record<string, unknown>)).commit();
    current!.rows++;
    total++;
    if (total % PROGRESS_EVERY === 0) opts.onRows?.(total);
  };
  // exceljs writes a sheet's XML into a buffer that it pipes to the zip's deflate stream without
  // honouring backpressure, so the backlog piles up in that stream's write buffer. Measure it
  // there (and in exceljs' own blocks) and let the zip catch up: memory stays flat.
  const backlog = () => {
    // (archiver's streams come from an older readable-stream without writableLength.)
    type Pipe = { writableLength?: number; _writableState?: { length?: number } };
    type SheetStream = { buffers?: unknown[]; pipes?: Pipe[] };
    const s = (current?.sheet as unknown as { stream?: SheetStream } | undefined)?.stream;
    if (!s) return 0;
    const pending = (p: Pipe) => p.writableLength ?? p._writableState?.length ?? 0;
    return (s.buffers?.length ?? 0) * 65_536 + (s.pipes ?? []).reduce((n, p) => n + pending(p), 0);
  };
  let carry = '';
  try {
    for await (const chunk of lines as AsyncIterable<Buffer>) {
      // Each chunk is one or more whole rows; JSON text never holds a raw newline.
      const text = carry + decoder.write(chunk);
      const parts = text.split('\n');
      carry = parts.pop() ?? '';
      for (const line of parts) {
        if (!current || current.rows >= maxRows) {
          if (current) await close(current);
          current = open(done.length + 1);
        }
        addRow(line);
      }
      while (backlog() > MAX_BACKLOG_BYTES && !opts.signal?.aborted) await new Promise((r) => setTimeout(r, 2));
    }
    if (carry.trim()) throw new Error('COPY ended in the middle of a row');
    if (current) {
      const last = current;
      current = undefined;
      await close(last);
    }
  } catch (err) {
    lines.destroy();
    if (current) {
      current.hashing.stream.destroy(err as Error);
      await current.stored.catch(() => undefined);
    }
    throw err;
  }
  opts.onRows?.(total);
  return done;
}
