// Anonymized programs: no file holds raw personal data. Personal fields are blank, and every user
// id is a keyed pseudonym that is the same in every file and every run, so files still join.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateExportFiles, pseudonymize, type GeneratedFiles } from '@/lib/exports';
import { sqlPseudonym } from '@/lib/exports/sql';
import { LocalStorage } from '@/lib/storage';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { parseCsv, readXlsx } from './fixtures';

const PROGRAM = 6000;
const W1 = { start: new Date('2026-11-28T08:00:00Z'), end: new Date('2026-11-28T12:00:00Z') };
const W2 = { start: new Date('2026-11-28T12:00:00Z'), end: new Date('2026-11-28T16:00:00Z') };
const IDS = [8800000001, 8800000002, 8800000003, 8800000004];
const GHOST = 8800000099; // an event of a user without a member row

const SECRETS = [
  'Zebulon',
  'Quintessa',
  'Vandersloot',
  'Okonkwo-Brightwater',
  'Zebby',
  'Quinnie',
  'zeb.vandersloot@secret.example',
  'quintessa@secret.example',
  'EMP-UNIQUE-77',
  '90210-7777',
  '1977-07-07',
  'Marguerite Featherstonehaugh',
  'Publisher Persona',
  'Author Persona',
  'Alias Persona',
  ...[...IDS, GHOST].map(String),
];

