// Hostile input on every management API route (connections and their actions, runs, historical
// requests, the Activity Log, configuration, API clients, personal tokens, the program switcher
// and the password change): random JSON and non-JSON bodies, random ids, random queries, as every
// kind of caller. Whatever arrives, the answer is never a 5xx, and a 4xx changes no row.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as changePasswordRoute } from '@/app/api/account/password/route';
import { POST as selectProgramRoute } from '@/app/api/session/program/route';
import { GET as activityRoute } from '@/app/api/v1/activity-log/route';
import { DELETE as revokeClientRoute } from '@/app/api/v1/api-clients/[client_id]/route';
import { GET as clientsRoute, POST as createClientRoute } from '@/app/api/v1/api-clients/route';
import { GET as configRoute } from '@/app/api/v1/config/route';
import { GET as historicalListRoute, POST as historicalCreateRoute } from '@/app/api/v1/connections/[id]/historical-requests/route';
import { POST as credentialsRoute } from '@/app/api/v1/connections/[id]/credentials/route';
import { POST as replacePgpKeyRoute } from '@/app/api/v1/connections/[id]/pgp-key/route';
import { POST as pauseRoute } from '@/app/api/v1/connections/[id]/pause/route';
import { POST as resumeRoute } from '@/app/api/v1/connections/[id]/resume/route';
import { DELETE as deleteRoute, GET as getRoute, PATCH as patchRoute } from '@/app/api/v1/connections/[id]/route';
import { GET as runsRoute } from '@/app/api/v1/connections/[id]/runs/route';
import { POST as startRoute } from '@/app/api/v1/connections/[id]/start/route';
import { GET as statsRoute } from '@/app/api/v1/connections/[id]/stats/route';
import { POST as stopRoute } from '@/app/api/v1/connections/[id]/stop/route';
import { GET as listRoute, POST as createRoute } from '@/app/api/v1/connections/route';
import { POST as checkPgpKeyRoute } from '@/app/api/v1/connections/pgp-key/route';
import { POST as testRoute } from '@/app/api/v1/connections/test/route';
import { POST as cancelRoute } from '@/app/api/v1/historical-requests/[id]/cancel/route';
import { POST as retryRoute } from '@/app/api/v1/runs/[id]/retry/route';
import { GET as runRoute } from '@/app/api/v1/runs/[id]/route';
import { DELETE as revokeTokenRoute } from '@/app/api/v1/tokens/[token_id]/route';
import { GET as tokensRoute, POST as createTokenRoute } from '@/app/api/v1/tokens/route';
import { closeDatabase } from '@/db/client';
import { exportRuns } from '@/db/schema';
import { createApiToken } from '@/lib/auth/tokens';
import { startSftpSink, type SftpSink } from '@/scripts/dev/sftp-sink';
import { setApiRateLimiter, setExpensiveLimiter } from '@/lib/http/rate-limit';
import type { RouteHandler } from '@/lib/auth/with-auth';
import { createAccount, createPrograms, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let sink: SftpSink;
let work: string;
const PASSWORD = 'sink-password-1';
const valid: Record<string, string[]> = { id: [], run: [], historical: [], client: [], token: [] };
let callers: { name: string; headers: Record<string, string> }[] = [];

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
  "'; DROP TABLE connections; --",
  '../../etc/passwd',
  '\u0000',
  'a\u0000b',
  '\u202e\u0041\u0301',
  '😀🚀💥',
  '',
  ' ',
  '-1',
  '0',
  '1e400',
  '9'.repeat(400),
  '9007199254740993',
  'NaN',
  'null',
  'true',
  '[]',
  '{}',
  '<script>alert(1)</script>',
  '00000000-0000-0000-0000-000000000000',
  'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz',
  '2026-02-31',
  '0000-01-01T00:00:00Z',
  '275760-09-13T00:00:00Z',
  'daily',
  'every_4_hours',
  'csv',
  'sftp',
  'api',
  'password',
  'private_key',
  'data_exports.manage',
  'x'.repeat(5000),
];
// Host values only from this list: nothing the fuzz sends may make DDE look a name up on the network.
const HOSTS = [
  '127.0.0.2',
  '169.254.169.254',
  '::1',
  'localhost',
  '',
  'x'.repeat(300),
  "'; drop",
  '\u0000',
  '-',
  '1.2.3.4.5',
  'sftp://u:p@127.0.0.2:22/a?b#c',
  'ftp://x',
  '[::1',
  '[fe80::1%eth0]:22',
  'https://169.254.169.254/latest',
  '%%',
];
const FIELDS = [
  'kind',
  'name',
  'frequency',
  'start_date',
  'end_date',
  'format',
  'contact_emails',
  'port',
  'folder',
  'username',
  'auth',
  'method',
  'password',
  'private_key',
  'passphrase',
  'host_key_fingerprint',
  'accept_changed_host_key',
  'from',
  'to',
  'export_type',
  'scopes',
  'expires_in_days',
  'program_id',
  'current_password',
  'new_password',
  'immediately',
  '__proto__',
  'constructor',
];

