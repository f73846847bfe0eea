// Loads one run (one window of one connection) into the customer's database: the tables are made
// or extended first, then users, campaigns and activity, each file in its own transaction with its
// `_dde_loads` row. A file already recorded there is skipped, so a retry after a crash, a second
// worker or a run delivered again loads nothing twice; a historical window overlapping scheduled
// ones adds only the events not there yet, and a user or campaign only when newer.
import { LoadError } from './errors';
import { MysqlTarget } from './mysql';
import { PostgresTarget } from './postgres';
import type { DatabaseSettings } from './settings';
import type { LoadFile, OpenSource } from './source';
import { LOAD_ORDER } from './tables';
import type { DatabaseTarget, Fence, LoadedFile, LoadWindow, TableChanges, TargetOptions } from './target';

export async function openTarget(settings: DatabaseSettings, password: string, opts: TargetOptions = {}): Promise<DatabaseTarget> {
  return settings.engine === 'postgres' ? PostgresTarget.open(settings, password, opts) : MysqlTarget.open(settings, password, opts);
}

export type LoadRunInput = {
  settings: DatabaseSettings;
  password: string;
  window: LoadWindow;
  /** The run's data files (the manifest is not loaded). */
  files: LoadFile[];
  open: OpenSource;
  signal?: AbortSignal;
  options?: TargetOptions;
  /** Wraps each file's COMMIT: a delivery attempt commits only while it holds its run (fencing). */
  fence?: Fence;
  /** After each file (for progress). */
  onFile?: (loaded: LoadedFile) => void;
};

export type LoadRunResult = { files: LoadedFile[]; tables: TableChanges };

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
    return { files, tables };
  } catch (err) {
    if (input.signal?.aborted) throw new LoadError('interrupted', 'The load was stopped before it finished', { cause: err });
    throw err;
  } finally {
    input.signal?.removeEventListener('abort', onAbort);
    await target.close();
  }
}
