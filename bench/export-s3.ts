// bench:export --storage=s3 — the same activity window (2,000,000 events by default) exported by
// our engine to a real S3 server (Ceph RGW, test/helpers/rgw.ts) and to local disk, in the same
// run, alternating rounds. Each export runs in a child process so its peak RSS is its own.
//
//   npm run bench:export -- --storage=s3 [--rows N] [--rounds R]
//   BENCH_DATABASE_URL=postgres://…     use that server instead of a throwaway embedded one
//   TEST_S3_ENDPOINT (+ TEST_S3_ACCESS_KEY_ID, TEST_S3_SECRET_ACCESS_KEY)   reuse a running S3 server
//
// RESULT export_s3 ratio=<S3 rows/s ÷ local rows/s> peak_rss_mb=<largest peak RSS of an S3 export>
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createDb } from '@/db/client';
import { startEmbedded } from '@/db/embedded';
import { migrateDatabase } from '@/db/migrate';
import { generateExportFiles } from '@/lib/exports';
import { LocalStorage, S3Storage, type Storage } from '@/lib/storage';
import { obtainRgw } from '../test/helpers/rgw';
import { seed, WINDOW_END, WINDOW_START } from './export-seed';
import { appendResults } from './results';

const here = path.dirname(fileURLToPath(import.meta.url));
const GENERATED_AT = '2026-11-28T12:05:13Z';

type Target =
  { kind: 'local'; root: string } | { kind: 's3'; endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string };
type ChildResult = {
  rows: number;
  bytes: number;
  sha256: string;
  seconds: number;
  peakRssMb: number;
  /** Seconds from the last row read to the end, and inside each storage call (puts overlap the COPY). */
  detail: Record<string, number>;
};

/** Times every call of a storage (wall seconds per method). */
function timed(storage: Storage, detail: Record<string, number>): Storage {
  return new Proxy(storage, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || typeof prop !== 'string' || prop === 'localPath') return v;
      return async (...args: unknown[]) => {
        const t = performance.now();
        try {
          return (await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args)) as unknown;
        } finally {
          detail[prop] = (detail[prop] ?? 0) + (performance.now() - t) / 1000;
        }
      };
    },
  });
}

// ---------------------------------------------------------------- child: one export, measured
async function child(): Promise<void> {
  const { url, programId, target } = JSON.parse(process.env.DDE_BENCH_S3_CHILD!) as { url: string; programId: number; target: Target };
  const storage: Storage =
    target.kind === 'local'
      ? new LocalStorage(target.root)
      : new S3Storage({
          bucket: target.bucket,
          prefix: 'bench',
          region: 'us-east-1',
          endpoint: target.endpoint,
          forcePathStyle: true,
          credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
          checksums: 'when_required',
        });
  const detail: Record<string, number> = {};
  const { sql } = createDb(url, { max: 3 });
  const started = process.hrtime.bigint();
  let lastRowAt = 0;
  const result = await generateExportFiles({
    sql,
    storage: timed(storage, detail),
    onProgress: () => (lastRowAt = performance.now()),
    keyPrefix: `run-${process.pid}/`,
    program: { id: programId, anonymizePii: false, pseudonymKey: '0'.repeat(64) },
    window: { start: WINDOW_START, end: WINDOW_END },
    exportType: 'incremental',
    format: 'csv',
    runId: 'bench',
    connectionId: null,
    fileTypes: ['activity'],
    generatedAt: new Date(GENERATED_AT),
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  detail.after_last_row = (performance.now() - lastRowAt) / 1000;
  await sql.end();
  const f = result.files[0];
  // The files go again: the next round starts from the same empty storage.
  for (const k of [f.key, f.sidecarKey!, result.manifest!.key]) await storage.delete(k);
  const res: ChildResult = {
    rows: f.rows,
    bytes: f.bytes,
    sha256: f.sha256,
    seconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    detail,
  };
  process.stdout.write(JSON.stringify(res) + '\n');
}

// ---------------------------------------------------------------- parent
function runChild(env: NodeJS.ProcessEnv): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'export-s3.ts')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult);
      else reject(new Error(`the export child exited with ${code}`));
    });
  });
}

const fmt = (x: number, d = 1) => x.toFixed(d);

