// GET /api/v1/data_exports/{type}/{file_id} – one export file's metadata and a signed download link (410 once expired)
import { getExportFile } from '@/lib/export-api/files';
import { linkBase } from '@/lib/export-api/links';
import { fileParamsSchema, PATH_NOT_FOUND } from '@/lib/export-api/schemas';
import { parsePathParams } from '@/lib/http/params';
import { withAuth } from '@/lib/http/with-auth';

export const dynamic = 'force-dynamic';

export const GET = withAuth(
  async (req, { db, params, program, requestedProgram }) => {
    const { type, file_id: fileId } = parsePathParams(params, fileParamsSchema, PATH_NOT_FOUND);
    const data = await getExportFile(db, { programId: program, type, fileId, base: linkBase(req, requestedProgram) });
    return Response.json({ data }, { headers: { 'cache-control': 'no-store' } });
  },
  { permission: 'exports.download', scope: 'data_exports.read', rateLimit: true, program: 'required' },
);
