// bench:export-profile — where PostgreSQL's CPU goes when it formats an activity file: the file's
// COPY, then the same COPY with one family of column expressions replaced by a constant (the
// difference is what that family costs), each on one connection whose backend's CPU seconds are
// read from /proc before and after (the machine's other load does not inflate them). Our own side
// (gzip, hashing, streams) is in bench:export's client CPU.
//
//   npm run bench:export-profile -- [--rows=500000] [--rounds=3]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createDb } from '@/db/client';
import { startEmbedded } from '@/db/embedded';
import { migrateDatabase } from '@/db/migrate';
import { copySql } from '@/lib/exports';
import { EVENT_COUNT_COLUMNS, FILE_SPECS, type Column } from '@/lib/exports/columns';
import { seed, WINDOW_END, WINDOW_START } from './export-seed';
import { ownCpuSeconds } from './proc';

const fmt = (x: number, d = 2) => x.toFixed(d);

type Variant = { name: string; columns: (cols: Column[]) => Column[] };

const constant = (col: Column): Column => ({ ...col, kind: 'int', expr: '0' });
const isCount = (col: Column) => col.header in EVENT_COUNT_COLUMNS;
/** A count column as it was computed before the lookup: its event types compared, cast to int. */
const compared = (col: Column): Column => {
  const types = EVENT_COUNT_COLUMNS[col.header];
  const test = types.length === 1 ? `e.event_type = '${types[0]}'` : `e.event_type in (${types.map((t) => `'${t}'`).join(', ')})`;
  return { ...col, expr: `(${test})::int` };
};
const VARIANTS: Variant[] = [
  { name: 'the file as exported', columns: (cols) => cols },
  { name: 'event counts (the lookup k) as 0', columns: (cols) => cols.map((c) => (isCount(c) ? constant(c) : c)) },
  {
    name: 'event counts as 19 comparisons cast to int (before the lookup)',
    columns: (cols) => cols.map((c) => (isCount(c) ? compared(c) : c)),
  },
  { name: 'timestamps (to_char … at time zone UTC) as 0', columns: (cols) => cols.map((c) => (c.kind === 'timestamp' ? constant(c) : c)) },
  {
    name: 'text columns (nullif, concat_ws, case) as 0',
    columns: (cols) => cols.map((c) => (c.kind === 'text' || c.kind === 'pii' ? constant(c) : c)),
  },
  { name: 'ids as 0', columns: (cols) => cols.map((c) => (c.kind === 'id' || c.kind === 'user_id' ? constant(c) : c)) },
  { name: 'every column as 0 (scan, joins, sort, COPY of 36 small fields)', columns: (cols) => cols.map(constant) },
  { name: 'one column (scan, joins, sort)', columns: (cols) => [constant(cols[0])] },
];

async function main() {
  const { values } = parseArgs({
    options: { rows: { type: 'string', default: '500000' }, rounds: { type: 'string', default: '3' } },
    strict: true,
  });
  const rows = Number(values.rows);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rows) || rows < 1000) throw new Error(`--rows must be an integer ≥ 1000 (got ${values.rows})`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer (got ${values.rounds})`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dde-bench-profile-'));
  const server = await startEmbedded({ dir: path.join(tmp, 'pg'), password: 'bench', ephemeral: true, logFile: path.join(tmp, 'pg.log') });
  const { sql } = createDb(server.url(), { max: 1 });
  try {
    await migrateDatabase(server.url());
    const programId = 900_001;
    console.log(`seeding ${rows.toLocaleString('en-US')} activity events…`);
    await seed(server.url(), programId, rows);
    const [{ pid }] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const original = FILE_SPECS.activity.columns;
    const results: { name: string; cpu: number; bytes: number }[] = [];
    for (const v of VARIANTS) {
      FILE_SPECS.activity.columns = v.columns(original);
      const text = copySql({
        fileType: 'activity',
        shape: 'csv',
        programId,
        window: { start: WINDOW_START, end: WINDOW_END },
        generatedAt: '2026-11-28T12:05:13Z',
        pseudonymKey: null,
      });
      FILE_SPECS.activity.columns = original;
      let best = Infinity;
      let bytes = 0;
      for (let r = 0; r < rounds; r++) {
        const before = ownCpuSeconds([pid]);
        let n = 0;
        const sink = new Writable({
          write(chunk: Buffer, _enc, cb) {
            n += chunk.length;
            cb();
          },
        });
        await pipeline(await sql.unsafe(text).readable(), sink);
        best = Math.min(best, ownCpuSeconds([pid]) - before);
        bytes = n;
      }
      results.push({ name: v.name, cpu: best, bytes });
      console.log(`  ${fmt(best)} s  ${(bytes / 1e6).toFixed(1)} MB  ${v.name}`);
    }
    const full = results[0].cpu;
    console.log(
      `\nPostgreSQL CPU per million rows, the file as exported: ${fmt((full / rows) * 1e6)} s; what each family costs (the file − the variant):`,
    );
    for (const r of results.slice(1)) console.log(`  ${fmt(full - r.cpu)} s (${fmt(((full - r.cpu) / full) * 100, 0)} %)  ${r.name}`);
    console.log(
      `load average at the end ${os
        .loadavg()
        .map((l) => fmt(l, 1))
        .join(' / ')} (CPU seconds of one backend: not inflated by other load)`,
    );
  } finally {
    await sql.end({ timeout: 5 });
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
