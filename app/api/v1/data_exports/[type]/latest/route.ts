// GET /api/v1/data_exports/{type}/latest – the newest available export file of a type, with a signed download link
import { latestExportFile } from '@/lib/export-api/files';
import { linkBase } from '@/lib/export-api/links';
import { latestQuerySchema, PATH_NOT_FOUND, typeParamsSchema } from '@/lib/export-api/schemas';
import { parsePathParams } from '@/lib/http/params';
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/http/with-auth';

export const dynamic = 'force-dynamic';

export const GET = withAuth(
  async (req, { db, params, program, requestedProgram }) => {
    const { type } = parsePathParams(params, typeParamsSchema, PATH_NOT_FOUND);
    const query = parseQuery(req, latestQuerySchema);
    const data = await latestExportFile(db, {
      programId: program,
      type,
      exportType: query.export_type,
      base: linkBase(req, requestedProgram),
    });
    return Response.json({ data }, { headers: { 'cache-control': 'no-store' } });
  },
  { permission: 'exports.download', scope: 'data_exports.read', rateLimit: true, program: 'required' },
);
