// An API client reads its own feed and nothing else. The walk below calls EVERY route of the app
// (read from the route files: test/helpers/routes.ts), every method, with a client of connection A,
// naming in the path, the query and the body the things of connection B (another API connection of
// the program), of an SFTP connection and of another program — and asserts that no answer carries
// any of them, that every route but the client's feed answers 404, and that nothing changed. A
// route added tomorrow is walked without editing this file.
import { rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase } from '@/db/client';
import { apiClients, connections, exportFiles, historicalRequests, webhookEndpoints, type Account } from '@/db/schema';
import { createApiToken } from '@/lib/auth/tokens';
import { setExpensiveLimiter, setApiRateLimiter } from '@/lib/http/rate-limit';
import { seedProgram } from '@/lib/seed';
import { setStorage, type LocalStorage } from '@/lib/storage';
import { encryptWebhookSecret } from '@/lib/webhooks/secret';
import { queueWebhookMessage, testBody } from '@/lib/webhooks';
import { createAccount, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { addRun, clientToken, useTempStorage } from './helpers/export-api';
import { loadRoutes, type Method, type Route } from './helpers/routes';

const P = 4601;
const Q = 4602;
const DAY = 86_400_000;
const WINDOW = { start: new Date('2026-11-20T00:00:00Z'), end: new Date('2026-11-21T00:00:00Z') };

/**
 * The routes an API client may call: its feed (lib/auth/with-auth.ts `clientFeed`). Opening another
 * route to clients means adding it here, knowingly; every other route must answer a client 404.
 */
const CLIENT_FEED_ROUTES = new Set([
  'GET /api/v1/data_exports/reconciliation',
  'GET /api/v1/data_exports/{type}',
  'GET /api/v1/data_exports/{type}/latest',
  'GET /api/v1/data_exports/{type}/{file_id}',
  'GET /api/v1/folders',
  'GET /api/v1/folders/{run_id}/archive',
  // The typed columns of a file type: the same for every program and feed, nothing of anyone's data.
  'GET /api/v1/schemas/{type}',
]);
/** Feed routes about no program or connection: they answer the same whatever the query names (and never anyone's data). */
const PROGRAM_FREE_ROUTES = new Set(['GET /api/v1/schemas/{type}']);
const key = (r: Route) => `${r.method} ${r.path}`;

type Target = {
  label: string;
  program: number;
  connection: string;
  run: string;
  files: string[];
  webhook: string;
  delivery: string;
  historical: string;
  client: { id: string; clientId: string } | null;
};

let t: TestDatabase;
let storage: LocalStorage;
let root: string;
let admin: Account;
let adminCookie: string;
let clientA: string;
let own: Target;
const foreign: Target[] = [];
let routes: Route[];

async function target(label: string, program: number, kind: 'api' | 'sftp', name: string): Promise<Target> {
  const [conn] = await t.db
    .insert(connections)
    .values({
      programId: program,
      kind,
      name,
      frequency: 'daily',
      startDate: new Date(WINDOW.start.getTime() - 10 * DAY),
      format: 'csv',
      contactEmails: [`${label.toLowerCase().replace(/\W/g, '')}@example.com`],
      ...(kind === 'sftp'
        ? {
            sftpHost: '198.51.100.7',
            sftpPort: 22,
            sftpFolder: `/drop-${label.replace(/\W/g, '')}`,
            sftpUsername: 'loader',
            authMethod: 'password',
          }
        : {}),
    } as typeof connections.$inferInsert)
    .returning();
  const { runId } = await addRun(t, { programId: program, connectionId: conn.id, window: WINDOW, storage });
  const files = (await t.db.select({ id: exportFiles.id }).from(exportFiles).where(eq(exportFiles.runId, runId))).map((f) => f.id);
  const id = crypto.randomUUID();
  const [endpoint] = await t.db
    .insert(webhookEndpoints)
    .values({
      id,
      programId: program,
      connectionId: conn.id,
      url: `https://hooks.example.com/${label.replace(/\W/g, '')}/T0SECRET`,
      events: ['files.ready'],
      secretCiphertext: encryptWebhookSecret('whsec_test', id),
    })
    .returning();
  const message = await queueWebhookMessage(t.db, endpoint, testBody(WINDOW.end, conn, endpoint.id));
  const [hist] = await t.db
    .insert(historicalRequests)
    .values({ programId: program, connectionId: conn.id, rangeStart: new Date(WINDOW.start.getTime() - 40 * DAY), rangeEnd: WINDOW.start })
    .returning();
  const client = kind === 'api' ? (await clientToken(t, program, ['data_exports.read'], { connectionIds: [conn.id] })).client : null;
  return {
    label,
    program,
    connection: conn.id,
    run: runId,
    files,
    webhook: endpoint.id,
    delivery: message.id,
    historical: hist.id,
    client: client ? { id: client.id, clientId: client.clientId } : null,
  };
}

/** What a route's path parameter is given when it names something of `x`. */
function valuesFor(name: string, x: Target): (string | string[])[] {
  switch (name) {
    case 'id':
      return [x.connection, x.run, x.webhook, x.historical];
    case 'run_id':
      return [x.run];
    case 'file_id':
      return [x.files[0]];
    case 'delivery_id':
      return [x.delivery];
    case 'client_id':
      return x.client ? [x.client.id, x.client.clientId] : [crypto.randomUUID()];
    case 'token_id':
      return [crypto.randomUUID()];
    case 'type':
      return ['activity', 'users'];
    case 'signed':
      return [`${x.files[0]}.${x.program}.1900000000.${'A'.repeat(43)}`];
    case 'nextauth':
      return [['session']];
    default:
      return [x.connection];
  }
}

/** Every assignment of the route's parameters (a small cross product). */
function assignments(route: Route, x: Target): Record<string, string | string[]>[] {
  let out: Record<string, string | string[]>[] = [{}];
  for (const p of route.params) out = out.flatMap((a) => valuesFor(p, x).map((v) => ({ ...a, [p]: v })));
  return out;
}

function urlOf(route: Route, params: Record<string, string | string[]>): string {
  return route.path.replace(/\{(?:\.\.\.)?([^}]+)\}/g, (_m, name: string) => {
    const v = params[name];
    return Array.isArray(v) ? v.map(encodeURIComponent).join('/') : encodeURIComponent(v);
  });
}

