// The notification outbox: a message is recorded (in the same transaction as the event that
// causes it, when the caller wants), then sent by the jobs worker. Sending locks the row
// (FOR UPDATE SKIP LOCKED), so two workers never send the same message; a crash after the SMTP
// server accepted it but before the commit sends it again (at least once, never lost).
// pending → sent (SMTP) | written (.eml file, no SMTP configured) | failed (after maxAttempts).
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Database, Db, DbOrTx } from '@/db/client';
import { notifications, type Notification } from '@/db/schema';
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
  if (input.dedupeKey) {
    const [row] = await db
      .insert(notifications)
      .values({ ...values, dedupeKey: input.dedupeKey })
      .onConflictDoNothing()
      .returning({ id: notifications.id });
    if (row) return { id: row.id, created: true };
    const [existing] = await db.select({ id: notifications.id }).from(notifications).where(eq(notifications.dedupeKey, input.dedupeKey));
    return { id: existing.id, created: false };
  }
  if (!options.skipIfExists) {
    const [row] = await db.insert(notifications).values(values).returning({ id: notifications.id });
    return { id: row.id, created: true };
  }
  const rows = await db.execute<{ id: string }>(sql`
    insert into notifications (kind, "to", subject, body, program_id, connection_id, run_id, created_at)
    select ${values.kind}, ${sql.param(to)}::text[], ${values.subject}, ${values.body}, ${values.programId}, ${values.connectionId}::uuid, ${values.runId}::uuid,
           ${values.createdAt.toISOString()}::timestamptz
    where not exists (
      select 1 from notifications
      where kind = ${values.kind} and subject = ${values.subject}
        and run_id is not distinct from ${values.runId}::uuid and connection_id is not distinct from ${values.connectionId}::uuid)
    returning id`);
  const created = [...rows][0];
  if (created) return { id: created.id, created: true };
  const [existing] = await db
    .select({ id: notifications.id })
    .from(notifications)
    .where(
      and(
        eq(notifications.kind, values.kind),
        eq(notifications.subject, values.subject),
        sql`${notifications.runId} is not distinct from ${values.runId}::uuid`,
        sql`${notifications.connectionId} is not distinct from ${values.connectionId}::uuid`,
      ),
    )
    .orderBy(asc(notifications.createdAt))
    .limit(1);
  return { id: existing.id, created: false };
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
    const [row] = await tx.select().from(notifications).where(eq(notifications.id, id)).for('update', { skipLocked: true });
    if (!row) {
      const [exists] = await tx.select({ id: notifications.id }).from(notifications).where(eq(notifications.id, id));
      return { status: exists ? 'busy' : 'not_found', sentNow: false, retryable: !!exists };
    }
    if (row.status !== 'pending') return { status: row.status, sentNow: false, retryable: false, attempts: row.attempts };
    const attempts = row.attempts + 1;
    try {
      const result = await sendEmail({ to: row.to, subject: row.subject, text: row.body }, options.email);
      const status = result.via === 'smtp' ? 'sent' : 'written';
      await tx.update(notifications).set({ status, attempts, error: null, sentAt: now() }).where(eq(notifications.id, id));
      log.info({ kind: row.kind, via: result.via, attempts }, 'notification sent');
      return { status, sentNow: true, retryable: false, attempts };
    } catch (err) {
      const error = (err instanceof Error ? err.message : String(err)).slice(0, 500);
      const status = attempts >= maxAttempts ? 'failed' : 'pending';
      await tx.update(notifications).set({ status, attempts, error }).where(eq(notifications.id, id));
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
  const pending = await db
    .select({ id: notifications.id })
    .from(notifications)
    .where(eq(notifications.status, 'pending'))
    .orderBy(asc(notifications.createdAt))
    .limit(options.limit ?? 50);
  const counts: Record<SendNotificationResult['status'], number> = { pending: 0, sent: 0, written: 0, failed: 0, busy: 0, not_found: 0 };
  for (const { id } of pending) counts[(await sendPendingNotification(db, id, options)).status]++;
  return counts;
}