function randomString(r: () => number): string {
  if (r() < 0.6) return NASTY[Math.floor(r() * NASTY.length)];
  const len = Math.floor(r() * 30);
  let s = '';
  for (let i = 0; i < len; i++) {
    const kind = r();
    const cp = kind < 0.5 ? 32 + Math.floor(r() * 95) : kind < 0.8 ? 0x80 + Math.floor(r() * 0x780) : 0x4e00 + Math.floor(r() * 0x5000);
    s += String.fromCodePoint(cp);
  }
  return s;
}

function randomValue(r: () => number, depth = 0): unknown {
  const k = r();
  if (k < 0.35) return randomString(r);
  if (k < 0.5) return [0, -1, 1, 22, 65536, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2][Math.floor(r() * 9)];
  if (k < 0.6) return [true, false, null][Math.floor(r() * 3)];
  if (k < 0.75 && depth < 3) return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
  if (depth < 3) return randomObject(r, depth + 1);
  return randomString(r);
}

function randomObject(r: () => number, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const n = Math.floor(r() * 8);
  for (let i = 0; i < n; i++) out[r() < 0.85 ? FIELDS[Math.floor(r() * FIELDS.length)] : randomString(r)] = randomValue(r, depth);
  if (r() < 0.3) out.auth = { method: r() < 0.5 ? 'password' : 'private_key', password: randomString(r), private_key: randomString(r) };
  if (r() < 0.5) out.host = HOSTS[Math.floor(r() * HOSTS.length)];
  else delete out.host;
  return out;
}

/** A body: mostly JSON (objects, arrays, scalars), sometimes broken JSON, form data or nothing. */
function randomBody(r: () => number): { body?: string; type?: string } {
  const k = r();
  if (k < 0.6) return { body: JSON.stringify(randomObject(r)), type: 'application/json' };
  if (k < 0.7) return { body: JSON.stringify(randomValue(r)), type: 'application/json' };
  if (k < 0.78) return { body: '{"name": "unterminated', type: 'application/json' };
  if (k < 0.84) return { body: `${'['.repeat(200)}${']'.repeat(200)}`, type: 'application/json' };
  if (k < 0.9) return { body: 'name=x&host=127.0.0.2', type: 'application/x-www-form-urlencoded' };
  if (k < 0.95) return { type: 'application/json' };
  return { body: JSON.stringify(randomObject(r)), type: 'text/plain' };
}

