// bench:push — a run's files (the bench:export window: 2,000,000 activity events by default, made by
// the product's own export) delivered to a real S3 server (Ceph RGW, test/helpers/rgw.ts) through
// the product's S3 destination (lib/destinations/s3.ts: lake layout, sidecars, the manifest last,
// sha256 in each object's metadata) vs `aws s3 cp --recursive` (Debian's awscli, its defaults: 8 MB
// parts, 10 requests at once) of the same files to the same server, in the same run, alternating
// rounds. Our delivery runs in a child process so its CPU time is its own; the CPU time of radosgw
// and its OSD is counted per side (/proc), since on one machine the server shares the cores.
//
//   npm run bench:push -- [--rows N] [--rounds R]
//   BENCH_DATABASE_URL=postgres://…   use that server instead of a throwaway embedded one
//   BENCH_AWS=/path/to/aws            the reference client (default /usr/bin/aws; Debian: apt-get install awscli)
//   TEST_S3_ENDPOINT (+ TEST_S3_ACCESS_KEY_ID, TEST_S3_SECRET_ACCESS_KEY)   reuse a running S3 server
//
// RESULT push ratio=<aws seconds ÷ ours, i.e. our throughput ÷ aws's> mb=<MB pushed per side and round>
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createDb } from '@/db/client';
import { startEmbedded } from '@/db/embedded';
import { migrateDatabase } from '@/db/migrate';
import type { Connection, ExportFile } from '@/db/schema';
import { s3Destination } from '@/lib/destinations/s3';
import { lakeKey } from '@/lib/destinations/s3-settings';
import { resetEnv } from '@/lib/env';
import { generateExportFiles } from '@/lib/exports';
import { deliveryFilesOf } from '@/lib/runs/deliver-run';
import { LocalStorage } from '@/lib/storage';
import { obtainRgw } from '../test/helpers/rgw';
import { seed, WINDOW_END, WINDOW_START } from './export-seed';
import { appendResults } from './results';

const here = path.dirname(fileURLToPath(import.meta.url));
const GENERATED_AT = '2026-11-28T12:05:13Z';
const RUN = { id: 'bench-push', exportType: 'incremental' as const, windowStart: WINDOW_START, windowEnd: WINDOW_END, claim: 1 };

/** What the export wrote, as the run's export_files rows hold it (what deliveryFilesOf reads). */
type FileRecord = Pick<ExportFile, 'name' | 'bytes' | 'sha256' | 'fileType' | 'storageKey' | 'signature'>;
type Server = { endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string };
type ChildInput = { server: Server; root: string; records: FileRecord[]; prefix: string };
type ChildResult = { seconds: number; cpuSeconds: number; bytes: number; files: { key: string; bytes: number; sha256: string }[] };

// ---------------------------------------------------------------- child: our delivery, measured
async function child(): Promise<void> {
  const { server, root, records, prefix } = JSON.parse(process.env.DDE_BENCH_PUSH_CHILD!) as ChildInput;
  const port = new URL(server.endpoint).port;
  // The outbound policy refuses loopback unless the operator allows it: allow the bench's server only.
  resetEnv({ DDE_OUTBOUND_ALLOWED_NETWORKS: `127.0.0.1/32:${port}`, LOG_LEVEL: 'silent' });
  const connection = {
    kind: 's3',
    destination: {
      provider: 's3_compatible',
      bucket: server.bucket,
      prefix,
      region: 'us-east-1',
      endpoint: server.endpoint,
      path_style: true,
      auth: 'access_key',
    },
  } as unknown as Connection;
  const files = deliveryFilesOf(records as ExportFile[], new LocalStorage(root));
  const cpuStart = process.cpuUsage();
  const started = process.hrtime.bigint();
  const result = await s3Destination().deliver({
    connection,
    secret: { method: 'access_key', accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    files,
    run: RUN,
    signal: new AbortController().signal,
    fence: (publish) => publish(),
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const res: ChildResult = {
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    bytes: result.bytes,
    files: result.files.map((f) => ({ key: f.remotePath, bytes: f.bytes, sha256: f.sha256 ?? '' })),
  };
  process.stdout.write(JSON.stringify(res) + '\n');
}

// ---------------------------------------------------------------- parent
function runProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.on('error', reject);
    p.on('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code === 0) resolve({ stdout, seconds });
      else reject(new Error(`${path.basename(cmd)} exited with ${code}`));
    });
  });
}

