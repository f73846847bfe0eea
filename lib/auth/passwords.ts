// Password hashing (bcrypt) and one-time passwords for new accounts.
import { randomInt } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { env } from '@/lib/env';

const COST = 11;
/** bcrypt ignores everything after 72 bytes; longer passwords are refused rather than silently cut. */
export const MAX_PASSWORD_BYTES = 72;
export const MIN_PASSWORD_LENGTH = 12;

export async function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, COST);
}

// A valid hash of an unguessable string: compared against when an email is unknown, so a wrong
// email takes as long as a wrong password and does not reveal which accounts exist.
const DUMMY_HASH = '$2b$11$vRwdzjKeAPOrtiTHaeskxufKcdyLVh7DufwAxXlF9bPf7JXpYWZw.';

export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return false;
  const ok = await bcrypt.compare(password, hash ?? DUMMY_HASH);
  return ok && hash !== null;
}

/** A problem with a chosen password, or null when it is acceptable. */
export function passwordProblem(password: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return `must be at most ${MAX_PASSWORD_BYTES} bytes`;
  return null;
}

const ALPHABET = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A one-time password like `k7Qm2-xP9aw-Tn4Rc-8hZ3e` (about 115 bits), easy to read aloud and type. */
export function generateOneTimePassword(): string {
  const groups: string[] = [];
  for (let g = 0; g < 4; g++) {
    let s = '';
    for (let i = 0; i < 5; i++) s += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(s);
  }
  return groups.join('-');
}

/** Whether the account's password is a one-time password older than DDE_ONE_TIME_PASSWORD_TTL_HOURS. */
export function oneTimePasswordExpired(account: { mustChangePassword: boolean; passwordChangedAt: Date }, at: Date): boolean {
  if (!account.mustChangePassword) return false;
  return at.getTime() - account.passwordChangedAt.getTime() > env().oneTimePasswordTtlHours * 3_600_000;
}