function randomQuery(r: () => number, keys: string[]): string {
  const parts: string[] = [];
  if (r() < 0.6) parts.push(`program=${r() < 0.7 ? '101' : encodeURIComponent(randomString(r))}`);
  const n = Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const key = r() < 0.8 && keys.length ? keys[Math.floor(r() * keys.length)] : randomString(r);
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(randomString(r))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

type Target = {
  name: string;
  method: string;
  handler: RouteHandler;
  path: (p: Record<string, string>) => string;
  /** Path parameter name → which list of valid ids to draw from. */
  params: Record<string, keyof typeof valid>;
  query: string[];
};

const enc = encodeURIComponent;
const T = (t: Omit<Target, 'handler'> & { handler: unknown }) => t as Target;
const TARGETS: Target[] = [
  T({
    name: 'list connections',
    method: 'GET',
    handler: listRoute,
    path: () => '/api/v1/connections',
    params: {},
    query: ['status', 'kind'],
  }),
  T({ name: 'create connection', method: 'POST', handler: createRoute, path: () => '/api/v1/connections', params: {}, query: [] }),
  T({ name: 'test connection', method: 'POST', handler: testRoute, path: () => '/api/v1/connections/test', params: {}, query: [] }),
  T({
    name: 'get connection',
    method: 'GET',
    handler: getRoute,
    path: (p) => `/api/v1/connections/${enc(p.id)}`,
    params: { id: 'id' },
    query: [],
  }),
  T({
    name: 'edit connection',
    method: 'PATCH',
    handler: patchRoute,
    path: (p) => `/api/v1/connections/${enc(p.id)}`,
    params: { id: 'id' },
    query: [],
  }),
  T({
    name: 'delete connection',
    method: 'DELETE',
    handler: deleteRoute,
    path: (p) => `/api/v1/connections/${enc(p.id)}`,
    params: { id: 'id' },
    query: [],
  }),
  ...(
    [
      ['pause', pauseRoute],
      ['resume', resumeRoute],
      ['start', startRoute],
      ['stop', stopRoute],
    ] as const
  ).map(([action, handler]) =>
    T({
      name: action,
      method: 'POST',
      handler,
      path: (p) => `/api/v1/connections/${enc(p.id)}/${action}`,
      params: { id: 'id' },
      query: ['immediately'],
    }),
  ),
  T({
    name: 'replace credentials',
    method: 'POST',
    handler: credentialsRoute,
    path: (p) => `/api/v1/connections/${enc(p.id)}/credentials`,
    params: { id: 'id' },
    query: [],
  }),
  T({
    name: 'replace OpenPGP key',
    method: 'POST',
    handler: replacePgpKeyRoute,
    path: (p) => `/api/v1/connections/${enc(p.id)}/pgp-key`,
    params: { id: 'id' },
    query: [],
  }),
  T({
    name: 'check OpenPGP key',
    method: 'POST',
    handler: checkPgpKeyRoute,
    path: () => '/api/v1/connections/pgp-key',
    params: {},
    query: [],
  }),
  T({
    name: 'runs',
    method: 'GET',
    handler: runsRoute,
    path: (p) => `/api/v1/connections/${enc(p.id)}/runs`,
    params: { id: 'id' },
    query: ['status', 'file_type', 'export_type', 'from', 'to', 'limit', 'cursor'],
  }),
  T({
    name: 'stats',
    method: 'GET',
    handler: statsRoute,
    path: (p) => `/api/v1/connections/${enc(p.id)}/stats`,
    params: { id: 'id' },
    query: ['days'],
  }),
  T({
    name: 'historical list',
    method: 'GET',
    handler: historicalListRoute,
    path: (p) => `/api/v1/connections/${enc(p.id)}/historical-requests`,
    params: { id: 'id' },
    query: [],
  }),
  T({
    name: 'historical create',
    method: 'POST',
    handler: historicalCreateRoute,
    path: (p) => `/api/v1/connections/${enc(p.id)}/historical-requests`,
    params: { id: 'id' },
    query: [],
  }),
  T({
    name: 'historical cancel',
    method: 'POST',
    handler: cancelRoute,
    path: (p) => `/api/v1/historical-requests/${enc(p.id)}/cancel`,
    params: { id: 'historical' },
    query: [],
  }),
  T({ name: 'run', method: 'GET', handler: runRoute, path: (p) => `/api/v1/runs/${enc(p.id)}`, params: { id: 'run' }, query: [] }),
  T({
    name: 'retry',
    method: 'POST',
    handler: retryRoute,
    path: (p) => `/api/v1/runs/${enc(p.id)}/retry`,
    params: { id: 'run' },
    query: [],
  }),
  T({
    name: 'activity',
    method: 'GET',
    handler: activityRoute,
    path: () => '/api/v1/activity-log',
    params: {},
    query: ['kind', 'action', 'target_type', 'target_id', 'from', 'to', 'limit', 'cursor'],
  }),
  T({ name: 'config', method: 'GET', handler: configRoute, path: () => '/api/v1/config', params: {}, query: [] }),
  T({ name: 'api clients', method: 'GET', handler: clientsRoute, path: () => '/api/v1/api-clients', params: {}, query: [] }),
  T({ name: 'create api client', method: 'POST', handler: createClientRoute, path: () => '/api/v1/api-clients', params: {}, query: [] }),
  T({
    name: 'revoke api client',
    method: 'DELETE',
    handler: revokeClientRoute,
    path: (p) => `/api/v1/api-clients/${enc(p.client_id)}`,
    params: { client_id: 'client' },
    query: [],
  }),
  T({ name: 'tokens', method: 'GET', handler: tokensRoute, path: () => '/api/v1/tokens', params: {}, query: [] }),
  T({ name: 'create token', method: 'POST', handler: createTokenRoute, path: () => '/api/v1/tokens', params: {}, query: [] }),
  T({
    name: 'revoke token',
    method: 'DELETE',
    handler: revokeTokenRoute,
    path: (p) => `/api/v1/tokens/${enc(p.token_id)}`,
    params: { token_id: 'token' },
    query: [],
  }),
  T({ name: 'program switcher', method: 'POST', handler: selectProgramRoute, path: () => '/api/session/program', params: {}, query: [] }),
  T({ name: 'change password', method: 'POST', handler: changePasswordRoute, path: () => '/api/account/password', params: {}, query: [] }),
];

/** Every row of every table a route could write, so "nothing changed" is checked exactly (use stamps aside). */
const TABLES = [
  'connections',
  'export_runs',
  'export_files',
  'deliveries',
  'historical_requests',
  'audit_log',
  'notifications',
  'api_clients',
  'api_tokens',
  'accounts',
  'program_memberships',
];
async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of TABLES) {
    const rows = await t.db.execute<{ h: string; n: number }>(
      sql.raw(
        `select md5(coalesce(string_agg(j, '|' order by j), '')) as h, count(*)::int as n from (select (to_jsonb(x) - 'last_used_at')::text as j from ${table} x) s`,
      ),
    );
    const [row] = rows as unknown as { h: string; n: number }[];
    out[table] = `${row.n}:${row.h}`;
  }
  return out;
}

