// The sweep behind every planner tick: hands back runs whose worker died (no heartbeat), and
// lists the runs that are due but have no job (resumed connections, lost jobs, backoff elapsed).
// pg-boss's cron does not back-fill and a job past expiry may run twice, so correctness comes
// from the ledger: re-sending a run is always safe (only one worker can claim it).
import type { Database } from '@/db/client';
import { recoverStaleRuns as recoverStale } from '@/db/queries/run-ledger';
import { PUSHED_KINDS } from '@/db/schema';

/** A run whose heartbeat (every 10 s) is older than this belongs to a dead worker. */
export const STALE_AFTER_SECONDS = 120;

export async function recoverStaleRuns(
  database: Database,
  staleAfterSeconds = STALE_AFTER_SECONDS,
): Promise<{ export: string[]; delivery: string[] }> {
  return recoverStale(database.db, staleAfterSeconds);
}

/**
 * Runs of active connections that are due and idle: planned ones to export, generated ones to
 * deliver (and those a pause after transfer lets finish). The sweep skips runs touched in the last `idleSeconds` (their job was just sent); an
 * admin's action (resume, retry) asks for its own connection or run with idleSeconds 0.
 */
export async function dueRuns(
  database: Database,
  opts: { limit?: number; idleSeconds?: number; connectionId?: string; runId?: string } = {},
): Promise<{ export: string[]; delivery: string[] }> {
  const { limit = 1000, idleSeconds = 30, connectionId = null, runId = null } = opts;
  const pushedKinds = database.sql([...PUSHED_KINDS]);
  const rows = await database.sql<{ id: string; status: string }[]>`
    select r.id, r.status from export_runs r
    join connections c on c.id = r.connection_id
    where (c.status = 'active' or (c.status = 'pausing' and r.finish_before_pause)) and c.deleted_at is null
      and r.updated_at <= now() - make_interval(secs => ${idleSeconds})
      and (${connectionId}::uuid is null or r.connection_id = ${connectionId}::uuid)
      and (${runId}::uuid is null or r.id = ${runId}::uuid)
      and (r.status = 'planned'
           or (r.status = 'generated' and c.kind in ${pushedKinds} and (r.next_attempt_at is null or r.next_attempt_at <= now())))
    order by r.window_start
    limit ${limit}`;
  return {
    export: rows.filter((r) => r.status === 'planned').map((r) => r.id),
    delivery: rows.filter((r) => r.status === 'generated').map((r) => r.id),
  };
}
