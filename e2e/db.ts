// Direct database access for the specs: counting rows to prove a refused request changed nothing.
// Uses the embedded PostgreSQL that `npm start` runs from the e2e data dir.
import path from 'node:path';
import postgres from 'postgres';
import { discoverEmbedded } from '../db/embedded-discovery';
import { loadOrCreateSecrets } from '../lib/env';

export function e2eDataDir(): string {
  const dir = process.env.E2E_DATA_DIR;
  if (!dir) throw new Error('E2E_DATA_DIR is not set: run the specs through `npm run test:e2e`.');
  return dir;
}

/** A connection to the running product's database; the caller ends it. */
export function e2eSql(dataDir = e2eDataDir()) {
  const url = discoverEmbedded(path.join(dataDir, 'postgres'), loadOrCreateSecrets(dataDir).PG_PASSWORD);
  if (!url) throw new Error(`No embedded PostgreSQL is running from ${dataDir}`);
  return postgres(url, { max: 1, onnotice: () => undefined });
}

export async function rowCounts(): Promise<{ connections: number; audit: number }> {
  const sql = e2eSql();
  try {
    const [row] = await sql<{ connections: number; audit: number }[]>`
      select (select count(*)::int from connections) as connections, (select count(*)::int from audit_log) as audit`;
    return row;
  } finally {
    await sql.end({ timeout: 2 });
  }
}