const today = `${new Date().toISOString().slice(0, 10)}T00:00:00Z`;

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  // Reach past the limits into every handler; the limits have their own tests.
  setApiRateLimiter(null);
  setExpensiveLimiter('connection_test', null);
  setExpensiveLimiter('historical_request', null);
  work = mkdtempSync(path.join(tmpdir(), 'dde-mgmt-fuzz-'));
  sink = await startSftpSink({ rootDir: path.join(work, 'sink'), username: 'dde', password: PASSWORD });
  await createPrograms(t.db, [
    { id: 101, name: 'Acme' },
    { id: 202, name: 'Globex' },
  ]);
  const firstup = await createAccount(t.db, { role: 'firstup_super_admin' });
  const brand = await createAccount(t.db, { role: 'brand_super_admin', programIds: [101] });
  const firstupCookie = await sessionCookie(firstup);
  const manage = await createApiToken(t.db, { kind: 'personal', accountId: firstup.id, scopes: ['data_exports.manage'], name: 'fuzz' });
  const read = await createApiToken(t.db, { kind: 'personal', accountId: brand.id, scopes: ['data_exports.read'], name: 'fuzz-read' });
  const origin = 'http://localhost:3000';
  callers = [
    { name: 'firstup', headers: { cookie: firstupCookie, origin } },
    { name: 'brand', headers: { cookie: await sessionCookie(brand), origin } },
    { name: 'firstup without origin', headers: { cookie: firstupCookie } },
    { name: 'manage token', headers: { authorization: `Bearer ${manage.token}` } },
    { name: 'read token', headers: { authorization: `Bearer ${read.token}` } },
    { name: 'bad token', headers: { authorization: 'Bearer dde_not-a-real-token-at-all' } },
    { name: 'nobody', headers: {} },
  ];
  valid.token.push(read.row.id);

  const json = () => ({ 'content-type': 'application/json', cookie: firstupCookie, origin });
  const make = async (program: number, body: Record<string, unknown>) => {
    const res = await createRoute(
      new Request(`http://localhost:3000/api/v1/connections?program=${program}`, {
        method: 'POST',
        headers: json(),
        body: JSON.stringify(body),
      }),
      { params: Promise.resolve({}) },
    );
    expect(res.status).toBe(201);
    return ((await res.json()) as { data: { id: string } }).data.id;
  };
  const apiId = await make(101, { kind: 'api', name: 'API', frequency: 'daily', start_date: today, contact_emails: ['a@example.com'] });
  const sftpId = await make(101, {
    kind: 'sftp',
    name: 'SFTP',
    frequency: 'daily',
    start_date: today,
    contact_emails: ['a@example.com'],
    host: sink.host,
    port: sink.port,
    folder: '/',
    username: 'dde',
    auth: { method: 'password', password: PASSWORD },
    host_key_fingerprint: sink.hostKeyFingerprint,
  });
  const otherId = await make(202, {
    kind: 'api',
    name: 'Other',
    frequency: 'weekly',
    start_date: today,
    contact_emails: ['b@example.com'],
  });
  valid.id.push(apiId, sftpId, otherId);
  const [run] = await t.db
    .insert(exportRuns)
    .values({
      connectionId: sftpId,
      programId: 101,
      exportType: 'incremental',
      windowStart: new Date(Date.UTC(2026, 9, 1)),
      windowEnd: new Date(Date.UTC(2026, 9, 2)),
      status: 'failed',
      rowsTotal: 1,
      bytesTotal: 1,
      filesCount: 0,
    })
    .returning();
  valid.run.push(run.id);
  const hist = await historicalCreateRoute(
    new Request(`http://localhost:3000/api/v1/connections/${apiId}/historical-requests?program=101`, {
      method: 'POST',
      headers: json(),
      body: JSON.stringify({ from: new Date(Date.now() - 40 * 86_400_000).toISOString().slice(0, 10) }),
    }),
    { params: Promise.resolve({ id: apiId }) },
  );
  expect(hist.status).toBe(201);
  valid.historical.push(((await hist.json()) as { data: { id: string } }).data.id);
}, 60_000);

