// Activity Log entries as the API answers them, named by their connection as the pages show it
// (a retried run or a historical request by the connection it belongs to).
import type { DbOrTx } from '@/db/client';
import { listAuditEntries } from '@/db/queries/audit';
import { listConnectionNames } from '@/db/queries/connections';
import { listFailedDeliveries } from '@/db/queries/runs';
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

/** Where a page of the merged Activity Log ended in each of its two sources (undefined: at the top). */
export type ActivityPosition = { auditId?: number; deliveryId?: string };

export type ActivityFilters = {
  kind: 'audit' | 'delivery_errors' | 'all';
  action?: string[];
  target_type?: string;
  target_id?: string;
  from?: Date;
  to?: Date;
};

/**
 * One page of the Activity Log, newest first: the changes (audit entries), the failed deliveries, or
 * both merged by time (kind=all, the page's default, so failures are not hidden). Each source is read
 * from its own keyset position; the next position holds the last row shown from each.
 */
export async function listActivity(
  db: DbOrTx,
  programId: number,
  q: ActivityFilters,
  position: ActivityPosition,
  limit: number,
): Promise<{ entries: ActivityEntry[]; hasMore: boolean; next: ActivityPosition }> {
  const actions = q.action?.length ? q.action : undefined;
  const auditActions = actions?.filter((a) => a !== 'delivery.failed');
  const withAudit = q.kind !== 'delivery_errors' && !(actions && auditActions!.length === 0);
  const withFailures =
    q.kind === 'delivery_errors' ||
    (q.kind === 'all' && (!actions || actions.includes('delivery.failed')) && (!q.target_type || q.target_type === 'connection'));
  const [entries, failures] = await Promise.all([
    withAudit
      ? listAuditEntries(db, {
          programId,
          actions: auditActions,
          targetType: q.target_type,
          targetId: q.target_id,
          from: q.from,
          to: q.to,
          beforeId: position.auditId,
          limit: limit + 1,
        })
      : [],
    withFailures
      ? listFailedDeliveries(db, {
          programId,
          connectionId: q.kind === 'all' ? q.target_id : undefined,
          from: q.from,
          to: q.to,
          afterId: position.deliveryId,
          limit: limit + 1,
        })
      : [],
  ]);
  // Each source is already newest first: merge by time (a stable sort keeps each one's own order).
  const merged = [
    ...entries.map((row) => ({ at: row.at.getTime(), entry: row, delivery: undefined })),
    ...failures.map((row) => ({ at: row.startedAt.getTime(), entry: undefined, delivery: row })),
  ].sort((a, b) => b.at - a.at);
  const page = merged.slice(0, limit);
  const shownEntries = page.flatMap((m) => (m.entry ? [m.entry] : []));
  const shownFailures = page.flatMap((m) => (m.delivery ? [m.delivery] : []));
  const [entryJson, failureJson] = await Promise.all([
    activityJson(db, programId, { entries: shownEntries }),
    activityJson(db, programId, { deliveries: shownFailures }),
  ]);
  const byEntry = new Map(shownEntries.map((e, i) => [e, entryJson[i]]));
  const byFailure = new Map(shownFailures.map((d, i) => [d, failureJson[i]]));
  return {
    entries: page.map((m) => (m.entry ? byEntry.get(m.entry)! : byFailure.get(m.delivery!)!)),
    hasMore: merged.length > limit,
    next: {
      auditId: shownEntries.length ? shownEntries[shownEntries.length - 1].id : position.auditId,
      deliveryId: shownFailures.length ? shownFailures[shownFailures.length - 1].id : position.deliveryId,
    },
  };
}
