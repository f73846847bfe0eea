// The one generation path: (program, window, export type, format) → a run's files in storage.
// Scheduled runs (run.ts), historical chunks and `dde export` all call generateExportFiles, so a
// file made by hand is byte-for-byte what a scheduled run makes. Order of work:
//   1. each data file streams COPY → encode → storage under a hidden temporary key (csv/jsonl: several
//      COPYs over consecutive slices of the window at once, one gzip member each — chunked.ts);
//   2. sidecars and the manifest are written under temporary keys too;
//   3. only then everything is renamed to final names — data files, sidecars, the manifest last.
// A window without rows still gets its manifest (no data files, rows 0): "no data" is not "missing".
// An abort or error before step 3 deletes the temporaries, so no partial file is ever final.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Sql } from '@/db/client';
import type { ExportFormat } from '@/db/schema/connections';
import type { ExportType, FileType } from '@/db/schema/exports';
import type { COMPRESSIONS } from '@/db/schema/enums';
import { now } from '@/lib/clock';
import { freezePoint } from '@/lib/freeze-point';
import type { Storage } from '@/lib/storage';
import { assertValidPrefix } from '@/lib/storage';
import type { Window } from '@/lib/windows';
import { csvHeader, DATA_FILE_TYPES, headers, type DataFileType } from './columns';
import { openCopy, type CopySession } from './copy';
import { writeChunkedFile } from './chunked';
import { ExportAbortedError } from './errors';
import { buildManifest, type ManifestDocument } from './manifest';
import { dataFileName, isoSeconds, manifestName, sidecarContent, sidecarName } from './names';
import { copySql, countSql } from './sql';
import { PARQUET_COMPRESSION, writeParquetParts } from './parquet';
import { writeXlsxParts } from './xlsx';

/** How a file is compressed: gzip (csv, jsonl), zstd inside the file (parquet), none (xlsx, the manifest). */
export type Compression = (typeof COMPRESSIONS)[number];

export type ExportProgram = { id: number; anonymizePii: boolean; pseudonymKey: string };

export type ExportProgress = {
  fileType: DataFileType;
  /** Rows written to the current file so far. */
  fileRows: number;
  /** Rows written to all files of the run so far. */
  runRows: number;
};

export type GenerateFilesInput = {
  /** The pool the COPYs reserve their connections from. */
  sql: Sql;
  /** A connection the caller holds, used to cancel a COPY on abort (default: the pool). */
  controlSql?: Sql;
  storage: Storage;
  /** Folder of the run's files in storage: '' (a CLI output directory) or 'a/b/'. */
  keyPrefix: string;
  program: ExportProgram;
  window: Window;
  exportType: ExportType;
  format: ExportFormat;
  runId: string;
  /** Null when the files are made outside a connection (`dde export`). */
  connectionId: string | null;
  /** The window's place in its sequence, the end of the window before it, its historical request (null outside a connection). */
  sequence?: number | null;
  previousWindowEnd?: Date | null;
  historicalRequestId?: string | null;
  /** Signs the manifest's bytes: the detached signature recorded with it (lib/exports/signing.ts). */
  signManifest?: (bytes: Buffer) => Promise<string>;
  /** Which data files to make; all three by default. */
  fileTypes?: readonly DataFileType[];
  /** Defaults to now(); truncated to seconds. */
  generatedAt?: Date;
  signal?: AbortSignal;
  onProgress?: (p: ExportProgress) => void;
  /** Rows per xlsx part (tests lower it); capped at the sheet limit. */
  xlsxRowsPerPart?: number;
  /** Rows per parquet part (default DEFAULT_PARQUET_ROWS_PER_PART; tests lower it). */
  parquetRowsPerPart?: number;
  /** COPY streams at once for a csv/jsonl file (default DEFAULT_EXPORT_STREAMS). */
  streams?: number;
  /** Rows per slice of a csv/jsonl file, each its own gzip member (default DEFAULT_SLICE_ROWS; tests lower it). */
  sliceRows?: number;
  /** work_mem of each slice's COPY (default SLICE_WORK_MEM; null: the server's setting). */
  sliceWorkMem?: string | null;
};