afterAll(async () => {
  setApiRateLimiter(undefined);
  setExpensiveLimiter('connection_test', undefined);
  setExpensiveLimiter('historical_request', undefined);
  await sink?.close();
  await closeDatabase();
  await t?.drop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('fuzzed management API', () => {
  it('never answers 5xx, answers every error in the one shape, and changes no row on a 4xx', async () => {
    const r = rng(20261203);
    const seen = new Map<string, Set<number>>();
    let before = await snapshot();
    const ITERATIONS = 900;
    for (let i = 0; i < ITERATIONS; i++) {
      const target = TARGETS[i % TARGETS.length];
      const params: Record<string, string> = {};
      for (const [p, kind] of Object.entries(target.params)) {
        params[p] = r() < 0.5 && valid[kind].length ? valid[kind][Math.floor(r() * valid[kind].length)] : randomString(r);
      }
      let url: string;
      try {
        url = target.path(params) + randomQuery(r, target.query);
      } catch {
        url = target.path(Object.fromEntries(Object.keys(params).map((k) => [k, 'x']))); // lone surrogates cannot be URI-encoded
      }
      const caller = callers[Math.floor(r() * callers.length)];
      const headers: Record<string, string> = { ...caller.headers };
      let body: string | undefined;
      if (target.method !== 'GET' && target.method !== 'DELETE') {
        const b = randomBody(r);
        body = b.body;
        if (b.type) headers['content-type'] = b.type;
      }
      let res: Response;
      try {
        res = await target.handler(new Request(`http://localhost:3000${url}`, { method: target.method, headers, body }), {
          params: Promise.resolve(params),
        });
      } catch (err) {
        throw new Error(`${target.name} ${url.slice(0, 120)} as ${caller.name} threw: ${(err as Error).message}`);
      }
      const text = await res.text();
      const label = `${target.name} ${target.method} ${url.slice(0, 160)} as ${caller.name} body ${String(body).slice(0, 200)} → ${res.status} ${text.slice(0, 300)}`;
      expect(res.status, label).toBeLessThan(500);
      if (!seen.has(target.name)) seen.set(target.name, new Set());
      seen.get(target.name)!.add(res.status);
      const after = await snapshot();
      if (res.status >= 400) {
        const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown }; request_id?: unknown };
        expect(typeof parsed.error?.code, label).toBe('string');
        expect(typeof parsed.error?.message, label).toBe('string');
        expect(typeof parsed.request_id, label).toBe('string');
        expect(after, label).toEqual(before);
      }
      before = after;
    }
    // Every route was reached, and the fuzz got past validation somewhere (not only 401s).
    expect([...seen.keys()].sort()).toEqual(TARGETS.map((x) => x.name).sort());
    const statuses = new Set([...seen.values()].flatMap((s) => [...s]));
    for (const s of [200, 401, 403, 404, 422]) expect(statuses.has(s), `status ${s} seen`).toBe(true);
  }, 240_000);
});
