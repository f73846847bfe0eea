// Starts the real product for the specs: an SMTP listener on 127.0.0.1 (each message it receives is
// written to E2E_MAIL_DIR as JSON), then `npm start` on a fresh data dir (embedded PostgreSQL, demo
// programs, first admin from DDE_INITIAL_ADMIN_*, mail to that listener), waits for "DDE is ready at
// http://", creates a Brand Super Admin with `dde users create`, and returns the teardown that stops
// everything. The specs start their own SFTP servers (a real OpenSSH sshd, a stalling one).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSmtp } from '../test/helpers/smtp';
import { e2eSql } from './db';
import { BRAND, E2E_BASE_URL, E2E_PORT, FIRSTUP, type ProgramInfo } from './fixtures';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const READY = /DDE is ready at http:\/\//;
// A bound, not a wait: a cold `next build` on a busy 2-core machine has taken over 7 min.
const START_TIMEOUT_MS = 15 * 60_000;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** The product's environment: a fresh data dir and nothing inherited that would point elsewhere. */
function productEnv(dataDir: string, smtpUrl: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env };
  for (const k of [
    'DATABASE_URL',
    'NEXTAUTH_SECRET',
    'DDE_ENCRYPTION_KEY',
    'TEST_DATABASE_URL',
    'OIDC_ISSUER',
    'OIDC_CLIENT_ID',
    'OIDC_CLIENT_SECRET',
    'NODE_ENV',
    // The product turns Next.js telemetry off itself (next.config.js); CI's own setting must not hide it.
    'NEXT_TELEMETRY_DISABLED',
  ])
    delete e[k];
  return {
    ...e,
    PORT: String(E2E_PORT),
    DDE_DATA_DIR: dataDir,
    NEXTAUTH_URL: E2E_BASE_URL,
    DDE_INITIAL_ADMIN_EMAIL: FIRSTUP.email,
    DDE_INITIAL_ADMIN_PASSWORD: FIRSTUP.password,
    DDE_DEMO: 'true',
    SMTP_URL: smtpUrl,
    SMTP_FROM: 'DDE <dde@e2e.example.com>',
    LOG_LEVEL: 'info',
    // The SFTP specs deliver to OpenSSH servers on 127.0.0.1, which the outbound policy refuses by default.
    DDE_OUTBOUND_ALLOWED_NETWORKS: '127.0.0.1/32',
    // One account runs every spec's connection tests back to back (the rotation and SFTP specs alone
    // make more than 10 within a minute); the limit itself is tested in test/security-sftp.test.ts.
    DDE_CONNECTION_TESTS_PER_MINUTE: '120',
  };
}

/** Set when anything `npm start` printed mentions Next.js telemetry (it must be off). */
let announcedTelemetry = false;

function waitForReady(child: ChildProcess, logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile);
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`npm start did not print "DDE is ready" within ${START_TIMEOUT_MS / 60_000} min; see ${logFile}`)),
      START_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      if (/telemetry/i.test(chunk.toString())) announcedTelemetry = true;
      seen = (seen + chunk.toString()).slice(-4000);
      if (READY.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (/telemetry/i.test(chunk.toString())) announcedTelemetry = true;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${signal ?? `code ${code}`}) before it was ready. Last output:\n${seen}`));
    });
  });
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGTERM to the whole process group (npm does not pass signals on), then whatever is left is killed. */
async function stopProduct(child: ChildProcess, dataDir: string): Promise<void> {
  const group = -child.pid!;
  try {
    process.kill(group, 'SIGTERM');
  } catch {
    /* already gone */
  }
  if (!(await exited(child, 60_000))) {
    try {
      process.kill(group, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  // The supervisor stops PostgreSQL itself; make sure no server outlives a crashed supervisor.
  const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    try {
      process.kill(pid, 'SIGINT');
      await new Promise((r) => setTimeout(r, 3000));
    } catch {
      /* not running */
    }
  }
}

async function programs(dataDir: string): Promise<ProgramInfo[]> {
  const sql = e2eSql(dataDir);
  try {
    return await sql<ProgramInfo[]>`select id::int as id, name from programs order by name, id`;
  } finally {
    await sql.end({ timeout: 2 });
  }
}

export default async function globalSetup() {
  if (!existsSync('/usr/bin/chromium')) throw new Error('Debian Chromium is missing: apt-get install -y chromium');
  if (!(await portIsFree(E2E_PORT))) throw new Error(`Port ${E2E_PORT} is in use; set E2E_PORT to a free port.`);

  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-e2e-'));
  const logDir = path.join(root, 'test-results');
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, 'e2e-server.log');
  const mailDir = path.join(dataDir, 'e2e-mail');
  mkdirSync(mailDir);
  // Each message the listener accepts is written to E2E_MAIL_DIR as <n>.json (the specs read them).
  let mails = 0;
  const smtp = await startSmtp({
    onMessage: (mail) => writeFileSync(path.join(mailDir, `${String(++mails).padStart(4, '0')}.json`), JSON.stringify(mail)),
  });
  const env = productEnv(dataDir, smtp.url);

  const child = spawn('npm', ['start'], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await waitForReady(child, logFile);
    // A self-hosted install never phones home: Next.js announces its telemetry on the first build
    // unless it is off.
    if (announcedTelemetry) {
      throw new Error(`npm start's build announced Next.js telemetry (see ${logFile}): it must be off.`);
    }

    const all = await programs(dataDir);
    if (all.length < 2) throw new Error(`expected the demo programs, found ${all.length}`);
    const brand = [...all].sort((a, b) => a.id - b.id)[0];
    const created = spawnSync(
      'npx',
      [
        'tsx',
        'scripts/cli.ts',
        'users',
        'create',
        '--email',
        BRAND.email,
        '--role',
        'brand_super_admin',
        '--program',
        String(brand.id),
        '--name',
        'Brenda Brand',
        '--password-stdin',
      ],
      { cwd: root, env, input: `${BRAND.password}\n`, encoding: 'utf8', timeout: 120_000 },
    );
    if (created.status !== 0) throw new Error(`dde users create failed (${created.status}): ${created.stderr || created.stdout}`);

    process.env.E2E_DATA_DIR = dataDir;
    process.env.E2E_MAIL_DIR = mailDir;
    process.env.E2E_PROGRAMS = JSON.stringify({ all, brand });
  } catch (err) {
    await stopProduct(child, dataDir);
    await smtp.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }

  return async () => {
    await stopProduct(child, dataDir);
    await smtp.close();
    if (!process.env.E2E_KEEP_DATA) rmSync(dataDir, { recursive: true, force: true });
  };
}
