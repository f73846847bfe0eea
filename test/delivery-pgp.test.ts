// OpenPGP-encrypted deliveries end to end, against a real OpenSSH sshd and with the customer's side
// played by gpg: an SFTP connection set up with a public key receives `<name>.gz.pgp` files that
// `gpg --decrypt` turns back into the export's exact gzip, sidecars `sha256sum -c` passes on in the
// folder, and a manifest (written last) with the digests of both. Every attempt encrypts anew, so
// after a failed attempt the retry's sidecars and manifest describe the retry's bytes. Memory stays
// flat: a large file is encrypted as it streams.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chownSync,
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportFiles, exportRuns, notifications, type Connection, type ExportFile } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { createConnection, startConnection, stopConnection } from '@/lib/connections/lifecycle';
import { replacePgpKey } from '@/lib/connections/pgp-key';
import { createConnectionSchema, replacePgpKeySchema } from '@/lib/connections/schemas';
import { sftpSetupCheck } from '@/lib/connections/sftp-check';
import { deliverFiles } from '@/lib/delivery';
import { readRecipientKey } from '@/lib/delivery/pgp';
import { keysFromJwks, publishedKeys, verifyManifestSignature } from '@/lib/exports';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { executeExportRun } from '@/lib/runs/export-run';
import { retryRun } from '@/lib/runs/retry';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { getStorage, setStorage, type Storage } from '@/lib/storage';
import { OPS_ADMIN, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { gpgSkipReason, startGpg, type TestGpg, type TestKey } from './helpers/gpg';
import { sshdSkipReason, startSshd, type TestSshd } from './helpers/sshd';

const skip = sshdSkipReason() ?? gpgSkipReason();
if (skip) console.warn(`Skipping the OpenPGP delivery tests: ${skip}`);

const PROGRAM = 73;
const until = new Date('2026-11-20T00:00:00Z');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const timeouts = { operationTimeoutMs: 15_000, endTimeoutMs: 1_000 };

describe.skipIf(!!skip)('OpenPGP-encrypted SFTP deliveries to a real OpenSSH sshd', () => {
  let t: TestDatabase;
  let dataDir: string;
  let sshd: TestSshd;
  let gpg: TestGpg;
  let key: TestKey;
  let n = 0;

  beforeAll(async () => {
    t = await createTestDatabase();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-pgp-delivery-'));
    useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined, DDE_DELIVERY_MAX_ATTEMPTS: '3' });
    setStorage(undefined);
    await seedProgram(t, { programId: PROGRAM, users: 120, campaigns: 8, events: 30_000, days: 1, seed: 7, until });
    setClock(new Date(until.getTime() + 10 * 60_000));
    sshd = await startSshd();
    gpg = startGpg();
    // Made before the test clock's "now" (the key must be valid then), never expiring.
    key = gpg.generate('Acme Data Team <data@acme.example>', { fakedTime: '20260101T000000' });
  }, 180_000);
  afterAll(async () => {
    resetClock();
    await sshd?.stop();
    gpg?.cleanup();
    await t?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** A new folder owned by the SFTP user, and a connection delivering every 4 hours to it, encrypted to `key`. */
  async function encryptedConnection(recipient: TestKey = key): Promise<{ connection: Connection; folder: string }> {
    const name = `enc-${++n}`;
    mkdirSync(path.join(sshd.rootDir, name));
    chownSync(path.join(sshd.rootDir, name), sshd.uid, sshd.gid);
    const parsed = await createConnectionSchema.safeParseAsync({
      kind: 'sftp',
      name: `Encrypted ${n}`,
      frequency: 'every_4_hours',
      start_date: new Date(until.getTime() - 4 * 3_600_000).toISOString(),
      contact_emails: ['data-team@customer.example'],
      host: sshd.host,
      port: sshd.port,
      folder: name,
      username: sshd.username,
      auth: { method: 'private_key', private_key: sshd.privateKey },
      host_key_fingerprint: sshd.hostKeyFingerprint,
      pgp_public_key: recipient.armoredPublic,
      pgp_key_fingerprint: recipient.fingerprint,
    });
    expect(parsed.error).toBeUndefined();
    const connection = await createConnection(t, OPS_ADMIN, PROGRAM, parsed.data!, sftpSetupCheck());
    return { connection, folder: path.join(sshd.rootDir, name) };
  }

  /** The one closed window's run, exported. */
  async function exportedRun(connection: Connection) {
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const [run] = await t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, connection.id));
    expect((await executeExportRun(t, run.id)).status).toBe('generated');
    const files = await t.db
      .select()
      .from(exportFiles)
      .where(and(eq(exportFiles.runId, run.id), eq(exportFiles.programId, PROGRAM)));
    return { run, data: files.filter((f) => f.fileType !== 'manifest'), manifest: files.find((f) => f.fileType === 'manifest')! };
  }

  const gzipOf = (f: ExportFile) => readFileSync(getStorage().localPath(f.storageKey)!);

  /** What a customer checks in the delivery folder: sha256sum -c on every sidecar, gpg --decrypt of every file, the manifest. */
  async function checkFolder(
    folder: string,
    data: ExportFile[],
    manifestName: string,
    customer: { gpg: TestGpg; key: TestKey } = { gpg, key },
  ) {
    const signingKeys = keysFromJwks(await publishedKeys(t.db));
    const names = readdirSync(folder).sort();
    expect(names).toEqual([...data.flatMap((f) => [`${f.name}.pgp`, `${f.name}.pgp.sha256`]), manifestName, `${manifestName}.sig`].sort());
    const check = spawnSync('sha256sum', ['-c', '--strict', ...names.filter((x) => x.endsWith('.sha256'))], {
      cwd: folder,
      encoding: 'utf8',
    });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout.trim().split('\n')).toEqual(data.map((f) => `${f.name}.pgp: OK`).sort());

    // The delivered manifest (which describes this attempt's encrypted bytes) is what its .sig signs.
    const manifestBytes = readFileSync(path.join(folder, manifestName));
    const signature = readFileSync(path.join(folder, `${manifestName}.sig`), 'utf8');
    expect(verifyManifestSignature(manifestBytes, signature, signingKeys)).toMatchObject({ ok: true });
    const manifest = JSON.parse(manifestBytes.toString('utf8'));
    expect(manifest.encrypted_to).toBe(customer.key.fingerprint.replace(/(.{4})(?!$)/g, '$1 '));
    for (const f of data) {
      const delivered = readFileSync(path.join(folder, `${f.name}.pgp`));
      const decrypted = customer.gpg.decrypt(path.join(folder, `${f.name}.pgp`));
      // Exactly the export's gzip: the same bytes the API serves.
      expect(decrypted.equals(gzipOf(f))).toBe(true);
      expect(sha256(decrypted)).toBe(f.sha256);
      expect(readFileSync(path.join(folder, `${f.name}.pgp.sha256`), 'utf8')).toBe(`${sha256(delivered)}  ${f.name}.pgp\n`);
      expect(manifest.files.find((m: { name: string }) => m.name === `${f.name}.pgp`)).toEqual({
        name: `${f.name}.pgp`,
        type: f.fileType,
        format: 'csv',
        compression: 'gzip',
        rows: f.rows,
        bytes: delivered.length,
        sha256: sha256(delivered),
        plaintext_sha256: f.sha256,
        plaintext_bytes: f.bytes,
        encryption: 'openpgp',
      });
    }
    expect(manifest.files).toHaveLength(data.length);
    // The manifest is the last change under a final name (rename sets ctime).
    const ctime = (x: string) => statSync(path.join(folder, x), { bigint: true }).ctimeNs;
    for (const x of names) expect(ctime(x) <= ctime(manifestName)).toBe(true);
  }

  it('delivers <name>.gz.pgp that gpg decrypts to the exact gzip, sidecars sha256sum -c passes, and the manifest with both digests', async () => {
    const { connection, folder } = await encryptedConnection();
    const { run, data, manifest } = await exportedRun(connection);
    expect(data.map((f) => f.fileType).sort()).toEqual(['activity', 'campaign', 'user']);

    const outcome = await executeDelivery(t, run.id, { timeouts });
    expect(outcome.status).toBe('delivered');
    await checkFolder(folder, data, manifest.name);
    // Nothing in the folder is readable without the key.
    for (const f of data)
      expect(
        readFileSync(path.join(folder, `${f.name}.pgp`))
          .subarray(0, 2)
          .equals(Buffer.from([0x1f, 0x8b])),
      ).toBe(false);

    // The delivery report names the files as they are in the folder.
    const [report] = await t.db.select().from(notifications).where(eq(notifications.runId, run.id));
    for (const f of data) expect(report.body).toContain(`${f.name}.pgp`);
  });

  it('a failed attempt after the files landed: the retry encrypts anew, and its sidecars and manifest describe the new bytes', async () => {
    const { connection, folder } = await encryptedConnection();
    const { run, data, manifest } = await exportedRun(connection);
    // A storage backend without local paths (as S3), whose first read of the manifest fails (a bucket hiccup).
    const real = getStorage();
    let manifestReads = 0;
    const flaky: Storage = Object.assign(Object.create(real) as Storage, {
      localPath: () => undefined,
      get: async (k: string, range?: { start?: number; end?: number }) => {
        if (k === manifest.storageKey && manifestReads++ === 0) throw new Error('the bucket timed out');
        return real.get(k, range);
      },
    });

    const first = await executeDelivery(t, run.id, { timeouts, storage: flaky });
    expect(first.status).toBe('retry');
    expect(first.status === 'retry' && first.error.message).toMatch(/could not be prepared for delivery; the attempt will be retried/);
    // The data files and their sidecars landed (consistent among themselves); no manifest yet, so consumers wait.
    const afterFirst = readdirSync(folder).sort();
    expect(afterFirst).toEqual(data.flatMap((f) => [`${f.name}.pgp`, `${f.name}.pgp.sha256`]).sort());
    expect(spawnSync('sha256sum', ['-c', ...afterFirst.filter((x) => x.endsWith('.sha256'))], { cwd: folder }).status).toBe(0);
    const firstBytes = new Map(data.map((f) => [f.name, sha256(readFileSync(path.join(folder, `${f.name}.pgp`)))]));

    const second = await executeDelivery(t, run.id, { timeouts, storage: flaky });
    expect(second.status).toBe('delivered');
    for (const f of data) expect(sha256(readFileSync(path.join(folder, `${f.name}.pgp`)))).not.toBe(firstBytes.get(f.name));
    await checkFolder(folder, data, manifest.name);
  });

  it('the server killed mid-upload of an encrypted file: retried, and the retry leaves a consistent folder without temporary files', async () => {
    const own = await startSshd();
    try {
      mkdirSync(path.join(own.rootDir, 'drop'));
      chownSync(path.join(own.rootDir, 'drop'), own.uid, own.gid);
      const { connection } = await encryptedConnection();
      const { run, data, manifest } = await exportedRun(connection);
      const recipient = await readRecipientKey(key.armoredPublic);
      const destination = { host: own.host, port: own.port, username: own.username, folder: 'drop' };
      const auth = { method: 'private_key' as const, privateKey: own.privateKey };
      let killed: Promise<void> | undefined;
      const first = await executeDelivery(t, run.id, {
        timeouts,
        deliver: (input) =>
          deliverFiles({
            ...input,
            destination,
            auth,
            pinnedFingerprint: own.hostKeyFingerprint,
            onProgress: (p) => {
              if (!killed && p.file.endsWith('.pgp') && p.fileBytes > 0) killed = own.kill();
            },
          }),
      });
      await killed;
      expect(first.status).toBe('retry');
      await own.restart();
      const second = await executeDelivery(t, run.id, {
        timeouts,
        deliver: (input) => deliverFiles({ ...input, destination, auth, pinnedFingerprint: own.hostKeyFingerprint }),
      });
      expect(second.status).toBe('delivered');
      expect(recipient.fingerprint).toBe(key.fingerprint.replace(/(.{4})(?!$)/g, '$1 '));
      await checkFolder(path.join(own.rootDir, 'drop'), data, manifest.name);
    } finally {
      await own.stop();
    }
  });

  it('a key that expired since set-up: the delivery fails for good at once, saying so, and nothing is sent', async () => {
    const shortLived = gpg.generate('Short Lived <short@acme.example>', { fakedTime: '20261101T000000', expire: '2026-11-21' });
    const { connection, folder } = await encryptedConnection(shortLived);
    const { run } = await exportedRun(connection);
    setClock(new Date('2026-11-22T00:00:00Z'));
    let outcome;
    try {
      outcome = await executeDelivery(t, run.id, { timeouts });
    } finally {
      setClock(new Date(until.getTime() + 10 * 60_000));
    }
    expect(outcome.status).toBe('failed');
    expect(outcome.status === 'failed' && outcome.error.message).toMatch(
      /^The connection's OpenPGP key can no longer be used, so nothing was delivered: The OpenPGP key .+ expired on 2026-11-21\./,
    );
    const [failed] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, run.id));
    expect(failed.status).toBe('failed');
    expect(readdirSync(folder)).toEqual([]);
  });

  it('the expired key replaced while stopped: started again, the failed run retried is delivered encrypted to the new key only', async () => {
    const shortLived = gpg.generate('Short Lived 2 <short-2@acme.example>', { fakedTime: '20261101T000000', expire: '2026-11-21' });
    const { connection, folder } = await encryptedConnection(shortLived);
    const { run, data, manifest } = await exportedRun(connection);
    setClock(new Date('2026-11-22T00:00:00Z'));
    // The customer's renewed key lives in a keyring of its own: only it can read what is sent now.
    const renewedHome = startGpg();
    try {
      const renewed = renewedHome.generate('Acme Data Team <data@acme.example>', { fakedTime: '20261101T000000' });
      expect((await executeDelivery(t, run.id, { timeouts })).status).toBe('failed');

      await stopConnection(t, OPS_ADMIN, PROGRAM, connection.id);
      const input = await replacePgpKeySchema.safeParseAsync({
        pgp_public_key: renewed.armoredPublic,
        pgp_key_fingerprint: renewed.fingerprint,
      });
      expect(input.error).toBeUndefined();
      const replaced = await replacePgpKey(t, OPS_ADMIN, PROGRAM, connection.id, input.data!);
      expect(replaced.pgpKeyFingerprint).toBe(renewed.fingerprint.replace(/(.{4})(?!$)/g, '$1 '));
      await startConnection(t, OPS_ADMIN, PROGRAM, connection.id);
      expect(await retryRun(t, OPS_ADMIN, PROGRAM, run.id)).toEqual({ next: 'deliver' });

      expect((await executeDelivery(t, run.id, { timeouts })).status).toBe('delivered');
      await checkFolder(folder, data, manifest.name, { gpg: renewedHome, key: renewed });
      // The old key's keyring cannot open them.
      for (const f of data) expect(() => gpg.decrypt(path.join(folder, `${f.name}.pgp`))).toThrow();
    } finally {
      setClock(new Date(until.getTime() + 10 * 60_000));
      renewedHome.cleanup();
    }
  });

  it('streams: 384 MB encrypted on the way to the server with flat memory, and gpg gives back the same bytes', async () => {
    const recipient = await readRecipientKey(key.armoredPublic);
    /** A gzip file of `mb` MiB of random bytes, and its SHA-256. */
    const makeSource = async (name: string, mb: number) => {
      const file = path.join(local, name);
      let left = mb;
      await pipeline(
        new Readable({
          read() {
            this.push(left-- > 0 ? randomBytes(1024 * 1024) : null);
          },
        }),
        createGzip({ level: 1 }),
        createWriteStream(file),
      );
      const digest = createHash('sha256');
      for await (const chunk of createReadStream(file)) digest.update(chunk as Buffer);
      return { file, size: statSync(file).size, sha256: digest.digest('hex') };
    };
    /** Delivers `source` encrypted, and the peak RSS growth (MB) while it did. */
    const deliverMeasured = async (source: { file: string; size: number; sha256: string }, name: string) => {
      if (global.gc) global.gc();
      const before = process.memoryUsage().rss;
      let peak = before;
      const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      try {
        const result = await deliverFiles({
          destination: { host: sshd.host, port: sshd.port, username: sshd.username, folder: 'big' },
          auth: { method: 'private_key', privateKey: sshd.privateKey },
          pinnedFingerprint: sshd.hostKeyFingerprint,
          files: [{ name, size: source.size, sha256: source.sha256, localPath: source.file, encryptTo: recipient }],
          timeouts,
        });
        return { result, growthMb: (peak - before) / 1024 / 1024 };
      } finally {
        clearInterval(timer);
      }
    };
    const local = mkdtempSync(path.join(dataDir, 'big-'));
    mkdirSync(path.join(sshd.rootDir, 'big'));
    chownSync(path.join(sshd.rootDir, 'big'), sshd.uid, sshd.gid);
    // A first, smaller delivery pays the process's fixed costs (heap growth, buffers, the cipher); the
    // second one, eight times larger, must then add at most half its size: held whole, it would add
    // ≥ 384 MB. (Measured: about 60-70 MB on Node 20 and 146 MB on Node 24 at 192 MB, whose collector
    // hands memory back later — garbage collected late, not held.)
    await deliverMeasured(await makeSource('warm.gz', 48), 'warm.gz.pgp');
    const source = await makeSource('big.gz', 384);
    const { result, growthMb } = await deliverMeasured(source, 'big.gz.pgp');
    expect(growthMb).toBeLessThan(192);
    const delivered = path.join(sshd.rootDir, 'big', 'big.gz.pgp');
    expect(result.files[0]).toMatchObject({
      name: 'big.gz.pgp',
      bytes: statSync(delivered).size,
      plaintext: { sha256: source.sha256, bytes: source.size },
    });
    const back = path.join(local, 'back.gz');
    gpg.decryptTo(delivered, back);
    const again = createHash('sha256');
    for await (const chunk of createReadStream(back)) again.update(chunk as Buffer);
    expect(again.digest('hex')).toBe(source.sha256);
  }, 240_000);
});
