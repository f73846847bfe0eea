// The tables DDE keeps in a customer's database, derived from the typed export schema
// (lib/exports/schema.ts) so a column added to the export contract becomes a column here: per file
// type the table's name, its primary key, how a row already there is treated (activity appends,
// users and campaigns merge by updated_at), its indexes, and each column's type in each dialect.
// Columns other than the primary key are nullable: an older file (a reload of a window exported
// before a column existed) and a column added later load alike.
import type { DataFileType } from '@/lib/exports/columns';
import { fileSchema, SCHEMA_VERSION, type TypedColumn, type ValueKind } from '@/lib/exports/schema';

export { SCHEMA_VERSION };
export type Dialect = 'postgres' | 'mysql';

/** The order a run's files load in: the dimensions first, so the events of a window join them. */
export const LOAD_ORDER: readonly DataFileType[] = ['user', 'campaign', 'activity'];

export type TableSpec = {
  fileType: DataFileType;
  /** Unprefixed: activity, users, campaigns. */
  baseName: string;
  primaryKey: string;
  /** append: a row already there (same key) is kept; merge: a newer updated_at replaces it. */
  mode: 'append' | 'merge';
  /** Index name suffix → column. */
  indexes: { suffix: string; column: string }[];
  columns: TypedColumn[];
};

const BASE: Record<DataFileType, Omit<TableSpec, 'columns' | 'fileType'>> = {
  activity: {
    baseName: 'activity',
    primaryKey: 'event_id',
    mode: 'append',
    indexes: [
      { suffix: 'date_idx', column: 'date' },
      { suffix: 'user_id_idx', column: 'user_id' },
    ],
  },
  user: { baseName: 'users', primaryKey: 'user_id', mode: 'merge', indexes: [] },
  campaign: { baseName: 'campaigns', primaryKey: 'campaign_id', mode: 'merge', indexes: [] },
};

/** The column a merge compares: a newer value wins, an older or equal one never overwrites. */
export const MERGE_COLUMN = 'updated_at';

export function tableSpec(fileType: DataFileType): TableSpec {
  const columns = fileSchema(fileType).columns;
  const spec = { fileType, ...BASE[fileType], columns };
  for (const c of [spec.primaryKey, ...spec.indexes.map((i) => i.column), ...(spec.mode === 'merge' ? [MERGE_COLUMN] : [])]) {
    if (!columns.some((col) => col.name === c)) throw new Error(`the ${fileType} schema has no column ${c}`);
  }
  return spec;
}

/** The ledger table: one row per (connection, export type, window, file type) loaded. */
export const LOADS_TABLE = '_dde_loads';

/** Table name with the connection's optional prefix (`dde_`). */
export function tableName(spec: Pick<TableSpec, 'baseName'>, prefix: string): string {
  return `${prefix}${spec.baseName}`;
}

export const TABLE_PREFIX_PATTERN = /^[a-z][a-z0-9_]{0,15}$/;

/** A column's type in a dialect. MySQL keys are VARCHAR (a TEXT column cannot be a key without a length). */
export function columnType(dialect: Dialect, kind: ValueKind, opts: { key?: boolean } = {}): string {
  if (dialect === 'postgres') {
    switch (kind) {
      case 'string':
        return 'text';
      case 'int64':
        return 'bigint';
      case 'boolean':
        return 'boolean';
      case 'timestamp':
        return 'timestamptz';
      case 'date':
        return 'date';
      case 'string_list':
        return 'text[]';
      case 'int64_list':
        return 'bigint[]';
    }
  }
  switch (kind) {
    case 'string':
      return opts.key ? 'varchar(191)' : 'text';
    case 'int64':
      return 'bigint';
    case 'boolean':
      return 'boolean';
    case 'timestamp':
      return 'datetime(6)';
    case 'date':
      return 'date';
    case 'string_list':
    case 'int64_list':
      return 'json';
  }
}

/**
 * Whether an existing column (as the server names its type: PostgreSQL's pg_type name, MySQL's
 * information_schema data_type) holds the values of `kind` without loss. A wider or text type is
 * accepted; a narrower or different one is named as incompatible.
 */
export function compatibleType(dialect: Dialect, kind: ValueKind, dataType: string): boolean {
  const t = dataType.toLowerCase();
  if (dialect === 'postgres') {
    // pg_type names.
    const ok: Record<ValueKind, string[]> = {
      string: ['text', 'varchar', 'citext'],
      int64: ['int8', 'numeric', 'text'],
      boolean: ['bool', 'text'],
      timestamp: ['timestamptz', 'text'],
      date: ['date', 'text'],
      string_list: ['_text', '_varchar', 'jsonb', 'json'],
      int64_list: ['_int8', '_numeric', 'jsonb', 'json'],
    };
    return ok[kind].includes(t);
  }
  const ok: Record<ValueKind, string[]> = {
    string: ['text', 'mediumtext', 'longtext', 'varchar'],
    int64: ['bigint', 'decimal', 'text', 'varchar'],
    boolean: ['tinyint', 'bit', 'boolean', 'text', 'varchar'],
    timestamp: ['datetime', 'timestamp', 'varchar', 'text'],
    date: ['date', 'datetime', 'varchar', 'text'],
    // MariaDB's JSON is LONGTEXT with a json_valid check.
    string_list: ['json', 'longtext', 'text', 'mediumtext'],
    int64_list: ['json', 'longtext', 'text', 'mediumtext'],
  };
  return ok[kind].includes(t);
}

/** What a person runs to grant the loads their privileges, for set-up messages. */
export function quoteIdent(dialect: Dialect, name: string): string {
  if (dialect === 'postgres') return `"${name.replace(/"/g, '""')}"`;
  return '`' + name.replace(/`/g, '``') + '`';
}
