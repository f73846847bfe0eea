// Live progress written by the worker: while a run is exported, the rows written so far; while it
// is uploaded to a real OpenSSH sshd (behind a slow network), the bytes acknowledged of the total —
// each at most about once a second, and shown by the event history's API while it happens. Every
// progress write is logged by a trigger in the test database, so the count and spacing of the
// writes are the database's own record.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as runsRoute } from '@/app/api/v1/connections/[id]/runs/route';
import { closeDatabase } from '@/db/client';
import { exportFiles, exportRuns, type Connection } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { createConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { sftpSetupCheck } from '@/lib/connections/sftp-check';
import type { Run } from '@/lib/management/responses';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { executeExportRun } from '@/lib/runs/export-run';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { setStorage } from '@/lib/storage';
import { checkAnswer } from './helpers/api-answers';
import { createAccount, OPS_ADMIN, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { startSlowProxy } from './helpers/delivery';
import { sshdSkipReason, startSshd, type TestSshd } from './helpers/sshd';

const skipSshd = sshdSkipReason();
if (skipSshd) console.warn(`Skipping the delivery progress test: ${skipSshd}`);

let t: TestDatabase;
let dataDir: string;
let cookie: string;
const PROGRAM = 71;
const until = new Date('2026-11-20T00:00:00Z');

type Logged = { runId: string; status: string; rows: number; bytesDone: number; bytesTotal: number | null; at: Date };

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-progress-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined });
  setStorage(undefined);
  // Enough activity for a window whose export takes a few seconds and reports many times.
  await seedProgram(t, { programId: PROGRAM, users: 300, campaigns: 10, events: 200_000, days: 1, seed: 7, until });
  setClock(new Date(until.getTime() + 10 * 60_000));
  cookie = await sessionCookie(await createAccount(t.db, { role: 'firstup_super_admin' }));
  await t.sql.unsafe(`
    create table progress_log (
      run_id uuid, delivery_id uuid, status text, rows_written bigint, bytes_done bigint, bytes_total bigint,
      at timestamptz not null default clock_timestamp());
    create function log_run_progress() returns trigger language plpgsql as $$ begin
      if new.progress_at is not null and new.progress_at is distinct from old.progress_at then
        insert into progress_log (run_id, status, rows_written) values (new.id, new.status, new.rows_written);
      end if;
      return new;
    end $$;
    create trigger export_runs_progress after update on export_runs for each row execute function log_run_progress();
    create function log_delivery_progress() returns trigger language plpgsql as $$ begin
      if new.progress_at is not null and new.progress_at is distinct from old.progress_at then
        insert into progress_log (run_id, delivery_id, status, bytes_done, bytes_total)
          values (new.run_id, new.id, new.status, new.bytes_done, new.bytes_total);
      end if;
      return new;
    end $$;
    create trigger deliveries_progress after update on deliveries for each row execute function log_delivery_progress();`);
}, 180_000);

