// Operations: what the database itself says (its clock), for `dde status`.
import type { Sql } from '@/db/client';

/** The database's clock, in epoch milliseconds. */
export async function databaseNowMs(sql: Sql): Promise<number> {
  const [row] = await sql<{ now: number }[]>`select extract(epoch from now())::float8 * 1000 as now`;
  return Number(row.now);
}
