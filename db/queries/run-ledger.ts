// The run ledger: the one module that writes `export_runs` and `deliveries`. Every change of a run is
// a named transition here, one guarded statement (`where status = <expected>`) stamped with the
// database's clock (`now()`; the heartbeat that stale-run recovery compares with `now()` must come
// from the same clock). A transition the run's current state does not allow changes nothing and
// answers a typed refusal, never an exception; the callers (jobs, management operations) decide
// what a refusal means for them.
//
// Fencing: every claim (export or delivery) adds one to the run's `claim` counter and answers the new
// value, the attempt's token. A worker passes it back to each later transition of its attempt
// (progress, heartbeat, publish, hand back, cancel, fail, delivery attempts and outcomes), which
// compares it in the same guarded statement: a worker whose run was recovered and claimed again while
// it was stopped (SIGSTOP, a long pause, a stalled disk) changes nothing and learns so from the
// `claim_lost` refusal, which names the run's current claim. Publishing an export (its file records,
// totals and new state in one transaction) is such a transition; a delivery's renames onto the
// customer's final names happen while the attempt holds its run's row (holdRunClaim), which stale
// recovery skips.
//
// The run lifecycle (docs/architecture.md, "Runs"):
//   planned → generating → generated → delivering → delivered | available (API) | empty | failed | cancelled
//
//   transition (function)                  from                                     to
//   plan (planIncrementalRuns)             no run for the window                    planned, the connection's next sequence
//                                                                                   (an existing run stays as it is)
//   plan (planHistoricalRuns)              none, or any but generating/delivering   planned, its place in the request
//                                                                                   (a run of the same request: always)
//   claim for export (claimRunForExport)   planned, connection active, request open generating, claim + 1
//   heartbeat (beatRunHeartbeat)           generating, delivering                   unchanged, updated_at = now()
//   progress (recordExportProgress)        generating, in the attempt given         unchanged, rows written so far (+ heartbeat)
//   progress (recordDeliveryProgress)      delivering, its attempt running          unchanged, the attempt's bytes so far (+ heartbeat)
//   record files (recordRunFiles)          planned, generating                      unchanged, the run's totals
//   publish (publishRunExport)             generating, this claim                   generated | available | empty, the run's totals
//   finish export (finishRunExport)        generating                               generated | available | empty
//   hand back (handBackRunExport)          generating                               planned (attempt not counted)
//   cancel (cancelRunExport)               generating                               cancelled
//   fail (failRunExport)                   generating                               planned (attempts left) | failed
//   claim for delivery (claimRunForDelivery) generated, SFTP connection active      delivering, claim + 1
//   hold (holdRunClaim)                    delivering, this claim                   unchanged; the row locked until the transaction ends
//   record attempt (recordDeliveryAttempt) delivering                               unchanged, + a running attempt
//   delivered (markRunDelivered)           delivering                               delivered (empty: an empty window's
//                                                                                   manifest was delivered); attempt succeeded
//   schedule retry (scheduleDeliveryRetry) delivering                               generated + next_attempt_at; attempt failed
//   fail (failRunDelivery)                 delivering                               failed; attempt failed
//   hand back (handBackRunDelivery)        delivering                               generated; attempt aborted
//   cancel (cancelRunDelivery)             delivering                               cancelled; attempt aborted
//   retry (retryFailedRun)                 failed                                   generated | planned
//   cancel (cancelRequestRuns)             planned, generated                       cancelled
//   finish before pause (markRunsTo…)      generating | delivering                  unchanged, marked to deliver while pausing
//   recover stale (recoverStaleRuns)       generating | delivering, no heartbeat,   planned | generated; attempt aborted
//                                          row not held
//
// Transitions that take a `claim` refuse with `claim_lost` when the run's claim is another.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { exportRuns, PUSHED_KINDS, type ConnectionKind, type RunStatus } from '@/db/schema';

/** `(…)`: the kinds DDE delivers to, for `c.kind in …` (constants of the schema, not input). */
const pushedKinds = sql.raw(`(${PUSHED_KINDS.map((k) => `'${k}'`).join(', ')})`);

