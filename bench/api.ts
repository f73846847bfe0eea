// bench:api — `GET /api/v1/data_exports/activity/latest` with a valid client token versus
// `GET /api/health` on the same production server (`next start`), 32 connections, autocannon,
// 10 s each (two alternating halves), with 100,000 export files in the catalog over 3 API
// connections per program (targets: ratio ≥ 0.8 of health's requests/s and p99 ≤ 1.5× health's p99,
// same run). The token and the client's feed resolve from in-process caches after the first request;
// latest is one prepared lookup of the newest closed window's run and its first available file (no sort),
// and the client's budget is taken from PostgreSQL in leases. Besides requests/s it prints the CPU
// per request of the web process and of PostgreSQL, which is steadier on a shared machine.
//
//   npm run bench:api -- [--files N] [--seconds S] [--connections C] [--no-build]
//   BENCH_DATABASE_URL=postgres://…  use that server instead of a throwaway embedded one
//   BENCH_WEB_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR'  Node flags for the web process (profiling)
//
// Builds the app first (`next build`) when .next is older than the sources (--no-build: use
// whatever build exists, as long as it has the route).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createDb } from '@/db/client';
import { freePort, startEmbedded } from '@/db/embedded';
import { migrateDatabase } from '@/db/migrate';
import { generateToken, hashToken } from '@/lib/auth/tokens';
import { appendResults } from './results';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    files: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    'no-build': { type: 'boolean', default: false },
  },
});
const FILES = Number(args.files);
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const PROGRAMS = 20;
/** API connections per program. */
const FEEDS = 3;
const BENCH_PROGRAM = 990_001;

/** Newest modification time of the sources a production build is made from. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (/\.(ts|tsx|css|json)$/.test(e.name) && !e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** `next build` unless .next holds a build newer than every source file (it takes a minute or two). */
function ensureBuild(skip: boolean): void {
  const buildId = path.join(root, '.next', 'BUILD_ID');
  const built = path.join(root, '.next', 'server', 'app', 'api', 'v1', 'data_exports', '[type]', 'latest', 'route.js');
  const fresh =
    existsSync(buildId) &&
    existsSync(built) &&
    statSync(buildId).mtimeMs > Math.max(...['app', 'lib', 'db', 'components'].map((d) => newestSource(path.join(root, d))));
  if (fresh || (skip && existsSync(built))) return;
  console.error('bench:api: building the app (next build)…');
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next'), 'build'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error('next build failed');
}

async function waitForHealth(base: string, server: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (server.exitCode !== null) throw new Error(`next start exited with code ${server.exitCode}`);
    try {
      const res = await fetch(`${base}/api/health`);
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('next start did not become healthy in time');
}

type Measured = { rps: number; p50: number; p99: number; requests: number; non2xx: number; errors: number };

async function measure(url: string, headers: Record<string, string>, seconds: number): Promise<Measured> {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: seconds, headers });
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

/** CPU seconds (user + system) of `pid` and all its descendants, from /proc (Linux). */
function treeCpuSeconds(pid: number, match?: (comm: string) => boolean): number {
  const tick = 100; // USER_HZ
  const procs: { pid: number; ppid: number; comm: string; cpu: number }[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      procs.push({ pid: Number(e), ppid: Number(f[1]), comm, cpu: (Number(f[11]) + Number(f[12])) / tick });
    } catch {
      /* gone */
    }
  }
  const children = new Map<number, typeof procs>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  let total = 0;
  const walk = (id: number) => {
    for (const c of children.get(id) ?? []) {
      if (!match || match(c.comm)) total += c.cpu;
      walk(c.pid);
    }
  };
  const self = procs.find((p) => p.pid === pid);
  if (self && (!match || match(self.comm))) total += self.cpu;
  walk(pid);
  return total;
}

/** Two halves as one run: requests/s over both; p50 and p99 the worse half's (percentiles cannot be merged exactly). */
function combine(parts: Measured[]): Measured {
  return {
    rps: parts.reduce((n, p) => n + p.rps, 0) / parts.length,
    p50: Math.max(...parts.map((p) => p.p50)),
    p99: Math.max(...parts.map((p) => p.p99)),
    requests: parts.reduce((n, p) => n + p.requests, 0),
    non2xx: parts.reduce((n, p) => n + p.non2xx, 0),
    errors: parts.reduce((n, p) => n + p.errors, 0),
  };
}

