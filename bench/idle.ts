// bench:idle — what an installation with nothing to do costs its database. A throwaway embedded
// PostgreSQL (with pg_stat_statements) is measured first with nothing connected (the floor), then
// with N real jobs processes (`npm run jobs`: jobs/index.ts) and W real web processes (`next start`)
// running against it with no connection configured, for each N given. Each phase: start the
// processes, wait until they are ready and have settled, then count over the period:
//   statements   pg_stat_statements calls (top-level statements of every client)
//   transactions pg_stat_database xact_commit + xact_rollback (each idle statement is its own)
//   PostgreSQL   CPU seconds of the postmaster and all its backends (/proc), which the machine's
//                other load does not inflate
// statements_per_s_per_process = (the phase's statements/s − the floor's) ÷ N jobs processes (web
// processes are in every phase). After each idle period one job is sent and the time until a worker
// started it is printed (pickup_s: the slowest phase's).
//
//   npm run bench:idle -- [--jobs=1,4,16] [--web=1] [--seconds=120] [--settle=10]
//   (--web=0 skips the web processes; with W > 0 a production build is made first when none exists)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createDb } from '@/db/client';
import { startEmbedded } from '@/db/embedded';
import { migrateDatabase } from '@/db/migrate';
import { enqueue } from '@/lib/queues';
import { postmasterPid, treeCpuSeconds } from './proc';
import { appendResults } from './results';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fmt = (x: number, d = 2) => x.toFixed(d);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Starts `args` and resolves once its output contains `ready` (rejects if it exits first or takes over `timeoutMs`). */
function startChild(args: string[], env: NodeJS.ProcessEnv, ready: RegExp, timeoutMs: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(args[0], args.slice(1), { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: false });
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`${args.join(' ')} not ready within ${timeoutMs / 1000} s:\n${out.slice(-2000)}`)),
      timeoutMs,
    );
    const onData = (b: Buffer) => {
      out += b.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(child);
      }
      if (out.length > 100_000) out = out.slice(-10_000);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited (code ${code}):\n${out.slice(-2000)}`));
    });
  });
}

async function stopChildren(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const hard = setTimeout(() => c.kill('SIGKILL'), 40_000);
          c.once('exit', () => {
            clearTimeout(hard);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
}

type Phase = {
  jobs: number;
  web: number;
  seconds: number;
  statements: number;
  xacts: number;
  pgCpu: number;
  childCpu: number;
  connections: number;
  pickupS?: number;
};

async function main() {
  const { values } = parseArgs({
    options: {
      jobs: { type: 'string', default: '1,4,16' },
      web: { type: 'string', default: '1' },
      seconds: { type: 'string', default: '120' },
      settle: { type: 'string', default: '10' },
    },
    strict: true,
  });
  const jobsList = values.jobs.split(',').map((s) => Number(s.trim()));
  const web = Number(values.web);
  const seconds = Number(values.seconds);
  const settle = Number(values.settle);
  if (jobsList.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error(`--jobs must list positive integers, e.g. 1,4,16 (got ${values.jobs})`);
  if (!Number.isInteger(web) || web < 0) throw new Error(`--web must be a whole number (got ${values.web})`);
  if (!(seconds >= 5)) throw new Error(`--seconds must be at least 5 (got ${values.seconds})`);
  if (!(settle >= 0)) throw new Error(`--settle must be 0 or more (got ${values.settle})`);

  if (web > 0 && !existsSync(path.join(root, '.next', 'BUILD_ID'))) {
    console.log('no production build: building the web app first (next build)…');
    const b = spawnSync(process.execPath, [path.join(root, 'node_modules/next/dist/bin/next'), 'build'], { cwd: root, stdio: 'inherit' });
    if (b.status !== 0) throw new Error('next build failed');
  }

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dde-bench-idle-'));
  console.log('starting a throwaway embedded PostgreSQL…');
  const server = await startEmbedded({
    dir: path.join(tmp, 'pg'),
    password: 'bench',
    ephemeral: true,
    logFile: path.join(tmp, 'pg.log'),
    settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'top' },
  });
  const url = server.url();
  const watcher = createDb(url, { max: 1 });
  await migrateDatabase(url);
  await watcher.sql`create extension if not exists pg_stat_statements`;
  const postmaster = postmasterPid(server.dataDir);

  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: url,
    NEXTAUTH_SECRET: randomBytes(32).toString('hex'),
    NEXTAUTH_URL: 'http://localhost:3000',
    DDE_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    DDE_DATA_DIR: path.join(tmp, 'data'),
    LOG_LEVEL: 'info',
    NODE_ENV: 'production',
    NEXT_TELEMETRY_DISABLED: '1',
  };
  delete childEnv.SMTP_URL;

  const counters = async () => {
    const [s] = await watcher.sql<{ statements: string; xacts: string; connections: string }[]>`
      select (select coalesce(sum(calls), 0) from pg_stat_statements
               where dbid = (select oid from pg_database where datname = current_database())
                 and query not like '%pg_stat_statements%' and query not like '%pg_stat_database%')::int8 as statements,
             (select xact_commit + xact_rollback from pg_stat_database where datname = current_database())::int8 as xacts,
             (select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid())::int8 as connections`;
    return { statements: Number(s.statements), xacts: Number(s.xacts), connections: Number(s.connections) };
  };

  const measure = async (jobs: number, webs: number, children: ChildProcess[]): Promise<Phase> => {
    await watcher.sql`select pg_stat_statements_reset()`;
    await watcher.sql`select pg_stat_reset()`;
    await sleep(1500); // backends report their transactions at most once a second
    const a = await counters();
    const cpuA = treeCpuSeconds([postmaster]);
    const childA = treeCpuSeconds(children.map((c) => c.pid!));
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const t1 = performance.now();
    const cpuB = treeCpuSeconds([postmaster]);
    const childB = treeCpuSeconds(children.map((c) => c.pid!));
    await sleep(1500);
    const b = await counters();
    return {
      jobs,
      web: webs,
      seconds: (t1 - t0) / 1000,
      // The watcher's own: its two counter reads and the resets are left out of statements; of the
      // transactions, the reset and counter statements (four) are taken off.
      statements: b.statements - a.statements,
      xacts: b.xacts - a.xacts - 4,
      pgCpu: cpuB - cpuA,
      childCpu: childB - childA,
      connections: b.connections,
    };
  };

  /** After the idle period: one job sent to the idle processes, and how long until a worker started it (the database's clock). */
  const pickup = async (): Promise<number> => {
    const id = await enqueue(watcher, 'expire-files', {});
    for (let i = 0; i < 600; i++) {
      const [row] = await watcher.sql<{ s: number | null }[]>`
        select extract(epoch from started_on - created_on)::float8 as s from pgboss.job where id = ${id}
        union all select extract(epoch from started_on - created_on)::float8 from pgboss.archive where id = ${id}`;
      if (row?.s != null) return row.s;
      await sleep(100);
    }
    return NaN;
  };

  const lines: string[] = [];
  const phases: Phase[] = [];
  const report = (p: Phase, label: string) => {
    const line = `${label}: ${p.statements} statements (${fmt(p.statements / p.seconds)}/s), ${p.xacts} transactions (${fmt(p.xacts / p.seconds)}/s), PostgreSQL CPU ${fmt(p.pgCpu)} s, the processes' own CPU ${fmt(p.childCpu)} s, ${p.connections} connections, over ${fmt(p.seconds, 0)} s${p.pickupS === undefined ? '' : `; then a job sent to them was started ${fmt(p.pickupS)} s after it was sent`}`;
    console.log(line);
    lines.push(line);
  };

  const children: ChildProcess[] = [];
  try {
    console.log(`floor: nothing connected, ${seconds} s…`);
    const floor = await measure(0, 0, []);
    report(floor, 'floor (empty PostgreSQL, nothing connected)');

    for (const n of jobsList) {
      console.log(`${n} jobs process${n > 1 ? 'es' : ''} and ${web} web: starting…`);
      const starts: Promise<ChildProcess>[] = [];
      for (let i = 0; i < n; i++)
        starts.push(
          startChild([process.execPath, '--import', 'tsx', path.join(root, 'jobs/index.ts')], childEnv, /jobs worker started/, 300_000),
        );
      for (let i = 0; i < web; i++) {
        const port = await freePort();
        starts.push(
          startChild(
            [process.execPath, path.join(root, 'node_modules/next/dist/bin/next'), 'start', '-p', String(port), '-H', '127.0.0.1'],
            childEnv,
            /Ready in/,
            300_000,
          ),
        );
      }
      const started = await Promise.allSettled(starts);
      for (const s of started) if (s.status === 'fulfilled') children.push(s.value);
      const failed = started.find((s) => s.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      // Start-up work (queues, the first plan) is not idle cost.
      await sleep(settle * 1000);
      console.log(`measuring ${seconds} s…`);
      const p = await measure(n, web, children);
      p.pickupS = await pickup();
      phases.push(p);
      report(p, `${n} jobs process${n > 1 ? 'es' : ''} + ${web} web, idle`);
      await stopChildren(children.splice(0));
    }

    const floorRate = floor.statements / floor.seconds;
    const perProcess = phases.map((p) => (p.statements / p.seconds - floorRate) / p.jobs);
    const worst = Math.max(...perProcess);
    const last = phases[phases.length - 1];
    const load = os.loadavg().map((l) => fmt(l, 1));
    lines.push(
      `statements/s per jobs process above the floor: ${phases.map((p, i) => `N=${p.jobs}: ${fmt(perProcess[i])}`).join(', ')} (target ≤ 1); load average at the end ${load.join(' / ')} (shared machine)`,
    );
    const slowest = Math.max(...phases.map((p) => p.pickupS ?? NaN));
    const result = `RESULT idle statements_per_s_per_process=${fmt(worst)} pg_cpu_s=${fmt(last.pgCpu)} pickup_s=${fmt(slowest)} jobs=${last.jobs} web=${web} seconds=${fmt(last.seconds, 0)} floor_statements_per_s=${fmt(floorRate)} floor_pg_cpu_s=${fmt(floor.pgCpu)}`;
    console.log(lines[lines.length - 1]);
    console.log(result);
    lines.push(`\`${result}\``);
    appendResults('bench:idle', lines);
  } finally {
    await stopChildren(children);
    await watcher.sql.end({ timeout: 5 }).catch(() => undefined);
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