/** Why a transition did not happen. `from` is the state the run was found in. */
export type Refusal =
  | { ok: false; reason: 'illegal_transition'; from: RunStatus }
  /**
   * The run is in the right state, but its connection (or historical request) does not let it move
   * now, or the attempt that reports progress is no longer the run's current one.
   */
  | { ok: false; reason: 'blocked'; from: RunStatus }
  /** The attempt's claim has moved on: the run was recovered and claimed again (`claim` is the run's now). */
  | { ok: false; reason: 'claim_lost'; from: RunStatus; claim: number }
  | { ok: false; reason: 'not_found' };

export type Moved<T = object> = ({ ok: true; to: RunStatus } & T) | Refusal;

/** A planned run that may not be exported yet: a transaction that could still add rows to its window is open. */
export type WaitingRefusal = { ok: false; reason: 'waiting'; from: 'planned'; waitedSeconds: number };

/**
 * The refusal for a guarded statement that moved nothing: the run's state now, or not_found; with the
 * caller's claim, `claim_lost` when the run's claim is another.
 */
async function refusal(db: DbOrTx, runId: string, blockedIn: readonly RunStatus[] = [], claim?: number): Promise<Refusal> {
  const [row] = await db.select({ status: exportRuns.status, claim: exportRuns.claim }).from(exportRuns).where(eq(exportRuns.id, runId));
  if (!row) return { ok: false, reason: 'not_found' };
  if (claim !== undefined && row.claim !== claim) return { ok: false, reason: 'claim_lost', from: row.status, claim: row.claim };
  if (blockedIn.includes(row.status)) return { ok: false, reason: 'blocked', from: row.status };
  return { ok: false, reason: 'illegal_transition', from: row.status };
}

async function rows<T>(db: DbOrTx, query: ReturnType<typeof sql>): Promise<T[]> {
  return [...(await db.execute(query))] as T[];
}

const toDate = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));

/** The claim condition of a fenced statement (none without a claim: tools and tests acting outside a worker). */
const sameClaim = (claim: number | undefined) => (claim === undefined ? undefined : eq(exportRuns.claim, claim));

// ---------------------------------------------------------------------------------------------
// Planning

export type PlannedWindow = { connectionId: string; programId: number; windowStart: Date; windowEnd: Date };
/** A historical month, with the rows its window held in the source when it was planned (null: not counted). */
export type PlannedMonth = PlannedWindow & { rowsExpected?: number | null };

const windowsJson = (windows: (PlannedWindow | PlannedMonth)[], numbered = false) =>
  JSON.stringify(
    windows.map((w, i) => ({
      connection_id: w.connectionId,
      program_id: w.programId,
      window_start: w.windowStart.toISOString(),
      window_end: w.windowEnd.toISOString(),
      ...(numbered ? { sequence: i + 1 } : {}),
      ...('rowsExpected' in w ? { rows_expected: w.rowsExpected ?? null } : {}),
    })),
  );

/** Namespace of the transaction lock under which a connection's incremental windows get their sequence. */
const SEQUENCE_LOCK_NAMESPACE = 727_028;

/**
 * plan (incremental): one planned run per closed window; a window already in the ledger is left as
 * it is (insert-or-ignore on the unique window), so any number of planners plan it once. Each new
 * window takes the next place in its connection's sequence (1, 2, 3 …, no gaps): the connection's
 * planners take turns (a transaction lock per connection, held to the commit), so the highest
 * sequence they read is the last one planned. The ids of the runs this call created.
 */
export async function planIncrementalRuns(db: DbOrTx, windows: PlannedWindow[]): Promise<string[]> {
  if (windows.length === 0) return [];
  const connectionIds = [...new Set(windows.map((w) => w.connectionId))].sort();
  return db.transaction(async (tx) => {
    await tx.execute(sql`
      select pg_advisory_xact_lock(${SEQUENCE_LOCK_NAMESPACE}, hashtext(c))
      from unnest(${`{${connectionIds.join(',')}}`}::text[]) as c order by c`);
    const inserted = await rows<{ id: string }>(
      tx,
      sql`
        with input as (
          select r.connection_id, r.program_id, r.window_start, r.window_end
          from json_to_recordset(${windowsJson(windows)}::json)
            as r(connection_id uuid, program_id bigint, window_start timestamptz, window_end timestamptz)
          where not exists (
            select 1 from export_runs e
            where e.connection_id = r.connection_id and e.export_type = 'incremental' and e.window_start = r.window_start)
        ), numbered as (
          select i.*, row_number() over (partition by i.connection_id order by i.window_start)
            + coalesce((select max(e.sequence) from export_runs e
                        where e.connection_id = i.connection_id and e.export_type = 'incremental'), 0) as sequence
          from input i
        )
        insert into export_runs (connection_id, program_id, export_type, window_start, window_end, planned_xid, sequence)
        select connection_id, program_id, 'incremental', window_start, window_end, (select pg_current_xact_id()::text::bigint), sequence
        from numbered
        on conflict (connection_id, export_type, window_start) do nothing
        returning id`,
    );
    return inserted.map((r) => r.id);
  });
}

