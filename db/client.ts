// drizzle over postgres.js. One pool per process; tests create their own per database.
import { drizzle } from 'drizzle-orm/postgres-js';
import path from 'node:path';
import postgres from 'postgres';
import { env } from '@/lib/env';
import { discoverEmbedded } from './embedded-discovery';
import * as schema from './schema';

export function createDb(url: string, options: { max?: number } = {}) {
  const sql = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: 10,
    idle_timeout: 60,
    onnotice: () => undefined,
    // int8 columns (counts, bytes) come back as JS numbers: they stay far below 2^53 here.
    types: { int8: { to: 20, from: [20], serialize: (v: number | bigint) => String(v), parse: (v: string) => Number(v) } },
    transform: { undefined: null },
  });
  const db = drizzle(sql, { schema, casing: 'snake_case' });
  return { sql, db };
}

/**
 * `db` is drizzle; `sql` is the raw postgres.js client for COPY and hand-written queries.
 * Note: drizzle installs raw-string parsers for date/time types on this client, so timestamps
 * from `sql` queries arrive as strings ('2026-11-28 08:00:00+00'); wrap them in new Date().
 * Likewise pass instants to `sql` as ISO strings (`d.toISOString()`), not Date objects.
 */
export type Database = ReturnType<typeof createDb>;
export type Db = Database['db'];
export type Sql = Database['sql'];
/** A transaction handle (what `db.transaction(async (tx) => …)` passes). */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Queries accept the pool or a transaction. */
export type DbOrTx = Db | Tx;

export class DatabaseNotConfiguredError extends Error {}

/** DATABASE_URL, or the embedded server that `npm start` runs from the data dir. */
export function resolveDatabaseUrl(): string {
  const e = env();
  if (e.databaseUrl) return e.databaseUrl;
  const found = discoverEmbedded(path.join(e.dataDir, 'postgres'), e.embeddedPgPassword);
  if (found) return found;
  throw new DatabaseNotConfiguredError('No database: set DATABASE_URL, or start the product with `npm start` (embedded PostgreSQL).');
}

let shared: Database | undefined;

/** The process-wide pool. */
export function getDatabase(options: { max?: number } = {}): Database {
  shared ??= createDb(resolveDatabaseUrl(), options);
  return shared;
}

export function getDb(): Db {
  return getDatabase().db;
}

export async function closeDatabase(): Promise<void> {
  const s = shared;
  shared = undefined;
  await s?.sql.end({ timeout: 5 });
}