/**
 * CPU seconds so far of the server's daemons that do the work of a PUT: radosgw and the OSD of the
 * cluster under `rgwDir` (found by their `-c <rgwDir>/ceph.conf`); NaN for a reused server.
 */
function serverCpu(rgwDir: string): () => number {
  const conf = rgwDir ? path.join(rgwDir, 'ceph.conf') : null;
  const pids: number[] = [];
  for (const e of conf ? readdirSync('/proc') : []) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (argv.includes(conf!) && /\/(radosgw|ceph-osd)$/.test(argv[0])) pids.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  if (pids.length !== 2) return () => NaN;
  return () =>
    pids.reduce((sum, pid) => {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return sum + (Number(f[11]) + Number(f[12])) / 100; // USER_HZ
    }, 0);
}

type Side = { seconds: number; cpuSeconds: number; serverCpuSeconds: number };

async function ours(input: ChildInput, server: () => number): Promise<Side & { result: ChildResult; processSeconds: number }> {
  const before = server();
  const { stdout, seconds: processSeconds } = await runProcess(process.execPath, ['--import', 'tsx', path.join(here, 'push.ts')], {
    ...process.env,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    DDE_BENCH_PUSH_CHILD: JSON.stringify(input),
  });
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult;
  return { seconds: result.seconds, cpuSeconds: result.cpuSeconds, serverCpuSeconds: server() - before, result, processSeconds };
}

