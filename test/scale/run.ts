// npm run test:scale — the many-machine proof: 2 web processes (`next start` on the built app) and
// 2 jobs workers (`npm run jobs`), each with its own data folder (no shared disk), on one
// PostgreSQL and one real S3 server (Ceph RGW, test/helpers/rgw.ts). 3 connections × 20 closed
// 4-hour windows must each be exported exactly once; one worker is killed with SIGKILL in the
// middle of an export and the other finishes that run with one file set; every file downloads and
// every folder zip is complete through either web process; the union of all activity files holds
// every source event exactly once. Ends with
//   RESULT scale windows=… exported_once=… lost=0 duplicated=0
// and exit code 0 only when every check passed.
//
//   TEST_DATABASE_URL=postgres://…   use that server instead of a throwaway embedded one
//   TEST_S3_ENDPOINT (+ keys)        use a running S3 server instead of starting RGW
//   SCALE_KEEP=1                     keep the temporary folder (process logs) afterwards
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { parse as parseCsv } from 'csv-parse/sync';
import { createDb, type Database } from '@/db/client';
import { startEmbedded } from '@/db/embedded';
import { migrateDatabase } from '@/db/migrate';
import { createApiClient } from '@/lib/auth/api-clients';
import { createApiToken } from '@/lib/auth/tokens';
import { resetEnv } from '@/lib/env';
import { seedProgram } from '@/lib/seed';
import { alignDown } from '@/lib/windows';
import { rgwSkipReason, obtainRgw, type TestRgw } from '../helpers/rgw';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PROGRAM = 5101;
const CONNECTIONS = 3;
const WINDOWS = 20;
const HOUR = 3_600_000;
const T0 = Date.now();

const say = (line: string) => process.stdout.write(`[scale ${((Date.now() - T0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

type Proc = { name: string; child: ChildProcess; log: string };

function launch(name: string, args: string[], env: NodeJS.ProcessEnv, logDir: string): Proc {
  const log = path.join(logDir, `${name}.log`);
  const out = createWriteStream(log);
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  return { name, child, log };
}

async function stopProc(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 35_000);
  await exited;
  clearTimeout(timer);
}

async function waitForHealth(p: Proc, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null)
      throw new Error(`${p.name} exited during start-up; see ${p.log}:\n${readFileSync(p.log, 'utf8').slice(-2000)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(5000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(500);
  }
  throw new Error(`${p.name} did not answer /api/health within ${timeoutMs / 1000} s`);
}

/** Newest modification time of the sources the web build is made from (as scripts/start.ts decides). */
function buildIsFresh(): boolean {
  const id = path.join(root, '.next', 'BUILD_ID');
  if (!existsSync(id)) return false;
  const built = statSync(id).mtimeMs;
  let newest = 0;
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ['app', 'components', 'lib', 'db', 'pages']) walk(path.join(root, d));
  return newest <= built;
}

async function objectKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken }));
    for (const o of res.Contents ?? []) keys.push(o.Key!.slice(prefix.length));
    ContinuationToken = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return keys.sort();
}

type FolderFile = { id: string; name: string; file_type: string; bytes: number; sha256: string; download_url: string | null };
type Folder = { run_id: string; connection_id: string | null; name: string; files: FolderFile[]; archive_url: string };

