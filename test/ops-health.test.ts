// Health for probes and operators, over real HTTP: /api/health/live answers without the database,
// /api/health/ready needs the database and current migrations and reports the newest worker
// heartbeat, /api/health is unchanged; the worker heartbeat; the connections page's banner.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as healthGET } from '@/app/api/health/route';
import { GET as liveGET } from '@/app/api/health/live/route';
import { GET as readyGET } from '@/app/api/health/ready/route';
import { WorkerBanner } from '@/components/ops/worker-banner';
import { closeDatabase, getDatabase } from '@/db/client';
import { freePort } from '@/db/embedded';
import type { UserActor } from '@/lib/auth/actor';
import { startWorkerHeartbeat, workerStatus } from '@/lib/health';
import type { RouteHandler } from '@/lib/auth/with-auth';
import { sendWebResponse, webRequestFrom } from '@/lib/http/node-adapter';
import { useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let server: http.Server;
let base: string;

const routes: Record<string, RouteHandler> = { '/api/health': healthGET, '/api/health/live': liveGET, '/api/health/ready': readyGET };

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t, { DDE_METRICS_TOKEN: METRICS_TOKEN });
  // The route handlers behind a real HTTP server, as Next.js calls them.
  server = http.createServer((req, res) => {
    const handler = routes[(req.url ?? '').split('?')[0]];
    if (!handler) return void res.writeHead(404).end();
    void handler(webRequestFrom(req), { params: Promise.resolve({}) }).then((r) => sendWebResponse(res, r, req.method));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await closeDatabase();
  await t?.drop();
});

const METRICS_TOKEN = 'ops-metrics-token-0123456789';
/** A probe's answer; `detail` presents DDE_METRICS_TOKEN, as an operator's check would. */
async function get(path: string, detail = true): Promise<{ status: number; body: Record<string, unknown>; cache: string | null }> {
  const res = await fetch(base + path, { headers: detail ? { authorization: `Bearer ${METRICS_TOKEN}` } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, cache: res.headers.get('cache-control') };
}

const admin = (role: UserActor['role']): UserActor => ({
  kind: 'user',
  accountId: '00000000-0000-0000-0000-000000000001',
  email: 'a@example.com',
  name: null,
  role,
  mustChangePassword: false,
  programs: 'all',
  label: 'a@example.com',
});

const banner = async (role: UserActor['role'] = 'firstup_super_admin') => {
  // As the connections page reads it: through the app's database, null when that does not answer.
  const el = WorkerBanner({ actor: admin(role), status: await workerStatus(getDatabase().sql).catch(() => null) });
  return el ? renderToStaticMarkup(el) : '';
};

describe('health routes', () => {
  it('live, ready and the classic health route all answer 200 while the database is up', async () => {
    const live = await get('/api/health/live');
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ status: 'ok', version: '0.1.0' });
    expect(live.cache).toBe('no-store');
    const ready = await get('/api/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', db: 'ok', migrations: { current: true, pending: [] } });
    expect((ready.body.migrations as { applied: number }).applied).toBeGreaterThanOrEqual(5);
    expect(ready.body.workers).toMatchObject({ running: false, alive: 0, newest: null });
    expect(await get('/api/health')).toMatchObject({ status: 200, body: { status: 'ok', db: 'ok' } });
    const anonymous = await get('/api/health/ready', false);
    expect(anonymous).toMatchObject({ status: 200, body: { status: 'ok', db: 'ok' } });
    expect(anonymous.body).not.toHaveProperty('workers');
  });

  it('ready reports the newest worker heartbeat; a cleanly stopped worker no longer counts', async () => {
    const hb = startWorkerHeartbeat(t, { intervalMs: 60_000 });
    await hb.first;
    try {
      const ready = await get('/api/health/ready');
      expect(ready.status).toBe(200);
      const workers = ready.body.workers as { running: boolean; alive: number; newest: { id: string; seconds_ago: number } };
      expect(workers).toMatchObject({ running: true, alive: 1 });
      expect(workers.newest.id).toBe(hb.id);
      expect(workers.newest.seconds_ago).toBeLessThan(5);
      expect(await banner()).toBe('');
    } finally {
      await hb.stop();
    }
    const after = await workerStatus(t.sql);
    expect(after).toMatchObject({ running: false, alive: 0 });
    expect(after.newest?.stopped_at).not.toBeNull();
  });

  it('ready answers 503 naming the pending migration; live stays 200', async () => {
    const [last] = await t.sql<{ id: number; hash: string; created_at: string }[]>`
      select id, hash, created_at::text from drizzle.__drizzle_migrations order by created_at desc limit 1`;
    await t.sql`delete from drizzle.__drizzle_migrations where id = ${last.id}`;
    try {
      const ready = await get('/api/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.reason).toMatch(/^1 migration not applied \(\d{4}_[a-z0-9_]+\): run `dde migrate`$/);
      // Anyone else: the fixed reason, no migration names, no workers.
      const anonymous = await get('/api/health/ready', false);
      expect(anonymous).toMatchObject({ status: 503, body: { status: 'error', db: 'ok', reason: 'migrations pending' } });
      expect(Object.keys(anonymous.body).sort()).toEqual(['db', 'reason', 'status', 'version']);
      expect((await get('/api/health/live')).status).toBe(200);
    } finally {
      await t.sql`insert into drizzle.__drizzle_migrations (id, hash, created_at) values (${last.id}, ${last.hash}, ${last.created_at})`;
    }
    expect((await get('/api/health/ready')).status).toBe(200);
  });

  it('with the database down: ready and /api/health answer 503 with a reason and no URL; live answers 200', async () => {
    const port = await freePort();
    await closeDatabase();
    useTestEnv(t, { DATABASE_URL: `postgres://dde:secret-pw@127.0.0.1:${port}/dde` });
    try {
      const ready = await get('/api/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'error', db: 'unreachable' });
      expect(String(ready.body.reason)).not.toMatch(/secret-pw|postgres:\/\//);
      expect(String(ready.body.reason).length).toBeGreaterThan(3);
      expect((await get('/api/health')).status).toBe(503);
      // Anyone else: the fixed reason, never the driver's error (addresses, user names).
      for (const path of ['/api/health/ready', '/api/health']) {
        const anonymous = await get(path, false);
        expect(anonymous.status).toBe(503);
        expect(anonymous.body.reason).toBe('database unavailable');
        expect(JSON.stringify(anonymous.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|dde@|secret-pw/);
      }
      expect((await get('/api/health/live')).status).toBe(200);
      expect(await banner()).toBe(''); // the page shows its own database error; no misleading banner
    } finally {
      await closeDatabase();
      useTestEnv(t);
    }
  });
});

describe('the connections page banner', () => {
  it('warns that exports are not running when no worker was seen for 2 minutes, saying when the last one was', async () => {
    await t.sql`delete from worker_heartbeats`;
    expect(await banner()).toContain('No jobs worker has ever been seen.');
    await t.sql`
      insert into worker_heartbeats (id, hostname, pid, version, started_at, seen_at)
      values ('old:1:aaaaaa', 'worker-host-1', 4242, '0.1.0', now() - interval '2 hours', now() - interval '10 minutes')`;
    const html = await banner();
    expect(html).toContain('role="alert"');
    expect(html).toContain('Exports are not running');
    expect(html).toContain('The last jobs worker (worker-host-1) was seen 10 minutes ago.');
    expect(html).toContain('npm run jobs');
    expect(await banner('brand_super_admin')).not.toContain('npm run jobs');
    await t.sql`update worker_heartbeats set seen_at = now() - interval '30 seconds'`;
    expect(await banner()).toBe('');
  });
});