/**
 * plan (historical): the request's monthly chunks as planned historical runs, numbered 1, 2, 3 …
 * in window order (the request's own sequence). A chunk that an earlier request exported is planned
 * again for this one, unless it is being worked on now (generating, delivering); a chunk of this same
 * request is always planned again. Each keeps the rows its window held when planned (rows_expected),
 * which weights the request's progress. The ids of the runs now planned for the request.
 */
export async function planHistoricalRuns(db: DbOrTx, requestId: string, windows: PlannedMonth[]): Promise<string[]> {
  if (windows.length === 0) return [];
  const ordered = [...windows].sort((a, b) => a.windowStart.getTime() - b.windowStart.getTime());
  const planned = await rows<{ id: string; status: string }>(
    db,
    sql`
      insert into export_runs (connection_id, program_id, export_type, window_start, window_end, historical_request_id, sequence, rows_expected)
      select connection_id, program_id, 'historical', window_start, window_end, ${requestId}::uuid, sequence, rows_expected
      from json_to_recordset(${windowsJson(ordered, true)}::json)
        as r(connection_id uuid, program_id bigint, window_start timestamptz, window_end timestamptz, sequence int, rows_expected bigint)
      on conflict (connection_id, export_type, window_start) do update
        set historical_request_id = excluded.historical_request_id, window_end = excluded.window_end, sequence = excluded.sequence,
            rows_expected = excluded.rows_expected,
            status = 'planned', attempt = 0, error_code = null, error_message = null, updated_at = now()
        where export_runs.status not in ('generating', 'delivering') or export_runs.historical_request_id = excluded.historical_request_id
      returning id, status`,
  );
  return planned.filter((r) => r.status === 'planned').map((r) => r.id);
}

// ---------------------------------------------------------------------------------------------
// The export step

export type ClaimedExport = {
  id: string;
  programId: number;
  connectionId: string;
  historicalRequestId: string | null;
  kind: ConnectionKind;
  attempt: number;
  /** The attempt's fencing token: pass it to every later transition of this attempt. */
  claim: number;
};

/**
 * Whether a planned run must still wait for transactions that were open when it was planned: one of
 * them may have inserted rows inside the window (ingested_at is the insert's time) and commit them
 * later. The run was planned after its window closed, by a transaction whose id is larger than that
 * of every transaction that had written by then; once every transaction with a smaller id has ended,
 * no row of the window can appear any more. (The planner's transaction has committed when the run
 * is seen, so the current snapshot lists every such transaction still running.) Read-only
 * transactions (exports, page loads) take no transaction id and never hold a window back.
 * A transaction seen working in another database cannot write this one's rows: it is left out
 * (snapshots span the whole server). One whose database cannot be seen is counted.
 * (An SQL expression over the run `r`.)
 */
const heldByOpenTransaction = sql`r.planned_xid is not null and exists (
    select 1 from pg_snapshot_xip(pg_current_snapshot()) as x(xid)
    where x.xid::text::bigint < r.planned_xid
      and not exists (
        select 1 from pg_stat_activity a
        where a.datname is not null and a.datname <> current_database()
          and a.backend_xid::text::bigint = x.xid::text::bigint % 4294967296))`;

/**
 * claim for export: planned → generating, counting the attempt, when its connection is active and
 * not deleted and (for a historical chunk) its request is still open. Only one worker wins a claim.
 * While a transaction that may still commit rows into the window is open, the claim waits (refused
 * with `waiting`) for at most `maxWaitSeconds` since the run was planned; past that it goes ahead
 * and says so (`waitedPastBound`). One statement: the check and the move see the same snapshot.
 */
