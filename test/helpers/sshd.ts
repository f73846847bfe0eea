// A real OpenSSH sshd (Debian's openssh-server) for the delivery tests: a temporary sshd_config,
// host key and user key in a temp dir, listening on a free 127.0.0.1 port, serving SFTP
// (internal-sftp) rooted at rootDir. Run as root, it logs in a dedicated unprivileged user, so
// folder permissions apply as on a customer's server; otherwise it logs in the current user.
// Under CI=true a missing sshd is a failure (sshdUnavailable() → requireSshd throws), never a skip.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@/db/embedded';
import { publicKeyLineFingerprint } from '@/lib/delivery/fingerprint';
import { generateEd25519KeyPair } from '@/scripts/dev/sftp-sink';

export const SSHD_PATH = '/usr/sbin/sshd';
/** The unprivileged account the harness logs in as when the tests run as root. */
export const TEST_USER = 'ddesftp';
/** Its password (set with chpasswd); a test credential for a loopback-only server. */
export const TEST_PASSWORD = 'dde-sftp-test-password';

export type TestSshd = {
  host: string;
  port: number;
  username: string;
  /** OpenSSH-format private key authorized for `username`. */
  privateKey: string;
  publicKey: string;
  /** Set when password authentication works (root runs: the dedicated user has a password). */
  password?: string;
  hostKeyFingerprint: string;
  /** The login folder (internal-sftp -d); relative folders resolve under it. Owned by `username`. */
  rootDir: string;
  /** The harness's temp dir (config, keys, log). */
  dir: string;
  uid: number;
  gid: number;
  /** sshd's log (stderr) so far. */
  log(): string;
  /** Stops sshd and every session process (SIGTERM), then removes the temp dir unless keep is set. */
  stop(options?: { keep?: boolean }): Promise<void>;
  /** SIGKILL to sshd and every session process: the server "dies" mid-transfer. */
  kill(): Promise<void>;
  /** Starts sshd again with the same config, keys and port (after kill or stop({ keep: true })). */
  restart(): Promise<void>;
  /** Replaces the host key (the fingerprint changes) and restarts. */
  rotateHostKey(): Promise<string>;
};

/** Why the real sshd cannot run here, or null. */
export function sshdUnavailable(): string | null {
  if (!existsSync(SSHD_PATH)) return `${SSHD_PATH} is missing (apt-get install -y openssh-server)`;
  if (process.platform !== 'linux') return 'the sshd harness needs Linux';
  return null;
}

/** In CI a missing sshd fails the suite; elsewhere the caller may skip with the returned reason. */
export function sshdSkipReason(): string | null {
  const reason = sshdUnavailable();
  if (reason && process.env.CI === 'true') throw new Error(`CI=true requires a real OpenSSH sshd: ${reason}`);
  return reason;
}

function run(cmd: string, args: string[], input?: string): void {
  execFileSync(cmd, args, { input, stdio: ['pipe', 'ignore', 'pipe'] });
}

/** Creates the dedicated test user (idempotent; parallel test files may race, so retry). */
function ensureTestUser(): { uid: number; gid: number } {
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const quiet = { stdio: ['ignore', 'pipe', 'ignore'] as ('ignore' | 'pipe')[] };
      const uid = Number(execFileSync('id', ['-u', TEST_USER], quiet).toString().trim());
      const gid = Number(execFileSync('id', ['-g', TEST_USER], quiet).toString().trim());
      const shadow = readFileSync('/etc/shadow', 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`${TEST_USER}:`));
      // A locked or passwordless account is refused by sshd even for key logins (UsePAM no).
      if (!shadow || /^[^:]+:[!*]/.test(shadow)) run('chpasswd', [], `${TEST_USER}:${TEST_PASSWORD}\n`);
      return { uid, gid };
    } catch {
      try {
        run('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', TEST_USER]);
      } catch {
        // Another test file may be creating it at the same moment (lock on /etc/passwd).
      }
      execFileSync('sleep', ['0.2']);
    }
  }
  throw new Error(`could not create the test user ${TEST_USER}`);
}