export type ExportFileDescriptor = {
  fileType: FileType;
  /** 1-based; > 1 only for xlsx parts past the sheet limit and parquet parts of huge windows. */
  part: number;
  name: string;
  key: string;
  /** Storage key of the `.sha256` sidecar (null for the manifest, which has none). */
  sidecarKey: string | null;
  rows: number;
  bytes: number;
  sha256: string;
  format: ExportFormat | 'json';
  compression: Compression;
  /** Bytes before compression (csv/jsonl); 0 when not measured. Not part of the contract. */
  uncompressedBytes: number;
};

export type GeneratedFiles = {
  generatedAt: Date;
  /** Data files in manifest order (user, campaign, activity; xlsx parts in order). */
  files: ExportFileDescriptor[];
  /** Always written; an empty window's lists no files. `signature`: the detached signature, when signed. */
  manifest: ExportFileDescriptor & { document: ManifestDocument; signature: string | null };
  rowsTotal: number;
  /** The rows the source held for the window per data file type, counted apart from the files (sql.ts countSql). */
  sourceRows: Record<DataFileType, number>;
  /** Bytes of the data files (sidecars and manifest excluded). */
  bytesTotal: number;
};

function throwIfAborted(signal: AbortSignal | undefined) {
  if (signal?.aborted) throw new ExportAbortedError();
}

