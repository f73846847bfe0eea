// Applies the committed drizzle-kit migrations (db/migrations). Safe to run on every start.
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createDb } from './client';

export const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

export async function migrateDatabase(url: string): Promise<void> {
  const { db, sql } = createDb(url, { max: 1 });
  try {
    // Several processes may start at once: one applies, the others wait for it.
    await sql`select pg_advisory_lock(727001)`;
    await migrate(db, { migrationsFolder });
  } finally {
    await sql`select pg_advisory_unlock(727001)`.catch(() => undefined);
    await sql.end({ timeout: 5 });
  }
}
