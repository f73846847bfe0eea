// Activity Log entries as the API answers them, each connection target named as the pages show it.
import type { DbOrTx } from '@/db/client';
import { listConnectionNames } from '@/db/queries/connections';
import type { AuditEntry, Delivery } from '@/db/schema';
import { auditEntryJson, failedDeliveryJson, type ActivityEntryJson } from './views';

export async function activityJson(db: DbOrTx, programId: number, rows: { entries?: AuditEntry[]; deliveries?: Delivery[] }): Promise<ActivityEntryJson[]> {
  const ids = new Set<string>();
  for (const e of rows.entries ?? []) if (e.targetType === 'connection' && e.targetId) ids.add(e.targetId);
  for (const d of rows.deliveries ?? []) ids.add(d.connectionId);
  const names = new Map(
    (await listConnectionNames(db, { programId, ids: [...ids] })).map((c) => [c.id, c.name ?? (c.kind === 'sftp' ? `SFTP ${c.sftpHost ?? ''}`.trim() : 'API connection')]),
  );
  if (rows.deliveries) return rows.deliveries.map((d) => failedDeliveryJson(d, names.get(d.connectionId)));
  return (rows.entries ?? []).map((e) => auditEntryJson(e, e.targetType === 'connection' && e.targetId ? names.get(e.targetId) : undefined));
}