export async function claimRunForExport(
  db: DbOrTx,
  runId: string,
  opts: { maxWaitSeconds?: number } = {},
): Promise<Moved<{ run: ClaimedExport; waitedPastBound: boolean }> | WaitingRefusal> {
  const bound = Number.isFinite(opts.maxWaitSeconds) ? opts.maxWaitSeconds! : null;
  const [row] = await rows<{
    open: boolean;
    waited: number;
    id: string | null;
    program_id: number;
    connection_id: string;
    historical_request_id: string | null;
    kind: ConnectionKind;
    attempt: number;
    claim: number;
  }>(
    db,
    sql`
      with held as (
        select r.id, ${heldByOpenTransaction} as open, extract(epoch from now() - r.created_at)::float8 as waited
        from export_runs r where r.id = ${runId} and r.status = 'planned'
      ), moved as (
        update export_runs r set status = 'generating', attempt = r.attempt + 1, claim = r.claim + 1, started_at = coalesce(r.started_at, now()),
          error_code = null, error_message = null, rows_written = 0, progress_at = null, updated_at = now()
        from connections c, held
        where r.id = held.id and c.id = r.connection_id and r.status = 'planned'
          and (not held.open or (${bound}::float8 is not null and held.waited >= ${bound}::float8))
          and c.status = 'active' and c.deleted_at is null
          and (r.historical_request_id is null
               or exists (select 1 from historical_requests h where h.id = r.historical_request_id and h.status in ('pending', 'running')))
        returning r.id, r.program_id, r.connection_id, r.historical_request_id, c.kind, r.attempt, r.claim
      )
      select held.open, held.waited, moved.* from held left join moved on true`,
  );
  const waitedSeconds = Number(row?.waited ?? 0);
  const waitedPastBound = !!row?.open && bound !== null && waitedSeconds >= bound;
  if (row?.open && !waitedPastBound) return { ok: false, reason: 'waiting', from: 'planned', waitedSeconds };
  if (!row?.id) return refusal(db, runId, ['planned']);
  return {
    ok: true,
    to: 'generating',
    waitedPastBound,
    run: {
      id: row.id,
      programId: Number(row.program_id),
      connectionId: row.connection_id,
      historicalRequestId: row.historical_request_id,
      kind: row.kind,
      attempt: row.attempt,
      claim: Number(row.claim),
    },
  };
}

/**
 * heartbeat: a worker still working on the run (generating, delivering) says so; the state stays.
 * With the worker's claim, only while that claim holds the run (a stopped worker that resumes does
 * not keep its successor's run alive).
 */
export async function beatRunHeartbeat(db: DbOrTx, runId: string, claim?: number): Promise<Moved> {
  const moved = await db
    .update(exportRuns)
    .set({ updatedAt: sql`now()` })
    .where(and(eq(exportRuns.id, runId), inArray(exportRuns.status, ['generating', 'delivering']), sameClaim(claim)))
    .returning({ status: exportRuns.status });
  return moved[0] ? { ok: true, to: moved[0].status } : refusal(db, runId, [], claim);
}

/**
 * progress (export): the rows the export has written so far, while the run is generating in the
 * attempt that reports them (a late report of an earlier attempt changes nothing). The state stays;
 * the write counts as a heartbeat. Callers throttle it (about once a second).
 */
export async function recordExportProgress(
  db: DbOrTx,
  runId: string,
  p: { attempt: number; rowsWritten: number; claim?: number },
): Promise<Moved> {
  const moved = await db
    .update(exportRuns)
    .set({ rowsWritten: p.rowsWritten, progressAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(exportRuns.id, runId), eq(exportRuns.status, 'generating'), eq(exportRuns.attempt, p.attempt), sameClaim(p.claim)))
    .returning({ status: exportRuns.status });
  return moved[0] ? { ok: true, to: moved[0].status } : refusal(db, runId, ['generating'], p.claim);
}

export type RunTotals = {
  rowsTotal: number;
  bytesTotal: number;
  filesCount: number;
  generatedAt: Date;
  /** The source's own count of the window per data file type (export_runs.source_rows). */
  sourceRows?: Record<string, number>;
};

/**
 * record files: the totals of the files just made for the run (which are recorded in export_files
 * in the same transaction). Allowed while the run is planned or generating; the state stays.
 */
