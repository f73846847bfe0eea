// Export files: the only writer of `export_files` (a run's records replaced when its export is
// published, bytes expired by the retention sweep), and the reads of the Export API and the folder
// view. Every read of those names the program, and the Export API's also the connection (its feed:
// files of that connection's runs); "available" means not expired: neither marked expired by the
// retention sweep nor past expires_at. Lists are newest first, keyset-paginated on (created_at, id),
// which the export_files_program_type_created_idx index serves in both directions.
import { and, asc, desc, eq, gt, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Db, DbOrTx, Sql } from '@/db/client';
import { exportFiles, exportRuns, type ExportFile, type ExportType, type FileType, type RunStatus } from '@/db/schema';

/** A position in a newest-first list: created_at with microseconds (ISO, UTC) and the id that breaks ties. */
export type ListPosition = { createdAt: string; id: string };

/** created_at as text with every microsecond, so a position survives the trip through a cursor exactly. */
const createdAtExact = sql<string>`to_char(${exportFiles.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

function available(at: Date): SQL {
  return and(eq(exportFiles.expired, false), gt(exportFiles.expiresAt, at))!;
}

/** Files of the connection's runs. */
function ofConnection(connectionId: unknown): SQL {
  return sql`${exportFiles.runId} in (select ${exportRuns.id} from ${exportRuns} where ${exportRuns.connectionId} = ${connectionId}::uuid)`;
}

function prepareLatest(db: Db, withExportType: boolean) {
  return db
    .select()
    .from(exportFiles)
    .where(
      and(
        eq(exportFiles.programId, sql.placeholder('programId')),
        ofConnection(sql.placeholder('connectionId')),
        eq(exportFiles.fileType, sql.placeholder('fileType')),
        eq(exportFiles.expired, false),
        gt(exportFiles.expiresAt, sql`${sql.placeholder('at')}::timestamptz`),
        withExportType ? eq(exportFiles.exportType, sql.placeholder('exportType')) : undefined,
      ),
    )
    .orderBy(desc(exportFiles.createdAt), desc(exportFiles.id))
    .limit(1)
    .prepare(withExportType ? 'export_files_feed_latest_of_export_type' : 'export_files_feed_latest');
}

/** The hot path of the Export API: prepared once per pool, planned once per connection. */
const latestStatements = new WeakMap<Db, { any: ReturnType<typeof prepareLatest>; byExportType: ReturnType<typeof prepareLatest> }>();

/** The newest available file of a type of a connection, or undefined when there is none. */
export async function findLatestExportFile(
  db: Db,
  params: { programId: number; connectionId: string; fileType: FileType; at: Date; exportType?: ExportType },
): Promise<ExportFile | undefined> {
  let statements = latestStatements.get(db);
  if (!statements) {
    statements = { any: prepareLatest(db, false), byExportType: prepareLatest(db, true) };
    latestStatements.set(db, statements);
  }
  const values = { programId: params.programId, connectionId: params.connectionId, fileType: params.fileType, at: params.at.toISOString() };
  const [row] = params.exportType
    ? await statements.byExportType.execute({ ...values, exportType: params.exportType })
    : await statements.any.execute(values);
  return row;
}

export type ListExportFilesParams = {
  programId: number;
  connectionId: string;
  fileType: FileType;
  at: Date;
  limit: number;
  /** Only files strictly after this position in newest-first order (i.e. older). */
  after?: ListPosition;
  /** created_at ≥ since */
  since?: Date;
  /** created_at < until */
  until?: Date;
  exportType?: ExportType;
};

/** Available files of a type, newest first, each with its exact list position (for the next cursor). */
export async function listExportFiles(db: DbOrTx, params: ListExportFilesParams): Promise<(ExportFile & { position: ListPosition })[]> {
  const rows = await db
    .select({ file: exportFiles, createdAtExact })
    .from(exportFiles)
    .where(
      and(
        eq(exportFiles.programId, params.programId),
        ofConnection(params.connectionId),
        eq(exportFiles.fileType, params.fileType),
        available(params.at),
        params.exportType ? eq(exportFiles.exportType, params.exportType) : undefined,
        params.since ? gte(exportFiles.createdAt, params.since) : undefined,
        params.until ? lt(exportFiles.createdAt, params.until) : undefined,
        params.after
          ? sql`(${exportFiles.createdAt}, ${exportFiles.id}) < (${params.after.createdAt}::timestamptz, ${params.after.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(desc(exportFiles.createdAt), desc(exportFiles.id))
    .limit(params.limit);
  return rows.map((r) => ({ ...r.file, position: { createdAt: r.createdAtExact, id: r.file.id } }));
}

/** One file of a program by id, expired or not (callers decide what an expired file means). */
export async function findExportFile(db: DbOrTx, params: { programId: number; id: string }): Promise<ExportFile | undefined> {
  const [row] = await db
    .select()
    .from(exportFiles)
    .where(and(eq(exportFiles.programId, params.programId), eq(exportFiles.id, params.id)))
    .limit(1);
  return row;
}

/** One file of a connection by id, expired or not. */
export async function findFeedFile(
  db: DbOrTx,
  params: { programId: number; connectionId: string; id: string },
): Promise<ExportFile | undefined> {
  const [row] = await db
    .select()
    .from(exportFiles)
    .where(and(eq(exportFiles.programId, params.programId), eq(exportFiles.id, params.id), ofConnection(params.connectionId)))
    .limit(1);
  return row;
}

function prepareWindowFiles(db: Db) {
  const fileType = sql.placeholder('fileType');
  const at = sql`${sql.placeholder('at')}::timestamptz`;
  // The run's first available file of the type, in part order: export_files_program_run_idx reads
  // the run's files of the type in that order and stops at the first one not expired (no sort).
  const first = db
    .select()
    .from(exportFiles)
    .where(
      and(
        eq(exportFiles.programId, exportRuns.programId),
        eq(exportFiles.runId, exportRuns.id),
        eq(exportFiles.fileType, fileType),
        eq(exportFiles.expired, false),
        gt(exportFiles.expiresAt, at),
      ),
    )
    .orderBy(asc(exportFiles.part), asc(exportFiles.id))
    .limit(1)
    .as('first_available');
  // Only when none is available: whether the run had one that has expired since.
  const anyFile = alias(exportFiles, 'any_file');
  const expired = db
    .select({ id: anyFile.id })
    .from(anyFile)
    .where(
      and(
        sql`${first.id} is null`,
        eq(anyFile.programId, exportRuns.programId),
        eq(anyFile.runId, exportRuns.id),
        eq(anyFile.fileType, fileType),
      ),
    )
    .limit(1)
    .as('expired_file');
  return db
    .select({ runStatus: exportRuns.status, file: first._.selectedFields, expiredId: expired.id })
    .from(exportRuns)
    .leftJoinLateral(first, sql`true`)
    .leftJoinLateral(expired, sql`true`)
    .where(
      and(
        eq(exportRuns.connectionId, sql.placeholder('connectionId')),
        eq(exportRuns.exportType, 'incremental'),
        eq(exportRuns.windowStart, sql`${sql.placeholder('windowStart')}::timestamptz`),
      ),
    )
    .prepare('export_file_of_window');
}

const windowStatements = new WeakMap<Db, ReturnType<typeof prepareWindowFiles>>();

/**
 * A connection's incremental run of a window (the ledger has at most one per connection, export
 * type and window start) with its first available file of a type at `at` (by part), and whether
 * it had one that has expired since: undefined when the window has no run yet. One prepared
 * query, one row, no sort: the hot path of `latest`.
 */
export async function findWindowFiles(
  db: Db,
  params: { connectionId: string; windowStart: Date; fileType: FileType; at: Date },
): Promise<{ status: RunStatus; available: ExportFile | undefined; expired: boolean } | undefined> {
  let statement = windowStatements.get(db);
  if (!statement) windowStatements.set(db, (statement = prepareWindowFiles(db)));
  const [row] = await statement.execute({
    connectionId: params.connectionId,
    windowStart: params.windowStart.toISOString(),
    fileType: params.fileType,
    at: params.at.toISOString(),
  });
  if (!row) return undefined;
  return { status: row.runStatus, available: row.file ?? undefined, expired: row.expiredId !== null };
}

export type RunFolderRow = {
  runId: string;
  connectionId: string | null;
  position: ListPosition;
};

/**
 * The runs of a program that have files, newest first (a run's files share one created_at), one
 * row per run. Without `includeExpired`, only runs with at least one available file; with
 * `connectionId` / `exportType`, only that connection's runs / that export type's.
 */
export async function listRunFolders(
  db: DbOrTx,
  params: {
    programId: number;
    at: Date;
    limit: number;
    after?: ListPosition;
    includeExpired?: boolean;
    connectionId?: string;
    /** Only runs of these connections (an API client's own); none when empty. */
    connectionIds?: readonly string[];
    exportType?: ExportType;
  },
): Promise<RunFolderRow[]> {
  if (params.connectionIds && params.connectionIds.length === 0) return [];
  const newest = sql<string>`to_char(max(${exportFiles.createdAt}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
  const rows = await db
    .select({ runId: exportFiles.runId, newest, connectionId: exportRuns.connectionId })
    .from(exportFiles)
    .leftJoin(exportRuns, and(eq(exportRuns.id, exportFiles.runId), eq(exportRuns.programId, exportFiles.programId)))
    .where(
      and(
        eq(exportFiles.programId, params.programId),
        params.includeExpired ? undefined : available(params.at),
        params.connectionId ? eq(exportRuns.connectionId, params.connectionId) : undefined,
        params.connectionIds ? inArray(exportRuns.connectionId, [...params.connectionIds]) : undefined,
        params.exportType ? eq(exportFiles.exportType, params.exportType) : undefined,
      ),
    )
    .groupBy(exportFiles.runId, exportRuns.connectionId)
    .having(
      params.after
        ? sql`(max(${exportFiles.createdAt}), ${exportFiles.runId}) < (${params.after.createdAt}::timestamptz, ${params.after.id}::uuid)`
        : undefined,
    )
    .orderBy(desc(sql`max(${exportFiles.createdAt})`), desc(exportFiles.runId))
    .limit(params.limit);
  return rows.map((r) => ({ runId: r.runId, connectionId: r.connectionId, position: { createdAt: r.newest, id: r.runId } }));
}

/** What a replaced record pointed at: the export step deletes the objects it did not make again. */
export type ReplacedFile = { key: string; fileType: string; name: string };

/**
 * The run's file records replaced by `files` (the run's data files and its manifest). Called in the
 * transaction of the run ledger's publish transition (or its totals, for a tool), after it: the
 * records commit only while the attempt's claim holds the run. Returns the records replaced.
 */
export async function replaceRunFiles(
  tx: DbOrTx,
  run: { id: string; programId: number },
  files: (typeof exportFiles.$inferInsert)[],
): Promise<ReplacedFile[]> {
  const old = await tx
    .delete(exportFiles)
    .where(and(eq(exportFiles.runId, run.id), eq(exportFiles.programId, run.programId)))
    .returning({ key: exportFiles.storageKey, fileType: exportFiles.fileType, name: exportFiles.name });
  if (files.length) await tx.insert(exportFiles).values(files);
  return old;
}

export type FileToExpire = { id: string; storage_key: string; name: string; file_type: string; run_id: string; program_id: number };

/** Files past their expiry whose bytes are still kept, soonest expiry first (the retention sweep's batch). */
export async function listFilesToExpire(sql: Sql, p: { at: Date; limit: number }): Promise<FileToExpire[]> {
  return sql<FileToExpire[]>`
      select id, storage_key, name, file_type, run_id, program_id from export_files
      where not expired and expires_at <= ${p.at.toISOString()}::timestamptz
      order by expires_at limit ${p.limit}`;
}

/** Marks records expired (their bytes are deleted); the records stay for the event history. */
export async function markFilesExpired(sql: Sql, p: { ids: string[]; at: Date }): Promise<void> {
  await sql`update export_files set expired = true, expired_at = ${p.at.toISOString()}::timestamptz where id = any(${p.ids}::uuid[])`;
}

export type RunOfExpiredFiles = { id: string; program_id: number; status: string; claim: number };

/** Those of `runIds` whose files have all expired, with their state and claim (the attempt clean-up's backstop). */
export async function listRunsWithAllFilesExpired(sql: Sql, runIds: string[]): Promise<RunOfExpiredFiles[]> {
  return sql<RunOfExpiredFiles[]>`
      select r.id, r.program_id, r.status, r.claim from export_runs r
      where r.id = any(${runIds}::uuid[])
        and not exists (select 1 from export_files f where f.run_id = r.id and not f.expired)`;
}
