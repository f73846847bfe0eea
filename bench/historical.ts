// bench:historical — a historical request of 24 months for one program, through the product's own
// path: the request is recorded (createHistoricalRequest) and a plan-windows job sent for it, as the
// web does; the jobs worker's real queues and handlers (registerQueues, in this process) split it
// into monthly runs, export them and deliver them to a real OpenSSH sshd on 127.0.0.1. Then, on the
// same rows, the export engine alone writes the whole range as one window to local disk (what
// bench:export measures), the reference throughput.
//   ratio          historical rows/s (request sent → last month delivered) ÷ the engine's rows/s
//   first_month_s  request sent → the first month delivered
//
//   npm run bench:historical -- [--rows=2000000] (--rows=20000000 for the volume)
import { chownSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createDb } from '@/db/client';
import { migrateDatabase } from '@/db/migrate';
import { jobsPoolSize, registerQueues } from '@/jobs/queues';
import { setClock } from '@/lib/clock';
import { createConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { sftpSetupCheck } from '@/lib/connections/sftp-check';
import { generateExportFiles } from '@/lib/exports';
import { createHistoricalRequest, createHistoricalRequestSchema } from '@/lib/historical';
import { createBoss, enqueue, ensureQueues } from '@/lib/queues';
import { LocalStorage } from '@/lib/storage';
import { appendResults } from './results';
import { BENCH_ADMIN, startBenchServices } from './setup';

const NOW = new Date('2026-11-28T10:00:00Z');
const FROM = '2024-12-01';
const RANGE_START = new Date(`${FROM}T00:00:00Z`);
const RANGE_END = new Date('2026-11-28T00:00:00Z');
const PROGRAM = 8100;
const fmt = (x: number, d = 2) => x.toFixed(d);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  process.env.DDE_OUTBOUND_ALLOWED_NETWORKS ??= '127.0.0.1/32';
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '2000000' } }, strict: true });
  const rows = Number(values.rows);
  if (!Number.isInteger(rows) || rows < 24_000) throw new Error(`--rows must be an integer ≥ 24000 (got ${values.rows})`);

  const { tmp, server, sshd, url } = await startBenchServices('historical');
  setClock(NOW);
  const database = createDb(url, { max: jobsPoolSize() });
  let boss: ReturnType<typeof createBoss> | undefined;
  let stopWorker: (() => Promise<void>) | undefined;
  try {
    await migrateDatabase(url);
    console.log(`seeding ${rows.toLocaleString('en-US')} activity events over ${FROM} … ${RANGE_END.toISOString().slice(0, 10)}…`);
    const { sql } = database;
    await sql`insert into programs (id, name) values (${PROGRAM}, 'Historical bench')`;
    await sql`select setseed(0.42)`;
    await sql`
      insert into members (program_id, first_name, last_name, universal_identifier, updated_at)
      select ${PROGRAM}, 'First' || i, 'Last-' || (i * 7) % 1000, 'uid-' || i, '2024-01-01T00:00:00Z' from generate_series(1, 20000) i`;
    await sql`
      insert into campaigns (program_id, name, publish_at, subject_line, preview, updated_at)
      select ${PROGRAM}, 'Campaign ' || i, '2024-11-01T09:00:00Z'::timestamptz + (i || ' days')::interval,
             'Subject line ' || i, 'Preview of campaign ' || i, '2024-01-01T00:00:00Z' from generate_series(1, 700) i`;
    const [{ m0, c0 }] = await sql<{ m0: number; c0: number }[]>`
      select (select min(id)::int from members where program_id = ${PROGRAM}) as m0, (select min(id)::int from campaigns where program_id = ${PROGRAM}) as c0`;
    const span = (RANGE_END.getTime() - RANGE_START.getTime()) / 1000;
    for (let from = 0; from < rows; from += 1_000_000) {
      const to = Math.min(rows, from + 1_000_000);
      await sql.unsafe(`
        insert into activity_events (program_id, content_id, user_id, event_type, platform, occurred_at, ingested_at)
        select ${PROGRAM}, ${c0} + (random() * 699)::int, ${m0} + (random() * 19999)::int,
               (array['like','share','email_open','feed_click','impression','open'])[1 + (random() * 5)::int],
               (array['web','ios','android'])[1 + (random() * 2)::int], ts - interval '5 minutes', ts
        from (select '${RANGE_START.toISOString()}'::timestamptz + (i::float8 / ${rows}) * ${span} * interval '1 second' as ts
              from generate_series(${from}, ${to - 1}) i) t`);
    }
    await sql.unsafe('vacuum analyze activity_events, members, campaigns');

    const folder = 'historical';
    const dir = path.join(sshd.rootDir, folder);
    mkdirSync(dir, { recursive: true });
    chownSync(dir, sshd.uid, sshd.gid);
    const connection = await createConnection(
      database,
      BENCH_ADMIN,
      PROGRAM,
      createConnectionSchema.parse({
        kind: 'sftp',
        frequency: 'daily',
        start_date: RANGE_END.toISOString(),
        contact_emails: ['data-team@customer.example'],
        host: sshd.host,
        port: sshd.port,
        folder,
        username: sshd.username,
        auth: { method: 'private_key', private_key: sshd.privateKey },
        host_key_fingerprint: sshd.hostKeyFingerprint,
      }),
      sftpSetupCheck(),
    );

    boss = createBoss(url);
    boss.on('error', (err: Error) => console.error(`pg-boss: ${err.message}`));
    await boss.start();
    await ensureQueues(boss);
    stopWorker = await registerQueues(boss, database);
    await sleep(2000); // the worker's start-up fetches are done

    console.log('historical request of 24 months through the jobs worker…');
    const t0 = performance.now();
    const request = await createHistoricalRequest(
      database,
      BENCH_ADMIN,
      PROGRAM,
      connection.id,
      createHistoricalRequestSchema.parse({ from: FROM }),
    );
    await enqueue(database, 'plan-windows', { historicalRequestId: request.id, reason: 'bench' });
    let firstMonth = NaN;
    let delivered = 0;
    for (;;) {
      const runs = await sql<{ status: string }[]>`select status from export_runs where historical_request_id = ${request.id}`;
      delivered = runs.filter((r) => r.status === 'delivered').length;
      if (delivered > 0 && Number.isNaN(firstMonth)) firstMonth = (performance.now() - t0) / 1000;
      if (runs.length === request.chunksTotal && delivered === runs.length) break;
      const failed = runs.filter((r) => r.status === 'failed' || r.status === 'cancelled').length;
      if (failed) throw new Error(`${failed} monthly runs failed`);
      await sleep(250);
    }
    const seconds = (performance.now() - t0) / 1000;
    const [{ total }] = await sql<{ total: number }[]>`
      select sum(rows_total)::int8 as total from export_runs where historical_request_id = ${request.id}`;
    const historicalRows = Number(total);
    await stopWorker();
    stopWorker = undefined;

    console.log('the export engine alone, the same rows as one window to local disk…');
    const out = path.join(tmp, 'engine');
    const e0 = performance.now();
    const engine = await generateExportFiles({
      sql,
      storage: new LocalStorage(out),
      keyPrefix: '',
      program: { id: PROGRAM, anonymizePii: false, pseudonymKey: '0'.repeat(64) },
      window: { start: RANGE_START, end: RANGE_END },
      exportType: 'historical',
      format: 'csv',
      runId: 'engine',
      connectionId: null,
      fileTypes: ['activity'],
      generatedAt: NOW,
    });
    const engineSeconds = (performance.now() - e0) / 1000;
    const engineRows = engine.files[0].rows;

    const rate = historicalRows / seconds;
    const engineRate = engineRows / engineSeconds;
    const ratio = rate / engineRate;
    const load = os.loadavg().map((l) => fmt(l, 1));
    const lines = [
      `${request.chunksTotal} monthly runs, ${historicalRows.toLocaleString('en-US')} rows, delivered to one OpenSSH sshd on 127.0.0.1: ${fmt(seconds)} s request → last month delivered, ${Math.round(rate).toLocaleString('en-US')} rows/s; first month delivered after ${fmt(firstMonth)} s`,
      `the export engine alone, the same ${engineRows.toLocaleString('en-US')} rows as one window to local disk: ${fmt(engineSeconds)} s, ${Math.round(engineRate).toLocaleString('en-US')} rows/s`,
      `load average at the end ${load.join(' / ')} (shared machine: wall-clock figures measured under load)`,
    ];
    const result = `RESULT historical months=${request.chunksTotal} rows=${historicalRows} ratio=${fmt(ratio)} first_month_s=${fmt(firstMonth, 1)}`;
    for (const l of lines) console.log(l);
    console.log(result);
    appendResults('bench:historical', [...lines, '`' + result + '`']);
  } finally {
    await stopWorker?.().catch(() => undefined);
    await boss?.stop({ graceful: false, wait: true }).catch(() => undefined);
    await database.sql.end({ timeout: 5 }).catch(() => undefined);
    await sshd.stop();
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
