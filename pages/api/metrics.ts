// GET /metrics (rewritten to /api/metrics in next.config.js) – Prometheus metrics of this web process.
// A Pages Router API route rather than an App Router route handler: it needs the TCP peer address
// of the connection to let only loopback callers in when DDE_METRICS_TOKEN is unset (see lib/metrics.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getDatabase } from '@/db/client';
import { serveMetrics } from '@/lib/metrics';

export const config = { api: { bodyParser: false } };

export default async function handler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  await serveMetrics(req, res, getDatabase);
}
