// GET /api/v1/folders – a program's folders (one per run with files): window, export type, files, sizes, checksums
import { pageFolders } from '@/lib/export-api/folders';
import { linkBase } from '@/lib/export-api/program';
import { listFoldersQuerySchema } from '@/lib/export-api/schemas';
import { parseQuery } from '@/lib/http/parse';
import { rateLimited } from '@/lib/http/rate-limit';
import { withAuth } from '@/lib/http/with-auth';
import { resolveProgram } from '@/lib/auth/actor';

export const dynamic = 'force-dynamic';

export const GET = withAuth(
  rateLimited(async (req, { actor, db }) => {
    const query = parseQuery(req, listFoldersQuerySchema);
    const programId = await resolveProgram(db, actor, query.program);
    const page = await pageFolders(db, {
      programId,
      limit: query.limit,
      cursor: query.cursor,
      includeExpired: query.include_expired,
      base: linkBase(req, query.program),
    });
    return Response.json(page, { headers: { 'cache-control': 'no-store' } });
  }),
  { permission: 'exports.download', scope: 'data_exports.read' },
);