let t: TestDatabase;
let root: string;
let key: string;
const runs: { format: string; window: number; dir: string; result: GeneratedFiles }[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  await t.sql`insert into programs (id, name, anonymize_pii) values (${PROGRAM}, 'Anonymized', true)`;
  [{ key }] = await t.sql<{ key: string }[]>`select pseudonym_key as key from programs where id = ${PROGRAM}`;
  const people = [
    [
      'Zebulon',
      'Vandersloot',
      'Zebby',
      'zeb.vandersloot@secret.example',
      '90210-7777',
      '1977-07-07',
      'Marguerite Featherstonehaugh',
      '2026-11-28T08:30:00Z',
    ],
    ['Quintessa', 'Okonkwo-Brightwater', 'Quinnie', 'quintessa@secret.example', null, null, null, '2026-11-28T09:30:00Z'],
    ['Zebulon', 'Okonkwo-Brightwater', null, 'EMP-UNIQUE-77', null, null, null, '2026-11-28T13:30:00Z'],
    ['Quintessa', 'Vandersloot', null, null, null, null, null, '2026-11-28T14:30:00Z'],
  ];
  await t.sql`insert into members ${t.sql(
    people.map(([first, last, preferred, uid, zip, birth, manager, updated], i) => ({
      id: IDS[i],
      program_id: PROGRAM,
      first_name: first,
      last_name: last,
      preferred_name: preferred,
      universal_identifier: uid,
      profile_zip: zip,
      profile_birthdate: birth,
      attribute_manager: manager,
      attribute_company: 'Initech',
      updated_at: updated,
    })),
  )}`;
  await t.sql`insert into campaigns ${t.sql([
    {
      id: 71,
      program_id: PROGRAM,
      name: 'Town hall',
      publisher_user_id: IDS[0],
      publisher_name: 'Publisher Persona',
      author_user_id: IDS[1],
      author_name: 'Author Persona',
      author_alias_id: 'alias-1',
      author_alias_name: 'Alias Persona',
      updated_at: '2026-11-28T10:00:00Z',
    },
    {
      id: 72,
      program_id: PROGRAM,
      name: 'Benefits',
      publisher_user_id: IDS[2],
      publisher_name: 'Publisher Persona',
      author_user_id: IDS[3],
      author_name: 'Author Persona',
      author_alias_id: 'alias-2',
      author_alias_name: 'Alias Persona',
      updated_at: '2026-11-28T15:00:00Z',
    },
  ])}`;
  const events = [...IDS, GHOST].flatMap((user, i) => [
    {
      program_id: PROGRAM,
      content_id: 71,
      user_id: user,
      event_type: 'like',
      platform: 'web',
      occurred_at: '2026-11-28T08:00:00Z',
      ingested_at: `2026-11-28T${String(8 + (i % 4)).padStart(2, '0')}:15:00Z`,
    },
    {
      program_id: PROGRAM,
      content_id: 72,
      user_id: user,
      event_type: 'email_open',
      platform: 'email',
      occurred_at: '2026-11-28T12:00:00Z',
      ingested_at: `2026-11-28T${12 + (i % 4)}:45:00Z`,
    },
  ]);
  await t.sql`insert into activity_events ${t.sql(events)}`;

  root = mkdtempSync(path.join(os.tmpdir(), 'dde-anon-'));
  for (const format of ['csv', 'jsonl', 'xlsx'] as const) {
    for (const [i, window] of [W1, W2].entries()) {
      const dir = path.join(root, `${format}-${i}`);
      const result = await generateExportFiles({
        sql: t.sql,
        storage: new LocalStorage(dir),
        keyPrefix: '',
        program: { id: PROGRAM, anonymizePii: true, pseudonymKey: key },
        window,
        exportType: 'incremental',
        format,
        runId: `anon-${format}-${i}`,
        connectionId: null,
      });
      runs.push({ format, window: i, dir, result });
    }
  }
});
afterAll(async () => {
  await t?.drop();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Everything a reader could see in a file: its bytes, and its content decompressed. */
function visibleText(file: string): string {
  const raw = readFileSync(file);
  if (file.endsWith('.gz')) return raw.toString('latin1') + gunzipSync(raw).toString('utf8');
  if (file.endsWith('.xlsx')) return raw.toString('latin1') + execFileSync('unzip', ['-p', file], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return raw.toString('utf8');
}

async function rowsOf(run: (typeof runs)[number], type: string): Promise<Record<string, unknown>[]> {
  const f = run.result.files.find((x) => x.fileType === type);
  if (!f) return [];
  const file = path.join(run.dir, f.name);
  let table: unknown[][];
  if (run.format === 'csv') table = parseCsv(gunzipSync(readFileSync(file)).toString('utf8'));
  else if (run.format === 'xlsx') table = await readXlsx(file);
  else {
    const objects = gunzipSync(readFileSync(file))
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    table = [Object.keys(objects[0]), ...objects.map((o) => Object.values(o))];
  }
  const [header, ...rows] = table as [string[], ...unknown[][]];
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

describe('an anonymized program', () => {
  it('has no seeded name, universal identifier or raw user id anywhere in any file, in any format', () => {
    const leaks: string[] = [];
    let checked = 0;
    for (const run of runs) {
      for (const name of readdirSync(run.dir)) {
        const text = visibleText(path.join(run.dir, name));
        checked++;
        for (const s of SECRETS) if (text.includes(s)) leaks.push(`${run.format}/${name}: ${s}`);
      }
    }
    expect(checked).toBeGreaterThanOrEqual(6 * 4);
    expect(leaks).toEqual([]);
  });

  it('blanks the personal fields and keeps the others', async () => {
    for (const run of runs) {
      for (const u of await rowsOf(run, 'user')) {
        for (const field of [
          'First Name',
          'Last Name',
          'Preferred Name',
          'Universal Identifier',
          'profile_zip',
          'profile_birthdate',
          'attribute_manager',
        ]) {
          expect([run.format, field, u[field]]).toEqual([run.format, field, null]);
        }
        expect(u.attribute_company).toBe('Initech');
      }
      for (const c of await rowsOf(run, 'campaign')) {
        expect([c['Publisher Name'], c['Author Name'], c['Author Alias Name']]).toEqual([null, null, null]);
        expect(c['Author Alias ID']).toMatch(/^alias-/);
      }
      for (const a of await rowsOf(run, 'activity')) expect(a['User Name']).toBeNull();
    }
  });

  it('replaces every user id with HMAC-SHA256(program key, id), first 32 hex chars — the same in every file and run, so files join', async () => {
    const p = (id: number) => pseudonymize(key, id);
    const [{ fromSql }] = await t.sql.unsafe<{ fromSql: string }[]>(`select ${sqlPseudonym(String(IDS[0]), key)} as "fromSql"`);
    expect(fromSql).toBe(p(IDS[0]));
    expect(p(IDS[0])).toMatch(/^[0-9a-f]{32}$/);
    for (const run of runs) {
      const users = await rowsOf(run, 'user');
      const campaigns = await rowsOf(run, 'campaign');
      const activity = await rowsOf(run, 'activity');
      const inWindow = run.window === 0 ? [IDS[0], IDS[1]] : [IDS[2], IDS[3]];
      expect(users.map((u) => u['User ID'])).toEqual(inWindow.map(p));
      expect(campaigns.map((c) => [c['Publisher User ID'], c['Author User ID']])).toEqual([
        run.window === 0 ? [p(IDS[0]), p(IDS[1])] : [p(IDS[2]), p(IDS[3])],
      ]);
      // Every user of every window's activity, the member-less one included, under the same pseudonym.
      expect(new Set(activity.map((a) => a['User ID']))).toEqual(new Set([...IDS, GHOST].map(p)));
    }
  });
});
