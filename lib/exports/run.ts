// generateRun: makes the files of one export_runs row and records them. Idempotent — running it
// again for the same run replaces the run's files and export_files rows instead of adding more —
// because job handlers run at least once.
//
// Fencing: each attempt writes into a folder of its own (`<program>/<run>/a<claim>-<tag>/`, names.ts),
// which no other attempt writes, renames into or deletes while a record points at it. A worker's
// attempt (`publish` given) publishes through the run ledger's publish transition: the run moves on
// (generating → generated | available | empty) and the file records are replaced in one transaction,
// only while the attempt's claim still holds the run. An attempt that lost its claim publishes
// nothing, removes its own folder and throws ClaimLostError; the published files stay as they are.
// Without `publish` (tools, tests) the run's state does not change; the ledger records the totals.
import { randomBytes } from 'node:crypto';
import type { Database } from '@/db/client';
import { replaceRunFiles, type ReplacedFile } from '@/db/queries/export-files';
import { publishRunExport, recordRunFiles } from '@/db/queries/run-ledger';
import { findPreviousWindowEnd, findRunToExport, tryLockRunForTool, unlockRunForTool } from '@/db/queries/runs';
import { kindPushes, type ConnectionKind } from '@/db/schema/connections';
import { now } from '@/lib/clock';
import { env } from '@/lib/env';
import { AppError } from '@/lib/http/errors';
import { freezePoint } from '@/lib/freeze-point';
import { childLogger } from '@/lib/logger';
import { getStorage, type Storage } from '@/lib/storage';
import { ClaimLostError, ExportAbortedError, RunBusyError } from './errors';
import { generateExportFiles, type ExportFileDescriptor, type ExportProgress, type GeneratedFiles } from './generate';
import { attemptKeyPrefix, sidecarKey } from './names';
import { signManifest } from './signing';

export type GenerateRunOptions = {
  storage?: Storage;
  signal?: AbortSignal;
  onProgress?: (p: ExportProgress) => void;
  xlsxRowsPerPart?: number;
  /**
   * A worker's attempt: the claim its claim for export answered, and the connection's kind. The files
   * are published with the run's next state (no advisory lock: the claim fences the attempt).
   */
  publish?: { claim: number; kind: ConnectionKind };
};

export type GenerateRunResult = GeneratedFiles & {
  runId: string;
  /** True when the window had no rows: no data files, a manifest listing none. */
  empty: boolean;
  /** Data files (the manifest not counted); what export_runs.files_count now says. */
  filesCount: number;
  /** With `publish`: the state the run was published in. */
  publishedAs?: 'generated' | 'available' | 'empty';
};

const DAY_MS = 86_400_000;

/**
 * Generates the files of run `runId` (its connection's format, its window and export type), inserts
 * their export_files rows (the manifest too), and sets rows_total / bytes_total / files_count /
 * generated_at on the run (and, with `publish`, moves it on). Throws AppError('not_found') for an
 * unknown run, RunBusyError when another tool is generating it (without `publish`), ClaimLostError
 * when the attempt's claim moved on, ExportAbortedError when `signal` aborts (nothing recorded).
 */
