// The email outbox (`notifications`): the one writer of the table and its reads. A message is
// recorded (in the same transaction as the event that causes it, when the caller wants), then sent by
// the jobs worker (lib/notify/outbox.ts), which holds the row locked (FOR UPDATE SKIP LOCKED) while
// it sends: pending → sent (SMTP) | written (.eml file) | failed (after the last attempt).
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { notifications, type Notification } from '@/db/schema';

/** When the newest message of a kind about a connection was recorded, or undefined when none was. */
export async function findLastNotificationAt(
  db: DbOrTx,
  p: { connectionId: string; kind: Notification['kind'] },
): Promise<Date | undefined> {
  const [last] = await db
    .select({ at: notifications.createdAt })
    .from(notifications)
    .where(and(eq(notifications.connectionId, p.connectionId), eq(notifications.kind, p.kind)))
    .orderBy(desc(notifications.createdAt))
    .limit(1);
  return last?.at;
}

export type NotificationValues = {
  kind: string;
  to: string[];
  subject: string;
  body: string;
  programId: number | null;
  connectionId: string | null;
  runId: string | null;
  createdAt: Date;
};

/** Records a message once per `dedupeKey`: whether this call recorded it, and its id either way. */
export async function insertNotificationOnce(
  db: DbOrTx,
  values: NotificationValues & { dedupeKey: string },
): Promise<{ id: string; created: boolean }> {
  const [row] = await db.insert(notifications).values(values).onConflictDoNothing().returning({ id: notifications.id });
  if (row) return { id: row.id, created: true };
  const [existing] = await db.select({ id: notifications.id }).from(notifications).where(eq(notifications.dedupeKey, values.dedupeKey));
  return { id: existing.id, created: false };
}

export async function insertNotification(db: DbOrTx, values: NotificationValues): Promise<string> {
  const [row] = await db.insert(notifications).values(values).returning({ id: notifications.id });
  return row.id;
}

/**
 * Records a message unless one of the same kind, subject, run and connection is in the outbox
 * already: whether this call recorded it, and the id of the one recorded (the oldest, when it was not).
 */
export async function insertNotificationUnlessExists(db: DbOrTx, values: NotificationValues): Promise<{ id: string; created: boolean }> {
  const rows = await db.execute<{ id: string }>(sql`
    insert into notifications (kind, "to", subject, body, program_id, connection_id, run_id, created_at)
    select ${values.kind}, ${sql.param(values.to)}::text[], ${values.subject}, ${values.body}, ${values.programId}, ${values.connectionId}::uuid, ${values.runId}::uuid,
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

/**
 * The message, locked for this transaction while it is sent; undefined when another transaction
 * holds it (`busy`) or it does not exist (`busy: false`).
 */
export async function lockNotificationToSend(
  tx: DbOrTx,
  id: string,
): Promise<{ row: Notification; busy?: undefined } | { row?: undefined; busy: boolean }> {
  const [row] = await tx.select().from(notifications).where(eq(notifications.id, id)).for('update', { skipLocked: true });
  if (row) return { row };
  const [exists] = await tx.select({ id: notifications.id }).from(notifications).where(eq(notifications.id, id));
  return { busy: !!exists };
}

/** A send's outcome on the message: its status, attempts and error (and when it went). */
export async function recordNotificationSend(
  tx: DbOrTx,
  id: string,
  outcome: { status: Notification['status']; attempts: number; error: string | null; sentAt?: Date },
): Promise<void> {
  await tx.update(notifications).set(outcome).where(eq(notifications.id, id));
}

/** The oldest pending messages' ids (the notify queue's sweep). */
export async function listPendingNotificationIds(db: DbOrTx, p: { limit: number }): Promise<string[]> {
  const pending = await db
    .select({ id: notifications.id })
    .from(notifications)
    .where(eq(notifications.status, 'pending'))
    .orderBy(asc(notifications.createdAt))
    .limit(p.limit);
  return pending.map((r) => r.id);
}