async function main() {
  const { values } = parseArgs({
    options: { storage: { type: 'string' }, rows: { type: 'string' }, rounds: { type: 'string' } },
    strict: true,
  });
  const n = Number(values.rows ?? 2_000_000);
  const rounds = Number(values.rounds ?? 2);
  if (!Number.isInteger(n) || n < 1000) throw new Error('--rows must be an integer ≥ 1000');
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be an integer ≥ 1');

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dde-bench-s3-'));
  let url = process.env.BENCH_DATABASE_URL;
  let stopPg: (() => Promise<void>) | undefined;
  console.log('starting the S3 server (Ceph RGW) and a throwaway PostgreSQL…');
  const rgwStarting = obtainRgw();
  if (!url) {
    const server = await startEmbedded({
      dir: path.join(tmp, 'pg'),
      password: 'bench',
      ephemeral: true,
      logFile: path.join(tmp, 'postgres.log'),
    });
    url = server.url();
    stopPg = server.stop;
  }
  const rgw = await rgwStarting;
  if (rgw.startupMs) console.log(`  RGW ready in ${fmt(rgw.startupMs / 1000)} s at ${rgw.endpoint}`);
  try {
    await migrateDatabase(url);
    const bucket = await rgw.createBucket('dde-bench');
    const programId = 800_000 + Math.floor(Math.random() * 90_000);
    console.log(`seeding ${n.toLocaleString('en-US')} activity events into one window of program ${programId}…`);
    const t0 = Date.now();
    await seed(url, programId, n);
    console.log(`  seeded in ${fmt((Date.now() - t0) / 1000)} s`);

    const targets: Record<'local' | 's3', Target> = {
      local: { kind: 'local', root: path.join(tmp, 'local') },
      s3: { kind: 's3', endpoint: rgw.endpoint, bucket, accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
    };
    const best: Partial<Record<'local' | 's3', ChildResult>> = {};
    const peak = { local: 0, s3: 0 };
    const digests = new Set<string>();
    for (let r = 0; r < rounds; r++) {
      // Alternate the order so drift on a shared machine hits both sides alike.
      const order: ('local' | 's3')[] = r % 2 === 0 ? ['local', 's3'] : ['s3', 'local'];
      const line: string[] = [];
      for (const kind of order) {
        const res = await runChild({ ...process.env, DDE_BENCH_S3_CHILD: JSON.stringify({ url, programId, target: targets[kind] }) });
        if (res.rows !== n) throw new Error(`the ${kind} export wrote ${res.rows} rows, expected ${n}`);
        digests.add(res.sha256);
        peak[kind] = Math.max(peak[kind], res.peakRssMb);
        if (!best[kind] || res.seconds < best[kind].seconds) best[kind] = res;
        const calls = Object.entries(res.detail)
          .map(([k, v]) => `${k} ${fmt(v, 2)}`)
          .join(', ');
        line.push(`${kind} ${fmt(res.seconds, 2)} s (peak RSS ${fmt(res.peakRssMb)} MB; s: ${calls})`);
      }
      console.log(`  round ${r + 1}: ${line.join(', ')}`);
    }
    // Both targets got the same bytes (the sha256 of every export is one value).
    if (digests.size !== 1) throw new Error(`the exports differ: ${[...digests].join(', ')}`);
    const localRate = n / best.local!.seconds;
    const s3Rate = n / best.s3!.seconds;
    const ratio = s3Rate / localRate;
    const load = os
      .loadavg()
      .map((x) => fmt(x, 1))
      .join(' / ');
    const lines = [
      `N = ${n.toLocaleString('en-US')} activity events in one window, .gz ${best.s3!.bytes.toLocaleString('en-US')} B, best of ${rounds} rounds each`,
      `local disk: ${fmt(best.local!.seconds, 2)} s, ${Math.round(localRate).toLocaleString('en-US')} rows/s, peak RSS ${fmt(peak.local)} MB`,
      `S3 (Ceph RGW on 127.0.0.1, multipart 8 MiB × 4): ${fmt(best.s3!.seconds, 2)} s, ${Math.round(s3Rate).toLocaleString('en-US')} rows/s, peak RSS ${fmt(peak.s3)} MB`,
      `same bytes on both (sha256 ${[...digests][0].slice(0, 16)}…); load average at the end ${load}`,
    ];
    for (const l of lines) console.log(l);
    const result = `RESULT export_s3 ratio=${fmt(ratio, 2)} peak_rss_mb=${fmt(peak.s3)}`;
    appendResults('bench:export --storage=s3', [...lines, '`' + result + '`']);
    console.log(result);
  } finally {
    await rgw.stop();
    await stopPg?.();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.env.DDE_BENCH_S3_CHILD) {
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
      console.error(`bench:export --storage=s3: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
