// Dev and test support, not product code: a small SFTP server in this process (ssh2 server mode),
// bound to 127.0.0.1. The demo (`npm start`) uses it as the local SFTP destination on the embedded
// default (host key persisted under the data dir, so the fingerprint pinned at set-up stays valid
// across restarts); the fault tests use its switches to behave like a server that dies, hangs,
// fills up or refuses writes.
// It serves one directory tree: "/" is rootDir, and nothing outside it is reachable by path.
import { timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, type Stats as FsStats } from 'node:fs';
import { open, readdir, rename, rmdir, mkdir, stat, lstat, unlink, type FileHandle } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import ssh2, { type AuthContext, type Connection, type ParsedKey, type SFTPWrapper } from 'ssh2';
import { hostKeyFingerprint } from '../../lib/delivery/fingerprint';

// ssh2 is CommonJS: named imports do not resolve under Node's ESM loader.
const { Server, utils } = ssh2;
const { STATUS_CODE, flagsToString, OPEN_MODE } = utils.sftp;

export type SinkFaults = {
  /** Drop every connection, as a killed server does, once this many file bytes were written (fires once). */
  killAfterBytes?: number;
  /** Stop reading and answering anything — a network black hole — once this many file bytes were written (fires once). */
  blackHoleAfterBytes?: number;
  /** Accept TCP connections but never speak SSH. */
  noHandshake?: boolean;
  /** Answer the client's disconnect with a TCP reset. */
  resetOnEnd?: boolean;
  /** Never close the connection after the client's disconnect (a half-open socket). */
  hangOnEnd?: boolean;
  /** Refuse writes beyond this many bytes of a file with the generic SFTP Failure, as a full disk does. */
  diskFullAfterBytes?: number;
  /** Refuse creating, renaming and removing files (permission denied). */
  readOnly?: boolean;
  /** Stop answering WRITE requests beyond this many bytes of a file (keepalives are still answered). */
  stallWritesAfterBytes?: number;
  /** Delay each WRITE answer by this many milliseconds. */
  writeDelayMs?: number;
};

export type SinkEvent = {
  type: 'open' | 'close' | 'rename' | 'remove' | 'mkdir' | 'connect' | 'disconnect';
  path?: string;
  to?: string;
  at: number;
};

export type SftpSinkOptions = {
  /** The directory served as "/". Created when missing. */
  rootDir: string;
  username: string;
  password?: string;
  /** OpenSSH public key lines accepted for public key authentication. */
  authorizedKeys?: string[];
  /** A private host key (PEM or OpenSSH). */
  hostKey?: string;
  /** Where the host key lives; created (mode 600) on first start and reused afterwards. */
  hostKeyPath?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  faults?: SinkFaults;
  /** Connections silent for this long are closed (default 2 minutes), so stray clients do not pile up. */
  idleTimeoutMs?: number;
};

export type SftpSink = {
  host: string;
  port: number;
  username: string;
  rootDir: string;
  /** "SHA256:…" of the host key, as OpenSSH prints it. */
  hostKeyFingerprint: string;
  /** Mutable: tests switch faults on and off between attempts. */
  faults: SinkFaults;
  /** Recent file events, oldest first (at most the last 10,000). */
  events: SinkEvent[];
  /** TCP connections currently open. */
  openConnections(): number;
  close(): Promise<void>;
};

/**
 * An ed25519 key pair in OpenSSH format. ssh2's generator drops a leading zero byte of the public
 * key about once in 256 keys, producing a key nothing can parse; such keys are generated again.
 */
export function generateEd25519KeyPair(options: { comment?: string; passphrase?: string } = {}): { private: string; public: string } {
  for (let attempt = 0; attempt < 100; attempt++) {
    const pair = options.passphrase
      ? utils.generateKeyPairSync('ed25519', { comment: options.comment, passphrase: options.passphrase, cipher: 'aes256-ctr', rounds: 16 })
      : utils.generateKeyPairSync('ed25519', { comment: options.comment });
    const parsed = utils.parseKey(pair.private, options.passphrase);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!(key instanceof Error) && key.getPublicSSH().length === 51) return pair;
  }
  throw new Error('could not generate an ed25519 key');
}

/** Reads the host key at `file`, or generates an ed25519 key there (mode 600). */
export function loadOrCreateHostKey(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8');
  mkdirSync(path.dirname(file), { recursive: true });
  const { private: key } = generateEd25519KeyPair({ comment: 'dde-sftp-sink' });
  writeFileSync(file, key, { mode: 0o600 });
  return key;
}

