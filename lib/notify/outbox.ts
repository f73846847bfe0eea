// The notification outbox: a message is recorded (in the same transaction as the event that
// causes it, when the caller wants), then sent by the jobs worker. Sending locks the row
// (FOR UPDATE SKIP LOCKED), so two workers never send the same message; a crash after the SMTP
// server accepted it but before the commit sends it again (at least once, never lost).
// pending → sent (SMTP) | written (.eml file, no SMTP configured) | failed (after maxAttempts).
import type { Database, Db, DbOrTx } from '@/db/client';
import {
  insertNotification,
  insertNotificationOnce,
  insertNotificationUnlessExists,
  listPendingNotificationIds,
  lockNotificationToSend,
  recordNotificationSend,
} from '@/db/queries/notifications';
import type { Notification } from '@/db/schema';
import { now } from '@/lib/clock';
import { childLogger } from '@/lib/logger';
import { sendEmail, type SendEmailOptions } from './send-email';

export const NOTIFICATION_KINDS = [
  'delivery_report',
  'delivery_digest',
  'connection_active',
  'connection_issue',
  'connection_recovered',
  'connection_paused',
  'pgp_key_expiring',
  'credential_expiring',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export type NewNotification = {
  kind: NotificationKind;
  to: string[];
  subject: string;
  body: string;
  programId?: number | null;
  connectionId?: string | null;
  runId?: string | null;
  /** One message per occurrence: a second record with the same key is not recorded (handlers run at least once). */
  dedupeKey?: string | null;
};

const DEFAULT_MAX_ATTEMPTS = 5;

function dbOf(database: Database | DbOrTx): DbOrTx {
  return 'sql' in database && 'db' in database ? (database as Database).db : (database as DbOrTx);
}

/**
 * Records a message to send. With `skipIfExists`, a message of the same kind, run, connection and
 * subject already in the outbox is not recorded twice (handlers run at least once).
 */
export async function recordNotification(
  database: Database | DbOrTx,
  input: NewNotification,
  options: { skipIfExists?: boolean } = {},
): Promise<{ id: string; created: boolean }> {
  const db = dbOf(database);
  const to = [...new Set(input.to.map((a) => a.trim()).filter(Boolean))];
  if (to.length === 0) throw new Error('A notification needs at least one recipient.');
  const values = {
    kind: input.kind,
    to,
    subject: input.subject,
    body: input.body,
    programId: input.programId ?? null,
    connectionId: input.connectionId ?? null,
    runId: input.runId ?? null,
    createdAt: now(),
  };
  if (input.dedupeKey) return insertNotificationOnce(db, { ...values, dedupeKey: input.dedupeKey });
  if (!options.skipIfExists) return { id: await insertNotification(db, values), created: true };
  return insertNotificationUnlessExists(db, values);
}

export type SendNotificationResult = {
  status: Notification['status'] | 'busy' | 'not_found';
  /** True only for the call that actually sent (or wrote) the message. */
  sentNow: boolean;
  /** True when the message is still pending and sending it later may succeed. */
  retryable: boolean;
  attempts?: number;
  error?: string;
};

/**
 * Sends one pending message, once. Another worker holding it → 'busy'; already sent/written/failed →
 * that status, nothing sent. An SMTP error counts an attempt and leaves it pending (retryable) until
 * maxAttempts, then marks it failed.
 */
export async function sendPendingNotification(
  database: Database | Db,
  id: string,
  options: { maxAttempts?: number; email?: SendEmailOptions } = {},
): Promise<SendNotificationResult> {
  const db = dbOf(database) as Db;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const log = childLogger({ notificationId: id });
  return db.transaction(async (tx) => {
    const { row, busy } = await lockNotificationToSend(tx, id);
    if (!row) return { status: busy ? 'busy' : 'not_found', sentNow: false, retryable: busy };
    if (row.status !== 'pending') return { status: row.status, sentNow: false, retryable: false, attempts: row.attempts };
    const attempts = row.attempts + 1;
    try {
      const result = await sendEmail({ to: row.to, subject: row.subject, text: row.body }, options.email);
      const status = result.via === 'smtp' ? 'sent' : 'written';
      await recordNotificationSend(tx, id, { status, attempts, error: null, sentAt: now() });
      log.info({ kind: row.kind, via: result.via, attempts }, 'notification sent');
      return { status, sentNow: true, retryable: false, attempts };
    } catch (err) {
      const error = (err instanceof Error ? err.message : String(err)).slice(0, 500);
      const status = attempts >= maxAttempts ? 'failed' : 'pending';
      await recordNotificationSend(tx, id, { status, attempts, error });
      log.warn(
        { kind: row.kind, attempts, error },
        status === 'failed' ? 'notification failed for good' : 'notification not sent; will retry',
      );
      return { status, sentNow: false, retryable: status === 'pending', attempts, error };
    }
  });
}

/** Sends every pending message, oldest first (up to `limit`); for the notify queue's sweep. */
export async function sendPendingNotifications(
  database: Database | Db,
  options: { limit?: number; maxAttempts?: number; email?: SendEmailOptions } = {},
): Promise<Record<SendNotificationResult['status'], number>> {
  const db = dbOf(database) as Db;
  const pending = await listPendingNotificationIds(db, { limit: options.limit ?? 50 });
  const counts: Record<SendNotificationResult['status'], number> = { pending: 0, sent: 0, written: 0, failed: 0, busy: 0, not_found: 0 };
  for (const id of pending) counts[(await sendPendingNotification(db, id, options)).status]++;
  return counts;
}
