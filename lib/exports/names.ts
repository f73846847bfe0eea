// Export file names (a public contract, docs/export-files.md, "Names"), sidecars and storage keys.
import type { ExportType } from '@/db/schema/exports';
import type { ExportFormat } from '@/db/schema/connections';
import type { DataFileType } from './columns';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `<mm-dd-yyyy-hh>` of an instant in UTC: the window start in every name. */
export function windowStamp(start: Date): string {
  return `${pad(start.getUTCMonth() + 1)}-${pad(start.getUTCDate())}-${start.getUTCFullYear()}-${pad(start.getUTCHours())}`;
}

/**
 * `<programID>-<mm-dd-yyyy-hh>-<file type>-<export type>.gz` (.xlsx for xlsx and .parquet for parquet,
 * which are not gzipped). An xlsx or parquet file split into parts gets `-part-001`, `-part-002`, …
 * so its parts sort.
 */
export function dataFileName(
  programId: number,
  windowStart: Date,
  fileType: DataFileType,
  exportType: ExportType,
  format: ExportFormat,
  part?: { index: number; of: number },
): string {
  const base = `${programId}-${windowStamp(windowStart)}-${fileType}-${exportType}`;
  if (format !== 'xlsx' && format !== 'parquet') return `${base}.gz`;
  return part && part.of > 1 ? `${base}-part-${pad(part.index, 3)}.${format}` : `${base}.${format}`;
}

/** `<programID>-<mm-dd-yyyy-hh>-manifest-<export type>.json`, written last in every run. */
export function manifestName(programId: number, windowStart: Date, exportType: ExportType): string {
  return `${programId}-${windowStamp(windowStart)}-manifest-${exportType}.json`;
}

export const sidecarName = (name: string) => `${name}.sha256`;
/** A data file's storage key ends with its name, so its sidecar's key is the key plus `.sha256`. */
export const sidecarKey = (storageKey: string) => sidecarName(storageKey);

/** The sidecar's one line, in the format `sha256sum -c` reads. */
export const sidecarContent = (sha256: string, name: string) => `${sha256}  ${name}\n`;

/** Where a run's files live in storage: one folder per run, so runs never collide. */
export function runKeyPrefix(programId: number, runId: string): string {
  return `${programId}/${runId}/`;
}

/**
 * The folder of one export attempt's files inside its run's folder: `a<claim>-<tag>/` (the claim
 * counter that attempt held, and a random tag for tools acting without a claim). No other attempt
 * ever writes there, so a record that points at a file there points at bytes that never change.
 */
export function attemptKeyPrefix(programId: number, runId: string, claim: number, tag: string): string {
  return `${runKeyPrefix(programId, runId)}a${claim}-${tag}/`;
}

/** The claim of an attempt folder's name (`a<claim>-<tag>`), or null for any other name. */
export function attemptClaimOf(folderName: string): number | null {
  const m = /^a(\d+)-[0-9a-f]+$/.exec(folderName);
  return m ? Number(m[1]) : null;
}

/** ISO 8601 UTC with seconds (`2026-11-28T08:15:02Z`), the format of every instant in the files. */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
