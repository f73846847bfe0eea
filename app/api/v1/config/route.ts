// GET /api/v1/config – what the pages show about this installation: egress addresses, retention, history limit, signed-link lifetime
import { env } from '@/lib/env';
import { MAX_HISTORY_MONTHS } from '@/lib/historical';
import { withAuth } from '@/lib/auth/with-auth';
import type { AppConfig } from '@/lib/management/responses';

export const GET = withAuth(async () => {
  const e = env();
  const data: AppConfig = {
    egress_info: e.egressInfo ?? null,
    retention_days: e.retentionDays,
    max_history_months: MAX_HISTORY_MONTHS,
    signed_url_ttl_seconds: e.signedUrlTtlSeconds,
  };
  return Response.json({ data });
});
