// GET /api/v1/data_exports/{type}/latest – the newest available export file of a type, with a signed download link
import { latestExportFile } from '@/lib/export-api/files';
import { parsePathParams } from '@/lib/export-api/params';
import { linkBase } from '@/lib/export-api/program';
import { latestQuerySchema, typeParamsSchema } from '@/lib/export-api/schemas';
import { parseQuery } from '@/lib/http/parse';
import { rateLimited } from '@/lib/http/rate-limit';
import { withAuth } from '@/lib/http/with-auth';
import { resolveProgram } from '@/lib/auth/actor';

export const dynamic = 'force-dynamic';

export const GET = withAuth(
  rateLimited(async (req, { actor, db, params }) => {
    const { type } = parsePathParams(params, typeParamsSchema);
    const query = parseQuery(req, latestQuerySchema);
    const programId = await resolveProgram(db, actor, query.program);
    const data = await latestExportFile(db, { programId, type, exportType: query.export_type, base: linkBase(req, query.program) });
    return Response.json({ data }, { headers: { 'cache-control': 'no-store' } });
  }),
  { permission: 'exports.download', scope: 'data_exports.read' },
);
