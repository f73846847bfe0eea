// One SFTP session: opened and closed through ssh2-sftp-client (a new client per delivery, host key
// pinned through hostVerifier, keepalive on), with every operation sent on its underlying ssh2 SFTP
// channel under a deadline of ours: the package's wrappers reword errors and drop the SFTP status
// codes the delivery error classes are built on (its stat() reports a generic Failure as "No such
// file"), and ssh2 has no deadline (a dropped network would hang a transfer forever). On a deadline
// the connection is destroyed; on abort the pending operation is rejected at once and the caller
// cleans up. end() never hangs.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Client, ConnectConfig, SFTPWrapper, Stats } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import type { SftpSecret } from '@/lib/crypto';
import { classifyDeliveryError, DeliveryAbortedError, DeliveryError, SFTP_STATUS, type DeliveryStage, type Target } from './errors';
import { hostKeyFingerprint, normalizeFingerprint } from './fingerprint';
import { assertOutboundAllowed, connectedPeerRefusal } from './outbound';

/** Password, or private key (PEM / OpenSSH) with optional passphrase. */
export type SftpAuth = SftpSecret;

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

/**
 * Ciphers in our order of preference (ssh2's own set). AES-GCM first: it runs in OpenSSL with AES-NI
 * on both ends. Measured with bench:sftp probes on a 2-core machine, upload throughput against
 * OpenSSH's: without ssh2's native binding (chacha20 then needs a Poly1305 in WebAssembly) aes128-gcm
 * 1.15×, aes256-gcm 1.09×, aes128-ctr 1.02×, chacha20 0.90×; with the binding aes128-gcm 1.03×,
 * chacha20 0.97×. Fixed here so that building the binding or cpu-features does not reorder it.
 */
export const CIPHERS = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
  'chacha20-poly1305@openssh.com',
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

/** What ssh2-sftp-client keeps and its type declarations leave out: the ssh2 client and its SFTP channel. */
type SftpClientParts = { client: Client; sftp: SFTPWrapper | undefined };

function partsOf(sftpClient: SftpClient): SftpClientParts {
  return sftpClient as unknown as SftpClientParts;
}

/** What ssh2 keeps private: the largest WRITE payload the server accepts (from limits@openssh.com). */
function maxWriteLength(sftp: SFTPWrapper): number {
  const max = (sftp as unknown as { _maxWriteLen?: unknown })._maxWriteLen;
  return typeof max === 'number' && Number.isSafeInteger(max) && max >= 1024 ? max : MIN_WRITE_LENGTH;
}

/**
 * WRITE requests in flight and their size. OpenSSH's sftp-server takes up to 255 KiB per WRITE
 * (limits@openssh.com); one request of that size costs one callback, one allocation and one pwrite
 * on the server where 64 KiB requests cost four. Servers that announce no limit get what SFTP v3
 * promises to every client (32 KiB data + header in 34,000 bytes) and more requests in flight.
 * Measured (bench/RESULTS.md, bench:sftp probe): 255 KiB × 16 used ~15 % less client CPU than
 * ssh2's fastPut with 64 KiB × 32 at the same or better throughput; 255 KiB × 8 was slower.
 */
export const WRITE_REQUEST_BYTES = 255 * 1024;
export const WRITE_IN_FLIGHT_BYTES = 4 * 1024 * 1024;
const MIN_WRITE_LENGTH = 32 * 1024;
const MAX_IN_FLIGHT = 64;

/** The request size for this channel and how many of them to keep in flight. */
export function writePlan(maxWrite: number): { requestBytes: number; inFlight: number } {
  const requestBytes = Math.max(1024, Math.min(WRITE_REQUEST_BYTES, maxWrite));
  return { requestBytes, inFlight: Math.min(MAX_IN_FLIGHT, Math.max(4, Math.floor(WRITE_IN_FLIGHT_BYTES / requestBytes))) };
}

