// GET /api/v1/folders – a program's folders (one per run with files), or one connection's: window, export type, files, sizes, checksums
import { withAuth } from '@/lib/auth/with-auth';
import { EXPORT_API_GATE } from '@/lib/export-api/feed';
import { pageFolders } from '@/lib/export-api/folders';
import { linkBase } from '@/lib/export-api/links';
import { listFoldersQuerySchema } from '@/lib/export-api/schemas';
import { nodeRoute } from '@/lib/http/node-adapter';
import { parseQuery } from '@/lib/http/parse';

export const config = { api: { bodyParser: false } };

export const GET = withAuth(async (req, { db, program, requestedProgram, clientFeeds }) => {
  const query = parseQuery(req, listFoldersQuerySchema);
  const page = await pageFolders(db, {
    programId: program,
    limit: query.limit,
    cursor: query.cursor,
    includeExpired: query.include_expired,
    connectionId: query.connection,
    exportType: query.export_type,
    base: linkBase(req, requestedProgram),
    onlyConnections: clientFeeds?.map((f) => f.id),
  });
  return Response.json(page, { headers: { 'cache-control': 'no-store' } });
}, EXPORT_API_GATE);

export default nodeRoute(GET, []);