export async function recordRunFiles(db: DbOrTx, run: { id: string; programId: number }, totals: RunTotals): Promise<Moved> {
  const moved = await db
    .update(exportRuns)
    .set({ ...totals, updatedAt: sql`now()` })
    .where(and(eq(exportRuns.id, run.id), eq(exportRuns.programId, run.programId), inArray(exportRuns.status, ['planned', 'generating'])))
    .returning({ status: exportRuns.status });
  return moved[0] ? { ok: true, to: moved[0].status } : refusal(db, run.id);
}

/**
 * publish (export): generating → generated (SFTP, to deliver) | available (API) | empty (no rows),
 * with the totals of the files just made, only while `claim` still holds the run. The caller records
 * the files in export_files in the same transaction, after this statement (which locks the run's
 * row): a refusal rolls them back, so a record only ever points at the files of the attempt that
 * owned the run when it published.
 */
export async function publishRunExport(
  db: DbOrTx,
  run: { id: string; programId: number; claim: number },
  totals: RunTotals,
  to: 'generated' | 'available' | 'empty',
): Promise<Moved> {
  const moved = await db
    .update(exportRuns)
    .set({ ...totals, status: to, updatedAt: sql`now()`, finishedAt: to === 'generated' ? null : sql`now()` })
    .where(
      and(eq(exportRuns.id, run.id), eq(exportRuns.programId, run.programId), eq(exportRuns.status, 'generating'), sameClaim(run.claim)),
    )
    .returning({ id: exportRuns.id });
  return moved[0] ? { ok: true, to } : refusal(db, run.id, [], run.claim);
}

/** finish export: generating → generated (SFTP, to deliver) | available (API) | empty (no rows). */
export async function finishRunExport(db: DbOrTx, runId: string, to: 'generated' | 'available' | 'empty', claim?: number): Promise<Moved> {
  const moved = await db
    .update(exportRuns)
    .set({ status: to, updatedAt: sql`now()`, finishedAt: to === 'generated' ? null : sql`now()` })
    .where(and(eq(exportRuns.id, runId), eq(exportRuns.status, 'generating'), sameClaim(claim)))
    .returning({ id: exportRuns.id });
  return moved[0] ? { ok: true, to } : refusal(db, runId, [], claim);
}

/** hand back (export): generating → planned, the attempt not counted (pause immediately, shutdown). */
export async function handBackRunExport(db: DbOrTx, runId: string, claim?: number): Promise<Moved> {
  const moved = await db
    .update(exportRuns)
    .set({ status: 'planned', updatedAt: sql`now()`, attempt: sql`greatest(${exportRuns.attempt} - 1, 0)` })
    .where(and(eq(exportRuns.id, runId), eq(exportRuns.status, 'generating'), sameClaim(claim)))
    .returning({ id: exportRuns.id });
  return moved[0] ? { ok: true, to: 'planned' } : refusal(db, runId, [], claim);
}

/** cancel (export): generating → cancelled, when its historical request was cancelled mid-export. */
export async function cancelRunExport(db: DbOrTx, runId: string, claim?: number): Promise<Moved> {
  const moved = await db
    .update(exportRuns)
    .set({ status: 'cancelled', updatedAt: sql`now()`, finishedAt: sql`now()`, attempt: sql`greatest(${exportRuns.attempt} - 1, 0)` })
    .where(and(eq(exportRuns.id, runId), eq(exportRuns.status, 'generating'), sameClaim(claim)))
    .returning({ id: exportRuns.id });
  return moved[0] ? { ok: true, to: 'cancelled' } : refusal(db, runId, [], claim);
}

/**
 * fail (export): generating → planned with the error recorded (another attempt follows), or, when
 * `final`, → failed.
 */
export async function failRunExport(db: DbOrTx, runId: string, e: { message: string; final: boolean; claim?: number }): Promise<Moved> {
  const to = e.final ? 'failed' : 'planned';
  const moved = await db
    .update(exportRuns)
    .set({
      status: to,
      errorCode: 'export_failed',
      errorMessage: e.message.slice(0, 1000),
      updatedAt: sql`now()`,
      finishedAt: e.final ? sql`now()` : null,
    })
    .where(and(eq(exportRuns.id, runId), eq(exportRuns.status, 'generating'), sameClaim(e.claim)))
    .returning({ id: exportRuns.id });
  return moved[0] ? { ok: true, to } : refusal(db, runId, [], e.claim);
}