export class SftpSession {
  private sftp: SFTPWrapper;
  private readonly client: Client;
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
    private readonly sftpClient: SftpClient,
    readonly fingerprint: string,
    readonly target: Target,
    readonly timeouts: SftpTimeouts,
    private readonly signal: AbortSignal | undefined,
  ) {
    const parts = partsOf(sftpClient);
    if (!parts.sftp) throw new Error('The SFTP session has no channel');
    this.client = parts.client;
    this.sftp = parts.sftp;
    this.client.on('error', (err: Error & { level?: string }) => {
      this.lostError ??= err;
      if (err.level === 'client-timeout') this.timedOut = true;
    });
    this.client.on('close', () => {
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
   * `touch` lets a long transfer push its deadline forward on every acknowledged chunk; `settled`
   * tells a long transfer that the operation is over (deadline, abort, lost connection) and it must
   * stop; a function `start` returns is called at that moment (other return values are ignored).
   */
  run<T>(
    stage: DeliveryStage,
    path: string | undefined,
    start: (done: (err: unknown, value?: T) => void, touch: () => void, settled: () => boolean) => unknown,
    options: { timeoutMs?: number; abortable?: boolean } = {},
  ): Promise<T> {
    const abortable = options.abortable ?? true;
    const timeoutMs = options.timeoutMs ?? this.timeouts.operationTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      let finished = false;
      let timer: NodeJS.Timeout | undefined;
      // touch() only records the time: the timer re-arms itself for what is left (a 100 MB upload
      // acknowledges hundreds of requests; re-creating a timer for each costs CPU the upload needs).
      let lastProgress = performance.now();
      let onStop: (() => void) | undefined;
      const ctx = () => ({ stage, path, target: this.target, timedOut: this.timedOut });
      const settle: Settle = (err) => {
        if (finished) return;
        // Clean-up requests after an abort keep going until their own deadline.
        if (err instanceof DeliveryAbortedError && !abortable) return;
        finished = true;
        if (timer) clearTimeout(timer);
        this.pending.delete(settle);
        reject(err instanceof DeliveryAbortedError ? err : classifyDeliveryError(err, ctx()));
        onStop?.();
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
        const stop = start(
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
          () => finished,
        );
        if (typeof stop === 'function') onStop = stop as () => void;
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

  /**
   * Writes everything `source` yields to the open `handle` from offset 0, with WRITE requests
   * pipelined (writePlan). Chunks are sliced, not copied: ssh2 copies each request into its packet
   * before write() returns, so a source may hand out the same buffer again once it is asked for the
   * next chunk (readFileAhead does). Only a chunk's tail shorter than a request is copied, to be
   * sent together with the next chunk's head. One deadline: no request acknowledged for
   * operationTimeoutMs. Resolves with the bytes written; on failure, stops reading the source.
   */
  writeAll(handle: Buffer, path: string, source: AsyncIterable<Buffer>, onAcked: (bytes: number) => void): Promise<number> {
    const sftp = this.sftp;
    const { requestBytes, inFlight: maxInFlight } = writePlan(maxWriteLength(sftp));
    return this.run<number>('write', path, (done, touch, settled) => {
      let inFlight = 0;
      let acked = 0;
      let position = 0;
      let failure: unknown;
      let wake: (() => void) | undefined;
      const notify = () => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      const onWritten = (len: number) => (err: unknown) => {
        inFlight--;
        if (err) failure ??= err;
        else {
          acked += len;
          touch();
          try {
            onAcked(acked);
          } catch {
            // A progress listener must not break an upload.
          }
        }
        notify();
      };
      const stopped = () => failure !== undefined || settled();
      const slot = async () => {
        while (inFlight >= maxInFlight && !stopped()) await new Promise<void>((r) => (wake = r));
      };
      const send = (buf: Buffer, off: number, len: number) => {
        inFlight++;
        sftp.write(handle, buf, off, len, position, onWritten(len));
        position += len;
      };
      const carry = Buffer.allocUnsafe(requestBytes);
      let carried = 0;
      const pump = async () => {
        for await (const chunk of source) {
          // Progress from either side keeps the deadline away: a source that stalls with nothing
          // in flight times out like a server that stops answering.
          touch();
          let off = 0;
          if (carried > 0) {
            const n = Math.min(requestBytes - carried, chunk.length);
            chunk.copy(carry, carried, 0, n);
            carried += n;
            off = n;
            if (carried < requestBytes) continue;
            await slot();
            if (stopped()) break;
            send(carry, 0, requestBytes);
            carried = 0;
          }
          while (chunk.length - off >= requestBytes) {
            await slot();
            if (stopped()) break;
            send(chunk, off, requestBytes);
            off += requestBytes;
          }
          if (stopped()) break;
          if (off < chunk.length) carried = chunk.copy(carry, 0, off);
        }
        if (carried > 0 && !stopped()) {
          await slot();
          if (!stopped()) send(carry, 0, carried);
        }
        while (inFlight > 0 && !stopped()) await new Promise<void>((r) => (wake = r));
        if (failure !== undefined) throw failure;
      };
      pump().then(
        () => done(undefined, position),
        (err: unknown) => done(failure ?? err),
      );
      return notify;
    });
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
   * Drops the SFTP channel (which stops a running upload: its outstanding requests fail) and
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
    // ssh2-sftp-client ends the connection in end() only while it holds a channel.
    partsOf(this.sftpClient).sftp = this.sftp;
  }

  destroy(): void {
    this.closed = true;
    this.client.destroy();
  }

  /** Ends the session through ssh2-sftp-client; never waits longer than endTimeoutMs (end() can hang after a reset). */
  async end(): Promise<void> {
    this.signal?.removeEventListener('abort', this.onAbort);
    if (this.closed) {
      this.client.destroy();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        // Rejects when the connection fails while closing; it is going away either way.
        this.sftpClient.end().catch(() => undefined),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.timeouts.endTimeoutMs);
        }),
      ]);
    } finally {
      if (timer) clearTimeout(timer);
      // A no-op after a clean close; otherwise the socket is dropped.
      this.client.destroy();
      this.closed = true;
    }
  }
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
  return connectSession(address, options, target, timeouts);
}

