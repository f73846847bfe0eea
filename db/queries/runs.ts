// Export runs as the event history shows them: a connection's runs newest window first, with their
// files and delivery attempts, and the per-run numbers behind the connection's charts. Every query
// names the program. Lists are keyset-paginated on (window_start, id): the cursor is the id of the
// last run shown, so runs planned between two page requests never shift what follows.
import { and, asc, desc, eq, exists, gt, gte, inArray, isNotNull, lt, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx, Sql } from '@/db/client';
import {
  connections,
  deliveries,
  exportFiles,
  exportRuns,
  programs,
  type Connection,
  type Delivery,
  type ExportFile,
  type ExportRun,
  type ExportType,
  type FileType,
  type Program,
  type RunStatus,
} from '@/db/schema';

export type ListRunsParams = {
  programId: number;
  connectionId: string;
  statuses?: RunStatus[];
  fileType?: FileType;
  exportType?: ExportType;
  /** Runs whose window ends after this instant. */
  from?: Date;
  /** Runs whose window starts before this instant. */
  to?: Date;
  /** The id of the last run of the previous page. */
  afterId?: string;
  limit: number;
};

/** A connection's runs, newest window first (historical and incremental runs interleaved by window). */
export async function listRuns(db: DbOrTx, p: ListRunsParams): Promise<ExportRun[]> {
  const conditions: (SQL | undefined)[] = [
    eq(exportRuns.programId, p.programId),
    eq(exportRuns.connectionId, p.connectionId),
    p.statuses?.length ? inArray(exportRuns.status, p.statuses) : undefined,
    p.exportType ? eq(exportRuns.exportType, p.exportType) : undefined,
    p.from ? gt(exportRuns.windowEnd, p.from) : undefined,
    p.to ? lt(exportRuns.windowStart, p.to) : undefined,
    p.fileType
      ? exists(
          db
            .select({ one: sql`1` })
            .from(exportFiles)
            .where(and(eq(exportFiles.runId, exportRuns.id), eq(exportFiles.programId, p.programId), eq(exportFiles.fileType, p.fileType))),
        )
      : undefined,
    p.afterId
      ? sql`(${exportRuns.windowStart}, ${exportRuns.id}) < (select r.window_start, r.id from export_runs r where r.id = ${p.afterId}::uuid and r.program_id = ${p.programId})`
      : undefined,
  ];
  return db
    .select()
    .from(exportRuns)
    .where(and(...conditions))
    .orderBy(desc(exportRuns.windowStart), desc(exportRuns.id))
    .limit(p.limit);
}

export async function findRun(db: DbOrTx, p: { programId: number; id: string }): Promise<ExportRun | undefined> {
  const [row] = await db
    .select()
    .from(exportRuns)
    .where(and(eq(exportRuns.programId, p.programId), eq(exportRuns.id, p.id)));
  return row;
}

/** findRun, locking the run's row for the rest of the transaction (an admin's retry judges it as it is). */
export async function lockRun(tx: DbOrTx, p: { programId: number; id: string }): Promise<ExportRun | undefined> {
  const [row] = await tx
    .select()
    .from(exportRuns)
    .where(and(eq(exportRuns.programId, p.programId), eq(exportRuns.id, p.id)))
    .for('update');
  return row;
}

/** The files of some runs (one program), in delivery order within each run. */
export async function listFilesOfRuns(db: DbOrTx, p: { programId: number; runIds: readonly string[] }): Promise<ExportFile[]> {
  if (p.runIds.length === 0) return [];
  return db
    .select()
    .from(exportFiles)
    .where(and(eq(exportFiles.programId, p.programId), inArray(exportFiles.runId, [...p.runIds])))
    .orderBy(asc(exportFiles.runId), asc(exportFiles.fileType), asc(exportFiles.part), asc(exportFiles.name));
}

/** The delivery attempts of some runs (one program), oldest attempt first. */
export async function listDeliveriesOfRuns(db: DbOrTx, p: { programId: number; runIds: string[] }): Promise<Delivery[]> {
  if (p.runIds.length === 0) return [];
  return db
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.programId, p.programId), inArray(deliveries.runId, p.runIds)))
    .orderBy(asc(deliveries.runId), asc(deliveries.attempt), asc(deliveries.startedAt));
}

