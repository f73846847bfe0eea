// Each API connection is its own feed: which connection a caller reads (the client's, ?connection=,
// 422 naming the choices), SFTP files in no feed, historical files filtered, `latest` as the newest
// closed window (its file, the empty payload, pending), the seed's type words, ETag/304 and the
// RateLimit-* headers — through the real route handlers, a real database and real generated files.
import { rmSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as listRoute } from '@/pages/api/v1/data_exports/[type]/index';
import { GET as fileRoute } from '@/pages/api/v1/data_exports/[type]/[file_id]';
import { GET as latestRoute } from '@/pages/api/v1/data_exports/[type]/latest';
import { POST as createClientRoute } from '@/app/api/v1/api-clients/route';
import { GET as foldersRoute } from '@/pages/api/v1/folders/index';
import { GET as archiveRoute } from '@/pages/api/v1/folders/[run_id]/archive';
import { closeDatabase } from '@/db/client';
import { apiClientConnections, connections, exportFiles, exportRuns, type Account } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { newestClosedWindow } from '@/lib/export-api/files';
import { RateLimiter, setApiRateLimiter } from '@/lib/http/rate-limit';
import { seedProgram } from '@/lib/seed';
import { setStorage, type LocalStorage } from '@/lib/storage';
import { createAccount, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { addRun, call, clientToken, useTempStorage, type ErrorBody } from './helpers/export-api';

const P = 4301;
const NOW = new Date('2026-11-28T13:00:00Z');
const H = 3_600_000;

let t: TestDatabase;
let storage: LocalStorage;
let root: string;
let fourHourly: string;
let daily: string;
let sftp: string;
let clientA: string;
let firstup: Account;
let cookie: string;
const runs: Record<string, string> = {};

type FileView = { id: string; connection_id: string; export_type: string; window_start: string; download_url: string };
type Page = { data: FileView[]; has_more: boolean; next_cursor: string | null };

const list = (type: string, opts: Parameters<typeof request>[2], query = '') =>
  call(listRoute, request('GET', `/api/v1/data_exports/${type}${query}`, opts), { type });
const latest = (type: string, opts: Parameters<typeof request>[2], query = '') =>
  call(latestRoute, request('GET', `/api/v1/data_exports/${type}/latest${query}`, opts), { type });

async function errorOf(res: Response): Promise<ErrorBody['error']> {
  return ((await res.json()) as ErrorBody).error;
}

async function insertConnection(
  values: Partial<typeof connections.$inferInsert> & Pick<typeof connections.$inferInsert, 'kind' | 'frequency'>,
) {
  const [row] = await t.db
    .insert(connections)
    .values({ programId: P, startDate: new Date('2026-11-27T00:00:00Z'), ...values })
    .returning();
  return row.id;
}

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  setApiRateLimiter(null);
  ({ storage, root } = useTempStorage());
  setClock(NOW);
  await seedProgram(t, {
    programId: P,
    programName: 'Feeds',
    users: 30,
    campaigns: 4,
    events: 2000,
    days: 2,
    until: new Date('2026-11-28T08:00:00Z'),
    seed: 3,
  });
  fourHourly = await insertConnection({ kind: 'api', name: 'Every 4 hours', frequency: 'every_4_hours' });
  daily = await insertConnection({ kind: 'api', name: 'Daily', frequency: 'daily' });
  sftp = await insertConnection({ kind: 'sftp', name: 'SFTP drop', frequency: 'every_4_hours' });
  const add = async (
    key: string,
    connectionId: string,
    start: string,
    hours: number,
    exportType: 'incremental' | 'historical' = 'incremental',
  ) => {
    const s = new Date(start);
    runs[key] = (
      await addRun(t, { programId: P, connectionId, window: { start: s, end: new Date(s.getTime() + hours * H) }, storage, exportType })
    ).runId;
  };
  await add('a1', fourHourly, '2026-11-28T00:00:00Z', 4);
  await add('a2', fourHourly, '2026-11-28T04:00:00Z', 4);
  await add('s1', sftp, '2026-11-28T04:00:00Z', 4);
  await add('b1', daily, '2026-11-27T00:00:00Z', 24);
  await add('bh', daily, '2026-11-26T00:00:00Z', 24, 'historical');
  // The 4-hourly connection's newest closed window [08:00, 12:00) had no rows: its run is empty.
  await t.db.insert(exportRuns).values({
    connectionId: fourHourly,
    programId: P,
    exportType: 'incremental',
    windowStart: new Date('2026-11-28T08:00:00Z'),
    windowEnd: new Date('2026-11-28T12:00:00Z'),
    status: 'empty',
  });
  clientA = (await clientToken(t, P, ['data_exports.read'], { connectionIds: [fourHourly] })).token;
  firstup = await createAccount(t.db, { role: 'firstup_super_admin' });
  cookie = await sessionCookie(firstup);
}, 120_000);

