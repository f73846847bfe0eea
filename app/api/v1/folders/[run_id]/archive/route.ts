// GET /api/v1/folders/{run_id}/archive – one folder as a streamed zip: its files, their .sha256 sidecars and the manifest
import { folderArchive } from '@/lib/export-api/folders';
import { parsePathParams } from '@/lib/export-api/params';
import { programQuerySchema, runParamsSchema } from '@/lib/export-api/schemas';
import { parseQuery } from '@/lib/http/parse';
import { rateLimited } from '@/lib/http/rate-limit';
import { withAuth } from '@/lib/http/with-auth';
import { resolveProgram } from '@/lib/auth/actor';

export const dynamic = 'force-dynamic';

export const GET = withAuth(
  rateLimited(async (req, { actor, db, params }) => {
    const { run_id: runId } = parsePathParams(params, runParamsSchema);
    const query = parseQuery(req, programQuerySchema);
    const programId = await resolveProgram(db, actor, query.program);
    return folderArchive(db, { programId, runId });
  }),
  { permission: 'exports.download', scope: 'data_exports.read' },
);
