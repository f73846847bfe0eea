// The Activity Log and a connection's event history as CSV downloads, with the filters the pages
// apply: the same queries and JSON views as the paged lists, read CSV_BATCH rows at a time and
// streamed (lib/http/csv.ts). Cells hold what the lists show — never a secret: audit entries carry
// none, and keys that name one are blanked all the same.
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Db } from '@/db/client';
import { listRuns } from '@/db/queries/runs';
import type { Connection } from '@/db/schema';
import { now } from '@/lib/clock';
import { connectionDisplayName } from '@/lib/describe-connection';
import { attachment } from '@/lib/export-api/download';
import { csvResponse, type CsvValue } from '@/lib/http/csv';
import { runStatusLabel } from '@/lib/runs/vocabulary';
import { listActivity, type ActivityPosition } from './activity';
import type { ActivityEntry, Run } from './responses';
import { ACTIVITY_CSV_COLUMNS, RUNS_CSV_COLUMNS, type activityCsvQuery, type runsCsvQuery } from './schemas';
import { runsJson } from './views';

/** Rows read per query while a download streams. */
export const CSV_BATCH = 500;

const SECRET_KEY = /password|secret|private_?key|passphrase|token_hash|ciphertext/i;

/** JSON of an entry's before/after/details, with any value under a secret-sounding key blanked. */
function jsonCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  return JSON.stringify(value, (key, v: unknown) => (key && SECRET_KEY.test(key) ? '[redacted]' : v));
}

function activityRow(e: ActivityEntry): CsvValue[] {
  return [
    e.at,
    e.actor,
    e.action,
    e.target_type,
    e.target_id,
    e.target_name,
    e.connection_id,
    jsonCell(e.before),
    jsonCell(e.after),
    jsonCell(e.details),
  ];
}

function runRow(r: Run): CsvValue[] {
  const failed = [...r.deliveries].reverse().find((d) => d.error_message);
  return [
    r.id,
    r.window_start,
    r.window_end,
    r.automated ? 'Automated' : 'Historical',
    runStatusLabel(r.status),
    r.rows_total,
    r.bytes_total,
    r.files_count,
    r.files.map((f) => f.name).join(' '),
    r.destination,
    r.deliveries.length,
    r.error_code ?? failed?.error_code,
    r.error_message ?? failed?.error_message,
    r.created_at,
    r.started_at,
    r.finished_at,
    r.historical_request_id,
  ];
}

const today = () => now().toISOString().slice(0, 10);

/** A name's letters and digits as a file-name part: "Acme warehouse (demo)" → "acme-warehouse-demo". */
function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'connection'
  );
}

/** The Activity Log of a program (or its failed deliveries), filtered like GET /api/v1/activity-log, as a CSV download. */
export async function activityCsv(db: Db, programId: number, q: z.infer<typeof activityCsvQuery>, log: Logger): Promise<Response> {
  async function* batches(): AsyncGenerator<CsvValue[][]> {
    let position: ActivityPosition = {};
    for (;;) {
      const page = await listActivity(db, programId, q, position, CSV_BATCH);
      yield page.entries.map(activityRow);
      if (!page.hasMore) return;
      position = page.next;
    }
  }
  const name = `${q.kind === 'delivery_errors' ? 'delivery-errors' : 'activity-log'}-${programId}-${today()}.csv`;
  return csvResponse({ contentDisposition: attachment(name), header: ACTIVITY_CSV_COLUMNS, batches: batches(), log });
}

/** A connection's runs, filtered like GET /api/v1/connections/{id}/runs, as a CSV download. */
export async function runsCsv(
  db: Db,
  programId: number,
  connection: Connection,
  q: z.infer<typeof runsCsvQuery>,
  log: Logger,
): Promise<Response> {
  const connections = new Map([[connection.id, connection]]);
  async function* batches(): AsyncGenerator<CsvValue[][]> {
    let afterId: string | undefined;
    for (;;) {
      const runs = await listRuns(db, {
        programId,
        connectionId: connection.id,
        statuses: q.status,
        fileType: q.file_type,
        exportType: q.export_type,
        from: q.from,
        to: q.to,
        afterId,
        limit: CSV_BATCH,
      });
      yield (await runsJson(db, programId, runs, connections)).map(runRow);
      if (runs.length < CSV_BATCH) return;
      afterId = runs[runs.length - 1].id;
    }
  }
  const name = `event-history-${programId}-${slug(connectionDisplayName(connection))}-${today()}.csv`;
  return csvResponse({ contentDisposition: attachment(name), header: RUNS_CSV_COLUMNS, batches: batches(), log });
}
