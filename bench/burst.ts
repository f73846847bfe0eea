// bench:burst — N connections (half SFTP to one real OpenSSH sshd, half API) whose windows all close
// at the same boundary. The same work is done twice in one run, on the same programs and data:
//   sequential: planWindows, then executeExportRun (+ executeDelivery for SFTP) for each run in a plain loop;
//   parallel:   the jobs worker's real path — pg-boss queues and handlers from jobs/ — started with a
//               plan-windows job at boundary + settle delay, until the last window is delivered
//               (SFTP: delivered; API: available).
// ratio = parallel time ÷ sequential time; p99_lag_s = the 99th percentile of (window delivered −
// boundary − settle) in the parallel pass. starved = windows not delivered on their first attempt.
//
//   npm run bench:burst -- [--connections=1000] [--programs=20] [--events=3000] [--export-workers=N] [--delivery-workers=N] [--pool=N] [--processes=N]
//   (--pool: the worker's database pool; default as the jobs process sizes it, jobsPoolSize)
//   (--processes: jobs processes in the parallel pass, as the product runs several against one
//    database: the bench's own worker plus N−1 child processes (bench/burst-worker.ts), each with the
//    export and delivery workers given; default 1)
// Each pass also reports the CPU seconds it cost each side (this process, the child jobs processes,
// PostgreSQL's backends, sshd and its sessions, from /proc) and the database's transactions
// (pg_stat_database: one per statement outside a transaction block, the round trips of the run).
//   (--events: a program's events over the day before the boundary; a 4-hour window holds a sixth)
//   (--statements: load pg_stat_statements and print each pass's costliest statements, for finding
//    where the database's time goes; off by default, as it costs a little itself)
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createDb, type Database } from '@/db/client';
import { migrateDatabase } from '@/db/migrate';
import { createBoss, ensureQueues } from '@/lib/queues';
import { jobsPoolSize, registerQueues } from '@/jobs/queues';
import { setClock } from '@/lib/clock';
import { createConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { sftpSetupCheck } from '@/lib/connections/sftp-check';
import { env } from '@/lib/env';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { executeExportRun } from '@/lib/runs/export-run';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import type { TestSshd } from '@/test/helpers/sshd';
import { fileURLToPath } from 'node:url';
import { appendResults } from './results';
import { BENCH_ADMIN, startBenchServices } from './setup';

const BOUNDARY = new Date('2026-11-28T04:00:00Z');
const FIRST_PROGRAM = 7100;

const fmt = (x: number, d = 1) => x.toFixed(d);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** `count` connections on the programs, alternating SFTP (each its own folder on the sshd) and API. */
async function makeConnections(database: Database, sshd: TestSshd, set: string, count: number, programs: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const programId = FIRST_PROGRAM + (i % programs);
    const common = {
      frequency: 'every_4_hours',
      start_date: new Date(BOUNDARY.getTime() - 4 * 3_600_000).toISOString(),
      contact_emails: ['data-team@customer.example'],
    };
    let input;
    if (i % 2 === 0) {
      const folder = `${set}-${i}`;
      const dir = path.join(sshd.rootDir, folder);
      mkdirSync(dir, { recursive: true });
      chownSync(dir, sshd.uid, sshd.gid);
      input = createConnectionSchema.parse({
        kind: 'sftp',
        ...common,
        host: sshd.host,
        port: sshd.port,
        folder,
        username: sshd.username,
        auth: { method: 'private_key', private_key: sshd.privateKey },
        host_key_fingerprint: sshd.hostKeyFingerprint,
      });
    } else {
      input = createConnectionSchema.parse({ kind: 'api', ...common });
    }
    // The real set-up test for the first SFTP connection; the others share its server and kind of
    // folder, and 1,000 more logins would only slow the set-up.
    const c = await createConnection(database, BENCH_ADMIN, programId, input, i === 0 ? sftpSetupCheck() : async () => undefined);
    ids.push(c.id);
  }
  return ids;
}

