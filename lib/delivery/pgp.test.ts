// OpenPGP-encrypted deliveries, checked with Debian's gnupg: what DDE encrypts to a customer's public
// key, `gpg --decrypt` with the private key turns back into the exact gzip; `sha256sum -c` passes on
// the delivered bytes; the stream stays memory-flat; bad keys are refused with a reason.
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encryptForDelivery,
  encryptStream,
  formatPgpFingerprint,
  normalizePgpFingerprint,
  pgpManifest,
  pgpManifestFields,
  pgpSidecar,
  readRecipientKey,
} from './pgp';

let dir: string;
let home: string;
let armoredPublic: string;
let fingerprint: string;

const gpg = (args: string[], input?: Buffer | string) =>
  execFileSync('gpg', ['--homedir', home, '--batch', '--yes', '--no-tty', ...args], { input, maxBuffer: 64 * 1024 * 1024 });

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'dde-pgp-'));
  home = path.join(dir, 'gnupg');
  execFileSync('mkdir', ['-m', '700', home]);
  gpg([
    '--pinentry-mode',
    'loopback',
    '--passphrase',
    '',
    '--quick-gen-key',
    'Acme Data Team <data@acme.example>',
    'future-default',
    'default',
    'never',
  ]);
  armoredPublic = gpg(['--armor', '--export', 'data@acme.example']).toString('utf8');
  fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(['--with-colons', '--fingerprint', 'data@acme.example']).toString('utf8'))![1];
}, 60_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('OpenPGP deliveries', () => {
  it('reads the customer’s public key and shows its fingerprint as gpg does', async () => {
    const r = await readRecipientKey(armoredPublic);
    expect(r.fingerprint).toBe(formatPgpFingerprint(fingerprint));
    expect(r.fingerprint).toMatch(/^([0-9A-F]{4} ){9}[0-9A-F]{4}$/);
    expect(r.userIds).toEqual(['Acme Data Team <data@acme.example>']);
  });

  it('encrypts a gzip that gpg --decrypt returns exactly, and sha256sum -c passes on what was delivered', async () => {
    const gz = gzipSync(Buffer.concat([Buffer.from('user_id,event\n'), randomBytes(300_000)]));
    const { name, stream, digests } = await encryptForDelivery(
      { name: 'activities_2026-12-01.csv.gz', stream: Readable.from([gz]) },
      armoredPublic,
    );
    expect(name).toBe('activities_2026-12-01.csv.gz.pgp');
    const delivered = path.join(dir, name);
    await pipeline(stream, createWriteStream(delivered));
    const d = (await digests)!;
    expect(d.plaintextSha256).toBe(createHash('sha256').update(gz).digest('hex'));
    expect(d.plaintextBytes).toBe(gz.length);
    expect(d.deliveredBytes).toBe(statSync(delivered).size);
    expect(d.deliveredSha256).toBe(createHash('sha256').update(readFileSync(delivered)).digest('hex'));
    expect(pgpManifestFields(d)).toEqual({
      sha256: d.deliveredSha256,
      bytes: d.deliveredBytes,
      plaintext_sha256: d.plaintextSha256,
      plaintext_bytes: gz.length,
      encryption: 'openpgp',
    });

    writeFileSync(`${delivered}.sha256`, pgpSidecar(name, d));
    execFileSync('sha256sum', ['-c', '--strict', `${name}.sha256`], { cwd: dir });

    const decrypted = gpg(['--pinentry-mode', 'loopback', '--passphrase', '', '--decrypt', delivered]);
    expect(decrypted.equals(gz)).toBe(true);
  });

  it('streams with flat memory: 64 MB of gzip through the encryption', async () => {
    const source = path.join(dir, 'big.gz');
    let left = 64;
    await pipeline(
      new Readable({
        read() {
          this.push(left-- > 0 ? randomBytes(1024 * 1024) : null);
        },
      }),
      createGzip({ level: 1 }),
      createWriteStream(source),
    );
    if (global.gc) global.gc();
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      const { stream, digests } = await encryptForDelivery({ name: 'big.gz', stream: createReadStream(source) }, armoredPublic);
      const out = path.join(dir, 'big.gz.pgp');
      await pipeline(stream, createWriteStream(out));
      const d = (await digests)!;
      expect(d.plaintextBytes).toBe(statSync(source).size);
    } finally {
      clearInterval(timer);
    }
    const growthMb = (peak - before) / 1024 / 1024;
    expect(growthMb).toBeLessThan(48);
    const back = path.join(dir, 'big.back.gz');
    gpg(['--pinentry-mode', 'loopback', '--passphrase', '', '--output', back, '--decrypt', path.join(dir, 'big.gz.pgp')]);
    expect(createHash('sha256').update(readFileSync(back)).digest('hex')).toBe(
      createHash('sha256').update(readFileSync(source)).digest('hex'),
    );
  }, 120_000);

  it('sends the file as it is when the connection has no key', async () => {
    const stream = Readable.from([Buffer.from('x')]);
    expect(await encryptForDelivery({ name: 'a.csv.gz', stream }, null)).toEqual({ name: 'a.csv.gz', stream, digests: null });
  });

  it('refuses a private key, garbage and more than one key, saying why', async () => {
    const secret = gpg([
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--armor',
      '--export-secret-keys',
      'data@acme.example',
    ]).toString();
    await expect(readRecipientKey(secret)).rejects.toThrow('This is a private key. Paste the public key only');
    await expect(readRecipientKey('hello')).rejects.toThrow('Paste an armored OpenPGP public key');
    await expect(
      readRecipientKey('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64 at all\n-----END PGP PUBLIC KEY BLOCK-----\n'),
    ).rejects.toThrow(/^The OpenPGP key could not be read/);
    gpg([
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--quick-gen-key',
      'Other Team <other@acme.example>',
      'future-default',
      'default',
      'never',
    ]);
    const both = gpg(['--armor', '--export', 'data@acme.example', 'other@acme.example']).toString();
    await expect(readRecipientKey(both)).rejects.toThrow('Paste exactly one public key (this block holds 2).');
  });

  it('refuses a revoked key, an expired key and a key that can only sign, naming the problem', async () => {
    const noPass = ['--pinentry-mode', 'loopback', '--passphrase', ''];
    gpg([...noPass, '--quick-gen-key', 'Signer <signer@acme.example>', 'ed25519', 'sign', 'never']);
    const signOnly = gpg(['--armor', '--export', 'signer@acme.example']).toString();
    await expect(readRecipientKey(signOnly)).rejects.toThrow(/has no valid subkey that can encrypt/);

    gpg([
      ...noPass,
      '--faked-system-time',
      '20200101T000000',
      '--quick-gen-key',
      'Old <old@acme.example>',
      'future-default',
      'default',
      '2020-06-01',
    ]);
    const expired = gpg(['--armor', '--export', 'old@acme.example']).toString();
    await expect(readRecipientKey(expired)).rejects.toThrow(/expired on 2020-06-01/);

    gpg([...noPass, '--quick-gen-key', 'Gone <gone@acme.example>', 'future-default', 'default', 'never']);
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(['--with-colons', '--fingerprint', 'gone@acme.example']).toString('utf8'))![1];
    const cert = readFileSync(path.join(home, 'openpgp-revocs.d', `${fpr}.rev`), 'utf8').replace(/^:-----/m, '-----');
    writeFileSync(path.join(dir, 'gone.rev'), cert);
    gpg(['--import', path.join(dir, 'gone.rev')]);
    const revoked = gpg(['--armor', '--export', 'gone@acme.example']).toString();
    await expect(readRecipientKey(revoked)).rejects.toThrow(`The OpenPGP key ${formatPgpFingerprint(fpr)} has been revoked by its owner.`);
  });

  it('gives the expiry of a key that expires later, and compares fingerprints however they are typed', async () => {
    gpg([
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--quick-gen-key',
      'Soon <soon@acme.example>',
      'future-default',
      'default',
      '2y',
    ]);
    const soon = await readRecipientKey(gpg(['--armor', '--export', 'soon@acme.example']).toString());
    expect(soon.expiresAt).toBeInstanceOf(Date);
    expect(soon.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 700 * 86_400_000);
    expect((await readRecipientKey(armoredPublic)).expiresAt).toBeNull();
    expect(normalizePgpFingerprint(`0x${fingerprint.toLowerCase()}`)).toBe(fingerprint);
    expect(normalizePgpFingerprint(formatPgpFingerprint(fingerprint))).toBe(fingerprint);
  });

  it('fails the encrypted stream with the source’s own error when the source breaks midway (never a stream that just stops)', async () => {
    const recipient = await readRecipientKey(armoredPublic);
    const broken = new Error('storage went away');
    let sent = 0;
    const source = new Readable({
      read() {
        if (sent++ < 3) this.push(randomBytes(256 * 1024));
        else this.destroy(broken);
      },
    });
    const { output, digests } = await encryptStream(source, recipient);
    const read = (async () => {
      for await (const _chunk of output) void _chunk;
    })();
    await expect(read).rejects.toBeInstanceOf(Error);
    await expect(digests).rejects.toBeInstanceOf(Error);
    expect(source.destroyed).toBe(true);
  });

  it('writes the delivered manifest: delivered names and digests of each encrypted file, the plaintext’s too, and the key', () => {
    const stored = Buffer.from(
      JSON.stringify({
        schema_version: 1,
        run_id: 'r',
        files: [{ name: 'a.gz', type: 'user', format: 'csv', compression: 'gzip', rows: 3, bytes: 10, sha256: 'p'.repeat(64) }],
      }),
    );
    const digests = { plaintextSha256: 'p'.repeat(64), plaintextBytes: 10, deliveredSha256: 'd'.repeat(64), deliveredBytes: 99 };
    const doc = JSON.parse(pgpManifest(stored, (n) => (n === 'a.gz.pgp' ? digests : undefined), 'ABCD').toString('utf8'));
    expect(doc).toEqual({
      schema_version: 1,
      run_id: 'r',
      encrypted_to: 'ABCD',
      files: [
        {
          name: 'a.gz.pgp',
          type: 'user',
          format: 'csv',
          compression: 'gzip',
          rows: 3,
          bytes: 99,
          sha256: 'd'.repeat(64),
          plaintext_sha256: 'p'.repeat(64),
          plaintext_bytes: 10,
          encryption: 'openpgp',
        },
      ],
    });
    expect(() => pgpManifest(stored, () => undefined, 'ABCD')).toThrow('a.gz.pgp was not delivered in this attempt');
  });
});
