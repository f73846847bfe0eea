// GET /api/health/ready – readiness: the database answers and every committed migration is applied
// (200; 503 otherwise). Anyone gets a fixed reason ("database unavailable", "migrations pending");
// the detail — the driver's error, the pending migrations, the newest jobs-worker heartbeat — is
// logged, and answered to a caller that presents DDE_METRICS_TOKEN as a bearer token.
import { checkReady, publicReadiness } from '@/lib/health';
import { withRequest } from '@/lib/auth/with-auth';
import { metricsTokenPresented } from '@/lib/metrics';

export const dynamic = 'force-dynamic';

export const GET = withRequest(async (req, ctx) => {
  const ready = await checkReady(ctx.database);
  if (ready.status !== 'ok') ctx.log.warn({ reason: ready.reason, db: ready.db, pending: ready.migrations?.pending }, 'not ready');
  const body = metricsTokenPresented(req.headers.get('authorization')) ? ready : publicReadiness(ready);
  return Response.json(body, { status: ready.status === 'ok' ? 200 : 503, headers: { 'cache-control': 'no-store' } });
});