afterAll(async () => {
  resetClock();
  await closeDatabase();
  await t?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function logged(runId: string, kind: 'export' | 'delivery'): Promise<Logged[]> {
  const rows = await t.db.execute<{
    run_id: string;
    status: string;
    rows_written: string | null;
    bytes_done: string | null;
    bytes_total: string | null;
    at: Date;
  }>(
    sql`select * from progress_log where run_id = ${runId} and delivery_id is ${kind === 'export' ? sql`null` : sql`not null`} order by at`,
  );
  return [...rows].map((r) => ({
    runId: r.run_id,
    status: r.status,
    rows: Number(r.rows_written ?? 0),
    bytesDone: Number(r.bytes_done ?? 0),
    bytesTotal: r.bytes_total === null ? null : Number(r.bytes_total),
    at: new Date(r.at),
  }));
}

/**
 * Consecutive writes are about a second apart (the throttle). The worker starts them a second apart;
 * the database logs them when they arrive, and one may have waited for a connection of the pool the
 * export's COPYs are using: some slack.
 */
function expectThrottled(writes: Logged[]) {
  for (let i = 1; i < writes.length; i++) expect(writes[i].at.getTime() - writes[i - 1].at.getTime()).toBeGreaterThanOrEqual(700);
}

async function runsPage(connectionId: string): Promise<Run[]> {
  const url = `/api/v1/connections/${connectionId}/runs?program=${PROGRAM}`;
  const res = await runsRoute(request('GET', url, { cookie }), { params: Promise.resolve({ id: connectionId }) });
  await checkAnswer('GET', url, res);
  return ((await res.json()) as { data: Run[] }).data;
}

describe.skipIf(!!skipSshd)('live progress of a run, exported and delivered to a real OpenSSH server over a slow network', () => {
  let sshd: TestSshd;
  let proxy: Awaited<ReturnType<typeof startSlowProxy>>;
  let connection: Connection;
  let runId: string;

  beforeAll(async () => {
    sshd = await startSshd();
    proxy = await startSlowProxy({ host: sshd.host, port: sshd.port }, { bytesPerSecond: Infinity });
    spawnSync('install', ['-d', '-o', String(sshd.uid), '-g', String(sshd.gid), path.join(sshd.rootDir, 'warehouse')]);
    connection = await createConnection(
      t,
      OPS_ADMIN,
      PROGRAM,
      createConnectionSchema.parse({
        kind: 'sftp',
        frequency: 'daily',
        start_date: new Date(until.getTime() - 86_400_000).toISOString(),
        contact_emails: ['data-team@customer.example'],
        host: proxy.host,
        port: proxy.port,
        folder: 'warehouse',
        username: sshd.username,
        auth: { method: 'private_key', private_key: sshd.privateKey },
        host_key_fingerprint: sshd.hostKeyFingerprint,
      }),
      sftpSetupCheck(),
    );
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    [{ id: runId }] = await t.db.select({ id: exportRuns.id }).from(exportRuns).where(eq(exportRuns.connectionId, connection.id));
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await sshd?.stop();
  });

  it('writes the rows exported so far while the run is generating, at most about once a second', async () => {
    const started = performance.now();
    const outcome = await executeExportRun(t, runId);
    const seconds = (performance.now() - started) / 1000;
    expect(outcome).toMatchObject({ status: 'generated' });
    const [run] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, runId));
    const writes = await logged(runId, 'export');
    expect(writes.length, `progress writes during an export of ${seconds.toFixed(1)} s`).toBeGreaterThanOrEqual(1);
    expect(writes.length).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    for (const w of writes) {
      expect(w.status).toBe('generating');
      expect(w.rows).toBeGreaterThan(0);
      expect(w.rows).toBeLessThanOrEqual(run.rowsTotal);
    }
    expect(writes.map((w) => w.rows)).toEqual([...writes.map((w) => w.rows)].sort((a, b) => a - b));
    expectThrottled(writes);
  });

  it('writes the bytes uploaded of the total while it is delivering, and the event history shows them with the time left', async () => {
    const files = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, runId));
    const dataBytes = files.reduce((n, f) => n + f.bytes, 0);
    // About four seconds of upload.
    proxy.bytesPerSecond = Math.max(64 * 1024, Math.round(dataBytes / 4));

    const started = performance.now();
    const delivering = executeDelivery(t, runId);
    let seen: Run['progress'] = null;
    while (performance.now() - started < 30_000) {
      const [run] = (await runsPage(connection.id)).filter((r) => r.id === runId);
      if (run.status !== 'delivering' && run.status !== 'generated') break;
      if (run.progress?.bytes_done && run.progress.eta_seconds !== null) {
        seen = run.progress;
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const outcome = await delivering;
    const seconds = (performance.now() - started) / 1000;
    expect(outcome).toMatchObject({ status: 'delivered' });

    // The page saw the upload part-way: bytes of the total, and a time left.
    const [run] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, runId));
    expect(seen).toMatchObject({ step: 'delivery', rows_written: run.rowsTotal });
    expect(seen!.bytes_done).toBeGreaterThan(0);
    expect(seen!.bytes_done).toBeLessThan(seen!.bytes_total!);
    expect(seen!.bytes_total).toBeGreaterThan(dataBytes); // data files, manifest and the checksum sidecars
    expect(seen!.eta_seconds).toBeGreaterThanOrEqual(0);

    const writes = await logged(runId, 'delivery');
    expect(writes.length, `progress writes during a delivery of ${seconds.toFixed(1)} s`).toBeGreaterThanOrEqual(2);
    expect(writes.length).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    for (const w of writes) {
      expect(w.status).toBe('running');
      expect(w.bytesTotal).toBe(seen!.bytes_total);
      expect(w.bytesDone).toBeLessThanOrEqual(w.bytesTotal!);
    }
    expect(writes.map((w) => w.bytesDone)).toEqual([...writes.map((w) => w.bytesDone)].sort((a, b) => a - b));
    expectThrottled(writes);

    // Delivered: the history shows the run's totals, no progress.
    const [done] = (await runsPage(connection.id)).filter((r) => r.id === runId);
    expect([done.status, done.progress]).toEqual(['delivered', null]);
  });
});