type RunRow = {
  id: string;
  kind: 'sftp' | 'api';
  status: string;
  attempt: number;
  deliveries: number;
  lag: number | null;
  planned: number | null;
  started: number | null;
};

async function runsOf(database: Database, connectionIds: string[], t0: string): Promise<RunRow[]> {
  return database.sql<RunRow[]>`
    select r.id, c.kind, r.status, r.attempt,
      (select count(*)::int from deliveries d where d.run_id = r.id) as deliveries,
      extract(epoch from (r.finished_at - ${t0}::timestamptz))::float8 as lag,
      extract(epoch from (r.created_at - ${t0}::timestamptz))::float8 as planned,
      extract(epoch from (r.started_at - ${t0}::timestamptz))::float8 as started
    from export_runs r join connections c on c.id = r.connection_id
    where r.connection_id = any(${connectionIds}::uuid[])`;
}

/** CPU seconds (user + system) of `root` and its descendants, exited ones included (reaped into their parent's cutime/cstime). */
function treeCpuSeconds(roots: number[]): number {
  const procs = new Map<number, { ppid: number; ticks: number }>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(e), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
    } catch {
      // gone meanwhile: counted in its parent's children times
    }
  }
  const children = new Map<number, number[]>();
  for (const [pid, p] of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  let ticks = 0;
  const walk = (pid: number) => {
    ticks += procs.get(pid)?.ticks ?? 0;
    for (const c of children.get(pid) ?? []) walk(c);
  };
  for (const r of roots) walk(r);
  return ticks / 100; // USER_HZ
}

/** The pid of the process whose command line mentions `needle` (sshd started with its config path). */
function pidWithArg(needle: string): number | undefined {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.includes(needle) && !cmd.includes('burst')) return Number(e);
    } catch {
      // gone
    }
  }
  return undefined;
}

type CpuSnapshot = { bench: number; workers: number; postgres: number; sshd: number; xacts: number; at: number };

const done = (r: RunRow) => r.status === 'delivered' || r.status === 'available' || r.status === 'empty';

