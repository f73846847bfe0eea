// Parquet files as warehouses see them: pyarrow and DuckDB (real readers, run with python3) read
// every file type of the golden window — nulls, empty strings, unicode, CR/LF, JSON arrays,
// pseudonymized ids, instants a microsecond before a second ends — and get exactly the values the
// CSV of the same window carries, with the typed schema's column names and types, the schema
// version in the key-value metadata, zstd inside, a sidecar and a manifest entry.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateExportFiles, type GeneratedFiles } from '@/lib/exports';
import { DATA_FILE_TYPES, type DataFileType } from '@/lib/exports/columns';
import { fileSchema } from '@/lib/exports/schema';
import { LocalStorage } from '@/lib/storage';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { GENERATED_AT, parseCsv, PROGRAM, readGz, seedGoldenProgram, sha256, WINDOW } from './fixtures';

const READER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'read_parquet.py');
const KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';

type Read = {
  columns: { name: string; type: string; nullable?: boolean }[];
  metadata: Record<string, string>;
  codecs?: string[];
  row_groups?: number;
  rows: (string | null)[][];
};

function read(reader: 'pyarrow' | 'duckdb', files: string[]): Record<string, Read> {
  const out = execFileSync('python3', [READER, reader, ...files], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out) as Record<string, Read>;
}

let t: TestDatabase;
let root: string;
const runs: Record<string, GeneratedFiles> = {};
const dirOf = (name: string) => path.join(root, name);

async function generate(name: string, format: 'csv' | 'parquet', anonymize: boolean, extra: { parquetRowsPerPart?: number } = {}) {
  runs[name] = await generateExportFiles({
    sql: t.sql,
    storage: new LocalStorage(dirOf(name)),
    keyPrefix: '',
    program: { id: PROGRAM, anonymizePii: anonymize, pseudonymKey: KEY },
    window: WINDOW,
    exportType: 'incremental',
    format,
    runId: `parquet-${name}`,
    connectionId: '00000000-0000-4000-8000-000000000001',
    generatedAt: GENERATED_AT,
    ...extra,
  });
}

/** The CSV's data rows (header dropped). */
function csvRows(name: string, type: DataFileType): (string | null)[][] {
  const file = runs[name].files.find((f) => f.fileType === type)!;
  return parseCsv(readGz(path.join(dirOf(name), file.name))).slice(1);
}

const parquetPath = (name: string, type: DataFileType) => path.join(dirOf(name), runs[name].files.find((f) => f.fileType === type)!.name);

beforeAll(async () => {
  t = await createTestDatabase();
  root = mkdtempSync(path.join(os.tmpdir(), 'dde-parquet-'));
  await seedGoldenProgram(t.sql);
  await generate('csv', 'csv', false);
  await generate('parquet', 'parquet', false);
  await generate('csv-anon', 'csv', true);
  await generate('parquet-anon', 'parquet', true);
  await generate('parts', 'parquet', false, { parquetRowsPerPart: 7 });
});

