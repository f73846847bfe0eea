// Health of the processes, for probes and operators:
// - GET /api/health: database reachability (kept as it always was; 503 when the database is down);
// - GET /api/health/live: the process answers (never touches the database: a liveness probe must
//   not restart every web process during a database outage);
// - GET /api/health/ready: the database answers and its migrations are current (503 otherwise),
//   with the newest jobs-worker heartbeat for information;
// - the heartbeat each jobs worker writes into worker_heartbeats every 15 s.
// Every check answers within a few seconds and never hangs.
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { getDatabase, type Database, type Sql } from '@/db/client';
import journal from '@/db/migrations/meta/_journal.json';
import {
  beatWorkerHeartbeat,
  deleteOldWorkerHeartbeats,
  listWorkerHeartbeats,
  markWorkerStopped,
  pingDatabase,
  readAppliedMigrations,
} from '@/db/queries/ops';
import pkg from '@/package.json';

export const HEALTH_TIMEOUT_MS = 3000;
/** A worker not seen for this long is taken for gone: "exports are not running". */
export const WORKER_SILENT_SECONDS = 120;
export const HEARTBEAT_INTERVAL_MS = 15_000;

export type Health = { status: 'ok'; db: 'ok'; version: string } | { status: 'error'; db: 'unreachable'; reason: string; version: string };

