// POST /api/v1/connections/test – "Test connection": without host_key_fingerprint, connect and report the host key
// (nothing is sent); with the confirmed fingerprint, sign in and check the folder step by step
import { sftpTestInput } from '@/lib/connections/sftp-check';
import { testConnection } from '@/lib/delivery';
import { coarseConnectionReport } from '@/lib/delivery/test-connection';
import { parseJson } from '@/lib/http/parse';
import { enforceExpensiveLimit } from '@/lib/http/rate-limit';
import { withAuth } from '@/lib/auth/with-auth';
import type { TestReport } from '@/lib/management/responses';
import { testConnectionBody } from '@/lib/management/schemas';

export const POST = withAuth(
  // No program is needed to test a server; one named is still checked (program: 'optional').
  async (req, { actor }) => {
    const input = await parseJson(req, testConnectionBody);
    await enforceExpensiveLimit('connection_test', actor);
    // A failing server is the report's answer (200 with ok: false), not an error of this request.
    // Without a confirmed host key only the key is fetched: no credential goes to an unconfirmed server.
    const report = await testConnection({ ...sftpTestInput(input), hostKeyOnly: !input.host_key_fingerprint, signal: req.signal });
    const answer: TestReport = actor.kind === 'token' ? coarseConnectionReport(report) : report;
    return Response.json({ data: answer });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'optional' },
);
