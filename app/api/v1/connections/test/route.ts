// POST /api/v1/connections/test – "Test connection": try an SFTP destination step by step and report the host key
import { sftpTestInput } from '@/lib/connections/sftp-check';
import { testConnection } from '@/lib/delivery';
import { parseJson } from '@/lib/http/parse';
import { withAuth } from '@/lib/http/with-auth';
import { programOf } from '@/lib/management/program';
import { testConnectionBody } from '@/lib/management/schemas';

export const POST = withAuth(
  async (req, { actor, db }) => {
    const input = await parseJson(req, testConnectionBody);
    // No program is needed to test a server; one named is still checked.
    if (new URL(req.url).searchParams.has('program')) await programOf(req, actor, db);
    // A failing server is the report's answer (200 with ok: false), not an error of this request.
    const report = await testConnection({ ...sftpTestInput(input), signal: req.signal });
    return Response.json({ data: report });
  },
  { permission: 'connections.write', scope: 'data_exports.manage' },
);
