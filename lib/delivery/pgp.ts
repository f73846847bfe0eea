// OpenPGP-encrypted deliveries: a connection may carry the customer's OpenPGP public key (armored);
// its data files are then encrypted to that key on the way out, as a stream (memory flat whatever
// the file's size), and delivered as `<name>.pgp`. The sidecar and manifest give the SHA-256 of the
// plaintext (what the customer gets after decrypting) and of the delivered bytes (what `sha256sum -c`
// checks on the server).
//
// The hook for the delivery code is `encryptForDelivery`: given a file's readable stream and name
// and the connection's recipient key, it returns the stream to upload, the name to use and the
// digests once the stream has been read to the end.
import { createHash } from 'node:crypto';
import { PassThrough, pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import * as openpgp from 'openpgp';
import { now } from '@/lib/clock';

export const PGP_SUFFIX = '.pgp';
/** The name a data file is delivered under when encrypted: `<name>.pgp` (e.g. `….gz.pgp`). */
export const pgpDeliveredName = (name: string) => `${name}${PGP_SUFFIX}`;
/** Armored keys larger than this are refused (a public key with a few subkeys is a few KB). */
export const MAX_ARMORED_KEY_BYTES = 64 * 1024;

export class PgpKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PgpKeyError';
  }
}

export type RecipientKey = {
  key: openpgp.Key;
  /** The primary key's fingerprint as gpg prints it: hex digits in groups of four (40 for v4 keys, 64 for v6). */
  fingerprint: string;
  userIds: string[];
  /** When the key (or its last encryption subkey) expires; null when it never does. */
  expiresAt: Date | null;
};

/** "ABCD1234…" → "ABCD 1234 …" (how `gpg --fingerprint` shows it, for the admin to compare). */
export function formatPgpFingerprint(hex: string): string {
  return hex
    .toUpperCase()
    .replace(/(.{4})/g, '$1 ')
    .trim();
}

/** A fingerprint as typed or pasted (any case, spaces, a leading 0x) → upper-case hex, for comparing. */
export function normalizePgpFingerprint(value: string): string {
  return value
    .replace(/^\s*0x/i, '')
    .replace(/[\s:]/g, '')
    .toUpperCase();
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/**
 * Reads and checks a customer's armored public key: exactly one public key (never a private one),
 * not revoked or expired, with a key that can encrypt. Throws PgpKeyError saying what is wrong.
 * `at` is the instant the key must be valid at (the application clock's now).
 */
export async function readRecipientKey(armored: string, at: Date = now()): Promise<RecipientKey> {
  if (Buffer.byteLength(armored, 'utf8') > MAX_ARMORED_KEY_BYTES) throw new PgpKeyError('The OpenPGP key is larger than 64 KB.');
  if (/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(armored)) {
    throw new PgpKeyError('This is a private key. Paste the public key only (gpg --armor --export <you@example.com>).');
  }
  if (!/-----BEGIN PGP PUBLIC KEY BLOCK-----/.test(armored)) {
    throw new PgpKeyError('Paste an armored OpenPGP public key (it starts with "-----BEGIN PGP PUBLIC KEY BLOCK-----").');
  }
  let keys: openpgp.Key[];
  try {
    keys = await openpgp.readKeys({ armoredKeys: armored });
  } catch (err) {
    throw new PgpKeyError(`The OpenPGP key could not be read: ${(err as Error).message.slice(0, 200)}`);
  }
  if (keys.length !== 1) throw new PgpKeyError(`Paste exactly one public key (this block holds ${keys.length}).`);
  const key = keys[0];
  if (key.isPrivate()) throw new PgpKeyError('This is a private key. Paste the public key only.');
  const fingerprint = formatPgpFingerprint(key.getFingerprint());
  if (await key.isRevoked(undefined, undefined, at).catch(() => false)) {
    throw new PgpKeyError(`The OpenPGP key ${fingerprint} has been revoked by its owner. Ask them for their current public key.`);
  }
  const expires = await key.getExpirationTime().catch(() => null);
  if (expires instanceof Date && expires.getTime() <= at.getTime()) {
    throw new PgpKeyError(
      `The OpenPGP key ${fingerprint} expired on ${day(expires)}. Ask its owner to extend it (gpg --quick-set-expire) and send the public key again.`,
    );
  }
  let encryptionKey: Awaited<ReturnType<openpgp.Key['getEncryptionKey']>>;
  try {
    encryptionKey = await key.getEncryptionKey(undefined, at);
  } catch (err) {
    const message = (err as Error).message;
    if (/could not find valid encryption key packet/i.test(message)) {
      throw new PgpKeyError(
        `The OpenPGP key ${fingerprint} has no valid subkey that can encrypt (it may only sign, or its encryption subkey expired). Ask its owner for a key with a current encryption subkey.`,
      );
    }
    throw new PgpKeyError(`The OpenPGP key cannot be used to encrypt: ${message.slice(0, 200)}`);
  }
  const subkeyExpires = encryptionKey instanceof openpgp.Subkey ? await encryptionKey.getExpirationTime().catch(() => null) : null;
  const ends = [expires, subkeyExpires].filter((d): d is Date => d instanceof Date);
  const expiresAt = ends.length ? new Date(Math.min(...ends.map((d) => d.getTime()))) : null;
  return { key, fingerprint, userIds: key.getUserIDs(), expiresAt };
}

/** Counts and hashes the bytes that pass through. */
class DigestTap extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  sha256: string | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.sha256 = this.hash.digest('hex');
    done();
  }
}

