// generateRun: makes the files of one export_runs row and records them. Idempotent — running it
// again for the same run replaces the run's files and export_files rows instead of adding more —
// because job handlers run at least once. It does NOT change the run's status: the caller (the
// jobs worker) moves planned → generating → generated | empty | failed around it, through the run
// ledger (db/queries/run-ledger), which also records the run's totals here.
import { and, eq } from 'drizzle-orm';
import type { Database } from '@/db/client';
import { recordRunFiles } from '@/db/queries/run-ledger';
import { connections } from '@/db/schema/connections';
import { exportFiles, exportRuns } from '@/db/schema/exports';
import { programs } from '@/db/schema/source';
import { now } from '@/lib/clock';
import { env } from '@/lib/env';
import { AppError } from '@/lib/http/errors';
import { childLogger } from '@/lib/logger';
import { getStorage, type Storage } from '@/lib/storage';
import { ExportAbortedError, RunBusyError } from './errors';
import { generateExportFiles, type ExportFileDescriptor, type ExportProgress, type GeneratedFiles } from './generate';
import { runKeyPrefix, sidecarKey } from './names';

export type GenerateRunOptions = {
  storage?: Storage;
  signal?: AbortSignal;
  onProgress?: (p: ExportProgress) => void;
  xlsxRowsPerPart?: number;
};

export type GenerateRunResult = GeneratedFiles & {
  runId: string;
  /** True when the window had no rows: no files, no manifest (the caller marks the run `empty`). */
  empty: boolean;
  /** Data files (the manifest not counted); what export_runs.files_count now says. */
  filesCount: number;
};

/** Namespace of the advisory lock that keeps two workers from generating one run at once. */
const RUN_LOCK_NAMESPACE = 727_003;

const DAY_MS = 86_400_000;

/**
 * Generates the files of run `runId` (its connection's format, its window and export type), inserts
 * their export_files rows (the manifest too), and sets rows_total / bytes_total / files_count /
 * generated_at on the run. Throws AppError('not_found') for an unknown run, RunBusyError when another
 * worker is generating it, ExportAbortedError when `signal` aborts (nothing final left behind).
 */
export async function generateRun(database: Database, runId: string, opts: GenerateRunOptions = {}): Promise<GenerateRunResult> {
  const { db, sql } = database;
  const storage = opts.storage ?? getStorage();
  const log = childLogger({ module: 'exports', runId });

  const [found] = await db
    .select({ run: exportRuns, connection: connections, program: programs })
    .from(exportRuns)
    .innerJoin(connections, and(eq(connections.id, exportRuns.connectionId), eq(connections.programId, exportRuns.programId)))
    .innerJoin(programs, eq(programs.id, exportRuns.programId))
    .where(eq(exportRuns.id, runId))
    .limit(1);
  if (!found) throw new AppError('not_found', `Export run ${runId} was not found.`);
  const { run, connection, program } = found;

  const lock = await sql.reserve();
  try {
    const [{ locked }] = await lock<
      { locked: boolean }[]
    >`select pg_try_advisory_lock(${RUN_LOCK_NAMESPACE}, hashtext(${runId})) as locked`;
    if (!locked) throw new RunBusyError(runId);
    try {
      const generated = await generateExportFiles({
        sql,
        controlSql: lock, // idle while the files are made: cancelling never waits for the pool
        storage,
        keyPrefix: runKeyPrefix(program.id, run.id),
        program: { id: program.id, anonymizePii: program.anonymizePii, pseudonymKey: program.pseudonymKey },
        window: { start: run.windowStart, end: run.windowEnd },
        exportType: run.exportType,
        format: connection.format,
        runId: run.id,
        connectionId: connection.id,
        signal: opts.signal,
        onProgress: opts.onProgress,
        xlsxRowsPerPart: opts.xlsxRowsPerPart,
      });
      const newKeys = new Set(generated.files.flatMap((f) => [f.key, f.sidecarKey!]));
      if (generated.manifest) newKeys.add(generated.manifest.key);

      if (opts.signal?.aborted) {
        // Aborted after the files were published but before they were recorded: withdraw them.
        await Promise.all([...newKeys].map((k) => storage.delete(k).catch(() => undefined)));
        throw new ExportAbortedError();
      }

      const createdAt = now();
      const expiresAt = new Date(createdAt.getTime() + env().retentionDays * DAY_MS);
      const record = (f: ExportFileDescriptor) => ({
        runId: run.id,
        programId: program.id,
        fileType: f.fileType,
        exportType: run.exportType,
        part: f.part,
        name: f.name,
        storageKey: f.key,
        windowStart: run.windowStart,
        windowEnd: run.windowEnd,
        rows: f.rows,
        bytes: f.bytes,
        sha256: f.sha256,
        format: f.format,
        compression: f.compression,
        createdAt,
        expiresAt,
      });
      const rowsToInsert = [...generated.files.map(record), ...(generated.manifest ? [record(generated.manifest)] : [])];

      const previous = await db.transaction(async (tx) => {
        const old = await tx
          .delete(exportFiles)
          .where(and(eq(exportFiles.runId, run.id), eq(exportFiles.programId, program.id)))
          .returning({ key: exportFiles.storageKey, fileType: exportFiles.fileType, name: exportFiles.name });
        if (rowsToInsert.length) await tx.insert(exportFiles).values(rowsToInsert);
        const recorded = await recordRunFiles(
          tx,
          { id: run.id, programId: program.id },
          {
            rowsTotal: generated.rowsTotal,
            bytesTotal: generated.bytesTotal,
            filesCount: generated.files.length,
            generatedAt: generated.generatedAt,
          },
        );
        // The run moved on while its files were made (handed to another worker, cancelled): this
        // attempt's records are not kept (the rollback), and the run's new owner makes its own.
        if (!recorded.ok) throw new ExportAbortedError();
        return old;
      });

      // Files of an earlier attempt that this attempt did not make again (e.g. a user file whose
      // members have since moved on to a later window) go away with their records.
      const stale = previous
        .flatMap((p) => (p.fileType === 'manifest' ? [p.key] : [p.key, sidecarKey(p.key)]))
        .filter((k) => !newKeys.has(k));
      await Promise.all(
        stale.map((k) => storage.delete(k).catch((err) => log.warn({ err, key: k }, 'could not delete a stale export file'))),
      );

      log.info({ files: generated.files.length, rows: generated.rowsTotal, bytes: generated.bytesTotal }, 'export run generated');
      return { ...generated, runId: run.id, empty: generated.files.length === 0, filesCount: generated.files.length };
    } finally {
      await lock`select pg_advisory_unlock(${RUN_LOCK_NAMESPACE}, hashtext(${runId}))`.catch(() => undefined);
    }
  } finally {
    lock.release();
  }
}
