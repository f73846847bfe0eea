// Operations: what the database itself says (whether it answers, its version, its clock), for the
// health checks, the CLI and `dde status`.
import type { Sql } from '@/db/client';

/** The database's clock, in epoch milliseconds. */
export async function databaseNowMs(sql: Sql): Promise<number> {
  const [row] = await sql<{ now: number }[]>`select extract(epoch from now())::float8 * 1000 as now`;
  return Number(row.now);
}

/** One round trip: resolves once the database answers. */
export async function pingDatabase(sql: Sql): Promise<void> {
  await sql`select 1`;
}

/** The server's version string (`server_version`). */
export async function serverVersion(sql: Sql): Promise<string> {
  const [row] = await sql<{ v: string }[]>`select current_setting('server_version') as v`;
  return row.v;
}
