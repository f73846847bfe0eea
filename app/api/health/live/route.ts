// GET /api/health/live – liveness: the process answers (200), without touching the database, so a
// liveness probe never restarts web processes during a database outage.
import { checkLive } from '@/lib/health';
import { withRequest } from '@/lib/auth/with-auth';

export const dynamic = 'force-dynamic';

export const GET = withRequest(async () => Response.json(checkLive(), { headers: { 'cache-control': 'no-store' } }));
