// CSV downloads of the admin lists (the Activity Log, a connection's event history): RFC 4180 cells
// and rows (CRLF, quoted when needed), guarded against spreadsheet formula injection, and one
// streamed response that reads the list a page at a time as the client reads the download.
import type { Logger } from 'pino';

export type CsvValue = string | number | boolean | Date | null | undefined;

/** What a spreadsheet would evaluate as a formula when it starts a cell. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One cell. Text starting with = + - @ (or a tab / CR) gets a leading ', so a spreadsheet shows it
 * as text instead of running it; a cell holding a comma, quote, CR or LF is quoted, quotes doubled.
 */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  let text = value instanceof Date ? value.toISOString() : value;
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One row, CRLF-terminated. */
export function csvRow(cells: readonly CsvValue[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/**
 * A streamed CSV download: the header row, then the rows of each batch `batches` yields, one batch
 * read per chunk the client pulls. The first batch is read before answering, so a failing query is
 * still the one JSON error; a failure later ends the download early (logged), a client that goes
 * away stops the reading.
 */
export async function csvResponse(params: {
  contentDisposition: string;
  header: readonly string[];
  batches: AsyncGenerator<CsvValue[][]>;
  log: Logger;
}): Promise<Response> {
  const { batches, log } = params;
  const first = await batches.next();
  const encoder = new TextEncoder();
  let pending: string | null = csvRow(params.header) + (first.done ? '' : first.value.map(csvRow).join(''));
  let finished = Boolean(first.done);
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pending !== null) {
        controller.enqueue(encoder.encode(pending));
        pending = null;
        if (finished) controller.close();
        return;
      }
      try {
        const next = await batches.next();
        if (next.done) {
          finished = true;
          controller.close();
        } else if (next.value.length > 0) {
          controller.enqueue(encoder.encode(next.value.map(csvRow).join('')));
        }
      } catch (err) {
        log.error({ err: { message: (err as Error).message } }, 'CSV download failed part-way');
        controller.error(err);
      }
    },
    async cancel() {
      await batches.return(undefined).catch(() => undefined);
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'text/csv; charset=utf-8; header=present',
      'content-disposition': params.contentDisposition,
      'cache-control': 'private, no-store',
      'x-content-type-options': 'nosniff',
    },
  });
}
