// SFTP delivery against a real OpenSSH sshd (docs/reliability.md, fault checklist). Each test
// states the outcome a user sees: the error code and whether it is retried, and what is (and is
// not) in the customer's folder afterwards.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryAbortedError, DeliveryError, deliverFiles, testConnection, type SftpAuth, type SftpTimeouts } from '@/lib/delivery';
import { generateEd25519KeyPair } from '@/scripts/dev/sftp-sink';
import { failureOf, makeExportSet, sha256Hex, startTcpProxy } from './helpers/delivery';
import { sshdSkipReason, startSshd, type TestSshd } from './helpers/sshd';

const skip = sshdSkipReason();
if (skip) console.warn(`Skipping the real-sshd delivery tests: ${skip}`);

// Short bounds so faults surface quickly; production defaults are in DEFAULT_TIMEOUTS.
const timeouts: Partial<SftpTimeouts> = {
  readyTimeoutMs: 10_000,
  keepaliveIntervalMs: 2_000,
  keepaliveCountMax: 3,
  operationTimeoutMs: 15_000,
  endTimeoutMs: 1_000,
};
// For the black-hole test: silence is detected after (2 + 1) × 500 ms.
const tightKeepalive: Partial<SftpTimeouts> = { keepaliveIntervalMs: 500, keepaliveCountMax: 2 };

