// The one manifest builder: the document a run's manifest holds (docs/export-files.md, "The
// manifest") and its exact bytes. Every manifest, an empty window's too, comes from here; the
// OpenPGP delivery form (lib/delivery/pgp.ts) only rewrites the file entries of this document.
import type { ExportFormat } from '@/db/schema/connections';
import type { COMPRESSIONS } from '@/db/schema/enums';
import type { ExportType } from '@/db/schema/exports';
import type { Window } from '@/lib/windows';
import { SCHEMA_VERSION, type DataFileType } from './columns';
import { isoSeconds } from './names';

export type ManifestFileEntry = {
  name: string;
  type: DataFileType;
  format: ExportFormat;
  compression: (typeof COMPRESSIONS)[number];
  rows: number;
  bytes: number;
  sha256: string;
};

export type ManifestDocument = {
  schema_version: number;
  program_id: number;
  connection_id: string | null;
  run_id: string;
  export_type: ExportType;
  /** The window's place in its sequence (per connection, or per historical request); null outside a connection. */
  sequence: number | null;
  /** The historical request a historical run belongs to (its sequence is the request's); null for incremental runs. */
  historical_request_id: string | null;
  window: { start: string; end: string };
  /** The end of the window before this one in the sequence; null for the first. */
  previous_window_end: string | null;
  generated_at: string;
  /** Rows of all data files; 0 for an empty window. */
  rows: number;
  files: ManifestFileEntry[];
};

export type ManifestInput = {
  programId: number;
  connectionId: string | null;
  runId: string;
  exportType: ExportType;
  sequence: number | null;
  historicalRequestId: string | null;
  window: Window;
  previousWindowEnd: Date | null;
  generatedAt: Date;
  files: ManifestFileEntry[];
};

/** The manifest of one run: its document and the bytes written (pretty JSON, one trailing newline). */
export function buildManifest(input: ManifestInput): { document: ManifestDocument; bytes: Buffer } {
  const document: ManifestDocument = {
    schema_version: SCHEMA_VERSION,
    program_id: input.programId,
    connection_id: input.connectionId,
    run_id: input.runId,
    export_type: input.exportType,
    sequence: input.sequence,
    historical_request_id: input.historicalRequestId,
    window: { start: isoSeconds(input.window.start), end: isoSeconds(input.window.end) },
    previous_window_end: input.previousWindowEnd ? isoSeconds(input.previousWindowEnd) : null,
    generated_at: isoSeconds(input.generatedAt),
    rows: input.files.reduce((n, f) => n + f.rows, 0),
    files: input.files.map((f) => ({
      name: f.name,
      type: f.type,
      format: f.format,
      compression: f.compression,
      rows: f.rows,
      bytes: f.bytes,
      sha256: f.sha256,
    })),
  };
  return { document, bytes: manifestBytes(document) };
}

/** The bytes of a manifest document as written and signed. */
export function manifestBytes(document: object): Buffer {
  return Buffer.from(JSON.stringify(document, null, 2) + '\n', 'utf8');
}
