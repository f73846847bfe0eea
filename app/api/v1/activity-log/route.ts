// GET /api/v1/activity-log – the program's Activity Log (who changed what, when), newest first; kind=delivery_errors lists failed deliveries instead
import { listAuditEntries } from '@/db/queries/audit';
import { listFailedDeliveries } from '@/db/queries/runs';
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/http/with-auth';
import { programOf } from '@/lib/management/program';
import { activityQuery, decodeCursor, pageOf } from '@/lib/management/schemas';
import { activityJson } from '@/lib/management/activity';

export const GET = withAuth(
  async (req, { actor, db }) => {
    const q = parseQuery(req, activityQuery);
    const programId = await programOf(req, actor, db);
    if (q.kind === 'delivery_errors') {
      const rows = await listFailedDeliveries(db, {
        programId,
        from: q.from,
        to: q.to,
        afterId: q.cursor ? decodeCursor('delivery', q.cursor) : undefined,
        limit: q.limit + 1,
      });
      const { page, next } = pageOf(rows, q.limit, 'delivery');
      return Response.json({ data: await activityJson(db, programId, { deliveries: page }), next_cursor: next });
    }
    const rows = await listAuditEntries(db, {
      programId,
      actions: q.action,
      targetType: q.target_type,
      targetId: q.target_id,
      from: q.from,
      to: q.to,
      beforeId: q.cursor ? decodeCursor('audit', q.cursor) : undefined,
      limit: q.limit + 1,
    });
    const { page, next } = pageOf(rows, q.limit, 'audit');
    return Response.json({ data: await activityJson(db, programId, { entries: page }), next_cursor: next });
  },
  { permission: 'activity_log.read', scope: 'data_exports.manage' },
);
