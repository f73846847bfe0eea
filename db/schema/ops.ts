// Operations: the heartbeat every jobs worker writes, so the web (readiness, the connections
// page) and `dde status` can tell whether exports are running at all.
import { index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const workerHeartbeats = pgTable(
  'worker_heartbeats',
  {
    /** host:pid:random, fixed for the life of one worker process. */
    id: text('id').primaryKey(),
    hostname: text('hostname').notNull(),
    pid: integer('pid').notNull(),
    version: text('version').notNull(),
    startedAt: ts('started_at').notNull().defaultNow(),
    seenAt: ts('seen_at').notNull().defaultNow(),
    /** Set when the worker stopped cleanly; a crashed worker just stops being seen. */
    stoppedAt: ts('stopped_at'),
  },
  (t) => [index('worker_heartbeats_seen_idx').on(t.seenAt)],
);
export type WorkerHeartbeat = typeof workerHeartbeats.$inferSelect;

/**
 * The Ed25519 keys that sign manifests (lib/exports/signing.ts; written only by
 * db/queries/signing-keys.ts). The newest signs; older ones stay published so earlier manifests
 * still verify. The private key is encrypted at rest (AES-256-GCM, the key id as associated data).
 */
export const signingKeys = pgTable('signing_keys', {
  /** The key id (`kid`) named by every signature and in the JWKS. */
  id: text('id').primaryKey(),
  /** The raw 32-byte public key, base64url (the JWK's `x`). */
  publicKey: text('public_key').notNull(),
  privateKeyCiphertext: text('private_key_ciphertext').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});
export type SigningKey = typeof signingKeys.$inferSelect;
