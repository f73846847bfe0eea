// Host key fingerprints as OpenSSH prints them (`ssh-keygen -lf`): "SHA256:" + unpadded base64.
import { createHash } from 'node:crypto';

export const FINGERPRINT_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** Fingerprint of a raw SSH public key blob (the bytes ssh2 hands to hostVerifier). */
export function hostKeyFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Fingerprint of an OpenSSH public key line ("ssh-ed25519 AAAA… comment"). */
export function publicKeyLineFingerprint(line: string): string {
  const blob = line.trim().split(/\s+/)[1];
  if (!blob) throw new Error('not an OpenSSH public key line');
  return hostKeyFingerprint(Buffer.from(blob, 'base64'));
}

/** Same fingerprint, tolerant of a missing "SHA256:" prefix or trailing "=" padding. */
export function normalizeFingerprint(value: string): string {
  const v = value
    .trim()
    .replace(/^SHA256:/i, '')
    .replace(/=+$/, '');
  return `SHA256:${v}`;
}