// ---------------------------------------------------------------------------------------------
// The delivery step (every kind DDE pushes to: KIND_PUSHES)

/**
 * claim for delivery: generated → delivering, when its connection (a kind DDE delivers to) is active and not deleted —
 * or pausing after transfer, for a run that was already being exported or delivered when that pause
 * was chosen (the transfer it belongs to is finished first).
 */
export async function claimRunForDelivery(db: DbOrTx, runId: string): Promise<Moved<{ claim: number }>> {
  const [claimed] = await rows<{ id: string; claim: number }>(
    db,
    sql`
      update export_runs r set status = 'delivering', claim = r.claim + 1, next_attempt_at = null, updated_at = now()
      from connections c
      where r.id = ${runId} and c.id = r.connection_id and r.status = 'generated'
        and c.kind in ${pushedKinds} and c.deleted_at is null
        and (c.status = 'active' or (c.status = 'pausing' and r.finish_before_pause))
      returning r.id, r.claim`,
  );
  return claimed ? { ok: true, to: 'delivering', claim: Number(claimed.claim) } : refusal(db, runId, ['generated']);
}

/**
 * hold: inside a transaction, locks the run's row while it is delivering under `claim` and answers
 * whether it is; the lock lasts until the transaction ends. A delivery renames onto the customer's
 * final names while it holds the run: stale recovery skips a held row, so the attempt cannot lose
 * its claim between this check and the rename.
 */
export async function holdRunClaim(tx: DbOrTx, runId: string, claim: number, status: RunStatus = 'delivering'): Promise<Moved> {
  const [row] = await rows<{ status: RunStatus; claim: number }>(
    tx,
    sql`select status, claim from export_runs where id = ${runId} for update`,
  );
  if (!row) return { ok: false, reason: 'not_found' };
  if (Number(row.claim) !== claim) return { ok: false, reason: 'claim_lost', from: row.status, claim: Number(row.claim) };
  if (row.status !== status) return { ok: false, reason: 'illegal_transition', from: row.status };
  return { ok: true, to: row.status };
}

/**
 * record attempt: a `running` delivery attempt of a delivering run, numbered after the attempts
 * that counted (aborted ones do not). The state stays.
 */
export async function recordDeliveryAttempt(
  db: DbOrTx,
  runId: string,
  a: { destination: string; trigger: 'schedule' | 'manual'; claim?: number },
): Promise<Moved<{ delivery: { id: string; attempt: number } }>> {
  const [delivery] = await rows<{ id: string; attempt: number }>(
    db,
    sql`
      insert into deliveries (run_id, connection_id, program_id, destination, attempt, trigger, status, started_at)
      select r.id, r.connection_id, r.program_id, ${a.destination},
             (select count(*)::int from deliveries d where d.run_id = r.id and d.status <> 'aborted') + 1,
             ${a.trigger}, 'running', now()
      from export_runs r
      where r.id = ${runId} and r.status = 'delivering' and (${a.claim ?? null}::int is null or r.claim = ${a.claim ?? null}::int)
      returning id, attempt`,
  );
  return delivery ? { ok: true, to: 'delivering', delivery } : refusal(db, runId, [], a.claim);
}

/**
 * progress (delivery): the bytes the SFTP server has acknowledged so far of the attempt's total,
 * while the run is delivering and this attempt is the running one (an aborted or finished attempt
 * keeps what it had). The state stays; the write counts as a heartbeat. Callers throttle it.
 */
export async function recordDeliveryProgress(
  db: DbOrTx,
  runId: string,
  deliveryId: string,
  p: { bytesDone: number; bytesTotal: number },
): Promise<Moved> {
  const [moved] = await rows<{ id: string }>(
    db,
    sql`
      with run as (
        update export_runs r set updated_at = now()
        where r.id = ${runId} and r.status = 'delivering'
          and exists (select 1 from deliveries d where d.id = ${deliveryId} and d.run_id = r.id and d.status = 'running')
        returning r.id
      ), attempt as (
        update deliveries set bytes_done = ${p.bytesDone}, bytes_total = ${p.bytesTotal}, progress_at = now()
        where id = ${deliveryId} and status = 'running' and run_id in (select id from run)
        returning id
      )
      select id from run`,
  );
  return moved ? { ok: true, to: 'delivering' } : refusal(db, runId, ['delivering']);
}

