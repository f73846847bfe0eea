// docs/reliability.md, fault 12: a worker that delivers forever must not leak. 1,000 sequential
// deliveries (small files, in-process SFTP server, one shared AbortSignal as a worker would
// hold) leave no extra sockets, timers or listeners behind.
import { getEventListeners } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverFiles, type SftpTimeouts } from '@/lib/delivery';
import { startSftpSink, type SftpSink } from '@/scripts/dev/sftp-sink';
import { makeExportSet, type ExportSet } from './helpers/delivery';

const DELIVERIES = 1_000;
const timeouts: Partial<SftpTimeouts> = {
  readyTimeoutMs: 10_000,
  keepaliveIntervalMs: 1_000,
  keepaliveCountMax: 3,
  operationTimeoutMs: 10_000,
  endTimeoutMs: 1_000,
};

let work: string;
let sink: SftpSink;
let set: ExportSet;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'dde-delivery-seq-'));
  mkdirSync(path.join(work, 'local'));
  set = makeExportSet(path.join(work, 'local'), { dataBytes: [2048] });
  sink = await startSftpSink({ rootDir: path.join(work, 'remote'), username: 'dde', password: 'pw' });
});
afterAll(async () => {
  await sink?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Open handles by kind (sockets, timers, …) and listener counts that a leak would grow. */
function snapshot(signal: AbortSignal) {
  const resources: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
  return {
    sockets: resources.TCPSocketWrap ?? 0,
    timers: resources.Timeout ?? 0,
    abortListeners: getEventListeners(signal, 'abort').length,
    processListeners: ['exit', 'uncaughtException', 'unhandledRejection', 'warning'].reduce((n, e) => n + process.listenerCount(e), 0),
    sinkConnections: sink.openConnections(),
  };
}

async function settle(): Promise<void> {
  // Let closing sockets finish closing (both ends live in this process).
  for (let i = 0; i < 50 && sink.openConnections() > 0; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setImmediate(r));
}

describe('sequential deliveries', () => {
  it(`${DELIVERIES} deliveries in a row leave no socket, timer or listener behind`, { timeout: 300_000 }, async () => {
    const worker = new AbortController();
    const deliverOnce = () =>
      deliverFiles({
        destination: { host: sink.host, port: sink.port, username: 'dde', folder: '/' },
        auth: { method: 'password', password: 'pw' },
        pinnedFingerprint: sink.hostKeyFingerprint,
        files: set.files,
        signal: worker.signal,
        timeouts,
      });
    for (let i = 0; i < 20; i++) await deliverOnce();
    await settle();
    const before = snapshot(worker.signal);

    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < DELIVERIES; i++) await deliverOnce();
    } finally {
      process.off('warning', onWarning);
    }
    await settle();
    const after = snapshot(worker.signal);

    expect(after).toEqual(before);
    expect(after.abortListeners).toBe(0);
    expect(after.sinkConnections).toBe(0);
    expect(warnings.filter((w) => /MaxListenersExceeded/.test(w))).toEqual([]);
    // Still exactly one copy of each file.
    expect(readdirSync(sink.rootDir).sort()).toEqual([...set.content.keys()].sort());
  });
});
