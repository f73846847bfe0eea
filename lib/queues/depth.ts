// What pg-boss's own tables say about the queues (for /metrics): jobs waiting or running by queue
// and state, and every queue pg-boss knows. pg-boss's schema, not ours: its reads live with the
// queue contract rather than in db/queries.
import type { Sql } from '@/db/client';

/** Jobs created, waiting for a retry or active, counted by queue and state. */
export async function countJobsByState(sql: Sql): Promise<{ name: string; state: string; n: number }[]> {
  return sql<{ name: string; state: string; n: number }[]>`
          select name, state::text as state, count(*)::int as n from pgboss.job
          where state in ('created', 'retry', 'active') group by name, state`;
}

/** Every queue pg-boss knows (the worker creates them), so an empty queue still shows 0. */
export async function listKnownQueues(sql: Sql): Promise<{ name: string }[]> {
  return sql<{ name: string }[]>`select name from pgboss.queue`;
}
