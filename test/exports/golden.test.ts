// The files as customers' loaders see them: exact headers, encoding, quoting, nulls, booleans,
// arrays and timestamps, in csv, jsonl and xlsx. Golden files live in test/exports/golden;
// regenerate them with UPDATE_GOLDEN=1 after a deliberate (schema_version-bumping) change.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateExportFiles, type GeneratedFiles } from '@/lib/exports';
import { LocalStorage } from '@/lib/storage';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { GENERATED_AT, parseCsv, PROGRAM, readGz, readXlsx, seedGoldenProgram, WINDOW } from './fixtures';

const GOLDEN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

// Typed out from docs/export-files.md on purpose: the test must not trust the code's own column list.
const HEADERS = {
  user:
    'User ID,First Name,Last Name,Universal Identifier,Experience Status,Blocked At,Studio Role,Last Visited Date,' +
    'Account Created Date,Registered Date,Preferred Name,profile_zip,profile_job_title,profile_birthdate,attribute_company,' +
    'attribute_department,attribute_job_description,attribute_gender,attribute_city,attribute_state,attribute_country,' +
    'attribute_region,attribute_hire_date,attribute_start_date,attribute_language,attribute_work_location,attribute_timezone,' +
    'attribute_locale,attribute_cost_center,attribute_division,attribute_manager,attribute_employee_type,attribute_business_unit,' +
    'Updated At,Generated At',
  campaign:
    'Campaign Name,Campaign ID,Publish Date,Archive Date,Publisher User ID,Publisher Name,Author User ID,Author Name,' +
    'Content Version,Studio URL,Topic ID,Topic Name,Topic Subscriber Count,Initiatives,Is Featured,Is Shareable,Is Commentable,' +
    'Is Translatable,Duration,Priority,Acknowledgeable,Author Alias ID,Author Alias Name,Publication State,Source Type,Audiences,' +
    'Content Type,Channels,Acknowledge Message,Resources,For You,Optimized Delivery,Automatic Retargeting,Subject Line,Preview,' +
    'Generated At,Updated At',
  activity:
    'Content ID,Content Name,Content Published At,User ID,User Name,Likes,Shares,Bookmarks,Email Opens,Feed Clicks,' +
    'Emails Delivered,Emails Clicks,Push Clicks,Impressions,Downloads,Poll Responses,Acknowledge Counts,Platform,Date,' +
    'Assistant Delivered Count,Assistant Opens,Video Plays,Push Delivered,Link Clicks,Link Clicked,Opens,Clicks,Subject Line,' +
    'Preview,Generated At,Event ID,Event Type,Ingested At',
} as const;

/** docs/export-files.md's event table: the columns each event type sets to 1. */
const SETS: Record<string, string[]> = {
  like: ['Likes'],
  share: ['Shares'],
  bookmark: ['Bookmarks'],
  email_open: ['Email Opens', 'Opens'],
  feed_click: ['Feed Clicks', 'Clicks'],
  email_delivered: ['Emails Delivered'],
  email_click: ['Emails Clicks', 'Clicks'],
  push_click: ['Push Clicks', 'Clicks'],
  impression: ['Impressions'],
  download: ['Downloads'],
  poll_response: ['Poll Responses'],
  acknowledge: ['Acknowledge Counts'],
  assistant_delivered: ['Assistant Delivered Count'],
  assistant_open: ['Assistant Opens', 'Opens'],
  video_play: ['Video Plays'],
  push_delivered: ['Push Delivered'],
  link_click: ['Link Clicks', 'Clicks'],
  open: ['Opens'],
};
const COUNT_COLUMNS = [...new Set(Object.values(SETS).flat())];

