// Encryption at rest of a connection's secret: SFTP's (password, or private key + passphrase) or a
// cloud destination's (access key, account key, SAS token), one method each.
// AES-256-GCM with the connection id as associated data, so a ciphertext copied onto another
// connection's row does not decrypt. The key is DDE_ENCRYPTION_KEY (env().encryptionKey).
//
// Stored format (compact, versioned, ASCII):  v1.<key id>.<iv>.<ciphertext>.<tag>
//   key id      first 6 bytes of HMAC-SHA256(key, "dde-secret-key-id"), base64url — tells "configured
//               with another key" apart from "tampered" without revealing anything about the key
//   iv          12 random bytes, base64url
//   ciphertext  the secret as a small JSON document, base64url
//   tag         16-byte GCM tag, base64url
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { env } from '@/lib/env';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export const connectionSecretSchema = z.discriminatedUnion('method', [
  z.object({ method: z.literal('password'), password: z.string().min(1) }),
  z.object({ method: z.literal('private_key'), privateKey: z.string().min(1), passphrase: z.string().min(1).optional() }),
  z.object({ method: z.literal('access_key'), accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1) }),
  z.object({ method: z.literal('account_key'), accountKey: z.string().min(1) }),
  z.object({ method: z.literal('sas'), sasToken: z.string().min(1) }),
]);
/** What authenticates DDE to a customer's destination. Never logged, never returned by an API. */
export type ConnectionSecret = z.infer<typeof connectionSecretSchema>;
/** An SFTP server's credential. */
export type SftpSecret = Extract<ConnectionSecret, { method: 'password' | 'private_key' }>;

export type SecretErrorReason = 'malformed' | 'unsupported_version' | 'wrong_key' | 'tampered_or_wrong_connection';

/** A stored secret that cannot be used. The message never contains any part of the secret. */
export class SecretDecryptionError extends Error {
  constructor(
    public readonly reason: SecretErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'SecretDecryptionError';
  }
}

function keyId(key: Buffer): string {
  return createHmac('sha256', key).update('dde-secret-key-id').digest().subarray(0, 6).toString('base64url');
}

function checkKey(key: Buffer): Buffer {
  if (key.length !== 32) throw new Error('The encryption key must be 32 bytes (AES-256).');
  return key;
}

function associatedData(connectionId: string): Buffer {
  if (!connectionId) throw new Error('A connection id is required to encrypt or decrypt its secret.');
  return Buffer.from(connectionId, 'utf8');
}

/** Encrypts a connection's secret; the result only decrypts with the same key and connection id. */
export function encryptSecret(secret: ConnectionSecret, connectionId: string, key: Buffer = env().encryptionKey): string {
  const parsed = connectionSecretSchema.parse(secret);
  const plaintext = Buffer.from(JSON.stringify(parsed), 'utf8');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', checkKey(key), iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(connectionId));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();
  plaintext.fill(0);
  return [VERSION, keyId(key), iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.');
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Decrypts a stored secret. Throws SecretDecryptionError (with a reason) when it cannot. */
export function decryptSecret(stored: string, connectionId: string, key: Buffer = env().encryptionKey): ConnectionSecret {
  const parts = typeof stored === 'string' ? stored.split('.') : [];
  if (parts.length < 1 || !parts[0]) {
    throw new SecretDecryptionError('malformed', 'The stored connection secret is malformed.');
  }
  if (parts[0] !== VERSION) {
    throw new SecretDecryptionError(
      'unsupported_version',
      `The stored connection secret has an unsupported format version (${/^v\d+$/.test(parts[0]) ? parts[0] : 'unknown'}).`,
    );
  }
  if (parts.length !== 5 || !parts.every((p) => B64URL.test(p))) {
    throw new SecretDecryptionError('malformed', 'The stored connection secret is malformed.');
  }
  const [, kid, ivText, ctText, tagText] = parts;
  const iv = Buffer.from(ivText, 'base64url');
  const tag = Buffer.from(tagText, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
    throw new SecretDecryptionError('malformed', 'The stored connection secret is malformed.');
  }
  if (kid !== keyId(checkKey(key))) {
    throw new SecretDecryptionError(
      'wrong_key',
      'The stored connection secret was encrypted with a different DDE_ENCRYPTION_KEY; restore that key or re-enter the secret.',
    );
  }
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(connectionId));
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(Buffer.from(ctText, 'base64url')), decipher.final()]);
  } catch {
    throw new SecretDecryptionError(
      'tampered_or_wrong_connection',
      'The stored connection secret failed its integrity check: it was altered or belongs to another connection.',
    );
  }
  try {
    return connectionSecretSchema.parse(JSON.parse(plaintext.toString('utf8')));
  } catch {
    throw new SecretDecryptionError('malformed', 'The stored connection secret decrypted to an unexpected shape.');
  } finally {
    plaintext.fill(0);
  }
}
