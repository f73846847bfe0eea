// Loads one run (one window of one connection) into the customer's database: the tables are made
// or extended first, then users, campaigns and activity, each file in its own transaction with its
// `_dde_loads` row. A file already recorded there is skipped, so a retry after a crash, a second
// worker or a run delivered again loads nothing twice; a historical window overlapping scheduled
// ones adds only the events not there yet, and a user or campaign only when newer. A file type the
// window has no rows of (an empty window: all three) gets its `_dde_loads` row too, rows 0, naming
// the run's manifest: every loaded window has one row per file type, so a gap is visible.
import { LoadError } from './errors';
import { MysqlTarget } from './mysql';
import { PostgresTarget } from './postgres';
import type { DatabaseSettings } from './settings';
import type { LoadFile, OpenSource } from './source';
import { LOAD_ORDER } from './tables';
import type { DatabaseTarget, Fence, LoadedFile, LoadedTable, LoadWindow, TableChanges, TargetOptions } from './target';

export async function openTarget(settings: DatabaseSettings, password: string, opts: TargetOptions = {}): Promise<DatabaseTarget> {
  return settings.engine === 'postgres' ? PostgresTarget.open(settings, password, opts) : MysqlTarget.open(settings, password, opts);
}

export type LoadRunInput = {
  settings: DatabaseSettings;
  password: string;
  window: LoadWindow;
  /** The run's data files (the manifest is not loaded). */
  files: LoadFile[];
  /**
   * The run's manifest, which the `_dde_loads` row of a file type without rows names (file name and
   * sha256); without it those rows name no file.
   */
  manifest?: { name: string; sha256: string };
  open: OpenSource;
  signal?: AbortSignal;
  options?: TargetOptions;
  /** Wraps each file's COMMIT: a delivery attempt commits only while it holds its run (fencing). */
  fence?: Fence;
  /** After each file (for progress). */
  onFile?: (loaded: LoadedFile) => void;
};

export type LoadRunResult = {
  files: LoadedFile[];
  /** The file types the window has no rows of, recorded in `_dde_loads` with rows 0. */
  noRows: LoadedFile[];
  tables: TableChanges;
};

export async function loadRun(input: LoadRunInput): Promise<LoadRunResult> {
  const target = await openTarget(input.settings, input.password, input.options);
  // An abort (pause immediately, a stopping worker) closes the connection: the open transaction is
  // rolled back by the server, and the window is loaded by a later attempt.
  const onAbort = () => void target.close();
  input.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const tables = await target.ensureTables();
    const files: LoadedFile[] = [];
    for (const type of LOAD_ORDER) {
      for (const file of input.files.filter((f) => f.fileType === type)) {
        if (input.signal?.aborted) throw new LoadError('interrupted', 'The load was stopped before it finished');
        const loaded = await target.loadFile(input.window, file, input.open, input.fence);
        files.push(loaded);
        input.onFile?.(loaded);
      }
    }
    const present = new Set(input.files.map((f) => f.fileType));
    const absent = LOAD_ORDER.filter((type) => !present.has(type));
    if (input.signal?.aborted) throw new LoadError('interrupted', 'The load was stopped before it finished');
    const noRows = absent.length
      ? await target.recordNoRows(
          input.window,
          absent.map((fileType) => ({ fileType, name: input.manifest?.name ?? '', rows: 0, sha256: input.manifest?.sha256 ?? '' })),
          input.fence,
        )
      : [];
    return { files, noRows, tables };
  } catch (err) {
    if (input.signal?.aborted) throw new LoadError('interrupted', 'The load was stopped before it finished', { cause: err });
    throw err;
  } finally {
    input.signal?.removeEventListener('abort', onAbort);
    await target.close();
  }
}

/** What the customer's `_dde_loads` records of a connection, per table (the Loaded tables panel). */
export async function readLoadedTables(settings: DatabaseSettings, password: string, connectionId: string): Promise<LoadedTable[]> {
  const target = await openTarget(settings, password);
  try {
    return await target.loadedTables(connectionId);
  } finally {
    await target.close();
  }
}
