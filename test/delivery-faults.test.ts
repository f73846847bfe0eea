// SFTP faults that need a server misbehaving on cue (docs/reliability.md, fault checklist), injected by
// the in-process SFTP sink; plus the network faults that need no server at all.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryAbortedError, DeliveryError, deliverFiles, testConnection, type SftpAuth, type SftpTimeouts } from '@/lib/delivery';
import { startSftpSink, type SftpSink, type SinkFaults } from '@/scripts/dev/sftp-sink';
import { DEMO_FOLDER, startDemoSink } from '@/scripts/demo';
import { closedPort, failureOf, makeExportSet, sha256Hex, type ExportSet } from './helpers/delivery';

const timeouts: Partial<SftpTimeouts> = {
  readyTimeoutMs: 10_000,
  keepaliveIntervalMs: 2_000,
  keepaliveCountMax: 3,
  operationTimeoutMs: 10_000,
  endTimeoutMs: 500,
};
// Where silence itself is the fault: detected after (2 + 1) × 500 ms, or a 2 s operation deadline.
const tight: Partial<SftpTimeouts> = { keepaliveIntervalMs: 500, keepaliveCountMax: 2, operationTimeoutMs: 2_000 };
const PASSWORD = 'sink-password-1';
const auth: SftpAuth = { method: 'password', password: PASSWORD };

let work: string;
let set: ExportSet;
const sinks: SftpSink[] = [];

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'dde-delivery-faults-'));
  const local = path.join(work, 'local');
  mkdirSync(local);
  set = makeExportSet(local, { dataBytes: [512 * 1024, 20 * 1024] });
});
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

let n = 0;
async function sink(faults: SinkFaults = {}): Promise<SftpSink> {
  const s = await startSftpSink({ rootDir: path.join(work, `sink-${++n}`), username: 'dde', password: PASSWORD, faults });
  sinks.push(s);
  return s;
}
const to = (s: SftpSink, folder = '/') => ({ host: s.host, port: s.port, username: 'dde', folder });
const listing = (s: SftpSink) => readdirSync(s.rootDir).sort();
const deliver = (s: SftpSink, files = set.files, more: Partial<Parameters<typeof deliverFiles>[0]> = {}) =>
  deliverFiles({ destination: to(s), auth, pinnedFingerprint: s.hostKeyFingerprint, files, timeouts, ...more });