export type PgpDigests = { plaintextSha256: string; plaintextBytes: number; deliveredSha256: string; deliveredBytes: number };

/**
 * Encrypts `input` to `recipient` as a stream (binary OpenPGP message, no compression: the data
 * files are gzip already). The returned stream emits the encrypted bytes; `digests` resolves once
 * it has been read to the end. An error of `input` fails the returned stream (never a stream that
 * just stops); destroying the returned stream stops reading `input` and destroys it.
 */
export async function encryptStream(input: Readable, recipient: RecipientKey): Promise<{ output: Readable; digests: Promise<PgpDigests> }> {
  const plainTap = new DigestTap();
  const deliveredTap = new DigestTap();
  // pipeline(): an error on either side destroys the whole chain, and the reader sees it.
  const source = pipeline(input, plainTap, () => undefined);
  const message = await openpgp.createMessage({ binary: Readable.toWeb(source) as unknown as ReadableStream<Uint8Array> });
  const encrypted = await openpgp.encrypt({
    message,
    encryptionKeys: recipient.key,
    date: now(),
    format: 'binary',
    config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
  });
  const output = pipeline(Readable.fromWeb(encrypted as unknown as WebReadableStream<Uint8Array>), deliveredTap, () => undefined);
  output.once('close', () => {
    if (!input.destroyed) input.destroy();
  });
  const digests = new Promise<PgpDigests>((resolve, reject) => {
    deliveredTap.once('end', () =>
      resolve({
        plaintextSha256: plainTap.sha256!,
        plaintextBytes: plainTap.bytes,
        deliveredSha256: deliveredTap.sha256!,
        deliveredBytes: deliveredTap.bytes,
      }),
    );
    deliveredTap.once('error', reject);
    deliveredTap.once('close', () => reject(new Error('the encrypted stream was closed before its end')));
  });
  // Readers that never attach an 'error' handler to `digests` must not crash the process.
  digests.catch(() => undefined);
  return { output, digests };
}

/**
 * The delivery hook: without a recipient key the file goes as it is; with one, encrypted, named
 * `<name>.pgp`, and with both digests once uploaded.
 */
export async function encryptForDelivery(
  file: { name: string; stream: Readable },
  recipientArmored: string | null | undefined,
): Promise<{ name: string; stream: Readable; digests: Promise<PgpDigests> | null }> {
  if (!recipientArmored) return { name: file.name, stream: file.stream, digests: null };
  const recipient = await readRecipientKey(recipientArmored);
  const { output, digests } = await encryptStream(file.stream, recipient);
  const stream = new PassThrough();
  output.once('error', (err) => stream.destroy(err));
  output.pipe(stream);
  return { name: pgpDeliveredName(file.name), stream, digests };
}

/** The sidecar of an encrypted file (`sha256sum -c` checks the delivered bytes). */
export function pgpSidecar(deliveredName: string, digests: PgpDigests): string {
  return `${digests.deliveredSha256}  ${deliveredName}\n`;
}

/** What the manifest records for an encrypted file: both digests and sizes. */
export function pgpManifestFields(digests: PgpDigests): Record<string, string | number> {
  return {
    sha256: digests.deliveredSha256,
    bytes: digests.deliveredBytes,
    plaintext_sha256: digests.plaintextSha256,
    plaintext_bytes: digests.plaintextBytes,
    encryption: 'openpgp',
  };
}

/**
 * The manifest delivered with encrypted files: the stored manifest (`storedManifest`, the one the
 * export wrote and the API serves) with each encrypted file under its delivered name and with the
 * digests of this delivery (`digestsOf(deliveredName)`), plus the key the files are encrypted to.
 * Throws when a listed file was not delivered encrypted in this attempt.
 */
export function pgpManifest(
  storedManifest: Buffer,
  digestsOf: (deliveredName: string) => PgpDigests | undefined,
  fingerprint: string,
): Buffer {
  const doc = JSON.parse(storedManifest.toString('utf8')) as { files?: { name: string }[] } & Record<string, unknown>;
  const files = (doc.files ?? []).map((f) => {
    const name = pgpDeliveredName(f.name);
    const digests = digestsOf(name);
    if (!digests) throw new Error(`${name} was not delivered in this attempt`);
    return { ...f, name, ...pgpManifestFields(digests) };
  });
  return Buffer.from(`${JSON.stringify({ ...doc, encrypted_to: fingerprint, files }, null, 2)}\n`, 'utf8');
}
