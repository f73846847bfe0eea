// One more jobs process for bench:burst --processes=N: the same pg-boss queues and handlers from
// jobs/ as the bench's own worker (registerQueues), against the same database, storage and SFTP
// server; configuration comes from the environment bench:burst passes on. The only difference from
// `npm run jobs` is the clock, frozen where the bench froze its own (after the burst's boundary), so
// every process plans and stamps the same windows. Prints "ready" once its workers fetch jobs, and
// stops on SIGTERM (its in-flight jobs finish or are handed back, as in jobs/index.ts).
import { parseArgs } from 'node:util';
import { createDb } from '@/db/client';
import { createBoss, ensureQueues } from '@/lib/queues';
import { jobsPoolSize, registerQueues } from '@/jobs/queues';
import { setClock } from '@/lib/clock';
import { env } from '@/lib/env';

async function main() {
  const { values } = parseArgs({ options: { clock: { type: 'string' } }, strict: true });
  if (!values.clock) throw new Error('--clock=<ISO instant> is required');
  setClock(new Date(values.clock));
  const url = env().databaseUrl!;
  const database = createDb(url, { max: jobsPoolSize() });
  const boss = createBoss(url);
  boss.on('error', (err: Error) => console.error(`pg-boss: ${err.message}`));
  await boss.start();
  await ensureQueues(boss);
  const stopWorker = await registerQueues(boss, database);
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      await stopWorker().catch(() => undefined);
      await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
      await database.sql.end({ timeout: 5 }).catch(() => undefined);
      process.exit(0);
    })();
  });
  console.log('ready');
}

main().catch((err: Error) => {
  console.error(`burst worker: ${err.stack ?? err.message}`);
  process.exit(1);
});
