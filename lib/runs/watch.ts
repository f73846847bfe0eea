// While a run is being exported or delivered: a heartbeat on the run (so a crashed worker's run is
// recovered by the sweep) and a watch on the connection (pause immediately, stop, delete) and the
// historical request (cancel) that aborts the work within about a second, and on the run's claim: a
// worker that was stopped while its run was recovered and claimed again learns it within about a
// second of resuming ('superseded') and its heartbeat no longer counts. When the step ends, a
// pause that waited for it ("after transfer") completes and the request's progress is updated.
import type { Database } from '@/db/client';
import { beatRunHeartbeat } from '@/db/queries/run-ledger';
import { settlePausing } from '@/lib/connections/lifecycle';
import { refreshHistoricalProgress } from '@/lib/historical';

export type AbortReason = 'paused' | 'cancelled' | 'shutdown' | 'superseded';

export type RunWatch = {
  signal: AbortSignal;
  /** Why the work was aborted ('shutdown' when the worker's own signal fired or nothing did). */
  reason: () => AbortReason;
  /** When superseded: the run's claim now (its new owner's). */
  ownerClaim: () => number | null;
  /** Stops watching, completes a pause waiting for this step, and updates the historical request's progress. */
  finish: () => Promise<void>;
};

export function watchRun(
  database: Database,
  run: { id: string; connectionId: string; historicalRequestId: string | null; claim?: number },
  opts: { outer?: AbortSignal; pollMs?: number; heartbeatMs?: number } = {},
): RunWatch {
  const controller = new AbortController();
  let reason: AbortReason | undefined;
  let ownerClaim: number | null = null;
  const abort = (why: AbortReason) => {
    if (controller.signal.aborted) return;
    reason = why;
    controller.abort(new Error(`run ${why}`));
  };
  const onOuter = () => abort('shutdown');
  if (opts.outer?.aborted) onOuter();
  opts.outer?.addEventListener('abort', onOuter, { once: true });

  let lastBeat = Date.now();
  let busy = false;
  const timer = setInterval(() => {
    if (busy || controller.signal.aborted) return;
    busy = true;
    (async () => {
      const [state] = await database.sql<
        { status: string; pause_mode: string | null; deleted: boolean; request_status: string | null; claim: number | null }[]
      >`
        select c.status, c.pause_mode, c.deleted_at is not null as deleted,
               (select h.status from historical_requests h where h.id = ${run.historicalRequestId}::uuid) as request_status,
               (select r.claim from export_runs r where r.id = ${run.id}) as claim
        from connections c where c.id = ${run.connectionId}`;
      if (!state) return abort('paused');
      if (run.claim !== undefined && state.claim !== null && Number(state.claim) !== run.claim) {
        ownerClaim = Number(state.claim);
        return abort('superseded');
      }
      if (state.request_status === 'cancelled') return abort('cancelled');
      if (state.deleted || (state.status === 'paused' && state.pause_mode === 'immediately')) return abort('paused');
      if (Date.now() - lastBeat >= (opts.heartbeatMs ?? 10_000)) {
        lastBeat = Date.now();
        const beat = await beatRunHeartbeat(database.db, run.id, run.claim);
        if (!beat.ok && beat.reason === 'claim_lost') {
          ownerClaim = beat.claim;
          abort('superseded');
        }
      }
    })()
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, opts.pollMs ?? 1000);
  timer.unref?.();

  return {
    signal: controller.signal,
    reason: () => reason ?? 'shutdown',
    ownerClaim: () => ownerClaim,
    finish: async () => {
      clearInterval(timer);
      opts.outer?.removeEventListener('abort', onOuter);
      await settlePausing(database.db, run.connectionId).catch(() => undefined);
      if (run.historicalRequestId) await refreshHistoricalProgress(database.db, run.historicalRequestId).catch(() => undefined);
    },
  };
}
