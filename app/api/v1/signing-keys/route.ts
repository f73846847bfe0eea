// GET /api/v1/signing-keys – the public keys that sign manifests, as a JWK Set (public: verifying needs no token)
import { withRequest } from '@/lib/auth/with-auth';
import { publishedKeys } from '@/lib/exports';

export const GET = withRequest(async (_req, ctx) => {
  const body = await publishedKeys(ctx.database().db);
  return Response.json(body, { headers: { 'Cache-Control': 'public, max-age=300' } });
});
