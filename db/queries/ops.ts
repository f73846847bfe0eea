// Operations: what the database itself says (whether it answers, its version, its clock, the
// migrations it has applied) and the jobs workers' heartbeats (`worker_heartbeats`, written only
// here), for the health checks, the CLI and `dde status`.
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

/** The newest migration applied (its `created_at`, the journal's `when`) and how many; throws when there is no migration table. */
export async function readAppliedMigrations(sql: Sql): Promise<{ last: string | null; n: number }> {
  const [row] = await sql<{ last: string | null; n: number }[]>`
      select max(created_at)::text as last, count(*)::int as n from drizzle.__drizzle_migrations`;
  return row;
}

export type HeartbeatRow = {
  id: string;
  hostname: string;
  pid: number;
  version: string;
  started: number;
  seen: number;
  stopped: number | null;
  ago: number;
};

/** Workers seen in the last `withinSeconds`, newest first (at most 100); instants in epoch milliseconds, `ago` in seconds. */
export async function listWorkerHeartbeats(sql: Sql, withinSeconds: number): Promise<HeartbeatRow[]> {
  return sql<HeartbeatRow[]>`
    select id, hostname, pid, version,
      extract(epoch from started_at)::float8 * 1000 as started, extract(epoch from seen_at)::float8 * 1000 as seen,
      extract(epoch from stopped_at)::float8 * 1000 as stopped, extract(epoch from now() - seen_at)::float8 as ago
    from worker_heartbeats where seen_at > now() - make_interval(secs => ${withinSeconds})
    order by seen_at desc limit 100`;
}

/** A worker's heartbeat: seen now (and not stopped). */
export async function beatWorkerHeartbeat(sql: Sql, w: { id: string; hostname: string; pid: number; version: string }): Promise<void> {
  await sql`
      insert into worker_heartbeats (id, hostname, pid, version) values (${w.id}, ${w.hostname}, ${w.pid}, ${w.version})
      on conflict (id) do update set seen_at = now(), stopped_at = null`;
}

/** Heartbeats not seen for a week go, so the table stays a handful of rows. */
export async function deleteOldWorkerHeartbeats(sql: Sql): Promise<void> {
  await sql`delete from worker_heartbeats where seen_at < now() - interval '7 days'`;
}

/** A worker stopped cleanly. */
export async function markWorkerStopped(sql: Sql, id: string): Promise<void> {
  await sql`update worker_heartbeats set seen_at = now(), stopped_at = now() where id = ${id}`;
}

/** Workers alive (not stopped, seen in the last 120 s) and seconds since the newest was seen (/metrics). */
export async function summarizeWorkerHeartbeats(sql: Sql): Promise<{ alive: number; ago: number | null }> {
  const [row] = await sql<{ alive: number; ago: number | null }[]>`
          select count(*) filter (where stopped_at is null and seen_at > now() - interval '120 seconds')::int as alive,
            extract(epoch from now() - max(seen_at))::float8 as ago
          from worker_heartbeats`;
  return row;
}
