// Manifest signatures (docs/export-files.md, "Signatures"): Ed25519 over the manifest's exact bytes,
// detached in `<manifest>.sig`, one line of JSON naming the key:
//   {"alg":"EdDSA","kid":"<key id>","signature":"<64 bytes, base64url>"}
// The public keys are published as a JWKS (GET /api/v1/signing-keys). The private key never leaves
// the server: it is stored encrypted (AES-256-GCM with DDE_ENCRYPTION_KEY, associated data
// "signing-key:<kid>", like SFTP and webhook secrets) and made on first need.
// The verifying half (parseSignature, verifyManifestSignature, keysFromJwks) needs no database:
// `dde verify` and `dde pull` use it on the customer's side.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '@/db/client';
import { addSigningKey, currentOrFirstSigningKey, listSigningKeys, type NewSigningKey } from '@/db/queries/signing-keys';
import type { SigningKey } from '@/db/schema';
import { decryptSecret, encryptSecret } from '@/lib/crypto';

export const SIGNATURE_SUFFIX = '.sig';
export const signatureName = (manifestName: string) => `${manifestName}${SIGNATURE_SUFFIX}`;

const aad = (kid: string) => `signing-key:${kid}`;

/** A public key as a JWK (RFC 8037), with its key id. */
export type SigningJwk = { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' };
export type Jwks = { keys: SigningJwk[] };

const signatureSchema = z.object({
  alg: z.literal('EdDSA'),
  kid: z.string().min(1).max(200),
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'expected 64 bytes, base64url'),
});
export type ManifestSignature = z.infer<typeof signatureSchema>;

const jwkSchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  kid: z.string().min(1),
});
const jwksSchema = z.object({ keys: z.array(z.unknown()) });

/** A key id from the public key: "ed25519-" and the first 12 bytes of its SHA-256, hex. */
function keyIdOf(rawPublic: Buffer): string {
  return `ed25519-${createHash('sha256').update(rawPublic).digest('hex').slice(0, 24)}`;
}

/** A fresh key pair, the private half sealed for the table. */
export function makeSigningKey(): NewSigningKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x!;
  const id = keyIdOf(Buffer.from(x, 'base64url'));
  const pkcs8 = (privateKey.export({ format: 'der', type: 'pkcs8' }) as Buffer).toString('base64');
  return { id, publicKey: x, privateKeyCiphertext: encryptSecret({ method: 'password', password: pkcs8 }, aad(id)) };
}

const privateKeys = new Map<string, KeyObject>();

function privateKeyOf(key: SigningKey): KeyObject {
  let found = privateKeys.get(key.id);
  if (!found) {
    const secret = decryptSecret(key.privateKeyCiphertext, aad(key.id));
    if (secret.method !== 'password') throw new Error('The stored signing key has an unexpected shape.');
    found = createPrivateKey({ key: Buffer.from(secret.password, 'base64'), format: 'der', type: 'pkcs8' });
    privateKeys.set(key.id, found);
  }
  return found;
}

/** The `.sig` content for `bytes` under `key`. */
export function signatureFor(key: SigningKey, bytes: Buffer): string {
  const signature = sign(null, bytes, privateKeyOf(key)).toString('base64url');
  return `${JSON.stringify({ alg: 'EdDSA', kid: key.id, signature } satisfies ManifestSignature)}\n`;
}

/** Signs manifest bytes with the current key (made on first need): the `.sig` content. */
export async function signManifest(db: Db, bytes: Buffer): Promise<string> {
  return signatureFor(await currentOrFirstSigningKey(db, makeSigningKey), bytes);
}

/** `dde keys rotate`: a new key signs from now on; the old ones stay published. */
export async function rotateSigningKey(db: Db): Promise<SigningKey> {
  return addSigningKey(db, makeSigningKey());
}

const jwkOf = (k: Pick<SigningKey, 'id' | 'publicKey'>): SigningJwk => ({
  kty: 'OKP',
  crv: 'Ed25519',
  x: k.publicKey,
  kid: k.id,
  alg: 'EdDSA',
  use: 'sig',
});

/** Every public key, newest first, as a JWKS (the first one signs new manifests). */
export async function publishedKeys(db: Db): Promise<{ keys: (SigningJwk & { created_at: string })[] }> {
  await currentOrFirstSigningKey(db, makeSigningKey); // the first key is made on first need, by whoever asks first
  const keys = await listSigningKeys(db);
  return { keys: keys.map((k) => ({ ...jwkOf(k), created_at: k.createdAt.toISOString() })) };
}

// ---------------------------------------------------------------------------------------------
// The verifying half (no database).

/** The keys of a JWKS document by key id; entries that are not Ed25519 keys are left out. Throws on a document that is no JWKS. */
export function keysFromJwks(document: unknown): Map<string, KeyObject> {
  const parsed = jwksSchema.safeParse(document);
  if (!parsed.success) throw new Error('not a JWKS document (expected {"keys": [...]})');
  const out = new Map<string, KeyObject>();
  for (const entry of parsed.data.keys) {
    const jwk = jwkSchema.safeParse(entry);
    if (!jwk.success) continue;
    out.set(jwk.data.kid, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.data.x }, format: 'jwk' }));
  }
  return out;
}

/** A `.sig` file's content, or null when it is not one. */
export function parseSignature(text: string): ManifestSignature | null {
  try {
    const parsed = signatureSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export type SignatureCheck = { ok: true; kid: string } | { ok: false; kid: string | null; problem: string };

/** Whether `signatureText` is a valid signature of exactly `manifest` by one of `keys`. */
export function verifyManifestSignature(manifest: Buffer, signatureText: string | null, keys: Map<string, KeyObject>): SignatureCheck {
  if (signatureText === null) return { ok: false, kid: null, problem: 'no signature file' };
  const sig = parseSignature(signatureText);
  if (!sig) return { ok: false, kid: null, problem: 'the signature file is malformed' };
  const key = keys.get(sig.kid);
  if (!key) return { ok: false, kid: sig.kid, problem: `signed with key ${sig.kid}, which is not among the published keys` };
  const good = verify(null, manifest, key, Buffer.from(sig.signature, 'base64url'));
  return good ? { ok: true, kid: sig.kid } : { ok: false, kid: sig.kid, problem: 'the signature does not match the manifest' };
}
