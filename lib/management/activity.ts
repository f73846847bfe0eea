// Activity Log entries as the API answers them, named by their connection as the pages show it
// (a retried run or a historical request by the connection it belongs to).
import type { DbOrTx } from '@/db/client';
import { listConnectionNames } from '@/db/queries/connections';
import type { AuditEntry, Delivery } from '@/db/schema';
import type { ActivityEntry } from './responses';
import { auditEntryJson, failedDeliveryJson } from './views';
import { connectionDisplayName } from '@/lib/describe-connection';

export async function activityJson(
  db: DbOrTx,
  programId: number,
  rows: { entries?: AuditEntry[]; deliveries?: Delivery[] },
): Promise<ActivityEntry[]> {
  const ids = new Set<string>();
  const connectionOf = (e: AuditEntry): string | null =>
    e.targetType === 'connection' ? e.targetId : (field(e.details, 'connection_id') ?? field(e.after, 'connection_id'));
  for (const e of rows.entries ?? []) if (connectionOf(e)) ids.add(connectionOf(e)!);
  for (const d of rows.deliveries ?? []) ids.add(d.connectionId);
  const names = new Map((await listConnectionNames(db, { programId, ids: [...ids] })).map((c) => [c.id, connectionDisplayName(c)]));
  if (rows.deliveries) return rows.deliveries.map((d) => failedDeliveryJson(d, names.get(d.connectionId)));
  return (rows.entries ?? []).map((e) => {
    const connectionId = connectionOf(e);
    return auditEntryJson(e, connectionId, connectionId ? names.get(connectionId) : undefined);
  });
}

function field(json: unknown, key: string): string | null {
  const v = json && typeof json === 'object' ? (json as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' ? v : null;
}