describe('SFTP faults (in-process server)', () => {
  it('TCP accepted but no SSH handshake: fails with a retryable timeout at the ready timeout', async () => {
    const s = await sink({ noHandshake: true });
    const ready = { ...timeouts, readyTimeoutMs: 1_500 };
    const [err, elapsed] = await failureOf(() => deliver(s, set.files, { timeouts: ready }));
    expect(err).toMatchObject({ code: 'timeout', retryable: true });
    expect((err as Error).message).toMatch(/during the SSH handshake/);
    expect(elapsed).toBeGreaterThanOrEqual(1_000);
    expect(elapsed).toBeLessThan(10_000);
    const report = await testConnection({ ...to(s), auth, timeouts: ready });
    expect(report.steps.find((x) => x.step === 'connect')?.status).toBe('ok');
    expect(report.steps.find((x) => x.step === 'handshake')).toMatchObject({
      status: 'failed',
      error: { code: 'timeout', retryable: true },
    });
  });

  it('connection reset when the client says goodbye: the delivery still completes, without hanging or crashing', async () => {
    const s = await sink({ resetOnEnd: true });
    const started = performance.now();
    const result = await deliver(s);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(result.files).toHaveLength(set.files.length);
    expect(listing(s)).toEqual([...set.content.keys()].sort());
    // Give a late ECONNRESET the chance to surface as an unhandled error (vitest would fail the run).
    await new Promise((r) => setTimeout(r, 200));
  });

  it('server that never closes after the goodbye: end() gives up after its bound and the delivery returns', async () => {
    const s = await sink({ hangOnEnd: true });
    const started = performance.now();
    await deliver(s);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(listing(s)).toEqual([...set.content.keys()].sort());
  });

  it('disk full: no_space, retryable, nothing under the final name and no temporary file left', async () => {
    const s = await sink({ diskFullAfterBytes: 100 * 1024 });
    const [err] = await failureOf(() => deliver(s));
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ code: 'no_space', retryable: true });
    expect((err as Error).message).toMatch(/disk is full or the user's quota is exceeded/);
    expect(listing(s)).toEqual([]);
  });

  it('server that stops acknowledging writes (but answers keepalives): fails at the operation deadline instead of hanging', async () => {
    const s = await sink({ stallWritesAfterBytes: 64 * 1024 });
    const [err, elapsed] = await failureOf(() => deliver(s, set.files, { timeouts: { ...timeouts, ...tight } }));
    expect(err).toMatchObject({ code: 'timeout', retryable: true });
    expect((err as Error).message).toMatch(/during the transfer/);
    expect(elapsed).toBeLessThan(15_000);
    expect(listing(s).filter((f) => !f.includes('.part-'))).toEqual([]);
  });

  it('network black-holed mid-transfer (streamed upload): fails with a retryable timeout within the keepalive bound', async () => {
    const s = await sink({ blackHoleAfterBytes: 128 * 1024 });
    const [err, elapsed] = await failureOf(() =>
      deliver(s, set.streamed, { timeouts: { ...timeouts, ...tight, operationTimeoutMs: 60_000 } }),
    );
    expect(err).toMatchObject({ code: 'timeout', retryable: true });
    expect(elapsed).toBeLessThan(15_000);
    expect(listing(s).filter((f) => !f.includes('.part-'))).toEqual([]);
  });

  it('server killed mid-upload (streamed upload): retryable, the final name never holds a partial file, the retry delivers it', async () => {
    const s = await sink({ killAfterBytes: 200 * 1024 });
    const [err] = await failureOf(() => deliver(s, set.streamed));
    expect(err).toMatchObject({ code: 'unknown', retryable: true });
    expect(listing(s).filter((f) => !f.includes('.part-'))).toEqual([]);
    await deliver(s, set.streamed);
    expect(listing(s)).toEqual([...set.content.keys()].sort());
    for (const [name, body] of set.content) expect(sha256Hex(readFileSync(path.join(s.rootDir, name)))).toBe(sha256Hex(body));
  });

  it("in a folder holding thousands of other files, an interrupted attempt's temporary copy is cleaned up by the next delivery", async () => {
    const s = await sink();
    for (let i = 0; i < 2_500; i++) writeFileSync(path.join(s.rootDir, `older-${i}.gz`), '');
    const stale = `.${set.names.data[0]}.part-0badc0de`;
    writeFileSync(path.join(s.rootDir, stale), 'partial');
    await deliver(s);
    const names = listing(s);
    expect(names).not.toContain(stale);
    expect(names.filter((f) => !f.startsWith('older-'))).toEqual([...set.content.keys()].sort());
    expect(names).toHaveLength(2_500 + set.content.size);
  });

  it('read-only destination: permission_denied, not retried, nothing delivered', async () => {
    const s = await sink({ readOnly: true });
    const [err] = await failureOf(() => deliver(s));
    expect(err).toMatchObject({ code: 'permission_denied', retryable: false });
    expect(listing(s)).toEqual([]);
  });

  it('DNS failure and connection refused: distinct, retryable errors', async () => {
    const files = set.files;
    const [dns] = await failureOf(() =>
      deliverFiles({
        destination: { host: 'dde-no-such-host.invalid', port: 22, username: 'dde', folder: '/' },
        auth,
        pinnedFingerprint: 'SHA256:' + 'A'.repeat(43),
        files,
        timeouts,
      }),
    );
    expect(dns).toMatchObject({ code: 'dns', retryable: true });
    expect((dns as Error).message).toContain('dde-no-such-host.invalid');
    const port = await closedPort();
    const [refused] = await failureOf(() =>
      deliverFiles({
        destination: { host: '127.0.0.1', port, username: 'dde', folder: '/' },
        auth,
        pinnedFingerprint: 'SHA256:' + 'A'.repeat(43),
        files,
        timeouts,
      }),
    );
    expect(refused).toMatchObject({ code: 'refused', retryable: true });

    const report = await testConnection({ host: '127.0.0.1', port, username: 'dde', auth, folder: '/', timeouts });
    expect(report.steps.map((x) => x.status)).toEqual(['ok', 'failed', 'skipped', 'skipped', 'skipped', 'skipped']);
    expect(report.error?.code).toBe('refused');
  });

  it('re-delivery to a server without posix-rename: the old copy is replaced, exactly one file each, no error', async () => {
    const s = await sink();
    await deliver(s);
    await deliver(s, set.streamed);
    expect(listing(s)).toEqual([...set.content.keys()].sort());
    expect(
      s.events
        .filter((e) => e.type === 'remove' && !e.path?.includes('.part-'))
        .map((e) => e.path?.slice(1))
        .sort(),
    ).toEqual([...set.content.keys()].sort());
  });

  it('the manifest arrives last and every file appears under its final name only by rename (server event log)', async () => {
    const s = await sink();
    await deliver(s);
    const renames = s.events.filter((e) => e.type === 'rename');
    expect(renames.map((e) => e.to!.slice(1))).toEqual([...set.names.data, ...set.names.sidecars, set.names.manifest]);
    for (const e of renames) expect(path.posix.basename(e.path!)).toMatch(/^\..+\.part-[0-9a-f]+$/);
    // Nothing was ever opened under a final name.
    expect(s.events.filter((e) => e.type === 'open').every((e) => e.path!.includes('.part-'))).toBe(true);
  });

  it('pause immediately during a stalled streamed upload: stopped within seconds, the temporary file removed', async () => {
    const s = await sink({ stallWritesAfterBytes: 96 * 1024 });
    const controller = new AbortController();
    let abortedAt = 0;
    const [err] = await failureOf(() =>
      deliver(s, set.streamed, {
        signal: controller.signal,
        timeouts: { ...timeouts, operationTimeoutMs: 60_000 },
        onProgress: (p) => {
          if (!abortedAt && p.fileBytes > 0) {
            abortedAt = performance.now();
            setTimeout(() => controller.abort(), 100);
          }
        },
      }),
    );
    expect(err).toBeInstanceOf(DeliveryAbortedError);
    expect(performance.now() - abortedAt).toBeLessThan(5_000);
    expect(listing(s)).toEqual([]);
  });

  it('with source checksum verification on, a file that no longer matches its recorded SHA-256 is not delivered', async () => {
    const s = await sink();
    for (const files of [set.files, set.streamed]) {
      const corrupted = files.map((f) => (f.name === set.names.data[0] ? { ...f, sha256: '0'.repeat(64) } : f));
      const [err] = await failureOf(() => deliver(s, corrupted, { verifySourceChecksum: true }));
      expect(err).toMatchObject({ code: 'unknown', stage: 'verify' });
      expect((err as Error).message).toContain('does not match its recorded SHA-256');
      expect(listing(s)).toEqual([]);
    }
    await deliver(s, set.files, { verifySourceChecksum: true });
    await deliver(s, set.streamed, { verifySourceChecksum: true });
    expect(listing(s)).toEqual([...set.content.keys()].sort());
  });

  it('refuses to deliver without a pinned host key, and refuses a destination folder with ".."', async () => {
    const s = await sink();
    await expect(deliverFiles({ destination: to(s), auth, pinnedFingerprint: '', files: set.files, timeouts })).rejects.toMatchObject({
      code: 'host_key_mismatch',
    });
    await expect(
      deliverFiles({ destination: to(s, '/a/../etc'), auth, pinnedFingerprint: s.hostKeyFingerprint, files: set.files, timeouts }),
    ).rejects.toThrow(/must not contain "\.\." segments/);
    expect(s.events.filter((e) => e.type === 'connect')).toEqual([]);
  });
});

