// `npm start`: the single-machine supervisor. Embedded PostgreSQL when DATABASE_URL is unset →
// migrations → demo data on the first run → `next build` when no build exists → web + jobs as
// child processes → the URL and how to sign in. Ctrl-C / SIGTERM stops web and jobs first, then
// PostgreSQL, leaving no process behind; the next start reuses the data.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createDb, type Database } from '@/db/client';
import { startEmbedded, type EmbeddedServer } from '@/db/embedded';
import { migrateDatabase } from '@/db/migrate';
import { pingDatabase } from '@/db/queries/ops';
import { ensureInitialAdmin } from '@/lib/auth/initial-admin';
import { ConfigError, env, loadEnvFiles, resetEnv, sourceOf, type Env } from '@/lib/env';
import { demoOutboundAllowance } from '@/lib/net/outbound-policy';
import { checkStorage } from '@/lib/storage';
import { ensureDemoConnections, setUpDemo, startDemoSink, startDemoTrickle } from './demo';
import type { SftpSink } from './dev/sftp-sink';
import { redactUrl } from './commands/database';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function say(line: string) {
  process.stdout.write(`[dde] ${line}\n`);
}

function fail(message: string): never {
  process.stderr.write(`[dde] ${message}\n`);
  process.exit(1);
}

async function checkReachable(url: string): Promise<void> {
  const probe = createDb(url, { max: 1 });
  try {
    await Promise.race([
      pingDatabase(probe.sql),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 10 s')), 10_000)),
    ]);
  } catch (err) {
    fail(`Cannot reach the database at ${redactUrl(url)}: ${(err as Error).message}. Check DATABASE_URL.`);
  } finally {
    await probe.sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

/** Runs a child with its output prefixed, so web and jobs lines stay apart in one terminal. */
function launch(name: string, args: string[], childEnv: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${name}] ${line}\n`));
  }
  return child;
}

function waitForExit(child: ChildProcess, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function waitForHealth(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error('the web server exited during start-up');
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(3000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 400));
  }
  throw new Error(`the web server did not answer /api/health within ${timeoutMs / 1000} s`);
}

/** Newest modification time of the files the web build is made from. */
function newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ['app', 'components', 'lib', 'db']) walk(path.join(root, d));
  for (const f of ['next.config.js', 'package-lock.json', 'postcss.config.mjs']) {
    const p = path.join(root, f);
    if (existsSync(p)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** 'missing', 'stale' (sources changed since the last build) or 'fresh'. */
function buildState(): 'missing' | 'stale' | 'fresh' {
  const id = path.join(root, '.next', 'BUILD_ID');
  if (!existsSync(id)) return 'missing';
  return newestSource() > statSync(id).mtimeMs ? 'stale' : 'fresh';
}

/**
 * Runs `next build` with its own step lines prefixed `[build]`, a line every 20 s saying it is still
 * going, and its duration at the end. The type check is left to `npm run typecheck` (CI runs it on
 * every change): inside `npm start` it would only add time on a first start
 * (DDE_BUILD_TYPECHECK=1 brings it back).
 */
async function build(childEnv: NodeJS.ProcessEnv, state: 'missing' | 'stale'): Promise<void> {
  say(
    state === 'missing'
      ? 'No production build found: running `next build` (first start only; a few minutes on a small machine)…'
      : 'The sources changed since the last build: running `next build` again…',
  );
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  const child = launch('build', [require.resolve('next/dist/bin/next'), 'build'], {
    ...childEnv,
    DDE_BUILD_SKIP_TYPECHECK: childEnv.DDE_BUILD_TYPECHECK === '1' ? '' : '1',
  });
  const ticker = setInterval(() => say(`Still building (${seconds()} s so far)…`), 20_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve)).finally(() => clearInterval(ticker));
  if (code !== 0) fail('`next build` failed; see the output above.');
  say(`Build finished in ${seconds()} s.`);
}

async function main() {
  let e: Env;
  try {
    e = env();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }

  const files = loadEnvFiles();
  say(`Configuration: ${files.length ? `${files.join(', ')} (variables set in the environment win)` : 'the environment (no .env file)'}.`);
  // The export storage first: a bad bucket, wrong credentials or an unreachable endpoint stop here, named.
  await checkStorage().catch((err: Error) => fail(err.message));

  let server: EmbeddedServer | undefined;
  let url = e.databaseUrl;
  if (!url) {
    const dir = path.join(e.dataDir, 'postgres');
    say(`Starting embedded PostgreSQL (data in ${path.relative(root, dir) || dir})…`);
    try {
      server = await startEmbedded({ dir, password: e.embeddedPgPassword });
    } catch (err) {
      fail(`Embedded PostgreSQL failed to start: ${(err as Error).message || String(err)}`);
    }
    url = server.url();
    if (server.dataDir !== dir) say(`PostgreSQL data folder: ${server.dataDir} (linked from ${path.relative(root, dir) || dir}).`);
    if (server.binDir && !server.binDir.startsWith(root + path.sep)) say(`PostgreSQL binaries: ${server.binDir}.`);
    say(
      server.owned
        ? `PostgreSQL is running on 127.0.0.1:${server.port}.`
        : `Reusing the embedded PostgreSQL already running on 127.0.0.1:${server.port}.`,
    );
    say(`Database: embedded PostgreSQL, ${redactUrl(url)}.`);
  } else {
    say(`Database: ${redactUrl(url)} (DATABASE_URL from ${sourceOf('DATABASE_URL') ?? 'the environment'}).`);
    await checkReachable(url);
  }
  await migrateDatabase(url);
  say('Database migrations applied.');

  const database: Database = createDb(url, { max: 3 });
  let sink: SftpSink | undefined;
  if (e.demo) {
    await setUpDemo(database, say);
    try {
      const demo = await startDemoSink(e.dataDir);
      sink = demo.sink;
      // The outbound policy refuses loopback: the demo allows exactly its own SFTP server (here and in web and jobs).
      resetEnv({ DDE_OUTBOUND_ALLOWED_NETWORKS: demoOutboundAllowance(e.outboundAllowedNetworks, sink.port) });
      say(
        `Demo SFTP server on 127.0.0.1:${sink.port}; delivered files appear in ${path.relative(root, demo.sink.rootDir) || demo.sink.rootDir}.`,
      );
      await ensureDemoConnections(database, demo.sink, demo.config, say);
    } catch (err) {
      say(`The demo SFTP server could not start (${(err as Error).message}); the demo runs without it.`);
    }
  }
  const admin = await ensureInitialAdmin(database);

  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL: url,
    NEXTAUTH_SECRET: e.nextAuthSecret,
    NEXTAUTH_URL: e.nextAuthUrl,
    DDE_ENCRYPTION_KEY: e.encryptionKey.toString('hex'),
    DDE_DATA_DIR: e.dataDir,
    PORT: String(e.port),
  };
  const state = buildState();
  if (state !== 'fresh') await build(childEnv, state);

  const web = launch('web', [require.resolve('next/dist/bin/next'), 'start', '-p', String(e.port)], childEnv);
  const jobs = launch('jobs', ['--import', 'tsx', path.join(root, 'jobs', 'index.ts')], childEnv);
  const stopTrickle = e.demo ? startDemoTrickle(database) : () => undefined;

  let stopping = false;
  const shutdown = async (code: number, reason: string) => {
    if (stopping) return;
    stopping = true;
    say(`Stopping (${reason})…`);
    stopTrickle();
    for (const c of [web, jobs]) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all([waitForExit(web, 30_000), waitForExit(jobs, 30_000)]);
    await sink?.close().catch(() => undefined);
    await database.sql.end({ timeout: 5 }).catch(() => undefined);
    if (server?.owned) await server.stop();
    say('Stopped.');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0, 'SIGINT'));
  process.on('SIGTERM', () => void shutdown(0, 'SIGTERM'));
  for (const [name, c] of [
    ['web', web],
    ['jobs', jobs],
  ] as const) {
    c.once('exit', (code, signal) => {
      if (!stopping) void shutdown(1, `${name} exited with ${signal ?? `code ${code}`}`);
    });
  }

  try {
    await waitForHealth(e.port, web, 120_000);
  } catch (err) {
    await shutdown(1, (err as Error).message);
    return;
  }
  say(`DDE is ready at http://localhost:${e.port}`);
  if (admin) {
    say(
      admin.generated
        ? `Sign in as ${admin.email} with this one-time password (shown once, you will be asked to change it): ${admin.password}`
        : `Sign in as ${admin.email} with the password from DDE_INITIAL_ADMIN_PASSWORD.`,
    );
  } else {
    say('Sign in with your account. Create more with `npx dde users create --help`.');
  }
}

main().catch((err: Error) => fail(`start failed: ${err.message}`));
