// GET /api/v1/data_exports/{type} – one API connection's available export files of a type, newest first, cursor-paginated
import { jsonWithEtag } from '@/lib/export-api/etag';
import { resolveFeed } from '@/lib/export-api/feed';
import { pageExportFiles } from '@/lib/export-api/files';
import { linkBase } from '@/lib/export-api/links';
import { listFilesQuerySchema, PATH_NOT_FOUND, typeParamsSchema } from '@/lib/export-api/schemas';
import { parsePathParams } from '@/lib/http/params';
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/http/with-auth';

export const dynamic = 'force-dynamic';

export const GET = withAuth(
  async (req, { db, actor, params, program, requestedProgram }) => {
    const { type } = parsePathParams(params, typeParamsSchema, PATH_NOT_FOUND);
    const query = parseQuery(req, listFilesQuerySchema);
    const feed = await resolveFeed(db, actor, program, query.connection);
    const page = await pageExportFiles(db, { programId: program, feed, type, query, base: linkBase(req, requestedProgram) });
    return jsonWithEtag(req, page);
  },
  { permission: 'exports.download', scope: 'data_exports.read', rateLimit: true, program: 'required' },
);
