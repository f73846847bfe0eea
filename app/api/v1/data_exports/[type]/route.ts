// GET /api/v1/data_exports/{type} – available export files of a type, newest first, cursor-paginated
import { pageExportFiles } from '@/lib/export-api/files';
import { parsePathParams } from '@/lib/export-api/params';
import { linkBase } from '@/lib/export-api/program';
import { listFilesQuerySchema, typeParamsSchema } from '@/lib/export-api/schemas';
import { parseQuery } from '@/lib/http/parse';
import { rateLimited } from '@/lib/http/rate-limit';
import { withAuth } from '@/lib/http/with-auth';
import { resolveProgram } from '@/lib/auth/actor';

export const dynamic = 'force-dynamic';

export const GET = withAuth(
  rateLimited(async (req, { actor, db, params }) => {
    const { type } = parsePathParams(params, typeParamsSchema);
    const query = parseQuery(req, listFilesQuerySchema);
    const programId = await resolveProgram(db, actor, query.program);
    const page = await pageExportFiles(db, { programId, type, query, base: linkBase(req, query.program) });
    return Response.json(page, { headers: { 'cache-control': 'no-store' } });
  }),
  { permission: 'exports.download', scope: 'data_exports.read' },
);
