// What the jobs worker runs besides its queues: the heartbeat (worker_heartbeats, every 15 s) and,
// when DDE_JOBS_METRICS_PORT is set, its own /metrics listener.
import type { Logger } from 'pino';
import type { Database } from '@/db/client';
import { env } from '@/lib/env';
import { startWorkerHeartbeat } from '@/lib/health';
import { startMetricsServer } from '@/lib/metrics';

export async function startWorkerOps(database: Database, log: Logger): Promise<{ stop: () => Promise<void> }> {
  const heartbeat = startWorkerHeartbeat(database, { onError: (err) => log.warn({ err: err.message }, 'worker heartbeat failed') });
  await heartbeat.first;
  const where = env().jobsMetrics;
  let server: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  if (where) {
    try {
      server = await startMetricsServer(() => database, where);
      log.info({ url: server.url }, 'jobs worker metrics listening');
    } catch (err) {
      log.error({ err: (err as Error).message, ...where }, 'jobs worker metrics could not listen (DDE_JOBS_METRICS_PORT)');
    }
  }
  return {
    stop: async () => {
      await server?.close();
      await heartbeat.stop();
    },
  };
}
