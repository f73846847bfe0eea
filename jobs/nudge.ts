// Wakes the jobs worker after an admin action (resume, start, retry, a new connection or historical
// request) so it takes effect within seconds instead of at the next minute's planner tick: the web
// process sends one `plan-windows` job through pg-boss over its own pool (no pg-boss connections of
// its own, no supervision, no schedules). A failed nudge is logged and otherwise ignored: the
// every-minute tick does the same work, so the action still happens, only later.
import PgBoss from 'pg-boss';
import type { Database } from '@/db/client';
import { logger } from '@/lib/logger';

const senders = new WeakMap<Database, PgBoss>();

/** pg-boss's database adapter over postgres.js: JSON payloads are sent as text, dates as ISO strings. */
function adapter(database: Database): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[] = []) {
      const params = values.map((v) => (v instanceof Date ? v.toISOString() : v !== null && typeof v === 'object' ? JSON.stringify(v) : v));
      const rows = await database.sql.unsafe(text, params as never[]);
      return { rows: [...rows] };
    },
  };
}

function sender(database: Database): PgBoss {
  let boss = senders.get(database);
  if (!boss) {
    boss = new PgBoss({ db: adapter(database), schema: 'pgboss', supervise: false, schedule: false, migrate: false });
    senders.set(database, boss);
  }
  return boss;
}

/** Asks the worker for a planner tick now. Never throws. */
export async function nudgePlanner(database: Database, reason: string): Promise<void> {
  try {
    await sender(database).send('plan-windows', { reason });
  } catch (err) {
    logger().warn({ reason, err: (err as Error).message }, 'could not wake the jobs worker; the next planner tick picks the change up');
  }
}
