// Paging through the Export API while files keep arriving: a walk over 10,000 files returns each
// exactly once, in newest-first order, however many new files are inserted between page requests,
// and however many files share a created_at (ties are broken by id, to the microsecond).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as listRoute } from '@/pages/api/v1/data_exports/[type]/index';
import { GET as foldersRoute } from '@/pages/api/v1/folders/index';
import { closeDatabase } from '@/db/client';
import { connections, exportRuns } from '@/db/schema';
import { setApiRateLimiter } from '@/lib/http/rate-limit';
import { createPrograms, request, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { call, clientToken } from './helpers/export-api';

const PROGRAM = 4201;
const FILES = 10_000;

let t: TestDatabase;
let token: string;
let runId: string;

type Page = { data: { id: string; created_at: string; name: string }[]; has_more: boolean; next_cursor: string | null };

async function page(path: string): Promise<Page> {
  const res = await call(listRoute, request('GET', path, { token }), { type: 'activities' });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Page;
}

/** Inserts `n` activity files; `createdAt` is an SQL expression of g (1..n). */
async function insertFiles(n: number, prefix: string, createdAt: string): Promise<void> {
  await t.sql.unsafe(
    `insert into export_files (run_id, program_id, file_type, export_type, name, storage_key, window_start, window_end, rows, bytes, sha256, format, compression, created_at, expires_at)
     select $1, $2, 'activity', case when g % 5 = 0 then 'historical' else 'incremental' end, $3 || g || '.gz', 'k/' || $3 || g, '2026-01-01', '2026-01-02',
            g, g * 10, md5($3 || g) || md5(g::text), 'csv', 'gzip', ${createdAt}, now() + interval '7 days'
     from generate_series(1, $4::int) g`,
    [runId, PROGRAM, prefix, n],
  );
}

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  setApiRateLimiter(null);
  await createPrograms(t.db, [{ id: PROGRAM, name: 'Paged' }]);
  const [conn] = await t.db
    .insert(connections)
    .values({ programId: PROGRAM, kind: 'api', frequency: 'daily', startDate: new Date('2026-01-01T00:00:00Z') })
    .returning();
  const [run] = await t.db
    .insert(exportRuns)
    .values({
      connectionId: conn.id,
      programId: PROGRAM,
      exportType: 'incremental',
      windowStart: new Date('2026-01-01T00:00:00Z'),
      windowEnd: new Date('2026-01-02T00:00:00Z'),
    })
    .returning();
  runId = run.id;
  // Groups of 7 files share one created_at, with microsecond offsets that a millisecond clock would lose.
  await insertFiles(
    FILES,
    'old-',
    `'2026-01-01T00:00:00Z'::timestamptz + (g / 7) * interval '1.000123 second' + (g % 3) * interval '1 microsecond'`,
  );
  token = (await clientToken(t, PROGRAM)).token;
}, 120_000);

afterAll(async () => {
  setApiRateLimiter(undefined);
  await closeDatabase();
  await t?.drop();
});

describe('cursor pagination', () => {
  it('returns every one of 10,000 files exactly once while new files arrive between pages', async () => {
    const seen = new Map<string, number>();
    const order: { created_at: string; id: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    let inserted = 0;
    do {
      const p: Page = await page(`/api/v1/data_exports/activities?limit=97${cursor ? `&cursor=${cursor}` : ''}`);
      for (const f of p.data) {
        seen.set(f.id, (seen.get(f.id) ?? 0) + 1);
        order.push(f);
      }
      expect(p.has_more).toBe(p.next_cursor !== null);
      cursor = p.next_cursor;
      pages++;
      // New files arrive (newer than anything listed) between page requests.
      if (pages % 10 === 0) {
        await insertFiles(25, `new-${pages}-`, 'now()');
        inserted += 25;
      }
    } while (cursor);

    const old = await t.sql<{ id: string }[]>`select id from export_files where program_id = ${PROGRAM} and name like 'old-%'`;
    expect(old).toHaveLength(FILES);
    for (const { id } of old) expect(seen.get(id), id).toBe(1);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(inserted).toBeGreaterThan(0);
    // Newest first: created_at never increases along the walk.
    for (let i = 1; i < order.length; i++) expect(Date.parse(order[i].created_at)).toBeLessThanOrEqual(Date.parse(order[i - 1].created_at));
  });

  it('filters by export type and creation time, and pages the filtered list just as exactly', async () => {
    const ids = new Set<string>();
    let cursor: string | null = null;
    do {
      const p: Page = await page(
        `/api/v1/data_exports/activities?limit=1000&export_type=historical&since=2026-01-01T00:10:00Z&until=2026-01-01T00:40:00%2B00:00${cursor ? `&cursor=${cursor}` : ''}`,
      );
      for (const f of p.data) {
        expect(ids.has(f.id)).toBe(false);
        ids.add(f.id);
        expect(Date.parse(f.created_at)).toBeGreaterThanOrEqual(Date.parse('2026-01-01T00:10:00Z'));
        expect(Date.parse(f.created_at)).toBeLessThan(Date.parse('2026-01-01T00:40:00Z'));
      }
      cursor = p.next_cursor;
    } while (cursor);
    const [{ n }] = await t.sql<{ n: number }[]>`
      select count(*)::int as n from export_files where program_id = ${PROGRAM} and export_type = 'historical'
        and created_at >= '2026-01-01T00:10:00Z' and created_at < '2026-01-01T00:40:00Z'`;
    expect(ids.size).toBe(n);
    expect(n).toBeGreaterThan(1000);
  });

  it('refuses cursors it did not issue, and limits outside 1–1000, with 422', async () => {
    for (const q of [
      'cursor=abc',
      'cursor=' + Buffer.from('v1|2026-02-31T00:00:00.000000Z|00000000-0000-4000-8000-000000000000').toString('base64url'),
      'limit=0',
      'limit=-5',
      'limit=1001',
      'limit=2.5',
      'limit=1e400',
    ]) {
      const res = await call(listRoute, request('GET', `/api/v1/data_exports/activities?${q}`, { token }), { type: 'activities' });
      expect(res.status, q).toBe(422);
    }
  });

  it('pages folders too', async () => {
    const res = await call(foldersRoute, request('GET', '/api/v1/folders?limit=1', { token }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { run_id: string; file_count: number }[]; next_cursor: string | null };
    expect(body.data).toHaveLength(1);
    expect(body.data[0].run_id).toBe(runId);
    expect(body.next_cursor).toBeNull();
  });
});