describe.skipIf(!!skip)('SFTP delivery to a real OpenSSH sshd', () => {
  let sshd: TestSshd;
  let local: string;
  let n = 0;

  beforeAll(async () => {
    sshd = await startSshd();
    local = mkdtempSync(path.join(os.tmpdir(), 'dde-delivery-local-'));
  });
  afterAll(async () => {
    await sshd?.stop();
    if (local) rmSync(local, { recursive: true, force: true });
  });

  const keyAuth = (): SftpAuth => ({ method: 'private_key', privateKey: sshd.privateKey });

  /** A fresh destination folder under the login folder, owned by the SFTP user. */
  function folder(s: TestSshd = sshd, options: { readOnly?: boolean } = {}): string {
    const name = `out-${++n}`;
    const dir = path.join(s.rootDir, name);
    mkdirSync(dir);
    if (options.readOnly) {
      // Owned by someone else (root) or without the write bit: the SFTP user may not create files.
      chmodSync(dir, 0o555);
    } else {
      chownSync(dir, s.uid, s.gid);
    }
    return name;
  }
  const remote = (f: string, s: TestSshd = sshd) => path.join(s.rootDir, f);
  const listing = (f: string, s: TestSshd = sshd) => readdirSync(remote(f, s)).sort();
  const localSet = (options?: Parameters<typeof makeExportSet>[1]) => {
    const dir = mkdtempSync(path.join(local, 'set-'));
    return makeExportSet(dir, options);
  };
  const destination = (f: string, s: TestSshd = sshd) => ({ host: s.host, port: s.port, username: s.username, folder: f });

  describe('test connection', () => {
    it('passes every step, captures the host key fingerprint exactly as OpenSSH prints it, and leaves no probe file', async () => {
      const f = folder();
      const report = await testConnection({
        host: sshd.host,
        port: sshd.port,
        username: sshd.username,
        auth: keyAuth(),
        folder: f,
        timeouts,
      });
      expect(report.ok).toBe(true);
      expect(report.steps.map((s) => `${s.step}:${s.status}`)).toEqual([
        'resolve:ok',
        'connect:ok',
        'handshake:ok',
        'authenticate:ok',
        'folder_exists:ok',
        'folder_writable:ok',
      ]);
      const keygen = spawnSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(sshd.dir, 'ssh_host_ed25519_key.pub')]);
      if (!keygen.error) expect(keygen.stdout.toString().split(' ')[1]).toBe(report.hostKeyFingerprint);
      expect(report.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
      expect(report.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      expect(listing(f)).toEqual([]);
    });

    it('signs in with a password, and with an encrypted private key and its passphrase', async () => {
      const f = folder();
      if (sshd.password) {
        const byPassword = await testConnection({ ...destination(f), auth: { method: 'password', password: sshd.password }, timeouts });
        expect(byPassword.ok).toBe(true);
      }
      const encrypted = generateEd25519KeyPair({ passphrase: 'open sesame' });
      writeFileSync(path.join(sshd.dir, 'authorized_keys'), `${sshd.publicKey}\n${encrypted.public}\n`);
      const byKey = await testConnection({
        ...destination(f),
        auth: { method: 'private_key', privateKey: encrypted.private, passphrase: 'open sesame' },
        timeouts,
      });
      expect(byKey.ok).toBe(true);
      const noPassphrase = await testConnection({
        ...destination(f),
        auth: { method: 'private_key', privateKey: encrypted.private },
        timeouts,
      });
      expect(noPassphrase.ok).toBe(false);
      expect(noPassphrase.error?.code).toBe('auth_failed');
      expect(noPassphrase.error?.message).toMatch(/passphrase/);
    });

    it('reports a missing folder at the "folder exists" step and a read-only folder at the "writable" step', async () => {
      const missing = await testConnection({ ...destination('no-such-folder'), auth: keyAuth(), timeouts });
      expect(missing.ok).toBe(false);
      expect(missing.steps.find((s) => s.step === 'authenticate')?.status).toBe('ok');
      expect(missing.steps.find((s) => s.step === 'folder_exists')).toMatchObject({
        status: 'failed',
        error: { code: 'folder_missing', retryable: false },
      });
      expect(missing.steps.find((s) => s.step === 'folder_writable')?.status).toBe('skipped');

      const readOnly = folder(sshd, { readOnly: true });
      const denied = await testConnection({ ...destination(readOnly), auth: keyAuth(), timeouts });
      expect(denied.ok).toBe(false);
      expect(denied.steps.find((s) => s.step === 'folder_exists')?.status).toBe('ok');
      expect(denied.steps.find((s) => s.step === 'folder_writable')).toMatchObject({
        status: 'failed',
        error: { code: 'permission_denied', retryable: false },
      });
      expect(listing(readOnly)).toEqual([]);
    });
  });

  it('re-delivery of files that already exist leaves exactly one copy of each, without an error', async () => {
    const f = folder();
    const set = localSet();
    const first = await deliverFiles({
      destination: destination(f),
      auth: keyAuth(),
      pinnedFingerprint: sshd.hostKeyFingerprint,
      files: set.files,
      timeouts,
    });
    const again = await deliverFiles({
      destination: destination(f),
      auth: keyAuth(),
      pinnedFingerprint: sshd.hostKeyFingerprint,
      files: set.files,
      timeouts,
    });
    expect(again.files.map((x) => x.name)).toEqual(first.files.map((x) => x.name));
    expect(listing(f)).toEqual([...set.content.keys()].sort());
    for (const [name, body] of set.content) expect(sha256Hex(readFileSync(path.join(remote(f), name)))).toBe(sha256Hex(body));
  });

  it('downloaded copies match their .sha256 sidecars, and the manifest arrives last', async () => {
    const f = folder();
    const set = localSet({ dataBytes: [700 * 1024, 3 * 1024, 1] });
    const result = await deliverFiles({
      destination: destination(f),
      auth: keyAuth(),
      pinnedFingerprint: sshd.hostKeyFingerprint,
      files: set.files,
      timeouts,
    });
    // Delivery order: data files, then sidecars, then the manifest.
    expect(result.files.map((x) => x.name)).toEqual([...set.names.data, ...set.names.sidecars, set.names.manifest]);
    expect(result.bytes).toBe([...set.content.values()].reduce((s, b) => s + b.length, 0));

    // Download every file over SFTP, as a customer's loader would, and check it against its sidecar.
    const download = mkdtempSync(path.join(local, 'download-'));
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) =>
      client
        .on('ready', resolve)
        .on('error', reject)
        .connect({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey }),
    );
    const sftp = await new Promise<ssh2.SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
    for (const name of set.content.keys()) {
      await new Promise<void>((resolve, reject) =>
        sftp.fastGet(`${f}/${name}`, path.join(download, name), (err) => (err ? reject(err) : resolve())),
      );
    }
    client.end();
    for (const name of set.names.data) {
      const sidecar = readFileSync(path.join(download, `${name}.sha256`), 'utf8');
      expect(sidecar).toBe(`${sha256Hex(readFileSync(path.join(download, name)))}  ${name}\n`);
    }
    const check = spawnSync('sha256sum', ['-c', ...set.names.sidecars], { cwd: download });
    if (!check.error) expect(check.status, check.stdout.toString()).toBe(0);

    // The last change under a final name (rename sets ctime) is the manifest's.
    const ctime = (name: string) => statSync(path.join(remote(f), name), { bigint: true }).ctimeNs;
    const manifestAt = ctime(set.names.manifest);
    for (const name of [...set.names.data, ...set.names.sidecars]) expect(ctime(name) <= manifestAt).toBe(true);
    expect(listing(f)).toEqual([...set.content.keys()].sort());
  });

  it('wrong password or wrong key: auth_failed, not retried, nothing uploaded, no secret in the message', async () => {
    const f = folder();
    const set = localSet();
    const wrongPassword = 'not-the-password-4711';
    const [byPassword] = await failureOf(() =>
      deliverFiles({
        destination: destination(f),
        auth: { method: 'password', password: wrongPassword },
        pinnedFingerprint: sshd.hostKeyFingerprint,
        files: set.files,
        timeouts,
      }),
    );
    expect(byPassword).toBeInstanceOf(DeliveryError);
    expect(byPassword).toMatchObject({ code: 'auth_failed', retryable: false });
    expect(JSON.stringify(byPassword)).not.toContain(wrongPassword);
    expect(String((byPassword as Error).message)).not.toContain(wrongPassword);

    const otherKey = generateEd25519KeyPair().private;
    const [byKey] = await failureOf(() =>
      deliverFiles({
        destination: destination(f),
        auth: { method: 'private_key', privateKey: otherKey },
        pinnedFingerprint: sshd.hostKeyFingerprint,
        files: set.files,
        timeouts,
      }),
    );
    expect(byKey).toMatchObject({ code: 'auth_failed', retryable: false });
    expect((byKey as Error).message).toContain(`user "${sshd.username}"`);
    expect(listing(f)).toEqual([]);
  });

  it('read-only folder → permission_denied and missing folder → folder_missing, neither retried, nothing delivered', async () => {
    const set = localSet();
    const readOnly = folder(sshd, { readOnly: true });
    const [denied] = await failureOf(() =>
      deliverFiles({
        destination: destination(readOnly),
        auth: keyAuth(),
        pinnedFingerprint: sshd.hostKeyFingerprint,
        files: set.files,
        timeouts,
      }),
    );
    expect(denied).toMatchObject({ code: 'permission_denied', retryable: false });
    expect(listing(readOnly)).toEqual([]);

    const [missing] = await failureOf(() =>
      deliverFiles({
        destination: destination('gone/away'),
        auth: keyAuth(),
        pinnedFingerprint: sshd.hostKeyFingerprint,
        files: set.files,
        timeouts,
      }),
    );
    expect(missing).toMatchObject({ code: 'folder_missing', retryable: false });
    expect((missing as Error).message).toContain('"gone/away" does not exist');
  });

  it('pause immediately during an upload: stopped within seconds, the partial copy removed, nothing under a final name', async () => {
    const f = folder();
    const set = localSet({ dataBytes: [32 * 1024 * 1024] });
    const controller = new AbortController();
    let abortedAt = 0;
    const [err] = await failureOf(() =>
      deliverFiles({
        destination: destination(f),
        auth: keyAuth(),
        pinnedFingerprint: sshd.hostKeyFingerprint,
        files: set.files,
        timeouts,
        signal: controller.signal,
        onProgress: (p) => {
          if (!abortedAt && p.fileBytes >= 512 * 1024) {
            abortedAt = performance.now();
            controller.abort();
          }
        },
      }),
    );
    const stoppedAfter = performance.now() - abortedAt;
    expect(err).toBeInstanceOf(DeliveryAbortedError);
    expect(abortedAt).toBeGreaterThan(0);
    // "Within seconds" (docs/architecture.md: pause immediately); generous for a loaded machine.
    expect(stoppedAfter).toBeLessThan(5_000);
    expect(listing(f)).toEqual([]);
  });

  it('server killed mid-upload: a retryable failure, no partial file under the final name, and the retry delivers it complete', async () => {
    const own = await startSshd();
    try {
      const f = folder(own);
      const set = localSet({ dataBytes: [24 * 1024 * 1024, 1024] });
      const big = set.names.data[0];
      let killed: Promise<void> | undefined;
      const [err] = await failureOf(() =>
        deliverFiles({
          destination: destination(f, own),
          auth: { method: 'private_key', privateKey: own.privateKey },
          pinnedFingerprint: own.hostKeyFingerprint,
          files: set.files,
          timeouts,
          onProgress: (p) => {
            if (!killed && p.fileBytes >= 2 * 1024 * 1024) killed = own.kill();
          },
        }),
      );
      await killed;
      expect(err).toBeInstanceOf(DeliveryError);
      expect(err).toMatchObject({ retryable: true });
      expect(['unknown', 'timeout']).toContain((err as DeliveryError).code);
      expect(listing(f, own)).not.toContain(big);
      expect(listing(f, own).filter((x) => !x.startsWith(`.${big}.part-`))).toEqual([]);

      await own.restart();
      await deliverFiles({
        destination: destination(f, own),
        auth: { method: 'private_key', privateKey: own.privateKey },
        pinnedFingerprint: own.hostKeyFingerprint,
        files: set.files,
        timeouts,
      });
      // The leftover temporary copy of the killed attempt is gone too.
      expect(listing(f, own)).toEqual([...set.content.keys()].sort());
      expect(sha256Hex(readFileSync(path.join(remote(f, own), big)))).toBe(sha256Hex(set.content.get(big)!));
    } finally {
      await own.stop();
    }
  });

  it('network black-holed mid-transfer: fails with a retryable timeout within the keepalive bound instead of hanging', async () => {
    const f = folder();
    const set = localSet({ dataBytes: [16 * 1024 * 1024] });
    const proxy = await startTcpProxy(sshd);
    try {
      proxy.blackHoleAfter(2 * 1024 * 1024);
      const [err, elapsed] = await failureOf(() =>
        deliverFiles({
          destination: { ...destination(f), host: proxy.host, port: proxy.port },
          auth: keyAuth(),
          pinnedFingerprint: sshd.hostKeyFingerprint,
          files: set.files,
          timeouts: { ...timeouts, ...tightKeepalive, operationTimeoutMs: 60_000 },
        }),
      );
      expect(proxy.holed).toBe(true);
      expect(err).toMatchObject({ code: 'timeout', retryable: true });
      // Keepalive: 500 ms × (2 + 1) of silence; generous bound for a loaded machine.
      expect(elapsed).toBeLessThan(15_000);
      expect(listing(f)).not.toContain(set.names.data[0]);
    } finally {
      await proxy.close();
    }
  });

  it('host key changed: host_key_mismatch, not retried, nothing uploaded', async () => {
    const own = await startSshd();
    try {
      const f = folder(own);
      const pinned = own.hostKeyFingerprint;
      const rotated = await own.rotateHostKey();
      expect(rotated).not.toBe(pinned);
      const set = localSet();
      const [err] = await failureOf(() =>
        deliverFiles({
          destination: destination(f, own),
          auth: { method: 'private_key', privateKey: own.privateKey },
          pinnedFingerprint: pinned,
          files: set.files,
          timeouts,
        }),
      );
      expect(err).toMatchObject({ code: 'host_key_mismatch', retryable: false });
      expect((err as Error).message).toContain(rotated);
      expect((err as Error).message).toContain(pinned);
      expect(listing(f, own)).toEqual([]);
      // The server never even saw a login attempt.
      expect(own.log()).not.toMatch(/Accepted publickey|Failed publickey|Postponed publickey/);

      const retest = await testConnection({
        ...destination(f, own),
        auth: { method: 'private_key', privateKey: own.privateKey },
        expectedFingerprint: pinned,
        timeouts,
      });
      expect(retest.ok).toBe(false);
      expect(retest.hostKeyFingerprint).toBe(rotated);
      expect(retest.steps.find((s) => s.step === 'handshake')).toMatchObject({ status: 'failed', error: { code: 'host_key_mismatch' } });
      expect(retest.steps.find((s) => s.step === 'authenticate')?.status).toBe('skipped');
    } finally {
      await own.stop();
    }
  });
});

// Keep the helper's root-only branch honest: the dedicated user must exist after a root run.
describe.skipIf(!!skip || process.getuid?.() !== 0)('sshd harness', () => {
  it('logs in a dedicated unprivileged user, so folder permissions apply', () => {
    expect(execFileSync('id', ['-u', 'ddesftp']).toString().trim()).not.toBe('0');
  });
});
