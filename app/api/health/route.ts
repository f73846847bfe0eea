// GET /api/health – liveness and database reachability (200 ok, 503 when the database is down)
import { checkHealth } from '@/lib/health';
import { withRequest } from '@/lib/auth/with-auth';

export const dynamic = 'force-dynamic';

export const GET = withRequest(async () => {
  const health = await checkHealth();
  return Response.json(health, { status: health.status === 'ok' ? 200 : 503, headers: { 'cache-control': 'no-store' } });
});