afterAll(async () => {
  resetClock();
  setStorage(undefined);
  setApiRateLimiter(undefined);
  await closeDatabase();
  await t?.drop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('a feed per API connection', () => {
  it("answers an API client only its connection's files, never an SFTP connection's", async () => {
    const res = await list('activities', { token: clientA });
    expect(res.status).toBe(200);
    const page = (await res.json()) as Page;
    expect(page.data.map((f) => f.window_start).sort()).toEqual(['2026-11-28T00:00:00.000Z', '2026-11-28T04:00:00.000Z']);
    expect(new Set(page.data.map((f) => f.connection_id))).toEqual(new Set([fourHourly]));
    // The same window of the SFTP connection has its own file, which is in no feed: not even its folder.
    const folders = await call(foldersRoute, request('GET', `/api/v1/folders?connection=${sftp}`, { token: clientA }));
    expect(folders.status).toBe(404);
    expect((await errorOf(folders)).message).toBe(`Connection ${sftp} was not found.`);
    const all = await call(foldersRoute, request('GET', '/api/v1/folders', { token: clientA }));
    expect(((await all.json()) as { data: { run_id: string }[] }).data.map((f) => f.run_id).sort()).toEqual([runs.a1, runs.a2].sort());
    const archive = await call(archiveRoute, request('GET', `/api/v1/folders/${runs.s1}/archive`, { token: clientA }), { run_id: runs.s1 });
    expect(archive.status).toBe(404);
    // A signed-in admin still sees every connection's folders of the program.
    const admin = await call(foldersRoute, request('GET', `/api/v1/folders?program=${P}&connection=${sftp}`, { cookie }));
    expect(((await admin.json()) as { data: { run_id: string }[] }).data.map((f) => f.run_id)).toEqual([runs.s1]);
  });

  it('refuses a connection the caller does not read with 404, and a malformed one with 422', async () => {
    for (const other of [daily, sftp, '00000000-0000-4000-8000-000000000000']) {
      const res = await list('activities', { token: clientA }, `?connection=${other}`);
      expect(res.status).toBe(404);
      expect((await errorOf(res)).message).toBe(`API connection ${other} was not found.`);
    }
    const bad = await list('activities', { token: clientA }, '?connection=nope');
    expect(bad.status).toBe(422);
  });

  it('asks a caller that reads several API connections to say which, naming the choices (not the SFTP one)', async () => {
    const res = await list('activities', { cookie }, `?program=${P}`);
    expect(res.status).toBe(422);
    const err = await errorOf(res);
    expect(err.message).toContain(fourHourly);
    expect(err.message).toContain(daily);
    expect(err.message).toContain('"Daily"');
    expect(err.message).not.toContain(sftp);
    expect((err.details as { connections: { id: string }[] }).connections.map((c) => c.id).sort()).toEqual([fourHourly, daily].sort());
    const named = await list('activities', { cookie }, `?program=${P}&connection=${daily}`);
    expect(named.status).toBe(200);
    const files = ((await named.json()) as Page).data;
    expect(files.map((f) => f.export_type).sort()).toEqual(['historical', 'incremental']);
    expect(new Set(files.map((f) => f.connection_id))).toEqual(new Set([daily]));
  });

  it("filters a connection's historical files with export_type", async () => {
    const res = await list('activities', { cookie }, `?program=${P}&connection=${daily}&export_type=historical`);
    const files = ((await res.json()) as Page).data;
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ export_type: 'historical', window_start: '2026-11-26T00:00:00.000Z' });
  });

  it("answers metadata only within the caller's feed", async () => {
    const page = ((await (await list('activity', { token: clientA })).json()) as Page).data;
    const own = await call(fileRoute, request('GET', `/api/v1/data_exports/activity/${page[0].id}`, { token: clientA }), {
      type: 'activity',
      file_id: page[0].id,
    });
    expect(own.status).toBe(200);
    expect(((await own.json()) as { data: FileView }).data.connection_id).toBe(fourHourly);
    const dailyFile = ((await (await list('activities', { cookie }, `?program=${P}&connection=${daily}`)).json()) as Page).data[0];
    const other = await call(fileRoute, request('GET', `/api/v1/data_exports/activities/${dailyFile.id}`, { token: clientA }), {
      type: 'activities',
      file_id: dailyFile.id,
    });
    expect(other.status).toBe(404);
  });
});

