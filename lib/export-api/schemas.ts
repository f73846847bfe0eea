// The Export API's request and response shapes. Handlers validate path and query parameters with
// these; the OpenAPI document (/api/v1/openapi.json) is generated from the same schemas, and the
// tests check responses against them.
import { z } from 'zod';
import { EXPORT_TYPES, type FileType } from '@/db/schema/enums';
import { DATA_FILE_TYPES } from '@/lib/exports/columns';
import { VALUE_KINDS } from '@/lib/exports/schema';
import { cursorParam, limitParam, programParam, programQuery } from '@/lib/http/params';
import { dataSchema, exportFileFieldsSchema, instantSchema, pageSchema } from '@/lib/http/schemas';

/** `{type}` in the API's paths and the file type each names (docs/export-files.md, "What a run writes"). */
export const API_FILE_TYPES = { users: 'user', campaigns: 'campaign', activities: 'activity' } as const satisfies Record<string, FileType>;
export type ApiFileType = keyof typeof API_FILE_TYPES;
export const API_TYPE_NAMES = Object.keys(API_FILE_TYPES) as ApiFileType[];

export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 100;

const apiType = z.enum(API_TYPE_NAMES as [ApiFileType, ...ApiFileType[]]).describe('users, campaigns or activities');

/** Each path word, plural or singular (the seed's words are user, campaign, activity), and the type it names. */
export const API_TYPE_WORDS: Record<string, ApiFileType> = {
  user: 'users',
  users: 'users',
  campaign: 'campaigns',
  campaigns: 'campaigns',
  activity: 'activities',
  activities: 'activities',
};
const TYPE_WORDS = Object.keys(API_TYPE_WORDS) as [string, ...string[]];
/** `{type}` in a path: user|users, campaign|campaigns or activity|activities. */
const typeWord = z
  .enum(TYPE_WORDS)
  .transform((w) => API_TYPE_WORDS[w])
  .describe('user, campaign or activity (the plurals users, campaigns and activities are accepted too)');

/** `?connection=`: the API connection whose feed to read. */
export const connectionParam = z
  .guid({ error: 'must be an API connection id (a UUID)' })
  .transform((v) => v.toLowerCase())
  .optional()
  .describe('The API connection whose files to read. Needed only when the token or account reads more than one API connection.');
const instant = instantSchema;
/** A date-time with an offset (`2026-11-28T08:00:00Z`, `…+02:00`) or a date (`2026-11-28`, midnight UTC). */
const instantInput = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((v) => new Date(v.length === 10 ? `${v}T00:00:00Z` : v))
  .refine((d) => d.getUTCFullYear() >= 1970 && d.getUTCFullYear() <= 9999, 'must lie between the years 1970 and 9999');

// --- Path parameters ------------------------------------------------------------------------

/** What an Export API path names when it names nothing (404). */
export const PATH_NOT_FOUND = {
  type: (v: string) => `There is no export type "${v}": the types are user, campaign and activity (or users, campaigns, activities).`,
  file_id: (v: string) => `Export file ${v} was not found.`,
  run_id: (v: string) => `Folder ${v} was not found.`,
};

export const typeParamsSchema = z.object({ type: typeWord });
export const fileParamsSchema = z.object({ type: typeWord, file_id: z.guid().describe('The export file id.') });
export const runParamsSchema = z.object({ run_id: z.guid().describe('The export run id (a folder).') });
export const downloadParamsSchema = z.object({ signed: z.string().max(200).describe('The signed part of a download_url.') });

// --- Query strings --------------------------------------------------------------------------

export const programQuerySchema = programQuery;

/** `?program=` and `?connection=`: which feed. */
export const feedQuerySchema = z.object({ program: programParam, connection: connectionParam });

export const latestQuerySchema = z.object({
  program: programParam,
  connection: connectionParam,
  export_type: z.enum(EXPORT_TYPES).optional().describe('Only incremental (scheduled) or historical files.'),
});

export const listFilesQuerySchema = z.object({
  program: programParam,
  connection: connectionParam,
  limit: limitParam(MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE, 'Files'),
  cursor: cursorParam,
  since: instantInput.optional().describe('Only files created at or after this instant (ISO 8601, or a date = midnight UTC).'),
  until: instantInput.optional().describe('Only files created before this instant.'),
  export_type: z.enum(EXPORT_TYPES).optional().describe('Only incremental (scheduled) or historical files.'),
});
export type ListFilesQuery = z.infer<typeof listFilesQuerySchema>;