async function main(): Promise<void> {
  const skip = rgwSkipReason();
  if (skip) throw new Error(`test:scale needs a real S3 server: ${skip}`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dde-scale-'));
  const logDir = path.join(tmp, 'logs');
  /** The last lines of a process log, for a failure's message (the folder is removed afterwards). */
  const tailOf = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-15).join('\n') : '(no log)');
  mkdirSync(logDir);
  const procs: Proc[] = [];
  let stopPg: (() => Promise<void>) | undefined;
  let rgw: TestRgw | undefined;
  let database: Database | undefined;
  let s3: S3Client | undefined;
  const problems: string[] = [];
  try {
    // ---------------------------------------------------------------- one PostgreSQL, one S3 server
    say('starting PostgreSQL and the S3 server (Ceph RGW)…');
    const rgwStarting = obtainRgw();
    let url = process.env.TEST_DATABASE_URL;
    if (url) {
      const admin = createDb(url, { max: 1 });
      const name = `dde_scale_${process.pid}`;
      await admin.sql.unsafe(`create database ${name}`);
      await admin.sql.end();
      const u = new URL(url);
      u.pathname = `/${name}`;
      url = u.toString();
    } else {
      const server = await startEmbedded({
        dir: path.join(tmp, 'pg'),
        password: 'scale',
        ephemeral: true,
        logFile: path.join(logDir, 'postgres.log'),
      });
      url = server.url();
      stopPg = server.stop;
    }
    rgw = await rgwStarting;
    say(`S3 server at ${rgw.endpoint}${rgw.startupMs ? ` (started in ${(rgw.startupMs / 1000).toFixed(1)} s)` : ''}`);
    const bucket = await rgw.createBucket('dde-scale');
    s3 = rgw.client();
    await migrateDatabase(url);

    // Shared by every process: what N machines of one deployment share (database, bucket, secrets).
    const shared: NodeJS.ProcessEnv = {
      NODE_ENV: 'production',
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmp,
      NEXT_TELEMETRY_DISABLED: '1',
      DATABASE_URL: url,
      NEXTAUTH_SECRET: randomBytes(32).toString('base64url'),
      DDE_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      DDE_STORAGE_URL: `s3://${bucket}/dde`,
      DDE_S3_ENDPOINT: rgw.endpoint,
      DDE_S3_FORCE_PATH_STYLE: 'true',
      DDE_S3_CHECKSUMS: 'when_required',
      AWS_ACCESS_KEY_ID: rgw.accessKeyId,
      AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey,
      AWS_REGION: rgw.region,
      DDE_DEMO: 'false',
      DDE_SETTLE_MINUTES: '0',
      DDE_RUN_STALE_SECONDS: '5',
      DDE_API_RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'info',
    };
    resetEnv({ ...shared, DDE_DATA_DIR: path.join(tmp, 'runner') });
    database = createDb(url, { max: 4 });

    // ---------------------------------------------------------------- data: 20 closed windows × 3 connections
    const end = alignDown(new Date(), 'every_4_hours'); // the last boundary: 20 windows end at or before it
    const start = new Date(end.getTime() - WINDOWS * 4 * HOUR);
    if (end.getTime() + 4 * HOUR - Date.now() < 20 * 60_000)
      say('note: a 4-hour boundary is near; a 21st (empty) window may be planned too');
    say(`seeding program ${PROGRAM}: events over ${WINDOWS} windows ${start.toISOString()} → ${end.toISOString()}…`);
    await seedProgram(database, {
      programId: PROGRAM,
      programName: 'Scale',
      users: 400,
      campaigns: 12,
      events: 160_000,
      days: 4,
      until: end,
      seed: 11,
    });
    const connectionIds: string[] = [];
    for (let i = 0; i < CONNECTIONS; i++) {
      const [c] = await database.sql<{ id: string }[]>`
        insert into connections (program_id, kind, frequency, start_date, contact_emails, format)
        values (${PROGRAM}, 'api', 'every_4_hours', ${start.toISOString()}::timestamptz, '{data@customer.example}', 'csv') returning id`;
      connectionIds.push(c.id);
    }
    const { client } = await createApiClient(database, {
      programId: PROGRAM,
      name: 'scale',
      scopes: ['data_exports.read'],
      connectionIds, // the client reads all three feeds (it lists Folders, per program)
      author: { accountId: null, label: 'test:scale' },
    });
    const { token } = await createApiToken(database.db, {
      kind: 'client',
      apiClientId: client.id,
      programId: PROGRAM,
      scopes: ['data_exports.read'],
      expiresAt: null,
    });

    // ---------------------------------------------------------------- 2 web + 2 jobs, each with its own data folder
    if (!buildIsFresh()) {
      say('building the web app (`next build`)…');
      const b = spawnSync(process.execPath, [path.join(root, 'node_modules/next/dist/bin/next'), 'build'], {
        cwd: root,
        env: { ...shared, DDE_DATA_DIR: path.join(tmp, 'build') },
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
      });
      writeFileSync(path.join(logDir, 'build.log'), b.stdout + b.stderr);
      if (b.status !== 0) throw new Error(`next build failed:\n${(b.stdout + b.stderr).slice(-3000)}`);
    }
    const webPorts = [await freePort(), await freePort()];
    const webs = webPorts.map((port, i) => {
      const name = `web-${'ab'[i]}`;
      const p = launch(
        name,
        [path.join(root, 'node_modules/next/dist/bin/next'), 'start', '-p', String(port), '-H', '127.0.0.1'],
        {
          ...shared,
          DDE_DATA_DIR: path.join(tmp, name),
          NEXTAUTH_URL: `http://127.0.0.1:${port}`,
          PORT: String(port),
        },
        logDir,
      );
      procs.push(p);
      return p;
    });
    const jobs = ['a', 'b'].map((x) => {
      const name = `jobs-${x}`;
      // application_name tells which worker's connection holds a run's lock.
      const p = launch(
        name,
        ['--import', 'tsx', 'jobs/index.ts'],
        {
          ...shared,
          DATABASE_URL: `${url}${url.includes('?') ? '&' : '?'}application_name=dde-scale-${name}`,
          DDE_DATA_DIR: path.join(tmp, name),
        },
        logDir,
      );
      procs.push(p);
      return p;
    });
    say(`started web-a :${webPorts[0]}, web-b :${webPorts[1]}, jobs-a (pid ${jobs[0].child.pid}), jobs-b (pid ${jobs[1].child.pid})`);

    // ---------------------------------------------------------------- kill -9 one worker in the middle of an export
    // A worker's claim on a run is the run's fencing counter (`export_runs.claim`), not a lock: jobs-a
    // is caught while one of its sessions runs an export's COPY, and the runs then generating are
    // noted with their claims. The run it was exporting is the one another worker claimed since.
    let generatingAtKill: { id: string; claim: number }[] = [];
    const killDeadline = Date.now() + 180_000;
    while (!generatingAtKill.length && Date.now() < killDeadline) {
      const [copying] = await database.sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
        where application_name = 'dde-scale-jobs-a' and state = 'active' and query ilike 'copy%'`;
      if (copying.n > 0) {
        const generating = await database.sql<{ id: string; claim: number }[]>`
          select id, claim from export_runs where connection_id = any(${connectionIds}::uuid[]) and status = 'generating'`;
        if (generating.length) {
          jobs[0].child.kill('SIGKILL');
          generatingAtKill = generating;
          say(`kill -9 jobs-a while it runs an export's COPY (${generating.length} run(s) generating)`);
        }
      }
      if (jobs[0].child.exitCode !== null && !generatingAtKill.length) throw new Error(`jobs-a exited by itself:\n${tailOf(jobs[0].log)}`);
      await sleep(40);
    }
    if (!generatingAtKill.length) problems.push('jobs-a was never caught in the middle of an export (no run to kill it in)');

    await Promise.all(webs.map((w, i) => waitForHealth(w, webPorts[i], 240_000)));
    say('both web processes answer /api/health');

    // ---------------------------------------------------------------- jobs-b finishes everything
    const finishDeadline = Date.now() + 600_000;
    let lastLine = '';
    for (;;) {
      const rows = await database.sql<{ status: string; n: number }[]>`
        select status, count(*)::int as n from export_runs where connection_id = any(${connectionIds}::uuid[]) group by status order by status`;
      const line = rows.map((r) => `${r.status} ${r.n}`).join(', ');
      if (line !== lastLine) say(`runs: ${line}`);
      lastLine = line;
      const total = rows.reduce((n, r) => n + r.n, 0);
      const open = rows.filter((r) => !['available', 'empty', 'failed'].includes(r.status)).reduce((n, r) => n + r.n, 0);
      if (total >= CONNECTIONS * WINDOWS && open === 0) break;
      if (jobs[1].child.exitCode !== null) throw new Error(`jobs-b exited:\n${tailOf(jobs[1].log)}`);
      if (Date.now() > finishDeadline) throw new Error(`the runs did not finish within 10 minutes: ${line}`);
      await sleep(1000);
    }

    // ---------------------------------------------------------------- the ledger: one run per window, one file set per run
    const runs = await database.sql<
      { id: string; connection_id: string; window_start: string; window_end: string; status: string; attempt: number; claim: number }[]
    >`
      select id, connection_id, window_start, window_end, status, attempt, claim from export_runs
      where connection_id = any(${connectionIds}::uuid[]) order by connection_id, window_start`;
    const files = await database.sql<
      { run_id: string; name: string; storage_key: string; file_type: string; sha256: string; bytes: number }[]
    >`
      select run_id, name, storage_key, file_type, sha256, bytes from export_files where program_id = ${PROGRAM}`;
    const expectedWindows = runs.filter((r) => new Date(r.window_end).getTime() <= end.getTime());
    const windows = expectedWindows.length;
    if (windows !== CONNECTIONS * WINDOWS) problems.push(`${windows} runs of closed windows, expected ${CONNECTIONS * WINDOWS}`);
    const perWindow = new Map<string, number>();
    for (const r of runs)
      perWindow.set(`${r.connection_id} ${r.window_start}`, (perWindow.get(`${r.connection_id} ${r.window_start}`) ?? 0) + 1);
    const bucketKeys = new Set(await objectKeys(s3, bucket, 'dde/'));
    const temporaries = [...bucketKeys].filter((k) => (k.split('/').pop() ?? '').startsWith('.'));
    if (temporaries.length) problems.push(`temporary objects left in the bucket: ${temporaries.join(', ')}`);
    const recordedKeys = new Set(
      files.flatMap((f) => (f.file_type === 'manifest' ? [f.storage_key] : [f.storage_key, `${f.storage_key}.sha256`])),
    );
    const stray = [...bucketKeys].filter((k) => !recordedKeys.has(k) && !temporaries.includes(k));
    if (stray.length) problems.push(`objects without a record: ${stray.slice(0, 5).join(', ')}${stray.length > 5 ? ' …' : ''}`);
    let exportedOnce = 0;
    for (const r of expectedWindows) {
      const own = files.filter((f) => f.run_id === r.id);
      const names = new Set(own.map((f) => f.name));
      const complete =
        perWindow.get(`${r.connection_id} ${r.window_start}`) === 1 &&
        r.status === 'available' &&
        own.length === names.size &&
        own.filter((f) => f.file_type === 'manifest').length === 1 &&
        own.some((f) => f.file_type === 'activity') &&
        [...own].every((f) => bucketKeys.has(f.storage_key));
      if (complete) exportedOnce++;
      else
        problems.push(
          `window ${r.window_start} of connection ${r.connection_id}: status ${r.status}, ${own.length} files — not exactly one complete set`,
        );
    }
    // The run jobs-a was exporting: claimed again by another worker after the kill.
    const claimedAgain = generatingAtKill.filter((g) => (runs.find((x) => x.id === g.id)?.claim ?? 0) > g.claim);
    const killedRun = claimedAgain[0]?.id;
    if (generatingAtKill.length && !killedRun)
      problems.push('no run generating when jobs-a was killed was claimed again by another worker');
    if (killedRun) {
      const r = runs.find((x) => x.id === killedRun)!;
      const own = files.filter((f) => f.run_id === killedRun);
      // Which worker published the run's files: its log says so (pino JSON lines).
      const published = (p: Proc) =>
        readFileSync(p.log, 'utf8')
          .split('\n')
          .some((l) => l.includes(killedRun!) && l.includes('"export run generated"'));
      const byB = published(jobs[1]);
      const byA = published(jobs[0]);
      say(
        `the killed run ${killedRun}: ${r.status}, ${own.length} files (${own.map((f) => f.file_type).join(', ')}), published by ${byB ? 'jobs-b' : byA ? 'jobs-a' : 'nobody'}`,
      );
      if (r.status !== 'available' || !byB || byA)
        problems.push(`the killed run ended ${r.status}, published by jobs-b: ${byB}, by jobs-a: ${byA}`);
    }
    const openUploads = (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads?.length ?? 0;
    say(
      `bucket: ${bucketKeys.size} objects, ${openUploads} incomplete multipart upload(s) (a worker killed in a multipart upload leaves one; the bucket lifecycle rule aborts them)`,
    );

    // ---------------------------------------------------------------- every file and every zip through either web process
    const bases = webPorts.map((p) => `http://127.0.0.1:${p}`);
    const folders: Folder[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/api/v1/folders?limit=25${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await fetch(bases[folders.length % 2] + q, { headers: { authorization: `Bearer ${token}` } });
      if (!res.ok) throw new Error(`GET ${q} → ${res.status} ${await res.text()}`);
      const page = (await res.json()) as { data: Folder[]; next_cursor: string | null };
      folders.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    const ours = folders.filter((f) => f.connection_id && connectionIds.includes(f.connection_id));
    if (ours.length !== exportedOnce) problems.push(`the API lists ${ours.length} folders, expected ${exportedOnce}`);
    let downloads = 0;
    let zips = 0;
    const activityIds = new Map<string, Map<string, number>>(connectionIds.map((c) => [c, new Map()]));
    const zipDir = path.join(tmp, 'zips');
    mkdirSync(zipDir);
    for (const [i, folder] of ours.entries()) {
      for (const f of folder.files) {
        for (const base of bases) {
          // The link names the web process that answered the listing; either process serves it.
          const u = new URL(f.download_url!);
          const res = await fetch(base + u.pathname + u.search, { redirect: 'follow' });
          const body = Buffer.from(await res.arrayBuffer());
          downloads++;
          if (res.status !== 200 || sha256(body) !== f.sha256 || res.headers.get('etag') !== `"${f.sha256}"`) {
            problems.push(
              `${f.name} from ${base}: ${res.status}, sha256 ${sha256(body).slice(0, 12)}… (expected ${f.sha256.slice(0, 12)}…)`,
            );
            continue;
          }
          if (base === bases[0] && f.file_type === 'activity') {
            const [header, ...rows] = parseCsv(gunzipSync(body).toString('utf8')) as string[][];
            const col = header.indexOf('Event ID');
            const seen = activityIds.get(folder.connection_id!)!;
            for (const row of rows) seen.set(row[col], (seen.get(row[col]) ?? 0) + 1);
          }
        }
      }
      // The folder zip from one process, then the other.
      const base = bases[i % 2];
      const u = new URL(folder.archive_url);
      const res = await fetch(base + u.pathname, { headers: { authorization: `Bearer ${token}` } });
      const zipPath = path.join(zipDir, `${folder.run_id}.zip`);
      writeFileSync(zipPath, Buffer.from(await res.arrayBuffer()));
      zips++;
      const out = path.join(zipDir, folder.run_id);
      const unzip = spawnSync('unzip', ['-q', zipPath, '-d', out], { encoding: 'utf8' });
      // Each data file with its checksum sidecar; the manifest with its detached signature.
      const want = folder.files
        .flatMap((f) => (f.file_type === 'manifest' ? [f.name, `${f.name}.sig`] : [f.name, `${f.name}.sha256`]))
        .sort();
      const got = unzip.status === 0 ? readdirSync(out).sort() : [];
      const bad = folder.files.filter((f) => !got.includes(f.name) || sha256(readFileSync(path.join(out, f.name))) !== f.sha256);
      const check = unzip.status === 0 ? spawnSync('sh', ['-c', 'sha256sum -c --quiet *.sha256'], { cwd: out, encoding: 'utf8' }) : null;
      if (res.status !== 200 || JSON.stringify(got) !== JSON.stringify(want) || bad.length || check?.status !== 0) {
        problems.push(`zip of ${folder.name} from ${base}: ${res.status}, entries ${got.length}/${want.length}, ${bad.length} bad`);
      }
    }
    say(`${downloads} downloads and ${zips} folder zips checked through both web processes`);

    // ---------------------------------------------------------------- the union of the activity files against the source
    const source = await database.sql<{ id: string }[]>`
      select id::text as id from activity_events
      where program_id = ${PROGRAM} and ingested_at >= ${start.toISOString()}::timestamptz and ingested_at < ${end.toISOString()}::timestamptz`;
    const sourceIds = new Set(source.map((s) => s.id));
    let lost = 0;
    let duplicated = 0;
    for (const c of connectionIds) {
      const seen = activityIds.get(c)!;
      for (const id of sourceIds) if (!seen.has(id)) lost++;
      for (const n of seen.values()) if (n > 1) duplicated += n - 1;
      const extra = [...seen.keys()].filter((id) => !sourceIds.has(id)).length;
      if (extra) problems.push(`connection ${c}: ${extra} exported events that are not in the source range`);
    }
    say(`source: ${source.length} events in the range; ${CONNECTIONS} connections reconciled`);
    if (lost) problems.push(`${lost} source events missing from the activity files`);
    if (duplicated) problems.push(`${duplicated} events exported more than once`);

    for (const p of problems) say(`PROBLEM: ${p}`);
    console.log(`RESULT scale windows=${windows} exported_once=${exportedOnce} lost=${lost} duplicated=${duplicated}`);
    if (problems.length) process.exitCode = 1;
  } finally {
    await Promise.all(procs.map(stopProc));
    s3?.destroy();
    await database?.sql.end({ timeout: 5 }).catch(() => undefined);
    await rgw?.stop();
    await stopPg?.();
    if (process.env.SCALE_KEEP) say(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: Error) => {
    console.error(`test:scale failed: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