function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // The process went away while we looked.
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function signalTree(pid: number, signal: NodeJS.Signals): void {
  for (const p of [...descendants(pid), pid]) {
    try {
      process.kill(p, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Starts a real sshd on 127.0.0.1. Check sshdSkipReason() first. */
export async function startSshd(): Promise<TestSshd> {
  const reason = sshdUnavailable();
  if (reason) throw new Error(reason);
  const isRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dde-sshd-'));
  chmodSync(dir, 0o755);
  const rootDir = path.join(dir, 'home');
  mkdirSync(rootDir, { mode: 0o755 });
  let username: string;
  let uid: number;
  let gid: number;
  let password: string | undefined;
  if (isRoot) {
    ({ uid, gid } = ensureTestUser());
    username = TEST_USER;
    password = TEST_PASSWORD;
    chownSync(rootDir, uid, gid);
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  } else {
    username = os.userInfo().username;
    uid = process.getuid?.() ?? 0;
    gid = process.getgid?.() ?? 0;
  }

  const hostKeyPath = path.join(dir, 'ssh_host_ed25519_key');
  const writeHostKey = () => {
    const pair = generateEd25519KeyPair({ comment: 'dde-test-host' });
    writeFileSync(hostKeyPath, pair.private, { mode: 0o600 });
    writeFileSync(`${hostKeyPath}.pub`, `${pair.public}\n`, { mode: 0o644 });
    return publicKeyLineFingerprint(pair.public);
  };
  let hostKeyFingerprint = writeHostKey();
  const user = generateEd25519KeyPair({ comment: 'dde-test-user' });
  writeFileSync(path.join(dir, 'authorized_keys'), `${user.public}\n`, { mode: 0o644 });

  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKeyPath}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `AllowUsers ${username}`,
      'StrictModes no',
      'UsePAM no',
      'PubkeyAuthentication yes',
      `PasswordAuthentication ${password ? 'yes' : 'no'}`,
      'KbdInteractiveAuthentication no',
      'PermitRootLogin no',
      'UseDNS no',
      'PrintMotd no',
      'MaxStartups 100:30:200',
      'MaxAuthTries 6',
      'LogLevel VERBOSE',
      `Subsystem sftp internal-sftp -d ${rootDir}`,
      '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    output = '';
    const proc = spawn(SSHD_PATH, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sshd did not start within 10 s:\n${output}`)), 10_000);
      proc.stderr!.on('data', (d: Buffer) => {
        output += d.toString();
        if (output.includes('Server listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sshd exited with code ${code}:\n${output}`));
      });
    });
    proc.removeAllListeners('exit');
  };
  const waitExit = (proc: ChildProcess | undefined) =>
    new Promise<void>((resolve) => {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
    });
  const terminate = async (signal: NodeJS.Signals) => {
    const proc = child;
    if (!proc?.pid) return;
    signalTree(proc.pid, signal);
    await waitExit(proc);
  };

  await start();

  const handle: TestSshd = {
    host: '127.0.0.1',
    port,
    username,
    privateKey: user.private,
    publicKey: user.public,
    password,
    hostKeyFingerprint,
    rootDir,
    dir,
    uid,
    gid,
    log: () => output,
    stop: async (options) => {
      await terminate('SIGTERM');
      if (!options?.keep) rmSync(dir, { recursive: true, force: true });
    },
    kill: async () => {
      await terminate('SIGKILL');
    },
    restart: async () => {
      await terminate('SIGTERM');
      await start();
    },
    rotateHostKey: async () => {
      hostKeyFingerprint = writeHostKey();
      handle.hostKeyFingerprint = hostKeyFingerprint;
      await handle.restart();
      return hostKeyFingerprint;
    },
  };
  return handle;
}
