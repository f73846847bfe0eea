// bench:export — one activity window of N events exported by our engine vs
// `psql \copy (<the same select>) to stdout csv | gzip -6` and vs the same into `pigz -6 -p <cores>`
// (parallel gzip, what a user who wanted it fast would pick) on the same database, in the same run.
// Our export runs in a child process so its peak RSS is its own. Repeats at 4×N for memory growth.
// CPU seconds of each side include PostgreSQL's backends (/proc): cpu_vs_ref = ours ÷ the pigz
// reference's, both incl. PostgreSQL — the figure a loaded machine does not distort.
//
//   npm run bench:export -- [--rows N] [--skip-4x] [--rounds R] [--streams S] [--slice-rows M]
//   [--slice-work-mem 64MB|server] [--format=parquet]
//   (--format=parquet: our export writes the window as Parquet; the reference stays psql | gzip -6,
//   and the user and campaign files are compared with their CSV.gz too)
//   (override the engine's defaults: COPY streams at once, rows per gzip member, work_mem of a slice's COPY)
//   BENCH_DATABASE_URL=postgres://…  use that server instead of a throwaway embedded one
//   BENCH_PSQL=/path/to/psql         the reference client (default /usr/bin/psql)
//   BENCH_PIGZ=/path/to/pigz         the parallel reference's compressor (default /usr/bin/pigz)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createDb } from '@/db/client';
import { startEmbedded } from '@/db/embedded';
import { migrateDatabase } from '@/db/migrate';
import { generateExportFiles, selectSql } from '@/lib/exports';
import { DEFAULT_EXPORT_STREAMS, DEFAULT_SLICE_ROWS, SLICE_WORK_MEM } from '@/lib/exports/chunked';
import { EVENT_COUNT_COLUMNS } from '@/lib/exports/columns';
import { ROW_GROUP_BYTES, ROW_GROUP_ROWS } from '@/lib/exports/parquet';
import { LocalStorage } from '@/lib/storage';
import { seed, WINDOW_END, WINDOW_START } from './export-seed';
import { appendResults } from './results';

const here = path.dirname(fileURLToPath(import.meta.url));
const GENERATED_AT = '2026-11-28T12:05:13Z';

/** Engine settings under test (undefined: the engine's defaults). */
type Tuning = { streams?: number; sliceRows?: number; sliceWorkMem?: string | null };
/** The format our export writes (--format). */
let format: 'csv' | 'parquet' = 'csv';
let tuning: Tuning = {};

type ChildResult = {
  rows: number;
  bytes: number;
  uncompressedBytes: number;
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
  serverCpuSeconds?: number;
};
/** cpuSeconds: user + system time of psql and gzip; serverCpuSeconds: PostgreSQL's (measured with the embedded server). */
type Measure = { seconds: number; bytes: number; cpuSeconds: number; gzipCpuSeconds: number; serverCpuSeconds?: number };

// ---------------------------------------------------------------- child: our export, measured
async function child(): Promise<void> {
  const { url, programId, out, tuning, format } = JSON.parse(process.env.DDE_BENCH_CHILD!) as {
    url: string;
    programId: number;
    out: string;
    tuning: Tuning;
    format: 'csv' | 'parquet';
  };
  const { sql } = createDb(url, { max: (tuning.streams ?? DEFAULT_EXPORT_STREAMS) + 2 });
  const started = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const result = await generateExportFiles({
    sql,
    storage: new LocalStorage(out),
    keyPrefix: '',
    program: { id: programId, anonymizePii: false, pseudonymKey: '0'.repeat(64) },
    window: { start: WINDOW_START, end: WINDOW_END },
    exportType: 'incremental',
    format,
    runId: 'bench',
    connectionId: null,
    fileTypes: ['activity'],
    generatedAt: new Date(GENERATED_AT),
    ...tuning,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStart); // all threads: zlib and fs work in the pool included
  await sql.end();
  const f = result.files[0];
  const res: ChildResult = {
    rows: f.rows,
    bytes: f.bytes,
    uncompressedBytes: f.uncompressedBytes,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(JSON.stringify(res) + '\n');
}

// ---------------------------------------------------------------- parent
/** The embedded server's postmaster, whose backends' CPU time we account (undefined with BENCH_DATABASE_URL). */
let postmaster: number | undefined;

/** CPU seconds of the PostgreSQL server so far: exited backends (reaped by the postmaster) plus live ones. */
function serverCpuSeconds(): number {
  if (!postmaster) return NaN;
  const ticks = (pid: number | string, withChildren: boolean) => {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0);
    } catch {
      return 0; // exited meanwhile: counted with the postmaster's children
    }
  };
  let total = ticks(postmaster, true);
  const children = readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  for (const c of children) total += ticks(c, true);
  return total / 100; // USER_HZ
}

