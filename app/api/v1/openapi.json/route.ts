// GET /api/v1/openapi.json – the OpenAPI 3.1 description of the API, generated from the schemas the handlers validate with
import { apiDocument } from '@/lib/api-document';
import { publicOrigin } from '@/lib/http/origin';
import { withRequest } from '@/lib/auth/with-auth';

export const dynamic = 'force-dynamic';

export const GET = withRequest(async (req) =>
  Response.json(apiDocument(publicOrigin(req)), {
    headers: { 'cache-control': 'public, max-age=300', 'access-control-allow-origin': '*' },
  }),
);
