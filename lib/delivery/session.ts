// One SFTP session over ssh2: a new client per delivery, host key pinned through hostVerifier,
// keepalive on, and a deadline on every operation (ssh2 has none: a dropped network would hang a
// transfer forever). On a deadline the connection is destroyed; on abort the pending operation
// is rejected at once and the caller cleans up. end() never hangs.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ssh2, { type Client, type ConnectConfig, type SFTPWrapper, type Stats } from 'ssh2';
import type { ConnectionSecret } from '@/lib/crypto';
import { classifyDeliveryError, DeliveryAbortedError, DeliveryError, SFTP_STATUS, type DeliveryStage, type Target } from './errors';
import { hostKeyFingerprint, normalizeFingerprint } from './fingerprint';
import { assertOutboundAllowed, connectedPeerRefusal } from './outbound';

/** Password, or private key (PEM / OpenSSH) with optional passphrase. */
export type SftpAuth = ConnectionSecret;

export type SftpTimeouts = {
  /** DNS + TCP + SSH handshake + authentication. */
  readyTimeoutMs: number;
  keepaliveIntervalMs: number;
  /** Unanswered keepalives tolerated; the connection fails after (count + 1) × interval of silence. */
  keepaliveCountMax: number;
  /** Longest wait for any single SFTP request (a write acknowledged, a rename, a stat). */
  operationTimeoutMs: number;
  /** Longest wait for a clean close before the socket is destroyed. */
  endTimeoutMs: number;
};

/**
 * Host key algorithms in a fixed order of preference. The pinned fingerprint is that of the key the
 * server presents for the first algorithm both sides support; fixing the order here keeps a library
 * upgrade from switching to another of the server's keys (which would look like a changed key).
 */
export const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
] as const;

export const DEFAULT_TIMEOUTS: SftpTimeouts = {
  readyTimeoutMs: 20_000,
  keepaliveIntervalMs: 10_000,
  keepaliveCountMax: 3,
  operationTimeoutMs: 60_000,
  endTimeoutMs: 2_000,
};

export type SessionStep = 'resolve' | 'connect' | 'handshake' | 'authenticate';

export type OpenSessionOptions = {
  host: string;
  port: number;
  username: string;
  auth: SftpAuth;
  /** When set, any other host key is refused before authentication (nothing is sent). */
  pinnedFingerprint?: string;
  /** Used only to word error messages. */
  folder?: string;
  timeouts?: Partial<SftpTimeouts>;
  signal?: AbortSignal;
  /** Called as each connection step succeeds. */
  onStep?: (step: SessionStep, info: { address?: string; fingerprint?: string }) => void;
};

type Settle = (err: unknown) => void;

const noop = () => undefined;

export type RemoteStats = { size: number; isDirectory: boolean; isFile: boolean; mtime: number };

function toRemoteStats(s: Stats): RemoteStats {
  return { size: Number(s.size), isDirectory: s.isDirectory(), isFile: s.isFile(), mtime: s.mtime };
}

/** Fails a connection step with the step's classification. */
export class ConnectStepError extends Error {
  constructor(
    public readonly step: SessionStep,
    public readonly error: DeliveryError,
    public readonly fingerprint: string | undefined,
  ) {
    super(error.message);
    this.name = 'ConnectStepError';
  }
}

export class SftpSession {
  private sftp: SFTPWrapper;
  private readonly pending = new Set<Settle>();
  private closed = false;
  private lostError: unknown;
  private timedOut = false;
  private aborted = false;
  private posixRenameSupported: boolean | undefined;
  private readonly onAbort = () => {
    this.aborted = true;
    const err = new DeliveryAbortedError();
    for (const settle of [...this.pending]) settle(err);
  };

