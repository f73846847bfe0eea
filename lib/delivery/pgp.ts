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
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import * as openpgp from 'openpgp';

export const PGP_SUFFIX = '.pgp';
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
  /** The primary key's fingerprint as gpg prints it: 40 hex digits in groups of four. */
  fingerprint: string;
  userIds: string[];
};

/** "ABCD1234…" → "ABCD 1234 …" (how `gpg --fingerprint` shows it, for the admin to compare). */
export function formatPgpFingerprint(hex: string): string {
  return hex
    .toUpperCase()
    .replace(/(.{4})/g, '$1 ')
    .trim();
}

/**
 * Reads and checks a customer's armored public key: exactly one public key (never a private one),
 * not expired or revoked, with a key that can encrypt. Throws PgpKeyError saying what is wrong.
 */
export async function readRecipientKey(armored: string): Promise<RecipientKey> {
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
  try {
    await key.getEncryptionKey();
  } catch (err) {
    throw new PgpKeyError(`The OpenPGP key cannot be used to encrypt: ${(err as Error).message.slice(0, 200)}`);
  }
  return { key, fingerprint: formatPgpFingerprint(key.getFingerprint()), userIds: key.getUserIDs() };
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
 * it has been read to the end.
 */
export async function encryptStream(input: Readable, recipient: RecipientKey): Promise<{ output: Readable; digests: Promise<PgpDigests> }> {
  const plainTap = new DigestTap();
  const deliveredTap = new DigestTap();
  const source = input.pipe(plainTap);
  input.once('error', (err) => plainTap.destroy(err));
  const message = await openpgp.createMessage({ binary: Readable.toWeb(source) as unknown as ReadableStream<Uint8Array> });
  const encrypted = await openpgp.encrypt({
    message,
    encryptionKeys: recipient.key,
    format: 'binary',
    config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
  });
  const output = Readable.fromWeb(encrypted as unknown as WebReadableStream<Uint8Array>).pipe(deliveredTap);
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
    plainTap.once('error', reject);
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
  return { name: `${file.name}${PGP_SUFFIX}`, stream, digests };
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
