// GET /api/v1/data_exports/{type}/{file_id} – one export file of an API connection's feed: metadata and a signed download link (410 once expired)
import { jsonWithEtag } from '@/lib/export-api/etag';
import { resolveFeed } from '@/lib/export-api/feed';
import { getExportFile } from '@/lib/export-api/files';
import { linkBase } from '@/lib/export-api/links';
import { feedQuerySchema, fileParamsSchema, PATH_NOT_FOUND } from '@/lib/export-api/schemas';
import { parsePathParams } from '@/lib/http/params';
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/http/with-auth';

export const dynamic = 'force-dynamic';

export const GET = withAuth(
  async (req, { db, actor, params, program, requestedProgram }) => {
    const { type, file_id: fileId } = parsePathParams(params, fileParamsSchema, PATH_NOT_FOUND);
    const query = parseQuery(req, feedQuerySchema);
    const feed = await resolveFeed(db, actor, program, query.connection);
    const data = await getExportFile(db, { programId: program, feed, type, fileId, base: linkBase(req, requestedProgram) });
    return jsonWithEtag(req, { data });
  },
  { permission: 'exports.download', scope: 'data_exports.read', rateLimit: true, program: 'required' },
);