export type LastDelivery = { connectionId: string; runId: string; status: RunStatus; finishedAt: Date };

/** The most recently finished run of each connection (delivered, available, empty or failed). */
export async function listLastFinishedRuns(db: DbOrTx, p: { programId: number; connectionIds: string[] }): Promise<LastDelivery[]> {
  if (p.connectionIds.length === 0) return [];
  const rows = await db
    .selectDistinctOn([exportRuns.connectionId], {
      connectionId: exportRuns.connectionId,
      runId: exportRuns.id,
      status: exportRuns.status,
      finishedAt: exportRuns.finishedAt,
    })
    .from(exportRuns)
    .where(
      and(
        eq(exportRuns.programId, p.programId),
        inArray(exportRuns.connectionId, p.connectionIds),
        inArray(exportRuns.status, ['delivered', 'available', 'empty', 'failed']),
        isNotNull(exportRuns.finishedAt),
      ),
    )
    .orderBy(exportRuns.connectionId, desc(exportRuns.finishedAt), desc(exportRuns.id));
  return rows.map((r) => ({ ...r, finishedAt: r.finishedAt! }));
}

export type RunStat = {
  windowStart: Date;
  windowEnd: Date;
  status: 'delivered' | 'available' | 'empty' | 'failed';
  rows: number;
  bytes: number;
  finishedAt: Date;
  /** When the planner wrote the run (a catch-up is planned long after its window closed). */
  plannedAt: Date;
};

const STAT_STATUSES: RunStat['status'][] = ['delivered', 'available', 'empty', 'failed'];

/**
 * Finished incremental runs whose window ended at or after `since`, oldest first (for the charts):
 * delivered, available, empty and failed ones. A window without a finished run (not planned while
 * paused or stopped, or still in flight) has no entry.
 */
export async function listRunStats(db: DbOrTx, p: { programId: number; connectionId: string; since: Date }): Promise<RunStat[]> {
  const rows = await db
    .select({
      windowStart: exportRuns.windowStart,
      windowEnd: exportRuns.windowEnd,
      status: exportRuns.status,
      rows: exportRuns.rowsTotal,
      bytes: exportRuns.bytesTotal,
      finishedAt: exportRuns.finishedAt,
      plannedAt: exportRuns.createdAt,
    })
    .from(exportRuns)
    .where(
      and(
        eq(exportRuns.programId, p.programId),
        eq(exportRuns.connectionId, p.connectionId),
        eq(exportRuns.exportType, 'incremental'),
        inArray(exportRuns.status, STAT_STATUSES),
        isNotNull(exportRuns.finishedAt),
        gte(exportRuns.windowEnd, p.since),
      ),
    )
    .orderBy(asc(exportRuns.windowStart));
  return rows.map((r) => ({ ...r, status: r.status as RunStat['status'], finishedAt: r.finishedAt! }));
}
/** Every month of some historical requests (one program), oldest window first: their progress and the months in flight. */
export async function listRunsOfRequests(db: DbOrTx, p: { programId: number; requestIds: string[] }): Promise<ExportRun[]> {
  if (p.requestIds.length === 0) return [];
  return db
    .select()
    .from(exportRuns)
    .where(and(eq(exportRuns.programId, p.programId), inArray(exportRuns.historicalRequestId, p.requestIds)))
    .orderBy(asc(exportRuns.windowStart), asc(exportRuns.id));
}

export type ListFailedDeliveriesParams = {
  programId: number;
  /** Only this connection's. */
  connectionId?: string;
  from?: Date;
  to?: Date;
  afterId?: string;
  limit: number;
};

/** Failed delivery attempts of a program, newest first; keyset on (started_at, id). */
export async function listFailedDeliveries(db: DbOrTx, p: ListFailedDeliveriesParams): Promise<Delivery[]> {
  return db
    .select()
    .from(deliveries)
    .where(
      and(
        eq(deliveries.programId, p.programId),
        eq(deliveries.status, 'failed'),
        p.connectionId ? eq(deliveries.connectionId, p.connectionId) : undefined,
        p.from ? gte(deliveries.startedAt, p.from) : undefined,
        p.to ? lt(deliveries.startedAt, p.to) : undefined,
        p.afterId
          ? sql`(${deliveries.startedAt}, ${deliveries.id}) < (select d.started_at, d.id from deliveries d where d.id = ${p.afterId}::uuid and d.program_id = ${p.programId})`
          : undefined,
      ),
    )
    .orderBy(desc(deliveries.startedAt), desc(deliveries.id))
    .limit(p.limit);
}