/**
 * THE one place a session connects, to an address already resolved: every delivery and every
 * connection test comes through here, so a check of where we may connect (an outbound-address
 * policy) belongs at the top of this function, before the TCP connection is opened.
 */
function connectSession(address: string, options: OpenSessionOptions, target: Target, timeouts: SftpTimeouts): Promise<SftpSession> {
  const { signal, onStep } = options;
  const pinned = options.pinnedFingerprint ? normalizeFingerprint(options.pinnedFingerprint) : undefined;
  // The package's default listeners print to the console; the session has its own.
  const sftpClient = new SftpClient('dde-delivery', { error: noop, end: noop, close: noop });
  const client = partsOf(sftpClient).client;

  return new Promise<SftpSession>((resolve, reject) => {
    let step: SessionStep = 'connect';
    let fingerprint: string | undefined;
    let mismatch: { presented: string; pinned: string } | undefined;
    let settled = false;
    let timedOut = false;
    let socketConnected = false;
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
    // ssh2's own events carry what the classification needs (error levels, codes); the package's
    // connect() rewords them, so its rejection is only used when ssh2 reported nothing.
    const onError = (err: Error & { level?: string }) => {
      if (err.level === 'client-timeout') timedOut = true;
      fail(err);
    };
    const onClose = () => fail(Object.assign(new Error('Connection lost before the session was ready'), { code: 'ECONNRESET' }));
    const onConnect = () => {
      socketConnected = true;
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
      algorithms: { serverHostKey: [...HOST_KEY_ALGORITHMS], cipher: [...CIPHERS] },
      // Fail closed: without a verifier ssh2 accepts any host key.
      hostVerifier: (key: Buffer) => {
        fingerprint = hostKeyFingerprint(key);
        if (pinned && fingerprint !== pinned) {
          mismatch = { presented: fingerprint, pinned };
          return false;
        }
        return true;
      },
      // Straight to the one method we have: ssh2 would first ask with "none" (a round trip) to learn the server's list.
      authHandler: [auth.method === 'password' ? 'password' : 'publickey'],
      ...(auth.method === 'password'
        ? { password: auth.password, tryKeyboard: false }
        : { privateKey: auth.privateKey, ...(auth.passphrase ? { passphrase: auth.passphrase } : {}) }),
    };
    sftpClient.connect(config).then(
      (sftp) => {
        if (settled) {
          sftp.end();
          return;
        }
        settled = true;
        cleanup();
        resolve(new SftpSession(sftpClient, fingerprint!, target, timeouts, signal));
      },
      (err: unknown) => {
        // ssh2 parses the private key before it opens the socket, and throws: a bad key or
        // passphrase is the one failure that reaches us only through this rejection.
        if (!socketConnected) step = 'authenticate';
        // Let ssh2's own 'error' / 'close' for the same failure, if any, be the one classified.
        setImmediate(() => fail(err));
      },
    );
  });
}
