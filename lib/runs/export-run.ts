// Executes the export step of a run: claim it from the ledger (planned → generating), generate its
// files once into storage, and move it on: SFTP → generated (then delivered), API → available,
// no rows → empty. Safe under at-least-once job delivery: only one worker can claim a run, and a
// run handed back (pause immediately, shutdown, crash) returns to "planned".
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Database } from '@/db/client';
import { generateRun, isExportAborted, runKeyPrefix, RunBusyError } from '@/lib/exports';
import { getStorage } from '@/lib/storage';
import type { ExportProgress } from '@/lib/exports';
import { childLogger } from '@/lib/logger';
import { watchRun } from './watch';

/** Attempts of the export step before the run is failed (each retried by pg-boss with backoff). */
export const MAX_EXPORT_ATTEMPTS = 3;

export type ExportRunOutcome =
  | { status: 'generated' | 'available' | 'empty'; runId: string; rows: number; files: number }
  | { status: 'skipped'; runId: string; why: string }
  | { status: 'requeued' | 'cancelled'; runId: string; why: string }
  | { status: 'failed'; runId: string; error: string };

type Claimed = {
  id: string;
  program_id: number;
  connection_id: string;
  historical_request_id: string | null;
  kind: 'sftp' | 'api';
  attempt: number;
};

export async function executeExportRun(
  database: Database,
  runId: string,
  opts: { signal?: AbortSignal; onProgress?: (p: ExportProgress) => void; watchPollMs?: number } = {},
): Promise<ExportRunOutcome> {
  const { sql } = database;
  const log = childLogger({ module: 'runs', runId });
  const [run] = await sql<Claimed[]>`
    update export_runs r set status = 'generating', attempt = r.attempt + 1, started_at = coalesce(r.started_at, now()),
      error_code = null, error_message = null, updated_at = now()
    from connections c
    where r.id = ${runId} and c.id = r.connection_id and r.status = 'planned'
      and c.status = 'active' and c.deleted_at is null
      and (r.historical_request_id is null
           or exists (select 1 from historical_requests h where h.id = r.historical_request_id and h.status in ('pending', 'running')))
    returning r.id, r.program_id, r.connection_id, r.historical_request_id, c.kind, r.attempt`;
  if (!run) return { status: 'skipped', runId, why: 'not planned, or its connection is not active' };

  const watch = watchRun(
    database,
    { id: run.id, connectionId: run.connection_id, historicalRequestId: run.historical_request_id },
    { outer: opts.signal, pollMs: opts.watchPollMs },
  );
  try {
    await removeTemporaries(run.program_id, run.id);
    const result = await generateRun(database, run.id, { signal: watch.signal, onProgress: opts.onProgress });
    const status = result.empty ? 'empty' : run.kind === 'api' ? 'available' : 'generated';
    await sql`
      update export_runs set status = ${status}, updated_at = now(),
        finished_at = case when ${status} = 'generated' then null else now() end
      where id = ${run.id}`;
    log.info({ status, rows: result.rowsTotal, files: result.filesCount }, 'export step done');
    return { status, runId, rows: result.rowsTotal, files: result.filesCount };
  } catch (err) {
    if (isExportAborted(err) || watch.signal.aborted) {
      const why = watch.reason();
      const next = why === 'cancelled' ? 'cancelled' : 'planned';
      await sql`update export_runs set status = ${next}, updated_at = now(), attempt = greatest(attempt - 1, 0) where id = ${run.id}`;
      log.info({ why }, 'export step aborted; run handed back');
      return { status: next === 'cancelled' ? 'cancelled' : 'requeued', runId, why };
    }
    if (err instanceof RunBusyError) {
      // Another worker holds the run's lock (a duplicate job): it will finish the run.
      return { status: 'skipped', runId, why: 'another worker is generating it' };
    }
    const message = (err as Error).message ?? String(err);
    const last = run.attempt >= MAX_EXPORT_ATTEMPTS;
    await sql`
      update export_runs set status = ${last ? 'failed' : 'planned'}, error_code = 'export_failed', error_message = ${message.slice(0, 1000)},
        updated_at = now(), finished_at = case when ${last} then now() else null end
      where id = ${run.id}`;
    log.error({ err: message, attempt: run.attempt }, last ? 'export failed for good' : 'export failed; will retry');
    if (last) return { status: 'failed', runId, error: message };
    throw err;
  } finally {
    await watch.finish();
  }
}

/** A worker killed mid-export leaves temporary objects (never final names); the next attempt clears them. */
async function removeTemporaries(programId: number, runId: string): Promise<void> {
  const storage = getStorage();
  const keys = await storage.list(runKeyPrefix(programId, runId)).catch(() => [] as string[]);
  await Promise.all(keys.filter((k) => (k.split('/').pop() ?? '').startsWith('.')).map((k) => storage.delete(k).catch(() => undefined)));
  // A put cut short by the kill leaves the local backend's partial file, which list() does not show.
  const dir = storage.localPath(runKeyPrefix(programId, runId).replace(/\/$/, ''));
  const hidden = dir ? (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith('.')) : [];
  await Promise.all(hidden.map((n) => rm(path.join(dir!, n), { force: true }).catch(() => undefined)));
}