async function main(): Promise<void> {
  ensureBuild(args['no-build']);
  let url = process.env.BENCH_DATABASE_URL;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dde-bench-api-'));
  let stopDb = async () => undefined as void;
  if (!url) {
    const server = await startEmbedded({ dir: path.join(dir, 'pg'), password: 'bench', logFile: path.join(dir, 'pg.log') });
    url = server.url();
    stopDb = server.stop;
  }
  let web: ChildProcess | undefined;
  try {
    await migrateDatabase(url);
    const { sql } = createDb(url, { max: 4 });
    const programIds = Array.from({ length: PROGRAMS }, (_, i) => BENCH_PROGRAM + i);
    await sql`insert into programs (id, name) select g, 'Bench ' || g from unnest(${programIds}::bigint[]) g on conflict do nothing`;
    await sql`delete from api_tokens where program_id = any(${programIds}::bigint[])`;
    await sql`delete from api_clients where program_id = any(${programIds}::bigint[])`;
    await sql`delete from export_files where program_id = any(${programIds}::bigint[])`;
    await sql`delete from export_runs where program_id = any(${programIds}::bigint[])`;
    await sql`delete from connections where program_id = any(${programIds}::bigint[])`;
    // Three API connections per program and one run per 100 files, so files spread over programs,
    // connections, types and runs; each connection's runs are its newest windows back from the
    // newest closed one (what latest answers).
    await sql`
      insert into connections (program_id, kind, name, frequency, start_date)
      select g, 'api', 'Bench feed ' || k, 'every_4_hours', '2025-01-01' from unnest(${programIds}::bigint[]) g, generate_series(1, ${FEEDS}) k`;
    const runs = Math.ceil(FILES / 100);
    const newestClosedEnd = new Date(Math.floor(Date.now() / (4 * 3_600_000)) * 4 * 3_600_000);
    await sql`
      with feeds as (select id, program_id, row_number() over (order by program_id, name) - 1 as n from connections where program_id = any(${programIds}::bigint[]))
      insert into export_runs (connection_id, program_id, export_type, window_start, window_end, status)
      select c.id, c.program_id, 'incremental',
             ${newestClosedEnd.toISOString()}::timestamptz - ((r / ${PROGRAMS * FEEDS} + 1) * interval '4 hours'),
             ${newestClosedEnd.toISOString()}::timestamptz - ((r / ${PROGRAMS * FEEDS}) * interval '4 hours'), 'available'
      from generate_series(0, ${runs - 1}) r join feeds c on c.n = r % ${PROGRAMS * FEEDS}`;
    const started = performance.now();
    await sql`
      with runs as (select id, program_id, window_start, window_end, row_number() over (order by window_start) - 1 as n from export_runs where program_id = any(${programIds}::bigint[]))
      insert into export_files (run_id, program_id, file_type, export_type, name, storage_key, window_start, window_end, rows, bytes, sha256, format, compression, created_at, expires_at)
      select runs.id, runs.program_id, (array['user','campaign','activity','activity','manifest'])[1 + g % 5], 'incremental',
             'f-' || g || '.gz', runs.program_id || '/' || runs.id || '/f-' || g || '.gz', runs.window_start, runs.window_end,
             g, g * 100, md5(g::text) || md5((g + 1)::text), 'csv', 'gzip',
             now() - ((${FILES} - g) * interval '1 second'), now() + interval '7 days'
      from generate_series(0, ${FILES - 1}) g join runs on runs.n = g / 100`;
    await sql`analyze export_files`;
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from export_files`;
    console.error(`bench:api: ${n} export files in the catalog (inserted in ${((performance.now() - started) / 1000).toFixed(1)} s)`);

    // A client of the bench program and a token, exactly as POST /api/oauth/token would issue.
    const token = generateToken();
    const [client] = await sql<{ id: string }[]>`
      insert into api_clients (program_id, name, client_id, secret_hash, scopes) values (${BENCH_PROGRAM}, 'bench', ${`ddec_bench${Date.now()}`}, ${'0'.repeat(64)}, '{data_exports.read}') returning id`;
    await sql`
      insert into api_client_connections (client_id, connection_id)
      select ${client.id}, id from connections where program_id = ${BENCH_PROGRAM} order by name limit 1`;
    await sql`
      insert into api_tokens (kind, api_client_id, program_id, token_hash, token_prefix, scopes, expires_at)
      values ('client', ${client.id}, ${BENCH_PROGRAM}, ${hashToken(token)}, ${token.slice(0, 10)}, '{data_exports.read}', now() + interval '1 hour')`;
    const plan = await sql<{ 'QUERY PLAN': string }[]>`
      explain select r.status, f.*, e.id from export_runs r
      left join lateral (select * from export_files f where f.program_id = r.program_id and f.run_id = r.id and f.file_type = 'activity'
        and not f.expired and f.expires_at > now() order by f.part, f.id limit 1) f on true
      left join lateral (select x.id from export_files x where f.id is null and x.program_id = r.program_id and x.run_id = r.id
        and x.file_type = 'activity' limit 1) e on true
      where r.connection_id = (select connection_id from api_client_connections where client_id = ${client.id})
        and r.export_type = 'incremental' and r.window_start = ${new Date(newestClosedEnd.getTime() - 4 * 3_600_000).toISOString()}::timestamptz`;
    console.error(`bench:api: the latest query's plan:\n  ${plan.map((r) => r['QUERY PLAN']).join('\n  ')}`);
    await sql.end();

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    web = spawn(
      process.execPath,
      [
        ...(process.env.BENCH_WEB_NODE_ARGS ?? '').split(' ').filter(Boolean),
        path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next'),
        'start',
        '-p',
        String(port),
        '-H',
        '127.0.0.1',
      ],
      {
        cwd: root,
        env: {
          ...process.env,
          NODE_ENV: 'production',
          DATABASE_URL: url,
          NEXTAUTH_SECRET: randomBytes(32).toString('base64url'),
          NEXTAUTH_URL: base,
          DDE_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
          DDE_DATA_DIR: path.join(dir, 'data'),
          LOG_LEVEL: 'warn',
          // The budget is per client; one client drives the whole benchmark, so lift it (the limiter still runs).
          DDE_API_RATE_LIMIT_PER_MINUTE: '10000000',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    await waitForHealth(base, web);

    const auth = { authorization: `Bearer ${token}` };
    const check = await fetch(`${base}/api/v1/data_exports/activity/latest`, { headers: auth });
    const body = (await check.json()) as { data?: { program_id: number } | null };
    if (check.status !== 200 || !body.data) throw new Error(`latest answered ${check.status} ${JSON.stringify(body).slice(0, 300)}`);

    // Warm both routes (JIT, connection pool, token cache), then measure each in turn.
    await measure(`${base}/api/health`, {}, 2);
    await measure(`${base}/api/v1/data_exports/activity/latest`, auth, 2);
    // Alternate the two in halves, so a change in the machine's load (it is shared) hits both alike.
    const halves: { health: Measured[]; latest: Measured[] } = { health: [], latest: [] };
    // CPU per request of the web process and of PostgreSQL (children of this process when embedded):
    // steadier than requests/s on a shared machine, and it says which side a difference comes from.
    const cpu = { health: { web: 0, db: 0 }, latest: { web: 0, db: 0 } };
    const sample = () => ({ web: treeCpuSeconds(web!.pid!), db: treeCpuSeconds(process.pid, (c) => c.startsWith('postgres')) });
    const timed = async (route: 'health' | 'latest', run: () => Promise<Measured>) => {
      const before = sample();
      const m = await run();
      const after = sample();
      cpu[route].web += after.web - before.web;
      cpu[route].db += after.db - before.db;
      return m;
    };
    for (let round = 0; round < 2; round++) {
      halves.health.push(await timed('health', () => measure(`${base}/api/health`, {}, SECONDS / 2)));
      halves.latest.push(await timed('latest', () => measure(`${base}/api/v1/data_exports/activity/latest`, auth, SECONDS / 2)));
    }
    const health = combine(halves.health);
    const latest = combine(halves.latest);
    if (health.non2xx || latest.non2xx || health.errors || latest.errors) {
      throw new Error(
        `non-2xx or errors during the run: health ${health.non2xx}/${health.errors}, latest ${latest.non2xx}/${latest.errors}`,
      );
    }

    const ratio = latest.rps / health.rps;
    const p99Ratio = latest.p99 / Math.max(1, health.p99);
    console.log(`| route (${CONNECTIONS} connections, ${SECONDS} s) | requests/s | p50 ms | p99 ms | requests |`);
    console.log('| --- | --- | --- | --- | --- |');
    console.log(`| GET /api/health | ${health.rps.toFixed(0)} | ${health.p50} | ${health.p99} | ${health.requests} |`);
    console.log(
      `| GET /api/v1/data_exports/activity/latest | ${latest.rps.toFixed(0)} | ${latest.p50} | ${latest.p99} | ${latest.requests} |`,
    );
    const perRequest = (route: 'health' | 'latest', requests: number) =>
      `web ${((cpu[route].web / requests) * 1e6).toFixed(0)} µs, PostgreSQL ${((cpu[route].db / requests) * 1e6).toFixed(0)} µs`;
    const cpuLine = `CPU per request: health ${perRequest('health', health.requests)}; latest ${perRequest('latest', latest.requests)}`;
    console.log(cpuLine);
    const line = `RESULT api ratio=${ratio.toFixed(2)} p99_ms=${latest.p99} health_p99_ms=${health.p99}`;
    appendResults('bench:api', [
      `${n.toLocaleString('en-US')} export files in the catalog (${PROGRAMS} programs × ${FEEDS} API connections); ${CONNECTIONS} connections, ${SECONDS} s each (in alternating halves), autocannon against \`next start\`; load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' / ')}`,
      `GET /api/health: ${health.rps.toFixed(0)} req/s, p50 ${health.p50} ms, p99 ${health.p99} ms`,
      `GET /api/v1/data_exports/activity/latest (client token): ${latest.rps.toFixed(0)} req/s, p50 ${latest.p50} ms, p99 ${latest.p99} ms (targets: ratio ≥ 0.8, p99 ≤ 1.5× health's: ratio ${ratio.toFixed(2)}, p99 ${p99Ratio.toFixed(2)}×)`,
      cpuLine,
      `\`${line}\``,
    ]);
    console.log(line);
  } finally {
    if (web && web.exitCode === null) {
      web.kill('SIGTERM');
      await new Promise((r) => web!.once('exit', r));
    }
    await stopDb();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
