// The operator's command line: `dde --version`, `dde status` (database, migrations, workers,
// connections, windows due and late, failures of the last 24 h), `.env` files read by the CLI the
// way `next start` reads them (the environment wins), and the progress line of seed and export.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections, deliveries, exportRuns, programs } from '@/db/schema';
import { freePort } from '@/db/embedded';
import { env } from '@/lib/env';
import { progress } from '@/scripts/commands/output';
import { run as status } from '@/scripts/commands/status';
import { useTestEnv } from './helpers/auth';
import { consoleOutput } from './helpers/console';
import { createTestDatabase, type TestDatabase } from './helpers/db';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let t: TestDatabase;
let cwd: string;

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  cwd = mkdtempSync(path.join(os.tmpdir(), 'dde-cli-env-'));
});
afterAll(async () => {
  await t?.drop();
  rmSync(cwd, { recursive: true, force: true });
});

/** The real CLI in a child process, run from `dir` with exactly `vars` (plus PATH) as its environment. */
function cli(
  args: string[],
  dir: string,
  vars: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(ROOT, 'scripts/cli.ts'), ...args], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json'),
        ...vars,
      } as unknown as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('dde --version', () => {
  it('prints the version', async () => {
    const r = await cli(['--version'], ROOT);
    expect([r.code, r.stdout.trim()]).toEqual([0, 'dde 0.1.0']);
  });
});

describe('.env files', () => {
  it('are read by the CLI like next start reads them: .env.local over .env, and the environment over both', async () => {
    const closed = `postgres://dde:wrong@127.0.0.1:${await freePort()}/dde`;
    const secrets = `NEXTAUTH_SECRET=${env().nextAuthSecret}\nDDE_ENCRYPTION_KEY=${'cd'.repeat(32)}\nLOG_LEVEL=silent\n`;
    writeFileSync(path.join(cwd, '.env'), `# comments and quotes as next reads them\nDATABASE_URL="${closed}"\n${secrets}`);
    const fromEnvFile = await cli(['status'], cwd);
    expect(fromEnvFile.stdout).toMatch(
      /Database +NOT REACHABLE — postgres:\/\/dde:\*\*\*@127\.0\.0\.1:\d+\/dde \(DATABASE_URL from \.env\)/,
    );
    expect(fromEnvFile.stdout).not.toContain('wrong');
    expect(fromEnvFile.code).toBe(1);

    writeFileSync(path.join(cwd, '.env.local'), `DATABASE_URL=${t.url}\n`);
    const fromLocal = await cli(['status'], cwd);
    expect(fromLocal.stdout).toMatch(/Database +ok — PostgreSQL \d+/);
    expect(fromLocal.stdout).toContain('(DATABASE_URL from .env.local)');

    const fromEnvironment = await cli(['status'], cwd, { DATABASE_URL: t.url });
    expect(fromEnvironment.stdout).toContain('(DATABASE_URL from the environment)');
    rmSync(path.join(cwd, '.env.local'));
  });
});

