// A database for a CLI command's life, and who the command's changes are recorded as.
import path from 'node:path';
import { createDb, type Database } from '@/db/client';
import { startEmbedded } from '@/db/embedded';
import { migrateDatabase } from '@/db/migrate';
import { pingDatabase } from '@/db/queries/ops';
import { ConfigError, env } from '@/lib/env';
import { CliError } from './args';

/**
 * Runs `fn` with a database: DATABASE_URL, the embedded server `npm start` is running, or
 * (when neither) the embedded server started for the length of the command.
 */
export async function withDatabase<T>(fn: (db: Database) => Promise<T>, opts: { migrate?: boolean } = { migrate: true }): Promise<T> {
  let e;
  try {
    e = env();
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message.replace(/\n\s*/g, ' '));
    throw err;
  }
  let url = e.databaseUrl;
  let stop: (() => Promise<void>) | undefined;
  if (!url) {
    const server = await startEmbedded({ dir: path.join(e.dataDir, 'postgres'), password: e.embeddedPgPassword });
    url = server.url();
    if (server.owned) stop = server.stop;
  }
  const database = createDb(url, { max: 4 });
  try {
    await Promise.race([
      pingDatabase(database.sql),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 10 s')), 10_000)),
    ]).catch((err: Error) => {
      throw new Error(`cannot reach the database (${redactUrl(url!)}): ${err.message}`);
    });
    if (opts.migrate !== false) await migrateDatabase(url);
    return await fn(database);
  } finally {
    await database.sql.end({ timeout: 5 });
    await stop?.();
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

/** Who changes made from the command line are recorded as in the Activity Log. */
export const CLI_AUTHOR = { accountId: null, label: 'dde CLI' };
