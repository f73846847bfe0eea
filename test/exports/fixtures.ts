// Seed data and file readers shared by the export engine's integration tests.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import type { Sql } from '@/db/client';

export const PROGRAM = 4021;
export const OTHER_PROGRAM = 4022;
export const WINDOW = { start: new Date('2026-11-28T08:00:00Z'), end: new Date('2026-11-28T12:00:00Z') };
export const GENERATED_AT = new Date('2026-11-28T12:05:13.456Z');

/**
 * The golden data set: awkward text (commas, quotes, CR/LF, emoji, right-to-left scripts, empty
 * strings), nulls, booleans, arrays, fractional seconds, and rows exactly on and just outside the
 * window's boundaries. Inserted with explicit ids and times so the files are reproducible.
 */
export async function seedGoldenProgram(sql: Sql, opts: { anonymize?: boolean } = {}): Promise<void> {
  await sql`insert into programs (id, name, anonymize_pii, pseudonym_key) values
    (${PROGRAM}, 'Golden', ${opts.anonymize ?? false}, ${'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90'}),
    (${OTHER_PROGRAM}, 'Other', false, default)`;
  await sql`insert into members ${sql([
    {
      id: 101,
      program_id: PROGRAM,
      first_name: 'Ada',
      last_name: 'Lovelace, "Countess"',
      universal_identifier: 'ada@example.com',
      experience_status: 'active',
      blocked_at: null,
      studio_role: 'admin',
      last_visited_at: '2026-11-28T08:15:02.987654Z',
      account_created_at: '2020-01-31T23:59:59Z',
      registered_at: '2020-02-01T00:00:00Z',
      preferred_name: '',
      profile_zip: '02139',
      profile_job_title: 'Line one\r\nLine two',
      profile_birthdate: '1815-12-10',
      attribute_company: 'Analytical Engines',
      attribute_department: 'R&D',
      attribute_city: 'תל אביב',
      attribute_country: 'UK',
      attribute_region: 'Europe 😀',
      attribute_hire_date: '2020-01-31',
      attribute_start_date: '2020-02-03',
      attribute_manager: 'Charles Babbage',
      attribute_language: 'en',
      attribute_timezone: 'Europe/London',
      updated_at: '2026-11-28T08:00:00Z',
    },
    {
      id: 102,
      program_id: PROGRAM,
      first_name: 'محمد',
      last_name: "O'Brien",
      universal_identifier: 'emp-102',
      experience_status: 'blocked',
      blocked_at: '2026-11-01T10:00:00Z',
      studio_role: null,
      last_visited_at: null,
      account_created_at: null,
      registered_at: null,
      preferred_name: 'Mo',
      profile_zip: null,
      profile_job_title: null,
      profile_birthdate: null,
      attribute_company: null,
      attribute_department: null,
      attribute_city: null,
      attribute_country: null,
      attribute_region: null,
      attribute_hire_date: null,
      attribute_start_date: null,
      attribute_manager: null,
      attribute_language: null,
      attribute_timezone: null,
      updated_at: '2026-11-28T11:59:59.999999Z',
    },
  ])}`;
  // Outside the window (end boundary excluded, just before start excluded) and another program.
  await sql`insert into members (id, program_id, first_name, last_name, universal_identifier, updated_at) values
    (103, ${PROGRAM}, 'Late', 'Member', 'late@example.com', '2026-11-28T12:00:00Z'),
    (104, ${PROGRAM}, 'Early', 'Member', 'early@example.com', '2026-11-28T07:59:59.999999Z'),
    (105, ${OTHER_PROGRAM}, 'Other', 'Program', 'other@example.com', '2026-11-28T09:00:00Z')`;

  await sql`insert into campaigns ${sql([
    {
      id: 501,
      program_id: PROGRAM,
      name: 'Q4 "All-hands", recap',
      publish_at: '2026-11-27T16:30:00.5Z',
      archive_at: null,
      publisher_user_id: 101,
      publisher_name: 'Ada Lovelace',
      author_user_id: 102,
      author_name: "Mo O'Brien",
      content_version: 3,
      studio_url: 'https://studio.example.com/c/501?x=1,2',
      topics: JSON.stringify([
        { id: 't1', name: 'HR', subscriber_count: 12 },
        { id: 't2', name: 'News, "daily"', subscriber_count: 0 },
      ]),
      initiatives: JSON.stringify(['Wellbeing']),
      is_featured: true,
      is_shareable: false,
      is_commentable: true,
      is_translatable: true,
      duration_seconds: 86400,
      priority: 'high',
      acknowledgeable: true,
      author_alias_id: 'alias-9',
      author_alias_name: 'The Team',
      publication_state: 'published',
      source_type: 'studio',
      audiences: JSON.stringify(['All staff', 'Ops']),
      content_type: 'article',
      channels: JSON.stringify(['email', 'push', 'feed']),
      acknowledge_message: 'Please confirm\nthanks',
      resources: JSON.stringify([]),
      for_you: true,
      optimized_delivery: false,
      automatic_retargeting: true,
      subject_line: 'Hello 👋',
      preview: 'שלום עולם',
      updated_at: '2026-11-28T09:30:00Z',
    },
  ])}`;
  await sql`insert into campaigns (id, program_id, name, subject_line, preview, updated_at) values
    (502, ${PROGRAM}, 'Plain', '', null, '2026-11-28T10:00:00Z'),
    (503, ${PROGRAM}, 'Old campaign', 'Old subject', 'Old preview', '2026-11-27T10:00:00Z'),
    (504, ${OTHER_PROGRAM}, 'Other program campaign', null, null, '2026-11-28T10:00:00Z')`;

  const types = [
    'like',
    'share',
    'bookmark',
    'email_open',
    'feed_click',
    'email_delivered',
    'email_click',
    'push_click',
    'impression',
    'download',
    'poll_response',
    'acknowledge',
    'assistant_delivered',
    'assistant_open',
    'video_play',
    'push_delivered',
    'link_click',
    'open',
  ];
  const platforms = ['web', 'ios', 'android', 'email', 'assistant'];
  const events = types.map((t, i) => ({
    id: 9001 + i,
    program_id: PROGRAM,
    content_id: [501, 502, 503][i % 3],
    user_id: [101, 102, 999][i % 3], // 999: no member row (the name stays empty)
    event_type: t,
    platform: platforms[i % 5],
    // One late arrival: it happened yesterday, arrived in this window.
    occurred_at: i === 5 ? '2026-11-27T03:04:05Z' : new Date(Date.parse('2026-11-28T08:00:00Z') + i * 600_000 - 3_000).toISOString(),
    ingested_at:
      i === 0
        ? '2026-11-28T08:00:00Z' // exactly on the start: included
        : i === 17
          ? '2026-11-28T11:59:59.999999Z' // the last instant of the window
          : new Date(Date.parse('2026-11-28T08:00:00Z') + i * 600_000 + 123).toISOString(),
    link_url: t === 'link_click' ? 'https://x.example/a,b?c="d"' : t === 'like' ? 'https://ignored.example/' : null,
  }));
  await sql`insert into activity_events ${sql(events)}`;
  await sql`insert into activity_events (id, program_id, content_id, user_id, event_type, platform, occurred_at, ingested_at) values
    (9100, ${PROGRAM}, 501, 101, 'like', 'web', '2026-11-28T11:00:00Z', '2026-11-28T12:00:00Z'),
    (9101, ${PROGRAM}, 501, 101, 'like', 'web', '2026-11-28T07:00:00Z', '2026-11-28T07:59:59.999999Z'),
    (9102, ${OTHER_PROGRAM}, 504, 105, 'like', 'web', '2026-11-28T09:00:00Z', '2026-11-28T09:00:00Z')`;
  // Explicit ids leave the identity sequences behind: move them past what was inserted.
  for (const table of ['members', 'campaigns', 'activity_events']) {
    await sql.unsafe(`select setval(pg_get_serial_sequence('${table}', 'id'), (select max(id) from ${table}))`);
  }
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export function readGz(file: string): string {
  return gunzipSync(readFileSync(file)).toString('utf8');
}

/** A small RFC 4180 reader: quoted fields, doubled quotes, CR/LF inside quotes; an empty unquoted field is null. */
export function parseCsv(text: string): (string | null)[][] {
  const rows: (string | null)[][] = [];
  let row: (string | null)[] = [];
  let field = '';
  let quoted = false;
  let inQuotes = false;
  const endField = () => {
    row.push(quoted ? field : field === '' ? null : field);
    field = '';
    quoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inQuotes) {
      if (ch !== '"') field += ch;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else inQuotes = false;
    } else if (ch === '"') {
      if (field !== '') throw new Error(`stray quote at ${i}`);
      inQuotes = quoted = true;
    } else if (ch === ',') endField();
    else if (ch === '\n') {
      endField();
      rows.push(row);
      row = [];
    } else field += ch;
  }
  if (inQuotes) throw new Error('unterminated quote');
  if (field !== '' || quoted || row.length) {
    endField();
    rows.push(row);
  }
  return rows;
}

/** Reads every row of an xlsx file's first sheet as plain values (null for an empty cell). */
export async function readXlsx(file: string): Promise<unknown[][]> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(file);
  const sheet = wb.worksheets[0];
  const width = sheet.columnCount;
  const rows: unknown[][] = [];
  sheet.eachRow({ includeEmpty: false }, (row) => {
    const values: unknown[] = [];
    for (let c = 1; c <= width; c++) {
      const v = row.getCell(c).value;
      values.push(v === undefined || v === null ? null : v);
    }
    rows.push(values);
  });
  return rows;
}
