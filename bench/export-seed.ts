// The activity window bench:export measures (and bench/export-profile.ts takes apart): N events of
// one program in one 4-hour window, with its members and campaigns, made inside PostgreSQL.
import { createDb } from '@/db/client';

export const WINDOW_START = new Date('2026-11-28T08:00:00Z');
export const WINDOW_END = new Date('2026-11-28T12:00:00Z');

export async function seed(url: string, programId: number, n: number): Promise<void> {
  const { sql } = createDb(url, { max: 1 });
  try {
    await sql`insert into programs (id, name) values (${programId}, ${'Bench ' + programId})`;
    await sql`select setseed(0.42)`;
    await sql.unsafe(`
      insert into members (program_id, first_name, last_name, universal_identifier, updated_at)
      select ${programId}, 'First' || i, 'Last-' || (i * 7) % 1000, 'uid-' || i, '2026-01-01T00:00:00Z'
      from generate_series(1, 20000) i`);
    await sql.unsafe(`
      insert into campaigns (program_id, name, publish_at, subject_line, preview, updated_at)
      select ${programId}, 'Campaign ' || i || ', quarterly update', '2026-11-01T09:00:00Z'::timestamptz + (i || ' hours')::interval,
             'Subject line of campaign ' || i, 'A short preview of campaign ' || i || ' for the feed', '2026-01-01T00:00:00Z'
      from generate_series(1, 300) i`);
    const [{ m0 }] = await sql<{ m0: number }[]>`select min(id)::int as m0 from members where program_id = ${programId}`;
    const [{ c0 }] = await sql<{ c0: number }[]>`select min(id)::int as c0 from campaigns where program_id = ${programId}`;
    const types =
      "array['like','share','bookmark','email_open','feed_click','email_delivered','email_click','push_click','impression','download','poll_response','acknowledge','assistant_delivered','assistant_open','video_play','push_delivered','link_click','open']";
    // In batches: one huge insert would need a huge transaction log for no benefit.
    const batch = 1_000_000;
    for (let from = 0; from < n; from += batch) {
      const to = Math.min(n, from + batch);
      await sql.unsafe(`
        insert into activity_events (program_id, content_id, user_id, event_type, platform, occurred_at, ingested_at, link_url)
        select ${programId}, ${c0} + (random() * 299)::int, ${m0} + (random() * 19999)::int, t.et,
               (array['web','ios','android','email','assistant'])[1 + (random() * 4)::int],
               ts - (random() * 86400) * interval '1 second', ts,
               case when t.et = 'link_click' then 'https://intranet.example.com/articles/' || (random() * 5000)::int || '?utm_source=email' end
        from (
          select i, '${WINDOW_START.toISOString()}'::timestamptz + (i::float8 / ${n}) * interval '4 hours' as ts,
                 (${types})[1 + (random() * 17)::int] as et
          from generate_series(${from}, ${to - 1}) i
        ) t`);
    }
    await sql.unsafe('vacuum analyze activity_events, members, campaigns');
  } finally {
    await sql.end();
  }
}
