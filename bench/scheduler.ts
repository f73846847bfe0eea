// bench:scheduler — planner ticks over N active connections (default 10,000; docs/performance.md: one
// tick ≤ 10 s at 100,000, one query per batch). Three ticks: the catch-up (every connection one to
// three days behind, ~5 windows each), an idle tick (nothing new due), and the midnight tick (every
// 4-hourly and daily connection closes a window at once: the heaviest tick of normal operation).
// Runs against a throwaway embedded PostgreSQL, or BENCH_DATABASE_URL.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb } from '@/db/client';
import { startEmbedded } from '@/db/embedded';
import { migrateDatabase } from '@/db/migrate';
import { planWindows } from '@/lib/scheduling/planner';
import { appendResults } from './results';

const CONNECTIONS = Number(process.argv.find((a) => a.startsWith('--connections='))?.split('=')[1] ?? 10_000);

async function main() {
  let url = process.env.BENCH_DATABASE_URL;
  let cleanup = async () => undefined as void;
  if (!url) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dde-bench-sched-'));
    const server = await startEmbedded({ dir: path.join(dir, 'pg'), password: 'bench', logFile: path.join(dir, 'pg.log') });
    url = server.url();
    cleanup = async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  try {
    await migrateDatabase(url);
    const database = createDb(url, { max: 4 });
    const { sql } = database;
    const now = new Date('2026-11-28T23:30:00Z');
    const midnight = new Date('2026-11-29T00:05:00Z');
    await sql`insert into programs (id, name) select g, 'Bench ' || g from generate_series(900001, 900100) g on conflict do nothing`;
    await sql`delete from export_runs where program_id between 900001 and 900100`;
    await sql`delete from connections where program_id between 900001 and 900100`;
    // A realistic mix: mostly every-4-hours and daily, started within the last two days, so each
    // connection has a handful of windows due.
    await sql`
      insert into connections (program_id, kind, frequency, start_date, contact_emails)
      select 900001 + (g % 100), case when g % 3 = 0 then 'api' else 'sftp' end,
             (array['every_4_hours','every_4_hours','daily','weekly','monthly'])[1 + g % 5],
             ${now.toISOString()}::timestamptz - ((g % 48) || ' hours')::interval - interval '1 day',
             '{ops@example.com}'
      from generate_series(1, ${CONNECTIONS}) g`;
    const started = performance.now();
    const r = await planWindows(database, { now, settleMs: 5 * 60_000 });
    const seconds = (performance.now() - started) / 1000;
    const again = performance.now();
    const r2 = await planWindows(database, { now, settleMs: 5 * 60_000 });
    const idleSeconds = (performance.now() - again) / 1000;
    const atMidnight = performance.now();
    const r3 = await planWindows(database, { now: midnight, settleMs: 5 * 60_000 });
    const midnightSeconds = (performance.now() - atMidnight) / 1000;
    console.log('| tick | connections scanned | runs planned | seconds |');
    console.log('| --- | --- | --- | --- |');
    console.log(`| first (catch-up) | ${r.connections} | ${r.runsPlanned} | ${seconds.toFixed(2)} |`);
    console.log(`| second (nothing due) | ${r2.connections} | ${r2.runsPlanned} | ${idleSeconds.toFixed(2)} |`);
    console.log(
      `| midnight (a window closes for every 4-hourly and daily connection) | ${r3.connections} | ${r3.runsPlanned} | ${midnightSeconds.toFixed(2)} |`,
    );
    const line =
      `RESULT scheduler seconds=${seconds.toFixed(2)} connections=${CONNECTIONS} runs=${r.runsPlanned}` +
      ` idle_seconds=${idleSeconds.toFixed(2)} midnight_seconds=${midnightSeconds.toFixed(2)} midnight_runs=${r3.runsPlanned}`;
    appendResults('bench:scheduler', [
      `first tick: ${r.connections} connections, ${r.runsPlanned} runs planned in ${seconds.toFixed(2)} s (target ≤ 10 s)`,
      `second tick (nothing new due): ${r2.connections} connections read, ${idleSeconds.toFixed(2)} s`,
      `midnight tick (every 4-hourly and daily connection closes a window): ${r3.runsPlanned} runs planned in ${midnightSeconds.toFixed(2)} s`,
      `load average at the end: ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' / ')}`,
      `\`${line}\``,
    ]);
    await sql.end();
    console.log(line);
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
