// The jobs worker (`npm run jobs`): starts pg-boss, creates the queues, registers each queue's
// handler and schedule, and shuts down gracefully on SIGTERM/SIGINT (in-flight jobs get up to
// 25 s to finish; whatever is left is handed back to pg-boss for another worker).
import { closeDatabase, getDatabase, resolveDatabaseUrl } from '@/db/client';
import { env, ConfigError } from '@/lib/env';
import { logger } from '@/lib/logger';
import { createBoss, ensureQueues } from './boss';
import { registerQueues } from './queues';

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
  const log = logger().child({ process: 'jobs' });
  const url = resolveDatabaseUrl();
  const boss = createBoss(url);
  boss.on('error', (err) => log.error({ err: err.message }, 'pg-boss error'));
  await boss.start();
  await ensureQueues(boss);
  const database = getDatabase();
  const stopHandlers = await registerQueues(boss, database);
  log.info('jobs worker started');

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
    await stopHandlers();
    await boss.stop({ graceful: true, timeout: 25_000, wait: true }).catch((err: Error) => log.error({ err: err.message }, 'pg-boss stop failed'));
    await closeDatabase();
    log.info('jobs worker stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: Error) => {
  console.error(`jobs worker failed to start: ${err.message}`);
  process.exit(1);
});
