// A customer's side of OpenPGP deliveries, with Debian's gnupg (`apt-get install gnupg`): a throwaway
// GNUPGHOME holding key pairs made with `gpg --quick-gen-key`, the armored public keys a customer
// would paste into set-up, and `gpg --decrypt` with their private keys.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type TestKey = {
  uid: string;
  /** 40 hex digits, upper case, as `gpg --with-colons` prints it. */
  fingerprint: string;
  /** `gpg --armor --export`: what the customer pastes. */
  armoredPublic: string;
};

export type TestGpg = {
  home: string;
  gpg(args: string[], input?: Buffer | string): Buffer;
  /**
   * A new key pair without a passphrase. `usage` "sign" makes a key that cannot encrypt; `fakedTime`
   * and `expire` make one that is expired today (made in 2020, expiring in 2020).
   */
  generate(uid: string, options?: { usage?: 'default' | 'sign'; expire?: string; fakedTime?: string }): TestKey;
  /** The armored private key (what must never be accepted as the recipient). */
  exportSecret(uid: string): string;
  /** Revokes the key with the revocation certificate gpg made at generation; returns the revoked public key. */
  revoke(key: TestKey): string;
  /** `gpg --decrypt` of a file into a buffer. */
  decrypt(file: string): Buffer;
  /** `gpg --decrypt --output` (for large files). */
  decryptTo(file: string, out: string): void;
  cleanup(): void;
};

export function gpgUnavailable(): string | null {
  try {
    execFileSync('gpg', ['--version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'gpg is not installed (apt-get install -y gnupg)';
  }
}

/** In CI a missing gpg fails the suite; elsewhere the caller may skip with the returned reason. */
export function gpgSkipReason(): string | null {
  const reason = gpgUnavailable();
  if (reason && process.env.CI === 'true') throw new Error(`CI=true requires gpg: ${reason}`);
  return reason;
}

export function startGpg(): TestGpg {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dde-gpg-'));
  const home = path.join(dir, 'gnupg');
  mkdirSync(home, { mode: 0o700 });
  const gpg = (args: string[], input?: Buffer | string) =>
    execFileSync('gpg', ['--homedir', home, '--batch', '--yes', '--no-tty', '--quiet', ...args], {
      input,
      maxBuffer: 256 * 1024 * 1024,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  const noPassphrase = ['--pinentry-mode', 'loopback', '--passphrase', ''];
  const fingerprintOf = (uid: string) => /^fpr:+([0-9A-F]{40}):/m.exec(gpg(['--with-colons', '--fingerprint', uid]).toString('utf8'))![1];

  return {
    home,
    gpg,
    generate(uid, options = {}) {
      const usage = options.usage ?? 'default';
      gpg([
        ...noPassphrase,
        ...(options.fakedTime ? ['--faked-system-time', options.fakedTime] : []),
        '--quick-gen-key',
        uid,
        usage === 'sign' ? 'ed25519' : 'future-default',
        usage,
        options.expire ?? 'never',
      ]);
      const email = /<([^>]+)>/.exec(uid)?.[1] ?? uid;
      return { uid, fingerprint: fingerprintOf(email), armoredPublic: gpg(['--armor', '--export', email]).toString('utf8') };
    },
    exportSecret(uid) {
      return gpg([...noPassphrase, '--armor', '--export-secret-keys', uid]).toString('utf8');
    },
    revoke(key) {
      const cert = readFileSync(path.join(home, 'openpgp-revocs.d', `${key.fingerprint}.rev`), 'utf8').replace(/^:-----/m, '-----');
      const file = path.join(dir, `${key.fingerprint}.rev`);
      writeFileSync(file, cert);
      gpg(['--import', file]);
      return gpg(['--armor', '--export', key.fingerprint]).toString('utf8');
    },
    decrypt(file) {
      return gpg([...noPassphrase, '--decrypt', file]);
    },
    decryptTo(file, out) {
      gpg([...noPassphrase, '--output', out, '--decrypt', file]);
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
