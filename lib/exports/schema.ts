// The typed schema of the export files, written down once and generated from columns.ts: for each
// file type, every column's snake_case name, its value kind, its Parquet physical and logical type
// and whether it can be null. Parquet files are written from it, database destinations derive their
// table definitions from it, and GET /api/v1/schemas/{type} serves it (docs/export-files.md, "Typed
// schema"). CSV headers stay as they are; the typed names are the snake_case form of the same
// headers, in the same order.
import { DATA_FILE_TYPES, FILE_SPECS, SCHEMA_VERSION, type Column, type ColumnKind, type DataFileType } from './columns';

export { SCHEMA_VERSION };

/**
 * A column's value, neutral of any file format or database: what a loader needs to pick its type.
 * `string` holds every id too (a pseudonymized user id is 32 hex characters, a raw id its decimal
 * digits, so both fit one type); `timestamp` is an instant in UTC with microsecond precision (the
 * exports carry whole seconds, as the CSV does); `date` a calendar day; the lists are arrays, never
 * null themselves (empty when there are none).
 */
export const VALUE_KINDS = ['string', 'int64', 'boolean', 'timestamp', 'date', 'string_list', 'int64_list'] as const;
export type ValueKind = (typeof VALUE_KINDS)[number];

/** How a value kind is stored in Parquet (the Parquet format's names). */
export type ParquetType = {
  /** Physical type of the leaf column (for lists: of the element). */
  physical: 'BYTE_ARRAY' | 'INT64' | 'INT32' | 'BOOLEAN';
  /** Logical type annotation, as the Parquet specification writes it; null for a plain INT64 / BOOLEAN. */
  logical: 'STRING' | 'TIMESTAMP(MICROS,UTC)' | 'DATE' | null;
  /** LIST for multi-valued columns (3-level list, optional elements); null for a plain column. */
  list: 'LIST' | null;
};

export const PARQUET_TYPES: Record<ValueKind, ParquetType> = {
  string: { physical: 'BYTE_ARRAY', logical: 'STRING', list: null },
  int64: { physical: 'INT64', logical: null, list: null },
  boolean: { physical: 'BOOLEAN', logical: null, list: null },
  timestamp: { physical: 'INT64', logical: 'TIMESTAMP(MICROS,UTC)', list: null },
  date: { physical: 'INT32', logical: 'DATE', list: null },
  string_list: { physical: 'BYTE_ARRAY', logical: 'STRING', list: 'LIST' },
  int64_list: { physical: 'INT64', logical: null, list: 'LIST' },
};

/** Parquet's own spelling of a column's type, for people: `LIST<STRING>`, `TIMESTAMP(MICROS, UTC)`, `INT64`. */
export function parquetTypeName(kind: ValueKind): string {
  const t = PARQUET_TYPES[kind];
  const leaf = t.logical === 'TIMESTAMP(MICROS,UTC)' ? 'TIMESTAMP(MICROS, UTC)' : (t.logical ?? t.physical);
  return t.list ? `LIST<${leaf}>` : leaf;
}

export type TypedColumn = {
  /** snake_case, unique in the file type: `user_id`, `content_published_at`. */
  name: string;
  /** The CSV / JSON Lines header of the same column. */
  header: string;
  kind: ValueKind;
  /** Parquet physical type (of the element, for lists). */
  parquet_physical: ParquetType['physical'];
  /** Parquet logical type, or null. */
  parquet_logical: ParquetType['logical'];
  /** `LIST<STRING>`, `TIMESTAMP(MICROS, UTC)`, `INT64`, …: the two above, as Parquet tools print them. */
  parquet_type: string;
  nullable: boolean;
  /** A user id: for programs with anonymization on, a 32-hex-character pseudonym instead of the id. */
  pseudonymized: boolean;
  /** Personal data: null in every row for programs with anonymization on. */
  pii: boolean;
};

export type FileSchema = { schema_version: number; type: DataFileType; columns: TypedColumn[] };

const KIND_VALUE: Record<ColumnKind, ValueKind> = {
  text: 'string',
  pii: 'string',
  id: 'string',
  user_id: 'string',
  int: 'int64',
  bool: 'boolean',
  timestamp: 'timestamp',
  date: 'date',
  json: 'string_list',
  literal: 'timestamp',
};

/**
 * Null unless columns.ts says otherwise: text ('' is exported as null), PII (blanked for anonymized
 * programs), instants and days may be absent; ids, counts, booleans, arrays (empty when there are
 * none) and Generated At are always there.
 */
const KIND_NULLABLE: Record<ColumnKind, boolean> = {
  text: true,
  pii: true,
  id: false,
  user_id: false,
  int: false,
  bool: false,
  timestamp: true,
  date: true,
  json: false,
  literal: false,
};

/** `User ID` → `user_id`, `Emails Clicks` → `emails_clicks`, `profile_zip` stays. */
export function snakeCase(header: string): string {
  return header
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** A column's value kind (its typed hint, else its kind's). */
export function valueKind(col: Column): ValueKind {
  return col.typed?.value ?? KIND_VALUE[col.kind];
}

export function typedColumn(col: Column): TypedColumn {
  const kind = valueKind(col);
  const t = PARQUET_TYPES[kind];
  // A PII column is blanked for anonymized programs, so it is nullable whatever its data says.
  const nullable = col.kind === 'pii' ? true : (col.typed?.nullable ?? KIND_NULLABLE[col.kind]);
  return {
    name: snakeCase(col.header),
    header: col.header,
    kind,
    parquet_physical: t.physical,
    parquet_logical: t.logical,
    parquet_type: parquetTypeName(kind),
    nullable,
    pseudonymized: col.kind === 'user_id',
    pii: col.kind === 'pii',
  };
}

const SCHEMAS: Record<DataFileType, FileSchema> = Object.fromEntries(
  DATA_FILE_TYPES.map((type) => [type, { schema_version: SCHEMA_VERSION, type, columns: FILE_SPECS[type].columns.map(typedColumn) }]),
) as Record<DataFileType, FileSchema>;

/** The typed schema of a file type, columns in file order. */
export function fileSchema(type: DataFileType): FileSchema {
  return SCHEMAS[type];
}
