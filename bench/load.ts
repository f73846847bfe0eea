// bench:load — one activity window of N events (2,000,000 by default), exported once as the
// scheduled path writes it (csv.gz), then loaded into a customer's PostgreSQL two ways in the same
// run: by the database destination (verify the checksum while streaming, COPY into a temporary
// table, one INSERT … ON CONFLICT into `activity`, the `_dde_loads` row, one transaction) and by
// `gzip -dc file | psql -c "\copy ref_activity from stdin csv header"` into an equal table (same
// columns, primary key and indexes). ratio = reference seconds ÷ ours (≥ 0.9 is the target: the
// merge and the ledger row are the only extra work).
//
//   npm run bench:load -- [--rows N] [--rounds R]
//   BENCH_DATABASE_URL=postgres://…  DDE's own database for the source rows (default: a throwaway embedded one)
//   BENCH_TARGET_URL=postgres://…    the customer's server (default postgres://postgres@127.0.0.1:5432/postgres)
//   BENCH_PSQL=/path/to/psql         the reference client (default /usr/bin/psql)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { createDb } from '@/db/client';
import { startEmbedded } from '@/db/embedded';
import { migrateDatabase } from '@/db/migrate';
import { loadRun } from '@/lib/destinations/database/load';
import { databaseSettingsSchema } from '@/lib/destinations/database/settings';
import { generateExportFiles } from '@/lib/exports';
import { LocalStorage } from '@/lib/storage';
import { seed, WINDOW_END, WINDOW_START } from './export-seed';
import { appendResults } from './results';

const ENV = process.env;
const { values: args } = parseArgs({ options: { rows: { type: 'string' }, rounds: { type: 'string' } } });
const rows = Number(args.rows ?? 2_000_000);
const rounds = Number(args.rounds ?? 1);
const psql = ENV.BENCH_PSQL ?? '/usr/bin/psql';
const targetUrl = ENV.BENCH_TARGET_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// The customer's server is usually on this machine: let the outbound policy allow it (read at first use).
ENV.DDE_OUTBOUND_ALLOWED_NETWORKS ??= `${new URL(targetUrl).hostname}/32`;

function run(cmd: string, env: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...ENV, ...env } });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd}: exit ${code}: ${err}`))));
  });
}

async function main() {
  const work = mkdtempSync(path.join(os.tmpdir(), 'dde-bench-load-'));
  let stopSource = async (): Promise<void> => undefined;
  let sourceUrl = ENV.BENCH_DATABASE_URL;
  if (!sourceUrl) {
    const server = await startEmbedded({
      dir: path.join(work, 'pg'),
      password: 'bench',
      ephemeral: true,
      logFile: path.join(work, 'pg.log'),
    });
    sourceUrl = server.url('dde');
    stopSource = server.stop;
  }
  const target = postgres(targetUrl, { max: 1, onnotice: () => undefined });
  const dbName = `bench_load_${randomBytes(4).toString('hex')}`;
  try {
    await migrateDatabase(sourceUrl);
    console.log(`seeding ${rows.toLocaleString('en')} events …`);
    await seed(sourceUrl, 4021, rows);
    const { sql } = createDb(sourceUrl, { max: 6 });
    const storage = new LocalStorage(path.join(work, 'files'));
    console.log('exporting the window …');
    const generated = await generateExportFiles({
      sql,
      storage,
      keyPrefix: '',
      program: { id: 4021, anonymizePii: false, pseudonymKey: '0'.repeat(64) },
      window: { start: WINDOW_START, end: WINDOW_END },
      exportType: 'incremental',
      format: 'csv',
      runId: 'bench',
      connectionId: null,
      fileTypes: ['activity'],
    });
    await sql.end();
    const f = generated.files[0];
    const file = storage.localPath(f.key)!;

    await target.unsafe(`create database ${dbName}`);
    const u = new URL(targetUrl);
    u.pathname = `/${dbName}`;
    const customer = postgres(u.toString(), { max: 1, onnotice: () => undefined });
    const settings = databaseSettingsSchema.parse({
      engine: 'postgres',
      host: u.hostname,
      port: Number(u.port || 5432),
      database: dbName,
      schema: 'public',
      user: decodeURIComponent(u.username || 'postgres'),
      tls: 'disable',
    });
    const password = decodeURIComponent(u.password) || 'trust';
    const ours: number[] = [];
    const ref: number[] = [];
    for (let r = 0; r < rounds; r++) {
      await customer.unsafe('drop table if exists activity, users, campaigns, _dde_loads, ref_activity');
      // The reference table: the same columns, key and indexes, made by the destination's own DDL.
      await loadRun({ settings, password, window: windowOf(`prep-${r}`), files: [], open: (k) => storage.get(k) });
      await customer.unsafe('create table ref_activity (like activity including all)');
      const cols = (
        await customer<{ c: string }[]>`select string_agg(quote_ident(column_name), ',' order by ordinal_position) as c
        from information_schema.columns where table_schema = 'public' and table_name = 'activity'`
      )[0].c;
      await customer`checkpoint`.catch(() => undefined);

      let t0 = performance.now();
      await run(
        `gzip -dc '${file}' | '${psql}' -q -v ON_ERROR_STOP=1 -c "\\copy ref_activity (${cols}) from stdin with (format csv, header true)"`,
        {
          PGHOST: settings.host,
          PGPORT: String(settings.port),
          PGDATABASE: dbName,
          PGUSER: settings.user,
          PGPASSWORD: password,
        },
      );
      ref.push((performance.now() - t0) / 1000);
      await customer`checkpoint`.catch(() => undefined);

      t0 = performance.now();
      const result = await loadRun({
        settings,
        password,
        window: windowOf(`bench-${r}`),
        files: [
          {
            fileType: 'activity',
            name: f.name,
            storageKey: f.key,
            rows: f.rows,
            bytes: f.bytes,
            sha256: f.sha256,
            format: 'csv',
            compression: 'gzip',
          },
        ],
        open: (k) => storage.get(k),
      });
      ours.push((performance.now() - t0) / 1000);
      if (result.files[0].applied !== f.rows) throw new Error(`loaded ${result.files[0].applied} of ${f.rows} rows`);
      const [{ a, b }] = await customer<
        { a: number; b: number }[]
      >`select (select count(*) from activity)::int as a, (select count(*) from ref_activity)::int as b`;
      if (a !== f.rows || b !== f.rows) throw new Error(`tables hold ${a} and ${b} rows, expected ${f.rows}`);
      console.log(`round ${r + 1}: psql \\copy ${ref.at(-1)!.toFixed(2)} s, ours ${ours.at(-1)!.toFixed(2)} s`);
    }
    await customer.end();
    const best = (xs: number[]) => Math.min(...xs);
    const ratio = best(ref) / best(ours);
    const load = os.loadavg()[0].toFixed(1);
    const line = `RESULT load ratio=${ratio.toFixed(2)} rows=${f.rows} ours_s=${best(ours).toFixed(2)} psql_copy_s=${best(ref).toFixed(2)} file_mb=${(f.bytes / 1e6).toFixed(1)} loadavg=${load}`;
    console.log(line);
    appendResults('bench:load', [line]);
  } finally {
    await target.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
    await target.end();
    await stopSource();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The window's key in `_dde_loads` (the tables are made anew each round). */
function windowOf(runId: string) {
  return { connectionId: 'bench', runId, exportType: 'incremental' as const, windowStart: WINDOW_START, windowEnd: WINDOW_END };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