/** Everything of `x` that must never appear in an answer to client A. */
function secretsOf(x: Target): string[] {
  return [x.connection, x.run, ...x.files, x.webhook, x.delivery, x.historical, ...(x.client ? [x.client.id, x.client.clientId] : [])];
}

/** A route written against Node's request and response (GET /metrics) answers over HTTP on 127.0.0.1. */
async function viaNode(route: Route, req: Request): Promise<Response> {
  const node = route.node as unknown as (req: http.IncomingMessage, res: http.ServerResponse) => unknown;
  const server = http.createServer((rq, rs) => void node(rq, rs));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const u = new URL(req.url);
    const headers = new Headers(req.headers);
    const res = await fetch(`http://127.0.0.1:${port}${u.pathname}${u.search}`, { method: req.method, headers });
    return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function call(
  route: Route,
  method: Method,
  url: string,
  params: Record<string, string | string[]>,
  auth: 'client' | 'admin' | 'forged',
  x: Target,
) {
  const withBody = !['GET', 'HEAD', 'DELETE'].includes(method);
  const body = { connection_id: x.connection, connection_ids: [x.connection], program_id: x.program, run_id: x.run };
  const req = request(method, url, {
    ...(auth === 'client'
      ? { token: clientA }
      : auth === 'admin'
        ? { cookie: adminCookie }
        : { token: 'dde_forgedTokenThatIsNotKnown000000000' }),
    ...(withBody ? { json: body } : {}),
  });
  const res = route.handler ? await route.handler(req, { params: Promise.resolve(params) }) : await viaNode(route, req);
  const text = method === 'HEAD' ? '' : new TextDecoder().decode(await res.arrayBuffer());
  const sent = `${url} ${withBody ? JSON.stringify(body) : ''}`;
  return { status: res.status, text, sent, challenge: res.headers.get('www-authenticate') ?? '' };
}

async function snapshot() {
  const [row] = await t.db.execute<{
    audit: number;
    conns: string;
    hooks: number;
    hist: string;
    clients: number;
    runs: number;
    tokens: number;
  }>(sql`
    select (select count(*)::int from audit_log) as audit,
           (select string_agg(id::text || status || coalesce(deleted_at::text, ''), ',' order by id) from connections) as conns,
           (select count(*)::int from webhook_endpoints where deleted_at is null and disabled_at is null) as hooks,
           (select string_agg(id::text || status, ',' order by id) from historical_requests) as hist,
           (select count(*)::int from api_clients where revoked_at is null) as clients,
           (select count(*)::int from export_runs) as runs,
           (select count(*)::int from api_tokens where revoked_at is null) as tokens`);
  return row;
}

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  setApiRateLimiter(null);
  setExpensiveLimiter('connection_test', null);
  setExpensiveLimiter('historical_request', null);
  ({ storage, root } = useTempStorage());
  for (const id of [P, Q]) {
    await seedProgram(t, {
      programId: id,
      programName: `Program ${id}`,
      users: 20,
      campaigns: 3,
      events: 400,
      days: 1,
      until: WINDOW.end,
      seed: id,
    });
  }
  own = await target('A', P, 'api', 'Feed A');
  foreign.push(await target('B', P, 'api', 'Feed B'));
  foreign.push(await target('SFTP', P, 'sftp', 'SFTP drop'));
  foreign.push(await target('Other program', Q, 'api', 'Feed of another program'));
  // Client A: made for connection A; an older client that still holds data_exports.manage (new ones cannot).
  await t.db
    .update(apiClients)
    .set({ scopes: ['data_exports.read', 'data_exports.manage'] })
    .where(eq(apiClients.id, own.client!.id));
  clientA = (
    await createApiToken(t.db, {
      kind: 'client',
      apiClientId: own.client!.id,
      programId: P,
      scopes: ['data_exports.read', 'data_exports.manage'],
    })
  ).token;
  admin = await createAccount(t.db, { role: 'firstup_super_admin' });
  adminCookie = await sessionCookie(admin);
  routes = await loadRoutes();
}, 180_000);

