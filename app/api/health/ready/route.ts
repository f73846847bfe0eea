// GET /api/health/ready – readiness: the database answers and every committed migration is applied
// (200; 503 with the reason otherwise). Reports the newest jobs-worker heartbeat without requiring one.
import { checkReady } from '@/lib/health';
import { withRequest } from '@/lib/auth/with-auth';

export const dynamic = 'force-dynamic';

export const GET = withRequest(async (_req, ctx) => {
  const ready = await checkReady(ctx.database);
  return Response.json(ready, { status: ready.status === 'ok' ? 200 : 503, headers: { 'cache-control': 'no-store' } });
});
