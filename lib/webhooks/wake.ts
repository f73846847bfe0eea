// Wakes the jobs worker for messages just recorded: a `webhook-deliver` job per webhook message
// and a `notify` sweep for emails, sent through pg-boss over the caller's own pool (as the web's
// nudge does). Never throws: the every-minute sweeps send whatever a lost wake-up left behind.
import PgBoss from 'pg-boss';
import type { Database } from '@/db/client';
import { logger } from '@/lib/logger';

export const WEBHOOK_QUEUE = 'webhook-deliver';

const senders = new WeakMap<Database, PgBoss>();

function sender(database: Database): PgBoss {
  let boss = senders.get(database);
  if (!boss) {
    const db: PgBoss.Db = {
      async executeSql(text: string, values: unknown[] = []) {
        const params = values.map((v) =>
          v instanceof Date ? v.toISOString() : v !== null && typeof v === 'object' ? JSON.stringify(v) : v,
        );
        return { rows: [...(await database.sql.unsafe(text, params as never[]))] };
      },
    };
    boss = new PgBoss({ db, schema: 'pgboss', supervise: false, schedule: false, migrate: false });
    senders.set(database, boss);
  }
  return boss;
}

export async function wakeWorker(database: Database, p: { webhookDeliveryIds?: string[]; notify?: boolean }): Promise<void> {
  const jobs: [string, object][] = (p.webhookDeliveryIds ?? []).map((id) => [WEBHOOK_QUEUE, { deliveryId: id }]);
  if (p.notify) jobs.push(['notify', {}]);
  for (const [queue, data] of jobs) {
    try {
      await sender(database).send(queue, data);
    } catch (err) {
      logger().debug({ queue, err: (err as Error).message }, 'could not wake the jobs worker; its sweep sends the message');
    }
  }
}
