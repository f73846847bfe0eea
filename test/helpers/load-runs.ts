// Runs with real export files for the database-load suites: a window of a connection is put in the
// run ledger and exported by generateRun (the one generation path), and its recorded files are
// handed to the loader as a run's delivery would. loadSuite is the suites' one set-up: DDE's test
// database, a storage folder, a seeded program, its connection and its exported windows.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll } from 'vitest';
import { connections, exportFiles, exportRuns } from '@/db/schema';
import type { ExportType } from '@/db/schema/enums';
import { loadRun, type LoadRunResult } from '@/lib/destinations/database/load';
import type { DatabaseSettings } from '@/lib/destinations/database/settings';
import type { LoadFile, OpenSource } from '@/lib/destinations/database/source';
import type { LoadWindow, TargetOptions } from '@/lib/destinations/database/target';
import { generateRun } from '@/lib/exports';
import { seedProgram, type SeedOptions } from '@/lib/seed';
import { LocalStorage, type Storage } from '@/lib/storage';
import type { Window } from '@/lib/windows';
import { useTestEnv } from './auth';
import { createTestDatabase, type TestDatabase } from './db';

export type ExportedWindow = { window: LoadWindow; files: LoadFile[] };

export async function insertConnection(t: TestDatabase, programId: number, startDate: Date): Promise<string> {
  const [conn] = await t.db
    .insert(connections)
    .values({ programId, kind: 'api', frequency: 'every_4_hours', startDate, format: 'csv' })
    .returning();
  return conn.id;
}

export async function exportWindow(
  t: TestDatabase,
  storage: Storage,
  connectionId: string,
  programId: number,
  w: Window,
  exportType: ExportType = 'incremental',
): Promise<ExportedWindow> {
  const [run] = await t.db
    .insert(exportRuns)
    .values({ connectionId, programId, exportType, windowStart: w.start, windowEnd: w.end })
    .returning();
  await generateRun(t, run.id, { storage });
  return {
    window: { connectionId, runId: run.id, exportType, windowStart: w.start, windowEnd: w.end },
    files: await loadFilesOf(t, run.id),
  };
}

/** A run's data files as the loader takes them. */
export async function loadFilesOf(t: TestDatabase, runId: string): Promise<LoadFile[]> {
  const rows = await t.db
    .select()
    .from(exportFiles)
    .where(and(eq(exportFiles.runId, runId)));
  return rows
    .filter((f) => f.fileType !== 'manifest')
    .map((f) => ({
      fileType: f.fileType as LoadFile['fileType'],
      name: f.name,
      storageKey: f.storageKey,
      rows: Number(f.rows),
      bytes: Number(f.bytes),
      sha256: f.sha256,
      format: f.format,
      compression: f.compression,
    }));
}

/** A run's manifest: its name and sha256 (as the `_dde_loads` rows of types without rows name it) and its document. */
export async function manifestOf(
  t: TestDatabase,
  storage: Storage,
  runId: string,
): Promise<{ name: string; sha256: string; document: { rows: number; files: unknown[] } }> {
  const [m] = await t.db
    .select()
    .from(exportFiles)
    .where(and(eq(exportFiles.runId, runId), eq(exportFiles.fileType, 'manifest')));
  const chunks: Buffer[] = [];
  for await (const chunk of await storage.get(m.storageKey)) chunks.push(Buffer.from(chunk as Buffer));
  const document = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { rows: number; files: unknown[] };
  return { name: m.name, sha256: m.sha256, document };
}

export const opener =
  (storage: Storage): OpenSource =>
  (key) =>
    storage.get(key);

export type LoadSuite = {
  t: TestDatabase;
  root: string;
  storage: LocalStorage;
  connectionId: string;
  /** The exported incremental windows, in the order given. */
  windows: ExportedWindow[];
  /** The exported historical windows (a backfill), in the order given. */
  historical: ExportedWindow[];
  /** Loads an exported window with its stored files. */
  load: (w: ExportedWindow, settings: DatabaseSettings, password: string, options?: TargetOptions) => Promise<LoadRunResult>;
};

/**
 * A database-load suite's set-up and tear-down, registered where it is called (a file or a
 * describe): DDE's test database, a local storage folder, the program seeded, a connection starting
 * at `start`, and `windows` (and `historical`) exported. The fields are filled in by beforeAll.
 */
export function loadSuite(opts: {
  seed: SeedOptions;
  start: Date;
  windows: Window[];
  historical?: Window[];
  /** The storage folder's name prefix in the temporary directory. */
  tmp: string;
  timeoutMs?: number;
}): LoadSuite {
  const load: LoadSuite['load'] = (w, settings, password, options) =>
    loadRun({ settings, password, window: w.window, files: w.files, open: opener(suite.storage), options });
  const suite = { windows: [], historical: [], load } as unknown as LoadSuite;
  beforeAll(async () => {
    suite.t = await createTestDatabase();
    useTestEnv(suite.t);
    suite.root = mkdtempSync(path.join(os.tmpdir(), opts.tmp));
    suite.storage = new LocalStorage(suite.root);
    const programId = opts.seed.programId;
    await seedProgram(suite.t, opts.seed);
    suite.connectionId = await insertConnection(suite.t, programId, opts.start);
    for (const w of opts.windows) suite.windows.push(await exportWindow(suite.t, suite.storage, suite.connectionId, programId, w));
    for (const w of opts.historical ?? [])
      suite.historical.push(await exportWindow(suite.t, suite.storage, suite.connectionId, programId, w, 'historical'));
  }, opts.timeoutMs ?? 180_000);
  afterAll(async () => {
    await suite.t?.drop();
    if (suite.root) rmSync(suite.root, { recursive: true, force: true });
  });
  return suite;
}