function expectGolden(name: string, actual: string) {
  const file = path.join(GOLDEN, name);
  if (UPDATE) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

let t: TestDatabase;
let root: string;
const runs: Record<string, GeneratedFiles> = {};
const dirOf = (format: string) => path.join(root, format);

beforeAll(async () => {
  t = await createTestDatabase();
  await seedGoldenProgram(t.sql);
  root = mkdtempSync(path.join(os.tmpdir(), 'dde-golden-'));
  for (const format of ['csv', 'jsonl', 'xlsx'] as const) {
    runs[format] = await generateExportFiles({
      sql: t.sql,
      storage: new LocalStorage(dirOf(format)),
      keyPrefix: '',
      program: { id: PROGRAM, anonymizePii: false, pseudonymKey: 'unused0000000000' },
      window: WINDOW,
      exportType: 'incremental',
      format,
      runId: `golden-${format}`,
      connectionId: '00000000-0000-4000-8000-000000000001',
      generatedAt: GENERATED_AT,
    });
  }
});
afterAll(async () => {
  await t?.drop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('csv files', () => {
  it('are named <programID>-<mm-dd-yyyy-hh>-<file type>-<export type>.gz, with a sidecar each and the manifest', () => {
    expect(readdirSync(dirOf('csv')).sort()).toEqual([
      '4021-11-28-2026-08-activity-incremental.gz',
      '4021-11-28-2026-08-activity-incremental.gz.sha256',
      '4021-11-28-2026-08-campaign-incremental.gz',
      '4021-11-28-2026-08-campaign-incremental.gz.sha256',
      '4021-11-28-2026-08-manifest-incremental.json',
      '4021-11-28-2026-08-user-incremental.gz',
      '4021-11-28-2026-08-user-incremental.gz.sha256',
    ]);
  });

  it.each(['user', 'campaign', 'activity'] as const)('the %s file matches its golden file byte for byte, header first', (type) => {
    const text = readGz(path.join(dirOf('csv'), `4021-11-28-2026-08-${type}-incremental.gz`));
    expect(text.split('\n')[0]).toBe(HEADERS[type]);
    expect(text.charCodeAt(0)).not.toBe(0xfeff); // no BOM
    expect(text.endsWith('\n')).toBe(true);
    expectGolden(`${type}.csv`, text);
  });

  it('quotes only fields with a comma, quote, CR or LF, doubles quotes, and leaves emoji and right-to-left text as they are', () => {
    const text = readGz(path.join(dirOf('csv'), '4021-11-28-2026-08-user-incremental.gz'));
    expect(text).toContain('101,Ada,"Lovelace, ""Countess""",ada@example.com,active,,admin,2026-11-28T08:15:02Z,');
    expect(text).toContain(',"Line one\r\nLine two",1815-12-10,Analytical Engines,R&D,,,תל אביב,,UK,Europe 😀,2020-01-31,2020-02-03,');
    expect(text).toContain("102,محمد,O'Brien,emp-102,blocked,2026-11-01T10:00:00Z,");
    const campaigns = readGz(path.join(dirOf('csv'), '4021-11-28-2026-08-campaign-incremental.gz'));
    expect(campaigns).toContain(
      '"Q4 ""All-hands"", recap",501,2026-11-27T16:30:00Z,,101,Ada Lovelace,102,Mo O\'Brien,3,"https://studio.example.com/c/501?x=1,2",',
    );
    expect(campaigns).toContain(
      '"[""t1"",""t2""]","[""HR"",""News, \\""daily\\""""]","[12,0]","[""Wellbeing""]",true,false,true,true,86400,high,true,',
    );
    expect(campaigns).toContain(
      ',"Please confirm\nthanks",[],true,false,true,Hello 👋,שלום עולם,2026-11-28T12:05:13Z,2026-11-28T09:30:00Z\n',
    );
  });

  it('writes null and empty text as an empty field, never as ""', () => {
    for (const type of ['user', 'campaign', 'activity']) {
      const text = readGz(path.join(dirOf('csv'), `4021-11-28-2026-08-${type}-incremental.gz`));
      const rows = parseCsv(text);
      for (const row of rows) for (const field of row) expect(field).not.toBe('');
    }
  });

  it('selects users and campaigns by update time and events by ingestion time, in [start, end), within the program', () => {
    const ids = (type: string, col: string) => {
      const [header, ...rows] = parseCsv(readGz(path.join(dirOf('csv'), `4021-11-28-2026-08-${type}-incremental.gz`)));
      return rows.map((r) => r[header.indexOf(col)]);
    };
    expect(ids('user', 'User ID')).toEqual(['101', '102']); // 103 at the end instant and 104 before the start are out
    expect(ids('campaign', 'Campaign ID')).toEqual(['501', '502']);
    expect(ids('activity', 'Event ID')).toEqual(Array.from({ length: 18 }, (_, i) => String(9001 + i)));
  });

  it('gives each activity row one count for its event type (and Opens / Clicks / Link Clicked as the table says)', () => {
    const [header, ...rows] = parseCsv(readGz(path.join(dirOf('csv'), '4021-11-28-2026-08-activity-incremental.gz')));
    const col = (row: (string | null)[], name: string) => row[header.indexOf(name)];
    expect(rows).toHaveLength(18);
    for (const row of rows) {
      const type = col(row, 'Event Type')!;
      for (const c of COUNT_COLUMNS) expect([c, col(row, c)]).toEqual([c, SETS[type].includes(c) ? '1' : '0']);
      expect(col(row, 'Link Clicked')).toBe(type === 'link_click' ? 'https://x.example/a,b?c="d"' : null);
    }
    const late = rows.find((r) => col(r, 'Event ID') === '9006')!;
    expect(col(late, 'Date')).toBe('2026-11-27T03:04:05Z'); // the event time, though it arrived in this window
    expect(col(late, 'Ingested At')).toBe('2026-11-28T08:50:00Z');
    const unknownUser = rows.find((r) => col(r, 'User ID') === '999')!;
    expect(col(unknownUser, 'User Name')).toBeNull();
    expect(col(rows[0], 'User Name')).toBe('Ada Lovelace, "Countess"');
    expect(col(rows[0], 'Content Published At')).toBe('2026-11-27T16:30:00Z');
    expect(col(rows[0], 'Subject Line')).toBe('Hello 👋');
    expect(rows.every((r) => col(r, 'Generated At') === '2026-11-28T12:05:13Z')).toBe(true);
  });
});

describe('jsonl files', () => {
  it.each(['user', 'campaign', 'activity'] as const)(
    'the %s file holds one object per row, keys = the headers in order, and matches its golden file',
    (type) => {
      const text = readGz(path.join(dirOf('jsonl'), `4021-11-28-2026-08-${type}-incremental.gz`));
      const lines = text.trimEnd().split('\n');
      for (const line of lines) expect(Object.keys(JSON.parse(line) as object).join(',')).toBe(HEADERS[type]);
      expectGolden(`${type}.jsonl`, text);
    },
  );

  it('types values: counts as numbers, booleans, arrays, null, ids as strings', () => {
    const [c] = readGz(path.join(dirOf('jsonl'), '4021-11-28-2026-08-campaign-incremental.gz'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(c).toMatchObject({
      'Campaign ID': '501',
      'Publisher User ID': '101',
      'Is Featured': true,
      'Is Shareable': false,
      Duration: 86400,
      'Archive Date': null,
      'Topic ID': ['t1', 't2'],
      'Topic Name': ['HR', 'News, "daily"'],
      'Topic Subscriber Count': [12, 0],
      Resources: [],
      'Acknowledge Message': 'Please confirm\nthanks',
    });
  });
});

describe('xlsx files', () => {
  it('are not gzipped, end in .xlsx, and hold the header row then the same values as the jsonl file', async () => {
    for (const type of ['user', 'campaign', 'activity'] as const) {
      const file = path.join(dirOf('xlsx'), `4021-11-28-2026-08-${type}-incremental.xlsx`);
      expect(readFileSync(file).subarray(0, 2).toString()).toBe('PK'); // a zip, as every xlsx
      const [header, ...rows] = await readXlsx(file);
      expect(header.join(',')).toBe(HEADERS[type]);
      const expected = readGz(path.join(dirOf('jsonl'), `4021-11-28-2026-08-${type}-incremental.gz`))
        .trimEnd()
        .split('\n')
        .map((l) => Object.values(JSON.parse(l) as object).map((v) => (Array.isArray(v) ? JSON.stringify(v) : v)))
        // XML 1.0 text: a reader gives CR LF back as LF (the one difference from csv and jsonl).
        .map((r) => r.map((v) => (typeof v === 'string' ? v.replaceAll('\r\n', '\n') : v)));
      expect(rows).toEqual(expected);
    }
    const manifest = JSON.parse(readFileSync(path.join(dirOf('xlsx'), '4021-11-28-2026-08-manifest-incremental.json'), 'utf8'));
    expect(manifest.files.map((f: { compression: string; format: string }) => `${f.format}/${f.compression}`)).toEqual([
      'xlsx/none',
      'xlsx/none',
      'xlsx/none',
    ]);
  });

  it('continues a file past the sheet row limit in parts named so they sort', async () => {
    const dir = path.join(root, 'xlsx-parts');
    const result = await generateExportFiles({
      sql: t.sql,
      storage: new LocalStorage(dir),
      keyPrefix: '',
      program: { id: PROGRAM, anonymizePii: false, pseudonymKey: 'unused0000000000' },
      window: WINDOW,
      exportType: 'incremental',
      format: 'xlsx',
      runId: 'parts',
      connectionId: null,
      fileTypes: ['activity'],
      generatedAt: GENERATED_AT,
      xlsxRowsPerPart: 5,
    });
    const names = result.files.map((f) => f.name);
    expect(names).toEqual([1, 2, 3, 4].map((i) => `4021-11-28-2026-08-activity-incremental-part-00${i}.xlsx`));
    expect([...names].sort()).toEqual(names);
    expect(result.files.map((f) => f.rows)).toEqual([5, 5, 5, 3]);
    const ids: unknown[] = [];
    for (const name of names) {
      const [header, ...rows] = await readXlsx(path.join(dir, name));
      expect(header.join(',')).toBe(HEADERS.activity);
      ids.push(...rows.map((r) => r[header.indexOf('Event ID')]));
    }
    expect(ids).toEqual(Array.from({ length: 18 }, (_, i) => String(9001 + i)));
  });
});
