// Prometheus metrics (prom-client), one registry per process: the web serves it at /metrics, the
// jobs worker on DDE_JOBS_METRICS_PORT. Every metric is defined here.
//
// - Counted in this process: API requests by route and status (lib/auth/with-auth.ts), rows and
//   bytes exported, export and delivery durations, delivery failures by error class and window lag
//   (lib/runs/export-run.ts, lib/runs/deliver-run.ts — the worker's).
// - Read from the database at scrape time (the same on every process): runs by status and export
//   type, pg-boss queue depth, jobs workers alive and the newest heartbeat's age.
//
// Access rule: with DDE_METRICS_TOKEN set, a scrape must send "Authorization: Bearer <token>" and
// may come from anywhere. Without it, only loopback callers (127.0.0.0/8, ::1) get an answer,
// judged by the TCP peer address of the connection — never by X-Forwarded-For, which a caller can
// write — so a web server reachable from the network never shows its metrics to strangers.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import client from 'prom-client';
import type { Database } from '@/db/client';
import { summarizeWorkerHeartbeats } from '@/db/queries/ops';
import { countRunsByStatusAndType } from '@/db/queries/runs';
import { env } from '@/lib/env';
import { QUEUE_NAMES } from '@/lib/queues/definitions';
import { countJobsByState, listKnownQueues } from '@/lib/queues/depth';

const DURATION_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const LAG_BUCKETS = [60, 300, 600, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600, 3 * 86_400, 7 * 86_400];
const JOB_STATES = ['created', 'retry', 'active'] as const;

