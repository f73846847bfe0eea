// pg-boss for processes that only enqueue (the web, and code that runs there): it sends jobs over
// the caller's own postgres.js pool — no connections of its own, no supervision, no schedules, no
// migrations. One per database, made on first use.
import PgBoss from 'pg-boss';
import type { Database } from '@/db/client';

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

/** The enqueue-only pg-boss of `database`. */
export function poolBoss(database: Database): PgBoss {
  let boss = senders.get(database);
  if (!boss) {
    boss = new PgBoss({ db: adapter(database), schema: 'pgboss', supervise: false, schedule: false, migrate: false });
    senders.set(database, boss);
  }
  return boss;
}
