// Runs with real export files for the database-load suites: a window of a connection is put in the
// run ledger and exported by generateRun (the one generation path), and its recorded files are
// handed to the loader as a run's delivery would.
import { and, eq } from 'drizzle-orm';
import { connections, exportFiles, exportRuns } from '@/db/schema';
import type { ExportType } from '@/db/schema/enums';
import type { LoadFile, OpenSource } from '@/lib/destinations/database/source';
import type { LoadWindow } from '@/lib/destinations/database/target';
import { generateRun } from '@/lib/exports';
import type { Storage } from '@/lib/storage';
import type { Window } from '@/lib/windows';
import type { TestDatabase } from './db';

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

export const opener =
  (storage: Storage): OpenSource =>
  (key) =>
    storage.get(key);
