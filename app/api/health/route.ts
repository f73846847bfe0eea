// GET /api/health – liveness and database reachability (200 ok, 503 when the database is down, with
// a fixed reason; the driver's error is logged, and answered only with DDE_METRICS_TOKEN presented)
import { checkHealth, publicHealth } from '@/lib/health';
import { withRequest } from '@/lib/auth/with-auth';
import { metricsTokenPresented } from '@/lib/metrics';

export const dynamic = 'force-dynamic';

export const GET = withRequest(async (req, ctx) => {
  const health = await checkHealth();
  if (health.status !== 'ok') ctx.log.warn({ reason: health.reason }, 'database unreachable');
  const body = metricsTokenPresented(req.headers.get('authorization')) ? health : publicHealth(health);
  return Response.json(body, { status: health.status === 'ok' ? 200 : 503, headers: { 'cache-control': 'no-store' } });
});