function define(registry: client.Registry) {
  const registers = [registry];
  return {
    registry,
    httpRequests: new client.Counter({
      name: 'dde_http_requests_total',
      help: 'HTTP API requests answered, by route template, method and status code',
      labelNames: ['route', 'method', 'status'] as const,
      registers,
    }),
    exportRows: new client.Counter({
      name: 'dde_export_rows_total',
      help: 'Rows written into export files by this process, by export type',
      labelNames: ['export_type'] as const,
      registers,
    }),
    exportBytes: new client.Counter({
      name: 'dde_export_bytes_total',
      help: 'Bytes of export data files written by this process, by export type',
      labelNames: ['export_type'] as const,
      registers,
    }),
    exportDuration: new client.Histogram({
      name: 'dde_export_duration_seconds',
      help: 'Duration of one export step (claim to files recorded), by outcome',
      labelNames: ['outcome'] as const,
      buckets: DURATION_BUCKETS,
      registers,
    }),
    deliveryDuration: new client.Histogram({
      name: 'dde_delivery_duration_seconds',
      help: 'Duration of one SFTP delivery attempt, by outcome (delivered, retry, failed)',
      labelNames: ['outcome'] as const,
      buckets: DURATION_BUCKETS,
      registers,
    }),
    deliveryFailures: new client.Counter({
      name: 'dde_delivery_failures_total',
      help: 'Failed SFTP delivery attempts, by error class and whether another attempt follows',
      labelNames: ['error_class', 'final'] as const,
      registers,
    }),
    windowLag: new client.Histogram({
      name: 'dde_window_lag_seconds',
      help: 'Time from a window’s end to its files being delivered (SFTP) or available (API)',
      labelNames: ['kind'] as const,
      buckets: LAG_BUCKETS,
      registers,
    }),
    runs: new client.Gauge({
      name: 'dde_runs',
      help: 'Export runs in the ledger, by status and export type (from the database at scrape time)',
      labelNames: ['status', 'export_type'] as const,
      registers,
    }),
    queueDepth: new client.Gauge({
      name: 'dde_queue_jobs',
      help: 'pg-boss jobs waiting or running, by queue and state (from the database at scrape time)',
      labelNames: ['queue', 'state'] as const,
      registers,
    }),
    workersAlive: new client.Gauge({
      name: 'dde_workers_alive',
      help: 'Jobs workers with a heartbeat in the last 2 minutes (from the database at scrape time)',
      registers,
    }),
    workerSeenAgo: new client.Gauge({
      name: 'dde_worker_heartbeat_age_seconds',
      help: 'Seconds since the newest jobs-worker heartbeat; absent when none was ever written',
      registers,
    }),
    databaseUp: new client.Gauge({
      name: 'dde_database_up',
      help: '1 when the scrape-time database queries answered, else 0',
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof define>;

// One registry per process, whatever bundle loaded this module (Next.js may load it more than once).
const holder = globalThis as typeof globalThis & { __ddeMetrics?: Metrics };

export function metrics(): Metrics {
  if (!holder.__ddeMetrics) {
    const registry = new client.Registry();
    client.collectDefaultMetrics({ register: registry, prefix: 'dde_' });
    holder.__ddeMetrics = define(registry);
  }
  return holder.__ddeMetrics;
}

/** Never let a metric break the work it measures. */
function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    /* a metric is not worth a failure */
  }
}

// ---- observed by the run ledger -------------------------------------------------------------

/** A stopwatch for one export or delivery step. */
export function startTimer(): () => number {
  const t = performance.now();
  return () => (performance.now() - t) / 1000;
}

type ExportResultLike = {
  rowsTotal: number;
  bytesTotal: number;
  manifest: { document: { export_type: string; window: { end: string } } } | null;
};

/** An export step ended: `outcome` is the run's new status ('generated', 'available', 'empty' or 'failed'). */
export function observeExport(elapsed: () => number, outcome: string, result?: ExportResultLike): void {
  safely(() => {
    const m = metrics();
    m.exportDuration.observe({ outcome }, elapsed());
    const doc = result?.manifest?.document;
    if (!result || !doc) return;
    m.exportRows.inc({ export_type: doc.export_type }, result.rowsTotal);
    m.exportBytes.inc({ export_type: doc.export_type }, result.bytesTotal);
    // API runs are delivered when they become available.
    if (outcome === 'available') m.windowLag.observe({ kind: 'api' }, Math.max(0, (Date.now() - Date.parse(doc.window.end)) / 1000));
  });
}

/** A delivery attempt ended. `startedAt` is the attempt's start; `windowEnd` is given when it delivered. */
export function observeDelivery(
  outcome: 'delivered' | 'retry' | 'failed',
  startedAt: Date,
  detail: { errorClass?: string; windowEnd?: Date; kind?: string } = {},
): void {
  safely(() => {
    const m = metrics();
    m.deliveryDuration.observe({ outcome }, Math.max(0, (Date.now() - startedAt.getTime()) / 1000));
    if (outcome !== 'delivered') {
      m.deliveryFailures.inc({ error_class: detail.errorClass ?? 'unknown', final: outcome === 'failed' ? 'true' : 'false' });
    }
    if (outcome === 'delivered' && detail.windowEnd) {
      m.windowLag.observe({ kind: detail.kind ?? 'sftp' }, Math.max(0, (Date.now() - detail.windowEnd.getTime()) / 1000));
    }
  });
}

// ---- counted by the HTTP wrapper ------------------------------------------------------------

/**
 * The route template of a request: each path segment equal to a route parameter's value becomes
 * [name], so /api/v1/connections/7f…/runs counts as /api/v1/connections/[id]/runs and the label
 * set stays as small as the route table.
 */
export function routeOf(pathname: string, params: Record<string, string | string[] | undefined>): string {
  const segments = pathname.split('/');
  const names = new Map<string, string>();
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === 'string') names.set(value, `[${name}]`);
    else if (Array.isArray(value)) for (const v of value) names.set(v, `[...${name}]`);
  }
  const out: string[] = [];
  for (const s of segments) {
    let decoded = s;
    try {
      decoded = decodeURIComponent(s);
    } catch {
      /* left as sent */
    }
    const name = names.get(decoded);
    if (name && name.startsWith('[...') && out[out.length - 1] === name) continue; // one label for a catch-all
    out.push(name ?? s);
  }
  return out.join('/') || '/';
}

/**
 * Route labels this process has counted. A label comes from the route's template, so there are as
 * many as route files; should a path ever slip through unmasked, the labels past this many are
 * counted as one, "(other)": nobody can grow the series without bound.
 */
export const MAX_ROUTE_LABELS = 300;
const routeLabels = new Set<string>();

function routeLabel(route: string): string {
  if (routeLabels.has(route)) return route;
  if (routeLabels.size >= MAX_ROUTE_LABELS) return '(other)';
  routeLabels.add(route);
  return route;
}

/**
 * Counts one answered API request (called once per request by the HTTP wrapper). `template` is the
 * route's template when the caller knows it (lib/http/node-adapter.ts passes it, computed before
 * any masking of the path); otherwise it is derived from the path and the route's parameters.
 */
