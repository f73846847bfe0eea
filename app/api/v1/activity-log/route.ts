// GET /api/v1/activity-log – the program's Activity Log, newest first: who changed what and when (kind=audit, the
// default), the failed deliveries (kind=delivery_errors), or both merged by time (kind=all, what the page shows)
import { withAuth } from '@/lib/auth/with-auth';
import { parseQuery } from '@/lib/http/parse';
import { listActivity, type ActivityPosition } from '@/lib/management/activity';
import { activityCursor, auditCursor, deliveryCursor } from '@/lib/management/cursors';
import { activityQuery } from '@/lib/management/schemas';

export const GET = withAuth(
  async (req, { db, program }) => {
    const q = parseQuery(req, activityQuery);
    let position: ActivityPosition = {};
    if (q.cursor) {
      if (q.kind === 'audit') position = { auditId: auditCursor.decode(q.cursor) };
      else if (q.kind === 'delivery_errors') position = { deliveryId: deliveryCursor.decode(q.cursor) };
      else position = activityCursor.decode(q.cursor);
    }
    const page = await listActivity(db, program, q, position, q.limit);
    const next = !page.hasMore
      ? null
      : q.kind === 'audit'
        ? auditCursor.encode(page.next.auditId!)
        : q.kind === 'delivery_errors'
          ? deliveryCursor.encode(page.next.deliveryId!)
          : activityCursor.encode(page.next);
    return Response.json({ data: page.entries, has_more: page.hasMore, next_cursor: next });
  },
  { permission: 'activity_log.read', scope: 'data_exports.manage', program: 'required' },
);