export const listFoldersQuerySchema = z.object({
  program: programParam,
  connection: z
    .guid({ error: 'must be a connection id (a UUID)' })
    .transform((v) => v.toLowerCase())
    .optional()
    .describe('Only the folders of this connection (API or SFTP) of the program; 404 when the program has no such connection.'),
  export_type: z.enum(EXPORT_TYPES).optional().describe('Only the folders of incremental (scheduled) or historical runs.'),
  limit: limitParam(200, 50, 'Folders'),
  cursor: cursorParam,
  include_expired: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('false')
    .transform((v) => v === 'true')
    .describe('Also list folders whose files have all expired.'),
});

// --- Responses ------------------------------------------------------------------------------

export const exportFileSchema = exportFileFieldsSchema
  .extend({
    program_id: z.number().int(),
    connection_id: z.guid().describe('The API connection whose feed the file is in.'),
    run_id: z.guid().describe('The run (folder) the file belongs to.'),
    type: apiType,
    export_type: z.enum(EXPORT_TYPES),
    part: z.number().int().describe('Part number of a split xlsx file; 1 otherwise.'),
    window_start: instant.describe('Start of the window (inclusive, UTC).'),
    window_end: instant.describe('End of the window (exclusive, UTC).'),
    created_at: instant,
    expires_at: instant.describe('After this the file is deleted and the API answers 410.'),
    download_url: z.url().describe('Signed link to the bytes; needs no token.'),
    download_url_expires_at: instant,
    presigned_url_ttl_seconds: z.number().int().describe('How long a download_url stays valid.'),
  })
  .describe('An export file and a signed link to download it.');
export type ExportFileView = z.infer<typeof exportFileSchema>;

export const WINDOW_STATUSES = ['available', 'empty', 'pending', 'failed', 'expired'] as const;
export type WindowStatus = (typeof WINDOW_STATUSES)[number];

export const latestWindowSchema = z
  .object({
    start: instant.describe('Start of the window (inclusive, UTC).'),
    end: instant.describe('End of the window (exclusive, UTC).'),
    status: z
      .enum(WINDOW_STATUSES)
      .describe(
        'available: data is its file; empty: the window had no rows of this type (the empty payload); pending: the window is closed ' +
          'but not exported yet — ask again later; failed: its export failed or was cancelled; expired: its file has been deleted.',
      ),
  })
  .describe("The connection's newest closed window.");
export type LatestWindow = z.infer<typeof latestWindowSchema>;

export const latestFileResponseSchema = z.object({
  data: exportFileSchema.nullable().describe('The file of the newest closed window; null when it has none (see window.status).'),
  window: latestWindowSchema.nullable().describe('null before the connection’s first window has closed.'),
});
export type LatestFileResponse = z.infer<typeof latestFileResponseSchema>;
export const fileResponseSchema = dataSchema(exportFileSchema);
export const fileListResponseSchema = pageSchema(exportFileSchema);

export const folderFileSchema = exportFileFieldsSchema.extend({
  expired: z.boolean(),
  download_url: z.url().nullable().describe('Signed link; null once the file has expired.'),
  signature: z
    .string()
    .nullable()
    .describe(
      'The manifest’s detached signature (the content of `<manifest>.sig`, verified with GET /api/v1/signing-keys); null for data files.',
    ),
});

export const folderSchema = z
  .object({
    run_id: z.guid(),
    program_id: z.number().int(),
    connection_id: z.guid().nullable(),
    name: z.string().describe('<programID>-<mm-dd-yyyy-hh>-<export type>: the window start, as in the file names.'),
    export_type: z.enum(EXPORT_TYPES),
    window_start: instant,
    window_end: instant,
    created_at: instant,
    expires_at: instant.describe('When the first of its files expires.'),
    expired: z.boolean().describe('True when any file has expired (the folder can no longer be downloaded whole).'),
    file_count: z.number().int(),
    total_rows: z.number().int(),
    total_bytes: z.number().int(),
    files: z.array(folderFileSchema),
    archive_url: z.url().describe('The folder as one zip (files, .sha256 sidecars, manifest); needs the token or session.'),
  })
  .describe("One run's files: a folder.");
export type FolderView = z.infer<typeof folderSchema>;

export const folderListResponseSchema = pageSchema(folderSchema);

// --- Typed schema (GET /api/v1/schemas/{type}) --------------------------------------------------