describe('latest: the newest closed window', () => {
  it('computes the newest closed window from the schedule', () => {
    const schedule = { frequency: 'every_4_hours' as const, startDate: new Date('2026-11-27T00:00:00Z') };
    expect(newestClosedWindow(schedule, NOW)).toEqual({ start: new Date('2026-11-28T08:00:00Z'), end: new Date('2026-11-28T12:00:00Z') });
    expect(newestClosedWindow(schedule, new Date('2026-11-28T12:00:00Z'))!.end).toEqual(new Date('2026-11-28T12:00:00Z'));
    expect(newestClosedWindow(schedule, new Date('2026-11-27T03:00:00Z'))).toBeUndefined();
    const ended = { ...schedule, endDate: new Date('2026-11-27T10:00:00Z') };
    expect(newestClosedWindow(ended, NOW)).toEqual({ start: new Date('2026-11-27T08:00:00Z'), end: new Date('2026-11-27T10:00:00Z') });
  });

  it('answers the empty payload when that window had no rows — never an older window’s file', async () => {
    const res = await latest('activity', { token: clientA });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      data: null,
      window: { start: '2026-11-28T08:00:00.000Z', end: '2026-11-28T12:00:00.000Z', status: 'empty' },
    });
  });

  it('answers pending while the window is not exported, then its file', async () => {
    // At 13:00 the daily connection's newest closed window is [11-27, 11-28): run b1, exported.
    const exported = (await (await latest('activities', { cookie }, `?program=${P}&connection=${daily}`)).json()) as {
      data: FileView;
      window: { status: string };
    };
    expect(exported.window.status).toBe('available');
    expect(exported.data.window_start).toBe('2026-11-27T00:00:00.000Z');

    setClock(new Date('2026-11-29T00:03:00Z')); // [11-28, 11-29) just closed: no run yet (settle delay)
    try {
      const pending = await latest('activities', { cookie }, `?program=${P}&connection=${daily}`);
      expect(await pending.json()).toEqual({
        data: null,
        window: { start: '2026-11-28T00:00:00.000Z', end: '2026-11-29T00:00:00.000Z', status: 'pending' },
      });
      const [run] = await t.db
        .insert(exportRuns)
        .values({
          connectionId: daily,
          programId: P,
          exportType: 'incremental',
          windowStart: new Date('2026-11-28T00:00:00Z'),
          windowEnd: new Date('2026-11-29T00:00:00Z'),
          status: 'generating',
        })
        .returning();
      expect(
        ((await (await latest('activities', { cookie }, `?program=${P}&connection=${daily}`)).json()) as { window: { status: string } })
          .window.status,
      ).toBe('pending');
      await t.db.update(exportRuns).set({ status: 'failed' }).where(eq(exportRuns.id, run.id));
      expect(
        ((await (await latest('activities', { cookie }, `?program=${P}&connection=${daily}`)).json()) as { window: { status: string } })
          .window.status,
      ).toBe('failed');
    } finally {
      setClock(NOW);
    }
  });

  it('answers expired once the window’s file is gone, and the next available part while one part is', async () => {
    const q = `?program=${P}&connection=${daily}`;
    const before = (await (await latest('activities', { cookie }, q)).json()) as { data: FileView };
    const [file] = await t.db.select().from(exportFiles).where(eq(exportFiles.id, before.data.id));
    // A second part of the same run and type, created later: latest answers part 1 first.
    const [second] = await t.db
      .insert(exportFiles)
      .values({ ...file, id: undefined, part: 2, name: file.name.replace(/\.gz$/, '-part2.gz'), storageKey: `${file.storageKey}-part2` })
      .returning();
    try {
      expect(((await (await latest('activities', { cookie }, q)).json()) as { data: FileView }).data.id).toBe(file.id);
      await t.db.update(exportFiles).set({ expired: true }).where(eq(exportFiles.id, file.id));
      expect(((await (await latest('activities', { cookie }, q)).json()) as { data: FileView }).data.id).toBe(second.id);
      await t.db
        .update(exportFiles)
        .set({ expiresAt: new Date(NOW.getTime() - 1000) })
        .where(eq(exportFiles.id, second.id));
      expect(await (await latest('activities', { cookie }, q)).json()).toEqual({
        data: null,
        window: { start: '2026-11-27T00:00:00.000Z', end: '2026-11-28T00:00:00.000Z', status: 'expired' },
      });
    } finally {
      await t.db.delete(exportFiles).where(eq(exportFiles.id, second.id));
      await t.db.update(exportFiles).set({ expired: false }).where(eq(exportFiles.id, file.id));
    }
  });

  it('with export_type=historical answers the newest historical file', async () => {
    const res = await latest('activities', { cookie }, `?program=${P}&connection=${daily}&export_type=historical`);
    const body = (await res.json()) as { data: FileView; window: { status: string } };
    expect(body.data.export_type).toBe('historical');
    expect(body.window.status).toBe('available');
  });
});