async function reference(aws: string, awsConfig: string, s: Server, root: string, prefix: string, server: () => number): Promise<Side> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dde-bench-push-aws-'));
  const cpuFile = path.join(dir, 'cpu');
  try {
    const before = server();
    // bash's `time` reports the command's user and system time (the aws process and its threads).
    const { seconds } = await runProcess(
      'bash',
      [
        '-c',
        'TIMEFORMAT="%U %S"; { time "$B_AWS" s3 cp --recursive --no-progress --only-show-errors --endpoint-url "$B_ENDPOINT" "$B_FROM" "$B_TO" ; } 2> "$B_CPU"',
      ],
      {
        ...process.env,
        B_AWS: aws,
        B_ENDPOINT: s.endpoint,
        B_FROM: root,
        B_TO: `s3://${s.bucket}/${prefix}/`,
        B_CPU: cpuFile,
        AWS_ACCESS_KEY_ID: s.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s.secretAccessKey,
        AWS_CONFIG_FILE: awsConfig,
        AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-credentials'),
        AWS_PAGER: '',
      },
    );
    const serverCpuSeconds = server() - before;
    const [user, system] = readFileSync(cpuFile, 'utf8').trim().split(/\s+/).map(Number);
    return { seconds, cpuSeconds: user + system, serverCpuSeconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function listed(s3: S3Client, bucket: string, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.set(o.Key!, o.Size!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

async function sha256Of(s3: S3Client, bucket: string, key: string): Promise<string> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of got.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

const fmt = (x: number, d = 1) => x.toFixed(d);
const mb = (bytes: number) => bytes / 1e6;

async function main() {
  const { values } = parseArgs({ options: { rows: { type: 'string' }, rounds: { type: 'string' } }, strict: true });
  const n = Number(values.rows ?? 2_000_000);
  const rounds = Number(values.rounds ?? 3);
  if (!Number.isInteger(n) || n < 1000) throw new Error(`--rows must be an integer ≥ 1000, got ${values.rows}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be an integer ≥ 1, got ${values.rounds}`);
  const aws = process.env.BENCH_AWS ?? '/usr/bin/aws';
  if (!existsSync(aws)) throw new Error(`aws not found at ${aws} (Debian: apt-get install awscli; or set BENCH_AWS)`);

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dde-bench-push-'));
  let url = process.env.BENCH_DATABASE_URL;
  let stopPg: (() => Promise<void>) | undefined;
  console.log('starting the S3 server (Ceph RGW) and a throwaway PostgreSQL…');
  const rgwStarting = obtainRgw();
  try {
    if (!url) {
      const pg = await startEmbedded({
        dir: path.join(tmp, 'pg'),
        password: 'bench',
        ephemeral: true,
        logFile: path.join(tmp, 'postgres.log'),
      });
      url = pg.url();
      stopPg = pg.stop;
    }
  } catch (err) {
    await (await rgwStarting.catch(() => null))?.stop();
    throw err;
  }
  const rgw = await rgwStarting;
  if (rgw.startupMs) console.log(`  RGW ready in ${fmt(rgw.startupMs / 1000)} s at ${rgw.endpoint}`);
  const s3 = rgw.client();
  try {
    await migrateDatabase(url);
    const bucket = await rgw.createBucket('dde-push');
    const server: Server = { endpoint: rgw.endpoint, bucket, accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey };
    const programId = 700_000 + Math.floor(Math.random() * 90_000);
    console.log(`seeding ${n.toLocaleString('en-US')} activity events into one window of program ${programId}…`);
    let t0 = Date.now();
    await seed(url, programId, n);
    console.log(`  seeded in ${fmt((Date.now() - t0) / 1000)} s`);

    // The run's files, made by the product's export into a folder (what both sides upload).
    const root = path.join(tmp, 'files');
    t0 = Date.now();
    const { sql } = createDb(url, { max: 4 });
    const made = await generateExportFiles({
      sql,
      storage: new LocalStorage(root),
      keyPrefix: '',
      program: { id: programId, anonymizePii: false, pseudonymKey: '0'.repeat(64) },
      window: { start: WINDOW_START, end: WINDOW_END },
      exportType: 'incremental',
      format: 'csv',
      runId: RUN.id,
      connectionId: null,
      generatedAt: new Date(GENERATED_AT),
    }).finally(() => sql.end());
    console.log(`  exported in ${fmt((Date.now() - t0) / 1000)} s`);
    const activity = made.files.find((f) => f.fileType === 'activity')!;
    if (activity.rows !== n) throw new Error(`the export wrote ${activity.rows} activity rows, expected ${n}`);
    const records: FileRecord[] = [...made.files, made.manifest].map((f) => ({
      name: f.name,
      bytes: f.bytes,
      sha256: f.sha256,
      fileType: f.fileType,
      storageKey: f.key,
      signature: null,
    }));
    // The folder holds exactly the run's files: data files, their .sha256 sidecars, the manifest.
    const onDisk = readdirSync(root).sort();
    const sizes = onDisk.map((name) => ({ name, bytes: statSync(path.join(root, name)).size }));
    const totalBytes = sizes.reduce((s, f) => s + f.bytes, 0);
    console.log(`files (${sizes.length}, ${fmt(mb(totalBytes), 2)} MB):`);
    for (const f of sizes) console.log(`  ${f.name}  ${f.bytes.toLocaleString('en-US')} B (${fmt(mb(f.bytes), 2)} MB)`);
    const expectedOurs = new Map(
      deliveryFilesOf(records as ExportFile[], new LocalStorage(root)).map((f) => [lakeKey('', RUN, f), { name: f.name, bytes: f.size }]),
    );
    if (
      [...expectedOurs.values()]
        .map((f) => f.name)
        .sort()
        .join() !== onDisk.join()
    )
      throw new Error(`the folder (${onDisk.join(', ')}) does not hold the files the delivery sends`);

    const awsConfig = path.join(tmp, 'aws-config');
    // Path-style addressing, as for our side (RGW on an IP address has no bucket host names); all else aws's defaults.
    writeFileSync(awsConfig, '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n');
    const cpuOfServer = serverCpu(rgw.dir);
    type Best = { ours?: Awaited<ReturnType<typeof ours>>; aws?: Side };
    const best: Best = {};
    for (let r = 1; r <= rounds; r++) {
      // Alternate the order so drift on a shared machine hits both sides alike; each round its own prefixes.
      const order: ('ours' | 'aws')[] = r % 2 === 1 ? ['ours', 'aws'] : ['aws', 'ours'];
      const line: string[] = [];
      for (const side of order) {
        const prefix = `push/r${r}-${side}`;
        if (side === 'ours') {
          const o = await ours({ server, root, records, prefix }, cpuOfServer);
          // One object per file, in the lake layout, with the recorded sizes (and, in round 1, bytes and metadata).
          const got = await listed(s3, bucket, prefix);
          const want = new Map([...expectedOurs].map(([k, f]) => [`${prefix}/${k}`, f.bytes]));
          if (JSON.stringify([...got].sort()) !== JSON.stringify([...want].sort()))
            throw new Error(`our delivery left ${JSON.stringify([...got])}, expected ${JSON.stringify([...want])}`);
          if (r === 1)
            for (const f of o.result.files) {
              if ((await sha256Of(s3, bucket, f.key)) !== f.sha256) throw new Error(`${f.key} does not hold the delivered bytes`);
              const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: f.key }));
              if (head.Metadata?.sha256 !== f.sha256) throw new Error(`${f.key} lacks its sha256 metadata`);
            }
          if (!best.ours || o.seconds < best.ours.seconds) best.ours = o;
          line.push(
            `ours ${fmt(o.seconds, 2)} s (process ${fmt(o.processSeconds, 2)} s, CPU ${fmt(o.cpuSeconds, 2)} s, RGW+OSD CPU ${fmt(o.serverCpuSeconds, 2)} s)`,
          );
        } else {
          const a = await reference(aws, awsConfig, server, root, prefix, cpuOfServer);
          const got = await listed(s3, bucket, prefix);
          const want = new Map(sizes.map((f) => [`${prefix}/${f.name}`, f.bytes]));
          if (JSON.stringify([...got].sort()) !== JSON.stringify([...want].sort()))
            throw new Error(`aws s3 cp left ${JSON.stringify([...got])}, expected ${JSON.stringify([...want])}`);
          if (r === 1) {
            const recorded = new Map(records.map((f) => [f.name, f.sha256]));
            for (const f of sizes) {
              const sha = recorded.get(f.name);
              if (sha && (await sha256Of(s3, bucket, `${prefix}/${f.name}`)) !== sha)
                throw new Error(`aws uploaded other bytes for ${f.name}`);
            }
          }
          if (!best.aws || a.seconds < best.aws.seconds) best.aws = a;
          line.push(`aws ${fmt(a.seconds, 2)} s (CPU ${fmt(a.cpuSeconds, 2)} s, RGW+OSD CPU ${fmt(a.serverCpuSeconds, 2)} s)`);
        }
      }
      console.log(`  round ${r}: ${line.join(', ')}`);
    }
    // What aws spends on its own start (Python) and one request: part of every `aws s3 cp`.
    let awsStart = Infinity;
    for (let r = 0; r < 2; r++) {
      const { seconds } = await runProcess(aws, ['s3', 'ls', '--endpoint-url', server.endpoint, `s3://${bucket}/`], {
        ...process.env,
        AWS_ACCESS_KEY_ID: server.accessKeyId,
        AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
        AWS_CONFIG_FILE: awsConfig,
        AWS_SHARED_CREDENTIALS_FILE: path.join(tmp, 'no-credentials'),
        AWS_PAGER: '',
      });
      awsStart = Math.min(awsStart, seconds);
    }
    const open = (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads?.length ?? 0;
    if (open) throw new Error(`${open} multipart uploads were left unfinished`);

    const o = best.ours!;
    const a = best.aws!;
    const ratio = a.seconds / o.seconds;
    const cores = os.availableParallelism();
    const load = os
      .loadavg()
      .map((x) => fmt(x, 1))
      .join(' / ');
    const lines = [
      `N = ${n.toLocaleString('en-US')} activity events in one window; the run's ${sizes.length} files, ${fmt(mb(totalBytes), 2)} MB (${sizes.map((f) => `${f.name} ${f.bytes.toLocaleString('en-US')} B`).join(', ')}); best of ${rounds} rounds each; nproc ${cores}; load average at the end ${load}`,
      `ours (S3 destination: lake layout, manifest last, parts of 16 MiB × 4 in flight, sha256 checked and in the metadata): ${fmt(o.seconds, 2)} s, ${fmt(mb(totalBytes) / o.seconds)} MB/s (its process with Node's start ${fmt(o.processSeconds, 2)} s)`,
      `aws s3 cp --recursive (awscli defaults: 8 MB parts, 10 requests at once): ${fmt(a.seconds, 2)} s, ${fmt(mb(totalBytes) / a.seconds)} MB/s (its process, Python's start included; \`aws s3 ls\` of the bucket alone takes ${fmt(awsStart, 2)} s)`,
      `CPU: ours ${fmt(o.cpuSeconds, 2)} s, aws ${fmt(a.cpuSeconds, 2)} s; RGW + OSD (same machine) during ours ${fmt(o.serverCpuSeconds, 2)} s, during aws ${fmt(a.serverCpuSeconds, 2)} s; ` +
        `on ${cores} cores the least wall time the CPU allows: ours ${fmt((o.cpuSeconds + o.serverCpuSeconds) / cores, 2)} s, aws ${fmt((a.cpuSeconds + a.serverCpuSeconds) / cores, 2)} s`,
    ];
    for (const l of lines) console.log(l);
    const result = `RESULT push ratio=${fmt(ratio, 2)} mb=${fmt(mb(totalBytes), 1)}`;
    appendResults('bench:push', [...lines, '`' + result + '`']);
    console.log(result);
  } finally {
    s3.destroy();
    await rgw.stop();
    await stopPg?.();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.env.DDE_BENCH_PUSH_CHILD) {
  child().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(`bench:push: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
