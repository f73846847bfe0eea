// The reconciliation of a feed: every window of one API connection in a range, in window order,
// with its state, its place in the sequence, each file's rows and sha256, and the rows the source
// held when it was exported, so a receiver can hold what it loaded against what DDE exported,
// window by window, and see any gap. The connection page's Completeness table
// (lib/management/completeness.ts) shows the same windows from the same view.
import type { Db } from '@/db/client';
import { listFilesOfRuns, listRunsForReconciliation } from '@/db/queries/runs';
import type { ExportFile, ExportRun } from '@/db/schema';
import { now } from '@/lib/clock';
import { cursorCodec, type PositionCodec } from '@/lib/http/cursor';
import { pageOf } from '@/lib/http/page';
import type { PageOf } from '@/lib/http/schemas';
import type { FeedConnection } from './feed';
import { isExpired } from './files';
import type { reconciliationQuerySchema, reconciliationWindowSchema } from './schemas';
import type { z } from 'zod';

type WindowPosition = { windowStart: string; id: string };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** (window start, id): windows are listed oldest first, and a window's start never changes. */
const windowPosition: PositionCodec<WindowPosition> = {
  encode: (p) => [p.windowStart, p.id],
  decode: (parts) => {
    if (parts.length !== 2 || !UUID.test(parts[1]) || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(parts[0])) return null;
    const ms = Date.parse(parts[0]);
    return Number.isNaN(ms) || new Date(ms).toISOString() !== parts[0] ? null : { windowStart: parts[0], id: parts[1].toLowerCase() };
  },
};
export const windowCursor = cursorCodec('window', windowPosition);
const PUBLISHED = new Set(['generated', 'delivering', 'delivered', 'available', 'empty']);

export type WindowView = z.infer<typeof reconciliationWindowSchema>;

/** One run as a reconciliation window, from its files (the manifest among them). */
export function windowView(r: ExportRun, files: readonly ExportFile[], at: Date): WindowView {
  const own = files.filter((f) => f.runId === r.id);
  const manifest = own.find((f) => f.fileType === 'manifest');
  const exported = PUBLISHED.has(r.status) || (r.status === 'failed' && !!manifest);
  const bySource = exported && r.sourceRows ? r.sourceRows : null;
  return {
    run_id: r.id,
    sequence: r.sequence,
    export_type: r.exportType,
    historical_request_id: r.historicalRequestId,
    window_start: r.windowStart.toISOString(),
    window_end: r.windowEnd.toISOString(),
    status: r.status,
    exported,
    rows: exported ? r.rowsTotal : null,
    source_rows: bySource ? Object.values(bySource).reduce((n, v) => n + v, 0) : null,
    source_rows_by_type: bySource,
    files: own
      .filter((f) => f.fileType !== 'manifest')
      .map((f) => ({ name: f.name, type: f.fileType, rows: f.rows, sha256: f.sha256, expired: isExpired(f, at) })),
    manifest: manifest ? { name: manifest.name, sha256: manifest.sha256, signature: manifest.signature } : null,
  };
}

export async function reconcileFeed(
  db: Db,
  params: { programId: number; feed: FeedConnection | null; query: z.infer<typeof reconciliationQuerySchema> },
): Promise<PageOf<WindowView>> {
  const { feed, query } = params;
  if (!feed) return { data: [], has_more: false, next_cursor: null };
  const after = query.cursor ? windowCursor.decode(query.cursor) : undefined;
  const runs = await listRunsForReconciliation(db, {
    programId: params.programId,
    connectionId: feed.id,
    exportType: query.export_type,
    from: query.from,
    to: query.to,
    after,
    limit: query.limit + 1,
  });
  const page = pageOf(runs, query.limit, windowCursor, (r) => ({ windowStart: r.windowStart.toISOString(), id: r.id }));
  const files = await listFilesOfRuns(db, { programId: params.programId, runIds: page.rows.map((r) => r.id) });
  const at = now();
  return { data: page.rows.map((r) => windowView(r, files, at)), has_more: page.has_more, next_cursor: page.next_cursor };
}
