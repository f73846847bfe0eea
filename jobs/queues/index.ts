// Registers every queue's handler and schedule. One file per queue beside this one.
import type PgBoss from 'pg-boss';
import type { Database } from '@/db/client';

/** Returns a function that stops anything the handlers started (timers, aborts). */
export async function registerQueues(_boss: PgBoss, _database: Database): Promise<() => Promise<void>> {
  return async () => undefined;
}