export function countRequest(
  req: Request,
  params: Promise<Record<string, string | string[] | undefined>> | undefined,
  status: number,
  template?: string,
) {
  Promise.resolve(params)
    .catch(() => undefined)
    .then((p) => {
      const route = routeLabel(template ?? routeOf(new URL(req.url).pathname, p ?? {}));
      metrics().httpRequests.inc({ route, method: req.method, status: String(status) });
    })
    .catch(() => undefined);
}

// ---- collected from the database at scrape time ---------------------------------------------

export async function collectFromDatabase(database: Database, timeoutMs = 3000): Promise<void> {
  const m = metrics();
  const { sql } = database;
  let timer: NodeJS.Timeout | undefined;
  try {
    const [runs, jobs, queues, workers] = await Promise.race([
      Promise.all([
        countRunsByStatusAndType(sql),
        countJobsByState(sql).catch(() => []),
        listKnownQueues(sql).catch(() => []),
        summarizeWorkerHeartbeats(sql).catch(() => ({ alive: 0, ago: null })), // before its migration
      ]),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    m.runs.reset();
    for (const r of runs) m.runs.set({ status: r.status, export_type: r.export_type }, r.n);
    m.queueDepth.reset();
    for (const q of new Set([...QUEUE_NAMES, ...queues.map((x) => x.name)]))
      for (const s of JOB_STATES) m.queueDepth.set({ queue: q, state: s }, 0);
    for (const j of jobs) m.queueDepth.set({ queue: j.name, state: j.state }, j.n);
    m.workersAlive.set(workers.alive ?? 0);
    m.workerSeenAgo.reset();
    if (workers.ago != null) m.workerSeenAgo.set(Math.round(Number(workers.ago)));
    m.databaseUp.set(1);
  } catch {
    m.databaseUp.set(0);
  } finally {
    clearTimeout(timer);
  }
}

// ---- serving ----------------------------------------------------------------------------------

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.replace(/^::ffff:/i, '');
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** True when DDE_METRICS_TOKEN is set and `authorization` presents it as a bearer token (health probes show their detail then). */
export function metricsTokenPresented(authorization: string | null | undefined, token = env().metricsToken): boolean {
  if (!token) return false;
  const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  return Boolean(m && timingSafeEqual(digest(m[1].trim()), digest(token)));
}

/** Whether a scrape may see the metrics (see the rule at the top); the refusal's status and reason. */
export function scrapeAllowed(
  authorization: string | undefined,
  remoteAddress: string | undefined,
  token = env().metricsToken,
): { ok: true } | { ok: false; status: 401 | 403; message: string } {
  if (token) {
    if (metricsTokenPresented(authorization, token)) return { ok: true };
    return { ok: false, status: 401, message: 'Send the metrics token as "Authorization: Bearer <token>" (DDE_METRICS_TOKEN).' };
  }
  if (isLoopback(remoteAddress)) return { ok: true };
  return {
    ok: false,
    status: 403,
    message: 'Metrics answer loopback callers only. Set DDE_METRICS_TOKEN to let a scraper on another machine in with a bearer token.',
  };
}

/** Answers a scrape on a Node request: the web's /metrics and the worker's listener both use it. */
export async function serveMetrics(req: IncomingMessage, res: ServerResponse, database: () => Database): Promise<void> {
  res.setHeader('cache-control', 'no-store');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Use GET.\n');
    return;
  }
  const allowed = scrapeAllowed(req.headers.authorization, req.socket.remoteAddress);
  if (!allowed.ok) {
    res
      .writeHead(allowed.status, {
        'content-type': 'text/plain; charset=utf-8',
        ...(allowed.status === 401 ? { 'www-authenticate': 'Bearer realm="dde-metrics"' } : {}),
      })
      .end(allowed.message + '\n');
    return;
  }
  try {
    await collectFromDatabase(database());
  } catch {
    metrics().databaseUp.set(0); // no database configured
  }
  const body = await metrics().registry.metrics();
  res.writeHead(200, { 'content-type': metrics().registry.contentType });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The jobs worker's own metrics listener (GET /metrics); resolves once it listens. */
export async function startMetricsServer(
  database: () => Database,
  where: { port: number; host: string },
): Promise<{ url: string; close: () => Promise<void> }> {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    if ((req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: the metrics are at /metrics.\n');
      return;
    }
    serveMetrics(req, res, database).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(where.port, where.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : where.port;
  const host = where.host.includes(':') ? `[${where.host}]` : where.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
