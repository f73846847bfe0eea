// GET /api/v1/data_exports/{type}/latest – the file of one API connection's newest closed window, with a signed download link.
// Served by pages/api/v1/data_exports/[type]/latest.ts through lib/http/node-adapter.ts (see there why).
import { jsonWithEtag } from '@/lib/export-api/etag';
import { resolveFeed } from '@/lib/export-api/feed';
import { latestExportFile } from '@/lib/export-api/files';
import { linkBase } from '@/lib/export-api/links';
import { latestQuerySchema, PATH_NOT_FOUND, typeParamsSchema } from '@/lib/export-api/schemas';
import { parsePathParams } from '@/lib/http/params';
import { parseQuery } from '@/lib/http/parse';
import { withAuth } from '@/lib/http/with-auth';


export const GET = withAuth(
  async (req, { db, actor, params, program, requestedProgram }) => {
    const { type } = parsePathParams(params, typeParamsSchema, PATH_NOT_FOUND);
    const query = parseQuery(req, latestQuerySchema);
    const feed = await resolveFeed(db, actor, program, query.connection);
    const answer = await latestExportFile(db, {
      programId: program,
      feed,
      type,
      exportType: query.export_type,
      base: linkBase(req, requestedProgram),
    });
    return jsonWithEtag(req, answer);
  },
  { permission: 'exports.download', scope: 'data_exports.read', rateLimit: true, program: 'required' },
);
