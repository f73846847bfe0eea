// GET /api/v1/schemas/{type} – the typed columns of a file type (lib/exports/schema.ts), with the schema_version
import { withAuth } from '@/lib/auth/with-auth';
import { jsonWithEtag } from '@/lib/export-api/etag';
import { API_FILE_TYPES, PATH_NOT_FOUND, typeParamsSchema } from '@/lib/export-api/schemas';
import { fileSchema } from '@/lib/exports/schema';
import { nodeRoute } from '@/lib/http/node-adapter';
import { parsePathParams } from '@/lib/http/params';

export const config = { api: { bodyParser: false } };

export const GET = withAuth(
  async (req, { params }) => {
    const { type } = parsePathParams(params, typeParamsSchema, PATH_NOT_FOUND);
    return jsonWithEtag(req, { data: fileSchema(API_FILE_TYPES[type]) });
  },
  // The export API's gate without a program: the schema is the same for every program and feed.
  { permission: 'exports.download', scope: 'data_exports.read', rateLimit: true, clientFeed: true },
);

export default nodeRoute(GET, ['type']);
