// Wakes the jobs worker after an admin action (resume, start, retry, a new connection or historical
// request) so it takes effect within seconds instead of at the next minute's tick: the web process
// sends a `plan-windows` job (and, for a new SFTP connection, a `notify` sweep for its "connection
// active" email) through pg-boss over its own pool: no connections of its own, no supervision, no
// schedules. A failed nudge is logged and otherwise ignored: the every-minute crons do the same
// work, so the action still happens, only later.
import type { Database } from '@/db/client';
import { logger } from '@/lib/logger';
import { poolBoss } from '@/lib/pool-boss';
import { send, type QueuePayloads } from './boss';

/** What the planner tick is asked for: besides its usual sweep, the runs of this connection or this run right away. */
export type Nudge = QueuePayloads['plan-windows'] & { reason: string };

/** Asks the worker for a planner tick now (and a notify sweep with `notify`). Never throws. */
export async function nudgeWorker(database: Database, nudge: Nudge, opts: { notify?: boolean } = {}): Promise<void> {
  const boss = poolBoss(database);
  const jobs: { queue: 'plan-windows' | 'notify'; send: () => Promise<unknown> }[] = [
    { queue: 'plan-windows', send: () => send(boss, 'plan-windows', nudge) },
  ];
  if (opts.notify) jobs.push({ queue: 'notify', send: () => send(boss, 'notify', { reason: nudge.reason }) });
  for (const { queue, send: enqueue } of jobs) {
    try {
      await enqueue();
    } catch (err) {
      logger().warn(
        { queue, reason: nudge.reason, err: (err as Error).message },
        'could not wake the jobs worker; its next minute tick picks the change up',
      );
    }
  }
}
