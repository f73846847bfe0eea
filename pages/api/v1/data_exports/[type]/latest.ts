// GET /api/v1/data_exports/{type}/latest – the file of the connection's newest closed window, with a signed download link
import { withAuth } from '@/lib/auth/with-auth';
import { EXPORT_API_GATE, resolveFeed } from '@/lib/export-api/feed';
import { jsonWithEtag } from '@/lib/export-api/etag';
import { latestExportFile } from '@/lib/export-api/files';
import { linkBase } from '@/lib/export-api/links';
import { latestQuerySchema, PATH_NOT_FOUND, typeParamsSchema } from '@/lib/export-api/schemas';
import { nodeRoute } from '@/lib/http/node-adapter';
import { parsePathParams } from '@/lib/http/params';
import { parseQuery } from '@/lib/http/parse';

export const config = { api: { bodyParser: false } };

export const GET = withAuth(async (req, { db, params, program, requestedProgram, clientFeeds }) => {
  const { type } = parsePathParams(params, typeParamsSchema, PATH_NOT_FOUND);
  const query = parseQuery(req, latestQuerySchema);
  const feed = await resolveFeed(db, { programId: program, clientFeeds }, query.connection);
  const answer = await latestExportFile(db, {
    programId: program,
    feed,
    type,
    exportType: query.export_type,
    base: linkBase(req, requestedProgram),
  });
  return jsonWithEtag(req, answer);
}, EXPORT_API_GATE);

export default nodeRoute(GET, ['type']);