describe('dde status', () => {
  it('reports database, migrations, workers, connections by status, windows due and late, and the last 24 h of failures', async () => {
    await t.db.insert(programs).values({ id: 81, name: 'Status Co' });
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
    const [active, , late] = await t.db
      .insert(connections)
      .values([
        // Planned up to an hour ago: nothing due.
        {
          programId: 81,
          kind: 'api',
          frequency: 'every_4_hours',
          startDate: hoursAgo(48),
          plannedThrough: new Date(Date.now() + 3_600_000),
        },
        { programId: 81, kind: 'api', frequency: 'daily', startDate: hoursAgo(48), status: 'paused' },
        // Never planned and 2 daily windows closed long ago, whatever the time of day (they end a day
        // before today's midnight, past any settle delay and grace): both due, both late.
        {
          programId: 81,
          kind: 'api',
          frequency: 'daily',
          startDate: new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 3 * 86_400_000),
          endDate: new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000),
        },
      ])
      .returning();
    await t.db.insert(exportRuns).values([
      {
        connectionId: active.id,
        programId: 81,
        exportType: 'incremental',
        windowStart: hoursAgo(12),
        windowEnd: hoursAgo(8),
        status: 'planned',
      },
      {
        connectionId: active.id,
        programId: 81,
        exportType: 'incremental',
        windowStart: hoursAgo(8),
        windowEnd: hoursAgo(4),
        status: 'failed',
        finishedAt: hoursAgo(1),
      },
      {
        connectionId: active.id,
        programId: 81,
        exportType: 'incremental',
        windowStart: hoursAgo(4),
        windowEnd: hoursAgo(0.1),
        status: 'generating',
      },
    ]);
    const [failedRun] = await t.db
      .insert(exportRuns)
      .values({
        connectionId: late.id,
        programId: 81,
        exportType: 'historical',
        windowStart: hoursAgo(30),
        windowEnd: hoursAgo(29),
        status: 'failed',
        finishedAt: hoursAgo(30),
      })
      .returning();
    await t.db.insert(deliveries).values([
      {
        runId: failedRun.id,
        connectionId: late.id,
        programId: 81,
        destination: 'sftp://x',
        attempt: 1,
        status: 'failed',
        errorCode: 'refused',
        finishedAt: hoursAgo(2),
      },
      {
        runId: failedRun.id,
        connectionId: late.id,
        programId: 81,
        destination: 'sftp://x',
        attempt: 2,
        status: 'failed',
        errorCode: 'refused',
        finishedAt: hoursAgo(1),
      },
      {
        runId: failedRun.id,
        connectionId: late.id,
        programId: 81,
        destination: 'sftp://x',
        attempt: 3,
        status: 'failed',
        errorCode: 'auth_failed',
        finishedAt: hoursAgo(26),
      },
    ]);

    const before = await consoleOutput(status, []);
    expect(process.exitCode).toBe(1); // no worker
    process.exitCode = undefined;
    expect(before).toMatch(/^DDE +0\.1\.0$/m);
    expect(before).toMatch(
      /^Database +ok — PostgreSQL \d+[\d.]*, postgres:\/\/postgres(:\*\*\*)?@127\.0\.0\.1:\d+\/dde_t_\w+ \(DATABASE_URL from the environment\)$/m,
    );
    expect(before).toMatch(/^Migrations +current \(\d+ applied\)$/m);
    expect(before).toMatch(/^Workers +NONE SEEN in the last 24 h — exports are not running/m);
    expect(before).toMatch(/^Connections +2 active, 1 paused$/m);
    // 2 in the ledger (planned 8 h ago — late —, generating), 2 never planned (late).
    expect(before).toMatch(/^Windows +4 windows due, 3 late \(2 not planned yet\); oldest due window ended \d{4}-\d{2}-\d{2}T00:00:00Z$/m);
    expect(before).toMatch(/^Failures 24 h +1 run failed, 2 delivery attempts failed \(refused 2\)$/m);

    await t.sql`insert into worker_heartbeats (id, hostname, pid, version) values ('w:1:abc', 'worker-a', 321, '0.1.0')`;
    const after = await consoleOutput(status, []);
    expect(process.exitCode).toBeUndefined();
    expect(after).toMatch(/^Workers +1 worker running: worker-a pid 321 \(seen \d+ s ago\)$/m);
    const json = JSON.parse(await consoleOutput(status, ['--json'])) as { ok: boolean; windows: { due: number; late: number } };
    expect(json).toMatchObject({ ok: true, windows: { due: 4, late: 3 } });
  });

  it('says so when the database does not answer, without its password', async () => {
    const r = await cli(['status'], ROOT, {
      DATABASE_URL: `postgres://dde:hunter2-secret@127.0.0.1:${await freePort()}/dde`,
      NEXTAUTH_SECRET: env().nextAuthSecret,
      DDE_ENCRYPTION_KEY: 'ab'.repeat(32),
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^Database +NOT REACHABLE — postgres:\/\/dde:\*\*\*@127\.0\.0\.1:\d+\/dde \(DATABASE_URL from the environment\): .+/m,
    );
    expect(r.stdout + r.stderr).not.toContain('hunter2');
  });
});

describe('the progress line of dde seed and dde export', () => {
  it('on a terminal rewrites one line with percent done and time left', async () => {
    const out: string[] = [];
    const bar = progress('seed', { tty: true, write: (s) => out.push(s) });
    bar.update('events 0/1,000', 0, 1000);
    await new Promise((r) => setTimeout(r, 600));
    bar.update('events 500/1,000', 500, 1000);
    bar.done('done in 1.2 s');
    expect(out[0]).toBe('\rseed:   0.0% events 0/1,000 — estimating left\x1b[K');
    expect(out[1]).toMatch(/^\rseed: {2}50\.0% events 500\/1,000 — \d+ s left\x1b\[K$/);
    expect(out[2]).toBe('\rseed: done in 1.2 s\x1b[K\n');
  });

  it('elsewhere prints plain lines, at most one every 2 s by default', () => {
    const out: string[] = [];
    const bar = progress('export', { tty: false, write: (s) => out.push(s) });
    bar.update('activity: 10 rows', 10, 40);
    bar.update('activity: 20 rows', 20, 40); // within 2 s of the last: not printed
    bar.done('1 window, 3 files');
    expect(out).toEqual(['export:  25.0% activity: 10 rows — estimating left\n', 'export: 1 window, 3 files\n']);
    expect(out.join('')).not.toContain('\r');
  });

  it('dde seed without a terminal ends with a plain done line', async () => {
    const r = await cli(['seed', '--program', '82', '--users', '20', '--campaigns', '2', '--events', '500', '--days', '1'], ROOT, {
      DATABASE_URL: t.url,
      NEXTAUTH_SECRET: env().nextAuthSecret,
      DDE_ENCRYPTION_KEY: 'ab'.repeat(32),
      LOG_LEVEL: 'silent',
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^seed: done in \d+\.\d s$/m);
    expect(r.stderr).not.toContain('\r');
    expect(r.stdout).toContain('Program 82: 20 users, 2 campaigns, 500 events');
  });
});