export type DeliveryTimingRows = {
  /** Per connection: lags (ms, window end → finished) of its newest live scheduled windows (at most `limit`), newest first. */
  lags: Map<string, number[]>;
  /** Per connection: its oldest scheduled window planned but not finished yet. */
  unfinished: Map<string, { start: Date; end: Date }>;
};

/**
 * What the next-delivery estimate needs of some connections (one program), in two statements: the
 * lags of their newest scheduled windows that were delivered live — planned within `liveWithinMs` of
 * their end, so a catch-up does not count — whose window started after `since`, and their oldest unfinished window.
 */
export async function listDeliveryTimings(
  db: DbOrTx,
  p: { programId: number; connectionIds: string[]; liveWithinMs: number; limit: number; since: Date },
): Promise<DeliveryTimingRows> {
  const out: DeliveryTimingRows = { lags: new Map(), unfinished: new Map() };
  if (p.connectionIds.length === 0) return out;
  const ids = `{${p.connectionIds.join(',')}}`;
  const lags = await db.execute<{ connection_id: string; lag_ms: string }>(sql`
    select c.id::text as connection_id, l.lag_ms::text as lag_ms
    from unnest(${ids}::uuid[]) as c(id)
    cross join lateral (
      select (extract(epoch from r.finished_at - r.window_end) * 1000)::bigint as lag_ms
      from export_runs r
      where r.program_id = ${p.programId} and r.connection_id = c.id and r.export_type = 'incremental'
        and r.status in ('delivered', 'available', 'empty') and r.finished_at is not null
        and r.window_start > ${p.since.toISOString()}::timestamptz
        and r.created_at <= r.window_end + make_interval(secs => ${p.liveWithinMs / 1000})
      order by r.window_start desc
      limit ${p.limit}
    ) l`);
  for (const r of lags) out.lags.set(r.connection_id, [...(out.lags.get(r.connection_id) ?? []), Number(r.lag_ms)]);
  const unfinished = await db.execute<{ connection_id: string; window_start: string; window_end: string }>(sql`
    select distinct on (connection_id) connection_id::text as connection_id, window_start, window_end
    from export_runs
    where program_id = ${p.programId} and connection_id = any(${ids}::uuid[]) and export_type = 'incremental'
      and status in ('planned', 'generating', 'generated', 'delivering')
    order by connection_id, window_start`);
  for (const r of unfinished) out.unfinished.set(r.connection_id, { start: new Date(r.window_start), end: new Date(r.window_end) });
  return out;
}

/**
 * The runs of one connection and export type whose window starts in [from, to), in window order
 * (window start, id) after `after`: the reconciliation of a feed (lib/export-api/reconciliation.ts), and
 * newest first the connection page's Completeness table (lib/management/completeness.ts).
 */
