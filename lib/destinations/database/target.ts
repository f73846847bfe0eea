// What both database dialects implement: make the tables (additively), load one file of one window
// exactly once, and read back the ledger of loads. lib/destinations/database/load.ts drives a run
// through it; postgres.ts and mysql.ts speak each server's language.
import type { ExportType } from '@/db/schema/enums';
import type { DataFileType } from '@/lib/exports/columns';
import type { LedgerEntry } from './dialect';
import type { LoadFile, OpenSource } from './source';
import type { Dialect } from './tables';

export type Fence = <T>(commit: () => Promise<T>) => Promise<T>;

export type LoadWindow = {
  connectionId: string;
  runId: string;
  exportType: ExportType;
  windowStart: Date;
  windowEnd: Date;
};

export type LoadedFile = {
  fileType: DataFileType;
  table: string;
  /** Rows in the file. */
  rows: number;
  /** Rows inserted or updated by this load (0 when already loaded). */
  applied: number;
  status: 'loaded' | 'already_loaded';
};

export type TableChanges = { created: string[]; addedColumns: string[] };

/** One row of `_dde_loads`, as the Loaded tables panel shows it. */
export type LoadRecord = {
  runId: string;
  exportType: string;
  windowStart: Date;
  windowEnd: Date;
  fileType: string;
  tableName: string;
  rows: number;
  applied: number;
  sha256: string;
  schemaVersion: number;
  loadedAt: Date;
};

/** What `_dde_loads` says of one table: the Loaded tables panel's row. */
export type LoadedTable = {
  fileType: string;
  tableName: string;
  /** Rows of every window loaded into it (0 for a window without rows of its type). */
  rows: number;
  /** Windows recorded for it (each export type counts its own). */
  windows: number;
  /** The newest load: its window, rows and time. */
  last: { exportType: string; windowStart: Date; windowEnd: Date; rows: number; loadedAt: Date };
};

export type TargetOptions = {
  /** How long a statement waits for a lock held by someone else before the load is retried later (default 30 s). */
  lockTimeoutMs?: number;
  /** Rows per INSERT into MySQL's staging table (default 500). */
  batchRows?: number;
};

export interface DatabaseTarget {
  readonly dialect: Dialect;
  /** Creates missing tables, indexes and columns; checks existing columns can hold the export's values. */
  ensureTables(): Promise<TableChanges>;
  /**
   * Loads one file in one transaction with its `_dde_loads` row, unless that row is already there.
   * `fence` wraps the COMMIT (a delivery attempt commits only while it still holds its run).
   */
  loadFile(window: LoadWindow, file: LoadFile, open: OpenSource, fence?: Fence): Promise<LoadedFile>;
  /**
   * Records, in one transaction, that the window has no rows of these file types: one `_dde_loads`
   * row each, rows 0 (a row already there stays). `fence` wraps the COMMIT, as for loadFile.
   */
  recordNoRows(window: LoadWindow, entries: LedgerEntry[], fence?: Fence): Promise<LoadedFile[]>;
  /** Per table, what `_dde_loads` records of a connection's loads (none when the ledger does not exist yet). */
  loadedTables(connectionId: string): Promise<LoadedTable[]>;
  /** The newest `_dde_loads` rows of a connection. */
  recentLoads(connectionId: string, limit: number): Promise<LoadRecord[]>;
  close(): Promise<void>;
}
