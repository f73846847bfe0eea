// The jobs worker (`npm run jobs`): starts pg-boss, creates the queues, registers each queue's
// handler and schedule, and shuts down gracefully on SIGTERM/SIGINT: in-flight jobs get 15 s to
// finish, then their runs are aborted and handed back to the ledger for another worker; the
// process is gone within 30 s.
import { closeDatabase, getDatabase, resolveDatabaseUrl } from '@/db/client';
import { env, ConfigError } from '@/lib/env';
import { logger } from '@/lib/logger';
import { createBoss, enqueue, ensureQueues } from '@/lib/queues';
import { checkStorage } from '@/lib/storage';
import { jobsPoolSize, registerQueues } from './queues';
import { startWorkerOps } from './worker-ops';

async function main() {
  try {
    env();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  // A bad bucket, wrong credentials or an unreachable S3 endpoint stop the worker here, named.
  await checkStorage();
  const log = logger().child({ process: 'jobs' });
  // Signals are handled from the first moment: a SIGTERM during start-up still shuts down cleanly.
  let boss: ReturnType<typeof createBoss> | undefined;
  let stopHandlers: (() => Promise<void>) | undefined;
  let ops: Awaited<ReturnType<typeof startWorkerOps>> | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'jobs worker stopping');
    const hardStop = setTimeout(() => {
      log.error('jobs worker did not stop within 30 s; exiting');
      process.exit(1);
    }, 30_000);
    hardStop.unref();
    await ready.catch(() => undefined);
    await stopHandlers?.();
    await ops?.stop();
    await boss
      ?.stop({ graceful: true, timeout: 5_000, wait: true })
      .catch((err: Error) => log.error({ err: err.message }, 'pg-boss stop failed'));
    await closeDatabase();
    log.info('jobs worker stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  const ready = (async () => {
    const url = resolveDatabaseUrl();
    boss = createBoss(url);
    boss.on('error', (err) => log.error({ err: err.message }, 'pg-boss error'));
    await boss.start();
    await ensureQueues(boss);
    const database = getDatabase({ max: jobsPoolSize() });
    stopHandlers = await registerQueues(boss, database);
    ops = await startWorkerOps(getDatabase(), log);
    // Plan now rather than at the cron's first minute: windows that closed while no worker ran
    // (or that the demo data just filled) start right away.
    await enqueue(database, 'plan-windows', { reason: 'worker started' });
  })();
  await ready;
  log.info('jobs worker started');
}

main().catch((err: Error) => {
  console.error(`jobs worker failed to start: ${err.message}`);
  process.exit(1);
});
