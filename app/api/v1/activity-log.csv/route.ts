// GET /api/v1/activity-log.csv – the program's Activity Log (or kind=delivery_errors) with the page's filters, as a streamed CSV download
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';
import { activityCsv } from '@/lib/management/csv';
import { activityCsvQuery } from '@/lib/management/schemas';

export const dynamic = 'force-dynamic';

export const GET = withAuth(async (req, { db, program, log }) => activityCsv(db, program, parseQuery(req, activityCsvQuery), log), {
  permission: 'activity_log.read',
  scope: 'data_exports.manage',
  program: 'required',
});