export async function listRunsForReconciliation(
  db: DbOrTx,
  p: {
    programId: number;
    connectionId: string;
    exportType: 'incremental' | 'historical';
    from?: Date;
    to?: Date;
    after?: { windowStart: string; id: string };
    limit: number;
    /** Oldest window first (the export API's reconciliation), or newest first (the Completeness table). */
    order?: 'asc' | 'desc';
  },
): Promise<ExportRun[]> {
  const desc_ = p.order === 'desc';
  return db
    .select()
    .from(exportRuns)
    .where(
      and(
        eq(exportRuns.programId, p.programId),
        eq(exportRuns.connectionId, p.connectionId),
        eq(exportRuns.exportType, p.exportType),
        p.from ? gte(exportRuns.windowStart, p.from) : undefined,
        p.to ? lt(exportRuns.windowStart, p.to) : undefined,
        p.after
          ? desc_
            ? sql`(${exportRuns.windowStart}, ${exportRuns.id}) < (${p.after.windowStart}::timestamptz, ${p.after.id}::uuid)`
            : sql`(${exportRuns.windowStart}, ${exportRuns.id}) > (${p.after.windowStart}::timestamptz, ${p.after.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(...(desc_ ? [desc(exportRuns.windowStart), desc(exportRuns.id)] : [asc(exportRuns.windowStart), asc(exportRuns.id)]))
    .limit(p.limit);
}

/** A run with its connection and program, as its export step needs them; undefined for an unknown run. */
export async function findRunToExport(
  db: DbOrTx,
  runId: string,
): Promise<{ run: ExportRun; connection: Connection; program: Program } | undefined> {
  const [found] = await db
    .select({ run: exportRuns, connection: connections, program: programs })
    .from(exportRuns)
    .innerJoin(connections, and(eq(connections.id, exportRuns.connectionId), eq(connections.programId, exportRuns.programId)))
    .innerJoin(programs, eq(programs.id, exportRuns.programId))
    .where(eq(exportRuns.id, runId))
    .limit(1);
  return found;
}

/** The end of the window before `run` in its sequence (its connection's, or its historical request's); null for the first. */
export async function findPreviousWindowEnd(
  db: DbOrTx,
  run: { connectionId: string; exportType: 'incremental' | 'historical'; sequence: number | null; historicalRequestId: string | null },
): Promise<Date | null> {
  if (run.sequence === null || run.sequence <= 1) return null;
  const [prev] = await db
    .select({ windowEnd: exportRuns.windowEnd })
    .from(exportRuns)
    .where(
      and(
        eq(exportRuns.connectionId, run.connectionId),
        eq(exportRuns.exportType, run.exportType),
        eq(exportRuns.sequence, run.sequence - 1),
        run.historicalRequestId ? eq(exportRuns.historicalRequestId, run.historicalRequestId) : undefined,
      ),
    )
    .limit(1);
  return prev?.windowEnd ?? null;
}

/** A run with its connection (the delivery step and the run's report); undefined for an unknown run. */
export async function findRunWithConnection(db: DbOrTx, runId: string): Promise<{ run: ExportRun; connection: Connection } | undefined> {
  const [row] = await db
    .select({ run: exportRuns, connection: connections })
    .from(exportRuns)
    .innerJoin(connections, eq(connections.id, exportRuns.connectionId))
    .where(eq(exportRuns.id, runId));
  return row;
}

/** A run's files in delivery order: by file type (data files before the manifest), then part. */
export async function listRunFiles(db: DbOrTx, run: { id: string; programId: number }): Promise<ExportFile[]> {
  return db
    .select()
    .from(exportFiles)
    .where(and(eq(exportFiles.runId, run.id), eq(exportFiles.programId, run.programId)))
    .orderBy(asc(exportFiles.fileType), asc(exportFiles.part));
}

/** A run's state, attempt and claim as they are now (read outside any transaction), or undefined when it is gone. */
export async function findRunClaim(sql: Sql, runId: string): Promise<{ status: string; attempt: number; claim: number } | undefined> {
  const [row] = await sql<{ status: string; attempt: number; claim: number }[]>`
      select status, attempt, claim from export_runs where id = ${runId}`;
  return row ? { status: row.status, attempt: row.attempt, claim: Number(row.claim) } : undefined;
}

/** What the run watchers look at for each run a process works on (lib/runs/watch.ts): its connection, its request, its claim. */
export type RunWatchState = {
  run_id: string;
  found: boolean;
  status: string | null;
  pause_mode: string | null;
  deleted: boolean;
  request_status: string | null;
  claim: string | null;
};

/** One statement for all the runs watched: their connections' state, their historical requests' and their claims. */
export async function listRunWatchStates(
  sql: Sql,
  runs: { id: string; connectionId: string; historicalRequestId: string | null }[],
): Promise<RunWatchState[]> {
  return sql<RunWatchState[]>`
        select w.run_id, c.id is not null as found, c.status, c.pause_mode, c.deleted_at is not null as deleted,
               h.status as request_status, r.claim
        from unnest(${runs.map((r) => r.id)}::uuid[], ${runs.map((r) => r.connectionId)}::uuid[],
                    ${runs.map((r) => r.historicalRequestId)}::uuid[]) as w(run_id, connection_id, request_id)
        left join connections c on c.id = w.connection_id
        left join historical_requests h on h.id = w.request_id
        left join export_runs r on r.id = w.run_id`;
}

/** Namespace of the advisory lock that keeps two tools from generating one run at once (without a claim). */
const RUN_LOCK_NAMESPACE = 727_003;

/** Takes the tools' lock on a run on `conn` (a reserved connection, which must release it); false when another holds it. */
export async function tryLockRunForTool(conn: Sql, runId: string): Promise<boolean> {
  const [{ locked }] = await conn<{ locked: boolean }[]>`select pg_try_advisory_lock(${RUN_LOCK_NAMESPACE}, hashtext(${runId})) as locked`;
  return locked;
}

export async function unlockRunForTool(conn: Sql, runId: string): Promise<void> {
  await conn`select pg_advisory_unlock(${RUN_LOCK_NAMESPACE}, hashtext(${runId}))`;
}

/** The delivery attempts a run has spent (an attempt aborted by a pause or a lost claim spends none). */
export async function countDeliveryAttempts(db: DbOrTx, runId: string): Promise<number> {
  const [{ n }] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(deliveries)
    .where(and(eq(deliveries.runId, runId), sql`${deliveries.status} <> 'aborted'`));
  return n;
}

/** The outcomes of a connection's finished incremental windows (finished since `since`, when given), newest window first. */
export async function listFinishedWindowStatuses(
  db: DbOrTx,
  p: { connectionId: string; since?: Date; limit: number },
): Promise<RunStatus[]> {
  const runs = await db
    .select({ status: exportRuns.status })
    .from(exportRuns)
    .where(
      and(
        eq(exportRuns.connectionId, p.connectionId),
        eq(exportRuns.exportType, 'incremental'),
        inArray(exportRuns.status, ['delivered', 'available', 'empty', 'failed']),
        p.since ? gte(exportRuns.finishedAt, p.since) : undefined,
      ),
    )
    .orderBy(desc(exportRuns.windowStart))
    .limit(p.limit);
  return runs.map((r) => r.status);
}

/** A connection's runs that finished in [from, to) as delivered, available or failed, in window order (the daily digest). */
export async function listRunsFinishedBetween(db: DbOrTx, p: { connectionId: string; from: Date; to: Date }): Promise<ExportRun[]> {
  return db
    .select()
    .from(exportRuns)
    .where(
      and(
        eq(exportRuns.connectionId, p.connectionId),
        inArray(exportRuns.status, ['delivered', 'available', 'failed']),
        gte(exportRuns.finishedAt, p.from),
        lt(exportRuns.finishedAt, p.to),
      ),
    )
    .orderBy(asc(exportRuns.windowStart));
}

// Reads for `dde status` (the raw client: numbers as the operator sees them)

/** Runs not finished: how many, how many whose window closed more than `lateAfterMinutes` ago, the oldest window end (epoch ms). */
export async function summarizeUnfinishedRuns(
  sql: Sql,
  p: { lateAfterMinutes: number },
): Promise<{ due: number; late: number; oldest: number | null }> {
  const [row] = await sql<{ due: number; late: number; oldest: number | null }[]>`
      select count(*)::int as due,
        count(*) filter (where window_end < now() - make_interval(mins => ${p.lateAfterMinutes}))::int as late,
        extract(epoch from min(window_end))::float8 * 1000 as oldest
      from export_runs where status in ('planned', 'generating', 'generated', 'delivering')`;
  return row;
}

/** Runs failed in the last 24 hours. */
export async function countRunsFailedLastDay(sql: Sql): Promise<number> {
  const [row] = await sql<
    { n: number }[]
  >`select count(*)::int as n from export_runs where status = 'failed' and finished_at > now() - interval '24 hours'`;
  return row.n;
}

/** Delivery attempts failed in the last 24 hours, by error code, most frequent first. */
export async function countDeliveriesFailedLastDay(sql: Sql): Promise<{ code: string; n: number }[]> {
  return sql<{ code: string; n: number }[]>`
      select coalesce(error_code, 'unknown') as code, count(*)::int as n from deliveries
      where status = 'failed' and finished_at > now() - interval '24 hours' group by 1 order by 2 desc`;
}

/** Every run counted by status and export type (/metrics). */
export async function countRunsByStatusAndType(sql: Sql): Promise<{ status: string; export_type: string; n: number }[]> {
  return sql<{ status: string; export_type: string; n: number }[]>`
          select status, export_type, count(*)::int as n from export_runs group by status, export_type`;
}