describe('demo SFTP sink', () => {
  it('keeps its port, host key and credentials across restarts, so the pinned fingerprint and stored password stay valid', async () => {
    // The sink `npm start` runs for the demo connection (scripts/demo.ts).
    const dataDir = path.join(work, 'demo-data');
    const first = await startDemoSink(dataDir);
    sinks.push(first.sink);
    const { hostKeyFingerprint: fingerprint } = first.sink;
    await first.sink.close();
    const second = await startDemoSink(dataDir);
    sinks.push(second.sink);
    expect(second.config).toEqual(first.config);
    expect(second.sink.port).toBe(first.config.port);
    expect(second.sink.hostKeyFingerprint).toBe(fingerprint);
    const report = await testConnection({
      host: second.sink.host,
      port: second.sink.port,
      username: second.config.username,
      auth: { method: 'password', password: second.config.password },
      folder: DEMO_FOLDER,
      expectedFingerprint: fingerprint,
      timeouts,
    });
    expect(report.ok).toBe(true);
    expect(report.hostKeyFingerprint).toBe(fingerprint);
    expect(second.sink.rootDir).toBe(path.join(dataDir, 'demo-sftp', 'files'));
  });

  it('refuses a wrong password (auth_failed) and keeps every path inside its own directory tree', async () => {
    const s = await sink();
    const wrong = await testConnection({ ...to(s), auth: { method: 'password', password: 'nope' }, timeouts });
    expect(wrong.error).toMatchObject({ code: 'auth_failed', retryable: false });
    // A client that does not validate its paths still cannot climb out of rootDir.
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) =>
      client.on('ready', resolve).on('error', reject).connect({ host: s.host, port: s.port, username: 'dde', password: PASSWORD }),
    );
    const sftp = await new Promise<ssh2.SFTPWrapper>((resolve, reject) => client.sftp((err, x) => (err ? reject(err) : resolve(x))));
    await new Promise<void>((resolve, reject) => sftp.writeFile('/../../../escape.txt', 'x', (err) => (err ? reject(err) : resolve())));
    client.end();
    expect(listing(s)).toEqual(['escape.txt']);
  });

  it('answers a bare TCP probe without crashing', async () => {
    const s = await sink();
    await new Promise<void>((resolve) => {
      const c = net.connect(s.port, s.host, () => c.end('garbage\r\n'));
      c.resume();
      c.on('close', () => resolve()).on('error', () => resolve());
    });
    expect((await testConnection({ ...to(s), auth, timeouts })).ok).toBe(true);
  });
});
