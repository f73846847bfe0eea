// GET /api/v1/data_exports/{type}/{file_id} – one export file's metadata and a signed download link (410 once expired)
import { getExportFile } from '@/lib/export-api/files';
import { parsePathParams } from '@/lib/export-api/params';
import { linkBase } from '@/lib/export-api/program';
import { fileParamsSchema, programQuerySchema } from '@/lib/export-api/schemas';
import { parseQuery } from '@/lib/http/parse';
import { rateLimited } from '@/lib/http/rate-limit';
import { withAuth } from '@/lib/http/with-auth';
import { resolveProgram } from '@/lib/auth/actor';

export const dynamic = 'force-dynamic';

export const GET = withAuth(
  rateLimited(async (req, { actor, db, params }) => {
    const { type, file_id: fileId } = parsePathParams(params, fileParamsSchema);
    const query = parseQuery(req, programQuerySchema);
    const programId = await resolveProgram(db, actor, query.program);
    const data = await getExportFile(db, { programId, type, fileId, base: linkBase(req, query.program) });
    return Response.json({ data }, { headers: { 'cache-control': 'no-store' } });
  }),
  { permission: 'exports.download', scope: 'data_exports.read' },
);
