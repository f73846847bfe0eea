// POST /api/v1/connections/test – "Test connection": try an SFTP destination step by step and report the host key
import { sftpTestInput } from '@/lib/connections/sftp-check';
import { testConnection } from '@/lib/delivery';
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/http/with-auth';
import type { TestReport } from '@/lib/management/responses';
import { testConnectionBody } from '@/lib/management/schemas';

export const POST = withAuth(
  // No program is needed to test a server; one named is still checked (program: 'optional').
  async (req) => {
    const input = await parseJson(req, testConnectionBody);
    // A failing server is the report's answer (200 with ok: false), not an error of this request.
    const report: TestReport = await testConnection({ ...sftpTestInput(input), signal: req.signal });
    return Response.json({ data: report });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'optional' },
);
