// dde status: is this installation working? The database, its migrations, the jobs workers seen,
// connections by status, windows due and late, and failures of the last 24 hours. Exit code 1 when
// the database does not answer, its migrations are behind, or no worker runs.
import path from 'node:path';
import { z } from 'zod';
import { createDb, type Database } from '@/db/client';
import { discoverEmbedded } from '@/db/embedded-discovery';
import { countConnectionsByStatus, listConnectionsBehindPlan } from '@/db/queries/connections';
import { databaseNowMs, serverVersion } from '@/db/queries/ops';
import { countDeliveriesFailedLastDay, countRunsFailedLastDay, summarizeUnfinishedRuns } from '@/db/queries/runs';
import { ConfigError, env, sourceOf } from '@/lib/env';
import { migrationState, reasonOf, WORKER_SILENT_SECONDS, workersSeen, type MigrationState, type WorkerSeen } from '@/lib/health';
import { windowsEndingIn } from '@/lib/windows';
import pkg from '@/package.json';
import { CliError, noPositionals, parseCommand } from './args';
import { redactUrl } from './database';
import { table } from './output';

export const summary = 'Show the database, migrations, workers, connections, due windows and recent failures';
export const usage = `Usage: dde status [--json]

Reports whether DDE is working: the database it uses (DATABASE_URL, or the embedded PostgreSQL
that npm start runs) and its migrations, the jobs workers seen in the last 24 hours, connections
by status, windows due for export and those late (closed more than the settle delay plus an hour
ago and not delivered yet), and failed runs and delivery attempts of the last 24 hours.
Exit code 0 when all is well, 1 when the database does not answer, migrations are pending or no
jobs worker has been seen for ${WORKER_SILENT_SECONDS / 60} minutes.

  --json   the same as one JSON document`;

/** A due window counts as late once it closed this long (on top of the settle delay) ago. */
export const LATE_GRACE_MINUTES = 60;

export type Status = {
  version: string;
  database: { url: string; source: string; reachable: boolean; server?: string; reason?: string };
  migrations?: MigrationState;
  workers?: { alive: number; seen: WorkerSeen[] };
  connections?: Record<string, number>;
  windows?: { due: number; late: number; unplanned: number; oldestDue: string | null };
  failures24h?: { runs: number; deliveries: number; byClass: Record<string, number> };
  ok: boolean;
};

async function counts(
  database: Database,
  settleMinutes: number,
): Promise<Required<Pick<Status, 'connections' | 'windows' | 'failures24h'>>> {
  const { sql } = database;
  const [byStatus, ledger, unplannedRows, runFailures, deliveryFailures, nowMs] = await Promise.all([
    countConnectionsByStatus(sql),
    summarizeUnfinishedRuns(sql, { lateAfterMinutes: settleMinutes + LATE_GRACE_MINUTES }),
    listConnectionsBehindPlan(sql, { settleMinutes }),
    countRunsFailedLastDay(sql),
    countDeliveriesFailedLastDay(sql),
    databaseNowMs(sql),
  ]);
  // Windows closed (and settled) that no planner has written into the ledger yet: due as well.
  const until = new Date(nowMs - settleMinutes * 60_000);
  const lateBefore = nowMs - (settleMinutes + LATE_GRACE_MINUTES) * 60_000;
  let unplanned = 0;
  let unplannedLate = 0;
  let oldest = ledger.oldest == null ? Infinity : Number(ledger.oldest);
  for (const c of unplannedRows) {
    const startDate = new Date(Number(c.start_date));
    const through = c.planned_through == null ? null : new Date(Number(c.planned_through));
    const effectiveStart = through && through > startDate ? through : startDate;
    const endDate = c.end_date == null ? null : new Date(Number(c.end_date));
    const windows = windowsEndingIn({ frequency: c.frequency, startDate: effectiveStart, endDate }, null, until, 10_000);
    unplanned += windows.length;
    for (const w of windows) {
      if (w.end.getTime() < lateBefore) unplannedLate++;
      oldest = Math.min(oldest, w.end.getTime());
    }
  }
  return {
    connections: Object.fromEntries(byStatus.map((r) => [r.status, r.n])),
    windows: {
      due: ledger.due + unplanned,
      late: ledger.late + unplannedLate,
      unplanned,
      oldestDue: Number.isFinite(oldest) ? new Date(oldest).toISOString() : null,
    },
    failures24h: {
      runs: runFailures,
      deliveries: deliveryFailures.reduce((n, r) => n + r.n, 0),
      byClass: Object.fromEntries(deliveryFailures.map((r) => [r.code, r.n])),
    },
  };
}

