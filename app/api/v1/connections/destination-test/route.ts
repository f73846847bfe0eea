// POST /api/v1/connections/destination-test – the set-up test of a cloud storage destination (S3,
// S3-compatible, Azure Blob) before it is saved: each step with its outcome; nothing is stored
import { withAuth } from '@/lib/auth/with-auth';
import { prepareCloudDestination } from '@/lib/connections/lifecycle';
import { testDestinationSchema } from '@/lib/connections/schemas';
import { testAzure, testS3 } from '@/lib/destinations';
import { parseJson } from '@/lib/http/parse';
import { enforceExpensiveLimit } from '@/lib/http/rate-limit';
import type { DestinationTestReport } from '@/lib/management/responses';

export const POST = withAuth(
  async (req, { actor, database }) => {
    const input = await parseJson(req, testDestinationSchema);
    // An external id DDE did not issue, or another connection's, is refused before any request (422).
    const prepared = await prepareCloudDestination(database, input);
    await enforceExpensiveLimit('connection_test', actor);
    // A failing destination is the report's answer (200 with ok: false), not an error of this request.
    const report: DestinationTestReport =
      prepared.kind === 's3' ? await testS3({ ...prepared, signal: req.signal }) : await testAzure({ ...prepared, signal: req.signal });
    return Response.json({ data: report });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'optional' },
);