function withTimeout<T>(p: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the database did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

export async function checkHealth(timeoutMs = HEALTH_TIMEOUT_MS): Promise<Health> {
  const version = pkg.version;
  try {
    const { sql } = getDatabase();
    await withTimeout(pingDatabase(sql), timeoutMs);
    return { status: 'ok', db: 'ok', version };
  } catch (err) {
    return { status: 'error', db: 'unreachable', reason: reasonOf(err), version };
  }
}

/** A short, secret-free reason: connection strings are never echoed. */
export function reasonOf(err: unknown): string {
  const e = err as Error & { cause?: Error };
  const message = err instanceof Error ? e.message || e.cause?.message || e.name : String(err);
  return message.replace(/postgres(ql)?:\/\/[^\s]+/gi, '(database URL)').slice(0, 300);
}

const startedAt = Date.now();

export type Liveness = { status: 'ok'; version: string; uptime_seconds: number };

export function checkLive(): Liveness {
  return { status: 'ok', version: pkg.version, uptime_seconds: Math.round((Date.now() - startedAt) / 1000) };
}

export type MigrationState = { applied: number; known: number; pending: string[]; current: boolean };

/** The committed migrations (db/migrations) against what the database has applied. */
export async function migrationState(sql: Sql): Promise<MigrationState> {
  let last = 0;
  let applied = 0;
  try {
    const row = await readAppliedMigrations(sql);
    last = Number(row.last ?? 0);
    applied = row.n;
  } catch (err) {
    // No migration table yet: nothing applied.
    if ((err as { code?: string }).code !== '42P01' && (err as { code?: string }).code !== '3F000') throw err;
  }
  const pending = journal.entries.filter((m) => m.when > last).map((m) => m.tag);
  return { applied, known: journal.entries.length, pending, current: pending.length === 0 };
}

export type WorkerSeen = {
  id: string;
  hostname: string;
  pid: number;
  version: string;
  started_at: string;
  seen_at: string;
  seconds_ago: number;
  stopped_at: string | null;
};

/** Workers seen in the last `withinSeconds` (newest first), stopped ones included. */
export async function workersSeen(sql: Sql, withinSeconds = 86_400): Promise<WorkerSeen[]> {
  const rows = await listWorkerHeartbeats(sql, withinSeconds);
  return rows.map((r) => ({
    id: r.id,
    hostname: r.hostname,
    pid: r.pid,
    version: r.version,
    started_at: new Date(Number(r.started)).toISOString(),
    seen_at: new Date(Number(r.seen)).toISOString(),
    stopped_at: r.stopped == null ? null : new Date(Number(r.stopped)).toISOString(),
    seconds_ago: Math.max(0, Math.round(Number(r.ago))),
  }));
}

export type WorkerStatus = {
  /** A worker that has not stopped was seen within WORKER_SILENT_SECONDS. */
  running: boolean;
  /** Workers alive by that rule. */
  alive: number;
  newest: WorkerSeen | null;
};

export async function workerStatus(sql: Sql): Promise<WorkerStatus> {
  const seen = await workersSeen(sql, 30 * 86_400);
  const alive = seen.filter((w) => !w.stopped_at && w.seconds_ago <= WORKER_SILENT_SECONDS);
  return { running: alive.length > 0, alive: alive.length, newest: seen[0] ?? null };
}

export type Readiness = {
  status: 'ok' | 'error';
  version: string;
  db: 'ok' | 'unreachable';
  migrations?: MigrationState;
  workers?: WorkerStatus;
  reason?: string;
};

/** Ready: the database answers and has every committed migration. Workers are reported, not required. */
export async function checkReady(database: () => Database = getDatabase, timeoutMs = HEALTH_TIMEOUT_MS): Promise<Readiness> {
  const version = pkg.version;
  let sql: Sql;
  try {
    sql = database().sql;
    await withTimeout(pingDatabase(sql), timeoutMs);
  } catch (err) {
    return { status: 'error', version, db: 'unreachable', reason: reasonOf(err) };
  }
  try {
    const [migrations, workers] = await withTimeout(
      Promise.all([migrationState(sql), workerStatus(sql).catch(() => undefined)]),
      timeoutMs,
    );
    if (!migrations.current) {
      return {
        status: 'error',
        version,
        db: 'ok',
        migrations,
        workers,
        reason: `${migrations.pending.length} migration${migrations.pending.length === 1 ? '' : 's'} not applied (${migrations.pending.join(', ')}): run \`dde migrate\``,
      };
    }
    return { status: 'ok', version, db: 'ok', migrations, workers };
  } catch (err) {
    return { status: 'error', version, db: 'ok', reason: reasonOf(err) };
  }
}

/** The reasons a readiness probe tells anyone: fixed words, never the driver's error or migration names. */
export const PUBLIC_READY_REASONS = {
  unreachable: 'database unavailable',
  migrations: 'migrations pending',
  failed: 'check failed',
} as const;

/**
 * Readiness as an anonymous caller sees it: status, version and a fixed reason. The detail (the
 * driver's error, pending migration names, workers' host names) stays in the log, and goes to a
 * caller that presents DDE_METRICS_TOKEN.
 */
export function publicReadiness(r: Readiness): Readiness {
  const out: Readiness = { status: r.status, version: r.version, db: r.db };
  if (r.status === 'error') {
    out.reason =
      r.db === 'unreachable'
        ? PUBLIC_READY_REASONS.unreachable
        : r.migrations && !r.migrations.current
          ? PUBLIC_READY_REASONS.migrations
          : PUBLIC_READY_REASONS.failed;
  }
  return out;
}

/** The classic health answer as an anonymous caller sees it: the same fixed reason. */
export function publicHealth(h: Health): Health {
  return h.status === 'ok' ? h : { ...h, reason: PUBLIC_READY_REASONS.unreachable };
}

export type Heartbeat = { id: string; beat: () => Promise<void>; stop: () => Promise<void> };

/**
 * Writes this worker's heartbeat now and every `intervalMs`; `stop()` marks it stopped. A failed
 * beat (database briefly down) is logged by the caller's `onError` and tried again at the next tick.
 */
export function startWorkerHeartbeat(
  database: Database,
  opts: { intervalMs?: number; onError?: (err: Error) => void } = {},
): Heartbeat & { first: Promise<void> } {
  const { sql } = database;
  const id = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const beat = async () => {
    await beatWorkerHeartbeat(sql, { id, hostname: os.hostname(), pid: process.pid, version: pkg.version });
  };
  const tick = () => beat().catch((err: Error) => opts.onError?.(err));
  const timer = setInterval(() => void tick(), opts.intervalMs ?? HEARTBEAT_INTERVAL_MS);
  timer.unref();
  // Old rows go after a week, so the table stays a handful of rows.
  const first = tick().then(() => deleteOldWorkerHeartbeats(sql));
  return {
    id,
    beat,
    first: first.catch(() => undefined),
    stop: async () => {
      clearInterval(timer);
      await markWorkerStopped(sql, id).catch(() => undefined);
    },
  };
}
