// How a jobs process's workers learn of new work without each polling the database: a trigger on
// pg-boss's job table announces every job that becomes ready to fetch (a new job, a retry, one
// resumed) with NOTIFY on WAKE_CHANNEL, naming its queue and when it may start; each jobs process
// LISTENs once (startWaker) and wakes one idle worker of that queue (pg-boss's notifyWorker), at
// once or when the job's start time comes. A worker that fetched a job wakes the next idle one (more
// may be waiting: a batch of jobs spreads over all the workers in a few round trips, a single job
// costs one fetch more), and fetches again itself after each job it ran. One statement per process every SWEEP_SECONDS finds
// any queue with ready work all the same (a notification lost while the listening connection was
// down, a clock that fired a timer early), and so does every (re)connection of the listener.
import type PgBoss from 'pg-boss';
import type { Database } from '@/db/client';

export const WAKE_CHANNEL = 'dde_job_ready';
const TRIGGER = 'dde_job_ready';
const SWEEP_SECONDS = 30;

/**
 * The trigger (idempotent; one process at a time under an advisory lock, like the fetch-order index).
 * The payload is "<queue> <ms until start_after, from the database's own clock>": a batch inserted by
 * one statement shares both, and PostgreSQL folds identical notifications of one transaction into one.
 */
export async function ensureWakeTrigger(boss: PgBoss): Promise<void> {
  await boss.getDb().executeSql(
    `do $$ begin
       perform pg_advisory_xact_lock(hashtext('dde:${TRIGGER}'));
       create or replace function pgboss.${TRIGGER}() returns trigger language plpgsql as $f$
       begin
         perform pg_notify('${WAKE_CHANNEL}', new.name || ' ' || greatest(0, ceil(extract(epoch from (new.start_after - now())) * 1000))::bigint::text);
         return null;
       end $f$;
       if not exists (select 1 from pg_trigger where tgname = '${TRIGGER}' and tgrelid = 'pgboss.job'::regclass) then
         create trigger ${TRIGGER} after insert or update of state on pgboss.job
           for each row when (new.state < 'active') execute function pgboss.${TRIGGER}();
       end if;
     end $$`,
    [],
  );
}

export type Waker = {
  /** Wakes `workerId` whenever `queue` has work ready (and it is idle). */
  add: (queue: string, workerId: string) => void;
  /** `workerId` is running a job (true) or done with it (false); starting one wakes the next idle worker. */
  busy: (queue: string, workerId: string, busy: boolean) => void;
  stop: () => Promise<void>;
};

/** Parses a notification's payload ("<queue> <ms until it may start>"). */
export function parseWake(payload: string): { queue: string; inMs: number } | null {
  const at = payload.lastIndexOf(' ');
  if (at <= 0) return null;
  const inMs = Number(payload.slice(at + 1));
  return Number.isFinite(inMs) ? { queue: payload.slice(0, at), inMs } : null;
}

/**
 * Listens for ready work on `database` (one connection of its own) and wakes the workers added for
 * its queue. `onError` hears failures of the listener and the sweep; both are retried.
 */
export async function startWaker(
  boss: PgBoss,
  database: Database,
  opts: { sweepSeconds?: number; onError?: (err: Error) => void } = {},
): Promise<Waker> {
  const workers = new Map<string, string[]>();
  const busy = new Set<string>();
  const next = new Map<string, number>();
  const timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  let stopped = false;

  // One idle worker of the queue, in turn (none when all are busy: each fetches again when done).
  const wake = (queue: string) => {
    const ids = workers.get(queue) ?? [];
    const start = next.get(queue) ?? 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[(start + i) % ids.length];
      if (busy.has(id)) continue;
      next.set(queue, (start + i + 1) % ids.length);
      boss.notifyWorker(id);
      return;
    }
  };
  // A job that may start later: one timer per queue, at the earliest such time (plus a little, as
  // pg-boss fetches jobs whose start is strictly before now).
  const wakeLater = (queue: string, inMs: number) => {
    const at = Date.now() + inMs + 50;
    const pending = timers.get(queue);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      timers.delete(queue);
      wake(queue);
    }, at - Date.now());
    timer.unref();
    timers.set(queue, { at, timer });
  };

  const sweep = async () => {
    const names = [...workers.keys()];
    if (stopped || names.length === 0) return;
    try {
      const rows = await database.sql<{ name: string; in_ms: string }[]>`
        select name, greatest(0, ceil(extract(epoch from (min(start_after) - now())) * 1000))::bigint as in_ms
        from pgboss.job where name = any(${names}::text[]) and state < 'active' group by name`;
      for (const r of rows) {
        const inMs = Number(r.in_ms);
        if (inMs === 0) wake(r.name);
        else wakeLater(r.name, inMs);
      }
    } catch (err) {
      opts.onError?.(err as Error);
    }
  };

  const listener = await database.sql.listen(
    WAKE_CHANNEL,
    (payload) => {
      const w = parseWake(payload);
      if (!w || !workers.has(w.queue)) return;
      if (w.inMs === 0) wake(w.queue);
      else wakeLater(w.queue, w.inMs);
    },
    // Every (re)connection: what was announced while the listener was away is found by a sweep.
    () => void sweep(),
  );
  const sweeper = setInterval(() => void sweep(), (opts.sweepSeconds ?? SWEEP_SECONDS) * 1000);
  sweeper.unref();

  return {
    add(queue, workerId) {
      workers.set(queue, [...(workers.get(queue) ?? []), workerId]);
    },
    busy(queue, workerId, isBusy) {
      if (!isBusy) return void busy.delete(workerId);
      busy.add(workerId);
      wake(queue);
    },
    async stop() {
      stopped = true;
      clearInterval(sweeper);
      for (const { timer } of timers.values()) clearTimeout(timer);
      timers.clear();
      await listener.unlisten().catch(() => undefined);
    },
  };
}