/**
 * The run's change and its running attempt's outcome, in one statement; a row only when the run
 * moved. Fenced by the attempt: the run moves only while this delivery attempt is its running one
 * (stale recovery aborts it) and, given, while `claim` holds the run.
 */
async function settleDelivery(
  db: DbOrTx,
  runId: string,
  deliveryId: string,
  run: ReturnType<typeof sql>,
  attempt: ReturnType<typeof sql>,
  claim?: number,
): Promise<{ finished_at: unknown; status: RunStatus } | undefined> {
  const [moved] = await rows<{ finished_at: unknown; status: RunStatus }>(
    db,
    sql`
      with run as (
        update export_runs r set ${run}, updated_at = now()
        where r.id = ${runId} and r.status = 'delivering' and (${claim ?? null}::int is null or r.claim = ${claim ?? null}::int)
          and exists (select 1 from deliveries d where d.id = ${deliveryId} and d.run_id = r.id and d.status = 'running')
        returning r.id, r.status, now() as finished_at
      ), attempt as (
        update deliveries set ${attempt}, finished_at = now()
        where id = ${deliveryId} and status = 'running' and run_id in (select id from run)
        returning id
      )
      select finished_at, status from run`,
  );
  return moved;
}

/**
 * delivered: delivering → delivered, or → empty for an empty window (its manifest alone was
 * delivered); the attempt succeeded. When, by the database's clock.
 */
export async function markRunDelivered(
  db: DbOrTx,
  runId: string,
  deliveryId: string,
  result: { files: number; bytes: number; empty?: boolean },
  claim?: number,
): Promise<Moved<{ finishedAt: Date }>> {
  const moved = await settleDelivery(
    db,
    runId,
    deliveryId,
    sql`status = ${result.empty ? 'empty' : 'delivered'}, error_code = null, error_message = null, finished_at = now()`,
    sql`status = 'succeeded', files = ${result.files}, bytes = ${result.bytes}`,
    claim,
  );
  return moved ? { ok: true, to: moved.status, finishedAt: toDate(moved.finished_at) } : refusal(db, runId, [], claim);
}

/** schedule retry: delivering → generated, due again after the backoff; the attempt failed (retryable). */
export async function scheduleDeliveryRetry(
  db: DbOrTx,
  runId: string,
  deliveryId: string,
  e: { code: string; message: string; retryInSeconds: number },
  claim?: number,
): Promise<Moved> {
  const moved = await settleDelivery(
    db,
    runId,
    deliveryId,
    sql`status = 'generated', error_code = ${e.code}, error_message = ${e.message},
        next_attempt_at = now() + make_interval(secs => ${e.retryInSeconds})`,
    sql`status = 'failed', error_code = ${e.code}, error_message = ${e.message}, retryable = true`,
    claim,
  );
  return moved ? { ok: true, to: 'generated' } : refusal(db, runId, [], claim);
}

/** fail (delivery): delivering → failed; the attempt failed (non-retryable, the last one, or no files). */
export async function failRunDelivery(
  db: DbOrTx,
  runId: string,
  deliveryId: string,
  e: { code: string; message: string; retryable: boolean },
  claim?: number,
): Promise<Moved> {
  const moved = await settleDelivery(
    db,
    runId,
    deliveryId,
    sql`status = 'failed', error_code = ${e.code}, error_message = ${e.message}, finished_at = now()`,
    sql`status = 'failed', error_code = ${e.code}, error_message = ${e.message}, retryable = ${e.retryable}`,
    claim,
  );
  return moved ? { ok: true, to: 'failed' } : refusal(db, runId, [], claim);
}

/** hand back (delivery): delivering → generated; the attempt aborted (pause immediately, shutdown). */
export async function handBackRunDelivery(db: DbOrTx, runId: string, deliveryId: string, message: string, claim?: number): Promise<Moved> {
  const moved = await settleDelivery(
    db,
    runId,
    deliveryId,
    sql`status = 'generated'`,
    sql`status = 'aborted', error_message = ${message}`,
    claim,
  );
  return moved ? { ok: true, to: 'generated' } : refusal(db, runId, [], claim);
}