describe('type words', () => {
  it('accepts user|users, campaign|campaigns, activity|activities alike', async () => {
    for (const [one, many] of [
      ['user', 'users'],
      ['campaign', 'campaigns'],
      ['activity', 'activities'],
    ]) {
      const a = ((await (await list(one, { token: clientA })).json()) as Page).data.map((f) => f.id);
      const b = ((await (await list(many, { token: clientA })).json()) as Page).data.map((f) => f.id);
      expect(a.length).toBeGreaterThan(0);
      expect(a).toEqual(b);
    }
    expect((await list('events', { token: clientA })).status).toBe(404);
  });
});

describe('cheap polling', () => {
  it('answers 304 to If-None-Match on list, latest and metadata; the ETag ignores the signed links', async () => {
    const first = await list('activities', { token: clientA });
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const before = ((await first.json()) as Page).data[0].download_url;
    setClock(new Date(NOW.getTime() + 5000));
    try {
      const same = await list('activities', { token: clientA });
      expect(same.headers.get('etag')).toBe(etag);
      expect(((await same.json()) as Page).data[0].download_url).not.toBe(before);
      const cached = await list('activities', { token: clientA, headers: { 'if-none-match': etag } });
      expect(cached.status).toBe(304);
      expect(await cached.text()).toBe('');
      expect((await list('activities', { token: clientA, headers: { 'if-none-match': `W/${etag}, "other"` } })).status).toBe(304);
      expect((await list('activities', { token: clientA, headers: { 'if-none-match': '"other"' } })).status).toBe(200);

      const l = await latest('activities', { token: clientA });
      expect((await latest('activities', { token: clientA, headers: { 'if-none-match': l.headers.get('etag')! } })).status).toBe(304);

      const file = ((await (await list('activities', { token: clientA })).json()) as Page).data[0];
      let m: string | null = null;
      const meta = () =>
        call(
          fileRoute,
          request('GET', `/api/v1/data_exports/activities/${file.id}`, { token: clientA, headers: m ? { 'if-none-match': m } : {} }),
          { type: 'activities', file_id: file.id },
        );
      m = (await meta()).headers.get('etag');
      expect((await meta()).status).toBe(304);
    } finally {
      setClock(NOW);
    }
  });

  it('changes the ETag when the feed changes', async () => {
    const etag = (await list('activities', { token: clientA })).headers.get('etag')!;
    await addRun(t, {
      programId: P,
      connectionId: fourHourly,
      window: { start: new Date('2026-11-27T20:00:00Z'), end: new Date('2026-11-28T00:00:00Z') },
      storage,
    });
    const res = await list('activities', { token: clientA, headers: { 'if-none-match': etag } });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).not.toBe(etag);
  });

  it('says where the budget stands on every answer, errors and 429 included', async () => {
    setApiRateLimiter(new RateLimiter(3));
    try {
      const ok = await list('activities', { token: clientA });
      expect(ok.headers.get('ratelimit-limit')).toBe('3');
      expect(ok.headers.get('ratelimit-remaining')).toBe('2');
      expect(Number(ok.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
      const notFound = await list('activities', { token: clientA }, `?connection=${daily}`);
      expect(notFound.status).toBe(404);
      expect(notFound.headers.get('ratelimit-remaining')).toBe('1');
      const cached = await list('activities', { token: clientA, headers: { 'if-none-match': ok.headers.get('etag')! } });
      expect(cached.status).toBe(304);
      expect(cached.headers.get('ratelimit-remaining')).toBe('0');
      const limited = await list('activities', { token: clientA });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(limited.headers.get('ratelimit-limit')).toBe('3');
      expect(limited.headers.get('ratelimit-remaining')).toBe('0');
      expect(limited.headers.get('ratelimit-reset')).toBe(limited.headers.get('retry-after'));
    } finally {
      setApiRateLimiter(null);
    }
  });
});

describe('API clients name their connections', () => {
  const create = (json: unknown) => call(createClientRoute, request('POST', '/api/v1/api-clients', { cookie, json }));

  it('needs connection_ids when the program has several API connections, naming them', async () => {
    const res = await create({ program_id: P, name: 'Loader' });
    expect(res.status).toBe(422);
    const err = await errorOf(res);
    expect(err.message).toContain(fourHourly);
    expect(err.message).toContain(daily);
    expect(err.details).toMatchObject({ fields: [{ path: 'connection_ids' }] });
  });

  it('refuses an SFTP connection, and records the chosen connection', async () => {
    expect((await create({ program_id: P, name: 'Loader', connection_ids: [sftp] })).status).toBe(422);
    const res = await create({ program_id: P, name: 'Loader', connection_ids: [daily] });
    expect(res.status).toBe(201);
    const { data } = (await res.json()) as { data: { id: string; connection_ids: string[] } };
    expect(data.connection_ids).toEqual([daily]);
    const rows = await t.db.select().from(apiClientConnections).where(eq(apiClientConnections.clientId, data.id));
    expect(rows.map((r) => r.connectionId)).toEqual([daily]);
  });
});