afterAll(async () => {
  setApiRateLimiter(undefined);
  setExpensiveLimiter('connection_test', undefined);
  setExpensiveLimiter('historical_request', undefined);
  setStorage(undefined);
  await closeDatabase();
  await t?.drop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('a client of connection A, on every route', () => {
  it('finds the route table in the route files (the feed routes among them)', () => {
    const keys = routes.map(key);
    expect(keys.length).toBeGreaterThan(50);
    expect(keys).toContain('GET /api/v1/connections/{id}');
    expect(keys).toContain('GET /api/v1/downloads/{signed}');
    // The routes that let API clients in (withAuth's clientFeed) are exactly the feed.
    const open = routes.filter((r) => r.gate?.kind === 'auth' && r.gate.options.clientFeed).map(key);
    expect(new Set(open)).toEqual(CLIENT_FEED_ROUTES);
  });

  it('is answered nothing of connection B, of an SFTP connection or of another program; every route but its feed is 404', async () => {
    const before = await snapshot();
    const problems: string[] = [];
    let calls = 0;
    for (const route of routes) {
      // A route behind the request context refuses an unknown bearer token (401, error="invalid_token");
      // the others are public (health, sign-in, the token endpoint, signed downloads, metrics).
      const first = assignments(route, own)[0];
      const probe = await call(route, route.method, urlOf(route, first), first, 'forged', own);
      const isPublic = !(probe.status === 401 && probe.challenge.includes('error="invalid_token"'));
      expect(isPublic, `${key(route)}: public, as its gate says`).toBe(route.gate?.kind !== 'auth');
      const isFeed = CLIENT_FEED_ROUTES.has(key(route));
      for (const x of foreign) {
        for (const params of assignments(route, x)) {
          const path = urlOf(route, params);
          for (const query of [`?program=${x.program}&connection=${x.connection}`, `?program=${x.program}`, '']) {
            {
              const method = route.method;
              const url = `${path}${query}`;
              const res = await call(route, method, url, params, 'client', x);
              calls++;
              const what = `${method} ${url} (${route.file}) → ${res.status}`;
              // An id the request itself sent may be named back ("Connection … was not found."); anything else of x is a leak.
              for (const s of secretsOf(x)) {
                if (res.text.includes(s) && !res.sent.includes(s)) problems.push(`${what}: answers ${x.label}'s ${s}`);
              }
              if (isPublic) continue;
              if (PROGRAM_FREE_ROUTES.has(key(route))) {
                if (method === 'GET' && res.status !== 200) problems.push(`${what}: about no program, yet refused`);
                continue;
              }
              const namesForeign =
                route.params.some((p) => p !== 'type') || query.includes('connection=') || (x.program !== P && query.includes('program='));
              const refused = res.status === 404;
              if (!isFeed && !refused) problems.push(`${what}: not the client's feed, yet not 404`);
              if (isFeed && namesForeign && !refused) problems.push(`${what}: names ${x.label}, yet not 404`);
              if (isFeed && !namesForeign && method === 'GET' && res.status !== 200) problems.push(`${what}: its own feed refused`);
            }
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(calls).toBeGreaterThan(500);
    expect(await snapshot()).toEqual(before);
  }, 600_000);

  it('still reads its own feed: folders, archive, files and latest of connection A', async () => {
    const byTemplate = (tpl: string) => routes.find((r) => key(r) === `GET ${tpl}`)!;
    const folders = await call(byTemplate('/api/v1/folders'), 'GET', '/api/v1/folders', {}, 'client', own);
    expect(folders.status).toBe(200);
    expect(folders.text).toContain(own.run);
    const archive = await call(
      byTemplate('/api/v1/folders/{run_id}/archive'),
      'GET',
      `/api/v1/folders/${own.run}/archive`,
      { run_id: own.run },
      'client',
      own,
    );
    expect(archive.status).toBe(200);
    const list = await call(
      byTemplate('/api/v1/data_exports/{type}'),
      'GET',
      '/api/v1/data_exports/activity',
      { type: 'activity' },
      'client',
      own,
    );
    expect(list.status).toBe(200);
    expect(own.files.some((f) => list.text.includes(f))).toBe(true);
  });

  it('is a walk that would see a leak: a Firstup Super Admin is answered the same things of B, SFTP and the other program', async () => {
    const seen = new Set<string>();
    for (const route of routes.filter((r) => r.method === 'GET' && r.path.startsWith('/api/v1/'))) {
      for (const x of foreign) {
        for (const params of assignments(route, x)) {
          const res = await call(
            route,
            'GET',
            `${urlOf(route, params)}?program=${x.program}&connection=${x.connection}`,
            params,
            'admin',
            x,
          );
          if (res.status === 200 && secretsOf(x).some((s) => res.text.includes(s))) seen.add(`${route.path} ${x.label}`);
        }
      }
    }
    for (const x of foreign) {
      expect([...seen].filter((s) => s.endsWith(` ${x.label}`)).length, x.label).toBeGreaterThanOrEqual(5);
    }
  }, 300_000);
});
