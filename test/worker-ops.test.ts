// The real jobs worker (`npm run jobs`): it writes its heartbeat, serves its own /metrics on
// DDE_JOBS_METRICS_PORT (loopback by default), and marks itself stopped on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@/db/embedded';
import { workerStatus } from '@/lib/health';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let worker: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  if (worker && worker.exitCode === null) worker.kill('SIGKILL');
  await t?.drop();
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not happen within ${ms / 1000} s; worker output:\n${output}`);
}

describe('the jobs worker', () => {
  it('beats, serves /metrics on its port, and is seen stopped after SIGTERM', async () => {
    const port = await freePort();
    worker = spawn(process.execPath, ['--import', 'tsx', 'jobs/index.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: t.url,
        NEXTAUTH_SECRET: 'worker-ops-secret-0123456789abcdef0123456789',
        DDE_ENCRYPTION_KEY: 'ef'.repeat(32),
        DDE_JOBS_METRICS_PORT: String(port),
        DDE_METRICS_TOKEN: '',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (d) => (output += d));
    worker.stderr!.on('data', (d) => (output += d));

    const text = await until('the worker metrics', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      return res.status === 200 ? res.text() : undefined;
    });
    expect(text).toMatch(/^dde_workers_alive 1$/m);
    expect(text).toMatch(/^dde_queue_jobs\{queue="plan-windows",state="(created|active)"\} \d+$/m);
    expect(output).toMatch(/jobs worker metrics listening/);
    const alive = await workerStatus(t.sql);
    expect(alive).toMatchObject({ running: true, alive: 1 });
    expect(alive.newest?.pid).toBe(worker.pid);

    worker.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => worker!.once('exit', resolve));
    expect(code).toBe(0);
    const after = await workerStatus(t.sql);
    expect(after).toMatchObject({ running: false, alive: 0 });
    expect(after.newest?.stopped_at).not.toBeNull();
  }, 120_000);
});
