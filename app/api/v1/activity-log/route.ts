// GET /api/v1/activity-log – the program's Activity Log (who changed what, when), newest first; kind=delivery_errors lists failed deliveries instead
import { listAuditEntries } from '@/db/queries/audit';
import { listFailedDeliveries } from '@/db/queries/runs';
import { pageOf } from '@/lib/http/page';
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';
import { activityJson } from '@/lib/management/activity';
import { auditCursor, deliveryCursor } from '@/lib/management/cursors';
import { activityQuery } from '@/lib/management/schemas';

export const GET = withAuth(
  async (req, { db, program }) => {
    const q = parseQuery(req, activityQuery);
    if (q.kind === 'delivery_errors') {
      const rows = await listFailedDeliveries(db, {
        programId: program,
        from: q.from,
        to: q.to,
        afterId: q.cursor ? deliveryCursor.decode(q.cursor) : undefined,
        limit: q.limit + 1,
      });
      const page = pageOf(rows, q.limit, deliveryCursor, (d) => d.id);
      return Response.json({
        data: await activityJson(db, program, { deliveries: page.rows }),
        has_more: page.has_more,
        next_cursor: page.next_cursor,
      });
    }
    const rows = await listAuditEntries(db, {
      programId: program,
      actions: q.action,
      targetType: q.target_type,
      targetId: q.target_id,
      from: q.from,
      to: q.to,
      beforeId: q.cursor ? auditCursor.decode(q.cursor) : undefined,
      limit: q.limit + 1,
    });
    const page = pageOf(rows, q.limit, auditCursor, (e) => e.id);
    return Response.json({
      data: await activityJson(db, program, { entries: page.rows }),
      has_more: page.has_more,
      next_cursor: page.next_cursor,
    });
  },
  { permission: 'activity_log.read', scope: 'data_exports.manage', program: 'required' },
);
