// Helpers for the SFTP delivery tests: export file sets on local disk (data files, .sha256
// sidecars, manifest, as docs/export-files.md names them), a TCP proxy that can black-hole the network,
// and one that makes it slow.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { DeliveryFile } from '@/lib/delivery';

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(file: string): string {
  return sha256Hex(readFileSync(file));
}

export type ExportSet = {
  files: DeliveryFile[];
  /** Same files, offered as streams instead of local paths. */
  streamed: DeliveryFile[];
  names: { data: string[]; sidecars: string[]; manifest: string };
  /** Content of every file by name. */
  content: Map<string, Buffer>;
};

/** Writes one run's files into dir: data files of the given sizes, their sidecars, and the manifest. */
export function makeExportSet(dir: string, options: { programId?: number; hour?: string; dataBytes?: number[] } = {}): ExportSet {
  const programId = options.programId ?? 4021;
  const stamp = `11-28-2026-${options.hour ?? '08'}`;
  const types = ['activity', 'user', 'campaign'];
  const sizes = options.dataBytes ?? [256 * 1024, 10 * 1024];
  const content = new Map<string, Buffer>();
  const data: string[] = [];
  const sidecars: string[] = [];
  const manifestFiles: unknown[] = [];
  sizes.forEach((bytes, i) => {
    const name = `${programId}-${stamp}-${types[i % 3]}-incremental${i >= 3 ? `-${i}` : ''}.gz`;
    const body = randomBytes(bytes);
    const digest = sha256Hex(body);
    content.set(name, body);
    content.set(`${name}.sha256`, Buffer.from(`${digest}  ${name}\n`));
    data.push(name);
    sidecars.push(`${name}.sha256`);
    manifestFiles.push({ name, type: types[i % 3], format: 'csv', compression: 'gzip', rows: 1, bytes, sha256: digest });
  });
  const manifest = `${programId}-${stamp}-manifest-incremental.json`;
  content.set(
    manifest,
    Buffer.from(JSON.stringify({ schema_version: 1, program_id: programId, export_type: 'incremental', files: manifestFiles }, null, 2)),
  );
  for (const [name, body] of content) writeFileSync(path.join(dir, name), body);
  // Deliberately out of order: deliverFiles puts data first, sidecars next, the manifest last.
  const order = [manifest, ...sidecars, ...data];
  const files = order.map((name) => ({
    name,
    size: content.get(name)!.length,
    sha256: sha256Hex(content.get(name)!),
    localPath: path.join(dir, name),
  }));
  const streamed = order.map((name) => ({
    name,
    size: content.get(name)!.length,
    sha256: sha256Hex(content.get(name)!),
    open: () => createReadStream(path.join(dir, name)),
  }));
  return { files, streamed, names: { data, sidecars, manifest }, content };
}

/** A TCP proxy in front of a server; black-holes the network on demand (both directions go silent). */
export async function startTcpProxy(target: { host: string; port: number }) {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let upstreamBytes = 0;
  let holeAfter: number | undefined;
  let holed = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const close = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.on('data', (d: Buffer) => {
      if (holed) return;
      upstreamBytes += d.length;
      if (holeAfter !== undefined && upstreamBytes >= holeAfter) {
        holed = true;
        return;
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (!holed) client.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    /** Silently drop everything once the client has sent this many more bytes. */
    blackHoleAfter(bytes: number) {
      holeAfter = upstreamBytes + bytes;
    },
    get holed() {
      return holed;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

/**
 * A TCP proxy in front of a server that passes what the client sends at most `bytesPerSecond` per
 * connection (a slow network to the customer's server); the server's answers pass at full speed.
 * `bytesPerSecond` can be changed while connections are open (Infinity: no limit).
 */
export async function startSlowProxy(target: { host: string; port: number }, options: { bytesPerSecond: number }) {
  const sockets = new Set<net.Socket>();
  const state = { bytesPerSecond: options.bytesPerSecond };
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.on('data', (d: Buffer) => {
      const wait = Number.isFinite(state.bytesPerSecond) ? (d.length / state.bytesPerSecond) * 1000 : 0;
      if (wait < 1) return void upstream.write(d);
      client.pause();
      setTimeout(() => {
        upstream.write(d);
        client.resume();
      }, wait).unref();
    });
    upstream.on('data', (d: Buffer) => client.write(d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    get bytesPerSecond() {
      return state.bytesPerSecond;
    },
    set bytesPerSecond(value: number) {
      state.bytesPerSecond = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 where nothing listens. */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Runs fn and returns [error, elapsed ms]. */
export async function failureOf(fn: () => Promise<unknown>): Promise<[unknown, number]> {
  const started = performance.now();
  try {
    await fn();
  } catch (err) {
    return [err, performance.now() - started];
  }
  throw new Error('expected a failure, but it succeeded');
}
