// GET /api/v1/data_exports/{type} – one API connection's available files of a type, newest first, cursor-paginated
// The export API is served by Pages Router API routes (README: Layout): a pipeline polls it, and a
// Pages API route skips the App Router's per-request handling (bench:api).
import { withAuth } from '@/lib/auth/with-auth';
import { EXPORT_API_GATE, resolveFeed } from '@/lib/export-api/feed';
import { jsonWithEtag } from '@/lib/export-api/etag';
import { pageExportFiles } from '@/lib/export-api/files';
import { linkBase } from '@/lib/export-api/links';
import { listFilesQuerySchema, PATH_NOT_FOUND, typeParamsSchema } from '@/lib/export-api/schemas';
import { nodeRoute } from '@/lib/http/node-adapter';
import { parsePathParams } from '@/lib/http/params';
import { parseQuery } from '@/lib/http/parse';

export const config = { api: { bodyParser: false } };

export const GET = withAuth(async (req, { db, params, program, requestedProgram, clientFeeds }) => {
  const { type } = parsePathParams(params, typeParamsSchema, PATH_NOT_FOUND);
  const query = parseQuery(req, listFilesQuerySchema);
  const feed = await resolveFeed(db, { programId: program, clientFeeds }, query.connection);
  const page = await pageExportFiles(db, { programId: program, feed, type, query, base: linkBase(req, requestedProgram) });
  return jsonWithEtag(req, page);
}, EXPORT_API_GATE);

export default nodeRoute(GET, ['type']);