async function main() {
  // The SFTP server of this benchmark listens on 127.0.0.1, which the outbound policy refuses unless allowed.
  process.env.DDE_OUTBOUND_ALLOWED_NETWORKS ??= '127.0.0.1/32';
  const { values } = parseArgs({
    options: {
      connections: { type: 'string' },
      programs: { type: 'string' },
      events: { type: 'string' },
      'export-workers': { type: 'string' },
      'delivery-workers': { type: 'string' },
      pool: { type: 'string' },
      processes: { type: 'string' },
      statements: { type: 'boolean' },
    },
    strict: true,
  });
  const int = (name: string, v: string | undefined, dflt: number) => {
    const x = v === undefined ? dflt : Number(v);
    if (!Number.isInteger(x) || x < 1) throw new Error(`--${name} must be a positive integer`);
    return x;
  };
  const n = int('connections', values.connections, 1000);
  const programs = Math.min(n, int('programs', values.programs, 20));
  const events = int('events', values.events, 3000);
  const processes = int('processes', values.processes, 1);

  const { tmp, server, sshd, url } = await startBenchServices('burst', {
    ...(values.statements ? { settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' } } : {}),
    env: {
      ...(values['export-workers'] ? { DDE_EXPORT_WORKERS: values['export-workers'] } : {}),
      ...(values['delivery-workers'] ? { DDE_DELIVERY_WORKERS: values['delivery-workers'] } : {}),
    },
  });
  const settleMs = env().settleMinutes * 60_000;
  const at = new Date(BOUNDARY.getTime() + settleMs);
  // The jobs process's pool (as jobs/index.ts sizes it), and a separate one for watching.
  const poolSize = values.pool ? int('pool', values.pool, 10) : jobsPoolSize();
  const database = createDb(url, { max: poolSize });
  const watcher = createDb(url, { max: 1 });
  const postmaster = Number(readFileSync(path.join(tmp, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const sshdPidFile = path.join(sshd.dir, 'sshd.pid');
  const sshdPid = existsSync(sshdPidFile)
    ? Number(readFileSync(sshdPidFile, 'utf8').trim())
    : pidWithArg(path.join(sshd.dir, 'sshd_config'));
  const children: ChildProcess[] = [];
  const xactsNow = async () => {
    const [{ xacts }] = await watcher.sql<{ xacts: number }[]>`
      select (xact_commit + xact_rollback)::int8 as xacts from pg_stat_database where datname = current_database()`;
    return xacts;
  };
  /** At a pass's end, CPU now; the transaction count after 2 s (backends report theirs at most once a second). */
  const snapshot = async (end = false): Promise<CpuSnapshot> => {
    const own = process.cpuUsage();
    return {
      bench: (own.user + own.system) / 1e6,
      workers: treeCpuSeconds(children.map((c) => c.pid!).filter(Boolean)),
      postgres: treeCpuSeconds([postmaster]),
      sshd: sshdPid ? treeCpuSeconds([sshdPid]) : NaN,
      at: performance.now(),
      xacts: end ? await new Promise((r) => setTimeout(r, 2000)).then(xactsNow) : await xactsNow(),
    };
  };
  /** With --statements: the pass's costliest statements by total time (then the counters start over). */
  const statements = async (pass: string) => {
    if (!values.statements) return;
    const top = await watcher.sql<{ calls: number; total_ms: number; mean_ms: number; query: string }[]>`
      select calls::int, total_exec_time::float8 as total_ms, mean_exec_time::float8 as mean_ms, query
      from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
      order by total_exec_time desc limit 15`;
    console.log(`costliest statements, ${pass}:`);
    for (const t of top) {
      const q = t.query.replace(/\s+/g, ' ').slice(0, 150);
      console.log(`  ${fmt(t.total_ms / 1000, 2)} s  ${t.calls} calls  ${fmt(t.mean_ms, 2)} ms  ${q}`);
    }
    await watcher.sql`select pg_stat_statements_reset()`;
  };
  const cpuLine = (a: CpuSnapshot, b: CpuSnapshot, windows: number, xactsOfWatcher = 0) => {
    const wall = (b.at - a.at) / 1000;
    const part = (label: string, x: number) => `${label} ${fmt(x, 1)} s (${fmt((100 * x) / wall, 0)}%)`;
    const xacts = b.xacts - a.xacts - xactsOfWatcher;
    return {
      text:
        [
          part('this process', b.bench - a.bench),
          ...(processes > 1 ? [part('child jobs processes', b.workers - a.workers)] : []),
          part('PostgreSQL', b.postgres - a.postgres),
          part('sshd', b.sshd - a.sshd),
        ].join(', ') + ` of ${fmt(wall, 1)} s wall (% of one core); ${xacts} database transactions, ${fmt(xacts / windows, 1)} per window`,
    };
  };
  let stopWorker: (() => Promise<void>) | undefined;
  let boss: ReturnType<typeof createBoss> | undefined;
  try {
    await migrateDatabase(url);
    if (values.statements) await watcher.sql`create extension if not exists pg_stat_statements`;
    setClock(new Date(BOUNDARY.getTime() - 60 * 60_000));
    console.log(`seeding ${programs} programs (${events} events each over the day before ${BOUNDARY.toISOString()})…`);
    for (let p = 0; p < programs; p++) {
      await seedProgram(database, {
        programId: FIRST_PROGRAM + p,
        users: 200,
        campaigns: 10,
        events,
        days: 1,
        seed: p + 1,
        until: BOUNDARY,
      });
    }
    await database.sql`vacuum analyze`;

    // ---- sequential: a plain loop over the same kind of runs
    console.log(`sequential pass: ${n} connections…`);
    const seqIds = await makeConnections(database, sshd, 'seq', n, programs);
    setClock(at);
    await statements('set-up');
    const seqCpu0 = await snapshot();
    const seqStarted = performance.now();
    await planWindows(database, { now: at, settleMs });
    const seqRuns = await database.sql<{ id: string; kind: string }[]>`
      select r.id, c.kind from export_runs r join connections c on c.id = r.connection_id
      where r.connection_id = any(${seqIds}::uuid[]) order by r.created_at, r.id`;
    let exportSeconds = 0;
    for (const r of seqRuns) {
      const e0 = performance.now();
      const e = await executeExportRun(database, r.id);
      exportSeconds += (performance.now() - e0) / 1000;
      if (e.status === 'generated') {
        const d = await executeDelivery(database, r.id);
        if (d.status !== 'delivered') throw new Error(`sequential delivery of ${r.id}: ${d.status}`);
      } else if (e.status !== 'available' && e.status !== 'empty') throw new Error(`sequential export of ${r.id}: ${e.status}`);
    }
    const seqSeconds = (performance.now() - seqStarted) / 1000;
    const seqCpu = cpuLine(seqCpu0, await snapshot(true), n);
    await statements('sequential loop');
    const seqCheck = await runsOf(database, seqIds, new Date().toISOString());
    if (seqCheck.length !== n || !seqCheck.every(done)) throw new Error('the sequential pass left windows undelivered');
    console.log(
      `  ${seqRuns.length} windows in ${fmt(seqSeconds, 2)} s (exports ${fmt(exportSeconds, 2)} s, deliveries ${fmt(seqSeconds - exportSeconds, 2)} s)`,
    );
    console.log(`  CPU: ${seqCpu.text}`);

    // ---- parallel: the jobs worker
    setClock(new Date(BOUNDARY.getTime() - 60 * 60_000));
    const parIds = await makeConnections(database, sshd, 'par', n, programs);
    const exportWorkers = env().exportWorkers;
    const deliveryWorkers = env().deliveryWorkers;
    console.log(
      `parallel pass: ${n} connections, ${processes} jobs process${processes > 1 ? 'es' : ''}, each with ${exportWorkers} export and ${deliveryWorkers} delivery workers…`,
    );
    // The other jobs processes first: each says "ready" once its workers fetch jobs.
    const workerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'burst-worker.ts');
    for (let i = 1; i < processes; i++) {
      const child = spawn(process.execPath, ['--import', 'tsx', workerScript, `--clock=${at.toISOString()}`], {
        env: process.env,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`jobs process ${i} exited during start-up (code ${code})`)));
      });
    }
    boss = createBoss(url);
    boss.on('error', (err: Error) => console.error(`pg-boss: ${err.message}`));
    await boss.start();
    await ensureQueues(boss);
    stopWorker = await registerQueues(boss, database);
    setClock(at);
    const [{ t0 }] = await watcher.sql<{ t0: string }[]>`select clock_timestamp()::text as t0`;
    await statements('between the passes');
    const parCpu0 = await snapshot();
    let polls = 0;
    const parStarted = performance.now();
    await boss.send('plan-windows', { reason: 'bench:burst' });
    let rows: RunRow[] = [];
    const deadline = Date.now() + Math.max(600_000, seqSeconds * 3000);
    // A cheap count while the pass runs (the lags come from the runs' own finish times, so how often
    // this looks changes no figure), the full rows once all are done.
    for (;;) {
      const [{ finished }] = await watcher.sql<{ finished: number }[]>`
        select count(*)::int as finished from export_runs
        where connection_id = any(${parIds}::uuid[]) and status in ('delivered', 'available', 'empty')`;
      polls++;
      if (finished === n) break;
      if (Date.now() > deadline) throw new Error(`parallel pass: ${finished} of ${n} windows delivered before the deadline`);
      await new Promise((r) => setTimeout(r, 500));
    }
    rows = await runsOf(watcher, parIds, t0);
    polls++;
    const parCpu = cpuLine(parCpu0, await snapshot(true), n, polls + 1);
    await statements('jobs worker');
    const lags = rows.map((r) => r.lag ?? NaN).sort((a, b) => a - b);
    const parSeconds = lags[lags.length - 1];
    const wall = (performance.now() - parStarted) / 1000;
    const starved = rows.filter((r) => r.attempt !== 1 || (r.kind === 'sftp' && r.deliveries !== 1)).length;
    const ratio = parSeconds / seqSeconds;
    const p50 = percentile(lags, 50);
    const p99 = percentile(lags, 99);
    const concurrency = `${processes > 1 ? `processes=${processes},` : ''}export=${exportWorkers},delivery=${deliveryWorkers}`;

    console.log('');
    console.log(`| ${n} windows (${n / 2} SFTP, ${n / 2} API), ${programs} programs | seconds | windows/s |`);
    console.log('| --- | --- | --- |');
    console.log(`| sequential loop (export, then delivery) | ${fmt(seqSeconds, 2)} | ${fmt(n / seqSeconds)} |`);
    console.log(`| jobs worker (${concurrency}) | ${fmt(parSeconds, 2)} | ${fmt(n / parSeconds)} |`);
    console.log(
      `lag after boundary + settle: p50 ${fmt(p50, 2)} s, p99 ${fmt(p99, 2)} s, last ${fmt(parSeconds, 2)} s (watched ${fmt(wall, 1)} s)`,
    );
    // Where the pass's time went: planning, the first start, and the windows finished in each tenth of it.
    const last = (xs: (number | null)[]) => Math.max(...xs.map((x) => x ?? NaN));
    const first = (xs: (number | null)[]) => Math.min(...xs.map((x) => x ?? Infinity));
    const tenths = Array.from(
      { length: 10 },
      (_, i) => lags.filter((l) => l > (i * parSeconds) / 10 && l <= ((i + 1) * parSeconds) / 10).length,
    );
    tenths[0] += lags.filter((l) => l <= 0).length;
    console.log(
      `planned by ${fmt(last(rows.map((r) => r.planned)), 2)} s, first export started at ${fmt(first(rows.map((r) => r.started)), 2)} s, first window done at ${fmt(lags[0], 2)} s; windows done in each tenth of the pass: ${tenths.join(' ')}`,
    );
    console.log(`CPU, sequential loop: ${seqCpu.text}`);
    console.log(`CPU, jobs worker (until the last window, watcher's polls left out): ${parCpu.text}`);
    console.log(`starved (not delivered on the first attempt): ${starved}`);
    const load = os
      .loadavg()
      .map((x) => fmt(x, 1))
      .join(' / ');
    console.log(`load average (1/5/15 min) at the end: ${load}`);
    const result = `RESULT burst ratio=${fmt(ratio, 2)} p99_lag_s=${fmt(p99, 1)} concurrency=${concurrency} connections=${n} starved=${starved}`;
    appendResults('bench:burst', [
      `${n} connections (${n / 2} SFTP to one OpenSSH sshd on 127.0.0.1, ${n / 2} API) on ${programs} programs, every window closing at ${BOUNDARY.toISOString()}; ${events} events per program and day; load average at the end ${load}`,
      `sequential loop (planWindows, then executeExportRun + executeDelivery per run): ${fmt(seqSeconds, 2)} s; CPU ${seqCpu.text}`,
      `jobs worker (pg-boss, ${concurrency}, database pool ${poolSize} per process): last window delivered ${fmt(parSeconds, 2)} s after boundary + settle; lag p50 ${fmt(p50, 2)} s, p99 ${fmt(p99, 2)} s; starved ${starved}; CPU ${parCpu.text}`,
      '`' + result + '`',
    ]);
    console.log(result);
  } finally {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            const kill = setTimeout(() => c.kill('SIGKILL'), 25_000);
            c.once('exit', () => (clearTimeout(kill), resolve()));
            c.kill('SIGTERM');
          }),
      ),
    );
    await stopWorker?.().catch(() => undefined);
    await boss?.stop({ graceful: false, wait: true }).catch(() => undefined);
    await database.sql.end({ timeout: 5 }).catch(() => undefined);
    await watcher.sql.end({ timeout: 5 }).catch(() => undefined);
    await sshd.stop().catch(() => undefined);
    await server.stop().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench:burst: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
