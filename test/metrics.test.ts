// Prometheus metrics: the web's /metrics (the Pages API route, over real HTTP) and the worker's
// listener, the access rule (loopback only without DDE_METRICS_TOKEN; the bearer token with it),
// and what a real export and SFTP delivery (with a retried failure) add to them.
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportRuns, type Connection } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { createConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { sftpSetupCheck } from '@/lib/connections/sftp-check';
import { startSftpSink, type SftpSink } from '@/scripts/dev/sftp-sink';
import { resetEnv } from '@/lib/env';
import { isLoopback, metrics, routeOf, scrapeAllowed, startMetricsServer } from '@/lib/metrics';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { executeExportRun } from '@/lib/runs/export-run';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { setStorage } from '@/lib/storage';
import { GET as connectionsGET } from '@/app/api/v1/connections/[id]/route';
import { GET as healthGET } from '@/app/api/health/route';
import metricsRoute from '@/pages/api/metrics';
import downloadRoute from '@/pages/api/v1/downloads/[signed]';
import { useTestEnv, request, OPS_ADMIN } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let server: http.Server;
let base: string;
const until = new Date('2026-11-20T00:00:00Z');
const PROGRAM = 71;
const admin = OPS_ADMIN;

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t, { DDE_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'dde-metrics-')), SMTP_URL: undefined, DDE_METRICS_TOKEN: undefined });
  setStorage(undefined);
  await seedProgram(t, { programId: PROGRAM, users: 30, campaigns: 4, events: 1500, days: 1, seed: 7, until });
  server = http.createServer((req, res) => void metricsRoute(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);
afterAll(async () => {
  resetClock();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await t?.drop();
});

/** The value of one sample line, e.g. metric('dde_runs', { status: 'delivered' }). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
  }
  return undefined;
}

async function scrape(headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/metrics`, { headers });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('GET /metrics on the web process', () => {
  it('answers a loopback caller in the Prometheus text format, with the gauges read from the database', async () => {
    const r = await scrape();
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.text).toContain('# TYPE dde_runs gauge');
    expect(r.text).toContain('# TYPE dde_export_duration_seconds histogram');
    expect(r.text).toContain('# TYPE dde_delivery_failures_total counter');
    expect(sample(r.text, 'dde_database_up')).toBe(1);
    // Every queue is listed, waiting jobs or not.
    expect(sample(r.text, 'dde_queue_jobs', { queue: 'export-run', state: 'created' })).toBe(0);
    expect(sample(r.text, 'dde_workers_alive')).toBe(0);
    expect(sample(r.text, 'dde_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('counts API requests by route template and status, never by the ids in the path', async () => {
    await healthGET(request('GET', '/api/health'), { params: Promise.resolve({}) });
    const id = '6f1f6a56-8f0e-4a4e-9a43-1e2f3a4b5c6d';
    const res = await connectionsGET(request('GET', `/api/v1/connections/${id}`), { params: Promise.resolve({ id }) });
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 20));
    const r = await scrape();
    expect(sample(r.text, 'dde_http_requests_total', { route: '/api/health', method: 'GET', status: '200' })).toBe(1);
    expect(sample(r.text, 'dde_http_requests_total', { route: '/api/v1/connections/[id]', method: 'GET', status: '401' })).toBe(1);
    expect(r.text).not.toContain(id);
  });

  it('requires the bearer token once DDE_METRICS_TOKEN is set, and accepts it from anywhere', async () => {
    const token = 'metrics-token-0123456789abcdef';
    resetEnv({ DDE_METRICS_TOKEN: token });
    try {
      const none = await scrape();
      expect(none.status).toBe(401);
      expect(none.text).toMatch(/Authorization: Bearer/);
      expect((await scrape({ authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
      const ok = await scrape({ authorization: `Bearer ${token}` });
      expect(ok.status).toBe(200);
      expect(ok.text).toContain('dde_runs');
      expect(scrapeAllowed(`Bearer ${token}`, '203.0.113.9', token)).toEqual({ ok: true });
    } finally {
      resetEnv({ DDE_METRICS_TOKEN: undefined });
    }
  });

  it('refuses callers that are not on loopback when no token is set, judged by the TCP peer and not X-Forwarded-For', async () => {
    expect(scrapeAllowed(undefined, '203.0.113.9', undefined)).toMatchObject({ ok: false, status: 403 });
    expect(scrapeAllowed(undefined, '::ffff:198.51.100.4', undefined)).toMatchObject({ ok: false, status: 403 });
    for (const a of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1']) expect(isLoopback(a)).toBe(true);
    // A forged header from a loopback peer changes nothing either way: the peer decides.
    expect((await scrape({ 'x-forwarded-for': '203.0.113.9' })).status).toBe(200);
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });

  it('names routes from their parameters, catch-alls included', () => {
    expect(routeOf('/api/v1/data_exports/users/latest', { type: 'users' })).toBe('/api/v1/data_exports/[type]/latest');
    expect(routeOf('/api/auth/callback/credentials', { nextauth: ['callback', 'credentials'] })).toBe('/api/auth/[...nextauth]');
    expect(routeOf('/api/health/ready', {})).toBe('/api/health/ready');
  });
});

describe('what the run ledger adds', () => {
  let sink: SftpSink;
  beforeAll(async () => {
    sink = await startSftpSink({ rootDir: mkdtempSync(path.join(os.tmpdir(), 'dde-metrics-sink-')), username: 'customer', password: 'pw' });
  });
  afterAll(async () => sink?.close());

  it('exports rows and bytes, times the export and each delivery attempt, classes the failure and measures window lag', async () => {
    setClock(new Date(until.getTime() + 10 * 60_000));
    mkdirSync(path.join(sink.rootDir, 'in'), { recursive: true });
    const c: Connection = await createConnection(
      t,
      admin,
      PROGRAM,
      createConnectionSchema.parse({
        kind: 'sftp',
        frequency: 'daily',
        start_date: new Date(until.getTime() - 86_400_000).toISOString(),
        contact_emails: ['data@customer.example'],
        host: '127.0.0.1',
        port: sink.port,
        folder: 'in',
        username: 'customer',
        auth: { method: 'password', password: 'pw' },
        host_key_fingerprint: sink.hostKeyFingerprint,
      }),
      sftpSetupCheck(),
    );
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const [run] = await t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, c.id));
    expect((await executeExportRun(t, run.id)).status).toBe('generated');
    sink.faults.diskFullAfterBytes = 512;
    expect((await executeDelivery(t, run.id)).status).toBe('retry');
    sink.faults.diskFullAfterBytes = undefined;
    expect((await executeDelivery(t, run.id)).status).toBe('delivered');
    const [done] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, run.id));

    const r = await scrape();
    expect(sample(r.text, 'dde_export_rows_total', { export_type: 'incremental' })).toBe(done.rowsTotal);
    expect(sample(r.text, 'dde_export_bytes_total', { export_type: 'incremental' })).toBe(done.bytesTotal);
    expect(sample(r.text, 'dde_export_duration_seconds_count', { outcome: 'generated' })).toBe(1);
    expect(sample(r.text, 'dde_delivery_duration_seconds_count', { outcome: 'retry' })).toBe(1);
    expect(sample(r.text, 'dde_delivery_duration_seconds_count', { outcome: 'delivered' })).toBe(1);
    expect(sample(r.text, 'dde_delivery_failures_total', { error_class: 'no_space', final: 'false' })).toBe(1);
    expect(sample(r.text, 'dde_window_lag_seconds_count', { kind: 'sftp' })).toBe(1);
    expect(sample(r.text, 'dde_window_lag_seconds_sum', { kind: 'sftp' })).toBeGreaterThan(0);
    expect(sample(r.text, 'dde_runs', { status: 'delivered', export_type: 'incremental' })).toBe(1);
  });
});

describe("the jobs worker's listener", () => {
  it('serves /metrics on the configured loopback port and nothing else', async () => {
    const listener = await startMetricsServer(() => t, { port: 0, host: '127.0.0.1' });
    try {
      expect(listener.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const res = await fetch(listener.url);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('# TYPE dde_queue_jobs gauge');
      const other = await fetch(listener.url.replace('/metrics', '/'));
      expect(other.status).toBe(404);
    } finally {
      await listener.close();
    }
  });
});

describe('route labels', () => {
  it('counts 1,000 distinct forged download links under the one route template: the series count stays put', async () => {
    const server = http.createServer((req, res) => void downloadRoute(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const series = async () => (await metrics().httpRequests.get()).values;
    const get = (i: number) =>
      fetch(`http://127.0.0.1:${port}/api/v1/downloads/${randomUUID()}.4021.${1900000000 + i}.${randomBytes(32).toString('base64url')}`);
    try {
      const first = await get(0);
      expect(first.status).toBe(403);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const before = (await series()).length;
      for (let i = 1; i <= 1000; i += 50) {
        const batch = await Promise.all(Array.from({ length: 50 }, (_, j) => get(i + j)));
        expect(batch.every((r) => r.status === 403)).toBe(true);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      const after = await series();
      expect(after.length).toBe(before);
      const downloads = after.filter((v) => String(v.labels.route).startsWith('/api/v1/downloads/'));
      expect(downloads.map((v) => v.labels.route)).toEqual(['/api/v1/downloads/[signed]']);
      expect(downloads[0].value).toBeGreaterThanOrEqual(1001);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 120_000);
});