/** Writes one run's files into `storage` under `keyPrefix` and returns their descriptors and manifest. */
export async function generateExportFiles(input: GenerateFilesInput): Promise<GeneratedFiles> {
  const { storage, program, window, exportType, format, signal } = input;
  assertValidPrefix(input.keyPrefix);
  if (input.keyPrefix !== '' && !input.keyPrefix.endsWith('/')) throw new Error(`keyPrefix must be '' or end with '/': ${input.keyPrefix}`);
  if (!(window.end.getTime() > window.start.getTime())) throw new Error('the window must end after it starts');
  const fileTypes = DATA_FILE_TYPES.filter((t) => (input.fileTypes ?? DATA_FILE_TYPES).includes(t));
  const generatedAt = new Date(Math.floor((input.generatedAt ?? now()).getTime() / 1000) * 1000);
  const tag = randomBytes(4).toString('hex');
  const tempKey = (name: string) => `${input.keyPrefix}.${name}.tmp-${tag}`;
  const temps = new Set<string>();
  const staged: { temp: string; final: string }[] = [];
  const files: ExportFileDescriptor[] = [];
  let runRows = 0;
  const sourceRows = {} as Record<DataFileType, number>;

  const cleanup = async () => {
    await Promise.all([...temps].map((k) => storage.delete(k).catch(() => undefined)));
  };

  // Every COPY running for this run: an abort cancels them all.
  const sessions = new Set<CopySession>();
  const onAbort = () => {
    for (const s of sessions) void s.cancel();
  };
  signal?.addEventListener('abort', onAbort);
  try {
    throwIfAborted(signal);
    for (const fileType of fileTypes) {
      const select = {
        fileType,
        shape: format === 'csv' ? ('csv' as const) : format === 'parquet' ? ('typed' as const) : ('json' as const),
        programId: program.id,
        window,
        generatedAt: isoSeconds(generatedAt),
        pseudonymKey: program.anonymizePii ? program.pseudonymKey : null,
      };
      const before = runRows;
      const progress = (rows: number) => {
        runRows = before + rows;
        input.onProgress?.({ fileType, fileRows: rows, runRows });
      };
      if (format === 'xlsx' || format === 'parquet') {
        const session = await openCopy(input.sql, copySql(select), input.controlSql);
        sessions.add(session);
        try {
          // An abort that came while the COPY was starting found no session to cancel: check now.
          throwIfAborted(signal);
          const keyForPart = (index: number) => {
            const key = tempKey(`${fileType}-part-${index}`);
            temps.add(key);
            return key;
          };
          const parts =
            format === 'parquet'
              ? await writeParquetParts({
                  rows: session.rows,
                  fileType,
                  storage,
                  keyForPart,
                  rowsPerPart: input.parquetRowsPerPart,
                  signal,
                  onRows: progress,
                })
              : await writeXlsxParts({
                  rows: session.rows,
                  headers: headers(fileType),
                  sheetName: fileType,
                  storage,
                  keyForPart,
                  maxRowsPerPart: input.xlsxRowsPerPart,
                  signal,
                  onRows: progress,
                });
          for (const p of parts) {
            const name = dataFileName(program.id, window.start, fileType, exportType, format, { index: p.index, of: parts.length });
            files.push({
              fileType,
              part: p.index,
              name,
              key: input.keyPrefix + name,
              sidecarKey: input.keyPrefix + sidecarName(name),
              rows: p.rows,
              bytes: p.bytes,
              sha256: p.sha256,
              format,
              compression: format === 'parquet' ? PARQUET_COMPRESSION : 'none',
              uncompressedBytes: 0,
            });
            staged.push({ temp: p.key, final: input.keyPrefix + name });
          }
        } catch (err) {
          await session.cancel();
          throw err;
        } finally {
          session.release();
          sessions.delete(session);
        }
      } else {
        const name = dataFileName(program.id, window.start, fileType, exportType, format);
        const key = tempKey(name);
        temps.add(key);
        const written = await writeChunkedFile({
          sql: input.sql,
          controlSql: input.controlSql,
          select,
          header: format === 'csv' ? csvHeader(fileType) : null,
          storage,
          key,
          compress: true,
          streams: input.streams,
          sliceRows: input.sliceRows,
          workMem: input.sliceWorkMem,
          signal,
          onRows: progress,
          sessions,
        });
        if (written.rows === 0) {
          // A type without rows yields no file.
          await storage.delete(key);
          temps.delete(key);
        } else {
          files.push({
            fileType,
            part: 1,
            name,
            key: input.keyPrefix + name,
            sidecarKey: input.keyPrefix + sidecarName(name),
            rows: written.rows,
            bytes: written.bytes,
            sha256: written.sha256,
            format,
            compression: 'gzip',
            uncompressedBytes: written.uncompressedBytes,
          });
          staged.push({ temp: key, final: input.keyPrefix + name });
        }
      }
      // The source's own count of the window, asked once the file is written.
      const [counted] = await input.sql.unsafe<{ n: string }[]>(countSql({ fileType, programId: program.id, window }));
      sourceRows[fileType] = Number(counted.n);
      throwIfAborted(signal);
    }

    freezePoint('export:uploaded');

    // Sidecars: `sha256sum -c <name>.sha256` in the folder verifies the file.
    for (const f of files) {
      const key = tempKey(sidecarName(f.name));
      temps.add(key);
      await storage.put(key, Readable.from([Buffer.from(sidecarContent(f.sha256, f.name))]));
      staged.push({ temp: key, final: f.sidecarKey! });
    }

    const { document, bytes: manifestBytes } = buildManifest({
      programId: program.id,
      connectionId: input.connectionId,
      runId: input.runId,
      exportType,
      sequence: input.sequence ?? null,
      historicalRequestId: input.historicalRequestId ?? null,
      window,
      previousWindowEnd: input.previousWindowEnd ?? null,
      generatedAt,
      files: files.map((f) => ({
        name: f.name,
        type: f.fileType as DataFileType,
        format: f.format as ExportFormat,
        compression: f.compression,
        rows: f.rows,
        bytes: f.bytes,
        sha256: f.sha256,
      })),
    });
    const signature = input.signManifest ? await input.signManifest(manifestBytes) : null;
    const mName = manifestName(program.id, window.start, exportType);
    const mTemp = tempKey(mName);
    temps.add(mTemp);
    await storage.put(mTemp, Readable.from([manifestBytes]));
    const manifest = {
      fileType: 'manifest' as const,
      part: 1,
      name: mName,
      key: input.keyPrefix + mName,
      sidecarKey: null,
      rows: 0,
      bytes: manifestBytes.length,
      sha256: createHash('sha256').update(manifestBytes).digest('hex'),
      format: 'json' as const,
      compression: 'none' as const,
      uncompressedBytes: manifestBytes.length,
      document,
      signature,
    };
    staged.push({ temp: mTemp, final: manifest.key });

    // Past this point the run is complete: publish it. The manifest goes last — it is the
    // completion marker consumers wait for.
    throwIfAborted(signal);
    for (const s of staged) {
      await storage.rename(s.temp, s.final);
      temps.delete(s.temp);
    }
    return {
      generatedAt,
      files,
      manifest,
      rowsTotal: files.reduce((n, f) => n + f.rows, 0),
      sourceRows,
      bytesTotal: files.reduce((n, f) => n + f.bytes, 0),
    };
  } catch (err) {
    await cleanup();
    if (signal?.aborted) throw err instanceof ExportAbortedError ? err : new ExportAbortedError();
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
