// Hostile input on every Export API and API-access route: random unicode, SQL-injection strings,
// huge and negative numbers, forged cursors and links, NUL bytes, path tricks. Whatever arrives,
// the answer is a 2xx/3xx or a 4xx in the one error shape — never a 5xx — and nothing is written.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as tokenRoute } from '@/app/api/oauth/token/route';
import { DELETE as revokeClientRoute } from '@/app/api/v1/api-clients/[client_id]/route';
import { GET as clientsRoute, POST as createClientRoute } from '@/app/api/v1/api-clients/route';
import { GET as latestRoute } from '@/pages/api/v1/data_exports/[type]/latest';
import { GET as listRoute } from '@/pages/api/v1/data_exports/[type]/index';
import { GET as fileRoute } from '@/pages/api/v1/data_exports/[type]/[file_id]';
import { GET as downloadRoute } from '@/pages/api/v1/downloads/[signed]';
import { GET as foldersRoute } from '@/pages/api/v1/folders/index';
import { GET as archiveRoute } from '@/pages/api/v1/folders/[run_id]/archive';
import { DELETE as revokeTokenRoute } from '@/app/api/v1/tokens/[token_id]/route';
import { POST as createTokenRoute } from '@/app/api/v1/tokens/route';
import { closeDatabase } from '@/db/client';
import { apiClients, apiTokens, auditLog, exportFiles } from '@/db/schema';
import type { RouteHandler } from '@/lib/auth/with-auth';
import { setApiRateLimiter } from '@/lib/http/rate-limit';
import { setStorage, type LocalStorage } from '@/lib/storage';
import { createAccount, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { call, clientToken, programWithRun, useTempStorage } from './helpers/export-api';

const PROGRAM = 4301;

let t: TestDatabase;
let storage: LocalStorage;
let token: string;
let cookie: string;
let fileId: string;
let runId: string;

/** A small deterministic generator (mulberry32), so a failure reproduces. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY = [
  "' OR 1=1 --",
  "'; DROP TABLE export_files; --",
  '1; select pg_sleep(10)',
  '" OR ""="',
  '../../../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '%00',
  '\u0000',
  '\u202e\u0041\u0301',
  '😀🚀💥',
  'ｕｓｅｒｓ',
  'ACTIVITIES',
  'users ',
  ' ',
  '',
  '-1',
  '0',
  '-0',
  '1e400',
  '9'.repeat(400),
  '18446744073709551616',
  '9007199254740993',
  'NaN',
  'Infinity',
  '0x10',
  '1.5',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '{"$gt": ""}',
  '<script>alert(1)</script>',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz',
  '2026-02-31T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59-12:00',
  '275760-09-13T00:00:00Z',
  'djF8MjAyNi0wMS0wMVQwMDowMDowMC4wMDAwMDBafG5vcGU',
  'v1|2026-01-01T00:00:00.000000Z|00000000-0000-4000-8000-000000000000',
  'x'.repeat(5000),
];

function randomString(r: () => number): string {
  const pick = r();
  if (pick < 0.5) return NASTY[Math.floor(r() * NASTY.length)];
  const len = Math.floor(r() * 40);
  let s = '';
  for (let i = 0; i < len; i++) {
    const kind = r();
    const cp =
      kind < 0.4
        ? 32 + Math.floor(r() * 95) // ASCII
        : kind < 0.7
          ? 0x80 + Math.floor(r() * 0x780) // Latin, Greek, Cyrillic, Hebrew, Arabic…
          : kind < 0.9
            ? 0x4e00 + Math.floor(r() * 0x5000) // CJK
            : 0x1f300 + Math.floor(r() * 0x300); // emoji
    s += String.fromCodePoint(cp);
  }
  return s;
}

function randomQuery(r: () => number, keys: string[]): string {
  const parts: string[] = [];
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) {
    const key = r() < 0.8 ? keys[Math.floor(r() * keys.length)] : randomString(r);
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(randomString(r))}`);
    if (r() < 0.1) parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(randomString(r))}`); // repeated key
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

async function expectNo5xx(label: string, res: Response): Promise<void> {
  const body = await res.text();
  expect(res.status, `${label} → ${res.status} ${body.slice(0, 300)}`).toBeLessThan(500);
  if (res.status >= 400 && res.headers.get('content-type')?.includes('json')) {
    const json = JSON.parse(body) as { error: unknown; request_id?: unknown };
    expect(json.error, label).toBeDefined();
    expect(typeof json.request_id, label).toBe('string');
  }
}

async function counts() {
  const [row] = await t.db
    .select({
      files: sql<number>`(select count(*)::int from ${exportFiles})`,
      tokens: sql<number>`(select count(*)::int from ${apiTokens})`,
      clients: sql<number>`(select count(*)::int from ${apiClients})`,
      audit: sql<number>`(select count(*)::int from ${auditLog})`,
    })
    .from(sql`(select 1) as one`);
  return row;
}

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  setApiRateLimiter(null);
  ({ storage } = useTempStorage());
  const run = await programWithRun(t, { programId: PROGRAM, until: new Date('2026-11-28T12:00:00Z'), storage, events: 500 });
  runId = run.runId;
  fileId = run.result.files[0] ? (await t.sql<{ id: string }[]>`select id from export_files where run_id = ${runId} limit 1`)[0].id : '';
  token = (await clientToken(t, PROGRAM)).token;
  const admin = await createAccount(t.db, { role: 'firstup_super_admin' });
  cookie = await sessionCookie(admin);
}, 120_000);

afterAll(async () => {
  setApiRateLimiter(undefined);
  setStorage(undefined);
  await closeDatabase();
  await t?.drop();
});

type Target = { name: string; handler: RouteHandler; path: (p: Record<string, string>) => string; params: string[]; query: string[] };

const READ_TARGETS: Target[] = [
  {
    name: 'latest',
    handler: latestRoute,
    path: (p) => `/api/v1/data_exports/${encodeURIComponent(p.type)}/latest`,
    params: ['type'],
    query: ['program', 'export_type'],
  },
  {
    name: 'list',
    handler: listRoute,
    path: (p) => `/api/v1/data_exports/${encodeURIComponent(p.type)}`,
    params: ['type'],
    query: ['program', 'limit', 'cursor', 'since', 'until', 'export_type'],
  },
  {
    name: 'file',
    handler: fileRoute,
    path: (p) => `/api/v1/data_exports/${encodeURIComponent(p.type)}/${encodeURIComponent(p.file_id)}`,
    params: ['type', 'file_id'],
    query: ['program'],
  },
  {
    name: 'folders',
    handler: foldersRoute,
    path: () => '/api/v1/folders',
    params: [],
    query: ['program', 'limit', 'cursor', 'include_expired'],
  },
  {
    name: 'archive',
    handler: archiveRoute,
    path: (p) => `/api/v1/folders/${encodeURIComponent(p.run_id)}/archive`,
    params: ['run_id'],
    query: ['program'],
  },
  {
    name: 'download',
    handler: downloadRoute,
    path: (p) => `/api/v1/downloads/${encodeURIComponent(p.signed)}`,
    params: ['signed'],
    query: [],
  },
  { name: 'clients', handler: clientsRoute, path: () => '/api/v1/api-clients', params: [], query: ['program'] },
];

describe('fuzzed path and query parameters', () => {
  it('never answer 5xx on the read routes, with a token or a session', async () => {
    const r = rng(20261128);
    const before = await counts();
    const valid: Record<string, string[]> = { type: ['users', 'campaigns', 'activities'], file_id: [fileId], run_id: [runId], signed: [] };
    for (let i = 0; i < 700; i++) {
      const target = READ_TARGETS[i % READ_TARGETS.length];
      const params: Record<string, string> = {};
      for (const p of target.params)
        params[p] = r() < 0.3 && valid[p]?.length ? valid[p][Math.floor(r() * valid[p].length)] : randomString(r);
      const query = randomQuery(r, target.query);
      let url: string;
      try {
        url = target.path(params) + query;
      } catch {
        url = target.path(Object.fromEntries(Object.keys(params).map((k) => [k, 'x']))) + query; // lone surrogates cannot be URI-encoded
      }
      const auth = r() < 0.5 ? { token } : { cookie };
      const res = await call(target.handler, request('GET', url, auth), params);
      await expectNo5xx(`${target.name} ${url.slice(0, 200)} ${JSON.stringify(params).slice(0, 200)}`, res);
    }
    expect(await counts()).toEqual(before);
  });

  it('never answer 5xx to hostile Range, If-Range and Authorization headers', async () => {
    const r = rng(7);
    const link = (
      (await (
        await call(latestRoute, request('GET', '/api/v1/data_exports/activities/latest', { token }), { type: 'activities' })
      ).json()) as { data: { download_url: string } }
    ).data.download_url;
    const signed = link.split('/').pop()!;
    for (let i = 0; i < 150; i++) {
      const headers: Record<string, string> = {};
      const range = [
        `bytes=${randomString(r)}`,
        `bytes=${Math.floor(r() * 1e6)}-${Math.floor(r() * 1e6)}`,
        `bytes=-${'9'.repeat(20)}`,
        'bytes=5-1',
        'bytes=--',
        'bytes=0-0,0-0',
      ][i % 6];
      headers.range = range.replace(/[^\x20-\x7e]/g, '?');
      if (r() < 0.3) headers['if-range'] = randomString(r).replace(/[^\x20-\x7e]/g, '?');
      if (r() < 0.3) headers['if-none-match'] = randomString(r).replace(/[^\x20-\x7e]/g, '?');
      await expectNo5xx(
        `range ${headers.range}`,
        await call(downloadRoute, request('GET', `/api/v1/downloads/${signed}`, { headers }), { signed }),
      );
      const authorization = `Bearer ${randomString(r)}`.replace(/[^\x20-\x7e]/g, '?');
      await expectNo5xx(
        `auth ${authorization.slice(0, 60)}`,
        await call(latestRoute, request('GET', '/api/v1/data_exports/users/latest', { authorization }), { type: 'users' }),
      );
    }
  });

  it('never answer 5xx on the write routes, and write nothing for bad input', async () => {
    const r = rng(99);
    const before = await counts();
    for (let i = 0; i < 200; i++) {
      const value = () =>
        r() < 0.5 ? randomString(r) : [Math.floor(r() * 2 ** 60) * (r() < 0.5 ? -1 : 1), null, true, [], {}, 1.5][Math.floor(r() * 6)];
      const bodies = [
        { name: value(), scopes: r() < 0.5 ? [value()] : value(), expires_in_days: value() },
        { program_id: value(), name: value(), scopes: [value()] },
      ];
      await expectNo5xx('create token', await call(createTokenRoute, request('POST', '/api/v1/tokens', { cookie, json: bodies[0] })));
      await expectNo5xx(
        'create client',
        await call(createClientRoute, request('POST', '/api/v1/api-clients', { cookie, json: bodies[1] })),
      );
      const id = randomString(r);
      await expectNo5xx('revoke token', await call(revokeTokenRoute, request('DELETE', '/api/v1/tokens/x', { cookie }), { token_id: id }));
      await expectNo5xx(
        'revoke client',
        await call(revokeClientRoute, request('DELETE', `/api/v1/api-clients/x?program=${PROGRAM}`, { cookie }), { client_id: id }),
      );
      const form = new URLSearchParams();
      for (const k of ['grant_type', 'scope', 'client_id', 'client_secret', randomString(r)]) if (r() < 0.7) form.set(k, randomString(r));
      const headers: Record<string, string> = {
        'content-type': r() < 0.8 ? 'application/x-www-form-urlencoded' : randomString(r).replace(/[^\x20-\x7e]/g, '?'),
      };
      if (r() < 0.3) headers.authorization = `Basic ${Buffer.from(`${randomString(r)}:${randomString(r)}`).toString('base64')}`;
      const res = await call(tokenRoute, request('POST', '/api/oauth/token', { body: form.toString(), headers }));
      expect(res.status, 'token endpoint').toBeLessThan(500);
      if (res.status >= 400) expect(((await res.json()) as { error: string }).error).toMatch(/^[a-z_]+$/);
    }
    const after = await counts();
    // Some random bodies are valid (a name and a known scope): those create tokens or clients, each with its Activity Log entry.
    expect(after.files).toBe(before.files);
    expect(after.audit - before.audit).toBe(after.tokens - before.tokens + (after.clients - before.clients));
  });
});