/** cancel (delivery): delivering → cancelled, its historical request cancelled; the attempt aborted. */
export async function cancelRunDelivery(db: DbOrTx, runId: string, deliveryId: string, message: string, claim?: number): Promise<Moved> {
  const moved = await settleDelivery(
    db,
    runId,
    deliveryId,
    sql`status = 'cancelled', finished_at = now()`,
    sql`status = 'aborted', error_message = ${message}`,
    claim,
  );
  return moved ? { ok: true, to: 'cancelled' } : refusal(db, runId, [], claim);
}

// ---------------------------------------------------------------------------------------------
// Management and the sweep

/**
 * retry: failed → generated (its files are delivered again; attempts go on counting) or → planned
 * (exported again from the first attempt). The caller checks that the files have not expired.
 */
export async function retryFailedRun(db: DbOrTx, runId: string, to: 'generated' | 'planned'): Promise<Moved> {
  const moved = await db
    .update(exportRuns)
    .set({
      status: to,
      ...(to === 'planned' ? { attempt: 0 } : {}),
      errorCode: null,
      errorMessage: null,
      nextAttemptAt: null,
      finishedAt: null,
      updatedAt: sql`now()`,
    })
    .where(and(eq(exportRuns.id, runId), eq(exportRuns.status, 'failed')))
    .returning({ id: exportRuns.id });
  return moved[0] ? { ok: true, to } : refusal(db, runId);
}

/** cancel: a cancelled historical request's runs that have not started (planned) or wait for delivery (generated) → cancelled. */
export async function cancelRequestRuns(db: DbOrTx, requestId: string): Promise<string[]> {
  const moved = await db
    .update(exportRuns)
    .set({ status: 'cancelled', updatedAt: sql`now()`, finishedAt: sql`now()` })
    .where(and(eq(exportRuns.historicalRequestId, requestId), inArray(exportRuns.status, ['planned', 'generated'])))
    .returning({ id: exportRuns.id });
  return moved.map((r) => r.id);
}

/**
 * finish before pause: "Pause after transfer" was chosen; the connection's runs being exported or
 * delivered now are marked to be delivered before it pauses. Their state stays. The ids marked.
 */
export async function markRunsToFinishBeforePause(db: DbOrTx, connectionId: string): Promise<string[]> {
  const marked = await db
    .update(exportRuns)
    .set({ finishBeforePause: true })
    .where(and(eq(exportRuns.connectionId, connectionId), inArray(exportRuns.status, ['generating', 'delivering'])))
    .returning({ id: exportRuns.id });
  return marked.map((r) => r.id);
}

/** Clears those marks (resume, pause immediately, stop): the runs wait like any other. */
export async function clearFinishBeforePause(db: DbOrTx, connectionId: string): Promise<void> {
  await db
    .update(exportRuns)
    .set({ finishBeforePause: false })
    .where(and(eq(exportRuns.connectionId, connectionId), eq(exportRuns.finishBeforePause, true)));
}

/**
 * recover stale: runs whose worker has not beaten the heartbeat for `staleAfterSeconds` go back —
 * generating → planned (the attempt not counted), delivering → generated with its running attempt
 * aborted — in one statement. A run whose row a worker holds (holdRunClaim, a publish in progress)
 * is left alone: that worker still owns it. The ids to export again and to deliver again.
 */
export async function recoverStaleRuns(db: DbOrTx, staleAfterSeconds: number): Promise<{ export: string[]; delivery: string[] }> {
  const moved = await rows<{ id: string; status: string }>(
    db,
    sql`
      with stale as (
        select id from export_runs
        where status in ('generating', 'delivering') and updated_at < now() - make_interval(secs => ${staleAfterSeconds})
        for update skip locked
      ), moved as (
        update export_runs r set status = case r.status when 'generating' then 'planned' else 'generated' end,
          attempt = case r.status when 'generating' then greatest(r.attempt - 1, 0) else r.attempt end,
          updated_at = now()
        from stale where r.id = stale.id
        returning r.id, r.status
      ), aborted as (
        update deliveries set status = 'aborted', finished_at = now(),
          error_message = 'The worker stopped during the upload; the delivery was handed to another worker.'
        where status = 'running' and run_id in (select id from moved where status = 'generated')
        returning id
      )
      select id, status from moved`,
  );
  return {
    export: moved.filter((r) => r.status === 'planned').map((r) => r.id),
    delivery: moved.filter((r) => r.status === 'generated').map((r) => r.id),
  };
}
