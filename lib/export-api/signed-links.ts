// Signed download links: `/api/v1/downloads/<file id>.<program id>.<expiry>.<signature>`. The
// signature is an HMAC-SHA256 over the three values with a key derived from NEXTAUTH_SECRET (HKDF,
// its own label, so it signs nothing else). A link is the whole credential — it works without a token,
// for anyone holding it, until it expires (DDE_SIGNED_URL_TTL_SECONDS, default 900 s).
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { now } from '@/lib/clock';
import { env } from '@/lib/env';

export type SignedLink = { fileId: string; programId: number; expiresAt: Date };
export type LinkCheck =
  { ok: true; link: SignedLink } | { ok: false; reason: 'malformed' | 'bad_signature' } | { ok: false; reason: 'expired'; expiredAt: Date };

const FORMAT =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([1-9][0-9]{0,15})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})$/;

let keyFor: { secret: string; key: Buffer } | undefined;

function signingKey(): Buffer {
  const secret = env().nextAuthSecret;
  if (keyFor?.secret !== secret) {
    keyFor = { secret, key: Buffer.from(hkdfSync('sha256', secret, 'dde', 'dde download links v1', 32)) };
  }
  return keyFor.key;
}

function signature(fileId: string, programId: number, expiresEpoch: number): string {
  return createHmac('sha256', signingKey()).update(`${fileId}.${programId}.${expiresEpoch}`).digest('base64url');
}

/** The signed part of a download link for a file, valid for `ttlSeconds` from now. */
export function signDownload(params: { fileId: string; programId: number; ttlSeconds?: number; at?: Date }): {
  token: string;
  expiresAt: Date;
} {
  const at = params.at ?? now();
  const ttl = params.ttlSeconds ?? env().signedUrlTtlSeconds;
  const expiresEpoch = Math.floor(at.getTime() / 1000) + ttl;
  const fileId = params.fileId.toLowerCase();
  return {
    token: `${fileId}.${params.programId}.${expiresEpoch}.${signature(fileId, params.programId, expiresEpoch)}`,
    expiresAt: new Date(expiresEpoch * 1000),
  };
}

/** Checks a link's signed part: malformed, forged, expired, or the file and program it grants. */
export function verifyDownload(token: string, at: Date = now()): LinkCheck {
  const m = FORMAT.exec(token);
  if (!m) return { ok: false, reason: 'malformed' };
  const [, fileId, program, expiry, sig] = m;
  const programId = Number(program);
  const expiresEpoch = Number(expiry);
  if (!Number.isSafeInteger(programId)) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(signature(fileId, programId, expiresEpoch));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'bad_signature' };
  const expiresAt = new Date(expiresEpoch * 1000);
  if (at.getTime() >= expiresAt.getTime()) return { ok: false, reason: 'expired', expiredAt: expiresAt };
  return { ok: true, link: { fileId, programId, expiresAt } };
}