afterAll(async () => {
  await t?.drop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('parquet files', () => {
  it('are named like the CSV files but end .parquet, each with a sidecar, and the manifest lists them with zstd', () => {
    expect(readdirSync(dirOf('parquet')).sort()).toEqual([
      '4021-11-28-2026-08-activity-incremental.parquet',
      '4021-11-28-2026-08-activity-incremental.parquet.sha256',
      '4021-11-28-2026-08-campaign-incremental.parquet',
      '4021-11-28-2026-08-campaign-incremental.parquet.sha256',
      '4021-11-28-2026-08-manifest-incremental.json',
      '4021-11-28-2026-08-user-incremental.parquet',
      '4021-11-28-2026-08-user-incremental.parquet.sha256',
    ]);
    const manifest = JSON.parse(readFileSync(path.join(dirOf('parquet'), '4021-11-28-2026-08-manifest-incremental.json'), 'utf8')) as {
      files: { name: string; type: string; format: string; compression: string; rows: number; bytes: number; sha256: string }[];
    };
    expect(manifest.files.map((f) => [f.type, f.format, f.compression, f.rows])).toEqual([
      ['user', 'parquet', 'zstd', 2],
      ['campaign', 'parquet', 'zstd', 2],
      ['activity', 'parquet', 'zstd', 18],
    ]);
    for (const f of manifest.files) {
      const bytes = readFileSync(path.join(dirOf('parquet'), f.name));
      expect(bytes.subarray(0, 4).toString('latin1')).toBe('PAR1');
      expect(bytes.subarray(-4).toString('latin1')).toBe('PAR1');
      expect(f.bytes).toBe(bytes.length);
      expect(f.sha256).toBe(sha256(bytes));
      expect(readFileSync(path.join(dirOf('parquet'), `${f.name}.sha256`), 'utf8')).toBe(`${f.sha256}  ${f.name}\n`);
    }
    // sha256sum -c, as a customer checks a folder.
    const names = manifest.files.map((f) => `${f.name}.sha256`);
    for (const n of names) expect(execFileSync('sha256sum', ['-c', n], { cwd: dirOf('parquet'), encoding: 'utf8' })).toMatch(/: OK\n$/);
  });

  it.each(DATA_FILE_TYPES)('%s: pyarrow reads the typed schema, the schema version and zstd, and exactly the CSV’s values', (type) => {
    const file = parquetPath('parquet', type);
    const got = read('pyarrow', [file])[file];
    const schema = fileSchema(type).columns;
    expect(got.columns.map((c) => c.name)).toEqual(schema.map((c) => c.name));
    const ARROW: Record<string, string> = {
      string: 'string',
      int64: 'int64',
      boolean: 'bool',
      timestamp: 'timestamp[us, tz=UTC]',
      date: 'date32[day]',
      string_list: 'list<element: string>',
      int64_list: 'list<element: int64>',
    };
    expect(got.columns.map((c) => `${c.name} ${c.type}${c.nullable ? '' : ' not null'}`)).toEqual(
      schema.map((c) => `${c.name} ${ARROW[c.kind]}${c.nullable ? '' : ' not null'}`),
    );
    expect(got.metadata).toEqual({ 'dde.schema_version': '1', 'dde.file_type': type });
    expect(got.codecs).toEqual(['ZSTD']);
    expect(got.rows).toEqual(csvRows('csv', type));
  });

  it.each(DATA_FILE_TYPES)('%s: DuckDB reads the same values and types', (type) => {
    const file = parquetPath('parquet', type);
    const got = read('duckdb', [file])[file];
    const DUCK: Record<string, string> = {
      string: 'VARCHAR',
      int64: 'BIGINT',
      boolean: 'BOOLEAN',
      timestamp: 'TIMESTAMP WITH TIME ZONE',
      date: 'DATE',
      string_list: 'VARCHAR[]',
      int64_list: 'BIGINT[]',
    };
    expect(got.columns).toEqual(fileSchema(type).columns.map((c) => ({ name: c.name, type: DUCK[c.kind] })));
    expect(got.metadata).toEqual({ 'dde.schema_version': '1', 'dde.file_type': type });
    expect(got.rows).toEqual(csvRows('csv', type));
  });

  it('carry the awkward values as values: empty text is null, lists are lists, instants are truncated to the second', () => {
    const file = parquetPath('parquet', 'user');
    const users = read('pyarrow', [file])[file];
    const col = (name: string) => users.columns.findIndex((c) => c.name === name);
    const ada = users.rows.find((r) => r[col('user_id')] === '101')!;
    expect(ada[col('preferred_name')]).toBeNull();
    expect(ada[col('profile_job_title')]).toBe('Line one\r\nLine two');
    expect(ada[col('attribute_city')]).toBe('תל אביב');
    expect(ada[col('attribute_region')]).toBe('Europe 😀');
    expect(ada[col('profile_birthdate')]).toBe('1815-12-10');
    // 08:15:02.987654 is in the second 08:15:02, as the CSV says.
    expect(ada[col('last_visited_date')]).toBe('2026-11-28T08:15:02Z');
    const mo = users.rows.find((r) => r[col('user_id')] === '102')!;
    expect(mo[col('updated_at')]).toBe('2026-11-28T11:59:59Z');
    const cfile = parquetPath('parquet', 'campaign');
    const campaigns = read('duckdb', [cfile])[cfile];
    const c = (name: string) => campaigns.columns.findIndex((x) => x.name === name);
    const q4 = campaigns.rows.find((r) => r[c('campaign_id')] === '501')!;
    expect(q4[c('topic_name')]).toBe('["HR","News, \\"daily\\""]');
    expect(q4[c('topic_subscriber_count')]).toBe('[12,0]');
    expect(q4[c('resources')]).toBe('[]');
    expect(q4[c('is_shareable')]).toBe('false');
  });

  it.each(DATA_FILE_TYPES)('%s of an anonymized program: pseudonymized ids and blank personal data, as in its CSV', (type) => {
    const file = parquetPath('parquet-anon', type);
    const got = read('pyarrow', [file])[file];
    expect(got.rows).toEqual(csvRows('csv-anon', type));
    const schema = fileSchema(type).columns;
    const pseudonymized = schema.flatMap((c, i) => (c.pseudonymized ? [i] : []));
    const ids = got.rows.flatMap((r) => pseudonymized.map((i) => r[i])).filter((v) => v !== null);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    for (const [i, c] of schema.entries()) if (c.pii) expect(got.rows.every((r) => r[i] === null)).toBe(true);
  });

  it('split a window into parts of the stated rows, named -part-001…, that read back as the whole file', () => {
    const activity = runs.parts.files.filter((f) => f.fileType === 'activity');
    expect(activity.map((f) => [f.name, f.rows, f.part])).toEqual([
      ['4021-11-28-2026-08-activity-incremental-part-001.parquet', 7, 1],
      ['4021-11-28-2026-08-activity-incremental-part-002.parquet', 7, 2],
      ['4021-11-28-2026-08-activity-incremental-part-003.parquet', 4, 3],
    ]);
    const files = activity.map((f) => path.join(dirOf('parts'), f.name));
    const got = read('duckdb', files);
    expect(files.flatMap((f) => got[f].rows)).toEqual(csvRows('csv', 'activity'));
  });
});
