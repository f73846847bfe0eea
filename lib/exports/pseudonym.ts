// Keyed pseudonyms for user ids in anonymized programs. The same function runs in SQL (sql.ts,
// sqlPseudonym) for the files; this Node twin serves tests and anything that must look a user up.
import { createHmac } from 'node:crypto';

/** HMAC-SHA256 keyed with the program's pseudonym key (its text, as stored), over the id in decimal; hex, first 32 chars. */
export function pseudonymize(pseudonymKey: string, userId: number | bigint | string): string {
  return createHmac('sha256', Buffer.from(pseudonymKey, 'utf8')).update(String(userId)).digest('hex').slice(0, 32);
}