export const typedColumnSchema = z
  .object({
    name: z.string().describe('snake_case column name in Parquet files and database tables (user_id, content_published_at).'),
    header: z.string().describe('The same column’s CSV / JSON Lines header.'),
    kind: z
      .enum(VALUE_KINDS)
      .describe(
        'The value, neutral of format: string (ids too: raw and pseudonymized ids are both text), int64, boolean, ' +
          'timestamp (an instant in UTC, microsecond unit, whole seconds), date, string_list or int64_list (arrays, empty when there are none).',
      ),
    parquet_physical: z.enum(['BYTE_ARRAY', 'INT64', 'INT32', 'BOOLEAN']).describe('Parquet physical type (of the element, for lists).'),
    parquet_logical: z.enum(['STRING', 'TIMESTAMP(MICROS,UTC)', 'DATE']).nullable().describe('Parquet logical type, or null.'),
    parquet_type: z.string().describe('The type as Parquet tools print it: LIST<STRING>, TIMESTAMP(MICROS, UTC), INT64, …'),
    nullable: z.boolean(),
    pseudonymized: z.boolean().describe('A user id: a 32-hex-character pseudonym for programs with anonymization on.'),
    pii: z.boolean().describe('Personal data: null in every row for programs with anonymization on.'),
  })
  .describe('One column of a file type, in file order.');

export const fileSchemaSchema = z
  .object({
    schema_version: z.number().int().describe('The file contract’s version, as in manifests and Parquet key-value metadata.'),
    type: z.enum(DATA_FILE_TYPES).describe('The file type, as in file names and manifests.'),
    columns: z.array(typedColumnSchema),
  })
  .describe('The typed columns of one file type.');
export const fileSchemaResponseSchema = dataSchema(fileSchemaSchema);

export const signingKeySchema = z
  .object({
    kty: z.literal('OKP'),
    crv: z.literal('Ed25519'),
    x: z.string().describe('The raw 32-byte public key, base64url.'),
    kid: z.string().describe('The key id a manifest signature (`<manifest>.sig`) names.'),
    alg: z.literal('EdDSA'),
    use: z.literal('sig'),
    created_at: instant,
  })
  .describe('A public key that signs manifests (a JWK, RFC 8037).');
export const signingKeysResponseSchema = z
  .object({ keys: z.array(signingKeySchema).describe('Newest first: the first signs new manifests; older ones verify earlier manifests.') })
  .describe('The manifest signing keys as a JWK Set.');

// --- Reconciliation (GET /api/v1/data_exports/reconciliation) ---------------------------------

export const reconciliationQuerySchema = z.object({
  program: programParam,
  connection: connectionParam,
  from: instantInput.optional().describe('Only windows starting at or after this instant (ISO 8601, or a date = midnight UTC).'),
  to: instantInput.optional().describe('Only windows starting before this instant.'),
  export_type: z.enum(EXPORT_TYPES).default('incremental').describe('Incremental (scheduled) windows, or historical chunks.'),
  limit: limitParam(500, 100, 'Windows'),
  cursor: cursorParam,
});

export const reconciliationWindowSchema = z
  .object({
    run_id: z.guid(),
    sequence: z.number().int().nullable().describe('The window’s place in its sequence (its manifest’s `sequence`).'),
    export_type: z.enum(EXPORT_TYPES),
    historical_request_id: z.guid().nullable(),
    window_start: instant,
    window_end: instant,
    status: z
      .string()
      .describe('The run’s state: planned, generating, generated, delivering, delivered, available, empty, failed, cancelled.'),
    exported: z.boolean().describe('True once the window’s files (an empty window: its manifest) are published.'),
    rows: z.number().int().nullable().describe('Rows the window’s files hold (every type); null before the window is exported.'),
    source_rows: z
      .number()
      .int()
      .nullable()
      .describe(
        'Rows the source held for the window when it was exported, counted by a query of its own apart from the files: equal to ' +
          '`rows` when nothing was lost. Null before the window is exported (and for windows exported before this was recorded).',
      ),
    source_rows_by_type: z
      .record(z.string(), z.number().int())
      .nullable()
      .describe('`source_rows` per file type (user, campaign, activity); each equals the rows of that type’s files.'),
    files: z.array(z.object({ name: z.string(), type: z.string(), rows: z.number().int(), sha256: z.string(), expired: z.boolean() })),
    manifest: z
      .object({ name: z.string(), sha256: z.string(), signature: z.string().nullable() })
      .nullable()
      .describe('The manifest and its detached signature; null before the window is exported.'),
  })
  .describe('One window of the connection: its state, sequence and files.');
export const reconciliationResponseSchema = pageSchema(reconciliationWindowSchema);
