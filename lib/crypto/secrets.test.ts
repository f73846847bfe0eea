import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptSecret, encryptSecret, SecretDecryptionError, type ConnectionSecret } from './index';

const key = randomBytes(32);
const otherKey = randomBytes(32);
const connA = '6f1c1f5e-7d1b-4a36-9a5e-2d3c0f6b1a11';
const connB = '0b7e2c44-95a1-4a0b-8f6e-3b1d9c2e7f22';
const password: ConnectionSecret = { method: 'password', password: 'correct horse battery staple' };
const pem = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
const keyWithPassphrase: ConnectionSecret = { method: 'private_key', privateKey: pem, passphrase: 'open sesame' };

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SecretDecryptionError);
    return (err as SecretDecryptionError).reason;
  }
  throw new Error('expected a SecretDecryptionError');
}

describe('connection secret encryption', () => {
  it('round-trips a password and a private key with passphrase', () => {
    expect(decryptSecret(encryptSecret(password, connA, key), connA, key)).toEqual(password);
    expect(decryptSecret(encryptSecret(keyWithPassphrase, connA, key), connA, key)).toEqual(keyWithPassphrase);
    const noPassphrase: ConnectionSecret = { method: 'private_key', privateKey: pem };
    expect(decryptSecret(encryptSecret(noPassphrase, connA, key), connA, key)).toEqual(noPassphrase);
  });

  it('stores a compact versioned string that reveals nothing of the secret', () => {
    const stored = encryptSecret(password, connA, key);
    expect(stored).toMatch(/^v1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(stored).not.toContain('horse');
    expect(Buffer.from(stored.split('.')[3], 'base64url').toString('latin1')).not.toContain('horse');
  });

  it('uses a fresh IV each time, so equal secrets do not produce equal ciphertexts', () => {
    expect(encryptSecret(password, connA, key)).not.toBe(encryptSecret(password, connA, key));
  });

  it("refuses to decrypt another connection's secret (connection id is the associated data)", () => {
    const stored = encryptSecret(password, connA, key);
    expect(reasonOf(() => decryptSecret(stored, connB, key))).toBe('tampered_or_wrong_connection');
    expect(() => decryptSecret(stored, connB, key)).toThrow(/altered or belongs to another connection/);
  });

  it('detects a tampered ciphertext, IV or tag', () => {
    const stored = encryptSecret(password, connA, key);
    const parts = stored.split('.');
    for (const i of [2, 3, 4]) {
      const bytes = Buffer.from(parts[i], 'base64url');
      bytes[0] ^= 0x01;
      const tampered = [...parts];
      tampered[i] = bytes.toString('base64url');
      expect(reasonOf(() => decryptSecret(tampered.join('.'), connA, key))).toBe('tampered_or_wrong_connection');
    }
  });

  it('says so clearly when the configured key is not the one that encrypted the secret', () => {
    const stored = encryptSecret(password, connA, key);
    expect(reasonOf(() => decryptSecret(stored, connA, otherKey))).toBe('wrong_key');
    expect(() => decryptSecret(stored, connA, otherKey)).toThrow(/different DDE_ENCRYPTION_KEY/);
  });

  it('rejects malformed and unknown-version strings with a clear reason', () => {
    expect(reasonOf(() => decryptSecret('', connA, key))).toBe('malformed');
    expect(reasonOf(() => decryptSecret('not a secret', connA, key))).toBe('unsupported_version');
    expect(reasonOf(() => decryptSecret('v2.a.b.c.d', connA, key))).toBe('unsupported_version');
    expect(reasonOf(() => decryptSecret('v1.a.b.c', connA, key))).toBe('malformed');
    expect(reasonOf(() => decryptSecret('v1.a.b.c.d', connA, key))).toBe('malformed');
    expect(reasonOf(() => decryptSecret('v1.a!.b.c.d', connA, key))).toBe('malformed');
  });

  it('never puts the secret into an error message', () => {
    const stored = encryptSecret(password, connA, key);
    for (const attempt of [() => decryptSecret(stored, connB, key), () => decryptSecret(stored, connA, otherKey)]) {
      try {
        attempt();
      } catch (err) {
        expect(String((err as Error).message)).not.toContain('horse');
        expect(String((err as Error).stack)).not.toContain('horse');
      }
    }
  });

  it('refuses to encrypt an empty password or a wrong-sized key', () => {
    expect(() => encryptSecret({ method: 'password', password: '' }, connA, key)).toThrow();
    expect(() => encryptSecret(password, connA, randomBytes(16))).toThrow(/32 bytes/);
    expect(() => encryptSecret(password, '', key)).toThrow(/connection id/);
  });
});