function parsePrivate(key: string): ParsedKey {
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) throw new Error(`Cannot parse the SFTP sink host key: ${parsed.message}`);
  return Array.isArray(parsed) ? parsed[0] : parsed;
}

function parsePublic(line: string): ParsedKey | null {
  const parsed = utils.parseKey(line);
  if (parsed instanceof Error) return null;
  return Array.isArray(parsed) ? parsed[0] : parsed;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function statusOf(err: unknown): number {
  const code = (err as { code?: string })?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return STATUS_CODE.NO_SUCH_FILE;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return STATUS_CODE.PERMISSION_DENIED;
  return STATUS_CODE.FAILURE;
}

const MESSAGES: Record<number, string> = {
  [STATUS_CODE.NO_SUCH_FILE]: 'No such file',
  [STATUS_CODE.PERMISSION_DENIED]: 'Permission denied',
  [STATUS_CODE.FAILURE]: 'Failure',
  [STATUS_CODE.OP_UNSUPPORTED]: 'Operation unsupported',
};

function attrsOf(s: FsStats) {
  return { mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, atime: Math.floor(s.atimeMs / 1000), mtime: Math.floor(s.mtimeMs / 1000) };
}

function longname(name: string, s: FsStats): string {
  const type = s.isDirectory() ? 'd' : s.isSymbolicLink() ? 'l' : '-';
  const bits = 'rwxrwxrwx'
    .split('')
    .map((c, i) => (s.mode & (1 << (8 - i)) ? c : '-'))
    .join('');
  const date = new Date(s.mtimeMs).toISOString().slice(0, 16).replace('T', ' ');
  return `${type}${bits} 1 ${s.uid} ${s.gid} ${s.size} ${date} ${name}`;
}

type OpenFile = { kind: 'file'; fh: FileHandle; path: string; written: number };
type OpenDir = { kind: 'dir'; path: string; entries: { filename: string; longname: string; attrs: ReturnType<typeof attrsOf> }[] | null };

/** Starts the sink on 127.0.0.1. */
export async function startSftpSink(options: SftpSinkOptions): Promise<SftpSink> {
  const rootDir = path.resolve(options.rootDir);
  mkdirSync(rootDir, { recursive: true });
  const hostKeyText =
    options.hostKey ?? (options.hostKeyPath ? loadOrCreateHostKey(options.hostKeyPath) : generateEd25519KeyPair().private);
  const hostKey = parsePrivate(hostKeyText);
  const fingerprint = hostKeyFingerprint(hostKey.getPublicSSH());
  const allowedKeys = (options.authorizedKeys ?? []).map(parsePublic).filter((k): k is ParsedKey => k !== null);
  const faults: SinkFaults = { ...(options.faults ?? {}) };
  const events: SinkEvent[] = [];
  const sockets = new Set<net.Socket>();
  const originals = new Map<net.Socket, { end: net.Socket['end']; destroy: net.Socket['destroy'] }>();
  let totalWritten = 0;

  const log = (e: Omit<SinkEvent, 'at'>) => {
    events.push({ ...e, at: Date.now() });
    if (events.length > 10_000) events.splice(0, events.length - 10_000);
  };

  const toLocal = (p: string) => path.join(rootDir, path.posix.resolve('/', p || '.'));
  const toVirtual = (p: string) => path.posix.resolve('/', p || '.');

  const killAll = () => {
    for (const s of sockets) (originals.get(s)?.destroy ?? s.destroy).call(s);
  };
  const blackHoleAll = () => {
    for (const s of sockets) {
      s.pause();
      s.removeAllListeners('data');
      s.write = (() => true) as net.Socket['write'];
    }
  };
  const afterBytes = (n: number) => {
    totalWritten += n;
    if (faults.killAfterBytes !== undefined && totalWritten >= faults.killAfterBytes) {
      faults.killAfterBytes = undefined;
      killAll();
      return false;
    }
    if (faults.blackHoleAfterBytes !== undefined && totalWritten >= faults.blackHoleAfterBytes) {
      faults.blackHoleAfterBytes = undefined;
      blackHoleAll();
      return false;
    }
    return true;
  };

  const ssh = new Server({ hostKeys: [hostKeyText] }, (client: Connection) => {
    client.on('error', () => undefined);
    client.on('authentication', (ctx: AuthContext) => {
      if (!safeEqual(ctx.username, options.username)) return ctx.reject(['password', 'publickey']);
      if (ctx.method === 'password' && options.password !== undefined && safeEqual(ctx.password, options.password)) return ctx.accept();
      if (ctx.method === 'publickey') {
        const key = allowedKeys.find((k) => k.type === ctx.key.algo && k.getPublicSSH().equals(ctx.key.data));
        if (key && (!ctx.signature || (ctx.blob && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true))) return ctx.accept();
      }
      ctx.reject(['password', 'publickey']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (acceptSftp) => serveSftp(acceptSftp()));
      });
    });
  });

  function serveSftp(sftp: SFTPWrapper) {
    const handles = new Map<number, OpenFile | OpenDir>();
    let nextHandle = 1;
    const newHandle = (h: OpenFile | OpenDir) => {
      const id = nextHandle++;
      handles.set(id, h);
      const b = Buffer.alloc(4);
      b.writeUInt32BE(id);
      return b;
    };
    const lookup = (b: Buffer) => (b.length === 4 ? handles.get(b.readUInt32BE(0)) : undefined);
    const fail = (id: number, err: unknown) => {
      const code = statusOf(err);
      sftp.status(id, code, MESSAGES[code]);
    };
    const ok = (id: number) => sftp.status(id, STATUS_CODE.OK);
    const denied = (id: number) => sftp.status(id, STATUS_CODE.PERMISSION_DENIED, MESSAGES[STATUS_CODE.PERMISSION_DENIED]);

    sftp.on('error', () => undefined);
    sftp.on('close', () => {
      for (const h of handles.values()) if (h.kind === 'file') void h.fh.close().catch(() => undefined);
      handles.clear();
    });

    sftp.on('OPEN', (id, filename, flags) => {
      const mode = flagsToString(flags);
      const writing = (flags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND | OPEN_MODE.CREAT | OPEN_MODE.TRUNC)) !== 0;
      if (!mode) return sftp.status(id, STATUS_CODE.FAILURE, 'Unsupported open flags');
      if (writing && faults.readOnly) return denied(id);
      open(toLocal(filename), mode, 0o644).then(
        (fh) => {
          log({ type: 'open', path: toVirtual(filename) });
          sftp.handle(id, newHandle({ kind: 'file', fh, path: toVirtual(filename), written: 0 }));
        },
        (err) => fail(id, err),
      );
    });

    sftp.on('WRITE', (id, handle, offset, data) => {
      const h = lookup(handle);
      if (!h || h.kind !== 'file') return sftp.status(id, STATUS_CODE.FAILURE, 'Invalid handle');
      if (faults.diskFullAfterBytes !== undefined && offset + data.length > faults.diskFullAfterBytes)
        return sftp.status(id, STATUS_CODE.FAILURE, 'Failure');
      if (faults.stallWritesAfterBytes !== undefined && offset + data.length > faults.stallWritesAfterBytes) return;
      h.fh.write(data, 0, data.length, offset).then(
        () => {
          h.written += data.length;
          if (!afterBytes(data.length)) return;
          if (faults.writeDelayMs) setTimeout(() => ok(id), faults.writeDelayMs).unref();
          else ok(id);
        },
        (err) => fail(id, err),
      );
    });

    sftp.on('READ', (id, handle, offset, length) => {
      const h = lookup(handle);
      if (!h || h.kind !== 'file') return sftp.status(id, STATUS_CODE.FAILURE, 'Invalid handle');
      const buf = Buffer.allocUnsafe(Math.min(length, 256 * 1024));
      h.fh.read(buf, 0, buf.length, offset).then(
        ({ bytesRead }) => (bytesRead === 0 ? sftp.status(id, STATUS_CODE.EOF) : sftp.data(id, buf.subarray(0, bytesRead))),
        (err) => fail(id, err),
      );
    });

    sftp.on('CLOSE', (id, handle) => {
      const h = lookup(handle);
      if (!h) return sftp.status(id, STATUS_CODE.FAILURE, 'Invalid handle');
      handles.delete(handle.readUInt32BE(0));
      if (h.kind === 'dir') return ok(id);
      h.fh.close().then(
        () => {
          log({ type: 'close', path: h.path });
          ok(id);
        },
        (err) => fail(id, err),
      );
    });

    const statHandler = (fn: typeof stat | typeof lstat) => (id: number, p: string) => {
      fn(toLocal(p)).then(
        (s) => sftp.attrs(id, attrsOf(s)),
        (err) => fail(id, err),
      );
    };
    sftp.on('STAT', statHandler(stat));
    sftp.on('LSTAT', statHandler(lstat));
    sftp.on('FSTAT', (id, handle) => {
      const h = lookup(handle);
      if (!h || h.kind !== 'file') return sftp.status(id, STATUS_CODE.FAILURE, 'Invalid handle');
      h.fh.stat().then(
        (s) => sftp.attrs(id, attrsOf(s)),
        (err) => fail(id, err),
      );
    });
    sftp.on('SETSTAT', (id) => (faults.readOnly ? denied(id) : ok(id)));
    sftp.on('FSETSTAT', (id) => ok(id));

    sftp.on('REMOVE', (id, p) => {
      if (faults.readOnly) return denied(id);
      unlink(toLocal(p)).then(
        () => {
          log({ type: 'remove', path: toVirtual(p) });
          ok(id);
        },
        (err) => fail(id, err),
      );
    });

    // SFTP v3 rename (as OpenSSH's server does it): refused when the target exists.
    sftp.on('RENAME', (id, from, to) => {
      if (faults.readOnly) return denied(id);
      lstat(toLocal(to)).then(
        () => sftp.status(id, STATUS_CODE.FAILURE, 'Failure'),
        () =>
          rename(toLocal(from), toLocal(to)).then(
            () => {
              log({ type: 'rename', path: toVirtual(from), to: toVirtual(to) });
              ok(id);
            },
            (err) => fail(id, err),
          ),
      );
    });

    sftp.on('MKDIR', (id, p) => {
      if (faults.readOnly) return denied(id);
      mkdir(toLocal(p)).then(
        () => {
          log({ type: 'mkdir', path: toVirtual(p) });
          ok(id);
        },
        (err) => fail(id, err),
      );
    });
    sftp.on('RMDIR', (id, p) => {
      if (faults.readOnly) return denied(id);
      rmdir(toLocal(p)).then(
        () => ok(id),
        (err) => fail(id, err),
      );
    });

    sftp.on('REALPATH', (id, p) => {
      const v = toVirtual(p);
      sftp.name(id, [{ filename: v, longname: v, attrs: {} as never }]);
    });

    sftp.on('OPENDIR', (id, p) => {
      stat(toLocal(p)).then(
        (s) => {
          if (!s.isDirectory()) return sftp.status(id, STATUS_CODE.NO_SUCH_FILE, 'Not a directory');
          sftp.handle(id, newHandle({ kind: 'dir', path: toVirtual(p), entries: null }));
        },
        (err) => fail(id, err),
      );
    });
    sftp.on('READDIR', (id, handle) => {
      const h = lookup(handle);
      if (!h || h.kind !== 'dir') return sftp.status(id, STATUS_CODE.FAILURE, 'Invalid handle');
      const send = () => {
        const batch = h.entries!.splice(0, 100);
        if (batch.length === 0) return sftp.status(id, STATUS_CODE.EOF);
        sftp.name(id, batch);
      };
      if (h.entries) return send();
      const dir = toLocal(h.path);
      readdir(dir)
        .then((names) =>
          Promise.all(
            names.map((name) =>
              lstat(path.join(dir, name)).then(
                (s) => ({ filename: name, longname: longname(name, s), attrs: attrsOf(s) }),
                () => null,
              ),
            ),
          ),
        )
        .then(
          (list) => {
            h.entries = list.filter((e): e is NonNullable<typeof e> => e !== null);
            send();
          },
          (err) => fail(id, err),
        );
    });
  }

  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.setTimeout(options.idleTimeoutMs ?? 120_000, () => (originals.get(socket)?.destroy ?? socket.destroy).call(socket));
    socket.once('close', () => {
      sockets.delete(socket);
      originals.delete(socket);
      log({ type: 'disconnect' });
    });
    log({ type: 'connect' });
    if (faults.noHandshake) return;
    const end = socket.end.bind(socket);
    const destroy = socket.destroy.bind(socket);
    originals.set(socket, { end, destroy });
    // Faults around the client's disconnect: ssh2 ends the socket on DISCONNECT, Node on the client's FIN.
    socket.end = ((...args: Parameters<net.Socket['end']>) => {
      if (faults.resetOnEnd) {
        socket.resetAndDestroy();
        return socket;
      }
      if (faults.hangOnEnd) return socket;
      return end(...args);
    }) as net.Socket['end'];
    ssh.injectSocket(socket);
  });

  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(options.port ?? 0, '127.0.0.1', () => {
      tcp.removeListener('error', reject);
      resolve();
    });
  });
  const port = (tcp.address() as net.AddressInfo).port;

  return {
    host: '127.0.0.1',
    port,
    username: options.username,
    rootDir,
    hostKeyFingerprint: fingerprint,
    faults,
    events,
    openConnections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        tcp.close(() => resolve());
        killAll();
      }),
  };
}
