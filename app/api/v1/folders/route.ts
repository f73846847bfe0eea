// GET /api/v1/folders – a program's folders (one per run with files), or one connection's: window, export type, files, sizes, checksums
import { pageFolders } from '@/lib/export-api/folders';
import { linkBase } from '@/lib/export-api/links';
import { listFoldersQuerySchema } from '@/lib/export-api/schemas';
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/auth/with-auth';

export const dynamic = 'force-dynamic';

export const GET = withAuth(
  async (req, { db, program, requestedProgram, clientFeeds }) => {
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
  },
  { permission: 'exports.download', scope: 'data_exports.read', rateLimit: true, program: 'required', clientFeed: true },
);
