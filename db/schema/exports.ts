// The window ledger (export_runs), the files each run produced, and their deliveries.
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { connections, historicalRequests } from './connections';
import { COMPRESSIONS, DELIVERY_STATUSES, EXPORT_TYPES, FILE_FORMATS, FILE_TYPES, RUN_STATUSES } from './enums';
import { programs } from './source';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export { EXPORT_TYPES, RUN_STATUSES, FILE_TYPES, DELIVERY_STATUSES, type ExportType, type RunStatus, type FileType } from './enums';

export const exportRuns = pgTable(
  'export_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    connectionId: uuid('connection_id').notNull(),
    /** The connection's program (the pair references the connection, so the two always agree). */
    programId: bigint('program_id', { mode: 'number' }).notNull(),
    exportType: text('export_type', { enum: EXPORT_TYPES }).notNull(),
    windowStart: timestamp('window_start', { withTimezone: true, mode: 'date' }).notNull(),
    windowEnd: timestamp('window_end', { withTimezone: true, mode: 'date' }).notNull(),
    historicalRequestId: uuid('historical_request_id').references(() => historicalRequests.id),
    status: text('status', { enum: RUN_STATUSES }).notNull().default('planned'),
    attempt: integer('attempt').notNull().default(0),
    /**
     * The fencing token: every claim (export or delivery) adds one, nothing ever lowers it. A worker
     * keeps the value its claim answered, and each of its later transitions (progress, heartbeat,
     * publish, hand back, fail, delivered…) compares it in the same statement: a worker whose claim
     * has moved on changes nothing. An export attempt's files live under a folder named after it.
     */
    claim: integer('claim').notNull().default(0),
    /**
     * The window's place in its sequence, set once when the run is planned (the run ledger): 1, 2, 3 …
     * per connection for incremental windows, per historical request for its monthly chunks. Its
     * manifest carries it, so a receiver can tell a missing window from an empty one.
     */
    sequence: integer('sequence'),
    rowsTotal: bigint('rows_total', { mode: 'number' }).notNull().default(0),
    /**
     * The rows the source held for the window when it was exported, per data file type: counted by
     * a query of its own (not the files' rows), so a reconciliation can hold one against the other.
     * Null for runs exported before this was recorded, and until the run is exported.
     */
    sourceRows: jsonb('source_rows').$type<Record<string, number>>(),
    bytesTotal: bigint('bytes_total', { mode: 'number' }).notNull().default(0),
    filesCount: integer('files_count').notNull().default(0),
    /**
     * Rows the source held in the window when the run was planned (a historical request's months): what
     * the request's progress is weighted by before the month is exported. Null: not counted.
     */
    rowsExpected: bigint('rows_expected', { mode: 'number' }),
    /** Rows the current export attempt has written so far (live progress, at most about once a second). */
    rowsWritten: bigint('rows_written', { mode: 'number' }).notNull().default(0),
    /** When the export's progress was last written; null before the attempt's first report. */
    progressAt: ts('progress_at'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    /** A delivery retry waits until then (exponential backoff); the sweep honours it. */
    nextAttemptAt: ts('next_attempt_at'),
    /**
     * The transaction id of the planner's transaction that created the run (after the window closed).
     * The export waits until every older transaction has ended, so a row inserted inside the window by
     * a transaction that commits late is still in the file.
     */
    plannedXid: bigint('planned_xid', { mode: 'number' }),
    /** Set on runs already exporting or delivering when "Pause after transfer" was chosen: they are delivered before the pause. */
    finishBeforePause: boolean('finish_before_pause').notNull().default(false),
    createdAt: ts('created_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    generatedAt: ts('generated_at'),
    finishedAt: ts('finished_at'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    unique('export_runs_window_unique').on(t.connectionId, t.exportType, t.windowStart),
    // One foreign key for the pair (the connection's program is the connection's): a planned run costs
    // one check, and a run can never name another program than its connection's.
    foreignKey({
      name: 'export_runs_connection_program_fk',
      columns: [t.connectionId, t.programId],
      foreignColumns: [connections.id, connections.programId],
    }),
    index('export_runs_status_idx').on(t.status, t.updatedAt),
    // Only historical runs have a request: incremental runs (most of them) add no entry.
    index('export_runs_historical_idx')
      .on(t.historicalRequestId)
      .where(sql`${t.historicalRequestId} is not null`),
    // A connection's event history, newest window first (listRuns), in large catalogs.
    index('export_runs_program_connection_window_idx').on(t.programId, t.connectionId, t.windowStart, t.id),
    // No two incremental windows of a connection share a place in its sequence.
    uniqueIndex('export_runs_incremental_sequence_unique')
      .on(t.connectionId, t.sequence)
      .where(sql`${t.exportType} = 'incremental'`),
  ],
);
export type ExportRun = typeof exportRuns.$inferSelect;

export const exportFiles = pgTable(
  'export_files',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: uuid('run_id')
      .notNull()
      .references(() => exportRuns.id),
    programId: bigint('program_id', { mode: 'number' })
      .notNull()
      .references(() => programs.id),
    fileType: text('file_type', { enum: FILE_TYPES }).notNull(),
    exportType: text('export_type', { enum: EXPORT_TYPES }).notNull(),
    /** Part number for files split past a sheet's row limit (xlsx); 1 otherwise. */
    part: integer('part').notNull().default(1),
    name: text('name').notNull(),
    storageKey: text('storage_key').notNull(),
    windowStart: timestamp('window_start', { withTimezone: true, mode: 'date' }).notNull(),
    windowEnd: timestamp('window_end', { withTimezone: true, mode: 'date' }).notNull(),
    rows: bigint('rows', { mode: 'number' }).notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    format: text('format', { enum: FILE_FORMATS }).notNull(),
    compression: text('compression', { enum: COMPRESSIONS }).notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    expiresAt: ts('expires_at').notNull(),
    expired: boolean('expired').notNull().default(false),
    expiredAt: ts('expired_at'),
    /** A manifest's detached signature (the `.sig` file's content); null for data files. */
    signature: text('signature'),
  },
  (t) => [
    unique('export_files_run_name_unique').on(t.runId, t.name),
    index('export_files_program_type_created_idx').on(t.programId, t.fileType, t.createdAt, t.id),
    index('export_files_expires_idx').on(t.expiresAt),
    // Folder listing (one row per run, newest first) and the files of given runs, in large catalogs.
    index('export_files_program_created_run_idx').on(t.programId, t.createdAt, t.runId),
    index('export_files_program_run_idx').on(t.programId, t.runId, t.fileType, t.part),
  ],
);
export type ExportFile = typeof exportFiles.$inferSelect;

export const DELIVERY_ERROR_CODES = [
  'auth_failed',
  'host_key_mismatch',
  'dns',
  'refused',
  'timeout',
  'permission_denied',
  'folder_missing',
  'no_space',
  'wrong_region',
  'throttled',
  'unknown',
] as const;
export type DeliveryErrorCode = (typeof DELIVERY_ERROR_CODES)[number];

export const deliveries = pgTable(
  'deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: uuid('run_id')
      .notNull()
      .references(() => exportRuns.id),
    connectionId: uuid('connection_id')
      .notNull()
      .references(() => connections.id),
    programId: bigint('program_id', { mode: 'number' })
      .notNull()
      .references(() => programs.id),
    destination: text('destination').notNull(),
    attempt: integer('attempt').notNull(),
    trigger: text('trigger', { enum: ['schedule', 'manual'] })
      .notNull()
      .default('schedule'),
    status: text('status', { enum: DELIVERY_STATUSES }).notNull().default('running'),
    files: integer('files').notNull().default(0),
    bytes: bigint('bytes', { mode: 'number' }).notNull().default(0),
    /** Live progress of the upload: bytes the server acknowledged of the attempt's bytes_total, last written at progress_at. */
    bytesDone: bigint('bytes_done', { mode: 'number' }).notNull().default(0),
    bytesTotal: bigint('bytes_total', { mode: 'number' }),
    progressAt: ts('progress_at'),
    errorCode: text('error_code', { enum: DELIVERY_ERROR_CODES }),
    errorMessage: text('error_message'),
    retryable: boolean('retryable'),
    startedAt: ts('started_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
  },
  (t) => [index('deliveries_run_idx').on(t.runId), index('deliveries_program_idx').on(t.programId, t.startedAt)],
);
export type Delivery = typeof deliveries.$inferSelect;
