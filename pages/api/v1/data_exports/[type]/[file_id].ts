// GET /api/v1/data_exports/{type}/{file_id} – one file of the feed: metadata and a signed download link (410 once expired)
import { withAuth } from '@/lib/auth/with-auth';
import { EXPORT_API_GATE, resolveFeed } from '@/lib/export-api/feed';
import { jsonWithEtag } from '@/lib/export-api/etag';
import { getExportFile } from '@/lib/export-api/files';
import { linkBase } from '@/lib/export-api/links';
import { feedQuerySchema, fileParamsSchema, PATH_NOT_FOUND } from '@/lib/export-api/schemas';
import { nodeRoute } from '@/lib/http/node-adapter';
import { parsePathParams } from '@/lib/http/params';
import { parseQuery } from '@/lib/http/parse';

export const config = { api: { bodyParser: false } };

export const GET = withAuth(async (req, { db, params, program, requestedProgram, clientFeeds }) => {
  const { type, file_id: fileId } = parsePathParams(params, fileParamsSchema, PATH_NOT_FOUND);
  const query = parseQuery(req, feedQuerySchema);
  const feed = await resolveFeed(db, { programId: program, clientFeeds }, query.connection);
  const data = await getExportFile(db, { programId: program, feed, type, fileId, base: linkBase(req, requestedProgram) });
  return jsonWithEtag(req, { data });
}, EXPORT_API_GATE);

export default nodeRoute(GET, ['type', 'file_id']);