export async function generateRun(database: Database, runId: string, opts: GenerateRunOptions = {}): Promise<GenerateRunResult> {
  const { db, sql } = database;
  const storage = opts.storage ?? getStorage();
  const log = childLogger({ module: 'exports', runId });

  const found = await findRunToExport(db, runId);
  if (!found) throw new AppError('not_found', `Export run ${runId} was not found.`);
  const { run, connection, program } = found;

  const publish = opts.publish;
  const keyPrefix = attemptKeyPrefix(program.id, run.id, publish?.claim ?? run.claim, randomBytes(4).toString('hex'));
  const lock = await sql.reserve();
  try {
    if (!publish) {
      const locked = await tryLockRunForTool(lock, runId);
      if (!locked) throw new RunBusyError(runId);
    }
    try {
      const generated = await generateExportFiles({
        sql,
        controlSql: lock, // idle while the files are made: cancelling never waits for the pool
        storage,
        keyPrefix,
        program: { id: program.id, anonymizePii: program.anonymizePii, pseudonymKey: program.pseudonymKey },
        window: { start: run.windowStart, end: run.windowEnd },
        exportType: run.exportType,
        format: connection.format,
        runId: run.id,
        connectionId: connection.id,
        sequence: run.sequence,
        previousWindowEnd: await findPreviousWindowEnd(db, run),
        historicalRequestId: run.historicalRequestId,
        signManifest: (bytes) => signManifest(database.db, bytes),
        signal: opts.signal,
        onProgress: opts.onProgress,
        xlsxRowsPerPart: opts.xlsxRowsPerPart,
      });
      const newKeys = new Set(generated.files.flatMap((f) => [f.key, f.sidecarKey!]));
      newKeys.add(generated.manifest.key);

      // This attempt's own files, when they are not to be recorded (nothing else is ever in its folder).
      const withdraw = () => Promise.all([...newKeys].map((k) => storage.delete(k).catch(() => undefined)));
      if (opts.signal?.aborted) {
        // Aborted after the files were made but before they were recorded: withdraw them.
        await withdraw();
        throw new ExportAbortedError();
      }
      freezePoint('export:publish');

      const createdAt = now();
      const expiresAt = new Date(createdAt.getTime() + env().retentionDays * DAY_MS);
      const record = (f: ExportFileDescriptor, signature: string | null = null) => ({
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
        signature,
        createdAt,
        expiresAt,
      });
      const rowsToInsert = [...generated.files.map((f) => record(f)), record(generated.manifest, generated.manifest.signature)];

      const totals = {
        rowsTotal: generated.rowsTotal,
        sourceRows: generated.sourceRows,
        bytesTotal: generated.bytesTotal,
        filesCount: generated.files.length,
        generatedAt: generated.generatedAt,
      };
      const empty = generated.files.length === 0;
      // An empty window's manifest is delivered like any other: a pushed run waits for its delivery
      // (which settles it as empty), an API run is empty at once (its manifest is in the feed).
      const publishedAs = publish ? (kindPushes(publish.kind) ? 'generated' : empty ? 'empty' : 'available') : undefined;
      let previous: ReplacedFile[];
      try {
        previous = await db.transaction(async (tx) => {
          // The run's row first: the publish transition (or, for a tool, the totals) locks it, so the
          // claim it checked still holds when the records below commit.
          const moved = publish
            ? await publishRunExport(tx, { id: run.id, programId: program.id, claim: publish.claim }, totals, publishedAs!)
            : await recordRunFiles(tx, { id: run.id, programId: program.id }, totals);
          if (!moved.ok) {
            // The run moved on while its files were made: this attempt records nothing (the rollback).
            if (moved.reason === 'claim_lost') throw new ClaimLostError(run.id, publish!.claim, moved.claim);
            throw new ExportAbortedError();
          }
          return replaceRunFiles(tx, { id: run.id, programId: program.id }, rowsToInsert);
        });
      } catch (err) {
        // Known rollbacks only: after any other error the commit's outcome is unknown, and the
        // sweep (which checks the records) removes the files if nothing points at them.
        if (err instanceof ClaimLostError || err instanceof ExportAbortedError) await withdraw();
        throw err;
      }

      // Files of an earlier attempt that this attempt did not make again (e.g. a user file whose
      // members have since moved on to a later window) go away with their records.
      const stale = previous
        .flatMap((p) => (p.fileType === 'manifest' ? [p.key] : [p.key, sidecarKey(p.key)]))
        .filter((k) => !newKeys.has(k));
      await Promise.all(
        stale.map((k) => storage.delete(k).catch((err) => log.warn({ err, key: k }, 'could not delete a stale export file'))),
      );

      log.info({ files: generated.files.length, rows: generated.rowsTotal, bytes: generated.bytesTotal }, 'export run generated');
      return { ...generated, runId: run.id, empty, filesCount: generated.files.length, publishedAs };
    } finally {
      if (!publish) await unlockRunForTool(lock, runId).catch(() => undefined);
    }
  } finally {
    lock.release();
  }
}
