// The email outbox (`notifications`): reads of its history. Messages are recorded and sent by
// lib/notify/outbox.ts.
import { and, desc, eq } from 'drizzle-orm';
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