/** Everything `dde status` reports, for the database at `url`. */
export async function collectStatus(url: string, source: string, settleMinutes: number): Promise<Status> {
  const status: Status = { version: pkg.version, database: { url: redactUrl(url), source, reachable: false }, ok: false };
  const database = createDb(url, { max: 4 });
  try {
    try {
      const version = await Promise.race([
        serverVersion(database.sql),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 5 s')), 5000).unref()),
      ]);
      status.database.reachable = true;
      status.database.server = `PostgreSQL ${version.split(' ')[0]}`;
    } catch (err) {
      status.database.reason = reasonOf(err);
      return status;
    }
    status.migrations = await migrationState(database.sql);
    if (status.migrations.applied === 0) return status; // an empty database: nothing else to count
    const seen = await workersSeen(database.sql, 86_400).catch(() => [] as WorkerSeen[]);
    status.workers = { alive: seen.filter((w) => !w.stopped_at && w.seconds_ago <= WORKER_SILENT_SECONDS).length, seen };
    Object.assign(status, await counts(database, settleMinutes));
    status.ok = status.migrations.current && status.workers.alive > 0;
    return status;
  } finally {
    await database.sql.end({ timeout: 5 });
  }
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

function ago(seconds: number): string {
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}

export function formatStatus(s: Status): string {
  const rows: string[][] = [['DDE', s.version]];
  rows.push([
    'Database',
    s.database.reachable
      ? `ok — ${s.database.server}, ${s.database.url} (${s.database.source})`
      : `NOT REACHABLE — ${s.database.url} (${s.database.source}): ${s.database.reason}`,
  ]);
  if (s.migrations) {
    const m = s.migrations;
    rows.push([
      'Migrations',
      m.current
        ? `current (${m.applied} applied)`
        : `${plural(m.pending.length, 'migration')} pending: ${m.pending.join(', ')} — run \`dde migrate\``,
    ]);
  }
  if (s.workers) {
    const w = s.workers;
    const running = w.seen.filter((x) => !x.stopped_at && x.seconds_ago <= WORKER_SILENT_SECONDS);
    rows.push([
      'Workers',
      w.alive > 0
        ? `${plural(w.alive, 'worker')} running: ${running.map((x) => `${x.hostname} pid ${x.pid} (seen ${ago(x.seconds_ago)})`).join(', ')}`
        : w.seen.length
          ? `NONE RUNNING — exports are not running; last seen ${w.seen[0].hostname} pid ${w.seen[0].pid} ${ago(w.seen[0].seconds_ago)}${w.seen[0].stopped_at ? ' (stopped)' : ''}`
          : 'NONE SEEN in the last 24 h — exports are not running; start one with `npm run jobs`',
    ]);
  }
  if (s.connections) {
    const entries = Object.entries(s.connections);
    rows.push(['Connections', entries.length ? entries.map(([k, n]) => `${n} ${k}`).join(', ') : 'none']);
  }
  if (s.windows) {
    const w = s.windows;
    rows.push([
      'Windows',
      `${plural(w.due, 'window')} due, ${w.late} late` +
        (w.unplanned ? ` (${w.unplanned} not planned yet)` : '') +
        (w.oldestDue ? `; oldest due window ended ${w.oldestDue.replace(/\.\d{3}Z$/, 'Z')}` : ''),
    ]);
  }
  if (s.failures24h) {
    const f = s.failures24h;
    const classes = Object.entries(f.byClass)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    rows.push([
      'Failures 24 h',
      `${plural(f.runs, 'run')} failed, ${plural(f.deliveries, 'delivery attempt')} failed${classes ? ` (${classes})` : ''}`,
    ]);
  }
  return table(rows);
}

export async function run(argv: string[]) {
  const { values, positionals } = parseCommand(argv, { json: { type: 'boolean' } }, z.object({ json: z.boolean().default(false) }));
  noPositionals(positionals);
  let e;
  try {
    e = env();
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message.replace(/\n\s*/g, ' '));
    throw err;
  }
  let url = e.databaseUrl;
  let source = `DATABASE_URL from ${sourceOf('DATABASE_URL') ?? 'the environment'}`;
  if (!url) {
    const dir = path.join(e.dataDir, 'postgres');
    url = discoverEmbedded(dir, e.embeddedPgPassword);
    source = 'embedded PostgreSQL';
    if (!url) {
      const s: Status = {
        version: pkg.version,
        database: {
          url: '(none)',
          source: `embedded PostgreSQL in ${dir}`,
          reachable: false,
          reason: 'not running — start DDE with `npm start`',
        },
        ok: false,
      };
      console.log(values.json ? JSON.stringify(s, null, 2) : formatStatus(s));
      process.exitCode = 1;
      return;
    }
  }
  const s = await collectStatus(url, source, e.settleMinutes);
  console.log(values.json ? JSON.stringify(s, null, 2) : formatStatus(s));
  if (!s.ok) process.exitCode = 1;
}
