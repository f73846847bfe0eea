// Webhook endpoints: the one writer of `webhook_endpoints` and its reads. Every query names the
// program; a deleted endpoint (deleted_at set) is never listed or found. The rules and the Activity
// Log entries of each change are lib/webhooks/endpoints.ts's.
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { webhookEndpoints, type WebhookEndpoint } from '@/db/schema';

/** A connection's endpoints (not deleted), oldest first. */
export async function listWebhookEndpoints(db: DbOrTx, p: { programId: number; connectionId: string }): Promise<WebhookEndpoint[]> {
  return db
    .select()
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.programId, p.programId),
        eq(webhookEndpoints.connectionId, p.connectionId),
        isNull(webhookEndpoints.deletedAt),
      ),
    )
    .orderBy(asc(webhookEndpoints.createdAt));
}

/** The program's (not deleted) endpoint, or undefined. */
export async function findWebhookEndpoint(db: DbOrTx, p: { programId: number; id: string }): Promise<WebhookEndpoint | undefined> {
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.programId, p.programId), eq(webhookEndpoints.id, p.id), isNull(webhookEndpoints.deletedAt)));
  return row;
}

export async function insertWebhookEndpoint(db: DbOrTx, values: typeof webhookEndpoints.$inferInsert): Promise<WebhookEndpoint> {
  const [endpoint] = await db.insert(webhookEndpoints).values(values).returning();
  return endpoint;
}

export type WebhookEndpointChange = Partial<
  Pick<WebhookEndpoint, 'url' | 'events' | 'description' | 'disabledAt' | 'deletedAt' | 'updatedAt'>
>;

/** Changes an endpoint (by id: the caller found it in its program); the row after. */
export async function changeWebhookEndpoint(db: DbOrTx, id: string, change: WebhookEndpointChange): Promise<WebhookEndpoint> {
  const [updated] = await db.update(webhookEndpoints).set(change).where(eq(webhookEndpoints.id, id)).returning();
  return updated;
}