  constructor(
    private readonly client: Client,
    sftp: SFTPWrapper,
    readonly fingerprint: string,
    readonly target: Target,
    readonly timeouts: SftpTimeouts,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.sftp = sftp;
    client.on('error', (err: Error & { level?: string }) => {
      this.lostError ??= err;
      if (err.level === 'client-timeout') this.timedOut = true;
    });
    client.on('close', () => {
      this.closed = true;
      const err = this.lostError ?? Object.assign(new Error('Connection lost: the server closed the connection'), { code: 'ECONNRESET' });
      for (const settle of [...this.pending]) settle(err);
    });
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (signal?.aborted) this.onAbort();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get wasAborted(): boolean {
    return this.aborted;
  }

  /**
   * Runs one SFTP request under a deadline. `abortable: false` is for clean-up after an abort.
   * `touch` lets a long transfer push its deadline forward on every acknowledged chunk.
   */
  run<T>(
    stage: DeliveryStage,
    path: string | undefined,
    start: (done: (err: unknown, value?: T) => void, touch: () => void) => void,
    options: { timeoutMs?: number; abortable?: boolean } = {},
  ): Promise<T> {
    const abortable = options.abortable ?? true;
    const timeoutMs = options.timeoutMs ?? this.timeouts.operationTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      let finished = false;
      let timer: NodeJS.Timeout | undefined;
      // touch() only records the time: the timer re-arms itself for what is left (a 100 MB upload
      // acknowledges thousands of chunks; re-creating a timer for each costs CPU the upload needs).
      let lastProgress = performance.now();
      const ctx = () => ({ stage, path, target: this.target, timedOut: this.timedOut });
      const settle: Settle = (err) => {
        if (finished) return;
        // Clean-up requests after an abort keep going until their own deadline.
        if (err instanceof DeliveryAbortedError && !abortable) return;
        finished = true;
        if (timer) clearTimeout(timer);
        this.pending.delete(settle);
        reject(err instanceof DeliveryAbortedError ? err : classifyDeliveryError(err, ctx()));
      };
      const arm = (delay = timeoutMs) => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          const quiet = performance.now() - lastProgress;
          if (quiet < timeoutMs) return arm(timeoutMs - quiet);
          this.timedOut = true;
          settle(Object.assign(new Error(`No answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
          this.destroy();
        }, delay);
      };
      if (this.closed) return reject(classifyDeliveryError(this.lostError ?? new Error('Connection lost'), ctx()));
      if (abortable && this.aborted) return reject(new DeliveryAbortedError());
      this.pending.add(settle);
      arm();
      try {
        start(
          (err, value) => {
            if (finished) return;
            if (err) return settle(err);
            finished = true;
            if (timer) clearTimeout(timer);
            this.pending.delete(settle);
            resolve(value as T);
          },
          () => {
            lastProgress = performance.now();
          },
        );
      } catch (err) {
        settle(err);
      }
    });
  }

  stat(path: string, stage: DeliveryStage = 'verify', options?: { abortable?: boolean }): Promise<RemoteStats> {
    return this.run<Stats>(stage, path, (done) => this.sftp.stat(path, done), options).then(toRemoteStats);
  }

  lstat(path: string, stage: DeliveryStage = 'verify', options?: { abortable?: boolean }): Promise<RemoteStats> {
    return this.run<Stats>(stage, path, (done) => this.sftp.lstat(path, done), options).then(toRemoteStats);
  }

  /**
   * Names in a folder, read batch by batch until the end, `maxEntries` or `budgetMs` (a customer
   * folder can hold years of deliveries). `complete` says whether the whole folder was read.
   */
  async listNames(path: string, options: { maxEntries?: number; budgetMs?: number } = {}): Promise<{ names: string[]; complete: boolean }> {
    const maxEntries = options.maxEntries ?? 100_000;
    const deadline = performance.now() + (options.budgetMs ?? 10_000);
    const handle = await this.run<Buffer>('folder', path, (done) => this.sftp.opendir(path, done));
    const names: string[] = [];
    let complete = false;
    try {
      while (names.length < maxEntries && performance.now() < deadline) {
        const batch = await this.run<{ filename: string }[] | false>('folder', path, (done) =>
          this.sftp.readdir(handle, (err, list) => {
            if (err && (err as { code?: unknown }).code === SFTP_STATUS.EOF) return done(undefined, false);
            done(err, list);
          }),
        );
        if (!batch) {
          complete = true;
          break;
        }
        for (const e of batch) names.push(e.filename);
      }
    } finally {
      if (this.isOpen) await this.closeHandle(handle, path).catch(() => undefined);
    }
    return { names, complete };
  }

  unlink(path: string, options?: { abortable?: boolean; timeoutMs?: number }): Promise<void> {
    return this.run<void>('remove', path, (done) => this.sftp.unlink(path, done), options);
  }

  openForWrite(path: string): Promise<Buffer> {
    return this.run<Buffer>('open', path, (done) => this.sftp.open(path, 'w', done));
  }

  write(handle: Buffer, data: Buffer, position: number, path: string): Promise<void> {
    return this.run<void>('write', path, (done) => this.sftp.write(handle, data, 0, data.length, position, (err) => done(err)));
  }

  closeHandle(handle: Buffer, path: string, options?: { abortable?: boolean; timeoutMs?: number }): Promise<void> {
    return this.run<void>('close', path, (done) => this.sftp.close(handle, done), options);
  }

  /** ssh2's parallel-request upload (at parity with OpenSSH); deadline = no acknowledged chunk for operationTimeoutMs. */
  fastPut(localPath: string, remotePath: string, size: number, onBytes: (transferred: number) => void): Promise<void> {
    return this.run<void>('write', remotePath, (done, touch) =>
      this.sftp.fastPut(
        localPath,
        remotePath,
        {
          concurrency: FAST_PUT_CONCURRENCY,
          chunkSize: FAST_PUT_CHUNK,
          fileSize: size > 0 ? size : undefined,
          step: (transferred) => {
            touch();
            onBytes(transferred);
          },
        },
        (err) => done(err),
      ),
    );
  }

  /**
   * Renames onto the final name, replacing an existing file: posix-rename@openssh.com (atomic)
   * when the server offers it, else rename, and on "exists" remove + rename.
   */
  async replace(from: string, to: string): Promise<void> {
    if (this.posixRenameSupported !== false) {
      try {
        await this.run<void>('rename', to, (done) => this.sftp.ext_openssh_rename(from, to, done));
        this.posixRenameSupported = true;
        return;
      } catch (err) {
        if (!(err instanceof DeliveryError && /does not support this extended request/.test(err.detail ?? ''))) throw err;
        this.posixRenameSupported = false;
      }
    }
    try {
      await this.run<void>('rename', to, (done) => this.sftp.rename(from, to, done));
    } catch (err) {
      // SFTP v3 rename refuses an existing target; re-delivery of the same name replaces it.
      const exists = await this.lstat(to, 'rename').then(
        () => true,
        () => false,
      );
      if (!exists) throw err;
      await this.unlink(to);
      await this.run<void>('rename', to, (done) => this.sftp.rename(from, to, done));
    }
  }

  /** Disk facts for classifying an SFTP Failure (statvfs@openssh.com), or null when unavailable. */
  async diskFacts(path: string): Promise<{ readOnly: boolean; bytesAvailable: number } | null> {
    if (this.closed) return null;
    try {
      const info = await this.run<{ flag: number; bavail: number; frsize: number; bsize: number }>(
        'verify',
        path,
        (done) => this.sftp.ext_openssh_statvfs(path, done),
        { timeoutMs: Math.min(5_000, this.timeouts.operationTimeoutMs), abortable: false },
      );
      const ST_RDONLY = 1;
      return { readOnly: (Number(info.flag) & ST_RDONLY) !== 0, bytesAvailable: Number(info.bavail) * Number(info.frsize || info.bsize) };
    } catch {
      return null;
    }
  }

  /**
   * Drops the SFTP channel (which stops a running fastPut: its outstanding requests fail) and
   * opens a fresh one on the same connection, for clean-up after an abort.
   */
  async resetChannel(): Promise<void> {
    if (this.closed) return;
    const old = this.sftp;
    old.end();
    this.sftp = await this.run<SFTPWrapper>('close', undefined, (done) => this.client.sftp(done), {
      timeoutMs: Math.min(5_000, this.timeouts.operationTimeoutMs),
      abortable: false,
    });
  }

  destroy(): void {
    this.closed = true;
    this.client.destroy();
  }

  /** Ends the session; never waits longer than endTimeoutMs (end() can hang after a reset). */
  async end(): Promise<void> {
    this.signal?.removeEventListener('abort', this.onAbort);
    if (this.closed) {
      this.client.destroy();
      return;
    }
    await closeClient(this.client, this.timeouts.endTimeoutMs);
    this.closed = true;
  }
}

// 32 write requests of just under 64 KiB in flight (2 MiB, as ssh2's default 64 × 32 KiB). Sized
// so that a WRITE request (29 header bytes with OpenSSH's 4-byte handles) fills exactly two 32 KiB
// channel packets instead of spilling a tiny third one: fewer packets, less CPU on both ends
// (measured with bench:sftp and process CPU time on a 2-core machine).
export const FAST_PUT_CONCURRENCY = 32;
export const FAST_PUT_CHUNK = 64 * 1024 - 29;

function closeClient(client: Client, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      client.removeListener('close', onClose);
      client.destroy();
      resolve();
    }, timeoutMs);
    function onClose() {
      clearTimeout(timer);
      resolve();
    }
    client.once('close', onClose);
    try {
      client.end();
    } catch {
      client.destroy();
    }
  });
}

function resolveTimeouts(partial: Partial<SftpTimeouts> | undefined): SftpTimeouts {
  return { ...DEFAULT_TIMEOUTS, ...Object.fromEntries(Object.entries(partial ?? {}).filter(([, v]) => v !== undefined)) };
}

async function resolveAddress(host: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<string> {
  if (isIP(host)) return host;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      lookup(host).then((r) => r.address),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`DNS lookup of ${host} timed out`), { code: 'EAI_AGAIN' })), timeoutMs);
      }),
      new Promise<never>((_, reject) => {
        onAbort = () => reject(new DeliveryAbortedError());
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Resolves, connects, checks the host key, authenticates and opens the SFTP subsystem.
 * Throws ConnectStepError (naming the failed step) or DeliveryAbortedError.
 */
export async function openSftpSession(options: OpenSessionOptions): Promise<SftpSession> {
  const timeouts = resolveTimeouts(options.timeouts);
  const target: Target = { host: options.host, port: options.port, username: options.username, folder: options.folder };
  const { signal, onStep } = options;
  if (signal?.aborted) throw new DeliveryAbortedError();

  let address: string;
  try {
    address = await resolveAddress(options.host, timeouts.readyTimeoutMs, signal);
    assertOutboundAllowed(address, options.port, target);
  } catch (err) {
    if (err instanceof DeliveryAbortedError) throw err;
    throw new ConnectStepError('resolve', classifyDeliveryError(err, { stage: 'resolve', target }), undefined);
  }
  onStep?.('resolve', { address });

  const pinned = options.pinnedFingerprint ? normalizeFingerprint(options.pinnedFingerprint) : undefined;
  const client = new ssh2.Client();
  // ssh2 emits 'error' after end() on a reset socket; an unhandled 'error' would crash the process.
  client.on('error', noop);

  return new Promise<SftpSession>((resolve, reject) => {
    let step: SessionStep = 'connect';
    let fingerprint: string | undefined;
    let mismatch: { presented: string; pinned: string } | undefined;
    let settled = false;
    let timedOut = false;
    let sftpTimer: NodeJS.Timeout | undefined;

    const cleanup = () => {
      if (sftpTimer) clearTimeout(sftpTimer);
      signal?.removeEventListener('abort', onAbort);
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
      client.removeListener('connect', onConnect);
      client.removeListener('handshake', onHandshake);
      client.removeListener('ready', onReady);
    };
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      cleanup();
      client.destroy();
      if (err instanceof DeliveryAbortedError) return reject(err);
      const stage = step === 'connect' ? 'connect' : step === 'handshake' ? 'handshake' : 'authenticate';
      const error = classifyDeliveryError(err, { stage, target, hostKeyMismatch: mismatch, timedOut });
      reject(new ConnectStepError(step, error, fingerprint));
    };
    const onAbort = () => fail(new DeliveryAbortedError());
    const onError = (err: Error & { level?: string }) => {
      if (err.level === 'client-timeout') timedOut = true;
      fail(err);
    };
    const onClose = () => fail(Object.assign(new Error('Connection lost before the session was ready'), { code: 'ECONNRESET' }));
    const onConnect = () => {
      const refused = connectedPeerRefusal(client, options.port, target);
      if (refused) return fail(refused);
      // SFTP is request/response: without TCP_NODELAY each small request waits on delayed ACKs.
      client.setNoDelay(true);
      onStep?.('connect', { address });
      step = 'handshake';
    };
    const onHandshake = () => {
      onStep?.('handshake', { fingerprint });
      step = 'authenticate';
    };
    const onReady = () => {
      onStep?.('authenticate', {});
      sftpTimer = setTimeout(() => {
        timedOut = true;
        fail(Object.assign(new Error('The SFTP subsystem did not start in time'), { code: 'ETIMEDOUT' }));
      }, timeouts.operationTimeoutMs);
      client.sftp((err, sftp) => {
        if (settled) {
          sftp?.end();
          return;
        }
        if (err) return fail(err);
        settled = true;
        cleanup();
        resolve(new SftpSession(client, sftp, fingerprint!, target, timeouts, signal));
      });
    };

    signal?.addEventListener('abort', onAbort, { once: true });
    client.on('error', onError);
    client.on('close', onClose);
    client.on('connect', onConnect);
    client.on('handshake', onHandshake);
    client.on('ready', onReady);

    const auth = options.auth;
    const config: ConnectConfig = {
      host: address,
      port: options.port,
      username: options.username,
      readyTimeout: timeouts.readyTimeoutMs,
      keepaliveInterval: timeouts.keepaliveIntervalMs,
      keepaliveCountMax: timeouts.keepaliveCountMax,
      algorithms: { serverHostKey: [...HOST_KEY_ALGORITHMS] },
      // Fail closed: without a verifier ssh2 accepts any host key.
      hostVerifier: (key: Buffer) => {
        fingerprint = hostKeyFingerprint(key);
        if (pinned && fingerprint !== pinned) {
          mismatch = { presented: fingerprint, pinned };
          return false;
        }
        return true;
      },
      ...(auth.method === 'password'
        ? { password: auth.password, tryKeyboard: false }
        : { privateKey: auth.privateKey, ...(auth.passphrase ? { passphrase: auth.passphrase } : {}) }),
    };
    try {
      client.connect(config);
    } catch (err) {
      // ssh2 parses the private key synchronously: a bad key or passphrase lands here.
      step = 'authenticate';
      fail(err);
    }
  });
}