/** Runs `fn` and returns the server CPU it caused (after its backends exited). */
async function withServerCpu<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const before = serverCpuSeconds();
  const value = await fn();
  await new Promise((r) => setTimeout(r, 300));
  return [value, serverCpuSeconds() - before];
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ stdout: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.on('error', reject);
    p.on('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code === 0) resolve({ stdout, seconds });
      else reject(new Error(`${cmd} exited with ${code}`));
    });
  });
}

async function ours(url: string, programId: number): Promise<ChildResult> {
  const out = mkdtempSync(path.join(os.tmpdir(), 'dde-bench-ours-'));
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(here, 'export.ts')], {
      ...process.env,
      DDE_BENCH_CHILD: JSON.stringify({ url, programId, out, tuning, format }),
    });
    return JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

type Compressor = 'gzip' | 'pigz';
const compressorCommand = (c: Compressor) => (c === 'gzip' ? 'gzip -6' : `"$B_PIGZ" -6 -p ${os.availableParallelism()}`);
let pigz = '/usr/bin/pigz';

async function reference(url: string, programId: number, psql: string, keepAs?: string, compressor: Compressor = 'gzip'): Promise<Measure> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dde-bench-ref-'));
  const out = keepAs ?? path.join(dir, 'ref.csv.gz');
  const select = selectSql({
    fileType: 'activity',
    shape: 'csv',
    programId,
    window: { start: WINDOW_START, end: WINDOW_END },
    generatedAt: GENERATED_AT,
    pseudonymKey: null,
  });
  const cpuFile = path.join(dir, 'cpu');
  try {
    // bash's `time` reports the user and system time of the whole pipeline (psql + the compressor).
    const script =
      'set -o pipefail; TIMEFORMAT="%U %S"; exec 3>&2; ' +
      `{ time ( "$B_PSQL" "$B_URL" -X -q -v ON_ERROR_STOP=1 -c "$B_COPY" 2>&3 | { time ${compressorCommand(compressor)} > "$B_OUT" ; } 2> "$B_GZCPU" ) ; } 2> "$B_CPU"`;
    const { seconds } = await run('bash', ['-c', script], {
      ...process.env,
      B_PSQL: psql,
      B_PIGZ: pigz,
      B_URL: url,
      B_COPY: `\\copy (${select}) to stdout csv`,
      B_OUT: out,
      B_CPU: cpuFile,
      B_GZCPU: cpuFile + '-gzip',
    });
    const cpuOf = (file: string) => {
      const [user, system] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
      return user + system;
    };
    return { seconds, bytes: statSync(out).size, cpuSeconds: cpuOf(cpuFile), gzipCpuSeconds: cpuOf(cpuFile + '-gzip') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Our file without its header must hold exactly the reference's bytes: the same rows, the same encoding. */
async function sameRows(url: string, programId: number, psql: string): Promise<boolean> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dde-bench-check-'));
  try {
    const refFile = path.join(dir, 'ref.gz');
    await reference(url, programId, psql, refFile);
    const { sql } = createDb(url, { max: (tuning.streams ?? DEFAULT_EXPORT_STREAMS) + 2 });
    const result = await generateExportFiles({
      sql,
      storage: new LocalStorage(dir),
      keyPrefix: '',
      program: { id: programId, anonymizePii: false, pseudonymKey: '0'.repeat(64) },
      window: { start: WINDOW_START, end: WINDOW_END },
      exportType: 'incremental',
      format: 'csv',
      runId: 'check',
      connectionId: null,
      fileTypes: ['activity'],
      generatedAt: new Date(GENERATED_AT),
      ...tuning,
    });
    await sql.end();
    const ourFile = path.join(dir, result.files[0].name);
    const digest = async (cmd: string, file: string) => (await run('bash', ['-c', cmd, 'x', file])).stdout.split(' ')[0];
    const a = await digest('zcat "$1" | tail -n +2 | sha256sum', ourFile);
    const b = await digest('zcat "$1" | sha256sum', refFile);
    return a === b;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type TypeSize = { type: string; rows: number; csvBytes: number; csvGzBytes: number; parquetBytes: number };

/**
 * Each file type of the seeded program as CSV.gz and as Parquet (users and campaigns from their
 * seeding day, activity from the bench window), and a check that DuckDB reads the same activity
 * rows from both: counts, sums of every count column, distinct users.
 */
async function typeSizes(url: string, programId: number): Promise<TypeSize[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dde-bench-types-'));
  const { sql } = createDb(url, { max: 4 });
  try {
    const sizes: TypeSize[] = [];
    const files: Record<string, string> = {};
    for (const [type, window] of [
      ['user', { start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-01-02T00:00:00Z') }],
      ['campaign', { start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-01-02T00:00:00Z') }],
      ['activity', { start: WINDOW_START, end: WINDOW_END }],
    ] as const) {
      const made: Record<string, { bytes: number; rows: number; uncompressedBytes: number }> = {};
      for (const f of ['csv', 'parquet'] as const) {
        const result = await generateExportFiles({
          sql,
          storage: new LocalStorage(path.join(dir, f)),
          keyPrefix: '',
          program: { id: programId, anonymizePii: false, pseudonymKey: '0'.repeat(64) },
          window,
          exportType: 'incremental',
          format: f,
          runId: `sizes-${f}`,
          connectionId: null,
          fileTypes: [type],
          generatedAt: new Date(GENERATED_AT),
        });
        const file = result.files[0];
        made[f] = { bytes: file.bytes, rows: file.rows, uncompressedBytes: file.uncompressedBytes };
        files[`${type}.${f}`] = path.join(dir, f, file.name);
      }
      sizes.push({
        type,
        rows: made.csv.rows,
        csvBytes: made.csv.uncompressedBytes,
        csvGzBytes: made.csv.bytes,
        parquetBytes: made.parquet.bytes,
      });
    }
    const counts = Object.keys(EVENT_COUNT_COLUMNS);
    const probe = (from: string, col: (header: string) => string) =>
      `select count(*), ${counts.map((h) => `sum(${col(h)})`).join(', ')}, count(distinct ${col('User ID')}) from ${from}`;
    const script = [
      'import duckdb, sys',
      'con = duckdb.connect()',
      'con.execute("set enable_progress_bar = false")',
      'a = con.sql(sys.argv[1]).fetchall()',
      'b = con.sql(sys.argv[2]).fetchall()',
      'print("same" if a == b else "DIFFERENT %r %r" % (a, b))',
    ].join('\n');
    const csvSql = probe(`read_csv('${files['activity.csv']}', header=true, all_varchar=true)`, (h) =>
      h === 'User ID' ? `"${h}"` : `"${h}"::bigint`,
    );
    const parquetSql = probe(`read_parquet('${files['activity.parquet']}')`, (h) =>
      h === 'User ID' ? 'user_id' : h.toLowerCase().replace(/[^a-z0-9]+/g, '_'),
    );
    const { stdout } = await run('python3', ['-c', script, csvSql, parquetSql]);
    console.log(`  DuckDB reads the same activity rows from the Parquet file and the CSV.gz: ${stdout.trim()}`);
    if (stdout.trim() !== 'same') throw new Error('the Parquet file does not hold the CSV’s rows');
    return sizes;
  } finally {
    await sql.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

const engine = () =>
  format === 'parquet'
    ? `1 binary COPY → Arrow batches → parquet-wasm (zstd, row groups ≤ ${ROW_GROUP_BYTES / 1048576} MiB / ${ROW_GROUP_ROWS.toLocaleString('en-US')} rows) → sha256 → storage`
    : `${tuning.streams ?? DEFAULT_EXPORT_STREAMS} COPY streams over slices of ${(tuning.sliceRows ?? DEFAULT_SLICE_ROWS).toLocaleString('en-US')} rows` +
      ` (work_mem ${tuning.sliceWorkMem === null ? 'server' : (tuning.sliceWorkMem ?? SLICE_WORK_MEM)}) → gzip -6 members → sha256 → storage`;
/**
 * Load-independent view: CPU seconds of each side (client + server) and the least wall time they
 * allow on this machine's cores — the reference is one pipeline, so never less than its gzip's
 * CPU time — for comparing on a machine that is not quiet.
 */
function cpuLine(b: { ours: ChildResult; ref: Measure }): string {
  const cores = os.availableParallelism();
  const ours = b.ours.cpuSeconds + (b.ours.serverCpuSeconds ?? NaN);
  const ref = b.ref.cpuSeconds + (b.ref.serverCpuSeconds ?? NaN);
  return (
    `CPU incl. PostgreSQL: ours ${fmt(ours, 2)} s (server ${fmt(b.ours.serverCpuSeconds ?? NaN, 2)} s), ` +
    `reference ${fmt(ref, 2)} s (server ${fmt(b.ref.serverCpuSeconds ?? NaN, 2)} s); ` +
    `on ${cores} idle cores ours needs ≥ ${fmt(ours / cores, 2)} s, the reference ≥ ${fmt(Math.max(ref / cores, b.ref.gzipCpuSeconds), 2)} s (its gzip alone ${fmt(b.ref.gzipCpuSeconds, 2)} s)`
  );
}
const mb = (bytes: number) => bytes / 1e6;
const fmt = (x: number, d = 1) => x.toFixed(d);

async function measureSize(url: string, programId: number, rows: number, rounds: number, psql: string) {
  let best: ChildResult | undefined;
  let bestRef: Measure | undefined;
  let bestPigz: Measure | undefined;
  let peak = 0;
  for (let r = 0; r < rounds; r++) {
    // Alternate so drift on a shared machine hits every side alike.
    const [ref, refServer] = await withServerCpu(() => reference(url, programId, psql));
    const [pz, pzServer] = await withServerCpu(() => reference(url, programId, psql, undefined, 'pigz'));
    const [o, oServer] = await withServerCpu(() => ours(url, programId));
    ref.serverCpuSeconds = refServer;
    pz.serverCpuSeconds = pzServer;
    o.serverCpuSeconds = oServer;
    if (o.rows !== rows) throw new Error(`our export wrote ${o.rows} rows, expected ${rows}`);
    peak = Math.max(peak, o.peakRssMb);
    if (!best || o.seconds < best.seconds) best = o;
    if (!bestRef || ref.seconds < bestRef.seconds) bestRef = ref;
    if (!bestPigz || pz.seconds < bestPigz.seconds) bestPigz = pz;
    console.log(
      `  round ${r + 1}: ours ${fmt(o.seconds, 2)} s (client CPU ${fmt(o.cpuSeconds, 2)} s, server ${fmt(oServer, 2)} s), ` +
        `gzip reference ${fmt(ref.seconds, 2)} s (psql + gzip CPU ${fmt(ref.cpuSeconds, 2)} s, server ${fmt(refServer, 2)} s), ` +
        `pigz reference ${fmt(pz.seconds, 2)} s (psql + pigz CPU ${fmt(pz.cpuSeconds, 2)} s, server ${fmt(pzServer, 2)} s), our peak RSS ${fmt(o.peakRssMb)} MB`,
    );
  }
  return { ours: best!, ref: bestRef!, pigz: bestPigz!, peakRssMb: peak };
}

async function main() {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string' },
      'skip-4x': { type: 'boolean' },
      rounds: { type: 'string' },
      streams: { type: 'string' },
      'slice-rows': { type: 'string' },
      'slice-work-mem': { type: 'string' },
      format: { type: 'string' },
    },
    strict: true,
  });
  if (values.format !== undefined && values.format !== 'csv' && values.format !== 'parquet') {
    throw new Error(`--format must be csv or parquet, got ${values.format}`);
  }
  format = (values.format as 'csv' | 'parquet' | undefined) ?? 'csv';
  const positive = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const x = Number(v);
    if (!Number.isInteger(x) || x < 1) throw new Error(`--${name} must be a positive integer`);
    return x;
  };
  const workMem = values['slice-work-mem'];
  tuning = {
    streams: positive('streams', values.streams),
    sliceRows: positive('slice-rows', values['slice-rows']),
    sliceWorkMem: workMem === undefined ? undefined : workMem === 'server' ? null : workMem,
  };
  const n = Number(values.rows ?? 2_000_000);
  const rounds = Number(values.rounds ?? 2);
  if (!Number.isInteger(n) || n < 1000) throw new Error('--rows must be an integer ≥ 1000');
  const psql = process.env.BENCH_PSQL ?? '/usr/bin/psql';
  if (!existsSync(psql)) throw new Error(`psql not found at ${psql} (set BENCH_PSQL)`);
  pigz = process.env.BENCH_PIGZ ?? pigz;
  if (!existsSync(pigz)) throw new Error(`pigz not found at ${pigz} (Debian: apt-get install pigz; or set BENCH_PIGZ)`);

  let url = process.env.BENCH_DATABASE_URL;
  let stop: (() => Promise<void>) | undefined;
  let tmp: string | undefined;
  if (!url) {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'dde-bench-pg-'));
    console.log('starting a throwaway embedded PostgreSQL…');
    const server = await startEmbedded({
      dir: path.join(tmp, 'pg'),
      password: 'bench',
      ephemeral: true,
      logFile: path.join(tmp, 'postgres.log'),
    });
    url = server.url();
    stop = server.stop;
    postmaster = Number(readFileSync(path.join(tmp, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  }
  try {
    await migrateDatabase(url);
    const sizes = values['skip-4x'] ? [n] : [n, 4 * n];
    const results: { rows: number; ours: ChildResult; ref: Measure; pigz: Measure; peakRssMb: number }[] = [];
    const parquetVsCsv: TypeSize[] = [];
    for (const [i, rows] of sizes.entries()) {
      const programId = 900_000 + Math.floor(Math.random() * 90_000) * 10 + i;
      console.log(`seeding ${rows.toLocaleString('en-US')} activity events into one window of program ${programId}…`);
      const t0 = Date.now();
      await seed(url, programId, rows);
      console.log(`  seeded in ${fmt((Date.now() - t0) / 1000)} s`);
      if (i === 0 && format === 'parquet') {
        const sizes = await typeSizes(url, programId);
        parquetVsCsv.push(...sizes);
      } else if (i === 0) {
        const same = await sameRows(url, programId, psql);
        console.log(`  our rows == reference rows (byte for byte, header aside): ${same ? 'yes' : 'NO'}`);
        if (!same) throw new Error('our activity file does not hold the same bytes as the reference');
      }
      const m = await measureSize(url, programId, rows, i === 0 ? rounds : 1, psql);
      results.push({ rows, ...m });
    }

    const base = results[0];
    // The CSV's size (for MB/s): our file's when it is the CSV, else the CSV export of the same window.
    const csvBytes =
      format === 'parquet' ? (parquetVsCsv.find((s) => s.type === 'activity')?.csvBytes ?? NaN) : base.ours.uncompressedBytes;
    const oursRate = base.rows / base.ours.seconds;
    const refRate = base.rows / base.ref.seconds;
    const ratio = oursRate / refRate;
    const pigzRate = base.rows / base.pigz.seconds;
    const ratioPigz = oursRate / pigzRate;
    const cores = os.availableParallelism();
    const oursCpu = base.ours.cpuSeconds + (base.ours.serverCpuSeconds ?? NaN);
    const pigzCpu = base.pigz.cpuSeconds + (base.pigz.serverCpuSeconds ?? NaN);
    const gzipCpu = base.ref.cpuSeconds + (base.ref.serverCpuSeconds ?? NaN);
    const cpuVsRef = oursCpu / pigzCpu;
    const pigzLine =
      `psql \\copy … | pigz -6 -p ${cores}: ${fmt(base.pigz.seconds, 2)} s, ${Math.round(pigzRate).toLocaleString('en-US')} rows/s, ${base.pigz.bytes.toLocaleString('en-US')} B .gz (ours/pigz size ${fmt(base.ours.bytes / base.pigz.bytes, 3)}); ` +
      `CPU incl. PostgreSQL: ours ${fmt(oursCpu, 2)} s (client ${fmt(base.ours.cpuSeconds, 2)} + server ${fmt(base.ours.serverCpuSeconds ?? NaN, 2)}), ` +
      `pigz reference ${fmt(pigzCpu, 2)} s (psql + pigz ${fmt(base.pigz.cpuSeconds, 2)} + server ${fmt(base.pigz.serverCpuSeconds ?? NaN, 2)}), ` +
      `gzip reference ${fmt(gzipCpu, 2)} s; per million rows ours ${fmt((oursCpu / base.rows) * 1e6, 2)} s, pigz reference ${fmt((pigzCpu / base.rows) * 1e6, 2)} s`;
    const growth = results[1] ? results[1].peakRssMb / base.peakRssMb : NaN;
    const lines = [
      '',
      `| N = ${base.rows.toLocaleString('en-US')} | time | rows/s | MB/s (CSV) | .gz bytes |`,
      '| --- | --- | --- | --- | --- |',
      `| ours (${engine()}) | ${fmt(base.ours.seconds, 2)} s | ${Math.round(oursRate).toLocaleString('en-US')} | ${fmt(mb(csvBytes) / base.ours.seconds)} | ${base.ours.bytes.toLocaleString('en-US')} |`,
      `| psql \\copy … \\| gzip -6 | ${fmt(base.ref.seconds, 2)} s | ${Math.round(refRate).toLocaleString('en-US')} | ${fmt(mb(csvBytes) / base.ref.seconds)} | ${base.ref.bytes.toLocaleString('en-US')} |`,
      `| psql \\copy … \\| pigz -6 -p ${cores} | ${fmt(base.pigz.seconds, 2)} s | ${Math.round(pigzRate).toLocaleString('en-US')} | ${fmt(mb(csvBytes) / base.pigz.seconds)} | ${base.pigz.bytes.toLocaleString('en-US')} |`,
      '',
      `ratio (ours/psql throughput) ${fmt(ratio, 2)} · size ours/reference ${fmt(base.ours.bytes / base.ref.bytes, 3)} · CSV ${fmt(mb(csvBytes))} MB`,
      `client CPU (load-independent): ours ${fmt(base.ours.cpuSeconds, 2)} s vs psql + gzip ${fmt(base.ref.cpuSeconds, 2)} s`,
      cpuLine(base),
      pigzLine,
      `peak RSS of our export: ${fmt(base.peakRssMb)} MB at N` +
        (results[1]
          ? `, ${fmt(results[1].peakRssMb)} MB at 4N (growth ${fmt(growth, 2)}; 4N: ours ${fmt(results[1].ours.seconds, 2)} s, reference ${fmt(results[1].ref.seconds, 2)} s)`
          : ''),
    ];
    if (format === 'parquet') {
      lines[1] = `| N = ${base.rows.toLocaleString('en-US')} | time | rows/s | MB/s (CSV) | file bytes |`;
      lines.push(
        '',
        '| file type | rows | CSV.gz bytes | Parquet bytes | Parquet / CSV.gz |',
        '| --- | --- | --- | --- | --- |',
        ...parquetVsCsv.map(
          (s) =>
            `| ${s.type} | ${s.rows.toLocaleString('en-US')} | ${s.csvGzBytes.toLocaleString('en-US')} | ${s.parquetBytes.toLocaleString('en-US')} | ${fmt(s.parquetBytes / s.csvGzBytes, 3)} |`,
        ),
      );
    }
    console.log(lines.join('\n'));
    const what = format === 'parquet' ? 'Parquet file' : '.gz';
    if (base.ours.bytes > base.ref.bytes) console.log(`WARNING: our ${what} is bigger than the reference .gz`);
    if (base.ours.bytes > base.pigz.bytes) console.log(`WARNING: our ${what} is bigger than the pigz reference`);
    const growthText = results[1] ? fmt(growth, 2) : 'skipped';
    const result =
      format === 'parquet'
        ? `RESULT export_parquet ratio=${fmt(ratio, 2)} bytes_vs_csv_gz=${fmt(base.ours.bytes / base.ref.bytes, 3)} ratio_pigz=${fmt(ratioPigz, 2)} rows=${base.rows} peak_rss_mb=${fmt(base.peakRssMb)} rss_growth_4x=${growthText}`
        : `RESULT export ratio=${fmt(ratio, 2)} ratio_pigz=${fmt(ratioPigz, 2)} cpu_vs_ref=${fmt(cpuVsRef, 2)} rows=${base.rows} peak_rss_mb=${fmt(base.peakRssMb)} rss_growth_4x=${growthText}`;

    // Other work on a shared machine slows both sides alike, but it explains the absolute figures.
    const load = os
      .loadavg()
      .map((x) => fmt(x, 1))
      .join(' / ');
    console.log(`load average (1/5/15 min) at the end: ${load}`);
    appendResults(format === 'parquet' ? 'bench:export --format=parquet' : 'bench:export', [
      `N = ${base.rows.toLocaleString('en-US')} activity events in one window; CSV ${fmt(mb(csvBytes))} MB; nproc ${os.availableParallelism()}; load average at the end ${load}`,
      `ours (${engine()}): ${fmt(base.ours.seconds, 2)} s, ${Math.round(oursRate).toLocaleString('en-US')} rows/s, ${base.ours.bytes.toLocaleString('en-US')} B ${format === 'parquet' ? '.parquet' : '.gz'}`,
      ...parquetVsCsv.map(
        (s) =>
          `${s.type}: ${s.rows.toLocaleString('en-US')} rows, CSV.gz ${s.csvGzBytes.toLocaleString('en-US')} B, Parquet ${s.parquetBytes.toLocaleString('en-US')} B (${fmt(s.parquetBytes / s.csvGzBytes, 3)})`,
      ),
      `psql \\copy … | gzip -6: ${fmt(base.ref.seconds, 2)} s, ${Math.round(refRate).toLocaleString('en-US')} rows/s, ${fmt(mb(csvBytes) / base.ref.seconds)} MB/s, ${base.ref.bytes.toLocaleString('en-US')} B .gz`,
      `client CPU: ours ${fmt(base.ours.cpuSeconds, 2)} s vs psql + gzip ${fmt(base.ref.cpuSeconds, 2)} s; ${cpuLine(base)}`,
      pigzLine,
      `peak RSS of our export ${fmt(base.peakRssMb)} MB` +
        (results[1]
          ? `; at 4N ${fmt(results[1].peakRssMb)} MB (growth ${fmt(growth, 2)}; ours ${fmt(results[1].ours.seconds, 2)} s vs reference ${fmt(results[1].ref.seconds, 2)} s)`
          : ''),
      '`' + result + '`',
    ]);
    console.log(result);
  } finally {
    await stop?.();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.env.DDE_BENCH_CHILD) {
  child().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else if (process.argv.some((a, i, all) => a === '--storage=s3' || (a === '--storage' && all[i + 1] === 's3'))) {
  // --storage=s3: the same window to a real S3 server vs local disk (bench/export-s3.ts runs itself).
  void import('./export-s3');
} else {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(`bench:export: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
