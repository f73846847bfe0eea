// While a run is being exported or delivered: a heartbeat on the run (so a crashed worker's run is
// recovered by the sweep) and a watch on the connection (pause immediately, stop, delete) and the
// historical request (cancel) that aborts the work within about a second, and on the run's claim: a
// worker that was stopped while its run was recovered and claimed again learns it within about a
// second of resuming ('superseded') and its heartbeat no longer counts. When the step ends, a
// pause that waited for it ("after transfer") completes and the request's progress is updated.
// All the runs a process is working on are watched by one poll (one statement per second however
// many there are), not one each.
import type { Database } from '@/db/client';
import { beatRunHeartbeat } from '@/db/queries/run-ledger';
import { listRunWatchStates, type RunWatchState } from '@/db/queries/runs';
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

type Watched = {
  run: { id: string; connectionId: string; historicalRequestId: string | null; claim?: number };
  abort: (why: AbortReason) => void;
  aborted: () => boolean;
  setOwnerClaim: (claim: number | null) => void;
  heartbeatMs: number;
  lastBeat: number;
};

/** One poll per database and interval: the runs being watched there, looked at together. */
class SharedPoll {
  readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly database: Database,
    private readonly pollMs: number,
  ) {}

  add(w: Watched) {
    this.watched.add(w);
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), this.pollMs);
      this.timer.unref?.();
    }
  }

  remove(w: Watched) {
    this.watched.delete(w);
    if (this.watched.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private async tick() {
    if (this.busy) return;
    const list = [...this.watched].filter((w) => !w.aborted());
    if (list.length === 0) return;
    this.busy = true;
    try {
      const states = await listRunWatchStates(
        this.database.sql,
        list.map((w) => w.run),
      );
      const byRun = new Map(states.map((s) => [s.run_id, s]));
      await Promise.all(list.map((w) => this.judge(w, byRun.get(w.run.id))));
    } catch {
      // The database is briefly unreachable: the next tick looks again.
    } finally {
      this.busy = false;
    }
  }

  private async judge(w: Watched, state: RunWatchState | undefined) {
    const { run } = w;
    if (!state || !state.found) return w.abort('paused');
    if (run.claim !== undefined && state.claim !== null && Number(state.claim) !== run.claim) {
      w.setOwnerClaim(Number(state.claim));
      return w.abort('superseded');
    }
    if (state.request_status === 'cancelled') return w.abort('cancelled');
    if (state.deleted || (state.status === 'paused' && state.pause_mode === 'immediately')) return w.abort('paused');
    if (Date.now() - w.lastBeat >= w.heartbeatMs) {
      w.lastBeat = Date.now();
      const beat = await beatRunHeartbeat(this.database.db, run.id, run.claim).catch(() => null);
      if (beat && !beat.ok && beat.reason === 'claim_lost') {
        w.setOwnerClaim(beat.claim);
        w.abort('superseded');
      }
    }
  }
}

const polls = new WeakMap<Database, Map<number, SharedPoll>>();

function sharedPoll(database: Database, pollMs: number): SharedPoll {
  let byInterval = polls.get(database);
  if (!byInterval) polls.set(database, (byInterval = new Map()));
  let poll = byInterval.get(pollMs);
  if (!poll) byInterval.set(pollMs, (poll = new SharedPoll(database, pollMs)));
  return poll;
}

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

  const poll = sharedPoll(database, opts.pollMs ?? 1000);
  const watched: Watched = {
    run,
    abort,
    aborted: () => controller.signal.aborted,
    setOwnerClaim: (claim) => (ownerClaim = claim),
    heartbeatMs: opts.heartbeatMs ?? 10_000,
    lastBeat: Date.now(),
  };
  poll.add(watched);

  return {
    signal: controller.signal,
    reason: () => reason ?? 'shutdown',
    ownerClaim: () => ownerClaim,
    finish: async () => {
      poll.remove(watched);
      opts.outer?.removeEventListener('abort', onOuter);
      await settlePausing(database.db, run.connectionId).catch(() => undefined);
      if (run.historicalRequestId) await refreshHistoricalProgress(database.db, run.historicalRequestId).catch(() => undefined);
    },
  };
}
