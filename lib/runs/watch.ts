// While a run is being exported or delivered: a heartbeat on the run (so a crashed worker's run is
// recovered by the sweep) and a watch on the connection (pause immediately, stop, delete) and the
// historical request (cancel) that aborts the work within about a second.
import type { Database } from '@/db/client';

export type AbortReason = 'paused' | 'cancelled' | 'shutdown';

export type RunWatch = {
  signal: AbortSignal;
  reason: () => AbortReason | undefined;
  stop: () => void;
};

export function watchRun(
  database: Database,
  run: { id: string; connectionId: string; historicalRequestId: string | null },
  opts: { outer?: AbortSignal; pollMs?: number; heartbeatMs?: number } = {},
): RunWatch {
  const controller = new AbortController();
  let reason: AbortReason | undefined;
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
      const [state] = await database.sql<{ status: string; pause_mode: string | null; deleted: boolean; request_status: string | null }[]>`
        select c.status, c.pause_mode, c.deleted_at is not null as deleted,
               (select h.status from historical_requests h where h.id = ${run.historicalRequestId}::uuid) as request_status
        from connections c where c.id = ${run.connectionId}`;
      if (!state) return abort('paused');
      if (state.request_status === 'cancelled') return abort('cancelled');
      if (state.deleted || (state.status === 'paused' && state.pause_mode === 'immediately')) return abort('paused');
      if (Date.now() - lastBeat >= (opts.heartbeatMs ?? 10_000)) {
        lastBeat = Date.now();
        await database.sql`update export_runs set updated_at = now() where id = ${run.id}`;
      }
    })()
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, opts.pollMs ?? 1000);
  timer.unref?.();

  return {
    signal: controller.signal,
    reason: () => reason,
    stop: () => {
      clearInterval(timer);
      opts.outer?.removeEventListener('abort', onOuter);
    },
  };
}
